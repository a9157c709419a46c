//! ROUTER and DEALERs: one ROUTER server and one to three DEALER peers, named (ROUTING_ID) or
//! anonymous (generated ids), that ask and also take messages the ROUTER pushes to the peers it
//! knows, some reading slowly. The ROUTER may have ROUTER_MANDATORY (refusing unknown peers,
//! blocking on full ones) and ROUTER_HANDOVER (a named peer that comes back takes its id over
//! while the ROUTER still holds the old connection). Peers leave and come back as new sockets,
//! and every host may crash.

use crate::node::{HostCtx, Refused, SimSocket, SockOpts};
use crate::run::{Scenario, Setup};
use crate::world::Phase;
use bytes::Bytes;
use ferromq::SocketType;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

const PORT: u16 = 5700;

/// See the module docs.
pub struct RouterDealer;

#[derive(Debug)]
struct Cfg {
    dealers: u64,
    mandatory: bool,
    handover: bool,
    hwm: u64,
    big: bool,
}

impl Scenario for RouterDealer {
    fn name(&self) -> &'static str {
        "router-dealer"
    }

    fn about(&self) -> &'static str {
        "a ROUTER (MANDATORY, HANDOVER or not) with 1-3 named or anonymous DEALERs coming and going"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let cfg = Rc::new(Cfg {
            dealers: s.random(1, 3),
            mandatory: s.random(0, 1) == 1,
            handover: s.random(0, 1) == 1,
            hwm: [2, 10, 1000][s.random(0, 2) as usize],
            big: s.random(0, 3) == 0,
        });
        s.allow("dealer", "router");
        s.allow("router", "dealer");
        let c = cfg.clone();
        s.host("router", move |h| router(h, c.clone()));
        let mut crashable = vec!["router".to_owned()];
        for i in 0..cfg.dealers {
            let c = cfg.clone();
            let named = s.random(0, 1) == 1;
            let name = format!("dealer{i}");
            s.host(&name, move |h| dealer(h, c.clone(), named.then(|| format!("d{i}"))));
            crashable.push(name);
        }
        s.faults().crashable = crashable;
    }
}

fn shape(h: &HostCtx, big: bool) -> (u16, usize) {
    let parts = h.random(1, 3) as u16;
    let size = if big && h.chance(0.2) { h.random(1000, 20_000) } else { h.random(0, 200) };
    (parts, size as usize)
}

async fn router(h: HostCtx, cfg: Rc<Cfg>) {
    let mut o = SockOpts::new(SocketType::Router);
    o.sndhwm = cfg.hwm;
    o.rcvhwm = cfg.hwm;
    o.router_mandatory = cfg.mandatory;
    o.router_handover = cfg.handover;
    let sock = Rc::new(h.socket(SocketType::Router, "router", o));
    sock.bind(PORT);
    // The peers heard from, by routing id.
    let known: Rc<RefCell<Vec<Bytes>>> = Rc::default();
    {
        let (h2, sock, known, cfg) = (h.clone(), sock.clone(), known.clone(), cfg.clone());
        h.spawn(async move { push(h2, sock, known, cfg).await });
    }
    let end = h.world().get().timeline.close_receivers;
    while h.world().get().now < end {
        let Some(q) = sock.recv_with(Duration::from_millis(50)).await else { continue };
        let Some(rid) = q.envelope.first().cloned() else { continue };
        if !known.borrow().contains(&rid) {
            known.borrow_mut().push(rid.clone());
        }
        if h.phase() >= Phase::Drain {
            continue;
        }
        // Without waiting: a ROUTER that blocked on one full peer would stop serving all.
        let (parts, size) = shape(&h, cfg.big);
        if sock.send_with(std::slice::from_ref(&rid), Some(q.id), parts, size, Duration::ZERO).await
            == Err(Refused::Unreachable)
        {
            known.borrow_mut().retain(|k| *k != rid);
        }
    }
}

/// Messages the ROUTER sends of its own accord, to a peer it knows, now and then in bursts.
async fn push(h: HostCtx, sock: Rc<SimSocket>, known: Rc<RefCell<Vec<Bytes>>>, cfg: Rc<Cfg>) {
    while h.phase() < Phase::Drain {
        // Below what a simulated connection carries, so that queues drain once faults stop.
        h.sleep(Duration::from_millis(h.random(10, 80))).await;
        let peers = known.borrow().clone();
        if peers.is_empty() {
            continue;
        }
        let rid = peers[h.random(0, peers.len() as u64 - 1) as usize].clone();
        for _ in 0..h.random(1, cfg.hwm.min(5) + 1) {
            let (parts, size) = shape(&h, cfg.big);
            match sock
                .send_with(
                    std::slice::from_ref(&rid),
                    None,
                    parts,
                    size,
                    Duration::from_millis(100),
                )
                .await
            {
                Ok(_) => {}
                Err(Refused::TimedOut) => break,
                Err(Refused::Unreachable) => {
                    known.borrow_mut().retain(|k| *k != rid);
                    break;
                }
            }
        }
    }
}

async fn dealer(h: HostCtx, cfg: Rc<Cfg>, name: Option<String>) {
    let end = h.world().get().timeline.close_receivers;
    while h.world().get().now < end {
        let mut o = SockOpts::new(SocketType::Dealer);
        o.sndhwm = cfg.hwm;
        o.rcvhwm = cfg.hwm;
        if let Some(n) = &name {
            o.routing_id = Bytes::from(n.clone().into_bytes());
        }
        let sock = Rc::new(h.socket(SocketType::Dealer, "dealer", o));
        sock.connect("router", PORT);
        let slow = h.chance(0.3);
        {
            let (h2, r) = (h.clone(), sock.clone());
            h.spawn(async move {
                while h2.world().get().now < end && !r.is_closing() {
                    r.recv(Duration::from_millis(50)).await;
                    if slow && h2.phase() == Phase::Faults && h2.chance(0.05) {
                        // A slow reader fills the ROUTER's pipe to it, briefly (for longer
                        // than the heartbeat timeout, its peer may take it for dead: its
                        // PONGs wait behind the data it does not read).
                        h2.sleep(Duration::from_millis(h2.random(20, 300))).await;
                    }
                }
            });
        }
        let leaves = h.chance(0.3);
        let stay = Duration::from_millis(h.random(300, 4000));
        let opened = h.world().get().now;
        loop {
            let now = h.world().get().now;
            if h.phase() >= Phase::Drain {
                break;
            }
            for _ in 0..h.random(1, 5) {
                let (parts, size) = shape(&h, cfg.big);
                if sock.send(parts, size, Duration::from_millis(20)).await.is_none() {
                    break;
                }
            }
            h.sleep(Duration::from_millis(h.random(5, 50))).await;
            if leaves && h.phase() == Phase::Faults && now > opened + stay {
                sock.close();
                h.sleep(Duration::from_millis(h.random(20, 500))).await;
                break;
            }
        }
        if h.phase() >= Phase::Drain {
            // Keep reading until the end.
            h.until(Phase::Closing).await;
            return;
        }
    }
}
