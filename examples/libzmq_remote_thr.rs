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
    // libzmq 4.3.4 can lose the tail of the stream over ipc when the process exits right
    // after sending (libzmq issue #4660), which would leave local_thr waiting forever. The
    // pause does not change the figure (measured at the receiver); ferromq's remote_thr needs
    // none, since its linger delivers the tail.
    std::thread::sleep(std::time::Duration::from_secs(1));
    drop(push);
}
