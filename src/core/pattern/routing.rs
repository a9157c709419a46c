//! Routing by identity: a ROUTER's (and a REP's) pipes by the routing id of the peer at the
//! other end (RFC 28 §The ROUTER Socket Type; ROUTER-04, ROUTER-05), fair-queued in.
//!
//! A pipe's routing id is known at attach (CONNECT_ROUTING_ID, an inproc peer's ROUTING_ID) or
//! comes as the pipe's first item ([`Msg::routing_id`], written by the connection from the
//! peer's `Identity`). Until then the pipe is anonymous: not read, not routable. An empty id is
//! replaced by a generated one, `00` and a 32-bit counter, as libzmq does. A routing id already
//! in use is refused (the newcomer's pipe is terminated), unless ROUTER_HANDOVER gives it to the
//! newcomer and terminates the old pipe. After a reconnect the connection sends the id again;
//! it is skipped (the peer keeps its first id, as in libzmq).

use super::{Fq, Pipes};
use crate::Msg;
use crate::core::PipeId;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// See the module docs.
#[derive(Debug, Default)]
pub struct Routing {
    fq: Fq,
    by_id: BTreeMap<Bytes, PipeId>,
    ids: BTreeMap<PipeId, Bytes>,
    anonymous: BTreeSet<PipeId>,
    next_id: u32,
    /// ROUTER_HANDOVER.
    pub handover: bool,
}

impl Routing {
    /// Seeds the generated ids (libzmq starts its counter at random).
    pub fn seed(&mut self, seed: u64) {
        self.next_id = seed as u32;
    }

    fn generate(&mut self) -> Bytes {
        loop {
            let mut id = vec![0u8; 5];
            id[1..].copy_from_slice(&self.next_id.to_be_bytes());
            // The planted bug RouterReusesIds: the counter never moves on, so a peer that
            // reconnects gets the id another peer holds.
            if !mutant!(RouterReusesIds) {
                self.next_id = self.next_id.wrapping_add(1);
            }
            let id = Bytes::from(id);
            if mutant!(RouterReusesIds) || !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// A new pipe with the routing id known at attach, if any (empty: generate one). False
    /// when it must be refused (its id is taken and there is no handover).
    pub fn attach(&mut self, pipes: &mut Pipes, id: PipeId, known: Option<&Bytes>) -> bool {
        match known {
            Some(rid) => self.register(pipes, id, rid.clone()),
            None => {
                self.anonymous.insert(id);
                self.identify(pipes, id)
            }
        }
    }

    /// Reads an anonymous pipe's routing id if it has come; false when the pipe was refused.
    fn identify(&mut self, pipes: &mut Pipes, id: PipeId) -> bool {
        let Some(first) = pipes.get_mut(&id).and_then(|p| p.read()) else { return true };
        self.anonymous.remove(&id);
        // A peer whose first item is not an id (only a misbehaving inproc peer could do that)
        // is named by it, as libzmq names it.
        let rid = first.to_bytes();
        self.register(pipes, id, rid)
    }

    fn register(&mut self, pipes: &mut Pipes, id: PipeId, rid: Bytes) -> bool {
        let generated = rid.is_empty();
        let rid = if generated { self.generate() } else { rid };
        let taken =
            self.by_id.get(&rid).copied().filter(|_| !(generated && mutant!(RouterReusesIds)));
        if let Some(old) = taken {
            if !self.handover {
                return false;
            }
            // ROUTER_HANDOVER: the newcomer takes the id; the old pipe gets a generated one
            // until it is gone, and is let go after what it already sent.
            let spare = self.generate();
            self.by_id.insert(spare.clone(), old);
            self.ids.insert(old, spare);
            if let Some(p) = pipes.get_mut(&old) {
                p.terminate(true);
            }
        }
        self.by_id.insert(rid.clone(), id);
        self.ids.insert(id, rid);
        self.fq.attach(id);
        true
    }

    /// Pipe `id` has items again; false when it was anonymous and is now refused.
    pub fn read_activated(&mut self, pipes: &mut Pipes, id: PipeId) -> bool {
        if self.anonymous.contains(&id) {
            return self.identify(pipes, id);
        }
        self.fq.activated(id);
        true
    }

    /// Pipe `id` is gone.
    pub fn terminated(&mut self, id: PipeId) {
        self.anonymous.remove(&id);
        if let Some(rid) = self.ids.remove(&id) {
            if self.by_id.get(&rid) == Some(&id) {
                self.by_id.remove(&rid);
            }
            self.fq.terminated(id);
        }
    }

    /// The pipe of the peer named `rid`.
    pub fn lookup(&self, rid: &[u8]) -> Option<PipeId> {
        self.by_id.get(rid).copied()
    }

    /// The routing id of pipe `id`.
    pub fn id_of(&self, id: PipeId) -> Option<&Bytes> {
        self.ids.get(&id)
    }

    /// The next part from an identified pipe, with the pipe; a routing id sent again after a
    /// reconnect is skipped.
    pub fn recv(&mut self, pipes: &mut Pipes) -> Option<(PipeId, Msg)> {
        loop {
            let (pipe, m) = self.fq.recv_from(pipes)?;
            if !m.is_routing_id() {
                return Some((pipe, m));
            }
        }
    }

    /// True while a multipart message is being received.
    pub fn in_message(&self) -> bool {
        self.fq.in_message()
    }

    /// Whether a part can be received now.
    pub fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        self.fq.has_in(pipes)
    }

    /// The identified pipes.
    pub fn pipes(&self) -> impl Iterator<Item = PipeId> + '_ {
        self.ids.keys().copied()
    }
}
