//! Request-reply through the runtime: REQ, REP, DEALER and ROUTER over tcp, ipc and inproc
//! (REQ, REP, DEALER, ROUTER items; T-10 for inproc routing ids).

use crate::common::*;
use ferromq::{MonitorEvent, PollEvents, Socket};

/// REQ-01, REQ-03, REP-01, REP-03 end to end: round trips of assorted sizes and a multipart
/// request over every transport; out of turn is InvalidState (EFSM) on both sides.
#[test]
fn req_rep_round_trips_over_every_transport() {
    let ctx = ctx();
    for ep in endpoints("roundtrip") {
        let mut rep = sock(&ctx, SocketType::Rep, |_| {});
        let ep = bind(&mut rep, &ep);
        let mut req = sock(&ctx, SocketType::Req, |_| {});
        req.connect(&ep).unwrap();
        assert!(matches!(req.recv(), Err(Error::InvalidState(_))), "{ep}: recv before send");
        assert!(matches!(rep.send("x"), Err(Error::InvalidState(_))), "{ep}: send before recv");
        for n in [0usize, 1, 255, 256, 100_000] {
            req.send(body(n)).unwrap();
            assert!(matches!(req.send("again"), Err(Error::InvalidState(_))), "{ep}");
            let q = rep.recv_multipart().unwrap();
            assert_eq!(parts(&q), vec![body(n)], "{ep}: only the body reaches the REP");
            assert!(matches!(rep.recv(), Err(Error::InvalidState(_))), "{ep}");
            rep.send(body(n + 1)).unwrap();
            assert_eq!(parts(&req.recv_multipart().unwrap()), vec![body(n + 1)], "{ep}");
        }
        req.send_multipart(vec!["a", "b"]).unwrap();
        assert_eq!(parts(&rep.recv_multipart().unwrap()), v(&[b"a", b"b"]), "{ep}");
        rep.send_multipart(vec!["c", "d"]).unwrap();
        assert_eq!(parts(&req.recv_multipart().unwrap()), v(&[b"c", b"d"]), "{ep}");
    }
}

/// REQ-04: with no peer a request would block (DONTWAIT, or SNDTIMEO running out) and is not
/// lost: once a REP connects, it is sent.
#[test]
fn req04_no_peer_blocks_then_sends() {
    let ctx = ctx();
    let mut req = sock(&ctx, SocketType::Req, |o| o.sndtimeo = Some(Duration::from_millis(50)));
    let ep = bind(&mut req, "tcp://127.0.0.1:*");
    assert!(matches!(req.send_msg(Msg::from("q"), true), Err(Error::WouldBlock)));
    assert!(matches!(req.send("q"), Err(Error::WouldBlock)));
    assert!(matches!(req.recv(), Err(Error::InvalidState(_))), "nothing was sent");
    let mut rep = sock(&ctx, SocketType::Rep, |_| {});
    rep.connect(&ep).unwrap();
    let mut o = req.options().clone();
    o.sndtimeo = T;
    req.set_options(o).unwrap();
    req.send("q").unwrap();
    assert_eq!(&rep.recv().unwrap()[..], b"q");
}

/// REQ-02, REP-01: a REQ's requests rotate over its REPs; a REP serves its REQs in turn.
#[test]
fn req02_requests_rotate_over_servers() {
    let ctx = ctx();
    let mut reps: Vec<Socket> = (0..2).map(|_| sock(&ctx, SocketType::Rep, |_| {})).collect();
    let mut req = sock(&ctx, SocketType::Req, |_| {});
    let eps: Vec<String> = reps.iter_mut().map(|r| bind(r, "tcp://127.0.0.1:*")).collect();
    let mon = req.monitor();
    for ep in &eps {
        req.connect(ep).unwrap();
    }
    let mut up = 0;
    while up < 2 {
        if let Some(MonitorEvent::HandshakeSucceeded { .. }) =
            mon.recv_timeout(Duration::from_secs(10))
        {
            up += 1;
        }
    }
    let mut served = Vec::new();
    for i in 0..4u8 {
        req.send(vec![i]).unwrap();
        let who = loop {
            if let Some(w) = (0..2).find(|&w| reps[w].events().unwrap().contains(PollEvents::IN)) {
                break w;
            }
            std::thread::yield_now();
        };
        assert_eq!(&reps[who].recv().unwrap()[..], &[i]);
        reps[who].send("ok").unwrap();
        assert_eq!(&req.recv().unwrap()[..], b"ok");
        served.push(who);
    }
    assert_ne!(served[0], served[1], "round-robin: {served:?}");
    assert_eq!((served[0], served[1]), (served[2], served[3]), "{served:?}");
}

/// ROUTER-01, ROUTER-04, T-10 over every transport: a DEALER's ROUTING_ID is its routing id at
/// the ROUTER (inproc too); an anonymous DEALER gets `00` + 4 octets; replies find each.
#[test]
fn router_dealer_identities_over_every_transport() {
    let ctx = ctx();
    for ep in endpoints("ids") {
        let mut router = sock(&ctx, SocketType::Router, |_| {});
        let ep = bind(&mut router, &ep);
        let mut named = sock(&ctx, SocketType::Dealer, |o| o.routing_id = "named".into());
        let mut anon = sock(&ctx, SocketType::Dealer, |_| {});
        named.connect(&ep).unwrap();
        anon.connect(&ep).unwrap();
        named.send("from named").unwrap();
        let m = parts(&router.recv_multipart().unwrap());
        assert_eq!(m, v(&[b"named", b"from named"]), "{ep}");
        anon.send("from anon").unwrap();
        let m = parts(&router.recv_multipart().unwrap());
        assert_eq!((m[0].len(), m[0][0]), (5, 0), "{ep}: a generated id");
        assert_eq!(m[1], b"from anon", "{ep}");
        router.send_multipart(vec![&m[0][..], b"to anon"]).unwrap();
        router.send_multipart(vec![&b"named"[..], b"to named"]).unwrap();
        assert_eq!(&anon.recv().unwrap()[..], b"to anon", "{ep}");
        assert_eq!(&named.recv().unwrap()[..], b"to named", "{ep}");
    }
}

/// ROUTER-02: an unknown routing id is dropped silently, or HostUnreachable with
/// ROUTER_MANDATORY; the option applies at once (O-02).
#[test]
fn router02_unknown_peer() {
    let ctx = ctx();
    let mut router = sock(&ctx, SocketType::Router, |_| {});
    let ep = bind(&mut router, "tcp://127.0.0.1:*");
    let mut dealer = sock(&ctx, SocketType::Dealer, |o| o.routing_id = "d".into());
    dealer.connect(&ep).unwrap();
    dealer.send("hello").unwrap();
    assert_eq!(parts(&router.recv_multipart().unwrap()), v(&[b"d", b"hello"]));
    router.send_multipart(vec!["nobody", "lost"]).unwrap();
    let mut o = router.options().clone();
    o.router_mandatory = true;
    router.set_options(o).unwrap();
    let e = router.send_multipart(vec!["nobody", "refused"]).unwrap_err();
    assert!(matches!(e, Error::HostUnreachable), "{e:?}");
    router.send_multipart(vec!["d", "found"]).unwrap();
    assert_eq!(&dealer.recv().unwrap()[..], b"found", "only what was routable arrived");
}

/// ROUTER-03, API-02: a full peer's messages are dropped, or with ROUTER_MANDATORY the send
/// would block and POLLOUT is off until the peer reads.
#[test]
fn router03_full_peer_drops_or_blocks() {
    let ctx = ctx();
    let mut router = sock(&ctx, SocketType::Router, |o| o.sndhwm = 1);
    router.bind("inproc://router03").unwrap();
    let mut dealer = sock(&ctx, SocketType::Dealer, |o| {
        o.routing_id = "d".into();
        o.rcvhwm = 1;
    });
    dealer.connect("inproc://router03").unwrap();
    dealer.send("hi").unwrap();
    router.recv_multipart().unwrap();
    // inproc: the pipe holds SNDHWM + RCVHWM.
    for i in 0..5u8 {
        router.send_multipart(vec![&b"d"[..], &[i]]).unwrap();
    }
    assert!(router.events().unwrap().contains(PollEvents::OUT), "POLLOUT always without MANDATORY");
    let mut o = router.options().clone();
    o.router_mandatory = true;
    router.set_options(o).unwrap();
    assert!(!router.events().unwrap().contains(PollEvents::OUT), "no peer with room");
    let e = router.send_msg(Msg::from("d").with_more(true), true).unwrap_err();
    assert!(matches!(e, Error::WouldBlock), "{e:?}");
    assert_eq!(&dealer.recv().unwrap()[..], &[0]);
    assert_eq!(&dealer.recv().unwrap()[..], &[1]);
    assert!(router.events().unwrap().contains(PollEvents::OUT));
    router.send_multipart(vec![&b"d"[..], b"after"]).unwrap();
    assert_eq!(&dealer.recv().unwrap()[..], b"after", "2..4 were dropped, nothing else");
}

/// ROUTER-05: a second peer with a routing id in use is refused, and the first keeps it; with
/// ROUTER_HANDOVER the newcomer takes it over.
#[test]
fn router05_duplicate_ids_refused_or_handed_over() {
    for handover in [false, true] {
        let ctx = ctx();
        let mut router = sock(&ctx, SocketType::Router, |o| o.router_handover = handover);
        let ep = bind(&mut router, "tcp://127.0.0.1:*");
        let mut first = sock(&ctx, SocketType::Dealer, |o| o.routing_id = "same".into());
        first.connect(&ep).unwrap();
        first.send("first").unwrap();
        assert_eq!(parts(&router.recv_multipart().unwrap()), v(&[b"same", b"first"]));
        let mut second = sock(&ctx, SocketType::Dealer, |o| o.routing_id = "same".into());
        let mon = router.monitor();
        second.connect(&ep).unwrap();
        second.send("second").unwrap();
        if handover {
            assert_eq!(parts(&router.recv_multipart().unwrap()), v(&[b"same", b"second"]));
        } else {
            // The ROUTER closes the refused connection once it applies the attach, which it
            // does when it is used, as libzmq processes commands.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                assert!(
                    matches!(router.recv_msg(true), Err(Error::WouldBlock)),
                    "refused peer read"
                );
                if let Some(MonitorEvent::Disconnected { .. }) =
                    mon.recv_timeout(Duration::from_millis(20))
                {
                    break;
                }
                assert!(Instant::now() < deadline, "the duplicate was never refused");
            }
        }
        router.send_multipart(vec!["same", "to the holder"]).unwrap();
        let (holder, other) =
            if handover { (&mut second, &mut first) } else { (&mut first, &mut second) };
        assert_eq!(&holder.recv().unwrap()[..], b"to the holder", "handover {handover}");
        assert!(matches!(other.recv_msg(true), Err(Error::WouldBlock)), "handover {handover}");
    }
}

/// ROUTER-06: ROUTER to ROUTER. Named with CONNECT_ROUTING_ID, the connecting ROUTER sends at
/// once; the bound one learns the connector's ROUTING_ID and answers. Unnamed, the bound one
/// names the connector by its Identity once it hears from it.
#[test]
fn router06_router_to_router_named_and_unnamed() {
    let ctx = ctx();
    for ep in endpoints("r2r") {
        let mut server = sock(&ctx, SocketType::Router, |o| o.routing_id = "server".into());
        let ep = bind(&mut server, &ep);
        let mut client = sock(&ctx, SocketType::Router, |o| {
            o.routing_id = "client".into();
            o.connect_routing_id = Some("srv".into());
            o.router_mandatory = true;
        });
        client.connect(&ep).unwrap();
        client.send_multipart(vec!["srv", "hello"]).unwrap();
        assert_eq!(parts(&server.recv_multipart().unwrap()), v(&[b"client", b"hello"]), "{ep}");
        server.send_multipart(vec!["client", "back"]).unwrap();
        assert_eq!(parts(&client.recv_multipart().unwrap()), v(&[b"srv", b"back"]), "{ep}");
        // Unnamed: the connector knows the server by its Identity once the handshake is
        // done (MANDATORY says when), and the server knows the connector by a generated id.
        let mut anon = sock(&ctx, SocketType::Router, |o| o.router_mandatory = true);
        anon.connect(&ep).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while anon.send_msg(Msg::from("server").with_more(true), true).is_err() {
            assert!(Instant::now() < deadline, "{ep}: the server never became routable");
            std::thread::yield_now();
        }
        anon.send("hi").unwrap();
        let m = parts(&server.recv_multipart().unwrap());
        assert_eq!((m[0].len(), m[0][0], &m[1][..]), (5, 0, &b"hi"[..]), "{ep}");
        server.send_multipart(vec![&m[0][..], b"hello anon"]).unwrap();
        assert_eq!(parts(&anon.recv_multipart().unwrap()), v(&[b"server", b"hello anon"]));
    }
}

/// REQ-08, REQ-07: with REQ_RELAXED a REQ whose server does not answer asks again (the next
/// server, round-robin) after RCVTIMEO; with REQ_CORRELATE the late answer to the first
/// request is dropped.
#[test]
fn req08_relaxed_correlated_retry() {
    let ctx = ctx();
    let mut reps: Vec<Socket> = (0..2).map(|_| sock(&ctx, SocketType::Rep, |_| {})).collect();
    let eps: Vec<String> = reps.iter_mut().map(|r| bind(r, "tcp://127.0.0.1:*")).collect();
    let mut req = sock(&ctx, SocketType::Req, |o| {
        o.req_relaxed = true;
        o.req_correlate = true;
        o.rcvtimeo = Some(Duration::from_millis(100));
    });
    let mon = req.monitor();
    for ep in &eps {
        req.connect(ep).unwrap();
    }
    let mut up = 0;
    while up < 2 {
        if let Some(MonitorEvent::HandshakeSucceeded { .. }) =
            mon.recv_timeout(Duration::from_secs(10))
        {
            up += 1;
        }
    }
    req.send("first").unwrap();
    let slow = loop {
        if let Some(w) = (0..2).find(|&w| reps[w].events().unwrap().contains(PollEvents::IN)) {
            break w;
        }
        std::thread::yield_now();
    };
    assert_eq!(&reps[slow].recv().unwrap()[..], b"first");
    assert!(matches!(req.recv(), Err(Error::WouldBlock)), "no answer yet");
    req.send("second").unwrap();
    assert_eq!(&reps[1 - slow].recv().unwrap()[..], b"second", "the other server");
    reps[slow].send("late answer to first").unwrap();
    reps[1 - slow].send("answer to second").unwrap();
    let mut o = req.options().clone();
    o.rcvtimeo = T;
    req.set_options(o).unwrap();
    assert_eq!(&req.recv().unwrap()[..], b"answer to second");
}

/// ROUTER-07: PROBE_ROUTER on a DEALER sends an empty message on connect, so the ROUTER
/// learns the peer before it says anything.
#[test]
fn router07_probe_router() {
    let ctx = ctx();
    let mut router = sock(&ctx, SocketType::Router, |_| {});
    let ep = bind(&mut router, "tcp://127.0.0.1:*");
    let mut dealer = sock(&ctx, SocketType::Dealer, |o| {
        o.routing_id = "prober".into();
        o.probe_router = true;
    });
    dealer.connect(&ep).unwrap();
    assert_eq!(parts(&router.recv_multipart().unwrap()), v(&[b"prober", b""]));
    router.send_multipart(vec!["prober", "seen"]).unwrap();
    assert_eq!(&dealer.recv().unwrap()[..], b"seen");
}

/// REP-02, DEALER-04: a multi-hop envelope through a DEALER reaches the REP's application as
/// the body only and comes back byte for byte.
#[test]
fn rep02_multi_hop_envelope_round_trip() {
    let ctx = ctx();
    let mut rep = sock(&ctx, SocketType::Rep, |_| {});
    let ep = bind(&mut rep, "tcp://127.0.0.1:*");
    let mut dealer = sock(&ctx, SocketType::Dealer, |_| {});
    dealer.connect(&ep).unwrap();
    dealer.send_multipart(vec![&b"hop2"[..], b"\x00hop1", b"", b"body"]).unwrap();
    assert_eq!(parts(&rep.recv_multipart().unwrap()), v(&[b"body"]));
    rep.send("reply").unwrap();
    let m = parts(&dealer.recv_multipart().unwrap());
    assert_eq!(m, v(&[b"hop2", b"\x00hop1", b"", b"reply"]));
}

/// DEALER-05, ROUTER-08: an accepted peer's disconnect destroys its queue: messages queued for
/// it are not delivered to whoever connects next (the bound DEALER), nor to the same routing
/// id coming back (the ROUTER).
#[test]
fn dealer05_router08_a_gone_peer_takes_its_queue() {
    for ty in [SocketType::Dealer, SocketType::Router] {
        let ctx = ctx();
        let mut bound = sock(&ctx, ty, |o| o.sndhwm = 100_000);
        let ep = bind(&mut bound, "tcp://127.0.0.1:*");
        let mon = bound.monitor();
        let peer = |id: &'static str| {
            let mut s = sock(&ctx, SocketType::Dealer, |o| {
                o.routing_id = id.into();
                o.rcvhwm = 1;
                o.linger = Some(Duration::ZERO);
            });
            s.connect(&ep).unwrap();
            s.send("hi").unwrap();
            s
        };
        let mut first = peer("p");
        // Take the first peer's hello now, for both types: left unread, it would end the wait
        // for the newcomer below at once (a DEALER still reads what a gone peer sent), and
        // "new" could then go into the old pipe before its termination reached the socket,
        // to die with it as DEALER-05 says (libzmq has the same race).
        bound.recv_multipart().unwrap();
        let send = |s: &mut Socket, what: &[u8]| match ty {
            SocketType::Router => s.send_multipart(vec![&b"p"[..], what]).unwrap(),
            _ => s.send(what.to_vec()).unwrap(),
        };
        // Far more than the peer's buffers hold: most of it waits in the bound side's pipe.
        for _ in 0..20_000 {
            send(&mut bound, &[0u8; 1000]);
        }
        assert_eq!(first.recv().unwrap().len(), 1000);
        drop(first);
        while !matches!(
            mon.recv_timeout(Duration::from_secs(10)).expect("event"),
            MonitorEvent::Disconnected { .. }
        ) {}
        let mut second = peer("p");
        // The newcomer's "hi" can go out on a connection the ROUTER refuses, while it still
        // holds the old pipe of routing id "p" (ROUTER-05), and a message written to a refused
        // connection is gone: say hi until the ROUTER has taken the newcomer. (Each refusal
        // closes that connection; the DEALER's next connection is taken once the old pipe has
        // terminated.)
        bound.set_rcvtimeo(Some(Duration::from_millis(100)));
        let deadline = Instant::now() + Duration::from_secs(10);
        let first_heard = loop {
            if let Ok(m) = bound.recv_multipart() {
                break parts(&m);
            }
            assert!(Instant::now() < deadline, "{ty:?}: the newcomer was never taken");
            second.send("hi").unwrap();
        };
        bound.set_rcvtimeo(T);
        if ty == SocketType::Router {
            // The new peer is known once its first message has arrived.
            assert_eq!(first_heard, v(&[b"p", b"hi"]));
        } else {
            assert_eq!(first_heard, v(&[b"hi"]));
        }
        send(&mut bound, b"new");
        let new = second.recv().unwrap_or_else(|e| panic!("{ty:?}: \"new\" never came ({e})"));
        assert_eq!(&new[..], b"new", "{ty:?}: the old queue died with it");
    }
}

/// REP-01, REP-02: a REP serves its clients in turn and each reply goes back to the client
/// that asked, whatever the order of the requests.
#[test]
fn rep01_each_reply_goes_to_its_client() {
    let ctx = ctx();
    let mut rep = sock(&ctx, SocketType::Rep, |_| {});
    let ep = bind(&mut rep, "tcp://127.0.0.1:*");
    let mut clients: Vec<Socket> = (0..3).map(|_| sock(&ctx, SocketType::Req, |_| {})).collect();
    for c in &mut clients {
        c.connect(&ep).unwrap();
    }
    for round in 0..3u8 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.send(vec![round, i as u8]).unwrap();
        }
        for _ in 0..clients.len() {
            let q = rep.recv().unwrap();
            rep.send(vec![q[0], q[1], b'!']).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            assert_eq!(&c.recv().unwrap()[..], &[round, i as u8, b'!'], "client {i}");
        }
    }
}

/// REQ-05: only the peer that got the request may answer: a "reply" that another ROUTER
/// sends the REQ first is dropped, and the genuine one is taken.
#[test]
fn req05_a_reply_from_a_peer_not_asked_is_dropped() {
    let ctx = ctx();
    let mut routers: Vec<Socket> =
        (0..2).map(|_| sock(&ctx, SocketType::Router, |o| o.router_mandatory = true)).collect();
    let eps: Vec<String> = routers.iter_mut().map(|r| bind(r, "tcp://127.0.0.1:*")).collect();
    let mut req = sock(&ctx, SocketType::Req, |o| o.routing_id = "req".into());
    let mon = req.monitor();
    for ep in &eps {
        req.connect(ep).unwrap();
    }
    let mut up = 0;
    while up < 2 {
        if let Some(MonitorEvent::HandshakeSucceeded { .. }) =
            mon.recv_timeout(Duration::from_secs(10))
        {
            up += 1;
        }
    }
    req.send("question").unwrap();
    let (asked, other) = loop {
        if routers[0].events().unwrap().contains(PollEvents::IN) {
            break (0, 1);
        }
        if routers[1].events().unwrap().contains(PollEvents::IN) {
            break (1, 0);
        }
        std::thread::yield_now();
    };
    let q = parts(&routers[asked].recv_multipart().unwrap());
    assert_eq!(q, v(&[b"req", b"", b"question"]));
    // The other ROUTER knows the REQ too (MANDATORY would refuse it otherwise)...
    while routers[other].send_msg(Msg::from("req").with_more(true), true).is_err() {
        std::thread::yield_now();
    }
    routers[other].send_multipart(vec!["", "impostor"]).unwrap();
    // ...and its message reaches the REQ's pipe before the genuine reply is sent.
    while !req.events().unwrap().contains(PollEvents::IN) {
        std::thread::yield_now();
    }
    routers[asked].send_multipart(vec!["req", "", "genuine"]).unwrap();
    assert_eq!(&req.recv().unwrap()[..], b"genuine");
}

/// ROUTER-04: generated routing ids are distinct, also for a peer that reconnects as a new
/// socket while the others stay.
#[test]
fn router04_generated_ids_are_distinct() {
    let ctx = ctx();
    let mut router = sock(&ctx, SocketType::Router, |_| {});
    let ep = bind(&mut router, "tcp://127.0.0.1:*");
    let mut ids = std::collections::BTreeSet::new();
    let mut keep = Vec::new();
    for i in 0..4u8 {
        let mut d = sock(&ctx, SocketType::Dealer, |_| {});
        d.connect(&ep).unwrap();
        d.send(vec![i]).unwrap();
        let m = parts(&router.recv_multipart().unwrap());
        assert_eq!(m[1], [i]);
        assert!(ids.insert(m[0].clone()), "id {:?} handed out twice", m[0]);
        // Each id still reaches its own peer.
        router.send_multipart(vec![&m[0][..], &[i]]).unwrap();
        assert_eq!(&d.recv().unwrap()[..], &[i]);
        if i % 2 == 0 {
            keep.push(d);
        }
    }
}
