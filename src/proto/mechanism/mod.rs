//! Security mechanisms: the handshake between the greeting and traffic.
//!
//! Each mechanism is a state machine that consumes the peer's handshake commands and emits its
//! own; it ends by handing over the peer's metadata. The engine does everything that is common
//! to all of them (socket-type checks, timers, framing). NULL is here now; PLAIN and CURVE slot
//! in as further variants of [`Mechanism`].

mod null;

pub(crate) use null::Null;

use super::CloseReason;
use super::command::Command;
use super::greeting::MechanismName;
use super::metadata::Metadata;

/// Which security mechanism a connection uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Security {
    /// No authentication or encryption (RFC 37 §The NULL Security Mechanism).
    #[default]
    Null,
}

/// A running handshake.
#[derive(Debug)]
pub(crate) enum Mechanism {
    Null(Null),
}

/// What a handshake step produced.
#[derive(Debug)]
pub(crate) enum Step {
    /// The handshake is complete; these are the peer's properties.
    Done(Metadata),
}

impl Mechanism {
    pub(crate) fn new(security: &Security) -> Mechanism {
        match security {
            Security::Null => Mechanism::Null(Null::default()),
        }
    }

    pub(crate) fn name(&self) -> MechanismName {
        match self {
            Mechanism::Null(_) => MechanismName::NULL,
        }
    }

    /// The as-server octet of our greeting (M-01: NULL always sends 0).
    pub(crate) fn as_server(&self) -> bool {
        match self {
            Mechanism::Null(_) => false,
        }
    }

    /// Called once the peer's greeting is accepted; pushes our first handshake commands.
    pub(crate) fn start(&mut self, ours: &Metadata, out: &mut Vec<Command>) {
        match self {
            Mechanism::Null(m) => m.start(ours, out),
        }
    }

    /// Feeds one of the peer's handshake commands.
    pub(crate) fn handle(
        &mut self,
        cmd: Command,
        out: &mut Vec<Command>,
    ) -> Result<Step, CloseReason> {
        match self {
            Mechanism::Null(m) => m.handle(cmd, out),
        }
    }
}
