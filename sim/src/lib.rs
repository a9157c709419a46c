//! `ferromq-sim`: the deterministic simulator for ferromq.
//!
//! It runs the real stack — [`SocketCore`](ferromq::core::SocketCore)s, [`Session`]s,
//! engines and the lock-free pipes — on many simulated hosts in one thread, over
//! [turmoil](https://docs.rs/turmoil)'s simulated TCP with virtual time, and injects faults
//! drawn from one seed: partitions (the stream stalls silently, so heartbeats must notice),
//! held links, latency spikes, host crashes and restarts, and, through its own [`Chaos`]
//! layer, random chunking of every read and write, stalls and resets. After every step an
//! invariant checker that sees the run only from outside (what applications sent and
//! received, the bytes on each connection, which connections broke) checks that nothing was
//! duplicated, corrupted, reordered, split, misrouted or lost without a reason, that high-water
//! marks hold, that connect sides come back after the faults, and that close and linger finish;
//! for request-reply, that every reply reaches the REQ that asked, from the peer asked, once,
//! and that a ROUTER delivers to exactly the peer it names and drops only by its documented
//! rules; and, in the quiet phase, that delivery and replies keep coming within a bound.
//!
//! The built-in scenarios (`ferromq-sim list`) cover PUSH/PULL, PAIR, a slow consumer,
//! REQ/REP directly and through a ROUTER–DEALER broker, ROUTER/DEALER with named and
//! anonymous peers, HANDOVER and MANDATORY, and PUB/SUB with changing subscriptions. A
//! scenario of your own uses [`SimSocket::send`]/[`SimSocket::recv`]; for request-reply
//! [`SimSocket::send_with`]/[`SimSocket::recv_with`], which carry envelopes and say which
//! request a reply answers; for publish-subscribe `send_with` with the topic as the envelope,
//! and [`SimSocket::subscribe`]/[`SimSocket::unsubscribe`].
//!
//! The same seed gives the same run, byte for byte: every trace line is hashed, and a failure
//! prints its seed, the command that replays it and the last lines of the trace.
//!
//! [`Session`]: ferromq::core::Session
//!
//! # Your own topology
//!
//! ```
//! use ferromq::SocketType;
//! use ferromq_sim::{Phase, Scenario, Setup, SockOpts, run, RunOptions};
//! use std::time::Duration;
//!
//! /// One PUSH feeding one PULL over a flaky link.
//! struct Feed;
//!
//! impl Scenario for Feed {
//!     fn name(&self) -> &'static str { "feed" }
//!     fn about(&self) -> &'static str { "one PUSH, one PULL" }
//!     fn build(&self, s: &mut Setup<'_>) {
//!         s.allow("producer", "consumer");
//!         s.host("producer", |h| async move {
//!             let push = h.socket(SocketType::Push, "producer", SockOpts::new(SocketType::Push));
//!             push.connect("consumer", 7000);
//!             while h.phase() < Phase::Drain {
//!                 push.send(1, 64, Duration::from_millis(10)).await;
//!                 h.sleep(Duration::from_millis(5)).await;
//!             }
//!         });
//!         s.host("consumer", |h| async move {
//!             let pull = h.socket(SocketType::Pull, "consumer", SockOpts::new(SocketType::Pull));
//!             pull.bind(7000);
//!             loop {
//!                 pull.recv(Duration::from_millis(50)).await;
//!             }
//!         });
//!         s.faults().crashable = vec!["consumer".into()];
//!     }
//! }
//!
//! let outcome = run(&Feed, 42, &RunOptions::default());
//! assert!(outcome.passed(), "{:?}\nreplay: {}", outcome.violations, outcome.replay_command());
//! assert!(outcome.stats.received > 0);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chaos;
pub mod check;
pub mod driver;
mod node;
mod payload;
mod plan;
mod rng;
mod run;
pub mod scenarios;
mod sweep;
mod wire;
mod world;

pub use chaos::{Chaos, ChaosEvent, ChaosPlan};
pub use check::{Checker, Event, Excuse, Excused, Model, Oracle, Violation};
pub use node::{HostCtx, SimSocket, SockOpts};
pub use payload::MsgId;
pub use plan::{Fault, FaultKind, FaultKnobs};
pub use rng::Rng;
pub use run::{Outcome, RunOptions, Scenario, Setup, TICK, run, timeline};
pub use sweep::{Summary, sweep};
pub use world::{Phase, Stats, Timeline, Trace, World, WorldState};

/// The names of the planted bugs switched on (see `ferromq::mutants`), for replay commands.
pub fn active_mutants() -> Vec<&'static str> {
    #[cfg(feature = "mutants")]
    {
        ferromq::mutants::Mutant::ALL
            .into_iter()
            .filter(|&m| ferromq::mutants::is_on(m))
            .map(ferromq::mutants::Mutant::name)
            .collect()
    }
    #[cfg(not(feature = "mutants"))]
    Vec::new()
}
