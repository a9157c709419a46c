//! Hello world for PUSH/PULL: a ventilator pushes tasks over tcp to two workers, which
//! share them fairly.
//!
//! `cargo run --example push_pull`

use ferromq::{Context, SocketType};
use std::time::Duration;

fn main() -> ferromq::Result<()> {
    let ctx = Context::new()?;
    let mut push = ctx.socket(SocketType::Push)?;
    push.bind("tcp://127.0.0.1:*")?;
    let endpoint = push.last_endpoint().expect("bound").to_owned();

    let workers: Vec<_> = (0..2)
        .map(|w| {
            let ctx = ctx.clone();
            let endpoint = endpoint.clone();
            std::thread::spawn(move || -> ferromq::Result<u32> {
                let mut pull = ctx.socket(SocketType::Pull)?;
                pull.set_rcvtimeo(Some(Duration::from_millis(500)));
                pull.connect(&endpoint)?;
                let mut done = 0;
                // Stop after half a second without work.
                while let Ok(task) = pull.recv() {
                    println!("worker {w}: {}", String::from_utf8_lossy(&task));
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect();

    // Give both workers time to connect so the tasks are spread over both.
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..10 {
        push.send(format!("task {i}"))?;
    }
    let total: u32 = workers.into_iter().map(|w| w.join().expect("worker").unwrap_or(0)).sum();
    println!("{total} tasks done");
    Ok(())
}
