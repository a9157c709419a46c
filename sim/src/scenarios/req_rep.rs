//! REQ/REP: one to three clients and one or two servers, either side binding, or a ROUTER–DEALER
//! broker host between clients and REP workers. Clients are the guide's Lazy Pirate (a strict
//! REQ that closes and reopens when a reply is late) or a REQ_RELAXED one that asks again on the
//! same socket, with REQ_CORRELATE or without. Servers are REPs, or ROUTERs answering REQs by
//! hand; they come and go in the fault phase (REQ-09). Every host may crash.

use crate::node::{Got, HostCtx, SimSocket, SockOpts};
use crate::run::{Scenario, Setup};
use crate::world::Phase;
use bytes::Bytes;
use ferromq::SocketType;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

const PORT: u16 = 5600;
const BACKEND: u16 = 5601;
/// How long a client waits for a reply before it gives up (Lazy Pirate) or asks again
/// (relaxed): longer than the checker's reply bound, so that a request the stack loses in the
/// quiet phase shows as a violation, not as a retry.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(2500);

/// See the module docs.
pub struct ReqRep;

#[derive(Debug)]
struct Cfg {
    clients: u64,
    servers: u64,
    broker: bool,
    servers_bind: bool,
    hwm: u64,
    big: bool,
}

impl Scenario for ReqRep {
    fn name(&self) -> &'static str {
        "req-rep"
    }

    fn about(&self) -> &'static str {
        "1-3 REQ clients (Lazy Pirate or relaxed) to 1-2 REP/ROUTER servers, direct or via a broker"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let broker = s.random(0, 2) == 0;
        let cfg = Rc::new(Cfg {
            clients: s.random(1, 3),
            servers: s.random(1, 2),
            broker,
            servers_bind: broker || s.random(0, 2) > 0,
            hwm: [5, 50, 1000][s.random(0, 2) as usize],
            big: s.random(0, 3) == 0,
        });
        let mut crashable = Vec::new();
        if broker {
            s.allow("client", "frontend");
            s.allow("frontend", "client");
            s.allow("backend", "worker");
            s.allow("worker", "backend");
            let c = cfg.clone();
            s.host("broker", move |h| run_broker(h, c.clone()));
            crashable.push("broker".to_owned());
        } else {
            s.allow("client", "server");
            s.allow("server", "client");
        }
        for i in 0..cfg.servers {
            let c = cfg.clone();
            let router = !broker && s.random(0, 3) == 0;
            let name = format!("srv{i}");
            s.host(&name, move |h| server(h, c.clone(), router));
            crashable.push(name);
        }
        for i in 0..cfg.clients {
            let c = cfg.clone();
            let relaxed = s.random(0, 1) == 1;
            let correlate = !relaxed || s.random(0, 3) > 0;
            let name = format!("cli{i}");
            s.host(&name, move |h| client(h, c.clone(), relaxed, correlate));
            crashable.push(name);
        }
        s.faults().crashable = crashable;
    }
}

fn opts(ty: SocketType, cfg: &Cfg) -> SockOpts {
    let mut o = SockOpts::new(ty);
    o.sndhwm = cfg.hwm;
    o.rcvhwm = cfg.hwm;
    o
}

fn shape(h: &HostCtx, big: bool) -> (u16, usize) {
    let parts = h.random(1, 2) as u16;
    let size = if big && h.chance(0.2) { h.random(1000, 20_000) } else { h.random(0, 200) };
    (parts, size as usize)
}

/// Opens a client or server socket and wires it: to the broker, to every server, or by binding.
fn open(h: &HostCtx, cfg: &Cfg, ty: SocketType, role: &str, o: SockOpts) -> SimSocket {
    let sock = h.socket(ty, role, o);
    let client = role == "client";
    if cfg.broker {
        sock.connect("broker", if client { PORT } else { BACKEND });
    } else if cfg.servers_bind == client {
        let (peers, prefix) = if client { (cfg.servers, "srv") } else { (cfg.clients, "cli") };
        for i in 0..peers {
            sock.connect(&format!("{prefix}{i}"), PORT);
        }
    } else {
        sock.bind(PORT);
    }
    sock
}

async fn client(h: HostCtx, cfg: Rc<Cfg>, relaxed: bool, correlate: bool) {
    while h.phase() < Phase::Drain {
        let mut o = opts(SocketType::Req, &cfg);
        if relaxed {
            o.req_relaxed = true;
            o.req_correlate = correlate;
        } else {
            // The Lazy Pirate drops what it queued when it gives up.
            o.linger = Some(Duration::ZERO);
        }
        let sock = open(&h, &cfg, SocketType::Req, "client", o);
        loop {
            if h.phase() >= Phase::Drain {
                return;
            }
            let (parts, size) = shape(&h, cfg.big);
            if sock.send(parts, size, Duration::from_secs(1)).await.is_none() {
                // No server connected yet: REQ-04 holds the request back, never drops it.
                continue;
            }
            let answered = sock.recv(CLIENT_TIMEOUT).await.is_some();
            if !answered && !relaxed {
                // Lazy Pirate: a strict REQ whose reply is late is stuck (REQ-09); close it
                // and start over with a new socket.
                sock.close();
                break;
            }
            h.sleep(Duration::from_millis(h.random(0, 30))).await;
        }
    }
}

async fn server(h: HostCtx, cfg: Rc<Cfg>, router: bool) {
    let end = h.world().get().timeline.close_receivers;
    let role = if cfg.broker { "worker" } else { "server" };
    while h.world().get().now < end {
        let ty = if router { SocketType::Router } else { SocketType::Rep };
        let sock = open(&h, &cfg, ty, role, opts(ty, &cfg));
        let leaves = h.chance(0.3);
        let stay = Duration::from_millis(h.random(300, 4000));
        let opened = h.world().get().now;
        let slow = h.chance(0.3);
        loop {
            let now = h.world().get().now;
            if now >= end {
                return;
            }
            if let Some(q) = sock.recv_with(Duration::from_millis(50)).await {
                if slow {
                    h.sleep(Duration::from_millis(h.random(0, 20))).await;
                }
                answer(&h, &sock, &q, &cfg).await;
            }
            if leaves && h.phase() == Phase::Faults && now > opened + stay {
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 500))).await;
                break;
            }
        }
    }
}

/// Replies to `q`: a REP puts the envelope back itself, a ROUTER is given it.
async fn answer(h: &HostCtx, sock: &SimSocket, q: &Got, cfg: &Cfg) {
    let (parts, size) = shape(h, cfg.big);
    let _ = sock.send_with(&q.envelope, Some(q.id), parts, size, Duration::from_secs(1)).await;
}

/// A ROUTER frontend for clients and a DEALER backend for workers, as in the guide: requests go
/// to the workers with the envelope the frontend gave them, and replies come back through it. The
/// broker is an application like any other: it forwards each message as a new one (naming, for
/// a reply, the client's request), so that the checker follows every hop.
async fn run_broker(h: HostCtx, cfg: Rc<Cfg>) {
    let frontend =
        Rc::new(h.socket(SocketType::Router, "frontend", opts(SocketType::Router, &cfg)));
    frontend.bind(PORT);
    let backend = Rc::new(h.socket(SocketType::Dealer, "backend", opts(SocketType::Dealer, &cfg)));
    backend.bind(BACKEND);
    // Forwarded request → the client's request.
    let asked: Rc<RefCell<BTreeMap<crate::payload::MsgId, crate::payload::MsgId>>> = Rc::default();
    let end = h.world().get().timeline.close_receivers;
    {
        let (h2, f, b, asked) = (h.clone(), frontend.clone(), backend.clone(), asked.clone());
        let cfg = cfg.clone();
        h.spawn(async move {
            while h2.world().get().now < end {
                let Some(q) = f.recv_with(Duration::from_millis(50)).await else { continue };
                let (parts, size) = shape(&h2, cfg.big);
                if let Ok(id) =
                    b.send_with(&q.envelope, None, parts, size, Duration::from_secs(1)).await
                {
                    asked.borrow_mut().insert(id, q.id);
                }
            }
        });
    }
    while h.world().get().now < end {
        let Some(r) = backend.recv_with(Duration::from_millis(50)).await else { continue };
        let Some(orig) = r.re.and_then(|fwd| asked.borrow_mut().remove(&fwd)) else { continue };
        let (parts, size) = shape(&h, cfg.big);
        let envelope: Vec<Bytes> = r.envelope.clone();
        let _ =
            frontend.send_with(&envelope, Some(orig), parts, size, Duration::from_secs(1)).await;
    }
}
