//! Property tests (W-07, W-08): encode∘decode is the identity; any chunking decodes the same;
//! the encoder drained by vectored writes of any size, pushed to between them, gives the same
//! stream; an engine pair delivers everything in order whatever the chunking.

use super::util::Pair;
use crate::proto::frame::{Encoder, Frame, FrameDecoder, SHARE_THRESHOLD};
use crate::proto::{Command, Metadata};
use crate::{Msg, MsgBuf, SocketType};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use std::io::IoSlice;

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40),
        2 => proptest::collection::vec(any::<u8>(), 250..260),
        1 => proptest::collection::vec(any::<u8>(), 1000..3000),
        // Queued by reference, not copied.
        1 => proptest::collection::vec(any::<u8>(), SHARE_THRESHOLD..SHARE_THRESHOLD + 2000),
    ]
}

/// A message whose body is held each of the ways a heap body can be: made from a `Vec`
/// (homed up to 16 KiB), from `Bytes`, or written in a `MsgBuf`.
fn msg() -> impl Strategy<Value = Msg> {
    (body(), any::<bool>(), 0..3u8).prop_map(|(b, more, made)| {
        let m = match made {
            0 => Msg::from(b),
            1 => Msg::from(Bytes::from(b)),
            _ => {
                let mut buf = MsgBuf::with_capacity(b.len());
                buf.extend_from_slice(&b);
                Msg::from(buf)
            }
        };
        m.with_more(more)
    })
}

fn push(e: &mut Encoder, item: &Item) {
    match item {
        Item::M(m) => {
            e.push_message(m);
        }
        Item::C(c) => e.push_command(c),
    }
}

fn command() -> impl Strategy<Value = Command> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from);
    let small = |n| proptest::collection::vec(any::<u8>(), 0..n).prop_map(Bytes::from);
    let name = "[A-Za-z][A-Za-z0-9-]{0,20}";
    let props = proptest::collection::vec((name, bytes()), 0..4).prop_map(|ps| {
        let mut m = Metadata::default();
        for (n, v) in ps {
            m.insert(n, v);
        }
        m
    });
    prop_oneof![
        props.prop_map(Command::Ready),
        small(256).prop_map(Command::Error),
        bytes().prop_map(Command::Subscribe),
        bytes().prop_map(Command::Cancel),
        (any::<u16>(), small(17)).prop_map(|(ttl_ds, context)| Command::Ping { ttl_ds, context }),
        small(17).prop_map(|context| Command::Pong { context }),
        ("X[A-Z]{1,10}", bytes())
            .prop_map(|(n, data)| Command::Unknown { name: Bytes::from(n), data }),
    ]
}

#[derive(Clone, Debug)]
enum Item {
    M(Msg),
    C(Command),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![3 => msg().prop_map(Item::M), 1 => command().prop_map(Item::C)]
}

fn encode(items: &[Item]) -> Vec<u8> {
    let mut e = Encoder::new();
    for it in items {
        push(&mut e, it);
    }
    let mut out = Vec::new();
    e.copy_to(&mut out, usize::MAX);
    out
}

/// Decodes `bytes` fed in the given chunk sizes (cycled).
fn decode_chunked(bytes: &[u8], chunks: &[usize]) -> Vec<Item> {
    let mut d = FrameDecoder::new(None);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut off = 0;
    let mut sizes = chunks.iter().cycle();
    while off < bytes.len() {
        let n = (*sizes.next().unwrap()).clamp(1, bytes.len() - off);
        buf.extend_from_slice(&bytes[off..off + n]);
        off += n;
        while let Some(f) = d.decode(&mut buf).expect("valid stream") {
            out.push(match f {
                Frame::Message(m) => Item::M(m),
                Frame::Command(b) => Item::C(Command::parse(b).expect("valid command")),
            });
        }
    }
    assert!(buf.is_empty());
    out
}

/// What `c` must decode to, computed from `c` alone: the wire form cuts ERROR reasons to 255
/// octets and PING/PONG contexts to 16, and keeps everything else.
fn expected(c: &Command) -> Command {
    let cut = |b: &Bytes, n: usize| b.slice(..b.len().min(n));
    match c {
        Command::Error(r) => Command::Error(cut(r, 255)),
        Command::Ping { ttl_ds, context } => {
            Command::Ping { ttl_ds: *ttl_ds, context: cut(context, 16) }
        }
        Command::Pong { context } => Command::Pong { context: cut(context, 16) },
        other => other.clone(),
    }
}

fn same(a: &[Item], b: &[Item]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Item::M(x), Item::M(y)) => x == y,
            (Item::C(x), Item::C(y)) => expected(x) == *y,
            _ => false,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// encode∘decode = id for arbitrary frames and commands, decoded in one piece.
    #[test]
    fn encode_then_decode_is_identity(items in proptest::collection::vec(item(), 0..30)) {
        let bytes = encode(&items);
        prop_assert!(same(&items, &decode_chunked(&bytes, &[usize::MAX])));
    }

    /// W-07: any split of a valid byte stream into chunks decodes to the same frames.
    #[test]
    fn any_chunking_decodes_the_same(
        items in proptest::collection::vec(item(), 1..30),
        chunks in proptest::collection::vec(1usize..600, 1..20),
    ) {
        let bytes = encode(&items);
        prop_assert!(same(&items, &decode_chunked(&bytes, &chunks)));
    }

    /// The encoder drained as a driver drains it — vectored writes into a few iovecs that the
    /// kernel takes only part of, new frames pushed between writes — gives the very stream
    /// that encoding everything at once gives, and its counts stay true on the way: `len` is
    /// what is left, `copied_len` never more than that, both zero at the end.
    #[test]
    fn vectored_writes_between_pushes_give_the_same_stream(
        items in proptest::collection::vec(item(), 1..30),
        writes in proptest::collection::vec((1usize..20_000, 1usize..6, 0usize..4), 1..30),
    ) {
        let whole = encode(&items);
        let mut e = Encoder::new();
        let mut out = Vec::new();
        let mut pending = items.iter();
        for &(max, iovs, pushes) in writes.iter().cycle() {
            // A write needs something queued: push at least one frame when none is.
            let pushes = if e.is_empty() { pushes.max(1) } else { pushes };
            for it in pending.by_ref().take(pushes) {
                push(&mut e, it);
            }
            if e.is_empty() {
                break;
            }
            let mut iov = vec![IoSlice::new(&[]); iovs];
            let n = e.chunks_vectored(&mut iov);
            prop_assert!(n > 0 && iov[..n].iter().all(|s| !s.is_empty()));
            let mut wrote = 0;
            for s in &iov[..n] {
                let take = s.len().min(max - wrote);
                out.extend_from_slice(&s[..take]);
                wrote += take;
                if wrote == max {
                    break;
                }
            }
            let before = e.len();
            e.advance(wrote);
            prop_assert_eq!(e.len(), before - wrote);
            prop_assert!(e.copied_len() <= e.len());
        }
        prop_assert_eq!(e.copied_len(), 0);
        prop_assert!(out == whole, "the written stream differs from the encoding");
    }

    /// Commands round-trip through their parser: what decodes is the original command (with
    /// only the documented cuts), and encoding it again gives the same bytes.
    #[test]
    fn commands_round_trip(c in command()) {
        let decoded = Command::parse(c.to_bytes()).unwrap();
        prop_assert_eq!(&decoded, &expected(&c));
        prop_assert_eq!(decoded.to_bytes(), expected(&c).to_bytes());
    }

    /// The engine pair delivers every message, in order and unchanged, both ways, for
    /// arbitrary chunkings of the byte stream.
    #[test]
    fn engine_pair_delivers_everything_in_order(
        a_to_b in proptest::collection::vec(msg(), 0..40),
        b_to_a in proptest::collection::vec(msg(), 0..40),
        chunks in proptest::collection::vec(1usize..500, 1..16),
    ) {
        let mut p = Pair::of(SocketType::Pair, SocketType::Pair);
        let mut sizes = chunks.into_iter().cycle();
        p.chunk = Box::new(move |_| sizes.next().unwrap());
        for m in &a_to_b { p.send_a(m.clone()); }
        for m in &b_to_a { p.send_b(m.clone()); }
        p.drive();
        prop_assert_eq!(p.b.messages(), a_to_b);
        prop_assert_eq!(p.a.messages(), b_to_a);
        prop_assert!(p.a.closed().is_none() && p.b.closed().is_none());
    }
}
