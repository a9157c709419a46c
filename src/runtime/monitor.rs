//! Socket monitoring: a stream of connection events per socket (API-07, API-08).

use crate::proto::CloseReason;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
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

/// Where a socket's events go, shared by the socket and its connections.
#[derive(Clone, Default)]
pub(crate) struct MonitorHandle(Arc<Mutex<Option<mpsc::Sender<MonitorEvent>>>>);

impl MonitorHandle {
    pub(crate) fn emit(&self, e: MonitorEvent) {
        if let Some(tx) = &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            let _ = tx.send(e);
        }
    }

    pub(crate) fn start(&self) -> Monitor {
        let (tx, rx) = mpsc::channel();
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
        Monitor { rx }
    }

    /// Sends MonitorStopped and detaches the monitor.
    pub(crate) fn stop(&self) {
        if let Some(tx) = self.0.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = tx.send(MonitorEvent::MonitorStopped);
        }
    }
}

impl std::fmt::Debug for MonitorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MonitorHandle")
    }
}

/// The receiving end of a socket's events, from [`Socket::monitor`](crate::Socket::monitor).
/// It may be moved to another thread.
#[derive(Debug)]
pub struct Monitor {
    rx: mpsc::Receiver<MonitorEvent>,
}

impl Monitor {
    /// The next event, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<MonitorEvent> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<MonitorEvent> {
        self.rx.try_recv().ok()
    }
}
