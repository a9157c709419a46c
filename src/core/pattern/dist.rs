//! Distribution: one message to many pipes (RFC 29's PUB, XPUB and XSUB).
//!
//! The pipes a message goes to are chosen at its first part; each gets every part (a Msg
//! clone shares a large body, so the body is never copied per subscriber). A pipe at its
//! high-water mark misses that message whole and the others still get it: sending never
//! blocks (PUB-04, XSUB-02), unless the caller asks first with [`Dist::all_have_room`]
//! (XPUB_NODROP, PUB-06).

use super::Pipes;
use crate::Msg;
use crate::core::PipeId;

/// See the module docs.
#[derive(Debug, Default)]
pub struct Dist {
    pipes: Vec<PipeId>,
    /// The pipes the message in progress goes to.
    matching: Vec<PipeId>,
    /// A part with MORE was sent: the next part belongs to the same message.
    more: bool,
}

impl Dist {
    /// Adds a pipe. It takes part from the next message on.
    pub fn attach(&mut self, id: PipeId) {
        self.pipes.push(id);
    }

    /// The pipe is gone.
    pub fn terminated(&mut self, id: PipeId) {
        self.pipes.retain(|&p| p != id);
        self.matching.retain(|&p| p != id);
    }

    /// Every attached pipe.
    pub fn pipes(&self) -> &[PipeId] {
        &self.pipes
    }

    /// True between the parts of a message.
    pub fn in_message(&self) -> bool {
        self.more
    }

    /// Chooses the pipes the next message goes to (call before its first part): `ids` may
    /// name a pipe more than once; unknown ids are ignored.
    pub fn select(&mut self, ids: impl IntoIterator<Item = PipeId>) {
        self.matching.clear();
        self.matching.extend(ids.into_iter().filter(|p| self.pipes.contains(p)));
        self.matching.sort_unstable();
        self.matching.dedup();
    }

    /// Chooses every pipe for the next message.
    pub fn select_all(&mut self) {
        self.matching.clone_from(&self.pipes);
    }

    /// Chooses the pipes *not* in `skip` (INVERT_MATCHING, PUB-07).
    pub fn select_all_but(&mut self, skip: &[PipeId]) {
        self.matching.clear();
        self.matching.extend(self.pipes.iter().filter(|p| !skip.contains(p)));
    }

    /// Whether every chosen pipe can take a message now.
    pub fn all_have_room(&self, pipes: &mut Pipes) -> bool {
        self.matching.iter().all(|id| pipes.get_mut(id).is_some_and(|p| p.check_write()))
    }

    /// Sends a single-part control message (a subscription) to every pipe, past their
    /// high-water marks ([`PipeEnd::write_past_hwm`](crate::pipe::PipeEnd::write_past_hwm)):
    /// it is never dropped for a full pipe. Not between the parts of a message.
    pub fn send_control(&mut self, pipes: &mut Pipes, msg: Msg) {
        debug_assert!(!self.more && !msg.more());
        for id in &self.pipes {
            if let Some(pipe) = pipes.get_mut(id) {
                if pipe.write_past_hwm(msg.clone()).is_ok() {
                    pipe.flush();
                }
            }
        }
    }

    /// Sends one part to the chosen pipes. At the first part a pipe without room is left out
    /// of the whole message (its copy is dropped); returns how many pipes took the part.
    pub fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> usize {
        let more = msg.more();
        let mut took = 0;
        let mut i = 0;
        while i < self.matching.len() {
            let id = self.matching[i];
            let Some(pipe) = pipes.get_mut(&id) else {
                self.matching.swap_remove(i);
                continue;
            };
            // A pipe that took the first part takes the rest (credit is per whole message);
            // only one that started terminating refuses a later part.
            if pipe.write(msg.clone()).is_err() {
                self.matching.swap_remove(i);
                continue;
            }
            if !more {
                pipe.flush();
            }
            took += 1;
            i += 1;
        }
        self.more = more;
        if !more {
            self.matching.clear();
        }
        took
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::pipes;
    use super::*;

    /// PUB-04, W-11: a full pipe misses the message whole, the others get every part.
    #[test]
    fn pub04_a_full_pipe_misses_the_whole_message_alone() {
        let (mut ours, mut theirs) = pipes(2, 1);
        let mut d = Dist::default();
        d.attach(PipeId(0));
        d.attach(PipeId(1));
        d.select_all();
        assert_eq!(d.send(&mut ours, Msg::from("first")), 2);
        // Pipe 1's reader drained, pipe 0's did not: only pipe 1 has room.
        assert_eq!(&theirs[1].read().unwrap()[..], b"first");
        let mine = ours.get_mut(&PipeId(1)).unwrap();
        while let Some(c) = theirs[1].poll_command() {
            mine.handle_command(c);
        }
        d.select_all();
        assert!(!d.all_have_room(&mut ours));
        assert_eq!(d.send(&mut ours, Msg::from("a").with_more(true)), 1);
        assert!(d.in_message());
        assert_eq!(d.send(&mut ours, Msg::from("b")), 1);
        let got: Vec<Msg> = std::iter::from_fn(|| theirs[1].read()).collect();
        assert_eq!(got, vec![Msg::from("a").with_more(true), Msg::from("b")]);
        assert_eq!(&theirs[0].read().unwrap()[..], b"first");
        assert!(theirs[0].read().is_none(), "pipe 0 missed the second message whole");
    }

    /// PUB-07: the inverse selection, and a pipe named twice gets one copy.
    #[test]
    fn pub07_select_all_but_and_duplicates() {
        let (mut ours, mut theirs) = pipes(3, 0);
        let mut d = Dist::default();
        for i in 0..3 {
            d.attach(PipeId(i));
        }
        d.select([PipeId(2), PipeId(2), PipeId(9)]);
        assert_eq!(d.send(&mut ours, Msg::from("x")), 1);
        d.select_all_but(&[PipeId(2)]);
        assert_eq!(d.send(&mut ours, Msg::from("y")), 2);
        assert_eq!(&theirs[2].read().unwrap()[..], b"x");
        assert!(theirs[2].read().is_none());
        assert_eq!(&theirs[0].read().unwrap()[..], b"y");
    }
}
