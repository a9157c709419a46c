//! The simulator's promises to its users: a seed replays byte for byte, and a broken
//! invariant fails the run with its seed, a replay command and the trace.

use ferromq::SocketType;
use ferromq_sim::{Phase, RunOptions, Scenario, Setup, SockOpts, run, scenarios};
use std::time::Duration;

#[test]
fn same_seed_same_trace_byte_for_byte() {
    let s = scenarios::find("push-pull").unwrap();
    let opts = RunOptions { keep_trace: true };
    let a = run(s, 3, &opts);
    let b = run(s, 3, &opts);
    assert!(a.passed(), "{:?}", a.violations);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.trace, b.trace, "the whole trace, line for line");
    assert!(a.trace_lines > 1000, "a real run traces a lot: {}", a.trace_lines);
    assert!(a.stats.received > 0 && a.checks > 0);
    let c = run(s, 4, &RunOptions::default());
    assert_ne!(a.trace_hash, c.trace_hash, "another seed is another run");
}

#[test]
fn every_scenario_passes_a_few_seeds() {
    for s in scenarios::all() {
        for seed in 10..12 {
            let o = run(*s, seed, &RunOptions::default());
            assert!(
                o.passed(),
                "{} seed {seed}: {:?}\n{}",
                s.name(),
                o.violations,
                o.recent.join("\n")
            );
            assert!(
                o.stats.sent > 0 && o.stats.received > 0,
                "{} seed {seed} moved nothing",
                s.name()
            );
        }
    }
}

/// A topology whose messages reach a role they are not meant for: the checker must say so.
struct Misrouted;

impl Scenario for Misrouted {
    fn name(&self) -> &'static str {
        "misrouted"
    }
    fn about(&self) -> &'static str {
        "PUSH to a PULL whose role may not hear it"
    }
    fn build(&self, s: &mut Setup<'_>) {
        s.allow("producer", "consumer");
        s.faults().max_faults = 0;
        s.host("p", |h| async move {
            let push = h.socket(SocketType::Push, "producer", SockOpts::new(SocketType::Push));
            push.connect("q", 9000);
            while h.phase() < Phase::Drain {
                push.send(1, 10, Duration::from_millis(10)).await;
                h.sleep(Duration::from_millis(10)).await;
            }
        });
        s.host("q", |h| async move {
            let pull = h.socket(SocketType::Pull, "auditor", SockOpts::new(SocketType::Pull));
            pull.bind(9000);
            loop {
                pull.recv(Duration::from_millis(50)).await;
            }
        });
    }
}

#[test]
fn a_broken_invariant_fails_with_seed_replay_and_trace() {
    let o = run(&Misrouted, 9, &RunOptions::default());
    assert!(!o.passed());
    assert!(o.violations[0].what.contains("not a peer it may hear"), "{:?}", o.violations);
    assert_eq!(
        o.replay_command(),
        "cargo run --release -p ferromq-sim -- run --scenario misrouted --seed 9"
    );
    assert!(o.recent.iter().any(|l| l.contains("VIOLATION")), "{:?}", o.recent);
}
