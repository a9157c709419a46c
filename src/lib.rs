//! # ferromq
//!
//! A brokerless messaging library that speaks ZMTP 3.1, the ZeroMQ wire protocol, so that it
//! talks to libzmq, pyzmq and every other ZeroMQ peer.
//!
//! Every protocol state machine is written *sans-IO*: it takes bytes and time as arguments and
//! returns bytes, events and deadlines, so the very same code runs on a real runtime and inside
//! a deterministic network simulator that replays any failure from a seed.
//!
//! ## Architecture map
//!
//! | module | level | what |
//! | --- | --- | --- |
//! | [`Msg`], [`Multipart`] | data | frames: small bodies inline, large ones shared |
//! | [`proto`] | connection, sans-IO | ZMTP codec, NULL handshake, heartbeats: [`proto::Engine`] |
//! | [`SocketType`] | options | socket types and their compatibility table |
//! | [`pipe`] | data path, lock-free | SPSC queues, pipes with HWM and term handshake, mailboxes |
//!
//! The layers under construction (lock-free pipes, socket patterns, the mio runtime and the
//! simulator) are listed in the README with their status.
//!
//! ## Example: one connection, by hand
//!
//! See [`proto::Engine`] for an engine pair wired back to back; the `engine_loopback` example
//! runs two engines over a real TCP connection.

// `unsafe` is denied crate-wide and forbidden in every module but `pipe` (and the `sync` shim
// it uses), where each block carries a `// SAFETY:` comment that clippy checks for.
#![deny(unsafe_code)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

pub mod core;
pub mod endpoint;
mod error;
mod msg;
mod options;
#[allow(unsafe_code)]
pub mod pipe;
pub mod proto;
mod runtime;
mod sync;

pub use error::{Error, Result};
pub use msg::{Msg, Multipart};
pub use options::{SocketOptions, SocketType};
pub use runtime::{
    Context, ContextBuilder, DEFAULT_MAX_SOCKETS, Monitor, MonitorEvent, PollEvents, PollItem,
    ReadinessFd, Socket, poll,
};

/// Compiles and runs the README's Rust examples as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
