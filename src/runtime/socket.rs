//! The blocking socket API, on the user's thread.

use super::context::CtxInner;
use super::context::Lead;
use super::inproc::Me;
use super::io_thread::{IoCmd, LiveLinger, PeerOpts, Reaped};
use super::monitor::{Monitor, MonitorEvent, MonitorHandle};
use super::poll::{PollEvents, ReadinessFd};
use super::signal::{SharedWaker, Signal, SocketWaker, WakeTarget};
use super::stream::{Listener, Tuning, bind_addr, ipc_path};
use super::{Route, SocketCmd, flush_actor};
use crate::core::{
    Action, Connection, PeerConfig, PipeId, RecvError, SendError, SocketActor, SocketCore,
    SocketInput,
};
use crate::endpoint::Endpoint;
use crate::pipe::{Mailbox, Sender};
use crate::{Error, Msg, Multipart, Result, SocketOptions, SocketType};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A stream of heap bodies shorter than this is decoded by the I/O thread in parallel with the
/// receiving thread (a `recv` that finds its message queued ends the I/O thread's grace);
/// bodies of this size or more are read by the receiving thread alone, as inline ones are.
/// One thread reads 1 KiB bodies at 3.5 M msg/s over tcp here (28 Gb/s, more than the wire
/// brings), while handing the loop to a second thread and back costs wake-ups and, on a
/// machine with no idle core, CPU the sender needed: ipc 1 KiB 1.35 x, tcp 1 KiB 1.06 x, ipc
/// 64 KiB 1.22 x, tcp 64 KiB and ipc 128 B level (docs/performance.md, 2026-12-04).
const PARALLEL_DECODE_MAX: usize = 512;

enum Attached {
    /// A tcp/ipc listener served by I/O thread `io`.
    Listener { io: usize, id: u64 },
    /// A tcp/ipc connect: its session's pipe.
    Dialer { io: usize, pipe: PipeId },
    /// An inproc bind of this name.
    InprocBind(String),
    /// An inproc connect: its pipe.
    InprocConnect(PipeId),
}

/// A ferromq socket. `Send`, not `Sync`: use it from one thread at a time.
///
/// Sends and receives block (up to SNDTIMEO / RCVTIMEO) unless told not to; a blocking call
/// returns [`Error::Terminated`] when the context terminates.
///
/// ```
/// use ferromq::{Context, SocketType};
/// let ctx = Context::new().unwrap();
/// let mut pull = ctx.socket(SocketType::Pull).unwrap();
/// pull.bind("inproc://jobs").unwrap();
/// let mut push = ctx.socket(SocketType::Push).unwrap();
/// push.connect("inproc://jobs").unwrap();
/// push.send("work").unwrap();
/// assert_eq!(&pull.recv().unwrap()[..], b"work");
/// ```
pub struct Socket {
    ctx: Arc<CtxInner>,
    id: u64,
    /// The socket itself; `None` only once `drop` has handed it to the reaper.
    actor: Option<SocketActor<Route>>,
    mailbox: Mailbox<SocketCmd>,
    tx: Sender<SocketCmd>,
    waker: Arc<SocketWaker>,
    signal: Arc<Signal>,
    opts: SocketOptions,
    /// LINGER as its connections see it (it applies at once, O-02).
    linger: Arc<LiveLinger>,
    endpoints: Vec<(String, Attached)>,
    last_endpoint: Option<String>,
    terminated: bool,
    io_next: usize,
    readiness: Option<Readiness>,
    /// The last part received said more follow: the next is part of the same message.
    rcv_more: bool,
    /// Messages received in a row that were already queued when asked for, since the last
    /// `recv` or poll that waited: from two on, a stream.
    rcv_streak: u8,
    monitor: MonitorHandle,
}

/// The socket's side of its readiness fd: the pair's write end, the read end it drains, and
/// the events the user waits for.
struct Readiness {
    reader: std::os::unix::net::UnixStream,
    writer: Arc<std::os::unix::net::UnixStream>,
    interest: PollEvents,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = self.actor.as_ref().map(SocketActor::core_ref);
        f.debug_struct("Socket")
            .field("type", &core.map(SocketCore::socket_type))
            .field("pipes", &core.map(SocketCore::pipe_count))
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(ctx: Arc<CtxInner>, ty: SocketType) -> Result<Socket> {
        // O-05: libzmq's XSUB (and so SUB) starts with LINGER 0, whatever its documentation
        // says: a subscriber's queue holds subscriptions, which nobody is owed at close.
        let linger = match ty {
            SocketType::Sub | SocketType::Xsub => Some(Duration::ZERO),
            _ => ctx.default_linger,
        };
        let opts = SocketOptions { linger, ..SocketOptions::default() };
        // libzmq starts a ROUTER's generated ids, and a REQ's request ids, at random.
        let actor = SocketActor::with_options(ty, &opts, ctx.random_seed())?;
        let signal = Arc::new(Signal::default());
        let lead = match &ctx.io_loops[..] {
            [l] => Some(l.helpers.wake.ring.clone()),
            _ => None,
        };
        let waker = SocketWaker::new(signal.clone(), lead);
        let (mailbox, tx) = Mailbox::new(SharedWaker(waker.clone()));
        let id = ctx.next_id();
        ctx.register(id, tx.clone())?;
        let linger = Arc::new(LiveLinger::new(opts.linger));
        Ok(Socket {
            ctx,
            id,
            actor: Some(actor),
            mailbox,
            tx,
            waker,
            signal,
            opts,
            linger,
            endpoints: Vec::new(),
            last_endpoint: None,
            terminated: false,
            io_next: 0,
            readiness: None,
            rcv_more: false,
            rcv_streak: 0,
            monitor: MonitorHandle::default(),
        })
    }

    fn actor(&mut self) -> &mut SocketActor<Route> {
        self.actor.as_mut().expect("a socket's actor leaves it only when it is dropped")
    }

    fn core(&mut self) -> &mut SocketCore {
        self.actor().core()
    }

    /// The context: [`poll`](super::poll) waits as a blocked call does.
    pub(crate) fn ctx(&self) -> &Arc<CtxInner> {
        &self.ctx
    }

    /// The socket type.
    pub fn socket_type(&self) -> SocketType {
        self.actor.as_ref().expect("alive").core_ref().socket_type()
    }

    /// The options in force.
    pub fn options(&self) -> &SocketOptions {
        &self.opts
    }

    /// Replaces the options (validated: O-03). Like libzmq, most apply to later binds and
    /// connects only; LINGER, SNDTIMEO and RCVTIMEO apply at once (O-02).
    pub fn set_options(&mut self, opts: SocketOptions) -> Result<()> {
        opts.validate_for(self.socket_type())?;
        let hwms = (opts.sndhwm, opts.rcvhwm);
        let changed = hwms != (self.opts.sndhwm, self.opts.rcvhwm);
        self.opts = opts;
        self.linger.set(self.opts.linger);
        // ROUTER_MANDATORY, ROUTER_HANDOVER, PROBE_ROUTER, REQ_CORRELATE and REQ_RELAXED apply
        // at once (O-02).
        let opts = self.opts.clone();
        self.core().configure(&opts);
        if changed {
            self.apply_hwms();
        }
        Ok(())
    }

    /// Sets SNDHWM. Like libzmq, it applies at once to existing tcp and ipc connections too
    /// (O-02); see [`set_rcvhwm`](Self::set_rcvhwm) for inproc.
    pub fn set_sndhwm(&mut self, hwm: u64) {
        if self.opts.sndhwm != hwm {
            self.opts.sndhwm = hwm;
            self.apply_hwms();
        }
    }

    /// Sets RCVHWM. Like libzmq, it applies at once to existing tcp and ipc connections too
    /// (O-02). An inproc pipe keeps the marks it was made with: its capacity is the sum of
    /// both sockets' marks, and only new inproc connections see a change.
    pub fn set_rcvhwm(&mut self, hwm: u64) {
        if self.opts.rcvhwm != hwm {
            self.opts.rcvhwm = hwm;
            self.apply_hwms();
        }
    }

    /// Gives the pipes of tcp and ipc connections the current SNDHWM and RCVHWM; each pipe
    /// tells its session end.
    fn apply_hwms(&mut self) {
        let (sndhwm, rcvhwm) = (self.opts.sndhwm, self.opts.rcvhwm);
        let actor = self.actor();
        for id in actor.core().pipe_ids() {
            if matches!(actor.route(id), Some(Route::Io(_))) {
                actor.core().set_pipe_hwms(id, sndhwm, rcvhwm);
            }
        }
        self.flush_commands();
    }

    /// Sets LINGER (`None`: forever).
    ///
    /// Unlike most options it applies at once, to connections made before it too (O-02): a
    /// connection lingers with the value in force when the socket closes or disconnects it.
    pub fn set_linger(&mut self, linger: Option<Duration>) {
        self.opts.linger = linger;
        self.linger.set(linger);
    }

    /// Sets SNDTIMEO (`None`: block forever; `Some(ZERO)`: never block).
    pub fn set_sndtimeo(&mut self, t: Option<Duration>) {
        self.opts.sndtimeo = t;
    }

    /// Sets RCVTIMEO (`None`: block forever; `Some(ZERO)`: never block).
    pub fn set_rcvtimeo(&mut self, t: Option<Duration>) {
        self.opts.rcvtimeo = t;
    }

    /// Sets RECONNECT_IVL (`None`: never reconnect).
    pub fn set_reconnect_ivl(&mut self, ivl: Option<Duration>) {
        self.opts.reconnect_ivl = ivl;
    }

    /// The endpoint of the last bind or connect, with wildcards resolved (LAST_ENDPOINT, T-03).
    pub fn last_endpoint(&self) -> Option<&str> {
        self.last_endpoint.as_deref()
    }

    #[inline]
    fn check_alive(&self) -> Result<()> {
        if self.terminated || self.ctx.terminating.load(Ordering::Acquire) {
            return Err(Error::Terminated);
        }
        Ok(())
    }

    /// Starts monitoring: events of this socket's endpoints and connections, from now on, go
    /// to the returned [`Monitor`] (replacing any earlier one). Closing the socket ends the
    /// stream with [`MonitorEvent::MonitorStopped`].
    pub fn monitor(&mut self) -> Monitor {
        self.monitor.start()
    }

    fn peer_opts(&self, connect: bool, endpoint: &str) -> Arc<PeerOpts> {
        Arc::new(PeerOpts {
            peer: PeerConfig::from_options(self.socket_type(), &self.opts, connect, endpoint),
            linger: self.linger.clone(),
            monitor: self.monitor.clone(),
            tuning: Tuning::from_options(&self.opts),
        })
    }

    fn pick_io(&mut self) -> usize {
        let i = self.io_next % self.ctx.io.len();
        self.io_next += 1;
        i
    }

    /// Binds to an endpoint: `tcp://host:port` (`*` host and `*`/`0` port allowed),
    /// `ipc://path` or `inproc://name`.
    pub fn bind(&mut self, endpoint: &str) -> Result<()> {
        let r = self.bind_inner(endpoint);
        if let Err(e) = &r {
            let (endpoint, error) = (endpoint.to_owned(), e.to_string());
            self.monitor.emit(MonitorEvent::BindFailed { endpoint, error });
        }
        r
    }

    fn bind_inner(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let ep: Endpoint = endpoint.parse()?;
        match &ep {
            Endpoint::Tcp { host, port } => {
                let addr = bind_addr(host, *port).map_err(|_| Error::InvalidEndpoint {
                    endpoint: endpoint.to_owned(),
                    reason: "host did not resolve",
                })?;
                let std_listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
                std_listener.set_nonblocking(true)?;
                let local = std_listener.local_addr()?;
                let listener = Listener::Tcp(mio::net::TcpListener::from_std(std_listener));
                let last = match local {
                    std::net::SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
                    a => format!("tcp://{a}"),
                };
                self.listen(listener, endpoint, last);
            }
            Endpoint::Ipc(path) => {
                let (path, shown) = if path == "*" {
                    let p = std::env::temp_dir().join(format!(
                        "ferromq-{}-{}.sock",
                        std::process::id(),
                        self.ctx.next_id()
                    ));
                    let shown = p.display().to_string();
                    (p, shown)
                } else {
                    (ipc_path(path), path.clone())
                };
                let abstract_ns = path.to_string_lossy().starts_with('@');
                if !abstract_ns && path.exists() {
                    // T-06: a second bind to the same path takes it over (a stale file from
                    // a dead process is the common case).
                    let _ = std::fs::remove_file(&path);
                }
                let std_listener =
                    std::os::unix::net::UnixListener::bind(&path).map_err(bind_error)?;
                std_listener.set_nonblocking(true)?;
                let owned = (!abstract_ns).then_some(path);
                let listener =
                    Listener::Unix(mio::net::UnixListener::from_std(std_listener), owned);
                self.listen(listener, endpoint, format!("ipc://{shown}"));
            }
            Endpoint::Inproc(name) => self.bind_inproc(name, endpoint)?,
        }
        Ok(())
    }

    fn listen(&mut self, listener: Listener, endpoint: &str, last: String) {
        let io = self.pick_io();
        let id = self.ctx.next_id();
        let opts = self.peer_opts(false, &last);
        self.monitor.emit(MonitorEvent::Listening { endpoint: last.clone() });
        self.ctx.io[io].send(IoCmd::Listen {
            listener,
            socket: self.tx.clone(),
            opts,
            endpoint: id,
        });
        self.endpoints.push((endpoint.to_owned(), Attached::Listener { io, id }));
        if last != endpoint {
            self.endpoints.push((last.clone(), Attached::Listener { io, id }));
        }
        self.last_endpoint = Some(last);
    }

    fn me(&self) -> Me<'_> {
        Me {
            tx: &self.tx,
            socket_id: self.id,
            ty: self.socket_type(),
            routing_id: &self.opts.routing_id,
            connect_routing_id: self.opts.connect_routing_id.as_ref(),
            flows: self.opts.flows(self.socket_type()),
        }
    }

    fn bind_inproc(&mut self, name: &str, endpoint: &str) -> Result<()> {
        let ctx = self.ctx.clone();
        for input in ctx.inproc.bind(name, &self.me())? {
            self.actor().handle(input);
        }
        self.flush_commands();
        self.endpoints.push((endpoint.to_owned(), Attached::InprocBind(name.to_owned())));
        self.last_endpoint = Some(endpoint.to_owned());
        Ok(())
    }

    /// Connects to an endpoint. Returns at once (L-01); the connection is made in the
    /// background and re-made after failures, and messages queue meanwhile (L-02).
    pub fn connect(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let ep: Endpoint = endpoint.parse()?;
        ep.check_connectable()?;
        if let Endpoint::Inproc(name) = &ep {
            return self.connect_inproc(name, endpoint);
        }
        let io = self.pick_io();
        let pipe = self.ctx.next_pipe_id();
        let opts = self.peer_opts(true, endpoint);
        // CONNECT_ROUTING_ID names the next connect's peer only.
        self.opts.connect_routing_id = None;
        let now = Instant::now();
        let mut conn =
            Connection::connect(now, opts.peer.clone(), pipe, self.ctx.jitter_seed(pipe));
        // The connect-side pipe exists now, so sends queue before the connection is up; the
        // rest is the I/O thread's to carry out.
        let mut early = Vec::new();
        while let Some(a) = conn.poll_action() {
            match a {
                Action::AttachPipe { id, end, info } => {
                    let route = Route::Io(io);
                    self.actor().handle(SocketInput::Attach { id, end, info, route });
                }
                a => early.push(a),
            }
        }
        self.flush_commands();
        self.ctx.io[io].send(IoCmd::Dial {
            conn: Box::new(conn),
            early,
            target: ep,
            socket: self.tx.clone(),
            opts,
        });
        self.endpoints.push((endpoint.to_owned(), Attached::Dialer { io, pipe }));
        self.last_endpoint = Some(endpoint.to_owned());
        Ok(())
    }

    fn connect_inproc(&mut self, name: &str, endpoint: &str) -> Result<()> {
        let id = self.ctx.next_pipe_id();
        let ctx = self.ctx.clone();
        let input = ctx.inproc.connect(name, id, &self.me());
        self.opts.connect_routing_id = None;
        self.actor().handle(input);
        self.flush_commands();
        self.endpoints.push((endpoint.to_owned(), Attached::InprocConnect(id)));
        self.last_endpoint = Some(endpoint.to_owned());
        Ok(())
    }

    /// Removes and returns the first endpoint of that name and kind (ENOENT when none).
    fn take_endpoint(&mut self, endpoint: &str, kind: fn(&Attached) -> bool) -> Result<Attached> {
        let i = self
            .endpoints
            .iter()
            .position(|(e, a)| e == endpoint && kind(a))
            .ok_or(Error::NoSuchEndpoint)?;
        Ok(self.endpoints.remove(i).1)
    }

    /// Stops listening on an endpoint bound earlier (use the LAST_ENDPOINT form for a
    /// wildcard bind) and drops the connections accepted through it (L-10).
    pub fn unbind(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let found = self.take_endpoint(endpoint, |a| {
            matches!(a, Attached::Listener { .. } | Attached::InprocBind(_))
        })?;
        match found {
            Attached::Listener { io, id } => {
                self.endpoints.retain(
                    |(_, a)| !matches!(a, Attached::Listener { id: other, .. } if *other == id),
                );
                self.ctx.io[io].send(IoCmd::Unlisten(id));
            }
            Attached::InprocBind(name) => self.ctx.inproc.unbind(&name, None),
            _ => {}
        }
        Ok(())
    }

    /// Stops connecting to an endpoint and closes its connection; unsent messages drain for
    /// up to LINGER (L-11).
    pub fn disconnect(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        let found = self.take_endpoint(endpoint, |a| {
            matches!(a, Attached::Dialer { .. } | Attached::InprocConnect(_))
        })?;
        match found {
            Attached::Dialer { io, pipe } => {
                self.core().terminate_pipe(pipe);
                self.flush_commands();
                self.ctx.io[io].send(IoCmd::Undial(pipe));
            }
            Attached::InprocConnect(pipe) => {
                self.core().terminate_pipe(pipe);
                self.flush_commands();
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies every command waiting in the mailbox.
    #[inline]
    fn process_commands(&mut self) -> Result<()> {
        // Runs before every send and receive, and the mailbox is nearly always empty: the
        // loop lives out of line.
        if let Some(cmd) = self.mailbox.try_recv() {
            self.handle_commands(cmd);
        }
        self.check_alive()
    }

    #[inline(never)]
    fn handle_commands(&mut self, first: SocketCmd) {
        let mut next = Some(first);
        while let Some(cmd) = next {
            match cmd {
                SocketCmd::Input(input) => self.actor().handle(input),
                SocketCmd::Stop => self.terminated = true,
            }
            next = self.mailbox.try_recv();
        }
        self.flush_commands();
    }

    /// Sends the pipe commands the core produced to the owners of the other ends.
    /// True if any went to an I/O thread.
    #[inline]
    fn flush_commands(&mut self) -> bool {
        match self.actor.as_mut() {
            Some(actor) if actor.has_output() => flush_actor(&self.ctx, actor),
            _ => false,
        }
    }

    /// Sleeps until woken (a command arrived) or the deadline; `None` (don't wait) or a
    /// deadline already passed is "would block". `round_trip`: the caller is likely back
    /// soon with a send of its own (a `recv`, not a `send` held up by a full queue).
    fn wait(&self, wait: Option<Option<Instant>>, round_trip: bool) -> Result<()> {
        let lead = match (self.networked(), round_trip) {
            (false, _) => Lead::No,
            (true, false) => Lead::Sleep,
            (true, true) => Lead::RoundTrip,
        };
        match wait {
            None => Err(Error::WouldBlock),
            Some(Some(d)) if Instant::now() >= d => Err(Error::WouldBlock),
            Some(deadline) => {
                self.ctx.wait(&self.signal, deadline, lead);
                Ok(())
            }
        }
    }

    /// A poll waited for this socket: what it then receives was waited for.
    pub(crate) fn polled(&mut self) {
        self.rcv_streak = 0;
    }

    /// Whether what the socket waits for may come through an I/O thread (it has a tcp or ipc
    /// endpoint), so that a blocked call is better off sleeping in that thread's poll than on
    /// its signal, which an inproc peer notifies directly.
    pub(crate) fn networked(&self) -> bool {
        self.endpoints
            .iter()
            .any(|(_, a)| !matches!(a, Attached::InprocBind(_) | Attached::InprocConnect(_)))
    }

    fn deadline(timeout: Option<Duration>, dontwait: bool) -> Option<Option<Instant>> {
        if dontwait || timeout == Some(Duration::ZERO) {
            None
        } else {
            Some(timeout.map(|t| Instant::now() + t))
        }
    }

    /// What the socket can do now without blocking: [`PollEvents::IN`] and/or
    /// [`PollEvents::OUT`] (ZMQ_EVENTS). Also applies pending commands.
    pub fn events(&mut self) -> Result<PollEvents> {
        self.process_commands()?;
        let mut ev = PollEvents::NONE;
        if self.core().has_in() {
            ev = ev | PollEvents::IN;
        }
        if self.core().has_out() {
            ev = ev | PollEvents::OUT;
        }
        self.flush_commands();
        Ok(ev)
    }

    pub(crate) fn retarget_wake(&self, t: WakeTarget) {
        self.waker.retarget(t);
    }

    pub(crate) fn restore_wake(&self) {
        let fd = self.readiness.as_ref().map(|r| r.writer.clone());
        self.waker.retarget(WakeTarget::User(self.signal.clone(), fd));
    }

    /// A level-triggered fd for `interest`: readable while the socket is ready for it (see
    /// [`ReadinessFd`]). Each call returns a new handle to the same readiness.
    pub fn readiness_fd(&mut self, interest: PollEvents) -> Result<ReadinessFd> {
        if self.readiness.is_none() {
            let (reader, writer) = std::os::unix::net::UnixStream::pair()?;
            reader.set_nonblocking(true)?;
            writer.set_nonblocking(true)?;
            self.readiness = Some(Readiness { reader, writer: Arc::new(writer), interest });
            self.restore_wake();
        }
        let r = self.readiness.as_mut().expect("just made");
        r.interest = interest;
        let handle = ReadinessFd { reader: r.reader.try_clone()? };
        self.sync_readiness();
        Ok(handle)
    }

    /// Makes the readiness fd tell the truth: drain it first (so a wake-up racing with us
    /// re-arms it), apply commands, then re-arm it if the socket is ready.
    #[inline]
    fn sync_readiness(&mut self) {
        if self.readiness.is_some() {
            self.sync_readiness_fd();
        }
    }

    #[cold]
    fn sync_readiness_fd(&mut self) {
        let Some(r) = self.readiness.as_ref() else { return };
        let mut buf = [0u8; 64];
        while matches!(std::io::Read::read(&mut &r.reader, &mut buf), Ok(n) if n > 0) {}
        let interest = r.interest;
        let writer = r.writer.clone();
        if let Ok(ev) = self.events() {
            if !(ev & interest).is_empty() {
                let _ = std::io::Write::write(&mut &*writer, &[1]);
            }
        }
    }

    /// Sends one message part. With `dontwait`, or when SNDTIMEO runs out, a part that cannot
    /// be queued now gives [`Error::WouldBlock`].
    pub fn send_msg(&mut self, msg: Msg, dontwait: bool) -> Result<()> {
        let r = self.send_inner(msg, dontwait);
        self.sync_readiness();
        r
    }

    fn send_inner(&mut self, mut msg: Msg, dontwait: bool) -> Result<()> {
        let wait = Self::deadline(self.opts.sndtimeo, dontwait);
        loop {
            self.process_commands()?;
            match self.core().send(msg) {
                Ok(()) => {
                    if self.flush_commands() {
                        // The direct write: the message woke a connection (nothing was queued
                        // for it), so take the I/O thread's turn now if it is free (the thread
                        // stays out of the way of a user thread in a round trip, or spins on
                        // it), which writes the message to the stream from this thread, rather
                        // than wait for the I/O thread to wake and do it.
                        self.ctx.direct_write();
                    }
                    return Ok(());
                }
                Err(SendError::WouldBlock(m)) => msg = m,
                Err(e) => {
                    self.flush_commands();
                    return Err(e.into());
                }
            }
            self.flush_commands();
            self.wait(wait, false)?;
        }
    }

    /// Sends a single-part message, blocking as SNDTIMEO allows.
    pub fn send(&mut self, msg: impl Into<Msg>) -> Result<()> {
        self.send_msg(msg.into().with_more(false), false)
    }

    /// Sends a multipart message, blocking as SNDTIMEO allows. Delivered whole or not at all.
    pub fn send_multipart(&mut self, msg: impl Into<Multipart>) -> Result<()> {
        let msg = msg.into();
        if msg.is_empty() {
            return Err(Error::InvalidArgument("a message needs at least one part".into()));
        }
        for part in msg.into_frames() {
            self.send_msg(part, false)?;
        }
        Ok(())
    }

    /// SUBSCRIBE: a SUB receives messages whose first frame starts with `topic` ("" takes
    /// everything); every call adds one instance, and every publisher hears of it, including
    /// those that connect later or reconnect (SUB-01, SUB-02, SUB-07). On an XPUB with
    /// XPUB_MANUAL it subscribes the subscriber whose subscription was received last
    /// (XPUB-06). Other types: [`Error::InvalidArgument`], as libzmq's EINVAL.
    ///
    /// ```
    /// use ferromq::{Context, SocketType};
    /// let ctx = Context::new()?;
    /// let mut publisher = ctx.socket(SocketType::Pub)?;
    /// publisher.bind("inproc://weather")?;
    /// let mut sub = ctx.socket(SocketType::Sub)?;
    /// sub.connect("inproc://weather")?;
    /// sub.subscribe("10001 ")?;
    /// # std::thread::sleep(std::time::Duration::from_millis(50));
    /// publisher.send("20000 rain")?; // filtered out at the publisher
    /// publisher.send("10001 sun")?;
    /// assert_eq!(&sub.recv()?[..], b"10001 sun");
    /// # Ok::<(), ferromq::Error>(())
    /// ```
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.set_subscription(true, topic.as_ref())
    }

    /// UNSUBSCRIBE: removes one instance of `topic`; publishers hear of it when the last
    /// instance goes (SUB-04). Unsubscribing from a topic not subscribed does nothing.
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.set_subscription(false, topic.as_ref())
    }

    fn set_subscription(&mut self, subscribe: bool, topic: &[u8]) -> Result<()> {
        self.process_commands()?;
        let r = self.core().subscribe(subscribe, topic);
        self.flush_commands();
        self.sync_readiness();
        r.map_err(|e| match e {
            SendError::NotSupported(_) => Error::InvalidArgument(format!(
                "{} takes no SUBSCRIBE/UNSUBSCRIBE (SUB does; XPUB with XPUB_MANUAL)",
                self.socket_type()
            )),
            e => e.into(),
        })
    }

    /// Receives one message part; `more()` tells whether another part follows. With
    /// `dontwait`, or when RCVTIMEO runs out, gives [`Error::WouldBlock`].
    pub fn recv_msg(&mut self, dontwait: bool) -> Result<Msg> {
        let r = self.recv_inner(dontwait);
        self.sync_readiness();
        r
    }

    fn recv_inner(&mut self, dontwait: bool) -> Result<Msg> {
        let wait = Self::deadline(self.opts.rcvtimeo, dontwait);
        let mut waited = false;
        loop {
            self.process_commands()?;
            match self.core().recv() {
                Ok(m) => {
                    if waited {
                        self.rcv_streak = 0;
                    } else if !self.rcv_more {
                        // Two messages in a row that were already there: a stream, not a
                        // round trip (where one may be, the one a poll waited for). Small heap
                        // bodies are worth a second thread decoding; inline ones and bodies of
                        // `PARALLEL_DECODE_MAX` or more are cheaper to read here than to hand
                        // the loop back and forth for.
                        self.rcv_streak = self.rcv_streak.saturating_add(1);
                        if self.rcv_streak >= 2 && !m.is_inline() && m.len() < PARALLEL_DECODE_MAX {
                            self.ctx.streaming();
                        }
                    }
                    self.rcv_more = m.more();
                    self.flush_commands();
                    return Ok(m);
                }
                Err(RecvError::WouldBlock) => {}
                Err(e) => {
                    self.flush_commands();
                    return Err(e.into());
                }
            }
            self.flush_commands();
            waited = true;
            self.wait(wait, true)?;
        }
    }

    /// Receives one message part, blocking as RCVTIMEO allows.
    pub fn recv(&mut self) -> Result<Msg> {
        self.recv_msg(false)
    }

    /// Receives a whole multipart message, blocking as RCVTIMEO allows for its first part.
    pub fn recv_multipart(&mut self) -> Result<Multipart> {
        let mut out = Multipart::new();
        let first = self.recv_msg(false)?;
        let mut more = first.more();
        out.push(first);
        while more {
            // The rest of a message is published with its first part.
            let m = self.recv_msg(false)?;
            more = m.more();
            out.push(m);
        }
        Ok(out)
    }
}

fn bind_error(e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => Error::AddrInUse,
        std::io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable,
        _ => Error::Io(e),
    }
}

impl Drop for Socket {
    /// Closing returns at once (L-07): the socket's pipes start terminating with linger, and
    /// if any remain the socket's actor is handed to an I/O thread that finishes the
    /// handshakes.
    fn drop(&mut self) {
        let _ = self.process_commands();
        self.core().close();
        self.flush_commands();
        // Unbind names and listeners so nothing new attaches; let every connect side go.
        for (_, a) in std::mem::take(&mut self.endpoints) {
            match a {
                Attached::Listener { io, id } => self.ctx.io[io].send(IoCmd::CloseListener(id)),
                Attached::Dialer { io, pipe } => self.ctx.io[io].send(IoCmd::Undial(pipe)),
                Attached::InprocBind(name) => self.ctx.inproc.unbind(&name, Some(self.id)),
                Attached::InprocConnect(_) => {}
            }
        }
        let _ = self.process_commands();
        // After the Unlisten commands, so the monitor sees the listeners' Closed first.
        self.ctx.io[0].send(IoCmd::StopMonitor(self.monitor.clone()));
        let Some(actor) = self.actor.take() else { return };
        if actor.is_closed() {
            self.ctx.unregister(self.id, false);
            return;
        }
        self.ctx.unregister(self.id, true);
        let io = 0;
        self.waker.retarget(WakeTarget::Reaper { io: self.ctx.io[io].clone(), socket: self.id });
        let (mailbox, _) =
            Mailbox::new(SharedWaker(SocketWaker::new(Arc::new(Signal::default()), None)));
        let mailbox = std::mem::replace(&mut self.mailbox, mailbox);
        self.ctx.io[io].send(IoCmd::Reap(Box::new(Reaped { id: self.id, actor, mailbox })));
    }
}

/// `Socket` must not be `Sync`: one thread at a time.
///
/// ```compile_fail
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ferromq::Socket>();
/// ```
const _SOCKET_IS_NOT_SYNC: () = ();
