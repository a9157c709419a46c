//! The mio runtime end to end: Context and Socket over tcp, ipc and inproc. Each test names
//! the CONFORMANCE.md items it covers.

use ferromq::{Context, Error, Msg, Multipart, SocketType};
use std::time::{Duration, Instant};

const T: Option<Duration> = Some(Duration::from_secs(10));

fn ctx() -> Context {
    Context::builder().default_linger(Some(Duration::from_secs(5))).build().unwrap()
}

fn pull_push(ctx: &Context, bind: &str) -> (ferromq::Socket, ferromq::Socket) {
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind(bind).unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndtimeo(T);
    push.connect(&ep).unwrap();
    (pull, push)
}

fn roundtrip(pull: &mut ferromq::Socket, push: &mut ferromq::Socket) {
    for n in [0usize, 1, 255, 256, 100_000] {
        push.send(vec![n as u8; n]).unwrap();
    }
    push.send_multipart(vec!["a", "b", "c"]).unwrap();
    for n in [0usize, 1, 255, 256, 100_000] {
        let m = pull.recv().unwrap();
        assert_eq!(m.len(), n);
        assert!(!m.more());
    }
    let m = pull.recv_multipart().unwrap();
    assert_eq!(
        m,
        Multipart::from(vec![
            Msg::from("a").with_more(true),
            Msg::from("b").with_more(true),
            Msg::from("c")
        ])
    );
}

/// T-02, T-03, PUSH-01, PULL-01: tcp with an ephemeral port read back from LAST_ENDPOINT.
#[test]
fn t03_tcp_push_pull_with_ephemeral_port() {
    let ctx = ctx();
    let (mut pull, mut push) = pull_push(&ctx, "tcp://127.0.0.1:*");
    assert!(pull.last_endpoint().unwrap().starts_with("tcp://127.0.0.1:"));
    roundtrip(&mut pull, &mut push);
}

/// T-06: ipc end to end.
#[test]
fn t06_ipc_push_pull() {
    let ctx = ctx();
    let path = std::env::temp_dir().join(format!("ferromq-test-{}.sock", std::process::id()));
    let (mut pull, mut push) = pull_push(&ctx, &format!("ipc://{}", path.display()));
    roundtrip(&mut pull, &mut push);
    drop(pull);
    drop(push);
    ctx.term();
    assert!(!path.exists(), "the socket file is removed with the listener");
}

/// T-10: inproc end to end.
#[test]
fn t10_inproc_push_pull() {
    let ctx = ctx();
    let (mut pull, mut push) = pull_push(&ctx, "inproc://t10");
    roundtrip(&mut pull, &mut push);
}

/// L-02: tcp connect before bind: 3 messages sent first all arrive, in order.
#[test]
fn l02_tcp_connect_before_bind() {
    let ctx = ctx();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_reconnect_ivl(Some(Duration::from_millis(20)));
    push.connect(&ep).unwrap();
    for i in 0..3u8 {
        push.send_msg(Msg::from([i]), true).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind(&ep).unwrap();
    for i in 0..3u8 {
        assert_eq!(pull.recv().unwrap()[0], i);
    }
}

/// T-09, Q-05: inproc connect before bind.
#[test]
fn t09_inproc_connect_before_bind() {
    let ctx = ctx();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://later").unwrap();
    for i in 0..3u8 {
        push.send_msg(Msg::from([i]), true).unwrap();
    }
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind("inproc://later").unwrap();
    for i in 0..3u8 {
        assert_eq!(pull.recv().unwrap()[0], i);
    }
    push.send("after").unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"after");
}

/// inproc PUSH→PULL with default HWMs takes exactly 2000 messages before EAGAIN.
#[test]
fn q03_inproc_default_hwm_capacity_is_2000() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://q03").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://q03").unwrap();
    let mut n = 0;
    while push.send_msg(Msg::from("x"), true).is_ok() {
        n += 1;
        assert!(n <= 2000, "more than the HWMs allow");
    }
    assert_eq!(n, 2000);
    assert!(matches!(push.send_msg(Msg::from("x"), true), Err(Error::WouldBlock)));
    // Draining to the low-water mark lets the writer go on.
    for _ in 0..1000 {
        pull.recv_msg(true).unwrap();
    }
    assert!(push.send_msg(Msg::from("y"), true).is_ok());
}

/// PUSH-02, O-06: no peer: DONTWAIT gives EAGAIN at once, SNDTIMEO after the timeout.
#[test]
fn o06_push_without_peer_times_out() {
    let ctx = ctx();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(push.send_msg(Msg::from("x"), true), Err(Error::WouldBlock)));
    push.set_sndtimeo(Some(Duration::from_millis(100)));
    let t = Instant::now();
    assert!(matches!(push.send("x"), Err(Error::WouldBlock)));
    assert!(t.elapsed() >= Duration::from_millis(100));
}

/// O-02: SNDHWM applies at once to a connection made before the change, raised or lowered;
/// the messages queued meanwhile all arrive, in order, once a peer binds.
#[test]
fn o02_sndhwm_applies_to_an_existing_connection() {
    let ctx = ctx();
    let ipc = std::env::temp_dir().join(format!("ferromq-o02-hwm-{}.sock", std::process::id()));
    let ep = format!("ipc://{}", ipc.display());
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(5);
    push.connect(&ep).unwrap();
    let mut sent = 0u32;
    let mut fill = |push: &mut ferromq::Socket| {
        let before = sent;
        while push.send_msg(Msg::from(sent.to_le_bytes()), true).is_ok() {
            sent += 1;
        }
        sent - before
    };
    assert_eq!(fill(&mut push), 5);
    push.set_sndhwm(8);
    assert_eq!(fill(&mut push), 3, "a raised SNDHWM frees room in the existing pipe");
    push.set_sndhwm(2);
    assert_eq!(fill(&mut push), 0, "8 queued, above the lowered mark");
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind(&ep).unwrap();
    for i in 0..8u32 {
        assert_eq!(&pull.recv().unwrap()[..], &i.to_le_bytes());
    }
    // Drained, the pipe takes messages again, and passes them on.
    push.set_sndtimeo(T);
    push.send(Msg::from(8u32.to_le_bytes())).unwrap();
    assert_eq!(&pull.recv().unwrap()[..], &8u32.to_le_bytes());
}

#[test]
fn unsupported_directions_and_types_are_refused() {
    let ctx = ctx();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(push.recv_msg(true), Err(Error::NotSupported)));
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(pull.send("x"), Err(Error::NotSupported)));
    assert!(matches!(ctx.socket(SocketType::Req), Err(Error::NotSupported)));
    assert!(matches!(push.bind("tcp://nope"), Err(Error::InvalidEndpoint { .. })));
    assert!(matches!(push.connect("tcp://127.0.0.1:*"), Err(Error::InvalidEndpoint { .. })));
    assert!(matches!(push.connect("udp://x:1"), Err(Error::ProtocolNotSupported(_))));
}

/// PAIR-01: both ways over tcp.
#[test]
fn pair01_tcp_both_ways() {
    let ctx = ctx();
    let mut a = ctx.socket(SocketType::Pair).unwrap();
    a.set_rcvtimeo(T);
    a.bind("tcp://127.0.0.1:*").unwrap();
    let mut b = ctx.socket(SocketType::Pair).unwrap();
    b.set_rcvtimeo(T);
    b.connect(a.last_endpoint().unwrap()).unwrap();
    b.send("ping").unwrap();
    assert_eq!(&a.recv().unwrap()[..], b"ping");
    a.send("pong").unwrap();
    assert_eq!(&b.recv().unwrap()[..], b"pong");
}

/// L-07: close returns at once and linger still delivers everything queued.
#[test]
fn l07_linger_delivers_after_close() {
    let ctx = ctx();
    let (mut pull, mut push) = pull_push(&ctx, "tcp://127.0.0.1:*");
    for i in 0..5000u32 {
        push.send(i.to_be_bytes()).unwrap();
    }
    let t = Instant::now();
    drop(push);
    assert!(t.elapsed() < Duration::from_millis(500), "close does not block");
    for i in 0..5000u32 {
        assert_eq!(pull.recv().unwrap()[..], i.to_be_bytes());
    }
}

/// L-08: term interrupts a recv blocked on another thread with Terminated.
#[test]
fn l08_term_unblocks_a_blocked_recv() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://l08").unwrap();
    let blocked = std::thread::spawn(move || {
        let r = pull.recv();
        drop(pull);
        r
    });
    std::thread::sleep(Duration::from_millis(50));
    ctx.term();
    assert!(matches!(blocked.join().unwrap(), Err(Error::Terminated)));
}

/// L-04: the connect side reconnects after its peer goes away and comes back on the same
/// endpoint; messages sent meanwhile are delivered.
#[test]
fn l04_reconnects_after_peer_restart() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_reconnect_ivl(Some(Duration::from_millis(20)));
    push.set_sndtimeo(T);
    push.connect(&ep).unwrap();
    push.send("first").unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"first");
    pull.set_linger(Some(Duration::ZERO));
    drop(pull);
    std::thread::sleep(Duration::from_millis(50));
    push.send("second").unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind(&ep).unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"second");
}

/// L-15: two contexts share nothing: an inproc name bound in one is unknown in the other.
#[test]
fn l15_two_contexts_are_independent() {
    let a = ctx();
    let b = ctx();
    let mut pa = a.socket(SocketType::Pull).unwrap();
    pa.bind("inproc://same").unwrap();
    let mut pb = b.socket(SocketType::Pull).unwrap();
    pb.bind("inproc://same").unwrap();
    let mut push = b.socket(SocketType::Push).unwrap();
    push.connect("inproc://same").unwrap();
    push.send("for b").unwrap();
    assert_eq!(&pb.recv_msg(true).unwrap()[..], b"for b");
    assert!(matches!(pa.recv_msg(true), Err(Error::WouldBlock)));
}

/// T-08: binding a taken inproc name fails; tcp likewise (T-01).
#[test]
fn t08_address_in_use() {
    let ctx = ctx();
    let mut a = ctx.socket(SocketType::Pull).unwrap();
    a.bind("inproc://taken").unwrap();
    let mut b = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(b.bind("inproc://taken"), Err(Error::AddrInUse)));
    a.bind("tcp://127.0.0.1:*").unwrap();
    let ep = a.last_endpoint().unwrap().to_owned();
    assert!(matches!(b.bind(&ep), Err(Error::AddrInUse)));
}

/// L-13: MAX_SOCKETS limits live sockets; 1000 sockets in one context work.
#[test]
fn l13_max_sockets_and_a_thousand_sockets() {
    let ctx = Context::builder().max_sockets(1000).build().unwrap();
    let socks: Vec<_> = (0..1000).map(|_| ctx.socket(SocketType::Pair).unwrap()).collect();
    assert!(matches!(ctx.socket(SocketType::Pair), Err(Error::TooManySockets)));
    drop(socks);
    assert!(ctx.socket(SocketType::Pair).is_ok());
}

/// L-10, T-03: unbind by the LAST_ENDPOINT form stops listening and drops accepted
/// connections; an unknown endpoint is NoSuchEndpoint.
#[test]
fn l10_unbind_stops_listening_and_drops_connections() {
    let ctx = ctx();
    let (mut pull, mut push) = pull_push(&ctx, "tcp://127.0.0.1:*");
    push.send("before").unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"before");
    let ep = pull.last_endpoint().unwrap().to_owned();
    assert!(matches!(pull.unbind("tcp://127.0.0.1:1"), Err(Error::NoSuchEndpoint)));
    pull.unbind(&ep).unwrap();
    // The port is free again: another socket can bind it.
    let mut other = ctx.socket(SocketType::Pull).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while other.bind(&ep).is_err() {
        assert!(Instant::now() < deadline, "port never released");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The pusher notices the dropped connection and reconnects to the new listener. A
    // message written before it noticed may die with the old connection (allowed: it was
    // handed to a connection that then broke), so keep sending until one arrives.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let _ = push.send_msg(Msg::from("after"), true);
        if let Ok(m) = other.recv_msg(true) {
            assert_eq!(&m[..], b"after");
            break;
        }
        assert!(Instant::now() < deadline, "never reached the new listener");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(matches!(pull.recv_msg(true), Err(Error::WouldBlock)), "the old socket got more");
}

/// L-11, L-12: disconnect stops (re)connecting; with no peer left, a DONTWAIT send gets
/// EAGAIN: nothing is queued for the removed peer. Unknown endpoint: NoSuchEndpoint.
#[test]
fn l11_l12_disconnect_removes_the_peer() {
    let ctx = ctx();
    let (mut pull, mut push) = pull_push(&ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap().to_owned();
    push.send("one").unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"one");
    assert!(matches!(push.disconnect("tcp://127.0.0.1:1"), Err(Error::NoSuchEndpoint)));
    push.disconnect(&ep).unwrap();
    assert!(matches!(push.send_msg(Msg::from("x"), true), Err(Error::WouldBlock)));
    // The same holds for inproc.
    let mut ip = ctx.socket(SocketType::Pull).unwrap();
    ip.bind("inproc://l11").unwrap();
    let mut ipush = ctx.socket(SocketType::Push).unwrap();
    ipush.connect("inproc://l11").unwrap();
    ipush.disconnect("inproc://l11").unwrap();
    assert!(matches!(ipush.send_msg(Msg::from("x"), true), Err(Error::WouldBlock)));
}

/// with IMMEDIATE, nothing is queued before the connection completes: a DONTWAIT send
/// to an endpoint nobody listens on gets EAGAIN.
#[test]
fn q08_immediate_queues_only_to_completed_connections() {
    let ctx = ctx();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let mut o = push.options().clone();
    o.immediate = true;
    push.set_options(o).unwrap();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    assert!(matches!(push.send_msg(Msg::from("x"), true), Err(Error::WouldBlock)));
    // Once a peer is there, messages flow.
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind(&format!("tcp://127.0.0.1:{port}")).unwrap();
    push.set_sndtimeo(T);
    push.send("now").unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"now");
}

/// API: `Socket` may move between threads but not be shared (no `Sync`).
#[test]
fn socket_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<ferromq::Socket>();
    assert_send::<Context>();
}

/// L-07: linger 0 drops queued messages at close (nothing reaches a peer that binds later),
/// and term does not wait for them.
#[test]
fn l07_linger_zero_drops_queued_messages() {
    let ctx = ctx();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::ZERO));
    push.connect(&ep).unwrap();
    push.send_msg(Msg::from("dropped"), true).unwrap();
    drop(push);
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(Duration::from_millis(300)));
    pull.bind(&ep).unwrap();
    assert!(matches!(pull.recv(), Err(Error::WouldBlock)));
    let t = Instant::now();
    drop(pull);
    ctx.term();
    assert!(t.elapsed() < Duration::from_secs(2));
}

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

/// Several I/O threads: sockets spread over them, pipes routed across them, and closing and
/// term (the reaper lives on thread 0) still work.
#[test]
fn two_io_threads_route_and_terminate() {
    let ctx = Context::builder()
        .io_threads(2)
        .default_linger(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut pushers: Vec<_> = (0..4)
        .map(|_| {
            let mut p = ctx.socket(SocketType::Push).unwrap();
            p.connect(&ep).unwrap();
            p
        })
        .collect();
    for (i, p) in pushers.iter_mut().enumerate() {
        for j in 0..100u8 {
            p.send([i as u8, j]).unwrap();
        }
    }
    drop(pushers);
    let mut next = [0u8; 4];
    for _ in 0..400 {
        let m = pull.recv().unwrap();
        assert_eq!(m[1], next[m[0] as usize], "per-sender order");
        next[m[0] as usize] += 1;
    }
    drop(pull);
    ctx.term();
}

/// T-04, T-05: an IPv6 literal in brackets binds and reads back in brackets; a host name is
/// resolved on connect.
#[test]
fn t05_ipv6_literal_and_host_name() {
    let ctx = ctx();
    let (mut pull, mut push) = pull_push(&ctx, "tcp://[::1]:*");
    assert!(
        pull.last_endpoint().unwrap().starts_with("tcp://[::1]:"),
        "{:?}",
        pull.last_endpoint()
    );
    push.send("v6").unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"v6");

    let mut pull4 = ctx.socket(SocketType::Pull).unwrap();
    pull4.set_rcvtimeo(T);
    pull4.bind("tcp://127.0.0.1:*").unwrap();
    let port = pull4.last_endpoint().unwrap().rsplit(':').next().unwrap().to_owned();
    let mut by_name = ctx.socket(SocketType::Push).unwrap();
    by_name.connect(&format!("tcp://localhost:{port}")).unwrap();
    by_name.send("by name").unwrap();
    assert_eq!(&pull4.recv().unwrap()[..], b"by name");
}

/// L-07 on the accepting side (found by the simulator): a PUSH that *binds* and closes must
/// still drain its accepted connections within linger, not drop them with the listener. The
/// puller reads nothing until the pusher is gone, so most of the 16 MiB are still queued in
/// the pusher's pipe, beyond the kernel's socket buffers, when it closes.
#[test]
fn l07_linger_drains_accepted_connections_after_close() {
    let ctx = ctx();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let mut o = push.options().clone();
    o.sndhwm = 0;
    push.set_options(o).unwrap();
    push.set_sndtimeo(T);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.last_endpoint().unwrap().to_owned();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(T);
    pull.connect(&ep).unwrap();
    // The first message proves the connection is up before the flood.
    push.send("first").unwrap();
    assert_eq!(&pull.recv().unwrap()[..], b"first");
    let body = vec![7u8; 1024];
    for i in 0..16 * 1024u32 {
        let mut m = body.clone();
        m[..4].copy_from_slice(&i.to_be_bytes());
        push.send(m).unwrap();
    }
    drop(push);
    for i in 0..16 * 1024u32 {
        let m = pull.recv().unwrap_or_else(|e| panic!("message {i} lost: {e}"));
        assert_eq!(m[..4], i.to_be_bytes());
    }
}
