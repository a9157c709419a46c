//! Writing a large body to a stream allocates nothing: the encoder queues a body of 8 KiB or
//! more by reference (`proto::frame::SHARE_THRESHOLD`) as the message's own body, and a body
//! made with a `MsgBuf` travels to `writev` and home again without a box of its own, to one
//! peer or fanned out to several. A counting global allocator counts what the I/O thread
//! allocates, and the sending thread inside `send`, where it may write to the stream itself;
//! the receivers are libzmq (the `zmq` crate), whose allocations are C's. Whether the sending
//! thread's `MsgBuf`s come from its home depends on when spent bodies get back, which is
//! timing; `tests/homes_alloc.rs` proves that reuse where the timing is the test's own
//! (inproc). In its own test binary, so that no other test's I/O thread runs meanwhile, and
//! its tests take turns.

#[path = "common/ipc.rs"]
mod ipc;
use ferromq::{Context, Msg, MsgBuf, SocketType};
use ipc::Ipc;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Past the share threshold, so written by reference.
const SIZE: usize = 20_000;
const BURST: usize = 50;
/// Every other message is two frames, this one first.
const TOPIC: [u8; 5] = *b"topic";
/// What a PUB sends until its subscribers are all there.
const PING: &[u8] = b"ping";
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

/// Receives one burst on `sock`, as `send_bursts` makes it, and checks every byte. Before
/// the first message of the first burst come the pings a subscriber got after the one that
/// told it was there; nowhere else.
fn receive_burst(sock: &zmq::Socket, b: usize) {
    let mut m = zmq::Message::new();
    for i in 0..BURST {
        sock.recv(&mut m, 0).unwrap();
        while b == 0 && i == 0 && &m[..] == PING {
            sock.recv(&mut m, 0).unwrap();
        }
        if i % 2 == 1 {
            assert_eq!(&m[..], &TOPIC[..], "burst {b}, message {i}");
            assert!(sock.get_rcvmore().unwrap());
            sock.recv(&mut m, 0).unwrap();
        }
        assert_eq!(m.len(), SIZE);
        assert!(m.iter().all(|&x| x == (b + i) as u8), "burst {b}, message {i}");
    }
}

/// Sends `WARM + MEASURED` bursts of `BURST` 20 000-byte `MsgBuf` bodies, every other one
/// behind a small frame, each burst received whole by `receivers` (libzmq sockets, on a
/// thread of their own) before the next is made; returns what the I/O threads and the `send`
/// calls allocated during the measured bursts.
fn send_bursts(sock: &mut ferromq::Socket, receivers: Vec<zmq::Socket>) -> (usize, usize) {
    let (sent, burst_sent) = std::sync::mpsc::channel::<()>();
    let (received, burst_received) = std::sync::mpsc::channel::<()>();
    let receiver = std::thread::spawn(move || {
        let mut b = 0usize;
        while burst_sent.recv().is_ok() {
            receivers.iter().for_each(|r| receive_burst(r, b));
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
                sock.send_msg(Msg::from(&TOPIC[..]).with_more(true), false).unwrap();
            }
            sock.send(body).unwrap();
            IN_SEND.with(|c| c.set(false));
        }
        sent.send(()).unwrap();
        burst_received.recv().unwrap();
        IO_COUNTING.store(false, Ordering::Relaxed);
    }
    drop(sent);
    receiver.join().unwrap();
    (IO_ALLOCS.load(Ordering::Relaxed), SEND_ALLOCS.load(Ordering::Relaxed))
}

/// The counts `send_bursts` returned, for `messages` messages to each receiver: none on the
/// I/O thread, and at most one in `send`: only a send that wakes a connection posts a
/// command to the I/O thread, so the socket's mailbox may first cross from its first chunk of
/// commands to a second after the warm-up, and allocate that chunk then; from there on the
/// two take turns.
fn assert_none((io, send): (usize, usize), what: &str) {
    let messages = MEASURED * BURST;
    assert_eq!(io, 0, "{what}: the I/O thread allocated {io} times for {messages} messages");
    assert!(send <= 1, "{what}: the sends allocated {send} times for {messages} messages");
}

/// The counters are the process's: the tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes this test's turn, and plants the bug `FERROMQ_MUTANT` names, if any.
fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    #[cfg(feature = "mutants")]
    ferromq::mutants::plant_from_env();
    turn
}

/// Over tcp and ipc, 40 bursts of 50 `MsgBuf` bodies of 20 000 bytes, every other one behind
/// a small frame, each burst received whole by libzmq before the next, allocate nothing on
/// the I/O thread that writes them, nor in the `send` calls, where the sending thread may
/// write to the stream itself. Fails with the planted bug `box-per-write` (a `Bytes` of its
/// own for each body written: 2 000 allocations on the I/O thread).
#[test]
fn writing_msgbuf_bodies_by_reference_allocates_nothing() {
    let _turn = take_turn();
    let ipc = Ipc::new("writes-alloc");
    for ep in ["tcp://127.0.0.1:*", &ipc.endpoint()] {
        let z = zmq::Context::new();
        let pull = z.socket(zmq::PULL).unwrap();
        pull.set_rcvtimeo(10_000).unwrap();
        pull.bind(ep).unwrap();
        let ep = pull.get_last_endpoint().unwrap().unwrap();
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndhwm(100);
        push.connect(&ep).unwrap();
        assert_none(send_bursts(&mut push, vec![pull]), &ep);
        drop(push);
        ctx.term();
    }
}

/// A PUB fanning the same bursts out to three libzmq subscribers over tcp hands each
/// subscriber's connection the one body by reference: nothing is allocated per subscriber or
/// per message. Fails with the planted bug `box-per-write` (6 000 allocations: a box per
/// body per connection).
#[test]
fn fanning_msgbuf_bodies_out_by_reference_allocates_nothing() {
    let _turn = take_turn();
    let ctx = Context::new().unwrap();
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.bind("tcp://127.0.0.1:0").unwrap();
    let ep = publisher.last_endpoint().unwrap().to_string();
    let z = zmq::Context::new();
    let subs: Vec<zmq::Socket> = (0..3)
        .map(|_| {
            let sub = z.socket(zmq::SUB).unwrap();
            sub.set_rcvtimeo(10_000).unwrap();
            sub.set_subscribe(b"").unwrap();
            sub.connect(&ep).unwrap();
            sub
        })
        .collect();
    // A subscriber gets what is published once its subscription has arrived: ping until each
    // has had one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for sub in &subs {
        sub.set_rcvtimeo(10).unwrap();
        let mut m = zmq::Message::new();
        loop {
            publisher.send(PING).unwrap();
            if sub.recv(&mut m, 0).is_ok() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "a subscription never arrived");
        }
        sub.set_rcvtimeo(10_000).unwrap();
    }
    assert_none(send_bursts(&mut publisher, subs), "pub to 3 subscribers");
    drop(publisher);
    ctx.term();
}
