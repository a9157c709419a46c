//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: REQ connects and times the
//! round trips, as libzmq's `remote_lat`.
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};
use std::time::Instant;

fn main() {
    let (ep, size, roundtrips) = args("remote_lat", "roundtrip-count", true);
    let ctx = context();
    let req = ctx.blocking_socket(SocketType::Req, Options::default());
    req.connect(ep.as_str()).expect("connect");
    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send(fresh(size)).expect("send");
        assert_eq!(body_len(&req.recv().expect("recv")), size, "message of the wrong size");
    }
    report_lat(size, roundtrips, start.elapsed());
    req.close().expect("close");
}
