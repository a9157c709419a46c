//! The invariant checker. It sees the run only from outside the stack: what applications
//! handed to `send` and got from `recv`, the bytes each connection delivered (read with its
//! own ZMTP reader), which connections came up and broke, which pipes the glue attached, and
//! the faults injected. From that it checks DESIGN.md's invariants:
//!
//! * no message is duplicated, corrupted or delivered to a peer it was not meant for;
//! * per connection (so per pipe) order is kept, on the wire and at the application, and a
//!   multipart message arrives whole or not at all;
//! * a message is lost only where the checker can name why: a connection of its sending
//!   socket broke after it was sent; it went into a pipe whose accepted peer had already gone;
//!   its sender crashed; or its sender closed while not fully connected or while faults made
//!   linger run out. With no faults nothing is lost;
//! * a sending socket with no connection up accepts no more than its pipes' high-water marks;
//! * after the faults stop, every connect side is connected again within the backoff bound;
//! * every socket's close finishes within linger (plus slack), and nothing is left running.

use crate::payload::{self, MsgId};
use crate::wire::{WireEvent, WireReader};
use ferromq::Msg;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

/// An invariant that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Simulated time at which it was seen.
    pub at: Duration,
    /// What went wrong.
    pub what: String,
}

#[derive(Debug)]
struct Closed {
    event: u64,
    at: Duration,
    linger: Duration,
    fully_connected: bool,
    finished: bool,
}

#[derive(Debug)]
struct Sock {
    host: String,
    role: String,
    sndhwm: u64,
    live: u32,
    last_break: u64,
    /// Linger ran out with bytes still unsent.
    linger_cut: bool,
    died: Option<u64>,
    closed: Option<Closed>,
    pipes: u32,
    doomed: u32,
    /// Messages accepted while no connection was up, and the most pipes in that window.
    window: Option<(u64, u32)>,
    next_seq: u64,
}

#[derive(Debug)]
struct Sent {
    event: u64,
    at: Duration,
    at_risk: bool,
    received: bool,
}

#[derive(Debug)]
struct Wire {
    receiver: u32,
    reader: WireReader,
    msgs: u32,
    delivered: u32,
    last: Option<MsgId>,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Checker {
    socks: Vec<Sock>,
    sent: BTreeMap<MsgId, Sent>,
    wires: BTreeMap<u64, Wire>,
    on_wire: BTreeMap<MsgId, (u64, u32)>,
    edges: BTreeSet<(String, String)>,
    /// Connect sessions: (socket, session key) → connected.
    connects: BTreeMap<(u32, u64), bool>,
    /// Outgoing bytes per connection, read for which messages went out where.
    outgoing: BTreeMap<u64, WireReader>,
    /// The first connection each message was written to.
    written_on: BTreeMap<MsgId, u64>,
    /// Connection → (its socket, local address, peer address); and the reverse lookup.
    conns: BTreeMap<u64, (u32, SocketAddr, SocketAddr)>,
    by_addr: BTreeMap<(SocketAddr, SocketAddr), u64>,
    /// Connections that broke (not closed locally), with the event number.
    broken: BTreeMap<u64, u64>,
    /// Receivers may leave (close) until then; a later close must find nothing in flight.
    leave_until: Duration,
    /// Fault windows (start, end) in simulated time.
    faults: Vec<(Duration, Duration)>,
    violations: Vec<Violation>,
    checks: u64,
    event: u64,
    now: Duration,
    scratch: Vec<WireEvent>,
}

impl Checker {
    fn tick(&mut self) -> u64 {
        self.event += 1;
        self.checks += 1;
        self.event
    }

    pub(crate) fn fail(&mut self, what: String) {
        self.violations.push(Violation { at: self.now, what });
    }

    pub(crate) fn set_leave_until(&mut self, t: Duration) {
        self.leave_until = t;
    }

    /// Connection `conn` of socket `sock` runs from `local` to `peer`.
    pub(crate) fn conn_info(&mut self, conn: u64, sock: u32, local: SocketAddr, peer: SocketAddr) {
        self.conns.insert(conn, (sock, local, peer));
        self.by_addr.insert((local, peer), conn);
    }

    /// The far end of connection `conn`.
    fn far_conn(&self, conn: u64) -> Option<u64> {
        let &(_, local, peer) = self.conns.get(&conn)?;
        self.by_addr.get(&(peer, local)).copied()
    }

    /// The socket at the far end of connection `conn`.
    fn far_socket(&self, conn: u64) -> Option<u32> {
        Some(self.conns.get(&self.far_conn(conn)?)?.0)
    }

    /// A connection ended; `broke` unless it was closed locally.
    pub(crate) fn conn_ended(&mut self, conn: u64, broke: bool) {
        let ev = self.tick();
        if broke {
            self.broken.insert(conn, ev);
        }
    }

    /// Message `id`, sent at event `sent`, went out on a connection that then broke at
    /// either end.
    fn lost_with_its_connection(&self, id: &MsgId, sent: u64) -> bool {
        let Some(&c) = self.written_on.get(id) else { return false };
        [Some(c), self.far_conn(c)]
            .into_iter()
            .flatten()
            .any(|c| self.broken.get(&c).is_some_and(|&ev| ev > sent))
    }

    /// Bytes socket's connection `conn` wrote, in order.
    pub(crate) fn wire_out(&mut self, conn: u64, data: &[u8]) {
        let mut events = std::mem::take(&mut self.scratch);
        self.outgoing.entry(conn).or_default().feed(data, &mut events);
        for e in events.drain(..) {
            if let WireEvent::Message(id) = e {
                self.written_on.entry(id).or_insert(conn);
            }
        }
        self.scratch = events;
    }

    pub(crate) fn set_now(&mut self, now: Duration) {
        self.now = now;
    }

    /// Invariant checks made so far.
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// The violations seen so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Lets sockets of role `from` deliver to sockets of role `to`.
    pub fn allow(&mut self, from: &str, to: &str) {
        self.edges.insert((from.to_owned(), to.to_owned()));
    }

    /// Records a fault window: losses whose linger overlapped it are excused.
    pub fn fault_window(&mut self, start: Duration, end: Duration) {
        self.faults.push((start, end));
    }

    pub(crate) fn register_socket(&mut self, host: &str, role: &str, sndhwm: u64) -> u32 {
        self.socks.push(Sock {
            host: host.to_owned(),
            role: role.to_owned(),
            sndhwm,
            live: 0,
            last_break: 0,
            linger_cut: false,
            died: None,
            closed: None,
            pipes: 0,
            doomed: 0,
            window: Some((0, 0)),
            next_seq: 0,
        });
        (self.socks.len() - 1) as u32
    }

    pub(crate) fn describe(&self, sock: u32) -> String {
        let s = &self.socks[sock as usize];
        format!("socket s{sock} ({} on {})", s.role, s.host)
    }

    pub(crate) fn next_seq(&mut self, sock: u32) -> u64 {
        let s = &mut self.socks[sock as usize];
        s.next_seq += 1;
        s.next_seq - 1
    }

    pub(crate) fn is_at_risk(&self, sock: u32) -> bool {
        self.socks[sock as usize].doomed > 0
    }

    pub(crate) fn pipe_attached(&mut self, sock: u32) {
        let s = &mut self.socks[sock as usize];
        s.pipes += 1;
        if let Some((_, max)) = s.window.as_mut() {
            *max = (*max).max(s.pipes);
        }
    }

    pub(crate) fn pipe_gone(&mut self, sock: u32, doomed: bool) {
        let s = &mut self.socks[sock as usize];
        s.pipes -= 1;
        if doomed {
            s.doomed -= 1;
        }
    }

    pub(crate) fn pipe_doomed(&mut self, sock: u32) {
        self.socks[sock as usize].doomed += 1;
    }

    pub(crate) fn conn_up(&mut self, sock: u32) {
        let s = &mut self.socks[sock as usize];
        s.live += 1;
        s.window = None;
    }

    pub(crate) fn conn_down(&mut self, sock: u32, broke: bool) {
        let ev = self.tick();
        let s = &mut self.socks[sock as usize];
        s.live -= 1;
        if broke {
            s.last_break = ev;
        }
        if s.live == 0 {
            s.window = Some((0, s.pipes));
        }
    }

    /// A connection of `sock` failed after its session had let it go (a reset while the
    /// last bytes were flushed).
    pub(crate) fn socket_break(&mut self, sock: u32) {
        let ev = self.tick();
        self.socks[sock as usize].last_break = ev;
    }

    /// Linger ran out before a closing connection of `sock` had written everything.
    pub(crate) fn linger_cut(&mut self, sock: u32) {
        self.socks[sock as usize].linger_cut = true;
    }

    pub(crate) fn connect_session(&mut self, sock: u32, key: u64, state: Option<bool>) {
        match state {
            Some(up) => self.connects.insert((sock, key), up),
            None => self.connects.remove(&(sock, key)),
        };
    }

    /// A message was accepted whole by socket `sock`.
    pub(crate) fn sent(&mut self, id: MsgId, at_risk: bool) {
        let ev = self.tick();
        let now = self.now;
        self.sent.insert(id, Sent { event: ev, at: now, at_risk, received: false });
        let desc = self.describe(id.sender);
        let s = &mut self.socks[id.sender as usize];
        if let Some((count, pipes)) = s.window.as_mut() {
            *count += 1;
            let bound = u64::from(*pipes) * s.sndhwm;
            if s.sndhwm > 0 && *count > bound {
                let (count, pipes, hwm) = (*count, *pipes, s.sndhwm);
                self.fail(format!(
                    "high-water mark exceeded: {desc} accepted {count} messages while no \
                     connection was up, but its {pipes} pipe(s) hold at most {hwm} each"
                ));
            }
        }
    }

    /// Bytes connection `conn` delivered to socket `receiver`, in order.
    pub(crate) fn wire(&mut self, conn: u64, receiver: u32, data: &[u8]) {
        let mut events = std::mem::take(&mut self.scratch);
        let w = self.wires.entry(conn).or_insert_with(|| Wire {
            receiver,
            reader: WireReader::default(),
            msgs: 0,
            delivered: 0,
            last: None,
        });
        w.reader.feed(data, &mut events);
        for e in events.drain(..) {
            self.checks += 1;
            match e {
                WireEvent::Broken(what) => self.fail(format!("connection c{conn}: {what}")),
                WireEvent::Message(id) => {
                    let w = self.wires.get_mut(&conn).expect("just inserted");
                    let pos = w.msgs;
                    w.msgs += 1;
                    let prev = w.last.replace(id);
                    if let Some(p) = prev.filter(|p| p.sender == id.sender && p.seq >= id.seq) {
                        self.fail(format!(
                            "order broken on connection c{conn}: {id} came after {p} from the \
                             same socket"
                        ));
                    }
                    if let Some((c, _)) = self.on_wire.insert(id, (conn, pos)) {
                        self.fail(format!("{id} crossed the wire twice (c{c}, then c{conn})"));
                    }
                }
            }
        }
        self.scratch = events;
    }

    /// Socket `sock`'s application received a whole message.
    pub(crate) fn received(&mut self, sock: u32, parts: &[Msg]) -> Option<MsgId> {
        self.tick();
        let who = self.describe(sock);
        let mut id = None;
        for (i, p) in parts.iter().enumerate() {
            let h = match payload::parse(p) {
                Ok(h) => h,
                Err(e) => {
                    self.fail(format!("{who} received a bad part: {e}"));
                    return None;
                }
            };
            let first = *id.get_or_insert(h.id);
            if h.id != first || usize::from(h.index) != i || usize::from(h.count) != parts.len() {
                self.fail(format!(
                    "{who} received a broken multipart message: part {}/{} of {} at position \
                     {i} of {} (first part from {first})",
                    h.index,
                    h.count,
                    h.id,
                    parts.len()
                ));
                return None;
            }
        }
        let id = id?;
        let sender = self.describe(id.sender);
        let Some(sent) = self.sent.get_mut(&id) else {
            self.fail(format!("{who} received {id}, which {sender} never sent"));
            return None;
        };
        if std::mem::replace(&mut sent.received, true) {
            self.fail(format!("{who} received {id} twice"));
            return None;
        }
        let from_role = &self.socks[id.sender as usize].role;
        let to_role = &self.socks[sock as usize].role;
        if !self.edges.contains(&(from_role.clone(), to_role.clone())) {
            self.fail(format!("{who} received {id} from {sender}: not a peer it may hear"));
        }
        match self.on_wire.get(&id).copied() {
            None => self.fail(format!("{who} received {id}, which no connection delivered")),
            Some((conn, pos)) => {
                let w = self.wires.get_mut(&conn).expect("wire of a known message");
                let (receiver, due) = (w.receiver, w.delivered);
                if receiver != sock {
                    self.fail(format!("{id} crossed c{conn} to s{receiver} but {who} got it"));
                } else if pos != due {
                    let have = pos;
                    self.fail(format!(
                        "{who} received {id}, message {have} of connection c{conn}, while \
                         message {due} of that connection was never received: lost or \
                         reordered after it crossed the wire"
                    ));
                } else {
                    w.delivered += 1;
                }
            }
        }
        Some(id)
    }

    pub(crate) fn socket_closed(&mut self, sock: u32, linger: Duration, fully_connected: bool) {
        let ev = self.tick();
        let at = self.now;
        self.socks[sock as usize].closed =
            Some(Closed { event: ev, at, linger, fully_connected, finished: false });
    }

    pub(crate) fn close_finished(&mut self, sock: u32) {
        let now = self.now;
        let s = &mut self.socks[sock as usize];
        if let Some(c) = s.closed.as_mut() {
            c.finished = true;
            // Linger ran out: what was still queued was dropped, as LINGER allows.
            if now + Duration::from_millis(2) >= c.at + c.linger {
                s.linger_cut = true;
            }
        }
    }

    /// The host of these sockets crashed.
    pub(crate) fn host_crashed(&mut self, host: &str) {
        let ev = self.tick();
        for (i, s) in self.socks.iter_mut().enumerate() {
            if s.host == host && s.died.is_none() {
                s.died = Some(ev);
                self.connects.retain(|&(sock, _), _| sock != i as u32);
            }
        }
    }

    /// Every connect side of a live socket must be connected (after the quiet period).
    pub(crate) fn check_reconnected(&mut self, bound: Duration) {
        let missing: Vec<u32> = self
            .connects
            .iter()
            .filter(|&(&(sock, _), &up)| {
                let s = &self.socks[sock as usize];
                !up && s.closed.is_none() && s.died.is_none()
            })
            .map(|(&(sock, _), _)| sock)
            .collect();
        self.checks += self.connects.len() as u64;
        for sock in missing {
            let who = self.describe(sock);
            self.fail(format!(
                "{who} has a connect side still down {} ms after the faults stopped",
                bound.as_millis()
            ));
        }
    }

    /// Closes must finish within linger plus `slack`.
    pub(crate) fn check_closes(&mut self, slack: Duration) {
        let now = self.now;
        let late: Vec<u32> = (0..self.socks.len() as u32)
            .filter(|&i| {
                let s = &self.socks[i as usize];
                s.died.is_none()
                    && s.closed
                        .as_ref()
                        .is_some_and(|c| !c.finished && c.at + c.linger + slack < now)
            })
            .collect();
        for sock in late {
            let who = self.describe(sock);
            let c = self.socks[sock as usize].closed.as_mut().expect("closed");
            // Reported once: count it as finished from here on.
            c.finished = true;
            let linger = c.linger.as_millis();
            self.fail(format!("{who}: close did not finish within linger {linger} ms + slack"));
        }
    }

    /// End of the run: every socket closed, and every message received or excused.
    pub(crate) fn finish(&mut self) {
        for i in 0..self.socks.len() as u32 {
            let s = &self.socks[i as usize];
            self.checks += 1;
            if s.died.is_none() && !s.closed.as_ref().is_some_and(|c| c.finished) {
                let who = self.describe(i);
                self.fail(format!("{who} did not finish closing by the end of the run"));
            }
        }
        let mut lost = Vec::new();
        for (id, m) in &self.sent {
            self.checks += 1;
            if m.received || m.at_risk {
                continue;
            }
            let s = &self.socks[id.sender as usize];
            let broke = s.last_break > m.event;
            let died = s.died.is_some_and(|d| d > m.event);
            let closed_early = s.closed.as_ref().is_some_and(|c| {
                c.event > m.event
                    && (!c.fully_connected
                        // Linger may run out on a faulty link, not on a healthy one.
                        || (s.linger_cut && c.at < self.leave_until)
                        || self
                            .faults
                            .iter()
                            .any(|&(a, b)| a <= c.at + c.linger && b >= c.at))
            });
            // It went out on a connection whose receiver then left (closed while receivers may
            // come and go, or crashed): what it had not read went with it.
            let receiver_left =
                self.written_on.get(id).and_then(|&c| self.far_socket(c)).is_some_and(|r| {
                    let r = &self.socks[r as usize];
                    r.died.is_some_and(|d| d > m.event)
                        || r.closed
                            .as_ref()
                            .is_some_and(|c| c.event > m.event && c.at < self.leave_until)
                });
            let connection_broke = self.lost_with_its_connection(id, m.event);
            if !(broke || died || closed_early || receiver_left || connection_broke) {
                lost.push((*id, m.at));
            }
        }
        let total = lost.len();
        for (id, at) in lost.into_iter().take(5) {
            let who = self.describe(id.sender);
            let ms = at.as_millis();
            self.fail(format!(
                "{id} from {who}, sent at {}.{:03} s, was never received, and nothing excuses \
                 it: no connection of its socket broke after it was sent, its pipe's peer was \
                 alive, and its socket did not close early ({total} such message(s) in all)",
                ms / 1000,
                ms % 1000
            ));
        }
    }
}
