//! The routing strategies socket patterns are built from: load-balancing out over pipes
//! ([`Lb`]: PUSH, DEALER, REQ) and fair-queueing in from them ([`Fq`]: PULL, DEALER, ROUTER).
//!
//! Both keep an ordered list of pipe ids whose front part is the *active* pipes (those that
//! may be written to, or read from, now), as libzmq's `lb_t`/`fq_t` do: deactivating a pipe
//! swaps it behind the active part, so each step is O(1) and round-robin order is kept among
//! the rest. Both only ever touch a pipe between messages, so a multipart message goes whole
//! to, or comes whole from, one pipe (W-11, PUSH-03).

use super::PipeId;
use crate::Msg;
use crate::pipe::PipeEnd;
use std::collections::BTreeMap;

/// The pipes of one socket, by id, remembering which ones an operation touched so that only
/// those are checked for commands to forward. A `BTreeMap` so that iteration order never
/// depends on a hash seed (DESIGN.md: reproducible runs).
#[derive(Default)]
pub struct Pipes {
    map: BTreeMap<PipeId, PipeEnd<Msg>>,
    touched: Vec<PipeId>,
}

impl Pipes {
    /// An empty set.
    pub fn new() -> Pipes {
        Pipes::default()
    }

    /// Adds a pipe.
    pub fn insert(&mut self, id: PipeId, end: PipeEnd<Msg>) {
        self.map.insert(id, end);
        self.touched.push(id);
    }

    /// Removes a pipe.
    pub fn remove(&mut self, id: PipeId) -> Option<PipeEnd<Msg>> {
        self.map.remove(&id)
    }

    /// The pipe, marked as touched.
    pub fn get_mut(&mut self, id: &PipeId) -> Option<&mut PipeEnd<Msg>> {
        let end = self.map.get_mut(id)?;
        self.touched.push(*id);
        Some(end)
    }

    /// Number of pipes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there is no pipe.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The ids of every pipe, in order.
    pub fn ids(&self) -> Vec<PipeId> {
        self.map.keys().copied().collect()
    }

    /// Moves the pipes touched since the last call (may hold duplicates) into `out`, keeping
    /// both allocations: this runs on every send and receive.
    pub fn take_touched(&mut self, out: &mut Vec<PipeId>) {
        out.clear();
        out.append(&mut self.touched);
    }

    /// Forgets which pipes were touched.
    pub fn clear_touched(&mut self) {
        self.touched.clear();
    }
}

impl std::fmt::Debug for Pipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.map.keys()).finish()
    }
}

#[derive(Debug, Default)]
struct ActiveList {
    ids: Vec<PipeId>,
    active: usize,
    current: usize,
}

impl ActiveList {
    fn attach(&mut self, id: PipeId) {
        self.ids.push(id);
        let last = self.ids.len() - 1;
        self.ids.swap(self.active, last);
        self.active += 1;
    }

    fn position(&self, id: PipeId) -> Option<usize> {
        self.ids.iter().position(|&p| p == id)
    }

    fn activate(&mut self, id: PipeId) {
        if let Some(i) = self.position(id) {
            if i >= self.active {
                self.ids.swap(i, self.active);
                self.active += 1;
            }
        }
    }

    fn deactivate_at(&mut self, i: usize) {
        self.active -= 1;
        self.ids.swap(i, self.active);
        if self.current == self.active {
            self.current = 0;
        }
    }

    fn remove(&mut self, id: PipeId) {
        if let Some(i) = self.position(id) {
            if i < self.active {
                self.deactivate_at(i);
            }
            let i = self.position(id).expect("still listed");
            self.ids.swap_remove(i);
        }
    }

    /// The first active pipe, from the current one on, for which `ready` holds; pipes for
    /// which it does not are deactivated on the way.
    fn next_ready(
        &mut self,
        pipes: &mut Pipes,
        mut ready: impl FnMut(&mut PipeEnd<Msg>) -> bool,
    ) -> Option<PipeId> {
        while self.active > 0 {
            let id = self.ids[self.current];
            if ready(pipes.get_mut(&id).expect("listed pipes exist")) {
                return Some(id);
            }
            self.deactivate_at(self.current);
        }
        None
    }

    fn advance(&mut self) {
        self.current = if self.active == 0 { 0 } else { (self.current + 1) % self.active };
    }
}

/// Load-balances messages over the pipes that can take them (round-robin).
#[derive(Debug, Default)]
pub struct Lb {
    list: ActiveList,
    /// The pipe a multipart message in progress goes to.
    more: Option<PipeId>,
    /// The pipe of the message in progress died: drop its remaining parts.
    dropping: bool,
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
    pub fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), Msg> {
        let more = msg.more();
        if self.dropping {
            // The rest of a message whose pipe died mid-way: swallow it (libzmq does too).
            self.dropping = more;
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
                self.dropping = more;
                return Ok(());
            }
        }
        if more {
            self.more = Some(id);
        } else {
            pipe.flush();
            self.more = None;
            self.list.advance();
        }
        Ok(())
    }

    /// Whether a message could be sent now (POLLOUT).
    pub fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        self.more.is_some()
            || self.dropping
            || self.list.next_ready(pipes, PipeEnd::check_write).is_some()
    }
}

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
    pub fn recv(&mut self, pipes: &mut Pipes) -> Option<Msg> {
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
                return Some(m);
            }
            // Parts of one message are published together: a message in progress cannot run
            // dry, so this pipe is simply empty (or terminating) between messages.
            self.more = None;
            if let Some(i) = self.list.position(id).filter(|&i| i < self.list.active) {
                self.list.deactivate_at(i);
            }
        }
    }

    /// Whether a message part can be received now (POLLIN).
    pub fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.more.is_some() || self.list.next_ready(pipes, PipeEnd::check_read).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::{PipeCommand, pipe_pair};

    fn pipes(n: u64, hwm: u64) -> (Pipes, Vec<PipeEnd<Msg>>) {
        let mut ours = Pipes::new();
        let mut theirs = Vec::new();
        for i in 0..n {
            let (a, b) = pipe_pair(hwm, hwm);
            ours.insert(PipeId(i), a);
            theirs.push(b);
        }
        (ours, theirs)
    }

    fn deliver(from: &mut PipeEnd<Msg>, to: &mut PipeEnd<Msg>) -> Vec<PipeCommand> {
        let mut cmds = Vec::new();
        while let Some(c) = from.poll_command() {
            to.handle_command(c);
            cmds.push(c);
        }
        cmds
    }

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
