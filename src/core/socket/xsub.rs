//! XSUB and SUB (RFC 29 §The XSUB Socket Type, §The SUB Socket Type): messages from every
//! publisher, fair-queued; subscriptions go to every publisher.
//!
//! * a subscription is `01` + topic sent on the XSUB, a cancel `00` + topic (XSUB-01); the
//!   socket counts them: every subscribe goes upstream, a cancel only when its topic's last
//!   instance goes (SUB-04); a connection writes them in the form its peer speaks (SUB-03);
//! * whatever an XSUB sends goes to every publisher; a full one misses it, sending never
//!   blocks (XSUB-02);
//! * each publisher that attaches gets the current subscriptions, and so does one whose
//!   connection was replaced, on the pipe's hiccup (SUB-02, SUB-07, XSUB-04);
//! * input is fair-queued (SUB-06); an XSUB filters nothing (XSUB-03);
//! * SUB subscribes through `subscribe`/`unsubscribe`, cannot send (SUB-06), and filters
//!   what it receives by its own subscriptions too (SUB-05, SUB-01), inverted with
//!   INVERT_MATCHING (PUB-07).

use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::core::PipeId;
use crate::core::pattern::{Dist, Fq, Pipes, Trie};
use crate::{Msg, SocketOptions};

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Xsub {
    /// SUB: filters its input and subscribes through options only.
    is_sub: bool,
    subs: Trie,
    dist: Dist,
    fq: Fq,
    /// SUB: the first part of a matching message, read ahead to answer POLLIN.
    ahead: Option<Msg>,
    /// SUB: the rest of the current message follows (it matched).
    in_message: bool,
    /// An XSUB's own multipart message is being sent.
    sending_more: bool,
    invert: bool,
}

impl Xsub {
    pub(crate) fn subscriber() -> Self {
        Xsub { is_sub: true, ..Xsub::default() }
    }

    /// Applies a subscription and sends it upstream if it is news (a cancel only when the
    /// topic's last instance goes).
    fn subscription(&mut self, pipes: &mut Pipes, subscribe: bool, topic: &[u8]) {
        let forward = if subscribe {
            self.subs.add(topic);
            true
        } else {
            self.subs.rm(topic) || mutant!(CancelOnFirstUnsubscribe)
        };
        if forward {
            // Never dropped for a full pipe, unlike libzmq's: the publisher must know.
            self.dist.send_control(pipes, Msg::subscription(subscribe, topic));
        }
    }

    /// Sends every current subscription into pipe `id` (a new publisher, or a new connection
    /// behind an old pipe).
    fn replay(&mut self, pipes: &mut Pipes, id: PipeId) {
        if mutant!(NoReplayAfterReconnect) {
            return;
        }
        let Some(pipe) = pipes.get_mut(&id) else { return };
        for topic in self.subs.topics() {
            // Past the mark, as every subscription: libzmq drops a replay that finds the pipe
            // full, and the publisher then never learns of the topic.
            let _ = pipe.write_past_hwm(Msg::subscription(true, &topic));
        }
        pipe.flush();
    }

    fn wanted(&self, m: &Msg) -> bool {
        self.subs.matches(m) != self.invert
    }

    /// SUB: the next part the application may see; a message that does not match is read
    /// and dropped whole.
    fn next_part(&mut self, pipes: &mut Pipes) -> Option<Msg> {
        if let Some(m) = self.ahead.take() {
            return Some(m);
        }
        loop {
            let m = self.fq.recv(pipes)?;
            if self.in_message || self.wanted(&m) {
                return Some(m);
            }
            let mut more = m.more();
            while more {
                more = self.fq.recv(pipes).is_some_and(|m| m.more());
            }
        }
    }
}

impl Behaviour for Xsub {
    fn configure(&mut self, o: &SocketOptions) {
        self.invert = o.invert_matching;
    }

    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, _: &PipeInfo) -> bool {
        self.fq.attach(id);
        self.dist.attach(id);
        self.replay(pipes, id);
        true
    }

    fn read_activated(&mut self, _: &mut Pipes, id: PipeId) {
        self.fq.activated(id);
    }

    fn hiccuped(&mut self, pipes: &mut Pipes, id: PipeId) {
        self.replay(pipes, id);
    }

    fn terminated(&mut self, id: PipeId) {
        self.fq.terminated(id);
        self.dist.terminated(id);
    }

    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        if self.is_sub {
            return Err(SendError::NotSupported(msg));
        }
        let first = !self.sending_more;
        self.sending_more = msg.more();
        // A whole single-part `01`/`00` message is a subscription; anything else is sent
        // upstream as it is.
        if first && !msg.more() {
            if let Some(&b) = msg.first().filter(|&&b| b <= 1) {
                self.subscription(pipes, b == 1, &msg[1..]);
                return Ok(());
            }
        }
        if first {
            self.dist.select_all();
        }
        self.dist.send(pipes, msg);
        Ok(())
    }

    fn subscribe(
        &mut self,
        pipes: &mut Pipes,
        subscribe: bool,
        topic: &[u8],
    ) -> Result<(), SendError> {
        if !self.is_sub {
            // libzmq's XSUB takes subscriptions as messages only.
            return Err(SendError::NotSupported(Msg::from(topic)));
        }
        self.subscription(pipes, subscribe, topic);
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Msg, RecvError> {
        let m = if self.is_sub { self.next_part(pipes) } else { self.fq.recv(pipes) };
        let m = m.ok_or(RecvError::WouldBlock)?;
        self.in_message = m.more();
        Ok(m)
    }

    fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        if !self.is_sub {
            return self.fq.has_in(pipes);
        }
        if self.in_message || self.ahead.is_some() {
            return true;
        }
        self.ahead = self.next_part(pipes);
        self.ahead.is_some()
    }

    fn has_out(&mut self, _: &mut Pipes) -> bool {
        // XSUB can always send (a full publisher misses the message); SUB never.
        !self.is_sub
    }
}
