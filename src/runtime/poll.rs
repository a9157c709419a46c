//! Waiting on several sockets at once ([`poll`], like `zmq_poll`), and a level-triggered file
//! descriptor ([`ReadinessFd`]) for putting a socket inside another event loop.

use super::context::Lead;
use super::signal::{Signal, WakeTarget};
use super::socket::Socket;
use crate::Result;
use std::ops::{BitAnd, BitOr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Readiness flags: [`PollEvents::IN`] (a message part can be received) and
/// [`PollEvents::OUT`] (one can be sent) without blocking (API-01).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PollEvents(u8);

impl PollEvents {
    /// Nothing.
    pub const NONE: PollEvents = PollEvents(0);
    /// POLLIN: a message part can be received without blocking.
    pub const IN: PollEvents = PollEvents(1);
    /// POLLOUT: a message part can be sent without blocking.
    pub const OUT: PollEvents = PollEvents(2);

    /// True when every flag of `other` is set.
    pub fn contains(self, other: PollEvents) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for PollEvents {
    type Output = PollEvents;
    fn bitor(self, o: PollEvents) -> PollEvents {
        PollEvents(self.0 | o.0)
    }
}

impl BitAnd for PollEvents {
    type Output = PollEvents;
    fn bitand(self, o: PollEvents) -> PollEvents {
        PollEvents(self.0 & o.0)
    }
}

/// One socket in a [`poll`] call: what to wait for, and afterwards what is ready.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: &'a mut Socket,
    events: PollEvents,
    revents: PollEvents,
}

impl<'a> PollItem<'a> {
    /// Waits for `events` on `socket`.
    pub fn new(socket: &'a mut Socket, events: PollEvents) -> Self {
        PollItem { socket, events, revents: PollEvents::NONE }
    }

    /// What was ready when [`poll`] returned.
    pub fn revents(&self) -> PollEvents {
        self.revents
    }

    /// The socket.
    pub fn socket(&mut self) -> &mut Socket {
        self.socket
    }
}

/// Waits until at least one item is ready or `timeout` passes (`None`: forever; `ZERO`:
/// just look). Returns how many items are ready; see [`PollItem::revents`]. Level-triggered:
/// a socket with a message waiting is reported every time (API-01). Fails with
/// [`Error::Terminated`](crate::Error::Terminated) when the context terminates.
///
/// ```
/// use ferromq::{poll, Context, PollEvents, PollItem, SocketType};
/// use std::time::Duration;
/// let ctx = Context::new().unwrap();
/// let mut a = ctx.socket(SocketType::Pull).unwrap();
/// a.bind("inproc://a").unwrap();
/// let mut b = ctx.socket(SocketType::Pull).unwrap();
/// b.bind("inproc://b").unwrap();
/// let mut push = ctx.socket(SocketType::Push).unwrap();
/// push.connect("inproc://b").unwrap();
/// push.send("hi").unwrap();
/// let mut items = [PollItem::new(&mut a, PollEvents::IN), PollItem::new(&mut b, PollEvents::IN)];
/// assert_eq!(poll(&mut items, Some(Duration::from_secs(1))).unwrap(), 1);
/// assert!(items[1].revents().contains(PollEvents::IN));
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    let signal = Arc::new(Signal::default());
    // Every socket of one poll normally shares one context: its low-latency mode is the
    // first socket's.
    let ctx = items.first().map(|it| it.socket.ctx().clone());
    // A leader sleeps in its context's loop, which a socket of another context would not
    // ring: mixed items sleep on the signal.
    let one_ctx =
        ctx.as_ref().is_some_and(|c| items.iter().all(|it| Arc::ptr_eq(it.socket.ctx(), c)));
    let lead = if one_ctx && items.iter().any(|it| it.socket.networked()) {
        Lead::RoundTrip
    } else {
        Lead::No
    };
    for it in items.iter_mut() {
        it.socket.retarget_wake(WakeTarget::User(signal.clone(), None));
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut waited = false;
    let result = loop {
        let mut ready = 0;
        let mut failed = None;
        for it in items.iter_mut() {
            // Draining the mailbox leaves it asleep, so any later command wakes `signal`.
            match it.socket.events() {
                Ok(ev) => {
                    it.revents = ev & it.events;
                    if !it.revents.is_empty() {
                        ready += 1;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        if ready > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            break Ok(ready);
        }
        match &ctx {
            Some(ctx) => ctx.wait(&signal, deadline, lead),
            None => signal.wait(deadline),
        }
        waited = true;
    };
    for it in items.iter_mut() {
        it.socket.restore_wake();
        if waited {
            it.socket.polled();
        }
    }
    result
}

/// A file descriptor that is readable while its socket is ready for the chosen events (or may
/// be: after a spurious wake-up, call [`Socket::events`] and wait again). Unlike libzmq's
/// edge-triggered `ZMQ_FD` (API-03), it stays readable while a message waits, so an event
/// loop cannot miss one. Get it with [`Socket::readiness_fd`]; register the fd with `poll(2)`,
/// epoll or `mio::unix::SourceFd`, and call [`Socket::events`] (or send/recv) when it fires.
#[derive(Debug)]
pub struct ReadinessFd {
    pub(crate) reader: std::os::unix::net::UnixStream,
}

impl std::os::fd::AsRawFd for ReadinessFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.reader.as_raw_fd()
    }
}

impl std::os::fd::AsFd for ReadinessFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.reader.as_fd()
    }
}
