//! Many seeds over the machine's cores, with a summary.

use crate::run::{Outcome, RunOptions, Scenario, run};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a sweep did, for the summary table.
#[derive(Debug, Default)]
pub struct Summary {
    /// Seeds run, per scenario.
    pub seeds: BTreeMap<&'static str, u64>,
    /// Simulated time in all.
    pub simulated: Duration,
    /// Wall-clock time.
    pub wall: Duration,
    /// Simulation steps in all.
    pub steps: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages received.
    pub received: u64,
    /// Connections established.
    pub connections: u64,
    /// Dead peers detected by heartbeat timeouts.
    pub heartbeat_timeouts: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// Invariant checks.
    pub checks: u64,
    /// Lost messages the checker excused, by reason.
    pub excused: crate::check::Excused,
    /// The seeds that failed.
    pub failures: Vec<Outcome>,
}

impl Summary {
    fn add(&mut self, o: Outcome) {
        *self.seeds.entry(o.scenario).or_default() += 1;
        self.simulated += o.simulated;
        self.steps += o.stats.steps;
        self.sent += o.stats.sent;
        self.received += o.stats.received;
        self.connections += o.stats.connections;
        self.heartbeat_timeouts += o.stats.heartbeat_timeouts;
        for (k, v) in &o.stats.faults {
            *self.faults.entry(k).or_default() += v;
        }
        self.checks += o.checks;
        for (&why, n) in &o.excused {
            *self.excused.entry(why).or_default() += n;
        }
        if !o.passed() {
            self.failures.push(o);
        }
    }

    /// Seeds run in all.
    pub fn total_seeds(&self) -> u64 {
        self.seeds.values().sum()
    }
}

/// Runs every (scenario, seed) pair on `jobs` threads. `progress` is called after each seed;
/// with `stop_on_failure`, the sweep stops at the first failing seed.
pub fn sweep(
    scenarios: &[&'static dyn Scenario],
    seeds: std::ops::Range<u64>,
    jobs: usize,
    stop_on_failure: bool,
    progress: &(dyn Fn(&Outcome) + Sync),
) -> Summary {
    // Seed by seed, every scenario in turn: a stop at the first failure then finds a bug
    // that only one scenario shows after as few seeds as possible.
    let work: Vec<(&'static dyn Scenario, u64)> =
        seeds.flat_map(|seed| scenarios.iter().map(move |&s| (s, seed))).collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let summary = Mutex::new(Summary::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(scenario, seed)) = work.get(i) else { return };
                    let o = run(scenario, seed, &RunOptions::default());
                    progress(&o);
                    if !o.passed() && stop_on_failure {
                        stop.store(true, Ordering::Relaxed);
                    }
                    summary.lock().expect("no panics while holding it").add(o);
                }
            });
        }
    });
    let mut s = summary.into_inner().expect("no panics while holding it");
    s.wall = started.elapsed();
    s.failures.sort_by_key(|o| (o.scenario, o.seed));
    s
}
