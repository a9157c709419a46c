//! PAIR (RFC 31 §The PAIR Socket Type): exactly one peer, messages both ways unchanged
//! (PAIR-01). A second pipe while one exists, even one still terminating, is refused
//! (PAIR-02, as libzmq's `pair_t::xattach_pipe`); with no peer or a full queue a send blocks
//! (PAIR-03).

use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::Msg;
use crate::core::PipeId;
use crate::core::pattern::Pipes;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Pair {
    peer: Option<PipeId>,
}

impl Behaviour for Pair {
    fn attach(&mut self, _: &mut Pipes, id: PipeId, _: &PipeInfo) -> bool {
        if self.peer.is_some() {
            return mutant!(PairTakesSecondPeer);
        }
        self.peer = Some(id);
        true
    }

    fn terminated(&mut self, id: PipeId) {
        if self.peer == Some(id) {
            self.peer = None;
        }
    }

    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        let Some(pipe) = self.peer.and_then(|id| pipes.get_mut(&id)) else {
            return Err(SendError::WouldBlock(msg));
        };
        let more = msg.more();
        pipe.write(msg).map_err(SendError::WouldBlock)?;
        if !more {
            pipe.flush();
        }
        Ok(())
    }

    fn last_pipe(&self) -> Option<PipeId> {
        self.peer
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        self.peer
            .and_then(|id| pipes.get_mut(&id))
            .and_then(|p| p.read())
            .ok_or(RecvError::WouldBlock)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.peer.and_then(|id| pipes.get_mut(&id)).is_some_and(|p| p.check_read())
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.peer.and_then(|id| pipes.get_mut(&id)).is_some_and(|p| p.check_write())
    }
}
