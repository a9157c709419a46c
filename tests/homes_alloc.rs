//! A heap body dropped on another thread goes back to the thread that allocated it, to be freed
//! there (`msg::home`), or, made with a `MsgBuf`, to be reused there; and a home holds no more
//! than its bound when its owner stops allocating. A counting global allocator tells which
//! thread frees each body of the test's sizes, and how many are allocated. Alone in its own
//! test binary, so that no other test allocates bodies of those sizes.

use ferromq::{Context, Msg, MsgBuf, SocketType};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bodies of these sizes are the tests': nothing else in the stack allocates them.
const STREAMED: usize = 1000;
const PILED: usize = 1001;
const ORPHANED: usize = 1002;
/// Bodies made with a `MsgBuf`, to be reused: one under 16 KiB (which a `Vec` would bring home
/// to be freed) and one past it (which a `Vec` would leave where it is dropped), over inproc;
/// and one sent over tcp.
const REUSED: [usize; 3] = [2_000, 40_000, 3_000];
/// A home's bound in bodies (`Home::MAX_BODIES`, documented in `msg::home`).
const HOME_MAX_BODIES: usize = 4096;

struct Counting;

/// Per size (index 0: `STREAMED`, 1: `PILED`, 2: `ORPHANED`): frees on the receiving thread, and elsewhere.
static BY_RECEIVER: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
static ELSEWHERE: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
/// Allocations of `REUSED` bytes.
static REUSED_ALLOCS: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
/// Allocations of any size by a thread that counts them (`COUNTING`).
static COUNTED_ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static RECEIVER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

// SAFETY: defers every operation to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(i) = REUSED.iter().position(|&n| n == layout.size()) {
            REUSED_ALLOCS[i].fetch_add(1, Ordering::Relaxed);
        }
        if COUNTING.try_with(std::cell::Cell::get).unwrap_or(false) {
            COUNTED_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let slot = match layout.size() {
            STREAMED => Some(0),
            PILED => Some(1),
            ORPHANED => Some(2),
            _ => None,
        };
        if let Some(i) = slot {
            // `try_with`: a thread's locals may already be gone while it exits.
            let receiver = RECEIVER.try_with(std::cell::Cell::get).unwrap_or(false);
            if receiver { &BY_RECEIVER[i] } else { &ELSEWHERE[i] }.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn plant_mutant() {
    #[cfg(feature = "mutants")]
    ferromq::mutants::plant_from_env();
}

/// A context and an inproc PUSH connected to a PULL bound at `name`; `unbounded` lifts both
/// high-water marks.
fn inproc_pair(name: &str, unbounded: bool) -> (Context, ferromq::Socket, ferromq::Socket) {
    let ep = format!("inproc://{name}");
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    if unbounded {
        pull.set_rcvhwm(0);
        push.set_sndhwm(0);
    }
    pull.bind(&ep).unwrap();
    push.connect(&ep).unwrap();
    (ctx, push, pull)
}

/// Receives `count` messages of `size` on another thread, which drops them.
fn receive_elsewhere(
    pull: ferromq::Socket,
    count: usize,
    size: usize,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut pull = pull;
        RECEIVER.with(|r| r.set(true));
        for _ in 0..count {
            assert_eq!(pull.recv().unwrap().len(), size);
        }
    })
}

/// Makes enough messages that the calling thread frees what came back to it.
fn allocate_a_while() {
    for _ in 0..100 {
        drop(Msg::from(vec![0u8; 100]));
    }
}

/// Over inproc the receiving thread drops every body the sending thread allocated: none is
/// freed there, every one by the sender. Fails with the planted bug `home-never-drained`
/// (`FERROMQ_MUTANT`, `--features mutants`): the sender's home fills, and the receiver frees
/// the rest itself.
#[test]
fn bodies_dropped_by_an_inproc_receiver_are_freed_by_their_sender() {
    plant_mutant();
    const COUNT: usize = 20_000;
    let (ctx, mut push, pull) = inproc_pair("homes-streamed", false);
    let receiver = receive_elsewhere(pull, COUNT, STREAMED);
    for i in 0..COUNT {
        push.send(Msg::from(vec![i as u8; STREAMED])).unwrap();
    }
    receiver.join().unwrap();
    allocate_a_while();
    let (by_receiver, by_sender) =
        (BY_RECEIVER[0].load(Ordering::Relaxed), ELSEWHERE[0].load(Ordering::Relaxed));
    assert_eq!(by_receiver, 0, "the receiver freed {by_receiver} of {COUNT} bodies");
    assert_eq!(by_sender, COUNT, "the sender freed {by_sender} of {COUNT}");
    drop(push);
    ctx.term();
}

/// A sender that stops allocating while its peer drops a long queue holds no more than its
/// home's bound: the rest is freed where it is dropped, and what the home held is freed once
/// the sender allocates again. Fails with the planted bug `home-overflows`.
#[test]
fn a_home_whose_owner_is_idle_holds_no_more_than_its_bound() {
    plant_mutant();
    const COUNT: usize = 10_000;
    let (ctx, mut push, pull) = inproc_pair("homes-piled", true);
    // All queued first, so that every body comes back while the sender makes none.
    for i in 0..COUNT {
        push.send(Msg::from(vec![i as u8; PILED])).unwrap();
    }
    receive_elsewhere(pull, COUNT, PILED).join().unwrap();
    let by_receiver = BY_RECEIVER[1].load(Ordering::Relaxed);
    assert_eq!(
        by_receiver,
        COUNT - HOME_MAX_BODIES,
        "the receiver freed {by_receiver} of {COUNT}: the home held the rest"
    );
    allocate_a_while();
    assert_eq!(ELSEWHERE[1].load(Ordering::Relaxed), HOME_MAX_BODIES, "the sender freed the rest");
    drop(push);
    ctx.term();
}

/// Bodies whose sending thread has ended are freed where they are dropped: a home whose owner
/// is gone takes none, so nothing waits there for a thread that will never free it.
#[test]
fn bodies_outliving_their_thread_are_freed_where_they_are_dropped() {
    const COUNT: usize = 1000;
    let (ctx, mut push, pull) = inproc_pair("homes-orphaned", false);
    let push = std::thread::spawn(move || {
        for i in 0..COUNT {
            push.send(Msg::from(vec![i as u8; ORPHANED])).unwrap();
        }
        push
    })
    .join()
    .unwrap();
    receive_elsewhere(pull, COUNT, ORPHANED).join().unwrap();
    let by_receiver = BY_RECEIVER[2].load(Ordering::Relaxed);
    assert_eq!(by_receiver, COUNT, "the receiver freed {by_receiver} of {COUNT}");
    drop(push);
    ctx.term();
}

/// Sends `bursts` bursts of `burst` `MsgBuf` bodies of each of `sizes` from `push` to `pull`
/// (on another thread, which checks each body's bytes and drops it), each burst received
/// whole before the next is made. Returns `pull`.
fn stream_in_bursts(
    push: &mut ferromq::Socket,
    pull: ferromq::Socket,
    sizes: &'static [usize],
    burst: usize,
    bursts: usize,
) -> ferromq::Socket {
    let (received, done) = std::sync::mpsc::channel();
    let receiver = std::thread::spawn(move || {
        let mut pull = pull;
        for &size in sizes {
            for b in 0..bursts {
                for i in 0..burst {
                    let m = pull.recv().unwrap();
                    assert_eq!(m.len(), size);
                    assert!(m.iter().all(|&x| x == (b + i) as u8), "a body of its own");
                }
                received.send(()).unwrap();
            }
        }
        pull
    });
    for &size in sizes {
        for b in 0..bursts {
            for i in 0..burst {
                let mut body = MsgBuf::with_capacity(size);
                body.resize(size, (b + i) as u8);
                push.send(Msg::from(body)).unwrap();
            }
            done.recv().unwrap();
        }
    }
    receiver.join().unwrap()
}

/// Bodies made with a `MsgBuf` and dropped by the receiver come back to be made again: in
/// bursts of `BURST`, each received whole before the next is made, no more than a burst is
/// ever in flight, so the sender allocates no more than a burst's bodies (fewer where the
/// receiver dropped some of the first burst before it ended) and reuses them ever after.
/// Fails with the planted bug `reuse-forgets`: every body is allocated afresh.
#[test]
fn bodies_dropped_by_an_inproc_receiver_are_reused_by_their_sender() {
    plant_mutant();
    const BURST: usize = 50;
    const BURSTS: usize = 40;
    let (ctx, mut push, pull) = inproc_pair("homes-reused", false);
    let pull = stream_in_bursts(&mut push, pull, &REUSED[..2], BURST, BURSTS);
    for (i, size) in REUSED.into_iter().take(2).enumerate() {
        let allocated = REUSED_ALLOCS[i].load(Ordering::Relaxed);
        assert!(allocated <= BURST, "{size} B: {allocated} of {} allocated", BURST * BURSTS);
    }
    drop((push, pull));
    ctx.term();
}

/// Over tcp the I/O thread copies each body into its output and the pipe hands it back to the
/// sender ([`ferromq::pipe::return_spent`]), where it is kept for the next `MsgBuf`: with a
/// high-water mark of 100, and each burst of 100 received before the next is sent, at most
/// the pipe, the batch handed back (50), the slot it waits in (3 × 50) and a burst are alive at
/// once, so 4 000 messages allocate no more than 400 bodies. Fails with `reuse-forgets`.
#[test]
fn bodies_sent_over_tcp_are_reused_by_their_sender() {
    plant_mutant();
    const BURST: usize = 100;
    const BURSTS: usize = 40;
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(std::time::Duration::from_secs(10)));
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(100);
    push.connect(&ep).unwrap();
    let pull = stream_in_bursts(&mut push, pull, &REUSED[2..], BURST, BURSTS);
    let allocated = REUSED_ALLOCS[2].load(Ordering::Relaxed);
    assert!(allocated <= 400, "{allocated} of {} bodies were allocated", BURST * BURSTS);
    drop((push, pull));
    ctx.term();
}

/// The steady state of a stream of `MsgBuf` bodies allocates nothing at all on the sending
/// thread, the bodies' reference counts included: each body comes back from the receiver in
/// the count it left in, and the next `MsgBuf` takes both. In bursts of 50 over inproc, each
/// sent whole before the receiver takes it and received whole before the next is made, so
/// that exactly a burst is ever in flight: after eight bursts to warm up (past the pipe's
/// first chunk of 256 slots, whose successor the pipe allocates once), 40 bursts of 1 500
/// bytes and 40 of 30 000 allocate nothing. Fails with the planted bugs `shell-per-message`
/// (a new count per message: one allocation each) and `reuse-forgets`.
#[test]
fn a_stream_of_msgbuf_bodies_allocates_nothing_once_they_come_back() {
    plant_mutant();
    const BURST: usize = 50;
    const WARM: usize = 8;
    const MEASURED: usize = 40;
    const SIZES: [usize; 2] = [1_500, 30_000];
    let (ctx, mut push, pull) = inproc_pair("homes-steady", false);
    let (sent, burst_sent) = std::sync::mpsc::channel::<()>();
    let (received, burst_received) = std::sync::mpsc::channel::<()>();
    let receiver = std::thread::spawn(move || {
        let mut pull = pull;
        while burst_sent.recv().is_ok() {
            for _ in 0..BURST {
                let m = pull.recv().unwrap();
                assert!(SIZES.contains(&m.len()), "a body of {} bytes", m.len());
            }
            received.send(()).unwrap();
        }
        pull
    });
    for size in SIZES {
        for round in 0..WARM + MEASURED {
            COUNTING.with(|c| c.set(round >= WARM));
            for i in 0..BURST {
                let mut body = MsgBuf::with_capacity(size);
                body.resize(size, i as u8);
                push.send(Msg::from(body)).unwrap();
            }
            COUNTING.with(|c| c.set(false));
            sent.send(()).unwrap();
            burst_received.recv().unwrap();
        }
    }
    let allocated = COUNTED_ALLOCS.load(Ordering::Relaxed);
    let measured = MEASURED * SIZES.len() * BURST;
    assert_eq!(allocated, 0, "{allocated} allocations for {measured} messages");
    drop(sent);
    drop((push, receiver.join().unwrap()));
    ctx.term();
}
