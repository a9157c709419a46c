//! libzmq's `local_thr`, over the `zmq` crate (libzmq 4.3.4 built from source), so both
//! stacks are measured in the same run on the same machine. Same arguments and output as
//! `local_thr`.

#[path = "perf/common.rs"]
mod common;

use std::time::Instant;

fn main() {
    let (bind_to, size, count) = common::args("libzmq_local_thr", true);
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).expect("socket");
    pull.bind(&bind_to).expect("bind");
    let mut msg = zmq::Message::new();
    pull.recv(&mut msg, 0).expect("recv");
    let start = Instant::now();
    for _ in 1..count {
        pull.recv(&mut msg, 0).expect("recv");
        assert_eq!(msg.len(), size);
    }
    common::report(size, count, start.elapsed());
}
