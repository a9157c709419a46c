//! The lifecycle of one peer of a socket, sans-IO: dialing and reconnecting (connect side), the
//! accepted stream (accept side), and closing: the flush of what is still owed within linger,
//! then the graceful close (FIN, drain, drop). Each step says which monitor event it is.
//!
//! A [`Connection`] owns the peer's [`Session`] (engine ↔ pipe) and decides everything about
//! the byte stream under it; a driver only carries out its [`Action`]s and reports what the
//! operating system said. That is what lets the mio runtime and the simulator run *the same*
//! rules: neither computes a backoff, a linger deadline or a drain window of its own.
//!
//! The rules, from libzmq (`session_base.cpp`, `stream_connecter_base.cpp`):
//!
//! * **connect side**: dial at once (L-01); a dial not done within CONNECT_TIMEOUT is
//!   abandoned (O-09); after a failed dial or a lost connection wait per [`Backoff`] (L-03)
//!   and dial again, unless RECONNECT_IVL is off or the session gave up (L-06);
//! * **accept side**: the stream comes with the connection; when it ends, so does the peer;
//! * **closing**: when the session lets the stream go, what its engine still owes is written
//!   within linger (a close) or briefly (an error: an ERROR command); after a close, FIN is
//!   sent and the stream is read (and the bytes dropped) until the peer closes too, at most
//!   [`DRAIN_MAX`], so that the peer reads everything before it sees the end — dropping a
//!   socket with unread input sends an RST, which can make the peer discard what it had not
//!   read yet;
//! * a connection is [finished](Connection::is_finished) only after all that: a driver that
//!   stops while a connection is still closing loses the tail the user was promised (libzmq's
//!   bug #4660).
//!
//! ```
//! use ferromq::core::{Action, Connection, PeerConfig, PipeId};
//! use ferromq::{SocketOptions, SocketType};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let cfg = PeerConfig::from_options(SocketType::Push, &SocketOptions::default(), true, "tcp://a:1");
//! let mut c = Connection::connect(now, cfg, PipeId(1), 42);
//! // The socket gets its pipe at once; the driver is asked to dial.
//! assert!(matches!(c.poll_action(), Some(Action::AttachPipe { .. })));
//! assert!(std::iter::from_fn(|| c.poll_action()).any(|a| matches!(a, Action::Dial)));
//! // The dial failed: the connection waits RECONNECT_IVL (plus jitter), then dials again.
//! c.handle_dial_failed(now);
//! let at = c.poll_timeout().unwrap();
//! c.handle_timeout(at);
//! assert!(std::iter::from_fn(|| c.poll_action()).any(|a| matches!(a, Action::Dial)));
//! ```

use super::monitor::MonitorEvent;
use super::session::{Session, SessionAction, SessionConfig};
use super::{PipeId, PipeInfo};
use crate::pipe::{PipeCommand, PipeEnd};
use crate::proto::{CloseReason, Engine, EngineConfig};
use crate::{Msg, SocketOptions, SocketType};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::{Duration, Instant};

/// After a graceful close has written everything, the longest it waits for the peer to close
/// its side (linger may cut it shorter).
pub const DRAIN_MAX: Duration = Duration::from_secs(5);

/// How long a stream that ended with an error may still take to write what its engine owes
/// (an ERROR for the peer) before it is dropped.
pub const ERROR_FLUSH: Duration = Duration::from_millis(100);

/// The `chunk` both drivers give [`Connection::read_input`]: how much the runtime reads per
/// call, and what the simulator feeds, so that the engine sizes its buffer and splits the
/// reads of large frames the same way under both.
pub const READ_CHUNK: usize = 64 * 1024;

/// How a connection behaves, from the socket's options (fixed at bind/connect time; LINGER
/// comes live with the socket's `Term`, see [`Connection::handle_pipe_command`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// The endpoint named in monitor events: as connected, or the listener's as bound.
    pub endpoint: String,
    /// RECONNECT_IVL (`None`: never reconnect).
    pub reconnect_ivl: Option<Duration>,
    /// RECONNECT_IVL_MAX (`None`: no backoff, jitter instead; see [`Backoff`]).
    pub reconnect_ivl_max: Option<Duration>,
    /// CONNECT_TIMEOUT: a dial still in progress after this is abandoned (`None`: the OS's).
    pub connect_timeout: Option<Duration>,
}

impl ConnectionConfig {
    /// From a socket's options; `endpoint` names the connection in monitor events.
    pub fn from_options(o: &SocketOptions, endpoint: impl Into<String>) -> ConnectionConfig {
        ConnectionConfig {
            endpoint: endpoint.into(),
            reconnect_ivl: o.reconnect_ivl.filter(|d| !d.is_zero()),
            reconnect_ivl_max: o.reconnect_ivl_max.filter(|d| !d.is_zero()),
            connect_timeout: o.connect_timeout.filter(|d| !d.is_zero()),
        }
    }
}

/// Everything one peer needs from its socket's options: the engine's, the session's and the
/// connection's settings, made from [`SocketOptions`] in one place for both drivers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PeerConfig {
    /// The engine (one per stream).
    pub engine: EngineConfig,
    /// The session.
    pub session: SessionConfig,
    /// The lifecycle.
    pub connection: ConnectionConfig,
}

impl PeerConfig {
    /// The settings for a peer of a socket of type `ty` with options `o`, made by `connect`
    /// (or accepted), named `endpoint` in monitor events.
    pub fn from_options(
        ty: SocketType,
        o: &SocketOptions,
        connect: bool,
        endpoint: impl Into<String>,
    ) -> PeerConfig {
        let mut session = SessionConfig::from_options(o, connect);
        session.recv_routing_id = matches!(ty, SocketType::Router | SocketType::Rep);
        session.peer_state = matches!(ty, SocketType::Pub | SocketType::Xpub);
        session.flows = o.flows(ty);
        PeerConfig {
            engine: EngineConfig::from_options(ty, o),
            session,
            connection: ConnectionConfig::from_options(o, endpoint),
        }
    }
}

/// The wait before a reconnect (L-03), as libzmq's `get_new_reconnect_ivl` computes it: with
/// RECONNECT_IVL_MAX set, RECONNECT_IVL doubling per failed attempt up to the maximum, no
/// jitter; without, RECONNECT_IVL plus a random jitter in `[0, RECONNECT_IVL)`. The doubling
/// restarts after a successful connect. The randomness is a seeded generator, so that a run
/// replays; the driver picks the seed.
#[derive(Clone, Debug)]
pub struct Backoff {
    ivl: Duration,
    max: Option<Duration>,
    current: Option<Duration>,
    rng: u64,
}

impl Backoff {
    /// A backoff for RECONNECT_IVL `ivl` and RECONNECT_IVL_MAX `max`, jitter drawn from `seed`.
    pub fn new(ivl: Duration, max: Option<Duration>, seed: u64) -> Backoff {
        // SplitMix64 of the seed: xorshift must not start from zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Backoff { ivl, max: max.filter(|m| !m.is_zero()), current: None, rng: (z ^ (z >> 31)) | 1 }
    }

    /// The next wait.
    pub fn next_wait(&mut self) -> Duration {
        match self.max {
            Some(max) => {
                let next = match self.current {
                    Some(c) if !mutant!(BackoffNeverGrows) => c.saturating_mul(2),
                    _ => self.ivl,
                };
                let next = next.min(max);
                self.current = Some(next);
                next
            }
            None => {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                let ms = u64::try_from(self.ivl.as_millis()).unwrap_or(u64::MAX).max(1);
                self.ivl + Duration::from_millis(self.rng % ms)
            }
        }
    }

    /// The longest wait this backoff can give: RECONNECT_IVL_MAX when set, otherwise just
    /// under twice RECONNECT_IVL (the interval plus its jitter).
    pub fn longest_wait(&self) -> Duration {
        self.max.unwrap_or(self.ivl * 2)
    }

    /// A connect succeeded: the next failure starts from RECONNECT_IVL again.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

/// What a [`Connection`] asks of its driver and, through it, of its socket.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// For the socket: attach this pipe end.
    AttachPipe {
        /// The pipe.
        id: PipeId,
        /// The socket's end.
        end: Box<PipeEnd<Msg>>,
        /// What the socket type is told about it.
        info: PipeInfo,
    },
    /// For the socket's end of the pipe.
    PipeCommand(PipeId, PipeCommand),
    /// Start a non-blocking dial to the endpoint; report [`Connection::handle_connected`] or
    /// [`Connection::handle_dial_failed`].
    Dial,
    /// Give up the dial in progress (CONNECT_TIMEOUT, or the socket let the peer go).
    AbortDial,
    /// Everything owed is written: shut the stream's write side (FIN) and keep reading.
    ShutdownWrite,
    /// Close the stream and forget it. `unflushed` bytes could not be written in time (linger
    /// ran out, or the stream failed while they were flushed).
    DropStream {
        /// Bytes the peer was owed and will not get.
        unflushed: usize,
    },
    /// For the socket's monitor.
    Monitor(MonitorEvent),
    /// Nothing is left: forget this connection.
    Finished,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Connect side, no stream: dial at `at`.
    WaitingToDial { at: Instant },
    /// Connect side: a dial is in progress, abandoned at `deadline`.
    Dialing { deadline: Option<Instant> },
    /// A stream with an engine on it (handshake or traffic).
    Open,
    /// The session let the stream go: write what is owed until `until`; then, `graceful`, FIN
    /// and drain, else drop.
    Flushing { until: Option<Instant>, graceful: bool },
    /// FIN sent: read and drop until the peer closes too, or `until`.
    Draining { until: Instant },
    /// No stream and none coming: waiting for the session to finish.
    Idle,
    /// Nothing left.
    Finished,
}

/// One peer of a socket: its session and the lifecycle of the stream under it. See the module
/// docs for the rules.
///
/// Inputs are the `handle_*` methods (time first); after each, poll [`poll_action`] until
/// `None` and carry the actions out, read while [`wants_input`], write while
/// [`pending_transmit`] says so, and call [`handle_timeout`] at [`poll_timeout`].
///
/// [`poll_action`]: Connection::poll_action
/// [`wants_input`]: Connection::wants_input
/// [`pending_transmit`]: Connection::pending_transmit
/// [`handle_timeout`]: Connection::handle_timeout
/// [`poll_timeout`]: Connection::poll_timeout
pub struct Connection {
    cfg: ConnectionConfig,
    engine_cfg: EngineConfig,
    session: Session,
    connect: bool,
    state: State,
    backoff: Option<Backoff>,
    /// The engine of a stream the session let go, while its last bytes are flushed.
    flushing: Option<Engine>,
    /// The handshake of the current stream succeeded (for the monitor's classification).
    handshaken: bool,
    /// The session wants another connection once this stream is gone.
    reconnect: bool,
    /// The socket let the peer go with `force` (unbind): drop the stream without flushing.
    forced: bool,
    session_done: bool,
    actions: VecDeque<Action>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.cfg.endpoint)
            .field("state", &self.state)
            .field("pipe", &self.session.pipe_id())
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn new(cfg: PeerConfig, pipe: PipeId, connect: bool, seed: u64) -> Connection {
        let PeerConfig { engine, mut session, connection } = cfg;
        session.connect = connect;
        let backoff = connection
            .reconnect_ivl
            .map(|ivl| Backoff::new(ivl, connection.reconnect_ivl_max, seed));
        Connection {
            cfg: connection,
            engine_cfg: engine,
            session: Session::new(session, pipe),
            connect,
            state: State::Idle,
            backoff,
            flushing: None,
            handshaken: false,
            reconnect: false,
            forced: false,
            session_done: false,
            actions: VecDeque::new(),
        }
    }

    /// A connect side: its pipe is made at once (unless IMMEDIATE) and it asks to dial at once
    /// (L-01). `seed` feeds the reconnect jitter.
    pub fn connect(now: Instant, cfg: PeerConfig, pipe: PipeId, seed: u64) -> Connection {
        let mut c = Connection::new(cfg, pipe, true, seed);
        c.process(now);
        c.dial(now);
        c
    }

    /// An accepted stream, already connected.
    pub fn accept(now: Instant, cfg: PeerConfig, pipe: PipeId) -> Connection {
        let mut c = Connection::new(cfg, pipe, false, 0);
        c.monitor(|endpoint| MonitorEvent::Accepted { endpoint });
        c.open(now);
        c
    }

    /// The id of the peer's pipe.
    pub fn pipe_id(&self) -> PipeId {
        self.session.pipe_id()
    }

    /// True for a connect side.
    pub fn is_connect(&self) -> bool {
        self.connect
    }

    /// The endpoint this connection reports in monitor events.
    pub fn endpoint(&self) -> &str {
        &self.cfg.endpoint
    }

    /// True once nothing is left (after [`Action::Finished`]).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// True while a handshaken stream carries traffic.
    pub fn is_up(&self) -> bool {
        self.state == State::Open && self.handshaken
    }

    /// The session, read-only (for its buffers, in the simulator's memory checks).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The dial started by [`Action::Dial`] completed.
    pub fn handle_connected(&mut self, now: Instant) {
        if !matches!(self.state, State::Dialing { .. }) {
            return;
        }
        if let Some(b) = self.backoff.as_mut() {
            b.reset();
        }
        self.monitor(|endpoint| MonitorEvent::Connected { endpoint });
        self.open(now);
    }

    /// The dial started by [`Action::Dial`] failed (refused, unreachable, ...).
    pub fn handle_dial_failed(&mut self, now: Instant) {
        if matches!(self.state, State::Dialing { .. }) {
            self.retry_or_idle(now);
        }
        self.process(now);
    }

    /// Bytes read from the stream.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        match self.state {
            State::Open => self.session.handle_input(now, data),
            // After our FIN, what the peer still sends is read only so that it closes cleanly.
            _ => return,
        }
        self.process(now);
    }

    /// Reads the stream straight into the engine's input buffer, one copy fewer than
    /// [`handle_input`](Self::handle_input): `read` appends at most its second argument's
    /// bytes to the buffer and returns how many it read (see
    /// [`Engine::read_input`](crate::proto::Engine::read_input)). `None`
    /// when what is read now would be discarded (after our FIN) or input is no longer taken:
    /// read into a buffer of your own then, and pass it to `handle_input`.
    pub fn read_input<E>(
        &mut self,
        now: Instant,
        chunk: usize,
        read: impl FnOnce(&mut BytesMut, usize) -> Result<usize, E>,
    ) -> Option<Result<usize, E>> {
        if self.state != State::Open {
            return None;
        }
        let got = self.session.read_input(now, chunk, read);
        self.process(now);
        got
    }

    /// The stream ended: the peer closed it, or reading or writing failed.
    pub fn handle_eof(&mut self, now: Instant) {
        match self.state {
            State::Open => self.session.handle_eof(now),
            State::Flushing { .. } => {
                let left = self.pending_transmit();
                self.drop_stream(now, left);
            }
            State::Draining { .. } => self.drop_stream(now, 0),
            _ => {}
        }
        self.process(now);
    }

    /// `n` bytes of [`transmit_chunks`](Self::transmit_chunks) were written.
    pub fn advance_transmit(&mut self, now: Instant, n: usize) {
        match (self.state, self.flushing.as_mut()) {
            (State::Flushing { .. }, Some(e)) => e.advance_transmit(n),
            (State::Open, _) => self.session.advance_transmit(now, n),
            _ => {}
        }
        self.process(now);
    }

    /// Timers due (harmless when called early or twice).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.process(now);
    }

    /// A command from the socket about the pipe. `linger` is read only when the command is the
    /// socket's `Term`: LINGER applies at once (O-02), so a peer lingers with the value in force
    /// when its socket lets it go.
    pub fn handle_pipe_command(
        &mut self,
        now: Instant,
        cmd: PipeCommand,
        linger: impl FnOnce() -> Option<Duration>,
    ) {
        if cmd == PipeCommand::Term && !mutant!(LingerNotReapplied) {
            self.session.set_linger(now, linger());
        }
        self.session.handle_pipe_command(now, cmd);
        self.process(now);
    }

    /// The socket lets this peer go (disconnect, close, unbind) with `linger` in force. What
    /// is queued still drains within linger (see the module docs); with `force` (unbind)
    /// everything is dropped at once.
    pub fn terminate(&mut self, now: Instant, linger: Option<Duration>, force: bool) {
        self.forced |= force;
        if !mutant!(LingerNotReapplied) {
            self.session.set_linger(now, linger);
        }
        self.session.terminate(now, force);
        self.process(now);
    }

    /// True when the driver should read from the stream now.
    pub fn wants_input(&self) -> bool {
        match self.state {
            State::Open => self.session.wants_input(),
            State::Draining { .. } => true,
            _ => false,
        }
    }

    /// Bytes to write now.
    pub fn pending_transmit(&self) -> usize {
        match (self.state, self.flushing.as_ref()) {
            (State::Flushing { .. }, Some(e)) => e.pending_transmit(),
            (State::Open, _) => self.session.pending_transmit(),
            _ => 0,
        }
    }

    /// Fills `dst` with the bytes to write, for a vectored write; returns how many slices.
    pub fn transmit_chunks<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        match (self.state, self.flushing.as_ref()) {
            (State::Flushing { .. }, Some(e)) => e.transmit_chunks(dst),
            (State::Open, _) => self.session.transmit_chunks(dst),
            _ => 0,
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let own = match self.state {
            State::WaitingToDial { at } => Some(at),
            State::Dialing { deadline } => deadline,
            State::Flushing { until, .. } => until,
            State::Draining { until } => Some(until),
            State::Open | State::Idle | State::Finished => None,
        };
        [own, self.session.poll_timeout()].into_iter().flatten().min()
    }

    /// The next action. Poll until `None` after every input.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn monitor(&mut self, event: impl FnOnce(String) -> MonitorEvent) {
        self.actions.push_back(Action::Monitor(event(self.cfg.endpoint.clone())));
    }

    fn dial(&mut self, now: Instant) {
        self.state = State::Dialing { deadline: self.cfg.connect_timeout.map(|t| now + t) };
        self.actions.push_back(Action::Dial);
        self.monitor(|endpoint| MonitorEvent::ConnectDelayed { endpoint });
    }

    fn open(&mut self, now: Instant) {
        self.state = State::Open;
        self.handshaken = false;
        self.session.attach_engine(now, Engine::new(self.engine_cfg.clone(), now));
        self.process(now);
    }

    /// No stream now: wait and dial again if the session still wants a connection, else
    /// wait for the session to finish.
    fn retry_or_idle(&mut self, now: Instant) {
        let wants = self.connect && !self.session_done;
        match self.backoff.as_mut() {
            Some(b) if wants => {
                let wait = b.next_wait();
                self.state = State::WaitingToDial { at: now + wait };
                self.monitor(|endpoint| MonitorEvent::ConnectRetried { endpoint, interval: wait });
            }
            _ => {
                self.state = State::Idle;
                if wants {
                    // RECONNECT_IVL is off: this peer will never come back.
                    self.session.abandon(now);
                }
            }
        }
    }

    fn drop_stream(&mut self, now: Instant, unflushed: usize) {
        self.flushing = None;
        self.actions.push_back(Action::DropStream { unflushed });
        if self.reconnect {
            self.retry_or_idle(now);
        } else {
            self.state = State::Idle;
        }
    }

    /// The session's engine closed: flush what it owes, then close the stream as the reason
    /// says.
    fn released(&mut self, now: Instant, reason: &CloseReason) {
        if self.state != State::Open {
            return;
        }
        self.flushing = self.session.take_closed_engine();
        let pending = self.flushing.as_ref().map_or(0, Engine::pending_transmit);
        let graceful = *reason == CloseReason::Local;
        let until = if graceful {
            // The last messages drained within linger; a peer let go before it had a pipe
            // owes only its handshake, within linger too, and at most the drain bound.
            match self.session.linger_started() {
                Some(_) => self.session.linger_end(),
                None => Some(now + self.session.linger().map_or(DRAIN_MAX, |l| l.min(DRAIN_MAX))),
            }
        } else {
            Some(now + ERROR_FLUSH)
        };
        if self.forced
            || until.is_some_and(|u| u <= now)
            || (graceful && mutant!(CloseBeforeFlush))
            || (!graceful && pending == 0)
        {
            self.drop_stream(now, pending);
        } else {
            self.state = State::Flushing { until, graceful };
        }
    }

    /// Runs the session's actions and this connection's own steps until nothing changes.
    fn process(&mut self, now: Instant) {
        loop {
            // A whole batch first: a `Terminated` right after a `Disconnected` means no
            // reconnect is wanted.
            let mut released = None;
            while let Some(a) = self.session.poll_action() {
                match a {
                    SessionAction::AttachPipe { id, end, info } => {
                        self.actions.push_back(Action::AttachPipe { id, end, info })
                    }
                    SessionAction::PipeCommand(id, c) => {
                        self.actions.push_back(Action::PipeCommand(id, c))
                    }
                    SessionAction::HandshakeSucceeded(_) => {
                        self.handshaken = true;
                        self.monitor(|endpoint| MonitorEvent::HandshakeSucceeded { endpoint });
                    }
                    SessionAction::Disconnected { reason, reconnect } => {
                        self.report_disconnect(&reason);
                        self.reconnect = reconnect;
                        released = Some(reason);
                    }
                    SessionAction::Terminated => self.session_done = true,
                }
            }
            if let Some(reason) = released {
                self.released(now, &reason);
                continue;
            }
            self.step(now);
            if !self.session.has_actions() {
                return;
            }
        }
    }

    /// Which monitor event a lost stream is: a handshake failure while the handshake had not
    /// succeeded and the peer misbehaved or was too slow, a disconnect otherwise.
    fn report_disconnect(&mut self, reason: &CloseReason) {
        let failed_handshake = !self.handshaken
            && matches!(
                reason,
                CloseReason::Protocol(_)
                    | CloseReason::PeerError(_)
                    | CloseReason::HandshakeTimeout
            );
        let reason = reason.clone();
        self.monitor(|endpoint| {
            if failed_handshake {
                MonitorEvent::HandshakeFailed { endpoint, reason }
            } else {
                MonitorEvent::Disconnected { endpoint, reason }
            }
        });
        self.handshaken = false;
    }

    /// This connection's own steps: timers, the end of a flush or a drain, and finishing.
    fn step(&mut self, now: Instant) {
        loop {
            match self.state {
                State::WaitingToDial { .. } | State::Dialing { .. } | State::Idle
                    if self.session_done =>
                {
                    if matches!(self.state, State::Dialing { .. }) {
                        self.actions.push_back(Action::AbortDial);
                    }
                    self.state = State::Finished;
                    self.actions.push_back(Action::Finished);
                }
                State::WaitingToDial { at } if at <= now => self.dial(now),
                State::Dialing { deadline: Some(d) } if d <= now => {
                    self.actions.push_back(Action::AbortDial);
                    self.retry_or_idle(now);
                }
                State::Flushing { until, graceful } => {
                    let pending = self.pending_transmit();
                    if pending == 0 && graceful && !mutant!(SkipDrain) {
                        let cap = now + DRAIN_MAX;
                        let until = until.map_or(cap, |u| u.min(cap));
                        self.state = State::Draining { until };
                        self.actions.push_back(Action::ShutdownWrite);
                    } else if pending == 0 || until.is_some_and(|u| u <= now) {
                        self.drop_stream(now, pending);
                    } else {
                        return;
                    }
                }
                State::Draining { until } if until <= now => self.drop_stream(now, 0),
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;
