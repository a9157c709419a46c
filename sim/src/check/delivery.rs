//! Delivery: every message is delivered once, intact, to a peer it may reach, in order per
//! stream, and whole; a message is lost only where a named reason allows it.
//!
//! The oracle reads each stream's bytes with its own ZMTP reader (`wire.rs`), so it knows
//! which stream carried which message in which position; the application's receives must then
//! come in that order per stream (so a receiving side that drops or reorders is caught). At
//! the end, each message never received needs an [`Excuse`] that applies to *it*: the stream it
//! was written on broke, its sender crashed, its receiver left, it sat in a queue whose
//! accepted peer was gone, its sender's close ran out of linger while faults were possible, or
//! a PAIR refused the stream it crossed. A graceful close is never an excuse.

use super::{Event, Excuse, Excused, Model, Oracle, kinds};
use crate::payload::{self, MsgId};
use crate::wire::{WireEvent, WireReader};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug)]
struct Sent {
    event: u64,
    at: Duration,
    /// The connection whose pipe took it, when known, and the first of its streams that
    /// could carry it (the current one, or the next).
    key: Option<(u64, usize)>,
    received: bool,
}

#[derive(Debug, Default)]
struct Wire {
    reader: WireReader,
    msgs: u32,
    delivered: u32,
    last: Option<MsgId>,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Delivery {
    sent: BTreeMap<MsgId, Sent>,
    incoming: BTreeMap<u64, Wire>,
    outgoing: BTreeMap<u64, WireReader>,
    /// The stream each message crossed, and its position there.
    on_wire: BTreeMap<MsgId, (u64, u32)>,
    /// The first stream each message was written on.
    written_on: BTreeMap<MsgId, u64>,
    /// Sockets one of whose streams was dropped with bytes unwritten after their close.
    linger_cut: BTreeMap<u32, bool>,
    scratch: Vec<WireEvent>,
}

impl Delivery {
    fn wire_in(&mut self, conn: u64, bytes: &[u8], out: &mut Vec<String>) {
        let mut events = std::mem::take(&mut self.scratch);
        let w = self.incoming.entry(conn).or_default();
        w.reader.feed(bytes, &mut events);
        for e in events.drain(..) {
            match e {
                WireEvent::Broken(what) => out.push(format!("stream c{conn}: {what}")),
                WireEvent::Message(id) => {
                    let w = self.incoming.get_mut(&conn).expect("just inserted");
                    let pos = w.msgs;
                    w.msgs += 1;
                    if let Some(p) =
                        w.last.replace(id).filter(|p| p.sender == id.sender && p.seq >= id.seq)
                    {
                        out.push(format!(
                            "order broken on stream c{conn}: {id} came after {p} from the same socket"
                        ));
                    }
                    if let Some((c, _)) = self.on_wire.insert(id, (conn, pos)) {
                        out.push(format!("{id} crossed the wire twice (c{c}, then c{conn})"));
                    }
                }
            }
        }
        self.scratch = events;
    }

    fn wire_out(&mut self, conn: u64, bytes: &[u8]) {
        let mut events = std::mem::take(&mut self.scratch);
        self.outgoing.entry(conn).or_default().feed(bytes, &mut events);
        for e in events.drain(..) {
            if let WireEvent::Message(id) = e {
                self.written_on.entry(id).or_insert(conn);
            }
        }
        self.scratch = events;
    }

    fn received(&mut self, m: &Model, sock: u32, parts: &[ferromq::Msg], out: &mut Vec<String>) {
        let who = || m.describe(sock);
        let mut id = None;
        for (i, p) in parts.iter().enumerate() {
            let h = match payload::parse(p) {
                Ok(h) => h,
                Err(e) => return out.push(format!("{who} received a bad part: {e}", who = who())),
            };
            let first = *id.get_or_insert(h.id);
            if h.id != first || usize::from(h.index) != i || usize::from(h.count) != parts.len() {
                return out.push(format!(
                    "{who} received a broken multipart message: part {}/{} of {} at position \
                     {i} of {} (first part from {first})",
                    h.index,
                    h.count,
                    h.id,
                    parts.len(),
                    who = who()
                ));
            }
        }
        let Some(id) = id else { return };
        let sender = || m.describe(id.sender);
        let Some(sent) = self.sent.get_mut(&id) else {
            return out.push(format!(
                "{who} received {id}, which {sender} never sent",
                who = who(),
                sender = sender()
            ));
        };
        if std::mem::replace(&mut sent.received, true) {
            return out.push(format!("{who} received {id} twice", who = who()));
        }
        let (from, to) = (&m.sock(id.sender).role, &m.sock(sock).role);
        if !m.edges.iter().any(|(a, b)| a == from && b == to) {
            out.push(format!(
                "{who} received {id} from {sender}: not a peer it may hear",
                who = who(),
                sender = sender()
            ));
        }
        let Some(&(conn, pos)) = self.on_wire.get(&id) else {
            return out
                .push(format!("{who} received {id}, which no stream delivered", who = who()));
        };
        let Some(c) = m.conns.get(&conn) else { return };
        if c.sock != sock {
            return out.push(format!(
                "{id} crossed c{conn} to s{} but {who} got it",
                c.sock,
                who = who()
            ));
        }
        if m.sock(sock).keys.get(&c.key).is_some_and(|k| k.refused) {
            out.push(format!(
                "{who} delivered {id} from a second peer it had to refuse (PAIR-02, stream c{conn})", who = who()));
        }
        let w = self.incoming.get_mut(&conn).expect("a stream that delivered");
        if pos != w.delivered {
            out.push(format!(
                "{who} received {id}, message {pos} of stream c{conn}, while message {} of that \
                 stream was never received: lost or reordered after it crossed the wire",
                w.delivered,
                who = who()
            ));
        } else {
            w.delivered += 1;
        }
    }

    /// Why an unreceived message is excused, if anything excuses it.
    fn excuse(&self, m: &Model, id: &MsgId, s: &Sent) -> Option<Excuse> {
        let sender = m.sock(id.sender);
        if sender.died.is_some_and(|d| d > s.event) {
            return Some(Excuse::SenderCrashed);
        }
        let queue = s.key.and_then(|(k, _)| sender.keys.get(&k));
        // The stream it went out on, or else every stream of the connection it was queued for
        // from when it was sent (it sat in their engine or pipe).
        let streams: Vec<u64> = match (self.written_on.get(id), s.key, queue) {
            (Some(&c), _, _) => vec![c],
            (None, Some((_, from)), Some(k)) => k.streams.get(from..).unwrap_or(&[]).to_vec(),
            _ => Vec::new(),
        };
        // A stream it was written on, or might have sat in (its engine), broke: before or after
        // the send, since a sender learns of a break late.
        if streams.iter().any(|&c| m.broke(c).is_some()) {
            return Some(Excuse::StreamBroke);
        }
        for far in streams.iter().filter_map(|&c| m.far(c)).filter_map(|f| m.conns.get(&f)) {
            let r = m.sock(far.sock);
            // Before or after the send: a sender learns late that its receiver is gone.
            let left = r.died.is_some() || r.closed.is_some_and(|(_, at)| at < m.faults_end());
            if left {
                return Some(Excuse::ReceiverLeft);
            }
            if r.keys.get(&far.key).is_some_and(|k| k.refused) {
                return Some(Excuse::RefusedByPair);
            }
        }
        // PUSH-04: an accepted peer's queue dies with its connection, when the peer goes.
        if queue.is_some_and(|k| !k.connect && (k.last_lost.is_some_and(|d| d > s.event) || !k.up))
        {
            return Some(Excuse::DeadPeerQueue);
        }
        if let Some((_, at)) = sender.closed.filter(|&(ev, _)| ev > s.event) {
            let linger = sender.opts.linger.unwrap_or(Duration::MAX);
            let ran_out = self.linger_cut.get(&id.sender).copied().unwrap_or(false)
                || sender.finished.is_some_and(|f| f + Duration::from_millis(2) >= at + linger);
            if ran_out && (at < m.faults_end() || m.faulty(at, at.saturating_add(linger))) {
                return Some(Excuse::LingerRanOut);
            }
        }
        None
    }
}

impl Oracle for Delivery {
    fn interests(&self) -> u32 {
        kinds::SENT | kinds::WIRE_IN | kinds::WIRE_OUT | kinds::RECEIVED | kinds::STREAM_DROPPED
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::Sent { id, key } => {
                let key = key.map(|k| {
                    let info = m.sock(id.sender).keys.get(&k);
                    let n = info.map_or(0, |i| i.streams.len());
                    let current = info.is_some_and(|i| i.conn.is_some());
                    (k, n - usize::from(current && n > 0))
                });
                self.sent.insert(id, Sent { event: m.event, at: m.now, key, received: false });
            }
            Event::WireIn { conn, bytes } => self.wire_in(conn, bytes, out),
            Event::WireOut { conn, bytes } => self.wire_out(conn, bytes),
            Event::Received { sock, parts } => self.received(m, sock, parts, out),
            Event::StreamDropped { sock, unflushed, .. }
                if unflushed > 0 && m.sock(sock).closed.is_some() =>
            {
                self.linger_cut.insert(sock, true);
            }
            _ => {}
        }
    }

    fn finish(&mut self, m: &Model, out: &mut Vec<String>, excused: &mut Excused) {
        let mut lost = Vec::new();
        for (id, s) in &self.sent {
            if s.received {
                continue;
            }
            match self.excuse(m, id, s) {
                Some(why) => *excused.entry(why).or_default() += 1,
                None => lost.push((*id, s.at)),
            }
        }
        let total = lost.len();
        for (id, at) in lost.into_iter().take(5) {
            let who = m.describe(id.sender);
            let ms = at.as_millis();
            let stream = self
                .written_on
                .get(&id)
                .map_or("never written".to_owned(), |c| format!("written on c{c}"));
            out.push(format!(
                "{id} from {who}, sent at {}.{:03} s ({stream}), was never received, and nothing \
                 excuses it: its stream did not break, its sender and receiver stayed, no queue \
                 to a vanished peer held it, and its close did not run out of linger under \
                 faults ({total} such message(s) in all)",
                ms / 1000,
                ms % 1000
            ));
        }
    }
}
