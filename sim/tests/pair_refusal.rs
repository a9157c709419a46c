//! PAIR-02 under the simulator: a dialer that connects while the bound PAIR still holds its
//! previous, closing peer is refused, and what it sent over the refused connection is lost, as
//! in libzmq. Sweeps found this shape (`pair` seeds 5387 and 6020, before the seeds' draws were
//! split into labelled streams): the checker reported the loss unexcused. The stack was right;
//! the checker now names the reason (refused by PAIR), and its PAIR-02 oracle checks that the
//! refusal happens at all.

use ferromq::SocketType;
use ferromq_sim::{Excuse, Phase, RunOptions, Scenario, Setup, SockOpts, run, scenarios};
use std::rc::Rc;
use std::time::Duration;

/// `a` binds a slow PAIR; `b` connects, sends a burst and closes, so its connection lingers
/// while `a` reads slowly; meanwhile `c` connects, sends, and closes 30 ms later.
struct Refused;

impl Scenario for Refused {
    fn name(&self) -> &'static str {
        "pair-refused"
    }

    fn about(&self) -> &'static str {
        "a PAIR refuses a second peer while the first is still closing"
    }

    fn build(&self, s: &mut Setup<'_>) {
        s.allow("first", "binder");
        s.allow("second", "binder");
        let k = s.faults();
        k.max_faults = 0;
        k.stream_faults = false;
        s.host("a", |h| async move {
            let mut o = SockOpts::new(SocketType::Pair);
            o.rcvhwm = 2;
            let pair = h.socket(SocketType::Pair, "binder", o);
            pair.bind(6000);
            loop {
                pair.recv(Duration::from_millis(50)).await;
                h.sleep(Duration::from_millis(20)).await;
            }
        });
        s.host("b", |h| async move {
            let mut o = SockOpts::new(SocketType::Pair);
            o.linger = Some(Duration::from_secs(3));
            let pair = h.socket(SocketType::Pair, "first", o);
            pair.connect("a", 6000);
            h.sleep(Duration::from_millis(200)).await;
            for _ in 0..60 {
                pair.send(1, 100, Duration::from_secs(1)).await;
            }
            pair.close();
        });
        s.host("c", |h| async move {
            h.sleep(Duration::from_millis(500)).await;
            let pair =
                Rc::new(h.socket(SocketType::Pair, "second", SockOpts::new(SocketType::Pair)));
            pair.connect("a", 6000);
            for _ in 0..5 {
                pair.send(1, 100, Duration::from_secs(1)).await;
            }
            h.sleep(Duration::from_millis(30)).await;
            pair.close();
            h.until(Phase::Closing).await;
        });
    }
}

#[test]
fn pair02_a_refused_second_peer_loses_only_what_it_sent_on_the_refused_connection() {
    for seed in 0..3 {
        let o = run(&Refused, seed, &RunOptions::default());
        assert!(o.passed(), "seed {seed}: {:?}\n{}", o.violations, o.recent.join("\n"));
        assert!(
            o.excused.get(&Excuse::RefusedByPair).is_some_and(|&n| n > 0),
            "seed {seed}: the second peer's messages are lost by PAIR-02: {:?}",
            o.excused
        );
        assert_eq!(o.excused.len(), 1, "seed {seed}: and nothing else: {:?}", o.excused);
    }
}

/// The seeds the sweep found, kept: they must pass.
#[test]
fn pair_seeds_5387_and_6020_pass() {
    let pair = scenarios::find("pair").unwrap();
    for seed in [5387, 6020] {
        let o = run(pair, seed, &RunOptions::default());
        assert!(o.passed(), "pair seed {seed}: {:?}\n{}", o.violations, o.recent.join("\n"));
    }
}
