//! An I/O thread: a `mio::Poll` loop that owns listeners, connections and closed sockets that
//! are still lingering, and feeds them real readiness and real time.
//!
//! It decides nothing about a connection: each peer is a [`Connection`], and this loop only
//! carries out its [`Action`]s on a real stream (dial, shut the write side, drop) and reports
//! back what the operating system said. The one rule of its own is when to stop: only once the
//! context asked it to *and* every connection has finished closing, so that the tail a closing
//! socket still owes its peers is written before the process can exit.

use super::context::CtxInner;
use super::gate::{HelpGate, Quiet};
use super::monitor::{MonitorEvent, MonitorHandle};
use super::signal::{LeadMark, MioWake, Signal};
use super::stream::{Listener, Stream, Tuning};
use super::{Route, SocketCmd};
use crate::core::{Action, Connection, PeerConfig, PipeId, SocketActor, SocketInput};
use crate::endpoint::Endpoint;
use crate::pipe::{Mailbox, PipeCommand, Sender};
use crate::{Error, Result};
use mio::{Events, Interest, Poll, Token};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX);
const READ_BUF: usize = crate::core::READ_CHUNK;

/// A socket's LINGER, shared with its connections: unlike the other options it applies at
/// once (O-02), so a connection reads it when the socket lets it go. The socket stores before
/// it sends the commands that close, and the mailbox orders the two.
#[derive(Debug, Default)]
pub(crate) struct LiveLinger(AtomicU64);

impl LiveLinger {
    const FOREVER: u64 = u64::MAX;

    pub(crate) fn new(linger: Option<Duration>) -> Self {
        let cell = LiveLinger::default();
        cell.set(linger);
        cell
    }

    pub(crate) fn set(&self, linger: Option<Duration>) {
        // Nanoseconds; anything from 584 years up is as good as forever.
        let ns = linger.map_or(Self::FOREVER, |d| {
            u64::try_from(d.as_nanos()).unwrap_or(Self::FOREVER - 1).min(Self::FOREVER - 1)
        });
        self.0.store(ns, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            Self::FOREVER => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }
}

/// What a socket's connections share: their settings (fixed at bind/connect time, but for
/// LINGER), the monitor, and the TCP options the OS applies.
#[derive(Debug)]
pub(crate) struct PeerOpts {
    pub(crate) peer: PeerConfig,
    pub(crate) linger: Arc<LiveLinger>,
    pub(crate) monitor: MonitorHandle,
    pub(crate) tuning: Tuning,
}

/// A closed socket lingering here until its pipes finish terminating.
pub(crate) struct Reaped {
    pub(crate) id: u64,
    pub(crate) actor: SocketActor<Route>,
    pub(crate) mailbox: Mailbox<SocketCmd>,
}

pub(crate) enum IoCmd {
    /// Serve a bound listener for a socket.
    Listen {
        listener: Listener,
        socket: Sender<SocketCmd>,
        opts: Arc<PeerOpts>,
        endpoint: u64,
    },
    /// Run a connect side: its connection (whose pipe the socket took) and the actions it
    /// produced so far, to carry out first.
    Dial {
        conn: Box<Connection>,
        early: Vec<Action>,
        target: Endpoint,
        socket: Sender<SocketCmd>,
        opts: Arc<PeerOpts>,
    },
    /// A command for the connection end of a pipe.
    Pipe(PipeId, PipeCommand),
    /// Stop listening on this endpoint and drop its connections at once (unbind).
    Unlisten(u64),
    /// The socket closed: stop listening; accepted connections drain within linger.
    CloseListener(u64),
    /// The socket lets this connect side go (disconnect, close): it drains within linger.
    Undial(PipeId),
    Reap(Box<Reaped>),
    WakeSocket(u64),
    /// The socket was closed: after everything sent before this, stop its monitor.
    StopMonitor(MonitorHandle),
    /// The context terminates: stop once every connection has finished.
    Stop,
}

struct Peer {
    conn: Connection,
    stream: Option<Stream>,
    /// The stream is a dial in progress (waiting for writability).
    dialing: bool,
    socket: Sender<SocketCmd>,
    opts: Arc<PeerOpts>,
    /// Connect side: where to dial.
    target: Option<Endpoint>,
    /// Accepted through this listener endpoint.
    listener: Option<u64>,
    timer: Option<Instant>,
    /// What the stream may do now: see [`Readiness`].
    ready: Readiness,
}

/// A stream's readiness as the edges told it. `readable`/`writable`: false once a read or
/// write came back short or would block, true again on the next readiness edge. Each edge is
/// an event (the poll is edge-triggered, and data or room arriving after a short call makes a
/// new edge), so a pump woken by a pipe command does not pay a read that can only say "would
/// block", nor a write into a full buffer.
#[derive(Clone, Copy)]
struct Readiness {
    readable: bool,
    writable: bool,
    /// The peer's end was reported closed (or in error): its FIN may already sit behind the
    /// bytes a short read returned, with no edge left to come, so read until end of stream.
    hung_up: bool,
}

impl Readiness {
    /// A new stream: try both ways until told otherwise.
    const FRESH: Readiness = Readiness { readable: true, writable: true, hung_up: false };
}

enum Entry {
    Listener { listener: Listener, socket: Sender<SocketCmd>, opts: Arc<PeerOpts>, endpoint: u64 },
    Peer(Box<Peer>),
}

pub(crate) struct IoThread {
    index: usize,
    poll: Poll,
    mailbox: Mailbox<IoCmd>,
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    peers: usize,
    routes: BTreeMap<PipeId, usize>,
    timers: BTreeSet<(Instant, usize)>,
    reaped: BTreeMap<u64, Reaped>,
    buf: Vec<u8>,
    /// Scratch for [`IoThread::pump_with`]: the actions a connection asked for.
    actions: Vec<Action>,
    stopping: bool,
    events: Events,
    /// The mailbox's waker, shared with the [`HelpGate`]: an arriving helper rings the
    /// thread awake the way a command does.
    wake: MioWake,
}

impl IoThread {
    pub(crate) fn new(index: usize) -> Result<(IoThread, Sender<IoCmd>)> {
        let poll = Poll::new().map_err(Error::Io)?;
        let waker = mio::Waker::new(poll.registry(), WAKER).map_err(Error::Io)?;
        let wake = MioWake::new(Arc::new(waker));
        let (mailbox, tx) = Mailbox::new(wake.clone());
        let t = IoThread {
            index,
            poll,
            mailbox,
            entries: Vec::new(),
            free: Vec::new(),
            peers: 0,
            routes: BTreeMap::new(),
            timers: BTreeSet::new(),
            reaped: BTreeMap::new(),
            buf: vec![0; READ_BUF],
            actions: Vec::new(),
            stopping: false,
            events: Events::with_capacity(256),
            wake,
        };
        Ok((t, tx))
    }

    /// The thread's loop. Each turn holds the state's lock, and so does a sleep in
    /// `epoll_wait`; between turns the thread lets go of it. While a user thread does the
    /// work (it leads the loop from a blocking call, [`IoThread::lead`], or helps in the
    /// low-latency mode, [`IoThread::help`]) the thread stays out of the way ([`HelpGate`]): a
    /// user thread arriving while it sleeps in `epoll_wait` rings it awake, so the sleep ends
    /// and the lock is free.
    pub(crate) fn run(l: Arc<IoLoop>, ctx: Arc<CtxInner>) {
        let lock = || l.state.lock().unwrap_or_else(PoisonError::into_inner);
        let grace = if ctx.spin.is_zero() { HANDOVER } else { ctx.spin };
        l.helpers.set_io_thread();
        loop {
            // While a user thread does the work, it is its: two busy threads on one side of a
            // round trip would only take the core from each other.
            match l.helpers.quiet(grace) {
                Quiet::No => {}
                Quiet::Until(until) => {
                    std::thread::park_timeout(until.saturating_duration_since(Instant::now()));
                    continue;
                }
                Quiet::Helped => {
                    l.helpers.sleep_while_helped();
                    continue;
                }
            }
            let mut t = lock();
            let may_sleep = l.helpers.polling(true);
            let alive = t.turn(&ctx, may_sleep, None, None);
            l.helpers.polling(false);
            drop(t);
            if !alive {
                return;
            }
        }
    }

    /// One turn by a user thread that would otherwise wait idle (the low-latency mode): the
    /// same turn the I/O thread takes, without sleeping, if nobody else is taking one. A
    /// thread that owns a socket runs this only from a blocking call, outside its actor.
    pub(crate) fn help(state: &Mutex<IoThread>, ctx: &Arc<CtxInner>) {
        if let Ok(mut t) = state.try_lock() {
            t.turn(ctx, false, None, None);
        }
    }

    /// A send's direct write ([`CtxInner::direct_write`]): the commands the send left for
    /// the loop, run now from the sender's thread if nobody else is taking a turn, which
    /// writes the message to its stream. Only the mailbox: what the loop's poll would bring
    /// stays queued in the kernel for the next turn, and the send pays no `epoll_wait`.
    pub(crate) fn write_now(state: &Mutex<IoThread>, ctx: &Arc<CtxInner>) {
        if let Ok(mut t) = state.try_lock() {
            t.drain_mailbox(ctx);
        }
    }

    /// A blocking call's wait in the default mode: the user thread leads the loop, taking
    /// the I/O thread's turns itself and sleeping in its `epoll_wait`, until `signal` is
    /// notified or `deadline`. What it waits for then wakes it straight from the kernel, one
    /// wake-up where a sleep on the signal costs two (the I/O thread's, then the user's).
    /// False, without waiting, if another thread leads already, or sleeps in a blocking call
    /// (the I/O thread is better off serving them all).
    pub(crate) fn lead(
        l: &IoLoop,
        ctx: &Arc<CtxInner>,
        signal: &Signal,
        deadline: Option<Instant>,
    ) -> bool {
        let g = &l.helpers;
        if !g.try_lead() {
            return false;
        }
        // Declared before the lock's guard, so dropped after it: on the way out, a panic in a
        // turn included, the loop is handed back and the next blocked call may lead.
        let _led = Led { g, signal, _mark: LeadMark::set(&g.wake.ring) };
        let mut t = l.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if too_near(deadline) {
                break;
            }
            // Armed, a notify from another thread rings the waker this turn sleeps on.
            if !signal.arm_lead() {
                break;
            }
            g.polling(true);
            let alive = t.turn(ctx, true, deadline, Some(signal));
            g.polling(false);
            if signal.disarm_lead() || !alive {
                break;
            }
        }
        true
    }

    /// How long the loop may sleep: until its first timer.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        self.timers.first().map(|&(t, _)| t.saturating_duration_since(now))
    }

    /// Commands, timers, one poll and the events it brought; false once the thread should
    /// exit. `may_sleep`: the poll may block until the next timer (false for a helper), and
    /// no later than `until` (a leader's deadline), and not at all once `leader` (the signal
    /// of the thread taking the turn, which is not rung for what the turn itself delivers)
    /// was notified.
    fn turn(
        &mut self,
        ctx: &Arc<CtxInner>,
        may_sleep: bool,
        until: Option<Instant>,
        leader: Option<&Signal>,
    ) -> bool {
        self.drain_mailbox(ctx);
        // Every socket is closed by the time the context asks us to stop; what is left
        // are connections still flushing their tail, and they must finish first.
        if self.stopping && self.peers == 0 {
            return false;
        }
        let now = Instant::now();
        self.fire_timers(now);
        let timeout = if !may_sleep || leader.is_some_and(Signal::notified) {
            Some(Duration::ZERO)
        } else {
            let cap = until.map(|u| u.saturating_duration_since(now));
            match (self.timeout(now), cap) {
                (Some(t), Some(c)) => Some(t.min(c)),
                (t, c) => t.or(c),
            }
        };
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        match self.poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                self.events = events;
                return false;
            }
        }
        for ev in events.iter() {
            match ev.token() {
                // The waker's event is used up here; what it announced must be handled in this
                // turn, or nobody may be woken for it again: a command pushed since the drain
                // above found the mailbox asleep and rang for it.
                WAKER => {
                    self.drain_mailbox(ctx);
                }
                Token(_) => self.ready(ev, ctx),
            }
        }
        self.events = events;
        true
    }

    fn insert(&mut self, e: Entry) -> usize {
        if matches!(e, Entry::Peer(_)) {
            self.peers += 1;
        }
        match self.free.pop() {
            Some(k) => {
                self.entries[k] = Some(e);
                k
            }
            None => {
                self.entries.push(Some(e));
                self.entries.len() - 1
            }
        }
    }

    /// Adds a connection with no stream yet (dialing) or an accepted one, and routes its pipe.
    fn add_peer(&mut self, peer: Peer) -> usize {
        let pipe = peer.conn.pipe_id();
        let key = self.insert(Entry::Peer(Box::new(peer)));
        self.routes.insert(pipe, key);
        key
    }

    fn peer(&mut self, key: usize) -> Option<&mut Peer> {
        match self.entries.get_mut(key) {
            Some(Some(Entry::Peer(p))) => Some(p),
            _ => None,
        }
    }

    /// Handles every command queued.
    fn drain_mailbox(&mut self, ctx: &Arc<CtxInner>) {
        while let Some(cmd) = self.mailbox.try_recv() {
            match cmd {
                IoCmd::Listen { listener, socket, opts, endpoint } => {
                    let key = self.insert(Entry::Listener { listener, socket, opts, endpoint });
                    let registered = match &mut self.entries[key] {
                        Some(Entry::Listener { listener, .. }) => self
                            .poll
                            .registry()
                            .register(listener, Token(key), Interest::READABLE)
                            .is_ok(),
                        _ => false,
                    };
                    if registered {
                        self.accept_all(key, ctx);
                    } else {
                        self.remove(key);
                    }
                }
                IoCmd::Dial { conn, early, target, socket, opts } => {
                    let peer = Peer {
                        conn: *conn,
                        stream: None,
                        ready: Readiness::FRESH,
                        dialing: false,
                        socket,
                        opts,
                        target: Some(target),
                        listener: None,
                        timer: None,
                    };
                    let key = self.add_peer(peer);
                    self.pump_with(key, early);
                }
                IoCmd::Pipe(id, cmd) => {
                    // For a connection's end only: a socket's end hears through its own
                    // mailbox. A connection already gone finished its handshake; late
                    // commands are moot.
                    if let Some(&key) = self.routes.get(&id) {
                        self.deliver(key, cmd);
                    }
                }
                IoCmd::Unlisten(endpoint) => self.unlisten(endpoint, true),
                IoCmd::CloseListener(endpoint) => self.unlisten(endpoint, false),
                IoCmd::Undial(id) => {
                    if let Some(&key) = self.routes.get(&id) {
                        self.terminate(key, false);
                    }
                }
                IoCmd::Reap(r) => {
                    let id = r.id;
                    self.reaped.insert(id, *r);
                    self.service_reaped(id, ctx);
                }
                IoCmd::WakeSocket(id) => self.service_reaped(id, ctx),
                IoCmd::StopMonitor(m) => m.stop(),
                IoCmd::Stop => self.stopping = true,
            }
        }
    }

    /// A pipe command from the socket for connection `key`.
    fn deliver(&mut self, key: usize, cmd: PipeCommand) {
        let Some(p) = self.peer(key) else { return };
        let linger = p.opts.linger.clone();
        p.conn.handle_pipe_command(Instant::now(), cmd, || linger.get());
        self.pump(key);
    }

    /// The socket lets connection `key` go; `force` drops everything at once (unbind).
    fn terminate(&mut self, key: usize, force: bool) {
        let Some(p) = self.peer(key) else { return };
        let linger = p.opts.linger.get();
        p.conn.terminate(Instant::now(), linger, force);
        self.pump(key);
    }

    /// Readiness on an entry.
    fn ready(&mut self, ev: &mio::event::Event, ctx: &Arc<CtxInner>) {
        let key = ev.token().0;
        match self.entries.get_mut(key) {
            Some(Some(Entry::Listener { .. })) => self.accept_all(key, ctx),
            Some(Some(Entry::Peer(p))) => {
                // A hang-up or an error is for the next read or write to report.
                let r = &mut p.ready;
                r.hung_up |= ev.is_read_closed() || ev.is_error();
                r.readable |= ev.is_readable() || r.hung_up;
                r.writable |= ev.is_writable() || ev.is_write_closed() || ev.is_error();
                if p.dialing {
                    Self::finish_dial(self.poll.registry(), p);
                }
                self.pump(key);
            }
            _ => {}
        }
    }

    fn accept_all(&mut self, key: usize, ctx: &Arc<CtxInner>) {
        loop {
            let Some(Some(Entry::Listener { listener, socket, opts, endpoint })) =
                self.entries.get_mut(key)
            else {
                return;
            };
            let (mut stream, socket, opts, endpoint) = match listener.accept() {
                Ok(s) => (s, socket.clone(), opts.clone(), *endpoint),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // Out of descriptors and the like: try again on the next readiness.
                Err(e) => {
                    let endpoint = opts.peer.connection.endpoint.clone();
                    opts.monitor
                        .emit(MonitorEvent::AcceptFailed { endpoint, error: e.to_string() });
                    return;
                }
            };
            let conn = Connection::accept(Instant::now(), opts.peer.clone(), ctx.next_pipe_id());
            // A failure here leaves the OS's keepalive settings: not worth the connection.
            let _ = stream.configure(&opts.tuning);
            let peer = Peer {
                conn,
                stream: None,
                ready: Readiness::FRESH,
                dialing: false,
                socket,
                opts,
                target: None,
                listener: Some(endpoint),
                timer: None,
            };
            let peer_key = self.add_peer(peer);
            if self
                .poll
                .registry()
                .register(&mut stream, Token(peer_key), Interest::READABLE | Interest::WRITABLE)
                .is_ok()
            {
                if let Some(p) = self.peer(peer_key) {
                    p.stream = Some(stream);
                }
            } else if let Some(p) = self.peer(peer_key) {
                p.conn.handle_eof(Instant::now());
            }
            self.pump(peer_key);
        }
    }

    /// A dial in progress became writable: done, failed, or still in progress.
    fn finish_dial(registry: &mio::Registry, p: &mut Peer) {
        let Some(stream) = p.stream.as_mut() else { return };
        let now = Instant::now();
        match stream.connected() {
            Ok(true) => {
                p.dialing = false;
                let _ = stream.configure(&p.opts.tuning);
                p.conn.handle_connected(now);
            }
            Ok(false) => {}
            Err(_) => {
                if let Some(mut s) = p.stream.take() {
                    let _ = registry.deregister(&mut s);
                }
                p.dialing = false;
                p.conn.handle_dial_failed(now);
            }
        }
    }

    fn pump(&mut self, key: usize) {
        self.pump_with(key, Vec::new());
    }

    /// Carries out `first`, then reads while the connection wants input, writes while it has
    /// output, and carries out what that produced, until nothing changes.
    fn pump_with(&mut self, key: usize, first: Vec<Action>) {
        // The list is kept between calls, so that a pump allocates nothing in the steady
        // state (over tcp, a REQ/REP round trip would allocate it twice).
        let mut pending = std::mem::take(&mut self.actions);
        pending.extend(first);
        let live = loop {
            if !pending.is_empty() && self.carry_out(key, &mut pending) {
                break false;
            }
            let Some(Some(Entry::Peer(p))) = self.entries.get_mut(key) else { break false };
            Self::transfer(p, &mut self.buf);
            pending.extend(std::iter::from_fn(|| p.conn.poll_action()));
            if pending.is_empty() {
                break true;
            }
        };
        pending.clear();
        self.actions = pending;
        if live {
            self.update_timer(key);
        }
    }

    /// Moves bytes between the stream and the connection until the stream would block or the
    /// connection wants no more.
    fn transfer(p: &mut Peer, buf: &mut [u8]) {
        let Some(stream) = p.stream.as_mut().filter(|_| !p.dialing) else { return };
        let now = Instant::now();
        while p.ready.readable && p.conn.wants_input() {
            // Straight into the connection's input buffer when it takes input; otherwise (what
            // arrives after our FIN is only drained) into ours.
            let mut room = 0;
            let direct = p.conn.read_input(now, READ_BUF, |input, most| {
                room = most;
                stream.recv_into(input, most)
            });
            let got = match direct {
                Some(got) => got,
                None => {
                    room = buf.len();
                    stream.read(buf).inspect(|&n| p.conn.handle_input(now, &buf[..n]))
                }
            };
            match got {
                Ok(0) => {
                    p.conn.handle_eof(now);
                    break;
                }
                Ok(n) => {
                    // Short: the stream is drained for now; more makes a new edge.
                    p.ready.readable =
                        n == room || (p.ready.hung_up && !mutant!(ShortReadIgnoresHangup));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => p.ready.readable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    p.conn.handle_eof(now);
                    break;
                }
            }
        }
        while p.ready.writable && p.conn.pending_transmit() > 0 {
            let mut iov = [IoSlice::new(&[]); 64];
            let n = p.conn.transmit_chunks(&mut iov);
            let offered: usize = iov[..n].iter().map(|b| b.len()).sum();
            match stream.write_vectored(&iov[..n]) {
                Ok(w) => {
                    // Short: the send buffer is full; room makes a new edge.
                    p.ready.writable = w == offered;
                    p.conn.advance_transmit(now, w);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => p.ready.writable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    p.conn.handle_eof(now);
                    break;
                }
            }
        }
    }

    /// Carries out a connection's actions; true when the connection is gone.
    fn carry_out(&mut self, key: usize, actions: &mut Vec<Action>) -> bool {
        let index = self.index;
        for a in actions.drain(..) {
            let registry = self.poll.registry();
            let Some(Some(Entry::Peer(p))) = self.entries.get_mut(key) else { return true };
            match a {
                Action::AttachPipe { id, end, info } => {
                    let route = Route::Io(index);
                    p.socket.send(SocketCmd::Input(SocketInput::Attach { id, end, info, route }));
                }
                Action::PipeCommand(id, c) => {
                    p.socket.send(SocketCmd::Input(SocketInput::Pipe(id, c)))
                }
                Action::Monitor(e) => p.opts.monitor.emit(e),
                Action::Dial => {
                    let dialed = p.target.as_ref().map(Stream::connect);
                    match dialed {
                        Some(Ok(mut s)) => {
                            let interest = Interest::READABLE | Interest::WRITABLE;
                            if registry.register(&mut s, Token(key), interest).is_ok() {
                                p.stream = Some(s);
                                p.ready = Readiness::FRESH;
                                p.dialing = true;
                                // A Unix-domain connect may be done already; check now, since
                                // no new readiness may come for it.
                                Self::finish_dial(registry, p);
                            } else {
                                p.conn.handle_dial_failed(Instant::now());
                            }
                        }
                        _ => p.conn.handle_dial_failed(Instant::now()),
                    }
                }
                Action::AbortDial | Action::DropStream { .. } => {
                    if let Some(mut s) = p.stream.take() {
                        let _ = registry.deregister(&mut s);
                    }
                    p.dialing = false;
                }
                Action::ShutdownWrite => {
                    if p.stream.as_ref().is_none_or(|s| s.shutdown_write().is_err()) {
                        p.conn.handle_eof(Instant::now());
                    }
                }
                Action::Finished => {
                    let pipe = p.conn.pipe_id();
                    self.routes.remove(&pipe);
                    self.remove(key);
                    return true;
                }
            }
        }
        false
    }

    fn update_timer(&mut self, key: usize) {
        let Some(p) = self.peer(key) else { return };
        let next = p.conn.poll_timeout();
        let old = std::mem::replace(&mut p.timer, next);
        if old != next {
            if let Some(t) = old {
                self.timers.remove(&(t, key));
            }
            if let Some(t) = next {
                self.timers.insert((t, key));
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&(t, key)) = self.timers.first() {
            if t > now {
                return;
            }
            self.timers.remove(&(t, key));
            let Some(p) = self.peer(key) else { continue };
            p.timer = None;
            p.conn.handle_timeout(now);
            self.pump(key);
        }
    }

    fn remove(&mut self, key: usize) {
        if let Some(Some(e)) = self.entries.get_mut(key).map(Option::take) {
            match e {
                Entry::Peer(mut p) => {
                    self.peers -= 1;
                    if let Some(t) = p.timer {
                        self.timers.remove(&(t, key));
                    }
                    if let Some(mut s) = p.stream.take() {
                        let _ = self.poll.registry().deregister(&mut s);
                    }
                }
                Entry::Listener { mut listener, opts, .. } => {
                    let _ = self.poll.registry().deregister(&mut listener);
                    drop(listener);
                    let endpoint = opts.peer.connection.endpoint.clone();
                    opts.monitor.emit(MonitorEvent::Closed { endpoint });
                }
            }
            self.free.push(key);
        }
    }

    /// Stops a listener. Its accepted connections go too: at once on unbind (`force`, L-10),
    /// or after draining within linger when the socket closes (L-07), like libzmq's listener
    /// terminating its sessions with the socket's linger.
    fn unlisten(&mut self, endpoint: u64, force: bool) {
        let keys: Vec<usize> = (0..self.entries.len())
            .filter(|&k| match &self.entries[k] {
                Some(Entry::Listener { endpoint: e, .. }) => *e == endpoint,
                Some(Entry::Peer(p)) => p.listener == Some(endpoint),
                None => false,
            })
            .collect();
        for k in keys {
            match &self.entries[k] {
                Some(Entry::Listener { .. }) => self.remove(k),
                _ => self.terminate(k, force),
            }
        }
    }

    /// Runs a lingering socket: its mailbox, its commands, and its end once all pipes are done.
    fn service_reaped(&mut self, id: u64, ctx: &Arc<CtxInner>) {
        let Some(r) = self.reaped.get_mut(&id) else { return };
        while let Some(cmd) = r.mailbox.try_recv() {
            if let SocketCmd::Input(input) = cmd {
                r.actor.handle(input);
            }
        }
        let index = self.index;
        let mut local = Vec::new();
        r.actor.flush(|route, p, c| match route {
            Route::Io(i) if *i == index => local.push((p, c)),
            route => route.send(ctx, p, c),
        });
        let closed = r.actor.is_closed();
        for (p, c) in local {
            if let Some(&key) = self.routes.get(&p) {
                self.deliver(key, c);
            }
        }
        if closed {
            self.reaped.remove(&id);
            ctx.reaped();
        }
    }
}

/// An I/O thread as the context holds it: its state, and what its helpers share with it.
pub(crate) struct IoLoop {
    pub(crate) state: Mutex<IoThread>,
    pub(crate) helpers: HelpGate<mio::Waker>,
}

impl IoLoop {
    /// `spin`: the context is in the low-latency mode.
    pub(crate) fn new(t: IoThread, spin: bool) -> IoLoop {
        let helpers = HelpGate::new(t.wake.clone(), spin);
        IoLoop { state: Mutex::new(t), helpers }
    }

    /// The thread's number (its name's suffix).
    pub(crate) fn index(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).index
    }
}

/// A leader's mark on its loop ([`IoThread::lead`]), removed when it drops.
struct Led<'a> {
    g: &'a HelpGate<mio::Waker>,
    signal: &'a Signal,
    _mark: LeadMark,
}

impl Drop for Led<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A turn panicked between arming and disarming: a notify still to come must not
            // ring a loop nobody leads (the ordinary path disarmed already, and doing it again
            // would swallow a notify that came since).
            self.g.polling(false);
            let _ = self.signal.disarm_lead();
        }
        self.g.end_lead();
    }
}

/// Whether `deadline` is too close to lead for: `epoll_wait` counts whole milliseconds,
/// rounding up, so the last one before a deadline is slept on the signal, which keeps it to
/// the microsecond.
pub(crate) fn too_near(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < Duration::from_millis(1))
}

/// How long an I/O thread stays out of the way after a user thread that led its loop
/// returned with traffic (the default mode): a thread between two blocking calls of a round
/// trip (a reply received, the request sent, the next `recv` not yet entered) will be back
/// within it, and handing the loop over and back would cost a wake-up each way. Traffic nobody
/// waits for meanwhile (a connection still flushing a backlog, a socket nobody is blocked on)
/// waits for it at most, and never when another user thread sleeps in a blocking call.
const HANDOVER: Duration = Duration::from_micros(500);
