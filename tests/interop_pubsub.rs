//! Publish-subscribe against real libzmq 4.3: PUB↔SUB, XPUB↔SUB, PUB↔XSUB and XPUB↔XSUB with
//! ferromq on either side, either side binding, over tcp and ipc: prefix filtering seen from
//! both sides, subscriptions arriving at an XPUB in the form its application expects, a late
//! subscriber, counted subscriptions, and resubscription after the publisher's side restarts
//! (both libzmq's SUB and ours).

#[path = "common/ipc.rs"]
mod ipc;
use ferromq::{Context, Error, SocketType};
use ipc::Ipc;
use std::time::{Duration, Instant};

/// One side of a test, whichever library it is.
trait Side {
    /// Binds, and gives the endpoint to connect to (`None`: the address is taken).
    fn try_bind(&mut self, ep: &str) -> Option<String>;
    fn bind(&mut self, ep: &str) -> String {
        self.try_bind(ep).expect("bind")
    }
    fn connect(&mut self, ep: &str);
    fn send(&mut self, frames: &[&[u8]]);
    /// A whole message, or `None` after `wait`.
    fn recv(&mut self, wait: Duration) -> Option<Vec<Vec<u8>>>;
    /// SUBSCRIBE on a SUB, a `01`+topic message on an XSUB.
    fn subscribe(&mut self, topic: &[u8]);
    /// UNSUBSCRIBE on a SUB.
    fn unsubscribe(&mut self, topic: &[u8]);
    /// XPUB_VERBOSE on an XPUB (ours: XPUB_VERBOSER, which also reports every cancel).
    fn verbose(&mut self);
}

struct Ours(ferromq::Socket);

impl Side for Ours {
    fn try_bind(&mut self, ep: &str) -> Option<String> {
        match self.0.bind(ep) {
            Ok(()) => Some(self.0.last_endpoint().unwrap().to_owned()),
            Err(Error::AddrInUse) => None,
            Err(e) => panic!("{e}"),
        }
    }
    fn connect(&mut self, ep: &str) {
        self.0.connect(ep).unwrap();
    }
    fn send(&mut self, frames: &[&[u8]]) {
        self.0.send_multipart(frames.to_vec()).unwrap();
    }
    fn recv(&mut self, wait: Duration) -> Option<Vec<Vec<u8>>> {
        self.0.set_rcvtimeo(Some(wait));
        match self.0.recv_multipart() {
            Ok(m) => Some(m.iter().map(|p| p.to_vec()).collect()),
            Err(Error::WouldBlock) => None,
            Err(e) => panic!("{e}"),
        }
    }
    fn subscribe(&mut self, topic: &[u8]) {
        if self.0.socket_type() == SocketType::Sub {
            self.0.subscribe(topic).unwrap();
        } else {
            self.0.send([&[1u8][..], topic].concat()).unwrap();
        }
    }
    fn unsubscribe(&mut self, topic: &[u8]) {
        self.0.unsubscribe(topic).unwrap();
    }
    fn verbose(&mut self) {
        let mut o = self.0.options().clone();
        o.xpub_verboser = true;
        self.0.set_options(o).unwrap();
    }
}

struct Theirs(zmq::Socket, SocketType);

impl Side for Theirs {
    fn try_bind(&mut self, ep: &str) -> Option<String> {
        match self.0.bind(ep) {
            Ok(()) => Some(self.0.get_last_endpoint().unwrap().unwrap()),
            Err(zmq::Error::EADDRINUSE) => None,
            Err(e) => panic!("{e}"),
        }
    }
    fn connect(&mut self, ep: &str) {
        self.0.connect(ep).unwrap();
    }
    fn send(&mut self, frames: &[&[u8]]) {
        self.0.send_multipart(frames.iter().copied(), 0).unwrap();
    }
    fn recv(&mut self, wait: Duration) -> Option<Vec<Vec<u8>>> {
        self.0.set_rcvtimeo(wait.as_millis() as i32).unwrap();
        match self.0.recv_multipart(0) {
            Ok(m) => Some(m),
            Err(zmq::Error::EAGAIN) => None,
            Err(e) => panic!("{e}"),
        }
    }
    fn subscribe(&mut self, topic: &[u8]) {
        if self.1 == SocketType::Sub {
            self.0.set_subscribe(topic).unwrap();
        } else {
            self.0.send([&[1u8][..], topic].concat(), 0).unwrap();
        }
    }
    fn unsubscribe(&mut self, topic: &[u8]) {
        self.0.set_unsubscribe(topic).unwrap();
    }
    fn verbose(&mut self) {
        self.0.set_xpub_verbose(true).unwrap();
    }
}

fn make(ours: bool, t: SocketType, z: &zmq::Context, ctx: &Context) -> Box<dyn Side> {
    if ours {
        let mut s = ctx.socket(t).unwrap();
        s.set_linger(Some(Duration::from_secs(1)));
        Box::new(Ours(s))
    } else {
        let zt = match t {
            SocketType::Pub => zmq::PUB,
            SocketType::Sub => zmq::SUB,
            SocketType::Xpub => zmq::XPUB,
            SocketType::Xsub => zmq::XSUB,
            _ => unreachable!("pub-sub types only"),
        };
        let s = z.socket(zt).unwrap();
        s.set_linger(1000).unwrap();
        Box::new(Theirs(s, t))
    }
}

const SHORT: Duration = Duration::from_millis(20);
const LONG: Duration = Duration::from_secs(10);

/// Publishes `probe` until `sub` receives it: the subscription reached the publisher.
fn sync(publisher: &mut dyn Side, sub: &mut dyn Side, probe: &[u8]) {
    let deadline = Instant::now() + LONG;
    loop {
        publisher.send(&[probe]);
        if let Some(m) = sub.recv(SHORT) {
            assert_eq!(m, vec![probe.to_vec()]);
            return;
        }
        assert!(Instant::now() < deadline, "the subscription never reached the publisher");
    }
}

/// What an XPUB hears next, while the subscriber's application keeps calling in (a socket,
/// libzmq's as ours, takes a new peer and sends it its subscriptions when its application
/// calls into it; a subscriber normally waits in recv).
fn hear(xpub: &mut dyn Side, sub: &mut dyn Side) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + LONG;
    loop {
        if let Some(m) = xpub.recv(SHORT) {
            return m;
        }
        assert_eq!(sub.recv(Duration::from_millis(1)), None, "nothing was published yet");
        assert!(Instant::now() < deadline, "no subscription reached the XPUB");
    }
}

/// The next message that is not a probe.
fn next(sub: &mut dyn Side, probe: &[u8], wait: Duration) -> Option<Vec<Vec<u8>>> {
    loop {
        let m = sub.recv(wait)?;
        if m != [probe.to_vec()] {
            return Some(m);
        }
    }
}

/// PUB-01, PUB-02, SUB-01, SUB-03, SUB-05, XPUB-01, XPUB-02, XSUB-01, XSUB-03: every pub-sub
/// pair, ferromq on either side, either side binding, tcp and ipc: a subscriber gets exactly
/// the matching messages, whole; an XPUB's application sees the subscription as `01`+topic
/// whatever form the wire used; a late subscriber gets what is published after it joined.
#[test]
fn every_pub_sub_pair_with_libzmq() {
    use SocketType::{Pub, Sub, Xpub, Xsub};
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    let mut runs = 0;
    for (pt, st) in [(Pub, Sub), (Xpub, Sub), (Pub, Xsub), (Xpub, Xsub)] {
        for ours_publish in [true, false] {
            for publisher_binds in [true, false] {
                for tcp in [true, false] {
                    let what = format!(
                        "{pt} ({}) -> {st} ({}), {} binds, {}",
                        if ours_publish { "ours" } else { "libzmq" },
                        if ours_publish { "libzmq" } else { "ours" },
                        if publisher_binds { "publisher" } else { "subscriber" },
                        if tcp { "tcp" } else { "ipc" }
                    );
                    let ipc = Ipc::new(&format!("ps-interop-{runs}"));
                    let ep = if tcp { "tcp://127.0.0.1:*".to_owned() } else { ipc.endpoint() };
                    let mut p = make(ours_publish, pt, &z, &ctx);
                    let mut s = make(!ours_publish, st, &z, &ctx);
                    let bound = if publisher_binds {
                        let ep = p.bind(&ep);
                        s.connect(&ep);
                        ep
                    } else {
                        let ep = s.bind(&ep);
                        p.connect(&ep);
                        ep
                    };
                    s.subscribe(b"a");
                    if pt == Xpub {
                        assert_eq!(hear(&mut *p, &mut *s), vec![b"\x01a".to_vec()], "{what}");
                    }
                    sync(&mut *p, &mut *s, b"a-sync");
                    p.send(&[b"b: not wanted"]);
                    p.send(&[b"a"]);
                    p.send(&[b"a: two", b"parts"]);
                    assert_eq!(next(&mut *s, b"a-sync", LONG), Some(vec![b"a".to_vec()]), "{what}");
                    assert_eq!(
                        next(&mut *s, b"a-sync", LONG),
                        Some(vec![b"a: two".to_vec(), b"parts".to_vec()]),
                        "{what}"
                    );
                    assert_eq!(next(&mut *s, b"a-sync", SHORT * 10), None, "{what}: more came");
                    if publisher_binds {
                        // A late subscriber, to everything, on the same publisher.
                        let mut late = make(!ours_publish, st, &z, &ctx);
                        late.connect(&bound);
                        late.subscribe(b"");
                        if pt == Xpub {
                            assert_eq!(hear(&mut *p, &mut *late), vec![b"\x01".to_vec()], "{what}");
                        }
                        sync(&mut *p, &mut *late, b"late-sync");
                        p.send(&[b"z: for the late one"]);
                        let m = next(&mut *late, b"late-sync", LONG);
                        assert_eq!(m, Some(vec![b"z: for the late one".to_vec()]), "{what}");
                    }
                    runs += 1;
                }
            }
        }
    }
    assert_eq!(runs, 32);
}

/// SUB-04, verified against libzmq: a SUB forwards every subscribe and a cancel only with the
/// last unsubscribe; libzmq's SUB into our XPUB_VERBOSER, ours into libzmq's XPUB_VERBOSE.
#[test]
fn sub04_counted_subscriptions_both_ways() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    for ours_sub in [false, true] {
        let mut xpub = make(!ours_sub, SocketType::Xpub, &z, &ctx);
        xpub.verbose();
        let ep = xpub.bind("tcp://127.0.0.1:*");
        let mut sub = make(ours_sub, SocketType::Sub, &z, &ctx);
        sub.connect(&ep);
        sub.subscribe(b"A");
        sub.subscribe(b"A");
        assert_eq!(hear(&mut *xpub, &mut *sub), vec![b"\x01A".to_vec()]);
        assert_eq!(hear(&mut *xpub, &mut *sub), vec![b"\x01A".to_vec()]);
        sub.unsubscribe(b"A");
        sub.subscribe(b"M");
        let what = if ours_sub { "ours" } else { "libzmq's" };
        assert_eq!(hear(&mut *xpub, &mut *sub), vec![b"\x01M".to_vec()], "{what}: early cancel");
        sub.unsubscribe(b"A");
        assert_eq!(hear(&mut *xpub, &mut *sub), vec![b"\x00A".to_vec()], "{what}");
    }
}

/// SUB-07, verified against libzmq: a SUB whose XPUB restarts on the same endpoint sends its
/// subscriptions again, libzmq's SUB to our XPUB and ours to libzmq's.
#[test]
fn sub07_resubscription_after_the_publisher_restarts_both_ways() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    for ours_sub in [false, true] {
        let what = if ours_sub { "ours" } else { "libzmq's" };
        let mut xpub = make(!ours_sub, SocketType::Xpub, &z, &ctx);
        let ep = xpub.bind("tcp://127.0.0.1:*");
        let mut sub = make(ours_sub, SocketType::Sub, &z, &ctx);
        sub.connect(&ep);
        sub.subscribe(b"t");
        assert_eq!(hear(&mut *xpub, &mut *sub), vec![b"\x01t".to_vec()], "{what}");
        drop(xpub);
        let mut again = make(!ours_sub, SocketType::Xpub, &z, &ctx);
        let deadline = Instant::now() + LONG;
        while again.try_bind(&ep).is_none() {
            assert!(Instant::now() < deadline, "{what}: the port stayed taken");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(hear(&mut *again, &mut *sub), vec![b"\x01t".to_vec()], "{what}: no replay");
        sync(&mut *again, &mut *sub, b"t-sync");
    }
}

/// API-11 against libzmq: a ferromq XSUB/XPUB proxy between a libzmq PUB and libzmq SUBs
/// forwards their subscriptions up (a late subscriber's too) and only matching messages down.
#[test]
fn our_forwarder_between_libzmq_publisher_and_subscribers() {
    let z = zmq::Context::new();
    let publisher = z.socket(zmq::PUB).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let up = publisher.get_last_endpoint().unwrap().unwrap();
    let pctx = Context::new().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let c = pctx.clone();
    let proxy = std::thread::spawn(move || {
        let mut front = c.socket(SocketType::Xsub).unwrap();
        front.connect(&up).unwrap();
        let mut back = c.socket(SocketType::Xpub).unwrap();
        back.bind("tcp://127.0.0.1:*").unwrap();
        tx.send(back.last_endpoint().unwrap().to_owned()).unwrap();
        drop(c);
        ferromq::proxy(&mut front, &mut back, None)
    });
    let down = rx.recv().unwrap();
    let mut p = Theirs(publisher, SocketType::Pub);
    for (i, topic) in [&b"a"[..], b"b"].into_iter().enumerate() {
        let mut s = Theirs(z.socket(zmq::SUB).unwrap(), SocketType::Sub);
        s.connect(&down);
        s.subscribe(topic);
        let probe = [topic, b"-sync"].concat();
        sync(&mut p, &mut s, &probe);
        p.send(&[b"c: nobody's"]);
        let wanted = [topic, b": yours"].concat();
        p.send(&[&wanted]);
        assert_eq!(next(&mut s, &probe, LONG), Some(vec![wanted]), "subscriber {i}");
        assert_eq!(next(&mut s, &probe, SHORT * 10), None, "subscriber {i}");
    }
    pctx.term();
    assert!(matches!(proxy.join().unwrap(), Err(Error::Terminated)));
}

/// O-05, verified against libzmq: a new SUB and a new XSUB start with LINGER 0 in libzmq,
/// whatever its documentation says, and in ferromq.
#[test]
fn o05_subscribers_start_with_linger_zero() {
    let z = zmq::Context::new();
    let ctx = Context::new().unwrap();
    for (zt, t) in [(zmq::SUB, SocketType::Sub), (zmq::XSUB, SocketType::Xsub)] {
        assert_eq!(z.socket(zt).unwrap().get_linger().unwrap(), 0, "libzmq's {t}");
        assert_eq!(ctx.socket(t).unwrap().options().linger, Some(Duration::ZERO), "our {t}");
    }
    assert_eq!(z.socket(zmq::PUB).unwrap().get_linger().unwrap(), -1);
    assert_eq!(ctx.socket(SocketType::Pub).unwrap().options().linger, None);
}
