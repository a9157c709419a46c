//! NULL (RFC 37 §The NULL Security Mechanism): each side sends READY with its properties,
//! without waiting for the other's (W-15).

use super::Step;
use crate::proto::command::Command;
use crate::proto::metadata::Metadata;
use crate::proto::{CloseReason, ProtocolError};

#[derive(Debug, Default)]
pub(crate) struct Null {
    _private: (),
}

impl Null {
    pub(crate) fn start(&mut self, ours: &Metadata, out: &mut Vec<Command>) {
        out.push(Command::Ready(ours.clone()));
    }

    pub(crate) fn handle(
        &mut self,
        cmd: Command,
        _out: &mut Vec<Command>,
    ) -> Result<Step, CloseReason> {
        match cmd {
            Command::Ready(peer) => Ok(Step::Done(peer)),
            Command::Error(reason) => {
                Err(CloseReason::PeerError(String::from_utf8_lossy(&reason).into_owned()))
            }
            other => Err(ProtocolError::UnexpectedCommand {
                name: String::from_utf8_lossy(other.name()).into_owned(),
            }
            .into()),
        }
    }
}
