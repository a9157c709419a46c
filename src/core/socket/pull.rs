//! PULL (RFC 30 §The PULL Socket Type): fair-queues in from every pusher (PULL-01); never
//! sends.

use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::Msg;
use crate::core::PipeId;
use crate::core::pattern::{Fq, Pipes};

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Pull {
    fq: Fq,
}

impl Behaviour for Pull {
    fn attach(&mut self, _: &mut Pipes, id: PipeId, _: &PipeInfo) -> bool {
        self.fq.attach(id);
        true
    }

    fn read_activated(&mut self, _: &mut Pipes, id: PipeId) {
        self.fq.activated(id);
    }

    fn terminated(&mut self, id: PipeId) {
        self.fq.terminated(id);
    }

    fn send(&mut self, _: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        Err(SendError::NotSupported(msg))
    }

    #[inline]
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        self.fq.recv(pipes).ok_or(RecvError::WouldBlock)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.has_in(pipes)
    }

    fn has_out(&mut self, _: &mut Pipes) -> bool {
        false
    }
}
