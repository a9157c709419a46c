//! The hand-over between an I/O thread and the user threads that do its work: a user thread
//! blocked in a call leads the loop in the default mode ([`super::io_thread::IoThread::lead`]),
//! helps it in the low-latency mode ([`super::io_thread::IoThread::help`]), and the I/O thread
//! stays out of their way meanwhile and for a grace after, parked; and the ring that wakes the
//! loop from its `epoll_wait` when a command or a helper arrives.
//!
//! Each rule here pairs two threads' sequentially consistent operations so that one of them
//! sees the other (a helper arriving and the loop going to sleep, the last helper leaving and
//! the thread parking, a leader's grace and a user thread going to sleep on its signal). The
//! atomics and the parking come from `crate::sync`, so the `loom-tests` crate model-checks
//! these pairings on this very code (`loom-tests/tests/gate.rs`).

#![forbid(unsafe_code)]

use crate::pipe::Wake;
use crate::sync::thread::Slot;
use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::time::{Duration, Instant};

/// What wakes an I/O loop from its poll: its `mio::Waker` (an eventfd write), or in the loom
/// models a flag and an unpark.
pub trait Ring: Send + Sync {
    /// Makes the loop's current or next poll return.
    fn ring(&self);
}

impl Ring for mio::Waker {
    fn ring(&self) {
        // Failing to wake only happens when the poll is gone, i.e. the thread has exited.
        let _ = self.wake();
    }
}

/// Wakes an I/O thread blocked in its poll, if it may be: `polling` is false only while the
/// thread is out of `epoll_wait` and will drain its mailbox before it next enters it (the
/// low-latency mode, between turns and while helpers do the work), and then the ring, a
/// system call per command, would only make the next poll return early.
pub struct LoopWake<R> {
    pub(crate) ring: std::sync::Arc<R>,
    pub(crate) polling: Arc<AtomicBool>,
}

impl<R> Clone for LoopWake<R> {
    fn clone(&self) -> Self {
        LoopWake { ring: self.ring.clone(), polling: self.polling.clone() }
    }
}

impl<R: Ring> LoopWake<R> {
    /// The wake of a loop that `ring` rings. `polling` starts true: the default loop may
    /// always be in `epoll_wait`, and only the low-latency loop keeps the flag turn by turn.
    pub fn new(ring: std::sync::Arc<R>) -> Self {
        LoopWake { ring, polling: Arc::new(AtomicBool::new(true)) }
    }
}

impl<R: Ring> Wake for LoopWake<R> {
    fn wake(&self) {
        // Paired with the fence after the thread sets `polling`: either it sees the command
        // this wake-up announces when it drains, or this sees it polling and rings.
        fence(Ordering::SeqCst);
        if self.polling.load(Ordering::SeqCst) {
            self.ring.ring();
        }
    }
}

/// Whether user threads do an I/O thread's work (a leader in the default mode, helpers in the
/// low-latency mode): while one does, and for a grace after the last one left with traffic,
/// the thread stays out of its way.
pub struct HelpGate<R> {
    count: AtomicUsize,
    /// When the last helper returned with traffic, in nanoseconds since `epoch`; `NEVER` when
    /// none did, or the last one to leave went to sleep.
    left: AtomicU64,
    epoch: Instant,
    /// The mailbox's waker. Its `polling` flag says the I/O thread, or a leader, is in a turn
    /// that may sleep in `epoll_wait`: a command or a helper arriving then rings it awake;
    /// otherwise the thread drains its mailbox before it next polls, and nobody needs to ring.
    pub(crate) wake: LoopWake<R>,
    /// The I/O thread, parked while it stays out of the way.
    io: Slot,
    /// A user thread leads the loop ([`HelpGate::try_lead`]); only one may.
    leader: AtomicBool,
    /// User threads asleep on their signal in a blocking call: nobody leads for them, so the
    /// I/O thread must not wait out a grace while they sleep.
    sleepers: AtomicUsize,
    /// The I/O thread is parked until the last helper leaves.
    asleep: AtomicBool,
    /// The low-latency mode (where the planted bug `poll-goes-unrung` lives).
    spin: bool,
}

/// What the I/O thread does before its next turn.
#[derive(Debug, PartialEq, Eq)]
pub enum Quiet {
    /// Take it.
    No,
    /// Stay out of the way until then (the grace after the last helper left).
    Until(Instant),
    /// Stay out of the way until the last helper leaves.
    Helped,
}

impl<R: Ring> HelpGate<R> {
    const NEVER: u64 = u64::MAX;

    /// The gate of the loop `wake` rings; `spin`: the context is in the low-latency mode.
    pub fn new(wake: LoopWake<R>, spin: bool) -> Self {
        HelpGate {
            spin,
            count: AtomicUsize::new(0),
            left: AtomicU64::new(Self::NEVER),
            epoch: Instant::now(),
            wake,
            io: Slot::default(),
            leader: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            asleep: AtomicBool::new(false),
        }
    }

    /// The calling thread is the I/O thread, the one to unpark.
    pub fn set_io_thread(&self) {
        self.io.set_current();
    }

    /// A user thread takes the lead of the loop, and enters as a helper; false if another
    /// leads already, or a user thread sleeps on its signal in a blocking call (the I/O thread
    /// then serves them all, and handing its loop to one of them and back would cost each
    /// hand-over a wake-up).
    pub fn try_lead(&self) -> bool {
        // A compare-exchange, not a swap: as cheap, and loom checks it right (a swap racing
        // the leader's store is mis-modelled, tokio-rs/loom#254).
        if self.sleepers.load(Ordering::Relaxed) > 0
            || self
                .leader
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        self.enter();
        true
    }

    /// The leader hands the loop back, returning with traffic (a grace follows).
    pub fn end_lead(&self) {
        self.leader.store(false, Ordering::Release);
        self.leave(true);
    }

    /// A user thread comes in to do the I/O thread's work, until it [`leave`](Self::leave)s.
    pub fn enter(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        // Paired with `polling`: either the thread sees this helper before it sleeps, or this
        // helper sees it sleeping and rings, as for a command.
        self.wake.wake();
    }

    /// The helper leaves. `back`: it returns with traffic and will be back soon; otherwise it is going
    /// to sleep, and the I/O thread must take the work back now.
    pub fn leave(&self, back: bool) {
        self.leave_at(Instant::now, back);
    }

    /// [`HelpGate::leave`] on the clock `now` (a model's; the runtime's is `Instant::now`),
    /// read only when `back` starts a grace.
    pub fn leave_at(&self, now: impl FnOnce() -> Instant, back: bool) {
        let ns = if back {
            let since = now().saturating_duration_since(self.epoch);
            u64::try_from(since.as_nanos()).unwrap_or(Self::NEVER - 1)
        } else {
            Self::NEVER
        };
        // A swap, not a store, as every write of `left` is: the same `xchg` on x86 as a SeqCst
        // store, and one loom orders right against `quiet`'s compare-exchange (it may place a
        // plain store racing a read-modify-write before it, tokio-rs/loom#389).
        self.left.swap(ns, Ordering::SeqCst);
        if self.count.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        // Paired with the fences in `sleeping` and `sleep_while_helped`. SeqCst accesses alone
        // would do in the language's model; the fences state each pairing where loom checks
        // it (it models a SeqCst access as acquire or release, tokio-rs/loom#180). One
        // barrier per hand-over, paid by the last helper only: in a round trip that is once a
        // blocking call, beside its system calls (latency measured level).
        fence(Ordering::SeqCst);
        // Paired with `sleeping`: either a thread about to sleep on its signal sees this
        // grace and ends it, or this sees that thread and gives none.
        let back = back && self.sleepers.load(Ordering::SeqCst) == 0;
        if !back {
            self.left.swap(Self::NEVER, Ordering::SeqCst);
        }
        // A thread parked until the last helper leaves must start its grace, or end it.
        if !back || self.asleep.load(Ordering::SeqCst) {
            self.unpark();
        }
    }

    /// Out of the way for a grace after a leader left: nobody takes turns meanwhile unless
    /// a user thread does ([`super::context::CtxInner::direct_write`]). SeqCst for [`HelpGate::sleeping`]'s
    /// pairing with `leave` (plain loads on x86, so the hot callers pay nothing for it).
    pub fn in_grace(&self) -> bool {
        self.count.load(Ordering::SeqCst) == 0 && self.left.load(Ordering::SeqCst) != Self::NEVER
    }

    /// Ends a grace early ([`super::context::CtxInner::streaming`]); nothing if there is none.
    #[inline]
    pub fn end_grace(&self) {
        if self.in_grace() {
            self.left.swap(Self::NEVER, Ordering::SeqCst);
            self.unpark();
        }
    }

    fn unpark(&self) {
        self.io.unpark();
    }

    /// A user thread is about to sleep on its signal in a blocking call, until it calls
    /// [`HelpGate::woke`]: the I/O thread takes the work now rather than after a grace.
    pub fn sleeping(&self) {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        // Paired with the fence in `leave`.
        fence(Ordering::SeqCst);
        self.end_grace();
    }

    /// The user thread that called [`HelpGate::sleeping`] woke.
    pub fn woke(&self) {
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    /// The I/O thread parks while a helper is in; the last one to leave unparks it.
    pub fn sleep_while_helped(&self) {
        self.asleep.store(true, Ordering::SeqCst);
        // Paired with the fence in `leave`: either this sees the last helper gone, or it sees
        // this asleep.
        fence(Ordering::SeqCst);
        if self.count.load(Ordering::SeqCst) > 0 {
            crate::sync::thread::park();
        }
        self.asleep.store(false, Ordering::SeqCst);
    }

    /// The I/O thread (or a leader) starts (`true`) or ended a turn; starting, whether that
    /// turn may sleep: not while a helper waits for the lock.
    pub fn polling(&self, on: bool) -> bool {
        // The planted bug hides the poll: what arrives meanwhile is not rung for.
        self.wake.polling.store(on && !(mutant!(PollGoesUnrung) && self.spin), Ordering::SeqCst);
        if !on {
            return false;
        }
        // Paired with the fence in [`LoopWake::wake`]: the drain that starts this turn sees
        // every command, and the count every helper, whose sender saw `polling` false.
        fence(Ordering::SeqCst);
        self.count.load(Ordering::SeqCst) == 0
    }

    /// Whether the I/O thread should leave the work to user threads, and until when. A user
    /// thread between two blocking calls of a round trip (a reply sent, the next `recv` not
    /// yet entered) is still the one to do it, hence the grace after the last one left; a
    /// user thread that stopped calling leaves the I/O thread in charge one grace later.
    pub fn quiet(&self, grace: Duration) -> Quiet {
        self.quiet_at(Instant::now, grace)
    }

    /// [`HelpGate::quiet`] on the clock `now` (a model's; the runtime's is `Instant::now`),
    /// read only if a grace was given, and after the look at it: a helper that left just
    /// before that look has its grace from then.
    pub fn quiet_at(&self, now: impl FnOnce() -> Instant, grace: Duration) -> Quiet {
        let helped = self.count.load(Ordering::SeqCst) > 0;
        let ns = self.left.load(Ordering::SeqCst);
        if ns != Self::NEVER {
            let left = self.epoch + Duration::from_nanos(ns);
            // The planted bug stays out far longer than any test waits (but not for ever, so
            // that the context still terminates and the test fails rather than hangs).
            let grace = if mutant!(IoThreadStaysQuiet) { Duration::from_secs(10) } else { grace };
            if left + grace > now() {
                // Also while a helper is in: one that came back within the grace is likely in
                // a round trip and leaves again soon, and a timed park spares it an unpark.
                return Quiet::Until(left + grace);
            }
            if !helped {
                // Over: sends stop writing from their own thread ([`HelpGate::in_grace`]),
                // unless a helper left again meanwhile: a compare-exchange, so that its grace
                // stands (`loom-tests`: `a_grace_given_as_another_runs_out_stands`).
                if mutant!(GraceErased) {
                    self.left.store(Self::NEVER, Ordering::SeqCst);
                } else {
                    let _ = self.left.compare_exchange(
                        ns,
                        Self::NEVER,
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    );
                }
            }
        }
        // A helper that stayed in for longer than a grace (a call blocked on a quiet socket)
        // unparks this when it leaves: no wake-ups meanwhile.
        if helped { Quiet::Helped } else { Quiet::No }
    }
}
