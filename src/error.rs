//! The public error type.

#![forbid(unsafe_code)]

use std::fmt;

/// Every error the public API returns. Each variant corresponds to the libzmq errno named in
/// its doc, so code ported from libzmq maps one to one (CONFORMANCE API-05).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The operation would block (`EAGAIN`).
    WouldBlock,
    /// A value or argument is out of range (`EINVAL`); the string says which and why.
    InvalidArgument(String),
    /// An endpoint string is malformed (`EINVAL`): which, and what is wrong with it.
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The endpoint's transport is unknown or not supported (`EPROTONOSUPPORT`).
    ProtocolNotSupported(String),
    /// The socket type does not support the operation (`ENOTSUP`): recv on PUSH, send on PULL,
    /// or a socket type not built yet.
    NotSupported,
    /// The context is terminating or terminated (`ETERM`).
    Terminated,
    /// The context's MAX_SOCKETS sockets are open (`EMFILE`).
    TooManySockets,
    /// The address is already bound (`EADDRINUSE`).
    AddrInUse,
    /// The address is not local (`EADDRNOTAVAIL`).
    AddrNotAvailable,
    /// No such endpoint was bound or connected (`ENOENT`).
    NoSuchEndpoint,
    /// The operation is not valid in the socket's current state (`EFSM`): a REQ sending twice
    /// without a reply, or receiving before it sent; the string names the operation.
    InvalidState(&'static str),
    /// The message names a peer the socket does not know (`EHOSTUNREACH`: ROUTER with
    /// ROUTER_MANDATORY).
    HostUnreachable,
    /// An I/O error from the operating system.
    Io(std::io::Error),
}

/// `Result` with ferromq's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WouldBlock => f.write_str("operation would block"),
            Error::InvalidArgument(s) => write!(f, "invalid argument: {s}"),
            Error::InvalidEndpoint { endpoint, reason } => {
                write!(f, "invalid endpoint {endpoint:?}: {reason}")
            }
            Error::ProtocolNotSupported(t) => write!(f, "transport {t:?} is not supported"),
            Error::NotSupported => f.write_str("operation not supported by this socket type"),
            Error::Terminated => f.write_str("the context was terminated"),
            Error::TooManySockets => f.write_str("too many open sockets"),
            Error::AddrInUse => f.write_str("address already in use"),
            Error::AddrNotAvailable => f.write_str("address not available"),
            Error::NoSuchEndpoint => f.write_str("no such endpoint"),
            Error::InvalidState(s) => write!(f, "{s} is not valid in the socket's current state"),
            Error::HostUnreachable => f.write_str("no peer has that routing id"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
