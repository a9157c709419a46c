//! Encoder and decoder throughput for batches of small and large frames.
//! `cargo bench --bench codec`

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferromq::Msg;
use ferromq::proto::{Encoder, FrameDecoder};
use std::hint::black_box;

const BATCH: usize = 1000;

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    for size in [1usize, 64, 1024, 64 * 1024] {
        let msg = Msg::from(vec![7u8; size]);
        let mut enc = Encoder::new();
        for _ in 0..BATCH {
            enc.push_message(&msg);
        }
        let mut wire = Vec::new();
        enc.copy_to(&mut wire, usize::MAX);
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_with_input(BenchmarkId::new("encode", size), &msg, |b, msg| {
            let mut enc = Encoder::new();
            b.iter(|| {
                for _ in 0..BATCH {
                    enc.push_message(msg);
                }
                let n = enc.len();
                enc.advance(n);
                black_box(n)
            })
        });
        g.bench_with_input(BenchmarkId::new("decode", size), &wire, |b, wire| {
            b.iter(|| {
                let mut d = FrameDecoder::new(None);
                let mut buf = BytesMut::from(&wire[..]);
                let mut n = 0;
                while let Some(f) = d.decode(&mut buf).unwrap() {
                    black_box(f);
                    n += 1;
                }
                assert_eq!(n, BATCH);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
