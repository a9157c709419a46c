//! A forwarder between publishers and subscribers: one or two publishers (PUB or XPUB) that
//! bind, a proxy host whose XSUB connects to them and whose XPUB the subscribers (SUB or XSUB,
//! two or three) connect to, and the proxy's loop of `zmq_proxy`: every message from the XSUB
//! goes out of the XPUB as it is, every subscription the XPUB reports goes up through the XSUB.
//! Subscriptions change during the faults, subscribers come and go, and every host, the proxy
//! too, may crash. The checker follows each message over both hops.

use super::pub_sub::{PORT, publisher, subscriber};
use crate::node::{HostCtx, SimSocket, SockOpts};
use crate::run::{Scenario, Setup};
use ferromq::SocketType;
use std::rc::Rc;
use std::time::Duration;

/// See the module docs.
pub struct XpubXsubProxy;

impl Scenario for XpubXsubProxy {
    fn name(&self) -> &'static str {
        "xpub-xsub-proxy"
    }

    fn about(&self) -> &'static str {
        "1-2 publishers, an XSUB/XPUB forwarder host, 2-3 subscribers with changing subscriptions"
    }

    fn build(&self, s: &mut Setup<'_>) {
        let hwm = [5, 50, 1000][s.random(0, 2) as usize];
        let publishers = s.random(1, 2);
        let subscribers = s.random(2, 3);
        s.allow("publisher", "forwarder");
        s.allow("forwarder", "subscriber");
        let pubs: Vec<String> = (0..publishers).map(|i| format!("pub{i}")).collect();
        let subs: Vec<String> = (0..subscribers).map(|i| format!("sub{i}")).collect();
        for name in &pubs {
            let ty = if s.random(0, 1) == 1 { SocketType::Xpub } else { SocketType::Pub };
            s.host(name, move |h| publisher(h, hwm, ty, Rc::new(Vec::new())));
        }
        let upstream = Rc::new(pubs.clone());
        s.host("proxy", move |h| forwarder(h, hwm, upstream.clone()));
        let proxy = Rc::new(vec!["proxy".to_owned()]);
        for name in &subs {
            let ty = if s.random(0, 2) == 0 { SocketType::Xsub } else { SocketType::Sub };
            let peers = proxy.clone();
            s.host(name, move |h| subscriber(h, hwm, ty, peers.clone()));
        }
        let mut crashable: Vec<String> = pubs.into_iter().chain(subs).collect();
        crashable.push("proxy".to_owned());
        s.faults().crashable = crashable;
    }
}

async fn forwarder(h: HostCtx, hwm: u64, upstream: Rc<Vec<String>>) {
    let opts = |ty| {
        let mut o = SockOpts::new(ty);
        o.sndhwm = hwm;
        o.rcvhwm = hwm;
        o
    };
    let frontend = Rc::new(h.socket(SocketType::Xsub, "forwarder", opts(SocketType::Xsub)));
    for p in upstream.iter() {
        frontend.connect(p, PORT);
    }
    let backend = Rc::new(h.socket(SocketType::Xpub, "forwarder", opts(SocketType::Xpub)));
    backend.bind(PORT);
    let end = h.world().get().timeline.close_receivers;
    // Subscriptions up: what the XPUB reports, sent as they are through the XSUB.
    {
        let (h2, frontend, backend) = (h.clone(), frontend.clone(), backend.clone());
        h.spawn(async move { subscriptions_up(h2, frontend, backend, end).await });
    }
    // Messages down, parts as they are.
    while h.world().get().now < end {
        let Some(parts) = frontend.recv_raw(Duration::from_millis(50)).await else { continue };
        let _ = backend.forward(parts, Duration::from_millis(100)).await;
    }
}

async fn subscriptions_up(
    h: HostCtx,
    frontend: Rc<SimSocket>,
    backend: Rc<SimSocket>,
    end: Duration,
) {
    while h.world().get().now < end {
        let Some(parts) = backend.recv_raw(Duration::from_millis(50)).await else { continue };
        if let [m] = &parts[..] {
            match m.first() {
                Some(1) => frontend.subscribe(&m[1..]),
                Some(0) => frontend.unsubscribe(&m[1..]),
                _ => {}
            }
        }
    }
}
