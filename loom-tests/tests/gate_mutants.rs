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

/// Runs `model` with `m` on in a child process (this test binary again, running only the test
/// `name`) and asserts that loom found it asleep for ever. loom reports such a deadlock while
/// the waiter sleeps holding the signal's lock, and the unwinding through loom's guard then
/// aborts the process instead of panicking, so the verdict is read from the child's output.
fn caught_asleep(name: &str, m: Mutant, model: fn()) {
    if std::env::var_os("FERROMQ_LOOM_CHILD").is_some() {
        mutants::set(m, true);
        model();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("FERROMQ_LOOM_CHILD", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the test binary runs again");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the planted bug {} was not caught", m.name());
    assert!(
        stderr.contains("deadlock"),
        "the model failed, but not with the lost wake-up the planted bug makes:\n{stderr}"
    );
}

/// A timed-out wait clears a notify that raced it with a relaxed store: the caller may not see
/// the notifier's event and sleeps through it in its next wait.
#[test]
fn stale_after_timeout_is_caught() {
    caught_asleep(
        "stale_after_timeout_is_caught",
        Mutant::StaleAfterTimeout,
        loom_tests::signal::a_notify_racing_a_timeout_is_seen,
    );
}

/// A spinning call clears the bit with a load and a store: a second notify landing between
/// them is lost, and the call sleeps through its event.
#[test]
fn spin_loses_notify_is_caught() {
    caught_asleep(
        "spin_loses_notify_is_caught",
        Mutant::SpinLosesNotify,
        loom_tests::signal::a_spinning_thread_sees_every_event,
    );
}
