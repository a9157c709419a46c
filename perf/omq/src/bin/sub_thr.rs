//! `sub_thr <connect-to> <message-size> <message-count> <subscribers>`: one SUB thread per
//! subscriber, each timing its stream from the first message to the last; prints the mean of
//! the subscribers' rates; `perf/c/sub_thr.c`'s twin.
use ferromq_perf_omq::*;
use omq_tokio::{Options, SocketType};
use std::time::Instant;

fn main() {
    let (ep, size, count, subscribers) = fanout_args("sub_thr");
    let ctx = context();
    let hwm = u32::try_from(count).unwrap_or(u32::MAX);
    let threads: Vec<_> = (0..subscribers)
        .map(|_| {
            let (ctx, ep) = (ctx.clone(), ep.clone());
            std::thread::spawn(move || {
                let sub = ctx.blocking_socket(SocketType::Sub, Options::default().recv_hwm(hwm));
                sub.subscribe(&b""[..]).expect("subscribe");
                sub.connect(ep.as_str()).expect("connect");
                assert_eq!(body_len(&sub.recv().expect("recv")), size, "message of the wrong size");
                let start = Instant::now();
                for _ in 1..count {
                    assert_eq!(
                        body_len(&sub.recv().expect("recv")),
                        size,
                        "message of the wrong size"
                    );
                }
                let us = (start.elapsed().as_micros() as f64).max(1.0);
                sub.close().expect("close");
                count as f64 / us * 1e6
            })
        })
        .collect();
    let rate = threads.into_iter().map(|t| t.join().expect("subscriber")).sum::<f64>()
        / subscribers as f64;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("subscribers: {subscribers}");
    println!("mean throughput: {} [msg/s]", rate as u64);
    println!("mean throughput: {:.3} [Mb/s]", rate * size as f64 * 8.0 / 1e6);
}
