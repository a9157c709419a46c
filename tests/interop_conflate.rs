//! CONFLATE against real libzmq 4.3, with ferromq on the conflating side: a conflating
//! PULL behind libzmq's PUSH, a conflating PUSH handing a late libzmq PULL the newest message,
//! and a conflating SUB whose every subscription reaches libzmq's XPUB.

#[path = "common/ipc.rs"]
mod ipc;
use ferromq::{Context, Error, Msg, SocketType};
use ipc::Ipc;
use std::time::Duration;

const T: Option<Duration> = Some(Duration::from_secs(10));

fn conflating(ctx: &Context, ty: SocketType) -> ferromq::Socket {
    let mut s = ctx.socket(ty).unwrap();
    let mut o = s.options().clone();
    o.conflate = true;
    o.rcvtimeo = T;
    o.sndtimeo = T;
    s.set_options(o).unwrap();
    s
}

fn number(b: &[u8]) -> u32 {
    u32::from_be_bytes(b.try_into().expect("a 4-byte number"))
}

/// libzmq's PUSH floods a conflating ferromq PULL, over tcp and ipc: ferromq sees a
/// rising run that ends with the last number, then nothing.
#[test]
fn q10_a_conflating_pull_behind_libzmq_push() {
    let ipc = Ipc::new("cf-interop-pull");
    for ep in ["tcp://127.0.0.1:*".to_owned(), ipc.endpoint()] {
        let ctx = Context::new().unwrap();
        let mut pull = conflating(&ctx, SocketType::Pull);
        pull.bind(&ep).unwrap();
        let ep = pull.last_endpoint().unwrap().to_owned();
        let z = zmq::Context::new();
        let push = z.socket(zmq::PUSH).unwrap();
        push.set_sndhwm(0).unwrap();
        push.connect(&ep).unwrap();
        for i in 1..=20_000u32 {
            push.send(&i.to_be_bytes()[..], 0).unwrap();
        }
        let mut prev = 0;
        while prev < 20_000 {
            let got = number(&pull.recv().unwrap());
            assert!(got > prev, "{ep}: {got} after {prev}");
            prev = got;
        }
        pull.set_rcvtimeo(Some(Duration::from_millis(200)));
        assert!(matches!(pull.recv(), Err(Error::WouldBlock)), "{ep}: nothing after the last");
    }
}

/// a conflating ferromq PUSH with no peer yet takes 1000 sends; libzmq's PULL, bound
/// afterwards, gets only the last.
#[test]
fn q10_a_conflating_push_hands_libzmq_the_newest() {
    let ipc = Ipc::new("cf-interop-push");
    let ep = ipc.endpoint();
    let ctx = Context::new().unwrap();
    let mut push = conflating(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    for i in 1..=1000u32 {
        push.send_msg(Msg::from(i.to_be_bytes().to_vec()), true).unwrap();
    }
    let z = zmq::Context::new();
    let pull = z.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    pull.bind(&ep).unwrap();
    assert_eq!(number(&pull.recv_bytes(0).unwrap()), 1000);
    pull.set_rcvtimeo(200).unwrap();
    assert!(pull.recv_bytes(0).is_err(), "nothing after the newest");
}

/// Q-10, SUB-01: every subscription of a conflating ferromq SUB reaches libzmq's XPUB (they
/// flow against the conflated direction), and it keeps the newest of what matched.
#[test]
fn q10_a_conflating_sub_tells_libzmq_xpub_everything() {
    let z = zmq::Context::new();
    let xpub = z.socket(zmq::XPUB).unwrap();
    xpub.set_rcvtimeo(10_000).unwrap();
    // No mark: an XPUB drops at its SNDHWM, which could take the last message.
    xpub.set_sndhwm(0).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = xpub.get_last_endpoint().unwrap().unwrap();
    let ctx = Context::new().unwrap();
    let mut sub = conflating(&ctx, SocketType::Sub);
    sub.connect(&ep).unwrap();
    for t in ["a", "b", "c", "d"] {
        sub.subscribe(t).unwrap();
    }
    let mut heard: Vec<Vec<u8>> = (0..4).map(|_| xpub.recv_bytes(0).unwrap()).collect();
    heard.sort();
    assert_eq!(heard, [b"\x01a".to_vec(), b"\x01b".to_vec(), b"\x01c".to_vec(), b"\x01d".to_vec()]);
    for i in 1..=5000u32 {
        xpub.send("x-unmatched", 0).unwrap();
        xpub.send([&b"b"[..], &i.to_be_bytes()].concat(), 0).unwrap();
    }
    let mut prev = 0;
    while prev < 5000 {
        let m = sub.recv().unwrap();
        assert_eq!(m[0], b'b', "only what matched");
        let got = number(&m[1..]);
        assert!(got > prev, "{got} after {prev}");
        prev = got;
    }
}
