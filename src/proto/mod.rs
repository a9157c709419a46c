//! The connection level, sans-IO: the ZMTP 3.1 codec and the per-connection [`Engine`].
//!
//! Nothing in this module performs I/O, reads a clock or draws randomness: bytes and time come
//! in as arguments and go out through `poll_*` methods, so that the mio runtime, the
//! deterministic simulator, fuzzers and tests all drive exactly the same code.
//!
//! * [`greeting`] — the 64-octet greeting (RFC 37 §Formal Grammar);
//! * [`frame`] — framing: a streaming [`FrameDecoder`] and a batching [`Encoder`]
//!   (RFC 37 §Framing);
//! * [`command`] — READY, ERROR, SUBSCRIBE, CANCEL, PING, PONG (RFC 37 §Commands);
//! * [`Metadata`] — READY properties (RFC 37 §Connection Metadata);
//! * mechanisms — NULL today (RFC 37 §The NULL Security Mechanism);
//! * [`Engine`] — one connection: greeting → handshake → traffic, heartbeats, timeouts.

#![forbid(unsafe_code)]

pub mod command;
mod engine;
mod error;
pub mod frame;
pub mod greeting;
mod mechanism;
mod metadata;

#[cfg(test)]
mod tests;

pub use command::Command;
pub use engine::{
    DEFAULT_HANDSHAKE_IVL, Engine, EngineConfig, Event, INVALID_SOCKET_TYPE, MAX_HANDSHAKE_COMMAND,
    NotSent, PeerInfo,
};
pub use error::{CloseReason, ProtocolError};
pub use frame::{Encoder, Frame, FrameDecoder};
pub use mechanism::Security;
pub use metadata::{IDENTITY, Metadata, SOCKET_TYPE};
