//! An I/O thread: a `mio::Poll` loop that owns listeners, connections (a session each) and
//! closed sockets that are still lingering, and feeds them real readiness and real time.

use super::context::CtxInner;
use super::monitor::{MonitorEvent, MonitorHandle};
use super::signal::MioWake;
use super::stream::{Keepalive, Listener, Stream};
use super::{Route, SocketCmd};
use crate::core::{Action, PipeId, Session, SessionConfig, SocketCore};
use crate::endpoint::Endpoint;
use crate::pipe::{Mailbox, PipeCommand, Sender};
use crate::proto::{CloseReason, Engine, EngineConfig};
use crate::{Error, Result};
use mio::{Events, Interest, Poll, Token};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX);
const READ_BUF: usize = 64 * 1024;
/// After a graceful close has written everything, how long to wait for the peer to close its
/// side (at most; linger may cut it shorter).
const DRAIN_MAX: Duration = Duration::from_secs(5);

/// A socket's LINGER, shared with its connections: unlike the other options it applies at
/// once (O-02), so a session reads it when the socket closes or disconnects it. The socket
/// stores before it sends the commands that close, and the mailbox orders the two.
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

/// How a socket's connections behave; fixed at bind/connect time, but for LINGER.
#[derive(Clone, Debug)]
pub(crate) struct PeerOpts {
    pub(crate) engine: EngineConfig,
    pub(crate) session: SessionConfig,
    pub(crate) reconnect_ivl: Option<Duration>,
    pub(crate) reconnect_ivl_max: Option<Duration>,
    pub(crate) linger: Arc<LiveLinger>,
    pub(crate) monitor: MonitorHandle,
    /// The endpoint as bound or connected, for monitor events.
    pub(crate) endpoint: String,
    pub(crate) keepalive: Keepalive,
}

/// A closed socket lingering here until its pipes finish terminating.
pub(crate) struct Reaped {
    pub(crate) id: u64,
    pub(crate) core: SocketCore,
    pub(crate) mailbox: Mailbox<SocketCmd>,
    pub(crate) routes: BTreeMap<PipeId, Route>,
}

pub(crate) enum IoCmd {
    /// Serve a bound listener for a socket.
    Listen {
        listener: Listener,
        socket: Sender<SocketCmd>,
        opts: Arc<PeerOpts>,
        endpoint: u64,
    },
    /// Dial `target` for this session until told otherwise.
    Dial {
        session: Box<Session>,
        target: Endpoint,
        socket: Sender<SocketCmd>,
        opts: Arc<PeerOpts>,
    },
    /// A command for the session end of a pipe.
    Pipe(PipeId, PipeCommand),
    /// Stop listening on this endpoint and drop its connections (unbind).
    Unlisten(u64),
    /// The socket closed: stop listening; accepted connections drain within linger.
    CloseListener(u64),
    /// Stop dialing and drop the connection of this pipe's session (disconnect).
    Undial(PipeId),
    Reap(Box<Reaped>),
    WakeSocket(u64),
    /// The socket was closed: after everything sent before this, stop its monitor.
    StopMonitor(MonitorHandle),
    Stop,
}

struct Peer {
    session: Session,
    stream: Option<Stream>,
    socket: Sender<SocketCmd>,
    opts: Arc<PeerOpts>,
    /// Connect side: where to dial, the next wait, and a dial in progress.
    dial: Option<Endpoint>,
    next_ivl: Duration,
    connecting: bool,
    reconnect_at: Option<Instant>,
    /// Accepted through this listener endpoint.
    listener: Option<u64>,
    handshaken: bool,
    /// The session is finished; flush what is left, then drop.
    closing_until: Option<Option<Instant>>,
    /// Everything is written and FIN sent: read (and drop) until the peer closes, then drop
    /// the stream. Closing with unread input would send an RST, which can make the peer
    /// discard the last messages it has not read yet.
    draining_until: Option<Instant>,
    peer_closed: bool,
    timer: Option<Instant>,
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
    routes: BTreeMap<PipeId, usize>,
    timers: BTreeSet<(Instant, usize)>,
    reaped: BTreeMap<u64, Reaped>,
    buf: Vec<u8>,
    stopping: bool,
    /// Seeded from the thread index; only spreads reconnect attempts (L-03 jitter).
    jitter_state: u64,
}

/// Reads and drops what the peer sent; true once it has closed its side (or failed).
fn drain(stream: &mut Stream, buf: &mut [u8]) -> bool {
    loop {
        match stream.read(buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

impl IoThread {
    pub(crate) fn new(index: usize) -> Result<(IoThread, Sender<IoCmd>)> {
        let poll = Poll::new().map_err(Error::Io)?;
        let waker = mio::Waker::new(poll.registry(), WAKER).map_err(Error::Io)?;
        let (mailbox, tx) = Mailbox::new(MioWake(waker));
        let t = IoThread {
            index,
            poll,
            mailbox,
            entries: Vec::new(),
            free: Vec::new(),
            routes: BTreeMap::new(),
            timers: BTreeSet::new(),
            reaped: BTreeMap::new(),
            buf: vec![0; READ_BUF],
            stopping: false,
            jitter_state: 0x9E37_79B9_7F4A_7C15 ^ index as u64,
        };
        Ok((t, tx))
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    pub(crate) fn run(mut self, ctx: Arc<CtxInner>) {
        let mut events = Events::with_capacity(256);
        loop {
            self.drain_mailbox(&ctx);
            if self.stopping {
                return;
            }
            let now = Instant::now();
            self.fire_timers(now);
            let timeout = self.timers.first().map(|&(t, _)| t.saturating_duration_since(now));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    Token(key) => self.ready(key, &ctx),
                }
            }
        }
    }

    fn insert(&mut self, e: Entry) -> usize {
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

    /// Adds a session with no stream yet (dialing, or just accepted) and routes its pipe.
    fn add_peer(
        &mut self,
        session: Session,
        socket: Sender<SocketCmd>,
        opts: Arc<PeerOpts>,
        dial: Option<Endpoint>,
        listener: Option<u64>,
    ) -> usize {
        let pipe = session.pipe_id();
        let next_ivl = opts.reconnect_ivl.unwrap_or(Duration::ZERO);
        let key = self.insert(Entry::Peer(Box::new(Peer {
            session,
            stream: None,
            socket,
            opts,
            dial,
            next_ivl,
            connecting: false,
            reconnect_at: None,
            listener,
            handshaken: false,
            closing_until: None,
            draining_until: None,
            peer_closed: false,
            timer: None,
        })));
        self.routes.insert(pipe, key);
        key
    }

    fn peer(&mut self, key: usize) -> Option<&mut Peer> {
        match self.entries.get_mut(key) {
            Some(Some(Entry::Peer(p))) => Some(p),
            _ => None,
        }
    }

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
                IoCmd::Dial { session, target, socket, opts } => {
                    let key = self.add_peer(*session, socket, opts, Some(target), None);
                    self.start_dial(key);
                    self.after_session(key);
                }
                IoCmd::Pipe(id, cmd) => {
                    // For a session's end only: a socket's end hears through its own mailbox.
                    // A session already gone finished its handshake; late commands are moot.
                    if let Some(&key) = self.routes.get(&id) {
                        if let Some(p) = self.peer(key) {
                            let now = Instant::now();
                            if cmd == PipeCommand::Term {
                                // The socket is closing this session: linger as it says now.
                                p.session.set_linger(p.opts.linger.get(), now);
                            }
                            p.session.handle_pipe_command(cmd, now);
                            self.pump(key);
                        }
                    }
                }
                IoCmd::Unlisten(endpoint) => self.unlisten(endpoint, true),
                IoCmd::CloseListener(endpoint) => self.unlisten(endpoint, false),
                IoCmd::Undial(id) => self.stop_session(id, false),
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

    /// Readiness on an entry.
    fn ready(&mut self, key: usize, ctx: &Arc<CtxInner>) {
        match self.entries.get_mut(key) {
            Some(Some(Entry::Listener { .. })) => self.accept_all(key, ctx),
            Some(Some(Entry::Peer(p))) => {
                if p.connecting {
                    self.finish_dial(key);
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
            let (stream, socket, opts, endpoint) = match listener.accept() {
                Ok(s) => (s, socket.clone(), opts.clone(), *endpoint),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // Out of descriptors and the like: try again on the next readiness.
                Err(e) => {
                    let endpoint = opts.endpoint.clone();
                    opts.monitor
                        .emit(MonitorEvent::AcceptFailed { endpoint, error: e.to_string() });
                    return;
                }
            };
            opts.monitor.emit(MonitorEvent::Accepted { endpoint: opts.endpoint.clone() });
            let now = Instant::now();
            let pipe = ctx.next_pipe_id();
            let keepalive = opts.keepalive;
            let mut session_cfg = opts.session;
            session_cfg.connect = false;
            let mut session = Session::new(session_cfg, pipe);
            session.attach_engine(Engine::new(opts.engine.clone(), now), now);
            let peer_key = self.add_peer(session, socket, opts, None, Some(endpoint));
            let mut stream = stream;
            // A failure here leaves the OS's keepalive settings: not worth the connection.
            let _ = stream.configure(&keepalive);
            if self
                .poll
                .registry()
                .register(&mut stream, Token(peer_key), Interest::READABLE | Interest::WRITABLE)
                .is_err()
            {
                self.remove(peer_key);
                continue;
            }
            if let Some(p) = self.peer(peer_key) {
                p.stream = Some(stream);
            }
            self.pump(peer_key);
        }
    }

    fn start_dial(&mut self, key: usize) {
        let Some(p) = self.peer(key) else { return };
        p.reconnect_at = None;
        let Some(target) = p.dial.clone() else { return };
        match Stream::connect(&target) {
            Ok(mut stream) => {
                if self
                    .poll
                    .registry()
                    .register(&mut stream, Token(key), Interest::READABLE | Interest::WRITABLE)
                    .is_ok()
                {
                    let p = self.peer(key).expect("peer exists");
                    p.stream = Some(stream);
                    p.connecting = true;
                    let endpoint = p.opts.endpoint.clone();
                    p.opts.monitor.emit(MonitorEvent::ConnectDelayed { endpoint });
                    return;
                }
                self.schedule_reconnect(key);
            }
            Err(_) => self.schedule_reconnect(key),
        }
    }

    fn finish_dial(&mut self, key: usize) {
        let Some(p) = self.peer(key) else { return };
        let Some(stream) = p.stream.as_mut() else { return };
        match stream.connected() {
            Ok(true) => {
                p.connecting = false;
                let _ = stream.configure(&p.opts.keepalive);
                let endpoint = p.opts.endpoint.clone();
                p.opts.monitor.emit(MonitorEvent::Connected { endpoint });
                let now = Instant::now();
                p.next_ivl = p.opts.reconnect_ivl.unwrap_or(Duration::ZERO);
                let engine = Engine::new(p.opts.engine.clone(), now);
                p.session.attach_engine(engine, now);
            }
            Ok(false) => {}
            Err(_) => {
                let mut s = p.stream.take().expect("stream");
                p.connecting = false;
                let _ = self.poll.registry().deregister(&mut s);
                self.schedule_reconnect(key);
            }
        }
    }

    fn jitter(&mut self, ivl: Duration) -> Duration {
        // xorshift: spreads reconnects of many peers; not security-relevant.
        self.jitter_state ^= self.jitter_state << 13;
        self.jitter_state ^= self.jitter_state >> 7;
        self.jitter_state ^= self.jitter_state << 17;
        let ms = ivl.as_millis().max(1) as u64;
        Duration::from_millis(self.jitter_state % ms)
    }

    /// L-03: after RECONNECT_IVL plus jitter, or doubling up to RECONNECT_IVL_MAX.
    fn schedule_reconnect(&mut self, key: usize) {
        let Some(p) = self.peer(key) else { return };
        let Some(ivl) = p.opts.reconnect_ivl else { return };
        let max = p.opts.reconnect_ivl_max.filter(|&m| m >= ivl);
        let wait = match max {
            Some(max) => {
                let w = p.next_ivl.max(ivl);
                p.next_ivl = (w * 2).min(max);
                w
            }
            None => ivl,
        };
        let wait = if max.is_none() { wait + self.jitter(ivl) } else { wait };
        let p = self.peer(key).expect("peer exists");
        p.reconnect_at = Some(Instant::now() + wait);
        let endpoint = p.opts.endpoint.clone();
        p.opts.monitor.emit(MonitorEvent::ConnectRetried { endpoint, interval: wait });
        self.update_timer(key);
    }

    /// Reads while the session wants input, writes while it has output, then handles the
    /// session's actions.
    fn pump(&mut self, key: usize) {
        let now = Instant::now();
        let buf = &mut self.buf;
        let Some(Some(Entry::Peer(p))) = self.entries.get_mut(key) else { return };
        if let (Some(stream), false) = (p.stream.as_mut(), p.connecting) {
            if p.draining_until.is_some() {
                p.peer_closed |= drain(stream, buf);
            } else if p.closing_until.is_none() {
                while p.session.wants_input() {
                    match stream.read(buf) {
                        Ok(0) => {
                            p.session.handle_eof(now);
                            break;
                        }
                        Ok(n) => p.session.handle_input(now, &buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            p.session.handle_eof(now);
                            break;
                        }
                    }
                }
            }
            while p.session.pending_transmit() > 0 {
                let mut iov = [IoSlice::new(&[]); 64];
                let n = p.session.transmit_chunks(&mut iov);
                match stream.write_vectored(&iov[..n]) {
                    Ok(w) => p.session.advance_transmit(w, now),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        p.session.handle_eof(now);
                        break;
                    }
                }
            }
        }
        self.after_session(key);
    }

    fn after_session(&mut self, key: usize) {
        let now = Instant::now();
        let index = self.index;
        let mut reconnect = false;
        let mut finished = false;
        {
            let registry = self.poll.registry();
            let Some(Some(Entry::Peer(p))) = self.entries.get_mut(key) else { return };
            while let Some(a) = p.session.poll_action() {
                match a {
                    Action::AttachPipe(id, end) => {
                        let route = Route::Io(index);
                        p.socket.send(SocketCmd::Attach { id, end, route });
                    }
                    Action::PipeCommand(id, c) => p.socket.send(SocketCmd::Pipe(id, c)),
                    Action::HandshakeSucceeded(_) => {
                        p.handshaken = true;
                        let endpoint = p.opts.endpoint.clone();
                        p.opts.monitor.emit(MonitorEvent::HandshakeSucceeded { endpoint });
                    }
                    Action::Disconnected { reconnect: again, reason } => {
                        let endpoint = p.opts.endpoint.clone();
                        let failed_handshake = !p.handshaken
                            && matches!(
                                reason,
                                CloseReason::Protocol(_)
                                    | CloseReason::PeerError(_)
                                    | CloseReason::HandshakeTimeout
                            );
                        p.opts.monitor.emit(if failed_handshake {
                            MonitorEvent::HandshakeFailed { endpoint, reason }
                        } else {
                            MonitorEvent::Disconnected { endpoint, reason }
                        });
                        p.handshaken = false;
                        if p.closing_until.is_none() && p.session.pending_transmit() == 0 {
                            if let Some(mut s) = p.stream.take() {
                                let _ = registry.deregister(&mut s);
                            }
                        }
                        p.connecting = false;
                        reconnect = again && p.dial.is_some();
                    }
                    Action::Terminated => {
                        finished = true;
                    }
                }
            }
            if finished {
                let linger = p.opts.linger.get();
                let gone = p.stream.is_none() || linger.is_some_and(|l| l.is_zero());
                // Flush what the peer is owed within linger, then close gracefully.
                p.closing_until = Some(if gone { Some(now) } else { linger.map(|l| now + l) });
            }
            if let Some(until) = p.closing_until {
                let expired = until.is_some_and(|u| u <= now);
                let flushed = p.session.pending_transmit() == 0;
                let mut done = expired || p.stream.is_none();
                if !done && flushed {
                    match p.draining_until {
                        None => {
                            let stream = p.stream.as_mut().expect("checked above");
                            let cap = now + DRAIN_MAX;
                            p.draining_until = Some(until.map_or(cap, |u| u.min(cap)));
                            // What already arrived raised no new readiness: read it now.
                            done = stream.shutdown_write().is_err() || drain(stream, &mut self.buf);
                        }
                        Some(d) => done = p.peer_closed || d <= now,
                    }
                }
                if done {
                    let pipe = p.session.pipe_id();
                    self.routes.remove(&pipe);
                    self.remove(key);
                    return;
                }
            }
        }
        if reconnect {
            self.schedule_reconnect(key);
        }
        self.update_timer(key);
    }

    fn update_timer(&mut self, key: usize) {
        let Some(p) = self.peer(key) else { return };
        let next =
            [p.session.poll_timeout(), p.reconnect_at, p.closing_until.flatten(), p.draining_until]
                .into_iter()
                .flatten()
                .min();
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
            if p.reconnect_at.is_some_and(|r| r <= now) && p.stream.is_none() {
                self.start_dial(key);
            } else {
                p.session.handle_timeout(now);
            }
            self.pump(key);
        }
    }

    fn remove(&mut self, key: usize) {
        if let Some(Some(e)) = self.entries.get_mut(key).map(Option::take) {
            match e {
                Entry::Peer(mut p) => {
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
                    opts.monitor.emit(MonitorEvent::Closed { endpoint: opts.endpoint.clone() });
                }
            }
            self.free.push(key);
        }
    }

    /// Stops a listener. Its accepted connections go too: at once on unbind (`drop_pipes`,
    /// L-10), or after draining within linger when the socket closes (L-07), like libzmq's
    /// listener terminating its sessions with the socket's linger.
    fn unlisten(&mut self, endpoint: u64, drop_pipes: bool) {
        let keys: Vec<usize> = (0..self.entries.len())
            .filter(|&k| match &self.entries[k] {
                Some(Entry::Listener { endpoint: e, .. }) => *e == endpoint,
                _ => false,
            })
            .collect();
        for k in keys {
            self.remove(k);
        }
        // L-10: connections accepted through it go too.
        let peers: Vec<PipeId> = self
            .entries
            .iter()
            .filter_map(|e| match e {
                Some(Entry::Peer(p)) if p.listener == Some(endpoint) => Some(p.session.pipe_id()),
                _ => None,
            })
            .collect();
        for id in peers {
            self.stop_session(id, drop_pipes);
        }
    }

    /// Stops a session's reconnecting; its pipe's termination (started by the socket, or
    /// here for an unbound listener's connections) then ends it.
    fn stop_session(&mut self, id: PipeId, drop_pipe: bool) {
        let Some(&key) = self.routes.get(&id) else { return };
        let Some(p) = self.peer(key) else { return };
        p.dial = None;
        p.reconnect_at = None;
        let now = Instant::now();
        p.session.set_linger(p.opts.linger.get(), now);
        p.session.terminate(now, drop_pipe);
        self.pump(key);
    }

    /// Runs a lingering socket: its mailbox, its commands, and its end once all pipes are done.
    fn service_reaped(&mut self, id: u64, ctx: &Arc<CtxInner>) {
        let Some(r) = self.reaped.get_mut(&id) else { return };
        while let Some(cmd) = r.mailbox.try_recv() {
            match cmd {
                SocketCmd::Pipe(p, c) => r.core.handle_pipe_command(p, c),
                SocketCmd::Attach { id: p, end, route } => {
                    r.routes.insert(p, route);
                    r.core.attach_pipe(p, end);
                }
                SocketCmd::Route(p, route) => {
                    r.routes.insert(p, route);
                }
                SocketCmd::Stop => {}
            }
        }
        let mut local = Vec::new();
        while let Some((p, c)) = r.core.poll_command() {
            match r.routes.get(&p) {
                Some(Route::Io(i)) if *i == self.index => local.push((p, c)),
                Some(route) => route.send(ctx, p, c),
                None => {}
            }
        }
        while let Some(p) = r.core.poll_terminated() {
            r.routes.remove(&p);
        }
        let closed = r.core.is_closed();
        for (p, c) in local {
            if let Some(&key) = self.routes.get(&p) {
                if let Some(peer) = self.peer(key) {
                    let now = Instant::now();
                    if c == PipeCommand::Term {
                        peer.session.set_linger(peer.opts.linger.get(), now);
                    }
                    peer.session.handle_pipe_command(c, now);
                    self.pump(key);
                }
            }
        }
        if closed {
            self.reaped.remove(&id);
            ctx.reaped();
        }
    }
}
