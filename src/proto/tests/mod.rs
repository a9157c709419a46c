//! Engine tests: handshakes, traffic, heartbeats and every rejection path, driven in virtual
//! time. Names cite the CONFORMANCE.md items they cover.

mod props;
mod util;

use super::{CloseReason, EngineConfig, Event, ProtocolError};
use crate::{Msg, SocketType};
use std::time::Duration;
use util::{Mock, Pair, command, greeting, ready};

#[test]
fn w15_push_pull_handshake_then_traffic() {
    let mut p = Pair::of(SocketType::Push, SocketType::Pull);
    p.send_a("one");
    p.send_a(Msg::from("two").with_more(true));
    p.send_a(vec![5u8; 100_000]);
    p.drive();
    let peer = p.b.peer().expect("pull saw READY");
    assert_eq!(peer.socket_type, SocketType::Push);
    assert_eq!(peer.version, (3, 1));
    assert_eq!(p.a.peer().unwrap().socket_type, SocketType::Pull);
    let got = p.b.messages();
    assert_eq!(got.len(), 3);
    assert_eq!(&got[0][..], b"one");
    assert!(got[1].more());
    assert_eq!(got[2].len(), 100_000);
    assert!(p.a.closed().is_none() && p.b.closed().is_none());
}

#[test]
fn w07_one_byte_reads_decode_the_same() {
    let mut p = Pair::of(SocketType::Dealer, SocketType::Router);
    p.chunk = Box::new(|_| 1);
    for i in 0..20u8 {
        p.send_a(Msg::from(vec![i; i as usize * 20]).with_more(i % 3 == 0));
    }
    p.send_a("end");
    p.drive();
    let got = p.b.messages();
    assert_eq!(got.len(), 21);
    for (i, m) in got.iter().take(20).enumerate() {
        assert_eq!(m.len(), i * 20);
        assert_eq!(m.more(), i % 3 == 0);
    }
}

/// W-18/W-20: the ROUTER learns the DEALER's identity; application properties pass through.
#[test]
fn w20_identity_and_application_metadata_reach_the_peer() {
    let mut dealer = EngineConfig::new(SocketType::Dealer);
    dealer.routing_id = bytes::Bytes::from_static(b"worker-1");
    dealer.properties.insert("X-Role", "primary");
    let mut p = Pair::new(dealer, EngineConfig::new(SocketType::Router));
    p.drive();
    let peer = p.b.peer().unwrap();
    assert_eq!(&peer.identity[..], b"worker-1");
    assert_eq!(peer.metadata.get("x-role"), Some(&b"primary"[..]));
    assert_eq!(&p.a.peer().unwrap().identity[..], b"", "ROUTER sends an empty Identity");
}

/// W-19: an invalid pair is refused on both sides; we send ERROR before closing.
#[test]
fn w19_incompatible_socket_types_fail_with_error() {
    let mut p = Pair::of(SocketType::Push, SocketType::Push);
    p.drive();
    let want = CloseReason::Protocol(ProtocolError::IncompatibleSocketType {
        ours: SocketType::Push,
        theirs: SocketType::Push,
    });
    // Whichever side judged first closed with the protocol error; the other got its ERROR
    // or judged the same way.
    for side in [&p.a, &p.b] {
        let r = side.closed().expect("closed");
        assert!(*r == want || *r == CloseReason::PeerError("Invalid socket type".into()), "{r:?}");
    }
}

/// W-19 through a mock: the engine emits READY then ERROR "Invalid socket type".
#[test]
fn w19_error_command_bytes_are_sent() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUB"));
    assert_eq!(
        m.closed(),
        Some(&CloseReason::Protocol(ProtocolError::IncompatibleSocketType {
            ours: SocketType::Pull,
            theirs: SocketType::Pub,
        }))
    );
    let error = command(b"ERROR", b"\x13Invalid socket type");
    assert!(m.sent.ends_with(&error), "{:?}", m.sent);
}

#[test]
fn w04_wrong_signature_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&[0x00]);
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::BadSignature)));
}

#[test]
fn w04_unsupported_version_closes_before_the_whole_greeting() {
    let mut g = greeting(1);
    g[10] = 2;
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&g[..11]);
    assert_eq!(
        m.closed(),
        Some(&CloseReason::Protocol(ProtocolError::UnsupportedVersion { major: 2 }))
    );
}

#[test]
fn w06_mechanism_mismatch_closes() {
    let mut g = greeting(1);
    g[12..17].copy_from_slice(b"CURVE");
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&g);
    assert!(matches!(
        m.closed(),
        Some(CloseReason::Protocol(ProtocolError::MechanismMismatch { ours: "NULL", .. }))
    ));
}

/// W-02: the greeting in libzmq's split (10, 1, 53) and then byte by byte.
#[test]
fn w02_greeting_accepted_in_any_split() {
    for splits in [vec![10, 1, 53], vec![1; 64]] {
        let mut m = Mock::of(SocketType::Pull);
        let g = greeting(1);
        let mut off = 0;
        for n in splits {
            m.feed(&g[off..off + n]);
            off += n;
        }
        m.feed(&ready("PUSH"));
        assert!(m.engine.is_ready());
    }
}

#[test]
fn w09_reserved_flag_bits_close() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUSH")).feed(&[0x10, 0x00]);
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::ReservedFlags(0x10))));
}

#[test]
fn w09_more_on_a_command_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&[0x05, 0x00]);
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::MoreOnCommand)));
}

/// W-10/O-07: an oversize frame closes the connection on its header, before its body.
#[test]
fn w10_oversize_length_closes_before_buffering() {
    let mut cfg = EngineConfig::new(SocketType::Pull);
    cfg.max_msg_size = Some(1000);
    let mut m = Mock::new(cfg);
    m.feed(&greeting(1)).feed(&ready("PUSH"));
    m.engine.handle_input(m.now, &[0x02, 0, 0, 0, 0, 0, 0, 0x03, 0xE9]);
    // Refused at input time, without polling and without waiting for 1001 bytes.
    assert!(m.engine.is_closed());
    m.collect();
    assert_eq!(
        m.closed(),
        Some(&CloseReason::Protocol(ProtocolError::MessageTooLarge { size: 1001, max: 1000 }))
    );
}

#[test]
fn w09_size_of_2_pow_63_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUSH")).feed(&[0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::SizeOverflow)));
}

/// W-12, W-29: a command whose name overruns its frame closes the connection.
#[test]
fn w12_truncated_command_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(b"\x04\x03\x05REA");
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::TruncatedCommand)));
}

/// W-13: an unknown command, or a message, before READY is a protocol error.
#[test]
fn w13_unknown_command_or_message_before_ready_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&command(b"HELLO", b""));
    assert_eq!(
        m.closed(),
        Some(&CloseReason::Protocol(ProtocolError::UnexpectedCommand { name: "HELLO".into() }))
    );
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(b"\x00\x01x");
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::MessageBeforeReady)));
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&command(b"PING", b"\x00\x00"));
    assert!(matches!(
        m.closed(),
        Some(CloseReason::Protocol(ProtocolError::UnexpectedCommand { .. }))
    ));
}

/// W-13, W-29: a second READY after the handshake is a protocol error.
#[test]
fn w13_duplicate_ready_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUSH")).feed(&ready("PUSH"));
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::DuplicateReady)));
}

/// W-16 at the engine: a READY whose property overruns it closes the connection.
#[test]
fn w16_bad_property_lengths_close() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&command(b"READY", b"\x0bSocket-Type\x00\x00\x00\x09PUSH"));
    assert_eq!(
        m.closed(),
        Some(&CloseReason::Protocol(ProtocolError::BadProperty("value overruns the command")))
    );
}

/// W-19: READY must name a known socket type.
#[test]
fn w19_ready_without_or_with_unknown_socket_type_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&command(b"READY", b""));
    assert_eq!(m.closed(), Some(&CloseReason::Protocol(ProtocolError::MissingSocketType)));
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("CLIENT"));
    assert_eq!(
        m.closed(),
        Some(&CloseReason::Protocol(ProtocolError::UnknownSocketType(b"CLIENT".to_vec())))
    );
}

/// W-22: an ERROR in the handshake closes with the peer's reason.
#[test]
fn w22_error_in_handshake_reports_the_reason() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&command(b"ERROR", b"\x03400"));
    assert_eq!(m.closed(), Some(&CloseReason::PeerError("400".into())));
}

/// W-14: unknown commands after the handshake are skipped.
#[test]
fn w14_unknown_commands_after_ready_are_skipped() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUSH")).feed(&command(b"FUTURE", b"xyz")).feed(b"\x00\x02hi");
    assert!(m.closed().is_none());
    assert!(m.events.contains(&Event::Message(Msg::from("hi"))));
}

/// W-15: READY may arrive before ours is written; traffic may follow it in the same read.
#[test]
fn w15_ready_and_traffic_in_one_read() {
    let mut m = Mock::of(SocketType::Pull);
    let mut all = greeting(1);
    all.extend(ready("PUSH"));
    all.extend(b"\x01\x01a\x00\x01b");
    m.feed(&all);
    let msgs: Vec<_> = m.events.iter().filter(|e| matches!(e, Event::Message(_))).collect();
    assert_eq!(msgs.len(), 2);
    // Our greeting then our READY went out.
    assert_eq!(
        &m.sent[..64],
        &crate::proto::greeting::Greeting::encode(
            crate::proto::greeting::MechanismName::NULL,
            false
        )[..]
    );
    assert_eq!(m.sent[64..], ready("PULL")[..]);
}

/// W-15: nothing is sent before READY is both sent and received.
#[test]
fn w15_send_before_ready_is_refused_with_the_message() {
    let mut m = Mock::of(SocketType::Push);
    let err = m.engine.send(Msg::from("early")).unwrap_err();
    assert!(!err.closed);
    assert_eq!(&err.msg[..], b"early");
    m.feed(&[0x00]);
    assert!(m.engine.send(Msg::from("late")).unwrap_err().closed);
}

/// W-23/W-24: a peer announcing 3.0 may still PING; it gets a PONG with the context.
#[test]
fn w23_w24_ping_from_a_30_peer_gets_a_pong() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(0)).feed(&ready("PUSH"));
    m.sent.clear();
    m.feed(&command(b"PING", b"\x00\x00ctx"));
    assert_eq!(m.sent, command(b"PONG", b"ctx"));
    assert!(m.closed().is_none());
}

/// W-30/SUB-03: subscriptions go as commands to 3.1 peers and as 01/00 messages to 3.0.
#[test]
fn w30_subscription_form_depends_on_the_peer_version() {
    let mut m = Mock::of(SocketType::Sub);
    m.feed(&greeting(1)).feed(&ready("PUB"));
    m.sent.clear();
    m.engine.send_subscribe(b"A").unwrap();
    m.engine.send_cancel(b"A").unwrap();
    m.collect();
    let mut want = command(b"SUBSCRIBE", b"A");
    want.extend(command(b"CANCEL", b"A"));
    assert_eq!(m.sent, want);

    let mut m = Mock::of(SocketType::Sub);
    m.feed(&greeting(0)).feed(&ready("PUB"));
    m.sent.clear();
    m.engine.send_subscribe(b"A").unwrap();
    m.engine.send_cancel(b"A").unwrap();
    m.collect();
    assert_eq!(m.sent, b"\x00\x02\x01A\x00\x02\x00A");
}

/// XPUB-02 (engine part): SUBSCRIBE and CANCEL commands reach the owner.
#[test]
fn xpub02_subscribe_and_cancel_commands_are_surfaced() {
    let mut m = Mock::of(SocketType::Xpub);
    m.feed(&greeting(1)).feed(&ready("SUB"));
    m.feed(&command(b"SUBSCRIBE", b"topic")).feed(&command(b"CANCEL", b""));
    assert!(m.events.contains(&Event::Subscribe(bytes::Bytes::from_static(b"topic"))));
    assert!(m.events.contains(&Event::Cancel(bytes::Bytes::new())));
}

/// W-28: no handshake within HANDSHAKE_IVL closes.
#[test]
fn w28_handshake_timeout() {
    let mut cfg = EngineConfig::new(SocketType::Pull);
    cfg.handshake_ivl = Some(Duration::from_secs(5));
    let mut m = Mock::new(cfg);
    m.feed(&greeting(1));
    m.advance(Duration::from_millis(4999));
    assert!(m.closed().is_none());
    m.advance(Duration::from_millis(1));
    assert_eq!(m.closed(), Some(&CloseReason::HandshakeTimeout));
    assert_eq!(m.engine.poll_timeout(), None);
}

#[test]
fn w28_default_handshake_timeout_is_30s_and_stops_once_ready() {
    let mut m = Mock::of(SocketType::Pull);
    assert_eq!(m.engine.poll_timeout(), Some(m.now + Duration::from_secs(30)));
    m.feed(&greeting(1)).feed(&ready("PUSH"));
    assert_eq!(m.engine.poll_timeout(), None);
}

fn heartbeat_cfg(t: SocketType) -> EngineConfig {
    let mut c = EngineConfig::new(t);
    c.heartbeat_ivl = Some(Duration::from_millis(100));
    c.heartbeat_timeout = Some(Duration::from_millis(300));
    c.heartbeat_ttl = Some(Duration::from_millis(1050));
    c
}

/// W-26: PINGs go out every interval with the TTL in deciseconds (rounded down, O-08).
#[test]
fn w26_pings_carry_the_ttl() {
    let mut m = Mock::new(heartbeat_cfg(SocketType::Pull));
    m.feed(&greeting(1)).feed(&ready("PUSH"));
    m.sent.clear();
    m.advance(Duration::from_millis(100));
    assert_eq!(m.sent, command(b"PING", b"\x00\x0a"));
}

/// W-26/W-27: silence after a PING closes at HEARTBEAT_TIMEOUT; any traffic keeps it alive.
#[test]
fn w26_w27_heartbeat_timeout_and_liveness() {
    let mut m = Mock::new(heartbeat_cfg(SocketType::Pull));
    m.feed(&greeting(1)).feed(&ready("PUSH"));
    // Traffic that is not a PONG still counts as life.
    for _ in 0..10 {
        m.advance(Duration::from_millis(100));
        m.feed(b"\x00\x01x");
    }
    assert!(m.closed().is_none());
    // Even a partial frame counts.
    m.advance(Duration::from_millis(100));
    m.feed(b"\x00");
    m.advance(Duration::from_millis(299));
    assert!(m.closed().is_none());
    m.advance(Duration::from_millis(100));
    m.advance(Duration::from_millis(200));
    assert_eq!(m.closed(), Some(&CloseReason::HeartbeatTimeout));
}

/// W-27: input held back by a slow application counts as life as it is decoded: the peer's
/// PONG is behind it, unread, and the peer is not dead.
#[test]
fn w27_a_slow_reader_does_not_time_its_peer_out() {
    let mut m = Mock::new(heartbeat_cfg(SocketType::Pull));
    m.feed(&greeting(1)).feed(&ready("PUSH"));
    // A second's worth of messages in one read, then nothing new on the stream.
    let burst: Vec<u8> = (0..20).flat_map(|_| *b"\x00\x01x").collect();
    m.engine.handle_input(m.now, &burst);
    for i in 0..20 {
        m.now += Duration::from_millis(50);
        m.engine.handle_timeout(m.now);
        match m.engine.poll_event() {
            Some(Event::Message(_)) => {}
            e => panic!("message {i}: {e:?}"),
        }
        m.engine.poll_transmit(&mut m.sent, usize::MAX);
    }
    m.collect();
    assert!(m.closed().is_none(), "{:?}", m.events);
    // Once the input is used up, silence counts again.
    m.advance(Duration::from_millis(100));
    m.advance(Duration::from_millis(300));
    assert_eq!(m.closed(), Some(&CloseReason::HeartbeatTimeout));
}

/// W-25: after a PING with a TTL, silence for that long closes.
#[test]
fn w25_peer_ttl_expires() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUSH")).feed(&command(b"PING", b"\x00\x05"));
    m.advance(Duration::from_millis(499));
    assert!(m.closed().is_none());
    m.advance(Duration::from_millis(1));
    assert_eq!(m.closed(), Some(&CloseReason::TtlExpired));
}

/// W-26: two heartbeating engines stay up in silence, and a dead peer is noticed.
#[test]
fn w26_pair_heartbeats_keep_an_idle_connection_up() {
    let mut p = Pair::new(heartbeat_cfg(SocketType::Pair), heartbeat_cfg(SocketType::Pair));
    p.drive();
    p.advance(Duration::from_secs(10));
    assert!(p.a.closed().is_none() && p.b.closed().is_none());
    // Stop delivering B's bytes: A's heartbeat times out.
    p.chunk = Box::new(|n| n);
    let now = p.now;
    let mut silent_a = p.a;
    let mut t = now;
    while silent_a.engine.poll_timeout().is_some() {
        t = silent_a.engine.poll_timeout().unwrap();
        silent_a.engine.handle_timeout(t);
        let _ = silent_a.engine.poll_transmit(&mut Vec::new(), usize::MAX);
    }
    assert!(t - now <= Duration::from_millis(400), "noticed within ivl + timeout");
    assert_eq!(silent_a.engine.poll_event(), Some(Event::Closed(CloseReason::HeartbeatTimeout)));
}

/// W-11: frames received before EOF are still delivered, then Closed; the partial message
/// is visible as frames with MORE so the owner can discard it.
#[test]
fn w11_eof_delivers_complete_frames_then_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUSH"));
    m.engine.handle_input(m.now, b"\x00\x01a\x01\x01b\x00\x05cd");
    m.engine.handle_eof(m.now);
    m.collect();
    let tail: Vec<_> = m.events.iter().skip(1).cloned().collect();
    assert_eq!(
        tail,
        [
            Event::Message(Msg::from("a")),
            Event::Message(Msg::from("b").with_more(true)),
            Event::Closed(CloseReason::PeerClosed),
        ]
    );
}

/// W-19, W-29: a bare close during the handshake (libzmq's way of refusing) is handled.
#[test]
fn w19_eof_during_handshake_closes() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1));
    m.engine.handle_eof(m.now);
    m.collect();
    assert_eq!(m.closed(), Some(&CloseReason::PeerClosed));
}

/// L-07 (engine part): a local close keeps queued output for the owner to flush.
#[test]
fn l07_local_close_keeps_queued_output_and_reports_once() {
    let mut m = Mock::of(SocketType::Push);
    m.feed(&greeting(1)).feed(&ready("PULL"));
    m.engine.send(Msg::from("bye")).unwrap();
    m.engine.close();
    m.engine.close();
    m.collect();
    assert!(m.sent.ends_with(b"\x00\x03bye"));
    let closes = m.events.iter().filter(|e| matches!(e, Event::Closed(_))).count();
    assert_eq!(closes, 1);
    assert_eq!(m.closed(), Some(&CloseReason::Local));
}

/// W-29: reading only while `wants_input` bounds buffered input to a frame plus a read.
#[test]
fn w29_wants_input_is_false_while_a_complete_frame_waits() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1)).feed(&ready("PUSH"));
    m.engine.handle_input(m.now, b"\x00\x01a\x00");
    assert!(!m.engine.wants_input());
    assert_eq!(m.engine.poll_event(), Some(Event::Message(Msg::from("a"))));
    assert!(m.engine.wants_input());
}

/// W-29: an unauthenticated peer cannot make us buffer a huge handshake command.
#[test]
fn w29_oversize_handshake_command_closes_before_buffering() {
    let mut m = Mock::of(SocketType::Pull);
    m.feed(&greeting(1));
    m.engine.handle_input(m.now, &[0x06, 0, 0, 0, 0x10, 0, 0, 0, 0]);
    m.collect();
    assert_eq!(
        m.closed(),
        Some(&CloseReason::Protocol(ProtocolError::CommandTooLarge {
            size: 1 << 36,
            max: super::MAX_HANDSHAKE_COMMAND
        }))
    );
}

/// W-29/O-07: after the handshake, commands obey MAXMSGSIZE too.
#[test]
fn w29_commands_obey_max_message_size() {
    let mut cfg = EngineConfig::new(SocketType::Xpub);
    cfg.max_msg_size = Some(100);
    let mut m = Mock::new(cfg);
    m.feed(&greeting(1)).feed(&ready("SUB"));
    m.feed(&command(b"SUBSCRIBE", &[b'x'; 200]));
    assert!(matches!(
        m.closed(),
        Some(CloseReason::Protocol(ProtocolError::CommandTooLarge { max: 100, .. }))
    ));
}

/// A driver that reads straight into the engine's buffer (`read_input`, as the runtime does)
/// gets exactly what `handle_input` gives: the same events and the same bytes written back,
/// whatever the read sizes and however small the buffer's chunk; a frame of half a chunk or
/// more is read to its end and no further, once its header is in, and the empty buffer after
/// it has room for another as large; once the engine is closed it takes no more.
#[test]
fn w07_reads_into_the_engine_buffer_decode_the_same() {
    let mut wire = greeting(1);
    wire.extend_from_slice(&ready("PUSH"));
    let big = vec![9u8; 40_000];
    let mut large_frames = Vec::new();
    for (flags, body) in
        [(0u8, &b"one"[..]), (1, b"two"), (0, &[7u8; 300][..]), (0, &big), (0, &big), (0, b"end")]
    {
        let start = wire.len();
        if body.len() < 256 {
            wire.extend_from_slice(&[flags, body.len() as u8]);
        } else {
            wire.push(flags | 2);
            wire.extend_from_slice(&(body.len() as u64).to_be_bytes());
        }
        let header_end = wire.len();
        wire.extend_from_slice(body);
        large_frames.push((start, header_end, wire.len()));
    }
    let mut copied = Mock::of(SocketType::Pull);
    copied.feed(&wire);
    for (piece, chunk) in [(1, 16), (5, 64), (4096, 65536), (65536, 65536), (100_000, 65536)] {
        let mut direct = Mock::of(SocketType::Pull);
        let mut at = 0;
        while at < wire.len() {
            let part = &wire[at..wire.len().min(at + piece)];
            // Right after a large frame, decoded: an empty buffer with room for another.
            let after_large = large_frames.iter().find(|&&(s, _, e)| e - s >= chunk / 2 && e == at);
            let got = direct.engine.read_input(direct.now, chunk, |buf, room| {
                if let Some(&(start, _, end)) = after_large {
                    assert!(buf.is_empty(), "the frame ending at {at} was not decoded");
                    assert!(room >= end - start, "room {room} after a frame of {}", end - start);
                }
                let n = part.len().min(room);
                buf.extend_from_slice(&part[..n]);
                Ok::<_, ()>(n)
            });
            let Some(Ok(n)) = got else { panic!("read_input gave {got:?}") };
            assert!(n > 0, "no room offered at {at} (reads of {piece}, chunk {chunk})");
            // A read that starts inside a large frame, after its header, ends by its end.
            for &(start, header_end, end) in &large_frames {
                if end - start >= chunk / 2 && at >= header_end && at < end {
                    assert!(at + n <= end, "read {at}..{} crossed the end {end}", at + n);
                }
            }
            at += n;
            direct.collect();
        }
        let messages = |m: &Mock| -> Vec<(Vec<u8>, bool)> {
            m.events
                .iter()
                .filter_map(|e| match e {
                    Event::Message(m) => Some((m.to_vec(), m.more())),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(messages(&direct), messages(&copied), "reads of {piece}, chunk {chunk}");
        assert_eq!(messages(&direct).len(), 6);
        assert_eq!(direct.sent, copied.sent);
    }
    let mut closed = Mock::of(SocketType::Pull);
    closed.feed(&[0x00]);
    assert!(closed.closed().is_some());
    let got = closed.engine.read_input(closed.now, 64, |_, _| -> Result<usize, ()> {
        panic!("a closed engine offered its buffer")
    });
    assert_eq!(got, None);
}
