//! PUSH (RFC 30 §The PUSH Socket Type): round-robin out to the peers whose queue has room,
//! blocking when none has (PUSH-01, PUSH-02); never receives.

use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::Msg;
use crate::core::PipeId;
use crate::core::pattern::{Lb, Pipes};

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Push {
    lb: Lb,
}

impl Behaviour for Push {
    fn attach(&mut self, _: &mut Pipes, id: PipeId, _: &PipeInfo) -> bool {
        self.lb.attach(id);
        true
    }

    fn reads(&self) -> bool {
        false
    }

    fn write_activated(&mut self, _: &mut Pipes, id: PipeId) {
        self.lb.activated(id);
    }

    fn terminated(&mut self, id: PipeId) {
        self.lb.terminated(id);
    }

    #[inline]
    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        self.lb.send(pipes, msg).map_err(SendError::WouldBlock)
    }

    fn last_pipe(&self) -> Option<PipeId> {
        self.lb.last_pipe()
    }

    fn recv(&mut self, _: &mut Pipes) -> Result<Msg, RecvError> {
        Err(RecvError::NotSupported)
    }

    fn has_in(&mut self, _: &mut Pipes) -> bool {
        false
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.lb.has_out(pipes)
    }
}
