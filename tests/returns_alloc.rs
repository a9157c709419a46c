//! A sent message's heap body is freed on the thread that allocated it, not on the I/O thread
//! that copied it out (`pipe::return_spent`), and what waits to go back stays bounded. A
//! counting global allocator tells which thread frees each body of the test's size, and how
//! many bytes are live. Alone in its own test binary, so that no other test allocates bodies of
//! that size meanwhile.

use ferromq::{Context, Msg, SocketType};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

/// Bodies of exactly this size are the test's: nothing else in the stack allocates it.
const SIZE: usize = 1000;
const COUNT: usize = 20_000;
const HWM: u64 = 1000;

struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static FREED_BY_IO: AtomicUsize = AtomicUsize::new(0);
static FREED_ELSEWHERE: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static IS_IO: bool = std::thread::current().name().is_some_and(|n| n.starts_with("ferromq-io"));
}

// SAFETY: defers every operation to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        if layout.size() == SIZE && ON.load(Ordering::Relaxed) {
            // `try_with`: a thread's locals may already be gone while it exits.
            let io = IS_IO.try_with(|io| *io).unwrap_or(false);
            if io { &FREED_BY_IO } else { &FREED_ELSEWHERE }.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Fails with the planted bug `spent-piles-up` (`FERROMQ_MUTANT`, `--features mutants`): the
/// session then keeps every body it sent, 20 MB, where the bound allows 6.
#[test]
fn sent_bodies_are_freed_by_their_sender_and_returns_stay_bounded() {
    #[cfg(feature = "mutants")]
    ferromq::mutants::plant_from_env();
    let ipc = format!("ipc:///tmp/ferromq-returns-alloc-{}.sock", std::process::id());
    for ep in ["tcp://127.0.0.1:*", &ipc] {
        let ctx = Context::new().unwrap();
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_rcvtimeo(Some(Duration::from_secs(10)));
        pull.bind(ep).unwrap();
        let ep = pull.last_endpoint().unwrap().to_owned();
        let receiver = std::thread::spawn(move || {
            for _ in 0..COUNT {
                assert_eq!(pull.recv().unwrap().len(), SIZE);
            }
            pull
        });
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndhwm(HWM);
        push.connect(&ep).unwrap();
        FREED_BY_IO.store(0, Ordering::Relaxed);
        FREED_ELSEWHERE.store(0, Ordering::Relaxed);
        ON.store(true, Ordering::Relaxed);
        let live_before = LIVE.load(Ordering::Relaxed);
        let mut peak = 0;
        for i in 0..COUNT {
            push.send(Msg::from(vec![i as u8; SIZE])).unwrap();
            peak = peak.max(LIVE.load(Ordering::Relaxed) - live_before);
        }
        let pull = receiver.join().unwrap();
        ON.store(false, Ordering::Relaxed);
        let (io, elsewhere) =
            (FREED_BY_IO.load(Ordering::Relaxed), FREED_ELSEWHERE.load(Ordering::Relaxed));
        drop((push, pull));
        ctx.term();
        // Everything sent was read, so at most the last batches wait to go back.
        assert!(
            io + elsewhere + 2 * HWM as usize >= COUNT,
            "{ep}: {io} + {elsewhere} freed of {COUNT}"
        );
        // The reader drops a batch itself when the sender has not taken the last one yet:
        // that may happen, but most must go back.
        assert!(
            io * 4 < COUNT,
            "{ep}: the I/O thread freed {io} of {COUNT} bodies ({elsewhere} went back)"
        );
        // In flight: the sender's pipe (HWM), one batch each side of the return slot, the
        // receiver's pipe and buffers; the sum of all bodies sent is 20 MB.
        let bound = (4 * HWM as isize + 2000) * SIZE as isize;
        assert!(peak < bound, "{ep}: {peak} bytes live at the peak (bound {bound})");
    }
}
