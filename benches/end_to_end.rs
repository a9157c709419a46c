//! PUSH to PULL through the whole stack (socket cores, pipes, I/O thread, engine, kernel),
//! over inproc and tcp, and a REQ/REP round trip over tcp, in the default mode and the
//! low-latency mode. Each iteration is a batch, so criterion's figure is per message.
//! `cargo bench --bench end_to_end`; the side-by-side comparison with libzmq and omq.rs is
//! `scripts/perf_compare.py`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferromq::{Context, Msg, SocketType};
use std::time::{Duration, Instant};

const BATCH: u64 = 10_000;

/// A connected PUSH/PULL pair over `endpoint`, the PULL in a thread of its own that answers
/// each batch of `BATCH` with one byte, so a sample is the time to move the whole batch.
fn stream(c: &mut Criterion, ctx: &Context, endpoint: &str, name: &str) {
    let mut g = c.benchmark_group(format!("push_pull/{name}"));
    g.throughput(Throughput::Elements(BATCH));
    for size in [16usize, 1024] {
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        let endpoint = endpoint.replace("{size}", &size.to_string());
        pull.bind(&endpoint).unwrap();
        let ep = pull.last_endpoint().unwrap().to_owned();
        let done_ep = format!("inproc://bench-done-{name}-{size}");
        let mut done = ctx.socket(SocketType::Push).unwrap();
        done.bind(&done_ep).unwrap();
        let mut done_rx = ctx.socket(SocketType::Pull).unwrap();
        done_rx.connect(&done_ep).unwrap();
        let receiver = std::thread::spawn(move || {
            loop {
                for _ in 0..BATCH {
                    if pull.recv().unwrap().is_empty() {
                        return;
                    }
                }
                done.send(&b"!"[..]).unwrap();
            }
        });
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&ep).unwrap();
        let body = vec![7u8; size];
        g.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..BATCH {
                        push.send(Msg::copy_from_slice(&body)).unwrap();
                    }
                    done_rx.recv().unwrap();
                }
                start.elapsed()
            })
        });
        push.send(Msg::copy_from_slice(&[])).unwrap();
        receiver.join().unwrap();
    }
    g.finish();
}

/// One REQ/REP round trip of 1 byte over tcp.
fn round_trip(c: &mut Criterion, ctx: &Context, name: &str) {
    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap().to_owned();
    let server = std::thread::spawn(move || {
        loop {
            let m = rep.recv().unwrap();
            let last = m.is_empty();
            rep.send(m).unwrap();
            if last {
                return;
            }
        }
    });
    let mut req = ctx.socket(SocketType::Req).unwrap();
    req.connect(&ep).unwrap();
    c.bench_function(&format!("req_rep/tcp/{name}"), |b| {
        b.iter(|| {
            req.send(&b"x"[..]).unwrap();
            req.recv().unwrap()
        })
    });
    req.send(&b""[..]).unwrap();
    req.recv().unwrap();
    server.join().unwrap();
}

fn end_to_end(c: &mut Criterion) {
    let ctx = Context::new().unwrap();
    stream(c, &ctx, "inproc://bench-stream-{size}", "inproc");
    stream(c, &ctx, "tcp://127.0.0.1:*", "tcp");
    round_trip(c, &ctx, "default");
    let spin = Context::builder().spin(Duration::from_millis(1)).build().unwrap();
    round_trip(c, &spin, "spin");
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
