//! The checker: one stream of [`Event`]s, seen from outside the stack under test, fed to a list
//! of [`Oracle`]s. The hosts' glue reports what applications sent and received, the bytes each
//! stream carried, which streams came up and broke, which pipes were attached, and the faults;
//! the [`Model`] keeps the facts every oracle needs (who is who, which stream is whose, what
//! broke when), and each oracle judges one family of rules:
//!
//! * [`delivery`] — nothing duplicated, corrupted, misrouted, reordered or split; a loss only
//!   with a named reason, counted per reason;
//! * [`bounds`] — the high-water mark with no connection up, memory per connection, connect
//!   sides back after the faults, closes finished within linger;
//! * [`backoff`] — reconnect waits as RECONNECT_IVL / RECONNECT_IVL_MAX prescribe (L-03);
//! * [`liveness`] — in the quiet phase, messages are delivered within a bound and senders
//!   with a peer up make progress;
//! * [`pair`] — PAIR-02: a second peer is refused, and nothing it sent is delivered;
//! * [`reqrep`] — replies reach who asked, once, and match the REQ's newest request; ROUTER
//!   ids name one peer each; requests in the quiet phase are answered within a bound;
//! * [`conflate`] — CONFLATE: each receiver gets a rising run of each sender's messages,
//!   whole, and every sender's newest message in the quiet phase arrives;
//! * [`pubsub`] — a subscriber gets only what matched subscriptions its publisher had heard
//!   of, in order per stream, once; after the faults, everything that matches; a PUB never
//!   blocks; an XPUB's reports agree with what its subscribers hold.
//!
//! A socket family adds its oracles here; none trusts the stack under test.

pub mod backoff;
pub mod bounds;
pub mod conflate;
pub mod delivery;
pub mod liveness;
pub mod pair;
pub mod pubsub;
pub mod reqrep;

use crate::node::SockOpts;
use crate::payload::MsgId;
use crate::world::Timeline;
use ferromq::proto::CloseReason;
use ferromq::{Msg, SocketType};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

/// An invariant that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Simulated time at which it was seen.
    pub at: Duration,
    /// What went wrong.
    pub what: String,
}

/// Something that happened in the run. `sock` numbers sockets in the run (`s<n>` in the
/// trace), `key` a socket's connections (`k<n>`), `conn` streams (`c<n>`).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A socket was opened.
    SocketOpened {
        /// Its number.
        sock: u32,
        /// Its host.
        host: &'a str,
        /// Its role, for the peers it may hear ([`crate::Setup::allow`]).
        role: &'a str,
        /// Its type.
        ty: SocketType,
        /// Its options.
        opts: &'a SockOpts,
    },
    /// The application handed the socket a whole message.
    Sent {
        /// The message.
        id: MsgId,
        /// The connection whose pipe took it, when the socket type sends each message to one
        /// peer (for a ROUTER, `None`: it dropped the message).
        key: Option<u64>,
        /// The routing id a ROUTER was asked to send it to.
        to: Option<&'a [u8]>,
        /// The request it answers.
        re: Option<MsgId>,
        /// A publisher's topic: the first frame, before the message's parts.
        topic: Option<&'a [u8]>,
    },
    /// A subscriber's application subscribed (or unsubscribed): SUBSCRIBE/UNSUBSCRIBE on a
    /// SUB, a `01`/`00` message on an XSUB.
    Subscription {
        /// The socket.
        sock: u32,
        /// Subscribe, or unsubscribe.
        subscribe: bool,
        /// The topic.
        topic: &'a [u8],
    },
    /// A forwarder's application sent on a message it had received (the same message, parts
    /// as they were), over a socket of its own.
    Forwarded {
        /// The socket that sent it on.
        by: u32,
        /// The message.
        id: MsgId,
        /// Its topic: its first frame, before its parts.
        topic: &'a [u8],
    },
    /// An XPUB's application received a subscription (`01`) or cancellation (`00`).
    Notified {
        /// The XPUB.
        sock: u32,
        /// Subscribe, or cancel.
        subscribe: bool,
        /// The topic.
        topic: &'a [u8],
    },
    /// A send waited out its timeout and was not taken.
    SendTimedOut {
        /// The socket.
        sock: u32,
    },
    /// The application received a whole message.
    Received {
        /// The socket.
        sock: u32,
        /// The frames before its first simulator part (routing ids, delimiters).
        envelope: &'a [Msg],
        /// Its parts: everything from the first simulator part on.
        parts: &'a [Msg],
    },
    /// A connection (connect side or accepted) was made.
    ConnCreated {
        /// Its socket.
        sock: u32,
        /// Its key.
        key: u64,
        /// Made by `connect`.
        connect: bool,
    },
    /// A connection finished for good.
    ConnFinished {
        /// Its socket.
        sock: u32,
        /// Its key.
        key: u64,
    },
    /// A connect side started dialing.
    DialStarted {
        /// Its socket.
        sock: u32,
        /// Its key.
        key: u64,
    },
    /// A dial completed (a stream is up, before the handshake).
    DialSucceeded {
        /// Its socket.
        sock: u32,
        /// Its key.
        key: u64,
    },
    /// A dial failed, or was abandoned at CONNECT_TIMEOUT.
    DialFailed {
        /// Its socket.
        sock: u32,
        /// Its key.
        key: u64,
    },
    /// A stream came up under a connection.
    StreamUp {
        /// The stream.
        conn: u64,
        /// Its socket.
        sock: u32,
        /// Its connection.
        key: u64,
        /// Its local address.
        local: SocketAddr,
        /// Its peer's address.
        peer: SocketAddr,
    },
    /// Bytes a stream delivered to its socket, in order.
    WireIn {
        /// The stream.
        conn: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// Bytes a stream wrote, in order.
    WireOut {
        /// The stream.
        conn: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// The chaos layer reset a stream.
    Reset {
        /// The stream.
        conn: u64,
    },
    /// The handshake of a connection's stream succeeded.
    Up {
        /// Its socket.
        sock: u32,
        /// Its connection.
        key: u64,
    },
    /// A connection's stream ended (after its handshake or during it).
    Down {
        /// Its socket.
        sock: u32,
        /// Its connection.
        key: u64,
        /// Why, as the stack says.
        reason: &'a CloseReason,
    },
    /// A connection's stream was dropped with `unflushed` bytes unwritten.
    StreamDropped {
        /// Its socket.
        sock: u32,
        /// Its connection.
        key: u64,
        /// Bytes the peer will not get.
        unflushed: usize,
    },
    /// A connection gave its socket a pipe.
    PipeAttached {
        /// The socket.
        sock: u32,
        /// The connection.
        key: u64,
    },
    /// A pipe of the socket finished terminating.
    PipeGone {
        /// The socket.
        sock: u32,
        /// The connection it came from.
        key: u64,
    },
    /// A connection's buffers, after it ran.
    Buffers {
        /// Its socket.
        sock: u32,
        /// Its connection.
        key: u64,
        /// Bytes waiting to be written.
        pending: usize,
        /// Bytes read and not decoded.
        buffered: usize,
        /// Messages sent and held for the socket's thread to free (`pipe::return_spent`).
        returning: usize,
    },
    /// The application closed the socket.
    Closing {
        /// The socket.
        sock: u32,
    },
    /// The socket finished closing: every pipe and connection is gone.
    CloseFinished {
        /// The socket.
        sock: u32,
    },
    /// A host crashed: its sockets are gone with everything they held.
    HostCrashed {
        /// The host.
        host: &'a str,
    },
    /// A simulation step ended.
    Tick,
}

impl Event<'_> {
    /// This event's bit in an oracle's [`Oracle::interests`].
    pub fn bit(&self) -> u32 {
        1 << match self {
            Event::SocketOpened { .. } => 0,
            Event::Sent { .. } => 1,
            Event::SendTimedOut { .. } => 2,
            Event::Received { .. } => 3,
            Event::ConnCreated { .. } => 4,
            Event::ConnFinished { .. } => 5,
            Event::DialStarted { .. } => 6,
            Event::DialSucceeded { .. } => 7,
            Event::DialFailed { .. } => 8,
            Event::StreamUp { .. } => 9,
            Event::WireIn { .. } => 10,
            Event::WireOut { .. } => 11,
            Event::Reset { .. } => 12,
            Event::Up { .. } => 13,
            Event::Down { .. } => 14,
            Event::StreamDropped { .. } => 15,
            Event::PipeAttached { .. } => 16,
            Event::PipeGone { .. } => 17,
            Event::Buffers { .. } => 18,
            Event::Closing { .. } => 19,
            Event::CloseFinished { .. } => 20,
            Event::HostCrashed { .. } => 21,
            Event::Tick => 22,
            Event::Subscription { .. } => 23,
            Event::Notified { .. } => 24,
            Event::Forwarded { .. } => 25,
        }
    }
}

/// Event bits, for [`Oracle::interests`].
pub mod kinds {
    /// Sent.
    pub const SENT: u32 = 1 << 1;
    /// SendTimedOut.
    pub const SEND_TIMED_OUT: u32 = 1 << 2;
    /// Received.
    pub const RECEIVED: u32 = 1 << 3;
    /// ConnFinished.
    pub const CONN_FINISHED: u32 = 1 << 5;
    /// DialStarted.
    pub const DIAL_STARTED: u32 = 1 << 6;
    /// DialSucceeded.
    pub const DIAL_SUCCEEDED: u32 = 1 << 7;
    /// DialFailed.
    pub const DIAL_FAILED: u32 = 1 << 8;
    /// StreamUp.
    pub const STREAM_UP: u32 = 1 << 9;
    /// WireIn.
    pub const WIRE_IN: u32 = 1 << 10;
    /// WireOut.
    pub const WIRE_OUT: u32 = 1 << 11;
    /// Up.
    pub const UP: u32 = 1 << 13;
    /// Down.
    pub const DOWN: u32 = 1 << 14;
    /// StreamDropped.
    pub const STREAM_DROPPED: u32 = 1 << 15;
    /// PipeAttached.
    pub const PIPE_ATTACHED: u32 = 1 << 16;
    /// Buffers.
    pub const BUFFERS: u32 = 1 << 18;
    /// Tick.
    pub const TICK: u32 = 1 << 22;
    /// SocketOpened.
    pub const SOCKET_OPENED: u32 = 1 << 0;
    /// Subscription.
    pub const SUBSCRIPTION: u32 = 1 << 23;
    /// Notified.
    pub const NOTIFIED: u32 = 1 << 24;
    /// Forwarded.
    pub const FORWARDED: u32 = 1 << 25;
}

/// A socket type that sends each message to many peers, or receives from them by
/// subscription (PUB, XPUB, SUB, XSUB): the [`pubsub`] oracle judges its messages, the
/// one-to-one oracles ([`delivery`], [`liveness`], the HWM bound) leave them alone.
pub fn fans_out(ty: SocketType) -> bool {
    matches!(ty, SocketType::Pub | SocketType::Xpub | SocketType::Sub | SocketType::Xsub)
}

/// A socket whose messages an oracle of its own judges: one that fans out ([`pubsub`]) or
/// conflates ([`conflate`]); the one-to-one oracles leave it alone.
pub fn judged_apart(s: &SockInfo) -> bool {
    fans_out(s.ty) || s.opts.conflate
}

/// What the model knows about a socket.
#[derive(Debug)]
pub struct SockInfo {
    /// Its host.
    pub host: String,
    /// Its role.
    pub role: String,
    /// Its type.
    pub ty: SocketType,
    /// Its options.
    pub opts: SockOpts,
    /// Connections whose handshake is done.
    pub up: u32,
    /// When (event number) it crashed.
    pub died: Option<u64>,
    /// When it started closing (event number, time).
    pub closed: Option<(u64, Duration)>,
    /// When it finished closing.
    pub finished: Option<Duration>,
    /// Its connections: key → state.
    pub keys: BTreeMap<u64, KeyInfo>,
}

/// What the model knows about one connection of a socket.
#[derive(Debug, Default)]
pub struct KeyInfo {
    /// Made by `connect`.
    pub connect: bool,
    /// Its handshake is done and its stream not ended.
    pub up: bool,
    /// Its current stream.
    pub conn: Option<u64>,
    /// Its streams, oldest first.
    pub streams: Vec<u64>,
    /// When (event number) one of its streams last broke.
    pub last_break: Option<u64>,
    /// When (event number) one of its streams was last lost: down for any reason but this
    /// side's own close.
    pub last_lost: Option<u64>,
    /// When (simulated time) that was.
    pub last_lost_at: Option<Duration>,
    /// It gave the socket a pipe that has not terminated yet.
    pub pipe: bool,
    /// Finished for good.
    pub finished: bool,
    /// Its pipe reached a PAIR that already had one (PAIR-02 says it must be refused).
    pub refused: bool,
    /// A ROUTER let it go: it brought a routing id another connection held and was refused,
    /// or (ROUTER_HANDOVER) it held the id a newcomer took over (ROUTER-05).
    pub let_go: bool,
}

/// What the model knows about a stream.
#[derive(Debug)]
pub struct ConnInfo {
    /// Its socket and connection.
    pub sock: u32,
    /// Its connection.
    pub key: u64,
    /// Its local and peer addresses.
    pub local: SocketAddr,
    /// Its peer's address.
    pub peer: SocketAddr,
    /// When (event number) it broke: reset, a host crash at either end, or an end that
    /// declared the peer dead or misbehaving. A graceful close is not a break.
    pub broke: Option<u64>,
}

/// The facts every oracle needs, kept up to date from the events before any oracle sees them.
#[derive(Debug, Default)]
pub struct Model {
    /// Simulated now.
    pub now: Duration,
    /// Events so far (each event's number).
    pub event: u64,
    /// The run's phases.
    pub timeline: Option<Timeline>,
    /// Fault windows (start, end).
    pub faults: Vec<(Duration, Duration)>,
    /// Streams may stall and reset in the fault phase.
    pub stream_faults: bool,
    /// Sockets by number.
    pub socks: Vec<SockInfo>,
    /// Streams by number.
    pub conns: BTreeMap<u64, ConnInfo>,
    by_addr: BTreeMap<(SocketAddr, SocketAddr), u64>,
    /// Which roles may deliver to which.
    pub edges: BTreeSet<(String, String)>,
}

impl Model {
    /// The socket numbered `sock`.
    pub fn sock(&self, sock: u32) -> &SockInfo {
        &self.socks[sock as usize]
    }

    /// "socket s3 (dialer on b)".
    pub fn describe(&self, sock: u32) -> String {
        let s = self.sock(sock);
        format!("socket s{sock} ({} on {})", s.role, s.host)
    }

    /// The stream at the other end of `conn`.
    pub fn far(&self, conn: u64) -> Option<u64> {
        let c = self.conns.get(&conn)?;
        self.by_addr.get(&(c.peer, c.local)).copied()
    }

    /// The socket at the other end of `conn`.
    pub fn far_socket(&self, conn: u64) -> Option<u32> {
        Some(self.conns.get(&self.far(conn)?)?.sock)
    }

    /// When `conn` or its far end broke.
    pub fn broke(&self, conn: u64) -> Option<u64> {
        let near = self.conns.get(&conn).and_then(|c| c.broke);
        let far = self.far(conn).and_then(|f| self.conns.get(&f)).and_then(|c| c.broke);
        near.into_iter().chain(far).min()
    }

    /// The end of the fault phase.
    pub fn faults_end(&self) -> Duration {
        self.timeline.map_or(Duration::ZERO, |t| t.faults_end)
    }

    /// True when some fault window overlaps `[a, b]`.
    pub fn faulty(&self, a: Duration, b: Duration) -> bool {
        self.faults.iter().any(|&(s, e)| s <= b && e >= a)
    }

    /// The peer socket at the far end of connection `key` of `sock`, by its latest stream.
    pub fn peer_of(&self, sock: u32, key: u64) -> Option<u32> {
        self.sock(sock).keys.get(&key)?.streams.last().and_then(|&c| self.far_socket(c))
    }

    /// Another connection of ROUTER `sock` with a pipe whose peer has the ROUTING_ID the peer
    /// of `key` has, when it has one.
    fn id_holder(&self, sock: u32, key: u64) -> Option<u64> {
        let name = &self.sock(self.peer_of(sock, key)?).opts.routing_id;
        if name.is_empty() {
            return None;
        }
        self.sock(sock).keys.iter().find_map(|(&k, info)| {
            let same = self.peer_of(sock, k).is_some_and(|p| self.sock(p).opts.routing_id == name);
            (k != key && info.pipe && same).then_some(k)
        })
    }

    fn key(&mut self, sock: u32, key: u64) -> &mut KeyInfo {
        self.socks[sock as usize].keys.entry(key).or_default()
    }

    /// A stream broke: both its ends did, whichever end saw it.
    fn break_conn(&mut self, conn: u64) {
        let ev = self.event;
        for c in [Some(conn), self.far(conn)].into_iter().flatten() {
            let Some(c) = self.conns.get_mut(&c) else { continue };
            c.broke.get_or_insert(ev);
            let (sock, key) = (c.sock, c.key);
            self.key(sock, key).last_break = Some(ev);
        }
    }

    fn apply(&mut self, e: &Event<'_>) {
        self.event += 1;
        match *e {
            Event::SocketOpened { host, role, ty, opts, .. } => self.socks.push(SockInfo {
                host: host.to_owned(),
                role: role.to_owned(),
                ty,
                opts: opts.clone(),
                up: 0,
                died: None,
                closed: None,
                finished: None,
                keys: BTreeMap::new(),
            }),
            Event::ConnCreated { sock, key, connect } => self.key(sock, key).connect = connect,
            Event::ConnFinished { sock, key } => self.key(sock, key).finished = true,
            Event::StreamUp { conn, sock, key, local, peer } => {
                self.conns.insert(conn, ConnInfo { sock, key, local, peer, broke: None });
                self.by_addr.insert((local, peer), conn);
                let k = self.key(sock, key);
                k.conn = Some(conn);
                k.streams.push(conn);
            }
            Event::Reset { conn } => self.break_conn(conn),
            Event::Up { sock, key } => {
                self.key(sock, key).up = true;
                self.socks[sock as usize].up += 1;
            }
            Event::Down { sock, key, reason } => {
                let (ev, now) = (self.event, self.now);
                let k = self.key(sock, key);
                if *reason != CloseReason::Local {
                    k.last_lost = Some(ev);
                    k.last_lost_at = Some(now);
                }
                let was_up = std::mem::take(&mut k.up);
                let conn = k.conn;
                if was_up {
                    self.socks[sock as usize].up -= 1;
                }
                // The stack declared its peer dead or misbehaving: a break. A peer that
                // closed is a break only if something else broke it (a reset, a crash).
                let declared = !matches!(reason, CloseReason::Local | CloseReason::PeerClosed);
                if let (true, Some(c)) = (declared, conn) {
                    self.break_conn(c);
                }
            }
            Event::StreamDropped { sock, key, .. } => {
                let k = self.key(sock, key);
                k.conn = None;
            }
            Event::PipeAttached { sock, key } => {
                let s = &self.socks[sock as usize];
                let taken = s.ty == SocketType::Pair && s.keys.values().any(|k| k.pipe);
                let holder =
                    (s.ty == SocketType::Router).then(|| self.id_holder(sock, key)).flatten();
                let handover = s.opts.router_handover;
                match holder {
                    Some(old) if handover => self.key(sock, old).let_go = true,
                    Some(_) => self.key(sock, key).let_go = true,
                    None => {}
                }
                let k = self.key(sock, key);
                k.pipe = true;
                k.refused = taken;
            }
            Event::PipeGone { sock, key } => self.key(sock, key).pipe = false,
            Event::Closing { sock } => {
                let (ev, now) = (self.event, self.now);
                self.socks[sock as usize].closed = Some((ev, now));
            }
            Event::CloseFinished { sock } => {
                self.socks[sock as usize].finished = Some(self.now);
            }
            Event::HostCrashed { host } => {
                let ev = self.event;
                let mut dead = Vec::new();
                for s in self.socks.iter_mut().filter(|s| s.host == host && s.died.is_none()) {
                    s.died = Some(ev);
                    dead.extend(s.keys.values().filter_map(|k| k.conn));
                }
                for c in dead {
                    self.break_conn(c);
                }
            }
            _ => {}
        }
    }
}

/// Why a lost message is excused, each with its count in the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Excuse {
    /// It was written on a stream that then broke at either end.
    StreamBroke,
    /// Its sender crashed after sending it.
    SenderCrashed,
    /// It went to a receiver that crashed, or left while receivers may come and go.
    ReceiverLeft,
    /// It was queued while the sender had a pipe whose accepted peer was gone (PUSH-04).
    DeadPeerQueue,
    /// Its sender's close ran out of linger while faults were possible.
    LingerRanOut,
    /// It crossed to a PAIR that refused its sender as a second peer (PAIR-02).
    RefusedByPair,
    /// It crossed to a ROUTER that let its connection go: a duplicate routing id refused, or
    /// one handed over to a newcomer (ROUTER-05).
    LetGoByRouter,
    /// A ROUTER or REP dropped it: it named no peer the socket knew, or one whose connection
    /// was down (ROUTER-02, REP-04).
    Unroutable,
    /// A ROUTER without MANDATORY dropped it: its peer's pipe could hold no more (ROUTER-03).
    PeerFull,
    /// A reply, or a request, its client gave up on: the client closed or crashed, or asked
    /// again since (REQ_RELAXED), so the reply is stale and dropped (REQ-07, REQ-08).
    ClientGaveUp,
}

impl Excuse {
    /// Its name in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Excuse::StreamBroke => "stream broke",
            Excuse::SenderCrashed => "sender crashed",
            Excuse::ReceiverLeft => "receiver left",
            Excuse::DeadPeerQueue => "accepted peer gone",
            Excuse::LingerRanOut => "linger ran out",
            Excuse::RefusedByPair => "refused by PAIR",
            Excuse::LetGoByRouter => "id refused or handed over",
            Excuse::Unroutable => "no route at ROUTER/REP",
            Excuse::PeerFull => "ROUTER peer full",
            Excuse::ClientGaveUp => "client gave up",
        }
    }
}

/// One family of rules, judged from the events.
pub trait Oracle: std::fmt::Debug {
    /// The events it judges, as [`kinds`] bits: it is shown only those (the model sees all).
    fn interests(&self) -> u32;
    /// Sees an event after the model has applied it; reports what broke.
    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>);
    /// The run is over: the last judgements. `out` collects violations, `excused` counts
    /// what was excused and why.
    fn finish(&mut self, _m: &Model, _out: &mut Vec<String>, _excused: &mut Excused) {}
}

/// Excused losses, by reason.
pub type Excused = BTreeMap<Excuse, u64>;

/// The model and the oracles. See the module docs.
#[derive(Debug)]
pub struct Checker {
    model: Model,
    oracles: Vec<Box<dyn Oracle>>,
    masks: Vec<u32>,
    violations: Vec<Violation>,
    excused: Excused,
    checks: u64,
    scratch: Vec<String>,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new(Checker::standard())
    }
}

impl Checker {
    /// A checker running `oracles`.
    pub fn new(oracles: Vec<Box<dyn Oracle>>) -> Checker {
        Checker {
            model: Model::default(),
            masks: oracles.iter().map(|o| o.interests()).collect(),
            oracles,
            violations: Vec::new(),
            excused: Excused::new(),
            checks: 0,
            scratch: Vec::new(),
        }
    }

    /// The oracles every scenario runs.
    pub fn standard() -> Vec<Box<dyn Oracle>> {
        vec![
            Box::new(delivery::Delivery::default()),
            Box::new(bounds::HwmBound::default()),
            Box::new(bounds::MemoryBound),
            Box::new(bounds::Reconnected::default()),
            Box::new(bounds::CloseWithinLinger::default()),
            Box::new(backoff::Backoff::default()),
            Box::new(liveness::Liveness::default()),
            Box::new(liveness::NoFalseDeath),
            Box::new(pair::PairExclusive::default()),
            Box::new(reqrep::Replies::default()),
            Box::new(pubsub::Subscriptions::default()),
            Box::new(conflate::Newest::default()),
        ]
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Feeds one event to the model, then to every oracle that judges it.
    pub fn emit(&mut self, e: Event<'_>) {
        self.model.apply(&e);
        let bit = e.bit();
        for (o, &mask) in self.oracles.iter_mut().zip(&self.masks) {
            if mask & bit != 0 {
                o.on_event(&self.model, &e, &mut self.scratch);
                self.checks += 1;
            }
        }
        if !self.scratch.is_empty() {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let at = self.model.now;
        self.violations.extend(self.scratch.drain(..).map(|what| Violation { at, what }));
    }

    /// Records a violation seen outside the oracles (a panic, a failed host).
    pub fn fail(&mut self, what: String) {
        self.violations.push(Violation { at: self.model.now, what });
    }

    pub(crate) fn set_now(&mut self, now: Duration) {
        self.model.now = now;
    }

    pub(crate) fn set_timeline(&mut self, t: Timeline) {
        self.model.timeline = Some(t);
    }

    /// Whether streams may stall and reset in the fault phase.
    pub(crate) fn set_stream_faults(&mut self, on: bool) {
        self.model.stream_faults = on;
    }

    /// Records a fault window.
    pub fn fault_window(&mut self, start: Duration, end: Duration) {
        self.model.faults.push((start, end));
    }

    /// The end of the run.
    pub fn finish(&mut self) {
        for o in &mut self.oracles {
            o.finish(&self.model, &mut self.scratch, &mut self.excused);
        }
        self.flush();
    }

    /// Invariant checks made so far.
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// The violations seen so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Excused losses by reason.
    pub fn excused(&self) -> &Excused {
        &self.excused
    }

    /// Lets sockets of role `from` deliver to sockets of role `to`.
    pub fn allow(&mut self, from: &str, to: &str) {
        self.model.edges.insert((from.to_owned(), to.to_owned()));
    }
}
