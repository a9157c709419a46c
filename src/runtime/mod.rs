//! The production driver: I/O threads running `mio`, and the blocking user API. This is the
//! only module with threads, sockets, clocks and OS randomness; everything it runs is the
//! sans-IO code of `core`, `proto` and `pipe`: a socket is a [`SocketActor`], a peer is a
//! [`Connection`](crate::core::Connection), and this module only carries out what they ask.

mod context;
pub mod gate;
mod inproc;
mod io_thread;
mod monitor;
mod poll;
mod proxy;
pub mod signal;
mod socket;
mod stream;

pub use context::{Context, ContextBuilder, DEFAULT_MAX_SOCKETS};
pub use monitor::{Monitor, MonitorEvent};
pub use poll::{PollEvents, PollItem, ReadinessFd, poll};
pub use proxy::{ProxyStats, proxy, proxy_steerable};
pub use socket::Socket;

use crate::core::{PipeId, SocketActor, SocketInput};
use crate::pipe::{PipeCommand, Sender};
use context::CtxInner;
use io_thread::IoCmd;

/// Commands to a socket (user thread, or its reaper).
pub(crate) enum SocketCmd {
    /// For the socket's actor: a pipe, a pipe command, a new route.
    Input(SocketInput<Route>),
    /// The context is terminating.
    Stop,
}

/// Where the owner of a pipe's other end lives.
#[derive(Clone)]
pub(crate) enum Route {
    /// A connection on I/O thread `n`.
    Io(usize),
    /// Another socket (inproc).
    Socket(Sender<SocketCmd>),
    /// An inproc connect whose name nobody has bound yet.
    InprocPending(String),
}

impl Route {
    pub(crate) fn send(&self, ctx: &CtxInner, id: PipeId, cmd: PipeCommand) {
        match self {
            Route::Io(i) => ctx.io[*i].send(IoCmd::Pipe(id, cmd)),
            Route::Socket(s) => s.send(SocketCmd::Input(SocketInput::Pipe(id, cmd))),
            Route::InprocPending(name) => ctx.inproc.send_pending(name, id, cmd),
        }
    }
}

/// Forwards what `actor` produced to the owners of its pipes' other ends.
/// True if any went to an I/O thread.
pub(crate) fn flush_actor(ctx: &CtxInner, actor: &mut SocketActor<Route>) -> bool {
    let mut to_io = false;
    actor.flush(|route, id, cmd| {
        to_io |= matches!(route, Route::Io(_));
        route.send(ctx, id, cmd)
    });
    to_io
}
