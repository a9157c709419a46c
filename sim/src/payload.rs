//! The bodies the simulator sends: every part names its sender, message number and position,
//! and the request it answers, if it is a reply; its filler bytes are a function of those, so
//! that the checker can tell a corrupted, duplicated, misrouted or truncated message, or a
//! reply to the wrong request, from a good one without trusting the stack.

use bytes::{BufMut, Bytes, BytesMut};
use ferromq::Msg;

const MAGIC: [u8; 2] = *b"FS";
/// Header bytes in every part: magic, id, index, count, size, and the request answered.
pub const HEADER: usize = 2 + 4 + 8 + 2 + 2 + 4 + 4 + 8;
/// `re` sender meaning "not a reply".
const NO_REQUEST: u32 = u32::MAX;

/// Identifies one message: the sending socket and its number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgId {
    /// The sending socket (unique in a run).
    pub sender: u32,
    /// Per-sender message number, from 0.
    pub seq: u64,
}

impl std::fmt::Display for MsgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s{}#{}", self.sender, self.seq)
    }
}

/// What one part says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartHeader {
    /// The message it belongs to.
    pub id: MsgId,
    /// Its index in the message.
    pub index: u16,
    /// How many parts the message has.
    pub count: u16,
    /// The request this message answers.
    pub re: Option<MsgId>,
}

fn filler(id: MsgId, index: u16, i: usize) -> u8 {
    (id.seq as usize)
        .wrapping_mul(31)
        .wrapping_add(id.sender as usize * 7 + index as usize * 13 + i) as u8
}

/// The parts of message `id`: `count` parts of `size` filler bytes each (after the header).
#[cfg(test)]
pub fn build(id: MsgId, count: u16, size: usize) -> Vec<Msg> {
    build_reply(id, None, count, size)
}

/// The parts of message `id`, which answers request `re`.
pub fn build_reply(id: MsgId, re: Option<MsgId>, count: u16, size: usize) -> Vec<Msg> {
    let re = re.unwrap_or(MsgId { sender: NO_REQUEST, seq: 0 });
    (0..count)
        .map(|index| {
            let mut b = BytesMut::with_capacity(HEADER + size);
            b.put_slice(&MAGIC);
            b.put_u32(id.sender);
            b.put_u64(id.seq);
            b.put_u16(index);
            b.put_u16(count);
            b.put_u32(size as u32);
            b.put_u32(re.sender);
            b.put_u64(re.seq);
            b.extend((0..size).map(|i| filler(id, index, i)));
            let mut m = Msg::from(Bytes::from(b));
            m.set_more(index + 1 < count);
            m
        })
        .collect()
}

/// Reads a part's header and checks its filler; `Err` says what is wrong.
pub fn parse(body: &[u8]) -> Result<PartHeader, &'static str> {
    let h = parse_header(body)?;
    if body[HEADER..].iter().enumerate().any(|(i, &b)| b != filler(h.id, h.index, i)) {
        return Err("corrupted body");
    }
    Ok(h)
}

/// Reads a part's header only (the wire taps: the application checks every byte).
pub fn parse_header(body: &[u8]) -> Result<PartHeader, &'static str> {
    if body.len() < HEADER || body[..2] != MAGIC {
        return Err("not a simulator message (bad magic or too short)");
    }
    let u32_at = |at: usize| u32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes"));
    let u16_at = |at: usize| u16::from_be_bytes(body[at..at + 2].try_into().expect("2 bytes"));
    let sender = u32_at(2);
    let seq = u64::from_be_bytes(body[6..14].try_into().expect("8 bytes"));
    let id = MsgId { sender, seq };
    let (index, count) = (u16_at(14), u16_at(16));
    let size = u32_at(18) as usize;
    if body.len() != HEADER + size {
        return Err("length does not match the header");
    }
    if index >= count {
        return Err("part index out of range");
    }
    let re = MsgId {
        sender: u32_at(22),
        seq: u64::from_be_bytes(body[26..34].try_into().expect("8 bytes")),
    };
    let re = (re.sender != NO_REQUEST).then_some(re);
    Ok(PartHeader { id, index, count, re })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip_and_corruption_is_seen() {
        let id = MsgId { sender: 3, seq: 99 };
        let parts = build(id, 3, 40);
        assert_eq!(parts.len(), 3);
        assert!(parts[0].more() && parts[1].more() && !parts[2].more());
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(parse(p).unwrap(), PartHeader { id, index: i as u16, count: 3, re: None });
        }
        let mut bad = parts[1].to_vec();
        bad[HEADER + 5] ^= 1;
        assert_eq!(parse(&bad), Err("corrupted body"));
        assert!(parse(&bad[..10]).is_err());
        let q = MsgId { sender: 1, seq: 5 };
        let reply = build_reply(id, Some(q), 1, 3);
        assert_eq!(parse(&reply[0]).unwrap().re, Some(q));
    }
}
