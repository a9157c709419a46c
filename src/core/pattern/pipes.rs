//! A socket's pipe table.

use crate::Msg;
use crate::core::PipeId;
use crate::pipe::{PipeCommand, PipeEnd};
use std::collections::VecDeque;

/// The pipes of one socket, by id, remembering which ones an operation touched so that only
/// those are checked for commands to forward.
///
/// Kept sorted by id, so iteration order never depends on a hash seed (DESIGN.md: reproducible
/// runs), with the index of the last pipe looked up: a send or receive looks up one pipe
/// several times, and a socket with one peer always the same one, so most lookups are one
/// compare instead of a tree search. The ends are boxed so that attaching or removing one of
/// many peers moves 16-byte entries.
#[derive(Default)]
pub struct Pipes {
    slots: Vec<(PipeId, Box<PipeEnd<Msg>>)>,
    hint: usize,
    touched: Vec<PipeId>,
}

impl Pipes {
    /// An empty set.
    pub fn new() -> Pipes {
        Pipes::default()
    }

    #[inline(always)]
    fn find(&mut self, id: PipeId) -> Result<usize, usize> {
        if self.slots.get(self.hint).is_some_and(|(p, _)| *p == id) {
            return Ok(self.hint);
        }
        let found = self.slots.binary_search_by_key(&id, |(p, _)| *p);
        if let Ok(i) = found {
            self.hint = i;
        }
        found
    }

    /// Adds a pipe (replacing one with the same id).
    pub fn insert(&mut self, id: PipeId, end: PipeEnd<Msg>) {
        let end = Box::new(end);
        match self.find(id) {
            Ok(i) => self.slots[i].1 = end,
            Err(i) => self.slots.insert(i, (id, end)),
        }
        self.touched.push(id);
    }

    /// Removes a pipe.
    pub fn remove(&mut self, id: PipeId) -> Option<PipeEnd<Msg>> {
        let i = self.find(id).ok()?;
        Some(*self.slots.remove(i).1)
    }

    /// The pipe, marked as touched.
    #[inline]
    pub fn get_mut(&mut self, id: &PipeId) -> Option<&mut PipeEnd<Msg>> {
        let i = self.find(*id).ok()?;
        // A send or receive touches the same pipe several times: one mark does.
        if self.touched.last() != Some(id) {
            self.touched.push(*id);
        }
        Some(&mut self.slots[i].1)
    }

    /// Number of pipes.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there is no pipe.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The ids of every pipe, in order.
    pub fn ids(&self) -> Vec<PipeId> {
        self.slots.iter().map(|(id, _)| *id).collect()
    }

    /// Moves the commands of every pipe touched since the last call to `out`, in the order
    /// the pipes were touched, and forgets the marks. This runs after every send and receive:
    /// it looks only at the touched pipes and allocates nothing in the steady state.
    #[inline(always)]
    pub fn drain_commands(&mut self, out: &mut VecDeque<(PipeId, PipeCommand)>) {
        for t in 0..self.touched.len() {
            let id = self.touched[t];
            let Ok(i) = self.find(id) else { continue };
            let pipe = &mut self.slots[i].1;
            while let Some(cmd) = pipe.poll_command() {
                out.push_back((id, cmd));
            }
        }
        self.touched.clear();
    }
}

impl std::fmt::Debug for Pipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.slots.iter().map(|(id, _)| id)).finish()
    }
}
