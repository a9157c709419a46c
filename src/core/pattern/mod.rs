//! The routing strategies socket types are built from, each in its own file:
//!
//! * [`Lb`] load-balances outgoing messages over the pipes that can take them (PUSH, DEALER,
//!   REQ);
//! * [`Fq`] fair-queues incoming messages from the pipes that have some (PULL, DEALER, ROUTER,
//!   REP);
//! * [`Routing`] keeps pipes by the routing id of their peer and fair-queues in from them
//!   (ROUTER, REP);
//! * [`Dist`] sends each message to a chosen set of pipes, dropping it for a full one (PUB,
//!   XPUB, XSUB);
//! * [`Trie`] and [`PipeTrie`] hold subscriptions, a subscriber's and a publisher's;
//! * [`Pipes`] is a socket's pipe table, which the strategies work on.
//!
//! Both strategies keep an ordered list of pipe ids whose front part is the *active* pipes (those
//! that may be written to, or read from, now), as libzmq's `lb_t`/`fq_t` do: deactivating a pipe
//! swaps it behind the active part, so each step is O(1) and round-robin order is kept among the
//! rest. Both only ever touch a pipe between messages, so a multipart message goes whole to, or
//! comes whole from, one pipe (W-11, PUSH-03).

use super::PipeId;
use crate::Msg;
use crate::pipe::PipeEnd;

mod dist;
mod fq;
mod lb;
mod pipes;
mod routing;
mod trie;

pub use dist::Dist;
pub use fq::Fq;
pub use lb::Lb;
pub use pipes::Pipes;
pub use routing::Routing;
pub use trie::{PipeTrie, Removed, Trie};

#[derive(Debug, Default)]
pub(crate) struct ActiveList {
    pub(crate) ids: Vec<PipeId>,
    pub(crate) active: usize,
    pub(crate) current: usize,
}

impl ActiveList {
    pub(crate) fn attach(&mut self, id: PipeId) {
        self.ids.push(id);
        let last = self.ids.len() - 1;
        self.ids.swap(self.active, last);
        self.active += 1;
    }

    pub(crate) fn position(&self, id: PipeId) -> Option<usize> {
        self.ids.iter().position(|&p| p == id)
    }

    pub(crate) fn activate(&mut self, id: PipeId) {
        if let Some(i) = self.position(id) {
            if i >= self.active {
                self.ids.swap(i, self.active);
                self.active += 1;
            }
        }
    }

    pub(crate) fn deactivate_at(&mut self, i: usize) {
        self.active -= 1;
        self.ids.swap(i, self.active);
        if self.current == self.active {
            self.current = 0;
        }
    }

    pub(crate) fn remove(&mut self, id: PipeId) {
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
    #[inline]
    pub(crate) fn next_ready(
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

    #[inline]
    pub(crate) fn advance(&mut self) {
        // `current < active` holds whenever a pipe is active (deactivating keeps it): a
        // compare instead of a division, which was a tenth of a PUSH send's instructions.
        self.current += 1;
        if self.current >= self.active {
            self.current = 0;
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;
    use crate::pipe::{PipeCommand, pipe_pair};

    pub(crate) fn pipes(n: u64, hwm: u64) -> (Pipes, Vec<PipeEnd<Msg>>) {
        let mut ours = Pipes::new();
        let mut theirs = Vec::new();
        for i in 0..n {
            let (a, b) = pipe_pair(hwm, hwm);
            ours.insert(PipeId(i), a);
            theirs.push(b);
        }
        (ours, theirs)
    }

    pub(crate) fn deliver(from: &mut PipeEnd<Msg>, to: &mut PipeEnd<Msg>) -> Vec<PipeCommand> {
        let mut cmds = Vec::new();
        while let Some(c) = from.poll_command() {
            to.handle_command(c);
            cmds.push(c);
        }
        cmds
    }
}
