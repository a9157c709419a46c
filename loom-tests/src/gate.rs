//! Models of the hand-over between an I/O thread and the user threads doing its work
//! (`ferromq`'s `runtime::gate`), run by `tests/gate.rs` as they are and by
//! `tests/gate_mutants.rs` with planted bugs that each must fail one.

use crate::Poll;
use ferromq::gate::{HelpGate, LoopWake, Quiet};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use std::time::{Duration, Instant};

/// A grace longer than any model runs: a grace given is still in force when the model looks.
const HOUR: Duration = Duration::from_secs(3600);

fn gate(poll: &std::sync::Arc<Poll>, spin: bool) -> Arc<HelpGate<Poll>> {
    Arc::new(HelpGate::new(LoopWake::new(poll.clone()), spin))
}

/// An I/O thread that registers itself and is done: where the model's I/O thread does
/// nothing but be unparked. (Not the model's main thread: loom trips over an unpark of a
/// thread blocked in `join`.)
fn idle_io_thread(gate: &Arc<HelpGate<Poll>>) {
    let g = gate.clone();
    thread::spawn(move || g.set_io_thread()).join().unwrap();
}

/// Proves: two helpers come and go (returning with traffic when `back`, going to sleep
/// otherwise) while the I/O thread runs its loop (`IoThread::run`, with a grace of zero): each
/// time it finds a helper in, it parks until the last one leaves, and it is always unparked (a
/// lost unpark leaves it parked for ever, which loom reports as a deadlock); once they are gone
/// and the grace is over, it takes the work back.
pub fn the_io_thread_parked_while_helped_is_unparked_by_the_last_helper(back: bool) {
    loom::model(move || {
        let gate = gate(&std::sync::Arc::default(), false);
        let gone = Arc::new(AtomicUsize::new(0));
        let io = {
            let (g, gone) = (gate.clone(), gone.clone());
            thread::spawn(move || {
                g.set_io_thread();
                while gone.load(Ordering::SeqCst) < 2 {
                    match g.quiet(Duration::ZERO) {
                        Quiet::Helped => g.sleep_while_helped(),
                        // Its turn, then the next look.
                        Quiet::No => thread::yield_now(),
                        Quiet::Until(_) => panic!("a grace of zero is over at once"),
                    }
                }
            })
        };
        let helpers: Vec<_> = (0..2)
            .map(|_| {
                let (g, gone) = (gate.clone(), gone.clone());
                thread::spawn(move || {
                    g.enter();
                    g.leave(back);
                    gone.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in helpers {
            h.join().unwrap();
        }
        io.join().unwrap();
        assert_eq!(gate.quiet(Duration::ZERO), Quiet::No, "the helpers left, the grace is over");
    });
}

/// Proves: a helper arriving while the I/O thread starts a turn of the low-latency loop
/// (`polling(true)`) is either seen by that turn, which then does not sleep, or sees the
/// thread polling and rings it: the turn never sleeps in its poll while the helper waits for
/// the loop's lock (a turn that sleeps unrung sleeps for ever here, a deadlock for loom).
pub fn a_helper_arriving_as_the_loop_polls_is_seen_or_rings_it() {
    loom::model(|| {
        let poll = std::sync::Arc::new(Poll::default());
        let gate = gate(&poll, true);
        // The low-latency loop keeps `polling` turn by turn; between turns it is false.
        gate.polling(false);
        let helper = {
            let g = gate.clone();
            thread::spawn(move || g.enter())
        };
        if gate.polling(true) {
            poll.sleep();
        }
        gate.polling(false);
        helper.join().unwrap();
    });
}

/// Proves: a user thread that goes to sleep on its signal while the loop's leader hands the
/// loop back with traffic never leaves a grace in force while it sleeps: either the leader
/// sees the sleeper and gives none, or the sleeper sees the grace and ends it, so the I/O
/// thread serves the sleeper at once (a grace here would keep it away, even an hour's).
pub fn a_thread_going_to_sleep_ends_the_grace_a_leader_leaves() {
    loom::model(|| {
        let gate = gate(&std::sync::Arc::default(), false);
        idle_io_thread(&gate);
        let leader = {
            let g = gate.clone();
            thread::spawn(move || {
                if g.try_lead() {
                    g.end_lead();
                }
            })
        };
        gate.sleeping();
        leader.join().unwrap();
        assert!(!gate.in_grace(), "a grace outlived a thread going to sleep");
        assert_eq!(gate.quiet(HOUR), Quiet::No);
        gate.woke();
    });
}

/// Proves: of two user threads blocked at once, at most one leads the loop at a time, and
/// the lead is free again once both are done.
pub fn one_leader_at_a_time() {
    loom::model(|| {
        let gate = gate(&std::sync::Arc::default(), false);
        idle_io_thread(&gate);
        let leading = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (g, leading) = (gate.clone(), leading.clone());
                thread::spawn(move || {
                    if g.try_lead() {
                        assert_eq!(leading.fetch_add(1, Ordering::SeqCst), 0, "two leaders");
                        leading.fetch_sub(1, Ordering::SeqCst);
                        g.end_lead();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(gate.try_lead(), "the lead was not handed back");
        gate.end_lead();
    });
}

/// Proves: the I/O thread ending a grace that ran out (`quiet` at 10 s, a grace of 5 s after a
/// helper left at 0 s) never ends the grace of a helper that came and left again meanwhile
/// (at 8 s): whichever order their steps take, that grace stands until 13 s. The clock is the
/// model's own (`leave_at`, `quiet_at`), so that one grace has run out and the other not in
/// every interleaving.
pub fn a_grace_given_as_another_runs_out_stands() {
    loom::model(|| {
        let gate = gate(&std::sync::Arc::default(), false);
        let t0 = Instant::now();
        let s = Duration::from_secs;
        gate.enter();
        gate.leave_at(|| t0, true);
        let helper = {
            let g = gate.clone();
            thread::spawn(move || {
                g.enter();
                g.leave_at(|| t0 + s(8), true);
            })
        };
        // What the I/O thread sees depends on how far the helper got; none of it is wrong.
        let seen = gate.quiet_at(|| t0 + s(10), s(5));
        assert!(
            matches!(seen, Quiet::No | Quiet::Helped) || seen == Quiet::Until(t0 + s(13)),
            "{seen:?}"
        );
        helper.join().unwrap();
        assert_eq!(
            gate.quiet_at(|| t0 + s(11), s(5)),
            Quiet::Until(t0 + s(13)),
            "the grace was lost after {seen:?}"
        );
        assert!(gate.in_grace());
    });
}
