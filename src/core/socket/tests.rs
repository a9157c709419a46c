//! Request-reply and publish-subscribe at the core: socket cores joined by pipes, with the
//! owners' command shuttling done by hand, and the routing-id item a connection would write for
//! a ROUTER or REP peer written by the test.

use crate::core::{PipeId, PipeInfo, RecvError, SendError, SocketCore};
use crate::pipe::pipe_pair;
use crate::{Msg, SocketOptions, SocketType};
use bytes::Bytes;

/// Sockets by index, pipes between them, and the shuttle.
struct Net {
    socks: Vec<SocketCore>,
    /// pipe → (socket at end a, socket at end b)
    links: Vec<(usize, usize)>,
}

fn routes(ty: SocketType) -> bool {
    matches!(ty, SocketType::Router | SocketType::Rep)
}

impl Net {
    fn new(types: &[SocketType]) -> Net {
        let socks = types.iter().map(|&t| SocketCore::new(t).unwrap()).collect();
        Net { socks, links: Vec::new() }
    }

    fn configure(&mut self, s: usize, f: impl FnOnce(&mut SocketOptions)) {
        let mut o = SocketOptions::default();
        f(&mut o);
        self.socks[s].configure(&o);
    }

    /// Connects `a` (the connect side) to `b` with marks `hwm`; `a_id` is the routing id `a`
    /// announces (a ROUTER or REP at `b` learns it as the pipe's first item, as from a
    /// connection).
    fn link(&mut self, a: usize, b: usize, hwm: u64, a_id: &[u8]) -> PipeId {
        let id = PipeId(self.links.len() as u64);
        let (mut x, mut y) = pipe_pair(hwm, hwm);
        if routes(self.socks[b].socket_type()) {
            x.write(Msg::routing_id(a_id)).unwrap();
            x.flush();
        }
        if routes(self.socks[a].socket_type()) {
            y.write(Msg::routing_id(b"")).unwrap();
            y.flush();
        }
        self.links.push((a, b));
        self.socks[a].attach_pipe(id, x, PipeInfo::new(true));
        self.socks[b].attach_pipe(id, y, PipeInfo::new(false));
        self.shuttle();
        id
    }

    fn shuttle(&mut self) {
        loop {
            let mut moved = false;
            for s in 0..self.socks.len() {
                while let Some((id, c)) = self.socks[s].poll_command() {
                    let (a, b) = self.links[id.0 as usize];
                    let other = if a == s { b } else { a };
                    self.socks[other].handle_pipe_command(id, c);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn send(&mut self, s: usize, parts: &[&[u8]]) -> Result<(), SendError> {
        for (i, p) in parts.iter().enumerate() {
            let m = Msg::copy_from_slice(p).with_more(i + 1 < parts.len());
            self.socks[s].send(m)?;
        }
        self.shuttle();
        Ok(())
    }

    fn recv(&mut self, s: usize) -> Result<Vec<Vec<u8>>, RecvError> {
        let mut out = Vec::new();
        loop {
            let m = self.socks[s].recv()?;
            let more = m.more();
            out.push(m.to_vec());
            if !more {
                self.shuttle();
                return Ok(out);
            }
        }
    }
}

use SocketType::{Dealer, Rep, Req, Router};

fn v(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// REQ-01: a request is an empty delimiter and the body; a ROUTER sees its routing id first.
#[test]
fn req01_a_request_is_delimiter_and_body() {
    let mut n = Net::new(&[Req, Router]);
    n.link(0, 1, 10, b"client");
    n.send(0, &[b"hello"]).unwrap();
    assert_eq!(n.recv(1).unwrap(), v(&[b"client", b"", b"hello"]));
    n.send(1, &[b"client", b"", b"world"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"world"]));
}

/// REQ-02: requests rotate over the connected peers.
#[test]
fn req02_requests_rotate_round_robin() {
    let mut n = Net::new(&[Req, Rep, Rep]);
    n.link(0, 1, 10, b"");
    n.link(0, 2, 10, b"");
    let mut served = Vec::new();
    for i in 0..4u8 {
        n.send(0, &[&[i]]).unwrap();
        let who = if n.socks[1].has_in() { 1 } else { 2 };
        assert_eq!(n.recv(who).unwrap(), v(&[&[i]]));
        n.send(who, &[b"ok"]).unwrap();
        assert_eq!(n.recv(0).unwrap(), v(&[b"ok"]));
        served.push(who);
    }
    assert_eq!(served, [1, 2, 1, 2]);
}

/// REQ-03: strict alternation: a second send before the reply, or a recv before a send, is
/// EFSM.
#[test]
fn req03_out_of_turn_is_efsm() {
    let mut n = Net::new(&[Req, Rep]);
    n.link(0, 1, 10, b"");
    assert_eq!(n.socks[0].recv().unwrap_err(), RecvError::State);
    n.send(0, &[b"one"]).unwrap();
    assert!(matches!(n.socks[0].send(Msg::from("two")), Err(SendError::State(_))));
    assert!(!n.socks[0].has_out(), "POLLOUT off while a reply is due");
    assert_eq!(n.recv(1).unwrap(), v(&[b"one"]));
    n.send(1, &[b"re"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"re"]));
    n.send(0, &[b"three"]).unwrap();
}

/// REQ-04: with no peer a request would block, and is handed back whole.
#[test]
fn req04_no_peer_would_block_and_nothing_is_lost() {
    let mut n = Net::new(&[Req, Rep]);
    assert_eq!(n.socks[0].send(Msg::from("q")), Err(SendError::WouldBlock(Msg::from("q"))));
    assert_eq!(n.socks[0].recv(), Err(RecvError::State), "nothing was sent");
    n.link(0, 1, 10, b"");
    n.send(0, &[b"q"]).unwrap();
    assert_eq!(n.recv(1).unwrap(), v(&[b"q"]));
}

/// REQ-05: only the peer that got the request may answer; another's "reply" is dropped.
#[test]
fn req05_only_the_asked_peer_may_answer() {
    let mut n = Net::new(&[Req, Router, Router]);
    n.link(0, 1, 10, b"");
    n.link(0, 2, 10, b"");
    n.send(0, &[b"q"]).unwrap();
    let (asked, other) = if n.socks[1].has_in() { (1, 2) } else { (2, 1) };
    let req = n.recv(asked).unwrap();
    // Both ROUTERs start their generated ids at the same seed, so the REQ has the same id at
    // both: the impostor can address it.
    n.send(other, &[&req[0], b"", b"impostor"]).unwrap();
    assert_eq!(n.socks[0].recv(), Err(RecvError::WouldBlock), "the impostor is dropped");
    n.send(asked, &[&req[0], b"", b"genuine"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"genuine"]));
}

/// REQ-06: a reply without the empty delimiter is dropped; the REQ keeps waiting.
#[test]
fn req06_a_reply_without_delimiter_is_dropped() {
    let mut n = Net::new(&[Req, Router]);
    n.link(0, 1, 10, b"c");
    n.send(0, &[b"q"]).unwrap();
    let _ = n.recv(1).unwrap();
    n.send(1, &[b"c", b"no delimiter"]).unwrap();
    assert_eq!(n.socks[0].recv(), Err(RecvError::WouldBlock));
    n.send(1, &[b"c", b"", b"good"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"good"]));
}

/// REQ-07: with REQ_CORRELATE the request carries a 4-octet id; a reply with another id is
/// dropped.
#[test]
fn req07_correlate_drops_replies_to_other_requests() {
    let mut n = Net::new(&[Req, Router]);
    n.configure(0, |o| o.req_correlate = true);
    n.link(0, 1, 10, b"c");
    n.send(0, &[b"q"]).unwrap();
    let r = n.recv(1).unwrap();
    assert_eq!(r.len(), 4, "[id][request id][][body]: {r:?}");
    assert_eq!(r[1].len(), 4);
    assert_eq!((&r[2][..], &r[3][..]), (&b""[..], &b"q"[..]));
    let mut wrong = r[1].clone();
    wrong[3] ^= 1;
    n.send(1, &[b"c", &wrong, b"", b"stale"]).unwrap();
    assert_eq!(n.socks[0].recv(), Err(RecvError::WouldBlock));
    n.send(1, &[b"c", &r[1], b"", b"right"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"right"]));
}

/// REQ-08: REQ_RELAXED lets a new request go before the reply (to the next peer); with
/// CORRELATE the late reply to the first is dropped.
#[test]
fn req08_relaxed_resends_and_drops_the_stale_reply() {
    let mut n = Net::new(&[Req, Router, Router]);
    n.configure(0, |o| {
        o.req_relaxed = true;
        o.req_correlate = true;
    });
    n.link(0, 1, 10, b"");
    n.link(0, 2, 10, b"");
    n.send(0, &[b"first"]).unwrap();
    let first_at = if n.socks[1].has_in() { 1 } else { 2 };
    let first = n.recv(first_at).unwrap();
    n.send(0, &[b"second"]).unwrap();
    let second_at = 3 - first_at;
    let second = n.recv(second_at).unwrap();
    assert_eq!(second[3], b"second", "the next peer");
    n.send(first_at, &[&first[0], &first[1], b"", b"late"]).unwrap();
    n.send(second_at, &[&second[0], &second[1], b"", b"current"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"current"]));
    assert_eq!(n.socks[0].recv(), Err(RecvError::State));
}

/// REQ-09: when the pipe the request went on terminates, the REQ neither resends nor fails:
/// recv keeps waiting.
#[test]
fn req09_a_request_whose_peer_left_waits() {
    let mut n = Net::new(&[Req, Rep]);
    let p = n.link(0, 1, 10, b"");
    n.send(0, &[b"q"]).unwrap();
    n.socks[1].terminate_pipe(p);
    n.shuttle();
    assert_eq!(n.socks[0].recv(), Err(RecvError::WouldBlock), "still waiting, no error");
    n.shuttle();
    assert_eq!(n.socks[0].pipe_count(), 0, "the pipe is gone");
    assert!(matches!(n.socks[0].send(Msg::from("again")), Err(SendError::State(_))));
}

/// REP-01, REP-02: requests are fair-queued; a multi-hop envelope is stripped for the
/// application and put back, byte for byte, on the reply.
#[test]
fn rep01_rep02_fair_queue_and_multi_hop_envelopes() {
    let mut n = Net::new(&[Rep, Dealer, Dealer]);
    n.link(1, 0, 10, b"d1");
    n.link(2, 0, 10, b"d2");
    for d in [1, 2] {
        n.send(d, &[b"hop2", b"hop1", b"", b"a"]).unwrap();
        n.send(d, &[b"hop2", b"hop1", b"", b"b"]).unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        let body = n.recv(0).unwrap();
        assert_eq!(body.len(), 1, "only the body reaches the application: {body:?}");
        order.push(body[0].clone());
        n.send(0, &[b"re"]).unwrap();
    }
    assert_eq!(order, v(&[b"a", b"a", b"b", b"b"]), "alternating between the dealers");
    for d in [1, 2] {
        for _ in 0..2 {
            assert_eq!(n.recv(d).unwrap(), v(&[b"hop2", b"hop1", b"", b"re"]));
        }
    }
}

/// REP-03: recv twice, or send before recv, is EFSM.
#[test]
fn rep03_out_of_turn_is_efsm() {
    let mut n = Net::new(&[Rep, Req]);
    n.link(1, 0, 10, b"");
    assert!(matches!(n.socks[0].send(Msg::from("x")), Err(SendError::State(_))));
    n.send(1, &[b"q"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"q"]));
    assert_eq!(n.socks[0].recv(), Err(RecvError::State));
}

/// REP-04: a reply to a client that has left is dropped silently; send never blocks.
#[test]
fn rep04_a_reply_to_a_gone_client_is_dropped() {
    let mut n = Net::new(&[Rep, Req, Req]);
    let p = n.link(1, 0, 10, b"");
    n.link(2, 0, 10, b"");
    n.send(1, &[b"q1"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"q1"]));
    n.socks[1].terminate_pipe(p);
    n.shuttle();
    n.send(0, &[b"into the void"]).unwrap();
    n.send(2, &[b"q2"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"q2"]));
    n.send(0, &[b"re2"]).unwrap();
    assert_eq!(n.recv(2).unwrap(), v(&[b"re2"]));
}

/// REP-05: a request with no delimiter is discarded whole; the next is read.
#[test]
fn rep05_a_request_without_delimiter_is_discarded() {
    let mut n = Net::new(&[Rep, Dealer]);
    n.link(1, 0, 10, b"");
    n.send(1, &[b"no", b"delimiter"]).unwrap();
    n.send(1, &[b"", b"fine"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"fine"]));
}

/// DEALER-01, DEALER-02, DEALER-04: round-robin out, fair-queue in, no envelope.
#[test]
fn dealer01_dealer04_round_robin_and_no_envelope() {
    let mut n = Net::new(&[Dealer, Dealer, Dealer]);
    n.link(0, 1, 10, b"");
    n.link(0, 2, 10, b"");
    for i in 0..4u8 {
        n.send(0, &[&[i], b"x"]).unwrap();
    }
    assert_eq!(n.recv(1).unwrap(), v(&[&[0], b"x"]));
    assert_eq!(n.recv(1).unwrap(), v(&[&[2], b"x"]));
    assert_eq!(n.recv(2).unwrap(), v(&[&[1], b"x"]));
    n.send(1, &[b"from 1"]).unwrap();
    n.send(2, &[b"from 2"]).unwrap();
    let mut got = vec![n.recv(0).unwrap(), n.recv(0).unwrap()];
    got.sort();
    assert_eq!(got, vec![v(&[b"from 1"]), v(&[b"from 2"])]);
}

/// DEALER-03: no peer with room: would block, nothing dropped.
#[test]
fn dealer03_full_would_block() {
    let mut n = Net::new(&[Dealer, Dealer]);
    assert!(matches!(n.socks[0].send(Msg::from("x")), Err(SendError::WouldBlock(_))));
    n.link(0, 1, 2, b"");
    n.send(0, &[b"1"]).unwrap();
    n.send(0, &[b"2"]).unwrap();
    assert!(matches!(n.send(0, &[b"3"]), Err(SendError::WouldBlock(_))));
    assert_eq!(n.recv(1).unwrap(), v(&[b"1"]));
    n.send(0, &[b"3"]).unwrap();
}

/// ROUTER-01, ROUTER-04: the sender's id comes first; an empty Identity gets `00` + a 4-octet
/// counter, distinct per peer.
#[test]
fn router01_router04_ids_prefix_and_generated_ids() {
    let mut n = Net::new(&[Router, Dealer, Dealer, Dealer]);
    n.socks[0].seed(7);
    n.link(1, 0, 10, b"named");
    n.link(2, 0, 10, b"");
    n.link(3, 0, 10, b"");
    let mut ids = Vec::new();
    for d in 1..=3 {
        n.send(d, &[b"hi"]).unwrap();
        let m = n.recv(0).unwrap();
        assert_eq!(m[1], b"hi");
        ids.push(m[0].clone());
    }
    assert_eq!(ids[0], b"named");
    for g in &ids[1..] {
        assert_eq!(g.len(), 5);
        assert_eq!(g[0], 0, "generated ids start with a zero octet");
    }
    assert_ne!(ids[1], ids[2]);
    assert_eq!(&ids[1][1..], &7u32.to_be_bytes(), "the counter starts at the seed");
}

/// ROUTER-02: the first part picks the peer; unknown: dropped, or HostUnreachable with
/// ROUTER_MANDATORY (applied at once).
#[test]
fn router02_unknown_peer_dropped_or_unreachable() {
    let mut n = Net::new(&[Router, Dealer]);
    n.link(1, 0, 10, b"d");
    n.send(0, &[b"nobody", b"lost"]).unwrap();
    n.send(0, &[b"d", b"found"]).unwrap();
    assert_eq!(n.recv(1).unwrap(), v(&[b"found"]));
    n.configure(0, |o| o.router_mandatory = true);
    let e = n.socks[0].send(Msg::from("nobody").with_more(true)).unwrap_err();
    assert!(matches!(e, SendError::HostUnreachable(_)), "{e:?}");
    n.send(0, &[b"d", b"still"]).unwrap();
    assert_eq!(n.recv(1).unwrap(), v(&[b"still"]));
}

/// ROUTER-03, API-02: a full peer's message is dropped, or with ROUTER_MANDATORY would block;
/// POLLOUT follows the room.
#[test]
fn router03_full_peer_drop_or_block() {
    let mut n = Net::new(&[Router, Dealer]);
    n.link(1, 0, 1, b"d");
    n.send(0, &[b"d", b"1"]).unwrap();
    n.send(0, &[b"d", b"dropped"]).unwrap();
    assert!(n.socks[0].has_out(), "always POLLOUT without MANDATORY");
    n.configure(0, |o| o.router_mandatory = true);
    assert!(!n.socks[0].has_out(), "no peer with room");
    let e = n.socks[0].send(Msg::from("d").with_more(true)).unwrap_err();
    assert!(matches!(e, SendError::WouldBlock(_)), "{e:?}");
    assert_eq!(n.recv(1).unwrap(), v(&[b"1"]));
    assert!(n.socks[0].has_out());
    n.send(0, &[b"d", b"2"]).unwrap();
    assert_eq!(n.recv(1).unwrap(), v(&[b"2"]));
    assert_eq!(n.socks[1].recv(), Err(RecvError::WouldBlock), "the dropped one never came");
}

/// ROUTER-05: a duplicate id is refused; with ROUTER_HANDOVER the newcomer takes it over and
/// the old pipe is let go.
#[test]
fn router05_duplicate_refused_or_handed_over() {
    let mut n = Net::new(&[Router, Dealer, Dealer]);
    n.link(1, 0, 10, b"same");
    n.link(2, 0, 10, b"same");
    // The refused pipe's far end sees the end of the stream when it next reads.
    assert_eq!(n.socks[2].recv(), Err(RecvError::WouldBlock));
    n.shuttle();
    assert_eq!(
        (n.socks[0].pipe_count(), n.socks[2].pipe_count()),
        (1, 0),
        "the newcomer was refused"
    );
    n.send(0, &[b"same", b"to the first"]).unwrap();
    assert_eq!(n.recv(1).unwrap(), v(&[b"to the first"]));

    let mut n = Net::new(&[Router, Dealer, Dealer]);
    n.configure(0, |o| o.router_handover = true);
    n.link(1, 0, 10, b"same");
    n.link(2, 0, 10, b"same");
    n.send(0, &[b"same", b"to the second"]).unwrap();
    assert_eq!(n.recv(2).unwrap(), v(&[b"to the second"]));
    assert_eq!(n.socks[1].recv(), Err(RecvError::WouldBlock));
    n.shuttle();
    assert_eq!((n.socks[0].pipe_count(), n.socks[1].pipe_count()), (1, 0), "the old pipe is gone");
}

/// ROUTER-06: CONNECT_ROUTING_ID names the peer of a connect at once, so the ROUTER can send
/// to it before it has said anything.
#[test]
fn router06_connect_routing_id_names_the_peer() {
    let mut n = Net::new(&[Router, Router]);
    let (mut x, mut y) = pipe_pair(10, 10);
    // What the connections would write: each end's peer's Identity. The connecting ROUTER
    // already knows its peer as "server", so the id that comes later is skipped.
    x.write(Msg::routing_id(b"client")).unwrap();
    x.flush();
    y.write(Msg::routing_id(b"announced")).unwrap();
    y.flush();
    n.links.push((0, 1));
    let info = PipeInfo::new(true).with_routing_id(Some(Bytes::from_static(b"server")));
    n.socks[0].attach_pipe(PipeId(0), x, info);
    n.socks[1].attach_pipe(PipeId(0), y, PipeInfo::new(false));
    n.shuttle();
    n.send(0, &[b"server", b"hello"]).unwrap();
    assert_eq!(n.recv(1).unwrap(), v(&[b"client", b"hello"]));
    n.send(1, &[b"client", b"back"]).unwrap();
    assert_eq!(n.recv(0).unwrap(), v(&[b"server", b"back"]));
}

/// ROUTER-07: PROBE_ROUTER sends an empty message on each new pipe.
#[test]
fn router07_probe_router_announces_the_peer() {
    let mut n = Net::new(&[Router, Dealer]);
    n.configure(1, |o| o.probe_router = true);
    n.link(1, 0, 10, b"prober");
    assert_eq!(n.recv(0).unwrap(), v(&[b"prober", b""]));
}

// Publish-subscribe at the core: PUB, SUB, XPUB and XSUB joined by pipes. A pipe carries
// subscriptions in their message form (`01`/`00` + topic), as a connection hands them over.

use crate::pipe::PipeCommand;
use SocketType::{Pub, Sub, Xpub, Xsub};

impl Net {
    fn subscribe(&mut self, s: usize, topic: &[u8]) {
        self.socks[s].subscribe(true, topic).unwrap();
        self.shuttle();
    }

    fn unsubscribe(&mut self, s: usize, topic: &[u8]) {
        self.socks[s].subscribe(false, topic).unwrap();
        self.shuttle();
    }

    /// Every whole message `s` can receive now.
    fn drain(&mut self, s: usize) -> Vec<Vec<Vec<u8>>> {
        std::iter::from_fn(|| self.recv(s).ok()).collect()
    }

    /// `s` receives exactly these single-part messages, then nothing.
    fn got(&mut self, s: usize, want: &[&[u8]]) {
        let got: Vec<Vec<u8>> = self.drain(s).into_iter().map(|mut m| m.remove(0)).collect();
        assert_eq!(got, v(want), "socket {s}");
    }
}

/// PUB-01, PUB-02, XSUB-03: the publisher filters (an XSUB, which filters nothing, sees only
/// what matched at the publisher), "" takes everything, and a matching message comes whole.
#[test]
fn pub01_pub02_the_publisher_filters_by_prefix() {
    let mut n = Net::new(&[Pub, Xsub, Xsub]);
    n.link(1, 0, 10, b"");
    n.link(2, 0, 10, b"");
    n.send(1, &[b"\x01wea"]).unwrap();
    n.send(2, &[b"\x01"]).unwrap();
    n.send(0, &[b"weather", b"sunny"]).unwrap();
    n.send(0, &[b"sport"]).unwrap();
    n.send(0, &[b"we"]).unwrap();
    assert_eq!(n.drain(1), vec![v(&[b"weather", b"sunny"])]);
    assert_eq!(n.drain(2), vec![v(&[b"weather", b"sunny"]), v(&[b"sport"]), v(&[b"we"])]);
}

/// SUB-01, SUB-05, SUB-04, PUB-03: a new SUB gets nothing; its own filter applies too; two
/// subscribes need two unsubscribes, and only the last one goes upstream.
#[test]
fn sub01_sub04_sub05_counted_subscriptions_and_local_filtering() {
    let mut n = Net::new(&[Pub, Sub, Xpub, Sub]);
    n.link(1, 0, 10, b"");
    n.send(0, &[b"A1"]).unwrap();
    n.got(1, &[]);
    n.subscribe(1, b"A");
    n.subscribe(1, b"A");
    n.unsubscribe(1, b"A");
    n.send(0, &[b"A2"]).unwrap();
    n.got(1, &[b"A2"]);
    n.unsubscribe(1, b"A");
    n.send(0, &[b"A3"]).unwrap();
    n.got(1, &[]);
    // What reaches an XPUB (verboser: every subscribe and cancel it is sent): two
    // subscribes, and a cancel only for the last unsubscribe.
    n.configure(2, |o| o.xpub_verboser = true);
    n.link(3, 2, 10, b"");
    n.subscribe(3, b"B");
    n.subscribe(3, b"B");
    n.unsubscribe(3, b"B");
    n.got(2, &[b"\x01B", b"\x01B"]);
    n.unsubscribe(3, b"B");
    n.got(2, &[b"\x00B"]);
}

/// SUB-05 alone: a publisher that inverts its matching sends the SUB exactly what it did not
/// ask for, and the SUB's own filter drops it all.
#[test]
fn sub05_the_subscriber_filters_too() {
    let mut n = Net::new(&[Xpub, Sub]);
    n.configure(0, |o| o.invert_matching = true);
    n.link(1, 0, 10, b"");
    n.subscribe(1, b"a");
    n.recv(0).unwrap();
    n.send(0, &[b"apple"]).unwrap();
    n.send(0, &[b"banana"]).unwrap();
    n.got(1, &[]);
}

/// PUB-07: INVERT_MATCHING on both sides delivers what matches none of the topics.
#[test]
fn pub07_invert_matching() {
    let mut n = Net::new(&[Pub, Sub]);
    n.configure(0, |o| o.invert_matching = true);
    n.configure(1, |o| o.invert_matching = true);
    n.link(1, 0, 10, b"");
    n.subscribe(1, b"a");
    n.send(0, &[b"apple"]).unwrap();
    n.send(0, &[b"banana"]).unwrap();
    n.got(1, &[b"banana"]);
}

/// PUB-04: a full subscriber misses the message, the others get it, send never blocks.
/// PUB-06: with XPUB_NODROP the send would block instead.
#[test]
fn pub04_pub06_a_full_subscriber_misses_out_or_nodrop_blocks() {
    let mut n = Net::new(&[Pub, Sub, Sub]);
    n.link(1, 0, 1, b"");
    n.link(2, 0, 10, b"");
    n.subscribe(1, b"");
    n.subscribe(2, b"");
    for m in [&b"1"[..], b"2", b"3"] {
        n.send(0, &[m]).unwrap();
    }
    n.got(2, &[b"1", b"2", b"3"]);
    n.got(1, &[b"1"]);
    n.configure(0, |o| o.xpub_nodrop = true);
    n.send(0, &[b"4"]).unwrap();
    assert!(matches!(n.send(0, &[b"5"]), Err(SendError::WouldBlock(_))));
    n.got(1, &[b"4"]);
    n.send(0, &[b"5"]).unwrap();
    n.got(1, &[b"5"]);
    n.got(2, &[b"4", b"5"]);
}

/// PUB-05: PUB does not receive, and data a subscriber sends it is dropped.
#[test]
fn pub05_pub_drops_subscriber_data() {
    let mut n = Net::new(&[Pub, Xsub]);
    n.link(1, 0, 10, b"");
    n.send(1, &[b"hello publisher"]).unwrap();
    n.send(1, &[b"\x01"]).unwrap();
    assert_eq!(n.socks[0].recv(), Err(RecvError::NotSupported));
    n.send(0, &[b"news"]).unwrap();
    n.got(1, &[b"news"]);
}

/// SUB-02, SUB-07, XSUB-04: a publisher that attaches later gets the subscriptions, and a
/// pipe whose connection was replaced (hiccup) gets them again.
#[test]
fn sub02_sub07_subscriptions_replayed_to_late_publishers_and_on_hiccup() {
    let mut n = Net::new(&[Sub, Xpub, Xsub, Xpub]);
    n.configure(1, |o| o.xpub_verbose = true);
    n.subscribe(0, b"x");
    n.subscribe(0, b"y");
    let p = n.link(0, 1, 10, b"");
    n.got(1, &[b"\x01x", b"\x01y"]);
    n.socks[0].handle_pipe_command(p, PipeCommand::Hiccup);
    n.shuttle();
    n.got(1, &[b"\x01x", b"\x01y"]);
    // The same for an XSUB, whose subscriptions are messages.
    n.send(2, &[b"\x01z"]).unwrap();
    n.link(2, 3, 10, b"");
    n.got(3, &[b"\x01z"]);
}

/// XPUB-01, XPUB-03, XPUB-04, XPUB-05: subscriptions reach the application deduplicated, a
/// departing subscriber's topics are reported, and other messages are data.
#[test]
fn xpub01_xpub03_xpub04_xpub05_what_the_application_hears() {
    let mut n = Net::new(&[Xpub, Xsub, Xsub]);
    let a = n.link(1, 0, 10, b"");
    n.link(2, 0, 10, b"");
    n.send(1, &[b"\x01t"]).unwrap();
    n.send(2, &[b"\x01t"]).unwrap();
    n.send(2, &[b"\x01u"]).unwrap();
    n.send(1, &[b"data", b"more"]).unwrap();
    assert_eq!(n.drain(0), vec![v(&[b"\x01t"]), v(&[b"\x01u"]), v(&[b"data", b"more"])]);
    // Subscriber 1 leaves: "t" is still wanted by 2, nothing to report.
    n.socks[1].terminate_pipe(a);
    n.shuttle();
    n.got(0, &[]);
    n.send(2, &[b"\x00t"]).unwrap();
    n.got(0, &[b"\x00t"]);
    n.send(0, &[b"u!"]).unwrap();
    n.got(2, &[b"u!"]);
}

/// XPUB-04 with a subscriber that goes: its last topics are reported as cancels.
#[test]
fn xpub04_a_gone_subscriber_is_unsubscribed() {
    let mut n = Net::new(&[Xpub, Sub]);
    let p = n.link(1, 0, 10, b"");
    n.subscribe(1, b"k");
    n.got(0, &[b"\x01k"]);
    n.socks[1].terminate_pipe(p);
    n.shuttle();
    n.got(0, &[b"\x00k"]);
}

/// XPUB-06: with XPUB_MANUAL subscriptions are reported, not applied, until the application
/// applies one (to the subscriber it heard from last).
#[test]
fn xpub06_manual_subscriptions() {
    let mut n = Net::new(&[Xpub, Sub, Sub]);
    n.configure(0, |o| o.xpub_manual = true);
    n.link(1, 0, 10, b"");
    n.link(2, 0, 10, b"");
    n.subscribe(1, b"");
    n.send(0, &[b"before"]).unwrap();
    n.got(1, &[]);
    assert_eq!(n.recv(0).unwrap(), v(&[b"\x01"]));
    n.socks[0].subscribe(true, b"").unwrap();
    n.subscribe(2, b"");
    n.send(0, &[b"after"]).unwrap();
    n.got(1, &[b"after"]);
    n.got(2, &[]);
}

/// XPUB-07: the welcome message goes to each subscriber as it attaches.
#[test]
fn xpub07_welcome_message() {
    let mut n = Net::new(&[Xpub, Sub]);
    n.configure(0, |o| o.xpub_welcome_msg = Some(Bytes::from_static(b"WELCOME")));
    n.subscribe(1, b"WEL");
    n.link(1, 0, 10, b"");
    n.got(1, &[b"WELCOME"]);
}

/// XSUB-01, XSUB-02: subscriptions are messages on an XSUB, everything it sends goes to every
/// publisher, and it can always send (a publisher reads what comes up at once, so its queue
/// never holds the XSUB back).
#[test]
fn xsub01_xsub02_send_to_all_without_blocking() {
    let mut n = Net::new(&[Xsub, Xpub, Xpub]);
    n.link(0, 1, 1, b"");
    n.link(0, 2, 10, b"");
    n.send(0, &[b"\x01a"]).unwrap();
    n.send(0, &[b"up 1"]).unwrap();
    n.send(0, &[b"up 2"]).unwrap();
    for p in [1, 2] {
        assert_eq!(n.drain(p), vec![v(&[b"\x01a"]), v(&[b"up 1"]), v(&[b"up 2"])]);
    }
    assert!(n.socks[0].has_out());
    // A cancel for a topic never subscribed is not news: nothing goes up.
    n.send(0, &[b"\x00zz"]).unwrap();
    n.got(1, &[]);
}
