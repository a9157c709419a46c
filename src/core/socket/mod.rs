//! The socket types, one file each, behind one trait ([`Behaviour`]) and one closed enum
//! ([`Pattern`]) that [`SocketCore`](super::SocketCore) dispatches to without dynamic calls.
//!
//! A type decides only what its RFC section says: which pipes it takes, where a sent message
//! goes, where a received one comes from, and when it would block. Everything else (the pipe
//! table, the commands the pipes produce, closing) is the core's, so that a new type is one
//! file that reads like its RFC section, built from the strategies in
//! [`pattern`](super::pattern).

use super::PipeId;
use super::pattern::Pipes;
use crate::{Msg, SocketOptions, SocketType};
use bytes::Bytes;
use std::fmt;

mod dealer;
mod pair;
mod pull;
mod push;
mod rep;
mod req;
mod router;
#[cfg(test)]
mod tests;
mod xpub;
mod xsub;

pub(crate) use dealer::Dealer;
pub(crate) use pair::Pair;
pub(crate) use pull::Pull;
pub(crate) use push::Push;
pub(crate) use rep::Rep;
pub(crate) use req::Req;
pub(crate) use router::Router;
pub(crate) use xpub::Xpub;
pub(crate) use xsub::Xsub;

/// Why [`SocketCore::send`](super::SocketCore::send) did not take a message part. The part is
/// handed back, except where the type's rule is to drop it (then `send` returns `Ok`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// No pipe can take it now (`EAGAIN`): wait for a pipe event and try again.
    WouldBlock(Msg),
    /// This socket type does not send (`ENOTSUP`: PULL, SUB).
    NotSupported(Msg),
    /// Not now in this type's state machine (`EFSM`: a REQ sending twice).
    State(Msg),
    /// The message names a peer that does not exist (`EHOSTUNREACH`: ROUTER_MANDATORY).
    HostUnreachable(Msg),
}

impl SendError {
    /// The part that was not sent.
    pub fn into_msg(self) -> Msg {
        match self {
            SendError::WouldBlock(m)
            | SendError::NotSupported(m)
            | SendError::State(m)
            | SendError::HostUnreachable(m) => m,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::WouldBlock(_) => "no pipe can take the message now",
            SendError::NotSupported(_) => "this socket type cannot send",
            SendError::State(_) => "this socket cannot send in its current state",
            SendError::HostUnreachable(_) => "no peer has that routing id",
        })
    }
}

impl std::error::Error for SendError {}

/// Why [`SocketCore::recv`](super::SocketCore::recv) returned no message part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvError {
    /// Nothing to receive now (`EAGAIN`).
    WouldBlock,
    /// This socket type does not receive (`ENOTSUP`: PUSH, PUB).
    NotSupported,
    /// Not now in this type's state machine (`EFSM`: a REQ receiving before it sent).
    State,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvError::WouldBlock => "no message can be received now",
            RecvError::NotSupported => "this socket type cannot receive",
            RecvError::State => "this socket cannot receive in its current state",
        })
    }
}

impl std::error::Error for RecvError {}

impl From<SendError> for crate::Error {
    fn from(e: SendError) -> Self {
        match e {
            SendError::WouldBlock(_) => crate::Error::WouldBlock,
            SendError::NotSupported(_) => crate::Error::NotSupported,
            SendError::State(_) => crate::Error::InvalidState("send"),
            SendError::HostUnreachable(_) => crate::Error::HostUnreachable,
        }
    }
}

impl From<RecvError> for crate::Error {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::WouldBlock => crate::Error::WouldBlock,
            RecvError::NotSupported => crate::Error::NotSupported,
            RecvError::State => crate::Error::InvalidState("recv"),
        }
    }
}

/// What a socket type learns about a pipe when it is attached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipeInfo {
    /// The pipe was made by this socket's `connect` (libzmq's "locally initiated"), so it
    /// exists before any connection and survives reconnects.
    pub connect: bool,
    /// The routing id of the peer at the other end, when known at once: CONNECT_ROUTING_ID
    /// on a ROUTER's connect, or an inproc peer's ROUTING_ID (ROUTER-06, T-10). Otherwise a
    /// ROUTER learns it from the pipe's first item ([`Msg::routing_id`]).
    pub routing_id: Option<Bytes>,
}

impl PipeInfo {
    /// A pipe made by `connect` (`true`) or by an accepted connection or inproc bind.
    pub fn new(connect: bool) -> PipeInfo {
        PipeInfo { connect, routing_id: None }
    }

    /// The same, with the peer's routing id known at once.
    pub fn with_routing_id(mut self, id: Option<Bytes>) -> PipeInfo {
        self.routing_id = id;
        self
    }
}

/// What one socket type decides. The core owns the pipes and passes them in; a type keeps
/// only its own routing state (ids, the peer a reply goes to, its send/receive phase).
pub(crate) trait Behaviour {
    /// The options a type reads (ROUTER_MANDATORY, REQ_CORRELATE, ...); they apply at once
    /// (O-02), so this is called again whenever the socket's options change.
    fn configure(&mut self, _o: &SocketOptions) {}
    /// Seeds what a type draws (a ROUTER's first generated routing id, as libzmq seeds it at
    /// random), so that a simulated run replays.
    fn seed(&mut self, _seed: u64) {}
    /// A new pipe, already in `pipes`. `false` refuses it: the core terminates it at once
    /// (PAIR-02).
    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, info: &PipeInfo) -> bool;
    /// Whether this type ever reads its pipes. One that never does (PUSH) must not wait for a
    /// terminating peer's last messages: nobody would read them.
    fn reads(&self) -> bool {
        true
    }
    /// Pipe `id` has messages to read again.
    fn read_activated(&mut self, _pipes: &mut Pipes, _id: PipeId) {}
    /// Pipe `id` can take messages again.
    fn write_activated(&mut self, _pipes: &mut Pipes, _id: PipeId) {}
    /// The connection behind pipe `id` was replaced while the pipe stayed: say again what
    /// the peer must know (a subscriber's subscriptions, SUB-07).
    fn hiccuped(&mut self, _pipes: &mut Pipes, _id: PipeId) {}
    /// Pipe `id` is gone (its termination handshake finished).
    fn terminated(&mut self, id: PipeId);
    /// Sends one part. A part with MORE binds the next part to the same route.
    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError>;
    /// The pipe the last whole message sent went into, for types that send each message to
    /// one pipe (`None` otherwise, or when it was dropped).
    fn last_pipe(&self) -> Option<PipeId> {
        None
    }
    /// SUBSCRIBE (`subscribe`) or UNSUBSCRIBE `topic`: SUB, and XPUB with XPUB_MANUAL;
    /// `NotSupported` for every other type.
    fn subscribe(
        &mut self,
        _pipes: &mut Pipes,
        _subscribe: bool,
        topic: &[u8],
    ) -> Result<(), SendError> {
        Err(SendError::NotSupported(Msg::from(topic)))
    }
    /// Receives one part.
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError>;
    /// POLLIN: a part can be received now.
    fn has_in(&mut self, pipes: &mut Pipes) -> bool;
    /// POLLOUT: a part can be sent now.
    fn has_out(&mut self, pipes: &mut Pipes) -> bool;
}

/// Every socket type. Adding one is a file here, a variant, and a line in [`Pattern::new`]
/// and in the `dispatch!` macro.
pub(crate) enum Pattern {
    Push(Push),
    Pull(Pull),
    Pair(Pair),
    Dealer(Dealer),
    Router(Router),
    Req(Req),
    Rep(Rep),
    Pub(Xpub),
    Sub(Xsub),
    Xpub(Xpub),
    Xsub(Xsub),
}

/// Calls the same method on whichever type `self` holds: static dispatch, one match.
macro_rules! dispatch {
    ($self:expr, $p:ident => $call:expr) => {
        match $self {
            Pattern::Push($p) => $call,
            Pattern::Pull($p) => $call,
            Pattern::Pair($p) => $call,
            Pattern::Dealer($p) => $call,
            Pattern::Router($p) => $call,
            Pattern::Req($p) => $call,
            Pattern::Rep($p) => $call,
            Pattern::Pub($p) | Pattern::Xpub($p) => $call,
            Pattern::Sub($p) | Pattern::Xsub($p) => $call,
        }
    };
}

impl Pattern {
    /// The type's behaviour (`None` is kept for draft types, which are not built).
    pub(crate) fn new(ty: SocketType) -> Option<Pattern> {
        Some(match ty {
            SocketType::Push => Pattern::Push(Push::default()),
            SocketType::Pull => Pattern::Pull(Pull::default()),
            SocketType::Pair => Pattern::Pair(Pair::default()),
            SocketType::Dealer => Pattern::Dealer(Dealer::default()),
            SocketType::Router => Pattern::Router(Router::default()),
            SocketType::Req => Pattern::Req(Req::default()),
            SocketType::Rep => Pattern::Rep(Rep::default()),
            SocketType::Pub => Pattern::Pub(Xpub::publisher()),
            SocketType::Sub => Pattern::Sub(Xsub::subscriber()),
            SocketType::Xpub => Pattern::Xpub(Xpub::default()),
            SocketType::Xsub => Pattern::Xsub(Xsub::default()),
        })
    }
}

impl Behaviour for Pattern {
    fn configure(&mut self, o: &SocketOptions) {
        dispatch!(self, p => p.configure(o))
    }

    fn seed(&mut self, seed: u64) {
        dispatch!(self, p => p.seed(seed))
    }

    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, info: &PipeInfo) -> bool {
        dispatch!(self, p => p.attach(pipes, id, info))
    }

    fn reads(&self) -> bool {
        dispatch!(self, p => p.reads())
    }

    fn read_activated(&mut self, pipes: &mut Pipes, id: PipeId) {
        dispatch!(self, p => p.read_activated(pipes, id))
    }

    fn write_activated(&mut self, pipes: &mut Pipes, id: PipeId) {
        dispatch!(self, p => p.write_activated(pipes, id))
    }

    fn terminated(&mut self, id: PipeId) {
        dispatch!(self, p => p.terminated(id))
    }

    #[inline]
    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        dispatch!(self, p => p.send(pipes, msg))
    }

    fn last_pipe(&self) -> Option<PipeId> {
        dispatch!(self, p => p.last_pipe())
    }

    #[inline]
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        dispatch!(self, p => p.recv(pipes))
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        dispatch!(self, p => p.has_in(pipes))
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        dispatch!(self, p => p.has_out(pipes))
    }

    fn hiccuped(&mut self, pipes: &mut Pipes, id: PipeId) {
        dispatch!(self, p => p.hiccuped(pipes, id))
    }

    fn subscribe(
        &mut self,
        pipes: &mut Pipes,
        subscribe: bool,
        topic: &[u8],
    ) -> Result<(), SendError> {
        dispatch!(self, p => p.subscribe(pipes, subscribe, topic))
    }
}
