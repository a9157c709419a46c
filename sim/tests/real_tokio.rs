//! The simulator's connection driver is generic over the stream: here it runs two real
//! connections (the product's `Connection`, with its session and engine) over a real tokio TCP
//! connection on loopback, dialed and accepted for real, with no simulator around it.

use ferromq::core::{Action, Connection, PeerConfig, PipeId, SocketCore};
use ferromq::{Msg, SocketOptions, SocketType};
use ferromq_sim::driver::{self, ConnLink, Dialing, LinkState, StreamAction};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One socket core and one connection, glued the way a runtime glues them.
struct Side {
    conn: RefCell<Connection>,
    core: RefCell<SocketCore>,
    stream: RefCell<VecDeque<StreamAction>>,
    unflushed: RefCell<usize>,
    changed: Notify,
    app: Notify,
    dial_to: Option<SocketAddr>,
}

impl Side {
    fn new(ty: SocketType, dial_to: Option<SocketAddr>) -> Side {
        let mut opts = SocketOptions::default();
        opts.sndhwm = 100;
        opts.rcvhwm = 100;
        let now = driver::now();
        let cfg = PeerConfig::from_options(ty, &opts, dial_to.is_some(), "tcp://loopback");
        let conn = match dial_to {
            Some(_) => Connection::connect(now, cfg, PipeId(1), 1),
            None => Connection::accept(now, cfg, PipeId(1)),
        };
        let side = Side {
            conn: RefCell::new(conn),
            core: RefCell::new(SocketCore::new(ty).unwrap()),
            stream: RefCell::new(VecDeque::new()),
            unflushed: RefCell::new(0),
            changed: Notify::new(),
            app: Notify::new(),
            dial_to,
        };
        side.shuttle(now);
        side
    }

    /// Carries actions and pipe commands between the core and the connection until both are
    /// quiet.
    fn shuttle(&self, now: Instant) {
        let (mut conn, mut core) = (self.conn.borrow_mut(), self.core.borrow_mut());
        loop {
            let mut moved = false;
            while let Some(a) = conn.poll_action() {
                moved = true;
                let mut stream = self.stream.borrow_mut();
                match a {
                    Action::AttachPipe { id, end, info } => core.attach_pipe(id, end, info),
                    Action::PipeCommand(id, cmd) => core.handle_pipe_command(id, cmd),
                    Action::Dial => stream.push_back(StreamAction::Dial),
                    Action::AbortDial => stream.push_back(StreamAction::AbortDial),
                    Action::ShutdownWrite => stream.push_back(StreamAction::ShutdownWrite),
                    Action::DropStream { unflushed } => {
                        *self.unflushed.borrow_mut() += unflushed;
                        stream.push_back(StreamAction::Drop);
                    }
                    Action::Finished => stream.push_back(StreamAction::Finished),
                    _ => {}
                }
            }
            while let Some((_, cmd)) = core.poll_command() {
                moved = true;
                conn.handle_pipe_command(now, cmd, || None);
            }
            if !moved {
                break;
            }
            self.app.notify_one();
        }
    }

    fn with(&self, f: impl FnOnce(&mut Connection)) {
        f(&mut self.conn.borrow_mut());
        self.shuttle(driver::now());
    }
}

impl ConnLink for Side {
    type Stream = tokio::net::TcpStream;

    fn service(&self, now: Instant) -> LinkState {
        self.shuttle(now);
        let c = self.conn.borrow();
        LinkState {
            wants_input: c.wants_input(),
            pending: c.pending_transmit(),
            timeout: c.poll_timeout(),
        }
    }
    fn next_stream_action(&self) -> Option<StreamAction> {
        self.stream.borrow_mut().pop_front()
    }
    fn output(&self, out: &mut Vec<u8>, max: usize) {
        driver::copy_output(&self.conn.borrow(), out, max);
    }
    fn input(&self, now: Instant, inbox: &mut Vec<u8>) {
        self.with(|c| driver::feed(c, now, inbox));
    }
    fn eof(&self, now: Instant) {
        self.with(|c| c.handle_eof(now));
    }
    fn advance(&self, now: Instant, n: usize) {
        self.with(|c| c.advance_transmit(now, n));
    }
    fn timeout(&self, now: Instant) {
        self.with(|c| c.handle_timeout(now));
    }
    fn connected(&self, now: Instant) {
        self.with(|c| c.handle_connected(now));
    }
    fn dial_failed(&self, now: Instant) {
        self.with(|c| c.handle_dial_failed(now));
    }
    fn dial(&self) -> Dialing<Self::Stream> {
        let addr = self.dial_to.expect("the dialing side");
        Box::pin(tokio::net::TcpStream::connect(addr))
    }
    fn changed(&self) -> impl std::future::Future<Output = ()> {
        self.changed.notified()
    }
}

const N: u32 = 5000;

/// PUSH dials, sends N numbered messages (waiting at the HWM) and closes at once; PULL
/// accepts and receives them all, in order; both connections finish, with nothing left unsent.
#[test]
fn the_driver_runs_connections_over_real_tokio_tcp() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let push = std::rc::Rc::new(Side::new(SocketType::Push, Some(addr)));

        let p = push.clone();
        let dialer = tokio::task::spawn_local(async move { driver::drive(&*p, None).await });
        let (tcp, _) = listener.accept().await.unwrap();
        let pull = std::rc::Rc::new(Side::new(SocketType::Pull, None));
        let q = pull.clone();
        let acceptor = tokio::task::spawn_local(async move { driver::drive(&*q, Some(tcp)).await });

        let sender = push.clone();
        let app = tokio::task::spawn_local(async move {
            for i in 0..N {
                loop {
                    let r = sender.core.borrow_mut().send(Msg::from(&i.to_be_bytes()[..]));
                    sender.changed.notify_one();
                    if r.is_ok() {
                        break;
                    }
                    sender.app.notified().await;
                }
            }
            sender.core.borrow_mut().close();
            sender.changed.notify_one();
        });
        let mut next = 0;
        while next < N {
            let got = pull.core.borrow_mut().recv();
            pull.changed.notify_one();
            match got {
                Ok(m) => {
                    assert_eq!(m[..], next.to_be_bytes());
                    next += 1;
                }
                Err(_) => {
                    tokio::time::timeout(Duration::from_secs(10), pull.app.notified())
                        .await
                        .unwrap();
                }
            }
        }
        app.await.unwrap();
        // The PULL meets the end of its pipe and closes; both connections then finish.
        pull.core.borrow_mut().close();
        pull.changed.notify_one();
        tokio::time::timeout(Duration::from_secs(10), dialer).await.unwrap().unwrap();
        tokio::time::timeout(Duration::from_secs(10), acceptor).await.unwrap().unwrap();
        assert!(push.conn.borrow().is_finished() && pull.conn.borrow().is_finished());
        assert_eq!(*push.unflushed.borrow(), 0, "a healthy loopback stream owes nothing");
    });
}
