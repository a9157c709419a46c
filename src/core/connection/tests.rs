//! Connection lifecycle tests: a socket core, one connection, and a peer engine over an
//! in-memory stream whose writability the test controls, in virtual time.

use super::*;
use crate::SocketType;
use crate::core::SocketCore;

/// The socket, the connection under test, and what the driver would own: the stream (with a
/// peer engine at its far end) and a log of what the connection asked for.
struct Rig {
    now: Instant,
    socket: SocketCore,
    conn: Connection,
    /// The far end of the current stream, when one is up.
    peer: Option<Engine>,
    peer_type: SocketType,
    /// The stream takes writes (a stalled link when false).
    writable: bool,
    /// Our FIN reached the peer.
    fin_sent: bool,
    dials: u32,
    aborts: u32,
    drops: Vec<usize>,
    finished: bool,
    monitor: Vec<MonitorEvent>,
    /// The socket's LINGER, as it passes it with its `Term`.
    linger: Option<Duration>,
}

fn opts() -> SocketOptions {
    SocketOptions {
        reconnect_ivl: Some(Duration::from_millis(100)),
        reconnect_ivl_max: Some(Duration::from_millis(800)),
        ..SocketOptions::default()
    }
}

impl Rig {
    fn connect(ty: SocketType, peer: SocketType, o: &SocketOptions) -> Rig {
        let now = crate::test_epoch();
        let cfg = PeerConfig::from_options(ty, o, true, "tcp://peer:1");
        let conn = Connection::connect(now, cfg, PipeId(1), 7);
        Rig::with(now, ty, peer, conn, o.linger)
    }

    fn accept(ty: SocketType, peer: SocketType, o: &SocketOptions) -> Rig {
        let now = crate::test_epoch();
        let cfg = PeerConfig::from_options(ty, o, false, "tcp://*:1");
        let conn = Connection::accept(now, cfg, PipeId(1));
        let mut r = Rig::with(now, ty, peer, conn, o.linger);
        r.peer = Some(Engine::new(EngineConfig::new(peer), now));
        r.settle();
        r
    }

    fn with(
        now: Instant,
        ty: SocketType,
        peer: SocketType,
        conn: Connection,
        linger: Option<Duration>,
    ) -> Rig {
        let mut r = Rig {
            now,
            socket: SocketCore::new(ty).unwrap(),
            conn,
            peer: None,
            peer_type: peer,
            writable: true,
            fin_sent: false,
            dials: 0,
            aborts: 0,
            drops: Vec::new(),
            finished: false,
            monitor: Vec::new(),
            linger,
        };
        r.settle();
        r
    }

    /// The dial asked for succeeds: a fresh peer engine at the far end.
    fn dial_succeeds(&mut self) {
        self.peer = Some(Engine::new(EngineConfig::new(self.peer_type), self.now));
        self.fin_sent = false;
        self.conn.handle_connected(self.now);
        self.settle();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.conn.handle_timeout(self.now);
        self.settle();
    }

    /// Jumps to the connection's next deadline and runs it.
    fn next_deadline(&mut self) -> Duration {
        let at = self.conn.poll_timeout().expect("a deadline");
        let d = at - self.now;
        self.now = at;
        self.conn.handle_timeout(self.now);
        self.settle();
        d
    }

    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(a) = self.conn.poll_action() {
                moved = true;
                match a {
                    Action::AttachPipe { id, end, info } => self.socket.attach_pipe(id, end, info),
                    Action::PipeCommand(id, c) => self.socket.handle_pipe_command(id, c),
                    Action::Dial => self.dials += 1,
                    Action::AbortDial => self.aborts += 1,
                    Action::ShutdownWrite => self.fin_sent = true,
                    Action::DropStream { unflushed } => {
                        self.drops.push(unflushed);
                        self.peer = None;
                    }
                    Action::Monitor(e) => self.monitor.push(e),
                    Action::Finished => self.finished = true,
                }
            }
            while let Some((_, c)) = self.socket.poll_command() {
                moved = true;
                let linger = self.linger;
                self.conn.handle_pipe_command(self.now, c, || linger);
            }
            if let Some(peer) = self.peer.as_mut() {
                if self.writable && self.conn.pending_transmit() > 0 {
                    let mut iov = [IoSlice::new(&[]); 16];
                    let n = self.conn.transmit_chunks(&mut iov);
                    let bytes: Vec<u8> = iov[..n].iter().flat_map(|s| s.iter().copied()).collect();
                    peer.handle_input(self.now, &bytes);
                    self.conn.advance_transmit(self.now, bytes.len());
                    moved = true;
                }
                let mut out = Vec::new();
                peer.poll_transmit(&mut out, usize::MAX);
                if !out.is_empty() && self.conn.wants_input() {
                    self.conn.handle_input(self.now, &out);
                    moved = true;
                }
                if self.fin_sent {
                    peer.handle_eof(self.now);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the rig did not settle");
    }

    fn peer_messages(&mut self) -> Vec<Msg> {
        let mut got = Vec::new();
        if let Some(p) = self.peer.as_mut() {
            while let Some(e) = p.poll_event() {
                if let crate::proto::Event::Message(m) = e {
                    got.push(m);
                }
            }
        }
        got
    }

    fn retried(&self) -> Vec<Duration> {
        self.monitor
            .iter()
            .filter_map(|e| match e {
                MonitorEvent::ConnectRetried { interval, .. } => Some(*interval),
                _ => None,
            })
            .collect()
    }
}

/// L-01: a connect side asks to dial at once; its pipe exists before the connection (L-02).
#[test]
fn l01_connect_dials_at_once_with_its_pipe_ready() {
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &opts());
    assert_eq!(r.dials, 1);
    assert_eq!(r.socket.pipe_count(), 1);
    assert!(matches!(r.monitor[..], [MonitorEvent::ConnectDelayed { .. }]), "{:?}", r.monitor);
    r.socket.send(Msg::from("early")).unwrap();
    r.dial_succeeds();
    assert!(r.conn.is_up());
    assert_eq!(r.peer_messages(), [Msg::from("early")]);
}

/// L-03 with RECONNECT_IVL_MAX: the wait doubles per failed dial up to the maximum, without
/// jitter, and starts over after a successful connect.
#[test]
fn l03_backoff_doubles_up_to_the_max_and_restarts_after_a_connect() {
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &opts());
    for _ in 0..5 {
        r.conn.handle_dial_failed(r.now);
        r.settle();
        r.next_deadline();
    }
    let ms: Vec<u128> = r.retried().iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [100, 200, 400, 800, 800]);
    assert_eq!(r.dials, 6);
    r.dial_succeeds();
    r.peer = None;
    r.conn.handle_eof(r.now);
    r.settle();
    r.next_deadline();
    r.conn.handle_dial_failed(r.now);
    r.settle();
    let ms: Vec<u128> = r.retried().iter().map(Duration::as_millis).collect();
    assert_eq!(ms[5..], [100, 200], "a connect restarts the doubling");
}

/// L-03 without RECONNECT_IVL_MAX: each wait is RECONNECT_IVL plus a jitter in [0, IVL),
/// drawn from the seed, so two seeds spread their retries.
#[test]
fn l03_without_a_max_each_wait_is_ivl_plus_jitter() {
    let waits = |seed| {
        let mut b = Backoff::new(Duration::from_millis(100), None, seed);
        (0..50).map(|_| b.next_wait().as_millis()).collect::<Vec<_>>()
    };
    let (a, b) = (waits(1), waits(2));
    assert!(a.iter().all(|&w| (100..200).contains(&w)), "{a:?}");
    assert_eq!(a, waits(1), "the seed decides");
    assert_ne!(a, b);
    assert!(a.iter().collect::<std::collections::BTreeSet<_>>().len() > 10, "jitter varies");
}

/// O-09: a dial still in progress after CONNECT_TIMEOUT is abandoned and retried.
#[test]
fn o09_connect_timeout_abandons_the_dial_and_retries() {
    let o = SocketOptions { connect_timeout: Some(Duration::from_millis(500)), ..opts() };
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &o);
    assert_eq!(r.next_deadline(), Duration::from_millis(500));
    assert_eq!(r.aborts, 1);
    assert_eq!(r.retried(), [Duration::from_millis(100)]);
    r.next_deadline();
    assert_eq!(r.dials, 2);
}

/// RECONNECT_IVL off: a failed dial is never retried; the peer gives its queue up and ends.
#[test]
fn reconnect_off_gives_up_after_the_first_failure() {
    let o = SocketOptions { reconnect_ivl: None, ..opts() };
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &o);
    r.socket.send(Msg::from("never")).unwrap();
    r.conn.handle_dial_failed(r.now);
    r.settle();
    assert!(r.retried().is_empty());
    assert!(r.finished);
    assert_eq!(r.socket.pipe_count(), 0);
}

/// libzmq #4660 at the core: a connection whose socket closed is finished only after what it
/// owes is written (however long the stream stalls, linger being forever), FIN is sent, and
/// the peer closed too.
#[test]
fn l07_close_finishes_only_after_flush_fin_and_the_peers_close() {
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &opts());
    r.dial_succeeds();
    r.writable = false;
    for i in 0..100u8 {
        r.socket.send(Msg::from([i])).unwrap();
    }
    r.socket.close();
    r.settle();
    r.advance(Duration::from_secs(60));
    assert!(!r.finished && r.drops.is_empty(), "nothing written yet: still flushing");
    assert!(!r.fin_sent);
    r.writable = true;
    r.settle();
    assert!(r.fin_sent, "everything written, then FIN");
    let got: Vec<u8> = r.peer_messages().iter().map(|m| m[0]).collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert!(!r.finished, "draining until the peer closes");
    // The peer closes its side: the drain ends.
    r.conn.handle_eof(r.now);
    r.settle();
    assert_eq!(r.drops, [0]);
    assert!(r.finished);
}

/// L-07: a finite linger bounds the flush: at its deadline the stream is dropped with what
/// could not be written.
#[test]
fn l07_linger_bounds_the_flush_of_a_stalled_stream() {
    let o = SocketOptions { linger: Some(Duration::from_millis(300)), ..opts() };
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &o);
    r.dial_succeeds();
    r.writable = false;
    r.socket.send(Msg::from("stuck")).unwrap();
    r.socket.close();
    r.settle();
    r.advance(Duration::from_millis(299));
    assert!(r.drops.is_empty());
    r.advance(Duration::from_millis(1));
    assert_eq!(r.drops.len(), 1);
    assert!(r.drops[0] > 0, "dropped with bytes unwritten");
    assert!(r.finished);
}

/// After FIN, a peer that never closes is waited for at most DRAIN_MAX.
#[test]
fn a_peer_that_never_closes_is_waited_for_at_most_drain_max() {
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &opts());
    r.dial_succeeds();
    r.socket.close();
    r.settle();
    assert!(r.fin_sent);
    assert_eq!(r.next_deadline(), DRAIN_MAX);
    assert_eq!(r.drops, [0]);
    assert!(r.finished);
}

/// L-07 as libzmq's lingering session: a connect side closed while disconnected keeps dialing
/// within linger and delivers once connected; when linger runs out first it gives up.
#[test]
fn l07_a_closed_connect_side_keeps_dialing_within_linger() {
    let o = SocketOptions { linger: Some(Duration::from_secs(2)), ..opts() };
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &o);
    r.conn.handle_dial_failed(r.now);
    r.socket.send(Msg::from("late")).unwrap();
    r.socket.close();
    r.settle();
    r.next_deadline();
    assert_eq!(r.dials, 2, "still dialing while lingering");
    r.dial_succeeds();
    assert_eq!(r.peer_messages(), [Msg::from("late")]);

    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &o);
    r.socket.send(Msg::from("lost")).unwrap();
    r.socket.close();
    r.settle();
    while !r.finished {
        let _ = r.next_deadline();
        if r.dials > 0 && !r.finished {
            r.conn.handle_dial_failed(r.now);
            r.settle();
        }
    }
    assert!(r.now - crate::test_epoch() >= Duration::from_secs(2), "gave up at linger");
    assert!(r.now - crate::test_epoch() < Duration::from_millis(2100));
}

/// A broken stream is dropped at once (after a brief flush) and retried; the monitor says
/// DISCONNECTED after a handshake, HANDSHAKE_FAILED before one.
#[test]
fn a_broken_stream_is_retried_and_reported_by_its_phase() {
    let mut r = Rig::connect(SocketType::Push, SocketType::Pull, &opts());
    r.dial_succeeds();
    r.peer = None;
    r.conn.handle_eof(r.now);
    r.settle();
    assert_eq!(r.drops, [0]);
    assert!(r.monitor.iter().any(|e| matches!(e, MonitorEvent::Disconnected { .. })));
    r.next_deadline();
    // The next peer is the wrong type: the handshake fails, and no retry follows (L-06).
    r.peer_type = SocketType::Push;
    r.dial_succeeds();
    assert!(
        r.monitor.iter().any(|e| matches!(e, MonitorEvent::HandshakeFailed { .. })),
        "{:?}",
        r.monitor
    );
    assert!(r.finished, "a protocol error ends a connect side");
}

/// The accept side: ACCEPTED at once; when the stream ends, the peer ends with it (PUSH-04)
/// once the socket has let the pipe go.
#[test]
fn an_accepted_peer_ends_with_its_stream() {
    let mut r = Rig::accept(SocketType::Pull, SocketType::Push, &opts());
    assert!(matches!(r.monitor[0], MonitorEvent::Accepted { .. }));
    assert!(r.conn.is_up());
    assert_eq!(r.socket.pipe_count(), 1);
    r.peer = None;
    r.conn.handle_eof(r.now);
    r.settle();
    assert_eq!(r.drops, [0]);
    assert!(!r.finished, "the socket has not seen its pipe end yet");
    // The socket reads on (here: polls) and meets the end of the pipe.
    assert!(!r.socket.has_in());
    r.settle();
    assert!(r.finished);
    assert_eq!(r.socket.pipe_count(), 0);
}
