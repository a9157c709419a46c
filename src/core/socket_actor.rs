//! A socket as an actor: its [`SocketCore`] plus the routes to the owners of its pipes' other
//! ends. Every driver runs a socket through this one type — the runtime's user-facing
//! `Socket`, the runtime's reaper (which finishes closing a socket its user dropped) and the
//! simulator's hosts — so applying commands, forwarding pipe commands and forgetting the
//! routes of terminated pipes are written once.

use super::{PipeId, PipeInfo, SocketCore};
use crate::Msg;
use crate::pipe::{PipeCommand, PipeEnd};
use std::collections::BTreeMap;

/// A command for a socket from the owner of one of its pipes' other ends (a session, another
/// socket, or the driver itself). `R` is the driver's way of naming that owner: an I/O thread's
/// mailbox, a session key, ...
#[derive(Debug)]
pub enum SocketInput<R> {
    /// A new pipe, with where commands about it go.
    Attach {
        /// The pipe.
        id: PipeId,
        /// The socket's end of it, boxed: every command in a socket's mailbox is as large as
        /// this enum's largest variant, and attaching is rare.
        end: Box<PipeEnd<Msg>>,
        /// What the socket type is told about it.
        info: PipeInfo,
        /// Where commands about it go.
        route: R,
    },
    /// A command for the socket's end of a pipe.
    Pipe(PipeId, PipeCommand),
    /// Commands about this pipe go somewhere else from now on (an inproc bind took over a
    /// connect made before it).
    Route(PipeId, R),
}

/// A socket core and its routes. See the module docs.
///
/// ```
/// use ferromq::core::{PipeId, PipeInfo, SocketActor, SocketInput};
/// use ferromq::pipe::pipe_pair;
/// use ferromq::{Msg, SocketType};
///
/// // Two sockets joined by one pipe; each names the other's owner with a `&str`.
/// let mut push = SocketActor::new(SocketType::Push).unwrap();
/// let mut pull = SocketActor::new(SocketType::Pull).unwrap();
/// let (a, b) = pipe_pair(10, 10);
/// push.handle(SocketInput::Attach { id: PipeId(1), end: Box::new(a), info: PipeInfo::new(true), route: "pull" });
/// pull.handle(SocketInput::Attach { id: PipeId(1), end: Box::new(b), info: PipeInfo::new(false), route: "push" });
/// push.core().send(Msg::from("hi")).unwrap();
/// let mut to_pull = Vec::new();
/// push.flush(|route, id, cmd| to_pull.push((*route, id, cmd)));
/// for (_, id, cmd) in to_pull {
///     pull.handle(SocketInput::Pipe(id, cmd));
/// }
/// assert_eq!(&pull.core().recv().unwrap()[..], b"hi");
/// ```
#[derive(Debug)]
pub struct SocketActor<R> {
    core: SocketCore,
    routes: BTreeMap<PipeId, R>,
}

impl<R> SocketActor<R> {
    /// An actor for a new socket of type `ty` (see [`SocketCore::new`]).
    pub fn new(ty: crate::SocketType) -> Result<SocketActor<R>, crate::Error> {
        Ok(SocketActor { core: SocketCore::new(ty)?, routes: BTreeMap::new() })
    }

    /// An actor for a new socket of type `ty` with options `o` applied, its draws (a ROUTER's
    /// generated ids, a REQ's request ids) seeded with `seed`: libzmq seeds them at random, a
    /// driver passes its random source, or its run's seed.
    pub fn with_options(
        ty: crate::SocketType,
        o: &crate::SocketOptions,
        seed: u64,
    ) -> Result<SocketActor<R>, crate::Error> {
        let mut actor = SocketActor::new(ty)?;
        actor.core.configure(o);
        actor.core.seed(seed);
        Ok(actor)
    }

    /// The socket core, for sending, receiving and closing. Call [`flush`](Self::flush) after.
    pub fn core(&mut self) -> &mut SocketCore {
        &mut self.core
    }

    /// The socket core, read-only.
    pub fn core_ref(&self) -> &SocketCore {
        &self.core
    }

    /// Where commands about pipe `id` go.
    pub fn route(&self, id: PipeId) -> Option<&R> {
        self.routes.get(&id)
    }

    /// Applies one command. Call [`flush`](Self::flush) after a batch.
    pub fn handle(&mut self, input: SocketInput<R>) {
        match input {
            SocketInput::Attach { id, end, info, route } => {
                self.routes.insert(id, route);
                self.core.attach_pipe(id, end, info);
            }
            SocketInput::Pipe(id, cmd) => self.core.handle_pipe_command(id, cmd),
            SocketInput::Route(id, route) => {
                self.routes.insert(id, route);
            }
        }
    }

    /// True when [`flush`](Self::flush) has something to hand on.
    #[inline]
    pub fn has_output(&self) -> bool {
        self.core.has_output()
    }

    /// Hands every pipe command the core produced to `send`, with the route of its pipe, then
    /// forgets the routes of pipes whose termination finished (after their last command went
    /// out: a final acknowledgement must still reach the peer).
    #[inline]
    pub fn flush(&mut self, send: impl FnMut(&R, PipeId, PipeCommand)) {
        self.flush_and(send, |_, _| {});
    }

    /// [`flush`](Self::flush), also telling `gone` of each pipe whose route was forgotten (a
    /// driver that keeps count of pipes learns here).
    #[inline]
    pub fn flush_and(
        &mut self,
        mut send: impl FnMut(&R, PipeId, PipeCommand),
        mut gone: impl FnMut(PipeId, Option<R>),
    ) {
        while let Some((id, cmd)) = self.core.poll_command() {
            if let Some(route) = self.routes.get(&id) {
                send(route, id, cmd);
            }
        }
        while let Some(id) = self.core.poll_terminated() {
            gone(id, self.routes.remove(&id));
        }
    }

    /// True once the socket was closed and every pipe finished terminating.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }
}
