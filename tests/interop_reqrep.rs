//! Request-reply against real libzmq 4.3: every compatible pair of REQ, REP, DEALER and ROUTER
//! (RFC 37's table), ferromq on one side and libzmq on the other, either side binding, over
//! tcp and ipc, with 1 B, 255 B, 256 B and 1 MiB bodies compared byte for byte; routing ids
//! as libzmq sees ours and ours see libzmq's; ROUTER_MANDATORY against a libzmq peer; and a
//! multi-hop envelope through a ferromq ROUTER–DEALER broker between libzmq clients and
//! workers.

#[path = "common/ipc.rs"]
mod ipc;
use ferromq::{Context, Error, Msg, PollEvents, PollItem, SocketType};
use ipc::Ipc;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [1, 255, 256, 1 << 20];

fn body(n: usize, tag: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(13).wrapping_add(tag)).collect()
}

type Frames = Vec<Vec<u8>>;

/// One side of a test, whichever library it is.
trait Side {
    fn bind(&mut self, ep: &str) -> String;
    fn connect(&mut self, ep: &str);
    fn send(&mut self, frames: &Frames);
    fn recv(&mut self) -> Frames;
    /// Sends with ROUTER_MANDATORY on, retrying while the peer is not routable yet.
    fn send_when_routable(&mut self, frames: &Frames);
}

struct Ours(ferromq::Socket);

impl Side for Ours {
    fn bind(&mut self, ep: &str) -> String {
        self.0.bind(ep).unwrap();
        self.0.last_endpoint().unwrap().to_owned()
    }
    fn connect(&mut self, ep: &str) {
        self.0.connect(ep).unwrap();
    }
    fn send(&mut self, frames: &Frames) {
        self.0.send_multipart(frames.clone()).unwrap();
    }
    fn recv(&mut self) -> Frames {
        self.0.recv_multipart().unwrap().iter().map(|m| m.to_vec()).collect()
    }
    fn send_when_routable(&mut self, frames: &Frames) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.0.send_msg(Msg::from(frames[0].clone()).with_more(true), true) {
                Ok(()) => break,
                Err(Error::HostUnreachable) => assert!(Instant::now() < deadline, "never routable"),
                Err(e) => panic!("{e}"),
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.0.send_multipart(frames[1..].to_vec()).unwrap();
    }
}

struct Theirs(zmq::Socket);

impl Side for Theirs {
    fn bind(&mut self, ep: &str) -> String {
        self.0.bind(ep).unwrap();
        self.0.get_last_endpoint().unwrap().unwrap()
    }
    fn connect(&mut self, ep: &str) {
        self.0.connect(ep).unwrap();
    }
    fn send(&mut self, frames: &Frames) {
        self.0.send_multipart(frames, 0).unwrap();
    }
    fn recv(&mut self) -> Frames {
        self.0.recv_multipart(0).unwrap()
    }
    fn send_when_routable(&mut self, frames: &Frames) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.0.send(&frames[0][..], zmq::SNDMORE | zmq::DONTWAIT) {
                Ok(()) => break,
                Err(zmq::Error::EHOSTUNREACH) => {
                    assert!(Instant::now() < deadline, "never routable")
                }
                Err(e) => panic!("{e}"),
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.0.send_multipart(&frames[1..], 0).unwrap();
    }
}

fn zmq_type(t: SocketType) -> zmq::SocketType {
    match t {
        SocketType::Req => zmq::REQ,
        SocketType::Rep => zmq::REP,
        SocketType::Dealer => zmq::DEALER,
        SocketType::Router => zmq::ROUTER,
        _ => unreachable!("request-reply types only"),
    }
}

/// A socket of type `t` from ferromq (`ours`) or libzmq, named `id` (ROUTING_ID), with
/// ROUTER_MANDATORY on for a ROUTER.
fn make(
    ours: bool,
    t: SocketType,
    id: &'static str,
    z: &zmq::Context,
    ctx: &Context,
) -> Box<dyn Side> {
    if ours {
        let mut s = ctx.socket(t).unwrap();
        let mut o = s.options().clone();
        o.rcvtimeo = Some(Duration::from_secs(10));
        o.sndtimeo = Some(Duration::from_secs(10));
        o.linger = Some(Duration::from_secs(1));
        o.routing_id = id.into();
        o.router_mandatory = t == SocketType::Router;
        s.set_options(o).unwrap();
        Box::new(Ours(s))
    } else {
        let s = z.socket(zmq_type(t)).unwrap();
        s.set_rcvtimeo(10_000).unwrap();
        s.set_sndtimeo(10_000).unwrap();
        s.set_linger(1000).unwrap();
        s.set_identity(id.as_bytes()).unwrap();
        if t == SocketType::Router {
            s.set_router_mandatory(true).unwrap();
        }
        Box::new(Theirs(s))
    }
}

/// One request and its reply between `client` (of type `ct`) and `server` (of type `st`),
/// each side checking what the pattern says it must see.
fn round_trip(
    ct: SocketType,
    st: SocketType,
    client: &mut dyn Side,
    server: &mut dyn Side,
    n: usize,
) {
    use SocketType::*;
    let request = body(n, 1);
    let reply = body(n, 2);
    // What the client sends, after the envelope its type adds by itself.
    let mut sent: Frames = match ct {
        Req => vec![request.clone()],
        Dealer => vec![vec![], request.clone()],
        Router => vec![b"server".to_vec(), vec![], request.clone()],
        _ => unreachable!(),
    };
    if ct == Router {
        client.send_when_routable(&sent);
    } else {
        client.send(&sent);
    }
    // What reaches the application of a server that does not strip envelopes.
    let seen: Frames = match ct {
        Req => vec![vec![], request.clone()],
        Router => sent.split_off(1),
        _ => sent,
    };
    let got = server.recv();
    let answer = match st {
        Rep => {
            assert_eq!(got, vec![request.clone()], "{ct:?}->{st:?} {n}: a REP sees the body only");
            vec![reply.clone()]
        }
        Router => {
            assert_eq!(got[0], b"client", "{ct:?}->{st:?}: the client's ROUTING_ID names it");
            assert_eq!(got[1..], seen[..], "{ct:?}->{st:?} {n}");
            let mut a = got.clone();
            *a.last_mut().unwrap() = reply.clone();
            a
        }
        Dealer => {
            assert_eq!(got, seen, "{ct:?}->{st:?} {n}");
            let mut a = got.clone();
            *a.last_mut().unwrap() = reply.clone();
            a
        }
        _ => unreachable!(),
    };
    server.send(&answer);
    let back = client.recv();
    let want: Frames = match ct {
        Req => vec![reply],
        Dealer => vec![vec![], reply],
        Router => vec![b"server".to_vec(), vec![], reply],
        _ => unreachable!(),
    };
    assert_eq!(back, want, "{ct:?}<-{st:?} {n}");
}

/// REQ-01, REP-01, REP-02, DEALER-04, ROUTER-01, ROUTER-02, ROUTER-04, W-20: every pair of
/// RFC 37's table for these types, ferromq as client or as server, either side binding, tcp
/// and ipc, every size.
#[test]
fn every_request_reply_pair_with_libzmq() {
    use SocketType::*;
    let pairs = [
        (Req, Rep),
        (Req, Router),
        (Dealer, Rep),
        (Dealer, Router),
        (Dealer, Dealer),
        (Router, Router),
    ];
    let mut runs = 0;
    for (ct, st) in pairs {
        for ours_client in [true, false] {
            for server_binds in [true, false] {
                for tcp in [true, false] {
                    let z = zmq::Context::new();
                    // Before the sockets, so that it goes after them.
                    let tag = format!("{ct:?}-{st:?}-{ours_client}-{server_binds}");
                    let ipc = Ipc::new(&format!("rr-interop-{tag}"));
                    let ctx = Context::new().unwrap();
                    let mut client = make(ours_client, ct, "client", &z, &ctx);
                    let mut server = make(!ours_client, st, "server", &z, &ctx);
                    let ep = if tcp { "tcp://127.0.0.1:*".to_owned() } else { ipc.endpoint() };
                    if server_binds {
                        let ep = server.bind(&ep);
                        client.connect(&ep);
                    } else {
                        let ep = client.bind(&ep);
                        server.connect(&ep);
                    }
                    for n in SIZES {
                        round_trip(ct, st, &mut *client, &mut *server, n);
                    }
                    runs += 1;
                }
            }
        }
    }
    assert_eq!(runs, 6 * 2 * 2 * 2);
}

/// ROUTER-02, ROUTER-06: ROUTER_MANDATORY seen against libzmq: our ROUTER refuses an unknown
/// id with HostUnreachable and reaches a libzmq DEALER by its identity; a libzmq ROUTER gets
/// EHOSTUNREACH for an unknown id and reaches our DEALER by its ROUTING_ID, and our ROUTER with
/// CONNECT_ROUTING_ID sends to a libzmq ROUTER at once.
#[test]
fn router_mandatory_and_identities_against_libzmq() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    // Ours routes.
    let dealer = z.socket(zmq::DEALER).unwrap();
    dealer.set_rcvtimeo(10_000).unwrap();
    dealer.set_identity(b"zd").unwrap();
    let mut r = ctx.socket(SocketType::Router).unwrap();
    let mut o = r.options().clone();
    o.router_mandatory = true;
    o.sndtimeo = Some(Duration::from_secs(10));
    o.rcvtimeo = Some(Duration::from_secs(10));
    r.set_options(o).unwrap();
    r.bind("tcp://127.0.0.1:*").unwrap();
    assert!(matches!(r.send_multipart(vec!["nobody", "x"]), Err(Error::HostUnreachable)));
    dealer.connect(r.last_endpoint().unwrap()).unwrap();
    let mut routed = Ours(r);
    routed.send_when_routable(&vec![b"zd".to_vec(), b"to libzmq".to_vec()]);
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"to libzmq");

    // libzmq routes.
    let zr = z.socket(zmq::ROUTER).unwrap();
    zr.set_router_mandatory(true).unwrap();
    zr.set_identity(b"zr").unwrap();
    zr.set_rcvtimeo(10_000).unwrap();
    zr.bind("tcp://127.0.0.1:*").unwrap();
    let zep = zr.get_last_endpoint().unwrap().unwrap();
    assert_eq!(zr.send("nobody", zmq::SNDMORE), Err(zmq::Error::EHOSTUNREACH));
    let mut d = make(true, SocketType::Dealer, "our-dealer", &z, &ctx);
    d.connect(&zep);
    let mut theirs = Theirs(zr);
    theirs.send_when_routable(&vec![b"our-dealer".to_vec(), b"to ferromq".to_vec()]);
    assert_eq!(d.recv(), vec![b"to ferromq".to_vec()]);

    // Our ROUTER names its connect to a libzmq ROUTER and sends at once.
    let mut c = ctx.socket(SocketType::Router).unwrap();
    let mut o = c.options().clone();
    o.routing_id = "our-router".into();
    o.connect_routing_id = Some("peer".into());
    o.router_mandatory = true;
    o.rcvtimeo = Some(Duration::from_secs(10));
    c.set_options(o).unwrap();
    c.connect(&zep).unwrap();
    c.send_multipart(vec!["peer", "at once"]).unwrap();
    assert_eq!(theirs.recv(), vec![b"our-router".to_vec(), b"at once".to_vec()]);
    theirs.send(&vec![b"our-router".to_vec(), b"back".to_vec()]);
    let m = c.recv_multipart().unwrap();
    assert_eq!((&m[0][..], &m[1][..]), (&b"peer"[..], &b"back"[..]));
}

/// REP-02, DEALER-04, ROUTER-01: a ferromq ROUTER–DEALER broker between libzmq REQ clients
/// and libzmq REP workers: every reply finds its client through the envelope the broker's
/// ROUTER added and the REQ's delimiter, over two hops.
#[test]
fn libzmq_clients_and_workers_through_our_broker() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    let mut frontend = ctx.socket(SocketType::Router).unwrap();
    frontend.bind("tcp://127.0.0.1:*").unwrap();
    let front = frontend.last_endpoint().unwrap().to_owned();
    let mut backend = ctx.socket(SocketType::Dealer).unwrap();
    backend.bind("tcp://127.0.0.1:*").unwrap();
    let back = backend.last_endpoint().unwrap().to_owned();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let broker = std::thread::spawn(move || {
        let mut forwarded = 0u32;
        while stop_rx.try_recv().is_err() {
            let mut items = [
                PollItem::new(&mut frontend, PollEvents::IN),
                PollItem::new(&mut backend, PollEvents::IN),
            ];
            ferromq::poll(&mut items, Some(Duration::from_millis(50))).unwrap();
            let (f, b) = (items[0].revents(), items[1].revents());
            if f.contains(PollEvents::IN) {
                let m = frontend.recv_multipart().unwrap();
                backend.send_multipart(m).unwrap();
                forwarded += 1;
            }
            if b.contains(PollEvents::IN) {
                let m = backend.recv_multipart().unwrap();
                frontend.send_multipart(m).unwrap();
                forwarded += 1;
            }
        }
        forwarded
    });
    let total = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let s = z.socket(zmq::REP).unwrap();
            s.set_rcvtimeo(50).unwrap();
            s.connect(&back).unwrap();
            let total = total.clone();
            std::thread::spawn(move || {
                let mut served = 0;
                while total.load(std::sync::atomic::Ordering::SeqCst) < 20 {
                    let Ok(q) = s.recv_multipart(0) else { continue };
                    assert_eq!(q.len(), 1, "a REP sees the body only: {q:?}");
                    let mut a = q[0].clone();
                    a.push(b'0' + w);
                    s.send(a, 0).unwrap();
                    served += 1;
                    total.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                served
            })
        })
        .collect();
    let clients: Vec<_> = (0..4u8)
        .map(|c| {
            let s = z.socket(zmq::REQ).unwrap();
            s.set_rcvtimeo(10_000).unwrap();
            s.connect(&front).unwrap();
            std::thread::spawn(move || {
                for i in 0..5u8 {
                    s.send(&[c, i][..], 0).unwrap();
                    let a = s.recv_bytes(0).unwrap();
                    assert_eq!(&a[..2], &[c, i], "client {c}: the reply to its own request");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let served: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    stop_tx.send(()).unwrap();
    assert_eq!(served, 20);
    assert_eq!(broker.join().unwrap(), 40, "20 requests in, 20 replies out");
}

/// W-19, RFC 37: a pair outside the table is refused at the handshake by whichever side
/// judges first, against libzmq too: REQ↔DEALER, REQ↔REQ, REP↔REP, ROUTER↔PUSH, DEALER↔PULL.
/// libzmq may just close the stream when it judges first.
#[test]
fn wrong_pairs_are_refused_against_libzmq() {
    use SocketType::*;
    for (ours, theirs) in [
        (Req, zmq::DEALER),
        (Req, zmq::REQ),
        (Rep, zmq::REP),
        (Router, zmq::PUSH),
        (Dealer, zmq::PULL),
    ] {
        let z = zmq::Context::new();
        let ctx = Context::new().unwrap();
        let zs = z.socket(theirs).unwrap();
        zs.bind("tcp://127.0.0.1:*").unwrap();
        let ep = zs.get_last_endpoint().unwrap().unwrap();
        let mut s = ctx.socket(ours).unwrap();
        let mon = s.monitor();
        s.connect(&ep).unwrap();
        let reason = loop {
            match mon.recv_timeout(Duration::from_secs(10)).expect("an event") {
                ferromq::MonitorEvent::HandshakeFailed { reason, .. } => break reason,
                ferromq::MonitorEvent::HandshakeSucceeded { .. } => {
                    panic!("{ours:?} accepted {theirs:?}")
                }
                _ => {}
            }
        };
        let ok = matches!(
            &reason,
            ferromq::proto::CloseReason::Protocol(
                ferromq::proto::ProtocolError::IncompatibleSocketType { .. }
            )
        ) || matches!(&reason, ferromq::proto::CloseReason::PeerError(e) if e.contains("socket type"))
            || reason == ferromq::proto::CloseReason::PeerClosed;
        assert!(ok, "{ours:?} with libzmq {theirs:?}: {reason:?}");
    }
}

/// REQ-05 against libzmq (whose own test for it is disabled): a libzmq REQ connected to two
/// ferromq ROUTERs takes its reply only from the one its request went to; a "reply" from the
/// other is dropped. The runtime test `req05_a_reply_from_a_peer_not_asked_is_dropped` asks
/// the same of ours.
#[test]
fn req05_libzmq_req_listens_only_to_the_peer_asked() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    let req = z.socket(zmq::REQ).unwrap();
    req.set_identity(b"z").unwrap();
    req.set_probe_router(true).unwrap();
    req.set_rcvtimeo(10_000).unwrap();
    let mut routers: Vec<ferromq::Socket> = (0..2)
        .map(|_| {
            let mut r = ctx.socket(SocketType::Router).unwrap();
            r.set_rcvtimeo(Some(Duration::from_secs(10)));
            r.bind("tcp://127.0.0.1:*").unwrap();
            req.connect(r.last_endpoint().unwrap()).unwrap();
            r
        })
        .collect();
    // PROBE_ROUTER: each connection announces the REQ, so both routes exist before it asks.
    for r in &mut routers {
        let probe = r.recv_multipart().unwrap();
        assert_eq!((&probe[0][..], probe[1].len()), (&b"z"[..], 0));
    }
    req.send("question", 0).unwrap();
    let asked = {
        let [r0, r1] = &mut routers[..] else { unreachable!() };
        let mut items = [PollItem::new(r0, PollEvents::IN), PollItem::new(r1, PollEvents::IN)];
        assert_eq!(ferromq::poll(&mut items, Some(Duration::from_secs(10))).unwrap(), 1);
        usize::from(!items[0].revents().contains(PollEvents::IN))
    };
    let q = routers[asked].recv_multipart().unwrap();
    assert_eq!(&q[2][..], b"question");
    routers[1 - asked].send_multipart(vec!["z", "", "impostor"]).unwrap();
    req.set_rcvtimeo(300).unwrap();
    assert_eq!(req.recv_bytes(0), Err(zmq::Error::EAGAIN), "libzmq took the impostor's reply");
    routers[asked].send_multipart(vec!["z", "", "answer"]).unwrap();
    req.set_rcvtimeo(10_000).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"answer");
}

/// DEALER-05 and ROUTER-08 against libzmq (whose own tests for them are disabled): what a
/// bound libzmq DEALER or ROUTER had queued for a peer that disconnects is not delivered to
/// the peer that connects next, even under the same routing id; the runtime test
/// `dealer05_router08_a_gone_peer_takes_its_queue` asks the same of ours.
#[test]
fn dealer05_router08_libzmq_drops_a_gone_peers_queue() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    for ty in [zmq::DEALER, zmq::ROUTER] {
        let bound = z.socket(ty).unwrap();
        bound.set_sndhwm(100_000).unwrap();
        bound.set_router_mandatory(true).ok();
        bound.bind("tcp://127.0.0.1:*").unwrap();
        let ep = bound.get_last_endpoint().unwrap().unwrap();
        // A peer named "p" that the bound side has heard from. libzmq's ROUTER refuses (and
        // never reads) a newcomer whose id a terminating pipe still holds (ROUTER-05), and it
        // reports such a peer as unreachable already, so a refused newcomer is replaced by a
        // fresh one until libzmq has let the old pipe go.
        let peer = || {
            let deadline = Instant::now() + Duration::from_secs(20);
            for attempt in 0u32.. {
                let hi = format!("hi {attempt}");
                let mut s = ctx.socket(SocketType::Dealer).unwrap();
                let mut o = s.options().clone();
                o.routing_id = "p".into();
                o.rcvhwm = 1;
                o.linger = Some(Duration::ZERO);
                o.rcvtimeo = Some(Duration::from_secs(10));
                s.set_options(o).unwrap();
                s.connect(&ep).unwrap();
                s.send(hi.as_str()).unwrap();
                bound.set_rcvtimeo(500).unwrap();
                // A late greeting from an attempt given up on may come first.
                while let Ok(m) = bound.recv_multipart(0) {
                    if m.last().unwrap() == hi.as_bytes() {
                        return s;
                    }
                }
                assert!(Instant::now() < deadline, "libzmq never took the peer");
            }
            unreachable!()
        };
        let send = |what: &[u8], flags| {
            if ty == zmq::ROUTER {
                bound.send("p", zmq::SNDMORE | flags)?;
            }
            bound.send(what, flags)
        };
        let first = peer();
        // Far more than the peer's buffers hold: most of it waits in libzmq's pipe.
        for _ in 0..20_000 {
            send(&[0u8; 1000], 0).unwrap();
        }
        drop(first);
        if ty == zmq::ROUTER {
            // Wait until libzmq has let the route go (MANDATORY: unroutable), so that the
            // newcomer's id is free.
            let deadline = Instant::now() + Duration::from_secs(10);
            while send(&[0u8; 1000], zmq::DONTWAIT) != Err(zmq::Error::EHOSTUNREACH) {
                assert!(Instant::now() < deadline, "libzmq kept the route of a gone peer");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let mut second = peer();
        send(b"new", 0).unwrap();
        assert_eq!(&second.recv().unwrap()[..], b"new", "an old message reached the newcomer");
    }
}
