//! The production driver: I/O threads running `mio`, and the blocking user API. This is the
//! only module with threads, sockets, clocks and OS randomness; everything it runs is the
//! sans-IO code of `core`, `proto` and `pipe`.

mod context;
mod io_thread;
mod monitor;
mod poll;
mod signal;
mod socket;
mod stream;

pub use context::{Context, ContextBuilder, DEFAULT_MAX_SOCKETS};
pub use monitor::{Monitor, MonitorEvent};
pub use poll::{PollEvents, PollItem, ReadinessFd, poll};
pub use socket::Socket;

use crate::Msg;
use crate::core::PipeId;
use crate::pipe::{PipeCommand, PipeEnd, Sender};
use context::CtxInner;
use io_thread::IoCmd;

/// Commands to a socket (user thread, or its reaper).
pub(crate) enum SocketCmd {
    /// A command for the socket's end of a pipe.
    Pipe(PipeId, PipeCommand),
    /// A new pipe for the socket, and where to send commands about it.
    Attach { id: PipeId, end: PipeEnd<Msg>, route: Route },
    /// Commands about this pipe now go here (an inproc bind completed a pending connect).
    Route(PipeId, Route),
    /// The context is terminating.
    Stop,
}

/// Where the owner of a pipe's other end lives.
#[derive(Clone)]
pub(crate) enum Route {
    /// A session on I/O thread `n`.
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
            Route::Socket(s) => s.send(SocketCmd::Pipe(id, cmd)),
            Route::InprocPending(name) => {
                let mut reg = ctx.inproc.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match reg.get_mut(name) {
                    Some(context::InprocEntry::Bound { socket, .. }) => {
                        socket.send(SocketCmd::Pipe(id, cmd))
                    }
                    Some(context::InprocEntry::Pending(list)) => {
                        if let Some(p) = list.iter_mut().find(|p| p.id == id) {
                            p.early.push(cmd);
                        }
                    }
                    None => {}
                }
            }
        }
    }
}
