//! ROUTER (RFC 28 §The ROUTER Socket Type): every message is addressed by the routing id of a
//! peer.
//!
//! * receiving, the sender's routing id comes first, as a part of its own (ROUTER-01),
//!   fair-queued across peers; the ids are the peers' `Identity`, CONNECT_ROUTING_ID, or
//!   generated (ROUTER-04, ROUTER-06; see [`Routing`]);
//! * sending, the first part names the peer and is consumed (ROUTER-02): an unknown peer's
//!   message is dropped whole, silently, or refused with `HostUnreachable` under
//!   ROUTER_MANDATORY; a full peer's message is dropped, or blocks (`WouldBlock`) under
//!   ROUTER_MANDATORY (ROUTER-03, Q-07); a lone first part with nothing after it is ignored;
//! * POLLOUT is always set, or with ROUTER_MANDATORY only when some peer has room (API-02);
//! * PROBE_ROUTER sends an empty message on each new pipe (ROUTER-07).

use super::dealer::probe;
use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::core::PipeId;
use crate::core::pattern::{Pipes, Routing};
use crate::{Msg, SocketOptions};

/// Where the parts after the routing id go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// The next part is a routing id.
    #[default]
    Idle,
    /// To this pipe.
    To(PipeId),
    /// Dropped (unknown or full peer, without MANDATORY).
    Dropping,
}

/// See the module docs. REP is built on it.
#[derive(Debug, Default)]
pub(crate) struct Router {
    pub(crate) routing: Routing,
    out: Out,
    /// A message whose routing id was just handed out; its first part comes next.
    pending: Option<Msg>,
    mandatory: bool,
    probe_router: bool,
    last: Option<PipeId>,
}

impl Behaviour for Router {
    fn configure(&mut self, o: &SocketOptions) {
        self.mandatory = o.router_mandatory;
        self.routing.handover = o.router_handover;
        self.probe_router = o.probe_router;
    }

    fn seed(&mut self, seed: u64) {
        self.routing.seed(seed);
    }

    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, info: &PipeInfo) -> bool {
        if self.probe_router {
            probe(pipes, id);
        }
        self.routing.attach(pipes, id, info.routing_id.as_ref())
    }

    fn read_activated(&mut self, pipes: &mut Pipes, id: PipeId) {
        if !self.routing.read_activated(pipes, id) {
            // Its routing id is taken: refused (ROUTER-05).
            if let Some(p) = pipes.get_mut(&id) {
                p.terminate(false);
            }
        }
    }

    fn terminated(&mut self, id: PipeId) {
        self.routing.terminated(id);
        if self.out == Out::To(id) {
            self.out = Out::Dropping;
        }
    }

    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        let more = msg.more();
        match self.out {
            Out::Idle => {
                if !more {
                    // A routing id with no message after it.
                    return Ok(());
                }
                let Some(pipe) = self.routing.lookup(&msg) else {
                    if self.mandatory {
                        return Err(SendError::HostUnreachable(msg));
                    }
                    self.out = Out::Dropping;
                    return Ok(());
                };
                let p = pipes.get_mut(&pipe).expect("routed pipes exist");
                if p.check_write() {
                    self.out = Out::To(pipe);
                } else if self.mandatory && !mutant!(RouterDropsWhenFull) {
                    return Err(if p.is_terminating() {
                        SendError::HostUnreachable(msg)
                    } else {
                        SendError::WouldBlock(msg)
                    });
                } else {
                    self.out = Out::Dropping;
                }
                Ok(())
            }
            Out::To(pipe) => {
                let p = pipes.get_mut(&pipe).expect("routed pipes exist");
                if p.write(msg).is_err() {
                    // Only a pipe that started terminating mid-message refuses a part.
                    p.rollback();
                    self.out = if more { Out::Dropping } else { Out::Idle };
                    self.last = None;
                } else if !more {
                    p.flush();
                    self.out = Out::Idle;
                    self.last = Some(pipe);
                }
                Ok(())
            }
            Out::Dropping => {
                if !more {
                    self.out = Out::Idle;
                    self.last = None;
                }
                Ok(())
            }
        }
    }

    fn last_pipe(&self) -> Option<PipeId> {
        self.last
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        if let Some(m) = self.pending.take() {
            return Ok(m);
        }
        if self.routing.in_message() {
            return self.routing.recv(pipes).map(|(_, m)| m).ok_or(RecvError::WouldBlock);
        }
        let (pipe, m) = self.routing.recv(pipes).ok_or(RecvError::WouldBlock)?;
        let id = self.routing.id_of(pipe).cloned().unwrap_or_default();
        self.pending = Some(m);
        Ok(Msg::from(id).with_more(true))
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.pending.is_some() || self.routing.has_in(pipes)
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        if !self.mandatory || self.out != Out::Idle {
            return true;
        }
        let ids: Vec<PipeId> = self.routing.pipes().collect();
        ids.into_iter().any(|id| pipes.get_mut(&id).is_some_and(|p| p.check_write()))
    }
}
