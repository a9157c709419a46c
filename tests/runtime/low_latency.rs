//! The low-latency mode (`ContextBuilder::spin`): blocked calls and I/O threads look for
//! traffic before they sleep, and a user thread blocked in `recv` (or just done with `send`)
//! takes the I/O thread's turns itself. None of this may change what is delivered: these tests
//! run the patterns over every transport with the mode on, including the hand-back to the I/O
//! thread when the user stops calling, reconnect timers while a user thread helps, and a close
//! that still owes its tail. Speed and CPU are measured by `scripts/perf_compare.py`, not here.

use crate::common::*;
use std::sync::mpsc;

fn spin_ctx() -> Context {
    Context::builder().spin(Duration::from_millis(2)).build().unwrap()
}

/// The user thread helps while blocked in `recv`, then stops calling: the I/O thread must
/// take the work back (within one budget), so the next message is read into the socket's
/// queue while nobody is blocked on it. `events` never helps, so it sees that only if the I/O
/// thread did the reading. The budget is long enough that the first message, connection and
/// handshake included, arrives while `recv` still spins: with 2 ms, a slow handshake let the
/// user thread fall asleep first, the I/O thread read the message, no helper ever left, and
/// the planted bug `io-thread-stays-quiet` went uncaught (once in CI).
#[test]
fn spin01_the_io_thread_takes_over_when_the_user_stops_waiting() {
    plant();
    let ctx = Context::builder().spin(Duration::from_millis(250)).build().unwrap();
    let mut pull = sock(&ctx, SocketType::Pull, |_| {});
    let ep = bind(&mut pull, "tcp://127.0.0.1:*");
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new().unwrap();
        let mut push = sock(&ctx, SocketType::Push, |_| {});
        push.connect(&ep).unwrap();
        push.send("one").unwrap();
        go_rx.recv().unwrap();
        push.send("two").unwrap();
        drop(push);
        ctx.term();
    });
    assert_eq!(&pull.recv().unwrap()[..], b"one");
    go_tx.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pull.events().unwrap().contains(ferromq::PollEvents::IN) {
        assert!(Instant::now() < deadline, "nobody read the stream once the user stopped waiting");
        std::thread::yield_now();
    }
    assert_eq!(&pull.recv_msg(true).unwrap()[..], b"two");
    sender.join().unwrap();
}

/// REQ/REP round trips of assorted sizes over tcp, ipc and inproc, both sockets in one
/// low-latency context (so the requester's and the replier's threads help the same I/O
/// thread), every reply checked byte for byte.
#[test]
fn spin02_round_trips_over_every_transport() {
    let ctx = spin_ctx();
    for ep in endpoints("spin02") {
        let mut rep = sock(&ctx, SocketType::Rep, |_| {});
        let ep = bind(&mut rep, &ep);
        let echo = std::thread::spawn(move || {
            for _ in 0..2_000 {
                let m = rep.recv().unwrap();
                rep.send(m).unwrap();
            }
        });
        let mut req = sock(&ctx, SocketType::Req, |_| {});
        req.connect(&ep).unwrap();
        for i in 0..2_000usize {
            let body = vec![(i % 251) as u8; [1, 30, 1_000, 70_000][i % 4]];
            req.send(body.clone()).unwrap();
            assert_eq!(&req.recv().unwrap()[..], &body[..], "{ep}: round trip {i}");
        }
        echo.join().unwrap();
    }
}

/// A stream between two low-latency contexts over tcp arrives whole and in order, and the
/// sender's close still delivers its tail before `term` returns (L-07).
#[test]
fn spin03_a_stream_arrives_whole_in_order_and_closes_with_its_tail() {
    let rctx = spin_ctx();
    let mut pull = sock(&rctx, SocketType::Pull, |_| {});
    let ep = bind(&mut pull, "tcp://127.0.0.1:*");
    let count = 100_000u32;
    let (done_tx, done_rx) = mpsc::channel();
    let sender = std::thread::spawn(move || {
        let ctx = spin_ctx();
        let mut push = sock(&ctx, SocketType::Push, |_| {});
        push.connect(&ep).unwrap();
        for i in 0..count {
            push.send(i.to_be_bytes().to_vec()).unwrap();
        }
        drop(push);
        ctx.term();
        done_tx.send(()).unwrap();
    });
    for i in 0..count {
        let m = pull.recv().unwrap_or_else(|e| panic!("message {i} of {count}: {e}"));
        assert_eq!(&m[..], &i.to_be_bytes()[..], "order and content");
    }
    done_rx.recv_timeout(Duration::from_secs(10)).expect("term returned once all was delivered");
    sender.join().unwrap();
}

/// `poll` in the low-latency mode: it waits the same way, helping, and sees the socket that
/// became readable.
#[test]
fn spin04_poll_sees_the_readable_socket() {
    let ctx = spin_ctx();
    let mut quiet = sock(&ctx, SocketType::Pull, |_| {});
    bind(&mut quiet, "tcp://127.0.0.1:*");
    let mut busy = sock(&ctx, SocketType::Pull, |_| {});
    let ep = bind(&mut busy, "tcp://127.0.0.1:*");
    let mut push = sock(&ctx, SocketType::Push, |_| {});
    push.connect(&ep).unwrap();
    push.send("hello").unwrap();
    let mut items = [
        ferromq::PollItem::new(&mut quiet, ferromq::PollEvents::IN),
        ferromq::PollItem::new(&mut busy, ferromq::PollEvents::IN),
    ];
    assert_eq!(ferromq::poll(&mut items, Some(Duration::from_secs(10))).unwrap(), 1);
    assert!(items[1].revents().contains(ferromq::PollEvents::IN));
    assert!(items[0].revents().is_empty());
    assert_eq!(&busy.recv().unwrap()[..], b"hello");
}

/// A connect side whose peer is not there yet keeps retrying on its timers while a user
/// thread is blocked in `recv`, helping (L-03): the first message after the peer appears
/// arrives.
#[test]
fn spin05_reconnect_timers_run_while_a_user_thread_helps() {
    let ctx = spin_ctx();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut pull = sock(&ctx, SocketType::Pull, |o| {
        o.reconnect_ivl = Some(Duration::from_millis(20));
    });
    pull.connect(&ep).unwrap();
    let late = std::thread::spawn(move || {
        // Long enough for several refused dials; the verdict does not depend on it.
        std::thread::sleep(Duration::from_millis(100));
        let ctx = Context::new().unwrap();
        let mut push = sock(&ctx, SocketType::Push, |_| {});
        push.bind(&ep).unwrap();
        push.send("late").unwrap();
        drop(push);
        ctx.term();
    });
    assert_eq!(&pull.recv().unwrap()[..], b"late");
    late.join().unwrap();
}

/// A send from a low-latency context whose I/O thread is back asleep in `epoll_wait` (nobody
/// has helped for longer than the budget, and the send's own turn cannot take the lock the
/// sleeping thread holds): the command announcing the message must ring it awake. The waker
/// skips the ring only while the thread is out of `epoll_wait`, so this checks that the
/// thread says so truthfully.
#[test]
fn spin06_a_send_while_nobody_helps_rings_the_io_thread() {
    plant();
    // Dropped only on success: an I/O thread that sleeps through commands would sleep through
    // the context's stop as well, and a failing run would hang instead of failing.
    let ctx = std::mem::ManuallyDrop::new(spin_ctx());
    let other = Context::new().unwrap();
    let mut pull = sock(&other, SocketType::Pull, |_| {});
    let ep = bind(&mut pull, "tcp://127.0.0.1:*");
    let mut push = std::mem::ManuallyDrop::new(sock(&ctx, SocketType::Push, |_| {}));
    push.connect(&ep).unwrap();
    push.send("one").unwrap();
    assert_eq!(&pull.recv().expect("the I/O thread slept through the connect")[..], b"one");
    for i in 0..5u8 {
        // Past the 2 ms budget: the I/O thread has taken the work back and sleeps in
        // `epoll_wait` with no timer due (the verdict does not depend on the length).
        std::thread::sleep(Duration::from_millis(30));
        push.send(vec![i]).unwrap();
        let got = pull.recv().expect("the I/O thread slept through a send");
        assert_eq!(&got[..], [i]);
    }
    drop(std::mem::ManuallyDrop::into_inner(push));
    std::mem::ManuallyDrop::into_inner(ctx).term();
}
