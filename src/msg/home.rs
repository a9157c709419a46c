//! Homes: heap bodies go back to the thread that allocated them, to be freed there.
//!
//! A message body is allocated by the thread that makes the message and, more often than not,
//! dropped by another: the receiving application thread (inproc), or an I/O thread. glibc's
//! per-thread caches serve a thread only what it freed itself, so every such free takes the
//! allocating thread's arena lock while that thread takes it again to allocate the next body;
//! on inproc at 1 KiB the two threads spent a quarter of their time in that lock's futex
//! calls, and the same stack under jemalloc ran 2.5× faster. So a body made from a `Vec`
//! remembers its thread's [`Home`], and whoever drops it last on another thread gives it back
//! there; the owner frees what came back every few messages it makes, from its own thread,
//! where the allocator serves the next body from the memory just freed.
//!
//! A home holds at most [`Home::MAX_BODIES`] bodies and [`Home::MAX_BYTES`] bytes: past that,
//! or when the owner is gone, the dropping thread frees the body itself, which is only slower.
//! A thread's home outlives it: when the thread ends, its home is emptied and kept for the next
//! thread that makes a message, so there are never more homes than threads alive at once.

use crate::sync::{AtomicU64, Mutex, Ordering, lock};
use bytes::BytesMut;

/// Where the bodies one thread allocated come back to.
#[derive(Debug)]
pub struct Home {
    returned: Mutex<Returned>,
    /// How many bodies wait in `returned`: the owner looks here, without the lock, to tell
    /// whether a drain is worth taking it.
    waiting: AtomicU64,
    /// The emptied vector from the last drain, so that neither side allocates in the steady
    /// state. Only the owner touches it.
    spare: Mutex<Vec<BytesMut>>,
}

#[derive(Debug)]
struct Returned {
    bodies: Vec<BytesMut>,
    bytes: usize,
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

    /// An empty home.
    pub fn new() -> Self {
        Home {
            returned: Mutex::new(Returned { bodies: Vec::new(), bytes: 0 }),
            waiting: AtomicU64::new(0),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// Another thread gives `body` back, to be freed by the owner. `Err` hands it back when
    /// the home is full: the caller frees it.
    pub fn give_back(&self, body: BytesMut) -> Result<(), BytesMut> {
        let mut r = lock(&self.returned);
        let full =
            r.bodies.len() >= Self::MAX_BODIES || r.bytes + body.capacity() > Self::MAX_BYTES;
        if full && !mutant!(HomeOverflows) {
            return Err(body);
        }
        r.bytes += body.capacity();
        r.bodies.push(body);
        self.waiting.store(r.bodies.len() as u64, Ordering::Release);
        Ok(())
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

    /// Bodies waiting for the owner.
    #[cfg(any(test, loom))]
    pub fn holding(&self) -> usize {
        lock(&self.returned).bodies.len()
    }
}

/// The calling thread's home (a thread without one adopts a vacant home or builds one), after
/// freeing what came back to it if this is one of every [`DRAIN_EVERY`] calls: the owner
/// drains as it allocates, so that the memory it freed serves its next bodies.
#[cfg(not(loom))]
pub(crate) fn current() -> Option<&'static Home> {
    let home = match MINE.try_with(std::cell::Cell::get) {
        Ok(Some(home)) => home,
        Ok(None) => adopt()?,
        // The thread is ending: nothing comes back to it any more.
        Err(_) => return None,
    };
    let due = COUNTDOWN.with(|c| {
        let left = c.get();
        c.set(if left == 0 { DRAIN_EVERY } else { left - 1 });
        left == 0
    });
    if due && !mutant!(HomeNeverDrained) {
        home.drain();
    }
    Some(home)
}

/// Under loom, bodies have no home: the models exercise [`Home`] itself.
#[cfg(loom)]
pub(crate) fn current() -> Option<&'static Home> {
    None
}

/// Whether `home` is the calling thread's own.
#[cfg(not(loom))]
#[inline]
pub(crate) fn is_mine(home: &Home) -> bool {
    MINE.try_with(|m| m.get().is_some_and(|mine| std::ptr::eq(mine, home))).unwrap_or(false)
}

#[cfg(loom)]
pub(crate) fn is_mine(_: &Home) -> bool {
    false
}

/// The owner drains once every this many bodies it makes: rarely enough that the cache line
/// the other threads write to is not pulled over at every message, often enough that a home
/// holds little more than what is in flight.
#[cfg(not(loom))]
const DRAIN_EVERY: u32 = 32;

#[cfg(not(loom))]
thread_local! {
    static MINE: std::cell::Cell<Option<&'static Home>> = const { std::cell::Cell::new(None) };
    static COUNTDOWN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static TENANCY: Tenancy = const { Tenancy };
}

/// Homes whose threads ended, for the next threads that make messages.
#[cfg(not(loom))]
static VACANT: std::sync::Mutex<Vec<&'static Home>> = std::sync::Mutex::new(Vec::new());

#[cfg(not(loom))]
#[cold]
fn adopt() -> Option<&'static Home> {
    // Registers the tenancy's destructor first: a thread whose thread-locals are being torn
    // down cannot, and then gets no home.
    TENANCY.try_with(|_| ()).ok()?;
    let vacant = VACANT.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let home = vacant.unwrap_or_else(|| Box::leak(Box::new(Home::new())));
    home.drain();
    MINE.with(|m| m.set(Some(home)));
    Some(home)
}

/// A thread's hold on its home: when the thread ends, the home is emptied and left for the
/// next thread. Bodies given back to it meanwhile wait, within its bounds, for that thread.
#[cfg(not(loom))]
struct Tenancy;

#[cfg(not(loom))]
impl Drop for Tenancy {
    fn drop(&mut self) {
        let Ok(Some(home)) = MINE.try_with(|m| m.take()) else { return };
        home.drain();
        VACANT.lock().unwrap_or_else(|e| e.into_inner()).push(home);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn body(n: usize) -> BytesMut {
        BytesMut::zeroed(n)
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
    fn a_thread_owns_one_home_and_leaves_it_emptied_to_the_next() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let first = std::thread::spawn(move || {
            let home = current().unwrap();
            assert!(is_mine(home));
            assert!(std::ptr::eq(current().unwrap(), home), "one home per thread");
            home.give_back(body(100)).unwrap();
            tx.send(home as *const Home as usize).unwrap();
            done.recv().unwrap();
        });
        let theirs = rx.recv().unwrap();
        let mine = current().unwrap();
        assert!(is_mine(mine));
        assert_ne!(mine as *const Home as usize, theirs, "a live thread's home is its own");
        done_tx.send(()).unwrap();
        first.join().unwrap();
        // Whichever home the next thread gets, the ended thread's among them, it is empty.
        let held = std::thread::spawn(|| current().unwrap().holding()).join().unwrap();
        assert_eq!(held, 0);
    }
}
