//! A slow consumer in calm weather: one PUSH bursts a few hundred messages at one PULL that
//! reads at a slow, steady pace, with no faults. Flow control must pace the pusher and
//! nothing may be lost; the heartbeat must not take the live pusher for dead while the
//! puller's own input, with the PONG behind it, waits to be decoded (W-27). Which side binds,
//! the marks, the pace and the sizes vary by seed.

use crate::node::{HostCtx, SockOpts};
use crate::run::{Scenario, Setup};
use ferromq::SocketType;
use std::rc::Rc;
use std::time::Duration;

const PORT: u16 = 7000;

/// See the module docs.
pub struct SlowConsumer;

#[derive(Debug)]
struct Cfg {
    puller_binds: bool,
    hwm: u64,
    /// Messages the pusher sends in all.
    total: u64,
    /// Time the puller takes per message.
    pace: Duration,
    /// Largest part.
    max_size: u64,
}

impl Scenario for SlowConsumer {
    fn name(&self) -> &'static str {
        "slow-consumer"
    }

    fn about(&self) -> &'static str {
        "a PUSH bursting at a PULL that reads slowly, no faults: paced, nothing lost, no false death"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let cfg = Rc::new(Cfg {
            puller_binds: s.random(0, 1) == 1,
            hwm: [1, 2, 5, 50][s.random(0, 3) as usize],
            total: s.random(200, 500),
            pace: Duration::from_millis(s.random(5, 15)),
            max_size: [20, 200, 2000][s.random(0, 2) as usize],
        });
        s.allow("pusher", "puller");
        let k = s.faults();
        k.max_faults = 0;
        k.stream_faults = false;
        let c = cfg.clone();
        s.host("push", move |h| pusher(h, c.clone()));
        s.host("pull", move |h| puller(h, cfg.clone()));
    }
}

fn opts(ty: SocketType, cfg: &Cfg) -> SockOpts {
    let mut o = SockOpts::new(ty);
    o.sndhwm = cfg.hwm;
    o.rcvhwm = cfg.hwm;
    o
}

async fn pusher(h: HostCtx, cfg: Rc<Cfg>) {
    let sock = h.socket(SocketType::Push, "pusher", opts(SocketType::Push, &cfg));
    if cfg.puller_binds {
        sock.connect("pull", PORT);
    } else {
        sock.bind(PORT);
    }
    let mut sent = 0;
    while sent < cfg.total {
        for _ in 0..h.random(1, 100).min(cfg.total - sent) {
            let size = h.random(0, cfg.max_size) as usize;
            // Blocked by the marks until the puller catches up: that is the point.
            while sock.send(1, size, Duration::from_secs(1)).await.is_none() {}
            sent += 1;
        }
        h.sleep(Duration::from_millis(h.random(1, 100))).await;
    }
    h.until(crate::world::Phase::Closing).await;
    sock.close();
}

async fn puller(h: HostCtx, cfg: Rc<Cfg>) {
    let sock = h.socket(SocketType::Pull, "puller", opts(SocketType::Pull, &cfg));
    if cfg.puller_binds {
        sock.bind(PORT);
    } else {
        sock.connect("push", PORT);
    }
    let end = h.world().get().timeline.close_receivers;
    while h.world().get().now < end {
        if sock.recv(Duration::from_millis(50)).await.is_some() {
            h.sleep(cfg.pace).await;
        }
    }
    sock.close();
}
