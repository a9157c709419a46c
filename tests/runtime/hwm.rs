//! High-water marks and IMMEDIATE through the socket API (Q items).

use crate::common::*;

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

/// PUSH-02, Q-01: a PUSH at its SNDHWM blocks, and resumes each time the slow peer's reading
/// returns credit: 20 000 messages through marks of 5 all arrive, in order.
#[test]
fn push02_blocks_at_the_hwm_and_resumes_as_the_peer_reads() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(5);
    pull.set_rcvtimeo(T);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let reader = std::thread::spawn(move || {
        for i in 0..20_000u32 {
            assert_eq!(&pull.recv().unwrap()[..], &i.to_be_bytes()[..]);
        }
    });
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(5);
    push.set_sndtimeo(Some(Duration::from_secs(3)));
    push.connect(&ep).unwrap();
    for i in 0..20_000u32 {
        push.send(&i.to_be_bytes()[..]).unwrap_or_else(|e| panic!("message {i}: {e}"));
    }
    reader.join().unwrap();
}

/// behind a peer that stops reading, a PUSH meets its high-water mark after a
/// bounded number of large messages (its pipe, the connection's output backlog, the kernel's
/// buffers, the peer's), and every one of them arrives, in order, once the peer reads. A
/// session that fed its engine without limit would empty the pipe as fast as it filled, and
/// the sender would never block.
#[test]
fn q01_a_stalled_peer_bounds_what_a_sender_can_queue() {
    const SIZE: usize = 16 * 1024;
    const CAP: u32 = 3000;
    let ctx = ctx();
    let mut o = SocketOptions::default();
    (o.sndhwm, o.rcvhwm, o.sndbuf, o.rcvbuf) = (5, 5, Some(64 * 1024), Some(64 * 1024));
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_options(o.clone()).unwrap();
    pull.set_rcvtimeo(T);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_options(o).unwrap();
    push.connect(pull.last_endpoint().unwrap()).unwrap();
    // The first send waits for the connection; later ones time out only once nothing drains.
    push.set_sndtimeo(T);
    let body = |i: u32| {
        let mut b = vec![(i % 251) as u8; SIZE];
        b[..4].copy_from_slice(&i.to_be_bytes());
        b
    };
    push.send(body(0)).unwrap();
    push.set_sndtimeo(Some(Duration::from_millis(500)));
    let mut sent = 1;
    while sent < CAP && push.send(body(sent)).is_ok() {
        sent += 1;
    }
    // HWMs of 5 + 5, 128 KiB of backlog, a few hundred KiB of kernel buffers, one read.
    assert!(sent < 200, "{sent} messages of {SIZE} B queued behind a peer that reads nothing");
    for i in 0..sent {
        assert_eq!(pull.recv().unwrap()[..], body(i)[..], "message {i}");
    }
}
