//! Fault plans, drawn from the seed: network faults on a timeline (partition and heal, hold
//! and release, latency spikes, crash and restart), and per-connection misbehaviour (random
//! chunking, stalls, resets) for the [`Chaos`](crate::chaos::Chaos) layer.

use crate::chaos::ChaosPlan;
use crate::rng::Rng;
use std::time::Duration;

/// Which faults a scenario allows, and how many.
#[derive(Clone, Debug)]
pub struct FaultKnobs {
    /// Most timeline faults in one run (each run draws 0..=max; about one seed in five has
    /// none, and must then lose nothing).
    pub max_faults: u64,
    /// Partition two hosts, then heal (streams stall silently: heartbeats must notice).
    pub partitions: bool,
    /// Hold a link's traffic, then release it (delay without loss).
    pub holds: bool,
    /// Raise a link's latency for a while.
    pub latency_spikes: bool,
    /// Hosts that may crash and restart.
    pub crashable: Vec<String>,
    /// Streams may be reset and stalled (random chunking of reads and writes, which is not a
    /// fault, always applies).
    pub stream_faults: bool,
}

impl Default for FaultKnobs {
    fn default() -> Self {
        FaultKnobs {
            max_faults: 4,
            partitions: true,
            holds: true,
            latency_spikes: true,
            crashable: Vec::new(),
            stream_faults: true,
        }
    }
}

/// The longest a stream stalls (only in the fault phase, and only with stream faults on).
pub const MAX_STALL: Duration = Duration::from_millis(300);

/// One timeline fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Partition `a` from `b`.
    Partition(String, String),
    /// Hold traffic between `a` and `b`.
    Hold(String, String),
    /// Latency between `a` and `b` set to this.
    Latency(String, String, Duration),
    /// Crash the host; restart it at the end.
    Crash(String),
}

impl FaultKind {
    /// Its name in the statistics.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Partition(..) => "partition",
            FaultKind::Hold(..) => "hold",
            FaultKind::Latency(..) => "latency-spike",
            FaultKind::Crash(_) => "crash-restart",
        }
    }
}

/// A fault with its start and end.
#[derive(Clone, Debug)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// When it starts.
    pub start: Duration,
    /// When it is undone.
    pub end: Duration,
}

/// Draws the timeline faults for a run over `hosts`, all undone before `faults_end`.
pub fn draw_faults(
    rng: &mut Rng,
    knobs: &FaultKnobs,
    hosts: &[String],
    faults_end: Duration,
) -> Vec<Fault> {
    let mut kinds: Vec<&str> = Vec::new();
    if knobs.partitions && hosts.len() > 1 {
        kinds.push("partition");
    }
    if knobs.holds && hosts.len() > 1 {
        kinds.push("hold");
    }
    if knobs.latency_spikes && hosts.len() > 1 {
        kinds.push("latency");
    }
    if !knobs.crashable.is_empty() {
        kinds.push("crash");
    }
    if kinds.is_empty() || knobs.max_faults == 0 || rng.chance(0.2) {
        return Vec::new();
    }
    let n = rng.range(1, knobs.max_faults.max(1));
    let last = faults_end.as_millis() as u64;
    let mut faults = Vec::new();
    for _ in 0..n {
        let len = rng.range(100, 2500).min(last / 2);
        let start = rng.range(300, last - len - 50);
        let pair = |rng: &mut Rng| {
            let a = rng.below(hosts.len() as u64) as usize;
            let b = (a + 1 + rng.below(hosts.len() as u64 - 1) as usize) % hosts.len();
            (hosts[a].clone(), hosts[b].clone())
        };
        let kind = match *rng.pick(&kinds) {
            "partition" => {
                let (a, b) = pair(rng);
                FaultKind::Partition(a, b)
            }
            "hold" => {
                let (a, b) = pair(rng);
                FaultKind::Hold(a, b)
            }
            "latency" => {
                let (a, b) = pair(rng);
                FaultKind::Latency(a, b, rng.millis(20, 300))
            }
            _ => FaultKind::Crash(rng.pick(&knobs.crashable).clone()),
        };
        faults.push(Fault {
            kind,
            start: Duration::from_millis(start),
            end: Duration::from_millis(start + len),
        });
    }
    faults.sort_by_key(|f| f.start);
    faults
}

/// Per-connection misbehaviour.
pub struct ConnChaos;

impl ConnChaos {
    /// Draws a connection's chaos. Every connection gets random chunking (split points
    /// anywhere, some reads and writes of a few bytes, and one stream in twenty starting byte
    /// by byte through its greeting and handshake) and occasional short stalls; during the
    /// fault phase some are also reset after a random number of bytes, and some stall for
    /// long (a slow peer). Splitting a large body into thousands of pieces tests nothing more
    /// than a few random cuts do, and would cost most of a sweep's time.
    pub fn draw(rng: &mut Rng, faults_left: Duration) -> ChaosPlan {
        let fault_phase = !faults_left.is_zero();
        let max_read = *rng.pick(&[64, 512, 4096, 65536]);
        let max_write = *rng.pick(&[100, 1500, 16384, 65536]);
        let tiny = *rng.pick(&[0.02, 0.1, 0.3]);
        let byte_by_byte = if rng.chance(0.05) { 2048 } else { 0 };
        let reset_after = (fault_phase && rng.chance(0.25)).then(|| rng.range(0, 200_000));
        let slow = fault_phase && rng.chance(0.2);
        ChaosPlan {
            max_read,
            tiny,
            byte_by_byte,
            max_write,
            reset_after,
            faults_until: Some(tokio::time::Instant::now() + faults_left),
            stall_chance: if slow { 0.05 } else { 0.002 },
            max_stall: if slow { MAX_STALL } else { Duration::from_millis(20) },
        }
    }
}
