//! libzmq's `remote_thr`, over the `zmq` crate. Same arguments as `remote_thr`.

#[path = "perf/common.rs"]
mod common;

fn main() {
    let (connect_to, size, count) = common::args("libzmq_remote_thr", true);
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).expect("socket");
    push.connect(&connect_to).expect("connect");
    for _ in 0..count {
        let msg = zmq::Message::with_size(size);
        push.send(msg, 0).expect("send");
    }
    drop(push);
}
