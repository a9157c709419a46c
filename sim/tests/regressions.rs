//! Seeds that fresh sweeps found failing, kept so that they stay passing.

use ferromq_sim::{RunOptions, run, scenarios};

/// push-pull seed 7049: a pusher that quits and restarts every burst in the quiet phase (a
/// batch job's runs) leaves its pullers' connect sides down at any given instant; the
/// "connect sides come back" oracle judged them all at one instant after the faults and took
/// that for a connection that never came back. Each connect side is now judged from its own
/// last loss.
#[test]
fn push_pull_seed_7049_passes() {
    let s = scenarios::find("push-pull").unwrap();
    let o = run(s, 7049, &RunOptions::default());
    assert!(o.passed(), "push-pull seed 7049: {:?}\n{}", o.violations, o.recent.join("\n"));
}
