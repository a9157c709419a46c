//! The guide's weather update server and client: a PUB publishes "zipcode temperature
//! humidity" lines for random zipcodes, and a SUB subscribes to one zipcode (a prefix filter,
//! applied at the publisher) and averages the temperature over the updates it gets.
//!
//! With no arguments both run in one process over tcp, and the client's line is printed when
//! it has its updates:
//!
//! ```text
//! cargo run --example weather
//! ```
//!
//! Or apart, as in the guide (and against libzmq's `wuserver` / `wuclient`):
//!
//! ```text
//! cargo run --example weather -- server tcp://127.0.0.1:5556
//! cargo run --example weather -- client tcp://127.0.0.1:5556 10001
//! ```

use ferromq::{Context, SocketType};
use std::time::Duration;

const UPDATES: u32 = 20;

fn main() -> ferromq::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let endpoint = args.get(1).map_or("tcp://127.0.0.1:5556", String::as_str);
    let ctx = Context::new()?;
    match args.first().map(String::as_str) {
        Some("server") => {
            let mut publisher = ctx.socket(SocketType::Pub)?;
            publisher.bind(endpoint)?;
            serve(&mut publisher, None)
        }
        Some("client") => {
            let zip = args.get(2).map_or("10001", String::as_str);
            client(&ctx, endpoint, zip).map(drop)
        }
        None => {
            let mut publisher = ctx.socket(SocketType::Pub)?;
            publisher.bind("tcp://127.0.0.1:*")?;
            let endpoint = publisher.last_endpoint().expect("bound").to_owned();
            let (stop_tx, stop_rx) = std::sync::mpsc::channel();
            let server = std::thread::spawn(move || serve(&mut publisher, Some(stop_rx)));
            let avg = client(&ctx, &endpoint, "10001")?;
            stop_tx.send(()).expect("server running");
            server.join().expect("server thread")?;
            assert!((-80..=135).contains(&avg), "an average out of the published range");
            Ok(())
        }
        Some(_) => {
            eprintln!("usage: weather [server [ENDPOINT] | client [ENDPOINT [ZIPCODE]]]");
            std::process::exit(2)
        }
    }
}

/// Publishes updates for random zipcodes until told to stop (for ever, alone).
fn serve(
    publisher: &mut ferromq::Socket,
    stop: Option<std::sync::mpsc::Receiver<()>>,
) -> ferromq::Result<()> {
    // A small xorshift: the example needs no random crate.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut sent = 0u64;
    while stop.as_ref().is_none_or(|s| s.try_recv().is_err()) {
        // Zipcodes from 10000 to 10009, so that one in ten updates is the client's.
        let zipcode = 10_000 + next(10);
        let temperature = next(215) as i64 - 80;
        let humidity = next(50) + 10;
        publisher.send(format!("{zipcode:05} {temperature} {humidity}"))?;
        sent += 1;
        if sent % 1000 == 0 {
            // Enough for the example; a real feed would not pause.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    println!("server: published {sent} updates");
    Ok(())
}

/// Averages the temperature over `UPDATES` updates for `zip`.
fn client(ctx: &Context, endpoint: &str, zip: &str) -> ferromq::Result<i64> {
    let mut sub = ctx.socket(SocketType::Sub)?;
    sub.connect(endpoint)?;
    // "10001 " with the space, so that 100010 would not match.
    sub.subscribe(format!("{zip} "))?;
    let mut total = 0i64;
    for _ in 0..UPDATES {
        let update = sub.recv()?;
        let text = String::from_utf8_lossy(&update);
        let mut fields = text.split(' ');
        assert_eq!(fields.next(), Some(zip), "the filter let through {text:?}");
        total += fields.next().and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
    }
    let avg = total / i64::from(UPDATES);
    println!("client: average temperature for zipcode {zip} was {avg}F over {UPDATES} updates");
    Ok(avg)
}
