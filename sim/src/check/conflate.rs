//! CONFLATE, judged from outside. A conflating socket may drop any message but the
//! newest, so the one-to-one oracles, which count every loss, leave it alone
//! ([`super::judged_apart`]) and this one asks what conflation still promises:
//!
//! * **Whole, once, in order**: every message received is one a sender sent, uncorrupted, with
//!   all its parts (a multipart message is kept or replaced whole), never twice; per stream
//!   that carried them, the messages received rise in the order they were sent: never an older
//!   one after a newer (a conflating queue keeps the newest, not the oldest). Across streams
//!   there is no order: a receiver can still hold a message from a connection that broke
//!   while it already has newer ones from the connection that replaced it, each in its pipe.
//! * **The newest arrives**: a sender's last message, sent in the quiet phase, reaches the peer
//!   whose pipe took it when that peer stayed alive and open to the end and the connection
//!   did not break after the send — also when the sender closed right after sending it, with a
//!   linger (a close must not take the place of the message before it). Excused only when the
//!   receiver's pipe took a newer message after it: a connect side keeps its pipe across
//!   reconnects, so the next peer's messages may replace the last one of a peer that left.

use super::{Event, Model, Oracle, kinds};
use crate::payload::{self, MsgId};
use crate::wire::{WireEvent, WireReader};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Debug)]
struct Last {
    id: MsgId,
    at: Duration,
    event: u64,
    key: Option<u64>,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Newest {
    /// Per conflating sender, its newest message.
    newest: BTreeMap<u32, Last>,
    /// Messages sent by conflating senders.
    sent: BTreeSet<MsgId>,
    /// Per (receiver, sender, stream), the newest message number received.
    seen: BTreeMap<(u32, u32, u64), u64>,
    received: BTreeSet<MsgId>,
    readers: BTreeMap<u64, WireReader>,
    /// The stream that carried each message to a conflating receiver, and when (event).
    carried: BTreeMap<MsgId, (u64, u64)>,
    /// Per receiving connection (socket, key): when it last carried a message in (event).
    last_in: BTreeMap<(u32, u64), u64>,
    scratch: Vec<WireEvent>,
}

impl Newest {
    fn received(&mut self, m: &Model, sock: u32, parts: &[ferromq::Msg], out: &mut Vec<String>) {
        let who = m.describe(sock);
        let mut id = None;
        for (i, p) in parts.iter().enumerate() {
            let h = match payload::parse(p) {
                Ok(h) => h,
                Err(why) => return out.push(format!("{who} received a bad part: {why}")),
            };
            if *id.get_or_insert(h.id) != h.id
                || h.index as usize != i
                || h.count as usize != parts.len()
            {
                return out.push(format!(
                    "{who} received {} with part {i} of {} being part {} of {} of {}: a \
                     conflating queue must keep or replace a message whole",
                    id.unwrap_or(h.id),
                    parts.len(),
                    h.index,
                    h.count,
                    h.id
                ));
            }
        }
        let Some(id) = id else { return };
        if !self.sent.contains(&id) {
            return out.push(format!("{who} received {id}, which no conflating sender sent"));
        }
        if !self.received.insert(id) {
            return out.push(format!("{who} received {id} again"));
        }
        let Some(&(conn, _)) = self.carried.get(&id) else {
            return out.push(format!("{who} received {id}, which no stream carried to it"));
        };
        if let Some(&prev) = self.seen.get(&(sock, id.sender, conn))
            && id.seq < prev
        {
            out.push(format!(
                "{who} received {id} after s{}#{prev}, which stream c{conn} carried after it: \
                 a conflating queue keeps the newest message, not an older one",
                id.sender
            ));
        }
        self.seen.insert((sock, id.sender, conn), id.seq);
    }

    fn wire_in(&mut self, m: &Model, conn: u64, bytes: &[u8], out: &mut Vec<String>) {
        let Some(c) = m.conns.get(&conn).filter(|c| m.sock(c.sock).opts.conflate) else {
            return;
        };
        let mut events = std::mem::take(&mut self.scratch);
        self.readers.entry(conn).or_default().feed(bytes, &mut events);
        for e in events.drain(..) {
            match e {
                WireEvent::Message(id) => {
                    self.carried.entry(id).or_insert((conn, m.event));
                    self.last_in.insert((c.sock, c.key), m.event);
                }
                WireEvent::Broken(what) => out.push(format!("stream c{conn}: {what}")),
                _ => {}
            }
        }
        self.scratch = events;
    }

    /// Why the newest message of `sender` is not owed, if it is not.
    fn excuse(&self, m: &Model, sender: u32, last: &Last) -> Option<&'static str> {
        if let Some(&(conn, at)) = self.carried.get(&last.id) {
            let replaced = m
                .conns
                .get(&conn)
                .and_then(|c| self.last_in.get(&(c.sock, c.key)))
                .is_some_and(|&e| e > at);
            if replaced {
                return Some("the receiver's pipe took a newer message after it");
            }
        }
        let t = m.timeline?;
        if last.at < t.faults_end + super::liveness::SETTLE || last.at >= t.send_end {
            return Some("not sent in the quiet phase");
        }
        let s = m.sock(sender);
        if s.died.is_some() {
            return Some("its sender crashed");
        }
        if s.closed.is_some() && s.opts.linger == Some(Duration::ZERO) {
            return Some("its sender closed with LINGER 0");
        }
        let Some(key) = last.key else { return Some("no pipe took it") };
        let Some(k) = s.keys.get(&key) else { return Some("no pipe took it") };
        if k.last_lost.is_some_and(|e| e > last.event) {
            return Some("its connection broke after the send");
        }
        let Some(peer) = m.peer_of(sender, key) else { return Some("no peer ever took it") };
        let p = m.sock(peer);
        if p.died.is_some() || p.closed.is_some_and(|(_, at)| at < t.close_receivers) {
            return Some("its receiver left");
        }
        None
    }
}

impl Oracle for Newest {
    fn interests(&self) -> u32 {
        kinds::SENT | kinds::RECEIVED | kinds::WIRE_IN
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::Sent { id, key, .. } if m.sock(id.sender).opts.conflate => {
                self.sent.insert(id);
                self.newest.insert(id.sender, Last { id, at: m.now, event: m.event, key });
            }
            Event::Received { sock, parts, .. } if m.sock(sock).opts.conflate => {
                self.received(m, sock, parts, out);
            }
            Event::WireIn { conn, bytes } => self.wire_in(m, conn, bytes, out),
            _ => {}
        }
    }

    fn finish(&mut self, m: &Model, out: &mut Vec<String>, _excused: &mut super::Excused) {
        for (&sender, last) in &self.newest {
            if self.received.contains(&last.id) || self.excuse(m, sender, last).is_some() {
                continue;
            }
            let ms = last.at.as_millis();
            let to = last
                .key
                .and_then(|k| m.peer_of(sender, k))
                .map_or("its peer".to_owned(), |p| m.describe(p));
            out.push(format!(
                "{}, the newest message of {}, sent at {}.{:03} s, never reached {to}, which \
                 stayed: conflation may drop older messages, never the newest (Q-10)",
                last.id,
                m.describe(sender),
                ms / 1000,
                ms % 1000
            ));
        }
    }
}
