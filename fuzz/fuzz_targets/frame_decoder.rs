//! Arbitrary bytes through the streaming frame decoder, fed in chunks whose sizes come from
//! the input itself. Checks: no panic; on a valid prefix, the frames decoded from one piece
//! equal the frames decoded from chunks (W-07); a MAXMSGSIZE limit is never exceeded.
#![no_main]

use bytes::BytesMut;
use ferromq::proto::{Frame, FrameDecoder, ProtocolError};
use libfuzzer_sys::fuzz_target;

const MAX: u64 = 4096;

fn run(data: &[u8], chunk: usize) -> (Vec<Frame>, Option<ProtocolError>) {
    let mut d = FrameDecoder::new(Some(MAX));
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut msg_size = 0u64;
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(f)) => {
                    if let Frame::Message(m) = &f {
                        msg_size += m.len() as u64;
                        assert!(msg_size <= MAX, "MAXMSGSIZE exceeded");
                        if !m.more() {
                            msg_size = 0;
                        }
                    }
                    frames.push(f);
                }
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&c, rest)) = data.split_first() else { return };
    let whole = run(rest, usize::MAX);
    let chunked = run(rest, usize::from(c % 17) + 1);
    assert_eq!(whole, chunked, "chunking changed the result");
});
