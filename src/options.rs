//! Typed socket options: the socket types with their wire names, and the per-socket options
//! with libzmq's defaults (CONFORMANCE §0.5).

#![forbid(unsafe_code)]

use bytes::Bytes;
use std::fmt;
use std::time::Duration;

/// The ZeroMQ socket types of RFCs 28–31 (draft types are not supported).
///
/// The wire name is what a peer announces in the `Socket-Type` property of its READY command
/// (RFC 37 §The Socket-Type Property); [`SocketType::is_compatible_with`] is the table of
/// valid pairings that the handshake enforces (CONFORMANCE §0.4, W-19).
///
/// ```
/// use ferromq::SocketType;
/// assert!(SocketType::Push.is_compatible_with(SocketType::Pull));
/// assert!(!SocketType::Push.is_compatible_with(SocketType::Push));
/// assert_eq!(SocketType::from_wire_name(b"DEALER"), Some(SocketType::Dealer));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    Pair,
    /// Publisher (RFC 29).
    Pub,
    /// Subscriber (RFC 29).
    Sub,
    /// Requester (RFC 28).
    Req,
    /// Replier (RFC 28).
    Rep,
    /// Asynchronous requester (RFC 28).
    Dealer,
    /// Asynchronous replier, routes by identity (RFC 28).
    Router,
    /// Pipeline receiver (RFC 30).
    Pull,
    /// Pipeline sender (RFC 30).
    Push,
    /// Raw publisher that sees subscriptions (RFC 29).
    Xpub,
    /// Raw subscriber that sends subscriptions as messages (RFC 29).
    Xsub,
}

impl SocketType {
    /// Every supported type, in libzmq's numbering order.
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::Xpub,
        SocketType::Xsub,
    ];

    /// The name sent in the `Socket-Type` property.
    pub const fn wire_name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::Xpub => "XPUB",
            SocketType::Xsub => "XSUB",
        }
    }

    /// Parses a `Socket-Type` value. Matching is exact, as in libzmq: the RFC makes property
    /// *names* case-insensitive, not values.
    pub fn from_wire_name(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL.into_iter().find(|t| t.wire_name().as_bytes() == name)
    }

    /// Whether a peer of type `peer` may talk to a socket of this type (RFC 37 §The
    /// Socket-Type Property; RFCs 28–31).
    pub const fn is_compatible_with(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub | Xpub, Sub | Xsub)
                | (Sub | Xsub, Pub | Xpub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
        )
    }

    /// Whether this type announces an `Identity` property in its READY (libzmq sends it, even
    /// empty, for REQ, DEALER and ROUTER: CONFORMANCE W-18).
    pub const fn sends_identity(self) -> bool {
        matches!(self, SocketType::Req | SocketType::Dealer | SocketType::Router)
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// A socket's options, with libzmq's defaults. Durations of `None` mean "infinite" (LINGER,
/// SNDTIMEO, RCVTIMEO) or "off" (the others), as −1 or 0 do in libzmq.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketOptions {
    /// SNDHWM: messages queued per outbound pipe (0: no limit). Default 1000.
    pub sndhwm: u64,
    /// RCVHWM: messages queued per inbound pipe (0: no limit). Default 1000.
    pub rcvhwm: u64,
    /// LINGER: how long unsent messages may drain after close (`None`: forever, libzmq's −1).
    pub linger: Option<Duration>,
    /// SNDTIMEO: how long a blocking send waits (`None`: forever).
    pub sndtimeo: Option<Duration>,
    /// RCVTIMEO: how long a blocking recv waits (`None`: forever).
    pub rcvtimeo: Option<Duration>,
    /// RECONNECT_IVL: wait before reconnecting (`None`: never reconnect). Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// RECONNECT_IVL_MAX: when set above RECONNECT_IVL, the wait doubles per failed attempt up
    /// to it; otherwise each wait is RECONNECT_IVL plus random jitter (L-03).
    pub reconnect_ivl_max: Option<Duration>,
    /// HANDSHAKE_IVL (`None`: no limit). Default 30 s.
    pub handshake_ivl: Option<Duration>,
    /// CONNECT_TIMEOUT: a TCP connect still in progress after this is abandoned and retried
    /// as after any failure (`None`: the operating system's timeout, libzmq's 0; O-09).
    pub connect_timeout: Option<Duration>,
    /// ROUTING_ID sent as `Identity` by REQ, DEALER and ROUTER (1 to 255 octets, not starting
    /// with a zero octet, which marks generated ids; O-04).
    pub routing_id: Bytes,
    /// CONNECT_ROUTING_ID (ROUTER): the routing id to give the peer of the next `connect`, so
    /// that the ROUTER can send to it at once (ROUTER-06). Used by one connect, then cleared.
    pub connect_routing_id: Option<Bytes>,
    /// ROUTER_MANDATORY (ROUTER): a message for an unknown peer fails with
    /// `Error::HostUnreachable` instead of vanishing, and one for a full peer blocks
    /// (ROUTER-02, ROUTER-03). Applies at once.
    pub router_mandatory: bool,
    /// ROUTER_HANDOVER (ROUTER): a new peer with a routing id in use takes it over, and the old
    /// connection is closed (ROUTER-05). Applies at once.
    pub router_handover: bool,
    /// PROBE_ROUTER (REQ, DEALER, ROUTER): an empty message goes out on each new pipe, so that
    /// a ROUTER peer learns our routing id at once (ROUTER-07). Applies at once.
    pub probe_router: bool,
    /// REQ_CORRELATE (REQ): each request carries a 4-octet id and replies with another id are
    /// dropped (REQ-07). Applies at once.
    pub req_correlate: bool,
    /// REQ_RELAXED (REQ): a new request may be sent before the reply to the last one came
    /// (REQ-08). Applies at once.
    pub req_relaxed: bool,
    /// IMMEDIATE: queue only to completed connections.
    pub immediate: bool,
    /// MAXMSGSIZE in bytes (`None`: no limit).
    pub max_msg_size: Option<u64>,
    /// HEARTBEAT_IVL (`None`: off).
    pub heartbeat_ivl: Option<Duration>,
    /// HEARTBEAT_TIMEOUT (`None`: same as the interval).
    pub heartbeat_timeout: Option<Duration>,
    /// HEARTBEAT_TTL (`None`: none asked of the peer).
    pub heartbeat_ttl: Option<Duration>,
    /// SNDBUF: the kernel's send buffer per connection, in bytes (`None`: the OS's; O-12).
    pub sndbuf: Option<usize>,
    /// RCVBUF: the kernel's receive buffer per connection, in bytes (`None`: the OS's; O-12).
    pub rcvbuf: Option<usize>,
    /// TCP_KEEPALIVE: `None` keeps the OS setting; `Some(on)` forces it (O-11).
    pub tcp_keepalive: Option<bool>,
    /// TCP_KEEPALIVE_IDLE: idle time before the first probe (`None`: the OS's).
    pub tcp_keepalive_idle: Option<Duration>,
    /// TCP_KEEPALIVE_INTVL: time between probes (`None`: the OS's).
    pub tcp_keepalive_intvl: Option<Duration>,
    /// TCP_KEEPALIVE_CNT: probes before the connection is dropped (`None`: the OS's).
    pub tcp_keepalive_cnt: Option<u32>,
    /// XPUB_VERBOSE (XPUB): hand the application every subscribe, not only a topic's first
    /// (XPUB-03).
    pub xpub_verbose: bool,
    /// XPUB_VERBOSER (XPUB): every subscribe and every unsubscribe (XPUB-03).
    pub xpub_verboser: bool,
    /// XPUB_MANUAL (XPUB): subscriptions are reported, not applied; the application applies
    /// them with `subscribe`/`unsubscribe` for the subscriber it heard from last (XPUB-06).
    pub xpub_manual: bool,
    /// XPUB_NODROP (PUB, XPUB): at a subscriber's high-water mark, block or `WouldBlock`
    /// instead of dropping (PUB-06).
    pub xpub_nodrop: bool,
    /// XPUB_WELCOME_MSG (XPUB): sent to each subscriber as it connects (XPUB-07).
    pub xpub_welcome_msg: Option<Bytes>,
    /// INVERT_MATCHING (PUB, XPUB, SUB): a message goes to (is accepted by) the subscribers
    /// none of whose topics match it (PUB-07).
    pub invert_matching: bool,
    /// CONFLATE (PUSH, PULL, PUB, SUB, DEALER): each pipe keeps only the newest message in
    /// the direction the socket's messages flow — out for PUSH and PUB, in for PULL and SUB,
    /// both for DEALER — with no high-water mark there (Q-10). A multipart message is kept or
    /// replaced whole (libzmq keeps one part). Subscriptions, which flow the other way, are
    /// never conflated. Applies to pipes made after it is set.
    pub conflate: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: None,
            sndtimeo: None,
            rcvtimeo: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: None,
            handshake_ivl: Some(Duration::from_secs(30)),
            connect_timeout: None,
            routing_id: Bytes::new(),
            connect_routing_id: None,
            router_mandatory: false,
            router_handover: false,
            probe_router: false,
            req_correlate: false,
            req_relaxed: false,
            immediate: false,
            max_msg_size: None,
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            sndbuf: None,
            rcvbuf: None,
            tcp_keepalive: None,
            tcp_keepalive_idle: None,
            tcp_keepalive_intvl: None,
            tcp_keepalive_cnt: None,
            xpub_verbose: false,
            xpub_verboser: false,
            xpub_manual: false,
            xpub_nodrop: false,
            xpub_welcome_msg: None,
            invert_matching: false,
            conflate: false,
        }
    }
}

impl SocketOptions {
    /// Checks values libzmq would refuse with EINVAL for a socket of type `ty`, including
    /// options that type does not take (O-03, O-04, O-08).
    pub fn validate_for(&self, ty: SocketType) -> Result<(), crate::Error> {
        use SocketType::*;
        self.validate()?;
        let d = SocketOptions::default();
        let only = |set: bool, name: &str, types: &[SocketType]| {
            if set && !types.contains(&ty) {
                return Err(crate::Error::InvalidArgument(format!(
                    "{name} does not apply to {ty}"
                )));
            }
            Ok(())
        };
        only(self.routing_id != d.routing_id, "ROUTING_ID", &[Req, Rep, Dealer, Router])?;
        only(self.connect_routing_id.is_some(), "CONNECT_ROUTING_ID", &[Router])?;
        only(self.router_mandatory, "ROUTER_MANDATORY", &[Router])?;
        only(self.router_handover, "ROUTER_HANDOVER", &[Router])?;
        only(self.probe_router, "PROBE_ROUTER", &[Req, Dealer, Router])?;
        only(self.req_correlate, "REQ_CORRELATE", &[Req])?;
        only(self.req_relaxed, "REQ_RELAXED", &[Req])?;
        only(self.xpub_verbose, "XPUB_VERBOSE", &[Xpub])?;
        only(self.xpub_verboser, "XPUB_VERBOSER", &[Xpub])?;
        only(self.xpub_manual, "XPUB_MANUAL", &[Xpub])?;
        only(self.xpub_nodrop, "XPUB_NODROP", &[Pub, Xpub])?;
        only(self.xpub_welcome_msg.is_some(), "XPUB_WELCOME_MSG", &[Xpub])?;
        only(self.invert_matching, "INVERT_MATCHING", &[Pub, Xpub, Sub])?;
        only(self.conflate, "CONFLATE", &[Push, Pull, Pub, Sub, Dealer])
    }

    /// How a pipe of a socket of type `ty` queues in each direction, `(out, in)`: by the
    /// high-water marks, or conflated (CONFLATE) in the direction the type's messages flow.
    pub fn flows(&self, ty: SocketType) -> (crate::pipe::Flow, crate::pipe::Flow) {
        use crate::pipe::Flow;
        use SocketType::*;
        let out = self.conflate && matches!(ty, Push | Pub | Dealer);
        let inb = self.conflate && matches!(ty, Pull | Sub | Dealer);
        (
            if out { Flow::Conflate } else { Flow::Queue(self.sndhwm) },
            if inb { Flow::Conflate } else { Flow::Queue(self.rcvhwm) },
        )
    }

    /// Checks values libzmq would refuse with EINVAL whatever the socket type (O-03, O-04,
    /// O-08).
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |s: &str| Err(crate::Error::InvalidArgument(s.to_owned()));
        if let Some(id) = &self.connect_routing_id {
            if id.is_empty() || id.len() > 255 || id[0] == 0 {
                return bad("CONNECT_ROUTING_ID must be 1 to 255 octets, not starting with 0");
            }
        }
        if self.routing_id.len() > 255 {
            return bad("ROUTING_ID is longer than 255 bytes");
        }
        if self.routing_id.first() == Some(&0) {
            return bad("ROUTING_ID may not start with a zero byte (reserved for automatic ids)");
        }
        if self.heartbeat_ttl.is_some_and(|t| t > Duration::from_millis(6_553_599)) {
            return bad("HEARTBEAT_TTL is above 6553599 ms");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SocketType::{self, *};

    /// W-19 / CONFORMANCE §0.4: the compatibility relation is symmetric and matches the table.
    #[test]
    fn w19_compatibility_table_is_symmetric_and_exact() {
        let valid: &[(SocketType, &[SocketType])] = &[
            (Req, &[Rep, Router]),
            (Rep, &[Req, Dealer]),
            (Dealer, &[Rep, Dealer, Router]),
            (Router, &[Req, Dealer, Router]),
            (Pub, &[Sub, Xsub]),
            (Xpub, &[Sub, Xsub]),
            (Sub, &[Pub, Xpub]),
            (Xsub, &[Pub, Xpub]),
            (Push, &[Pull]),
            (Pull, &[Push]),
            (Pair, &[Pair]),
        ];
        for &(a, peers) in valid {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible_with(b), peers.contains(&b), "{a} with {b}");
                assert_eq!(a.is_compatible_with(b), b.is_compatible_with(a), "{a}/{b}");
            }
        }
    }

    /// O-01: defaults as in libzmq.
    #[test]
    fn o01_defaults_match_libzmq() {
        let o = super::SocketOptions::default();
        assert_eq!((o.sndhwm, o.rcvhwm), (1000, 1000));
        assert_eq!(o.linger, None);
        assert_eq!((o.sndtimeo, o.rcvtimeo), (None, None));
        assert_eq!(o.reconnect_ivl, Some(std::time::Duration::from_millis(100)));
        assert_eq!(o.handshake_ivl, Some(std::time::Duration::from_secs(30)));
        assert!(!o.immediate && o.max_msg_size.is_none() && o.heartbeat_ivl.is_none());
    }

    /// O-03, O-04, O-08: out-of-range values are refused.
    #[test]
    fn o03_bad_values_are_refused() {
        let mut o = super::SocketOptions {
            routing_id: bytes::Bytes::from(vec![1; 256]),
            ..Default::default()
        };
        assert!(o.validate().is_err());
        o.routing_id = bytes::Bytes::from_static(b"\0auto");
        assert!(o.validate().is_err());
        o.routing_id = bytes::Bytes::from_static(b"ok");
        o.heartbeat_ttl = Some(std::time::Duration::from_millis(6_553_600));
        assert!(o.validate().is_err());
        o.heartbeat_ttl = Some(std::time::Duration::from_millis(6_553_599));
        assert!(o.validate().is_ok());
    }

    #[test]
    fn wire_names_round_trip_and_are_case_sensitive() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_wire_name(t.wire_name().as_bytes()), Some(t));
        }
        assert_eq!(SocketType::from_wire_name(b"push"), None);
        assert_eq!(SocketType::from_wire_name(b"CLIENT"), None);
    }
}
