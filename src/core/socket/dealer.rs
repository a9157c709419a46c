//! DEALER (RFC 28 §The DEALER Socket Type): round-robin out to the peers whose queue has room,
//! blocking when none has (DEALER-01, DEALER-03); fair-queued in (DEALER-02); no envelope of
//! its own (DEALER-04). With PROBE_ROUTER an empty message goes out on each new pipe
//! (ROUTER-07).

use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::core::PipeId;
use crate::core::pattern::{Fq, Lb, Pipes};
use crate::{Msg, SocketOptions};

/// See the module docs. REQ is built on it.
#[derive(Debug, Default)]
pub(crate) struct Dealer {
    pub(crate) lb: Lb,
    pub(crate) fq: Fq,
    probe_router: bool,
}

/// PROBE_ROUTER: an empty message on a new pipe, so a ROUTER peer learns who we are at once.
pub(crate) fn probe(pipes: &mut Pipes, id: PipeId) {
    if let Some(p) = pipes.get_mut(&id) {
        if p.write(Msg::new()).is_ok() {
            p.flush();
        }
    }
}

impl Behaviour for Dealer {
    fn configure(&mut self, o: &SocketOptions) {
        self.probe_router = o.probe_router;
    }

    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, _: &PipeInfo) -> bool {
        if self.probe_router {
            probe(pipes, id);
        }
        self.lb.attach(id);
        self.fq.attach(id);
        true
    }

    fn read_activated(&mut self, _: &mut Pipes, id: PipeId) {
        self.fq.activated(id);
    }

    fn write_activated(&mut self, _: &mut Pipes, id: PipeId) {
        self.lb.activated(id);
    }

    fn terminated(&mut self, id: PipeId) {
        self.lb.terminated(id);
        self.fq.terminated(id);
    }

    #[inline]
    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        self.lb.send(pipes, msg).map_err(SendError::WouldBlock)
    }

    fn last_pipe(&self) -> Option<PipeId> {
        self.lb.last_pipe()
    }

    #[inline]
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        self.fq.recv(pipes).ok_or(RecvError::WouldBlock)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.has_in(pipes)
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.lb.has_out(pipes)
    }
}
