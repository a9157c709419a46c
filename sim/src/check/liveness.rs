//! Liveness: safety alone passes a stack that delivers nothing. In the quiet phase (from
//! [`SETTLE`] after the faults stop, when every stream a partition left stalled has been
//! found dead, until sending stops), a message sent must be received within
//! [`DELIVERY_BOUND`] (enough for a connect side still backing off to come back), and a socket
//! that keeps trying to send while a connection is up must get a message accepted within
//! [`PROGRESS_BOUND`]. A queue that stops moving while every connection stays up fails here,
//! even though it loses nothing.

use super::{Event, Model, Oracle, kinds};
use crate::payload::{self, MsgId};
use ferromq::SocketType;
use ferromq::proto::CloseReason;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// After the faults stop, how long until the quiet phase starts: a stream a partition stalled
/// is found dead within the heartbeat interval plus timeout.
pub const SETTLE: Duration = Duration::from_secs(1);
/// How long a message sent in the quiet phase may take to arrive.
pub const DELIVERY_BOUND: Duration = Duration::from_secs(4);
/// How long a sender with a connection up may go without a message accepted while it tries.
pub const PROGRESS_BOUND: Duration = Duration::from_millis(1500);

#[derive(Debug, Default)]
struct Sender {
    last_accepted: Option<Duration>,
    /// A send timed out since the last accepted message.
    blocked_since: Option<Duration>,
    reported: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Liveness {
    /// Messages sent in the quiet phase, oldest first, with the connection that took them.
    due: VecDeque<(MsgId, Duration, Option<u64>)>,
    /// Arrived, or exempt: their connection went down before the bound (the delivery oracle
    /// judges those at the end).
    settled: BTreeSet<MsgId>,
    senders: BTreeMap<u32, Sender>,
}

impl Liveness {
    /// When the quiet phase starts, and whether it is on now.
    fn quiet(m: &Model) -> Option<Duration> {
        let t = m.timeline?;
        let from = t.faults_end + SETTLE;
        (m.now >= from && m.now < t.send_end).then_some(from)
    }
}

impl Oracle for Liveness {
    fn interests(&self) -> u32 {
        kinds::SENT | kinds::SEND_TIMED_OUT | kinds::DOWN | kinds::RECEIVED | kinds::TICK
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            // Publish-subscribe has its own oracle.
            Event::Sent { id, .. } if super::judged_apart(m.sock(id.sender)) => {}
            Event::SendTimedOut { sock } if super::judged_apart(m.sock(sock)) => {}
            Event::Sent { id, key, re, .. } => {
                let s = self.senders.entry(id.sender).or_default();
                s.last_accepted = Some(m.now);
                s.blocked_since = None;
                // A reply may be stale by the time it arrives, and a ROUTER's drop is judged
                // when it happens: the request-reply oracle bounds answers instead.
                let routed = matches!(m.sock(id.sender).ty, SocketType::Router | SocketType::Rep);
                let dropped = routed && key.is_none();
                if Self::quiet(m).is_some() && re.is_none() && !dropped {
                    self.due.push_back((id, m.now, key));
                }
            }
            Event::Down { sock, key, .. } => {
                // A peer that went away: what it was owed is the delivery oracle's to judge.
                let gone =
                    self.due.iter().filter(|(id, _, k)| id.sender == sock && *k == Some(key));
                self.settled.extend(gone.map(|(id, _, _)| *id));
            }
            Event::SendTimedOut { sock } => {
                let s = self.senders.entry(sock).or_default();
                s.blocked_since.get_or_insert(m.now);
            }
            Event::Received { parts, .. } => {
                if let Some(h) = parts.first().and_then(|p| payload::parse_header(p).ok()) {
                    self.settled.insert(h.id);
                }
            }
            Event::Tick => {
                while let Some(&(id, at, _)) = self.due.front() {
                    if self.settled.remove(&id) {
                        self.due.pop_front();
                        continue;
                    }
                    if m.now < at + DELIVERY_BOUND {
                        break;
                    }
                    self.due.pop_front();
                    out.push(format!(
                        "{id} from {}, sent in the quiet phase at {} ms, did not arrive within {} \
                         ms: delivery stopped",
                        m.describe(id.sender),
                        at.as_millis(),
                        DELIVERY_BOUND.as_millis()
                    ));
                }
                let Some(from) = Self::quiet(m) else { return };
                for (&sock, s) in &mut self.senders {
                    let sk = m.sock(sock);
                    let (Some(since), false) = (s.blocked_since, s.reported) else { continue };
                    let last = s.last_accepted.unwrap_or(Duration::ZERO).max(since).max(from);
                    // A connection up to a peer that is itself closing (draining what it
                    // owes, reading nothing) is not one to make progress over.
                    let live = sk.keys.iter().any(|(&key, k)| {
                        k.up && m.peer_of(sock, key).is_some_and(|p| {
                            let p = m.sock(p);
                            p.closed.is_none() && p.died.is_none()
                        })
                    });
                    let stalled = live
                        && sk.closed.is_none()
                        && sk.died.is_none()
                        && m.now >= last + PROGRESS_BOUND;
                    if stalled {
                        s.reported = true;
                        out.push(format!(
                            "{} kept trying to send for {} ms with a connection up and got nothing \
                             accepted: its queues stopped moving",
                            m.describe(sock),
                            (m.now - last).as_millis()
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// A live peer is never taken for dead. A connection may be closed for a heartbeat timeout or
/// an expired TTL only when something could have silenced its peer not long before: a fault
/// window (a partition, a hold, a crash) or, in the fault phase, a stalled stream. In calm
/// time a peer that is merely slow, or whose PONG sits unread behind data a slow application
/// holds back, must stay up.
#[derive(Debug)]
pub struct NoFalseDeath;

impl Oracle for NoFalseDeath {
    fn interests(&self) -> u32 {
        kinds::DOWN
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        let Event::Down { sock, key, reason } = *e else { return };
        if !matches!(reason, CloseReason::HeartbeatTimeout | CloseReason::TtlExpired) {
            return;
        }
        // The silence it noticed began at most this long ago: one interval to the PING, the
        // timeout (or the peer's TTL, which the scenarios keep within the same), and a
        // stall's worth of margin.
        let o = &m.sock(sock).opts;
        let hb = o.heartbeat_ivl.unwrap_or_default()
            + o.heartbeat_timeout.or(o.heartbeat_ivl).unwrap_or_default()
            + o.heartbeat_ttl.unwrap_or_default();
        let since = m.now.saturating_sub(hb + crate::plan::MAX_STALL + SLACK);
        let stalls = m.stream_faults && since <= m.faults_end();
        if stalls || m.faulty(since, m.now) {
            return;
        }
        // A peer that already let this stream go was dead to it, however late it is noticed
        // (a slow application decoding held-back input keeps a dead peer's stream up longer).
        let stream = m.sock(sock).keys.get(&key).and_then(|k| k.streams.last().copied());
        let far = stream.and_then(|c| m.far(c)).and_then(|f| m.conns.get(&f).map(|i| (f, i)));
        let far_alive = far.is_some_and(|(f, i)| {
            let s = m.sock(i.sock);
            s.died.is_none() && s.keys.get(&i.key).is_some_and(|k| k.up && k.conn == Some(f))
        });
        if !far_alive {
            return;
        }
        out.push(format!(
            "{} k{key} declared its peer dead ({reason}) with no fault since {:?}: a live peer \
             was taken for dead",
            m.describe(sock),
            since
        ));
    }
}

/// Scheduling margin for [`NoFalseDeath`]: ticks, latency.
const SLACK: Duration = Duration::from_millis(200);
