//! `inproc_lat <message-size> <roundtrip-count>`: REQ here and a REP echo thread over inproc,
//! printing libzmq's `inproc_lat` lines.

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;
use std::time::Instant;

fn main() -> ferromq::Result<()> {
    let (_, size, roundtrips) = common::lat_args("inproc_lat", false);
    let ctx = common::context()?;
    let mut req = ctx.socket(SocketType::Req)?;
    req.bind("inproc://lat_test")?;
    let echo_ctx = ctx.clone();
    let echo = std::thread::spawn(move || -> ferromq::Result<()> {
        let mut rep = echo_ctx.socket(SocketType::Rep)?;
        rep.connect("inproc://lat_test")?;
        for _ in 0..roundtrips {
            let m = rep.recv()?;
            rep.send(m)?;
        }
        Ok(())
    });
    let mut m = common::fresh_msg(size);
    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send(m)?;
        m = req.recv()?;
        assert_eq!(m.len(), size, "message of the wrong size");
    }
    let elapsed = start.elapsed();
    echo.join().expect("echo thread")?;
    common::report_lat(size, roundtrips, elapsed);
    Ok(())
}
