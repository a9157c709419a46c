//! Publish-subscribe: one or two publishers (PUB or XPUB) and two or three subscribers (SUB or
//! XSUB), either side binding. Subscribers hold a few overlapping prefixes, some twice, and
//! change them (subscribe more, unsubscribe one instance) while the faults last; some read
//! slowly then, so their queues fill and the publishers must drop for them alone. Subscribers
//! leave and come back as new sockets, and every host may crash. An XPUB's application reads
//! the subscriptions it is told of.

use crate::node::{HostCtx, SimSocket, SockOpts};
use crate::run::{Scenario, Setup};
use crate::world::Phase;
use bytes::Bytes;
use ferromq::SocketType;
use std::rc::Rc;
use std::time::Duration;

pub(crate) const PORT: u16 = 5800;
/// What subscribers subscribe to: nested prefixes, and the empty topic now and then.
const SUB_TOPICS: [&str; 5] = ["t", "t1", "t12", "t2", "x"];
/// What publishers publish under: some exactly a subscribed topic, some longer, some unwanted.
const PUB_TOPICS: [&str; 9] = ["t", "t1", "t12", "t123", "t2", "t3", "x", "xy", "y"];

/// See the module docs.
pub struct PubSub;

#[derive(Debug)]
struct Cfg {
    publishers: u64,
    subscribers: u64,
    publishers_bind: bool,
    hwm: u64,
}

impl Scenario for PubSub {
    fn name(&self) -> &'static str {
        "pub-sub"
    }

    fn about(&self) -> &'static str {
        "1-2 PUB/XPUB and 2-3 SUB/XSUB with changing, overlapping subscriptions, slow readers"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let cfg = Rc::new(Cfg {
            publishers: s.random(1, 2),
            subscribers: s.random(2, 3),
            publishers_bind: s.random(0, 1) == 1,
            hwm: [5, 50, 1000][s.random(0, 2) as usize],
        });
        s.allow("publisher", "subscriber");
        let pubs: Vec<String> = (0..cfg.publishers).map(|i| format!("pub{i}")).collect();
        let subs: Vec<String> = (0..cfg.subscribers).map(|i| format!("sub{i}")).collect();
        let (to_pubs, to_subs) = if cfg.publishers_bind {
            (Rc::new(Vec::new()), Rc::new(pubs.clone()))
        } else {
            (Rc::new(subs.clone()), Rc::new(Vec::new()))
        };
        for name in &pubs {
            let ty = if s.random(0, 1) == 1 { SocketType::Xpub } else { SocketType::Pub };
            let (hwm, peers) = (cfg.hwm, to_pubs.clone());
            s.host(name, move |h| publisher(h, hwm, ty, peers.clone()));
        }
        for name in &subs {
            let ty = if s.random(0, 2) == 0 { SocketType::Xsub } else { SocketType::Sub };
            let (hwm, peers) = (cfg.hwm, to_subs.clone());
            s.host(name, move |h| subscriber(h, hwm, ty, peers.clone()));
        }
        s.faults().crashable = pubs.into_iter().chain(subs).collect();
    }
}

fn pick<'a>(h: &HostCtx, from: &[&'a str]) -> &'a str {
    from[h.random(0, from.len() as u64 - 1) as usize]
}

/// Connects to every host in `peers` (on [`PORT`]), or binds when there is none.
fn attach(sock: &SimSocket, peers: &[String]) {
    if peers.is_empty() {
        sock.bind(PORT);
    }
    for p in peers {
        sock.connect(p, PORT);
    }
}

/// A PUB or XPUB publishing under random topics until sending stops.
pub(crate) async fn publisher(h: HostCtx, hwm: u64, ty: SocketType, peers: Rc<Vec<String>>) {
    let mut o = SockOpts::new(ty);
    o.sndhwm = hwm;
    o.rcvhwm = hwm;
    o.closes_with_senders = true;
    let sock = Rc::new(h.socket(ty, "publisher", o));
    attach(&sock, &peers);
    if ty == SocketType::Xpub {
        // Its application hears of subscriptions, as a forwarder's does.
        let (h2, sock) = (h.clone(), sock.clone());
        h.spawn(async move { listen(h2, sock).await });
    }
    while h.phase() < Phase::Drain {
        let topic = Bytes::from_static(pick(&h, &PUB_TOPICS).as_bytes());
        let parts = h.random(1, 2) as u16;
        let size = h.random(0, 100) as usize;
        // A PUB never waits: the checker flags a send that is not taken at once.
        let _ = sock.send_with(&[topic], None, parts, size, Duration::from_millis(100)).await;
        let pause = match h.phase() {
            // Bursts in the fault phase fill slow subscribers' queues.
            Phase::Faults if h.chance(0.9) => 1,
            Phase::Faults => h.random(5, 30),
            // Gently once the faults stop, so that every subscriber keeps up.
            _ => h.random(10, 20),
        };
        h.sleep(Duration::from_millis(pause)).await;
    }
}

async fn listen(h: HostCtx, sock: Rc<SimSocket>) {
    let end = h.world().get().timeline.close_receivers;
    while h.world().get().now < end && !sock.is_closing() {
        sock.recv(Duration::from_millis(50)).await;
    }
}

/// A SUB or XSUB with a few overlapping subscriptions that change while the faults last,
/// sometimes slow, sometimes leaving and coming back as a new socket.
pub(crate) async fn subscriber(h: HostCtx, hwm: u64, ty: SocketType, peers: Rc<Vec<String>>) {
    let end = h.world().get().timeline.close_receivers;
    while h.world().get().now < end {
        let mut o = SockOpts::new(ty);
        o.rcvhwm = hwm;
        o.sndhwm = hwm;
        let sock = h.socket(ty, "subscriber", o);
        // Subscribing before connecting (replayed at attach) or after (sent at once).
        let early = h.chance(0.5);
        let mut held: Vec<&str> = Vec::new();
        let first = h.random(1, 3);
        let subscribe = |sock: &SimSocket, held: &mut Vec<&str>| {
            let topic = if h.chance(0.1) { "" } else { pick(&h, &SUB_TOPICS) };
            sock.subscribe(topic.as_bytes());
            held.push(topic);
        };
        if early {
            for _ in 0..first {
                subscribe(&sock, &mut held);
            }
        }
        attach(&sock, &peers);
        if !early {
            for _ in 0..first {
                subscribe(&sock, &mut held);
            }
        }
        let leaves = h.chance(0.25);
        let slow = h.chance(0.4);
        let stay = Duration::from_millis(h.random(500, 5000));
        let opened = h.world().get().now;
        let mut next_change = opened + Duration::from_millis(h.random(100, 800));
        loop {
            let now = h.world().get().now;
            if now >= end {
                return;
            }
            sock.recv(Duration::from_millis(20)).await;
            if h.phase() != Phase::Faults {
                continue;
            }
            if now >= next_change {
                next_change = now + Duration::from_millis(h.random(100, 800));
                if held.is_empty() || h.chance(0.6) {
                    subscribe(&sock, &mut held);
                } else {
                    let topic = held.swap_remove(h.random(0, held.len() as u64 - 1) as usize);
                    sock.unsubscribe(topic.as_bytes());
                }
            }
            if slow && h.chance(0.05) {
                // A slow reader: its queue fills, and publishers drop for it alone (PUB-04).
                h.sleep(Duration::from_millis(h.random(50, 500))).await;
            }
            if leaves && now > opened + stay {
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 1000))).await;
                break;
            }
        }
    }
}
