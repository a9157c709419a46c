//! Queue throughput: ferromq's SPSC pipe queue against `std::sync::mpsc` and crossbeam-queue's
//! `ArrayQueue` and `SegQueue`, on one thread (write a batch, read it back) and across two
//! (a producer thread and a consumer thread). Items are `u64`s and inline `Msg`s.
//!
//! `cargo bench --bench pipe` (add `-- --quick` for a short run). Compare the reported
//! throughputs within one run; this machine is noisy.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::{ArrayQueue, SegQueue};
use ferromq::Msg;
use ferromq::pipe::spsc;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const N: u64 = 100_000;

fn item(i: u64) -> Msg {
    Msg::from(i.to_le_bytes())
}

fn one_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_1_thread");
    g.throughput(Throughput::Elements(N));
    const BATCH: u64 = 1000;
    g.bench_function(BenchmarkId::new("ferromq_spsc", "msg"), |b| {
        let (mut tx, mut rx) = spsc::channel::<Msg>();
        b.iter(|| {
            for _ in 0..N / BATCH {
                for i in 0..BATCH {
                    tx.write(item(i), false);
                }
                let _ = tx.flush();
                while let Some(m) = rx.read() {
                    black_box(m);
                }
            }
        })
    });
    g.bench_function(BenchmarkId::new("std_mpsc", "msg"), |b| {
        let (tx, rx) = mpsc::channel::<Msg>();
        b.iter(|| {
            for _ in 0..N / BATCH {
                for i in 0..BATCH {
                    tx.send(item(i)).unwrap();
                }
                while let Ok(m) = rx.try_recv() {
                    black_box(m);
                }
            }
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam_array_queue", "msg"), |b| {
        let q = ArrayQueue::<Msg>::new(BATCH as usize);
        b.iter(|| {
            for _ in 0..N / BATCH {
                for i in 0..BATCH {
                    q.push(item(i)).unwrap();
                }
                while let Some(m) = q.pop() {
                    black_box(m);
                }
            }
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam_seg_queue", "msg"), |b| {
        let q = SegQueue::<Msg>::new();
        b.iter(|| {
            for _ in 0..N / BATCH {
                for i in 0..BATCH {
                    q.push(item(i));
                }
                while let Some(m) = q.pop() {
                    black_box(m);
                }
            }
        })
    });
    g.finish();
}

/// Takes `n` items from `pop`, yielding the thread whenever it finds none.
fn spin_consume(n: u64, mut pop: impl FnMut() -> Option<Msg>) {
    let mut got = 0;
    while got < n {
        match pop() {
            Some(m) => {
                black_box(m);
                got += 1;
            }
            None => thread::yield_now(),
        }
    }
}

/// Runs `produce` and `consume` on two threads for `iters` rounds of N items; returns the
/// total time from both starting to both finishing.
fn two_threads<P, C>(iters: u64, produce: P, consume: C) -> Duration
where
    P: FnOnce(u64) + Send + 'static,
    C: FnOnce(u64) + Send + 'static,
{
    let total = iters * N;
    // One core each: left to the scheduler, the two threads sometimes share a core and the
    // results swing by 2-3x from run to run on this 2-core machine.
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (pc, cc) = (cores.first().copied(), cores.get(1).copied());
    let start = Instant::now();
    // The consumer first, so it is waiting when the producer starts (as a socket's reader
    // is): started second, it can find a backlog of thousands of items that no queue would
    // hold in use, and the run measures how fast the backlog's memory is faulted in.
    let c = thread::spawn(move || {
        if let Some(c) = cc {
            core_affinity::set_for_current(c);
        }
        consume(total)
    });
    let p = thread::spawn(move || {
        if let Some(c) = pc {
            core_affinity::set_for_current(c);
        }
        produce(total)
    });
    p.join().unwrap();
    c.join().unwrap();
    start.elapsed()
}

fn cross_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_2_threads");
    g.throughput(Throughput::Elements(N));
    // The producer publishes every message as sent (as a socket does), or one flush per 64
    // messages (batched publication, the queue's design point, as a session publishes one
    // read's worth at once). The consumer either reads with the sleep protocol armed (`read`:
    // the flush's sleep report is not needed here, it yields and looks again) or polls like
    // the other queues' consumers (`try_read` never arms a wake-up).
    type Poll = fn(&mut spsc::Consumer<Msg>) -> Option<Msg>;
    for (name, batch, poll) in [
        ("ferromq_spsc", 1, spsc::Consumer::read as Poll),
        ("ferromq_spsc_try_read", 1, spsc::Consumer::try_read as Poll),
        ("ferromq_spsc_flush64", 64, spsc::Consumer::read as Poll),
    ] {
        g.bench_function(BenchmarkId::new(name, "msg"), |b| {
            b.iter_custom(|iters| {
                let (mut tx, mut rx) = spsc::channel::<Msg>();
                two_threads(
                    iters,
                    move |n| {
                        for i in 0..n {
                            tx.write(item(i), false);
                            if i % batch == batch - 1 {
                                let _ = tx.flush();
                            }
                        }
                        let _ = tx.flush();
                    },
                    move |n| spin_consume(n, || poll(&mut rx)),
                )
            })
        });
    }
    g.bench_function(BenchmarkId::new("std_mpsc", "msg"), |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = mpsc::channel::<Msg>();
            two_threads(
                iters,
                move |n| {
                    for i in 0..n {
                        tx.send(item(i)).unwrap();
                    }
                },
                move |n| {
                    for _ in 0..n {
                        black_box(rx.recv().unwrap());
                    }
                },
            )
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam_array_queue", "msg"), |b| {
        b.iter_custom(|iters| {
            let q = Arc::new(ArrayQueue::<Msg>::new(1000));
            let q2 = q.clone();
            two_threads(
                iters,
                move |n| {
                    for i in 0..n {
                        let mut m = item(i);
                        while let Err(back) = q.push(m) {
                            m = back;
                            thread::yield_now();
                        }
                    }
                },
                move |n| spin_consume(n, || q2.pop()),
            )
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam_seg_queue", "msg"), |b| {
        b.iter_custom(|iters| {
            let q = Arc::new(SegQueue::<Msg>::new());
            let q2 = q.clone();
            two_threads(
                iters,
                move |n| {
                    for i in 0..n {
                        q.push(item(i));
                    }
                },
                move |n| spin_consume(n, || q2.pop()),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, one_thread, cross_thread);
criterion_main!(benches);
