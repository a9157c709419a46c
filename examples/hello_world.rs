//! The guide's first program: a REP server answers "World" to every "Hello" from a REQ client.
//!
//! With no arguments both run in one process over tcp and exit once the client has its ten
//! replies:
//!
//! ```text
//! cargo run --example hello_world
//! ```
//!
//! Or run them apart, as the guide does (and either one against libzmq's `hwserver` or
//! `hwclient`):
//!
//! ```text
//! cargo run --example hello_world -- server tcp://127.0.0.1:5555 10
//! cargo run --example hello_world -- client tcp://127.0.0.1:5555 10
//! ```

use ferromq::{Context, SocketType};
use std::time::Duration;

fn main() -> ferromq::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let endpoint = args.get(1).map(String::as_str);
    let count = match args.get(2).map(|n| n.parse::<u32>()) {
        None => 10,
        Some(Ok(n)) => n,
        Some(Err(_)) => usage(),
    };
    let ctx = Context::new()?;
    match args.first().map(String::as_str) {
        Some("server") => server(&ctx, endpoint.unwrap_or("tcp://127.0.0.1:5555"), count),
        Some("client") => client(&ctx, endpoint.unwrap_or("tcp://127.0.0.1:5555"), count),
        None => {
            let mut rep = ctx.socket(SocketType::Rep)?;
            rep.bind("tcp://127.0.0.1:*")?;
            let endpoint = rep.last_endpoint().expect("bound").to_owned();
            let srv = std::thread::spawn(move || serve(rep, count));
            client(&ctx, &endpoint, count)?;
            srv.join().expect("server thread")
        }
        Some(_) => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: hello_world [server|client [ENDPOINT [COUNT]]]");
    std::process::exit(2)
}

fn server(ctx: &Context, endpoint: &str, count: u32) -> ferromq::Result<()> {
    let mut rep = ctx.socket(SocketType::Rep)?;
    rep.bind(endpoint)?;
    println!("server: listening on {}", rep.last_endpoint().unwrap_or(endpoint));
    serve(rep, count)
}

fn serve(mut rep: ferromq::Socket, count: u32) -> ferromq::Result<()> {
    for _ in 0..count {
        let request = rep.recv()?;
        println!("server: received {:?}", String::from_utf8_lossy(&request));
        // The "work".
        std::thread::sleep(Duration::from_millis(10));
        // REP put the client's envelope aside on receive and puts it back on this reply.
        rep.send("World")?;
    }
    Ok(())
}

fn client(ctx: &Context, endpoint: &str, count: u32) -> ferromq::Result<()> {
    let mut req = ctx.socket(SocketType::Req)?;
    // Connecting needs no server yet: the request waits in the queue until one is there.
    req.connect(endpoint)?;
    for n in 0..count {
        req.send("Hello")?;
        let reply = req.recv()?;
        println!("client: reply {n}: {:?}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}
