//! Test harness: two engines back to back over an in-memory stream with virtual time, and a
//! raw-byte mock peer for hostile-input tests.

use crate::proto::{CloseReason, Engine, EngineConfig, Event, PeerInfo};
use crate::{Msg, SocketType};
use std::time::{Duration, Instant};

/// One side of a [`Pair`].
pub struct Side {
    pub engine: Engine,
    pub events: Vec<Event>,
    /// Bytes written by this side, not yet delivered to the other.
    in_flight: Vec<u8>,
}

impl Side {
    fn new(cfg: EngineConfig, now: Instant) -> Side {
        Side { engine: Engine::new(cfg, now), events: Vec::new(), in_flight: Vec::new() }
    }

    pub fn messages(&self) -> Vec<Msg> {
        self.events
            .iter()
            .filter_map(|e| if let Event::Message(m) = e { Some(m.clone()) } else { None })
            .collect()
    }

    pub fn closed(&self) -> Option<&CloseReason> {
        self.events.iter().find_map(|e| if let Event::Closed(r) = e { Some(r) } else { None })
    }

    pub fn peer(&self) -> Option<&PeerInfo> {
        self.events.iter().find_map(|e| if let Event::Ready(p) = e { Some(&**p) } else { None })
    }

    fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Some(e) = self.engine.poll_event() {
            self.events.push(e);
            any = true;
        }
        any
    }
}

/// Two engines wired back to back, in virtual time. `chunk` re-chunks the byte stream: it is
/// given the number of bytes available and returns how many to deliver in one read (≥ 1).
pub struct Pair {
    pub now: Instant,
    pub a: Side,
    pub b: Side,
    pub chunk: Box<dyn FnMut(usize) -> usize>,
    /// Messages sent but not yet accepted by an engine still in its handshake.
    pending_a: Vec<Msg>,
    pending_b: Vec<Msg>,
}

impl Pair {
    pub fn new(a: EngineConfig, b: EngineConfig) -> Pair {
        let now = crate::test_epoch();
        Pair {
            now,
            a: Side::new(a, now),
            b: Side::new(b, now),
            chunk: Box::new(|n| n),
            pending_a: Vec::new(),
            pending_b: Vec::new(),
        }
    }

    pub fn of(a: SocketType, b: SocketType) -> Pair {
        Pair::new(EngineConfig::new(a), EngineConfig::new(b))
    }

    /// Queues a message on side A, sent as soon as its handshake is done.
    pub fn send_a(&mut self, m: impl Into<Msg>) {
        self.pending_a.push(m.into());
    }

    /// Queues a message on side B.
    pub fn send_b(&mut self, m: impl Into<Msg>) {
        self.pending_b.push(m.into());
    }

    /// One round: flush sends, transmit, deliver re-chunked, poll events. Returns whether
    /// anything moved.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        for (side, pending) in
            [(&mut self.a, &mut self.pending_a), (&mut self.b, &mut self.pending_b)]
        {
            if side.engine.is_ready() {
                for m in pending.drain(..) {
                    side.engine.send(m).unwrap();
                }
            }
            moved |= side.engine.poll_transmit(&mut side.in_flight, usize::MAX) > 0;
        }
        moved |= deliver(&mut self.a, &mut self.b, self.now, &mut self.chunk);
        moved |= deliver(&mut self.b, &mut self.a, self.now, &mut self.chunk);
        moved |= self.a.drain_events();
        moved |= self.b.drain_events();
        moved
    }

    /// Steps until nothing moves (bounded: panics if it does not converge).
    pub fn drive(&mut self) {
        for _ in 0..1_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not converge");
    }

    /// Advances virtual time to `now + d`, firing timers on the way, and drives.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [self.a.engine.poll_timeout(), self.b.engine.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|&t| t <= end)
                .min();
            let Some(t) = next else { break };
            self.now = self.now.max(t);
            self.a.engine.handle_timeout(self.now);
            self.b.engine.handle_timeout(self.now);
            self.drive();
        }
        self.now = end;
        self.drive();
    }
}

fn deliver(
    from: &mut Side,
    to: &mut Side,
    now: Instant,
    chunk: &mut dyn FnMut(usize) -> usize,
) -> bool {
    if from.in_flight.is_empty() {
        return false;
    }
    let mut off = 0;
    while off < from.in_flight.len() {
        let n = chunk(from.in_flight.len() - off).clamp(1, from.in_flight.len() - off);
        to.engine.handle_input(now, &from.in_flight[off..off + n]);
        off += n;
        // Decode as we go, as a driver polling after every read would.
        to.drain_events();
    }
    from.in_flight.clear();
    true
}

/// A peer made of raw bytes: feeds exactly what a test writes to one engine.
pub struct Mock {
    pub now: Instant,
    pub engine: Engine,
    pub events: Vec<Event>,
    pub sent: Vec<u8>,
}

impl Mock {
    pub fn new(cfg: EngineConfig) -> Mock {
        let now = crate::test_epoch();
        Mock { now, engine: Engine::new(cfg, now), events: Vec::new(), sent: Vec::new() }
    }

    pub fn of(t: SocketType) -> Mock {
        Mock::new(EngineConfig::new(t))
    }

    /// Feeds bytes, collects events and what the engine wrote.
    pub fn feed(&mut self, bytes: &[u8]) -> &mut Self {
        self.engine.handle_input(self.now, bytes);
        self.collect();
        self
    }

    pub fn collect(&mut self) {
        while let Some(e) = self.engine.poll_event() {
            self.events.push(e);
        }
        self.engine.poll_transmit(&mut self.sent, usize::MAX);
    }

    pub fn closed(&self) -> Option<&CloseReason> {
        self.events.iter().find_map(|e| if let Event::Closed(r) = e { Some(r) } else { None })
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.engine.handle_timeout(self.now);
        self.collect();
    }
}

/// A valid 3.x NULL greeting with the given minor version.
pub fn greeting(minor: u8) -> Vec<u8> {
    let mut g = crate::proto::greeting::Greeting::encode(
        crate::proto::greeting::MechanismName::NULL,
        false,
    )
    .to_vec();
    g[11] = minor;
    g
}

/// A command frame with the given name and data.
pub fn command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let body_len = 1 + name.len() + data.len();
    let mut out = if body_len <= 255 {
        vec![0x04, body_len as u8]
    } else {
        let mut v = vec![0x06];
        v.extend_from_slice(&(body_len as u64).to_be_bytes());
        v
    };
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    out
}

/// A READY command for a socket of type `t` (no identity).
pub fn ready(t: &str) -> Vec<u8> {
    let mut props = vec![11];
    props.extend_from_slice(b"Socket-Type");
    props.extend_from_slice(&(t.len() as u32).to_be_bytes());
    props.extend_from_slice(t.as_bytes());
    command(b"READY", &props)
}
