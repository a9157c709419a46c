//! A minimal blocking driver for one sans-IO `Engine` over a `std::net::TcpStream`, for tests
//! and examples that exercise the engine on a real socket before the runtime exists. Every
//! wait is bounded by a deadline so a broken peer fails the test instead of hanging it.
#![allow(dead_code)]

use ferromq::proto::{CloseReason, Engine, EngineConfig, Event, PeerInfo};
use ferromq::{Msg, Multipart};
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// One engine on one TCP stream.
pub struct Conn {
    pub stream: TcpStream,
    pub engine: Engine,
    pub peer: Option<PeerInfo>,
    pub closed: Option<CloseReason>,
    /// Every byte written to and read from the stream, for tests that check the wire.
    pub wrote: Vec<u8>,
    pub read: Vec<u8>,
    buf: Vec<u8>,
}

impl Conn {
    fn new(stream: TcpStream, cfg: EngineConfig) -> Conn {
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            engine: Engine::new(cfg, Instant::now()),
            peer: None,
            closed: None,
            wrote: Vec::new(),
            read: Vec::new(),
            buf: vec![0; 64 * 1024],
        }
    }

    pub fn connect(addr: impl ToSocketAddrs, cfg: EngineConfig) -> Conn {
        Conn::new(TcpStream::connect(addr).unwrap(), cfg)
    }

    pub fn accept(listener: &TcpListener, cfg: EngineConfig) -> Conn {
        Conn::new(listener.accept().unwrap().0, cfg)
    }

    /// Writes everything the engine has queued, with vectored writes.
    pub fn flush(&mut self) {
        while self.engine.pending_transmit() > 0 {
            let mut iov = [IoSlice::new(&[]); 64];
            let n = self.engine.transmit_chunks(&mut iov);
            match self.stream.write_vectored(&iov[..n]) {
                Ok(w) => {
                    let mut left = w;
                    for c in &iov[..n] {
                        let take = c.len().min(left);
                        self.wrote.extend_from_slice(&c[..take]);
                        left -= take;
                    }
                    self.engine.advance_transmit(w)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return, // the peer is gone; the read side reports it
            }
        }
    }

    /// Runs the engine until it yields an event or `deadline` passes.
    pub fn next_event(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            if let Some(e) = self.engine.poll_event() {
                match &e {
                    Event::Ready(p) => self.peer = Some((**p).clone()),
                    Event::Closed(r) => self.closed = Some(r.clone()),
                    _ => {}
                }
                self.flush();
                return Some(e);
            }
            self.flush();
            if self.closed.is_some() {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let wake = self.engine.poll_timeout().map_or(deadline, |t| t.min(deadline));
            let wait = wake.saturating_duration_since(now).max(Duration::from_millis(1));
            self.stream.set_read_timeout(Some(wait)).unwrap();
            match self.stream.read(&mut self.buf) {
                Ok(0) => self.engine.handle_eof(Instant::now()),
                Ok(n) => {
                    self.read.extend_from_slice(&self.buf[..n]);
                    self.engine.handle_input(Instant::now(), &self.buf[..n])
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => self.engine.handle_eof(Instant::now()),
            }
            self.engine.handle_timeout(Instant::now());
        }
    }

    /// Waits for the handshake.
    pub fn wait_ready(&mut self, timeout: Duration) -> &PeerInfo {
        let deadline = Instant::now() + timeout;
        while self.peer.is_none() {
            match self.next_event(deadline) {
                Some(Event::Ready(_)) => {}
                other => panic!("expected READY, got {other:?} (closed: {:?})", self.closed),
            }
        }
        self.peer.as_ref().unwrap()
    }

    /// Receives one whole multipart message.
    pub fn recv(&mut self, timeout: Duration) -> Multipart {
        let deadline = Instant::now() + timeout;
        let mut parts = Multipart::new();
        loop {
            match self.next_event(deadline) {
                Some(Event::Message(m)) => {
                    let more = m.more();
                    parts.push(m);
                    if !more {
                        return parts;
                    }
                }
                Some(_) => {}
                None => panic!("no message within {timeout:?} (closed: {:?})", self.closed),
            }
        }
    }

    /// Queues and writes a multipart message.
    pub fn send(&mut self, msg: impl Into<Multipart>) {
        for frame in msg.into().into_frames() {
            self.engine.send(frame).expect("engine ready");
        }
        self.flush();
    }

    /// Keeps the connection serviced (PINGs answered, timers run) for `d`; returns the first
    /// event that arrives meanwhile, if any.
    pub fn idle(&mut self, d: Duration) -> Option<Event> {
        self.next_event(Instant::now() + d)
    }

    pub fn send_frame(&mut self, m: Msg) {
        self.engine.send(m).expect("engine ready");
        self.flush();
    }
}
