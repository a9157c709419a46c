//! `local_lat <bind-to> <message-size> <roundtrip-count>`: REP binds and echoes, as libzmq's
//! `local_lat`.
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};

fn main() {
    let (ep, size, roundtrips) = args("local_lat", "roundtrip-count", true);
    let ctx = context();
    let rep = ctx.blocking_socket(SocketType::Rep, Options::default());
    rep.bind(ep.as_str()).expect("bind");
    for _ in 0..roundtrips {
        let m = rep.recv().expect("recv");
        assert_eq!(body_len(&m), size, "message of the wrong size");
        rep.send(m).expect("send");
    }
    rep.close_with_linger(None).expect("close");
}
