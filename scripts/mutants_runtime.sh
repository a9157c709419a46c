#!/usr/bin/env bash
# Planted bugs against real sockets: each mutant (ferromq::mutants) must fail the runtime test
# named beside it, over real tcp/ipc (the simulator's `mutants` check is the other half).
# multipart-split-at-reconnect needs a stream cut in the middle of a message, which a real
# socket cannot be made to do on cue: the session's unit test and the simulator catch it.
# stale-after-timeout is a memory-ordering bug that x86 hides (the mutex unlock after it is a
# full barrier there), spin-loses-notify opens a window a few instructions wide, and
# grace-erased costs the I/O thread's hand-over a wake-up, not a message: loom models catch
# those three (loom-tests/tests/gate_mutants.rs).
#
#   bash scripts/mutants_runtime.sh        # exit 1 if any mutant survives its test
set -uo pipefail
cd "$(dirname "$0")/.."
cases=(
  "backoff-never-grows            options::l03_reconnect_backoff_doubles_up_to_the_max"
  "close-before-flush             close::l07_ipc_burst_then_close_loses_nothing"
  "close-before-flush             close::l07_tcp_burst_then_close_loses_nothing"
  "skip-drain                     close::l07_close_with_unread_input_still_delivers_the_burst"
  "linger-not-reapplied           options::o02_linger_raised_after_connect_applies_at_close"
  "linger-drops-queued            options::o02_linger_raised_after_connect_applies_at_close"
  "lost-activate-write            hwm::push02_blocks_at_the_hwm_and_resumes_as_the_peer_reads"
  "session-stops-feeding          lifecycle::l04_reconnects_after_peer_restart"
  "frame-dropped-after-reconnect  lifecycle::l04_a_receiver_that_reconnects_gets_everything"
  "pair-takes-second-peer         lifecycle::pair02_a_second_peer_is_refused"
  "hwm-off-by-one                 hwm::q03_inproc_default_hwm_capacity_is_2000"
  "missed-wakeup                  transport::t03_tcp_push_pull_with_ephemeral_port"
  "reordered-output               close::l07_ipc_burst_then_close_loses_nothing"
  "slow-reader-times-out          options::w27_a_slow_consumer_keeps_its_connection"
  "req-accepts-any-peer           reqrep::req05_a_reply_from_a_peer_not_asked_is_dropped"
  "rep-wrong-envelope             reqrep::rep01_each_reply_goes_to_its_client"
  "router-reuses-ids              reqrep::router04_generated_ids_are_distinct"
  "router-drops-when-full         reqrep::router03_full_peer_drops_or_blocks"
  "no-replay-after-reconnect      pubsub::sub07_resubscribes_after_the_publisher_restarts"
  "cancel-on-first-unsubscribe    pubsub::sub04_two_subscribes_need_two_unsubscribes"
  "prefix-match-off-by-one        pubsub::pub01_sub01_prefix_filtering_over_every_transport"
  "pub-blocks-at-hwm              pubsub::pub04_a_stalled_subscriber_never_blocks_the_publisher"
  "conflate-close-drops-last      conflate::q10_the_last_message_before_close_is_delivered"
  "conflate-keeps-oldest          conflate::q10_a_conflating_sender_hands_a_late_peer_the_newest"
  "proxy-ignores-room             proxy::api11_a_broker_holds_requests_until_a_worker_comes"
  "short-read-ignores-hangup      close::l07_tcp_burst_then_close_loses_nothing"
  "io-thread-stays-quiet          low_latency::spin01_the_io_thread_takes_over_when_the_user_stops_waiting"
  "poll-goes-unrung               low_latency::spin06_a_send_while_nobody_helps_rings_the_io_thread"
  "io-thread-stays-quiet          lead::lead04_the_io_thread_takes_over_when_the_leader_stops_calling"
  "leader-goes-unrung             lead::lead01_an_inproc_send_wakes_a_receiver_leading_the_loop"
  "leader-goes-unrung             lead::lead02_an_inproc_send_wakes_a_poll_leading_the_loop"
  "spent-piles-up                 sent_bodies_are_freed_by_their_sender_and_returns_stay_bounded  returns_alloc"
  "home-never-drained             bodies_dropped_by_an_inproc_receiver_are_freed_by_their_sender  homes_alloc"
  "home-overflows                 a_home_whose_owner_is_idle_holds_no_more_than_its_bound  homes_alloc"
  "reuse-forgets                  bodies_dropped_by_an_inproc_receiver_are_reused_by_their_sender  homes_alloc"
  "reuse-forgets                  bodies_sent_over_tcp_are_reused_by_their_sender  homes_alloc"
  "shell-per-message              a_stream_of_msgbuf_bodies_allocates_nothing_once_they_come_back  homes_alloc"
  "box-per-write                  writing_msgbuf_bodies_by_reference_allocates_nothing  writes_alloc"
  "box-per-write                  fanning_msgbuf_bodies_out_by_reference_allocates_nothing  writes_alloc"
  "fan-out-freed-away             msg::tests::of_two_holders_racing_to_drop_a_body_the_last_sends_it_home  lib"
  "backlog-unbounded              hwm::q01_a_stalled_peer_bounds_what_a_sender_can_queue"
)
cargo test -q -p ferromq --features mutants --test runtime --no-run
survived=0
for c in "${cases[@]}"; do
  # A third column names the test binary when it is not tests/runtime ("lib": the library's
  # own unit tests).
  read -r mutant test bin <<<"$c"
  bin="${bin:-runtime}"
  log="$(mktemp)"
  # A mutant that makes its test hang is caught too, but must not stall the run: each case
  # gets five minutes (a passing test takes seconds).
  # "lib": a unit test of the library itself.
  if [ "$bin" = lib ]; then target=(--lib); else target=(--test "$bin"); fi
  FERROMQ_MUTANT="$mutant" timeout 300 cargo test -q -p ferromq --features mutants "${target[@]}" \
      -- --exact "$test" >"$log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    echo "NOT CAUGHT  $mutant  by $test"
    survived=1
  elif [ "$rc" = 124 ]; then
    echo "caught      $mutant  by $test: it hung (killed after 300 s)"
  else
    echo "caught      $mutant  by $test: $(grep -m1 -E "panicked|assert" "$log" | cut -c1-120)"
  fi
  rm -f "$log"
done
exit "$survived"
