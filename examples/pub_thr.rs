//! `pub_thr <bind-to> <message-size> <message-count> <subscribers>`: an XPUB with no
//! high-water mark binds, waits until `subscribers` peers have subscribed, publishes
//! `message-count` fresh messages to all of them and closes, lingering until every copy went
//! out. With `sub_thr`, the fan-out row of `scripts/perf_compare.py`; `perf/c/pub_thr.c` is
//! its libzmq twin.

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;

fn main() -> ferromq::Result<()> {
    let (bind_to, size, count, subscribers) = common::fanout_args("pub_thr");
    let ctx = common::context()?;
    let mut xpub = ctx.socket(SocketType::Xpub)?;
    let mut opts = xpub.options().clone();
    opts.sndhwm = 0;
    // Every subscriber's "" subscription is reported, not only the first one.
    opts.xpub_verbose = true;
    xpub.set_options(opts)?;
    xpub.bind(&bind_to)?;
    let mut seen = 0;
    while seen < subscribers {
        if xpub.recv()?.first() == Some(&1) {
            seen += 1;
        }
    }
    for _ in 0..count {
        xpub.send(common::fresh_msg(size))?;
    }
    drop(xpub);
    ctx.term();
    Ok(())
}
