//! `inproc_thr <message-size> <message-count>`: libzmq's `inproc_thr`, a PUSH thread into a
//! PULL over inproc, timed by the receiver.
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};
use std::time::Instant;

fn main() {
    let (_, size, count) = args("inproc_thr", "message-count", false);
    let ctx = context();
    let pull = ctx.blocking_socket(SocketType::Pull, Options::default());
    pull.bind("inproc://thr_test").expect("bind");
    let sender_ctx = ctx.clone();
    let sender = std::thread::spawn(move || {
        let push = sender_ctx.blocking_socket(SocketType::Push, Options::default());
        push.connect("inproc://thr_test").expect("connect");
        for _ in 0..count {
            push.send(fresh(size)).expect("send");
        }
        push.close_with_linger(None).expect("close");
    });
    assert_eq!(body_len(&pull.recv().expect("recv")), size, "message of the wrong size");
    let start = Instant::now();
    for _ in 1..count {
        assert_eq!(body_len(&pull.recv().expect("recv")), size, "message of the wrong size");
    }
    let elapsed = start.elapsed();
    sender.join().expect("sender");
    report_thr(size, count, elapsed);
    pull.close().expect("close");
}
