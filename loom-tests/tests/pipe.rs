//! Models of a pipe between two actors, each on its own thread with its own mailbox: pipe
//! commands travel between them exactly as they will between a socket and a session.
#![cfg(loom)]

use ferromq::pipe::{Mailbox, PipeCommand, PipeEnd, PipeEvent, pipe_pair, return_spent};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use loom_tests::{Part, apply_commands, forward, mailbox, serve_until_terminated};

/// Proves: with a high-water mark of 1, a blocked writer is always woken by the reader's
/// low-water-mark credit and the reader always by the writer's activation, so three messages
/// get through, in order, for every interleaving. A missed wake-up on either side would leave
/// both threads asleep: loom reports that as a deadlock.
#[test]
fn hwm_blocking_and_lwm_wakeup_never_deadlock() {
    loom::model(|| {
        let (drops, a, b, _) = three_messages_at_hwm_1(false);
        drop((a, b));
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

/// Three messages, in order, through a pipe with a high-water mark of 1 (credit at every
/// message): the writer on this thread, the reader on another, each sleeping on its own
/// mailbox. With `spend` the reader returns what it read to the writer (`return_spent`).
/// Gives the drop count, both ends and the writer's mailbox (what is still in it).
fn three_messages_at_hwm_1(
    spend: bool,
) -> (Arc<AtomicUsize>, PipeEnd<Part>, PipeEnd<Part>, Mailbox<PipeCommand>) {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut a, mut b) = pipe_pair::<Part>(1, 1);
    if spend {
        return_spent(&mut b, &mut a);
    }
    let (mut a_mb, to_a, a_signal) = mailbox();
    let (mut b_mb, to_b, b_signal) = mailbox();
    let reader = thread::spawn(move || {
        let mut got = Vec::new();
        while got.len() < 3 {
            apply_commands(&mut b, &mut b_mb);
            while let Some(p) = b.read() {
                got.push(p.id);
                if spend {
                    b.spent(p);
                }
            }
            forward(&mut b, &to_a);
            if got.len() < 3 {
                b_signal.wait();
            }
        }
        assert_eq!(got, [0, 1, 2]);
        b
    });
    let mut sent = 0;
    while sent < 3 {
        apply_commands(&mut a, &mut a_mb);
        while sent < 3 && a.check_write() {
            a.write(Part::new(sent, &drops)).unwrap();
            sent += 1;
        }
        a.flush();
        forward(&mut a, &to_b);
        if sent < 3 {
            a_signal.wait();
        }
    }
    let b = reader.join().unwrap();
    (drops, a, b, a_mb)
}

/// Proves: when the writer terminates right after writing, with its messages in flight, the
/// reader (delay on) still reads every one, both ends finish the handshake, and every message
/// is dropped exactly once (none stranded, none freed twice).
#[test]
fn term_from_the_writer_with_messages_in_flight() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut a, mut b) = pipe_pair::<Part>(0, 0);
        let (mut a_mb, to_a, a_signal) = mailbox();
        let (mut b_mb, to_b, b_signal) = mailbox();
        let reader =
            thread::spawn(move || serve_until_terminated(&mut b, &mut b_mb, &b_signal, &to_a));
        a.write(Part::new(0, &drops)).unwrap();
        a.write(Part::new(1, &drops)).unwrap();
        a.flush();
        a.terminate(true);
        serve_until_terminated(&mut a, &mut a_mb, &a_signal, &to_b);
        assert_eq!(a.poll_event(), Some(PipeEvent::Terminated));
        assert_eq!(reader.join().unwrap(), [0, 1], "the reader lost a message");
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// Proves: when the reader terminates while the writer has messages in flight, the handshake
/// still completes on both sides, and the unread messages are freed exactly once.
#[test]
fn term_from_the_reader_with_messages_in_flight() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut a, mut b) = pipe_pair::<Part>(0, 0);
        let (mut a_mb, to_a, a_signal) = mailbox();
        let (mut b_mb, to_b, b_signal) = mailbox();
        let reader = thread::spawn(move || {
            b.terminate(true);
            serve_until_terminated(&mut b, &mut b_mb, &b_signal, &to_a);
            assert!(b.is_terminated());
        });
        a.write(Part::new(0, &drops)).unwrap();
        a.flush();
        forward(&mut a, &to_b);
        a.write(Part::new(1, &drops)).unwrap();
        a.flush();
        serve_until_terminated(&mut a, &mut a_mb, &a_signal, &to_b);
        reader.join().unwrap();
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// Proves: both ends terminating at the same moment finish the handshake (no end waits for an
/// acknowledgement that never comes).
#[test]
fn simultaneous_term_from_both_ends() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut a, mut b) = pipe_pair::<Part>(0, 0);
        let (mut a_mb, to_a, a_signal) = mailbox();
        let (mut b_mb, to_b, b_signal) = mailbox();
        b.write(Part::new(7, &drops)).unwrap();
        let reader = thread::spawn(move || {
            b.terminate(true);
            serve_until_terminated(&mut b, &mut b_mb, &b_signal, &to_a);
        });
        a.terminate(true);
        serve_until_terminated(&mut a, &mut a_mb, &a_signal, &to_b);
        reader.join().unwrap();
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

/// Proves: with the reader returning what it used up (`return_spent`), every message still gets
/// through in order and is dropped exactly once; what was spent before the last credit is
/// dropped by the writer once it has handled that credit, whatever the interleaving (the slot
/// is filled before the credit is sent); and the slot's lock never deadlocks against the
/// mailboxes.
#[test]
fn spent_messages_returned_to_the_writer_are_dropped_once() {
    loom::model(|| {
        let (drops, mut a, b, mut a_mb) = three_messages_at_hwm_1(true);
        // Credit goes back at every message (HWM 1): the first two, spent before the last
        // credit, reach the writer with it in every interleaving and are dropped by it; the
        // last one waits in the reader's batch and goes with the ends.
        apply_commands(&mut a, &mut a_mb);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        drop((a, b));
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}
