//! REQ (RFC 28 §The REQ Socket Type): a DEALER with a strict send, receive, send, … rhythm.
//!
//! * a request goes out as an empty delimiter and the body (REQ-01), round-robin (REQ-02);
//!   with REQ_CORRELATE a 4-octet request id comes first (REQ-07);
//! * sending twice, or receiving before sending, is `State` (EFSM, REQ-03), unless
//!   REQ_RELAXED lets a new request replace the pending one (REQ-08);
//! * with no peer a request blocks; it is never discarded (REQ-04);
//! * only the peer that got the request may answer (REQ-05); a reply without the delimiter,
//!   or with another request id, is dropped whole and the REQ keeps waiting (REQ-06, REQ-07);
//! * if the pipe the request went on terminates, the REQ neither resends nor fails: it takes a
//!   reply from whichever peer answers (REQ-09, as libzmq's `xpipe_terminated`).

use super::dealer::{Dealer, probe};
use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::core::PipeId;
use crate::core::pattern::Pipes;
use crate::{Msg, SocketOptions};

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Req {
    dealer: Dealer,
    /// A request went out; its reply is due.
    receiving_reply: bool,
    /// The next part sent, or received, starts a message.
    mid_message: bool,
    /// The pipe the request went on (`None`: any, once that pipe is gone).
    reply_pipe: Option<PipeId>,
    request_id: u32,
    correlate: bool,
    relaxed: bool,
    probe_router: bool,
}

impl Req {
    /// The next part of a reply from the pipe the request went to; parts from elsewhere are
    /// dropped.
    fn recv_reply_part(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        loop {
            let (pipe, m) = self.dealer.fq.recv_from(pipes).ok_or(RecvError::WouldBlock)?;
            if self.reply_pipe.is_none_or(|r| r == pipe) || mutant!(ReqAcceptsAnyPeer) {
                return Ok(m);
            }
        }
    }

    /// Drops the rest of a reply whose first part was `first`.
    fn drop_rest(&mut self, pipes: &mut Pipes, first: &Msg) {
        let mut more = first.more();
        while more {
            match self.recv_reply_part(pipes) {
                Ok(m) => more = m.more(),
                // Parts of a message are published together: this does not happen.
                Err(_) => return,
            }
        }
    }
}

impl Behaviour for Req {
    fn configure(&mut self, o: &SocketOptions) {
        self.correlate = o.req_correlate;
        self.relaxed = o.req_relaxed;
        self.probe_router = o.probe_router;
    }

    fn seed(&mut self, seed: u64) {
        self.request_id = seed as u32;
    }

    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, info: &PipeInfo) -> bool {
        if self.probe_router {
            probe(pipes, id);
        }
        // The dealer's own probe is off: it is sent once, above.
        self.dealer.attach(pipes, id, info)
    }

    fn read_activated(&mut self, pipes: &mut Pipes, id: PipeId) {
        self.dealer.read_activated(pipes, id);
    }

    fn write_activated(&mut self, pipes: &mut Pipes, id: PipeId) {
        self.dealer.write_activated(pipes, id);
    }

    fn terminated(&mut self, id: PipeId) {
        if self.reply_pipe == Some(id) {
            self.reply_pipe = None;
        }
        self.dealer.terminated(id);
    }

    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        if self.receiving_reply {
            if !self.relaxed {
                return Err(SendError::State(msg));
            }
            // REQ-08: the pending request is given up.
            self.receiving_reply = false;
            self.mid_message = false;
        }
        if !self.mid_message {
            // Nothing is written unless the whole envelope can go: the first part decides
            // the pipe, the others follow it.
            if self.correlate {
                let id = Msg::copy_from_slice(&self.request_id.wrapping_add(1).to_be_bytes());
                self.dealer
                    .lb
                    .send(pipes, id.with_more(true))
                    .map_err(|_| SendError::WouldBlock(msg.clone()))?;
                self.request_id = self.request_id.wrapping_add(1);
                let _ = self.dealer.lb.send(pipes, Msg::new().with_more(true));
            } else {
                self.dealer
                    .lb
                    .send(pipes, Msg::new().with_more(true))
                    .map_err(|_| SendError::WouldBlock(msg.clone()))?;
            }
            self.reply_pipe = self.dealer.lb.current();
            self.mid_message = true;
            // Replies to an earlier request that come late are stale now.
            while let Some(stale) = self.dealer.fq.recv(pipes) {
                drop(stale);
            }
        }
        let more = msg.more();
        // Within a message the pipe is fixed and always takes the part (HWM counts messages).
        self.dealer.lb.send(pipes, msg).map_err(SendError::WouldBlock)?;
        if !more {
            self.receiving_reply = true;
            self.mid_message = false;
        }
        Ok(())
    }

    fn last_pipe(&self) -> Option<PipeId> {
        self.dealer.lb.last_pipe()
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        if !self.receiving_reply {
            return Err(RecvError::State);
        }
        while !self.mid_message {
            if self.correlate {
                let m = self.recv_reply_part(pipes)?;
                let want = self.request_id.to_be_bytes();
                if !m.more() || m[..] != want[..] {
                    self.drop_rest(pipes, &m);
                    continue;
                }
            }
            let m = self.recv_reply_part(pipes)?;
            if !m.more() || !m.is_empty() {
                // REQ-06: no delimiter: not a reply.
                self.drop_rest(pipes, &m);
                continue;
            }
            self.mid_message = true;
        }
        let m = self.recv_reply_part(pipes)?;
        if !m.more() {
            self.receiving_reply = false;
            self.mid_message = false;
        }
        Ok(m)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.receiving_reply && self.dealer.has_in(pipes)
    }

    fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        (!self.receiving_reply || self.relaxed) && self.dealer.has_out(pipes)
    }
}
