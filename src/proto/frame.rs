//! ZMTP 3.x framing (RFC 37 §Framing, CONFORMANCE §0.2): the streaming [`FrameDecoder`] and
//! the batching [`Encoder`].

use super::ProtocolError;
use super::command::Command;
use crate::Msg;
use crate::msg::SharedBody;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::IoSlice;

/// Frame flag: another frame of the same message follows.
pub const FLAG_MORE: u8 = 0x01;
/// Frame flag: the size field is 8 octets.
pub const FLAG_LONG: u8 = 0x02;
/// Frame flag: this frame is a command.
pub const FLAG_COMMAND: u8 = 0x04;
const RESERVED: u8 = 0xF8;

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A message frame (its MORE flag is carried by the `Msg`).
    Message(Msg),
    /// A command frame's body, not yet parsed.
    Command(Bytes),
}

/// A validated frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Header {
    flags: u8,
    header_len: usize,
    body_len: usize,
}

/// Decodes frames from the front of a byte buffer that the caller fills in pieces of any size
/// (W-07).
///
/// Many frames come out of one buffer fill. A body too large to be kept inline in a [`Msg`]
/// is split off the buffer as a `Bytes` that shares its memory, so it is copied once (from
/// the socket into the buffer) and never again. The message size limit is checked on the
/// header, before any of the body is waited for (W-10); it applies to the whole multipart
/// message, so a peer cannot make us hold an unbounded message frame by frame.
#[derive(Clone, Debug, Default)]
pub struct FrameDecoder {
    max_msg_size: Option<u64>,
    max_command_size: Option<u64>,
    /// Size of the multipart message decoded so far (its frames before the current one).
    msg_size: u64,
    /// The last message frame had MORE set.
    mid_message: bool,
}

impl FrameDecoder {
    /// A decoder that refuses messages larger than `max_msg_size` bytes (`None`: no limit).
    pub fn new(max_msg_size: Option<u64>) -> Self {
        FrameDecoder {
            max_msg_size,
            max_command_size: max_msg_size,
            msg_size: 0,
            mid_message: false,
        }
    }

    /// Sets the largest command frame accepted (`None`: no limit). By default commands obey
    /// the message limit; the engine tightens it while the peer is not yet authenticated.
    pub fn set_max_command_size(&mut self, max: Option<u64>) {
        self.max_command_size = max;
    }

    /// True when the next frame is a continuation of a multipart message.
    pub fn in_multipart(&self) -> bool {
        self.mid_message
    }

    /// Parses and validates the header at the front of `buf`, if it has arrived.
    fn header(&self, buf: &[u8]) -> Result<Option<Header>, ProtocolError> {
        let Some(&flags) = buf.first() else { return Ok(None) };
        if flags & RESERVED != 0 {
            return Err(ProtocolError::ReservedFlags(flags));
        }
        let command = flags & FLAG_COMMAND != 0;
        if command && flags & FLAG_MORE != 0 {
            return Err(ProtocolError::MoreOnCommand);
        }
        let (header_len, size) = if flags & FLAG_LONG != 0 {
            let Some(raw) = buf.get(1..9) else { return Ok(None) };
            let size = u64::from_be_bytes(raw.try_into().expect("8 octets"));
            if size >> 63 != 0 {
                return Err(ProtocolError::SizeOverflow);
            }
            (9, size)
        } else {
            let Some(&size) = buf.get(1) else { return Ok(None) };
            (2, u64::from(size))
        };
        if command {
            if let Some(max) = self.max_command_size.filter(|&max| size > max) {
                return Err(ProtocolError::CommandTooLarge { size, max });
            }
        } else if let Some(max) = self.max_msg_size {
            let total = self.msg_size.saturating_add(size);
            if total > max {
                return Err(ProtocolError::MessageTooLarge { size: total, max });
            }
        }
        // A size that does not fit in memory cannot arrive whole: refuse it like an overflow.
        let body_len = usize::try_from(size).map_err(|_| ProtocolError::SizeOverflow)?;
        Ok(Some(Header { flags, header_len, body_len }))
    }

    /// Checks the next frame's header without consuming anything and returns how many bytes
    /// the complete frame occupies, when its header has arrived.
    pub fn next_frame_len(&self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        Ok(self.header(buf)?.map(|h| h.header_len.saturating_add(h.body_len)))
    }

    /// Decodes one frame from the front of `buf`, removing it. `Ok(None)`: more bytes are
    /// needed (nothing consumed).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        let Some(h) = self.header(buf)? else { return Ok(None) };
        if buf.len() - h.header_len < h.body_len {
            return Ok(None);
        }
        if h.flags & FLAG_COMMAND != 0 {
            buf.advance(h.header_len);
            return Ok(Some(Frame::Command(buf.split_to(h.body_len).freeze())));
        }
        let more = h.flags & FLAG_MORE != 0;
        let msg = if h.body_len <= Msg::INLINE_CAPACITY {
            let m = Msg::copy_from_slice(&buf[h.header_len..h.header_len + h.body_len]);
            buf.advance(h.header_len + h.body_len);
            m
        } else {
            buf.advance(h.header_len);
            Msg::from_bytes(buf.split_to(h.body_len).freeze())
        };
        if more {
            self.msg_size += h.body_len as u64;
            self.mid_message = true;
        } else {
            self.msg_size = 0;
            self.mid_message = false;
        }
        Ok(Some(Frame::Message(msg.with_more(more))))
    }
}

/// Bodies at least this large travel as their own slice of a vectored write instead of being
/// copied into the output buffer. Below it a copy is cheaper: sharing a body held as a `Bytes`
/// from a `Vec` allocates its reference count, costs two atomic operations and an iovec, and a batch of
/// 1 KiB bodies then filled the write's 64 iovecs at 32 KiB (libzmq copies everything below its
/// 8 KiB batch too).
pub const SHARE_THRESHOLD: usize = 8 * 1024;

/// The segments an encoder first makes room for: the session queues at most
/// `core::OUT_BACKLOG` (128 KiB) of bodies by reference, 16 of them past the threshold, each
/// perhaps behind a run of copied bytes.
const QUEUE_FIRST: usize = 34;

/// The length of a long-form header: flags and a 64-bit size.
const LONG_HEAD: usize = 9;

/// The long-form header (W-08) of a frame of `size` octets with `flags`.
fn long_header(flags: u8, size: usize) -> [u8; LONG_HEAD] {
    let mut head = [flags | FLAG_LONG, 0, 0, 0, 0, 0, 0, 0, 0];
    head[1..].copy_from_slice(&(size as u64).to_be_bytes());
    head
}

/// Queues encoded frames for the socket.
///
/// Headers and small bodies are packed into one growing buffer, so a burst of small messages
/// becomes one write; a large body is queued by reference, its header beside it, and reaches
/// `writev` without a copy or an allocation. Drain it with [`Encoder::chunks_vectored`] + [`Encoder::advance`]
/// (a vectored write) or [`Encoder::copy_to`].
#[derive(Debug, Default)]
pub struct Encoder {
    /// What to write before the rest of `stage`, oldest first.
    queue: VecDeque<Segment>,
    /// Every copied byte waiting, in order: runs of its front are the queue's `Staged`
    /// segments, and what follows them (from `staged` on) comes after the whole queue.
    stage: BytesMut,
    /// The sum of the queue's `Staged` lengths.
    staged: usize,
    len: usize,
    /// How much of `len` is shared bodies, which cost no copy and no memory of ours.
    shared: usize,
}

/// A run of the encoder's output.
#[derive(Debug)]
enum Segment {
    /// The next this many bytes at the front of the stage (headers, commands, small bodies,
    /// copied in): marked off, not split off, as a split would cost the stage's buffer a
    /// shared header and each run a `Bytes`, allocations per message whenever small frames
    /// precede a large one (an envelope, a topic).
    Staged(usize),
    /// A large body queued by reference behind its header, and how much of the two is written
    /// already. The body is held as the message's own, not as a `Bytes` (a homed one would
    /// need a box of its own per write), and the header beside it, not in a buffer of its
    /// own, so that queueing one allocates nothing.
    Shared { head: [u8; LONG_HEAD], body: SharedBody, at: usize },
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Encoder::default()
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes waiting to be written that were copied in (headers, commands, small bodies):
    /// [`Encoder::len`] less the large bodies queued by reference.
    pub fn copied_len(&self) -> usize {
        self.len - self.shared
    }

    fn put_header(&mut self, flags: u8, size: usize) {
        if size <= 255 {
            self.stage.put_u8(flags);
            self.stage.put_u8(size as u8);
            self.len += 2;
        } else {
            self.stage.extend_from_slice(&long_header(flags, size));
            self.len += LONG_HEAD;
        }
    }

    /// Appends raw bytes (the greeting).
    pub fn push_raw(&mut self, data: &[u8]) {
        self.stage.extend_from_slice(data);
        self.len += data.len();
    }

    /// Appends one message frame, short form up to 255 octets and long form above (W-08).
    /// True if the body was copied: the encoder keeps no reference to it.
    pub fn push_message(&mut self, msg: &Msg) -> bool {
        let flags = if msg.more() { FLAG_MORE } else { 0 };
        // The length first: sharing a smaller body would cost it two atomic operations. Every
        // shared body is past 255 octets, so its header is the long form.
        let shared = if msg.len() >= SHARE_THRESHOLD { msg.share_body() } else { None };
        if let Some(body) = shared {
            if self.queue.capacity() == 0 {
                // The room a full backlog takes, in one step: grown a segment at a time, the
                // queue's high-water mark would cost the I/O thread an allocation whenever a
                // slow reader let it creep up, long into a stream.
                self.queue.reserve_exact(QUEUE_FIRST);
            }
            let tail = self.stage.len() - self.staged;
            if tail > 0 {
                self.queue.push_back(Segment::Staged(tail));
                self.staged += tail;
            }
            self.len += LONG_HEAD + body.len();
            self.shared += body.len();
            let head = long_header(flags, body.len());
            self.queue.push_back(Segment::Shared { head, body, at: 0 });
            false
        } else {
            self.put_header(flags, msg.len());
            self.len += msg.len();
            self.stage.extend_from_slice(msg);
            true
        }
    }

    /// Appends one command frame.
    pub fn push_command(&mut self, cmd: &Command) {
        let size = cmd.encoded_len();
        self.put_header(FLAG_COMMAND, size);
        let before = self.stage.len();
        cmd.encode(&mut self.stage);
        debug_assert_eq!(self.stage.len() - before, size);
        self.len += size;
    }

    /// What is left to write, in order (some slices may be empty).
    fn pending(&self) -> impl Iterator<Item = &[u8]> {
        let stage = &self.stage[..];
        let mut from = 0;
        let queued = self.queue.iter().flat_map(move |seg| match seg {
            Segment::Staged(n) => {
                from += n;
                [&stage[from - n..from], &[][..]]
            }
            Segment::Shared { head, body, at } => {
                [&head[(*at).min(LONG_HEAD)..], &body[at.saturating_sub(LONG_HEAD)..]]
            }
        });
        queued.chain(std::iter::once(&stage[self.staged..]))
    }

    /// Fills `dst` with the pending bytes, in order, and returns how many slices it filled.
    pub fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for seg in self.pending().filter(|s| !s.is_empty()) {
            if n == dst.len() {
                break;
            }
            dst[n] = IoSlice::new(seg);
            n += 1;
        }
        n
    }

    /// Marks `n` bytes as written.
    ///
    /// # Panics
    /// If `n` exceeds [`Encoder::len`]: that is a bug in the driver, not peer input.
    pub fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len, "advance past the end of the encoder's output");
        self.len -= n;
        while n > 0 {
            match self.queue.front_mut() {
                Some(Segment::Staged(k)) => {
                    let done = (*k).min(n);
                    self.stage.advance(done);
                    self.staged -= done;
                    *k -= done;
                    n -= done;
                    if *k == 0 {
                        self.queue.pop_front();
                    }
                }
                Some(Segment::Shared { body, at, .. }) => {
                    let done = (LONG_HEAD + body.len() - *at).min(n);
                    // Of the bytes written, those past the header were the body's.
                    self.shared -=
                        (*at + done).saturating_sub(LONG_HEAD) - at.saturating_sub(LONG_HEAD);
                    *at += done;
                    n -= done;
                    if *at == LONG_HEAD + body.len() {
                        self.queue.pop_front();
                    }
                }
                None => {
                    self.stage.advance(n);
                    n = 0;
                }
            }
        }
        // No need to rewind an empty stage: its next `reserve` reclaims the written front.
    }

    /// Copies up to `max` pending bytes to the end of `out` and marks them written.
    pub fn copy_to(&mut self, out: &mut Vec<u8>, max: usize) -> usize {
        let want = max.min(self.len);
        let mut left = want;
        for seg in self.pending() {
            let take = seg.len().min(left);
            out.extend_from_slice(&seg[..take]);
            left -= take;
            if left == 0 {
                break;
            }
        }
        self.advance(want);
        want
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], max: Option<u64>) -> Result<Vec<Frame>, ProtocolError> {
        let mut d = FrameDecoder::new(max);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = d.decode(&mut buf)? {
            out.push(f);
        }
        assert!(buf.is_empty(), "leftover bytes");
        Ok(out)
    }

    fn encode(msgs: &[Msg]) -> Vec<u8> {
        let mut e = Encoder::new();
        for m in msgs {
            e.push_message(m);
        }
        let mut out = Vec::new();
        e.copy_to(&mut out, usize::MAX);
        out
    }

    /// W-31: "ALOL" as a single short frame.
    #[test]
    fn w31_single_frame_vector() {
        assert_eq!(encode(&[Msg::from("ALOL")]), b"\x00\x04ALOL");
        assert_eq!(decode_all(b"\x00\x04ALOL", None).unwrap(), [Frame::Message("ALOL".into())]);
    }

    /// W-08: short form up to 255 octets, long form above; long form accepted for any size.
    #[test]
    fn w08_short_and_long_sizes() {
        let e = encode(&[Msg::from(vec![1u8; 255])]);
        assert_eq!(&e[..2], &[0x00, 255]);
        assert_eq!(e.len(), 257);
        let e = encode(&[Msg::from(vec![1u8; 256]).with_more(true)]);
        assert_eq!(&e[..9], &[0x03, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(e.len(), 9 + 256);
        let long_empty = [0x02, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_all(&long_empty, None).unwrap(), [Frame::Message(Msg::new())]);
        let long_small = [0x02, 0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i'];
        assert_eq!(decode_all(&long_small, None).unwrap(), [Frame::Message("hi".into())]);
    }

    /// W-09: reserved bits, MORE on a command and sizes of 2^63 or more are protocol errors.
    #[test]
    fn w09_bad_flags_and_sizes_are_refused() {
        for flags in [0x08u8, 0x10, 0x80, 0xFF] {
            assert_eq!(decode_all(&[flags, 0], None), Err(ProtocolError::ReservedFlags(flags)));
        }
        assert_eq!(decode_all(&[0x05, 0], None), Err(ProtocolError::MoreOnCommand));
        assert_eq!(decode_all(&[0x07, 0], None), Err(ProtocolError::MoreOnCommand));
        let huge = [0x02, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_all(&huge, None), Err(ProtocolError::SizeOverflow));
    }

    /// W-10: an oversize frame is refused on its header alone, before any body arrives; the
    /// limit applies to the sum of a multipart message's frames.
    #[test]
    fn w10_max_message_size_is_checked_on_the_header() {
        let d = FrameDecoder::new(Some(100));
        let hdr = [0x02, 0, 0, 0, 0, 0, 0, 0, 101];
        assert_eq!(
            d.next_frame_len(&hdr),
            Err(ProtocolError::MessageTooLarge { size: 101, max: 100 })
        );
        let mut ok = vec![0x01, 60];
        ok.extend_from_slice(&[0; 60]);
        ok.extend_from_slice(&[0x00, 41]);
        let err = decode_all(&ok, Some(100)).unwrap_err();
        assert_eq!(err, ProtocolError::MessageTooLarge { size: 101, max: 100 });
        ok.truncate(62);
        ok.extend_from_slice(&[0x00, 40]);
        ok.extend_from_slice(&[0; 40]);
        assert_eq!(decode_all(&ok, Some(100)).unwrap().len(), 2);
        // Commands obey the same limit, on their own size.
        assert!(d.next_frame_len(&[0x06, 0, 0, 0, 0, 0, 0, 0, 100]).is_ok());
        assert_eq!(
            d.next_frame_len(&[0x06, 0, 0, 0, 0, 0, 0, 0, 101]),
            Err(ProtocolError::CommandTooLarge { size: 101, max: 100 })
        );
    }

    #[test]
    fn incomplete_frames_consume_nothing() {
        let mut d = FrameDecoder::new(None);
        let full = b"\x01\x03abc\x00\x00";
        for cut in 0..5 {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(d.decode(&mut buf), Ok(None));
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn large_bodies_are_split_out_of_the_read_buffer_without_a_copy() {
        let mut bytes = vec![0x00, 200];
        bytes.extend(std::iter::repeat_n(7u8, 200));
        let mut buf = BytesMut::from(&bytes[..]);
        let body_at = buf.as_ptr() as usize + 2;
        let Some(Frame::Message(m)) = FrameDecoder::new(None).decode(&mut buf).unwrap() else {
            panic!("expected a message");
        };
        assert_eq!(m.as_ptr() as usize, body_at);
    }

    #[test]
    fn encoder_shares_large_bodies_and_packs_small_ones() {
        let big = Bytes::from(vec![9u8; SHARE_THRESHOLD]);
        let mut e = Encoder::new();
        e.push_message(&Msg::from("a").with_more(true));
        e.push_message(&Msg::from("b"));
        e.push_message(&Msg::from(big.clone()));
        e.push_message(&Msg::from("c"));
        {
            let mut iov = [IoSlice::new(&[]); 8];
            let n = e.chunks_vectored(&mut iov);
            assert_eq!(n, 4, "small frames, big header, big body, trailing small frame");
            assert_eq!(&iov[0][..], b"\x01\x01a\x00\x01b");
            let mut head = b"\x02".to_vec();
            head.extend_from_slice(&(SHARE_THRESHOLD as u64).to_be_bytes());
            assert_eq!(&iov[1][..], &head[..]);
            assert_eq!(iov[2].as_ptr(), big.as_ptr(), "the large body is not copied");
            assert_eq!(&iov[3][..], b"\x00\x01c");
        }
        assert_eq!(e.len(), 15 + SHARE_THRESHOLD + 3);
        assert_eq!(e.copied_len(), 15 + 3, "the shared body is not counted as copied");
        // Partial writes resume at the right byte, and keep the count of copied bytes.
        e.advance(10);
        assert_eq!(e.copied_len(), 5 + 3);
        e.advance(SHARE_THRESHOLD + 4);
        assert_eq!((e.len(), e.copied_len()), (1 + 3, 3), "one byte of the shared body left");
        {
            let mut iov = [IoSlice::new(&[]); 8];
            let n = e.chunks_vectored(&mut iov);
            assert_eq!(n, 2);
            assert_eq!(iov[0].len(), 1);
            assert_eq!(&iov[1][..], b"\x00\x01c");
        }
        e.advance(4);
        assert!(e.is_empty());
        assert_eq!(e.copied_len(), 0);
        assert_eq!(e.chunks_vectored(&mut [IoSlice::new(&[]); 8]), 0);
    }

    /// Writes that end inside a header, exactly between a header and its body, and between
    /// a staged run and the next header give back every byte once, in order, whatever the
    /// sizes of the writes.
    #[test]
    fn partial_writes_resume_at_every_boundary() {
        let big = Bytes::from((0..SHARE_THRESHOLD).map(|i| i as u8).collect::<Vec<u8>>());
        // Two staged runs queued at once ("a" before the first body, "b" before the second),
        // then a trailing frame.
        let msgs = [
            Msg::from("a").with_more(true),
            Msg::from(big.clone()).with_more(true),
            Msg::from("b").with_more(true),
            Msg::from(big),
            Msg::from("z"),
        ];
        let whole = encode(&msgs);
        let body2 = 3 + 9 + SHARE_THRESHOLD + 3 + 9;
        // The end of the first run, the first header/body boundary, the end of the first
        // body and of the second run, inside the second header, the second boundary, inside
        // the second body.
        let first = 3 + 9 + SHARE_THRESHOLD;
        let cuts = [3, 3 + 9, first, first + 3, first + 3 + 4, body2, body2 + 100];
        for step in [1, 3, 9, 4096, SHARE_THRESHOLD + 1] {
            for &cut in &cuts {
                let mut e = Encoder::new();
                for m in &msgs {
                    e.push_message(m);
                }
                let mut out = Vec::new();
                assert_eq!(e.copy_to(&mut out, cut), cut);
                while !e.is_empty() {
                    let before = e.len();
                    e.copy_to(&mut out, step);
                    assert!(e.len() < before);
                    assert!(e.copied_len() <= e.len());
                }
                assert_eq!(out, whole, "cut at {cut}, then writes of {step}");
                assert_eq!(e.copied_len(), 0);
            }
        }
    }

    #[test]
    fn a_homed_body_is_written_from_its_own_memory() {
        let mut body = crate::MsgBuf::with_capacity(SHARE_THRESHOLD);
        body.resize(SHARE_THRESHOLD, 5);
        let msg = Msg::from(body);
        let mut e = Encoder::new();
        e.push_message(&msg);
        let mut iov = [IoSlice::new(&[]); 4];
        assert_eq!(e.chunks_vectored(&mut iov), 2);
        assert_eq!(iov[1].as_ptr(), msg.as_ptr(), "the body is not copied");
        assert_eq!(e.copied_len(), 9);
        let mut out = Vec::new();
        assert_eq!(e.copy_to(&mut out, usize::MAX), 9 + SHARE_THRESHOLD);
        assert_eq!(&out[9..], &msg[..]);
    }

    #[test]
    fn copy_to_respects_the_limit() {
        let mut e = Encoder::new();
        e.push_message(&Msg::from(vec![1u8; 3000]));
        let mut out = Vec::new();
        assert_eq!(e.copy_to(&mut out, 100), 100);
        assert_eq!(e.len(), 3000 + 9 - 100);
        assert_eq!(e.copy_to(&mut out, usize::MAX), 2909);
        assert_eq!(out.len(), 3009);
    }
}
