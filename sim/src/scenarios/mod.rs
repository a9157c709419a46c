//! The built-in scenarios. Adding one for a new socket type is a small file here and a line
//! in [`all`].

mod conflate;
mod pair;
mod pub_sub;
mod push_pull;
mod req_rep;
mod router_dealer;
mod slow_consumer;
mod xpub_xsub_proxy;

use crate::run::Scenario;

pub use conflate::Conflate;
pub use pair::Pair;
pub use pub_sub::PubSub;
pub use push_pull::PushPull;
pub use req_rep::ReqRep;
pub use router_dealer::RouterDealer;
pub use slow_consumer::SlowConsumer;
pub use xpub_xsub_proxy::XpubXsubProxy;

/// Every built-in scenario, in the default sweep's order.
pub fn all() -> &'static [&'static dyn Scenario] {
    &[&PushPull, &Pair, &SlowConsumer, &ReqRep, &RouterDealer, &PubSub, &XpubXsubProxy, &Conflate]
}

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static dyn Scenario> {
    all().iter().copied().find(|s| s.name() == name)
}
