//! `inproc_thr <message-size> <message-count>`: PUSH and PULL over inproc in two threads,
//! printing libzmq's `inproc_thr` lines.

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;
use std::time::Instant;

fn main() -> ferromq::Result<()> {
    let (_, size, count) = common::args("inproc_thr", false);
    let ctx = common::context()?;
    let mut pull = ctx.socket(SocketType::Pull)?;
    pull.bind("inproc://thr_test")?;
    let remote_ctx = ctx.clone();
    let remote = std::thread::spawn(move || -> ferromq::Result<()> {
        let mut push = remote_ctx.socket(SocketType::Push)?;
        push.connect("inproc://thr_test")?;
        for _ in 0..count {
            push.send(common::fresh_msg(size))?;
        }
        Ok(())
    });
    pull.recv()?;
    let start = Instant::now();
    for _ in 1..count {
        pull.recv()?;
    }
    let elapsed = start.elapsed();
    remote.join().expect("remote thread")?;
    common::report(size, count, elapsed);
    Ok(())
}
