//! `sub_thr <connect-to> <message-size> <message-count> <subscribers>`: `subscribers` threads,
//! each a SUB with no high-water mark subscribed to everything and timing its stream from the
//! first message to the last; prints libzmq's throughput lines with the mean of the
//! subscribers' rates (per subscriber, not summed). `perf/c/sub_thr.c` is its libzmq twin.

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;
use std::time::Instant;

fn main() -> ferromq::Result<()> {
    let (connect_to, size, count, subscribers) = common::fanout_args("sub_thr");
    let ctx = common::context()?;
    let threads: Vec<_> = (0..subscribers)
        .map(|_| {
            let (ctx, connect_to) = (ctx.clone(), connect_to.clone());
            std::thread::spawn(move || -> ferromq::Result<f64> {
                let mut sub = ctx.socket(SocketType::Sub)?;
                sub.set_rcvhwm(0);
                sub.subscribe(b"")?;
                sub.connect(&connect_to)?;
                assert_eq!(sub.recv()?.len(), size, "message of the wrong size");
                let start = Instant::now();
                for _ in 1..count {
                    assert_eq!(sub.recv()?.len(), size, "message of the wrong size");
                }
                let us = start.elapsed().as_micros().max(1) as f64;
                Ok(count as f64 / us * 1_000_000.0)
            })
        })
        .collect();
    let mut rate = 0.0;
    for t in threads {
        rate += t.join().expect("subscriber thread")?;
    }
    rate /= subscribers as f64;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("subscribers: {subscribers}");
    println!("mean throughput: {} [msg/s]", rate as u64);
    println!("mean throughput: {:.3} [Mb/s]", rate * size as f64 * 8.0 / 1_000_000.0);
    Ok(())
}
