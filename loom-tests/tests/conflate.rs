//! Models of a conflating pipe (CONFLATE, Q-10): the triple buffer's hand-over between a
//! writer and a reader on their own threads, with pipe commands carried by mailboxes.
#![cfg(loom)]

use ferromq::pipe::{Flow, PipeEvent, pipe_pair_with};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use loom_tests::{Part, apply_commands, forward, mailbox, serve_until_terminated};

/// Proves: whatever the interleaving, the reader of a conflating pipe sees a rising run of
/// ids that ends with the newest one written (a missed wake-up would leave it asleep: loom
/// reports the deadlock), and every message is dropped exactly once — the conflated ones by
/// the writer, the read ones by the reader.
#[test]
fn the_newest_always_arrives_and_nothing_leaks() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut a, mut b) = pipe_pair_with::<Part>(Flow::Conflate, Flow::Queue(0));
        let (mut b_mb, to_b, b_signal) = mailbox();
        let reader = thread::spawn(move || {
            let mut got: Vec<u32> = Vec::new();
            while got.last() != Some(&2) {
                apply_commands(&mut b, &mut b_mb);
                while let Some(p) = b.read() {
                    got.push(p.id);
                }
                if got.last() != Some(&2) {
                    b_signal.wait();
                }
            }
            assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
        });
        for id in 0..3 {
            a.write(Part::new(id, &drops)).unwrap();
            a.flush();
            forward(&mut a, &to_b);
        }
        reader.join().unwrap();
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

/// Proves: the writer's close never takes the place of the newest message: a reader that
/// reads until the handshake ends has read it, and both ends terminate.
#[test]
fn the_close_comes_after_the_newest_message() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut a, mut b) = pipe_pair_with::<Part>(Flow::Conflate, Flow::Queue(0));
        let (mut a_mb, to_a, a_signal) = mailbox();
        let (mut b_mb, to_b, b_signal) = mailbox();
        let reader =
            thread::spawn(move || serve_until_terminated(&mut b, &mut b_mb, &b_signal, &to_a));
        a.write(Part::new(0, &drops)).unwrap();
        a.flush();
        a.write(Part::new(1, &drops)).unwrap();
        a.flush();
        a.terminate(true);
        serve_until_terminated(&mut a, &mut a_mb, &a_signal, &to_b);
        assert_eq!(a.poll_event(), Some(PipeEvent::Terminated));
        let got = reader.join().unwrap();
        assert_eq!(got.last(), Some(&1), "the close replaced the newest message: {got:?}");
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}
