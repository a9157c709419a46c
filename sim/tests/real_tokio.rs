//! The simulator's connection driver is generic over the stream: here it runs two real
//! sessions over a real tokio TCP connection on loopback, with no simulator around it.

use ferromq::core::{Action, PipeId, Session, SessionConfig, SocketCore};
use ferromq::proto::{Engine, EngineConfig};
use ferromq::{Msg, SocketType};
use ferromq_sim::driver::{self, LinkState, SessionLink};
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One socket core and one session, glued the way a runtime glues them.
struct Side {
    session: RefCell<Session>,
    core: RefCell<SocketCore>,
    changed: Notify,
    app: Notify,
    disconnected: Cell<Option<bool>>,
    terminated: Cell<bool>,
}

impl Side {
    fn new(ty: SocketType, connect: bool) -> Side {
        let cfg =
            SessionConfig { connect, immediate: false, sndhwm: 100, rcvhwm: 100, linger: None };
        Side {
            session: RefCell::new(Session::new(cfg, PipeId(1))),
            core: RefCell::new(SocketCore::new(ty).unwrap()),
            changed: Notify::new(),
            app: Notify::new(),
            disconnected: Cell::new(None),
            terminated: Cell::new(false),
        }
    }

    /// Carries pipe commands between the core and the session until both are quiet.
    fn shuttle(&self, now: Instant) {
        let (mut s, mut c) = (self.session.borrow_mut(), self.core.borrow_mut());
        loop {
            let mut moved = false;
            while let Some(a) = s.poll_action() {
                moved = true;
                match a {
                    Action::AttachPipe(id, end) => c.attach_pipe(id, end),
                    Action::PipeCommand(id, cmd) => c.handle_pipe_command(id, cmd),
                    Action::Disconnected { reconnect, .. } => {
                        self.disconnected.set(Some(reconnect))
                    }
                    Action::Terminated => self.terminated.set(true),
                    _ => {}
                }
            }
            while let Some((_, cmd)) = c.poll_command() {
                moved = true;
                s.handle_pipe_command(cmd, now);
            }
            if !moved {
                break;
            }
            self.app.notify_one();
        }
    }
}

impl SessionLink for Side {
    fn service(&self, now: Instant) -> LinkState {
        self.shuttle(now);
        let s = self.session.borrow();
        LinkState {
            wants_input: s.wants_input(),
            pending: s.pending_transmit(),
            timeout: s.poll_timeout(),
            disconnected: self.disconnected.get(),
            terminated: self.terminated.get(),
        }
    }
    fn output(&self, out: &mut Vec<u8>, max: usize) {
        driver::copy_output(&self.session.borrow(), out, max);
    }
    fn input(&self, now: Instant, data: &[u8]) {
        self.session.borrow_mut().handle_input(now, data);
    }
    fn eof(&self, now: Instant) {
        self.session.borrow_mut().handle_eof(now);
    }
    fn advance(&self, now: Instant, n: usize) {
        self.session.borrow_mut().advance_transmit(n, now);
    }
    fn timeout(&self, now: Instant) {
        self.session.borrow_mut().handle_timeout(now);
    }
    fn changed(&self) -> impl std::future::Future<Output = ()> {
        self.changed.notified()
    }
    fn unflushed(&self, pending: usize) {
        panic!("{pending} bytes left unsent on a healthy loopback connection");
    }
}

const N: u32 = 5000;

#[test]
fn the_driver_runs_sessions_over_real_tokio_tcp() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let push = std::rc::Rc::new(Side::new(SocketType::Push, true));
        let pull = std::rc::Rc::new(Side::new(SocketType::Pull, false));

        let (p, q) = (push.clone(), pull.clone());
        let dialer = tokio::task::spawn_local(async move {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let now = driver::now();
            p.session
                .borrow_mut()
                .attach_engine(Engine::new(EngineConfig::new(SocketType::Push), now), now);
            driver::drive(&mut tcp, &*p, Duration::from_secs(5)).await
        });
        let acceptor = tokio::task::spawn_local(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let now = driver::now();
            q.session
                .borrow_mut()
                .attach_engine(Engine::new(EngineConfig::new(SocketType::Pull), now), now);
            driver::drive(&mut tcp, &*q, Duration::from_secs(5)).await
        });

        // The application: PUSH sends N numbered messages (waiting at the HWM), then closes;
        // PULL receives them in order.
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
        assert_eq!(dialer.await.unwrap(), driver::Ending::Done, "PUSH closed: linger drained it");
        assert_eq!(acceptor.await.unwrap(), driver::Ending::Done, "PULL saw the end");
    });
}
