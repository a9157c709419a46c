//! Msg create + clone + drop, for bodies around the inline threshold and well above it.
//! `cargo bench --bench msg`

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferromq::Msg;
use std::hint::black_box;

fn create_clone_drop(c: &mut Criterion) {
    let mut g = c.benchmark_group("msg_create_clone_drop");
    for size in [1usize, 32, 64, 70, 1024, 64 * 1024] {
        let src = vec![0xA5u8; size];
        let shared = Bytes::from(src.clone());
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("from_slice", size), &src, |b, src| {
            b.iter(|| {
                let m = Msg::from(black_box(&src[..]));
                let m2 = m.clone();
                black_box((&m, &m2));
            })
        });
        g.bench_with_input(BenchmarkId::new("from_bytes", size), &shared, |b, shared| {
            b.iter(|| {
                let m = Msg::from(black_box(shared.clone()));
                let m2 = m.clone();
                black_box((&m, &m2));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, create_clone_drop);
criterion_main!(benches);
