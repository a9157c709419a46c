//! A single-producer single-consumer queue with batched publication (libzmq's ypipe over its
//! yqueue, DESIGN.md principle 5).
//!
//! * Storage is a linked list of chunks of [`CHUNK`] slots, each aligned to a cache line: one
//!   line for items up to 56 bytes, two for a pipe's `Msg` items (72 bytes). The consumer
//!   pushes each chunk it finishes onto a shared list of spares; the producer takes that whole
//!   list with one swap when it needs a chunk and keeps up to [`MAX_SPARE`] of them, so a
//!   queue that moves bursts of up to `MAX_SPARE × CHUNK` items allocates nothing in its
//!   steady state. (libzmq keeps one spare, which allocates on every burst longer than a
//!   chunk.) One pusher and a taker that only ever takes the whole list make the list free of
//!   the ABA problem.
//! * The producer writes privately; [`Producer::flush`] publishes everything complete as one
//!   batch: it marks the batch's first slot with the batch's end, then swaps the end into the
//!   shared word, the one read-modify-write per batch, which also reports whether the
//!   consumer had gone to sleep.
//! * The consumer learns a whole batch from the mark in its first slot, a load from the cache
//!   line it must read for the item anyway, so while it keeps up it never touches the shared
//!   word and the producer's swap stays in the producer's cache. When it finds no mark it goes
//!   to sleep *through the shared word*, by a compare-and-swap to `ASLEEP`, so the producer's
//!   next flush sees it and the owner sends exactly one wake-up. No locks, no spinning, no
//!   lost wake-up (the loom models in `loom-tests/` check every interleaving of this).
//!
//! Positions are 64-bit counters (slot = position mod CHUNK), not pointers; the shared word
//! holds the end of the last batch swapped in, or `ASLEEP` while the consumer sleeps.

use crate::sync::{Arc, AtomicPtr, AtomicU64, Ordering, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;
use std::ptr;

/// Slots per chunk. Tiny under loom so that models cross chunk boundaries.
#[cfg(not(loom))]
pub const CHUNK: usize = 256;
/// Slots per chunk. Tiny under loom so that models cross chunk boundaries.
#[cfg(loom)]
pub const CHUNK: usize = 2;

/// Spare chunks the producer keeps for reuse; more are freed.
pub const MAX_SPARE: usize = 8;

const ASLEEP: u64 = u64::MAX;

/// One item's place, with the mark that tells the consumer a published batch starts here.
/// Aligned to a cache line so the producer writing the next item never takes back the line
/// the consumer is reading the current one from.
#[repr(align(64))]
struct Slot<T> {
    /// Set by `flush` on the first slot of each batch it publishes, to the batch's end. The
    /// slot at position `p` starts a published batch exactly when its mark is above `p`:
    /// positions only grow, and a recycled chunk is reused only at positions at or beyond
    /// every end published before, so a mark left from an earlier use is never above them.
    mark: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

struct Chunk<T> {
    slots: [Slot<T>; CHUNK],
    /// Written by the producer before it publishes any slot of the next chunk.
    next: UnsafeCell<*mut Chunk<T>>,
    /// Producer-only: lets `unwrite` step back across a chunk boundary.
    prev: UnsafeCell<*mut Chunk<T>>,
}

impl<T> Chunk<T> {
    fn alloc(prev: *mut Chunk<T>) -> *mut Chunk<T> {
        Box::into_raw(Box::new(Chunk {
            slots: std::array::from_fn(|_| Slot {
                mark: AtomicU64::new(0),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            }),
            next: UnsafeCell::new(ptr::null_mut()),
            prev: UnsafeCell::new(prev),
        }))
    }
}

struct WriterState<T> {
    /// Chunk holding slot `pos`.
    chunk: *mut Chunk<T>,
    /// Spare chunks taken from the consumer, linked through `next`.
    free: *mut Chunk<T>,
    free_len: usize,
    /// Next position to write.
    pos: u64,
    /// End of the last complete item: what the next flush publishes.
    complete: u64,
    /// End of what was published.
    published: u64,
    /// Chunk holding slot `published`: where the next flush marks its batch.
    published_chunk: *mut Chunk<T>,
}

struct ReaderState<T> {
    /// Chunk holding slot `pos`.
    chunk: *mut Chunk<T>,
    /// Next position to read.
    pos: u64,
    /// End of what was pre-read from the shared word: positions below it are readable.
    prefetched: u64,
    /// We put ASLEEP into the word when it held exactly `pos`, and no batch has been marked
    /// at `pos` since. The next flush then marks slot `pos` before its swap finds ASLEEP and
    /// reports us, so the mark alone tells whether anything new was published: a sleeping
    /// consumer that looks again touches only that slot's line, not the word the producer
    /// swaps.
    asleep: bool,
}

struct Shared<T> {
    /// The published end position, or `ASLEEP`.
    published: CachePadded<AtomicU64>,
    /// Chunks the consumer finished, linked through `next`, for the producer to reuse.
    spare: CachePadded<AtomicPtr<Chunk<T>>>,
    /// Touched only by the `Producer` (and by `drop`, which is exclusive). Padded, like the
    /// reader's, so that each side's per-item updates do not bounce the other's cache line.
    writer: CachePadded<UnsafeCell<WriterState<T>>>,
    /// Touched only by the `Consumer` (and by `drop`).
    reader: CachePadded<UnsafeCell<ReaderState<T>>>,
}

/// The writing end of the queue.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
}

/// The reading end of the queue.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
}

// SAFETY: the producer only touches `writer`, slots it has not published and the atomics; the
// consumer only touches `reader`, published slots and the atomics. Handing either end to
// another thread moves `T` values across threads, hence `T: Send`.
unsafe impl<T: Send> Send for Producer<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Consumer<T> {}

/// Creates an empty queue. The consumer starts awake.
///
/// ```
/// # #[cfg(not(loom))] {
/// let (mut tx, mut rx) = ferromq::pipe::spsc::channel::<u32>();
/// tx.write(1, false);
/// tx.write(2, true); // part of an item not yet complete: not published by flush
/// assert!(tx.flush()); // the consumer is awake: no wake-up needed
/// assert_eq!(rx.read(), Some(1));
/// assert_eq!(rx.read(), None); // the consumer is now asleep
/// tx.write(3, false);
/// assert!(!tx.flush()); // reports the sleeping consumer: send it a wake-up
/// assert_eq!(rx.read(), Some(2));
/// assert_eq!(rx.read(), Some(3));
/// # }
/// ```
pub fn channel<T>() -> (Producer<T>, Consumer<T>) {
    let first = Chunk::alloc(ptr::null_mut());
    let shared = Arc::new(Shared {
        published: CachePadded::new(AtomicU64::new(0)),
        spare: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
        writer: CachePadded::new(UnsafeCell::new(WriterState {
            chunk: first,
            free: ptr::null_mut(),
            free_len: 0,
            pos: 0,
            complete: 0,
            published: 0,
            published_chunk: first,
        })),
        reader: CachePadded::new(UnsafeCell::new(ReaderState {
            chunk: first,
            pos: 0,
            prefetched: 0,
            asleep: false,
        })),
    });
    (Producer { shared: shared.clone() }, Consumer { shared })
}

impl<T> Producer<T> {
    fn with_state<R>(&mut self, f: impl FnOnce(&mut WriterState<T>, &Shared<T>) -> R) -> R {
        let shared = &*self.shared;
        // SAFETY: `writer` is only ever accessed through the unique `Producer` (`&mut self`)
        // or by `Shared::drop`, which runs after both ends are gone.
        shared.writer.with_mut(|w| f(unsafe { &mut *w }, shared))
    }

    /// Appends `value` privately. `incomplete` marks a part of an item that continues (a frame
    /// with MORE): flush publishes only up to the end of the last complete item, so the
    /// consumer never sees half of a multipart message.
    #[inline]
    pub fn write(&mut self, value: T, incomplete: bool) {
        self.with_state(|w, shared| {
            let slot = (w.pos % CHUNK as u64) as usize;
            // SAFETY: `w.chunk` is live (owned by the queue, reachable from the reader's
            // chunk) and slot `w.pos` is unpublished, so the consumer cannot be reading it.
            unsafe { (*w.chunk).slots[slot].value.with_mut(|p| (*p).write(value)) };
            w.pos += 1;
            if w.pos % CHUNK as u64 == 0 {
                w.chunk = next_chunk_for_writer(w, shared);
            }
            if !incomplete {
                w.complete = w.pos;
            }
        })
    }

    /// Publishes every complete item written since the last flush. Returns `false` when the
    /// consumer was asleep: the caller must then wake it (exactly once).
    #[must_use = "a false result means the reader sleeps and must be woken"]
    #[inline]
    pub fn flush(&mut self) -> bool {
        self.with_state(|w, shared| {
            if w.published == w.complete {
                return true;
            }
            let (first, end) = (w.published, w.complete);
            let marked = w.published_chunk;
            // SAFETY: `published_chunk` is live and holds slot `first`, which is written and
            // not yet published, so the consumer cannot have finished (and recycled) it or any
            // later chunk. The walk to the chunk holding `end` follows `next` links the producer
            // wrote while writing `first..end`, and must come before the mark: once the mark is
            // seen, the consumer may finish these chunks and relink them as spares.
            unsafe {
                for _ in first / CHUNK as u64..end / CHUNK as u64 {
                    w.published_chunk = (*w.published_chunk).next.with_mut(|p| *p);
                }
                let slot = (first % CHUNK as u64) as usize;
                // Release: a consumer that sees the mark sees every slot of the batch.
                (*marked).slots[slot].mark.store(end, Ordering::Release);
            }
            w.published = end;
            // The one read-modify-write per batch: it publishes the end to a consumer that is
            // about to sleep, and tells us whether it already sleeps (only it writes ASLEEP).
            shared.published.swap(end, Ordering::AcqRel) != ASLEEP
        })
    }

    /// Takes back the last item written, if it is not complete (not yet publishable). Used to
    /// roll back a partial multipart message.
    pub fn unwrite(&mut self) -> Option<T> {
        self.with_state(|w, _| {
            if w.pos == w.complete {
                return None;
            }
            if w.pos % CHUNK as u64 == 0 {
                // SAFETY: we are at the start of a chunk that holds no unpublished item of
                // ours yet; its `prev` is the live chunk holding slot `w.pos - 1`, which is
                // unpublished (`w.pos > w.complete >= published`).
                w.chunk = unsafe { (*w.chunk).prev.with_mut(|p| *p) };
            }
            w.pos -= 1;
            let slot = (w.pos % CHUNK as u64) as usize;
            // SAFETY: slot `w.pos` holds an initialized, unpublished value; moving `w.pos` back
            // first means it will be overwritten, never dropped twice.
            Some(unsafe { (*w.chunk).slots[slot].value.with_mut(|p| (*p).assume_init_read()) })
        })
    }

    /// True when every complete item written has been published.
    pub fn is_flushed(&mut self) -> bool {
        self.with_state(|w, _| w.published == w.complete)
    }
}

/// Advances the writer from its full chunk to the next one: the chunk already linked (after
/// an `unwrite` stepped back), else a spare, else a fresh allocation.
fn next_chunk_for_writer<T>(w: &mut WriterState<T>, shared: &Shared<T>) -> *mut Chunk<T> {
    let full = w.chunk;
    // SAFETY: `full` is the writer's live chunk; its `next` is written only by the producer
    // while the chunk is the writer's, and read by the consumer only after a later flush
    // publishes a slot of the next chunk (the flush's release orders this write before that
    // read). Spare chunks belong to the producer once taken from the shared list (AcqRel swap
    // after the consumer's AcqRel push).
    unsafe {
        let linked = (*full).next.with_mut(|p| *p);
        if !linked.is_null() {
            return linked;
        }
        if w.free.is_null() {
            take_spares(w, shared);
        }
        let next = if w.free.is_null() {
            Chunk::alloc(full)
        } else {
            let c = w.free;
            w.free = (*c).next.with_mut(|p| *p);
            w.free_len -= 1;
            (*c).next.with_mut(|p| *p = ptr::null_mut());
            (*c).prev.with_mut(|p| *p = full);
            c
        };
        (*full).next.with_mut(|p| *p = next);
        next
    }
}

/// Moves the consumer's finished chunks to the producer's private list, keeping at most
/// `MAX_SPARE` and freeing the rest, so memory falls back after a burst.
///
/// # Safety
/// Producer only; `w.free` must be empty.
unsafe fn take_spares<T>(w: &mut WriterState<T>, shared: &Shared<T>) {
    let mut c = shared.spare.swap(ptr::null_mut(), Ordering::AcqRel);
    while !c.is_null() {
        // SAFETY: the swapped-out list is ours alone; each chunk in it is linked once.
        unsafe {
            let next = (*c).next.with_mut(|p| *p);
            if w.free_len < MAX_SPARE {
                (*c).next.with_mut(|p| *p = w.free);
                w.free = c;
                w.free_len += 1;
            } else {
                drop(Box::from_raw(c));
            }
            c = next;
        }
    }
}

impl<T> Consumer<T> {
    fn with_state<R>(&mut self, f: impl FnOnce(&mut ReaderState<T>, &Shared<T>) -> R) -> R {
        let shared = &*self.shared;
        // SAFETY: `reader` is only ever accessed through the unique `Consumer` (`&mut self`)
        // or by `Shared::drop`, which runs after both ends are gone.
        shared.reader.with_mut(|r| f(unsafe { &mut *r }, shared))
    }

    /// True when an item can be read. When there is none, the consumer goes to sleep: the
    /// producer's next [`Producer::flush`] returns `false`, telling its owner to wake us.
    #[inline]
    pub fn check_read(&mut self) -> bool {
        self.with_state(|r, shared| {
            if r.pos < r.prefetched || marked(r) {
                return true;
            }
            if r.asleep {
                return false;
            }
            // Nothing marked at our position. The word may still lag behind it: a flush marks
            // its batch before it swaps the word, and we may have read that batch already.
            // A plain load settles "asleep already" and "more published" without a locked
            // read-modify-write on the shared cache line; otherwise we go to sleep by a CAS
            // from whatever the word holds. Any flush that marked our position and has not
            // swapped yet then finds ASLEEP and reports us asleep: a spare wake-up, never a
            // lost one. The loop repeats only when a flush swapped in between (lock-free).
            let mut seen = shared.published.load(Ordering::Acquire);
            loop {
                match seen {
                    // A flush that marked a batch we already read has not swapped yet; its
                    // swap will find ASLEEP and report us asleep.
                    ASLEEP => return false,
                    end if end > r.pos => {
                        r.prefetched = end;
                        return true;
                    }
                    _ => {}
                }
                match shared.published.compare_exchange(
                    seen,
                    ASLEEP,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        // Only asleep *at our position* lets later looks skip the word. From a
                        // lagging word, the pending flush swaps our ASLEEP away (it reports
                        // us, once), and the flush after it would find no ASLEEP to report.
                        r.asleep = seen == r.pos;
                        return false;
                    }
                    Err(now) => seen = now,
                }
            }
        })
    }

    /// The next item, without removing it.
    pub fn peek(&mut self) -> Option<&T> {
        if !self.check_read() {
            return None;
        }
        let (chunk, slot) = self.with_state(|r, _| (r.chunk, (r.pos % CHUNK as u64) as usize));
        // SAFETY: `check_read` proved slot `pos` published; the acquire in it makes the value
        // visible. The reference borrows `self`, so the slot cannot be read out meanwhile.
        Some(unsafe { (*chunk).slots[slot].value.with_mut(|p| (*p).assume_init_ref()) })
    }

    /// Removes and returns the next item, or `None` (and goes to sleep) when there is none.
    #[inline]
    pub fn read(&mut self) -> Option<T> {
        if !self.check_read() {
            return None;
        }
        Some(self.take())
    }

    /// Like [`read`](Self::read), but never goes to sleep: when nothing new is published it
    /// returns `None` after one plain load, writing nothing to the shared word, so a consumer
    /// that polls (spins or yields) does not contend with the producer's flushes. Such a
    /// consumer gets no wake-ups; [`read`](Self::read) is the one that arms them.
    pub fn try_read(&mut self) -> Option<T> {
        let ready = self.with_state(|r, _| r.pos < r.prefetched || marked(r));
        ready.then(|| self.take())
    }

    /// Takes the item at the read position; `check_read` or `try_read` proved it published.
    fn take(&mut self) -> T {
        self.with_state(|r, shared| {
            let slot = (r.pos % CHUNK as u64) as usize;
            // SAFETY: slot `pos` is published (the caller checked) and read exactly once,
            // since `pos` moves past it right after.
            let value =
                unsafe { (*r.chunk).slots[slot].value.with_mut(|p| (*p).assume_init_read()) };
            r.pos += 1;
            if r.pos % CHUNK as u64 == 0 {
                let done = r.chunk;
                // SAFETY: the producer linked `next` before publishing the slot we just read
                // (the last of `done`), so it is visible and non-null; no one else reads `done`.
                r.chunk = unsafe { (*done).next.with_mut(|p| *p) };
                debug_assert!(!r.chunk.is_null());
                let mut head = shared.spare.load(Ordering::Acquire);
                loop {
                    // SAFETY: `done` is ours alone now; its `next` is rewritten to link it into
                    // the spare list, published by the CAS below.
                    unsafe { (*done).next.with_mut(|p| *p = head) };
                    match shared.spare.compare_exchange(
                        head,
                        done,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => break,
                        Err(now) => head = now,
                    }
                }
            }
            value
        })
    }
}

/// True when a published batch starts at the read position; it is then pre-read whole. Only
/// the slot's own cache line is touched, which the read that follows needs anyway: while the
/// consumer keeps up, the shared word stays in the producer's cache.
fn marked<T>(r: &mut ReaderState<T>) -> bool {
    let slot = (r.pos % CHUNK as u64) as usize;
    // SAFETY: `r.chunk` is live and holds slot `pos` (the consumer moves to the next chunk,
    // which the producer linked before publishing the last slot of this one, as it leaves).
    // The mark is atomic; the value beside it is not touched here.
    let end = unsafe { (*r.chunk).slots[slot].mark.load(Ordering::Acquire) };
    if end > r.pos {
        r.prefetched = end;
        // The flush that marked it swaps (or swapped) the word away from ASLEEP: we are
        // awake, and must go to sleep through the word again.
        r.asleep = false;
        true
    } else {
        false
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // This is the last `Arc`: both ends are gone and the state is ours alone.
        // SAFETY: exclusive access in drop.
        let (first, mut pos) = self.reader.with_mut(|r| unsafe { ((*r).chunk, (*r).pos) });
        // SAFETY: exclusive access in drop.
        let end = self.writer.with_mut(|w| unsafe { (*w).pos });
        // SAFETY: positions `pos..end` hold initialized values never read; each is dropped
        // once, walking the chunks in order. Every chunk reachable from the reader's is owned
        // by the queue and freed once; so is each spare, reachable from no chunk of the chain.
        unsafe {
            let mut chunk = first;
            while pos < end {
                let slot = (pos % CHUNK as u64) as usize;
                (*chunk).slots[slot].value.with_mut(|p| (*p).assume_init_drop());
                pos += 1;
                if pos % CHUNK as u64 == 0 {
                    chunk = (*chunk).next.with_mut(|p| *p);
                }
            }
            let mut chunk = first;
            while !chunk.is_null() {
                let next = (*chunk).next.with_mut(|p| *p);
                drop(Box::from_raw(chunk));
                chunk = next;
            }
            let free = self.writer.with_mut(|w| (*w).free);
            for mut list in [free, self.spare.swap(ptr::null_mut(), Ordering::Acquire)] {
                while !list.is_null() {
                    let next = (*list).next.with_mut(|p| *p);
                    drop(Box::from_raw(list));
                    list = next;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_message_slot_is_two_cache_lines() {
        // Whole lines per slot keep the producer's next write off the line being read. A
        // change of `Msg`'s size changes the queue's memory by whole lines: this makes it a
        // decision (a 64-byte inline body took the slot from one line to two).
        assert_eq!(std::mem::size_of::<Slot<u64>>(), 64);
        assert_eq!(std::mem::size_of::<Slot<crate::Msg>>(), 128);
        assert_eq!(std::mem::size_of::<Slot<crate::pipe::end::Item<crate::Msg>>>(), 128);
    }

    #[test]
    fn fifo_across_many_chunks() {
        let (mut tx, mut rx) = channel();
        for round in 0..10u64 {
            for i in 0..1000u64 {
                tx.write(round * 1000 + i, false);
            }
            let _ = tx.flush();
            for i in 0..1000u64 {
                assert_eq!(rx.read(), Some(round * 1000 + i));
            }
            assert_eq!(rx.read(), None);
        }
    }

    #[test]
    fn try_read_never_sleeps() {
        let (mut tx, mut rx) = channel();
        assert_eq!(rx.try_read(), None::<u8>);
        tx.write(1, false);
        assert!(tx.flush(), "a polling reader is never asleep");
        assert_eq!(rx.try_read(), Some(1));
        // After a real sleep, polling still sees what the next flush publishes.
        assert_eq!(rx.read(), None);
        tx.write(2, false);
        assert!(!tx.flush(), "read() did go to sleep");
        assert_eq!(rx.try_read(), Some(2));
        assert_eq!(rx.try_read(), None);
        assert!(tx.flush());
    }

    #[test]
    fn flush_reports_a_sleeping_reader_exactly_once() {
        let (mut tx, mut rx) = channel();
        assert_eq!(rx.read(), None::<u8>); // asleep
        tx.write(1, false);
        assert!(!tx.flush(), "reader was asleep");
        tx.write(2, false);
        assert!(tx.flush(), "reader not yet woken, but already signalled: no second wake-up");
        assert_eq!(rx.read(), Some(1));
        assert_eq!(rx.read(), Some(2));
        assert!(tx.flush(), "nothing to publish");
    }

    #[test]
    fn incomplete_items_are_not_published_and_can_be_unwritten() {
        let (mut tx, mut rx) = channel();
        tx.write(1, false);
        for i in 0..(CHUNK as u32 * 2 + 3) {
            tx.write(100 + i, true);
        }
        assert!(tx.flush());
        assert_eq!(rx.read(), Some(1));
        assert_eq!(rx.read(), None);
        for i in (0..(CHUNK as u32 * 2 + 3)).rev() {
            assert_eq!(tx.unwrite(), Some(100 + i));
        }
        assert_eq!(tx.unwrite(), None, "complete items cannot be unwritten");
        for i in 0..(CHUNK as u32 * 3) {
            tx.write(200 + i, i + 1 < CHUNK as u32 * 3);
        }
        assert!(!tx.flush());
        for i in 0..(CHUNK as u32 * 3) {
            assert_eq!(rx.read(), Some(200 + i));
        }
    }

    #[test]
    fn peek_does_not_consume() {
        let (mut tx, mut rx) = channel();
        tx.write(String::from("a"), false);
        let _ = tx.flush();
        assert_eq!(rx.peek().map(String::as_str), Some("a"));
        assert_eq!(rx.read().as_deref(), Some("a"));
        assert!(rx.peek().is_none());
    }

    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn dropping_the_queue_drops_every_unread_item_once() {
        let drops = AtomicUsize::new(0);
        {
            let (mut tx, mut rx) = channel();
            for _ in 0..(CHUNK * 3 + 5) {
                tx.write(Counted(&drops), false);
            }
            tx.write(Counted(&drops), true);
            let _ = tx.flush();
            for _ in 0..(CHUNK + 2) {
                drop(rx.read());
            }
            assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), CHUNK + 2);
            drop(tx);
        }
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), CHUNK * 3 + 6);
    }

    #[test]
    fn cross_thread_fifo() {
        let (mut tx, mut rx) = channel::<u64>();
        const N: u64 = 200_000;
        let reader = std::thread::spawn(move || {
            let mut next = 0;
            while next < N {
                match rx.read() {
                    Some(v) => {
                        assert_eq!(v, next);
                        next += 1;
                    }
                    None => std::thread::yield_now(),
                }
            }
        });
        for i in 0..N {
            tx.write(i, false);
            if i % 7 == 0 {
                let _ = tx.flush();
            }
        }
        let _ = tx.flush();
        reader.join().unwrap();
    }
}
