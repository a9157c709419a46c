//! Fair-queueing: whole messages from each pipe that has some, in turn.

use super::{ActiveList, Pipes};
use crate::Msg;
use crate::core::PipeId;
use crate::pipe::PipeEnd;

/// Fair-queues messages from the pipes that have some (round-robin between messages).
#[derive(Debug, Default)]
pub struct Fq {
    list: ActiveList,
    /// The pipe a multipart message in progress comes from.
    more: Option<PipeId>,
}

impl Fq {
    /// Adds a pipe, active.
    pub fn attach(&mut self, id: PipeId) {
        self.list.attach(id);
    }

    /// The pipe has messages again.
    pub fn activated(&mut self, id: PipeId) {
        self.list.activate(id);
    }

    /// The pipe is gone. A message in progress from it was already delivered in part; its
    /// pipe guarantees the rest was published with it, so this only happens between messages.
    pub fn terminated(&mut self, id: PipeId) {
        self.list.remove(id);
        if self.more == Some(id) {
            self.more = None;
        }
    }

    /// Receives one message part, or `None` when no pipe has one.
    #[inline]
    pub fn recv(&mut self, pipes: &mut Pipes) -> Option<Msg> {
        self.recv_from(pipes).map(|(_, m)| m)
    }

    /// Receives one message part and says which pipe it came from.
    #[inline]
    pub fn recv_from(&mut self, pipes: &mut Pipes) -> Option<(PipeId, Msg)> {
        loop {
            let id = match self.more {
                Some(id) => id,
                None if self.list.active == 0 => return None,
                None => self.list.ids[self.list.current],
            };
            let pipe = pipes.get_mut(&id).expect("listed pipes exist");
            if let Some(m) = pipe.read() {
                if m.more() {
                    self.more = Some(id);
                } else {
                    self.more = None;
                    self.list.advance();
                }
                return Some((id, m));
            }
            // Parts of one message are published together: a message in progress cannot run
            // dry, so this pipe is simply empty (or terminating) between messages.
            self.more = None;
            if let Some(i) = self.list.position(id).filter(|&i| i < self.list.active) {
                self.list.deactivate_at(i);
            }
        }
    }

    /// True while a multipart message is being received (its next part comes from the same
    /// pipe).
    pub fn in_message(&self) -> bool {
        self.more.is_some()
    }

    /// Whether a message part can be received now (POLLIN).
    pub fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.more.is_some() || self.list.next_ready(pipes, PipeEnd::check_read).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{deliver, pipes};
    use super::*;
    use crate::pipe::PipeCommand;

    /// PULL-01: fair-queue across pipes, whole messages at a time.
    #[test]
    fn pull01_fq_alternates_between_pipes_by_message() {
        let (mut ours, mut theirs) = pipes(2, 0);
        let mut fq = Fq::default();
        fq.attach(PipeId(0));
        fq.attach(PipeId(1));
        for (p, peer) in theirs.iter_mut().enumerate() {
            for i in 0..3u8 {
                peer.write(Msg::from([p as u8, i]).with_more(true)).unwrap();
                peer.write(Msg::from([p as u8, i])).unwrap();
            }
            peer.flush();
        }
        let mut got = Vec::new();
        while let Some(m) = fq.recv(&mut ours) {
            got.push((m[0], m[1], m.more()));
        }
        let want: Vec<_> = (0..3u8)
            .flat_map(|i| [(0, i, true), (0, i, false), (1, i, true), (1, i, false)])
            .collect();
        assert_eq!(got, want);
        assert!(!fq.has_in(&mut ours));
    }

    #[test]
    fn fq_reactivated_pipe_is_read_again() {
        let (mut ours, mut theirs) = pipes(1, 0);
        let mut fq = Fq::default();
        fq.attach(PipeId(0));
        assert!(fq.recv(&mut ours).is_none());
        theirs[0].write(Msg::from("late")).unwrap();
        theirs[0].flush();
        let mine = ours.get_mut(&PipeId(0)).unwrap();
        assert_eq!(deliver(&mut theirs[0], mine), [PipeCommand::ActivateRead]);
        assert!(mine.poll_event().is_some());
        fq.activated(PipeId(0));
        assert_eq!(&fq.recv(&mut ours).unwrap()[..], b"late");
    }
}
