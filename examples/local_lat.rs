//! `local_lat <bind-to> <message-size> <roundtrip-count>`: a REP socket binds and echoes
//! `roundtrip-count` requests, as libzmq's `local_lat` does. Pair it with `remote_lat` (or
//! libzmq's, `perf/c/remote_lat.c`).

#[path = "perf/common.rs"]
mod common;

use ferromq::SocketType;

fn main() -> ferromq::Result<()> {
    let (bind_to, size, roundtrips) = common::lat_args("local_lat", true);
    let ctx = common::context()?;
    let mut rep = ctx.socket(SocketType::Rep)?;
    rep.bind(&bind_to)?;
    for _ in 0..roundtrips {
        let m = rep.recv()?;
        assert_eq!(m.len(), size, "message of the wrong size");
        rep.send(m)?;
    }
    Ok(())
}
