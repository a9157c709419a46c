//! A user's own topology under the simulator: two producers feeding one consumer over links
//! that partition, stall, reset and crash, checked end to end.

use ferromq::SocketType;
use ferromq_sim::{Phase, RunOptions, Scenario, Setup, SockOpts, run};
use std::time::Duration;

/// Two PUSH producers, one PULL consumer that binds.
struct Pipeline;

impl Scenario for Pipeline {
    fn name(&self) -> &'static str {
        "pipeline"
    }

    fn about(&self) -> &'static str {
        "two producers, one consumer"
    }

    fn build(&self, s: &mut Setup<'_>) {
        s.allow("producer", "consumer");
        for name in ["p1", "p2"] {
            s.host(name, |h| async move {
                let mut opts = SockOpts::new(SocketType::Push);
                opts.sndhwm = 50;
                let push = h.socket(SocketType::Push, "producer", opts);
                push.connect("consumer", 7000);
                while h.phase() < Phase::Drain {
                    // 1 to 3 parts of up to 100 bytes, generated and checked by the simulator.
                    let parts = h.random(1, 3) as u16;
                    push.send(parts, h.random(0, 100) as usize, Duration::from_millis(10)).await;
                    h.sleep(Duration::from_millis(5)).await;
                }
            });
        }
        s.host("consumer", |h| async move {
            let pull = h.socket(SocketType::Pull, "consumer", SockOpts::new(SocketType::Pull));
            pull.bind(7000);
            loop {
                pull.recv(Duration::from_millis(50)).await;
            }
        });
        // The fault plan: partitions, held links and latency spikes are on by default.
        s.faults().crashable = vec!["consumer".into(), "p2".into()];
        s.faults().max_faults = 3;
    }
}

#[test]
fn pipeline_survives_faults() {
    for seed in 0..3 {
        let o = run(&Pipeline, seed, &RunOptions::default());
        assert!(
            o.passed(),
            "{:?}\nreplay with seed {seed}:\n{}",
            o.violations,
            o.recent.join("\n")
        );
        assert!(o.stats.received > 100, "seed {seed}: {} received", o.stats.received);
    }
}

/// The README shows this file: keep them the same.
#[test]
fn readme_shows_this_test() {
    let readme = include_str!("../../README.md");
    let this = include_str!("user_topology.rs");
    let shown = this.split("/// The README shows this file").next().unwrap().trim_end();
    assert!(readme.contains(shown), "README.md must show sim/tests/user_topology.rs verbatim");
}
