//! `local_thr <bind-to> <message-size> <message-count>`: a PULL socket binds, receives
//! `message-count` messages and prints the throughput from the first message to the last,
//! exactly as libzmq's `local_thr` does. Pair it with `remote_thr` (or libzmq's).

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;
use std::time::Instant;

fn main() -> ferromq::Result<()> {
    let (bind_to, size, count) = common::args("local_thr", true);
    let ctx = common::context()?;
    let mut pull = ctx.socket(SocketType::Pull)?;
    pull.bind(&bind_to)?;
    let first = pull.recv()?;
    assert_eq!(first.len(), size, "message of the wrong size");
    let start = Instant::now();
    for _ in 1..count {
        let m = pull.recv()?;
        assert_eq!(m.len(), size, "message of the wrong size");
    }
    common::report(size, count, start.elapsed());
    Ok(())
}
