//! Cross-thread queue throughput, measured the way PERF.md asks for a noisy machine: the
//! contenders run *alternately*, round after round, and the report gives each one's median
//! with min–max, the ratio of its median to `std::sync::mpsc`'s, and the range of its
//! per-round ratios (each run against the std run next to it).
//! Pairing each ferromq run with the std run next to it cancels most of the slow periods
//! that make one long criterion run per contender swing by 2× on a shared VM.
//!
//! `cargo bench --bench pipe_pairs` (10 rounds of 2 M messages each);
//! `cargo bench --bench pipe_pairs -- --rounds 25 --messages 4000000` for a longer run;
//! `--each` also prints every round.
//!
//! Items are 8-byte inline `Msg`s, producer and consumer are pinned to one core each, and
//! throughput is taken at the consumer from its first message to its last (as libzmq's
//! `local_thr` does), so thread start-up is not counted.

use ferromq::Msg;
use ferromq::pipe::spsc;
use std::hint::black_box;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

fn item(i: u64) -> Msg {
    Msg::from(i.to_le_bytes())
}

/// Runs `produce` and `consume` on one core each; `consume` returns its own timing.
fn pinned<P, C>(produce: P, consume: C) -> Duration
where
    P: FnOnce() + Send + 'static,
    C: FnOnce() -> Duration + Send + 'static,
{
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (pc, cc) = (cores.first().copied(), cores.get(1).copied());
    let c = thread::spawn(move || {
        if let Some(c) = cc {
            core_affinity::set_for_current(c);
        }
        consume()
    });
    let p = thread::spawn(move || {
        if let Some(c) = pc {
            core_affinity::set_for_current(c);
        }
        produce()
    });
    p.join().unwrap();
    c.join().unwrap()
}

/// Takes `n` items from `pop`, yielding the core whenever it finds none; times first to last.
/// (Spinning before yielding, as `std::sync::mpsc::recv` does, was slower for every queue
/// here: a spinning consumer keeps catching up, and each message then costs a round trip of
/// cache lines between the cores.)
fn consume(n: u64, mut pop: impl FnMut() -> Option<Msg>) -> Duration {
    let mut start = None;
    let mut got = 0;
    while got < n {
        match pop() {
            Some(m) => {
                start.get_or_insert_with(Instant::now);
                black_box(m);
                got += 1;
            }
            None => thread::yield_now(),
        }
    }
    start.map_or(Duration::ZERO, |s| s.elapsed())
}

/// std's channel, its consumer blocking in `recv` or, `polled`, looping on `try_recv` like
/// ferromq's consumers here.
fn std_mpsc(n: u64, polled: bool) -> Duration {
    let (tx, rx) = mpsc::channel::<Msg>();
    pinned(
        move || {
            for i in 0..n {
                tx.send(item(i)).unwrap();
            }
        },
        move || {
            if polled {
                return consume(n, || rx.try_recv().ok());
            }
            black_box(rx.recv().unwrap());
            let start = Instant::now();
            for _ in 1..n {
                black_box(rx.recv().unwrap());
            }
            start.elapsed()
        },
    )
}

/// ferromq's queue with one flush every `batch` messages and the consumer's `poll`.
fn ferromq(n: u64, batch: u64, poll: fn(&mut spsc::Consumer<Msg>) -> Option<Msg>) -> Duration {
    let (mut tx, mut rx) = spsc::channel::<Msg>();
    pinned(
        move || {
            for i in 0..n {
                tx.write(item(i), false);
                if i % batch == batch - 1 {
                    let _ = tx.flush();
                }
            }
            let _ = tx.flush();
        },
        move || consume(n, || poll(&mut rx)),
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}")))
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs every bench binary once to prove it works: keep that short.
    let quick = !args.iter().any(|a| a == "--bench");
    let rounds = arg(&args, "--rounds", if quick { 2 } else { 10 }).max(1) as usize;
    let n = arg(&args, "--messages", if quick { 20_000 } else { 2_000_000 }).max(2);
    // `--each` prints every round's rates (in the order of the table), to see the spread.
    let each = args.iter().any(|a| a == "--each");

    type Run = Box<dyn Fn(u64) -> Duration>;
    let contenders: Vec<(&str, Run)> = vec![
        ("std::sync::mpsc, recv", Box::new(|n| std_mpsc(n, false))),
        ("std::sync::mpsc, try_recv", Box::new(|n| std_mpsc(n, true))),
        ("ferromq flush/msg, read", Box::new(|n| ferromq(n, 1, spsc::Consumer::read))),
        ("ferromq flush/msg, try_read", Box::new(|n| ferromq(n, 1, spsc::Consumer::try_read))),
        ("ferromq flush/64, read", Box::new(|n| ferromq(n, 64, spsc::Consumer::read))),
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        for (k, (_, run)) in contenders.iter().enumerate() {
            let d = run(n);
            rates[k].push((n - 1) as f64 / d.as_secs_f64() / 1e6);
        }
        if each {
            let line: Vec<String> = rates.iter().map(|r| format!("{:6.1}", r[round])).collect();
            eprintln!("round {:>3}: {}", round + 1, line.join(" "));
        } else {
            eprint!("\rround {}/{rounds}", round + 1);
        }
    }
    eprintln!();
    println!(
        "{n} messages a run, {rounds} alternating rounds, M msg/s; ratios against the first row"
    );
    println!(
        "{:<30} {:>8} {:>12} {:>16} {:>18}",
        "queue", "median", "min-max", "ratio of medians", "per-round ratios"
    );
    let base = rates[0].clone();
    let base_median = median(&mut base.clone());
    for (k, (name, _)) in contenders.iter().enumerate() {
        let r = &rates[k];
        let (lo, hi) = (
            r.iter().copied().fold(f64::INFINITY, f64::min),
            r.iter().copied().fold(0.0, f64::max),
        );
        let med = median(&mut r.clone());
        let ratios: Vec<f64> = r.iter().zip(&base).map(|(a, b)| a / b).collect();
        let (rlo, rhi) = (
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "{name:<30} {med:>8.1} {:>12} {:>15.2}x {:>18}",
            format!("{lo:.1}-{hi:.1}"),
            med / base_median,
            format!("{rlo:.2}-{rhi:.2}")
        );
    }
}
