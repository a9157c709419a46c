//! `idle_cpu <seconds>`: what ferromq's threads burn, in CPU time, while a connected REQ/REP
//! pair over tcp exchanges requests, and then while it sits idle for `seconds`. Run it as is
//! for the default mode, and with `FERROMQ_SPIN_US=<µs>` for the low-latency mode
//! ([`ferromq::ContextBuilder::spin`]); `scripts/perf_compare.py` prints both. CPU time is the
//! whole process's (every thread), from `/proc/self/stat`, in the kernel's 10 ms ticks.

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;
use std::time::{Duration, Instant};

/// The process's user + system CPU time so far.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<u64> = rest.split(' ').skip(11).take(2).map(|x| x.parse().unwrap()).collect();
    // USER_HZ is 100 on every Linux /proc.
    Duration::from_millis((f[0] + f[1]) * 10)
}

fn main() -> ferromq::Result<()> {
    let secs: u64 = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(s)) if s > 0 => s,
        _ => {
            eprintln!("usage: idle_cpu <seconds>");
            std::process::exit(1)
        }
    };
    let ctx = common::context()?;
    let mut rep = ctx.socket(SocketType::Rep)?;
    rep.bind("tcp://127.0.0.1:*")?;
    let ep = rep.last_endpoint().expect("bound").to_owned();
    let server = std::thread::spawn(move || -> ferromq::Result<()> {
        loop {
            let m = rep.recv()?;
            let last = m.is_empty();
            rep.send(m)?;
            if last {
                return Ok(());
            }
        }
    });
    let mut req = ctx.socket(SocketType::Req)?;
    req.connect(&ep)?;
    let roundtrips = 20_000;
    let (c0, t0) = (cpu(), Instant::now());
    for _ in 0..roundtrips {
        req.send(&b"x"[..])?;
        req.recv()?;
    }
    let (busy_cpu, busy_wall) = (cpu() - c0, t0.elapsed());
    let c1 = cpu();
    std::thread::sleep(Duration::from_secs(secs));
    let idle_cpu = cpu() - c1;
    req.send(&b""[..])?;
    req.recv()?;
    server.join().expect("server thread")?;
    println!("round trips: {roundtrips} in {:.3} s", busy_wall.as_secs_f64());
    println!("cpu while busy: {:.2} [cores]", busy_cpu.as_secs_f64() / busy_wall.as_secs_f64());
    println!("cpu while idle: {} [ms] over {secs} s", idle_cpu.as_millis());
    Ok(())
}
