//! The public `Context`/`Socket` API against real libzmq 4.3 over tcp and ipc, in both
//! directions of bind and connect. Every body is compared byte for byte.

#[path = "common/ipc.rs"]
mod ipc;
use ferromq::{Context, Msg, SocketType};
use ipc::Ipc;
use std::time::Duration;

const T: Option<Duration> = Some(Duration::from_secs(10));

fn zsock(ctx: &zmq::Context, ty: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(ty).unwrap();
    s.set_rcvtimeo(10_000).unwrap();
    s.set_sndtimeo(10_000).unwrap();
    s.set_linger(1000).unwrap();
    s
}

fn ours(ctx: &Context, ty: SocketType) -> ferromq::Socket {
    let mut s = ctx.socket(ty).unwrap();
    s.set_rcvtimeo(T);
    s.set_sndtimeo(T);
    s.set_linger(Some(Duration::from_secs(2)));
    s
}

const SIZES: [usize; 5] = [0, 1, 255, 256, 1 << 20];

/// A body of `n` bytes that says at every byte which message it is.
fn body(n: usize, tag: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(7).wrapping_add(tag)).collect()
}

/// T-02, T-06, W-08: libzmq PUSH binds, our PULL connects (tcp, ipc); short and long frames,
/// multipart, byte for byte.
#[test]
fn libzmq_push_binds_our_pull_connects() {
    let ipc = Ipc::new("interop-a");
    for ep in ["tcp://127.0.0.1:*".to_owned(), ipc.endpoint()] {
        let z = zmq::Context::new();
        let push = zsock(&z, zmq::PUSH);
        push.bind(&ep).unwrap();
        let ep = push.get_last_endpoint().unwrap().unwrap();
        let ctx = Context::new().unwrap();
        let mut pull = ours(&ctx, SocketType::Pull);
        pull.connect(&ep).unwrap();
        for (i, n) in SIZES.into_iter().enumerate() {
            push.send(body(n, i as u8), 0).unwrap();
        }
        push.send_multipart(["x", "y"], 0).unwrap();
        for (i, n) in SIZES.into_iter().enumerate() {
            assert_eq!(pull.recv().unwrap()[..], body(n, i as u8)[..], "{ep}: {n} bytes");
        }
        let m = pull.recv_multipart().unwrap();
        assert_eq!((&m[0][..], &m[1][..]), (&b"x"[..], &b"y"[..]));
    }
}

/// T-02, T-06, L-01: our PUSH binds, libzmq PULL connects (tcp, ipc); our PUSH connects to a
/// libzmq PULL; bodies and multipart byte for byte.
#[test]
fn our_push_to_libzmq_pull_both_directions() {
    let ipc = Ipc::new("interop-b");
    for ep in ["tcp://127.0.0.1:*".to_owned(), ipc.endpoint()] {
        let ctx = Context::new().unwrap();
        let mut push = ours(&ctx, SocketType::Push);
        push.bind(&ep).unwrap();
        let z = zmq::Context::new();
        let pull = zsock(&z, zmq::PULL);
        pull.connect(push.last_endpoint().unwrap()).unwrap();
        for (i, n) in SIZES.into_iter().enumerate() {
            push.send(body(n, i as u8)).unwrap();
            assert_eq!(pull.recv_bytes(0).unwrap(), body(n, i as u8), "{ep}: {n} bytes");
        }
    }
    let z = zmq::Context::new();
    let pull = zsock(&z, zmq::PULL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new().unwrap();
    let mut push = ours(&ctx, SocketType::Push);
    push.connect(&pull.get_last_endpoint().unwrap().unwrap()).unwrap();
    push.send_multipart(vec![Msg::from("a"), Msg::from("b")]).unwrap();
    assert_eq!(pull.recv_multipart(0).unwrap(), vec![b"a".to_vec(), b"b".to_vec()]);
}

/// PUSH-01 with two libzmq pullers: our PUSH deals messages round-robin, each whole message
/// (multipart included) to one of them, alternating.
#[test]
fn push01_our_push_round_robins_over_two_libzmq_pullers() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    let mut push = ours(&ctx, SocketType::Push);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.last_endpoint().unwrap().to_owned();
    let pulls = [zsock(&z, zmq::PULL), zsock(&z, zmq::PULL)];
    for p in &pulls {
        p.connect(&ep).unwrap();
    }
    // Both peers are attached once each has received a probe (delivered round-robin only
    // among attached peers).
    let mut attached = [false, false];
    let mut probes = 0u32;
    while !(attached[0] && attached[1]) {
        push.send_multipart(vec!["probe".to_owned(), probes.to_string()]).unwrap();
        probes += 1;
        std::thread::yield_now();
        for (i, p) in pulls.iter().enumerate() {
            while p.poll(zmq::POLLIN, 20).unwrap() > 0 {
                p.recv_multipart(0).unwrap();
                attached[i] = true;
            }
        }
        assert!(probes < 10_000, "a libzmq peer never attached");
    }
    for i in 0..10u8 {
        push.send_multipart(vec![vec![i], body(300, i)]).unwrap();
    }
    let mut got: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for (k, p) in pulls.iter().enumerate() {
        for _ in 0..5 {
            let m = p.recv_multipart(0).unwrap();
            assert_eq!(m.len(), 2, "whole messages");
            assert_eq!(m[1], body(300, m[0][0]));
            got[k].push(m[0][0]);
        }
        assert_eq!(p.poll(zmq::POLLIN, 50).unwrap(), 0, "no more than its share");
    }
    // Each got every other message, in order.
    for g in &got {
        assert!(g.windows(2).all(|w| w[1] == w[0] + 2), "alternating: {got:?}");
    }
    assert_ne!(got[0][0], got[1][0]);
}

/// PULL-01 with two libzmq pushers: our PULL fair-queues. Both pushers queue 1000 messages
/// before our PULL exists (connect before bind); once both are connected, their streams are
/// served in turn (the sequence switches between them again and again, where draining one
/// first would switch once), each in order, whole and byte for byte.
#[test]
fn pull01_our_pull_fair_queues_two_libzmq_pushers() {
    const N: u32 = 1000;
    let z = zmq::Context::new();
    let ipc = Ipc::new("interop-fq");
    let ep = ipc.endpoint();
    let pushes = [zsock(&z, zmq::PUSH), zsock(&z, zmq::PUSH)];
    for (k, p) in pushes.iter().enumerate() {
        p.connect(&ep).unwrap();
        for i in 0..N {
            p.send_multipart([vec![k as u8], i.to_be_bytes().to_vec(), body(40, i as u8)], 0)
                .unwrap();
        }
    }
    let ctx = Context::new().unwrap();
    let mut pull = ours(&ctx, SocketType::Pull);
    // A shallow queue per pusher: each connection refills its pipe as we read, so both pipes
    // are backlogged whenever one is, however late the second stream's bytes arrive (with the
    // default 1000, a loaded machine could deliver the first stream whole before the second
    // began, leaving nothing to alternate with).
    pull.set_rcvhwm(10);
    let monitor = pull.monitor();
    pull.bind(&ep).unwrap();
    // Their reconnect timers bring the two pushers at different moments: start reading once
    // both handshakes are done.
    let mut up = 0;
    while up < 2 {
        let e = monitor.recv_timeout(Duration::from_secs(10)).expect("both pushers connect");
        up += usize::from(matches!(e, ferromq::MonitorEvent::HandshakeSucceeded { .. }));
    }
    let mut next = [0u32, 0u32];
    let (mut last, mut switches, mut both) = (None, 0, false);
    for _ in 0..2 * N {
        let m = pull.recv_multipart().unwrap();
        let (k, i) = (m[0][0] as usize, u32::from_be_bytes(m[1][..].try_into().unwrap()));
        assert_eq!(i, next[k], "stream {k} in order");
        assert_eq!(m[2][..], body(40, i as u8)[..]);
        next[k] += 1;
        both |= next[0] > 0 && next[1] > 0;
        if both && last.is_some_and(|l| l != k) {
            switches += 1;
        }
        last = Some(k);
    }
    assert_eq!(next, [N, N]);
    assert!(switches > 50, "the two streams were not served in turn: {switches} switches");
}

/// PAIR-01: ours and libzmq's PAIR, both ways, each side binding once.
#[test]
fn pair_with_libzmq_both_ways() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    let zp = zsock(&z, zmq::PAIR);
    zp.bind("tcp://127.0.0.1:*").unwrap();
    let mut p = ours(&ctx, SocketType::Pair);
    p.connect(&zp.get_last_endpoint().unwrap().unwrap()).unwrap();
    p.send("hello").unwrap();
    assert_eq!(zp.recv_bytes(0).unwrap(), b"hello");
    zp.send("back", 0).unwrap();
    assert_eq!(&p.recv().unwrap()[..], b"back");

    let ipc = Ipc::new("interop-c");
    let mut q = ours(&ctx, SocketType::Pair);
    q.bind(&ipc.endpoint()).unwrap();
    let zq = zsock(&z, zmq::PAIR);
    zq.connect(q.last_endpoint().unwrap()).unwrap();
    zq.send("to us", 0).unwrap();
    assert_eq!(&q.recv().unwrap()[..], b"to us");
    q.send("to them").unwrap();
    assert_eq!(zq.recv_bytes(0).unwrap(), b"to them");
}

/// PUSH-02 over tcp with a real, connected peer that stops reading: our PUSH takes at least
/// its SNDHWM beyond what the peer read, then blocks and times out with SNDTIMEO; everything
/// it took arrives, in order, once the peer reads again: nothing was dropped at the HWM.
#[test]
fn push02_blocks_at_hwm_with_a_connected_peer_and_drops_nothing() {
    let z = zmq::Context::new();
    let pull = zsock(&z, zmq::PULL);
    pull.set_rcvhwm(10).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new().unwrap();
    let mut push = ours(&ctx, SocketType::Push);
    push.set_sndhwm(10);
    push.connect(&pull.get_last_endpoint().unwrap().unwrap()).unwrap();
    // The connection is up: the first message went through.
    push.send(body(64 * 1024, 0)).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), body(64 * 1024, 0));
    push.set_sndtimeo(Some(Duration::from_millis(200)));
    let mut sent = 1u32;
    loop {
        match push.send(body(64 * 1024, sent as u8)) {
            Ok(()) => sent += 1,
            Err(ferromq::Error::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 100_000, "never blocked");
    }
    assert!(sent > 10, "took at least its SNDHWM before blocking: {sent}");
    for i in 1..sent {
        assert_eq!(pull.recv_bytes(0).unwrap(), body(64 * 1024, i as u8), "message {i}");
    }
    assert!(pull.poll(zmq::POLLIN, 100).unwrap() == 0, "and nothing more");
}
