//! Nothing is lost at close (L-07, DESIGN.md principle 6): a sender that queues a burst and
//! closes at once, with the default infinite LINGER, must deliver every message before its
//! context's `term` returns, over ipc and tcp. libzmq loses such a tail over ipc (its #4660);
//! ferromq did too, until a connection counted as finished only after flushing, FIN and drain.

use crate::common::*;
use std::sync::mpsc;

/// Small kernel buffers on both ends (O-12), so that the sender's own backlog, not the
/// kernel's, holds the tail at close. TCP gets more: a window of a few kilobytes stalls on
/// delayed acknowledgements.
fn small_buffers(s: &mut ferromq::Socket, bytes: usize) {
    let mut o = s.options().clone();
    o.sndbuf = Some(bytes);
    o.rcvbuf = Some(bytes);
    s.set_options(o).unwrap();
}

/// One round: a sender in its own context queues `count` numbered messages of `size` bytes
/// (at least 4) and closes and terminates at once. The receiver reads all but the last `tail`
/// messages, then stops reading for a while: the sender meanwhile fills the small kernel
/// buffers and its engine with the tail and reaches the end of its pipe with bytes still
/// unwritten, which is where the tail used to be dropped (as long as `tail` is more than the
/// kernel holds and less than the engine's batch). Then it reads the rest. Every message must
/// arrive, in order, and `term` must return after that. The pauses shape the load only; the
/// verdict never depends on them.
fn burst_then_close(endpoint: &str, kernel_buf: usize, count: u32, size: usize, tail: u32) {
    plant();
    let rctx = Context::new().unwrap();
    let mut pull = rctx.socket(SocketType::Pull).unwrap();
    small_buffers(&mut pull, kernel_buf);
    pull.set_rcvhwm(10);
    // Two seconds without a message while some are still owed is a lost tail.
    pull.set_rcvtimeo(Some(Duration::from_secs(2)));
    pull.bind(endpoint).unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let (done_tx, done_rx) = mpsc::channel();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        small_buffers(&mut push, kernel_buf);
        push.set_sndhwm(0);
        push.connect(&ep).unwrap();
        for i in 0..count {
            push.send(numbered(i, size)).unwrap();
        }
        drop(push);
        ctx.term();
        done_tx.send(()).unwrap();
    });
    for i in 0..count {
        if i == count - tail {
            std::thread::sleep(Duration::from_millis(100));
        }
        let m = pull.recv().unwrap_or_else(|e| {
            panic!("{endpoint}: message {i} of {count} never arrived ({e}): the tail was lost")
        });
        assert_eq!(&m[..], &numbered(i, size)[..], "{endpoint}: order and content");
    }
    done_rx.recv_timeout(Duration::from_secs(10)).expect("term returned once all was delivered");
    sender.join().unwrap();
}

fn numbered(i: u32, size: usize) -> Vec<u8> {
    let mut m = vec![i as u8; size];
    m[..4].copy_from_slice(&i.to_be_bytes());
    m
}

/// L-07 over ipc: the burst arrives whole, every round.
#[test]
fn l07_ipc_burst_then_close_loses_nothing() {
    for (round, tail) in [4_000, 8_000, 12_000].into_iter().enumerate() {
        let path =
            std::env::temp_dir().join(format!("ferromq-close-{}-{round}.sock", std::process::id()));
        burst_then_close(&format!("ipc://{}", path.display()), 4096, 50_000, 4, tail);
    }
}

/// L-07 over tcp: the burst arrives whole, every round.
#[test]
fn l07_tcp_burst_then_close_loses_nothing() {
    for tail in [2_000, 2_400, 2_800] {
        burst_then_close("tcp://127.0.0.1:*", 32 * 1024, 50_000, 64, tail);
    }
}

/// L-07 with input still unread: a PAIR closing while its peer keeps sending to it must not
/// reset the connection (closing a TCP socket with unread input sends an RST, and the kernel
/// then discards what it had not sent yet). It sends FIN and drains instead, so its burst
/// arrives whole.
#[test]
fn l07_close_with_unread_input_still_delivers_the_burst() {
    plant();
    let rctx = Context::new().unwrap();
    let mut peer = rctx.socket(SocketType::Pair).unwrap();
    small_buffers(&mut peer, 32 * 1024);
    peer.set_rcvtimeo(Some(Duration::from_secs(2)));
    peer.set_sndtimeo(Some(Duration::ZERO));
    peer.bind("tcp://127.0.0.1:*").unwrap();
    let ep = peer.last_endpoint().unwrap().to_owned();
    let (done_tx, done_rx) = mpsc::channel();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new().unwrap();
        let mut pair = ctx.socket(SocketType::Pair).unwrap();
        small_buffers(&mut pair, 32 * 1024);
        pair.set_rcvhwm(1);
        pair.set_sndhwm(0);
        pair.connect(&ep).unwrap();
        for i in 0..20_000u32 {
            pair.send(numbered(i, 64)).unwrap();
        }
        // Never reads what the peer sends it: that input is unread at the close.
        drop(pair);
        ctx.term();
        done_tx.send(()).unwrap();
    });
    let mut i = 0u32;
    while i < 20_000 {
        // Keep the sender's input full: its unread bytes are what an abrupt close would turn
        // into a reset.
        let _ = peer.send_msg(Msg::from(vec![9u8; 512]), true);
        match peer.recv() {
            Ok(m) => {
                assert_eq!(&m[..], &numbered(i, 64)[..], "order and content");
                i += 1;
            }
            Err(e) => panic!("message {i} of 20000 never arrived ({e}): the burst was cut"),
        }
        if i % 2048 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    done_rx.recv_timeout(Duration::from_secs(10)).expect("term returned");
    sender.join().unwrap();
}
