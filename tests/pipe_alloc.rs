//! Proves the data path allocates nothing per message in its steady state: a counting global
//! allocator watches a pipe moving small messages (inline `Msg`s) after a warm-up, across
//! chunk recycling, high-water-mark credit and reader sleep/wake.

use ferromq::Msg;
use ferromq::pipe::pipe_pair;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: defers every operation to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_pipe_traffic_allocates_nothing() {
    let (mut a, mut b) = pipe_pair::<Msg>(1000, 1000);
    let round = |a: &mut ferromq::pipe::PipeEnd<Msg>, b: &mut ferromq::pipe::PipeEnd<Msg>| {
        let mut sent = 0u32;
        // Write up to the mark, read everything, return credit: 1000 messages a round, and the
        // reader sleeps and is woken every round.
        while a.check_write() {
            a.write(Msg::from(sent.to_be_bytes())).unwrap();
            sent += 1;
        }
        a.flush();
        while let Some(c) = a.poll_command() {
            b.handle_command(c);
        }
        while b.poll_event().is_some() {}
        let mut got = 0u32;
        while let Some(m) = b.read() {
            assert_eq!(&m[..], got.to_be_bytes());
            got += 1;
        }
        assert_eq!(got, sent);
        while let Some(c) = b.poll_command() {
            a.handle_command(c);
        }
        while a.poll_event().is_some() {}
        sent
    };
    for _ in 0..10 {
        round(&mut a, &mut b);
    }
    COUNTING.with(|c| c.set(true));
    let mut total = 0;
    for _ in 0..100 {
        total += round(&mut a, &mut b);
    }
    COUNTING.with(|c| c.set(false));
    assert_eq!(total, 100_000);
    assert_eq!(ALLOCS.load(Ordering::Relaxed), 0, "allocations in the steady state");
}
