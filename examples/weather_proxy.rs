//! The guide's weather update proxy: an XSUB/XPUB forwarder between the weather server and
//! its clients, so that clients on another network connect to the proxy. Subscriptions go up
//! through it to the server (a client that joins late too), updates come down.
//!
//! `cargo run --example weather_proxy` runs a server, the proxy and two clients (for two
//! zipcodes) in one process over tcp, and exits once both clients have their updates and the
//! proxy has stopped (when its context terminates, as `zmq_proxy` does with ETERM).

use ferromq::{Context, SocketType};
use std::time::Duration;

fn main() -> ferromq::Result<()> {
    let ctx = Context::new()?;
    let mut publisher = ctx.socket(SocketType::Pub)?;
    publisher.bind("tcp://127.0.0.1:*")?;
    let upstream = publisher.last_endpoint().expect("bound").to_owned();

    // The proxy has a context of its own, so that terminating it stops the proxy alone.
    let proxy_ctx = Context::new()?;
    let mut frontend = proxy_ctx.socket(SocketType::Xsub)?;
    frontend.connect(&upstream)?;
    let mut backend = proxy_ctx.socket(SocketType::Xpub)?;
    backend.bind("tcp://127.0.0.1:*")?;
    let downstream = backend.last_endpoint().expect("bound").to_owned();
    let proxy = std::thread::spawn(move || ferromq::proxy(&mut frontend, &mut backend, None));

    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || -> ferromq::Result<u64> {
        let mut n = 0u64;
        while stop_rx.try_recv().is_err() {
            let zipcode = 10_000 + n % 10;
            publisher.send(format!("{zipcode} {} {}", n % 100, n % 50))?;
            n += 1;
            if n % 500 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(n)
    });

    let clients: Vec<_> = ["10001", "10007"]
        .into_iter()
        .map(|zip| {
            let (ctx, downstream) = (ctx.clone(), downstream.clone());
            std::thread::spawn(move || -> ferromq::Result<()> {
                let mut sub = ctx.socket(SocketType::Sub)?;
                sub.connect(&downstream)?;
                sub.subscribe(format!("{zip} "))?;
                for _ in 0..10 {
                    let update = sub.recv()?;
                    assert!(update.starts_with(zip.as_bytes()), "filtered through the proxy");
                }
                println!("client {zip}: 10 updates through the proxy");
                Ok(())
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread")?;
    }
    stop_tx.send(()).expect("server running");
    let published = server.join().expect("server thread")?;
    proxy_ctx.term();
    let ended = proxy.join().expect("proxy thread");
    println!("server: {published} updates published; proxy ended with {ended:?}");
    assert!(matches!(ended, Err(ferromq::Error::Terminated)));
    Ok(())
}
