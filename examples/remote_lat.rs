//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: a REQ socket sends a request
//! and waits for its echo `roundtrip-count` times, then prints the one-way latency (elapsed /
//! (2 × roundtrips)) in libzmq's `remote_lat` lines.

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;
use std::time::Instant;

fn main() -> ferromq::Result<()> {
    let (connect_to, size, roundtrips) = common::lat_args("remote_lat", true);
    let ctx = common::context()?;
    let mut req = ctx.socket(SocketType::Req)?;
    req.connect(&connect_to)?;
    let mut m = common::fresh_msg(size);
    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send(m)?;
        m = req.recv()?;
        assert_eq!(m.len(), size, "message of the wrong size");
    }
    common::report_lat(size, roundtrips, start.elapsed());
    Ok(())
}
