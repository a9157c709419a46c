//! # ferromq
//!
//! A brokerless messaging library that speaks ZMTP 3.1, the ZeroMQ wire protocol, so that it
//! talks to libzmq, pyzmq and every other ZeroMQ peer.
//!
//! Every protocol state machine is written *sans-IO*: it takes bytes and time as arguments and
//! returns bytes, events and deadlines, so the very same code runs on a real runtime and inside
//! a deterministic network simulator that replays any failure from a seed.
//!
//! ## Example
//!
//! ```
//! use ferromq::{Context, SocketType};
//!
//! let ctx = Context::new()?;
//! let mut pull = ctx.socket(SocketType::Pull)?;
//! pull.bind("tcp://127.0.0.1:*")?;
//! let mut push = ctx.socket(SocketType::Push)?;
//! push.connect(pull.last_endpoint().unwrap())?;
//! push.send_multipart(vec!["job", "42"])?;
//! let msg = pull.recv_multipart()?;
//! assert_eq!(&msg[1][..], b"42");
//! # Ok::<(), ferromq::Error>(())
//! ```
//!
//! ## Architecture map
//!
//! | module | level | what |
//! | --- | --- | --- |
//! | [`Msg`], [`Multipart`] | data | frames: small bodies inline, large ones shared |
//! | [`MsgBuf`] | data | a body written in place, its memory reused by its thread |
//! | [`proto`] | connection, sans-IO | ZMTP codec, NULL handshake, heartbeats: [`proto::Engine`] |
//! | [`pipe`] | data path, lock-free | SPSC queues, pipes with HWM and term handshake, mailboxes |
//! | [`core`] | objects, sans-IO | sockets ([`core::SocketActor`], [`core::SocketCore`], one file per type), peers ([`core::Connection`], [`core::Session`]) |
//! | [`Context`], [`Socket`], [`poll`], [`Monitor`] | runtime (mio) | the only layer with threads, sockets and clocks |
//! | [`endpoint`], [`SocketOptions`], [`SocketType`] | API | endpoints, typed options, socket types |
//!
//! Arrows point down only: the runtime drives `core`, `proto` and `pipe`, which know no driver,
//! so the deterministic simulator (`ferromq-sim`) drives the very same code: both only carry
//! out a [`core::Connection`]'s actions and a [`core::SocketActor`]'s commands. The repository's
//! `docs/ARCHITECTURE.md` says which file owns which rule, `docs/CONFORMANCE.md` lists the
//! libzmq behaviours the tests name, and the README lists what works today.

// `unsafe` is denied crate-wide; it is allowed in `pipe` (and the `sync` shim it uses), in a
// message's heap body (`msg::Heap`: its drop, which hands the body's words to one out-of-line
// call, and `into_body`) and in one read into spare capacity (`runtime::stream`). Each block
// carries a `// SAFETY:` comment that clippy checks for; the unit tests of `msg` and of the
// pipes' SPSC queue and triple buffer run under Miri (`.ci/run`).
#![deny(unsafe_code)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

/// Whether a planted bug (see `mutants`) is on; always `false` without the `mutants` feature.
macro_rules! mutant {
    ($m:ident) => {{
        #[cfg(feature = "mutants")]
        let on = $crate::mutants::is_on($crate::mutants::Mutant::$m);
        #[cfg(not(feature = "mutants"))]
        let on = false;
        on
    }};
}

pub mod core;
pub mod endpoint;
mod error;
mod msg;
#[cfg(feature = "mutants")]
pub mod mutants;
mod options;
#[allow(unsafe_code)]
pub mod pipe;
pub mod proto;
mod runtime;
mod sync;

pub use error::{Error, Result};
/// Where heap bodies go back to be freed, exposed for the loom models (`loom-tests`).
#[cfg(loom)]
#[doc(hidden)]
pub use msg::home::{Home, HomeBody, Shell};
pub use msg::{Msg, MsgBuf, Multipart};
pub use options::{SocketOptions, SocketType};
/// The hand-over between an I/O thread and the user threads doing its work, exposed for the
/// loom models (`loom-tests`).
#[cfg(loom)]
#[doc(hidden)]
pub use runtime::gate;
/// The one-bit parker of a thread blocked in a call, exposed for the loom models.
#[cfg(loom)]
#[doc(hidden)]
pub use runtime::signal::Signal;
pub use runtime::{
    Context, ContextBuilder, DEFAULT_MAX_SOCKETS, Monitor, MonitorEvent, PollEvents, PollItem,
    ProxyStats, ReadinessFd, Socket, poll, proxy, proxy_steerable,
};

/// Compiles and runs the README's Rust examples as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The time base of the sans-IO unit tests: one instant for the whole test run, read here so
/// that nothing under `proto/` or `core/` reads the clock, tests included.
#[cfg(test)]
pub(crate) fn test_epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}
