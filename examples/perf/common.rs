//! Shared by the throughput and latency tools: libzmq's command-line parsing and output lines, so each
//! tool can be swapped for its libzmq twin (`perf/c/`, written against libzmq's C API).
#![allow(dead_code)]

use std::time::Duration;

/// Parses `<a> <message-size> <message-count>` (or the last two alone when `endpoint` is
/// false), exiting with libzmq's usage line on error.
pub fn args(tool: &str, endpoint: bool) -> (String, usize, u64) {
    parse(tool, endpoint, "message-count")
}

/// As [`args`], for the latency tools: `<a> <message-size> <roundtrip-count>`.
pub fn lat_args(tool: &str, endpoint: bool) -> (String, usize, u64) {
    parse(tool, endpoint, "roundtrip-count")
}

fn parse(tool: &str, endpoint: bool, counted: &str) -> (String, usize, u64) {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let want = if endpoint { 3 } else { 2 };
    let usage = if endpoint {
        format!("usage: {tool} <bind-to|connect-to> <message-size> <{counted}>")
    } else {
        format!("usage: {tool} <message-size> <{counted}>")
    };
    let fail = || -> ! {
        eprintln!("{usage}");
        std::process::exit(1)
    };
    if argv.len() != want {
        fail();
    }
    let off = want - 2;
    let size = argv[off].parse().unwrap_or_else(|_| fail());
    let count: u64 = argv[off + 1].parse().unwrap_or_else(|_| fail());
    if count == 0 {
        fail();
    }
    (if endpoint { argv[0].clone() } else { String::new() }, size, count)
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

/// Parses the fan-out tools' `<endpoint> <message-size> <message-count> <subscribers>`.
pub fn fanout_args(tool: &str) -> (String, usize, u64, usize) {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let fail = || -> ! {
        eprintln!(
            "usage: {tool} <bind-to|connect-to> <message-size> <message-count> <subscribers>"
        );
        std::process::exit(1)
    };
    if argv.len() != 4 {
        fail();
    }
    let size = argv[1].parse().unwrap_or_else(|_| fail());
    let count: u64 = argv[2].parse().unwrap_or_else(|_| fail());
    let subscribers: usize = argv[3].parse().unwrap_or_else(|_| fail());
    if count == 0 || !(1..=64).contains(&subscribers) {
        fail();
    }
    (argv[0].clone(), size, count, subscribers)
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
pub fn fresh_msg(size: usize) -> ferromq::Msg {
    const ZEROS: [u8; ferromq::Msg::INLINE_CAPACITY] = [0; ferromq::Msg::INLINE_CAPACITY];
    if size <= ferromq::Msg::INLINE_CAPACITY {
        ferromq::Msg::copy_from_slice(&ZEROS[..size])
    } else {
        ferromq::Msg::from(vec![0u8; size])
    }
}
