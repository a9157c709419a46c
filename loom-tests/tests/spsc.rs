//! Models of the SPSC queue (CHUNK = 2 under loom, so three items cross a chunk boundary and
//! recycle the spare chunk).
#![cfg(loom)]

use ferromq::pipe::spsc;
use loom::thread;

/// Proves: for every interleaving of write / flush / read / sleep / wake, the consumer gets
/// every item exactly once, in order, across chunk boundaries, and is never left asleep with
/// items published (a lost wake-up would show as a loom deadlock: the consumer parked forever).
#[test]
fn fifo_no_loss_no_duplication_no_lost_wakeup() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<u32>();
        let consumer = thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 3 {
                match rx.read() {
                    Some(v) => got.push(v),
                    None => thread::park(),
                }
            }
            assert_eq!(got, [0, 1, 2]);
            assert_eq!(rx.read(), None);
        });
        let waker = consumer.thread().clone();
        for i in 0..3 {
            tx.write(i, false);
            if !tx.flush() {
                waker.unpark();
            }
        }
        consumer.join().unwrap();
    });
}

/// Proves: items written as incomplete parts are published only with the part that completes
/// them: a reader running at any point of the writer's sequence sees a whole message or none.
#[test]
fn incomplete_items_are_published_whole() {
    loom::model(|| {
        let (mut tx, mut rx) = spsc::channel::<u32>();
        let consumer = thread::spawn(move || {
            let seen: Vec<u32> = std::iter::from_fn(|| rx.read()).collect();
            assert!(matches!(&seen[..], [] | [0] | [0, 1, 2]), "{seen:?}");
        });
        tx.write(0, false);
        let _ = tx.flush();
        tx.write(1, true);
        let _ = tx.flush();
        tx.write(2, false);
        let _ = tx.flush();
        consumer.join().unwrap();
    });
}
