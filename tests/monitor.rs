//! The socket monitor's event sequences (API-07, API-08).

use ferromq::proto::CloseReason;
use ferromq::{Context, Monitor, MonitorEvent, SocketType};
use std::time::Duration;

fn ctx() -> Context {
    Context::builder().default_linger(Some(Duration::ZERO)).build().unwrap()
}

/// Collects events until `stop` matches one (inclusive), failing after 10 s.
fn until(m: &Monitor, stop: impl Fn(&MonitorEvent) -> bool) -> Vec<MonitorEvent> {
    let mut out = Vec::new();
    loop {
        let e = m.recv_timeout(Duration::from_secs(10)).expect("monitor event");
        let done = stop(&e);
        out.push(e);
        if done {
            return out;
        }
    }
}

/// API-08: bind side LISTENING ACCEPTED HANDSHAKE_SUCCEEDED … CLOSED MONITOR_STOPPED;
/// connect side [CONNECT_DELAYED] CONNECTED HANDSHAKE_SUCCEEDED … MONITOR_STOPPED.
#[test]
fn api08_event_sequences_on_both_sides() {
    let ctx = ctx();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let bind_mon = pull.monitor();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let conn_mon = push.monitor();
    push.connect(&ep).unwrap();

    let b = until(&bind_mon, |e| matches!(e, MonitorEvent::HandshakeSucceeded { .. }));
    assert_eq!(
        b,
        [
            MonitorEvent::Listening { endpoint: ep.clone() },
            MonitorEvent::Accepted { endpoint: ep.clone() },
            MonitorEvent::HandshakeSucceeded { endpoint: ep.clone() },
        ]
    );
    let c = until(&conn_mon, |e| matches!(e, MonitorEvent::HandshakeSucceeded { .. }));
    let c: Vec<_> =
        c.into_iter().filter(|e| !matches!(e, MonitorEvent::ConnectDelayed { .. })).collect();
    assert_eq!(
        c,
        [
            MonitorEvent::Connected { endpoint: ep.clone() },
            MonitorEvent::HandshakeSucceeded { endpoint: ep.clone() },
        ]
    );

    drop(pull);
    let b = until(&bind_mon, |e| *e == MonitorEvent::MonitorStopped);
    assert!(b.contains(&MonitorEvent::Closed { endpoint: ep.clone() }), "{b:?}");
    let c = until(&conn_mon, |e| matches!(e, MonitorEvent::Disconnected { .. }));
    assert!(matches!(
        c.last(),
        Some(MonitorEvent::Disconnected { reason: CloseReason::PeerClosed, .. })
    ));
    drop(push);
    let c = until(&conn_mon, |e| *e == MonitorEvent::MonitorStopped);
    assert_eq!(c.last(), Some(&MonitorEvent::MonitorStopped));
    assert_eq!(conn_mon.recv_timeout(Duration::from_millis(50)), None, "nothing after stop");
}

/// API-07: a refused socket-type pair is a handshake failure, not a disconnect (W-19).
#[test]
fn api07_handshake_failure_is_reported() {
    let ctx = ctx();
    let mut a = ctx.socket(SocketType::Push).unwrap();
    let mon = a.monitor();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let mut b = ctx.socket(SocketType::Push).unwrap();
    b.connect(a.last_endpoint().unwrap()).unwrap();
    let events = until(&mon, |e| {
        matches!(e, MonitorEvent::HandshakeFailed { .. } | MonitorEvent::Disconnected { .. })
    });
    match events.last() {
        Some(MonitorEvent::HandshakeFailed { reason, .. }) => assert!(
            matches!(reason, CloseReason::Protocol(_) | CloseReason::PeerError(_)),
            "{reason:?}"
        ),
        other => panic!("{other:?}"),
    }
}

/// API-07, L-03: with no listener, the connect side reports its retries with the interval
/// (RECONNECT_IVL plus jitter below RECONNECT_IVL).
#[test]
fn api07_connect_retried_with_interval() {
    let ctx = ctx();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_reconnect_ivl(Some(Duration::from_millis(50)));
    let mon = push.monitor();
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    for _ in 0..2 {
        let e = until(&mon, |e| matches!(e, MonitorEvent::ConnectRetried { .. }));
        let Some(MonitorEvent::ConnectRetried { interval, .. }) = e.last() else { unreachable!() };
        assert!(*interval >= Duration::from_millis(50) && *interval < Duration::from_millis(100));
    }
}

/// API-07: a failed bind is reported as BindFailed.
#[test]
fn api07_bind_failed() {
    let ctx = ctx();
    let mut a = ctx.socket(SocketType::Pull).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let ep = a.last_endpoint().unwrap().to_owned();
    let mut b = ctx.socket(SocketType::Pull).unwrap();
    let mon = b.monitor();
    assert!(b.bind(&ep).is_err());
    assert!(
        matches!(mon.try_recv(), Some(MonitorEvent::BindFailed { endpoint, .. }) if endpoint == ep)
    );
}
