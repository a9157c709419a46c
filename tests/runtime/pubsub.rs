//! Publish-subscribe through the runtime: PUB, SUB, XPUB and XSUB over tcp, ipc and inproc
//! (PUB, SUB, XPUB, XSUB items).
//!
//! A subscription reaches a publisher some time after `subscribe` returns (PUB-08, the slow
//! joiner), so the tests never publish on a guess: an XPUB says when a subscription arrived,
//! and a PUB is probed until its subscriber hears it.

use crate::common::*;

fn recv_bytes(s: &mut Socket) -> Vec<u8> {
    s.recv().unwrap().to_vec()
}

/// Nothing more arrives within a short wait.
fn quiet(s: &mut Socket) {
    s.set_rcvtimeo(Some(Duration::from_millis(200)));
    let got = s.recv_msg(false);
    assert!(matches!(got, Err(Error::WouldBlock)), "unexpected {got:?}");
    s.set_rcvtimeo(T);
}

/// Publishes `probe` until `sub` receives it: from then on the publisher knows `sub`'s
/// subscription to it. The probes still in flight are skipped by `recv_skipping`.
fn sync(publisher: &mut Socket, sub: &mut Socket, probe: &[u8]) {
    sub.set_rcvtimeo(Some(Duration::from_millis(20)));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        publisher.send(probe.to_vec()).unwrap();
        if let Ok(m) = sub.recv() {
            assert_eq!(&m[..], probe);
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never reached the publisher");
    }
    sub.set_rcvtimeo(T);
}

/// What an XPUB hears next while the subscriber's application keeps calling in: a bound
/// subscriber takes an accepted peer, and sends it its subscriptions, when its application
/// calls into it, as in libzmq.
fn hear(xpub: &mut Socket, sub: &mut Socket) -> Vec<u8> {
    xpub.set_rcvtimeo(Some(Duration::from_millis(20)));
    let deadline = Instant::now() + Duration::from_secs(10);
    let m = loop {
        sub.events().unwrap();
        if let Ok(m) = xpub.recv() {
            break m.to_vec();
        }
        assert!(Instant::now() < deadline, "the XPUB heard nothing");
    };
    xpub.set_rcvtimeo(T);
    m
}

fn recv_skipping(s: &mut Socket, probe: &[u8]) -> Multipart {
    loop {
        let m = s.recv_multipart().unwrap();
        if &m[0][..] != probe {
            return m;
        }
    }
}

/// PUB-01, SUB-01, SUB-05, XPUB-01, XPUB-03, XPUB-08 over every transport: each subscriber
/// gets what matches its prefixes ("" everything; a message equal to the topic matches),
/// whole, from an XPUB sending by the PUB rules; the XPUB hears each topic once.
#[test]
fn pub01_sub01_prefix_filtering_over_every_transport() {
    for ep in endpoints("ps-prefix") {
        let ctx = ctx();
        let mut xpub = sock(&ctx, SocketType::Xpub, |_| {});
        let ep = bind(&mut xpub, &ep);
        let mut a = sock(&ctx, SocketType::Sub, |_| {});
        let mut all = sock(&ctx, SocketType::Sub, |_| {});
        for s in [&mut a, &mut all] {
            s.connect(&ep).unwrap();
        }
        a.subscribe("a").unwrap();
        all.subscribe("").unwrap();
        all.subscribe("a").unwrap();
        let mut heard = vec![recv_bytes(&mut xpub), recv_bytes(&mut xpub)];
        heard.sort();
        assert_eq!(heard, [b"\x01".to_vec(), b"\x01a".to_vec()], "{ep}: once per topic");
        xpub.send("apple").unwrap();
        xpub.send("banana").unwrap();
        xpub.send_multipart(vec!["a", "two", "parts"]).unwrap();
        assert_eq!(recv_bytes(&mut a), b"apple", "{ep}");
        let m = a.recv_multipart().unwrap();
        assert_eq!(m.iter().map(|p| p.to_vec()).collect::<Vec<_>>(), v(&[b"a", b"two", b"parts"]));
        quiet(&mut a);
        assert_eq!(recv_bytes(&mut all), b"apple");
        assert_eq!(recv_bytes(&mut all), b"banana");
        assert_eq!(all.recv_multipart().unwrap().len(), 3, "{ep}");
    }
}

/// PUB-02, XSUB-01, XSUB-03: a PUB filters before the wire: an XSUB, which filters nothing,
/// sees only what matched.
#[test]
fn pub02_the_publisher_filters_before_the_wire() {
    for ep in endpoints("ps-filter") {
        let ctx = ctx();
        let mut publisher = sock(&ctx, SocketType::Pub, |_| {});
        let ep = bind(&mut publisher, &ep);
        let mut xsub = sock(&ctx, SocketType::Xsub, |_| {});
        xsub.connect(&ep).unwrap();
        xsub.send(b"\x01a".to_vec()).unwrap();
        sync(&mut publisher, &mut xsub, b"a-sync");
        publisher.send("b: not wanted").unwrap();
        publisher.send("a: wanted").unwrap();
        assert_eq!(&recv_skipping(&mut xsub, b"a-sync")[0][..], b"a: wanted", "{ep}");
        quiet(&mut xsub);
    }
}

/// SUB-04, PUB-03 on the wire: every subscribe goes up, a cancel only with the last
/// unsubscribe (an XPUB_VERBOSER sees each one), and the SUB keeps receiving until then.
#[test]
fn sub04_two_subscribes_need_two_unsubscribes() {
    for ep in endpoints("ps-count") {
        let ctx = ctx();
        let mut xpub = sock(&ctx, SocketType::Xpub, |o| o.xpub_verboser = true);
        let ep = bind(&mut xpub, &ep);
        let mut sub = sock(&ctx, SocketType::Sub, |_| {});
        sub.connect(&ep).unwrap();
        sub.subscribe("A").unwrap();
        sub.subscribe("A").unwrap();
        assert_eq!(recv_bytes(&mut xpub), b"\x01A", "{ep}");
        assert_eq!(recv_bytes(&mut xpub), b"\x01A", "{ep}");
        sub.unsubscribe("A").unwrap();
        // A marker subscription shows that nothing came before it.
        sub.subscribe("M").unwrap();
        assert_eq!(recv_bytes(&mut xpub), b"\x01M", "{ep}: a cancel went up too early");
        xpub.send("A1").unwrap();
        assert_eq!(recv_bytes(&mut sub), b"A1", "{ep}");
        sub.unsubscribe("A").unwrap();
        assert_eq!(recv_bytes(&mut xpub), b"\x00A", "{ep}");
    }
}

/// SUB-07, XPUB-04: a SUB whose publisher restarts sends its subscriptions again; the XPUB
/// that went away had heard them once.
#[test]
fn sub07_resubscribes_after_the_publisher_restarts() {
    let ctx = ctx();
    let mut xpub = sock(&ctx, SocketType::Xpub, |_| {});
    let ep = bind(&mut xpub, "tcp://127.0.0.1:*");
    let mut sub = sock(&ctx, SocketType::Sub, |_| {});
    sub.connect(&ep).unwrap();
    sub.subscribe("t").unwrap();
    assert_eq!(recv_bytes(&mut xpub), b"\x01t");
    drop(xpub);
    let mut again = sock(&ctx, SocketType::Xpub, |_| {});
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match again.bind(&ep) {
            Ok(()) => break,
            Err(Error::AddrInUse) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("{e}"),
        }
    }
    // The SUB hears of the reconnect when its application calls into it, as in libzmq, where
    // a subscriber normally waits in recv.
    assert_eq!(hear(&mut again, &mut sub), b"\x01t", "the subscription was not replayed");
    again.send("t: after the restart").unwrap();
    assert_eq!(recv_bytes(&mut sub), b"t: after the restart");
}

/// SUB-02, XSUB-04: a publisher connected after the subscriptions were made gets them, from
/// a SUB and from an XSUB.
#[test]
fn sub02_a_late_publisher_gets_the_subscriptions() {
    for ep in endpoints("ps-late") {
        let ctx = ctx();
        let mut sub = sock(&ctx, SocketType::Sub, |_| {});
        sub.subscribe("x").unwrap();
        let mut xsub = sock(&ctx, SocketType::Xsub, |_| {});
        xsub.send(b"\x01y".to_vec()).unwrap();
        let mut xpub = sock(&ctx, SocketType::Xpub, |_| {});
        let ep = bind(&mut xpub, &ep);
        sub.connect(&ep).unwrap();
        xsub.connect(&ep).unwrap();
        let mut heard = vec![recv_bytes(&mut xpub), recv_bytes(&mut xpub)];
        heard.sort();
        assert_eq!(heard, [b"\x01x".to_vec(), b"\x01y".to_vec()], "{ep}");
    }
}

/// XPUB-04: a subscriber that leaves is unsubscribed from the topics only it held.
#[test]
fn xpub04_a_departing_subscriber_is_unsubscribed() {
    for ep in endpoints("ps-leave") {
        let ctx = ctx();
        let mut xpub = sock(&ctx, SocketType::Xpub, |_| {});
        let ep = bind(&mut xpub, &ep);
        let mut stays = sock(&ctx, SocketType::Sub, |_| {});
        stays.connect(&ep).unwrap();
        stays.subscribe("shared").unwrap();
        assert_eq!(recv_bytes(&mut xpub), b"\x01shared");
        let mut leaves = sock(&ctx, SocketType::Sub, |_| {});
        leaves.connect(&ep).unwrap();
        leaves.subscribe("shared").unwrap();
        leaves.subscribe("own").unwrap();
        assert_eq!(recv_bytes(&mut xpub), b"\x01own", "{ep}: \"shared\" was no news");
        drop(leaves);
        assert_eq!(recv_bytes(&mut xpub), b"\x00own", "{ep}");
        quiet(&mut xpub);
    }
}

/// PUB-04: a subscriber that does not read fills its queue and misses messages; the
/// publisher never blocks and the other subscriber is served.
#[test]
fn pub04_a_stalled_subscriber_never_blocks_the_publisher() {
    for ep in endpoints("ps-hwm") {
        let ctx = ctx();
        let mut publisher =
            sock(&ctx, SocketType::Pub, |o| o.sndtimeo = Some(Duration::from_secs(2)));
        publisher.set_sndhwm(10);
        let ep = bind(&mut publisher, &ep);
        let mut reader = sock(&ctx, SocketType::Sub, |_| {});
        let mut stalled = sock(&ctx, SocketType::Sub, |_| {});
        stalled.set_rcvhwm(10);
        for s in [&mut reader, &mut stalled] {
            s.connect(&ep).unwrap();
            s.subscribe("").unwrap();
            sync(&mut publisher, s, b"sync");
        }
        // Far more than the stalled subscriber's queues and buffers hold.
        let body = vec![7u8; 1000];
        for i in 0..20_000u32 {
            publisher.send(body.clone()).unwrap_or_else(|e| panic!("{ep}: send {i}: {e}"));
        }
        publisher.send("end").unwrap();
        reader.set_rcvtimeo(Some(Duration::from_secs(2)));
        let mut got = 0;
        while let Ok(m) = reader.recv() {
            got += 1;
            if &m[..] == b"end" {
                break;
            }
        }
        assert!(got > 10, "{ep}: the reading subscriber got {got} messages");
    }
}

/// PUB-06: with XPUB_NODROP a full subscriber makes the send wait (or `WouldBlock`), and
/// delivery goes on once it reads.
#[test]
fn pub06_nodrop_waits_instead_of_dropping() {
    let ctx = ctx();
    let mut publisher = sock(&ctx, SocketType::Pub, |o| {
        o.xpub_nodrop = true;
        o.sndhwm = 2;
    });
    publisher.bind("inproc://ps-nodrop").unwrap();
    let mut sub = sock(&ctx, SocketType::Sub, |o| o.rcvhwm = 2);
    sub.connect("inproc://ps-nodrop").unwrap();
    sub.subscribe("").unwrap();
    sync(&mut publisher, &mut sub, b"sync");
    let mut sent = 0u32;
    while publisher.send_msg(Msg::from(sent.to_be_bytes()), true).is_ok() {
        sent += 1;
        assert!(sent < 100, "never full");
    }
    let mut got = Vec::new();
    while got.len() < sent as usize {
        let m = recv_skipping(&mut sub, b"sync");
        got.push(u32::from_be_bytes(m[0][..].try_into().unwrap()));
    }
    assert_eq!(got, (0..sent).collect::<Vec<_>>(), "nothing was dropped");
    publisher.send_msg(Msg::from(sent.to_be_bytes()), true).unwrap();
}

/// XPUB-07: a subscriber subscribed to the welcome message gets it on connecting.
#[test]
fn xpub07_the_welcome_message() {
    for ep in endpoints("ps-welcome") {
        let ctx = ctx();
        let mut xpub = sock(&ctx, SocketType::Xpub, |o| {
            o.xpub_welcome_msg = Some(bytes::Bytes::from_static(b"WELCOME"));
        });
        let ep = bind(&mut xpub, &ep);
        let mut sub = sock(&ctx, SocketType::Sub, |_| {});
        sub.subscribe("WELCOME").unwrap();
        sub.connect(&ep).unwrap();
        // As in libzmq, a socket takes new peers when its application calls into it.
        assert_eq!(recv_bytes(&mut xpub), b"\x01WELCOME", "{ep}");
        assert_eq!(recv_bytes(&mut sub), b"WELCOME", "{ep}");
    }
}

/// PUB-05, SUB-06: the directions a type does not have, and SUBSCRIBE on a type without it.
#[test]
fn pub05_sub06_unsupported_directions() {
    let ctx = ctx();
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    let mut sub = ctx.socket(SocketType::Sub).unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(publisher.recv_msg(true), Err(Error::NotSupported)));
    assert!(matches!(sub.send("x"), Err(Error::NotSupported)));
    assert!(matches!(push.subscribe("x"), Err(Error::InvalidArgument(_))));
    assert!(matches!(publisher.subscribe("x"), Err(Error::InvalidArgument(_))));
    let mut o = push.options().clone();
    o.xpub_verbose = true;
    assert!(matches!(push.set_options(o), Err(Error::InvalidArgument(_))));
}

/// A connecting XPUB whose subscriber is replaced (it restarts on the same endpoint) forgets
/// what the old one subscribed to and welcomes the new one: the newcomer, an XSUB that
/// filters nothing, gets only what it asked for. (libzmq keeps the old subscriptions.)
#[test]
fn xpub04_xpub07_a_replaced_subscriber_does_not_inherit_subscriptions() {
    let ctx = ctx();
    let mut old = sock(&ctx, SocketType::Sub, |_| {});
    let ep = bind(&mut old, "tcp://127.0.0.1:*");
    let mut xpub = sock(&ctx, SocketType::Xpub, |o| {
        o.xpub_welcome_msg = Some(bytes::Bytes::from_static(b"new: welcome"));
    });
    xpub.connect(&ep).unwrap();
    old.subscribe("old").unwrap();
    assert_eq!(hear(&mut xpub, &mut old), b"\x01old");
    drop(old);
    let mut new = sock(&ctx, SocketType::Xsub, |_| {});
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match new.bind(&ep) {
            Ok(()) => break,
            Err(Error::AddrInUse) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("{e}"),
        }
    }
    new.send(b"\x01new".to_vec()).unwrap();
    let mut heard = vec![hear(&mut xpub, &mut new), hear(&mut xpub, &mut new)];
    heard.sort();
    assert_eq!(heard, [b"\x00old".to_vec(), b"\x01new".to_vec()]);
    assert_eq!(recv_bytes(&mut new), b"new: welcome");
    xpub.send("old: for the old subscriber").unwrap();
    xpub.send("new: for the new one").unwrap();
    assert_eq!(recv_bytes(&mut new), b"new: for the new one");
    quiet(&mut new);
}

/// SUB-02, SUB-04: subscriptions are never dropped at the high-water mark. A SUB with SNDHWM 1
/// that changes its subscriptions while no publisher is there yet still gets every one of them
/// to the publisher that comes (libzmq drops those beyond the mark, and the replay too).
#[test]
fn sub02_subscriptions_made_while_disconnected_survive_the_hwm() {
    // ipc and inproc: the endpoint must be known before anything listens on it.
    for ep in endpoints("ps-sub-hwm").into_iter().skip(1) {
        let ctx = ctx();
        let mut sub = sock(&ctx, SocketType::Sub, |o| o.sndhwm = 1);
        sub.connect(&ep).unwrap();
        for t in ["a", "b", "c", "d", "e"] {
            sub.subscribe(t).unwrap();
        }
        sub.unsubscribe("c").unwrap();
        let mut xpub = sock(&ctx, SocketType::Xpub, |_| {});
        xpub.bind(&ep).unwrap();
        // Over ipc the queued subscriptions arrive as made; over inproc the pipe is made at
        // the bind and the SUB gives it what it holds then. Either way the XPUB ends up
        // knowing exactly what the SUB holds.
        let want: std::collections::BTreeSet<Vec<u8>> =
            ["a", "b", "d", "e"].iter().map(|t| t.as_bytes().to_vec()).collect();
        let mut known = std::collections::BTreeSet::new();
        while known != want {
            let m = hear(&mut xpub, &mut sub);
            match m[0] {
                1 => known.insert(m[1..].to_vec()),
                _ => known.remove(&m[1..]),
            };
        }
        xpub.send("e: at last").unwrap();
        assert_eq!(recv_bytes(&mut sub), b"e: at last", "{ep}");
    }
}

/// L-07 for subscribers: a SUB closed while its publisher is gone owes nobody the
/// subscriptions it made meanwhile, so `term` returns even with an infinite linger instead of
/// waiting for a publisher to take them.
#[test]
fn l07_a_closing_subscriber_owes_no_subscriptions() {
    plant();
    let pub_ctx = Context::new().unwrap();
    let mut xpub = pub_ctx.socket(SocketType::Xpub).unwrap();
    xpub.set_rcvtimeo(T);
    let ep = bind(&mut xpub, "tcp://127.0.0.1:*");
    let sub_ctx = Context::new().unwrap();
    let mut sub = sub_ctx.socket(SocketType::Sub).unwrap();
    // A SUB starts with LINGER 0 (O-05); this one lingers for ever.
    sub.set_linger(None);
    sub.connect(&ep).unwrap();
    sub.subscribe("a").unwrap();
    assert_eq!(recv_bytes(&mut xpub), b"\x01a");
    drop(xpub);
    pub_ctx.term();
    // Made while the publisher is gone: queued for a connection that never comes back.
    sub.unsubscribe("a").unwrap();
    sub.subscribe("b").unwrap();
    drop(sub);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        sub_ctx.term();
        let _ = tx.send(());
    });
    assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok(), "term waited on subscriptions");
}

/// PUB-08, the slow joiner: what is published before a subscription reaches the publisher is
/// never delivered to that subscriber, even once it has arrived.
#[test]
fn pub08_messages_before_the_subscription_arrived_are_not_delivered() {
    for ep in endpoints("ps-joiner") {
        let ctx = ctx();
        let mut xpub = sock(&ctx, SocketType::Xpub, |_| {});
        let ep = bind(&mut xpub, &ep);
        let mut sub = sock(&ctx, SocketType::Sub, |_| {});
        sub.connect(&ep).unwrap();
        // Published while nobody has subscribed: dropped at the publisher.
        xpub.send("a: too early").unwrap();
        sub.subscribe("a").unwrap();
        assert_eq!(hear(&mut xpub, &mut sub), b"\x01a", "{ep}");
        xpub.send("a: in time").unwrap();
        assert_eq!(recv_bytes(&mut sub), b"a: in time", "{ep}");
        quiet(&mut sub);
    }
}
