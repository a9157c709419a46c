//! Helpers for the loom models in `tests/`. Build and run with
//! `RUSTFLAGS="--cfg loom" cargo test --release -p loom-tests`; `LOOM_MAX_PREEMPTIONS` (3 in CI)
//! bounds the search, raise it for deeper local runs.
#![forbid(unsafe_code)]

#[cfg(loom)]
pub use helpers::*;

#[cfg(loom)]
pub mod gate;

#[cfg(loom)]
pub mod signal;

#[cfg(loom)]
mod helpers {
    use ferromq::gate::Ring;
    use ferromq::pipe::{Mailbox, PipeCommand, PipeEnd, PipeMsg, Sender, Wake};
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::{Arc, Condvar, Mutex};

    /// A parker that needs no thread handle, so a mailbox can be made before its owner thread
    /// exists: `wake` sets a flag and notifies, `wait` sleeps until the flag is set and clears
    /// it. Models the runtime's parker and the I/O thread's `mio::Waker`.
    #[derive(Default)]
    pub struct Signal {
        flag: Mutex<bool>,
        cv: Condvar,
    }

    impl Signal {
        /// Sleeps until woken (returns at once if a wake-up came since the last wait).
        pub fn wait(&self) {
            let mut woken = self.flag.lock().unwrap();
            while !*woken {
                woken = self.cv.wait(woken).unwrap();
            }
            *woken = false;
        }
    }

    struct SignalWake(Arc<Signal>);

    impl Wake for SignalWake {
        fn wake(&self) {
            *self.0.flag.lock().unwrap() = true;
            self.0.cv.notify_one();
        }
    }

    /// An I/O loop's eventfd as a thread sleeps in its poll: a ring makes the sleep end, or the
    /// next one end at once (an eventfd stays readable once written). A flag under a mutex and
    /// a condition variable: a first version, a flag and park/unpark, deadlocked under loom on
    /// correct code, for a reason not pinned down; this one states the stickiness directly.
    #[derive(Default)]
    pub struct Poll {
        rung: Mutex<bool>,
        cv: Condvar,
    }

    impl Poll {
        /// Sleeps in the poll until rung, and takes the ring.
        pub fn sleep(&self) {
            let mut rung = self.rung.lock().unwrap();
            while !*rung {
                rung = self.cv.wait(rung).unwrap();
            }
            *rung = false;
        }
    }

    impl Ring for Poll {
        fn ring(&self) {
            *self.rung.lock().unwrap() = true;
            self.cv.notify_one();
        }
    }

    /// A mailbox whose owner sleeps on the returned signal.
    pub fn mailbox<C: Send + 'static>() -> (Mailbox<C>, Sender<C>, Arc<Signal>) {
        let signal = Arc::new(Signal::default());
        let (mb, tx) = Mailbox::new(SignalWake(signal.clone()));
        (mb, tx, signal)
    }

    /// A message part with an identity, that counts its drops so a model can prove nothing
    /// leaks and nothing is dropped twice.
    #[derive(Debug)]
    pub struct Part {
        pub id: u32,
        pub more: bool,
        drops: Arc<AtomicUsize>,
    }

    impl Part {
        pub fn new(id: u32, drops: &Arc<AtomicUsize>) -> Part {
            Part { id, more: false, drops: drops.clone() }
        }
    }

    impl Drop for Part {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl PipeMsg for Part {
        fn more(&self) -> bool {
            self.more
        }
    }

    /// Sends every command the end has for its peer to the peer's owner.
    pub fn forward<T: PipeMsg>(end: &mut PipeEnd<T>, to: &Sender<PipeCommand>) {
        while let Some(cmd) = end.poll_command() {
            to.send(cmd);
        }
    }

    /// Applies every command waiting in the mailbox (which then counts as asleep).
    pub fn apply_commands<T: PipeMsg>(end: &mut PipeEnd<T>, mb: &mut Mailbox<PipeCommand>) {
        while let Some(cmd) = mb.try_recv() {
            end.handle_command(cmd);
        }
    }

    /// The owner loop of a terminating end: serve commands, read whatever may still be read,
    /// pass commands on, sleep until woken; until the handshake completes. Returns the ids read.
    pub fn serve_until_terminated(
        end: &mut PipeEnd<Part>,
        mb: &mut Mailbox<PipeCommand>,
        signal: &Signal,
        peer: &Sender<PipeCommand>,
    ) -> Vec<u32> {
        let mut read = Vec::new();
        loop {
            apply_commands(end, mb);
            while let Some(p) = end.read() {
                read.push(p.id);
            }
            forward(end, peer);
            if end.is_terminated() {
                return read;
            }
            signal.wait();
        }
    }
}
