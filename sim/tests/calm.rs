//! With no fault at all, nothing may be lost, late or excused: every message sent is received.
//! (The sweep's scenarios inject faults in almost every seed; this is the run where a checker
//! that excuses too much, or a stack that silently stops delivering, has nowhere to hide.)

use ferromq::SocketType;
use ferromq_sim::{Phase, RunOptions, Scenario, Setup, SockOpts, run};
use std::time::Duration;

/// Two pushers into a bound puller, and a PAIR pair talking both ways, on calm links.
struct Calm;

impl Scenario for Calm {
    fn name(&self) -> &'static str {
        "calm"
    }

    fn about(&self) -> &'static str {
        "PUSH/PULL and PAIR with no faults"
    }

    fn build(&self, s: &mut Setup<'_>) {
        s.allow("pusher", "puller");
        s.allow("left", "right");
        s.allow("right", "left");
        let k = s.faults();
        k.max_faults = 0;
        k.stream_faults = false;
        for name in ["p1", "p2"] {
            s.host(name, |h| async move {
                let mut o = SockOpts::new(SocketType::Push);
                o.sndhwm = 5;
                let push = h.socket(SocketType::Push, "pusher", o);
                push.connect("sink", 7000);
                while h.phase() < Phase::Drain {
                    let parts = h.random(1, 3) as u16;
                    push.send(parts, h.random(0, 3000) as usize, Duration::from_millis(50)).await;
                    h.sleep(Duration::from_millis(h.random(2, 10))).await;
                }
            });
        }
        s.host("sink", |h| async move {
            let pull = h.socket(SocketType::Pull, "puller", SockOpts::new(SocketType::Pull));
            pull.bind(7000);
            loop {
                pull.recv(Duration::from_millis(50)).await;
            }
        });
        for (name, role, binds) in [("l", "left", true), ("r", "right", false)] {
            s.host(name, move |h| async move {
                let pair = std::rc::Rc::new(h.socket(
                    SocketType::Pair,
                    role,
                    SockOpts::new(SocketType::Pair),
                ));
                if binds {
                    pair.bind(7100);
                } else {
                    pair.connect("l", 7100);
                }
                let rx = pair.clone();
                h.spawn(async move {
                    loop {
                        rx.recv(Duration::from_millis(50)).await;
                    }
                });
                while h.phase() < Phase::Drain {
                    pair.send(1, h.random(0, 200) as usize, Duration::from_millis(50)).await;
                    h.sleep(Duration::from_millis(h.random(2, 10))).await;
                }
            });
        }
    }
}

#[test]
fn with_no_faults_every_message_arrives() {
    for seed in 0..3 {
        let o = run(&Calm, seed, &RunOptions::default());
        assert!(o.passed(), "seed {seed}: {:?}\n{}", o.violations, o.recent.join("\n"));
        assert!(o.stats.sent > 2000, "seed {seed}: a real workload ({} sent)", o.stats.sent);
        assert_eq!(o.stats.received, o.stats.sent, "seed {seed}: every message arrives");
        assert!(o.excused.is_empty(), "seed {seed}: nothing to excuse: {:?}", o.excused);
        assert!(o.stats.faults.is_empty(), "seed {seed}: no fault at all: {:?}", o.stats.faults);
    }
}
