//! The object level, sans-IO: the actors that both drivers (the mio runtime and the
//! simulator) run. Like `proto`, nothing here performs I/O, reads a clock or draws randomness.
//!
//! * [`SocketCore`] — a socket's pattern over its pipes: `send`/`recv` return "would block"
//!   instead of blocking; pipe commands for the peers come out of `poll_command`;
//! * [`Session`] — one connection's engine glued to the socket's pipe: connect-side queueing,
//!   reconnect and accept-side policies, whole-message guarantees, back-pressure;
//! * [`pattern`] — the routing strategies patterns are made of (load-balance, fair-queue).
//!
//! Pipes are named by [`PipeId`]s that the driver allocates, so that a command about a pipe can
//! travel from one owner's mailbox to the other's.

#![forbid(unsafe_code)]

pub mod pattern;
mod session;
mod socket_core;

pub use session::{Action, OUT_BATCH, Session, SessionConfig};
pub use socket_core::{RecvError, SendError, SocketCore};

/// Names one pipe (both its ends) within a context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipeId(pub u64);
