//! The poller and the readiness fd (API-01, API-03).

#[path = "common/blocked.rs"]
mod blocked;

use ferromq::{Context, Error, Msg, PollEvents, PollItem, SocketType, poll};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn ctx() -> Context {
    Context::builder().default_linger(Some(Duration::ZERO)).build().unwrap()
}

/// API-01: nothing ready: poll waits for the timeout and returns 0; ZERO just looks.
#[test]
fn api01_timeout_and_immediate_return() {
    let ctx = ctx();
    let mut a = ctx.socket(SocketType::Pull).unwrap();
    a.bind("inproc://p1").unwrap();
    let t = Instant::now();
    let mut items = [PollItem::new(&mut a, PollEvents::IN)];
    assert_eq!(poll(&mut items, Some(Duration::from_millis(100))).unwrap(), 0);
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);
    assert!(items[0].revents().is_empty());
}

/// API-01: a message arriving from another thread while poll waits wakes it at once.
#[test]
fn api01_wakes_when_a_message_arrives_over_tcp() {
    let ctx = ctx();
    let mut a = ctx.socket(SocketType::Pull).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let mut b = ctx.socket(SocketType::Pull).unwrap();
    b.bind("inproc://p2").unwrap();
    let ep = a.last_endpoint().unwrap().to_owned();
    let ctx2 = ctx.clone();
    let sender = std::thread::spawn(move || {
        let mut push = ctx2.socket(SocketType::Push).unwrap();
        push.set_linger(Some(Duration::from_secs(5)));
        push.connect(&ep).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        push.send("late").unwrap();
    });
    let mut items = [PollItem::new(&mut b, PollEvents::IN), PollItem::new(&mut a, PollEvents::IN)];
    let t = Instant::now();
    assert_eq!(poll(&mut items, Some(Duration::from_secs(10))).unwrap(), 1);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(items[1].revents().contains(PollEvents::IN) && items[0].revents().is_empty());
    assert_eq!(&items[1].socket().recv().unwrap()[..], b"late");
    sender.join().unwrap();
}

/// API-01: level-triggered: with two messages waiting, poll reports IN again after one recv.
#[test]
fn api01_level_triggered() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://p3").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://p3").unwrap();
    push.send("1").unwrap();
    push.send("2").unwrap();
    for want in ["1", "2"] {
        let mut items = [PollItem::new(&mut pull, PollEvents::IN)];
        assert_eq!(poll(&mut items, Some(Duration::from_secs(1))).unwrap(), 1);
        assert_eq!(&items[0].socket().recv().unwrap()[..], want.as_bytes());
    }
    let mut items = [PollItem::new(&mut pull, PollEvents::IN)];
    assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);
}

/// API-01: POLLOUT follows the high-water mark.
#[test]
fn api01_pollout_follows_the_hwm() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(1);
    pull.bind("inproc://p4").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(1);
    assert_eq!(push.events().unwrap(), PollEvents::NONE, "no peer: cannot send");
    push.connect("inproc://p4").unwrap();
    assert_eq!(push.events().unwrap(), PollEvents::OUT);
    push.send("a").unwrap();
    push.send("b").unwrap();
    assert_eq!(push.events().unwrap(), PollEvents::NONE, "full");
    pull.recv().unwrap();
    pull.recv().unwrap();
    let mut items = [PollItem::new(&mut push, PollEvents::OUT)];
    assert_eq!(poll(&mut items, Some(Duration::from_secs(1))).unwrap(), 1);
}

/// API-01: terminating the context wakes a poll blocked on another thread with Terminated.
#[test]
fn api01_poll_fails_after_term() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://p5").unwrap();
    let waiter = blocked::spawn_blocked(move || {
        let mut items = [PollItem::new(&mut pull, PollEvents::IN)];
        poll(&mut items, None).map(|_| ())
    });
    // The poll is asleep now; term must wake it with the error.
    ctx.term();
    assert!(matches!(waiter.join().unwrap(), Err(Error::Terminated)));
}

fn fd_readable(fd: &ferromq::ReadinessFd, timeout: Duration) -> bool {
    let mut p = mio::Poll::new().unwrap();
    let raw = fd.as_raw_fd();
    p.registry()
        .register(&mut mio::unix::SourceFd(&raw), mio::Token(0), mio::Interest::READABLE)
        .unwrap();
    let mut events = mio::Events::with_capacity(1);
    p.poll(&mut events, Some(timeout)).unwrap();
    !events.is_empty()
}

/// API-03 (the trap avoided): the readiness fd is level-triggered: readable while a message
/// waits, even after a recv that left another one; quiet once the socket is drained.
#[test]
fn api03_readiness_fd_is_level_triggered() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let fd = pull.readiness_fd(PollEvents::IN).unwrap();
    assert!(!fd_readable(&fd, Duration::from_millis(50)));
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_linger(Some(Duration::from_secs(5)));
    push.connect(pull.last_endpoint().unwrap()).unwrap();
    push.send_multipart(vec![Msg::from("1")]).unwrap();
    push.send("2").unwrap();
    assert!(fd_readable(&fd, Duration::from_secs(10)), "a message arrived");
    // Wait until both are in, then read one: the fd must stay readable for the other.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        if let Ok(m) = pull.recv_msg(true) {
            break m;
        }
        assert!(Instant::now() < deadline);
        assert!(fd_readable(&fd, Duration::from_secs(1)));
    };
    assert_eq!(&first[..], b"1");
    assert!(fd_readable(&fd, Duration::from_secs(10)), "still one message waiting");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(m) = pull.recv_msg(true) {
            assert_eq!(&m[..], b"2");
            break;
        }
        assert!(Instant::now() < deadline);
        assert!(fd_readable(&fd, Duration::from_secs(1)));
    }
    assert!(!fd_readable(&fd, Duration::from_millis(50)), "drained: quiet");
}
