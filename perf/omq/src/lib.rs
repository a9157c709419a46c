//! What the six tools share: libzmq's argument handling and output lines, so each binary reads
//! as its libzmq original does.

use std::time::Duration;

use bytes::Bytes;
use omq_tokio::{Context, Message};

/// `<endpoint> <message-size> <count>` (or, with `endpoint` false, `<message-size> <count>`),
/// exiting with libzmq's usage line on anything else.
pub fn args(tool: &str, count_name: &str, endpoint: bool) -> (String, usize, u64) {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let want = if endpoint { 3 } else { 2 };
    let usage = || -> ! {
        let ep = if endpoint { "<endpoint> " } else { "" };
        eprintln!("usage: {tool} {ep}<message-size> <{count_name}>");
        std::process::exit(1)
    };
    if a.len() != want {
        usage()
    }
    let (ep, rest) = if endpoint { (a[0].clone(), &a[1..]) } else { (String::new(), &a[..]) };
    let size = rest[0].parse().unwrap_or_else(|_| usage());
    let count = rest[1].parse().unwrap_or_else(|_| usage());
    if count == 0 {
        usage()
    }
    (ep, size, count)
}

/// One context per process, as libzmq's tools make one `zmq_ctx_new`.
pub fn context() -> Context {
    Context::new()
}

/// A message freshly allocated per send, as libzmq's `remote_thr` calls `zmq_msg_init_size`
/// for every message: malloc then memset, as the C tools do (`vec![0; n]` would be calloc,
/// which glibc serves from its arena, never from the per-thread cache).
#[allow(clippy::slow_vector_initialization)] // deliberately not calloc
pub fn fresh(size: usize) -> Message {
    let mut body = Vec::with_capacity(size);
    body.resize(size, 0u8);
    Message::single(Bytes::from(body))
}

/// The one frame's length, checking the message has exactly one, as libzmq's tools check
/// `zmq_msg_size`.
pub fn body_len(m: &Message) -> usize {
    assert_eq!(m.len(), 1, "a message of {} frames", m.len());
    m.get(0).map(|b| b.len()).unwrap_or(0)
}

/// libzmq's `local_thr` report.
pub fn report_thr(size: usize, count: u64, elapsed: Duration) {
    let us = (elapsed.as_micros() as u64).max(1);
    let throughput = (count as f64 / us as f64 * 1_000_000.0) as u64;
    let megabits = throughput as f64 * size as f64 * 8.0 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// libzmq's `remote_lat` report: one-way latency is half a round trip.
pub fn report_lat(size: usize, roundtrips: u64, elapsed: Duration) {
    let latency = elapsed.as_secs_f64() * 1e6 / (roundtrips as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!("average latency: {latency:.3} [us]");
}

/// The fan-out tools' `<endpoint> <message-size> <message-count> <subscribers>`.
pub fn fanout_args(tool: &str) -> (String, usize, u64, usize) {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: {tool} <endpoint> <message-size> <message-count> <subscribers>");
        std::process::exit(1)
    };
    if a.len() != 4 {
        usage()
    }
    let size = a[1].parse().unwrap_or_else(|_| usage());
    let count: u64 = a[2].parse().unwrap_or_else(|_| usage());
    let subscribers: usize = a[3].parse().unwrap_or_else(|_| usage());
    if count == 0 || !(1..=64).contains(&subscribers) {
        usage()
    }
    (a[0].clone(), size, count, subscribers)
}
