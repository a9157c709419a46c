//! `inproc_lat <message-size> <roundtrip-count>`: libzmq's `inproc_lat`, a REQ and a REP
//! thread over inproc.
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};
use std::time::Instant;

fn main() {
    let (_, size, roundtrips) = args("inproc_lat", "roundtrip-count", false);
    let ctx = context();
    let rep = ctx.blocking_socket(SocketType::Rep, Options::default());
    rep.bind("inproc://lat_test").expect("bind");
    let echo = std::thread::spawn(move || {
        for _ in 0..roundtrips {
            let m = rep.recv().expect("recv");
            assert_eq!(body_len(&m), size, "message of the wrong size");
            rep.send(m).expect("send");
        }
        rep.close_with_linger(None).expect("close");
    });
    let req = ctx.blocking_socket(SocketType::Req, Options::default());
    req.connect("inproc://lat_test").expect("connect");
    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send(fresh(size)).expect("send");
        assert_eq!(body_len(&req.recv().expect("recv")), size, "message of the wrong size");
    }
    let elapsed = start.elapsed();
    echo.join().expect("echo");
    report_lat(size, roundtrips, elapsed);
    req.close().expect("close");
}
