//! One ZMTP connection as a sans-IO state machine: greeting → handshake → traffic.

mod timer;

use super::command::Command;
use super::frame::{Encoder, Frame, FrameDecoder};
use super::greeting::{GREETING_LEN, Greeting};
use super::mechanism::{Mechanism, Security, Step};
use super::metadata::{self, Metadata};
use super::{CloseReason, ProtocolError};
use crate::{Msg, SocketType};
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::fmt;
use std::io::IoSlice;
use std::time::{Duration, Instant};
use timer::{Timer, TimerTable};

/// libzmq's default HANDSHAKE_IVL.
pub const DEFAULT_HANDSHAKE_IVL: Duration = Duration::from_secs(30);

/// The ERROR reason we send when the peer's socket type may not talk to ours (W-19).
pub const INVALID_SOCKET_TYPE: &str = "Invalid socket type";

/// The largest handshake command accepted: until the handshake succeeds the peer is a
/// stranger, so its commands are bounded whatever MAXMSGSIZE says.
pub const MAX_HANDSHAKE_COMMAND: u64 = 64 * 1024;

/// How far ahead of a large frame's arrival the input buffer is grown in one step.
const MAX_RESERVE: usize = 4 << 20;

/// What an [`Engine`] needs to know about its socket.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Our socket type, announced in READY and checked against the peer's.
    pub socket_type: SocketType,
    /// Our ROUTING_ID, announced as `Identity` by REQ, DEALER and ROUTER.
    pub routing_id: Bytes,
    /// The security mechanism.
    pub security: Security,
    /// MAXMSGSIZE: a larger inbound message closes the connection (`None`: no limit).
    pub max_msg_size: Option<u64>,
    /// HANDSHAKE_IVL: greeting and handshake must finish within it (`None`: no limit).
    pub handshake_ivl: Option<Duration>,
    /// HEARTBEAT_IVL: send a PING this often once the handshake is done (`None`: never).
    pub heartbeat_ivl: Option<Duration>,
    /// HEARTBEAT_TIMEOUT: close if nothing arrives this long after a PING (`None`: the
    /// heartbeat interval).
    pub heartbeat_timeout: Option<Duration>,
    /// HEARTBEAT_TTL: asks the peer to close if it hears nothing from us for this long. Sent
    /// in deciseconds, so it is rounded down to 100 ms (and capped at 6553.5 s).
    pub heartbeat_ttl: Option<Duration>,
    /// Extra properties announced in READY (e.g. `X-` application metadata).
    pub properties: Metadata,
}

impl EngineConfig {
    /// libzmq's defaults for a socket of type `socket_type`.
    pub fn new(socket_type: SocketType) -> Self {
        EngineConfig {
            socket_type,
            routing_id: Bytes::new(),
            security: Security::Null,
            max_msg_size: None,
            handshake_ivl: Some(DEFAULT_HANDSHAKE_IVL),
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            properties: Metadata::default(),
        }
    }

    /// From a socket's options: what a connection of a socket of type `socket_type` needs.
    pub fn from_options(socket_type: SocketType, o: &crate::SocketOptions) -> Self {
        EngineConfig {
            routing_id: o.routing_id.clone(),
            max_msg_size: o.max_msg_size,
            handshake_ivl: o.handshake_ivl,
            heartbeat_ivl: o.heartbeat_ivl,
            heartbeat_timeout: o.heartbeat_timeout,
            heartbeat_ttl: o.heartbeat_ttl,
            ..EngineConfig::new(socket_type)
        }
    }

    fn ttl_deciseconds(&self) -> u16 {
        self.heartbeat_ttl.map_or(0, |t| (t.as_millis() / 100).min(u16::MAX as u128) as u16)
    }
}

/// What we learnt about the peer in the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The (major, minor) ZMTP version it announced.
    pub version: (u8, u8),
    /// Its socket type.
    pub socket_type: SocketType,
    /// Its `Identity` property (empty when it sent none).
    pub identity: Bytes,
    /// Every property of its READY, `X-` application properties included (W-20).
    pub metadata: Metadata,
}

/// Something that happened on the connection, polled with [`Engine::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The handshake succeeded; messages may now be sent.
    Ready(Box<PeerInfo>),
    /// A message frame. Frames of one multipart message come one after the other, MORE set
    /// on all but the last; if the connection closes mid-message, the owner must discard the
    /// frames it has of that message (W-11).
    Message(Msg),
    /// The peer sent a SUBSCRIBE command (3.1 peers; 3.0 peers send `01` messages instead).
    Subscribe(Bytes),
    /// The peer sent a CANCEL command.
    Cancel(Bytes),
    /// The connection is over. Reported once; then no more events. Any bytes still pending
    /// (an ERROR for the peer) may be written before the stream is dropped.
    Closed(CloseReason),
}

/// Why [`Engine::send`] refused a message; the message is handed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotSent {
    /// The message that was not queued.
    pub msg: Msg,
    /// True when the engine is closed; false while the handshake is still running.
    pub closed: bool,
}

impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.closed {
            f.write_str("the connection is closed")
        } else {
            f.write_str("the handshake has not completed")
        }
    }
}

impl std::error::Error for NotSent {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Greeting,
    Handshake,
    Active,
    Closed,
}

/// One ZMTP 3.1 connection over a reliable byte stream, with no I/O of its own.
///
/// The owner (an I/O thread, the simulator, or a test) moves bytes and time in and out:
///
/// * **inputs** — [`handle_input`](Self::handle_input) with bytes read from the stream,
///   [`handle_eof`](Self::handle_eof) when the peer closed it,
///   [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)'s
///   instant has passed, [`send`](Self::send) with messages to write;
/// * **outputs** — [`poll_event`](Self::poll_event) until `None` after every input, then the
///   bytes to write ([`transmit_chunks`](Self::transmit_chunks) +
///   [`advance_transmit`](Self::advance_transmit) for a vectored write, or
///   [`poll_transmit`](Self::poll_transmit)), then [`poll_timeout`](Self::poll_timeout) to
///   know when to call back.
///
/// Time only comes in as arguments, so the same engine runs under the real runtime and under
/// the simulator. The greeting is queued for transmission as soon as the engine exists (W-01).
///
/// ```
/// use ferromq::proto::{Engine, EngineConfig, Event};
/// use ferromq::{Msg, SocketType};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut push = Engine::new(EngineConfig::new(SocketType::Push), now);
/// let mut pull = Engine::new(EngineConfig::new(SocketType::Pull), now);
/// let mut wire = Vec::new();
/// // Shuttle bytes both ways until both handshakes are done.
/// for _ in 0..2 {
///     wire.clear();
///     push.poll_transmit(&mut wire, usize::MAX);
///     pull.handle_input(now, &wire);
///     wire.clear();
///     pull.poll_transmit(&mut wire, usize::MAX);
///     push.handle_input(now, &wire);
/// }
/// assert!(matches!(push.poll_event(), Some(Event::Ready(_))));
/// assert!(matches!(pull.poll_event(), Some(Event::Ready(_))));
/// push.send(Msg::from("hello")).unwrap();
/// wire.clear();
/// push.poll_transmit(&mut wire, usize::MAX);
/// pull.handle_input(now, &wire);
/// assert_eq!(pull.poll_event(), Some(Event::Message(Msg::from("hello"))));
/// ```
pub struct Engine {
    cfg: EngineConfig,
    ours: Metadata,
    state: State,
    mechanism: Mechanism,
    input: BytesMut,
    decoder: FrameDecoder,
    out: Encoder,
    timers: TimerTable,
    events: VecDeque<Event>,
    peer_version: Option<(u8, u8)>,
    /// The peer closed its side; decode what is buffered, then report `Closed`.
    eof: bool,
    /// The length of the last frame of half a read chunk or more, until a read brings in a
    /// smaller one: the room [`Engine::read_input`] gives the buffer at the next boundary.
    last_large: usize,
    /// Time of the latest input, used for timers armed while decoding.
    now: Instant,
    scratch: Vec<Command>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("socket_type", &self.cfg.socket_type)
            .field("state", &self.state)
            .field("buffered_input", &self.input.len())
            .field("pending_output", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A new connection at `now`. Our greeting is queued at once.
    pub fn new(cfg: EngineConfig, now: Instant) -> Engine {
        let mechanism = Mechanism::new(&cfg.security);
        let mut ours = Metadata::for_socket(cfg.socket_type, &cfg.routing_id);
        for (n, v) in cfg.properties.iter() {
            ours.insert(n, v);
        }
        let mut out = Encoder::new();
        out.push_raw(&Greeting::encode(mechanism.name(), mechanism.as_server()));
        let mut timers = TimerTable::default();
        if let Some(ivl) = cfg.handshake_ivl.filter(|d| !d.is_zero()) {
            timers.set(Timer::Handshake, now + ivl);
        }
        let mut decoder = FrameDecoder::new(cfg.max_msg_size);
        decoder.set_max_command_size(Some(
            cfg.max_msg_size.map_or(MAX_HANDSHAKE_COMMAND, |m| m.min(MAX_HANDSHAKE_COMMAND)),
        ));
        Engine {
            decoder,
            cfg,
            ours,
            state: State::Greeting,
            mechanism,
            input: BytesMut::new(),
            out,
            timers,
            events: VecDeque::new(),
            peer_version: None,
            eof: false,
            last_large: 0,
            now,
            scratch: Vec::new(),
        }
    }

    /// True once the handshake succeeded and until the connection closes.
    pub fn is_ready(&self) -> bool {
        self.state == State::Active
    }

    /// True once the connection is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Bytes received and not yet decoded. Bounded by one frame plus one read when the owner
    /// reads only while [`wants_input`](Self::wants_input) says so.
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// The version the peer announced, once its greeting arrived.
    pub fn peer_version(&self) -> Option<(u8, u8)> {
        self.peer_version
    }

    /// True when the owner should read more from the stream: the engine is open and has no
    /// complete frame waiting to be decoded. Reading only then bounds the buffered input to
    /// one frame (itself bounded by MAXMSGSIZE) plus one read.
    pub fn wants_input(&self) -> bool {
        match self.state {
            State::Closed => false,
            _ if self.eof => false,
            State::Active => !matches!(
                self.decoder.next_frame_len(&self.input),
                Ok(Some(n)) if n <= self.input.len()
            ),
            State::Greeting | State::Handshake => true,
        }
    }

    /// Feeds bytes read from the stream. Any bytes count as a sign of life for heartbeats
    /// (W-27). The greeting and handshake advance at once; traffic is decoded lazily by
    /// [`poll_event`](Self::poll_event), so a full application queue slows reading down
    /// instead of growing memory.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        if self.state == State::Closed || self.eof || data.is_empty() {
            return;
        }
        self.input.extend_from_slice(data);
        let _ = self.input_arrived();
    }

    /// Reads from the stream straight into the input buffer, one copy fewer than
    /// [`handle_input`](Self::handle_input): `read` appends at most `room` (its second
    /// argument) bytes to the buffer and returns how many it appended; then the same happens
    /// as for `handle_input` with them. `None` when input is no longer taken: read into a
    /// buffer of your own then, and pass it to `handle_input`, which discards it.
    ///
    /// The buffer is given room for `chunk` bytes whenever a sixteenth of that or less is left,
    /// so it is not reallocated while bodies decoded from it are still held. Frames of half a
    /// chunk or more are treated apart: once such a frame's header is in, the read stops at the
    /// frame's end, and at the boundary after it the empty buffer gets room for another frame
    /// of its size (until a read brings in a smaller frame). The body then owns its buffer
    /// alone and the next frame starts a fresh one; read past, the next frame's first bytes
    /// would share the body's buffer, and the reserve that makes room for the rest of that
    /// frame would copy them out (up to a whole frame of them, into pages not yet faulted in).
    pub fn read_input<E>(
        &mut self,
        now: Instant,
        chunk: usize,
        read: impl FnOnce(&mut BytesMut, usize) -> Result<usize, E>,
    ) -> Option<Result<usize, E>> {
        self.now = now;
        if self.state == State::Closed || self.eof {
            return None;
        }
        let large = chunk / 2;
        let spare = self.input.capacity() - self.input.len();
        // At a boundary the buffer is empty, so the reserve copies nothing.
        let boundary = self.input.is_empty() && spare < self.last_large;
        if spare <= chunk / 16 || boundary {
            self.input.reserve(chunk.max(self.last_large));
        }
        let mut room = self.input.capacity() - self.input.len();
        if self.state == State::Active {
            if let Ok(Some(n)) = self.decoder.next_frame_len(&self.input) {
                if n >= large && n > self.input.len() {
                    self.last_large = n.min(MAX_RESERVE);
                    room = room.min(n - self.input.len());
                }
            }
        }
        let before = self.input.len();
        let got = read(&mut self.input, room);
        // A smaller frame after a large one: the next boundary needs no special room.
        if self.input.len() > before && self.input_arrived().is_some_and(|n| n < large) {
            self.last_large = 0;
        }
        Some(got)
    }

    /// Input was appended: the peer is alive, the handshake or the decoder moves on.
    /// Returns the length of the frame at the front of the input, once its header is in.
    fn input_arrived(&mut self) -> Option<usize> {
        self.peer_alive();
        self.advance_handshake();
        if self.state != State::Active {
            return None;
        }
        // Refuse a bad or oversize header now, before buffering its body (W-10).
        match self.decoder.next_frame_len(&self.input) {
            Err(e) => {
                self.fail(e.into());
                None
            }
            Ok(Some(n)) => {
                if n > self.input.len() {
                    self.input.reserve((n - self.input.len()).min(MAX_RESERVE));
                }
                Some(n)
            }
            Ok(None) => None,
        }
    }

    /// Something came from the peer: it is alive (W-27). Frames decoded from input read a
    /// while ago count too, as in libzmq: while a slow application holds the input back, the
    /// PONG sits unread behind the data, and the peer must not be taken for dead.
    #[inline]
    fn peer_alive(&mut self) {
        self.timers.stop(Timer::HeartbeatTimeout);
        self.timers.stop(Timer::PeerTtl);
    }

    /// The peer closed the stream. Complete frames already received are still delivered;
    /// then [`Event::Closed`] reports [`CloseReason::PeerClosed`].
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        if self.state == State::Closed {
            return;
        }
        self.eof = true;
        if self.state != State::Active {
            self.fail(CloseReason::PeerClosed);
        }
    }

    /// Runs the timers due at `now`. Harmless when called early or twice.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        while let Some(t) = self.timers.take_expired(now) {
            if self.state == State::Closed {
                return;
            }
            match t {
                Timer::Handshake => self.fail(CloseReason::HandshakeTimeout),
                Timer::HeartbeatTimeout => self.fail(CloseReason::HeartbeatTimeout),
                Timer::PeerTtl => self.fail(CloseReason::TtlExpired),
                Timer::Heartbeat => {
                    let ttl_ds = self.cfg.ttl_deciseconds();
                    self.out.push_command(&Command::Ping { ttl_ds, context: Bytes::new() });
                    if let Some(ivl) = self.cfg.heartbeat_ivl {
                        self.timers.set(Timer::Heartbeat, now + ivl);
                        if !self.timers.is_set(Timer::HeartbeatTimeout) {
                            let timeout = self.cfg.heartbeat_timeout.unwrap_or(ivl);
                            self.timers.set(Timer::HeartbeatTimeout, now + timeout);
                        }
                    }
                }
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called. Poll again after
    /// every input.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed { None } else { self.timers.next() }
    }

    /// The next event. Poll until `None` after every input; this is also where received
    /// traffic is decoded and PINGs are answered.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.state != State::Active {
                return None;
            }
            match self.decoder.decode(&mut self.input) {
                Ok(Some(Frame::Message(m))) => {
                    if !mutant!(SlowReaderTimesOut) {
                        self.peer_alive();
                    }
                    return Some(Event::Message(m));
                }
                Ok(Some(Frame::Command(body))) => {
                    if !mutant!(SlowReaderTimesOut) {
                        self.peer_alive();
                    }
                    match Command::parse(body) {
                        Ok(cmd) => self.on_command(cmd),
                        Err(e) => self.fail(e.into()),
                    }
                }
                Ok(None) if self.eof => self.fail(CloseReason::PeerClosed),
                Ok(None) => return None,
                Err(e) => self.fail(e.into()),
            }
        }
    }

    /// Queues one message frame. Only legal once [`Event::Ready`] was reported (W-15).
    pub fn send(&mut self, msg: Msg) -> Result<(), NotSent> {
        self.send_returning(msg).map(drop)
    }

    /// Like [`Engine::send`], but hands the message back if its heap body was copied into the
    /// output, so that the caller can free it where it was allocated
    /// ([`return_spent`](crate::pipe::return_spent)); `None` for an inline body, or one the
    /// output shares (large bodies go out from where they are).
    pub fn send_returning(&mut self, msg: Msg) -> Result<Option<Msg>, NotSent> {
        match self.state {
            State::Active => {
                let copied = self.out.push_message(&msg);
                Ok((copied && !msg.is_inline()).then_some(msg))
            }
            State::Closed => Err(NotSent { msg, closed: true }),
            State::Greeting | State::Handshake => Err(NotSent { msg, closed: false }),
        }
    }

    /// Queues a subscription in the form the peer understands: a SUBSCRIBE command for ZMTP
    /// 3.1, a `01`+topic message for 3.0 peers (W-30, SUB-03).
    pub fn send_subscribe(&mut self, topic: &[u8]) -> Result<(), NotSent> {
        self.send_subscription(true, topic)
    }

    /// Queues a cancellation: CANCEL for 3.1 peers, `00`+topic for 3.0 peers.
    pub fn send_cancel(&mut self, topic: &[u8]) -> Result<(), NotSent> {
        self.send_subscription(false, topic)
    }

    fn send_subscription(&mut self, subscribe: bool, topic: &[u8]) -> Result<(), NotSent> {
        if self.peer_version.is_some_and(|(major, minor)| major == 3 && minor == 0) {
            let mut body = Vec::with_capacity(1 + topic.len());
            body.push(subscribe as u8);
            body.extend_from_slice(topic);
            return self.send(Msg::from(body));
        }
        if self.state != State::Active {
            let msg = Msg::from(topic);
            return Err(NotSent { msg, closed: self.state == State::Closed });
        }
        let topic = Bytes::copy_from_slice(topic);
        let cmd = if subscribe { Command::Subscribe(topic) } else { Command::Cancel(topic) };
        self.out.push_command(&cmd);
        Ok(())
    }

    /// Closes the connection from our side. Bytes already queued stay available to write, so
    /// an owner that lingers can still flush them; no more events follow except `Closed`.
    pub fn close(&mut self) {
        self.end(CloseReason::Local, true);
    }

    /// Bytes waiting to be written.
    pub fn pending_transmit(&self) -> usize {
        self.out.len()
    }

    /// The part of [`pending_transmit`](Self::pending_transmit) copied into the engine's
    /// buffer, large bodies queued by reference left out.
    pub fn pending_copied(&self) -> usize {
        self.out.copied_len()
    }

    /// Fills `dst` with slices of the bytes to write, for a vectored write; returns how many
    /// it filled. Large message bodies are their own slices and are never copied.
    pub fn transmit_chunks<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.out.chunks_vectored(dst)
    }

    /// Marks `n` bytes (from [`transmit_chunks`](Self::transmit_chunks)) as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.out.advance(n);
    }

    /// Copies up to `max` bytes to write onto the end of `buf` and marks them written;
    /// returns how many. Simpler than the vectored path, at the cost of a copy.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>, max: usize) -> usize {
        self.out.copy_to(buf, max)
    }

    fn advance_handshake(&mut self) {
        loop {
            match self.state {
                State::Greeting => {
                    let have = self.input.len().min(GREETING_LEN);
                    if let Err(e) = Greeting::check_prefix(&self.input[..have]) {
                        return self.fail(e.into());
                    }
                    if have < GREETING_LEN {
                        return;
                    }
                    let raw: [u8; GREETING_LEN] =
                        self.input[..GREETING_LEN].try_into().expect("64 octets");
                    let greeting = match Greeting::decode(&raw, self.mechanism.name()) {
                        Ok(g) => g,
                        Err(e) => return self.fail(e.into()),
                    };
                    self.input.advance(GREETING_LEN);
                    self.peer_version = Some(greeting.version);
                    self.mechanism.start(&self.ours, &mut self.scratch);
                    self.flush_scratch();
                    self.state = State::Handshake;
                }
                State::Handshake => {
                    let body = match self.decoder.decode(&mut self.input) {
                        Ok(None) => return,
                        Ok(Some(Frame::Command(body))) => body,
                        Ok(Some(Frame::Message(_))) => {
                            return self.fail(ProtocolError::MessageBeforeReady.into());
                        }
                        Err(e) => return self.fail(e.into()),
                    };
                    let cmd = match Command::parse(body) {
                        Ok(c) => c,
                        Err(e) => return self.fail(e.into()),
                    };
                    let step = self.mechanism.handle(cmd, &mut self.scratch);
                    self.flush_scratch();
                    match step {
                        Ok(Step::Done(peer)) => self.complete_handshake(peer),
                        Err(reason) => return self.fail(reason),
                    }
                }
                State::Active | State::Closed => return,
            }
        }
    }

    fn flush_scratch(&mut self) {
        for cmd in self.scratch.drain(..) {
            self.out.push_command(&cmd);
        }
    }

    fn complete_handshake(&mut self, peer: Metadata) {
        let info = match self.check_peer(peer) {
            Ok(info) => info,
            Err(e @ ProtocolError::IncompatibleSocketType { .. }) => {
                // Unlike libzmq we tell the peer why (W-19): our READY and this ERROR stay
                // queued for the owner to write before it drops the stream.
                let reason = Bytes::from_static(INVALID_SOCKET_TYPE.as_bytes());
                self.out.push_command(&Command::Error(reason));
                return self.end(e.into(), true);
            }
            Err(e) => return self.fail(e.into()),
        };
        self.state = State::Active;
        self.decoder.set_max_command_size(self.cfg.max_msg_size);
        self.timers.stop(Timer::Handshake);
        if let Some(ivl) = self.cfg.heartbeat_ivl.filter(|d| !d.is_zero()) {
            self.timers.set(Timer::Heartbeat, self.now + ivl);
        }
        self.events.push_back(Event::Ready(Box::new(info)));
    }

    fn check_peer(&self, metadata: Metadata) -> Result<PeerInfo, ProtocolError> {
        let raw = metadata.get(metadata::SOCKET_TYPE).ok_or(ProtocolError::MissingSocketType)?;
        let socket_type = SocketType::from_wire_name(raw)
            .ok_or_else(|| ProtocolError::UnknownSocketType(raw.to_vec()))?;
        let ours = self.cfg.socket_type;
        if !ours.is_compatible_with(socket_type) {
            return Err(ProtocolError::IncompatibleSocketType { ours, theirs: socket_type });
        }
        let identity = metadata.get(metadata::IDENTITY).unwrap_or_default();
        if identity.len() > 255 {
            return Err(ProtocolError::BadIdentity);
        }
        Ok(PeerInfo {
            version: self.peer_version.unwrap_or((3, 1)),
            socket_type,
            identity: Bytes::copy_from_slice(identity),
            metadata,
        })
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Ping { ttl_ds, context } => {
                // Answered whatever minor version the peer announced (W-23, W-24).
                self.out.push_command(&Command::Pong { context });
                if ttl_ds > 0 && !self.timers.is_set(Timer::PeerTtl) {
                    let ttl = Duration::from_millis(u64::from(ttl_ds) * 100);
                    self.timers.set(Timer::PeerTtl, self.now + ttl);
                }
            }
            Command::Pong { .. } => {}
            Command::Subscribe(t) => self.events.push_back(Event::Subscribe(t)),
            Command::Cancel(t) => self.events.push_back(Event::Cancel(t)),
            Command::Ready(_) => self.fail(ProtocolError::DuplicateReady.into()),
            Command::Error(reason) => {
                self.fail(CloseReason::PeerError(String::from_utf8_lossy(&reason).into_owned()))
            }
            // W-14: unknown commands after the handshake are skipped.
            Command::Unknown { .. } => {}
        }
    }

    /// Ends the connection: drops buffered input and unsent output (the peer broke the
    /// connection or went silent, so nothing more is owed to it) and reports the reason once.
    fn fail(&mut self, reason: CloseReason) {
        self.end(reason, false);
    }

    fn end(&mut self, reason: CloseReason, keep_output: bool) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.timers.clear();
        self.input = BytesMut::new();
        if !keep_output {
            self.out = Encoder::new();
        }
        self.events.push_back(Event::Closed(reason));
    }
}
