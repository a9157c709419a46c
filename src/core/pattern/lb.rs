//! Load-balancing: each message to the next pipe that can take it (RFC 28 and 30's
//! round-robin).

use super::{ActiveList, Pipes};
use crate::Msg;
use crate::core::PipeId;
use crate::pipe::PipeEnd;

/// Load-balances messages over the pipes that can take them (round-robin).
#[derive(Debug, Default)]
pub struct Lb {
    list: ActiveList,
    /// The pipe a multipart message in progress goes to.
    more: Option<PipeId>,
    /// The pipe of the message in progress died: drop its remaining parts.
    dropping: bool,
    /// The pipe the last complete message went into.
    last: Option<PipeId>,
}

impl Lb {
    /// Adds a pipe, active.
    pub fn attach(&mut self, id: PipeId) {
        self.list.attach(id);
    }

    /// The pipe can take messages again.
    pub fn activated(&mut self, id: PipeId) {
        self.list.activate(id);
    }

    /// The pipe is gone.
    pub fn terminated(&mut self, id: PipeId) {
        self.list.remove(id);
        if self.more == Some(id) {
            self.more = None;
            self.dropping = true;
        }
    }

    /// Sends one message part. `Err` hands the part back: no pipe can take it now.
    #[inline]
    pub fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), Msg> {
        let more = msg.more();
        if self.dropping {
            // The rest of a message whose pipe died mid-way: swallow it (libzmq does too).
            self.dropping = more;
            self.last = None;
            return Ok(());
        }
        let id = match self.more {
            Some(id) => id,
            None => match self.list.next_ready(pipes, PipeEnd::check_write) {
                Some(id) => id,
                None => return Err(msg),
            },
        };
        let pipe = pipes.get_mut(&id).expect("listed pipes exist");
        match pipe.write(msg) {
            Ok(()) => {}
            // Only a pipe that started terminating mid-message refuses a later part.
            Err(_) => {
                self.more = None;
                self.last = None;
                self.dropping = more;
                return Ok(());
            }
        }
        if more {
            self.more = Some(id);
        } else {
            pipe.flush();
            self.more = None;
            self.last = Some(id);
            self.list.advance();
        }
        Ok(())
    }

    /// The pipe the message in progress goes to (after a part with MORE).
    pub fn current(&self) -> Option<PipeId> {
        self.more
    }

    /// The pipe the last complete message went into (`None` if it was dropped).
    pub fn last_pipe(&self) -> Option<PipeId> {
        self.last
    }

    /// Whether a message could be sent now (POLLOUT).
    pub fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.more.is_some()
            || self.dropping
            || self.list.next_ready(pipes, PipeEnd::check_write).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{deliver, pipes};
    use super::*;

    /// PUSH-01: round-robin over pipes with room; a multipart message stays on one pipe.
    #[test]
    fn push01_lb_round_robin_keeps_multipart_together() {
        let (mut ours, mut theirs) = pipes(3, 0);
        let mut lb = Lb::default();
        for i in 0..3 {
            lb.attach(PipeId(i));
        }
        for i in 0..6u8 {
            lb.send(&mut ours, Msg::from([i]).with_more(true)).unwrap();
            lb.send(&mut ours, Msg::from([i])).unwrap();
        }
        for (p, peer) in theirs.iter_mut().enumerate() {
            let got: Vec<u8> = std::iter::from_fn(|| peer.read()).map(|m| m[0]).collect();
            assert_eq!(got, [p as u8, p as u8, p as u8 + 3, p as u8 + 3], "pipe {p}");
        }
    }

    /// PUSH-02 / Q-07: no pipe with room: the message is handed back, never dropped.
    #[test]
    fn push02_lb_blocks_when_every_pipe_is_full() {
        let (mut ours, mut theirs) = pipes(2, 1);
        let mut lb = Lb::default();
        lb.attach(PipeId(0));
        lb.attach(PipeId(1));
        lb.send(&mut ours, Msg::from("a")).unwrap();
        lb.send(&mut ours, Msg::from("b")).unwrap();
        assert!(!lb.has_out(&mut ours));
        assert_eq!(lb.send(&mut ours, Msg::from("c")), Err(Msg::from("c")));
        // Pipe 1's reader drains: credit comes back and the pipe is active again.
        assert_eq!(&theirs[1].read().unwrap()[..], b"b");
        let mine = ours.get_mut(&PipeId(1)).unwrap();
        deliver(&mut theirs[1], mine);
        assert!(mine.poll_event().is_some());
        lb.activated(PipeId(1));
        lb.send(&mut ours, Msg::from("c")).unwrap();
        assert_eq!(&theirs[1].read().unwrap()[..], b"c");
    }

    #[test]
    fn lb_with_no_pipe_hands_the_message_back() {
        let mut lb = Lb::default();
        assert!(lb.send(&mut Pipes::new(), Msg::from("x")).is_err());
    }

    /// A pipe that dies mid-message: the rest of that message is swallowed, the next message
    /// goes to another pipe.
    #[test]
    fn lb_drops_the_rest_of_a_message_whose_pipe_died() {
        let (mut ours, mut theirs) = pipes(2, 0);
        let mut lb = Lb::default();
        lb.attach(PipeId(0));
        lb.attach(PipeId(1));
        // Round-robin starts at pipe 0.
        lb.send(&mut ours, Msg::from("part1").with_more(true)).unwrap();
        let dead = PipeId(0);
        ours.get_mut(&dead).unwrap().terminate(false);
        lb.terminated(dead);
        lb.send(&mut ours, Msg::from("part2")).unwrap();
        lb.send(&mut ours, Msg::from("next")).unwrap();
        assert_eq!(&theirs[1].read().unwrap()[..], b"next");
        assert!(theirs[1].read().is_none());
    }
}
