//! Homes: heap bodies go back to the thread that allocated them, to be freed or reused there.
//!
//! A message body is allocated by the thread that makes the message and, more often than not,
//! dropped by another: the receiving application thread (inproc), or an I/O thread. glibc's
//! per-thread caches serve a thread only what it freed itself, so every such free takes the
//! allocating thread's arena lock while that thread takes it again to allocate the next body;
//! on inproc at 1 KiB the two threads spent a quarter of their time in that lock's futex
//! calls, and the same stack under jemalloc ran 2.5× faster. So a body made from a `Vec` or a
//! copy (a capacity of at most [`MAX_LEN`]) remembers its thread's [`Home`], and whoever drops
//! it last on another thread gives it back there; the owner frees what came back once every
//! [`DRAIN_EVERY`] such bodies it makes, from its own thread, where the allocator serves the
//! next body from the memory just freed. Bodies from elsewhere (`Msg::from(Bytes)`, a receive
//! buffer) have no home.
//!
//! A body made with a [`crate::MsgBuf`], of up to [`MAX_REUSE_LEN`], goes home too but is not
//! freed there: the thread's next `MsgBuf` of about its size takes it again, warm, and one its
//! own thread drops is kept at once. That spares the allocator altogether: glibc serves a
//! 1 KiB body from a large bin, slowly once the returned bodies overflow its per-thread cache,
//! and hands the pages of 64 KiB bodies back whenever the bodies in flight are all freed, for
//! the next `memset` to fault them in again (2.3 page faults per message on a tcp sender). A
//! body travels as a [`HomeBody`], its reference count allocated with it once, so that the
//! steady state of a stream of `MsgBuf` bodies allocates nothing: when that count lived in a
//! box of its own (`Bytes::from_owner`), made per message by the sender and freed by the
//! receiver, the box cost inproc 1 KiB almost half its time. A
//! home keeps at most [`Home::MAX_BODIES`] bodies and [`Home::MAX_REUSE_BYTES`] bytes of them
//! for reuse, and its owner keeps as many once taken, until its thread ends.
//!
//! A home holds at most [`Home::MAX_BODIES`] bodies and [`Home::MAX_BYTES`] bytes to be freed:
//! past that, or once its thread has ended, the dropping thread frees the body itself, which
//! is only slower. There are [`HOMES`] of them, so the process holds at most 63 × 8 MiB to be
//! freed and 63 × 16 MiB to be reused; a thread that stops making bodies keeps what came back
//! to it (within those bounds) until it makes one again or ends. When a thread ends its home
//! is emptied and closed, and the next thread to make a body may take it; a thread that finds
//! all of them taken frees where it drops, for the rest of its life.

#![forbid(unsafe_code)]

use crate::sync::{AtomicU64, Mutex, Ordering, lock};

/// A homed body as it travels: the memory and, around it, the reference count the body's
/// messages share, allocated together once and going home together, so that a body reused
/// there costs no allocation at all. A body is given back only while nothing else holds it.
pub type HomeBody = std::sync::Arc<Shell>;

/// What a [`HomeBody`] counts references to: the body and where it goes back to.
#[derive(Debug, Default)]
pub struct Shell {
    pub(crate) body: Vec<u8>,
    /// The index of the home of the thread that made it.
    pub(crate) home: u8,
    /// To be reused there rather than freed.
    pub(crate) reuse: bool,
}

impl Shell {
    /// `body`, of no home yet (for the tests and the loom models, which give bodies back by
    /// hand).
    #[cfg(any(test, loom))]
    pub fn new(body: Vec<u8>) -> Shell {
        Shell { body, home: 0, reuse: false }
    }

    /// The body's capacity, which is what a home counts.
    pub fn capacity(&self) -> usize {
        self.body.capacity()
    }
}

/// The largest body that goes home. Past it the free itself is the cost (glibc coalesces and
/// hands pages back), and it is better paid by the thread that drops the body, in parallel
/// with the sender: homed, 64 KiB inproc ran at 0.36-0.8 of its speed.
pub(crate) const MAX_LEN: usize = 16 * 1024;

/// The largest body kept for reuse: past it a body is rare enough, and its copy slow enough,
/// that the allocator's cost does not show.
pub(crate) const MAX_REUSE_LEN: usize = 1 << 20;

/// Where the bodies one thread allocated come back to.
#[derive(Debug)]
pub struct Home {
    returned: Mutex<Returned>,
    /// How many bodies wait in `returned`: the owner looks here, without the lock, to tell
    /// whether a drain is worth taking it.
    waiting: AtomicU64,
    /// The emptied vector from the last drain, so that neither side allocates in the steady
    /// state. Only the owner touches it.
    spare: Mutex<Vec<HomeBody>>,
    /// How many bodies wait in `returned.reuse`, read as `waiting` is.
    reusable: AtomicU64,
}

#[derive(Debug)]
struct Returned {
    bodies: Vec<HomeBody>,
    bytes: usize,
    /// Bodies to be taken again by the owner ([`Home::take_reusable`]), not freed.
    reuse: Vec<HomeBody>,
    reuse_bytes: usize,
    /// A thread owns the home: bodies given back will be freed. Closed, it refuses them.
    open: bool,
}

impl Default for Home {
    fn default() -> Self {
        Home::new()
    }
}

impl Home {
    /// The most bodies a home holds for its owner.
    pub const MAX_BODIES: usize = 4096;
    /// The most bytes a home holds for its owner.
    pub const MAX_BYTES: usize = 8 << 20;
    /// The most bytes of bodies a home keeps for reuse; its owner keeps as many again.
    pub const MAX_REUSE_BYTES: usize = 8 << 20;
    /// The room the pile of bodies for reuse gets at its first body: 2 KiB of vector per home
    /// that is used for reuse at all.
    const REUSE_FIRST: usize = 256;

    /// An empty home.
    pub fn new() -> Self {
        Home {
            returned: Mutex::new(Returned {
                bodies: Vec::new(),
                bytes: 0,
                reuse: Vec::new(),
                reuse_bytes: 0,
                open: true,
            }),
            waiting: AtomicU64::new(0),
            spare: Mutex::new(Vec::new()),
            reusable: AtomicU64::new(0),
        }
    }

    /// Another thread gives `body` back, to be freed by the owner. `Err` hands it back when
    /// the home is full or closed: the caller frees it.
    pub fn give_back(&self, body: HomeBody) -> Result<(), HomeBody> {
        self.to_be_freed(&mut lock(&self.returned), body)
    }

    fn to_be_freed(&self, r: &mut Returned, body: HomeBody) -> Result<(), HomeBody> {
        let full =
            r.bodies.len() >= Self::MAX_BODIES || r.bytes + body.capacity() > Self::MAX_BYTES;
        if !r.open || full && !mutant!(HomeOverflows) {
            return Err(body);
        }
        r.bytes += body.capacity();
        r.bodies.push(body);
        self.waiting.store(r.bodies.len() as u64, Ordering::Release);
        Ok(())
    }

    /// Another thread gives back `body`, to be reused by the owner. Past the reuse bounds it
    /// is given back to be freed instead if it is small enough to go home at all
    /// ([`MAX_LEN`]); `Err` hands it back otherwise, or when the home is closed or full.
    pub fn give_back_for_reuse(&self, body: HomeBody) -> Result<(), HomeBody> {
        let mut r = lock(&self.returned);
        let room = r.reuse.len() < Self::MAX_BODIES
            && r.reuse_bytes + body.capacity() <= Self::MAX_REUSE_BYTES;
        if r.open && room {
            if r.reuse.len() == r.reuse.capacity() {
                // One step to the size of a burst, then doubling: grown from 4 a push at a
                // time, the pile's high-water mark would cost the returning thread (an I/O
                // thread, in the steady state of a stream) an allocation whenever it crept
                // up, long after the stream began.
                let more = r.reuse.capacity().max(Self::REUSE_FIRST);
                r.reuse.reserve_exact(more);
            }
            r.reuse_bytes += body.capacity();
            r.reuse.push(body);
            self.reusable.store(r.reuse.len() as u64, Ordering::Release);
            return Ok(());
        }
        if body.capacity() > MAX_LEN {
            return Err(body);
        }
        self.to_be_freed(&mut r, body)
    }

    /// The owner takes every body given back for reuse, appending them to `into` (as they
    /// came: whoever writes one again empties it first); returns how many.
    pub fn take_reusable(&self, into: &mut Vec<HomeBody>) -> usize {
        if self.reusable.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let mut r = lock(&self.returned);
        let n = r.reuse.len();
        into.append(&mut r.reuse);
        r.reuse_bytes = 0;
        self.reusable.store(0, Ordering::Release);
        n
    }

    /// The owner frees what came back (outside the lock); returns how many bodies.
    pub fn drain(&self) -> usize {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let mut spare = lock(&self.spare);
        {
            let mut r = lock(&self.returned);
            std::mem::swap(&mut r.bodies, &mut *spare);
            r.bytes = 0;
            self.waiting.store(0, Ordering::Release);
        }
        let n = spare.len();
        spare.clear();
        n
    }

    /// The owner is leaving: what came back is freed now, and from now on the home refuses
    /// bodies (they are freed where they are dropped) until [`Home::open`].
    pub fn close(&self) {
        let taken = {
            let mut r = lock(&self.returned);
            r.open = false;
            r.bytes = 0;
            r.reuse_bytes = 0;
            self.waiting.store(0, Ordering::Release);
            self.reusable.store(0, Ordering::Release);
            (std::mem::take(&mut r.bodies), std::mem::take(&mut r.reuse))
        };
        drop(taken);
    }

    /// A new owner takes the home: it takes bodies again.
    pub fn open(&self) {
        lock(&self.returned).open = true;
    }

    /// Bodies waiting for the owner.
    #[cfg(any(test, loom))]
    pub fn holding(&self) -> usize {
        let r = lock(&self.returned);
        r.bodies.len() + r.reuse.len()
    }
}

/// The calling thread's home, by index (0: none; a thread without one takes a vacant one),
/// after freeing what came back to it if this is one of every [`DRAIN_EVERY`] calls: the
/// owner drains as it allocates, so that the memory it freed serves its next bodies. A body
/// carries the index in its [`Shell`] (`Msg::from_vec`).
#[cfg(not(loom))]
#[inline]
pub(crate) fn current() -> u8 {
    let Some(index) = mine() else { return 0 };
    let due = COUNTDOWN.with(|c| {
        let left = c.get();
        c.set(if left == 0 { DRAIN_EVERY - 1 } else { left - 1 });
        left == 0
    });
    if due && !mutant!(HomeNeverDrained) {
        home(index).drain();
    }
    index
}

/// The calling thread's home (taking a vacant one if it has none yet); `None` if every home
/// was taken when it first looked.
#[cfg(not(loom))]
#[inline]
fn mine() -> Option<u8> {
    let index = match MINE.with(std::cell::Cell::get) {
        0 => adopt(),
        index => index,
    };
    (index != NONE_FREE).then_some(index)
}

/// Under loom, bodies have no home: the models exercise [`Home`] itself.
#[cfg(loom)]
pub(crate) fn current() -> u8 {
    0
}

/// Gives a body, dropped last on another thread, back to its home, to be reused or freed as
/// its shell says; freed here if the home refuses it (full, or its thread has ended).
#[cfg(not(loom))]
pub(crate) fn send_home(body: HomeBody) {
    let home = home(body.home);
    let _ = if body.reuse { home.give_back_for_reuse(body) } else { home.give_back(body) };
}

#[cfg(loom)]
pub(crate) fn send_home(_: HomeBody) {}

/// A body with room for at least `capacity` bytes (and at most twice that) from those that
/// came back to this thread for reuse, among the few most recently returned, as it was left
/// (the caller empties it); `None` when none of them fits.
#[cfg(not(loom))]
pub(crate) fn reuse(capacity: usize) -> Option<HomeBody> {
    let index = mine()?;
    KEPT.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        if let Some(body) = kept.take(capacity) {
            return Some(body);
        }
        kept.refill(home(index));
        kept.take(capacity)
    })
    .ok()
    .flatten()
}

#[cfg(loom)]
pub(crate) fn reuse(_: usize) -> Option<HomeBody> {
    None
}

/// Whether the calling thread keeps the bodies it drops for reuse ([`keep`]): it has a home.
#[cfg(not(loom))]
pub(crate) fn keeps() -> bool {
    mine().is_some()
}

#[cfg(loom)]
pub(crate) fn keeps() -> bool {
    false
}

/// A reusable body dropped last by its own thread: kept for the next one.
#[cfg(not(loom))]
pub(crate) fn keep(body: HomeBody) {
    // A thread without a home never looks in its kept list; during thread teardown the body
    // is simply freed.
    if mine().is_some() {
        let _ = KEPT.try_with(|kept| kept.borrow_mut().put(body));
    }
}

#[cfg(loom)]
pub(crate) fn keep(_: HomeBody) {}

/// The bodies an owner took back for reuse, oldest first, and their bytes.
#[cfg(not(loom))]
#[derive(Default)]
struct Kept {
    bodies: Vec<HomeBody>,
    bytes: usize,
}

/// How many of the newest kept bodies a `MsgBuf` looks at: a stream of one size finds its fit
/// at the first, and a mix of sizes costs no search.
#[cfg(not(loom))]
const LOOK_AT: usize = 4;

#[cfg(not(loom))]
impl Kept {
    fn take(&mut self, capacity: usize) -> Option<HomeBody> {
        let fits = |b: &HomeBody| b.capacity() >= capacity && b.capacity() / 2 <= capacity;
        if mutant!(ReuseForgets) {
            return None;
        }
        let newest = self.bodies.len().saturating_sub(LOOK_AT);
        let at = newest + self.bodies[newest..].iter().rposition(fits)?;
        let body = self.bodies.remove(at);
        self.bytes -= body.capacity();
        Some(body)
    }

    fn put(&mut self, body: HomeBody) {
        self.bodies.push(body);
        self.settle(self.bodies.len() - 1);
    }

    /// Takes what came back to `home` for reuse.
    fn refill(&mut self, home: &Home) {
        let before = self.bodies.len();
        if home.take_reusable(&mut self.bodies) > 0 {
            self.settle(before);
        }
    }

    /// Counts the bodies from `added` on, then past [`Home::MAX_BODIES`] bodies or
    /// [`Home::MAX_REUSE_BYTES`] bytes frees the oldest down to three quarters of both, so
    /// that the front of the list moves once per many bodies, not at each.
    fn settle(&mut self, added: usize) {
        self.bytes += self.bodies[added..].iter().map(|b| b.capacity()).sum::<usize>();
        let over = |k: &Kept, first: usize, num: usize| {
            k.bodies.len() - first > Home::MAX_BODIES / 4 * num
                || k.bytes > Home::MAX_REUSE_BYTES / 4 * num
        };
        if !over(self, 0, 4) {
            return;
        }
        let mut first = 0;
        while over(self, first, 3) {
            self.bytes -= self.bodies[first].capacity();
            first += 1;
        }
        self.bodies.drain(..first);
    }
}

/// Whether home `index` is the calling thread's own.
#[cfg(not(loom))]
#[inline]
pub(crate) fn is_mine(index: u8) -> bool {
    MINE.with(|m| m.get() == index)
}

#[cfg(loom)]
pub(crate) fn is_mine(_: u8) -> bool {
    false
}

/// The owner drains once every this many homed bodies it makes: rarely enough that the cache line
/// the other threads write to is not pulled over at every message, often enough that a home
/// holds little more than what is in flight.
#[cfg(not(loom))]
const DRAIN_EVERY: u32 = 32;

/// How many threads can have a home at once; the ones past that free where they drop.
#[cfg(not(loom))]
pub(crate) const HOMES: usize = 63;

/// `MINE` of a thread that found every home taken.
#[cfg(not(loom))]
const NONE_FREE: u8 = u8::MAX;

#[cfg(not(loom))]
thread_local! {
    /// The index of this thread's home; 0 before it has one.
    static MINE: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
    static COUNTDOWN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static TENANCY: Tenancy = const { Tenancy };
    static KEPT: std::cell::RefCell<Kept> =
        const { std::cell::RefCell::new(Kept { bodies: Vec::new(), bytes: 0 }) };
}

#[cfg(not(loom))]
static TABLE: [std::sync::OnceLock<Home>; HOMES] = [const { std::sync::OnceLock::new() }; HOMES];

/// Bit `i` is set while a thread owns home `i + 1`.
#[cfg(not(loom))]
static TAKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Home `index` (1 ..= [`HOMES`]).
#[cfg(not(loom))]
pub(crate) fn home(index: u8) -> &'static Home {
    TABLE[usize::from(index) - 1].get_or_init(Home::new)
}

#[cfg(not(loom))]
#[cold]
fn adopt() -> u8 {
    use std::sync::atomic::Ordering::{AcqRel, Acquire};
    // Registers the tenancy's destructor first: a thread whose thread-locals are being torn
    // down cannot, and then gets no home.
    // (A thread-local destructor that makes the thread's first body registers it during
    // teardown; where the platform then never runs it, that home stays taken: a lost slot,
    // nothing worse, since what comes back to it is bounded.)
    if TENANCY.try_with(|_| ()).is_err() {
        MINE.with(|m| m.set(NONE_FREE));
        return NONE_FREE;
    }
    let mut taken = TAKEN.load(Acquire);
    let index = loop {
        let free = !taken & ((1u64 << HOMES) - 1);
        if free == 0 {
            break NONE_FREE;
        }
        let bit = free.trailing_zeros();
        match TAKEN.compare_exchange_weak(taken, taken | 1 << bit, AcqRel, Acquire) {
            Ok(_) => break bit as u8 + 1,
            Err(now) => taken = now,
        }
    };
    if index != NONE_FREE {
        home(index).open();
    }
    MINE.with(|m| m.set(index));
    index
}

/// A thread's hold on its home: when the thread ends, the home is emptied and closed (bodies
/// dropped later are freed where they are dropped) and left for the next thread.
#[cfg(not(loom))]
struct Tenancy;

#[cfg(not(loom))]
impl Drop for Tenancy {
    fn drop(&mut self) {
        let index = MINE.with(|m| m.replace(NONE_FREE));
        if index == 0 || index == NONE_FREE {
            return;
        }
        home(index).close();
        TAKEN.fetch_and(!(1u64 << (index - 1)), std::sync::atomic::Ordering::AcqRel);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn body(n: usize) -> HomeBody {
        HomeBody::new(Shell::new(vec![0; n]))
    }

    #[test]
    fn a_home_holds_what_comes_back_until_its_owner_drains() {
        let home = Home::new();
        assert_eq!(home.drain(), 0);
        for _ in 0..3 {
            home.give_back(body(100)).unwrap();
        }
        assert_eq!(home.holding(), 3);
        assert_eq!(home.drain(), 3);
        assert_eq!(home.holding(), 0);
        assert_eq!(home.drain(), 0);
    }

    #[test]
    fn a_full_home_refuses_by_count_and_by_bytes() {
        let home = Home::new();
        for _ in 0..Home::MAX_BODIES {
            home.give_back(body(1)).unwrap();
        }
        assert!(home.give_back(body(1)).is_err(), "one body past the count");
        home.drain();
        home.give_back(body(Home::MAX_BYTES - 10)).unwrap();
        assert!(home.give_back(body(100)).is_err(), "past the bytes");
        home.give_back(body(10)).unwrap();
    }

    #[test]
    fn a_live_thread_owns_one_home_of_its_own() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let first = std::thread::spawn(move || {
            let index = current();
            assert_ne!(index, 0);
            assert!(is_mine(index));
            assert_eq!(current(), index, "one home per thread");
            home(index).give_back(body(100)).unwrap();
            tx.send(index).unwrap();
            done.recv().unwrap();
        });
        let theirs = rx.recv().unwrap();
        let mine = current();
        assert!(is_mine(mine) && !is_mine(theirs));
        assert_ne!(mine, theirs, "a live thread's home is its own");
        assert_eq!(home(theirs).holding(), 1);
        done_tx.send(()).unwrap();
        first.join().unwrap();
    }

    #[test]
    fn bodies_for_reuse_are_kept_within_their_bound() {
        let home = Home::new();
        let big = Home::MAX_REUSE_BYTES / 4;
        for _ in 0..4 {
            home.give_back_for_reuse(body(big)).unwrap();
        }
        // Past the reuse bound a body is given back to be freed instead, if small enough to
        // go home at all.
        home.give_back_for_reuse(body(100)).unwrap();
        assert!(home.give_back_for_reuse(body(MAX_LEN + 1)).is_err(), "freed by the giver");
        assert_eq!(home.holding(), 5);
        let mut taken = Vec::new();
        assert_eq!(home.take_reusable(&mut taken), 4);
        assert!(taken.iter().all(|b| b.capacity() == big));
        assert_eq!(home.take_reusable(&mut taken), 0);
        assert_eq!(home.drain(), 1, "the one past the bound was to be freed");
        home.give_back_for_reuse(body(100)).unwrap();
        home.close();
        assert_eq!(home.holding(), 0, "a closed home frees what waited for reuse too");
        assert!(home.give_back_for_reuse(body(100)).is_err());
    }

    #[test]
    fn an_owner_takes_a_body_of_about_the_size_asked_the_newest_first() {
        let mut kept = Kept::default();
        kept.put(body(40_000));
        for cap in [100_000, 100_000, 100_000, 100_000, 50_000, 60_000] {
            kept.put(body(cap));
        }
        assert!(kept.take(19_000).is_none(), "more than twice the size asked is not taken");
        assert_eq!(kept.take(30_000).map(|b| b.capacity()), Some(60_000), "newest first");
        assert_eq!(kept.take(30_000).map(|b| b.capacity()), Some(50_000));
        assert!(kept.take(30_000).is_none(), "only the newest few are looked at");
        assert!(kept.take(200_000).is_none(), "too small");
        assert_eq!(kept.bytes, 440_000);
        for _ in 0..(Home::MAX_REUSE_BYTES / 100_000 + 1) {
            kept.put(HomeBody::new(Shell::new(Vec::with_capacity(100_000))));
        }
        let bytes: usize = kept.bodies.iter().map(|b| b.capacity()).sum();
        assert_eq!(kept.bytes, bytes);
        assert!(bytes <= Home::MAX_REUSE_BYTES, "an owner keeps {bytes} bytes");
        assert!(kept.bodies.iter().all(|b| b.capacity() == 100_000), "the oldest went first");
    }

    #[test]
    fn a_closed_home_is_emptied_and_refuses_until_opened_again() {
        let home = Home::new();
        home.give_back(body(100)).unwrap();
        home.close();
        assert_eq!(home.holding(), 0, "emptied when its thread ends");
        assert!(home.give_back(body(100)).is_err(), "nobody would free it: freed where dropped");
        assert_eq!(home.drain(), 0);
        home.open();
        home.give_back(body(100)).unwrap();
        assert_eq!(home.drain(), 1);
    }
}
