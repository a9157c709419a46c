//! The planted bugs of the hand-over and of the parker (`ferromq::mutants`): each must fail a
//! model of `tests/gate.rs` or `tests/signal.rs`, as it fails a runtime test over real sockets
//! (`scripts/mutants_runtime.sh`). Run with `--features mutants`. The switches are
//! process-wide, so the checks take turns.
#![cfg(all(loom, feature = "mutants"))]

use ferromq::mutants::{self, Mutant};
use loom_tests::gate;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `model` with `m` on and asserts that loom found an interleaving that fails it.
fn caught(m: Mutant, model: fn()) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    mutants::set(m, true);
    let failed = std::panic::catch_unwind(model).is_err();
    mutants::set(m, false);
    assert!(failed, "the planted bug {} was not caught", m.name());
}

/// The low-latency loop hides its poll: a helper arriving meanwhile does not ring it, and a
/// turn that did not see the helper sleeps on.
#[test]
fn poll_goes_unrung_is_caught() {
    caught(Mutant::PollGoesUnrung, gate::a_helper_arriving_as_the_loop_polls_is_seen_or_rings_it);
}

/// The I/O thread waits out ten seconds, not the grace, after the last helper left.
#[test]
fn io_thread_stays_quiet_is_caught() {
    caught(Mutant::IoThreadStaysQuiet, || {
        gate::the_io_thread_parked_while_helped_is_unparked_by_the_last_helper(true)
    });
}

/// The I/O thread ends a grace that ran out with a store: the grace a helper gave meanwhile
/// is lost with it.
#[test]
fn grace_erased_is_caught() {
    caught(Mutant::GraceErased, gate::a_grace_given_as_another_runs_out_stands);
}

/// A notify finds the waiter leading a loop and does not ring it: the leader sleeps on in its
/// poll.
#[test]
fn leader_goes_unrung_is_caught() {
    caught(Mutant::LeaderGoesUnrung, loom_tests::signal::a_thread_leading_a_loop_sees_every_event);
}

/// A timed-out wait clears a notify that raced it with a relaxed store: the caller may not see
/// the notifier's event and sleeps through it in its next wait. loom reports that as a
/// deadlock found while the waiter sleeps holding the signal's lock, and the unwinding through
/// loom's guard then aborts the process instead of panicking, so this check runs the model in
/// a child process (this test binary again) and reads the verdict from its output.
#[test]
fn stale_after_timeout_is_caught() {
    const NAME: &str = "stale_after_timeout_is_caught";
    if std::env::var_os("FERROMQ_LOOM_CHILD").is_some() {
        mutants::set(Mutant::StaleAfterTimeout, true);
        loom_tests::signal::a_notify_racing_a_timeout_is_seen();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env("FERROMQ_LOOM_CHILD", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the test binary runs again");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the planted bug stale-after-timeout was not caught");
    assert!(
        stderr.contains("deadlock"),
        "the model failed, but not with the lost wake-up the planted bug makes:\n{stderr}"
    );
}
