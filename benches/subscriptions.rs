//! Matching a message against a publisher's subscriptions: the time depends on the topic's
//! length, not on how many subscriptions there are. Publishers with 100 subscribers and 100,
//! 1 000 and 10 000 subscriptions in all match topics of 4, 16 and 64 bytes; across one
//! topic length the times should stay flat as the subscription count grows 100-fold, and
//! across one count they should grow with the length.
//! `cargo bench --bench subscriptions`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ferromq::core::PipeId;
use ferromq::core::pattern::PipeTrie;
use std::hint::black_box;

const SUBSCRIBERS: u64 = 100;

/// `n` distinct topics of `len` bytes, spread over the subscribers: a topic is the decimal of
/// its number, padded, so that they share prefixes as real topic trees do.
fn trie(n: usize, len: usize) -> PipeTrie {
    let mut t = PipeTrie::default();
    for i in 0..n {
        let topic = format!("{i:0>len$}");
        t.add(topic.as_bytes(), PipeId(i as u64 % SUBSCRIBERS));
    }
    t
}

fn matching(c: &mut Criterion) {
    let mut g = c.benchmark_group("subscriptions");
    for len in [4usize, 16, 64] {
        for n in [100usize, 1000, 10_000] {
            let t = trie(n, len);
            // A message whose first frame is a subscribed topic and a little more.
            let msg = format!("{:0>len$}-payload", n / 2).into_bytes();
            g.bench_with_input(BenchmarkId::new(format!("topic {len} B"), n), &msg, |b, msg| {
                b.iter(|| {
                    let mut hits = 0u32;
                    t.matching(black_box(msg), |_| hits += 1);
                    assert_eq!(hits, 1);
                    hits
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
