//! Waking: a parker for user threads blocked in `send`/`recv`, and the socket mailbox's wake
//! hook, which points at that parker while the user owns the socket and at an I/O thread
//! once the socket is closed and handed over to linger there.

use super::io_thread::IoCmd;
use crate::pipe::{Sender, Wake};
use crate::sync::{AtomicU8, Condvar, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Nothing to report; nobody sleeping.
const EMPTY: u8 = 0;
/// Notified since the last wait.
const NOTIFIED: u8 = 1;
/// The waiter is asleep on the condition variable (or about to be, holding the lock).
const PARKED: u8 = 2;
/// The waiter leads an I/O thread's loop: it sleeps in that loop's `epoll_wait`, and a notify
/// rings the loop's waker ([`Signal::arm_lead`]).
const LEADING: u8 = 3;

/// A one-bit parker: `notify` sets the bit, `wait` (spins for a while if asked, then) sleeps
/// until it is set and clears it.
///
/// The bit is an atomic beside the mutex so that a notify finding nobody asleep is one atomic
/// swap: no lock and no futex wake-up, which the busy side of a stream (and every notify that
/// lands while the waiter is still spinning or running) would otherwise pay per message.
///
/// Its atomic, mutex and condition variable come from `crate::sync`, so the `loom-tests` crate
/// model-checks its wake-ups (`loom-tests/tests/signal.rs`).
#[derive(Debug, Default)]
pub struct Signal {
    state: AtomicU8,
    lock: crate::sync::Mutex<()>,
    cv: Condvar,
}

impl Signal {
    /// Sets the bit and wakes the waiter from its sleep on the condition variable; true if
    /// it sleeps in the `epoll_wait` of a loop it leads instead, which the caller must ring
    /// ([`Signal::wake_up`]).
    #[must_use]
    fn notify(&self) -> bool {
        let was = self.state.swap(NOTIFIED, Ordering::Release);
        if was == PARKED {
            // The waiter set PARKED holding the lock and releases it only inside `cv.wait`:
            // taking the lock here means it is waiting, so the notify cannot be missed.
            drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
            self.cv.notify_one();
        }
        was == LEADING
    }

    /// Notifies, and calls `ring` if the waiter sleeps in the `epoll_wait` of a loop it leads,
    /// which `ring` must wake: how every notifier wakes a waiter, whichever way it sleeps.
    pub fn wake_up(&self, ring: impl FnOnce()) {
        // The planted bug leaves a leader asleep in `epoll_wait`: a notify from another thread
        // (an inproc peer, a closing context) waits for the next I/O event.
        if self.notify() && !mutant!(LeaderGoesUnrung) {
            ring();
        }
    }

    /// Before the waiter sleeps in the `epoll_wait` of the loop it leads: from now a notify
    /// tells its caller to ring that loop. False if notified already (the notify is consumed,
    /// the caller returns).
    pub fn arm_lead(&self) -> bool {
        match self.state.compare_exchange(EMPTY, LEADING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => true,
            Err(_) => {
                self.consume();
                false
            }
        }
    }

    /// Whether notified since the last wait (and not yet consumed).
    pub fn notified(&self) -> bool {
        self.state.load(Ordering::Acquire) == NOTIFIED
    }

    /// After the led turn: true if notified meanwhile (and consumed).
    pub fn disarm_lead(&self) -> bool {
        self.state.swap(EMPTY, Ordering::Acquire) == NOTIFIED
    }

    /// Clears a notify that was seen. A swap, not a store: a second notify that came since
    /// (the bit was set already, so it did nothing else) is cleared with the first, and the
    /// caller, which now looks at what it waits for, must see what that notifier published;
    /// the acquire read of its swap makes sure it does (a plain store let loom find the caller
    /// looking at stale state and sleeping again, unwoken: `loom-tests/tests/signal.rs`).
    fn consume(&self) {
        self.state.swap(EMPTY, Ordering::Acquire);
    }

    fn take(&self) -> bool {
        self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Sleeps until notified or `deadline`; returns at once if notified since the last wait.
    /// It looks a few times first, a pause apart: a notify due within a microsecond or two (an
    /// inproc peer's next message, an I/O thread's next batch) then costs neither side a
    /// system call, where sleeping and being woken cost both a futex call.
    pub fn wait(&self, deadline: Option<Instant>) {
        for _ in 0..PRE_PARK_LOOKS {
            if self.take() {
                return;
            }
            std::hint::spin_loop();
        }
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if self.state.compare_exchange(EMPTY, PARKED, Ordering::Acquire, Ordering::Acquire).is_err()
        {
            // Notified between the last look and the lock.
            self.consume();
            return;
        }
        loop {
            guard = match deadline {
                None => self.cv.wait(guard).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        // Give up the sleep; a notify that raced in is consumed with it, and the
                        // caller looks at the socket again before it reports a timeout: an
                        // acquire swap, as in `consume`, so that the look sees what that
                        // notifier published (`loom-tests`: `a_notify_racing_a_timeout_is_seen`).
                        if mutant!(StaleAfterTimeout) {
                            self.state.store(EMPTY, Ordering::Relaxed);
                        } else {
                            self.state.swap(EMPTY, Ordering::Acquire);
                        }
                        return;
                    }
                    self.cv.wait_timeout(guard, d - now).unwrap_or_else(PoisonError::into_inner).0
                }
            };
            if self.take() {
                return;
            }
        }
    }

    /// The low-latency mode's wait ([`ContextBuilder::spin`](super::ContextBuilder::spin)):
    /// looks at the bit until `spin` has passed (or `deadline`), calling `help` between looks
    /// (the caller's chance to do the work it waits for) and yielding the core; true if the
    /// bit was set, and cleared. A notify that comes soon is seen without a sleep and a
    /// wake-up; after false, the caller sleeps in [`Signal::wait`].
    pub(crate) fn spin(&self, deadline: Option<Instant>, spin: Duration, help: &dyn Fn()) -> bool {
        let start = Instant::now();
        let until = deadline.map_or(start + spin, |d| d.min(start + spin));
        self.spin_until(&|looks| looks % 16 == 0 && Instant::now() >= until, help)
    }

    /// [`Signal::spin`] until `over(looks)` says the time is up (a model's bound; the
    /// runtime's is the clock, read every 16 looks).
    pub fn spin_until(&self, over: &dyn Fn(u32) -> bool, help: &dyn Fn()) -> bool {
        let mut looks = 0u32;
        loop {
            if self.look() {
                return true;
            }
            help();
            if self.look() {
                return true;
            }
            looks += 1;
            if looks < SPIN_LOOKS {
                std::hint::spin_loop();
                continue;
            }
            // A spinning thread must not hold the core its notifier needs: on a machine with
            // fewer cores than busy threads the message could not arrive while we spin.
            crate::sync::thread::yield_now();
            if over(looks) {
                return false;
            }
        }
    }

    /// A spinning call's look: takes the bit if it is set. A compare-exchange, so that a
    /// notify landing as it looks is either taken or left set (`loom-tests`:
    /// `a_spinning_thread_sees_every_event`).
    fn look(&self) -> bool {
        if mutant!(SpinLosesNotify) {
            if self.state.load(Ordering::Acquire) != NOTIFIED {
                return false;
            }
            self.state.store(EMPTY, Ordering::Relaxed);
            return true;
        }
        self.take()
    }
}

/// How many times [`Signal::wait`] looks before it sleeps: about a microsecond of pauses, short
/// enough that a waiter sharing its core with the thread it waits for barely delays it.
const PRE_PARK_LOOKS: u32 = if cfg!(loom) { 1 } else { 32 };

/// How many times [`Signal::spin_until`] looks before it first yields the core (once under
/// loom, whose every look is a point it explores).
const SPIN_LOOKS: u32 = if cfg!(loom) { 1 } else { 64 };

pub(crate) enum WakeTarget {
    /// A parker on a user thread, and the socket's readiness fd if it has one.
    User(Arc<Signal>, Option<Arc<std::os::unix::net::UnixStream>>),
    Reaper {
        io: Sender<IoCmd>,
        socket: u64,
    },
}

/// The wake hook of a socket's mailbox; its target can be switched when the socket is reaped.
pub(crate) struct SocketWaker {
    target: Mutex<WakeTarget>,
    /// The waker of the I/O loop a thread blocked on this socket may lead (the context's
    /// only one; none with several, which are not led).
    lead: Option<Arc<mio::Waker>>,
}

impl SocketWaker {
    pub(crate) fn new(signal: Arc<Signal>, lead: Option<Arc<mio::Waker>>) -> Arc<SocketWaker> {
        Arc::new(SocketWaker { target: Mutex::new(WakeTarget::User(signal, None)), lead })
    }

    pub(crate) fn retarget(&self, t: WakeTarget) {
        *self.target.lock().unwrap_or_else(PoisonError::into_inner) = t;
    }
}

/// Adapter so an `Arc<SocketWaker>` can be the mailbox's hook while the socket keeps a handle.
pub(crate) struct SharedWaker(pub(crate) Arc<SocketWaker>);

impl Wake for SharedWaker {
    fn wake(&self) {
        match &*self.0.target.lock().unwrap_or_else(PoisonError::into_inner) {
            WakeTarget::User(s, fd) => {
                s.wake_up(|| match &self.0.lead {
                    // The leader's own turn delivered this: it looks at its signal before the
                    // turn's poll and after it, and a ring would only make its next poll return
                    // early.
                    Some(ring) if LeadMark::is_mine(ring) => {}
                    // Failing only happens when the poll is gone: nobody sleeps in it.
                    Some(ring) => drop(ring.wake()),
                    None => {}
                });
                if let Some(fd) = fd {
                    // A full buffer already means "readable": nothing is lost by failing.
                    let _ = std::io::Write::write(&mut &**fd, &[1]);
                }
            }
            WakeTarget::Reaper { io, socket } => io.send(IoCmd::WakeSocket(*socket)),
        }
    }
}

thread_local! {
    /// The waker of the loop this thread leads, as an address (0: none).
    static LED_RING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// This thread leads the loop whose waker is `ring` until the mark drops
/// ([`IoThread::lead`](super::io_thread::IoThread::lead)).
pub(crate) struct LeadMark;

impl LeadMark {
    pub(crate) fn set(ring: &Arc<mio::Waker>) -> LeadMark {
        LED_RING.with(|l| l.set(Arc::as_ptr(ring) as usize));
        LeadMark
    }

    /// Whether this thread leads the loop `ring` wakes, so that whoever waits LEADING on it
    /// is this thread (one leader per loop).
    fn is_mine(ring: &Arc<mio::Waker>) -> bool {
        LED_RING.with(|l| l.get() == Arc::as_ptr(ring) as usize)
    }
}

impl Drop for LeadMark {
    fn drop(&mut self) {
        LED_RING.with(|l| l.set(0));
    }
}

/// The wake of an I/O thread's loop, rung through its `mio::Waker`.
pub(crate) type MioWake = super::gate::LoopWake<mio::Waker>;
