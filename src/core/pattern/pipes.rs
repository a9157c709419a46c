//! A socket's pipe table.

use crate::Msg;
use crate::core::PipeId;
use crate::pipe::{PipeCommand, PipeEnd};
use std::collections::{BTreeMap, VecDeque};

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
    #[inline]
    pub fn get_mut(&mut self, id: &PipeId) -> Option<&mut PipeEnd<Msg>> {
        let end = self.map.get_mut(id)?;
        // A send or receive touches the same pipe several times: one mark does.
        if self.touched.last() != Some(id) {
            self.touched.push(*id);
        }
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

    /// Moves the commands of every pipe touched since the last call to `out`, in the order
    /// the pipes were touched, and forgets the marks. This runs after every send and receive:
    /// it looks only at the touched pipes and allocates nothing in the steady state.
    #[inline]
    pub fn drain_commands(&mut self, out: &mut VecDeque<(PipeId, PipeCommand)>) {
        for &id in &self.touched {
            let Some(pipe) = self.map.get_mut(&id) else { continue };
            while let Some(cmd) = pipe.poll_command() {
                out.push_back((id, cmd));
            }
        }
        self.touched.clear();
    }
}

impl std::fmt::Debug for Pipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.map.keys()).finish()
    }
}
