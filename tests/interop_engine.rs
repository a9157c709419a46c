//! The sans-IO engine, driven by hand over `std::net::TcpStream` on loopback, against real
//! libzmq 4.3 (built from source by the `zmq` dev-dependency). Each test names the
//! CONFORMANCE.md items it covers.

#[path = "common/blocking.rs"]
mod blocking;

use blocking::Conn;
use ferromq::proto::{CloseReason, EngineConfig, Event, ProtocolError};
use ferromq::{Multipart, SocketType};
use std::net::TcpListener;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// The sizes issue 2 names: short-form edge (255/256), tiny, and a large body.
fn bodies() -> Vec<Vec<u8>> {
    [1usize, 255, 256, 1 << 20]
        .into_iter()
        .map(|n| (0..n).map(|i| (i * 7 + n) as u8).collect())
        .collect()
}

fn zsocket(ctx: &zmq::Context, ty: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(ty).unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    s.set_sndtimeo(10_000).unwrap();
    s.set_linger(1000).unwrap();
    s
}

fn zbind(s: &zmq::Socket) -> String {
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.get_last_endpoint().unwrap().unwrap();
    ep.trim_start_matches("tcp://").to_owned()
}

fn listen() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

/// W-01, W-02, W-08, W-15, PUSH-01: libzmq PUSH binds, our PULL engine connects.
#[test]
fn w01_w08_libzmq_push_binds_our_pull_connects() {
    let ctx = zmq::Context::new();
    let push = zsocket(&ctx, zmq::PUSH);
    let addr = zbind(&push);
    let mut pull = Conn::connect(&addr, EngineConfig::new(SocketType::Pull));
    let peer = pull.wait_ready(T);
    assert_eq!(peer.socket_type, SocketType::Push);
    assert_eq!(peer.version, (3, 1));
    for b in bodies() {
        push.send(&b, 0).unwrap();
        let got = pull.recv(T);
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0][..], &b[..], "{} bytes", b.len());
    }
}

/// W-01, W-08, W-15, PULL-01: our PUSH engine binds (accepts), libzmq PULL connects.
#[test]
fn w08_our_push_binds_libzmq_pull_connects() {
    let ctx = zmq::Context::new();
    let (listener, addr) = listen();
    let pull = zsocket(&ctx, zmq::PULL);
    pull.connect(&format!("tcp://{addr}")).unwrap();
    let mut push = Conn::accept(&listener, EngineConfig::new(SocketType::Push));
    assert_eq!(push.wait_ready(T).socket_type, SocketType::Pull);
    for b in bodies() {
        push.send(ferromq::Msg::from(b.clone()));
        assert_eq!(pull.recv_bytes(0).unwrap(), b, "{} bytes", b.len());
    }
}

/// The other two directions: our PUSH connects to a libzmq PULL; libzmq PUSH connects to us.
#[test]
fn w08_our_push_connects_and_libzmq_push_connects_to_us() {
    let ctx = zmq::Context::new();
    let pull = zsocket(&ctx, zmq::PULL);
    let addr = zbind(&pull);
    let mut push = Conn::connect(&addr, EngineConfig::new(SocketType::Push));
    push.wait_ready(T);
    for b in bodies() {
        push.send(ferromq::Msg::from(b.clone()));
        assert_eq!(pull.recv_bytes(0).unwrap(), b);
    }

    let (listener, addr) = listen();
    let zpush = zsocket(&ctx, zmq::PUSH);
    zpush.connect(&format!("tcp://{addr}")).unwrap();
    let mut ours = Conn::accept(&listener, EngineConfig::new(SocketType::Pull));
    ours.wait_ready(T);
    for b in bodies() {
        zpush.send(&b, 0).unwrap();
        assert_eq!(&ours.recv(T)[0][..], &b[..]);
    }
}

/// W-11, W-18, W-20, ROUTER-01: our DEALER engine ↔ libzmq ROUTER with multipart messages;
/// the ROUTER sees our Identity as the routing id and replies through it.
#[test]
fn w18_dealer_to_libzmq_router_multipart() {
    let ctx = zmq::Context::new();
    let router = zsocket(&ctx, zmq::ROUTER);
    let addr = zbind(&router);
    let mut cfg = EngineConfig::new(SocketType::Dealer);
    cfg.routing_id = bytes::Bytes::from_static(b"dealer-7");
    let mut dealer = Conn::connect(&addr, cfg);
    assert_eq!(dealer.wait_ready(T).socket_type, SocketType::Router);
    for b in bodies() {
        dealer.send(Multipart::from(vec![b"".to_vec(), b"head".to_vec(), b.clone()]));
        let got = router.recv_multipart(0).unwrap();
        assert_eq!(got, vec![b"dealer-7".to_vec(), vec![], b"head".to_vec(), b.clone()]);
        router.send_multipart([&b"dealer-7"[..], b"", b"reply", &b[..]], 0).unwrap();
        let reply = dealer.recv(T);
        assert_eq!(reply.len(), 3);
        assert_eq!(&reply[1][..], b"reply");
        assert_eq!(&reply[2][..], &b[..]);
    }
}

/// W-11, W-18: libzmq DEALER connects to our ROUTER-typed engine; its Identity arrives in
/// READY and its multipart messages arrive whole.
#[test]
fn w18_libzmq_dealer_to_our_router_multipart() {
    let ctx = zmq::Context::new();
    let (listener, addr) = listen();
    let dealer = zsocket(&ctx, zmq::DEALER);
    dealer.set_identity(b"zd").unwrap();
    dealer.connect(&format!("tcp://{addr}")).unwrap();
    let mut router = Conn::accept(&listener, EngineConfig::new(SocketType::Router));
    let peer = router.wait_ready(T);
    assert_eq!(peer.socket_type, SocketType::Dealer);
    assert_eq!(&peer.identity[..], b"zd");
    for b in bodies() {
        dealer.send_multipart([&b"a"[..], b"", &b[..]], 0).unwrap();
        let got = router.recv(T);
        assert_eq!(got.len(), 3);
        assert_eq!(&got[2][..], &b[..]);
        router.send(Multipart::from(vec![b"x".to_vec(), b.clone()]));
        assert_eq!(dealer.recv_multipart(0).unwrap(), vec![b"x".to_vec(), b.clone()]);
    }
}

/// W-23, W-24, W-26, W-27: libzmq heartbeats us (PING every 50 ms, 200 ms timeout, 500 ms
/// TTL); we answer, so an idle connection survives many timeouts and still carries traffic.
#[test]
fn w24_w26_libzmq_heartbeats_are_answered() {
    let ctx = zmq::Context::new();
    let push = zsocket(&ctx, zmq::PUSH);
    push.set_heartbeat_ivl(50).unwrap();
    push.set_heartbeat_timeout(200).unwrap();
    push.set_heartbeat_ttl(500).unwrap();
    let addr = zbind(&push);
    let mut pull = Conn::connect(&addr, EngineConfig::new(SocketType::Pull));
    pull.wait_ready(T);
    // We send nothing ourselves: only our PONGs keep libzmq from dropping us, and libzmq's
    // PINGs (TTL 500 ms) keep our TTL timer from expiring.
    assert_eq!(pull.idle(Duration::from_millis(1500)), None, "closed: {:?}", pull.closed);
    push.send("still here", 0).unwrap();
    assert_eq!(&pull.recv(T)[0][..], b"still here");
}

/// W-26: our heartbeats against libzmq: it answers our PINGs, so our timeout never fires.
#[test]
fn w26_our_heartbeats_are_answered_by_libzmq() {
    let ctx = zmq::Context::new();
    let pull = zsocket(&ctx, zmq::PULL);
    let addr = zbind(&pull);
    let mut cfg = EngineConfig::new(SocketType::Push);
    cfg.heartbeat_ivl = Some(Duration::from_millis(50));
    cfg.heartbeat_timeout = Some(Duration::from_millis(200));
    cfg.heartbeat_ttl = Some(Duration::from_millis(500));
    let mut push = Conn::connect(&addr, cfg);
    push.wait_ready(T);
    assert_eq!(push.idle(Duration::from_millis(1500)), None, "closed: {:?}", push.closed);
    push.send(ferromq::Msg::from("after idle"));
    assert_eq!(pull.recv_bytes(0).unwrap(), b"after idle");
    // It stayed up because we pinged every 50 ms and libzmq answered every PING.
    let count =
        |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).filter(|w| *w == needle).count();
    let (pings, pongs) = (count(&push.wrote, b"\x04PING"), count(&push.read, b"\x04PONG"));
    assert!(pings >= 10, "we sent {pings} PINGs in 1.5 s at a 50 ms interval");
    assert!(pongs + 2 >= pings, "libzmq answered {pongs} of our {pings} PINGs");
}

/// W-19: libzmq closes an invalid pair without ERROR; we report it, whichever side noticed
/// first (our check, or libzmq's bare close during the handshake).
#[test]
fn w19_invalid_pair_with_libzmq_fails_the_handshake() {
    let ctx = zmq::Context::new();
    let push = zsocket(&ctx, zmq::PUSH);
    let addr = zbind(&push);
    let mut ours = Conn::connect(&addr, EngineConfig::new(SocketType::Push));
    let ev = ours.next_event(std::time::Instant::now() + T);
    let ok = [
        Some(Event::Closed(CloseReason::Protocol(ProtocolError::IncompatibleSocketType {
            ours: SocketType::Push,
            theirs: SocketType::Push,
        }))),
        Some(Event::Closed(CloseReason::PeerClosed)),
    ];
    assert!(ok.contains(&ev), "{ev:?}");
}
