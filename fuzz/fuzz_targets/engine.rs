//! A whole engine fed arbitrary peer bytes, in input-chosen chunks (handed over as
//! `handle_input` takes them or read in as `read_input` offers room), with time advancing and
//! timers firing: it never panics, its buffered input stays bounded by MAXMSGSIZE plus one
//! read, and once closed it reports exactly one `Closed` and nothing after it.
#![no_main]

use ferromq::SocketType;
use ferromq::proto::{Engine, EngineConfig, Event};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let types = SocketType::ALL;
    let mut cfg = EngineConfig::new(types[usize::from(sel) % types.len()]);
    cfg.max_msg_size = Some(8192);
    if sel & 0x80 != 0 {
        cfg.heartbeat_ivl = Some(Duration::from_millis(100));
        cfg.heartbeat_ttl = Some(Duration::from_millis(500));
    }
    let mut now = Instant::now();
    let mut engine = Engine::new(cfg, now);
    let mut closed = 0;
    let mut out = Vec::new();
    let mut rest = rest;
    while let Some((&c, tail)) = rest.split_first() {
        let n = (usize::from(c) % 64 + 1).min(tail.len());
        assert!(engine.wants_input() || engine.is_closed());
        if c & 0x80 != 0 {
            // As the runtime reads: straight into the engine's buffer, as much as it offers
            // (a small chunk, so that frames of half a chunk or more are read to their end).
            let mut part = &tail[..n];
            while !part.is_empty() {
                let got = engine.read_input(now, 128, |buf, room| {
                    let k = part.len().min(room);
                    buf.extend_from_slice(&part[..k]);
                    Ok::<_, ()>(k)
                });
                let Some(Ok(k)) = got else { break };
                assert!(k > 0, "read_input offered no room");
                part = &part[k..];
            }
        } else {
            engine.handle_input(now, &tail[..n]);
        }
        // One frame (MAXMSGSIZE + a long header) plus this read, at most.
        assert!(engine.buffered_input() <= 8192 + 9 + 64, "input buffer unbounded");
        rest = &tail[n..];
        while let Some(e) = engine.poll_event() {
            assert_eq!(closed, 0, "event after Closed");
            if matches!(e, Event::Closed(_)) {
                closed += 1;
            }
            if let Event::Message(m) = e {
                let _ = engine.send(m);
            }
        }
        engine.poll_transmit(&mut out, usize::MAX);
        out.clear();
        now += Duration::from_millis(u64::from(c) * 4);
        engine.handle_timeout(now);
    }
    engine.handle_eof(now);
    while let Some(e) = engine.poll_event() {
        assert_eq!(closed, 0, "event after Closed");
        if matches!(e, Event::Closed(_)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 1, "exactly one Closed after EOF");
});
