//! Writing a large body to a stream allocates nothing: the encoder queues a body of 8 KiB or
//! more by reference (`proto::frame::SHARE_THRESHOLD`) as the message's own body, and a body
//! made with a `MsgBuf` travels to `writev` and home again without a box of its own. A counting
//! global allocator counts what the I/O thread allocates; the receiver is libzmq (the `zmq`
//! crate), whose allocations are C's. Whether the sending thread's `MsgBuf`s come from its home
//! depends on when spent bodies get back, which is timing; `tests/homes_alloc.rs` proves that
//! reuse where the timing is the test's own (inproc).
//! Alone in its own test binary, so that no other context's I/O thread runs meanwhile.

use ferromq::{Context, Msg, MsgBuf, SocketType};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Past the share threshold, so written by reference.
const SIZE: usize = 20_000;
const BURST: usize = 50;
/// Every other message is two frames, this one first.
const TOPIC: [u8; 5] = *b"topic";
/// Bursts before counting: past the pipe's first chunk and the encoder's first batches.
const WARM: usize = 8;
const MEASURED: usize = 40;

struct Counting;

/// While set, allocations on the I/O threads are counted.
static IO_COUNTING: AtomicBool = AtomicBool::new(false);
static IO_ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// Allocations on the sending thread inside `send` (where it may write to the stream itself,
/// taking the I/O thread's turn), not while it makes the bodies.
static SEND_ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static IS_IO: bool = std::thread::current().name().is_some_and(|n| n.starts_with("ferromq-io"));
    static IN_SEND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

// SAFETY: defers every operation to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: a thread's locals may already be gone while it exits.
        if IO_COUNTING.load(Ordering::Relaxed) && IS_IO.try_with(|io| *io).unwrap_or(false) {
            IO_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        if IN_SEND.try_with(std::cell::Cell::get).unwrap_or(false) {
            SEND_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Over tcp and ipc, in bursts of `BURST` each received whole (by libzmq) before the next is
/// made, 40 bursts of 20 000-byte `MsgBuf` bodies, every other one behind a small frame,
/// allocate nothing on the I/O thread that writes them, nor in the `send` calls, where the
/// sending thread may write to the stream itself. Fails with the planted bug `box-per-write`
/// (a `Bytes` of its own for each body written: 2 000 allocations on the I/O thread).
#[test]
fn writing_msgbuf_bodies_by_reference_allocates_nothing() {
    #[cfg(feature = "mutants")]
    if let Ok(name) = std::env::var("FERROMQ_MUTANT") {
        let m = ferromq::mutants::Mutant::from_name(&name).expect("FERROMQ_MUTANT names a mutant");
        ferromq::mutants::set(m, true);
    }
    let ipc = format!("ipc:///tmp/ferromq-writes-alloc-{}.sock", std::process::id());
    for ep in ["tcp://127.0.0.1:*", &ipc] {
        let z = zmq::Context::new();
        let pull = z.socket(zmq::PULL).unwrap();
        pull.set_rcvtimeo(10_000).unwrap();
        pull.bind(ep).unwrap();
        let ep = pull.get_last_endpoint().unwrap().unwrap();
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndhwm(100);
        push.connect(&ep).unwrap();
        let (sent, burst_sent) = std::sync::mpsc::channel::<()>();
        let (received, burst_received) = std::sync::mpsc::channel::<()>();
        let receiver = std::thread::spawn(move || {
            let mut m = zmq::Message::new();
            let mut b = 0usize;
            while burst_sent.recv().is_ok() {
                for i in 0..BURST {
                    pull.recv(&mut m, 0).unwrap();
                    if i % 2 == 1 {
                        assert_eq!(&m[..], &TOPIC[..], "burst {b}, message {i}");
                        assert!(pull.get_rcvmore().unwrap());
                        pull.recv(&mut m, 0).unwrap();
                    }
                    assert_eq!(m.len(), SIZE);
                    assert!(m.iter().all(|&x| x == (b + i) as u8), "burst {b}, message {i}");
                }
                b += 1;
                received.send(()).unwrap();
            }
        });
        IO_ALLOCS.store(0, Ordering::Relaxed);
        SEND_ALLOCS.store(0, Ordering::Relaxed);
        for round in 0..WARM + MEASURED {
            let counted = round >= WARM;
            IO_COUNTING.store(counted, Ordering::Relaxed);
            for i in 0..BURST {
                let mut body = MsgBuf::with_capacity(SIZE);
                body.resize(SIZE, (round + i) as u8);
                let body = Msg::from(body);
                IN_SEND.with(|c| c.set(counted));
                if i % 2 == 1 {
                    // A small frame first, as an envelope or a topic goes: copied into the
                    // encoder's stage just before the large body is queued by reference.
                    push.send_msg(Msg::from(&TOPIC[..]).with_more(true), false).unwrap();
                }
                push.send(body).unwrap();
                IN_SEND.with(|c| c.set(false));
            }
            sent.send(()).unwrap();
            burst_received.recv().unwrap();
            IO_COUNTING.store(false, Ordering::Relaxed);
        }
        drop(sent);
        receiver.join().unwrap();
        let (io, send) = (IO_ALLOCS.load(Ordering::Relaxed), SEND_ALLOCS.load(Ordering::Relaxed));
        let messages = MEASURED * BURST;
        assert_eq!(io, 0, "{ep}: the I/O thread allocated {io} times for {messages} messages");
        // At most one: only a send that wakes a connection posts a command to the I/O thread,
        // so the socket's mailbox may first cross from its first chunk of commands to a second
        // after the warm-up, and allocates that chunk then; from there on the two take turns.
        assert!(send <= 1, "{ep}: the sends allocated {send} times for {messages} messages");
        drop(push);
        ctx.term();
    }
}
