//! `ferromq-sim`: run the deterministic simulator from the command line.
//!
//! * no arguments: the default sweep (every scenario over seeds `0..200`), with a progress bar
//!   and a summary table; exit status 1 if any seed fails;
//! * `run --scenario S --seed N [--trace FILE]`: replay one seed;
//! * `sweep --scenario S --seeds A..B`: sweep one scenario (or `all`);
//! * `list`: the scenario names, one a line;
//! * `mutants` (with `--features mutants`): prove the default sweep catches every planted bug.

use clap::{Parser, Subcommand};
use ferromq_sim::{Outcome, Summary, scenarios};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "ferromq's deterministic network simulator")]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Seeds per scenario for the default sweep.
    #[arg(long, default_value_t = 200)]
    seeds: u64,
    /// Worker threads (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Plant a known bug (needs `--features mutants`); repeatable.
    #[arg(long = "mutant", global = true)]
    mutants: Vec<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replay one seed of one scenario.
    Run {
        /// The scenario (see `list`).
        #[arg(long)]
        scenario: String,
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// Write the whole trace to this file.
        #[arg(long)]
        trace: Option<std::path::PathBuf>,
    },
    /// Sweep a range of seeds.
    Sweep {
        /// The scenario, or `all`.
        #[arg(long, default_value = "all")]
        scenario: String,
        /// Seeds as `A..B` (B excluded).
        #[arg(long, default_value = "0..200")]
        seeds: String,
        /// Stop at the first failing seed.
        #[arg(long)]
        stop_on_failure: bool,
    },
    /// Print the scenario names, one a line.
    List,
    /// With each planted bug on in turn, a sweep of the default seeds must fail (CI also runs
    /// the default sweep with none on, which must pass).
    Mutants {
        /// Seeds per scenario to try for each mutant.
        #[arg(long, default_value_t = 200)]
        seeds: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = set_mutants(&cli.mutants) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let jobs = cli.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    match cli.cmd {
        None => sweep_and_report(scenarios::all(), 0..cli.seeds, jobs, false),
        Some(Cmd::List) => {
            for s in scenarios::all() {
                println!("{}", s.name());
            }
            ExitCode::SUCCESS
        }
        Some(Cmd::Run { scenario, seed, trace }) => {
            let Some(s) = scenarios::find(&scenario) else { return unknown(&scenario) };
            let opts = ferromq_sim::RunOptions { keep_trace: trace.is_some() };
            let o = ferromq_sim::run(s, seed, &opts);
            if let (Some(path), Some(lines)) = (trace, o.trace.as_ref()) {
                if let Err(e) = std::fs::write(&path, lines.join("\n") + "\n") {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
                println!("trace: {} lines in {}", lines.len(), path.display());
            }
            let excused: Vec<String> =
                o.excused.iter().map(|(w, n)| format!("{n} {}", w.name())).collect();
            if !excused.is_empty() {
                println!("excused losses: {}", excused.join(", "));
            }
            println!(
                "{} seed {}: {} ({} simulated s, {} sent, {} received, {} checks, trace hash {:016x})",
                o.scenario,
                o.seed,
                if o.passed() { "passed" } else { "FAILED" },
                o.simulated.as_secs_f64(),
                o.stats.sent,
                o.stats.received,
                o.checks,
                o.trace_hash
            );
            if o.passed() {
                ExitCode::SUCCESS
            } else {
                report_failure(&o);
                ExitCode::FAILURE
            }
        }
        Some(Cmd::Sweep { scenario, seeds, stop_on_failure }) => {
            let Some(range) = parse_range(&seeds) else {
                eprintln!("error: --seeds takes A..B, got {seeds:?}");
                return ExitCode::from(2);
            };
            let list: Vec<_> = if scenario == "all" {
                scenarios::all().to_vec()
            } else {
                match scenarios::find(&scenario) {
                    Some(s) => vec![s],
                    None => return unknown(&scenario),
                }
            };
            sweep_and_report(&list, range, jobs, stop_on_failure)
        }
        Some(Cmd::Mutants { seeds }) => check_mutants(seeds, jobs),
    }
}

fn unknown(name: &str) -> ExitCode {
    eprintln!("error: no scenario {name:?}; `list` prints them");
    ExitCode::from(2)
}

fn parse_range(s: &str) -> Option<std::ops::Range<u64>> {
    let (a, b) = s.split_once("..")?;
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a < b).then_some(a..b)
}

#[cfg(feature = "mutants")]
fn set_mutants(names: &[String]) -> Result<(), String> {
    for n in names {
        let m = ferromq::mutants::Mutant::from_name(n).ok_or_else(|| {
            let all: Vec<_> = ferromq::mutants::Mutant::ALL.iter().map(|m| m.name()).collect();
            format!("no mutant {n:?}; there are: {}", all.join(", "))
        })?;
        ferromq::mutants::set(m, true);
    }
    Ok(())
}

#[cfg(not(feature = "mutants"))]
fn set_mutants(names: &[String]) -> Result<(), String> {
    if names.is_empty() {
        Ok(())
    } else {
        Err("--mutant needs a build with `--features mutants`".into())
    }
}

fn bar(len: u64) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} seeds, {msg} ({eta} left)",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    pb
}

fn sweep_and_report(
    list: &[&'static dyn ferromq_sim::Scenario],
    seeds: std::ops::Range<u64>,
    jobs: usize,
    stop_on_failure: bool,
) -> ExitCode {
    let pb = bar(list.len() as u64 * (seeds.end - seeds.start));
    let failed = std::sync::atomic::AtomicU64::new(0);
    let summary = ferromq_sim::sweep(list, seeds, jobs, stop_on_failure, &|o: &Outcome| {
        if !o.passed() {
            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        pb.set_message(format!("{} failed", failed.load(std::sync::atomic::Ordering::Relaxed)));
        pb.inc(1);
    });
    pb.finish_and_clear();
    print_summary(&summary);
    if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn print_summary(s: &Summary) {
    let wall = s.wall.as_secs_f64().max(1e-9);
    println!("{:<28} {:>14}", "scenario", "seeds");
    for (name, n) in &s.seeds {
        println!("{name:<28} {n:>14}");
    }
    let rows: Vec<(String, String)> = vec![
        ("seeds".into(), s.total_seeds().to_string()),
        ("simulated seconds".into(), format!("{:.1}", s.simulated.as_secs_f64())),
        ("wall seconds".into(), format!("{wall:.1}")),
        ("simulated s / wall s".into(), format!("{:.1}", s.simulated.as_secs_f64() / wall)),
        ("steps / wall s".into(), format!("{:.0}", s.steps as f64 / wall)),
        ("messages sent".into(), s.sent.to_string()),
        ("messages received".into(), s.received.to_string()),
        ("connections".into(), s.connections.to_string()),
        ("dead peers found by heartbeat".into(), s.heartbeat_timeouts.to_string()),
        ("invariant checks".into(), s.checks.to_string()),
    ];
    println!("{}", "-".repeat(43));
    for (k, v) in rows {
        println!("{k:<28} {v:>14}");
    }
    for (k, v) in &s.faults {
        println!("{:<28} {v:>14}", format!("faults: {k}"));
    }
    for (why, n) in &s.excused {
        println!("{:<28} {n:>14}", format!("excused: {}", why.name()));
    }
    println!("{:<28} {:>14}", "failures", s.failures.len());
    for o in s.failures.iter().take(10) {
        report_failure(o);
    }
    if s.failures.len() > 10 {
        println!("... and {} more failing seeds", s.failures.len() - 10);
    }
}

fn report_failure(o: &Outcome) {
    println!("\nFAILED: {} seed {}", o.scenario, o.seed);
    for v in &o.violations {
        let ms = v.at.as_millis();
        println!("  at {}.{:03} s: {}", ms / 1000, ms % 1000, v.what);
    }
    println!("  replay: {}", o.replay_command());
    println!("  last trace lines:");
    for l in &o.recent {
        println!("    {l}");
    }
}

/// Planted bugs no scenario can reach, with why and what catches each instead: a runtime test
/// over real sockets (`scripts/mutants_runtime.sh`) or a loom model
/// (`loom-tests/tests/gate_mutants.rs`). Kept short and explicit: every other bug must fail the
/// sweep.
#[cfg(feature = "mutants")]
const OUT_OF_REACH: &[(ferromq::mutants::Mutant, &str, &str)] = &[
    (
        ferromq::mutants::Mutant::ProxyIgnoresRoom,
        "the forwarder scenario's destinations (an XPUB, an XSUB) never refuse a message",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::ShortReadIgnoresHangup,
        "it lives in the mio driver's read loop, which the simulator does not run",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::IoThreadStaysQuiet,
        "it lives in the mio driver's hand-over between user threads and the I/O thread, which the simulator does not run",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::PollGoesUnrung,
        "it lives in the mio driver's low-latency mailbox wake-up, which the simulator does not run",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::LeaderGoesUnrung,
        "it lives in the mio driver's blocking wait (a user thread leading the I/O loop), which the simulator does not run",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::HomeOverflows,
        "a body goes home only when another thread drops it, and the simulator runs each scenario on one thread",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::HomeNeverDrained,
        "a body goes home only when another thread drops it, and the simulator runs each scenario on one thread",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::ReuseForgets,
        "it costs allocations, not messages, and the simulator's oracles check messages",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::ShellPerMessage,
        "it costs allocations, not messages, and the simulator's oracles check messages",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::BoxPerWrite,
        "it costs allocations, not messages, and the simulator's oracles check messages",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::FanOutFreedAway,
        "a body goes home only when another thread drops it, and the simulator runs each scenario on one thread",
        "a runtime test",
    ),
    (
        ferromq::mutants::Mutant::StaleAfterTimeout,
        "it lives in the mio driver's parker, which the simulator does not run",
        "a loom model (on x86 the unlock after it is a full barrier, which hides it)",
    ),
    (
        ferromq::mutants::Mutant::GraceErased,
        "it lives in the mio driver's hand-over between user threads and the I/O thread, which the simulator does not run",
        "a loom model (it costs a hand-over, not a message, which no runtime test can tell from noise)",
    ),
    (
        ferromq::mutants::Mutant::SpinLosesNotify,
        "it lives in the mio driver's parker, which the simulator does not run",
        "a loom model (the window between its load and its store is a few instructions wide)",
    ),
];

#[cfg(feature = "mutants")]
fn check_mutants(seeds: u64, jobs: usize) -> ExitCode {
    use ferromq::mutants::{self, Mutant};
    let mut ok = true;
    for m in Mutant::ALL {
        if let Some((_, why, by)) = OUT_OF_REACH.iter().find(|(x, ..)| *x == m) {
            println!("{:<32} not swept: {why} ({by} catches it)", m.name());
            continue;
        }
        mutants::set(m, true);
        let started = std::time::Instant::now();
        let s = ferromq_sim::sweep(scenarios::all(), 0..seeds, jobs, true, &|_| {});
        mutants::set(m, false);
        match s.failures.first() {
            Some(o) => println!(
                "{:<32} caught by {} seed {} after {} seeds, {:.1} s: {}",
                m.name(),
                o.scenario,
                o.seed,
                s.total_seeds(),
                started.elapsed().as_secs_f64(),
                o.violations.first().map_or("", |v| v.what.as_str())
            ),
            None => {
                ok = false;
                println!("{:<32} NOT CAUGHT in {} seeds", m.name(), s.total_seeds());
            }
        }
    }
    if ok {
        println!("every planted bug was caught");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(not(feature = "mutants"))]
fn check_mutants(_: u64, _: usize) -> ExitCode {
    eprintln!("error: `mutants` needs a build with `--features mutants`");
    ExitCode::from(2)
}
