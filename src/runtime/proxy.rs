//! `proxy` and `proxy_steerable`, as libzmq's `zmq_proxy` and `zmq_proxy_steerable` (API-10 …
//! API-12), over real sockets: the rules are [`crate::core::proxy`]'s (the simulator's
//! forwarder runs the same core); this driver waits with [`poll`] for what the core wants,
//! and gives the capture socket blocking sends, as libzmq does.

use super::poll::{PollEvents, PollItem, poll};
use super::socket::Socket;
use crate::core::proxy::{ProxyCore, ProxySocket, Refused, Steered, Want};
use crate::{Error, Msg, Result, SocketType};

pub use crate::core::proxy::ProxyStats;

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
    run(frontend, backend, capture, None)
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
    run(frontend, backend, capture, Some(control))
}

/// A socket as the core sees it. Sends to the frontend and backend come only after
/// POLLOUT, and a message counts once against the high-water mark, so they do not wait; the
/// capture's may, as in libzmq.
struct Side<'a> {
    socket: &'a mut Socket,
    dontwait: bool,
}

impl ProxySocket for Side<'_> {
    fn socket_type(&self) -> SocketType {
        self.socket.socket_type()
    }
    fn can_recv(&mut self) -> Result<bool> {
        Ok(self.socket.events()?.contains(PollEvents::IN))
    }
    fn can_send(&mut self) -> Result<bool> {
        Ok(self.socket.events()?.contains(PollEvents::OUT))
    }
    fn recv(&mut self) -> Result<Msg> {
        self.socket.recv_msg(true)
    }
    fn send(&mut self, part: Msg) -> std::result::Result<(), Refused> {
        // The part is kept (a reference, not its bytes) until the socket took it.
        match self.socket.send_msg(part.clone(), self.dontwait) {
            Ok(()) => Ok(()),
            Err(Error::WouldBlock) => Err(Refused::Full(part)),
            Err(e) => Err(Refused::Failed(e)),
        }
    }
}

fn events(w: Want) -> PollEvents {
    let mut e = PollEvents::NONE;
    if w.recv {
        e = e | PollEvents::IN;
    }
    if w.send {
        e = e | PollEvents::OUT;
    }
    e
}

fn run(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: Option<&mut Socket>,
    mut control: Option<&mut Socket>,
) -> Result<()> {
    let mut core = ProxyCore::default();
    let mut front = Side { socket: frontend, dontwait: true };
    let mut back = Side { socket: backend, dontwait: true };
    let mut capture = capture.map(|socket| Side { socket, dontwait: false });
    loop {
        if let Some(c) = control.as_deref_mut() {
            let mut c = Side { socket: c, dontwait: false };
            if core.steer(&mut c)? == Steered::Terminated {
                return Ok(());
            }
        }
        let moved = core
            .pump([&mut front, &mut back], capture.as_mut().map(|c| c as &mut dyn ProxySocket))?;
        if moved {
            continue;
        }
        let want = core.want([&mut front, &mut back])?;
        let mut items = vec![
            PollItem::new(front.socket, events(want[0])),
            PollItem::new(back.socket, events(want[1])),
        ];
        if let Some(c) = control.as_deref_mut() {
            items.push(PollItem::new(c, PollEvents::IN));
        }
        poll(&mut items, None)?;
    }
}
