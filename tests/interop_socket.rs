//! The public `Context`/`Socket` API against real libzmq 4.3 over tcp and ipc, in both
//! directions of bind and connect.

use ferromq::{Context, Msg, SocketType};
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

fn ipc(tag: &str) -> String {
    let p = std::env::temp_dir().join(format!("ferromq-interop-{}-{tag}.sock", std::process::id()));
    format!("ipc://{}", p.display())
}

const SIZES: [usize; 5] = [0, 1, 255, 256, 1 << 20];

/// PUSH-01, PULL-01, T-02, T-06: libzmq PUSH binds, our PULL connects (tcp, ipc).
#[test]
fn libzmq_push_binds_our_pull_connects() {
    for ep in ["tcp://127.0.0.1:*".to_owned(), ipc("a")] {
        let z = zmq::Context::new();
        let push = zsock(&z, zmq::PUSH);
        push.bind(&ep).unwrap();
        let ep = push.get_last_endpoint().unwrap().unwrap();
        let ctx = Context::new().unwrap();
        let mut pull = ours(&ctx, SocketType::Pull);
        pull.connect(&ep).unwrap();
        for n in SIZES {
            push.send(vec![n as u8; n], 0).unwrap();
        }
        push.send_multipart(["x", "y"], 0).unwrap();
        for n in SIZES {
            assert_eq!(pull.recv().unwrap().len(), n, "{ep}");
        }
        let m = pull.recv_multipart().unwrap();
        assert_eq!(m.len(), 2);
    }
}

/// PUSH-01, PULL-01, L-01: our PUSH binds, libzmq PULL connects (tcp, ipc); our PUSH connects
/// to a libzmq PULL.
#[test]
fn our_push_to_libzmq_pull_both_directions() {
    for ep in ["tcp://127.0.0.1:*".to_owned(), ipc("b")] {
        let ctx = Context::new().unwrap();
        let mut push = ours(&ctx, SocketType::Push);
        push.bind(&ep).unwrap();
        let z = zmq::Context::new();
        let pull = zsock(&z, zmq::PULL);
        pull.connect(push.last_endpoint().unwrap()).unwrap();
        for n in SIZES {
            push.send(vec![7u8; n]).unwrap();
            assert_eq!(pull.recv_bytes(0).unwrap().len(), n, "{ep}");
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

    let mut q = ours(&ctx, SocketType::Pair);
    q.bind(&ipc("c")).unwrap();
    let zq = zsock(&z, zmq::PAIR);
    zq.connect(q.last_endpoint().unwrap()).unwrap();
    zq.send("to us", 0).unwrap();
    assert_eq!(&q.recv().unwrap()[..], b"to us");
    q.send("to them").unwrap();
    assert_eq!(zq.recv_bytes(0).unwrap(), b"to them");
}

/// PUSH-02 over tcp with a real peer: a PUSH whose peer stops reading blocks at the HWM
/// (plus kernel buffers, Q-02) and times out with SNDTIMEO instead of dropping.
#[test]
fn push_blocks_at_hwm_and_times_out() {
    let z = zmq::Context::new();
    let pull = zsock(&z, zmq::PULL);
    pull.set_rcvhwm(10).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ctx = Context::new().unwrap();
    let mut push = ours(&ctx, SocketType::Push);
    push.set_sndhwm(10);
    push.set_sndtimeo(Some(Duration::from_millis(200)));
    push.connect(&pull.get_last_endpoint().unwrap().unwrap()).unwrap();
    let body = vec![0u8; 64 * 1024];
    let mut sent = 0;
    loop {
        match push.send(body.clone()) {
            Ok(()) => sent += 1,
            Err(ferromq::Error::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 100_000, "never blocked");
    }
    // Everything sent arrives: nothing was dropped at the HWM.
    for _ in 0..sent {
        assert_eq!(pull.recv_bytes(0).unwrap().len(), body.len());
    }
}
