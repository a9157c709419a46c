//! Scenarios and the run loop: build the hosts a scenario describes on a seeded turmoil
//! simulation, apply the fault plan on its timeline, step, check the invariants after every
//! step, and report.

use crate::check::{Event, Violation};
use crate::node::HostCtx;
use crate::plan::{self, Fault, FaultKind, FaultKnobs};
use crate::rng::Rng;
use crate::world::{Stats, Timeline, World};
use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// Simulated time per step.
pub const TICK: Duration = Duration::from_millis(1);

/// A topology and workload to simulate. A scenario is a small file: it adds hosts whose
/// applications open sockets, bind, connect, send and receive, and says which faults apply.
pub trait Scenario: Sync {
    /// Its name on the command line.
    fn name(&self) -> &'static str;
    /// One line about it.
    fn about(&self) -> &'static str;
    /// Adds the hosts and declares the peers and faults.
    fn build(&self, setup: &mut Setup<'_>);
}

/// What a scenario builds with.
pub struct Setup<'a> {
    sim: turmoil::Sim<'a>,
    world: World,
    hosts: Vec<String>,
    knobs: FaultKnobs,
}

impl Setup<'_> {
    /// Adds a host running `app` (again from the start after a crash and restart).
    pub fn host<F, Fut>(&mut self, name: &str, app: F)
    where
        F: Fn(HostCtx) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let world = self.world.clone();
        let host = name.to_owned();
        let app = std::rc::Rc::new(app);
        self.sim.host(name, move || {
            let (world, host, app) = (world.clone(), host.clone(), app.clone());
            async move {
                world.trace(format_args!("{host} starts"));
                app(HostCtx::new(world, &host)).await;
                // The host must keep running its sessions after the application returns.
                std::future::pending::<()>().await;
                Ok(())
            }
        });
        self.hosts.push(name.to_owned());
    }

    /// Lets messages from sockets of role `from` reach sockets of role `to`.
    pub fn allow(&mut self, from: &str, to: &str) {
        self.world.get().check.allow(from, to);
    }

    /// Draws from the run's seed (for the scenario's own choices: sizes, orientation, ...).
    pub fn random(&mut self, lo: u64, hi: u64) -> u64 {
        self.world.get().rng.range(lo, hi)
    }

    /// The fault settings, to change.
    pub fn faults(&mut self) -> &mut FaultKnobs {
        &mut self.knobs
    }

    /// The run's phases.
    pub fn timeline(&self) -> Timeline {
        self.world.get().timeline
    }
}

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Keep every trace line (for `--trace FILE`).
    pub keep_trace: bool,
}

/// The result of one seed.
#[derive(Debug)]
pub struct Outcome {
    /// The scenario.
    pub scenario: &'static str,
    /// The seed.
    pub seed: u64,
    /// What failed (empty: the seed passed).
    pub violations: Vec<Violation>,
    /// Hash of the whole trace.
    pub trace_hash: u64,
    /// Trace lines.
    pub trace_lines: u64,
    /// The last trace lines.
    pub recent: Vec<String>,
    /// Every trace line, when asked for.
    pub trace: Option<Vec<String>>,
    /// Counters.
    pub stats: Stats,
    /// Invariant checks made.
    pub checks: u64,
    /// Lost messages the checker excused, by reason.
    pub excused: crate::check::Excused,
    /// Simulated time.
    pub simulated: Duration,
}

impl Outcome {
    /// True when no invariant failed.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The command that replays this seed.
    pub fn replay_command(&self) -> String {
        let mutants = crate::active_mutants();
        let feature = if mutants.is_empty() { "" } else { " --features mutants" };
        let mut cmd = format!(
            "cargo run --release -p ferromq-sim{feature} -- run --scenario {} --seed {}",
            self.scenario, self.seed
        );
        for m in mutants {
            cmd.push_str(" --mutant ");
            cmd.push_str(m);
        }
        cmd
    }
}

thread_local! {
    /// `Some` while a run is stepping on this thread: what panicked in it, if anything.
    static PANICKED: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Panics inside the stack are bugs: tokio would swallow those of spawned tasks, so a hook
/// records them for the run loop (and keeps them off the terminal during sweeps). A panic
/// outside a run's steps (a test's own assertion) goes to the default hook.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_sim = PANICKED.with(|p| match &mut *p.borrow_mut() {
                Some(slot) => {
                    slot.get_or_insert_with(|| format!("{info}"));
                    true
                }
                None => false,
            });
            if !in_sim {
                default(info);
            }
        }));
    });
}

/// Steps the simulation with panics recorded for the run loop rather than printed.
fn step_recording_panics<T>(f: impl FnOnce() -> T) -> (std::thread::Result<T>, Option<String>) {
    PANICKED.with(|p| *p.borrow_mut() = Some(None));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    (r, PANICKED.with(|p| p.borrow_mut().take().flatten()))
}

/// The phases of every run (simulated time).
pub fn timeline() -> Timeline {
    Timeline {
        faults_end: Duration::from_secs(7),
        send_end: Duration::from_secs(10),
        close_senders: Duration::from_millis(11_500),
        close_receivers: Duration::from_millis(13_500),
        end: Duration::from_secs(16),
    }
}

/// Runs `scenario` with `seed`.
pub fn run(scenario: &dyn Scenario, seed: u64, opts: &RunOptions) -> Outcome {
    install_panic_hook();
    let timeline = timeline();
    let world = World::new(seed, timeline, opts.keep_trace);
    world.get().check.set_timeline(timeline);
    let latency = Duration::from_micros(Rng::stream(seed, "network").range(100, 5000));
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(timeline.end + Duration::from_secs(60))
        .tick_duration(TICK)
        .min_message_latency(Duration::from_micros(50))
        .max_message_latency(latency);
    let mut setup = Setup {
        sim: builder.build(),
        world: world.clone(),
        hosts: Vec::new(),
        knobs: FaultKnobs::default(),
    };
    world.trace(format_args!("seed {seed} scenario {}", scenario.name()));
    scenario.build(&mut setup);
    let Setup { mut sim, hosts, knobs, .. } = setup;
    world.get().stream_faults = knobs.stream_faults;
    world.get().check.set_stream_faults(knobs.stream_faults);
    let faults = {
        let mut w = world.get();
        let mut rng = w.rng_stream("faults");
        let faults = plan::draw_faults(&mut rng, &knobs, &hosts, timeline.faults_end);
        for f in &faults {
            w.check.fault_window(f.start, f.end);
        }
        faults
    };
    let mut started = vec![false; faults.len()];
    let mut ended = vec![false; faults.len()];
    loop {
        let now = sim.elapsed();
        {
            let mut w = world.get();
            w.now = now;
            w.check.set_now(now);
        }
        for (i, f) in faults.iter().enumerate() {
            if !started[i] && f.start <= now {
                started[i] = true;
                apply(&mut sim, &world, f, true);
            }
            if !ended[i] && f.end <= now {
                ended[i] = true;
                apply(&mut sim, &world, f, false);
            }
        }
        let (step, panicked) = step_recording_panics(|| sim.step());
        let mut w = world.get();
        w.stats.steps += 1;
        match step {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => w.check_fail(format!("host software failed: {e}")),
            Err(_) => {}
        }
        if let Some(p) = panicked {
            w.check_fail(format!("panic: {p}"));
        }
        w.check.emit(Event::Tick);
        if !w.check.violations().is_empty() || now >= timeline.end {
            break;
        }
    }
    let mut w = world.get();
    if w.check.violations().is_empty() {
        w.check.finish();
    }
    let simulated = w.now;
    let violations = w.check.violations().to_vec();
    for v in &violations {
        let line = format!("VIOLATION: {}", v.what);
        w.trace_line(format_args!("{line}"));
    }
    Outcome {
        scenario: scenario.name(),
        seed,
        violations,
        trace_hash: w.trace.hash(),
        trace_lines: w.trace.lines(),
        recent: w.trace.recent().map(str::to_owned).collect(),
        trace: w.trace.full().map(<[String]>::to_vec),
        stats: w.stats.clone(),
        checks: w.check.checks(),
        excused: w.check.excused().clone(),
        simulated,
    }
}

fn apply(sim: &mut turmoil::Sim<'_>, world: &World, f: &Fault, start: bool) {
    let verb = if start { "start" } else { "end" };
    match &f.kind {
        FaultKind::Partition(a, b) if start => sim.partition(a.as_str(), b.as_str()),
        FaultKind::Partition(a, b) => sim.repair(a.as_str(), b.as_str()),
        FaultKind::Hold(a, b) if start => sim.hold(a.as_str(), b.as_str()),
        FaultKind::Hold(a, b) => sim.release(a.as_str(), b.as_str()),
        FaultKind::Latency(a, b, d) if start => sim.set_link_latency(a.as_str(), b.as_str(), *d),
        FaultKind::Latency(a, b, _) => {
            sim.set_link_latency(a.as_str(), b.as_str(), Duration::from_millis(1));
        }
        FaultKind::Crash(h) if start => {
            sim.crash(h.as_str());
            world.get().check.emit(Event::HostCrashed { host: h });
        }
        FaultKind::Crash(h) => {
            // A restart ends whatever runs there now (overlapping crashes of one host).
            world.get().check.emit(Event::HostCrashed { host: h });
            sim.bounce(h.as_str());
        }
    }
    if start {
        world.fault(f.kind.name(), format_args!("{verb} {:?}", f.kind));
    } else {
        world.trace(format_args!("fault end {:?}", f.kind));
    }
}
