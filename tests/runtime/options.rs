//! Options that change connection behaviour: LINGER changed late, the reconnect backoff,
//! heartbeats, MAXMSGSIZE (O items).

use crate::common::*;

/// O-02: LINGER applies at once, to connections made before the change. Set to 0 after the
/// connect, it drops what is queued at close and term does not wait out the old 30 s.
#[test]
fn o02_linger_lowered_after_connect_applies_at_close() {
    let ctx = ctx();
    let ipc = std::env::temp_dir().join(format!("ferromq-o02-low-{}.sock", std::process::id()));
    let ep = format!("ipc://{}", ipc.display());
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::from_secs(30)));
    push.connect(&ep).unwrap();
    push.send_msg(Msg::from("dropped"), true).unwrap();
    push.set_linger(Some(Duration::ZERO));
    drop(push);
    let t = Instant::now();
    ctx.term();
    assert!(t.elapsed() < Duration::from_secs(10), "term waited out the linger set at connect");
}

/// O-02: LINGER raised after the connect applies too: what was queued while no peer listened
/// is delivered to a peer that binds after the close, where the linger 0 in force at connect
/// time would have dropped it.
#[test]
fn o02_linger_raised_after_connect_applies_at_close() {
    let ctx = ctx();
    let ipc = std::env::temp_dir().join(format!("ferromq-o02-high-{}.sock", std::process::id()));
    let ep = format!("ipc://{}", ipc.display());
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO));
    push.connect(&ep).unwrap();
    push.send_msg(Msg::from("kept"), true).unwrap();
    let mut o = push.options().clone();
    o.linger = Some(Duration::from_secs(10));
    push.set_options(o).unwrap();
    drop(push);
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind(&ep).unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"kept");
}

/// L-03: with RECONNECT_IVL_MAX above RECONNECT_IVL the wait doubles per failed attempt up
/// to the maximum, without jitter.
#[test]
fn l03_reconnect_backoff_doubles_up_to_the_max() {
    let ctx = ctx();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let mut o = push.options().clone();
    o.reconnect_ivl = Some(Duration::from_millis(10));
    o.reconnect_ivl_max = Some(Duration::from_millis(40));
    push.set_options(o).unwrap();
    let mon = push.monitor();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let mut waits = Vec::new();
    while waits.len() < 5 {
        if let ferromq::MonitorEvent::ConnectRetried { interval, .. } =
            mon.recv_timeout(Duration::from_secs(10)).expect("event")
        {
            waits.push(interval.as_millis());
        }
    }
    assert_eq!(waits, [10, 20, 40, 40, 40]);
}

/// W-26 through the socket API: heartbeats notice a peer that went silent (here: a raw TCP
/// peer that completes the handshake by hand, then never answers a PING).
#[test]
fn w26_heartbeat_detects_a_silent_peer() {
    use std::io::{Read, Write};
    let ctx = ctx();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let mut o = push.options().clone();
    o.heartbeat_ivl = Some(Duration::from_millis(50));
    o.heartbeat_timeout = Some(Duration::from_millis(150));
    o.reconnect_ivl = None;
    push.set_options(o).unwrap();
    let mon = push.monitor();
    push.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    let mut greeting = [0u8; 64];
    greeting[0] = 0xFF;
    greeting[9] = 0x7F;
    greeting[10] = 3;
    greeting[11] = 1;
    greeting[12..16].copy_from_slice(b"NULL");
    peer.write_all(&greeting).unwrap();
    peer.write_all(b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PULL").unwrap();
    let mut sink = [0u8; 256];
    let _ = peer.read(&mut sink).unwrap();
    let mut handshaken = false;
    let reason = loop {
        match mon.recv_timeout(Duration::from_secs(10)).expect("event") {
            ferromq::MonitorEvent::HandshakeSucceeded { .. } => handshaken = true,
            ferromq::MonitorEvent::Disconnected { reason, .. } => break reason,
            _ => {}
        }
    };
    assert!(handshaken);
    // Dropped for silence, while the peer's TCP connection stayed open the whole time.
    assert_eq!(reason, ferromq::proto::CloseReason::HeartbeatTimeout);
    drop(peer);
}

/// O-07, W-10: a message above MAXMSGSIZE disconnects the sender; smaller ones pass.
#[test]
fn o07_max_msg_size_disconnects_the_sender() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let mut o = pull.options().clone();
    o.max_msg_size = Some(100);
    o.rcvtimeo = T;
    pull.set_options(o).unwrap();
    let mon = pull.monitor();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(pull.last_endpoint().unwrap()).unwrap();
    push.send(vec![1u8; 100]).unwrap();
    assert_eq!(pull.recv().unwrap().len(), 100);
    push.send(vec![1u8; 101]).unwrap();
    let e = std::iter::from_fn(|| mon.recv_timeout(Duration::from_secs(10)))
        .find(|e| matches!(e, ferromq::MonitorEvent::Disconnected { .. }))
        .expect("disconnected");
    assert!(matches!(
        e,
        ferromq::MonitorEvent::Disconnected {
            reason: ferromq::proto::CloseReason::Protocol(
                ferromq::proto::ProtocolError::MessageTooLarge { size: 101, max: 100 }
            ),
            ..
        }
    ));
}

/// W-27: a slow consumer does not take its live peer for dead. The PULL reads one message per
/// 2 ms with room for one in its pipe, so most of the burst waits in its connection's input,
/// with the PUSH's PONGs behind it, for far longer than the heartbeat timeout: each frame
/// decoded from it is a sign of life, and the connection stays up.
#[test]
fn w27_a_slow_consumer_keeps_its_connection() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let mut o = pull.options().clone();
    o.heartbeat_ivl = Some(Duration::from_millis(20));
    o.heartbeat_timeout = Some(Duration::from_millis(60));
    o.rcvhwm = 1;
    o.rcvtimeo = T;
    pull.set_options(o).unwrap();
    let mon = pull.monitor();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(pull.last_endpoint().unwrap()).unwrap();
    let n = 400u32;
    for i in 0..n {
        push.send(i.to_be_bytes().to_vec()).unwrap();
    }
    let started = Instant::now();
    for i in 0..n {
        assert_eq!(pull.recv().unwrap()[..], i.to_be_bytes(), "message {i}");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(started.elapsed() > Duration::from_millis(200), "slower than the timeout");
    let downs: Vec<_> = std::iter::from_fn(|| mon.try_recv())
        .filter(|e| matches!(e, ferromq::MonitorEvent::Disconnected { .. }))
        .collect();
    assert!(downs.is_empty(), "the live peer was dropped: {downs:?}");
}
