//! PUSH/PULL pipelines: one to three pushers and one to three pullers, either side binding,
//! pushers and pullers leaving and coming back, slow pullers, small and large multipart
//! messages, every host crashable.

use crate::node::{HostCtx, SockOpts};
use crate::run::{Scenario, Setup};
use crate::world::Phase;
use ferromq::SocketType;
use std::rc::Rc;
use std::time::Duration;

const PORT: u16 = 5555;

/// See the module docs.
pub struct PushPull;

#[derive(Debug)]
struct Cfg {
    pushers: u64,
    pullers: u64,
    pullers_bind: bool,
    hwm: u64,
    big: bool,
    /// RECONNECT_IVL_MAX set (doubling backoff) or not (jitter).
    backoff: bool,
}

impl Scenario for PushPull {
    fn name(&self) -> &'static str {
        "push-pull"
    }

    fn about(&self) -> &'static str {
        "1-3 PUSH to 1-3 PULL, either side binding, peers coming and going"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let cfg = Rc::new(Cfg {
            pushers: s.random(1, 3),
            pullers: s.random(1, 3),
            pullers_bind: s.random(0, 1) == 1,
            hwm: [2, 5, 20, 1000][s.random(0, 3) as usize],
            big: s.random(0, 3) == 0,
            backoff: s.random(0, 1) == 1,
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
    o.sndhwm = cfg.hwm;
    o.rcvhwm = cfg.hwm;
    if !cfg.backoff {
        o.reconnect_ivl_max = None;
    }
    o
}

/// A random moment of the quiet phase, far enough from its end that a close then still has
/// its linger before the senders' closing time.
pub(crate) fn quiet_moment(h: &HostCtx) -> Duration {
    let t = h.world().get().timeline;
    t.faults_end + crate::check::liveness::SETTLE + Duration::from_millis(h.random(0, 1000))
}

fn shape(h: &HostCtx, big: bool) -> (u16, usize) {
    let parts = h.random(1, 3) as u16;
    let size = if big && h.chance(0.3) { h.random(1000, 40_000) } else { h.random(0, 200) };
    (parts, size as usize)
}

async fn pusher(h: HostCtx, cfg: Rc<Cfg>) {
    while h.phase() < Phase::Drain {
        // Sometimes LINGER is set only after connecting, as users do before they close: it
        // must apply to the connections made before (O-02).
        let late_linger = h.chance(0.5);
        let mut o = opts(SocketType::Push, &cfg);
        let linger = o.linger;
        if late_linger {
            o.linger = Some(Duration::ZERO);
        }
        let sock = h.socket(SocketType::Push, "pusher", o);
        if cfg.pullers_bind {
            for j in 0..cfg.pullers {
                sock.connect(&format!("pull{j}"), PORT);
            }
        } else {
            sock.bind(PORT);
        }
        if late_linger {
            sock.set_linger(linger);
        }
        let leaves = h.chance(0.3);
        let stay = Duration::from_millis(h.random(200, 4000));
        let opened = h.world().get().now;
        // Some pushers quit in the quiet phase right after a burst, as a batch job does: with
        // every peer up, every message queued at the close must still arrive (L-07).
        let quits_at = h.chance(0.25).then(|| quiet_moment(&h));
        while h.phase() < Phase::Drain {
            let burst = h.random(1, 2 * cfg.hwm.min(20) + 2);
            for _ in 0..burst {
                let (parts, size) = shape(&h, cfg.big);
                if sock.send(parts, size, Duration::from_millis(20)).await.is_none() {
                    break;
                }
            }
            let now = h.world().get().now;
            if quits_at.is_some_and(|q| now >= q) {
                // And starts again soon, as a batch job's next run does.
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 200))).await;
                break;
            }
            h.sleep(Duration::from_millis(h.random(5, 50))).await;
            let now = h.world().get().now;
            if leaves && h.phase() == Phase::Faults && now > opened + stay {
                // Leave (closing with linger) and come back as a new socket.
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 1000))).await;
                break;
            }
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
        let slow = h.chance(0.3);
        let stay = Duration::from_millis(h.random(200, 4000));
        let opened = h.world().get().now;
        loop {
            let now = h.world().get().now;
            if now >= end {
                return;
            }
            sock.recv(Duration::from_millis(50)).await;
            if slow && h.phase() == Phase::Faults && h.chance(0.02) {
                // A slow consumer: the pipe fills to RCVHWM and the pusher must hold back.
                h.sleep(Duration::from_millis(h.random(50, 800))).await;
            }
            if leaves && h.phase() == Phase::Faults && now > opened + stay {
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 1000))).await;
                break;
            }
        }
    }
}
