//! `proxy` and `proxy_steerable`, as libzmq's `zmq_proxy` and `zmq_proxy_steerable` (API-10 …
//! API-12): whole messages moved both ways between two sockets, a copy of each to a capture
//! socket, and, for the steerable one, PAUSE / RESUME / TERMINATE / STATISTICS on a control
//! socket.
//!
//! A message is read from one side only when the other side can take it (POLLOUT), so a
//! backend with no peer yet holds requests back at the frontend instead of dropping them or
//! blocking the other direction; while it cannot, the proxy waits for it to become writable
//! rather than spinning. Parts are moved as they are: a large body is shared, never copied.

use super::poll::{PollEvents, PollItem, poll};
use super::socket::Socket;
use crate::{Error, Msg, Result, SocketType};

/// Per-socket counts, as `zmq_proxy_steerable`'s STATISTICS reports them: every part counts as
/// one message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Parts received on the socket.
    pub msgs_in: u64,
    /// Bytes received on the socket.
    pub bytes_in: u64,
    /// Parts sent on the socket.
    pub msgs_out: u64,
    /// Bytes sent on the socket.
    pub bytes_out: u64,
}

/// Runs a proxy between `frontend` and `backend` until the context terminates, which it
/// reports as [`Error::Terminated`] (libzmq's ETERM); any other error of a socket ends it
/// too. Each message goes whole to the other side, and a copy of each part to `capture`.
///
/// The usual pairs: ROUTER/DEALER (a request-reply broker), XSUB/XPUB (a forwarder: messages
/// go down, subscriptions up), PULL/PUSH (a streamer).
///
/// ```no_run
/// use ferromq::{Context, SocketType};
/// let ctx = Context::new()?;
/// let mut frontend = ctx.socket(SocketType::Xsub)?;
/// frontend.connect("tcp://weather-server:5556")?;
/// let mut backend = ctx.socket(SocketType::Xpub)?;
/// backend.bind("tcp://*:8100")?;
/// ferromq::proxy(&mut frontend, &mut backend, None)?; // until the context terminates
/// # Ok::<(), ferromq::Error>(())
/// ```
pub fn proxy(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: Option<&mut Socket>,
) -> Result<()> {
    Proxy { frontend, backend, capture, stats: [ProxyStats::default(); 2] }.run(None)
}

/// [`proxy`], steered by commands on `control` (a REP or PAIR; API-12): `PAUSE` stops moving
/// messages, `RESUME` starts again, `TERMINATE` ends the proxy (it returns `Ok`), and
/// `STATISTICS` is answered with eight u64 frames (native byte order, as libzmq): parts and
/// bytes received, parts and bytes sent, for the frontend and then for the backend. A REP
/// control socket gets an empty reply to every other command, so that it can take the next;
/// an unknown command is answered so too and otherwise ignored.
pub fn proxy_steerable(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: Option<&mut Socket>,
    control: &mut Socket,
) -> Result<()> {
    Proxy { frontend, backend, capture, stats: [ProxyStats::default(); 2] }.run(Some(control))
}

struct Proxy<'a> {
    frontend: &'a mut Socket,
    backend: &'a mut Socket,
    capture: Option<&'a mut Socket>,
    /// Frontend, backend.
    stats: [ProxyStats; 2],
}

enum Steer {
    Go,
    Pause,
    Stop,
}

impl Proxy<'_> {
    fn run(&mut self, mut control: Option<&mut Socket>) -> Result<()> {
        let mut paused = false;
        loop {
            // Per direction: wait for the source to have a message if the destination can
            // take one, else for the destination to make room.
            let (f, b) = (self.frontend.events()?, self.backend.events()?);
            let mut want = [PollEvents::NONE; 2];
            if !paused {
                for (src, dst, dst_ev) in [(0, 1, b), (1, 0, f)] {
                    if dst_ev.contains(PollEvents::OUT) {
                        want[src] = want[src] | PollEvents::IN;
                    } else {
                        want[dst] = want[dst] | PollEvents::OUT;
                    }
                }
            }
            let mut items =
                vec![PollItem::new(self.frontend, want[0]), PollItem::new(self.backend, want[1])];
            if let Some(c) = control.as_deref_mut() {
                items.push(PollItem::new(c, PollEvents::IN));
            }
            poll(&mut items, None)?;
            drop(items);
            if let Some(c) = control.as_deref_mut() {
                while c.events()?.contains(PollEvents::IN) {
                    match self.steer(c)? {
                        Some(Steer::Go) => paused = false,
                        Some(Steer::Pause) => paused = true,
                        Some(Steer::Stop) => return Ok(()),
                        None => {}
                    }
                }
            }
            if paused {
                continue;
            }
            for (src, dst) in [(0, 1), (1, 0)] {
                let ready = self.side(src).events()?.contains(PollEvents::IN)
                    && self.side(dst).events()?.contains(PollEvents::OUT);
                if ready {
                    self.forward(src, dst)?;
                }
            }
        }
    }

    fn side(&mut self, i: usize) -> &mut Socket {
        if i == 0 { self.frontend } else { self.backend }
    }

    /// Moves one whole message from side `src` to side `dst`, a copy of each part to capture.
    fn forward(&mut self, src: usize, dst: usize) -> Result<()> {
        loop {
            let msg = match self.side(src).recv_msg(true) {
                Ok(m) => m,
                // Readiness said yes, but a SUB may have filtered the message out.
                Err(Error::WouldBlock) => return Ok(()),
                Err(e) => return Err(e),
            };
            let (more, len) = (msg.more(), msg.len() as u64);
            self.stats[src].msgs_in += 1;
            self.stats[src].bytes_in += len;
            if let Some(c) = self.capture.as_deref_mut() {
                c.send_msg(msg.clone(), false)?;
            }
            self.side(dst).send_msg(msg, false)?;
            self.stats[dst].msgs_out += 1;
            self.stats[dst].bytes_out += len;
            if !more {
                return Ok(());
            }
        }
    }

    /// One command from `control`; `None` leaves the state as it is.
    fn steer(&mut self, control: &mut Socket) -> Result<Option<Steer>> {
        let cmd = control.recv_multipart()?;
        let rep = control.socket_type() == SocketType::Rep;
        let word = cmd.iter().next().map(|m| m.to_vec()).unwrap_or_default();
        let steer = match &word[..] {
            b"PAUSE" => Some(Steer::Pause),
            b"RESUME" => Some(Steer::Go),
            b"TERMINATE" => Some(Steer::Stop),
            b"STATISTICS" => {
                let [f, b] = self.stats;
                let frames: Vec<Msg> = [f, b]
                    .iter()
                    .flat_map(|s| [s.msgs_in, s.bytes_in, s.msgs_out, s.bytes_out])
                    .map(|n| Msg::copy_from_slice(&n.to_ne_bytes()))
                    .collect();
                control.send_multipart(frames)?;
                return Ok(None);
            }
            _ => None,
        };
        if rep {
            control.send(Msg::new())?;
        }
        Ok(steer)
    }
}
