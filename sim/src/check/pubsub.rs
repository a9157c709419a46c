//! Publish-subscribe, judged from outside: what the subscribers' applications asked for, the
//! SUBSCRIBE and CANCEL commands each stream carried to its publisher, the messages (with
//! their topic frame) each stream carried to its subscriber, and what the applications got.
//!
//! A forwarder (an XSUB/XPUB proxy) passes messages on as they are, so the rules hold per
//! hop: its XSUB is a subscriber of the publishers, its XPUB a publisher of its subscribers.
//!
//! * **Filtered at the publisher** (PUB-01, PUB-02): a message crosses a stream to a
//!   subscriber only if a SUBSCRIBE to a prefix of its topic had reached the publisher over
//!   that connection before the message was sent: over that very stream, or, for a message
//!   sent before the stream came up (queued in a connect side's pipe), over an earlier one of
//!   the same connection.
//! * **Filtered at the SUB** (SUB-05): a SUB's application receives a message only if it holds
//!   a subscription to a prefix of its topic at that moment.
//! * **Once, in order**: no subscriber receives a message twice; per stream, the application
//!   receives in the order the stream carried, and the stream in the order of sending.
//! * **A PUB never blocks** (PUB-04): a send on a PUB or XPUB without XPUB_NODROP is always
//!   taken.
//! * **Nothing missed once settled** (liveness): a message published in the quiet phase reaches
//!   every subscriber that, from [`SETTLE`] before it was sent, held a matching subscription
//!   unchanged and had a connection to the publisher up, kept up to the end of the quiet
//!   phase, and stayed open and alive past the end of sending.
//! * **XPUB reports agree** (XPUB-01, XPUB-03, XPUB-04): without VERBOSE, an XPUB's
//!   application hears each topic subscribed once and cancelled once in turn, and when
//!   sending stops, the topics it holds as subscribed are exactly those the live subscribers
//!   connected to it hold.

use super::{Event, Model, Oracle, kinds};
use crate::payload::{self, MsgId};
use crate::wire::{WireEvent, WireReader};
use ferromq::SocketType;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long before a quiet-phase message a subscriber's subscriptions and connection must have
/// held for it to be owed the message.
pub const SETTLE: Duration = Duration::from_millis(1500);

#[derive(Debug)]
struct Published {
    /// The socket that sent it: its publisher, or a forwarder's XPUB passing it on.
    by: u32,
    event: u64,
    at: Duration,
    topic: Vec<u8>,
}

/// When a connection's handshake was up: from, and until (`None`: still up).
type Intervals = Vec<(Duration, Option<Duration>)>;

/// A subscriber's application-level subscriptions: topic → instances.
type Held = BTreeMap<Vec<u8>, u32>;

fn matches(held: &Held, topic: &[u8]) -> bool {
    held.keys().any(|t| topic.starts_with(t))
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// Each message's sends: by its publisher, then by each forwarder that passed it on.
    published: BTreeMap<MsgId, Vec<Published>>,
    held: BTreeMap<u32, Held>,
    /// When each subscriber's subscriptions last changed.
    changed: BTreeMap<u32, Duration>,
    /// Per publisher stream: SUBSCRIBEs it delivered (event number, topic).
    heard: BTreeMap<u64, Vec<(u64, Vec<u8>)>>,
    /// When each stream came up (event number).
    stream_up: BTreeMap<u64, u64>,
    readers: BTreeMap<u64, WireReader>,
    /// Per subscriber stream: the topic frame of the message in progress.
    topic: BTreeMap<u64, Vec<u8>>,
    /// Per subscriber stream: messages it carried so far.
    carried: BTreeMap<u64, u32>,
    /// Per subscriber and message: the stream and position it crossed at.
    crossed: BTreeMap<(u32, MsgId), (u64, u32)>,
    /// Per subscriber stream: the last position the application received, and the last
    /// message (per sender) the stream carried.
    app_pos: BTreeMap<u64, u32>,
    wire_last: BTreeMap<(u64, u32), u64>,
    got: BTreeSet<(u32, MsgId)>,
    /// Per (socket, key): intervals its handshake was up.
    up: BTreeMap<(u32, u64), Intervals>,
    /// Per XPUB (not verbose): topics its application was told are subscribed.
    reported: BTreeMap<u32, BTreeSet<Vec<u8>>>,
    settled_checked: bool,
    scratch: Vec<WireEvent>,
}

fn publishes(ty: SocketType) -> bool {
    matches!(ty, SocketType::Pub | SocketType::Xpub)
}

fn subscribes(ty: SocketType) -> bool {
    matches!(ty, SocketType::Sub | SocketType::Xsub)
}

fn show(topic: &[u8]) -> String {
    format!("{:?}", bytes::Bytes::copy_from_slice(topic))
}

impl Subscriptions {
    fn wire_in(&mut self, m: &Model, conn: u64, bytes: &[u8], out: &mut Vec<String>) {
        let Some(c) = m.conns.get(&conn) else { return };
        let ty = m.sock(c.sock).ty;
        if !publishes(ty) && !subscribes(ty) {
            return;
        }
        let mut events = std::mem::take(&mut self.scratch);
        self.readers.entry(conn).or_default().feed(bytes, &mut events);
        for e in events.drain(..) {
            match e {
                WireEvent::Subscription { subscribe: true, topic } if publishes(ty) => {
                    self.heard.entry(conn).or_default().push((m.event, topic));
                }
                WireEvent::Envelope(t) if subscribes(ty) => {
                    self.topic.entry(conn).or_insert(t);
                }
                WireEvent::Message(id) if subscribes(ty) => {
                    let topic = self.topic.remove(&conn).unwrap_or_default();
                    self.crossed_wire(m, conn, c.sock, id, &topic, out);
                }
                WireEvent::Broken(what) => out.push(format!("stream c{conn}: {what}")),
                _ => {}
            }
        }
        self.scratch = events;
    }

    /// Message `id` with `topic` crossed stream `conn` into subscriber `sock`.
    fn crossed_wire(
        &mut self,
        m: &Model,
        conn: u64,
        sock: u32,
        id: MsgId,
        topic: &[u8],
        out: &mut Vec<String>,
    ) {
        let pos = self.carried.entry(conn).or_default();
        let here = *pos;
        *pos += 1;
        let prev = self.wire_last.insert((conn, id.sender), id.seq);
        if let Some(prev) = prev.filter(|&p| p >= id.seq) {
            out.push(format!("stream c{conn} carried {id} after s{}#{prev}", id.sender));
        }
        if self.crossed.insert((sock, id), (conn, here)).is_some() {
            out.push(format!("{id} reached {} twice", m.describe(sock)));
        }
        // The publisher's end of the stream, and every stream of that connection.
        let Some(far) = m.far(conn) else { return };
        let Some(fc) = m.conns.get(&far) else { return };
        let by = fc.sock;
        let Some(p) = self.published.get(&id).and_then(|v| v.iter().rev().find(|p| p.by == by))
        else {
            return out.push(format!(
                "{id} crossed c{conn} from {}, which never sent it",
                m.describe(by)
            ));
        };
        if p.topic != topic {
            out.push(format!(
                "{id} crossed c{conn} with topic {} but was published with {}",
                show(topic),
                show(&p.topic)
            ));
        }
        let streams = m.sock(fc.sock).keys.get(&fc.key).map(|k| k.streams.clone());
        let up = |s: u64| self.stream_up.get(&s).copied().unwrap_or(0);
        let asked = streams.unwrap_or_default().iter().any(|&s| {
            let before_stream = s == far || p.event < up(far);
            before_stream
                && self.heard.get(&s).is_some_and(|h| {
                    h.iter().any(|(ev, t)| *ev < p.event && p.topic.starts_with(t))
                })
        });
        if !asked {
            out.push(format!(
                "{} sent {id} (topic {}) over c{far} to {}, whose subscriptions it had heard \
                 over that connection match none of it (PUB-01)",
                m.describe(by),
                show(&p.topic),
                m.describe(sock)
            ));
        }
    }

    fn received(
        &mut self,
        m: &Model,
        sock: u32,
        envelope: &[ferromq::Msg],
        parts: &[ferromq::Msg],
        out: &mut Vec<String>,
    ) {
        let Some(h) = parts.first().and_then(|p| payload::parse_header(p).ok()) else {
            return out.push(format!("{} received a message that is not one", m.describe(sock)));
        };
        let id = h.id;
        if !self.got.insert((sock, id)) {
            out.push(format!("{} received {id} twice", m.describe(sock)));
        }
        if let Err(e) = parts.iter().try_for_each(|p| payload::parse(p).map(drop)) {
            out.push(format!("{} received a corrupt {id}: {e}", m.describe(sock)));
        }
        let topic = envelope.first().map(|t| t.to_vec()).unwrap_or_default();
        if m.sock(sock).ty == SocketType::Sub {
            let held = self.held.get(&sock).cloned().unwrap_or_default();
            let inverted = m.sock(sock).opts.invert_matching;
            if matches(&held, &topic) == inverted {
                out.push(format!(
                    "{} received {id} (topic {}) while subscribed to {:?} (SUB-05)",
                    m.describe(sock),
                    show(&topic),
                    held.keys().map(|t| show(t)).collect::<Vec<_>>()
                ));
            }
        }
        if let Some(&(conn, pos)) = self.crossed.get(&(sock, id)) {
            if self.app_pos.insert(conn, pos).is_some_and(|prev| prev >= pos) {
                out.push(format!(
                    "{} received {id} out of the order stream c{conn} carried it",
                    m.describe(sock)
                ));
            }
        } else {
            out.push(format!("{} received {id}, which no stream carried to it", m.describe(sock)));
        }
    }

    fn notified(
        &mut self,
        m: &Model,
        sock: u32,
        subscribe: bool,
        topic: &[u8],
        out: &mut Vec<String>,
    ) {
        let o = &m.sock(sock).opts;
        if o.xpub_verbose || o.xpub_verboser || o.xpub_manual {
            return;
        }
        let r = self.reported.entry(sock).or_default();
        let news = if subscribe { r.insert(topic.to_vec()) } else { r.remove(topic) };
        if !news {
            let what = if subscribe { "a subscription to" } else { "a cancel of" };
            out.push(format!(
                "{} reported {what} {} twice in a row (XPUB-03)",
                m.describe(sock),
                show(topic)
            ));
        }
    }

    fn connected_throughout(
        &self,
        m: &Model,
        sub: u32,
        publisher: u32,
        from: Duration,
        to: Duration,
    ) -> bool {
        m.sock(sub).keys.keys().any(|&k| {
            m.peer_of(sub, k) == Some(publisher)
                && self.up.get(&(sub, k)).is_some_and(|iv| {
                    iv.iter().any(|&(s, e)| s <= from && e.is_none_or(|e| e >= to))
                })
        })
    }

    /// When sending stops: each XPUB's reported topics are what its live subscribers hold.
    fn check_settled(&self, m: &Model, out: &mut Vec<String>) {
        for (&xpub, reported) in &self.reported {
            let x = m.sock(xpub);
            if x.died.is_some() || x.closed.is_some() {
                continue;
            }
            let mut want = BTreeSet::new();
            for (&sub, held) in &self.held {
                let s = m.sock(sub);
                let linked =
                    s.keys.iter().any(|(&k, info)| info.up && m.peer_of(sub, k) == Some(xpub));
                if s.died.is_none() && s.closed.is_none() && linked {
                    want.extend(held.keys().cloned());
                }
            }
            if *reported != want {
                out.push(format!(
                    "when sending stopped, {} had reported {:?} as subscribed, but its \
                     subscribers hold {:?} (XPUB-04)",
                    m.describe(xpub),
                    reported.iter().map(|t| show(t)).collect::<Vec<_>>(),
                    want.iter().map(|t| show(t)).collect::<Vec<_>>()
                ));
            }
        }
    }
}

impl Oracle for Subscriptions {
    fn interests(&self) -> u32 {
        kinds::SOCKET_OPENED
            | kinds::SENT
            | kinds::SEND_TIMED_OUT
            | kinds::RECEIVED
            | kinds::WIRE_IN
            | kinds::STREAM_UP
            | kinds::UP
            | kinds::DOWN
            | kinds::SUBSCRIPTION
            | kinds::NOTIFIED
            | kinds::FORWARDED
            | kinds::TICK
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::SocketOpened { sock, ty: SocketType::Xpub, opts, .. }
                if !(opts.xpub_verbose || opts.xpub_verboser || opts.xpub_manual) =>
            {
                self.reported.insert(sock, BTreeSet::new());
            }
            Event::Sent { id, topic, .. } if publishes(m.sock(id.sender).ty) => {
                let topic = topic.unwrap_or_default().to_vec();
                let p = Published { by: id.sender, event: m.event, at: m.now, topic };
                self.published.entry(id).or_default().push(p);
            }
            Event::Forwarded { by, id, topic } if publishes(m.sock(by).ty) => {
                let p = Published { by, event: m.event, at: m.now, topic: topic.to_vec() };
                self.published.entry(id).or_default().push(p);
            }
            Event::SendTimedOut { sock }
                if publishes(m.sock(sock).ty) && !m.sock(sock).opts.xpub_nodrop =>
            {
                out.push(format!(
                    "{} blocked in send: a PUB drops for a full subscriber, it never waits \
                     (PUB-04)",
                    m.describe(sock)
                ));
            }
            Event::Received { sock, envelope, parts } if subscribes(m.sock(sock).ty) => {
                self.received(m, sock, envelope, parts, out)
            }
            Event::WireIn { conn, bytes } => self.wire_in(m, conn, bytes, out),
            Event::StreamUp { conn, .. } => {
                self.stream_up.insert(conn, m.event);
            }
            Event::Up { sock, key } => {
                self.up.entry((sock, key)).or_default().push((m.now, None));
            }
            Event::Down { sock, key, .. } => {
                if let Some(last) = self.up.get_mut(&(sock, key)).and_then(|v| v.last_mut()) {
                    last.1.get_or_insert(m.now);
                }
            }
            Event::Subscription { sock, subscribe, topic } => {
                let held = self.held.entry(sock).or_default();
                if subscribe {
                    *held.entry(topic.to_vec()).or_default() += 1;
                } else if let Some(n) = held.get_mut(topic) {
                    *n -= 1;
                    if *n == 0 {
                        held.remove(topic);
                    }
                }
                self.changed.insert(sock, m.now);
            }
            Event::Notified { sock, subscribe, topic } => {
                self.notified(m, sock, subscribe, topic, out)
            }
            Event::Tick => {
                let send_end = m.timeline.map(|t| t.send_end);
                if !self.settled_checked && send_end.is_some_and(|t| m.now >= t) {
                    self.settled_checked = true;
                    self.check_settled(m, out);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, m: &Model, out: &mut Vec<String>, _: &mut super::Excused) {
        let Some(t) = m.timeline else { return };
        let quiet_from = t.faults_end + SETTLE;
        let mut missed = Vec::new();
        for (&id, p) in self.published.iter().flat_map(|(id, v)| v.iter().map(move |p| (id, p))) {
            if p.at < quiet_from || p.at >= t.send_end {
                continue;
            }
            let publisher = m.sock(p.by);
            if publisher.died.is_some() {
                continue;
            }
            for (&sub, held) in &self.held {
                let s = m.sock(sub);
                let steady = self.changed.get(&sub).is_none_or(|&c| c + SETTLE <= p.at);
                let open = s.died.is_none() && s.closed.is_none_or(|(_, at)| at >= t.send_end);
                let allowed = m.edges.contains(&(publisher.role.clone(), s.role.clone()));
                if !steady || !open || !allowed || !matches(held, &p.topic) {
                    continue;
                }
                if !self.connected_throughout(m, sub, p.by, p.at - SETTLE, t.send_end) {
                    continue;
                }
                if !self.got.contains(&(sub, id)) {
                    missed.push((id, p.by, sub, p.at, p.topic.clone()));
                }
            }
        }
        let total = missed.len();
        for (id, by, sub, at, topic) in missed.into_iter().take(5) {
            out.push(format!(
                "{id} (topic {}) from {}, published in the quiet phase at {} ms, never reached \
                 {}, which had held a matching subscription and a connection to it since {} ms \
                 before ({total} such in all)",
                show(&topic),
                m.describe(by),
                at.as_millis(),
                m.describe(sub),
                SETTLE.as_millis()
            ));
        }
    }
}
