//! Session tests: socket core ↔ session ↔ (in-memory stream) ↔ remote engine.

use super::*;
use crate::SocketType;
use crate::core::{RecvError, SocketCore};
use crate::proto::EngineConfig;

/// The socket side, the session, and a remote peer engine.
struct Rig {
    now: Instant,
    socket: SocketCore,
    session: Session,
    peer: Option<Engine>,
    peer_events: Vec<Event>,
    disconnects: Vec<(CloseReason, bool)>,
    terminated: bool,
    /// Closed engines the session let go, with what they still owed the peer.
    flushed: Vec<Engine>,
}

impl Rig {
    fn new(ours: SocketType, cfg: SessionConfig) -> Rig {
        let mut r = Rig {
            now: crate::test_epoch(),
            socket: SocketCore::new(ours).unwrap(),
            session: Session::new(cfg, PipeId(1)),
            peer: None,
            peer_events: Vec::new(),
            disconnects: Vec::new(),
            terminated: false,
            flushed: Vec::new(),
        };
        r.settle();
        r
    }

    fn cfg(connect: bool) -> SessionConfig {
        SessionConfig::from_options(&crate::SocketOptions::default(), connect)
    }

    /// A new connection: our engine into the session, a peer engine of type `peer`.
    fn connect(&mut self, ours: SocketType, peer: SocketType) {
        self.peer = Some(Engine::new(EngineConfig::new(peer), self.now));
        self.peer_events.clear();
        self.session.attach_engine(self.now, Engine::new(EngineConfig::new(ours), self.now));
        self.settle();
    }

    /// Breaks the connection (the peer's side vanishes; the session sees EOF).
    fn break_connection(&mut self) {
        self.peer = None;
        self.session.handle_eof(self.now);
        self.settle();
    }

    /// Moves everything until quiet: bytes both ways, pipe commands both ways, actions.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(a) = self.session.poll_action() {
                moved = true;
                match a {
                    SessionAction::AttachPipe { id, end, info } => {
                        self.socket.attach_pipe(id, end, info)
                    }
                    SessionAction::PipeCommand(id, c) => self.socket.handle_pipe_command(id, c),
                    SessionAction::Disconnected { reason, reconnect } => {
                        // The connection takes the closed engine (and flushes it).
                        self.flushed.extend(self.session.take_closed_engine());
                        self.disconnects.push((reason, reconnect))
                    }
                    SessionAction::Terminated => self.terminated = true,
                    SessionAction::HandshakeSucceeded(_) => {}
                }
            }
            while let Some((_, c)) = self.socket.poll_command() {
                moved = true;
                self.session.handle_pipe_command(self.now, c);
            }
            if let Some(peer) = self.peer.as_mut() {
                // Session → peer.
                let mut buf = Vec::new();
                {
                    let mut iov = [IoSlice::new(&[]); 16];
                    let n = self.session.transmit_chunks(&mut iov);
                    for s in &iov[..n] {
                        buf.extend_from_slice(s);
                    }
                }
                if !buf.is_empty() {
                    moved = true;
                    self.session.advance_transmit(self.now, buf.len());
                    peer.handle_input(self.now, &buf);
                }
                // What a closed engine still owed, as the connection flushes it.
                for e in &mut self.flushed {
                    let mut out = Vec::new();
                    if e.poll_transmit(&mut out, usize::MAX) > 0 {
                        moved = true;
                        peer.handle_input(self.now, &out);
                    }
                }
                while let Some(e) = peer.poll_event() {
                    moved = true;
                    self.peer_events.push(e);
                }
                // Peer → session, only while the session wants input (back-pressure).
                if self.session.wants_input() {
                    let mut out = Vec::new();
                    peer.poll_transmit(&mut out, 4096);
                    if !out.is_empty() {
                        moved = true;
                        self.session.handle_input(self.now, &out);
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("rig did not settle");
    }

    fn peer_send(&mut self, m: Msg) {
        self.peer.as_mut().unwrap().send(m).unwrap();
        self.settle();
    }

    fn peer_messages(&self) -> Vec<Msg> {
        self.peer_events
            .iter()
            .filter_map(|e| if let Event::Message(m) = e { Some(m.clone()) } else { None })
            .collect()
    }

    fn recv_all(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        while let Ok(m) = self.socket.recv() {
            out.push(m);
        }
        self.settle();
        out
    }
}

/// L-01, L-02, Q-06: on the connect side the pipe exists before the connection; messages
/// queue and flow, in order, once it is up.
#[test]
fn l02_connect_side_queues_before_the_connection() {
    let mut r = Rig::new(SocketType::Push, Rig::cfg(true));
    for i in 0..3u8 {
        r.socket.send(Msg::from([i])).unwrap();
    }
    r.settle();
    r.connect(SocketType::Push, SocketType::Pull);
    let got: Vec<u8> = r.peer_messages().iter().map(|m| m[0]).collect();
    assert_eq!(got, [0, 1, 2]);
}

/// the pipe survives a reconnect; messages sent while disconnected flow on the next
/// connection; the driver is asked to reconnect.
#[test]
fn q06_queued_messages_survive_a_reconnect() {
    let mut r = Rig::new(SocketType::Push, Rig::cfg(true));
    r.connect(SocketType::Push, SocketType::Pull);
    r.socket.send(Msg::from("before")).unwrap();
    r.settle();
    r.break_connection();
    assert_eq!(r.disconnects, [(CloseReason::PeerClosed, true)]);
    r.socket.send(Msg::from("during")).unwrap();
    r.settle();
    r.connect(SocketType::Push, SocketType::Pull);
    assert_eq!(r.peer_messages(), [Msg::from("during")]);
    assert!(!r.terminated);
}

/// PUSH-04, PULL-02, Q-06: on the accept side the pipe is made at the handshake and dies with
/// the connection.
#[test]
fn pull02_accept_side_pipe_dies_with_its_connection() {
    let mut r = Rig::new(SocketType::Pull, Rig::cfg(false));
    assert_eq!(r.socket.pipe_count(), 0, "no pipe before the handshake");
    r.connect(SocketType::Pull, SocketType::Push);
    assert_eq!(r.socket.pipe_count(), 1);
    r.peer_send(Msg::from("a"));
    r.break_connection();
    // What had arrived is still delivered; then the pipe and the session are gone.
    assert_eq!(r.recv_all(), [Msg::from("a")]);
    assert_eq!(r.socket.pipe_count(), 0);
    assert!(r.terminated);
    assert_eq!(r.disconnects, [(CloseReason::PeerClosed, false)]);
}

/// W-11: a multipart message cut by a broken connection never reaches the socket in part.
#[test]
fn w11_inbound_partial_message_is_rolled_back() {
    let mut r = Rig::new(SocketType::Pull, Rig::cfg(true));
    r.connect(SocketType::Pull, SocketType::Push);
    r.peer_send(Msg::from("whole"));
    r.peer_send(Msg::from("part-1").with_more(true));
    r.break_connection();
    assert_eq!(r.recv_all(), [Msg::from("whole")]);
    r.connect(SocketType::Pull, SocketType::Push);
    r.peer_send(Msg::from("next"));
    assert_eq!(r.recv_all(), [Msg::from("next")]);
}

/// W-11: the rest of an outbound message whose first parts went to a dead connection is
/// discarded, never sent truncated on the next connection. The engine's output backlog is
/// what makes a split possible: parts move from the pipe into the engine in batches, so a
/// large message can be half in the engine when the connection dies.
#[test]
fn w11_outbound_message_split_at_a_reconnect_is_not_resent_in_part() {
    let mut r = Rig::new(SocketType::Push, Rig::cfg(true));
    r.connect(SocketType::Push, SocketType::Pull);
    // Stop the peer from reading, so the session's engine backlog fills to OUT_BACKLOG.
    let peer = r.peer.take();
    let big = vec![7u8; OUT_BACKLOG];
    r.socket.send(Msg::from(big.clone()).with_more(true)).unwrap();
    r.socket.send(Msg::from(big).with_more(true)).unwrap();
    r.socket.send(Msg::from("tail")).unwrap();
    r.settle();
    drop(peer);
    // Part 1 is in the dead engine's backlog; parts 2 and 3 are still in the pipe.
    r.session.handle_eof(r.now);
    r.settle();
    r.socket.send(Msg::from("next")).unwrap();
    r.connect(SocketType::Push, SocketType::Pull);
    assert_eq!(r.peer_messages(), [Msg::from("next")], "no orphan parts on the new connection");
}

/// The output backlog is bounded two ways: bytes copied into the engine (small bodies) stop
/// at `OUT_BATCH`, and large bodies queued by reference at `OUT_BACKLOG` in all, so a stalled
/// peer holds at most that much (and one message more) per connection.
#[test]
fn output_backlog_stops_at_the_batch_for_copies_and_at_the_backlog_for_shared_bodies() {
    for (size, bound) in [(1024, OUT_BATCH), (40_000, OUT_BACKLOG)] {
        let mut r = Rig::new(SocketType::Push, Rig::cfg(true));
        r.connect(SocketType::Push, SocketType::Pull);
        let peer = r.peer.take();
        for _ in 0..(4 * OUT_BACKLOG / size) {
            r.socket.send(Msg::from(vec![7u8; size])).unwrap();
        }
        r.settle();
        let held = r.session.pending_transmit();
        assert!(
            (bound..bound + size + 9).contains(&held),
            "{size} B messages: {held} bytes in the backlog, bound {bound}"
        );
        r.peer = peer;
        r.settle();
        assert_eq!(r.peer_messages().len(), 4 * OUT_BACKLOG / size, "all delivered once it reads");
    }
}

/// Back-pressure: while the pipe to the socket is full, the session stops taking input;
/// once the socket reads, traffic resumes and nothing is lost.
#[test]
fn full_pipe_stops_input_until_the_socket_reads() {
    let mut cfg = Rig::cfg(true);
    cfg.flows.1 = crate::pipe::Flow::Queue(10);
    let mut r = Rig::new(SocketType::Pull, cfg);
    r.connect(SocketType::Pull, SocketType::Push);
    for i in 0..100u8 {
        r.peer.as_mut().unwrap().send(Msg::from([i])).unwrap();
    }
    r.settle();
    assert!(!r.session.wants_input(), "the pipe is full");
    let mut got = Vec::new();
    while got.len() < 100 {
        let batch = r.recv_all();
        assert!(!batch.is_empty(), "stalled at {}", got.len());
        got.extend(batch.iter().map(|m| m[0]));
    }
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert_eq!(r.socket.recv(), Err(RecvError::WouldBlock));
}

/// L-07: closing the socket with linger drains queued messages to the peer, then the
/// session finishes and tells the driver to drop the connection.
#[test]
fn l07_close_with_linger_drains_then_terminates() {
    let mut r = Rig::new(SocketType::Push, Rig::cfg(true));
    for i in 0..5u8 {
        r.socket.send(Msg::from([i])).unwrap();
    }
    r.socket.close();
    r.settle();
    assert!(!r.terminated, "nothing drained yet: no connection");
    r.connect(SocketType::Push, SocketType::Pull);
    assert_eq!(r.peer_messages().len(), 5);
    assert!(r.terminated);
    assert!(r.socket.is_closed());
    assert_eq!(r.disconnects, [(CloseReason::Local, false)]);
}

/// L-07, as libzmq's session does while it lingers: a connect side closed with no connection
/// keeps its queue and wants a connection; one made later delivers what was queued, then the
/// session finishes.
#[test]
fn l07_close_without_connection_keeps_reconnecting_within_linger() {
    let mut r = Rig::new(SocketType::Push, Rig::cfg(true));
    r.socket.send(Msg::from("kept")).unwrap();
    r.socket.close();
    r.session.terminate(r.now, false);
    r.settle();
    assert!(!r.terminated, "linger is forever: the queue waits for a connection");
    r.connect(SocketType::Push, SocketType::Pull);
    assert_eq!(r.peer_messages(), [Msg::from("kept")]);
    assert!(r.terminated);
    assert!(r.socket.is_closed());
}

/// L-06: a peer that broke the protocol is not retried: the connect side gives up and its
/// queue goes with it; a broken stream (EOF) is retried.
#[test]
fn l06_protocol_error_stops_reconnecting_a_broken_stream_does_not() {
    let mut r = Rig::new(SocketType::Push, Rig::cfg(true));
    r.connect(SocketType::Push, SocketType::Pull);
    r.break_connection();
    assert_eq!(r.disconnects, [(CloseReason::PeerClosed, true)]);
    assert!(!r.terminated);
    // A PUSH connected to a PUSH: the handshake fails on the socket types (W-19).
    r.connect(SocketType::Push, SocketType::Push);
    let (reason, reconnect) = r.disconnects.last().cloned().unwrap();
    assert!(matches!(reason, CloseReason::Protocol(_) | CloseReason::PeerError(_)), "{reason:?}");
    assert!(!reconnect, "no retry after a protocol error");
    assert!(r.terminated, "the connect side gave up");
}

/// L-07: a finite linger bounds how long queued messages wait for a connection; then they
/// are dropped and the session finishes.
#[test]
fn l07_linger_expiry_drops_what_could_not_drain() {
    let mut cfg = Rig::cfg(true);
    cfg.linger = Some(Duration::from_millis(500));
    let mut r = Rig::new(SocketType::Push, cfg);
    r.socket.send(Msg::from("stuck")).unwrap();
    r.socket.close();
    r.settle();
    assert_eq!(r.session.poll_timeout(), Some(r.now + Duration::from_millis(500)));
    r.now += Duration::from_millis(499);
    r.session.handle_timeout(r.now);
    r.settle();
    assert!(!r.terminated);
    r.now += Duration::from_millis(1);
    r.session.handle_timeout(r.now);
    r.settle();
    assert!(r.terminated);
    assert!(r.socket.is_closed());
}

/// O-02: a LINGER changed after the session was made is the one it lingers with. A change
/// that comes after lingering started (the delimiter can be read just before the socket's
/// `Term`, which carries the value) re-arms the clock from when lingering started.
#[test]
fn o02_linger_changes_apply_before_and_after_lingering_starts() {
    let mut r = Rig::new(SocketType::Push, Rig::cfg(true)); // linger: forever
    r.session.set_linger(r.now, Some(Duration::from_millis(200)));
    r.socket.send(Msg::from("stuck")).unwrap();
    r.socket.close();
    r.settle();
    let started = r.now;
    assert_eq!(r.session.poll_timeout(), Some(started + Duration::from_millis(200)));
    r.now += Duration::from_millis(100);
    r.session.set_linger(r.now, Some(Duration::from_millis(500)));
    assert_eq!(r.session.poll_timeout(), Some(started + Duration::from_millis(500)));
    r.session.set_linger(r.now, None);
    assert_eq!(r.session.poll_timeout(), None, "forever: no deadline");
    r.settle();
    assert!(!r.terminated);
    r.session.set_linger(r.now, Some(Duration::ZERO));
    r.settle();
    assert!(r.terminated, "linger 0 drops what is queued at once");
}

/// L-07: linger 0 drops queued messages as soon as the socket closes.
#[test]
fn l07_linger_zero_drops_at_once() {
    let mut cfg = Rig::cfg(true);
    cfg.linger = Some(Duration::ZERO);
    let mut r = Rig::new(SocketType::Push, cfg);
    r.connect(SocketType::Push, SocketType::Pull);
    let peer = r.peer.take();
    r.socket.send(Msg::from("dropped")).unwrap();
    r.socket.close();
    r.settle();
    assert!(r.terminated);
    drop(peer);
}

/// Found by the simulator: an accepted connection still in its handshake when the socket
/// closed kept its session (and its connection) alive forever, since it had no pipe whose
/// termination would end it.
#[test]
fn accept_side_terminated_during_handshake_ends() {
    let mut r = Rig::new(SocketType::Pull, Rig::cfg(false));
    // Our engine attached, but the peer's greeting never arrives.
    r.session.attach_engine(r.now, Engine::new(EngineConfig::new(SocketType::Pull), r.now));
    r.settle();
    assert!(!r.terminated);
    r.session.terminate(r.now, false);
    r.settle();
    assert!(r.terminated, "a session with no pipe has nothing to linger for");
    assert_eq!(r.disconnects, vec![(CloseReason::Local, false)]);

    // Also when the handshake completes after the terminate.
    let mut r = Rig::new(SocketType::Pull, Rig::cfg(false));
    r.session.terminate(r.now, false);
    r.connect(SocketType::Pull, SocketType::Push);
    assert!(r.terminated);
    assert_eq!(r.socket.pipe_count(), 0, "no pipe is made for a terminating session");
}
