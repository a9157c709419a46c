//! What the simulator knows about a run from outside the system under test: the clock, the
//! seeded randomness, the trace, the statistics and the invariant checker. Hosts reach it
//! through a [`World`] handle; the run loop owns it.

use crate::check::Checker;
use crate::rng::Rng;
use std::cell::{RefCell, RefMut};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// Trace lines kept for a failure report.
const RECENT: usize = 60;

/// The run's trace: one line per event, hashed as it goes (FNV-1a), the last lines kept for
/// failure reports, and every line kept when `--trace` asked for it.
#[derive(Debug)]
pub struct Trace {
    hash: u64,
    lines: u64,
    recent: VecDeque<String>,
    full: Option<Vec<String>>,
}

impl Trace {
    fn new(keep_all: bool) -> Trace {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            lines: 0,
            recent: VecDeque::with_capacity(RECENT),
            full: keep_all.then(Vec::new),
        }
    }

    fn push(&mut self, line: String) {
        for b in line.bytes().chain(std::iter::once(b'\n')) {
            self.hash ^= u64::from(b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.lines += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        if let Some(full) = self.full.as_mut() {
            full.push(line.clone());
        }
        self.recent.push_back(line);
    }

    /// The hash of every line so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// How many lines were traced.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The last lines.
    pub fn recent(&self) -> impl Iterator<Item = &str> {
        self.recent.iter().map(String::as_str)
    }

    /// Every line, when the run kept them.
    pub fn full(&self) -> Option<&[String]> {
        self.full.as_deref()
    }
}

/// Counters for the summary table.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Messages the sockets accepted for sending.
    pub sent: u64,
    /// Messages the applications received.
    pub received: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// Connections established (handshakes done).
    pub connections: u64,
    /// Dead peers detected by heartbeat timeouts (a partition stalls streams silently).
    pub heartbeat_timeouts: u64,
    /// Simulation steps.
    pub steps: u64,
}

/// When the phases of a run begin. Faults happen only before `faults_end`; applications send
/// until `send_end`; senders close at `close_senders`, receivers at `close_receivers`; the run
/// ends at `end`.
#[derive(Clone, Copy, Debug)]
pub struct Timeline {
    /// End of the fault phase.
    pub faults_end: Duration,
    /// Applications stop sending.
    pub send_end: Duration,
    /// Sending sockets close.
    pub close_senders: Duration,
    /// Receiving sockets close.
    pub close_receivers: Duration,
    /// The run stops.
    pub end: Duration,
}

/// Where a run stands, for applications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Faults may happen; applications send and may come and go.
    Faults,
    /// No more faults; applications keep sending and every peer must be back.
    Quiet,
    /// Sending is over; receivers drain.
    Drain,
    /// Sockets close.
    Closing,
}

/// Everything the run loop and the hosts share.
#[derive(Debug)]
pub struct WorldState {
    /// The run's seed.
    pub seed: u64,
    /// Simulated time at the start of the current step.
    pub now: Duration,
    /// The scenario's own draws (sizes, orientation, ...): the `setup` stream of the seed.
    pub rng: Rng,
    /// The trace.
    pub trace: Trace,
    /// The invariant checker.
    pub check: Checker,
    /// Counters.
    pub stats: Stats,
    /// The phases.
    pub timeline: Timeline,
    /// Streams may be reset and stalled ([`FaultKnobs::stream_faults`](crate::FaultKnobs)).
    pub stream_faults: bool,
    next_conn: u64,
    next_socket: u32,
    seqs: BTreeMap<u32, u64>,
    incarnations: BTreeMap<String, u32>,
}

/// A shared handle on the run's [`WorldState`].
#[derive(Clone, Debug)]
pub struct World(Rc<RefCell<WorldState>>);

impl World {
    pub(crate) fn new(seed: u64, timeline: Timeline, keep_trace: bool) -> World {
        World(Rc::new(RefCell::new(WorldState {
            seed,
            now: Duration::ZERO,
            rng: Rng::stream(seed, "setup"),
            trace: Trace::new(keep_trace),
            check: Checker::default(),
            stats: Stats::default(),
            timeline,
            stream_faults: true,
            next_conn: 0,
            next_socket: 0,
            seqs: BTreeMap::new(),
            incarnations: BTreeMap::new(),
        })))
    }

    /// Borrows the state; never hold it across an `.await`.
    pub fn get(&self) -> RefMut<'_, WorldState> {
        self.0.borrow_mut()
    }

    /// Adds a trace line, stamped with the simulated time.
    pub fn trace(&self, args: fmt::Arguments<'_>) {
        self.get().trace_line(args);
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        let w = self.get();
        let t = w.timeline;
        match w.now {
            now if now < t.faults_end => Phase::Faults,
            now if now < t.send_end => Phase::Quiet,
            now if now < t.close_senders => Phase::Drain,
            _ => Phase::Closing,
        }
    }

    /// A fresh stream number.
    pub fn next_conn(&self) -> u64 {
        let mut w = self.get();
        w.next_conn += 1;
        w.next_conn
    }

    /// The labelled random stream `label` of the run's seed (see [`Rng::stream`]).
    pub fn rng_stream(&self, label: &str) -> Rng {
        self.get().rng_stream(label)
    }

    /// How many times `host` started before (0 the first time).
    pub(crate) fn incarnation(&self, host: &str) -> u32 {
        let mut w = self.get();
        let n = w.incarnations.entry(host.to_owned()).or_insert(0);
        *n += 1;
        *n - 1
    }

    /// Counts an injected fault and traces it.
    pub fn fault(&self, kind: &'static str, args: fmt::Arguments<'_>) {
        let mut w = self.get();
        *w.stats.faults.entry(kind).or_default() += 1;
        let line = format!("FAULT {kind}: {args}");
        w.trace_line(format_args!("{line}"));
    }
}

impl WorldState {
    /// Records a violation seen by the run loop.
    pub(crate) fn check_fail(&mut self, what: String) {
        self.check.fail(what);
    }

    /// The labelled random stream `label` of the run's seed (see [`Rng::stream`]).
    pub fn rng_stream(&self, label: &str) -> Rng {
        Rng::stream(self.seed, label)
    }

    /// A fresh socket number.
    pub(crate) fn next_socket(&mut self) -> u32 {
        self.next_socket += 1;
        self.next_socket - 1
    }

    /// The next message number of socket `sock`.
    pub(crate) fn next_seq(&mut self, sock: u32) -> u64 {
        let n = self.seqs.entry(sock).or_insert(0);
        *n += 1;
        *n - 1
    }

    /// Adds a trace line, stamped with the simulated time.
    pub fn trace_line(&mut self, args: fmt::Arguments<'_>) {
        let ms = self.now.as_millis();
        let line = format!("{:>6}.{:03} {args}", ms / 1000, ms % 1000);
        self.trace.push(line);
    }
}
