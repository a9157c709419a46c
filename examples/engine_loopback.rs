//! Two sans-IO engines over a real TCP connection on loopback, one per thread, each driven by
//! a small blocking loop. Runs a series of checks and prints what passed.
//!
//! `cargo run --release --example engine_loopback`

#[path = "../tests/common/blocking.rs"]
mod blocking;

use blocking::Conn;
use ferromq::proto::{CloseReason, EngineConfig, Event, ProtocolError};
use ferromq::{Msg, Multipart, SocketType};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

/// Runs `client` on this thread and `server` on another, over one loopback connection.
fn pair<S, C>(
    server_cfg: EngineConfig,
    client_cfg: EngineConfig,
    server: S,
    client: C,
) -> Result<(), String>
where
    S: FnOnce(Conn) -> Result<(), String> + Send + 'static,
    C: FnOnce(Conn) -> Result<(), String>,
{
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = thread::spawn(move || server(Conn::accept(&listener, server_cfg)));
    let c = client(Conn::connect(addr, client_cfg));
    let s = server.join().map_err(|_| "server thread panicked".to_string())?;
    c.and(s)
}

fn check(name: &str, r: Result<(), String>, passed: &mut u32, failed: &mut u32) {
    match r {
        Ok(()) => {
            *passed += 1;
            println!("ok   {name}");
        }
        Err(e) => {
            *failed += 1;
            println!("FAIL {name}: {e}");
        }
    }
}

fn main() {
    let (mut passed, mut failed) = (0, 0);
    let cfg = EngineConfig::new;

    check(
        "push/pull: 10000 messages of 1 B to 1 MiB arrive in order",
        pair(
            cfg(SocketType::Pull),
            cfg(SocketType::Push),
            |mut pull| {
                pull.wait_ready(T);
                for i in 0..10_000usize {
                    let got = pull.recv(T);
                    let want = 1 + (i * 97) % 2048 + if i % 1000 == 0 { 1 << 20 } else { 0 };
                    if got[0].len() != want || got[0].first() != Some(&(i as u8)) {
                        return Err(format!("message {i}: {} bytes", got[0].len()));
                    }
                }
                Ok(())
            },
            |mut push| {
                push.wait_ready(T);
                for i in 0..10_000usize {
                    let len = 1 + (i * 97) % 2048 + if i % 1000 == 0 { 1 << 20 } else { 0 };
                    push.send(Msg::from(vec![i as u8; len]));
                }
                // Wait for the peer to close so everything was read.
                push.idle(T);
                Ok(())
            },
        ),
        &mut passed,
        &mut failed,
    );

    check(
        "dealer/router: multipart messages both ways, identity seen",
        pair(
            cfg(SocketType::Router),
            {
                let mut c = cfg(SocketType::Dealer);
                c.routing_id = bytes::Bytes::from_static(b"client-1");
                c
            },
            |mut router| {
                let id = router.wait_ready(T).identity.clone();
                if &id[..] != b"client-1" {
                    return Err(format!("identity {id:?}"));
                }
                for _ in 0..100 {
                    let req = router.recv(T);
                    let mut reply: Multipart = req.into_vec().into_iter().collect();
                    reply.push("ack");
                    router.send(reply);
                }
                router.idle(T);
                Ok(())
            },
            |mut dealer| {
                dealer.wait_ready(T);
                for i in 0..100u32 {
                    dealer.send(Multipart::from(vec![Msg::new(), Msg::from(i.to_be_bytes())]));
                    let r = dealer.recv(T);
                    if r.len() != 3 || r[1][..] != i.to_be_bytes() || &r[2][..] != b"ack" {
                        return Err(format!("reply {i}: {r:?}"));
                    }
                }
                Ok(())
            },
        ),
        &mut passed,
        &mut failed,
    );

    check(
        "heartbeats keep an idle connection up for 1 s (PING every 50 ms)",
        pair(
            {
                let mut c = cfg(SocketType::Pair);
                c.heartbeat_ivl = Some(Duration::from_millis(50));
                c.heartbeat_timeout = Some(Duration::from_millis(200));
                c
            },
            {
                let mut c = cfg(SocketType::Pair);
                c.heartbeat_ivl = Some(Duration::from_millis(50));
                c.heartbeat_ttl = Some(Duration::from_millis(300));
                c
            },
            |mut a| {
                a.wait_ready(T);
                match a.idle(Duration::from_secs(1)) {
                    None => {}
                    Some(e) => return Err(format!("event while idle: {e:?}")),
                }
                a.send(Msg::from("done"));
                a.idle(T);
                Ok(())
            },
            |mut b| {
                b.wait_ready(T);
                let started = Instant::now();
                let m = b.recv(T);
                if &m[0][..] != b"done" || started.elapsed() < Duration::from_millis(900) {
                    return Err(format!("{m:?} after {:?}", started.elapsed()));
                }
                Ok(())
            },
        ),
        &mut passed,
        &mut failed,
    );

    check(
        "an invalid socket-type pair (PUSH/PUSH) fails the handshake on both sides",
        pair(
            cfg(SocketType::Push),
            cfg(SocketType::Push),
            |mut a| expect_refused(&mut a),
            |mut b| expect_refused(&mut b),
        ),
        &mut passed,
        &mut failed,
    );

    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

fn expect_refused(c: &mut Conn) -> Result<(), String> {
    match c.next_event(Instant::now() + T) {
        Some(Event::Closed(CloseReason::Protocol(ProtocolError::IncompatibleSocketType {
            ..
        })))
        | Some(Event::Closed(CloseReason::PeerError(_)))
        | Some(Event::Closed(CloseReason::PeerClosed)) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}
