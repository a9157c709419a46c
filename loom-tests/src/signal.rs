//! Models of the parker of a thread blocked in a call (`ferromq`'s `runtime::signal::Signal`):
//! whether the thread sleeps on its condition variable or leads an I/O loop and sleeps in its
//! poll, a notify is never lost. Run by `tests/signal.rs`, and by `tests/gate_mutants.rs` with
//! the planted bug that lives here.

use crate::Poll;
use ferromq::Signal;
use ferromq::gate::Ring;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use std::time::{Duration, Instant};

/// Two threads each publish an event and wake the waiter (`Signal::wake_up`, ringing `poll`
/// if the waiter sleeps in one); `waiter` runs on the model's thread with the signal and a
/// look at whether it has seen both, and must return only once it has.
fn two_notifiers(poll: Option<&Arc<Poll>>, waiter: impl FnOnce(&Signal, &dyn Fn() -> bool)) {
    let signal = Arc::new(Signal::default());
    let events = Arc::new(AtomicUsize::new(0));
    let notifiers: Vec<_> = (0..2)
        .map(|_| {
            let (s, e, p) = (signal.clone(), events.clone(), poll.cloned());
            thread::spawn(move || {
                e.fetch_add(1, Ordering::Release);
                s.wake_up(|| p.as_ref().expect("nobody leads a loop here").ring());
            })
        })
        .collect();
    waiter(&signal, &|| events.load(Ordering::Acquire) >= 2);
    notifiers.into_iter().for_each(|n| n.join().unwrap());
}

/// Proves: a thread that looks for the events and sleeps on its signal while it has not seen
/// both always sees both (a lost wake-up leaves it asleep for ever, a deadlock for loom). With
/// `deadline` an hour away it sleeps in the timed wait (`wait_timeout`, which loom runs as a
/// wait that no timeout ends: the wake-up must come from a notify).
pub fn a_thread_asleep_on_its_signal_sees_every_event(deadline: Option<Duration>) {
    loom::model(move || {
        let deadline = deadline.map(|d| Instant::now() + d);
        two_notifiers(None, |signal, both| {
            while !both() {
                signal.wait(deadline);
            }
        });
    });
}

/// Proves: a thread that leads an I/O loop while it waits (`IoThread::lead`: arm the signal,
/// a turn whose poll sleeps unless the signal was notified, disarm) always sees both events:
/// a notify either finds it armed and rings its poll, or is seen by the turn or by the disarm.
pub fn a_thread_leading_a_loop_sees_every_event() {
    loom::model(|| {
        let poll = Arc::new(Poll::default());
        two_notifiers(Some(&poll), |signal, both| {
            while !both() {
                // Notified already: consumed, look again.
                if !signal.arm_lead() {
                    continue;
                }
                if !signal.notified() {
                    poll.sleep();
                }
                signal.disarm_lead();
            }
        });
    });
}

/// Proves: a blocked call whose deadline has passed as a notify races in (it looks, takes the
/// lock, finds the deadline gone and clears the bit) still sees, when it looks again, what the
/// notifier published, so the wait that follows never sleeps through an event that came
/// already (one it missed leaves it asleep for ever, a deadlock for loom). The deadline is
/// taken before the wait, so it has passed by the time the wait looks at the clock: every
/// interleaving in which the wait gets as far as the clock (no notify seen by its first look
/// or as it takes the lock) takes the timeout path.
pub fn a_notify_racing_a_timeout_is_seen() {
    loom::model(|| {
        two_notifiers(None, |signal, both| {
            signal.wait(Some(Instant::now()));
            while !both() {
                signal.wait(None);
            }
        });
    });
}

/// Proves: a thread in the low-latency mode's wait, spinning on its signal (`spin_until`, here
/// for two rounds of looks) and sleeping on it when the spin is over, always sees both events:
/// a notify landing as it looks is either taken by that look or left set for the next (a look
/// that clears a notify it did not take leaves it asleep for ever, a deadlock for loom).
pub fn a_spinning_thread_sees_every_event() {
    loom::model(|| {
        two_notifiers(None, |signal, both| {
            while !both() {
                if !signal.spin_until(&|looks| looks >= 2, &|| ()) {
                    signal.wait(None);
                }
            }
        });
    });
}
