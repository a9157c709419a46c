//! CONFLATE through the runtime: only the newest message is kept, the high-water mark
//! does not apply, the last message before a close survives it, and subscriptions, which flow
//! against the data, are never conflated.

use crate::common::*;

fn conflating(ctx: &Context, ty: SocketType) -> Socket {
    sock(ctx, ty, |o| {
        o.conflate = true;
        // Without CONFLATE these marks would refuse the second message.
        o.sndhwm = 1;
        o.rcvhwm = 1;
    })
}

/// An endpoint nothing listens on yet: an ipc path, or a tcp port that was free a moment ago.
fn unbound(tag: &str, tcp: bool) -> String {
    if tcp {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("tcp://{}", l.local_addr().unwrap())
    } else {
        let p = std::env::temp_dir().join(format!("ferromq-{tag}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&p);
        format!("ipc://{}", p.display())
    }
}

fn number(m: &Msg) -> u32 {
    u32::from_be_bytes(m[..].try_into().expect("a 4-byte number"))
}

/// Nothing more arrives within a short wait.
fn quiet(s: &mut Socket) {
    s.set_rcvtimeo(Some(Duration::from_millis(200)));
    let got = s.recv_msg(false);
    assert!(matches!(got, Err(Error::WouldBlock)), "unexpected {got:?}");
    s.set_rcvtimeo(T);
}

/// Receives until `last`: the numbers must rise, none twice; returns how many arrived.
fn rising_until(s: &mut Socket, last: u32) -> usize {
    let (mut prev, mut n) = (None, 0);
    loop {
        let got = number(&s.recv().unwrap());
        assert!(prev.is_none_or(|p| got > p), "{got} after {prev:?}");
        prev = Some(got);
        n += 1;
        if got == last {
            return n;
        }
    }
}

/// Q-10 over inproc: a PUSH and a PULL, both conflating, with nothing read while 1000
/// messages go: every send is taken at once, and the reader then finds only the last one.
#[test]
fn q10_inproc_keeps_only_the_newest() {
    let ctx = ctx();
    let mut pull = conflating(&ctx, SocketType::Pull);
    pull.bind("inproc://q10-inproc").unwrap();
    let mut push = conflating(&ctx, SocketType::Push);
    push.connect("inproc://q10-inproc").unwrap();
    for i in 1..=1000u32 {
        push.send_msg(Msg::from(i.to_be_bytes().to_vec()), true).unwrap();
    }
    assert_eq!(number(&pull.recv().unwrap()), 1000);
    quiet(&mut pull);
}

/// Q-10 on the sending side over tcp and ipc: a conflating PUSH whose peer is not there yet
/// takes every send (its SNDHWM of 1 does not apply), and the peer that comes later gets the
/// newest message only.
#[test]
fn q10_a_conflating_sender_hands_a_late_peer_the_newest() {
    for tcp in [true, false] {
        let ctx = ctx();
        let ep = unbound("q10-late", tcp);
        let mut push = conflating(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        for i in 1..=1000u32 {
            push.send_msg(Msg::from(i.to_be_bytes().to_vec()), true).unwrap();
        }
        let mut pull = sock(&ctx, SocketType::Pull, |_| {});
        pull.bind(&ep).unwrap();
        assert_eq!(number(&pull.recv().unwrap()), 1000, "{ep}");
        quiet(&mut pull);
    }
}

/// Q-10 and L-07: the newest message queued when a conflating socket closes is still
/// delivered within its linger (libzmq's delimiter can take its place).
#[test]
fn q10_the_last_message_before_close_is_delivered() {
    for tcp in [true, false] {
        let ctx = ctx();
        let ep = unbound("q10-close", tcp);
        let mut dealer = conflating(&ctx, SocketType::Dealer);
        dealer.connect(&ep).unwrap();
        dealer.send("old").unwrap();
        dealer.send_multipart(vec!["new", "whole"]).unwrap();
        drop(dealer);
        let mut peer = sock(&ctx, SocketType::Dealer, |_| {});
        peer.bind(&ep).unwrap();
        let m = peer.recv_multipart().unwrap();
        assert_eq!(parts(&m), v(&[b"new", b"whole"]), "{ep}");
        quiet(&mut peer);
    }
}

/// Q-10 on the receiving side over every transport: a conflating PULL behind an ordinary
/// PUSH sees a rising run of numbers that ends with the last one sent, and nothing after.
#[test]
fn q10_a_conflating_receiver_sees_the_newest_in_order() {
    for ep in endpoints("q10-recv") {
        let ctx = ctx();
        let mut pull = conflating(&ctx, SocketType::Pull);
        let ep = bind(&mut pull, &ep);
        let mut push = sock(&ctx, SocketType::Push, |o| o.sndhwm = 0);
        push.connect(&ep).unwrap();
        for i in 1..=20_000u32 {
            push.send(i.to_be_bytes().to_vec()).unwrap();
        }
        rising_until(&mut pull, 20_000);
        quiet(&mut pull);
    }
}

/// Q-10, SUB-01: a conflating SUB's subscriptions all reach the publisher (they flow against
/// the conflated direction), and what it receives is the newest of what matched.
#[test]
fn q10_a_conflating_subscriber_keeps_every_subscription() {
    for ep in endpoints("q10-sub") {
        let ctx = ctx();
        // No mark: an XPUB drops at its SNDHWM, which could take the last message.
        let mut xpub = sock(&ctx, SocketType::Xpub, |o| o.sndhwm = 0);
        let ep = bind(&mut xpub, &ep);
        let mut sub = conflating(&ctx, SocketType::Sub);
        sub.connect(&ep).unwrap();
        for t in ["a", "b", "c", "d"] {
            sub.subscribe(t).unwrap();
        }
        let mut heard: Vec<Vec<u8>> = (0..4).map(|_| xpub.recv().unwrap().to_vec()).collect();
        heard.sort();
        assert_eq!(heard, v(&[b"\x01a", b"\x01b", b"\x01c", b"\x01d"]), "{ep}");
        for i in 1..=5000u32 {
            let mut body = b"b".to_vec();
            body.extend(i.to_be_bytes());
            xpub.send("x-unmatched").unwrap();
            xpub.send(body).unwrap();
        }
        let mut prev = 0;
        loop {
            let m = sub.recv().unwrap();
            assert_eq!(m[0], b'b', "{ep}: only what matched");
            let i = u32::from_be_bytes(m[1..].try_into().unwrap());
            assert!(i > prev, "{ep}: {i} after {prev}");
            prev = i;
            if i == 5000 {
                break;
            }
        }
        quiet(&mut sub);
    }
}

/// a conflating PUB never blocks and never refuses, whatever its mark, while its
/// subscriber reads nothing; the subscriber then finds the newest.
#[test]
fn q10_a_conflating_publisher_ignores_the_mark() {
    let ctx = ctx();
    let mut publisher = conflating(&ctx, SocketType::Pub);
    publisher
        .set_options({
            let mut o = publisher.options().clone();
            o.xpub_nodrop = true; // would refuse at the mark without CONFLATE
            o
        })
        .unwrap();
    publisher.bind("inproc://q10-pub").unwrap();
    let mut sub = conflating(&ctx, SocketType::Sub);
    sub.connect("inproc://q10-pub").unwrap();
    sub.subscribe("").unwrap();
    // The inproc pipe exists at once and the subscription is in it: the PUB reads it when it
    // next sends, so after the first send it matches.
    for i in 1..=1000u32 {
        publisher.send_msg(Msg::from(i.to_be_bytes().to_vec()), true).unwrap();
    }
    assert_eq!(number(&sub.recv().unwrap()), 1000);
    quiet(&mut sub);
}

/// Q-10, O-04: CONFLATE is taken by PUSH, PULL, PUB, SUB and DEALER, refused by the rest.
#[test]
fn q10_conflate_applies_to_five_types() {
    use SocketType::*;
    let ctx = ctx();
    for ty in [Push, Pull, Pub, Sub, Dealer, Req, Rep, Router, Pair, Xpub, Xsub] {
        let mut s = ctx.socket(ty).unwrap();
        let mut o = s.options().clone();
        o.conflate = true;
        let takes = matches!(ty, Push | Pull | Pub | Sub | Dealer);
        assert_eq!(s.set_options(o).is_ok(), takes, "{ty}");
    }
}
