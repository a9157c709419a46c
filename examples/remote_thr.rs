//! `remote_thr <connect-to> <message-size> <message-count>`: a PUSH socket connects and
//! sends `message-count` messages of `message-size` bytes, each freshly allocated as libzmq's
//! `remote_thr` does, then closes; linger delivers the tail before the process exits.

#[path = "perf/common.rs"]
mod common;

use ferromq::{Context, Msg, SocketType};

fn main() -> ferromq::Result<()> {
    let (connect_to, size, count) = common::args("remote_thr", true);
    let ctx = Context::new()?;
    let mut push = ctx.socket(SocketType::Push)?;
    push.connect(&connect_to)?;
    // A fresh message each time, as libzmq's remote_thr does: small bodies inline (libzmq's
    // "very small messages"), larger ones allocated.
    let zeros = [0u8; Msg::INLINE_CAPACITY];
    for _ in 0..count {
        let msg = if size <= Msg::INLINE_CAPACITY {
            Msg::copy_from_slice(&zeros[..size])
        } else {
            Msg::from(vec![0u8; size])
        };
        push.send(msg)?;
    }
    drop(push);
    ctx.term();
    Ok(())
}
