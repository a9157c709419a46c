//! A session: the glue between one connection's [`Engine`] and the socket's pipe, sans-IO.
//!
//! A session never dials or accepts, and never decides when to: its [`Connection`] does, and
//! it hears from the session through [`SessionAction`]s. The session's rules:
//!
//! * **connect side** (`connect` set, IMMEDIATE off): its pipe exists before any connection, so
//!   messages queue (up to the HWM) and flow when a connection comes up; the pipe survives
//!   reconnects (Q-06, L-02). When the socket lets it go (close, disconnect), what is queued
//!   still drains for up to LINGER, over a connection made later if there is none now, as
//!   libzmq's session keeps reconnecting while it lingers (L-07);
//! * a protocol error or an ERROR from the peer ends a connect side for good (libzmq stops
//!   reconnecting after a `protocol_error`: L-06); a broken stream or a timeout does not;
//! * **accept side** (or IMMEDIATE): the pipe is made when the handshake succeeds and is
//!   terminated when the connection ends, its messages lost (PUSH-04, PULL-02, Q-08);
//! * a multipart message reaches the socket whole or not at all: an inbound partial message is
//!   rolled back when its connection breaks (W-11), and the rest of an outbound message whose
//!   first parts went to a dead connection is discarded, not sent truncated on the next one;
//! * the engine is fed from the pipe only while its output backlog is small, and inbound
//!   traffic stops being decoded while the pipe is full: memory stays bounded by the HWMs.

use super::{PipeId, PipeInfo};
use crate::Msg;
use crate::pipe::{Flow, PipeCommand, PipeEnd, PipeEvent, pipe_pair_with, return_spent};
use crate::proto::{CloseReason, Engine, Event, PeerInfo};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::{Duration, Instant};

/// Bytes copied into the engine's output (headers, commands, small bodies) above which the
/// session stops moving messages from the pipe into it: enough to fill a large write, small
/// enough to keep memory bounded.
pub const OUT_BATCH: usize = 64 * 1024;

/// The whole output backlog, large bodies queued by reference included, above which the
/// session stops too. Those bodies cost no copy and no memory beyond the message itself, and
/// one write per 64 KiB body made a loopback tcp sender spend its time pushing segments: two
/// per write ran 1.38 × faster (`docs/performance.md`).
pub const OUT_BACKLOG: usize = 2 * OUT_BATCH;

/// What a session tells its [`Connection`](super::Connection) (and through it the socket).
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionAction {
    /// Hand this pipe end to the socket (at once on the connect side; after the handshake on
    /// the accept side, or with IMMEDIATE).
    AttachPipe {
        /// The pipe.
        id: PipeId,
        /// The socket's end of it.
        end: Box<PipeEnd<Msg>>,
        /// What the socket type is told about it.
        info: PipeInfo,
    },
    /// A command for the socket's end of the pipe.
    PipeCommand(PipeId, PipeCommand),
    /// The handshake succeeded (for the monitor).
    HandshakeSucceeded(Box<PeerInfo>),
    /// The connection ended; what the engine still holds may be flushed before the stream is
    /// dropped. With `reconnect`, the session wants another connection.
    Disconnected {
        /// Why it ended.
        reason: CloseReason,
        /// Whether the session wants another connection.
        reconnect: bool,
    },
    /// The session is finished (its pipe is terminated and it has no connection): drop it.
    Terminated,
}

/// A session's fixed settings.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Connect side: keeps its pipe across reconnects.
    pub connect: bool,
    /// IMMEDIATE: even on the connect side, the pipe exists only while connected.
    pub immediate: bool,
    /// LINGER: once the socket closes (or disconnects) this session, how long queued messages
    /// may still drain to the peer (`None`: forever).
    pub linger: Option<Duration>,
    /// The socket routes by identity (ROUTER, REP): each connection's first item in the pipe
    /// is the peer's routing id ([`Msg::routing_id`]).
    pub recv_routing_id: bool,
    /// CONNECT_ROUTING_ID: the routing id the socket gives this connect side's peer.
    pub connect_routing_id: Option<bytes::Bytes>,
    /// The socket keeps per-peer subscriptions (PUB, XPUB): when this connect side's
    /// connection is replaced, a [`Msg::peer_replaced`] item goes into the pipe, in order with
    /// what the next peer sends, so that the old peer's subscriptions are forgotten.
    pub peer_state: bool,
    /// How the pipe queues `(toward the peer, toward the socket)`: SNDHWM and RCVHWM in
    /// messages (0: no limit), or conflated (CONFLATE).
    pub flows: (Flow, Flow),
}

impl SessionConfig {
    /// From a socket's options, for a peer made by `connect` (or accepted).
    pub fn from_options(o: &crate::SocketOptions, connect: bool) -> SessionConfig {
        SessionConfig {
            connect,
            immediate: o.immediate,
            linger: o.linger,
            recv_routing_id: false,
            connect_routing_id: o.connect_routing_id.clone().filter(|_| connect),
            peer_state: false,
            flows: (Flow::Queue(o.sndhwm), Flow::Queue(o.rcvhwm)),
        }
    }
}

/// One peer of a socket. See the module docs for its rules.
pub struct Session {
    cfg: SessionConfig,
    pipe_id: PipeId,
    pipe: Option<PipeEnd<Msg>>,
    engine: Option<Engine>,
    /// The engine of the connection that just ended, with the bytes it still owes the peer,
    /// until the connection takes it to flush them.
    closed_engine: Option<Engine>,
    /// An inbound part the pipe had no room for.
    pending: Option<Msg>,
    /// The connection was replaced: tell the socket once the next one is up, so that a
    /// subscriber says its subscriptions again then (and owes nothing while disconnected).
    hiccup_due: bool,
    /// Inbound: the last part written to the pipe had MORE.
    in_mid_message: bool,
    /// Outbound: the last part given to the engine had MORE.
    out_mid_message: bool,
    /// The socket is closing this session: no new pipe, no reconnect.
    terminating: bool,
    /// When the pipe started terminating: the linger clock runs from here.
    linger_started: Option<Instant>,
    linger_deadline: Option<Instant>,
    actions: VecDeque<SessionAction>,
    /// `SessionAction::Terminated` was queued.
    done: bool,
    /// Mutants `FrameDroppedAfterReconnect` and `SessionStopsFeeding`: engines attached so
    /// far, and whether to drop the next inbound message frame.
    #[cfg(feature = "mutants")]
    engines: u32,
    #[cfg(feature = "mutants")]
    drop_next_frame: bool,
    /// Mutant `ReorderedOutput`: a message held back to go out after the next one.
    #[cfg(feature = "mutants")]
    held: Option<Msg>,
}

impl Session {
    /// A session. On the connect side without IMMEDIATE, this creates the pipe at once and
    /// queues [`SessionAction::AttachPipe`] so the socket can start queueing.
    pub fn new(cfg: SessionConfig, pipe_id: PipeId) -> Session {
        let mut s = Session {
            cfg,
            pipe_id,
            pipe: None,
            engine: None,
            closed_engine: None,
            pending: None,
            hiccup_due: false,
            in_mid_message: false,
            out_mid_message: false,
            terminating: false,
            linger_started: None,
            linger_deadline: None,
            actions: VecDeque::new(),
            done: false,
            #[cfg(feature = "mutants")]
            engines: 0,
            #[cfg(feature = "mutants")]
            drop_next_frame: false,
            #[cfg(feature = "mutants")]
            held: None,
        };
        if s.cfg.connect && !s.cfg.immediate {
            s.create_pipe();
        }
        s
    }

    fn create_pipe(&mut self) {
        let (out, inb) = self.cfg.flows;
        let (mut ours, mut theirs) = pipe_pair_with(inb, out);
        return_spent(&mut ours, &mut theirs);
        self.pipe = Some(ours);
        let info =
            PipeInfo::new(self.cfg.connect).with_routing_id(self.cfg.connect_routing_id.clone());
        self.actions.push_back(SessionAction::AttachPipe {
            id: self.pipe_id,
            end: Box::new(theirs),
            info,
        });
    }

    /// The id of this session's pipe.
    pub fn pipe_id(&self) -> PipeId {
        self.pipe_id
    }

    /// True while a connection is attached.
    pub fn is_connected(&self) -> bool {
        self.engine.is_some()
    }

    /// True when the socket has let this session go (close, disconnect, unbind).
    pub fn is_terminating(&self) -> bool {
        self.terminating
    }

    /// When lingering started: the socket began terminating the pipe (`None` before that, or
    /// with no pipe).
    pub fn linger_started(&self) -> Option<Instant> {
        self.linger_started
    }

    /// LINGER in force.
    pub fn linger(&self) -> Option<Duration> {
        self.cfg.linger
    }

    /// When linger runs (or ran) out: lingering started plus LINGER (`None`: not lingering,
    /// or forever).
    pub fn linger_end(&self) -> Option<Instant> {
        self.linger_started.and_then(|s| self.cfg.linger.map(|l| s + l))
    }

    /// Attaches a new connection's engine (after a connect or an accept).
    pub fn attach_engine(&mut self, now: Instant, engine: Engine) {
        debug_assert!(self.engine.is_none(), "one connection at a time");
        #[cfg(feature = "mutants")]
        {
            self.drop_next_frame = self.engines > 0 && mutant!(FrameDroppedAfterReconnect);
            self.engines += 1;
        }
        self.closed_engine = None;
        self.engine = Some(engine);
        self.process(now);
    }

    /// The engine of the connection that ended last, closed, with whatever it still owes the
    /// peer (the last messages drained within linger, or an ERROR): the connection flushes it
    /// before it drops the stream.
    pub fn take_closed_engine(&mut self) -> Option<Engine> {
        self.closed_engine.take()
    }

    /// True when the driver should read from the stream now (see [`Engine::wants_input`]);
    /// false while the pipe to the socket is full.
    pub fn wants_input(&self) -> bool {
        self.pending.is_none() && self.engine.as_ref().is_some_and(Engine::wants_input)
    }

    /// Bytes read from the stream.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if let Some(e) = self.engine.as_mut() {
            e.handle_input(now, data);
        }
        self.process(now);
    }

    /// Reads the stream straight into the engine's input (see [`Engine::read_input`]).
    pub fn read_input<E>(
        &mut self,
        now: Instant,
        chunk: usize,
        read: impl FnOnce(&mut BytesMut, usize) -> Result<usize, E>,
    ) -> Option<Result<usize, E>> {
        let got = self.engine.as_mut()?.read_input(now, chunk, read);
        self.process(now);
        got
    }

    /// The peer closed the stream.
    pub fn handle_eof(&mut self, now: Instant) {
        if let Some(e) = self.engine.as_mut() {
            e.handle_eof(now);
        }
        self.process(now);
    }

    /// Timers due: the engine's, and linger's (which drops what is still queued).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(e) = self.engine.as_mut() {
            e.handle_timeout(now);
        }
        if self.linger_deadline.is_some_and(|d| d <= now) {
            self.linger_deadline = None;
            if let Some(p) = self.pipe.as_mut() {
                p.terminate(false);
            }
        }
        self.process(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let engine = self.engine.as_ref().and_then(Engine::poll_timeout);
        [engine, self.linger_deadline].into_iter().flatten().min()
    }

    /// A command from the socket about the pipe.
    pub fn handle_pipe_command(&mut self, now: Instant, cmd: PipeCommand) {
        if let Some(p) = self.pipe.as_mut() {
            p.handle_command(cmd);
        }
        self.process(now);
    }

    /// Bytes to write, for a vectored write.
    pub fn transmit_chunks<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.engine.as_ref().map_or(0, |e| e.transmit_chunks(dst))
    }

    /// Marks `n` bytes written; may let more messages move from the pipe into the engine.
    pub fn advance_transmit(&mut self, now: Instant, n: usize) {
        if let Some(e) = self.engine.as_mut() {
            e.advance_transmit(n);
        }
        self.process(now);
    }

    /// Bytes read but not yet decoded (at most one frame plus one read: see
    /// [`Engine::buffered_input`]).
    pub fn buffered_input(&self) -> usize {
        self.engine.as_ref().map_or(0, Engine::buffered_input)
    }

    /// Messages sent and kept for the thread that wrote them, to be freed there
    /// ([`return_spent`]).
    pub fn returning(&self) -> usize {
        self.pipe.as_ref().map_or(0, PipeEnd::returning)
    }

    /// Bytes waiting to be written.
    pub fn pending_transmit(&self) -> usize {
        self.engine.as_ref().map_or(0, Engine::pending_transmit)
    }

    /// Changes LINGER, which applies at once (O-02): the session lingers with the value in
    /// force when the socket closes or disconnects it. The driver passes the socket's value
    /// along with the socket's `Term`; the session may have read the delimiter just before
    /// that and started lingering with the old value, so a change then re-arms the clock
    /// from when lingering started.
    pub fn set_linger(&mut self, now: Instant, linger: Option<Duration>) {
        if self.cfg.linger == linger {
            return;
        }
        self.cfg.linger = linger;
        if self.arm_linger() {
            self.process(now);
        }
    }

    /// The socket no longer wants this peer (disconnect, unbind, close): no new pipe from here
    /// on. What the pipe holds still drains within linger (the socket's `Term` starts that),
    /// over this connection or a later one; with `force` (unbind) the pipe and the connection
    /// are dropped at once.
    pub fn terminate(&mut self, now: Instant, force: bool) {
        self.terminating = true;
        if force {
            if let Some(e) = self.engine.as_mut() {
                e.close();
            }
            if let Some(p) = self.pipe.as_mut() {
                p.terminate(false);
            }
        }
        self.process(now);
    }

    /// The connection will never come back (reconnecting is off): drop the pipe, whatever it
    /// holds, so the session can end (libzmq's `send_term_endpoint`).
    pub fn abandon(&mut self, now: Instant) {
        if self.engine.is_none() {
            self.terminating = true;
            if let Some(p) = self.pipe.as_mut() {
                p.terminate(false);
            }
        }
        self.process(now);
    }

    /// True when [`poll_action`](Self::poll_action) has something.
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// The next action for the connection or the socket. Poll after every call.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<SessionAction> {
        self.actions.pop_front()
    }

    /// Runs everything that can run: engine events into the pipe, pipe into the engine,
    /// commands and events out.
    fn process(&mut self, now: Instant) {
        loop {
            let mut progress = self.pump_inbound();
            progress |= self.pump_outbound();
            progress |= self.handle_pipe_events();
            progress |= self.start_linger(now);
            progress |= self.finish_pipeless();
            if !progress {
                break;
            }
        }
        if let Some(p) = self.pipe.as_mut() {
            if self.engine.is_none() && p.is_terminating() {
                // A closing subscriber owes nobody its subscriptions: with no connection,
                // they would hold the close up for linger (forever, by default) waiting for
                // a publisher to take them.
                p.skip_while(Msg::is_subscription);
                // With no connection nothing reads the pipe, so a delimiter with no message
                // before it would wait for linger: look for it (libzmq does the same).
                p.check_read();
            }
            while let Some(c) = p.poll_command() {
                self.actions.push_back(SessionAction::PipeCommand(self.pipe_id, c));
            }
        }
    }

    /// Moves engine events into the pipe until the pipe is full or the engine has no more,
    /// then publishes them with one flush (libzmq flushes once per read batch too): one
    /// atomic operation, and at most one wake-up of the socket, per batch.
    fn pump_inbound(&mut self) -> bool {
        let progress = self.pump_inbound_unflushed();
        if let Some(pipe) = self.pipe.as_mut() {
            pipe.flush();
        }
        progress
    }

    fn pump_inbound_unflushed(&mut self) -> bool {
        let mut progress = false;
        loop {
            if let Some(m) = self.pending.take() {
                let Some(pipe) = self.pipe.as_mut() else {
                    // No pipe (it died with a previous connection's peer): nothing to keep.
                    continue;
                };
                let more = m.more();
                match pipe.write(m) {
                    Ok(()) => {
                        progress = true;
                        self.in_mid_message = more;
                    }
                    Err(m) => {
                        self.pending = Some(m);
                        return progress;
                    }
                }
            }
            let Some(engine) = self.engine.as_mut() else { return progress };
            let Some(event) = engine.poll_event() else { return progress };
            progress = true;
            match event {
                #[cfg(feature = "mutants")]
                Event::Message(_) if std::mem::take(&mut self.drop_next_frame) => {}
                Event::Message(m) => self.pending = Some(m),
                Event::Ready(peer) => {
                    if self.pipe.is_none() && !self.terminating {
                        self.create_pipe();
                    }
                    if std::mem::take(&mut self.hiccup_due) {
                        if let Some(p) = self.pipe.as_mut() {
                            p.hiccup();
                        }
                    }
                    if self.cfg.recv_routing_id {
                        // Who is at the other end comes first, before anything it sends.
                        self.pending = Some(Msg::routing_id(&peer.identity));
                    }
                    self.actions.push_back(SessionAction::HandshakeSucceeded(peer));
                }
                // A publisher reads subscriptions in their message form, whichever form the
                // peer used (XPUB-02).
                Event::Subscribe(topic) => self.pending = Some(Msg::subscription(true, &topic)),
                Event::Cancel(topic) => self.pending = Some(Msg::subscription(false, &topic)),
                Event::Closed(reason) => self.connection_lost(reason),
            }
        }
    }

    /// Moves messages from the pipe into the engine while its backlog is small.
    fn pump_outbound(&mut self) -> bool {
        let (Some(engine), Some(pipe)) = (self.engine.as_mut(), self.pipe.as_mut()) else {
            return false;
        };
        if !engine.is_ready() {
            return false;
        }
        let mut progress = false;
        while (engine.pending_copied() < OUT_BATCH && engine.pending_transmit() < OUT_BACKLOG)
            || mutant!(BacklogUnbounded)
        {
            #[cfg(feature = "mutants")]
            if self.engines > 1 && mutant!(SessionStopsFeeding) {
                break;
            }
            let Some(m) = pipe.read() else { break };
            #[cfg(feature = "mutants")]
            let m = {
                let whole = !m.more() && !self.out_mid_message;
                if whole && mutant!(ReorderedOutput) {
                    let Some(prev) = self.held.take() else {
                        self.held = Some(m);
                        continue;
                    };
                    let _ = engine.send(m);
                    prev
                } else {
                    m
                }
            };
            self.out_mid_message = m.more();
            let sent = if m.is_subscription() {
                // The form depends on the peer's version: the engine chooses (SUB-03).
                let (subscribe, topic) = (m[0] == 1, &m[1..]);
                if subscribe { engine.send_subscribe(topic) } else { engine.send_cancel(topic) }
                    .map_err(drop)
            } else {
                // Freed on the thread that allocated it (`return_spent`).
                engine
                    .send_returning(m)
                    .map(|spent| spent.map_or((), |m| pipe.spent(m)))
                    .map_err(drop)
            };
            if sent.is_err() {
                break;
            }
            progress = true;
        }
        progress
    }

    /// L-07: when the socket starts terminating the pipe, unsent messages may drain for up to
    /// LINGER; linger 0 drops them at once.
    fn start_linger(&mut self, now: Instant) -> bool {
        let Some(pipe) = self.pipe.as_ref() else { return false };
        if self.linger_started.is_some() || !pipe.is_terminating() {
            return false;
        }
        self.linger_started = Some(now);
        self.arm_linger()
    }

    /// Sets the linger clock from when lingering started; linger 0 drops what is queued at
    /// once (true: the pipe changed).
    fn arm_linger(&mut self) -> bool {
        let (Some(start), Some(pipe)) = (self.linger_started, self.pipe.as_mut()) else {
            return false;
        };
        match self.cfg.linger {
            Some(d) if d.is_zero() || mutant!(LingerDropsQueued) => {
                self.linger_deadline = None;
                pipe.terminate(false);
                true
            }
            Some(d) => {
                self.linger_deadline = Some(start + d);
                false
            }
            None => {
                self.linger_deadline = None;
                false
            }
        }
    }

    /// A session told to terminate before it had a pipe (an accepted connection still in its
    /// handshake, an IMMEDIATE connect side not connected yet) has nothing to drain: it ends
    /// now instead of holding its connection open for good.
    fn finish_pipeless(&mut self) -> bool {
        if !self.terminating || self.pipe.is_some() || self.done {
            return false;
        }
        if let Some(mut engine) = self.engine.take() {
            engine.close();
            while engine.poll_event().is_some() {}
            self.closed_engine = Some(engine);
            self.actions.push_back(SessionAction::Disconnected {
                reason: CloseReason::Local,
                reconnect: false,
            });
        }
        self.actions.push_back(SessionAction::Terminated);
        self.done = true;
        true
    }

    fn handle_pipe_events(&mut self) -> bool {
        let Some(pipe) = self.pipe.as_mut() else { return false };
        let mut progress = false;
        while let Some(e) = pipe.poll_event() {
            progress = true;
            if e == PipeEvent::Terminated {
                while let Some(c) = pipe.poll_command() {
                    self.actions.push_back(SessionAction::PipeCommand(self.pipe_id, c));
                }
                self.pipe = None;
                self.pending = None;
                if let Some(mut engine) = self.engine.take() {
                    // What the engine holds stays with the connection, which flushes it within
                    // linger before it closes the stream.
                    engine.close();
                    let _ = engine.poll_event();
                    self.closed_engine = Some(engine);
                    self.actions.push_back(SessionAction::Disconnected {
                        reason: CloseReason::Local,
                        reconnect: false,
                    });
                }
                self.actions.push_back(SessionAction::Terminated);
                self.done = true;
                return progress;
            }
        }
        progress
    }

    fn connection_lost(&mut self, reason: CloseReason) {
        if let Some(engine) = self.engine.take() {
            // An ERROR the engine queued for the peer may still go out.
            self.closed_engine = Some(engine);
        }
        if let Some(pipe) = self.pipe.as_mut() {
            // W-11: the socket never sees the first parts of a message whose end was lost.
            if self.in_mid_message || self.pending.as_ref().is_some_and(Msg::more) {
                pipe.rollback();
            }
            self.pending = None;
            self.in_mid_message = false;
            // The rest of an outbound message already partly handed to the dead connection
            // would arrive truncated on the next one: discard it (its parts are all there,
            // since a message is published whole).
            while self.out_mid_message && !mutant!(MultipartSplitAtReconnect) {
                match pipe.read() {
                    Some(m) => self.out_mid_message = m.more(),
                    None => self.out_mid_message = false,
                }
            }
        }
        // L-06: a peer that broke the protocol (or said why it refuses us) gets no retry.
        let fatal = matches!(reason, CloseReason::Protocol(_) | CloseReason::PeerError(_));
        let mut reconnect = self.cfg.connect && !fatal;
        let keep_pipe = reconnect && !self.cfg.immediate;
        if let Some(p) = self.pipe.as_mut() {
            if keep_pipe {
                // The next connection's peer knows nothing of this one: a subscriber must
                // say its subscriptions again (SUB-07, as libzmq's `hiccup`), once that
                // connection is up, and a publisher must forget what the old peer subscribed
                // to (libzmq keeps it). That one goes in band: a command could overtake the
                // new peer's subscriptions.
                self.hiccup_due = true;
                if self.cfg.peer_state {
                    self.pending = Some(Msg::peer_replaced());
                }
            } else {
                p.terminate(false);
            }
        }
        // Once let go, a session reconnects only to drain the pipe it keeps.
        if self.terminating && (!keep_pipe || self.pipe.is_none()) {
            reconnect = false;
        }
        self.actions.push_back(SessionAction::Disconnected { reason, reconnect });
        if self.pipe.is_none() && !reconnect {
            self.actions.push_back(SessionAction::Terminated);
            self.done = true;
        }
    }
}

#[cfg(test)]
mod tests;
