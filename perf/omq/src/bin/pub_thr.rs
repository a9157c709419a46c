//! `pub_thr <bind-to> <message-size> <message-count> <subscribers>`: PUB binds, waits until
//! `subscribers` subscriptions are known, publishes and closes lingering until every copy is
//! out; `perf/c/pub_thr.c`'s twin. omq's high-water marks size its rings and 0 does not mean
//! "none", so the mark is the message count: nothing is dropped, as with libzmq's 0.
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};
use std::time::Duration;

fn main() {
    let (ep, size, count, subscribers) = fanout_args("pub_thr");
    let ctx = context();
    let hwm = u32::try_from(count).unwrap_or(u32::MAX);
    let publisher = ctx.blocking_socket(SocketType::Pub, Options::default().send_hwm(hwm));
    publisher.bind(ep.as_str()).expect("bind");
    publisher.wait_subscribed(subscribers as u64, Duration::from_secs(60)).expect("subscribers");
    for _ in 0..count {
        publisher.send(fresh(size)).expect("send");
    }
    publisher.close_with_linger(None).expect("close");
}
