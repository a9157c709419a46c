//! An actor's command queue: many senders, one receiver, and a wake-up hook that the driver
//! supplies (a `mio::Waker` on an I/O thread, a parker on a user thread, a flag in the
//! simulator), so this module knows no driver.
//!
//! Commands go through an SPSC queue whose producer side is shared under a short lock, as in
//! libzmq's mailbox: commands are rare next to messages, and the lock keeps the lock-free
//! queue's one-producer rule. The receiver sleeps through the queue's own compare-and-swap,
//! so a sender that publishes while it sleeps is told so and calls the hook: a wake-up cannot
//! be lost, and there is at most one per sleep.

use super::spsc::{self, Consumer, Producer};
use crate::sync::{Arc, Mutex, lock};

/// The hook a mailbox calls when a command arrives while its receiver sleeps.
pub trait Wake: Send + Sync {
    /// Wakes the receiver. Called at most once per sleep, never with the mailbox's lock held.
    fn wake(&self);
}

struct Shared<C> {
    tx: Mutex<Producer<C>>,
    waker: Box<dyn Wake>,
}

/// The receiving side, owned by one actor.
pub struct Mailbox<C> {
    rx: Consumer<C>,
    shared: Arc<Shared<C>>,
}

/// A sending side; clone it for each sender.
pub struct Sender<C> {
    shared: Arc<Shared<C>>,
}

impl<C> Clone for Sender<C> {
    fn clone(&self) -> Self {
        Sender { shared: self.shared.clone() }
    }
}

/// A mailbox whose receiver is woken through `waker`.
///
/// ```
/// # #[cfg(not(loom))] {
/// use ferromq::pipe::{Mailbox, Wake};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// struct Count(Arc<AtomicUsize>);
/// impl Wake for Count {
///     fn wake(&self) { self.0.fetch_add(1, Ordering::SeqCst); }
/// }
/// let wakes = Arc::new(AtomicUsize::new(0));
/// let (mut mailbox, tx) = Mailbox::new(Count(wakes.clone()));
/// assert_eq!(mailbox.try_recv(), None::<&str>); // empty: the receiver now sleeps
/// tx.send("stop");
/// tx.send("again");
/// assert_eq!(wakes.load(Ordering::SeqCst), 1); // one wake-up per sleep
/// assert_eq!(mailbox.try_recv(), Some("stop"));
/// # }
/// ```
impl<C: Send> Mailbox<C> {
    /// Creates a mailbox and its first sender.
    pub fn new(waker: impl Wake + 'static) -> (Mailbox<C>, Sender<C>) {
        let (tx, rx) = spsc::channel();
        let shared = Arc::new(Shared { tx: Mutex::new(tx), waker: Box::new(waker) });
        (Mailbox { rx, shared: shared.clone() }, Sender { shared })
    }

    /// The next command, or `None`. After `None` the receiver counts as asleep: the next
    /// command sent calls the wake-up hook. The owner then waits on its driver's primitive
    /// and calls `try_recv` again when woken (spurious wake-ups are harmless).
    #[inline]
    pub fn try_recv(&mut self) -> Option<C> {
        self.rx.read()
    }

    /// Another sender for this mailbox.
    pub fn sender(&self) -> Sender<C> {
        Sender { shared: self.shared.clone() }
    }
}

impl<C: Send> Sender<C> {
    /// Sends a command; wakes the receiver if it sleeps.
    pub fn send(&self, cmd: C) {
        let awake = {
            let mut tx = lock(&self.shared.tx);
            tx.write(cmd, false);
            tx.flush()
        };
        if !awake {
            self.shared.waker.wake();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(&self) {
            self.0.unpark();
        }
    }

    #[test]
    fn many_senders_one_parked_receiver() {
        let (mut mb, tx) = Mailbox::new(Unpark(thread::current()));
        const PER: u32 = 20_000;
        let senders: Vec<_> = (0..3)
            .map(|s| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..PER {
                        tx.send((s, i));
                    }
                })
            })
            .collect();
        let mut next = [0u32; 3];
        let mut got = 0;
        while got < 3 * PER {
            match mb.try_recv() {
                Some((s, i)) => {
                    assert_eq!(next[s as usize], i, "per-sender order");
                    next[s as usize] += 1;
                    got += 1;
                }
                None => thread::park(),
            }
        }
        for s in senders {
            s.join().unwrap();
        }
    }

    #[test]
    fn wake_is_called_only_when_the_receiver_sleeps() {
        struct Flag(Arc<AtomicBool>);
        impl Wake for Flag {
            fn wake(&self) {
                assert!(!self.0.swap(true, Ordering::SeqCst), "woken twice for one sleep");
            }
        }
        let flag = Arc::new(AtomicBool::new(false));
        let (mut mb, tx) = Mailbox::new(Flag(flag.clone()));
        tx.send(1);
        assert!(!flag.load(Ordering::SeqCst), "awake receiver: no wake-up");
        assert_eq!(mb.try_recv(), Some(1));
        assert_eq!(mb.try_recv(), None);
        tx.send(2);
        tx.send(3);
        assert!(flag.swap(false, Ordering::SeqCst));
        assert_eq!(mb.try_recv(), Some(2));
        assert_eq!(mb.try_recv(), Some(3));
        assert_eq!(mb.try_recv(), None);
        tx.send(4);
        assert!(flag.load(Ordering::SeqCst));
    }
}
