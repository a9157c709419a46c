//! Hello world for PAIR: two threads of one process talk over inproc, one message each way.
//!
//! `cargo run --example pair`

use ferromq::{Context, SocketType};

fn main() -> ferromq::Result<()> {
    let ctx = Context::new()?;
    let mut a = ctx.socket(SocketType::Pair)?;
    a.bind("inproc://pair-example")?;
    let ctx2 = ctx.clone();
    let b = std::thread::spawn(move || -> ferromq::Result<()> {
        let mut b = ctx2.socket(SocketType::Pair)?;
        b.connect("inproc://pair-example")?;
        b.send("ping")?;
        let reply = b.recv()?;
        println!("b got {}", String::from_utf8_lossy(&reply));
        Ok(())
    });
    let msg = a.recv()?;
    println!("a got {}", String::from_utf8_lossy(&msg));
    a.send("pong")?;
    b.join().expect("thread b")?;
    Ok(())
}
