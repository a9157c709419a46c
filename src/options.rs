//! Typed socket options. For now: the socket types and their wire names.

#![forbid(unsafe_code)]

use std::fmt;

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

    #[test]
    fn wire_names_round_trip_and_are_case_sensitive() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_wire_name(t.wire_name().as_bytes()), Some(t));
        }
        assert_eq!(SocketType::from_wire_name(b"push"), None);
        assert_eq!(SocketType::from_wire_name(b"CLIENT"), None);
    }
}
