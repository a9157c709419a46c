//! Shared by the throughput and latency tools: libzmq's command-line parsing and output lines, so each
//! tool can be swapped for its libzmq twin (`perf/c/`, written against libzmq's C API).
#![allow(dead_code)]

use std::time::Duration;

/// Parses `<a> <message-size> <message-count>` (or the last two alone when `endpoint` is
/// false), exiting with libzmq's usage line on error.
pub fn args(tool: &str, endpoint: bool) -> (String, usize, u64) {
    let (a, size, count, _) = parse(tool, endpoint, "message-count", None);
    (a, size, count)
}

/// As [`args`], for the latency tools: `<a> <message-size> <roundtrip-count>`.
pub fn lat_args(tool: &str, endpoint: bool) -> (String, usize, u64) {
    let (a, size, count, _) = parse(tool, endpoint, "roundtrip-count", None);
    (a, size, count)
}

/// Parses the fan-out tools' `<endpoint> <message-size> <message-count> <subscribers>`
/// (1 to 64 subscribers).
pub fn fanout_args(tool: &str) -> (String, usize, u64, usize) {
    let ok: fn(u64) -> bool = |n| (1..=64).contains(&n);
    let (a, size, count, n) = parse(tool, true, "message-count", Some(("subscribers", ok)));
    (a, size, count, n as usize)
}

/// One more count after the common ones: its name in the usage line, and its check.
type Extra<'a> = (&'a str, fn(u64) -> bool);

/// The arguments every tool takes, and `extra`.
fn parse(
    tool: &str,
    endpoint: bool,
    counted: &str,
    extra: Option<Extra<'_>>,
) -> (String, usize, u64, u64) {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let want = usize::from(endpoint) + 2 + usize::from(extra.is_some());
    let ep = if endpoint { "<bind-to|connect-to> " } else { "" };
    let more = extra.map(|(name, _)| format!(" <{name}>")).unwrap_or_default();
    let usage = format!("usage: {tool} {ep}<message-size> <{counted}>{more}");
    let fail = || -> ! {
        eprintln!("{usage}");
        std::process::exit(1)
    };
    if argv.len() != want {
        fail();
    }
    let off = usize::from(endpoint);
    let size = argv[off].parse().unwrap_or_else(|_| fail());
    let count: u64 = argv[off + 1].parse().unwrap_or_else(|_| fail());
    if count == 0 {
        fail();
    }
    let n = match extra {
        Some((_, ok)) => match argv[off + 2].parse() {
            Ok(n) if ok(n) => n,
            _ => fail(),
        },
        None => 0,
    };
    (if endpoint { argv[0].clone() } else { String::new() }, size, count, n)
}

/// The tools' context: the default one, or with `FERROMQ_SPIN_US=<µs>` in the environment,
/// the low-latency mode with that budget ([`ferromq::ContextBuilder::spin`]).
pub fn context() -> ferromq::Result<ferromq::Context> {
    let spin = match std::env::var("FERROMQ_SPIN_US") {
        Ok(us) => us.parse().unwrap_or_else(|_| {
            eprintln!("FERROMQ_SPIN_US: microseconds, got {us:?}");
            std::process::exit(1)
        }),
        Err(_) => 0,
    };
    ferromq::Context::builder().spin(std::time::Duration::from_micros(spin)).build()
}

/// Prints libzmq's latency lines: one-way latency is the round trip halved.
pub fn report_lat(size: usize, roundtrips: u64, elapsed: Duration) {
    let latency = elapsed.as_secs_f64() * 1e6 / (roundtrips as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!("average latency: {latency:.3} [us]");
}

/// Prints libzmq's four result lines. `elapsed` runs from the first message to the last.
pub fn report(size: usize, count: u64, elapsed: Duration) {
    let us = elapsed.as_micros().max(1) as f64;
    let throughput = count as f64 / us * 1_000_000.0;
    let megabits = throughput * size as f64 * 8.0 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", throughput as u64);
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// A fresh message of `size` zero bytes, as libzmq's perf tools make one per send: inline
/// when small (libzmq's "very small messages"), allocated otherwise.
#[allow(clippy::slow_vector_initialization)] // deliberately not calloc: see below
#[inline]
pub fn fresh_msg(size: usize) -> ferromq::Msg {
    const ZEROS: [u8; ferromq::Msg::INLINE_CAPACITY] = [0; ferromq::Msg::INLINE_CAPACITY];
    if size <= ferromq::Msg::INLINE_CAPACITY {
        ferromq::Msg::copy_from_slice(&ZEROS[..size])
    } else {
        // Allocate then memset, as libzmq's tools do (zmq_msg_init_size, memset), through
        // ferromq's own allocation for message bodies as theirs is through libzmq's: a
        // `MsgBuf` takes back a large body of this thread's that the receiver or the I/O
        // thread is done with, where `zmq_msg_init_size` calls malloc. (`vec![0; n]` would
        // be calloc, which glibc serves from its arena, never from the per-thread cache.)
        let mut body = ferromq::MsgBuf::with_capacity(size);
        body.resize(size, 0u8);
        ferromq::Msg::from(body)
    }
}
