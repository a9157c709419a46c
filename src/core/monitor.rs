//! The events a socket's monitor reports (API-07, API-08). They are sans-IO values: the
//! connection lifecycle ([`Connection`](super::Connection)) decides which event each of its
//! steps is, so both drivers report the same ones; the runtime adds those only it can see
//! (binds and listeners).

use crate::proto::CloseReason;
use std::time::Duration;

/// Something that happened to one of a socket's endpoints or connections. `endpoint` is the
/// endpoint as bound or connected (for accepted connections, the listener's).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorEvent {
    /// A bind succeeded (libzmq LISTENING).
    Listening {
        /// The endpoint, wildcards resolved.
        endpoint: String,
    },
    /// A bind failed (BIND_FAILED).
    BindFailed {
        /// The endpoint asked for.
        endpoint: String,
        /// Why.
        error: String,
    },
    /// A connection was accepted (ACCEPTED).
    Accepted {
        /// The listener's endpoint.
        endpoint: String,
    },
    /// Accepting failed (ACCEPT_FAILED), e.g. out of file descriptors.
    AcceptFailed {
        /// The listener's endpoint.
        endpoint: String,
        /// Why.
        error: String,
    },
    /// A connect completed (CONNECTED).
    Connected {
        /// The endpoint.
        endpoint: String,
    },
    /// A connect is in progress (CONNECT_DELAYED).
    ConnectDelayed {
        /// The endpoint.
        endpoint: String,
    },
    /// The next connect attempt is scheduled (CONNECT_RETRIED).
    ConnectRetried {
        /// The endpoint.
        endpoint: String,
        /// The wait before it.
        interval: Duration,
    },
    /// The ZMTP handshake succeeded (HANDSHAKE_SUCCEEDED).
    HandshakeSucceeded {
        /// The endpoint.
        endpoint: String,
    },
    /// The handshake failed: protocol error, ERROR from the peer, or timeout
    /// (HANDSHAKE_FAILED_*).
    HandshakeFailed {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: CloseReason,
    },
    /// An established connection ended (DISCONNECTED).
    Disconnected {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: CloseReason,
    },
    /// A listener was closed (CLOSED).
    Closed {
        /// The endpoint.
        endpoint: String,
    },
    /// The monitored socket was closed; no more events follow (MONITOR_STOPPED).
    MonitorStopped,
}
