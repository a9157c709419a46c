//! CONFLATE: one or two conflating PUSH sockets feeding one or two conflating PULL
//! sockets that read slowly, so messages are dropped for newer ones on both sides of the wire;
//! either side binding, peers coming and going, every host crashable, multipart messages, and
//! pushers that close right after a burst in the quiet phase (the newest message must survive
//! the close). Judged by [`crate::check::conflate`].

use crate::node::{HostCtx, SockOpts};
use crate::run::{Scenario, Setup};
use crate::world::Phase;
use ferromq::SocketType;
use std::rc::Rc;
use std::time::Duration;

const PORT: u16 = 5600;

/// See the module docs.
pub struct Conflate;

#[derive(Debug)]
struct Cfg {
    pushers: u64,
    pullers: u64,
    pullers_bind: bool,
    /// Marks, which CONFLATE must ignore.
    hwm: u64,
    /// Longest pause between two reads.
    pace: u64,
}

impl Scenario for Conflate {
    fn name(&self) -> &'static str {
        "conflate"
    }

    fn about(&self) -> &'static str {
        "1-2 conflating PUSH to 1-2 slow conflating PULL: the newest always arrives, whole, in order"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let cfg = Rc::new(Cfg {
            pushers: s.random(1, 2),
            pullers: s.random(1, 2),
            pullers_bind: s.random(0, 1) == 1,
            hwm: [1, 2, 1000][s.random(0, 2) as usize],
            pace: [5, 50, 200][s.random(0, 2) as usize],
        });
        s.allow("pusher", "puller");
        let mut crashable = Vec::new();
        for i in 0..cfg.pushers {
            let c = cfg.clone();
            let name = format!("push{i}");
            s.host(&name, move |h| pusher(h, c.clone()));
            crashable.push(name);
        }
        for i in 0..cfg.pullers {
            let c = cfg.clone();
            let name = format!("pull{i}");
            s.host(&name, move |h| puller(h, c.clone()));
            crashable.push(name);
        }
        s.faults().crashable = crashable;
    }
}

fn opts(ty: SocketType, cfg: &Cfg) -> SockOpts {
    let mut o = SockOpts::new(ty);
    o.socket.conflate = true;
    o.socket.sndhwm = cfg.hwm;
    o.socket.rcvhwm = cfg.hwm;
    o
}

async fn pusher(h: HostCtx, cfg: Rc<Cfg>) {
    while h.phase() < Phase::Drain {
        let sock = h.socket(SocketType::Push, "pusher", opts(SocketType::Push, &cfg));
        if cfg.pullers_bind {
            for j in 0..cfg.pullers {
                sock.connect(&format!("pull{j}"), PORT);
            }
        } else {
            sock.bind(PORT);
        }
        let leaves = h.chance(0.3);
        let stay = Duration::from_millis(h.random(200, 4000));
        let opened = h.world().get().now;
        // Some pushers close right after a burst in the quiet phase, with every peer up: the
        // newest message, maybe still in the pipe, must get through the close.
        let quits_at = h.chance(0.4).then(|| super::push_pull::quiet_moment(&h));
        while h.phase() < Phase::Drain {
            for _ in 0..h.random(1, 30) {
                let parts = h.random(1, 3) as u16;
                let size = h.random(0, 300) as usize;
                // Never refused, whatever the mark: with no pipe at all (a binder without
                // peers) the send waits, and gives up at the timeout.
                if sock.send(parts, size, Duration::from_millis(20)).await.is_none() {
                    break;
                }
            }
            let now = h.world().get().now;
            if quits_at.is_some_and(|q| now >= q) {
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 200))).await;
                break;
            }
            h.sleep(Duration::from_millis(h.random(1, 40))).await;
            if leaves && h.phase() == Phase::Faults && now > opened + stay {
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 1000))).await;
                break;
            }
        }
        if h.phase() >= Phase::Drain {
            h.until(Phase::Closing).await;
            sock.close();
        }
    }
}

async fn puller(h: HostCtx, cfg: Rc<Cfg>) {
    let end = h.world().get().timeline.close_receivers;
    while h.world().get().now < end {
        let sock = h.socket(SocketType::Pull, "puller", opts(SocketType::Pull, &cfg));
        if cfg.pullers_bind {
            sock.bind(PORT);
        } else {
            for i in 0..cfg.pushers {
                sock.connect(&format!("push{i}"), PORT);
            }
        }
        let leaves = h.chance(0.3);
        let stay = Duration::from_millis(h.random(200, 4000));
        let opened = h.world().get().now;
        loop {
            let now = h.world().get().now;
            if now >= end {
                sock.close();
                return;
            }
            if sock.recv(Duration::from_millis(50)).await.is_some() {
                // Slower than the pushers: the queues conflate.
                h.sleep(Duration::from_millis(h.random(0, cfg.pace))).await;
            }
            if leaves && h.phase() == Phase::Faults && now > opened + stay {
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 1000))).await;
                break;
            }
        }
    }
}
