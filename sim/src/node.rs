//! One simulated host's software: its sockets (the real [`SocketActor`]s) and their
//! connections (the real [`Connection`]s, with their sessions and engines), glued the way the
//! mio runtime glues them but in one thread: commands travel through per-actor inboxes, and
//! each actor runs when its task is woken. The glue decides nothing the stack decides; it
//! carries actions out and reports what happened to the checker as [`Event`]s. Applications
//! use [`SimSocket`]s, whose messages the simulator generates and verifies.

use crate::chaos::{Chaos, ChaosEvent};
use crate::check::Event;
use crate::driver::{self, ConnLink, Dialing, LinkState, StreamAction};
use crate::payload::{self, MsgId};
use crate::plan::ConnChaos;
use crate::rng::Rng;
use crate::world::{Phase, World};
use bytes::Bytes;
use ferromq::core::proxy::{ProxySocket, Refused as ProxyRefused};
use ferromq::core::{
    Action, Connection, MonitorEvent, PeerConfig, PipeId, RecvError, SendError, SocketActor,
    SocketCore, SocketInput,
};
use ferromq::pipe::PipeCommand;
use ferromq::{Msg, SocketOptions, SocketType};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A simulated socket's settings: the [`SocketOptions`] a ferromq user sets (reachable through
/// `Deref`, so `opts.sndhwm = 50` works), plus the simulator's own knobs.
#[derive(Clone, Debug)]
pub struct SockOpts {
    /// The socket's options.
    pub socket: SocketOptions,
    /// Close with the senders (at the start of the closing phase) rather than after them.
    pub closes_with_senders: bool,
}

impl Deref for SockOpts {
    type Target = SocketOptions;
    fn deref(&self) -> &SocketOptions {
        &self.socket
    }
}

impl DerefMut for SockOpts {
    fn deref_mut(&mut self) -> &mut SocketOptions {
        &mut self.socket
    }
}

impl SockOpts {
    /// Defaults for a socket of type `ty`: libzmq's, but LINGER 1 s, heartbeats every 200 ms
    /// with a 600 ms timeout (a partition stalls a stream silently), reconnect after 100 ms
    /// backing off to 800 ms, CONNECT_TIMEOUT 500 ms, HANDSHAKE_IVL 2 s; PUSH closes with the
    /// senders.
    pub fn new(ty: SocketType) -> SockOpts {
        let mut socket = SocketOptions::default();
        socket.linger = Some(Duration::from_secs(1));
        socket.heartbeat_ivl = Some(Duration::from_millis(200));
        socket.heartbeat_timeout = Some(Duration::from_millis(600));
        socket.reconnect_ivl = Some(Duration::from_millis(100));
        socket.reconnect_ivl_max = Some(Duration::from_millis(800));
        socket.connect_timeout = Some(Duration::from_millis(500));
        socket.handshake_ivl = Some(Duration::from_secs(2));
        SockOpts { socket, closes_with_senders: ty == SocketType::Push }
    }

    /// The longest a connect side may take to come back once faults stop: a stalled stream
    /// is noticed within the heartbeat timeout, a dial gives up at the connect timeout, a
    /// broken stream is dropped within its error flush, the backoff waits at most
    /// RECONNECT_IVL_MAX (or twice RECONNECT_IVL with jitter), and a second for the handshake
    /// over a slow, chunked link; all of it with a second wait's margin.
    pub fn reconnect_bound(&self) -> Duration {
        let hb =
            self.heartbeat_ivl.unwrap_or_default() + self.heartbeat_timeout.unwrap_or_default();
        let ivl = self.reconnect_ivl.unwrap_or_default();
        // The stack's own backoff says how long it may wait; the seed does not matter here.
        let wait = ferromq::core::Backoff::new(ivl, self.reconnect_ivl_max, 0).longest_wait();
        hb + self.connect_timeout.unwrap_or_default()
            + ferromq::core::ERROR_FLUSH
            + wait * 3 / 2
            + Duration::from_secs(1)
    }
}

/// What a connection's inbox carries.
enum ConnInput {
    Pipe(PipeCommand),
    /// The socket lets the connection go (close).
    Terminate,
}

struct SockEntry {
    id: u32,
    ty: SocketType,
    actor: SocketActor<u64>,
    inbox: VecDeque<SocketInput<u64>>,
    notify: Rc<Notify>,
    opts: SockOpts,
    closing: bool,
    close_done: bool,
    partial: Vec<Msg>,
    /// Held while a message is sent part by part: tasks sharing a socket take turns, as
    /// threads sharing a libzmq socket must.
    sending: Rc<tokio::sync::Mutex<()>>,
}

struct ConnEntry {
    conn: Connection,
    sock: usize,
    inbox: VecDeque<ConnInput>,
    stream: VecDeque<StreamAction>,
    notify: Rc<Notify>,
    peer: String,
}

/// A host's software state. See the module docs.
pub(crate) struct Node {
    world: World,
    host: Rc<str>,
    sockets: Vec<SockEntry>,
    conns: BTreeMap<u64, ConnEntry>,
    next_key: u64,
    next_pipe: u64,
    /// Seeds each connection's reconnect jitter.
    jitter: Rng,
}

type NodeRef = Rc<RefCell<Node>>;

impl Node {
    fn emit(&self, e: Event<'_>) {
        self.world.get().check.emit(e);
    }

    fn add_conn(&mut self, s: usize, conn: Connection, peer: String) -> (u64, Rc<Notify>) {
        self.next_key += 1;
        let key = self.next_key;
        let notify = Rc::new(Notify::new());
        let connect = conn.is_connect();
        let entry = ConnEntry {
            conn,
            sock: s,
            inbox: VecDeque::new(),
            stream: VecDeque::new(),
            notify: notify.clone(),
            peer,
        };
        self.conns.insert(key, entry);
        self.emit(Event::ConnCreated { sock: self.sockets[s].id, key, connect });
        self.route(key);
        (key, notify)
    }

    fn peer_config(&self, s: usize, connect: bool, endpoint: String) -> PeerConfig {
        let sk = &self.sockets[s];
        PeerConfig::from_options(sk.ty, &sk.opts.socket, connect, endpoint)
    }

    fn next_pipe(&mut self) -> PipeId {
        self.next_pipe += 1;
        PipeId(self.next_pipe)
    }

    /// Applies a connection's inbox; routes its actions; reports its buffers.
    fn service_conn(&mut self, key: u64, now: Instant) -> LinkState {
        let Some(e) = self.conns.get_mut(&key) else { return LinkState::default() };
        let sk = &self.sockets[e.sock];
        let linger = sk.opts.linger;
        while let Some(input) = e.inbox.pop_front() {
            match input {
                ConnInput::Pipe(c) => e.conn.handle_pipe_command(now, c, || linger),
                ConnInput::Terminate => e.conn.terminate(now, linger, false),
            }
        }
        let st = LinkState {
            wants_input: e.conn.wants_input(),
            pending: e.conn.pending_transmit(),
            timeout: e.conn.poll_timeout(),
        };
        let (pending, buffered) = (st.pending, e.conn.session().buffered_input());
        let returning = e.conn.session().returning();
        let sock = sk.id;
        self.route(key);
        self.emit(Event::Buffers { sock, key, pending, buffered, returning });
        st
    }

    /// Carries a connection's actions to its socket, its driver and the checker.
    fn route(&mut self, key: u64) {
        let Node { conns, sockets, world, host, .. } = self;
        let Some(e) = conns.get_mut(&key) else { return };
        let sk = &mut sockets[e.sock];
        let sock = sk.id;
        let mut woke = false;
        while let Some(a) = e.conn.poll_action() {
            let mut w = world.get();
            match a {
                Action::AttachPipe { id, end, info } => {
                    sk.inbox.push_back(SocketInput::Attach { id, end, info, route: key });
                    woke = true;
                }
                Action::PipeCommand(id, c) => {
                    sk.inbox.push_back(SocketInput::Pipe(id, c));
                    woke = true;
                }
                Action::Monitor(MonitorEvent::HandshakeSucceeded { .. }) => {
                    w.stats.connections += 1;
                    w.check.emit(Event::Up { sock, key });
                    w.trace_line(format_args!("{host} s{sock} k{key} up with {}", e.peer));
                }
                Action::Monitor(
                    MonitorEvent::Disconnected { reason, .. }
                    | MonitorEvent::HandshakeFailed { reason, .. },
                ) => {
                    if reason == ferromq::proto::CloseReason::HeartbeatTimeout {
                        w.stats.heartbeat_timeouts += 1;
                    }
                    w.check.emit(Event::Down { sock, key, reason: &reason });
                    w.trace_line(format_args!(
                        "{host} s{sock} k{key} down from {} ({reason})",
                        e.peer
                    ));
                }
                Action::Monitor(_) => {}
                Action::Dial => {
                    e.stream.push_back(StreamAction::Dial);
                    w.check.emit(Event::DialStarted { sock, key });
                }
                Action::AbortDial => {
                    e.stream.push_back(StreamAction::AbortDial);
                    w.check.emit(Event::DialFailed { sock, key });
                }
                Action::ShutdownWrite => e.stream.push_back(StreamAction::ShutdownWrite),
                Action::DropStream { unflushed } => {
                    e.stream.push_back(StreamAction::Drop);
                    w.check.emit(Event::StreamDropped { sock, key, unflushed });
                    if unflushed > 0 {
                        w.trace_line(format_args!(
                            "{host} s{sock} k{key} dropped with {unflushed} B unsent"
                        ));
                    }
                }
                Action::Finished => {
                    e.stream.push_back(StreamAction::Finished);
                    w.check.emit(Event::ConnFinished { sock, key });
                }
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

    /// Applies the socket's inbox, one input at a time so that the checker sees attaches and
    /// terminations in the order the socket saw them, and forwards its pipe commands.
    fn service_socket(&mut self, s: usize) {
        let Node { conns, sockets, world, host, .. } = self;
        let sk = &mut sockets[s];
        let sock = sk.id;
        let mut forward = |actor: &mut SocketActor<u64>| {
            actor.flush_and(
                |&key, _, cmd| {
                    if let Some(e) = conns.get_mut(&key) {
                        e.inbox.push_back(ConnInput::Pipe(cmd));
                        e.notify.notify_one();
                    }
                },
                |_, key| {
                    if let Some(key) = key {
                        world.get().check.emit(Event::PipeGone { sock, key });
                    }
                },
            )
        };
        forward(&mut sk.actor);
        while let Some(input) = sk.inbox.pop_front() {
            let attached = match &input {
                SocketInput::Attach { route, .. } => Some(*route),
                _ => None,
            };
            sk.actor.handle(input);
            if let Some(key) = attached {
                world.get().check.emit(Event::PipeAttached { sock, key });
            }
            forward(&mut sk.actor);
        }
        if sk.closing
            && !sk.close_done
            && sk.actor.is_closed()
            && !conns.values().any(|e| e.sock == s)
        {
            sk.close_done = true;
            let mut w = world.get();
            w.check.emit(Event::CloseFinished { sock });
            w.trace_line(format_args!("{host} s{sock} closed"));
        }
    }

    fn remove_conn(&mut self, key: u64) {
        if let Some(e) = self.conns.remove(&key) {
            self.service_socket(e.sock);
        }
    }
}

/// The driver's view of one connection in a node.
struct Link {
    ctx: HostCtx,
    key: u64,
    sock: usize,
    notify: Rc<Notify>,
    /// Where a connect side dials.
    target: Option<(String, u16)>,
}

impl Link {
    fn with(&self, f: impl FnOnce(&mut Connection)) {
        let mut n = self.ctx.node.borrow_mut();
        if let Some(e) = n.conns.get_mut(&self.key) {
            f(&mut e.conn);
        }
        n.route(self.key);
    }

    fn sock_id(&self) -> u32 {
        self.ctx.node.borrow().sockets[self.sock].id
    }
}

impl ConnLink for Link {
    type Stream = Chaos<turmoil::net::TcpStream>;

    fn service(&self, now: Instant) -> LinkState {
        self.ctx.node.borrow_mut().service_conn(self.key, now)
    }

    fn next_stream_action(&self) -> Option<StreamAction> {
        self.ctx.node.borrow_mut().conns.get_mut(&self.key)?.stream.pop_front()
    }

    fn output(&self, out: &mut Vec<u8>, max: usize) {
        if let Some(e) = self.ctx.node.borrow().conns.get(&self.key) {
            driver::copy_output(&e.conn, out, max);
        }
    }

    fn input(&self, now: Instant, inbox: &mut Vec<u8>) {
        self.with(|c| driver::feed(c, now, inbox));
    }

    fn eof(&self, now: Instant) {
        self.with(|c| c.handle_eof(now));
    }

    fn advance(&self, now: Instant, n: usize) {
        self.with(|c| c.advance_transmit(now, n));
    }

    fn timeout(&self, now: Instant) {
        self.with(|c| c.handle_timeout(now));
    }

    fn connected(&self, now: Instant) {
        let (sock, key) = (self.sock_id(), self.key);
        self.ctx.world.get().check.emit(crate::check::Event::DialSucceeded { sock, key });
        self.with(|c| c.handle_connected(now));
    }

    fn dial_failed(&self, now: Instant) {
        let (sock, key) = (self.sock_id(), self.key);
        self.ctx.world.get().check.emit(crate::check::Event::DialFailed { sock, key });
        self.with(|c| c.handle_dial_failed(now));
    }

    fn dial(&self) -> Dialing<Self::Stream> {
        let (ctx, sock, key) = (self.ctx.clone(), self.sock, self.key);
        let (host, port) = self.target.clone().expect("only a connect side dials");
        Box::pin(async move {
            let tcp = turmoil::net::TcpStream::connect((host.as_str(), port)).await?;
            let (conn, stream) = chaos_stream(&ctx, sock, key, tcp);
            ctx.world.trace(format_args!("{} k{key} dialed c{conn} to {host}:{port}", ctx.name()));
            Ok(stream)
        })
    }

    fn changed(&self) -> impl std::future::Future<Output = ()> {
        self.notify.notified()
    }
}

/// One host incarnation's handle for its applications: makes sockets, reads the phase, draws
/// randomness, sleeps in simulated time.
#[derive(Clone)]
pub struct HostCtx {
    node: NodeRef,
    world: World,
    /// The applications' randomness, a stream of its own per host incarnation.
    rng: Rc<RefCell<Rng>>,
}

impl HostCtx {
    pub(crate) fn new(world: World, host: &str) -> HostCtx {
        let incarnation = world.incarnation(host);
        let jitter = world.rng_stream(&format!("jitter/{host}/{incarnation}"));
        let rng = world.rng_stream(&format!("host/{host}/{incarnation}"));
        let node = Rc::new(RefCell::new(Node {
            world: world.clone(),
            host: host.into(),
            sockets: Vec::new(),
            conns: BTreeMap::new(),
            next_key: 0,
            next_pipe: 0,
            jitter,
        }));
        let ctx = HostCtx { node, world, rng: Rc::new(RefCell::new(rng)) };
        ctx.spawn(closer(ctx.clone()));
        ctx
    }

    /// The host's name.
    pub fn name(&self) -> Rc<str> {
        self.node.borrow().host.clone()
    }

    /// The run's world (clock, trace, checker).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The run's current phase.
    pub fn phase(&self) -> Phase {
        self.world.phase()
    }

    /// Uniform in `lo..=hi`, from this host's stream of the run's seed.
    pub fn random(&self, lo: u64, hi: u64) -> u64 {
        self.rng.borrow_mut().range(lo, hi)
    }

    /// True with probability `p`, from this host's stream of the run's seed.
    pub fn chance(&self, p: f64) -> bool {
        self.rng.borrow_mut().chance(p)
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
        let mut n = self.node.borrow_mut();
        let (id, actor) = {
            let mut w = self.world.get();
            let id = w.next_socket();
            let seed = w.rng_stream(&format!("socket/{id}")).next_u64();
            let actor = SocketActor::with_options(ty, &opts.socket, seed)
                .expect("the simulator only builds existing types");
            let host = n.host.clone();
            w.check.emit(Event::SocketOpened { sock: id, host: &host, role, ty, opts: &opts });
            w.trace_line(format_args!("{host} s{id} {ty:?} opened as {role}"));
            (id, actor)
        };
        n.sockets.push(SockEntry {
            id,
            ty,
            actor,
            inbox: VecDeque::new(),
            notify: Rc::new(Notify::new()),
            opts,
            closing: false,
            close_done: false,
            partial: Vec::new(),
            sending: Rc::default(),
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

/// Why [`SimSocket::send_with`] did not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The first frame was not taken within the timeout.
    TimedOut,
    /// A ROUTER with ROUTER_MANDATORY knows no peer by that routing id.
    Unreachable,
}

/// A message received, as the application saw it.
#[derive(Clone, Debug)]
pub struct Got {
    /// The message.
    pub id: MsgId,
    /// The request it answers.
    pub re: Option<MsgId>,
    /// The frames before its first part: a ROUTER's routing id, a DEALER's delimiter...
    pub envelope: Vec<Bytes>,
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

    /// Notified when the socket may have become readable or writable (arm a `notified()`
    /// with `enable` before looking, so that a change in between is not missed).
    pub fn notifier(&self) -> Rc<Notify> {
        self.ctx.node.borrow().sockets[self.idx].notify.clone()
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closing(&self) -> bool {
        self.ctx.node.borrow().sockets[self.idx].closing
    }

    /// Sets LINGER; like libzmq's, it applies at once, to connections made before too.
    pub fn set_linger(&self, linger: Option<Duration>) {
        self.ctx.node.borrow_mut().sockets[self.idx].opts.linger = linger;
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
                        accept(&ctx, idx, port, tcp, peer);
                    }
                }
            }
        });
    }

    /// Connects to `host:port`, reconnecting as the stack's connection lifecycle says.
    pub fn connect(&self, host: &str, port: u16) {
        let mut n = self.ctx.node.borrow_mut();
        let endpoint = format!("tcp://{host}:{port}");
        let cfg = n.peer_config(self.idx, true, endpoint);
        let pipe = n.next_pipe();
        let seed = n.jitter.next_u64();
        let conn = Connection::connect(driver::now(), cfg, pipe, seed);
        let (key, notify) = n.add_conn(self.idx, conn, format!("{host}:{port}"));
        drop(n);
        let target = Some((host.to_owned(), port));
        let link = Link { ctx: self.ctx.clone(), key, sock: self.idx, notify, target };
        self.ctx.spawn(run_conn(link, None));
    }

    fn op<R>(&self, f: impl FnOnce(&mut SocketCore) -> R) -> R {
        let mut n = self.ctx.node.borrow_mut();
        n.service_socket(self.idx);
        let r = f(n.sockets[self.idx].actor.core());
        n.service_socket(self.idx);
        r
    }

    /// Sends a new message of `parts` parts with `size` filler bytes each. Waits up to
    /// `timeout` for the first part to be taken (HWM, no peer); returns `None` if it was not.
    pub async fn send(&self, parts: u16, size: usize, timeout: Duration) -> Option<MsgId> {
        self.send_with(&[], None, parts, size, timeout).await.ok()
    }

    /// Sends `envelope` (routing ids, delimiters: frames the pattern reads) and then a new
    /// message of `parts` parts of `size` filler bytes, answering request `re` if it is a
    /// reply. Waits up to `timeout` for the first frame to be taken.
    pub async fn send_with(
        &self,
        envelope: &[Bytes],
        re: Option<MsgId>,
        parts: u16,
        size: usize,
        timeout: Duration,
    ) -> Result<MsgId, Refused> {
        let deadline = tokio::time::Instant::now() + timeout;
        let turn = self.ctx.node.borrow().sockets[self.idx].sending.clone();
        let Ok(_turn) = tokio::time::timeout_at(deadline, turn.lock()).await else {
            return Err(Refused::TimedOut);
        };
        let seq = self.ctx.world.get().next_seq(self.id);
        let id = MsgId { sender: self.id, seq };
        let frames = envelope
            .iter()
            .map(|e| Msg::from(e.clone()).with_more(true))
            .chain(payload::build_reply(id, re, parts, size));
        self.push_frames(frames, deadline).await?;
        let key = {
            let n = self.ctx.node.borrow();
            let actor = &n.sockets[self.idx].actor;
            actor.core_ref().last_pipe().and_then(|p| actor.route(p).copied())
        };
        let to = envelope.first().map(|e| &e[..]).filter(|_| self.routes());
        let topic = envelope.first().map(|e| &e[..]).filter(|_| self.publishes());
        let mut w = self.ctx.world.get();
        w.check.emit(Event::Sent { id, key, to, re, topic });
        w.stats.sent += 1;
        let host = self.ctx.name();
        match re {
            Some(q) => w.trace_line(format_args!(
                "{host} s{} sent {id} ({parts}x{size} B) in reply to {q}",
                self.id
            )),
            None => w.trace_line(format_args!("{host} s{} sent {id} ({parts}x{size} B)", self.id)),
        }
        Ok(id)
    }

    /// Hands `frames` to the socket one by one, waiting while it would block; gives up if the
    /// first is not taken by `deadline` (later parts always are: a message is atomic).
    async fn push_frames(
        &self,
        frames: impl Iterator<Item = Msg>,
        deadline: tokio::time::Instant,
    ) -> Result<(), Refused> {
        for (i, mut part) in frames.enumerate() {
            loop {
                let notify = self.ctx.node.borrow().sockets[self.idx].notify.clone();
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                match self.op(|core| core.send(part)) {
                    Ok(()) => break,
                    Err(SendError::WouldBlock(p)) => part = p,
                    Err(SendError::HostUnreachable(_)) if i == 0 => {
                        return Err(Refused::Unreachable);
                    }
                    Err(e) => panic!("send refused: {e}"),
                }
                if i == 0 {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        self.ctx.world.get().check.emit(Event::SendTimedOut { sock: self.id });
                        return Err(Refused::TimedOut);
                    }
                } else {
                    notified.await;
                }
            }
        }
        Ok(())
    }

    /// Sends on a message received elsewhere, parts as they are (a forwarder's hop): the
    /// checker follows the same message on. Waits up to `timeout` for the first part.
    pub async fn forward(&self, parts: Vec<Msg>, timeout: Duration) -> Result<(), Refused> {
        let deadline = tokio::time::Instant::now() + timeout;
        let turn = self.ctx.node.borrow().sockets[self.idx].sending.clone();
        let Ok(_turn) = tokio::time::timeout_at(deadline, turn.lock()).await else {
            return Err(Refused::TimedOut);
        };
        let n = parts.len();
        let frames = parts.iter().cloned().enumerate().map(|(i, p)| p.with_more(i + 1 < n));
        self.push_frames(frames, deadline).await?;
        self.forwarded(&parts);
        Ok(())
    }

    /// Tells the checker that this socket sent on, whole, a message received elsewhere: a
    /// simulator message (its topic is the frame before its parts), or, from an XSUB, a
    /// subscription (`01`/`00` and the topic).
    fn forwarded(&self, parts: &[Msg]) {
        if let [m] = parts
            && self.ty() == SocketType::Xsub
            && m.first().is_some_and(|&b| b <= 1)
        {
            return self.report_subscription(m[0] == 1, &m[1..]);
        }
        let at = parts.iter().position(|p| payload::parse_header(p).is_ok());
        let Some(id) = at.and_then(|i| payload::parse_header(&parts[i]).ok()).map(|h| h.id) else {
            return;
        };
        let topic = match at {
            Some(i) if i > 0 => parts[0].to_bytes(),
            _ => Bytes::new(),
        };
        let mut w = self.ctx.world.get();
        w.check.emit(Event::Forwarded { by: self.id, id, topic: &topic });
        let host = self.ctx.name();
        w.trace_line(format_args!("{host} s{} forwarded {id}", self.id));
    }

    /// This socket as a [`ProxySocket`], for a forwarder host that runs ferromq's own proxy
    /// core: its operations never wait, and the checker hears of each whole message it
    /// receives or sends on, as it does from [`SimSocket::recv_raw`] and
    /// [`SimSocket::forward`].
    pub fn proxy_side(&self) -> ProxySide<'_> {
        ProxySide { sock: self, out: Vec::new() }
    }

    /// A ROUTER: the first frame of what it sends names the peer.
    fn routes(&self) -> bool {
        self.ty() == SocketType::Router
    }

    /// A PUB or XPUB: the first frame of what it sends is the topic.
    fn publishes(&self) -> bool {
        matches!(self.ty(), SocketType::Pub | SocketType::Xpub)
    }

    fn ty(&self) -> SocketType {
        self.ctx.node.borrow().sockets[self.idx].ty
    }

    /// Subscribes to `topic`: SUBSCRIBE on a SUB, a `01`+topic message on an XSUB.
    pub fn subscribe(&self, topic: &[u8]) {
        self.subscription(true, topic);
    }

    /// Unsubscribes from `topic` (one instance): UNSUBSCRIBE on a SUB, `00`+topic on an XSUB.
    pub fn unsubscribe(&self, topic: &[u8]) {
        self.subscription(false, topic);
    }

    fn subscription(&self, subscribe: bool, topic: &[u8]) {
        if self.is_closing() {
            return;
        }
        let r = match self.ty() {
            SocketType::Xsub => {
                let body = [&[u8::from(subscribe)][..], topic].concat();
                self.op(|core| core.send(Msg::from(body)))
            }
            _ => self.op(|core| core.subscribe(subscribe, topic)),
        };
        if let Err(e) = r {
            panic!("subscription refused: {e}");
        }
        self.report_subscription(subscribe, topic);
    }

    fn report_subscription(&self, subscribe: bool, topic: &[u8]) {
        let mut w = self.ctx.world.get();
        w.check.emit(Event::Subscription { sock: self.id, subscribe, topic });
        let what = if subscribe { "subscribed to" } else { "unsubscribed from" };
        let host = self.ctx.name();
        w.trace_line(format_args!(
            "{host} s{} {what} {:?}",
            self.id,
            Bytes::copy_from_slice(topic)
        ));
    }

    /// Receives one whole message, waiting up to `timeout`; the checker verifies it.
    pub async fn recv(&self, timeout: Duration) -> Option<MsgId> {
        self.recv_with(timeout).await.map(|g| g.id)
    }

    /// Receives one whole message with its envelope, waiting up to `timeout`.
    pub async fn recv_with(&self, timeout: Duration) -> Option<Got> {
        let (envelope, body) = self.recv_parts(timeout, false).await?;
        let head = body.first().and_then(|p| payload::parse_header(p).ok())?;
        let envelope = envelope.into_iter().map(|m| m.to_bytes()).collect();
        Some(Got { id: head.id, re: head.re, envelope })
    }

    /// Receives one whole message as it came, every part (for a forwarder to pass on); on an
    /// XPUB, subscription reports too (one part, `01`/`00` and the topic).
    pub async fn recv_raw(&self, timeout: Duration) -> Option<Vec<Msg>> {
        let (mut envelope, body) = self.recv_parts(timeout, true).await?;
        envelope.extend(body);
        Some(envelope)
    }

    /// Receives one whole message, split into its envelope and its simulator parts, and tells
    /// the checker; an XPUB's subscription reports are told, and skipped unless `reports`.
    async fn recv_parts(&self, timeout: Duration, reports: bool) -> Option<(Vec<Msg>, Vec<Msg>)> {
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
                        match self.took(parts) {
                            Took::Notification(parts) if reports => {
                                return Some((parts, Vec::new()));
                            }
                            Took::Notification(_) => continue,
                            Took::Message(envelope, body) => return Some((envelope, body)),
                        }
                    }
                    Err(RecvError::WouldBlock) => break,
                    Err(e) => panic!("recv on a socket that cannot receive: {e}"),
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Tells the checker of a whole message received: an XPUB's subscription report, or a
    /// message split into its envelope and its simulator parts.
    fn took(&self, mut parts: Vec<Msg>) -> Took {
        if let Some((subscribe, topic)) = self.notification(&parts) {
            let mut w = self.ctx.world.get();
            w.check.emit(Event::Notified { sock: self.id, subscribe, topic });
            let what = if subscribe { "heard a subscription to" } else { "heard a cancel of" };
            let host = self.ctx.name();
            w.trace_line(format_args!(
                "{host} s{} {what} {:?}",
                self.id,
                Bytes::copy_from_slice(topic)
            ));
            drop(w);
            return Took::Notification(parts);
        }
        // The envelope: the frames before the first simulator part.
        let at = parts.iter().position(|p| payload::parse_header(p).is_ok()).unwrap_or(parts.len());
        let body = parts.split_off(at);
        let envelope = parts;
        let head = body.first().and_then(|p| payload::parse_header(p).ok());
        let mut w = self.ctx.world.get();
        w.check.emit(Event::Received { sock: self.id, envelope: &envelope, parts: &body });
        w.stats.received += 1;
        let host = self.ctx.name();
        match head {
            Some(h) => w.trace_line(format_args!("{host} s{} got {}", self.id, h.id)),
            None => w.trace_line(format_args!("{host} s{} got garbage", self.id)),
        }
        drop(w);
        Took::Message(envelope, body)
    }

    /// An XPUB's subscription report: one part, `01` or `00` and the topic.
    fn notification<'m>(&self, parts: &'m [Msg]) -> Option<(bool, &'m [u8])> {
        match parts {
            [m] if self.ty() == SocketType::Xpub && m.first().is_some_and(|&b| b <= 1) => {
                Some((m[0] == 1, &m[1..]))
            }
            _ => None,
        }
    }

    /// Closes the socket: its connections drain for up to linger, then end. Idempotent.
    pub fn close(&self) {
        let mut n = self.ctx.node.borrow_mut();
        if n.sockets[self.idx].closing {
            return;
        }
        {
            let host = n.host.clone();
            let sk = &mut n.sockets[self.idx];
            sk.closing = true;
            sk.actor.core().close();
            let mut w = self.ctx.world.get();
            w.check.emit(Event::Closing { sock: sk.id });
            w.trace_line(format_args!("{host} s{} closing", sk.id));
        }
        for e in n.conns.values_mut().filter(|e| e.sock == self.idx) {
            e.inbox.push_back(ConnInput::Terminate);
            e.notify.notify_one();
        }
        n.service_socket(self.idx);
        n.sockets[self.idx].notify.notify_waiters();
    }
}

/// Runs a connection until it is finished, then forgets it.
async fn run_conn(link: Link, stream: Option<Chaos<turmoil::net::TcpStream>>) {
    driver::drive(&link, stream).await;
    link.ctx.node.borrow_mut().remove_conn(link.key);
}

fn accept(ctx: &HostCtx, idx: usize, port: u16, tcp: turmoil::net::TcpStream, peer: String) {
    let (key, notify) = {
        let mut n = ctx.node.borrow_mut();
        if n.sockets[idx].closing {
            return;
        }
        let cfg = n.peer_config(idx, false, format!("tcp://*:{port}"));
        let pipe = n.next_pipe();
        let conn = Connection::accept(driver::now(), cfg, pipe);
        n.add_conn(idx, conn, peer.clone())
    };
    let (conn, stream) = chaos_stream(ctx, idx, key, tcp);
    ctx.world.trace(format_args!("{} accepted c{conn} from {peer} as k{key}", ctx.name()));
    let link = Link { ctx: ctx.clone(), key, sock: idx, notify, target: None };
    ctx.spawn(run_conn(link, Some(stream)));
}

/// Wraps a new stream of connection `key` of socket `idx` in the chaos layer, with taps for
/// the checker.
fn chaos_stream(
    ctx: &HostCtx,
    idx: usize,
    key: u64,
    tcp: turmoil::net::TcpStream,
) -> (u64, Chaos<turmoil::net::TcpStream>) {
    let world = ctx.world.clone();
    let conn = world.next_conn();
    let (plan, rng) = {
        let w = world.get();
        let faults_left = if w.stream_faults {
            w.timeline.faults_end.saturating_sub(w.now)
        } else {
            Duration::ZERO
        };
        let mut rng = w.rng_stream(&format!("chaos/{conn}"));
        (ConnChaos::draw(&mut rng, faults_left), rng)
    };
    let sock = ctx.node.borrow().sockets[idx].id;
    if let (Ok(local), Ok(peer)) = (tcp.local_addr(), tcp.peer_addr()) {
        world.get().check.emit(Event::StreamUp { conn, sock, key, local, peer });
    }
    let (tap_in, tap_out, report) = (world.clone(), world.clone(), world.clone());
    let host = ctx.name();
    let chaos = Chaos::new(
        tcp,
        rng,
        plan,
        move |bytes| tap_in.get().check.emit(Event::WireIn { conn, bytes }),
        move |bytes| tap_out.get().check.emit(Event::WireOut { conn, bytes }),
        move |ev| match ev {
            ChaosEvent::Reset => {
                report.fault("reset", format_args!("{host} c{conn} reset"));
                report.get().check.emit(Event::Reset { conn });
            }
            ChaosEvent::Stall => {
                *report.get().stats.faults.entry("stall").or_default() += 1;
            }
        },
    );
    (conn, chaos)
}

/// A whole message a [`SimSocket`] received, as the checker was told of it.
enum Took {
    /// An XPUB's subscription report.
    Notification(Vec<Msg>),
    /// A message: its envelope and its simulator parts.
    Message(Vec<Msg>, Vec<Msg>),
}

/// A [`SimSocket`] driven by ferromq's proxy core ([`SimSocket::proxy_side`]).
pub struct ProxySide<'a> {
    sock: &'a SimSocket,
    /// The parts of the message being sent on, for the checker.
    out: Vec<Msg>,
}

impl ProxySocket for ProxySide<'_> {
    fn socket_type(&self) -> SocketType {
        self.sock.ty()
    }

    fn can_recv(&mut self) -> ferromq::Result<bool> {
        Ok(self.sock.op(SocketCore::has_in))
    }

    fn can_send(&mut self) -> ferromq::Result<bool> {
        Ok(!self.sock.is_closing() && self.sock.op(SocketCore::has_out))
    }

    fn recv(&mut self) -> ferromq::Result<Msg> {
        let part = self.sock.op(SocketCore::recv)?;
        let mut n = self.sock.ctx.node.borrow_mut();
        let partial = &mut n.sockets[self.sock.idx].partial;
        partial.push(part.clone());
        if !part.more() {
            let parts = std::mem::take(partial);
            drop(n);
            self.sock.took(parts);
        }
        Ok(part)
    }

    fn send(&mut self, part: Msg) -> Result<(), ProxyRefused> {
        let more = part.more();
        match self.sock.op(|core| core.send(part.clone())) {
            Ok(()) => {}
            Err(SendError::WouldBlock(p)) => return Err(ProxyRefused::Full(p)),
            Err(e) => return Err(ProxyRefused::Failed(e.into())),
        }
        self.out.push(part);
        if !more {
            let parts = std::mem::take(&mut self.out);
            self.sock.forwarded(&parts);
        }
        Ok(())
    }
}
