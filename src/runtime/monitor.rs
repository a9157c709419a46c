//! Socket monitoring: a stream of connection events per socket (API-07, API-08).

pub use crate::core::MonitorEvent;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

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
