//! The object level, sans-IO: the actors that both drivers (the mio runtime and the
//! simulator) run. Like `proto`, nothing here performs I/O, reads a clock or draws randomness.
//!
//! * [`SocketActor`] — a socket: its [`SocketCore`] (the socket type's rules over its pipes,
//!   `send`/`recv` returning "would block" instead of blocking) and the routes to the owners
//!   of its pipes' other ends;
//! * [`Connection`] — one peer's lifecycle: dial, reconnect with backoff, accept, flush within
//!   linger, graceful close, and the monitor event of each step; it owns the peer's
//!   [`Session`], the glue between one stream's engine and the socket's pipe;
//! * `socket/` — the socket types, one file each, and [`pattern`] — the strategies they are
//!   made of (load-balance, fair-queue);
//! * [`proxy`] — `zmq_proxy`'s rules (which way a message may move, whole; capture; the
//!   steering commands and counts), for the runtime's `proxy` and the simulator's forwarder;
//! * [`PeerConfig`] — how a socket's options become the engine's, session's and connection's
//!   settings, in one place.
//!
//! Pipes are named by [`PipeId`]s that the driver allocates, so that a command about a pipe can
//! travel from one owner's mailbox to the other's. docs/ARCHITECTURE.md says which file owns
//! which rule.

#![forbid(unsafe_code)]

mod connection;
mod monitor;
pub mod pattern;
pub mod proxy;
mod session;
mod socket;
mod socket_actor;
mod socket_core;

pub use connection::{
    Action, Backoff, Connection, ConnectionConfig, DRAIN_MAX, ERROR_FLUSH, PeerConfig, READ_CHUNK,
};
pub use monitor::MonitorEvent;
pub use session::{OUT_BACKLOG, OUT_BATCH, Session, SessionAction, SessionConfig};
pub use socket::{PipeInfo, RecvError, SendError};
pub use socket_actor::{SocketActor, SocketInput};
pub use socket_core::SocketCore;

/// Names one pipe (both its ends) within a context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipeId(pub u64);
