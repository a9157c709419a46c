//! Models of the SPSC queue (CHUNK = 2 under loom, so five items cross two chunk boundaries:
//! the consumer pushes finished chunks onto the spare list while the producer takes them).
#![cfg(loom)]

use ferromq::pipe::spsc;
use loom::thread;

/// Proves: for every interleaving of write / flush / read / sleep / wake, the consumer gets
/// every item exactly once, in order, across chunk boundaries and through chunks recycled by
/// the spare list (a chunk reused too early would corrupt an item or trip loom's causality
/// checks), and is never left asleep with
/// items published (a lost wake-up would show as a loom deadlock: the consumer parked forever).
/// That includes a consumer that read a batch through its mark before the flush swapped the
/// shared word, and then slept from the word that still lagged behind it: two mistakes of that
/// kind, made while writing the marks, each failed this model.
#[test]
fn fifo_no_loss_no_duplication_no_lost_wakeup() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<u32>();
        let consumer = thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 5 {
                match rx.read() {
                    Some(v) => got.push(v),
                    None => thread::park(),
                }
            }
            assert_eq!(got, [0, 1, 2, 3, 4]);
            assert_eq!(rx.read(), None);
        });
        let waker = consumer.thread().clone();
        for i in 0..5 {
            tx.write(i, false);
            if !tx.flush() {
                waker.unpark();
            }
        }
        consumer.join().unwrap();
    });
}

/// Proves: items written as incomplete parts are published only with the part that completes
/// them: a reader running at any point of the writer's sequence sees a whole message or none;
/// and once the writer is done, everything it wrote is there.
#[test]
fn incomplete_items_are_published_whole() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<u32>();
        let producer = thread::spawn(move || {
            tx.write(0, false);
            let _ = tx.flush();
            tx.write(1, true);
            let _ = tx.flush();
            tx.write(2, false);
            let _ = tx.flush();
        });
        let mut seen: Vec<u32> = std::iter::from_fn(|| rx.read()).collect();
        assert!(matches!(&seen[..], [] | [0] | [0, 1, 2]), "a part seen alone: {seen:?}");
        producer.join().unwrap();
        seen.extend(std::iter::from_fn(|| rx.read()));
        assert_eq!(seen, [0, 1, 2], "everything written is published");
    });
}

/// Proves: a polling consumer (`try_read`, which never arms a wake-up) gets every item exactly
/// once, in order, across chunk boundaries and recycled chunks, and the producer's flushes
/// never report it asleep.
#[test]
fn polling_consumer_fifo() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<u32>();
        let consumer = thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 5 {
                match rx.try_read() {
                    Some(v) => got.push(v),
                    None => thread::yield_now(),
                }
            }
            assert_eq!(got, [0, 1, 2, 3, 4]);
        });
        for i in 0..5 {
            tx.write(i, false);
            assert!(tx.flush(), "a polling consumer never sleeps");
        }
        consumer.join().unwrap();
    });
}
