//! tcp, ipc and inproc end to end: endpoints, LAST_ENDPOINT, connect before bind, PAIR,
//! refused directions.

use crate::common::*;

/// T-02, T-03, PUSH-01, PULL-01: tcp with an ephemeral port read back from LAST_ENDPOINT.
#[test]
fn t03_tcp_push_pull_with_ephemeral_port() {
    let ctx = ctx();
    let (mut pull, mut push) = pull_push(&ctx, "tcp://127.0.0.1:*");
    assert!(pull.last_endpoint().unwrap().starts_with("tcp://127.0.0.1:"));
    roundtrip(&mut pull, &mut push);
    // Then single messages after a quiet spell, so that every reader on the way (the PUSH
    // side's session, the PULL socket) has found its pipe empty and sleeps when one comes: only
    // the writer's wake-up gets it read. A burst alone may never let a reader fall asleep.
    for i in 0..3u8 {
        std::thread::sleep(Duration::from_millis(20));
        push.send(vec![i]).unwrap();
        let m = pull.recv().expect("a message sent to a sleeping reader was never read");
        assert_eq!(&m[..], [i]);
    }
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

#[test]
fn unsupported_directions_and_bad_endpoints_are_refused() {
    let ctx = ctx();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(push.recv_msg(true), Err(Error::NotSupported)));
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(pull.send("x"), Err(Error::NotSupported)));
    // Every standard type exists.
    for ty in SocketType::ALL {
        assert!(ctx.socket(ty).is_ok(), "{ty}");
    }
    assert!(matches!(push.bind("tcp://nope"), Err(Error::InvalidEndpoint { .. })));
    assert!(matches!(push.connect("tcp://127.0.0.1:*"), Err(Error::InvalidEndpoint { .. })));
    assert!(matches!(push.connect("udp://x:1"), Err(Error::ProtocolNotSupported(_))));
}

/// API: `Socket` may move between threads but not be shared (no `Sync`).
#[test]
fn socket_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<ferromq::Socket>();
    assert_send::<Context>();
}
