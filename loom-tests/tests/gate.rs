//! Models of the hand-over between an I/O thread and the user threads doing its work: the
//! parking while helped, the ring for a helper arriving, a leader's grace against a thread
//! going to sleep, a grace given as another runs out, and the one leader (the bodies are in `src/gate.rs`, shared with the
//! planted-bug checks of `gate_mutants.rs`).
#![cfg(loom)]

use loom_tests::gate;

#[test]
fn the_io_thread_parked_while_helpers_return_with_traffic_is_unparked() {
    gate::the_io_thread_parked_while_helped_is_unparked_by_the_last_helper(true);
}

#[test]
fn the_io_thread_parked_while_helpers_go_to_sleep_is_unparked() {
    gate::the_io_thread_parked_while_helped_is_unparked_by_the_last_helper(false);
}

#[test]
fn a_helper_arriving_as_the_loop_polls_is_seen_or_rings_it() {
    gate::a_helper_arriving_as_the_loop_polls_is_seen_or_rings_it();
}

#[test]
fn a_thread_going_to_sleep_ends_the_grace_a_leader_leaves() {
    gate::a_thread_going_to_sleep_ends_the_grace_a_leader_leaves();
}

#[test]
fn one_leader_at_a_time() {
    gate::one_leader_at_a_time();
}

#[test]
fn a_grace_given_as_another_runs_out_stands() {
    gate::a_grace_given_as_another_runs_out_stands();
}
