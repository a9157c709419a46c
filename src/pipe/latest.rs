//! A single-producer single-consumer queue that keeps only the newest complete message
//! (CONFLATE, Q-10): a triple buffer, lock-free and allocation-free in its steady state.
//!
//! Three buffers: the producer builds a message in its *back* buffer, the consumer reads from
//! its *front* buffer, and the third, the *middle*, is exchanged between them through one
//! atomic word that holds its index and three flags:
//!
//! * `FRESH`: the middle holds a message the consumer has not taken. The producer's
//!   [`Producer::flush`] swaps its back buffer in as the new middle and sets it; whatever
//!   unread message the old middle held is the one conflation drops.
//! * `ASLEEP`: the consumer found nothing and sleeps. Only the consumer sets it (by a
//!   compare-and-swap that fails if a message arrived meanwhile); the producer's swap clears
//!   it and reports it, so the owner sends exactly one wake-up, as with [`super::spsc`].
//! * `CLOSED`: the producer wrote its last message (the pipe's delimiter). It never replaces
//!   the message in the middle: the consumer reads that one first, then learns of the close,
//!   once. (libzmq's conflating pipe writes the delimiter as a message, so a message sent just
//!   before a close could be lost to it.)
//!
//! Each buffer is a `VecDeque` of parts, so a multipart message is kept or replaced whole;
//! libzmq keeps only one of its parts. The deques keep their capacity, so once they have
//! grown to the largest message no operation allocates.

use crate::sync::{Arc, AtomicU64, Ordering, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::collections::VecDeque;

const INDEX: u64 = 0b11;
const FRESH: u64 = 0b100;
const ASLEEP: u64 = 0b1000;
const CLOSED: u64 = 0b1_0000;

struct Shared<T> {
    buffers: [UnsafeCell<VecDeque<T>>; 3],
    /// The middle buffer's index and the flags above.
    state: CachePadded<AtomicU64>,
}

// SAFETY: at any moment each buffer is owned by exactly one side — the producer's back, the
// consumer's front, or the middle, which neither touches until a read-modify-write of `state`
// hands it over (with acquire-release ordering, so the contents travel with the index).
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

/// The writing end.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    back: usize,
    /// Parts at the head of the back buffer that form the newest complete message; parts
    /// after them belong to a message still being written.
    complete: usize,
    closing: bool,
    closed: bool,
}

/// The reading end.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    front: usize,
    /// The close was reported: it is reported once.
    closed: bool,
}

/// What the consumer sees next.
pub enum Peek<'a, T> {
    /// Nothing; the consumer now sleeps until the producer's next flush reports it.
    Empty,
    /// A part of the newest message.
    Item(&'a T),
    /// The producer closed and every message before the close was read.
    Closed,
}

/// Creates an empty queue. The consumer starts awake.
///
/// ```
/// # #[cfg(not(loom))] {
/// use ferromq::pipe::latest::{self, Peek};
/// let (mut tx, mut rx) = latest::channel::<u32>();
/// tx.write(1, false);
/// tx.write(2, false); // replaces 1, which was not yet published
/// assert!(tx.flush());
/// tx.write(3, false);
/// assert!(tx.flush()); // replaces 2, which the consumer had not taken
/// assert_eq!(rx.read(), latest::Read::Item(3));
/// assert!(matches!(rx.peek(), Peek::Empty)); // the consumer sleeps...
/// tx.write(4, false);
/// assert!(!tx.flush()); // ...and this flush says so: its owner must wake it
/// # }
/// ```
pub fn channel<T>() -> (Producer<T>, Consumer<T>) {
    let shared = Arc::new(Shared {
        buffers: std::array::from_fn(|_| UnsafeCell::new(VecDeque::new())),
        state: CachePadded::new(AtomicU64::new(1)),
    });
    (
        Producer { shared: shared.clone(), back: 0, complete: 0, closing: false, closed: false },
        Consumer { shared, front: 2, closed: false },
    )
}

impl<T> Producer<T> {
    fn with_back<R>(&mut self, f: impl FnOnce(&mut VecDeque<T>) -> R) -> R {
        // SAFETY: the back buffer is ours alone until a flush hands it over.
        self.shared.buffers[self.back].with_mut(|b| f(unsafe { &mut *b }))
    }

    /// Writes one part; `incomplete` when another part of the same message follows. A
    /// message completed here replaces the one completed before it, if that was not
    /// published yet.
    pub fn write(&mut self, value: T, incomplete: bool) {
        let complete = self.complete;
        self.complete = self.with_back(|b| {
            b.push_back(value);
            if incomplete {
                complete
            } else {
                b.drain(..complete);
                b.len()
            }
        });
    }

    /// Takes back the last part written, if its message is not complete.
    pub fn unwrite(&mut self) -> Option<T> {
        let complete = self.complete;
        self.with_back(|b| if b.len() > complete { b.pop_back() } else { None })
    }

    /// Marks the end of the stream: after the newest message, the consumer learns of the
    /// close. Takes effect at the next [`Producer::flush`].
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// Publishes the newest complete message, replacing one the consumer has not taken, and
    /// the close if one was asked for. False when the consumer was asleep: its owner must
    /// wake it (exactly one wake-up per sleep, as [`super::spsc::Producer::flush`]).
    pub fn flush(&mut self) -> bool {
        let mut awake = true;
        let whole = self.with_back(|b| b.len()) == self.complete;
        if self.complete > 0
            && whole
            && mutant!(ConflateKeepsOldest)
            && self.shared.state.load(Ordering::Acquire) & FRESH != 0
        {
            self.with_back(VecDeque::clear);
            self.complete = 0;
        }
        if self.complete > 0 && whole {
            let closed = if self.closed { CLOSED } else { 0 };
            let old = self.shared.state.swap(self.back as u64 | FRESH | closed, Ordering::AcqRel);
            self.back = (old & INDEX) as usize;
            self.complete = 0;
            // The old middle's unread message, if any, is the one conflated away; drop it
            // now rather than at the next write.
            self.with_back(VecDeque::clear);
            awake = old & ASLEEP == 0;
        }
        if self.closing {
            self.closing = false;
            self.closed = true;
            if mutant!(ConflateCloseDropsLast) {
                self.shared.state.fetch_and(!FRESH, Ordering::AcqRel);
            }
            let old = self.shared.state.fetch_or(CLOSED, Ordering::AcqRel);
            if old & ASLEEP != 0 {
                // Clear the flag we report, so a sleeping consumer is woken once.
                self.shared.state.fetch_and(!ASLEEP, Ordering::AcqRel);
                awake = false;
            }
        }
        awake
    }
}

/// What a look at the shared word found.
enum Fill {
    /// A fresh message is now in the front buffer.
    Taken,
    /// No message is left and the producer closed: final, since it writes nothing after.
    Closed,
    /// Nothing: the consumer sleeps (or already slept) until the producer reports it.
    Empty,
}

impl<T> Consumer<T> {
    fn front(&mut self) -> &mut VecDeque<T> {
        // SAFETY: the front buffer is ours alone, and `&mut self` keeps the borrow unique.
        self.shared.buffers[self.front].with_mut(|b| unsafe { &mut *b })
    }

    /// Takes the middle buffer if it holds a fresh message; otherwise learns of the close or
    /// goes to sleep. The decision comes from one snapshot of the word, so a close never
    /// overtakes the message published before it.
    fn refresh(&mut self) -> Fill {
        let state = &self.shared.state;
        let mut old = state.load(Ordering::Acquire);
        loop {
            let (new, found) = if old & FRESH != 0 {
                (self.front as u64 | (old & CLOSED), Fill::Taken)
            } else if old & CLOSED != 0 {
                return if self.closed { Fill::Empty } else { Fill::Closed };
            } else if old & ASLEEP != 0 {
                return Fill::Empty;
            } else {
                (old | ASLEEP, Fill::Empty)
            };
            match state.compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if let Fill::Taken = found {
                        self.front = (old & INDEX) as usize;
                    }
                    return found;
                }
                Err(now) => old = now,
            }
        }
    }

    /// The next part without taking it.
    pub fn peek(&mut self) -> Peek<'_, T> {
        if self.front().is_empty() {
            match self.refresh() {
                Fill::Taken => {}
                Fill::Closed => return Peek::Closed,
                Fill::Empty => return Peek::Empty,
            }
        }
        match self.front().front() {
            Some(v) => Peek::Item(v),
            None => Peek::Empty,
        }
    }

    /// Takes the next part, or the close (reported once), or finds nothing (the consumer
    /// then sleeps until the producer's next flush reports it).
    pub fn read(&mut self) -> Read<T> {
        if self.front().is_empty() {
            match self.refresh() {
                Fill::Taken => {}
                Fill::Closed => {
                    self.closed = true;
                    return Read::Closed;
                }
                Fill::Empty => return Read::Empty,
            }
        }
        match self.front().pop_front() {
            Some(v) => Read::Item(v),
            None => Read::Empty,
        }
    }
}

/// What [`Consumer::read`] took.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<T> {
    /// Nothing.
    Empty,
    /// A part of the newest message.
    Item(T),
    /// The producer closed; reported once.
    Closed,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_whole_message() {
        let (mut tx, mut rx) = channel::<u32>();
        tx.write(1, true);
        tx.write(2, false);
        tx.write(3, true);
        assert!(tx.flush()); // publishes nothing while a newer message is half written
        tx.write(4, false);
        tx.write(5, false);
        assert!(tx.flush());
        assert_eq!(rx.read(), Read::Item(5)); // 1,2 and 3,4 were conflated away
        assert_eq!(rx.read(), Read::Empty);
        tx.write(6, true);
        tx.write(7, false);
        assert!(!tx.flush());
        assert_eq!((rx.read(), rx.read(), rx.read()), (Read::Item(6), Read::Item(7), Read::Empty));
    }

    #[test]
    fn an_incomplete_message_is_rolled_back_and_the_complete_one_kept() {
        let (mut tx, mut rx) = channel::<u32>();
        tx.write(1, false);
        tx.write(2, true);
        tx.write(3, true);
        assert_eq!(tx.unwrite(), Some(3));
        assert_eq!(tx.unwrite(), Some(2));
        assert_eq!(tx.unwrite(), None);
        tx.flush();
        assert_eq!(rx.read(), Read::Item(1));
    }

    #[test]
    fn the_close_comes_after_the_newest_message_once() {
        let (mut tx, mut rx) = channel::<u32>();
        tx.write(1, false);
        tx.close();
        assert!(tx.flush());
        assert!(matches!(rx.peek(), Peek::Item(1)));
        assert_eq!(rx.read(), Read::Item(1));
        assert!(matches!(rx.peek(), Peek::Closed));
        assert_eq!(rx.read(), Read::Closed);
        assert_eq!(rx.read(), Read::Empty);
        assert!(matches!(rx.peek(), Peek::Empty));
    }

    #[test]
    fn a_close_wakes_a_sleeping_consumer_once() {
        let (mut tx, mut rx) = channel::<u32>();
        assert_eq!(rx.read(), Read::Empty);
        tx.close();
        assert!(!tx.flush());
        assert_eq!(rx.read(), Read::Closed);
    }

    #[test]
    fn the_steady_state_reuses_its_buffers() {
        let (mut tx, mut rx) = channel::<Vec<u8>>();
        for round in 0..100u8 {
            tx.write(vec![round], true);
            tx.write(vec![round], false);
            tx.flush();
            if round % 3 == 0 {
                assert_eq!(rx.read(), Read::Item(vec![round]));
                assert_eq!(rx.read(), Read::Item(vec![round]));
            }
        }
        // SAFETY: both ends are here and idle.
        let caps: Vec<usize> =
            tx.shared.buffers.iter().map(|b| b.with_mut(|b| unsafe { (*b).capacity() })).collect();
        assert!(caps.iter().all(|&c| c <= 4), "{caps:?}");
    }
}
