//! The guide's Lazy Pirate pattern: reliable request-reply from the client side alone.
//!
//! A REQ that sent a request and gets no reply is stuck: it may not send again until the reply
//! comes (REQ-03), and the reply may never come. The Lazy Pirate client therefore waits with a
//! timeout (RCVTIMEO), and when it runs out it closes the socket, opens a new one and sends
//! the request again, a few times before it gives up. A late reply addressed to the closed
//! socket is dropped by the server's REP (REP-03), so it can never be mistaken for the answer
//! to a later request.
//!
//! The server here misbehaves on purpose: it answers one request too late ("overload") and
//! later vanishes for a moment ("crash") and comes back on the same endpoint.
//!
//! `cargo run --example lazy_pirate` prints every attempt and exits 0 when all requests were
//! answered in order (1 if the server seemed offline).

use ferromq::{Context, Error, Socket, SocketType};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const REQUESTS: u32 = 8;
const TIMEOUT: Duration = Duration::from_millis(300);
const RETRIES: u32 = 3;
/// The server answers this request after the client gave up on it...
const OVERLOAD_AT: u32 = 3;
/// ...and goes away for a moment on receiving this one.
const CRASH_AT: u32 = 6;

fn main() {
    let ctx = Context::new().expect("context");
    let done = Arc::new(AtomicBool::new(false));
    let mut rep = ctx.socket(SocketType::Rep).expect("socket");
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = rep.last_endpoint().expect("bound").to_owned();
    let server = {
        let (ctx, endpoint, done) = (ctx.clone(), endpoint.clone(), done.clone());
        std::thread::spawn(move || server(&ctx, rep, &endpoint, &done))
    };
    let outcome = client(&ctx, &endpoint);
    done.store(true, Ordering::SeqCst);
    server.join().expect("server thread").expect("server");
    match outcome {
        Ok(retries) => println!("client: {REQUESTS} requests answered, {retries} resent"),
        Err(e) => {
            println!("client: {e}");
            std::process::exit(1);
        }
    }
}

fn client(ctx: &Context, endpoint: &str) -> Result<u32, String> {
    let open = || -> ferromq::Result<Socket> {
        let mut req = ctx.socket(SocketType::Req)?;
        req.set_rcvtimeo(Some(TIMEOUT));
        // A request we gave up on must not hold the close up.
        req.set_linger(Some(Duration::ZERO));
        req.connect(endpoint)?;
        Ok(req)
    };
    let fail = |e: Error| e.to_string();
    let mut req = open().map_err(fail)?;
    let mut resent = 0;
    for seq in 1..=REQUESTS {
        let mut retries_left = RETRIES;
        req.send(seq.to_string()).map_err(fail)?;
        loop {
            match req.recv() {
                Ok(reply) if reply[..] == *seq.to_string().as_bytes() => {
                    println!("client: server replied OK ({seq})");
                    break;
                }
                Ok(reply) => println!("client: malformed reply {:?}", &reply[..]),
                Err(Error::WouldBlock) => {
                    retries_left -= 1;
                    if retries_left == 0 {
                        return Err("server seems to be offline, abandoning".into());
                    }
                    println!("client: no response to {seq}, retrying");
                    // The old socket is stuck waiting for that reply: throw it away.
                    drop(req);
                    req = open().map_err(fail)?;
                    req.send(seq.to_string()).map_err(fail)?;
                    resent += 1;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    Ok(resent)
}

fn server(
    ctx: &Context,
    mut rep: Socket,
    endpoint: &str,
    done: &AtomicBool,
) -> ferromq::Result<()> {
    rep.set_rcvtimeo(Some(Duration::from_millis(50)));
    let mut cycles = 0;
    while !done.load(Ordering::SeqCst) {
        let request = match rep.recv() {
            Ok(m) => m,
            Err(Error::WouldBlock) => continue,
            Err(e) => return Err(e),
        };
        cycles += 1;
        let text = String::from_utf8_lossy(&request).into_owned();
        if cycles == CRASH_AT {
            println!("server: crashing on request {text}");
            drop(rep);
            std::thread::sleep(TIMEOUT / 2);
            rep = rebind(ctx, endpoint)?;
            println!("server: back on {endpoint}");
            continue;
        }
        if cycles == OVERLOAD_AT {
            println!("server: overloaded, request {text} answered late");
            std::thread::sleep(TIMEOUT + TIMEOUT / 3);
        } else {
            println!("server: normal request ({text})");
        }
        rep.send(request)?;
    }
    Ok(())
}

/// Binds the same endpoint again; the old listener closes in the background, so the port may
/// still be taken for a moment.
fn rebind(ctx: &Context, endpoint: &str) -> ferromq::Result<Socket> {
    let mut rep = ctx.socket(SocketType::Rep)?;
    rep.set_rcvtimeo(Some(Duration::from_millis(50)));
    let mut tries = 0;
    loop {
        match rep.bind(endpoint) {
            Ok(()) => return Ok(rep),
            Err(Error::AddrInUse) if tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}
