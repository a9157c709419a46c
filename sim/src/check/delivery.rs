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
//!
//! Request-reply adds routing. A ROUTER (or REP) that drops a message must have had cause, judged
//! when it drops: no connection up with a pipe to the peer it named (ROUTER-02, REP-04), or,
//! without MANDATORY, as many of its messages to that peer waiting unwritten as the peer's
//! SNDHWM (ROUTER-03); under MANDATORY it never drops. A message a ROUTER sends must reach the
//! socket its routing id names: the one whose messages came in under that id. A reply its
//! client gave up on (closed, or asked again with REQ_RELAXED) may be lost.

use super::{Event, Excuse, Excused, Model, Oracle, kinds};
use crate::payload::{self, MsgId};
use crate::wire::{WireEvent, WireReader};
use bytes::Bytes;
use ferromq::SocketType;
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
    /// The routing id a ROUTER sent it to.
    to: Option<Bytes>,
    /// The request it answers.
    re: Option<MsgId>,
    /// A ROUTER or REP dropped it, for this reason.
    dropped: Option<Excuse>,
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
    /// Per ROUTER and routing id its application saw: the connection its messages came over.
    owners: BTreeMap<(u32, Bytes), u64>,
    /// Per socket and connection: messages queued into its pipe and not yet written.
    queued: BTreeMap<(u32, u64), u64>,
    /// Per socket: its newest message (a client's newest request).
    newest: BTreeMap<u32, u64>,
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
                WireEvent::Envelope(_) | WireEvent::Subscription { .. } => {}
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
                if self.written_on.contains_key(&id) {
                    continue;
                }
                self.written_on.insert(id, conn);
                let key = self.sent.get(&id).and_then(|s| s.key);
                if let Some(q) = key.and_then(|(k, _)| self.queued.get_mut(&(id.sender, k))) {
                    *q = q.saturating_sub(1);
                }
            }
        }
        self.scratch = events;
    }

    fn received(
        &mut self,
        m: &Model,
        sock: u32,
        envelope: &[ferromq::Msg],
        parts: &[ferromq::Msg],
        out: &mut Vec<String>,
    ) {
        let who = || m.describe(sock);
        if parts.is_empty() {
            return out.push(format!(
                "{who} received {} frame(s) and no message after them",
                envelope.len(),
                who = who()
            ));
        }
        let mut id = None;
        let mut re = None;
        for (i, p) in parts.iter().enumerate() {
            let h = match payload::parse(p) {
                Ok(h) => h,
                Err(e) => return out.push(format!("{who} received a bad part: {e}", who = who())),
            };
            re = h.re;
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
        let (sent_to, went) = (sent.to.clone(), sent.key.map(|(k, _)| k));
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
        if m.sock(sock).ty == SocketType::Router {
            match envelope.first() {
                Some(rid) => self.identity(m, sock, rid.to_bytes(), id.sender, c.key, out),
                None => out.push(format!("{} received {id} with no routing id", m.describe(sock))),
            }
        }
        if let Some(to) = sent_to {
            // ROUTER-02: it went where the id names.
            let ok = if generated(&to) {
                self.owners.get(&(id.sender, to.clone())).is_none_or(|&k| Some(k) == went)
            } else {
                m.sock(sock).opts.routing_id == to
            };
            if !ok {
                out.push(format!(
                    "{} received {id}, which {} sent to routing id {to:?}: not the peer that id \
                     names",
                    m.describe(sock),
                    m.describe(id.sender)
                ));
            }
        }
        if let Some(q) = re.filter(|q| q.sender != sock) {
            self.successor(m, sock, id, q, out);
        }
        let req = m.sock(sock).ty == SocketType::Req;
        if let (true, Some(q)) = (req, re) {
            self.req05(m, sock, q, id, c.key, out);
        }
        let w = self.incoming.get_mut(&conn).expect("a stream that delivered");
        if req && pos > w.delivered {
            // A REQ drops what is not the reply it waits for (REQ-05 to REQ-07): the skipped
            // messages must be excused at the end like any loss.
            w.delivered = pos + 1;
        } else if pos != w.delivered {
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

    /// ROUTER-04: the routing id a ROUTER showed for a message from `from` that came over its
    /// connection `key`: the peer's ROUTING_ID, or a generated id (`00` and 4 octets) that no
    /// other connection ever had. (A connect side keeps its pipe, and so its id, across
    /// reconnects, even to a restarted peer: libzmq does the same.)
    fn identity(
        &mut self,
        m: &Model,
        sock: u32,
        rid: Bytes,
        from: u32,
        key: u64,
        out: &mut Vec<String>,
    ) {
        let name = &m.sock(from).opts.routing_id;
        let let_go = m.sock(sock).keys.get(&key).is_some_and(|k| k.let_go);
        if !name.is_empty() && rid != name && !let_go {
            out.push(format!(
                "{} named {} {:?}, not its ROUTING_ID {:?}",
                m.describe(sock),
                m.describe(from),
                &rid[..],
                &name[..]
            ));
        } else if !name.is_empty() && m.sock(sock).keys.get(&key).is_some_and(|k| k.let_go) {
            // ROUTER_HANDOVER: what the old holder had sent before is read under a generated
            // id, once the newcomer has its name.
            if !generated(&rid) {
                out.push(format!(
                    "{} named {} {:?} after handing its id over: neither its ROUTING_ID nor a \
                     generated id",
                    m.describe(sock),
                    m.describe(from),
                    &rid[..]
                ));
            }
        } else if name.is_empty() && !generated(&rid) {
            out.push(format!(
                "{} named anonymous {} {:?}: a generated id is 00 and 4 octets",
                m.describe(sock),
                m.describe(from),
                &rid[..]
            ));
        } else if let Some(&k) =
            self.owners.get(&(sock, rid.clone())).filter(|&&k| k != key && name.is_empty())
        {
            out.push(format!(
                "{} gave {} (over k{key}) the generated id {:?} it had given k{k}",
                m.describe(sock),
                m.describe(from),
                &rid[..]
            ));
        }
        self.owners.insert((sock, rid), key);
    }

    /// A reply reaches the socket that asked, or, when the request came over a connect side's
    /// pipe, whichever socket that pipe leads to now: a connect side keeps its pipe across
    /// reconnects, so a peer that restarted on the same endpoint (a new socket) gets the old
    /// one's replies, as in libzmq.
    fn successor(&self, m: &Model, sock: u32, id: MsgId, q: MsgId, out: &mut Vec<String>) {
        let asked_over = self.on_wire.get(&q).and_then(|(c, _)| m.conns.get(c)).map(|c| c.key);
        let replied_over = self.sent.get(&id).and_then(|s| s.key).map(|(k, _)| k);
        let replier = m.sock(id.sender);
        // A ROUTER's reply to a ROUTING_ID goes to whoever has that name now: by the ROUTER's
        // rules the same peer.
        let named = self
            .sent
            .get(&id)
            .and_then(|s| s.to.as_ref())
            .is_some_and(|to| !generated(to) && m.sock(sock).opts.routing_id == to);
        let kept = named
            || asked_over.is_some()
                && asked_over == replied_over
                && asked_over.and_then(|k| replier.keys.get(&k)).is_some_and(|k| k.connect);
        if !kept {
            out.push(format!(
                "{} received {id}, the reply to {q}, which {} asked",
                m.describe(sock),
                m.describe(q.sender)
            ));
        }
    }

    /// REQ-05: a REQ takes a reply only over the connection its newest request went out on,
    /// unless that connection's pipe is gone (REQ-09: then from any peer).
    fn req05(&self, m: &Model, sock: u32, q: MsgId, id: MsgId, came: u64, out: &mut Vec<String>) {
        let newest = MsgId { sender: sock, seq: self.newest.get(&sock).copied().unwrap_or(0) };
        let Some((went, _)) = self.sent.get(&newest).and_then(|s| s.key) else { return };
        let gone = m.sock(sock).keys.get(&went).is_none_or(|k| !k.pipe);
        if came != went && !gone {
            out.push(format!(
                "{} took {id} (a reply to {q}) from k{came}, while its request {newest} went out \
                 on k{went}, which is still there: only the peer asked may answer",
                m.describe(sock)
            ));
        }
    }

    /// Why an unreceived message is excused, if anything excuses it.
    fn excuse(&self, m: &Model, id: &MsgId, s: &Sent) -> Option<Excuse> {
        if s.dropped.is_some() {
            return s.dropped;
        }
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
            if r.keys.get(&far.key).is_some_and(|k| k.let_go) {
                return Some(Excuse::LetGoByRouter);
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
        self.gave_up(m, id, s).then_some(Excuse::ClientGaveUp)
    }

    /// A reply whose client closed or asked again after the request; a request whose client
    /// closed with LINGER 0 after sending it.
    fn gave_up(&self, m: &Model, id: &MsgId, s: &Sent) -> bool {
        match s.re {
            Some(q) => {
                let asked = self.sent.get(&q).map_or(0, |r| r.event);
                let client = m.sock(q.sender);
                client.closed.is_some_and(|(ev, _)| ev > asked)
                    || client.died.is_some_and(|ev| ev > asked)
                    || self.newest.get(&q.sender).is_some_and(|&n| n > q.seq)
            }
            None => {
                let sender = m.sock(id.sender);
                sender.ty == SocketType::Req
                    && sender.opts.linger == Some(Duration::ZERO)
                    && sender.closed.is_some_and(|(ev, _)| ev > s.event)
            }
        }
    }

    /// Why a ROUTER or REP that dropped a message had cause, or the violation.
    fn judge_drop(
        &self,
        m: &Model,
        id: MsgId,
        to: Option<&[u8]>,
        re: Option<MsgId>,
    ) -> Result<Excuse, String> {
        let sk = m.sock(id.sender);
        let who = m.describe(id.sender);
        if sk.ty == SocketType::Router && sk.opts.router_mandatory {
            return Err(format!(
                "{who} has ROUTER_MANDATORY and dropped {id} (to {to:?}) instead of refusing or \
                 blocking"
            ));
        }
        // The connections that lead to the peer it named: the one a generated id came over,
        // those to peers of that ROUTING_ID, or (REP) the one the request came over.
        let named = |key: u64| -> bool {
            match (to, re) {
                (Some(to), _) if generated(to) => {
                    self.owners.get(&(id.sender, Bytes::copy_from_slice(to))) == Some(&key)
                }
                (Some(to), _) => sk.keys[&key]
                    .streams
                    .last()
                    .and_then(|&c| m.far_socket(c))
                    .is_some_and(|p| m.sock(p).opts.routing_id == to),
                (None, Some(q)) => self
                    .on_wire
                    .get(&q)
                    .and_then(|(c, _)| m.conns.get(c))
                    .is_some_and(|c| c.key == key),
                (None, None) => false,
            }
        };
        // One whose pipe is there and takes messages.
        let reachable = sk
            .keys
            .iter()
            .find(|&(&key, k)| k.pipe && !k.let_go && (k.up || k.connect) && named(key));
        let Some((&key, _)) = reachable else { return Ok(Excuse::Unroutable) };
        let peer = sk.keys[&key].streams.last().and_then(|&c| m.far_socket(c));
        let queued = self.queued.get(&(id.sender, key)).copied().unwrap_or(0);
        // The pipe's writer learns what its reader took only every low-water mark's worth of
        // messages (libzmq's rule: half the mark, or the mark less 1024 above 2048), so it may
        // count up to that many fewer than one short of full as full.
        let hwm = sk.opts.sndhwm;
        let lwm = if hwm > 2048 { hwm - 1024 } else { hwm.div_ceil(2) };
        if hwm > 0 && queued + lwm > hwm {
            return Ok(Excuse::PeerFull);
        }
        Err(format!(
            "{who} dropped {id} for {}, reachable over k{key} with {queued} message(s) unwritten \
             of SNDHWM {}",
            peer.map_or("its peer".to_owned(), |p| m.describe(p)),
            sk.opts.sndhwm
        ))
    }
}

impl Oracle for Delivery {
    fn interests(&self) -> u32 {
        kinds::SENT | kinds::WIRE_IN | kinds::WIRE_OUT | kinds::RECEIVED | kinds::STREAM_DROPPED
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::Sent { id, .. } if super::judged_apart(m.sock(id.sender)) => {}
            Event::Received { sock, .. } if super::judged_apart(m.sock(sock)) => {}
            Event::WireIn { conn, .. } | Event::WireOut { conn, .. }
                if m.conns.get(&conn).is_some_and(|c| super::judged_apart(m.sock(c.sock))) => {}
            Event::Sent { id, key, to, re, .. } => {
                let routes = matches!(m.sock(id.sender).ty, SocketType::Router | SocketType::Rep);
                let dropped = if routes && key.is_none() {
                    match self.judge_drop(m, id, to, re) {
                        Ok(why) => Some(why),
                        Err(v) => {
                            out.push(v);
                            None
                        }
                    }
                } else {
                    None
                };
                if let Some(k) = key {
                    *self.queued.entry((id.sender, k)).or_default() += 1;
                }
                let newest = self.newest.entry(id.sender).or_default();
                *newest = (*newest).max(id.seq);
                let key = key.map(|k| {
                    let info = m.sock(id.sender).keys.get(&k);
                    let n = info.map_or(0, |i| i.streams.len());
                    let current = info.is_some_and(|i| i.conn.is_some());
                    (k, n - usize::from(current && n > 0))
                });
                let to = to.map(Bytes::copy_from_slice);
                let sent =
                    Sent { event: m.event, at: m.now, key, received: false, to, re, dropped };
                self.sent.insert(id, sent);
            }
            Event::WireIn { conn, bytes } => self.wire_in(conn, bytes, out),
            Event::WireOut { conn, bytes } => self.wire_out(conn, bytes),
            Event::Received { sock, envelope, parts } => {
                self.received(m, sock, envelope, parts, out)
            }
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

/// A routing id a ROUTER made up: `00` and a 4-octet counter (ROUTER-04).
fn generated(rid: &[u8]) -> bool {
    rid.len() == 5 && rid[0] == 0
}
