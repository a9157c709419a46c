//! Models of the parker of a thread blocked in a call: notifies never lost, whether it sleeps
//! on its condition variable or in the poll of an I/O loop it leads (the bodies are in
//! `src/signal.rs`, shared with the planted-bug checks of `gate_mutants.rs`).
#![cfg(loom)]

use loom_tests::signal;

#[test]
fn a_thread_asleep_on_its_signal_sees_every_event() {
    signal::a_thread_asleep_on_its_signal_sees_every_event(None);
}

#[test]
fn a_thread_asleep_on_its_signal_until_a_deadline_sees_every_event() {
    signal::a_thread_asleep_on_its_signal_sees_every_event(Some(std::time::Duration::from_secs(
        3600,
    )));
}

#[test]
fn a_thread_leading_a_loop_sees_every_event() {
    signal::a_thread_leading_a_loop_sees_every_event();
}

#[test]
fn a_notify_racing_a_timeout_is_seen() {
    signal::a_notify_racing_a_timeout_is_seen();
}

#[test]
fn a_spinning_thread_sees_every_event() {
    signal::a_spinning_thread_sees_every_event();
}
