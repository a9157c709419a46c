//! REP (RFC 28 §The REP Socket Type): a ROUTER that answers one request at a time.
//!
//! * requests are fair-queued across clients (REP-01); their envelope (every part up to and
//!   including the empty delimiter, several hops deep) is kept and put back on the reply, so
//!   the application sees only the body (REP-02);
//! * receiving twice, or replying before a request, is `State` (EFSM, REP-03);
//! * a reply to a client that has left is dropped silently: sending never blocks (REP-04);
//! * a request with no delimiter is discarded whole, and the next one is read (REP-05).

use super::router::Router;
use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::core::PipeId;
use crate::core::pattern::Pipes;
use crate::{Msg, SocketOptions};

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Rep {
    router: Router,
    /// A request was received whole; its reply is due.
    sending_reply: bool,
    /// Receiving: the body has begun. Sending: the envelope went out.
    mid_message: bool,
    /// The request's envelope, the routing id first.
    envelope: Vec<Msg>,
    /// The planted bug RepWrongEnvelope: the envelope of the request before.
    #[cfg(feature = "mutants")]
    previous: Vec<Msg>,
}

impl Behaviour for Rep {
    fn configure(&mut self, o: &SocketOptions) {
        self.router.configure(o);
    }

    fn seed(&mut self, seed: u64) {
        self.router.seed(seed);
    }

    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, info: &PipeInfo) -> bool {
        self.router.attach(pipes, id, info)
    }

    fn read_activated(&mut self, pipes: &mut Pipes, id: PipeId) {
        self.router.read_activated(pipes, id);
    }

    fn terminated(&mut self, id: PipeId) {
        self.router.terminated(id);
    }

    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        if !self.sending_reply {
            return Err(SendError::State(msg));
        }
        if !self.mid_message {
            #[cfg(feature = "mutants")]
            if mutant!(RepWrongEnvelope) && !self.previous.is_empty() {
                std::mem::swap(&mut self.envelope, &mut self.previous);
            }
            for part in &self.envelope {
                // A ROUTER without MANDATORY never refuses: an absent client's reply is
                // dropped.
                let _ = self.router.send(pipes, part.clone());
            }
            #[cfg(feature = "mutants")]
            {
                self.previous = std::mem::take(&mut self.envelope);
            }
            self.envelope.clear();
            self.mid_message = true;
        }
        let more = msg.more();
        let _ = self.router.send(pipes, msg);
        if !more {
            self.sending_reply = false;
            self.mid_message = false;
        }
        Ok(())
    }

    fn last_pipe(&self) -> Option<PipeId> {
        self.router.last_pipe()
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        if self.sending_reply {
            return Err(RecvError::State);
        }
        while !self.mid_message {
            let m = self.router.recv(pipes)?;
            if m.more() {
                let bottom = m.is_empty() && !self.envelope.is_empty();
                self.envelope.push(m);
                if bottom {
                    self.mid_message = true;
                }
            } else {
                // REP-05: the request ended before its delimiter: discard it whole.
                self.envelope.clear();
            }
        }
        let m = self.router.recv(pipes)?;
        if !m.more() {
            self.sending_reply = true;
            self.mid_message = false;
        }
        Ok(m)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        !self.sending_reply && self.router.has_in(pipes)
    }

    fn has_out(&mut self, _: &mut Pipes) -> bool {
        self.sending_reply
    }
}
