//! A blocked call leads its I/O thread's loop (the default mode): a user thread blocked in
//! `recv` or `poll` on a socket with a tcp or ipc endpoint sleeps in the loop's
//! `epoll_wait` and takes its turns, and the I/O thread stays out of the way meanwhile and for
//! a short grace after a `recv`. None of this may change what is delivered or when a call
//! wakes: a notify from another thread (an inproc peer, the context's end) must ring the
//! leader out of `epoll_wait`, the I/O thread must take the work back when the leader stops
//! calling, and a second blocked thread must not depend on the first. Speed is measured by
//! `scripts/perf_compare.py`, not here.

use crate::blocked::{spawn_blocked, spawn_leading};
use crate::common::*;
use ferromq::{PollEvents, PollItem, poll};

/// A PULL with a tcp endpoint (so a blocked `recv` leads the loop) and an inproc one, and a
/// PUSH connected to it over inproc.
fn networked_pull_inproc_push(ctx: &Context, name: &str) -> (Socket, Socket) {
    let mut pull = sock(ctx, SocketType::Pull, |_| {});
    bind(&mut pull, "tcp://127.0.0.1:*");
    pull.bind(&format!("inproc://{name}")).unwrap();
    let mut push = sock(ctx, SocketType::Push, |_| {});
    push.connect(&format!("inproc://{name}")).unwrap();
    (pull, push)
}

/// An inproc peer notifies the receiver's signal directly, from its own thread; the receiver
/// sleeps in `epoll_wait`, which only the loop's waker ends. Its 10 s RCVTIMEO would end it
/// too, and the message would still be read then: the time it took is the verdict.
#[test]
fn lead01_an_inproc_send_wakes_a_receiver_leading_the_loop() {
    let ctx = ctx();
    let (mut pull, mut push) = networked_pull_inproc_push(&ctx, "lead01");
    let started = Instant::now();
    let waiter = spawn_leading(move || (pull.recv().map(|m| m.to_vec()), Instant::now()));
    push.send("x").unwrap();
    let (got, at) = waiter.join().unwrap();
    assert_eq!(got.unwrap(), b"x");
    assert!(
        at - started < Duration::from_secs(5),
        "the leader slept through the notify until its timeout ({:?})",
        at - started
    );
}

/// The same for a poll: its items' wakers point at the poll's signal, and a notify through
/// any of them must ring the loop the poll leads.
#[test]
fn lead02_an_inproc_send_wakes_a_poll_leading_the_loop() {
    let ctx = ctx();
    let (mut pull, mut push) = networked_pull_inproc_push(&ctx, "lead02");
    let started = Instant::now();
    let waiter = spawn_leading(move || {
        let mut items = [PollItem::new(&mut pull, PollEvents::IN)];
        let n = poll(&mut items, Some(Duration::from_secs(10))).unwrap();
        (n, Instant::now(), pull.recv().map(|m| m.to_vec()))
    });
    push.send("y").unwrap();
    let (n, at, got) = waiter.join().unwrap();
    assert_eq!(n, 1);
    assert_eq!(got.unwrap(), b"y");
    assert!(at - started < Duration::from_secs(5), "the poll woke only at its timeout");
}

/// The context's end reaches a blocked call through the socket's mailbox, from the thread
/// that terminates: a leader must be rung out of `epoll_wait` for it (API-01).
#[test]
fn lead03_term_wakes_a_receiver_leading_the_loop() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let waiter = spawn_leading(move || pull.recv().map(|_| ()));
    ctx.term();
    assert!(matches!(waiter.join().unwrap(), Err(Error::Terminated)));
}

/// The leader gets its message and stops calling: the I/O thread must take the loop back
/// (after the grace), so that what arrives for another socket is read although no thread
/// waits for it. `events` neither leads nor helps, so it sees the message only if the I/O
/// thread read it.
#[test]
fn lead04_the_io_thread_takes_over_when_the_leader_stops_calling() {
    let ctx = ctx();
    let mut a = sock(&ctx, SocketType::Pull, |_| {});
    let ep_a = bind(&mut a, "tcp://127.0.0.1:*");
    let mut b = sock(&ctx, SocketType::Pull, |_| {});
    let ep_b = bind(&mut b, "tcp://127.0.0.1:*");
    let other = Context::new().unwrap();
    let mut to_a = sock(&other, SocketType::Push, |_| {});
    to_a.connect(&ep_a).unwrap();
    let mut to_b = sock(&other, SocketType::Push, |_| {});
    to_b.connect(&ep_b).unwrap();
    let leader = spawn_blocked(move || a.recv().map(|m| m.to_vec()));
    to_a.send("one").unwrap();
    assert_eq!(leader.join().unwrap().unwrap(), b"one");
    to_b.send("two").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !b.events().unwrap().contains(PollEvents::IN) {
        assert!(Instant::now() < deadline, "nobody read the stream once the leader left");
        std::thread::yield_now();
    }
    assert_eq!(&b.recv().unwrap()[..], b"two");
}

/// Two threads blocked on two sockets of one context: one leads, the other sleeps on its
/// signal and is served by the leader's turns, then by the I/O thread's once the leader is
/// gone. Every message reaches its own socket, over tcp and ipc.
#[test]
fn lead05_two_blocked_threads_one_leader() {
    let ctx = ctx();
    for (i, ep) in endpoints("lead05").into_iter().take(2).enumerate() {
        let mut x = sock(&ctx, SocketType::Pull, |_| {});
        let ep_x = bind(&mut x, &ep);
        let mut y = sock(&ctx, SocketType::Pull, |_| {});
        let ep_y = bind(&mut y, &ep.replace(".sock", "-y.sock"));
        let other = Context::new().unwrap();
        let mut to_x = sock(&other, SocketType::Push, |_| {});
        to_x.connect(&ep_x).unwrap();
        let mut to_y = sock(&other, SocketType::Push, |_| {});
        to_y.connect(&ep_y).unwrap();
        let rx = spawn_blocked(move || (0..50).map(|_| x.recv().unwrap().to_vec()).collect());
        let ry = spawn_blocked(move || (0..50).map(|_| y.recv().unwrap().to_vec()).collect());
        for n in 0..50u8 {
            to_y.send(vec![n, 1]).unwrap();
            to_x.send(vec![n, 0]).unwrap();
        }
        let want = |tag: u8| (0..50u8).map(|n| vec![n, tag]).collect::<Vec<_>>();
        let got_x: Vec<Vec<u8>> = rx.join().unwrap();
        let got_y: Vec<Vec<u8>> = ry.join().unwrap();
        assert_eq!(got_x, want(0), "transport {i}");
        assert_eq!(got_y, want(1), "transport {i}");
    }
}

/// A `send` held up by a full queue does not lead: it sleeps while its I/O thread writes, and
/// the stream resumes when the peer reads, with a receiver that leads on the other side:
/// every message arrives, in order.
#[test]
fn lead06_a_send_blocked_at_the_hwm_resumes_as_the_peer_reads() {
    let ctx = ctx();
    let other = Context::new().unwrap();
    let mut pull = sock(&other, SocketType::Pull, |o| o.rcvhwm = 4);
    let ep = bind(&mut pull, "tcp://127.0.0.1:*");
    let mut push = sock(&ctx, SocketType::Push, |o| o.sndhwm = 4);
    push.connect(&ep).unwrap();
    let body = vec![7u8; 64 * 1024];
    let sender = std::thread::spawn(move || {
        for n in 0..200u32 {
            let mut m = body.clone();
            m[..4].copy_from_slice(&n.to_be_bytes());
            push.send(m).unwrap();
        }
        push
    });
    for n in 0..200u32 {
        let m = pull.recv().unwrap();
        assert_eq!(&m[..4], n.to_be_bytes(), "message {n} in order");
        assert_eq!(m.len(), 64 * 1024);
    }
    drop(sender.join().unwrap());
}
