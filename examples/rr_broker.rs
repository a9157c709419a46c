//! The guide's request-reply broker: REQ clients connect to a ROUTER frontend, REP workers to a
//! DEALER backend, and a poll loop moves whole multipart messages between them. The ROUTER
//! prepends the client's routing id, the REP keeps that envelope and puts it back on its reply,
//! and the ROUTER reads it to find the client again: two hops, no client knows a worker.
//!
//! `cargo run --example rr_broker` runs three clients and two workers over tcp and exits once
//! every client has its replies.

use ferromq::{Context, PollEvents, PollItem, SocketType};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const CLIENTS: usize = 3;
const WORKERS: usize = 2;
const REQUESTS: usize = 5;

fn main() -> ferromq::Result<()> {
    let ctx = Context::new()?;
    let mut frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("tcp://127.0.0.1:*")?;
    let front = frontend.last_endpoint().expect("bound").to_owned();
    let mut backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("tcp://127.0.0.1:*")?;
    let back = backend.last_endpoint().expect("bound").to_owned();

    let done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (ctx, back, done) = (ctx.clone(), back.clone(), done.clone());
            std::thread::spawn(move || -> ferromq::Result<usize> {
                let mut rep = ctx.socket(SocketType::Rep)?;
                // Wake up now and then to see whether the clients are all served.
                rep.set_rcvtimeo(Some(Duration::from_millis(100)));
                rep.connect(&back)?;
                let mut served = 0;
                while !done.load(Ordering::SeqCst) {
                    let request = match rep.recv() {
                        Ok(m) => m,
                        Err(ferromq::Error::WouldBlock) => continue,
                        Err(e) => return Err(e),
                    };
                    let text = String::from_utf8_lossy(&request).into_owned();
                    rep.send(format!("{text} done by worker {w}"))?;
                    served += 1;
                }
                Ok(served)
            })
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (ctx, front) = (ctx.clone(), front.clone());
            std::thread::spawn(move || -> ferromq::Result<()> {
                let mut req = ctx.socket(SocketType::Req)?;
                req.connect(&front)?;
                for n in 0..REQUESTS {
                    let request = format!("request {n} from client {c}");
                    req.send(request.as_str())?;
                    let reply = req.recv()?;
                    let reply = String::from_utf8_lossy(&reply);
                    assert!(reply.starts_with(&request), "{reply:?} does not answer {request:?}");
                    println!("client {c}: {reply}");
                }
                Ok(())
            })
        })
        .collect();

    // The broker itself: until every client is done, forward whatever is ready either way.
    let broker_done = done.clone();
    let broker = std::thread::spawn(move || -> ferromq::Result<(u32, u32)> {
        let (mut up, mut down) = (0, 0);
        while !broker_done.load(Ordering::SeqCst) {
            let mut items = [
                PollItem::new(&mut frontend, PollEvents::IN),
                PollItem::new(&mut backend, PollEvents::IN),
            ];
            ferromq::poll(&mut items, Some(Duration::from_millis(50)))?;
            let (f, b) = (items[0].revents(), items[1].revents());
            if f.contains(PollEvents::IN) {
                // [client id, "", request] goes to a worker as it is.
                let msg = frontend.recv_multipart()?;
                backend.send_multipart(msg)?;
                up += 1;
            }
            if b.contains(PollEvents::IN) {
                let msg = backend.recv_multipart()?;
                frontend.send_multipart(msg)?;
                down += 1;
            }
        }
        Ok((up, down))
    });
    for c in clients {
        c.join().expect("client thread")?;
    }
    done.store(true, Ordering::SeqCst);
    let (up, down) = broker.join().expect("broker thread")?;
    let served: Vec<usize> =
        workers.into_iter().map(|w| w.join().expect("worker thread")).collect::<Result<_, _>>()?;
    println!("broker: {up} requests forwarded, {down} replies; workers served {served:?}");
    assert_eq!(served.iter().sum::<usize>(), CLIENTS * REQUESTS);
    Ok(())
}
