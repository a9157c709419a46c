//! inproc: two sockets of one context joined by a pipe directly, with no session, engine or
//! stream (T-08 … T-10). Every inproc rule lives here: the per-context name registry, the
//! capacity of a pipe, connects made before the bind (T-09), and the commands
//! sent to a pipe whose binder does not exist yet.

use super::{Route, SocketCmd};
use crate::core::{PipeId, PipeInfo, SocketInput};
use crate::msg::Msg;
use crate::pipe::{Flow, PipeCommand, PipeEnd, Sender, pipe_pair_with};
use crate::{Error, Result, SocketType};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A pipe made by an inproc connect before anyone bound the name.
pub(crate) struct Pending {
    id: PipeId,
    end: PipeEnd<Msg>,
    connector: Sender<SocketCmd>,
    /// The connector's ROUTING_ID, and whether it routes by identity (then the binder tells it
    /// its own id through the pipe).
    routing_id: Bytes,
    connector_routes: bool,
    /// Commands the connector's end sent before the bind.
    early: Vec<PipeCommand>,
}

enum Entry {
    Bound {
        socket: Sender<SocketCmd>,
        socket_id: u64,
        routing_id: Bytes,
        /// The binder's `(out, in)` flows.
        flows: (Flow, Flow),
    },
    Pending(Vec<Pending>),
}

/// A context's inproc names (L-15: two contexts never see each other's).
#[derive(Default)]
pub(crate) struct Names(Mutex<BTreeMap<String, Entry>>);

/// One socket's side of an inproc bind or connect.
pub(crate) struct Me<'a> {
    pub(crate) tx: &'a Sender<SocketCmd>,
    pub(crate) socket_id: u64,
    pub(crate) ty: SocketType,
    pub(crate) routing_id: &'a Bytes,
    /// CONNECT_ROUTING_ID, for a connect.
    pub(crate) connect_routing_id: Option<&'a Bytes>,
    /// `(out, in)`: SNDHWM and RCVHWM, or CONFLATE ([`crate::SocketOptions::flows`]).
    pub(crate) flows: (Flow, Flow),
}

/// Whether a socket of type `ty` routes by identity, so wants to know its peers' ids.
fn routes(ty: SocketType) -> bool {
    matches!(ty, SocketType::Router | SocketType::Rep)
}

/// a pipe's capacity is the sender's SNDHWM plus the receiver's RCVHWM; 0 on either side
/// means no limit. A direction conflates when its writer conflates what it sends or its
/// reader what it receives.
fn capacity(send: Flow, recv: Flow) -> Flow {
    match (send, recv) {
        (Flow::Queue(0), Flow::Queue(_)) | (Flow::Queue(_), Flow::Queue(0)) => Flow::Queue(0),
        (Flow::Queue(sndhwm), Flow::Queue(rcvhwm)) => Flow::Queue(sndhwm + rcvhwm),
        _ => Flow::Conflate,
    }
}

impl Names {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Binds `name` for `me` (T-08: a taken name is [`Error::AddrInUse`]). The connects made
    /// before the bind come back as inputs for the binding socket, in order (T-09); each
    /// connector is told where its pipe's other end now lives.
    pub(crate) fn bind(&self, name: &str, me: &Me<'_>) -> Result<Vec<SocketInput<Route>>> {
        let mut names = self.lock();
        let pending = match names.get(name) {
            Some(Entry::Bound { .. }) => return Err(Error::AddrInUse),
            Some(Entry::Pending(_)) => match names.remove(name) {
                Some(Entry::Pending(list)) => list,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        names.insert(
            name.to_owned(),
            Entry::Bound {
                socket: me.tx.clone(),
                socket_id: me.socket_id,
                routing_id: me.routing_id.clone(),
                flows: me.flows,
            },
        );
        drop(names);
        let mut inputs = Vec::new();
        for mut p in pending {
            let route = Route::Socket(p.connector.clone());
            if p.connector_routes {
                // T-10: the connector learns who bound, as its first item.
                let _ = p.end.write(Msg::routing_id(me.routing_id));
                p.end.flush();
            }
            inputs.push(SocketInput::Attach {
                id: p.id,
                end: Box::new(p.end),
                info: PipeInfo::new(false).with_routing_id(Some(p.routing_id)),
                route,
            });
            inputs.extend(p.early.into_iter().map(|cmd| SocketInput::Pipe(p.id, cmd)));
            p.connector
                .send(SocketCmd::Input(SocketInput::Route(p.id, Route::Socket(me.tx.clone()))));
        }
        Ok(inputs)
    }

    /// Connects `me` to `name` with pipe `id`: the bound socket gets its end at once, or the
    /// end waits for the bind (Q-05: until then the capacity is our SNDHWM alone). Returns the
    /// input for the connecting socket itself.
    pub(crate) fn connect(&self, name: &str, id: PipeId, me: &Me<'_>) -> SocketInput<Route> {
        let mut names = self.lock();
        match names.get_mut(name) {
            Some(Entry::Bound { socket, routing_id, flows, .. }) => {
                let (ours, theirs) =
                    pipe_pair_with(capacity(me.flows.0, flows.1), capacity(flows.0, me.flows.1));
                // T-10: each side knows the other's ROUTING_ID at once (CONNECT_ROUTING_ID
                // wins on the connecting side).
                let info = PipeInfo::new(false).with_routing_id(Some(me.routing_id.clone()));
                let route = Route::Socket(me.tx.clone());
                socket.send(SocketCmd::Input(SocketInput::Attach {
                    id,
                    end: Box::new(theirs),
                    info,
                    route,
                }));
                let route = Route::Socket(socket.clone());
                let theirs = me.connect_routing_id.unwrap_or(routing_id).clone();
                let info = PipeInfo::new(true).with_routing_id(Some(theirs));
                SocketInput::Attach { id, end: Box::new(ours), info, route }
            }
            other => {
                let (ours, theirs) = pipe_pair_with(me.flows.0, me.flows.1);
                let connector_routes = routes(me.ty) && me.connect_routing_id.is_none();
                let pending = Pending {
                    id,
                    end: theirs,
                    connector: me.tx.clone(),
                    routing_id: me.routing_id.clone(),
                    connector_routes,
                    early: Vec::new(),
                };
                match other {
                    Some(Entry::Pending(list)) => list.push(pending),
                    _ => {
                        names.insert(name.to_owned(), Entry::Pending(vec![pending]));
                    }
                }
                let route = Route::InprocPending(name.to_owned());
                let info = PipeInfo::new(true).with_routing_id(me.connect_routing_id.cloned());
                SocketInput::Attach { id, end: Box::new(ours), info, route }
            }
        }
    }

    /// Unbinds `name` (if `owner` is given, only when that socket holds it).
    pub(crate) fn unbind(&self, name: &str, owner: Option<u64>) {
        let mut names = self.lock();
        let held = matches!(names.get(name), Some(Entry::Bound { socket_id, .. })
            if owner.is_none_or(|o| o == *socket_id));
        if held {
            names.remove(name);
        }
    }

    /// A command for pipe `id` whose connect named `name`: to the binder if it exists now, or
    /// kept with the pending pipe until the bind.
    pub(crate) fn send_pending(&self, name: &str, id: PipeId, cmd: PipeCommand) {
        let mut names = self.lock();
        match names.get_mut(name) {
            Some(Entry::Bound { socket, .. }) => {
                socket.send(SocketCmd::Input(SocketInput::Pipe(id, cmd)))
            }
            Some(Entry::Pending(list)) => {
                if let Some(p) = list.iter_mut().find(|p| p.id == id) {
                    p.early.push(cmd);
                }
            }
            None => {}
        }
    }
}
