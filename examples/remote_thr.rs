//! `remote_thr <connect-to> <message-size> <message-count>`: a PUSH socket connects and
//! sends `message-count` messages of `message-size` bytes, each freshly allocated as libzmq's
//! `remote_thr` does, then closes; linger delivers the tail before the process exits.

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;

fn main() -> ferromq::Result<()> {
    let (connect_to, size, count) = common::args("remote_thr", true);
    let ctx = common::context()?;
    let mut push = ctx.socket(SocketType::Push)?;
    push.connect(&connect_to)?;
    for _ in 0..count {
        push.send(common::fresh_msg(size))?;
    }
    drop(push);
    ctx.term();
    Ok(())
}
