//! The checker's own reader for the bytes a connection delivered: ZMTP framing only (greeting,
//! frame headers, commands skipped), written apart from ferromq's decoder so that a bug there
//! cannot hide itself from the checker. Envelope frames before a message's first part (routing
//! ids, delimiters, request ids: short frames with MORE that are not simulator parts) are
//! skipped: the application-level checks judge envelopes.

use crate::payload::{self, MsgId, PartHeader};

const GREETING: usize = 64;
/// The longest envelope frame: a routing id is at most 255 octets.
const MAX_ENVELOPE_FRAME: usize = 255;

/// What the bytes of one connection said.
#[derive(Debug, PartialEq, Eq)]
pub enum WireEvent {
    /// A whole message arrived.
    Message(MsgId),
    /// An envelope frame before a message's first part (a routing id, a delimiter, a topic).
    Envelope(Vec<u8>),
    /// A SUBSCRIBE (`subscribe`) or CANCEL command.
    Subscription {
        /// SUBSCRIBE, or CANCEL.
        subscribe: bool,
        /// The topic.
        topic: Vec<u8>,
    },
    /// The stream broke the rules the checker relies on.
    Broken(String),
}

/// Incremental reader for one direction of one connection.
#[derive(Debug, Default)]
pub struct WireReader {
    buf: Vec<u8>,
    start: usize,
    greeted: bool,
    parts: Vec<PartHeader>,
    broken: bool,
}

impl WireReader {
    /// Feeds bytes in arrival order; returns what they completed.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<WireEvent>) {
        if self.broken {
            return;
        }
        self.buf.extend_from_slice(data);
        loop {
            let avail = &self.buf[self.start..];
            if !self.greeted {
                if avail.len() < GREETING {
                    break;
                }
                self.greeted = true;
                self.start += GREETING;
                continue;
            }
            if avail.len() < 2 {
                break;
            }
            let flags = avail[0];
            let (size, head) = if flags & 0x02 != 0 {
                if avail.len() < 9 {
                    break;
                }
                (u64::from_be_bytes(avail[1..9].try_into().expect("8 bytes")) as usize, 9)
            } else {
                (avail[1] as usize, 2)
            };
            if avail.len() < head + size {
                break;
            }
            let body = &avail[head..head + size];
            let command = flags & 0x04 != 0;
            // SUBSCRIBE and CANCEL are reported; other commands (READY, PING, ...) skipped.
            let r = if command {
                Self::command(body, out);
                Ok(())
            } else {
                Self::part(&mut self.parts, body, flags & 1 != 0, out)
            };
            self.start += head + size;
            if let Err(e) = r {
                self.broken = true;
                out.push(WireEvent::Broken(e));
                return;
            }
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    fn command(body: &[u8], out: &mut Vec<WireEvent>) {
        let Some((&n, rest)) = body.split_first() else { return };
        let Some((name, topic)) = rest.split_at_checked(usize::from(n)) else { return };
        let subscribe = match name {
            b"SUBSCRIBE" => true,
            b"CANCEL" => false,
            _ => return,
        };
        out.push(WireEvent::Subscription { subscribe, topic: topic.to_vec() });
    }

    fn part(
        parts: &mut Vec<PartHeader>,
        body: &[u8],
        more: bool,
        out: &mut Vec<WireEvent>,
    ) -> Result<(), String> {
        let h = match payload::parse_header(body) {
            Ok(h) => h,
            Err(_) if parts.is_empty() && more && body.len() <= MAX_ENVELOPE_FRAME => {
                out.push(WireEvent::Envelope(body.to_vec()));
                return Ok(());
            }
            Err(e) => return Err(format!("bad part on the wire: {e}")),
        };
        let expected = parts.len() as u16;
        if let Some(first) = parts.first().filter(|f| f.id != h.id) {
            return Err(format!(
                "message {} interleaved into message {} on the wire",
                h.id, first.id
            ));
        }
        if h.index != expected {
            return Err(format!(
                "message {} arrived split: part {} of {} where part {expected} was due",
                h.id, h.index, h.count
            ));
        }
        if more != (h.index + 1 < h.count) {
            return Err(format!("message {}: MORE flag wrong on part {}", h.id, h.index));
        }
        parts.push(h);
        if !more {
            parts.clear();
            out.push(WireEvent::Message(h.id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::build;

    fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        if body.len() > 255 {
            v.push(flags | 0x02);
            v.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            v.push(flags);
            v.push(body.len() as u8);
        }
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn reads_messages_byte_by_byte_and_flags_a_split() {
        let mut stream = vec![0u8; GREETING];
        stream.extend(frame(0x04, b"\x05READY"));
        let a = MsgId { sender: 1, seq: 0 };
        for p in build(a, 2, 300) {
            stream.extend(frame(u8::from(p.more()), &p));
        }
        let mut r = WireReader::default();
        let mut out = Vec::new();
        for b in &stream {
            r.feed(std::slice::from_ref(b), &mut out);
        }
        assert_eq!(out, vec![WireEvent::Message(a)]);

        // A connection that starts with the second part of a message.
        let mut stream = vec![0u8; GREETING];
        let p = &build(MsgId { sender: 1, seq: 1 }, 2, 3)[1];
        stream.extend(frame(0, p));
        let mut r = WireReader::default();
        out.clear();
        r.feed(&stream, &mut out);
        assert!(matches!(&out[..], [WireEvent::Broken(e)] if e.contains("split")), "{out:?}");
    }

    #[test]
    fn skips_envelope_frames_before_a_message_only() {
        let mut stream = vec![0u8; GREETING];
        let a = MsgId { sender: 2, seq: 7 };
        stream.extend(frame(1, b"\x00\x00\x00\x00\x2a"));
        stream.extend(frame(1, b""));
        for p in build(a, 2, 10) {
            stream.extend(frame(u8::from(p.more()), &p));
        }
        stream.extend(frame(0x04, b"\x09SUBSCRIBEtopic"));
        stream.extend(frame(0x04, b"\x06CANCEL"));
        let mut r = WireReader::default();
        let mut out = Vec::new();
        r.feed(&stream, &mut out);
        assert_eq!(
            out,
            vec![
                WireEvent::Envelope(b"\x00\x00\x00\x00\x2a".to_vec()),
                WireEvent::Envelope(Vec::new()),
                WireEvent::Message(a),
                WireEvent::Subscription { subscribe: true, topic: b"topic".to_vec() },
                WireEvent::Subscription { subscribe: false, topic: Vec::new() },
            ]
        );
        // Inside a message, a frame that is not a part breaks the stream's rules.
        let mut stream = vec![0u8; GREETING];
        let parts = build(a, 2, 10);
        stream.extend(frame(1, &parts[0]));
        stream.extend(frame(1, b""));
        let mut r = WireReader::default();
        out.clear();
        r.feed(&stream, &mut out);
        assert!(matches!(&out[..], [WireEvent::Broken(_)]), "{out:?}");
    }
}
