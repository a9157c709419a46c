//! libzmq's `inproc_thr`, over the `zmq` crate. Same arguments and output as `inproc_thr`.

#[path = "perf/common.rs"]
mod common;

use std::time::Instant;

fn main() {
    let (_, size, count) = common::args("libzmq_inproc_thr", false);
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).expect("socket");
    pull.bind("inproc://thr_test").expect("bind");
    let remote_ctx = ctx.clone();
    let remote = std::thread::spawn(move || {
        let push = remote_ctx.socket(zmq::PUSH).expect("socket");
        push.connect("inproc://thr_test").expect("connect");
        for _ in 0..count {
            push.send(zmq::Message::with_size(size), 0).expect("send");
        }
    });
    let mut msg = zmq::Message::new();
    pull.recv(&mut msg, 0).expect("recv");
    let start = Instant::now();
    for _ in 1..count {
        pull.recv(&mut msg, 0).expect("recv");
    }
    let elapsed = start.elapsed();
    remote.join().expect("remote");
    common::report(size, count, elapsed);
}
