//! PAIR: two peers sending to each other at once, either one binding; the connecting peer may
//! leave and come back; both hosts crashable.

use crate::node::{HostCtx, SimSocket, SockOpts};
use crate::run::{Scenario, Setup};
use crate::world::Phase;
use ferromq::SocketType;
use std::rc::Rc;
use std::time::Duration;

const PORT: u16 = 6000;

/// See the module docs.
pub struct Pair;

#[derive(Debug)]
struct Cfg {
    hwm: u64,
    big: bool,
    /// RECONNECT_IVL_MAX set (doubling backoff) or not (jitter).
    backoff: bool,
}

impl Scenario for Pair {
    fn name(&self) -> &'static str {
        "pair"
    }

    fn about(&self) -> &'static str {
        "two PAIR peers exchanging messages both ways, the connecting one coming and going"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let cfg = Rc::new(Cfg {
            hwm: [3, 10, 1000][s.random(0, 2) as usize],
            big: s.random(0, 3) == 0,
            backoff: s.random(0, 1) == 1,
        });
        s.allow("binder", "dialer");
        s.allow("dialer", "binder");
        let c = cfg.clone();
        s.host("a", move |h| peer(h, c.clone(), true));
        s.host("b", move |h| peer(h, cfg.clone(), false));
        s.faults().crashable = vec!["a".into(), "b".into()];
    }
}

async fn peer(h: HostCtx, cfg: Rc<Cfg>, binds: bool) {
    let end = h.world().get().timeline.close_receivers;
    let role = if binds { "binder" } else { "dialer" };
    while h.world().get().now < end {
        let mut o = SockOpts::new(SocketType::Pair);
        o.sndhwm = cfg.hwm;
        o.rcvhwm = cfg.hwm;
        if !cfg.backoff {
            o.reconnect_ivl_max = None;
        }
        // Sometimes LINGER is set only after connecting (O-02: it applies then too).
        let late_linger = !binds && h.chance(0.5);
        let linger = o.linger;
        if late_linger {
            o.linger = Some(Duration::ZERO);
        }
        let sock = Rc::new(h.socket(SocketType::Pair, role, o));
        if binds {
            sock.bind(PORT);
        } else {
            sock.connect("a", PORT);
        }
        if late_linger {
            sock.set_linger(linger);
        }
        let receiver = sock.clone();
        let rh = h.clone();
        h.spawn(async move { receive(rh, receiver, end).await });
        let leaves = !binds && h.chance(0.3);
        let stay = Duration::from_millis(h.random(300, 4000));
        let opened = h.world().get().now;
        // Sometimes the dialer quits in the quiet phase right after a burst: everything queued
        // at that close must still arrive (L-07).
        let quits_at = (!binds && h.chance(0.25)).then(|| super::push_pull::quiet_moment(&h));
        loop {
            if h.phase() >= Phase::Drain {
                return;
            }
            if quits_at.is_some_and(|q| h.world().get().now >= q) {
                // And comes back soon, as a new socket.
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 200))).await;
                break;
            }
            for _ in 0..h.random(1, 2 * cfg.hwm.min(10) + 2) {
                let parts = h.random(1, 3) as u16;
                let size = if cfg.big && h.chance(0.3) {
                    h.random(1000, 30_000)
                } else {
                    h.random(0, 100)
                };
                if sock.send(parts, size as usize, Duration::from_millis(20)).await.is_none() {
                    break;
                }
            }
            h.sleep(Duration::from_millis(h.random(5, 50))).await;
            let now = h.world().get().now;
            if leaves && h.phase() == Phase::Faults && now > opened + stay {
                sock.close();
                h.sleep(Duration::from_millis(h.random(50, 1000))).await;
                break;
            }
        }
    }
}

async fn receive(h: HostCtx, sock: Rc<SimSocket>, end: Duration) {
    while h.world().get().now < end && !sock.is_closing() {
        sock.recv(Duration::from_millis(50)).await;
    }
}
