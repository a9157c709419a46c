//! The context: owner of the I/O threads, the socket registry and the inproc namespace. No
//! global state: two contexts in one process share nothing (L-15).

use super::SocketCmd;
use super::inproc::Names;
use super::io_thread::{IoCmd, IoLoop, IoThread, too_near};
use super::signal::Signal;
use super::socket::Socket;
use crate::core::PipeId;
use crate::pipe::Sender;
use crate::{Error, Result, SocketType};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// libzmq's default MAX_SOCKETS.
pub const DEFAULT_MAX_SOCKETS: usize = 1023;

#[derive(Default)]
struct Registry {
    live: BTreeMap<u64, Sender<SocketCmd>>,
    /// Closed sockets still lingering on an I/O thread.
    reaping: usize,
}

pub(crate) struct CtxInner {
    pub(crate) io: Vec<Sender<IoCmd>>,
    /// Each I/O thread's state, locked by its thread for every turn of its loop, and by a
    /// blocked user thread taking a turn in the low-latency mode ([`CtxInner::help_io`]).
    pub(crate) io_loops: Vec<Arc<IoLoop>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicU64,
    registry: Mutex<Registry>,
    registry_cv: Condvar,
    pub(crate) terminating: AtomicBool,
    max_sockets: usize,
    pub(crate) inproc: Names,
    pub(crate) default_linger: Option<Duration>,
    /// How long a blocked user thread looks for traffic before it sleeps (the low-latency
    /// mode, [`ContextBuilder::spin`]).
    pub(crate) spin: Duration,
    /// Seeds the reconnect jitter of each connection (L-03), so that many peers of a restarted
    /// endpoint do not all retry at the same instants.
    jitter: std::collections::hash_map::RandomState,
}

impl CtxInner {
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_pipe_id(&self) -> PipeId {
        PipeId(self.next_id())
    }

    /// A `recv` found its message already queued: the caller is reading a stream, not waiting
    /// out a round trip, and its I/O thread should read on in parallel rather than wait out
    /// the grace the last blocking `recv` gave it.
    pub(crate) fn streaming(&self) {
        if self.spin.is_zero() {
            for l in &self.io_loops {
                l.helpers.end_grace();
            }
        }
    }

    /// The low-latency mode's help: a turn of each I/O thread's loop that is not in one.
    pub(crate) fn help_io(self: &Arc<Self>) {
        for l in &self.io_loops {
            IoThread::help(&l.state, self);
        }
    }

    /// After a send that woke a connection: the message is written from this thread by a turn
    /// of the I/O loops that stay out of the way of a round trip (the grace after a leader
    /// left, [`IoThread::lead`]), or of every loop in the low-latency mode. A loop that is
    /// awake was rung for the command and writes it itself: a sender streaming messages
    /// keeps its I/O thread batching them.
    pub(crate) fn direct_write(self: &Arc<Self>) {
        for l in &self.io_loops {
            if !self.spin.is_zero() || l.helpers.in_grace() {
                IoThread::write_now(&l.state, self);
            }
        }
    }

    /// How a user thread blocked in `send`, `recv` or `poll` waits on its `signal` until
    /// `deadline`. In the low-latency mode it first spins, taking the I/O threads' turns
    /// meanwhile, and hands the work back before it sleeps. In the default mode, with one I/O
    /// thread (the default) and nobody leading it already, it leads that thread's loop: it
    /// sleeps in the loop's `epoll_wait` rather than on the signal, as `lead` says.
    pub(crate) fn wait(self: &Arc<Self>, signal: &Signal, deadline: Option<Instant>, lead: Lead) {
        if !self.spin.is_zero() {
            let helping = self.helping();
            if signal.spin(deadline, self.spin, &|| self.help_io()) {
                return;
            }
            helping.park();
        } else if let ([l], true) =
            (&self.io_loops[..], lead == Lead::RoundTrip && !too_near(deadline))
        {
            if IoThread::lead(l, self, signal, deadline) {
                return;
            }
        }
        // An inproc-only socket's notifiers are user threads: whether an I/O thread waits out
        // a grace does not matter to it.
        let sleeper = lead != Lead::No;
        if sleeper {
            self.io_loops.iter().for_each(|l| l.helpers.sleeping());
        }
        signal.wait(deadline);
        if sleeper {
            self.io_loops.iter().for_each(|l| l.helpers.woke());
        }
    }

    /// Marks the calling thread as a helper of every I/O thread until the guard drops: the I/O
    /// threads leave the work to it meanwhile, so that one thread, not two, is busy on each
    /// side of a round trip.
    pub(crate) fn helping(&self) -> Helping<'_> {
        for l in &self.io_loops {
            l.helpers.enter();
        }
        Helping(self, true)
    }

    /// A seed for a connection's reconnect jitter.
    pub(crate) fn jitter_seed(&self, pipe: PipeId) -> u64 {
        std::hash::BuildHasher::hash_one(&self.jitter, pipe.0)
    }

    /// A random seed for a new socket (its generated routing ids, its request ids).
    pub(crate) fn random_seed(&self) -> u64 {
        std::hash::BuildHasher::hash_one(&self.jitter, (u64::MAX, self.next_id()))
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn register(&self, id: u64, tx: Sender<SocketCmd>) -> Result<()> {
        if self.terminating.load(Ordering::Acquire) {
            return Err(Error::Terminated);
        }
        let mut r = self.registry();
        if r.live.len() >= self.max_sockets {
            return Err(Error::TooManySockets);
        }
        r.live.insert(id, tx);
        Ok(())
    }

    /// A socket was closed by its user; `lingering` when it goes on to an I/O thread.
    pub(crate) fn unregister(&self, id: u64, lingering: bool) {
        let mut r = self.registry();
        r.live.remove(&id);
        if lingering {
            r.reaping += 1;
        }
        self.registry_cv.notify_all();
    }

    /// A reaped socket finished lingering.
    pub(crate) fn reaped(&self) {
        let mut r = self.registry();
        r.reaping -= 1;
        self.registry_cv.notify_all();
    }

    fn terminate(&self) {
        if self.terminating.swap(true, Ordering::AcqRel) {
            return;
        }
        // Interrupt every blocking call (L-08): each live socket gets Stop.
        for tx in self.registry().live.values() {
            tx.send(SocketCmd::Stop);
        }
        let mut r = self.registry();
        while !r.live.is_empty() || r.reaping > 0 {
            r = self.registry_cv.wait(r).unwrap_or_else(PoisonError::into_inner);
        }
        drop(r);
        for io in &self.io {
            io.send(IoCmd::Stop);
        }
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Whether a blocked call in the default mode leads its I/O thread's loop ([`CtxInner::wait`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lead {
    /// No: what it waits for comes from user threads (inproc peers), which notify its signal
    /// directly; sleeping in `epoll_wait` would only put an eventfd between them.
    No,
    /// No, but it waits for the I/O thread, which must not wait out a grace meanwhile (a
    /// `send` held up by a full queue: its I/O thread writes while it sleeps, and leading would
    /// hand the loop over and back at every message the peer makes room for).
    Sleep,
    /// Yes, and the I/O thread stays out of the way for a grace after the call returns (a
    /// `recv` or a poll: the caller is likely back soon, after a send of its own, which then
    /// writes from its thread, [`CtxInner::direct_write`]).
    RoundTrip,
}

/// A helper's mark on the I/O threads ([`CtxInner::helping`]). Dropped, it says the thread
/// returns with traffic and will be back; [`Helping::park`] says it is going to sleep.
pub(crate) struct Helping<'a>(&'a CtxInner, bool);

impl Helping<'_> {
    /// The helper's budget ran out and it is about to sleep: the I/O threads take the work
    /// back at once.
    pub(crate) fn park(mut self) {
        self.1 = false;
    }
}

impl Drop for Helping<'_> {
    fn drop(&mut self) {
        for l in &self.0.io_loops {
            l.helpers.leave(self.1);
        }
    }
}

/// Settings for a new [`Context`].
#[derive(Clone, Debug)]
pub struct ContextBuilder {
    io_threads: usize,
    max_sockets: usize,
    default_linger: Option<Duration>,
    spin: Duration,
}

impl Default for ContextBuilder {
    fn default() -> Self {
        ContextBuilder {
            io_threads: 1,
            max_sockets: DEFAULT_MAX_SOCKETS,
            default_linger: None,
            spin: Duration::ZERO,
        }
    }
}

impl ContextBuilder {
    /// Number of I/O threads (IO_THREADS; default 1, at least 1). With one, a call blocked on
    /// a tcp or ipc socket sleeps in that thread's poll and does its work when woken (see
    /// [`spin`](Self::spin)); with several, it sleeps on its own and the I/O threads wake it,
    /// a wake-up more per message on each side.
    pub fn io_threads(mut self, n: usize) -> Self {
        self.io_threads = n.max(1);
        self
    }

    /// The most sockets alive at once (MAX_SOCKETS; default 1023).
    pub fn max_sockets(mut self, n: usize) -> Self {
        self.max_sockets = n;
        self
    }

    /// LINGER for new sockets but SUB and XSUB, which start at 0 as in libzmq (O-05) (default
    /// `None`: forever, as libzmq's −1). `Some(ZERO)` is
    /// libzmq's BLOCKY=false: closing drops unsent messages so term cannot hang (L-09).
    pub fn default_linger(mut self, linger: Option<Duration>) -> Self {
        self.default_linger = linger;
        self
    }

    /// The low-latency mode (default: off, `Duration::ZERO`). With a budget, a user thread
    /// that would sleep in `send`, `recv` or [`poll`](crate::poll) first keeps looking for
    /// traffic for up to `budget`, yielding the core between looks, and meanwhile does the I/O
    /// thread's work itself (reads what came, writes what was queued); a `send` that wakes a
    /// connection writes it from the caller's thread at once. So a message that comes within
    /// the budget is taken without a sleep and a wake-up, which is most of a small message's
    /// latency over loopback (docs/performance.md has the figures). The I/O thread stays out
    /// of the way while a user thread helps, and for one budget after one returned with
    /// traffic (it will be back); a user thread whose budget ran out hands the work back at
    /// once before it sleeps.
    ///
    /// Without a budget a blocked `recv` or poll already does most of this, without spinning: with one
    /// I/O thread (the default) it sleeps in that thread's `epoll_wait` and does its work when
    /// woken, so the bytes it waits for wake it directly, and a `send` right after a `recv`
    /// writes from the caller's thread. What the budget adds is never sleeping at all.
    ///
    /// The cost is CPU: a blocked user thread stays busy for up to `budget` before it sleeps,
    /// so round trips keep about one core more busy than the default mode. An idle context
    /// costs nothing once its budget has run out. The budget should
    /// cover a round trip (tens of microseconds on one machine, hundreds across a network);
    /// it is capped at one second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = ferromq::Context::builder().spin(Duration::from_micros(100)).build()?;
    /// let mut rep = ctx.socket(ferromq::SocketType::Rep)?;
    /// rep.bind("tcp://127.0.0.1:*")?;
    /// let mut req = ctx.socket(ferromq::SocketType::Req)?;
    /// req.connect(&rep.last_endpoint().expect("bound"))?;
    /// req.send("ping")?;
    /// let ping = rep.recv()?;
    /// rep.send(ping)?;
    /// assert_eq!(&req.recv()?[..], b"ping");
    /// # Ok::<(), ferromq::Error>(())
    /// ```
    pub fn spin(mut self, budget: Duration) -> Self {
        self.spin = budget.min(Duration::from_secs(1));
        self
    }

    /// Starts the context and its I/O threads.
    pub fn build(self) -> Result<Context> {
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for i in 0..self.io_threads {
            let (t, tx) = IoThread::new(i)?;
            senders.push(tx);
            threads.push(t);
        }
        let inner = Arc::new(CtxInner {
            io: senders,
            io_loops: threads
                .into_iter()
                .map(|t| Arc::new(IoLoop::new(t, !self.spin.is_zero())))
                .collect(),
            threads: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            registry: Mutex::new(Registry::default()),
            registry_cv: Condvar::new(),
            terminating: AtomicBool::new(false),
            max_sockets: self.max_sockets,
            inproc: Names::default(),
            default_linger: self.default_linger,
            spin: self.spin,
            jitter: std::collections::hash_map::RandomState::new(),
        });
        let mut handles = Vec::new();
        for t in inner.io_loops.iter().cloned() {
            let ctx = inner.clone();
            let name = format!("ferromq-io-{}", t.index());
            let h = std::thread::Builder::new()
                .name(name)
                .spawn(move || IoThread::run(t, ctx))
                .map_err(Error::Io)?;
            handles.push(h);
        }
        *inner.threads.lock().unwrap_or_else(PoisonError::into_inner) = handles;
        Ok(Context { handle: Arc::new(Handle { inner }) })
    }
}

struct Handle {
    inner: Arc<CtxInner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.terminate();
    }
}

/// A ferromq context: create sockets from it. Cloning it is cheap; when the last clone is
/// dropped (or [`term`](Context::term) is called) it terminates: blocking calls on its sockets
/// return [`Error::Terminated`], and it waits until every socket is closed and has finished
/// lingering (L-08).
///
/// ```no_run
/// use ferromq::{Context, SocketType};
/// let ctx = Context::new().unwrap();
/// let mut pull = ctx.socket(SocketType::Pull).unwrap();
/// pull.bind("tcp://127.0.0.1:*").unwrap();
/// ```
#[derive(Clone)]
pub struct Context {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("io_threads", &self.handle.inner.io.len()).finish()
    }
}

impl Context {
    /// A context with libzmq's defaults (one I/O thread, 1023 sockets).
    pub fn new() -> Result<Context> {
        ContextBuilder::default().build()
    }

    /// Settings for a context.
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// A new socket of type `ty`.
    pub fn socket(&self, ty: SocketType) -> Result<Socket> {
        Socket::new(self.handle.inner.clone(), ty)
    }

    /// Terminates the context now (see the type's docs). Other clones become unusable.
    pub fn term(self) {
        self.handle.inner.terminate();
    }
}
