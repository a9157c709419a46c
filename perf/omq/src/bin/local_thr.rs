//! `local_thr <bind-to> <message-size> <message-count>`: PULL binds and times the stream from
//! the first message to the last, as libzmq's `local_thr`.
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};
use std::time::Instant;

fn main() {
    let (ep, size, count) = args("local_thr", "message-count", true);
    let ctx = context();
    let pull = ctx.blocking_socket(SocketType::Pull, Options::default());
    pull.bind(ep.as_str()).expect("bind");
    assert_eq!(body_len(&pull.recv().expect("recv")), size, "message of the wrong size");
    let start = Instant::now();
    for _ in 1..count {
        assert_eq!(body_len(&pull.recv().expect("recv")), size, "message of the wrong size");
    }
    report_thr(size, count, start.elapsed());
    pull.close().expect("close");
}
