//! `remote_thr <connect-to> <message-size> <message-count>`: PUSH connects, sends, and closes
//! lingering until every message is out, as libzmq's `remote_thr` (whose linger is infinite).
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};

fn main() {
    let (ep, size, count) = args("remote_thr", "message-count", true);
    let ctx = context();
    let push = ctx.blocking_socket(SocketType::Push, Options::default());
    push.connect(ep.as_str()).expect("connect");
    for _ in 0..count {
        push.send(fresh(size)).expect("send");
    }
    push.close_with_linger(None).expect("close");
}
