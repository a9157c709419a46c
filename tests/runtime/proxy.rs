//! `proxy` and `proxy_steerable` (API-10, API-11, API-12). The proxy runs on its own thread
//! with its own context, so that terminating that context ends it as libzmq's ETERM does.

use crate::common::*;
use std::thread::JoinHandle;

/// Runs `proxy` on a thread over sockets made there by `make` in a context of its own;
/// gives the context and the thread (which returns what `proxy` returned).
fn spawn_proxy(
    make: impl FnOnce(&Context) -> (Socket, Socket, Option<Socket>) + Send + 'static,
) -> (Context, JoinHandle<ferromq::Result<()>>) {
    let pctx = ctx();
    let c = pctx.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let (mut f, mut b, mut cap) = make(&c);
        drop(c);
        ready_tx.send(()).unwrap();
        ferromq::proxy(&mut f, &mut b, cap.as_mut())
    });
    ready_rx.recv().unwrap();
    (pctx, t)
}

fn tcp(s: &mut Socket) -> String {
    bind(s, "tcp://127.0.0.1:*")
}

/// API-10: a PULL/PUSH streamer moves multipart messages whole and gives capture a copy of
/// every part; terminating its context ends it with `Terminated`.
#[test]
fn api10_streamer_with_capture_ends_at_term() {
    let ctx = ctx();
    let mut capture_in = sock(&ctx, SocketType::Pull, |_| {});
    let cap_ep = tcp(&mut capture_in);
    let (eps_tx, eps_rx) = std::sync::mpsc::channel();
    let (pctx, t) = spawn_proxy(move |c| {
        let mut front = sock(c, SocketType::Pull, |_| {});
        let mut back = sock(c, SocketType::Push, |_| {});
        let mut cap = sock(c, SocketType::Push, |_| {});
        cap.connect(&cap_ep).unwrap();
        eps_tx.send((tcp(&mut front), tcp(&mut back))).unwrap();
        (front, back, Some(cap))
    });
    let (front, back) = eps_rx.recv().unwrap();
    let mut producer = sock(&ctx, SocketType::Push, |_| {});
    producer.connect(&front).unwrap();
    let mut consumer = sock(&ctx, SocketType::Pull, |_| {});
    consumer.connect(&back).unwrap();
    let big = body(100_000);
    for i in 0..10u8 {
        producer.send_multipart(vec![vec![i], big.clone()]).unwrap();
    }
    for i in 0..10u8 {
        let m = consumer.recv_multipart().unwrap();
        assert_eq!((&m[0][..], &m[1][..]), (&[i][..], &big[..]), "message {i} whole");
    }
    for i in 0..10u8 {
        assert_eq!(&capture_in.recv().unwrap()[..], &[i]);
        assert_eq!(capture_in.recv().unwrap().len(), big.len());
    }
    pctx.term();
    assert!(matches!(t.join().unwrap(), Err(Error::Terminated)));
}

/// API-11: a ROUTER/DEALER proxy brings replies back through the envelopes; an XSUB/XPUB
/// proxy forwards the subscriptions of a subscriber that joins late, and the messages down.
#[test]
fn api11_broker_and_forwarder() {
    let ctx = ctx();
    let (eps_tx, eps_rx) = std::sync::mpsc::channel();
    let (broker_ctx, broker) = spawn_proxy(move |c| {
        let mut front = sock(c, SocketType::Router, |_| {});
        let mut back = sock(c, SocketType::Dealer, |_| {});
        eps_tx.send((tcp(&mut front), tcp(&mut back))).unwrap();
        (front, back, None)
    });
    let (front, back) = eps_rx.recv().unwrap();
    let mut worker = sock(&ctx, SocketType::Rep, |_| {});
    worker.connect(&back).unwrap();
    let mut clients: Vec<Socket> = (0..3)
        .map(|_| {
            let mut s = sock(&ctx, SocketType::Req, |_| {});
            s.connect(&front).unwrap();
            s
        })
        .collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(format!("q{i}")).unwrap();
    }
    for _ in 0..3 {
        let q = worker.recv().unwrap();
        worker.send([b"re ", &q[..]].concat()).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(c.recv().unwrap().to_vec(), format!("re q{i}").into_bytes());
    }

    let (eps_tx, eps_rx) = std::sync::mpsc::channel();
    let (fwd_ctx, forwarder) = spawn_proxy(move |c| {
        let mut front = sock(c, SocketType::Xsub, |_| {});
        let mut back = sock(c, SocketType::Xpub, |_| {});
        eps_tx.send((tcp(&mut front), tcp(&mut back))).unwrap();
        (front, back, None)
    });
    let (front, back) = eps_rx.recv().unwrap();
    let mut upstream = sock(&ctx, SocketType::Xpub, |_| {});
    upstream.connect(&front).unwrap();
    let mut late = sock(&ctx, SocketType::Sub, |_| {});
    late.connect(&back).unwrap();
    late.subscribe("news").unwrap();
    // The subscription travels up through the forwarder to the publisher.
    assert_eq!(&upstream.recv().unwrap()[..], b"\x01news");
    upstream.send("sport").unwrap();
    upstream.send("news: through the proxy").unwrap();
    assert_eq!(&late.recv().unwrap()[..], b"news: through the proxy");

    broker_ctx.term();
    fwd_ctx.term();
    assert!(matches!(broker.join().unwrap(), Err(Error::Terminated)));
    assert!(matches!(forwarder.join().unwrap(), Err(Error::Terminated)));
}

/// API-11: requests that reach a broker before any worker is connected wait at its frontend
/// (the backend cannot take them), and are answered once a worker comes.
#[test]
fn api11_a_broker_holds_requests_until_a_worker_comes() {
    let ctx = ctx();
    let (eps_tx, eps_rx) = std::sync::mpsc::channel();
    let (broker_ctx, broker) = spawn_proxy(move |c| {
        let mut front = sock(c, SocketType::Router, |_| {});
        let mut back = sock(c, SocketType::Dealer, |_| {});
        eps_tx.send((tcp(&mut front), tcp(&mut back))).unwrap();
        (front, back, None)
    });
    let (front, back) = eps_rx.recv().unwrap();
    let mut clients: Vec<Socket> = (0..3)
        .map(|i| {
            let mut s = sock(&ctx, SocketType::Req, |_| {});
            s.connect(&front).unwrap();
            s.send(format!("early {i}")).unwrap();
            s
        })
        .collect();
    // Time for a broker that reads regardless of room to read the requests and lose them.
    // (It does not make the test timing-dependent: a correct broker passes at any delay.)
    std::thread::sleep(Duration::from_millis(300));
    let mut worker = sock(&ctx, SocketType::Rep, |_| {});
    worker.connect(&back).unwrap();
    for _ in 0..3 {
        let q = worker.recv().unwrap();
        worker.send([b"re ", &q[..]].concat()).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(c.recv().unwrap().to_vec(), format!("re early {i}").into_bytes());
    }
    broker_ctx.term();
    assert!(matches!(broker.join().unwrap(), Err(Error::Terminated)));
}

/// API-12: PAUSE holds messages back, RESUME lets them through, STATISTICS counts every part
/// both ways for each side, TERMINATE ends the proxy with `Ok`.
#[test]
fn api12_steerable_proxy() {
    let ctx = ctx();
    let mut front = sock(&ctx, SocketType::Pull, |_| {});
    let mut back = sock(&ctx, SocketType::Push, |_| {});
    let mut control = sock(&ctx, SocketType::Rep, |_| {});
    let (fe, be) = (tcp(&mut front), tcp(&mut back));
    control.bind("inproc://api12-control").unwrap();
    let mut steer = sock(&ctx, SocketType::Req, |_| {});
    steer.connect("inproc://api12-control").unwrap();
    let t = std::thread::spawn(move || {
        ferromq::proxy_steerable(&mut front, &mut back, None, &mut control)
    });
    let mut producer = sock(&ctx, SocketType::Push, |_| {});
    producer.connect(&fe).unwrap();
    let mut consumer = sock(&ctx, SocketType::Pull, |_| {});
    consumer.connect(&be).unwrap();
    let mut ask = |cmd: &str| -> Multipart {
        steer.send(cmd).unwrap();
        steer.recv_multipart().unwrap()
    };
    producer.send_multipart(vec!["a", "bc"]).unwrap();
    assert_eq!(consumer.recv_multipart().unwrap().len(), 2);
    assert_eq!(ask("PAUSE").len(), 1);
    producer.send("held").unwrap();
    consumer.set_rcvtimeo(Some(Duration::from_millis(300)));
    assert!(matches!(consumer.recv(), Err(Error::WouldBlock)), "paused, yet it moved");
    consumer.set_rcvtimeo(T);
    let stats = ask("STATISTICS");
    let n: Vec<u64> = stats.iter().map(|f| u64::from_ne_bytes(f[..].try_into().unwrap())).collect();
    // Frontend: 2 parts and 3 bytes in; backend: 2 parts and 3 bytes out.
    assert_eq!(n, [2, 3, 0, 0, 0, 0, 2, 3]);
    ask("RESUME");
    assert_eq!(&consumer.recv().unwrap()[..], b"held");
    ask("NONSENSE");
    ask("TERMINATE");
    assert!(t.join().unwrap().is_ok());
}
