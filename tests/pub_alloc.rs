//! PUB sends a message to every subscriber without copying its body: a counting global
//! allocator measures the bytes allocated while a publisher with 100 subscribers (the core,
//! joined to them by pipes) publishes a 64 KiB message that all of them want. The body is
//! shared, so what is allocated is a small fraction of one body, not a hundred bodies.

use bytes::Bytes;
use ferromq::core::{PipeId, PipeInfo, SocketCore};
use ferromq::pipe::{PipeEnd, pipe_pair};
use ferromq::{Msg, SocketType};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static BYTES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: defers every operation to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            BYTES.fetch_add(layout.size(), Ordering::Relaxed);
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
            BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SUBSCRIBERS: u64 = 100;
const BODY: usize = 64 * 1024;

/// Bytes allocated on this thread while `f` runs.
fn allocated(f: impl FnOnce()) -> usize {
    BYTES.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    BYTES.load(Ordering::Relaxed)
}

/// PUB-01, PUB-04: one publish to 100 matching subscribers shares the body.
#[test]
fn pub01_a_published_body_is_shared_not_copied_per_subscriber() {
    let mut publisher = SocketCore::new(SocketType::Pub).unwrap();
    let mut peers: Vec<PipeEnd<Msg>> = Vec::new();
    for i in 0..SUBSCRIBERS {
        let (ours, mut theirs) = pipe_pair::<Msg>(1000, 1000);
        theirs.write(Msg::subscription(true, b"")).unwrap();
        theirs.flush();
        publisher.attach_pipe(PipeId(i), ours, PipeInfo::new(false));
        peers.push(theirs);
    }
    while publisher.poll_command().is_some() {}
    let body = Msg::from(Bytes::from(vec![7u8; BODY]));
    // Warm up: the first message sizes every pipe's queue.
    publisher.send(body.clone()).unwrap();
    for p in &mut peers {
        assert_eq!(p.read().unwrap().len(), BODY);
    }
    let bytes = allocated(|| publisher.send(body.clone()).unwrap());
    let mut got = 0;
    for p in &mut peers {
        let m = p.read().expect("every subscriber gets it");
        assert_eq!(m.as_ptr(), body.as_ptr(), "a copy of the body reached a subscriber");
        got += 1;
    }
    assert_eq!(got, SUBSCRIBERS);
    assert!(
        bytes < BODY / 4,
        "publishing one {BODY}-byte body to {SUBSCRIBERS} subscribers allocated {bytes} bytes"
    );
}
