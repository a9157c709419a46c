//! Waking: a parker for user threads blocked in `send`/`recv`, and the socket mailbox's wake
//! hook, which points at that parker while the user owns the socket and at an I/O thread
//! once the socket is closed and handed over to linger there.

use super::io_thread::IoCmd;
use crate::pipe::{Sender, Wake};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

/// A one-bit parker: `notify` sets the bit, `wait` sleeps until it is set and clears it.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    pub(crate) fn notify(&self) {
        *self.woken.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cv.notify_one();
    }

    /// Sleeps until notified or `deadline`; returns at once if notified since the last wait.
    pub(crate) fn wait(&self, deadline: Option<Instant>) {
        let mut woken = self.woken.lock().unwrap_or_else(PoisonError::into_inner);
        while !*woken {
            match deadline {
                None => woken = self.cv.wait(woken).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return;
                    }
                    woken = self
                        .cv
                        .wait_timeout(woken, d - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        *woken = false;
    }
}

pub(crate) enum WakeTarget {
    /// A parker on a user thread, and the socket's readiness fd if it has one.
    User(Arc<Signal>, Option<Arc<std::os::unix::net::UnixStream>>),
    Reaper {
        io: Sender<IoCmd>,
        socket: u64,
    },
}

/// The wake hook of a socket's mailbox; its target can be switched when the socket is reaped.
pub(crate) struct SocketWaker {
    target: Mutex<WakeTarget>,
}

impl SocketWaker {
    pub(crate) fn new(signal: Arc<Signal>) -> Arc<SocketWaker> {
        Arc::new(SocketWaker { target: Mutex::new(WakeTarget::User(signal, None)) })
    }

    pub(crate) fn retarget(&self, t: WakeTarget) {
        *self.target.lock().unwrap_or_else(PoisonError::into_inner) = t;
    }
}

/// Adapter so an `Arc<SocketWaker>` can be the mailbox's hook while the socket keeps a handle.
pub(crate) struct SharedWaker(pub(crate) Arc<SocketWaker>);

impl Wake for SharedWaker {
    fn wake(&self) {
        match &*self.0.target.lock().unwrap_or_else(PoisonError::into_inner) {
            WakeTarget::User(s, fd) => {
                s.notify();
                if let Some(fd) = fd {
                    // A full buffer already means "readable": nothing is lost by failing.
                    let _ = std::io::Write::write(&mut &**fd, &[1]);
                }
            }
            WakeTarget::Reaper { io, socket } => io.send(IoCmd::WakeSocket(*socket)),
        }
    }
}

/// Wakes an I/O thread blocked in `mio::Poll::poll`.
pub(crate) struct MioWake(pub(crate) mio::Waker);

impl Wake for MioWake {
    fn wake(&self) {
        // Failing to wake only happens when the poll is gone, i.e. the thread has exited.
        let _ = self.0.wake();
    }
}
