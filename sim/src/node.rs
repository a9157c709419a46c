//! One simulated host's software: its sockets (the real [`SocketCore`]s), their sessions (the
//! real [`Session`]s and engines) and the pipes between them, glued the way the mio runtime
//! glues them but in one thread: pipe commands travel through per-actor inboxes, and each
//! actor runs when its task is woken. Applications use [`SimSocket`]s, which record what
//! they send and receive for the checker.

use crate::chaos::{Chaos, ChaosEvent};
use crate::driver::{self, Ending, LinkState, SessionLink};
use crate::payload::{self, MsgId};
use crate::plan::ConnChaos;
use crate::world::{Phase, World};
use ferromq::core::{Action, PipeId, RecvError, SendError, Session, SessionConfig, SocketCore};
use ferromq::pipe::{PipeCommand, PipeEnd};
use ferromq::proto::{CloseReason, Engine, EngineConfig};
use ferromq::{Msg, SocketType};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A simulated socket's settings (libzmq's names).
#[derive(Clone, Debug)]
pub struct SockOpts {
    /// SNDHWM, in messages (0: none).
    pub sndhwm: u64,
    /// RCVHWM, in messages (0: none).
    pub rcvhwm: u64,
    /// LINGER.
    pub linger: Duration,
    /// HEARTBEAT_IVL and HEARTBEAT_TIMEOUT: without them a silently stalled connection (a
    /// partition) is never noticed.
    pub heartbeat: Option<(Duration, Duration)>,
    /// RECONNECT_IVL.
    pub reconnect_ivl: Duration,
    /// RECONNECT_IVL_MAX (doubling backoff up to it).
    pub reconnect_ivl_max: Duration,
    /// How long a dial may take before it is abandoned.
    pub connect_timeout: Duration,
    /// Close with the senders (at the start of the closing phase) rather than after them.
    pub closes_with_senders: bool,
}

impl SockOpts {
    /// Defaults for a socket of type `ty`: HWM 1000, linger 1 s, heartbeats every 200 ms with
    /// a 600 ms timeout, reconnect after 100 ms backing off to 800 ms; PUSH closes with the
    /// senders.
    pub fn new(ty: SocketType) -> SockOpts {
        SockOpts {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: Duration::from_secs(1),
            heartbeat: Some((Duration::from_millis(200), Duration::from_millis(600))),
            reconnect_ivl: Duration::from_millis(100),
            reconnect_ivl_max: Duration::from_millis(800),
            connect_timeout: Duration::from_millis(500),
            closes_with_senders: ty == SocketType::Push,
        }
    }

    /// The longest a connect side may take to come back once faults stop: a stalled
    /// connection is noticed within the heartbeat timeout, a dial gives up after the connect
    /// timeout, the backoff (with up to 50 % jitter) is at most `reconnect_ivl_max`, and a
    /// second for the handshake over a slow, chunked link.
    pub fn reconnect_bound(&self) -> Duration {
        let hb = self.heartbeat.map_or(Duration::ZERO, |(i, t)| i + t);
        hb + self.connect_timeout + self.reconnect_ivl_max * 3 / 2 + Duration::from_secs(1)
    }
}

/// The most output one connection may hold: the session stops feeding its engine at
/// `OUT_BATCH`, so one message more (the scenarios' largest is 3 parts of 40 kB) plus framing.
const OUTPUT_BOUND: usize = ferromq::core::OUT_BATCH + 3 * (40_000 + 64) + 64;

/// The most input one connection may hold undecoded: one frame (the largest part, 40 kB,
/// plus its header) and one read.
const INPUT_BOUND: usize = 40_000 + 64 + driver::READ_BUF;

enum SockCmd {
    Attach(PipeId, PipeEnd<Msg>, u64),
    Pipe(PipeId, PipeCommand),
}

struct SockEntry {
    id: u32,
    ty: SocketType,
    core: SocketCore,
    inbox: VecDeque<SockCmd>,
    notify: Rc<Notify>,
    routes: BTreeMap<PipeId, u64>,
    doomed: BTreeSet<PipeId>,
    opts: SockOpts,
    closing: bool,
    close_done: bool,
    partial: Vec<Msg>,
}

struct SessEntry {
    session: Session,
    sock: usize,
    inbox: VecDeque<PipeCommand>,
    notify: Rc<Notify>,
    connect: bool,
    had_pipe: bool,
    up: bool,
    peer: String,
    /// The current connection's number.
    conn: Option<u64>,
    disconnected: Option<bool>,
    terminated: bool,
}

/// A host's software state. See the module docs.
pub(crate) struct Node {
    world: World,
    host: Rc<str>,
    sockets: Vec<SockEntry>,
    sessions: BTreeMap<u64, SessEntry>,
    next_key: u64,
    next_pipe: u64,
}

type NodeRef = Rc<RefCell<Node>>;

impl Node {
    fn sock_id(&self, s: usize) -> u32 {
        self.sockets[s].id
    }

    fn new_session(&mut self, s: usize, connect: bool, peer: String) -> (u64, Rc<Notify>) {
        let sk = &self.sockets[s];
        let cfg = SessionConfig {
            connect,
            immediate: false,
            sndhwm: sk.opts.sndhwm,
            rcvhwm: sk.opts.rcvhwm,
            linger: Some(sk.opts.linger),
        };
        self.next_key += 1;
        self.next_pipe += 1;
        let key = self.next_key;
        let notify = Rc::new(Notify::new());
        let session = Session::new(cfg, PipeId(self.next_pipe));
        self.sessions.insert(
            key,
            SessEntry {
                session,
                sock: s,
                inbox: VecDeque::new(),
                notify: notify.clone(),
                connect,
                had_pipe: false,
                up: false,
                peer,
                conn: None,
                disconnected: None,
                terminated: false,
            },
        );
        if connect {
            let id = self.sock_id(s);
            self.world.get().check.connect_session(id, key, Some(false));
        }
        self.route_actions(key);
        (key, notify)
    }

    fn engine_config(&self, s: usize) -> EngineConfig {
        let sk = &self.sockets[s];
        let mut cfg = EngineConfig::new(sk.ty);
        cfg.handshake_ivl = Some(Duration::from_secs(2));
        if let Some((ivl, timeout)) = sk.opts.heartbeat {
            cfg.heartbeat_ivl = Some(ivl);
            cfg.heartbeat_timeout = Some(timeout);
        }
        cfg
    }

    /// Applies the session's pending pipe commands and routes its actions.
    fn service_session(&mut self, key: u64, now: Instant) {
        let Some(e) = self.sessions.get_mut(&key) else { return };
        while let Some(c) = e.inbox.pop_front() {
            e.session.handle_pipe_command(c, now);
        }
        self.route_actions(key);
    }

    fn route_actions(&mut self, key: u64) {
        let Node { sessions, sockets, world, host, .. } = self;
        let Some(e) = sessions.get_mut(&key) else { return };
        let sk = &mut sockets[e.sock];
        let mut woke = false;
        while let Some(a) = e.session.poll_action() {
            match a {
                Action::AttachPipe(id, end) => {
                    e.had_pipe = true;
                    sk.inbox.push_back(SockCmd::Attach(id, end, key));
                    woke = true;
                }
                Action::PipeCommand(id, c) => {
                    sk.inbox.push_back(SockCmd::Pipe(id, c));
                    woke = true;
                }
                Action::HandshakeSucceeded(_) => {
                    e.up = true;
                    let mut w = world.get();
                    w.check.conn_up(sk.id);
                    w.stats.connections += 1;
                    if e.connect {
                        w.check.connect_session(sk.id, key, Some(true));
                    }
                    w.trace_line(format_args!("{host} s{} k{key} up with {}", sk.id, e.peer));
                }
                Action::Disconnected { reason, reconnect } => {
                    let mut w = world.get();
                    if let Some(c) = e.conn.take() {
                        w.check.conn_ended(c, reason != CloseReason::Local);
                    }
                    if reason == CloseReason::HeartbeatTimeout {
                        w.stats.heartbeat_timeouts += 1;
                    }
                    if std::mem::take(&mut e.up) {
                        w.check.conn_down(sk.id, reason != CloseReason::Local);
                        if e.connect {
                            w.check.connect_session(sk.id, key, Some(false));
                        }
                    }
                    if !e.connect && e.had_pipe && sk.doomed.insert(e.session.pipe_id()) {
                        w.check.pipe_doomed(sk.id);
                    }
                    w.trace_line(format_args!(
                        "{host} s{} k{key} down from {} ({reason}){}",
                        sk.id,
                        e.peer,
                        if reconnect { ", will reconnect" } else { "" }
                    ));
                    e.disconnected = Some(reconnect);
                }
                Action::Terminated => e.terminated = true,
                _ => {}
            }
        }
        if woke {
            sk.notify.notify_waiters();
            let s = e.sock;
            if sockets[s].closing {
                // A closed socket has no application calling in: serve it at once, as the
                // runtime's reaper does.
                self.service_socket(s);
            }
        }
    }

    /// Applies the socket's pending commands and routes its pipe commands to sessions.
    fn service_socket(&mut self, s: usize) {
        let Node { sessions, sockets, world, host, .. } = self;
        let sk = &mut sockets[s];
        while let Some(cmd) = sk.inbox.pop_front() {
            match cmd {
                SockCmd::Attach(id, end, key) => {
                    sk.routes.insert(id, key);
                    sk.core.attach_pipe(id, end);
                    world.get().check.pipe_attached(sk.id);
                }
                SockCmd::Pipe(id, c) => sk.core.handle_pipe_command(id, c),
            }
        }
        while let Some((id, c)) = sk.core.poll_command() {
            let Some(e) = sk.routes.get(&id).and_then(|k| sessions.get_mut(k)) else { continue };
            e.inbox.push_back(c);
            e.notify.notify_one();
        }
        while let Some(id) = sk.core.poll_terminated() {
            sk.routes.remove(&id);
            let doomed = sk.doomed.remove(&id);
            world.get().check.pipe_gone(sk.id, doomed);
        }
        if sk.closing
            && !sk.close_done
            && sk.core.is_closed()
            && !sessions.values().any(|e| e.sock == s)
        {
            sk.close_done = true;
            let mut w = world.get();
            w.check.close_finished(sk.id);
            w.trace_line(format_args!("{host} s{} closed", sk.id));
        }
    }

    fn remove_session(&mut self, key: u64) {
        if let Some(e) = self.sessions.remove(&key) {
            let id = self.sock_id(e.sock);
            if e.connect {
                self.world.get().check.connect_session(id, key, None);
            }
            self.service_socket(e.sock);
        }
    }
}

/// The driver's view of one session in a node.
struct Link {
    node: NodeRef,
    key: u64,
    notify: Rc<Notify>,
}

impl Link {
    fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let mut n = self.node.borrow_mut();
        let r = n.sessions.get_mut(&self.key).map(|e| f(&mut e.session));
        n.route_actions(self.key);
        r
    }

    /// Serves the session (without a connection) until it finishes.
    async fn wait_terminated(&self) {
        loop {
            if self.service(driver::now()).terminated {
                return;
            }
            self.notify.notified().await;
        }
    }

    fn set_conn(&self, conn: u64) {
        if let Some(e) = self.node.borrow_mut().sessions.get_mut(&self.key) {
            e.conn = Some(conn);
        }
    }

    fn take_disconnected(&self) {
        if let Some(e) = self.node.borrow_mut().sessions.get_mut(&self.key) {
            e.disconnected = None;
        }
    }
}

impl SessionLink for Link {
    fn service(&self, now: Instant) -> LinkState {
        let mut n = self.node.borrow_mut();
        n.service_session(self.key, now);
        let Some(e) = n.sessions.get(&self.key) else {
            return LinkState {
                terminated: true,
                disconnected: Some(false),
                ..LinkState::default()
            };
        };
        let pending = e.session.pending_transmit();
        let buffered = e.session.buffered_input();
        if buffered > INPUT_BOUND {
            let id = n.sockets[e.sock].id;
            n.world.get().check.fail(format!(
                "s{id} k{}: {buffered} bytes read and not decoded; a session reads only while \
                 it can decode (memory must stay bounded)",
                self.key
            ));
        }
        if pending > OUTPUT_BOUND {
            let id = n.sockets[e.sock].id;
            n.world.get().check.fail(format!(
                "s{id} k{}: {pending} bytes queued for one connection; a session must stop \
                 taking messages from its pipe at {} (memory must stay bounded)",
                self.key,
                ferromq::core::OUT_BATCH
            ));
        }
        LinkState {
            wants_input: e.session.wants_input(),
            pending,
            timeout: e.session.poll_timeout(),
            disconnected: e.disconnected,
            terminated: e.terminated,
        }
    }

    fn output(&self, out: &mut Vec<u8>, max: usize) {
        let n = self.node.borrow();
        if let Some(e) = n.sessions.get(&self.key) {
            driver::copy_output(&e.session, out, max);
        }
    }

    fn input(&self, now: Instant, data: &[u8]) {
        self.with(|s| s.handle_input(now, data));
    }

    fn eof(&self, now: Instant) {
        self.with(|s| s.handle_eof(now));
    }

    fn advance(&self, now: Instant, n: usize) {
        self.with(|s| s.advance_transmit(n, now));
    }

    fn timeout(&self, now: Instant) {
        self.with(|s| s.handle_timeout(now));
    }

    fn changed(&self) -> impl std::future::Future<Output = ()> {
        self.notify.notified()
    }

    fn unflushed(&self, pending: usize) {
        let n = self.node.borrow();
        let Some(e) = n.sessions.get(&self.key) else { return };
        let id = n.sockets[e.sock].id;
        let mut w = n.world.get();
        w.check.linger_cut(id);
        w.trace_line(format_args!(
            "{} s{id} k{} dropped with {pending} B unsent",
            n.host, self.key
        ));
    }
}

/// One host incarnation's handle for its applications: makes sockets, reads the phase, draws
/// randomness, sleeps in simulated time.
#[derive(Clone)]
pub struct HostCtx {
    node: NodeRef,
    world: World,
}

impl HostCtx {
    pub(crate) fn new(world: World, host: &str) -> HostCtx {
        let node = Rc::new(RefCell::new(Node {
            world: world.clone(),
            host: host.into(),
            sockets: Vec::new(),
            sessions: BTreeMap::new(),
            next_key: 0,
            next_pipe: 0,
        }));
        let ctx = HostCtx { node, world };
        ctx.spawn(closer(ctx.clone()));
        ctx
    }

    /// The host's name.
    pub fn name(&self) -> Rc<str> {
        self.node.borrow().host.clone()
    }

    /// The run's world (clock, randomness, trace).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The run's current phase.
    pub fn phase(&self) -> Phase {
        self.world.phase()
    }

    /// Uniform in `lo..=hi`, from the run's seed.
    pub fn random(&self, lo: u64, hi: u64) -> u64 {
        self.world.get().rng.range(lo, hi)
    }

    /// True with probability `p`, from the run's seed.
    pub fn chance(&self, p: f64) -> bool {
        self.world.get().rng.chance(p)
    }

    /// Sleeps in simulated time.
    pub async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    /// Sleeps until the run reaches `phase`.
    pub async fn until(&self, phase: Phase) {
        while self.phase() < phase {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Runs `fut` on this host, next to the application.
    pub fn spawn(&self, fut: impl std::future::Future<Output = ()> + 'static) {
        tokio::task::spawn_local(fut);
    }

    /// A socket of type `ty`. `role` names it for the checker (which roles may hear which is
    /// declared with [`Setup::allow`](crate::Setup::allow)).
    pub fn socket(&self, ty: SocketType, role: &str, opts: SockOpts) -> SimSocket {
        let core = SocketCore::new(ty).expect("the simulator only builds existing patterns");
        let mut n = self.node.borrow_mut();
        let id = {
            let mut w = self.world.get();
            let id = w.check.register_socket(&n.host, role, opts.sndhwm);
            w.trace_line(format_args!("{} s{id} {ty:?} opened as {role}", n.host));
            id
        };
        n.sockets.push(SockEntry {
            id,
            ty,
            core,
            inbox: VecDeque::new(),
            notify: Rc::new(Notify::new()),
            routes: BTreeMap::new(),
            doomed: BTreeSet::new(),
            opts,
            closing: false,
            close_done: false,
            partial: Vec::new(),
        });
        SimSocket { ctx: self.clone(), idx: n.sockets.len() - 1, id }
    }
}

/// Closes every socket still open when the closing phase comes: senders first, the others
/// after the senders' linger.
async fn closer(ctx: HostCtx) {
    let t = ctx.world.get().timeline;
    for (at, senders) in [(t.close_senders, true), (t.close_receivers, false)] {
        let now = ctx.world.get().now;
        tokio::time::sleep(at.saturating_sub(now)).await;
        let n = ctx.node.borrow().sockets.len();
        for idx in 0..n {
            let (id, with_senders) = {
                let node = ctx.node.borrow();
                let sk = &node.sockets[idx];
                (sk.id, sk.opts.closes_with_senders)
            };
            if with_senders == senders || !senders {
                SimSocket { ctx: ctx.clone(), idx, id }.close();
            }
        }
    }
}

/// A socket on a simulated host. Messages are generated and checked by the simulator: `send`
/// builds a self-describing message, `recv` verifies what arrives.
pub struct SimSocket {
    ctx: HostCtx,
    idx: usize,
    id: u32,
}

impl SimSocket {
    /// The socket's number in the run (as in the trace: `s<id>`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closing(&self) -> bool {
        self.ctx.node.borrow().sockets[self.idx].closing
    }

    /// Listens on `port` of this host.
    pub fn bind(&self, port: u16) {
        let ctx = self.ctx.clone();
        let (idx, id) = (self.idx, self.id);
        self.ctx.spawn(async move {
            let listener = loop {
                match turmoil::net::TcpListener::bind(("0.0.0.0", port)).await {
                    Ok(l) => break l,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            ctx.world.trace(format_args!("{} s{id} listening on {port}", ctx.name()));
            loop {
                let notify = ctx.node.borrow().sockets[idx].notify.clone();
                if ctx.node.borrow().sockets[idx].closing {
                    return;
                }
                tokio::select! {
                    biased;
                    () = notify.notified() => {}
                    r = listener.accept() => {
                        let Ok((tcp, addr)) = r else { continue };
                        let peer = turmoil::reverse_lookup(addr.ip())
                            .unwrap_or_else(|| addr.ip().to_string());
                        ctx.spawn(serve_accepted(ctx.clone(), idx, tcp, peer));
                    }
                }
            }
        });
    }

    /// Connects to `host:port`, reconnecting as libzmq does until the socket closes.
    pub fn connect(&self, host: &str, port: u16) {
        let (key, notify) =
            self.ctx.node.borrow_mut().new_session(self.idx, true, format!("{host}:{port}"));
        let link = Link { node: self.ctx.node.clone(), key, notify };
        self.ctx.spawn(dial(self.ctx.clone(), self.idx, link, host.to_owned(), port));
    }

    fn op<R>(&self, f: impl FnOnce(&mut SocketCore) -> R) -> R {
        let mut n = self.ctx.node.borrow_mut();
        n.service_socket(self.idx);
        let r = f(&mut n.sockets[self.idx].core);
        n.service_socket(self.idx);
        r
    }

    /// Sends a new message of `parts` parts with `size` filler bytes each. Waits up to
    /// `timeout` for the first part to be taken (HWM, no peer); returns `None` if it was not.
    pub async fn send(&self, parts: u16, size: usize, timeout: Duration) -> Option<MsgId> {
        let deadline = tokio::time::Instant::now() + timeout;
        let seq = self.ctx.world.get().check.next_seq(self.id);
        let id = MsgId { sender: self.id, seq };
        let mut at_risk = false;
        for (i, mut part) in payload::build(id, parts, size).into_iter().enumerate() {
            loop {
                let notify = self.ctx.node.borrow().sockets[self.idx].notify.clone();
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                at_risk |= self.ctx.world.get().check.is_at_risk(self.id);
                match self.op(|core| core.send(part)) {
                    Ok(()) => break,
                    Err(SendError::WouldBlock(p)) => part = p,
                    Err(e) => panic!("send on a socket that cannot send: {e}"),
                }
                if i == 0 {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return None;
                    }
                } else {
                    notified.await;
                }
            }
        }
        at_risk |= self.ctx.world.get().check.is_at_risk(self.id);
        let mut w = self.ctx.world.get();
        w.check.sent(id, at_risk);
        w.stats.sent += 1;
        let host = self.ctx.name();
        w.trace_line(format_args!("{host} s{} sent {id} ({parts}x{size} B)", self.id));
        Some(id)
    }

    /// Receives one whole message, waiting up to `timeout`; the checker verifies it.
    pub async fn recv(&self, timeout: Duration) -> Option<MsgId> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notify = self.ctx.node.borrow().sockets[self.idx].notify.clone();
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            loop {
                match self.op(SocketCore::recv) {
                    Ok(part) => {
                        let more = part.more();
                        let mut n = self.ctx.node.borrow_mut();
                        let partial = &mut n.sockets[self.idx].partial;
                        partial.push(part);
                        if more {
                            continue;
                        }
                        let parts = std::mem::take(partial);
                        drop(n);
                        let mut w = self.ctx.world.get();
                        let got = w.check.received(self.id, &parts);
                        w.stats.received += 1;
                        let host = self.ctx.name();
                        match got {
                            Some(id) => w.trace_line(format_args!("{host} s{} got {id}", self.id)),
                            None => w.trace_line(format_args!("{host} s{} got garbage", self.id)),
                        }
                        return got;
                    }
                    Err(RecvError::WouldBlock) => break,
                    Err(RecvError::NotSupported) => panic!("recv on a socket that cannot receive"),
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Closes the socket: its sessions drain for up to linger, then end. Idempotent.
    pub fn close(&self) {
        let mut n = self.ctx.node.borrow_mut();
        if n.sockets[self.idx].closing {
            return;
        }
        let now = driver::now();
        let keys: Vec<u64> =
            n.sessions.iter().filter(|(_, e)| e.sock == self.idx).map(|(&k, _)| k).collect();
        let fully_connected = n.sessions.values().filter(|e| e.sock == self.idx).all(|e| e.up);
        {
            let host = n.host.clone();
            let sk = &mut n.sockets[self.idx];
            sk.closing = true;
            sk.core.close();
            let mut w = self.ctx.world.get();
            w.check.socket_closed(sk.id, sk.opts.linger, fully_connected);
            w.trace_line(format_args!("{host} s{} closing", sk.id));
        }
        for key in keys {
            if let Some(e) = n.sessions.get_mut(&key) {
                e.session.terminate(now, false);
                e.notify.notify_one();
            }
            n.route_actions(key);
        }
        n.service_socket(self.idx);
        n.sockets[self.idx].notify.notify_waiters();
    }
}

fn chaos_stream(
    ctx: &HostCtx,
    idx: usize,
    tcp: turmoil::net::TcpStream,
) -> (u64, Chaos<turmoil::net::TcpStream>) {
    let world = ctx.world.clone();
    let conn = world.next_conn();
    let (plan, rng) = {
        let mut w = world.get();
        let faults_left = w.timeline.faults_end.saturating_sub(w.now);
        let plan = ConnChaos::draw(&mut w.rng, faults_left);
        (plan, w.rng.fork())
    };
    let receiver = ctx.node.borrow().sockets[idx].id;
    let sock = receiver;
    if let (Ok(local), Ok(peer)) = (tcp.local_addr(), tcp.peer_addr()) {
        world.get().check.conn_info(conn, sock, local, peer);
    }
    let out_world = world.clone();
    let tap_world = world.clone();
    let host = ctx.name();
    let report_world = world.clone();
    let chaos = Chaos::new(
        tcp,
        rng,
        plan,
        move |bytes| tap_world.get().check.wire(conn, receiver, bytes),
        move |bytes| out_world.get().check.wire_out(conn, bytes),
        move |ev| match ev {
            ChaosEvent::Reset => {
                report_world.fault("reset", format_args!("{host} c{conn} reset"));
                let mut w = report_world.get();
                w.check.socket_break(sock);
                w.check.conn_ended(conn, true);
            }
            ChaosEvent::Stall => {
                *report_world.get().stats.faults.entry("stall").or_default() += 1;
            }
        },
    );
    (conn, chaos)
}

async fn serve_accepted(ctx: HostCtx, idx: usize, tcp: turmoil::net::TcpStream, peer: String) {
    let (key, notify, engine) = {
        let mut n = ctx.node.borrow_mut();
        if n.sockets[idx].closing {
            return;
        }
        let (key, notify) = n.new_session(idx, false, peer.clone());
        (key, notify, n.engine_config(idx))
    };
    let (conn, mut stream) = chaos_stream(&ctx, idx, tcp);
    ctx.world.trace(format_args!("{} accepted c{conn} from {peer} as k{key}", ctx.name()));
    let link = Link { node: ctx.node.clone(), key, notify };
    link.set_conn(conn);
    let linger = ctx.node.borrow().sockets[idx].opts.linger;
    link.with(|s| s.attach_engine(Engine::new(engine, driver::now()), driver::now()));
    driver::drive(&mut stream, &link, linger).await;
    drop(stream);
    link.wait_terminated().await;
    ctx.node.borrow_mut().remove_session(key);
}

async fn dial(ctx: HostCtx, idx: usize, link: Link, host: String, port: u16) {
    let opts = ctx.node.borrow().sockets[idx].opts.clone();
    let mut ivl = opts.reconnect_ivl;
    loop {
        let attempt = tokio::time::timeout(
            opts.connect_timeout,
            turmoil::net::TcpStream::connect((host.as_str(), port)),
        );
        let tcp = tokio::select! {
            biased;
            () = link.wait_terminated() => break,
            r = attempt => r,
        };
        if let Ok(Ok(tcp)) = tcp {
            ivl = opts.reconnect_ivl;
            let (conn, mut stream) = chaos_stream(&ctx, idx, tcp);
            ctx.world.trace(format_args!(
                "{} k{} dialed c{conn} to {host}:{port}",
                ctx.name(),
                link.key
            ));
            let engine = ctx.node.borrow().engine_config(idx);
            link.set_conn(conn);
            link.with(|s| s.attach_engine(Engine::new(engine, driver::now()), driver::now()));
            let ending = driver::drive(&mut stream, &link, opts.linger).await;
            drop(stream);
            link.take_disconnected();
            if ending == Ending::Done {
                break;
            }
        }
        // Backoff with up to 50 % jitter, doubling to the maximum.
        let jitter = ctx.random(0, ivl.as_millis() as u64 / 2);
        let wait = ivl + Duration::from_millis(jitter);
        ivl = (ivl * 2).min(opts.reconnect_ivl_max.max(opts.reconnect_ivl));
        tokio::select! {
            biased;
            () = link.wait_terminated() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    link.wait_terminated().await;
    ctx.node.borrow_mut().remove_session(link.key);
}
