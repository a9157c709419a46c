//! The SPSC queue on real threads at full size (256-slot chunks, spare recycling), where the
//! loom models use two-slot chunks and a handful of items. A seeded producer writes multipart
//! messages, rolls some back half-written, and flushes at random points; it wakes the consumer
//! (a thread unpark) exactly when `flush` reports it asleep, as a pipe's owner does. The
//! consumer mixes `read` (which arms a wake-up and then parks) with `try_read` (which polls).
//!
//! Checked: every message arrives once, in order and whole; no rolled-back part ever arrives;
//! and no wake-up is lost. A parked consumer that times out and then finds items published
//! was never told about them: the producer unparks on every flush that reports a sleeper, and
//! an unpark that comes before the park is kept, so a timeout with items waiting is a bug.

use ferromq::pipe::spsc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

/// A part: message number in the high bits, part index and "last part" in the low ones.
fn part(msg: u64, index: u64, last: bool) -> u64 {
    (msg << 16) | (index << 1) | last as u64
}

/// Rolled-back parts carry this bit; the consumer must never see one.
const ROLLED_BACK: u64 = 1 << 63;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: small and seedable; statistical quality does not matter here.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn run(seed: u64, messages: u64) {
    let (mut tx, mut rx) = spsc::channel::<u64>();
    // Progress the producer can wait on, so the consumer is sure to run dry and sleep now
    // and then: left alone, it may lag all the way and never test the wake-up path.
    let consumed = Arc::new(AtomicU64::new(0));
    let sleeps = Arc::new(AtomicU64::new(0));
    let (c_consumed, c_sleeps) = (consumed.clone(), sleeps.clone());
    let consumer = thread::spawn(move || {
        let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
        let (mut next_msg, mut next_index) = (0u64, 0u64);
        let mut parks = 0u64;
        while next_msg < messages {
            let polling = rng.below(4) == 0;
            let item = if polling { rx.try_read() } else { rx.read() };
            let Some(v) = item else {
                if polling {
                    thread::yield_now();
                } else {
                    parks += 1;
                    c_sleeps.fetch_add(1, Ordering::Release);
                    let before = std::time::Instant::now();
                    thread::park_timeout(Duration::from_secs(5));
                    if before.elapsed() >= Duration::from_secs(5) {
                        assert!(
                            rx.try_read().is_none(),
                            "seed {seed}: lost wake-up: items were published while the \
                             consumer slept, and no flush reported it asleep"
                        );
                    }
                }
                continue;
            };
            assert_eq!(v & ROLLED_BACK, 0, "seed {seed}: a rolled-back part arrived: {v:#x}");
            let (msg, index, last) = (v >> 16, (v >> 1) & 0x7fff, v & 1 == 1);
            assert_eq!(
                (msg, index),
                (next_msg, next_index),
                "seed {seed}: out of order, duplicated, lost or split"
            );
            if last {
                next_msg += 1;
                next_index = 0;
                c_consumed.store(next_msg, Ordering::Release);
            } else {
                next_index += 1;
            }
        }
        parks
    });
    let waker = consumer.thread().clone();
    let mut rng = Rng(seed);
    let mut unflushed = 0;
    for msg in 0..messages {
        if msg % 4096 == 4095 {
            // Let the consumer drain and go to sleep; the next flush must then wake it.
            if !tx.flush() {
                waker.unpark();
            }
            let slept = sleeps.load(Ordering::Acquire);
            while consumed.load(Ordering::Acquire) < msg || sleeps.load(Ordering::Acquire) == slept
            {
                if consumer.is_finished() {
                    break; // it failed: the join below reports why
                }
                thread::yield_now();
            }
        }
        // Now and then a message is begun and abandoned (a send rolled back).
        if rng.below(50) == 0 {
            let n = 1 + rng.below(600);
            for i in 0..n {
                tx.write(ROLLED_BACK | part(msg, i, false), true);
            }
            for _ in 0..n {
                assert!(tx.unwrite().is_some());
            }
        }
        // Mostly single parts; some multipart messages long enough to span chunks.
        let parts = match rng.below(20) {
            0 => 2 + rng.below(700),
            1..=3 => 2 + rng.below(4),
            _ => 1,
        };
        for i in 0..parts {
            tx.write(part(msg, i, i + 1 == parts), i + 1 < parts);
            // A flush in the middle of a message publishes only the complete ones before it.
            if rng.below(200) == 0 && !tx.flush() {
                waker.unpark();
            }
        }
        unflushed += 1;
        if unflushed > rng.below(64) {
            unflushed = 0;
            if !tx.flush() {
                waker.unpark();
            }
        }
    }
    if !tx.flush() {
        waker.unpark();
    }
    let parks = consumer.join().unwrap();
    assert!(parks >= messages / 4096, "seed {seed}: the consumer slept only {parks} times");
}

#[test]
fn multipart_fifo_rollback_and_wakeups_on_real_threads() {
    // Sized so a debug build (what `cargo test` runs) takes a second or two.
    let messages = if cfg!(debug_assertions) { 60_000 } else { 600_000 };
    for seed in 1..=4 {
        run(seed, messages);
    }
}
