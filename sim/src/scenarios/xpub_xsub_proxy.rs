//! A forwarder between publishers and subscribers: one or two publishers (PUB or XPUB) that
//! bind, a proxy host whose XSUB connects to them and whose XPUB the subscribers (SUB or XSUB,
//! two or three) connect to, and ferromq's own proxy core (`ferromq::core::proxy`, what
//! `ferromq::proxy` runs): every message from the XSUB goes out of the XPUB as it is, every
//! subscription the XPUB reports goes up through the XSUB.
//! Subscriptions change during the faults, subscribers come and go, and every host, the proxy
//! too, may crash. The checker follows each message over both hops.

use super::pub_sub::{PORT, publisher, subscriber};
use crate::node::{HostCtx, SockOpts};
use crate::run::{Scenario, Setup};
use ferromq::SocketType;
use ferromq::core::proxy::ProxyCore;
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
    let frontend = h.socket(SocketType::Xsub, "forwarder", opts(SocketType::Xsub));
    for p in upstream.iter() {
        frontend.connect(p, PORT);
    }
    let backend = h.socket(SocketType::Xpub, "forwarder", opts(SocketType::Xpub));
    backend.bind(PORT);
    let end = h.world().get().timeline.close_receivers;
    let mut core = ProxyCore::default();
    let (mut front, mut back) = (frontend.proxy_side(), backend.proxy_side());
    let (na, nb) = (frontend.notifier(), backend.notifier());
    while h.world().get().now < end {
        // Armed before the pump, so that a change during it is not missed.
        let (a, b) = (na.notified(), nb.notified());
        tokio::pin!(a, b);
        a.as_mut().enable();
        b.as_mut().enable();
        match core.pump([&mut front, &mut back], None) {
            Ok(true) => tokio::task::yield_now().await,
            Ok(false) => {
                let either = async {
                    tokio::select! { _ = a => {}, _ = b => {} }
                };
                let _ = tokio::time::timeout(Duration::from_millis(50), either).await;
            }
            Err(e) => panic!("the proxy failed: {e}"),
        }
    }
}
