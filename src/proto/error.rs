//! Why a connection ends.

use crate::SocketType;
use std::fmt;

/// One precise variant per way a peer can break ZMTP, so that tests can assert the exact
/// failure and a socket monitor can report it. Peer bytes end here, never in a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Greeting octet 0 is not `FF` or octet 9 has bit 0 clear: a ZMTP 1.0 peer (W-04).
    BadSignature,
    /// The peer's major version is below 3 (ZMTP 2.0 or older; W-04).
    UnsupportedVersion {
        /// The announced major version.
        major: u8,
    },
    /// The peer announced another security mechanism (W-06).
    MechanismMismatch {
        /// Our mechanism name.
        ours: &'static str,
        /// The 20 mechanism octets the peer sent, trailing NULs removed.
        theirs: Vec<u8>,
    },
    /// A frame's flags octet has a reserved bit (`F8`) set (W-09).
    ReservedFlags(u8),
    /// A command frame had the MORE flag set (W-09).
    MoreOnCommand,
    /// A long frame size of 2^63 or more (W-09).
    SizeOverflow,
    /// A message larger than MAXMSGSIZE was announced; closed before buffering it (W-10).
    MessageTooLarge {
        /// The size the message would have reached.
        size: u64,
        /// The configured limit.
        max: u64,
    },
    /// A command frame larger than allowed: MAXMSGSIZE, or during the handshake a fixed
    /// cap, since the peer is not yet authenticated.
    CommandTooLarge {
        /// The announced size.
        size: u64,
        /// The limit in force.
        max: u64,
    },
    /// A command frame whose body is empty or whose name length overruns it (W-12).
    TruncatedCommand,
    /// A command's data does not have the form its name requires.
    MalformedCommand {
        /// The command name.
        command: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// A property in READY (or other metadata) is malformed: empty name, or a length that
    /// overruns the command (W-16).
    BadProperty(&'static str),
    /// A message frame arrived before the handshake completed (W-13).
    MessageBeforeReady,
    /// A command that the mechanism does not expect at this step (W-13).
    UnexpectedCommand {
        /// Its name, lossily decoded.
        name: String,
    },
    /// A second READY after the handshake completed.
    DuplicateReady,
    /// READY without a `Socket-Type` property.
    MissingSocketType,
    /// READY names a socket type we do not know.
    UnknownSocketType(Vec<u8>),
    /// The peer's socket type may not talk to ours (W-19).
    IncompatibleSocketType {
        /// Our type.
        ours: SocketType,
        /// The peer's type.
        theirs: SocketType,
    },
    /// An `Identity` property longer than 255 octets (W-20).
    BadIdentity,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProtocolError::*;
        match self {
            BadSignature => f.write_str("greeting signature is not ZMTP 3 (ZMTP 1.0 peer?)"),
            UnsupportedVersion { major } => write!(f, "unsupported ZMTP major version {major}"),
            MechanismMismatch { ours, theirs } => write!(
                f,
                "security mechanism mismatch: ours {ours}, peer's {:?}",
                String::from_utf8_lossy(theirs)
            ),
            ReservedFlags(b) => write!(f, "reserved frame flag bits set: {b:#04x}"),
            MoreOnCommand => f.write_str("MORE flag set on a command frame"),
            SizeOverflow => f.write_str("frame size of 2^63 or more"),
            MessageTooLarge { size, max } => {
                write!(f, "message of {size} bytes exceeds the maximum of {max}")
            }
            CommandTooLarge { size, max } => {
                write!(f, "command of {size} bytes exceeds the maximum of {max}")
            }
            TruncatedCommand => f.write_str("command frame truncated"),
            MalformedCommand { command, what } => write!(f, "malformed {command}: {what}"),
            BadProperty(what) => write!(f, "malformed metadata property: {what}"),
            MessageBeforeReady => f.write_str("message frame before the handshake completed"),
            UnexpectedCommand { name } => write!(f, "unexpected command {name:?}"),
            DuplicateReady => f.write_str("READY received twice"),
            MissingSocketType => f.write_str("READY without Socket-Type"),
            UnknownSocketType(t) => {
                write!(f, "unknown socket type {:?}", String::from_utf8_lossy(t))
            }
            IncompatibleSocketType { ours, theirs } => {
                write!(f, "socket type {theirs} may not connect to {ours}")
            }
            BadIdentity => f.write_str("Identity longer than 255 octets"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Why an engine closed its connection. Reported once through
/// [`Event::Closed`](super::Event::Closed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// The peer sent an ERROR command (W-22); the reason is its text (libzmq sends ZAP
    /// status codes such as `"400"`).
    PeerError(String),
    /// The greeting and handshake did not finish within HANDSHAKE_IVL (W-28).
    HandshakeTimeout,
    /// Nothing arrived within HEARTBEAT_TIMEOUT after one of our PINGs (W-26).
    HeartbeatTimeout,
    /// Nothing arrived within the TTL the peer asked for in its PING (W-25).
    TtlExpired,
    /// The peer closed the stream (end of file).
    PeerClosed,
    /// The owner of the engine closed it.
    Local,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::PeerError(r) => write!(f, "peer sent ERROR: {r:?}"),
            CloseReason::HandshakeTimeout => f.write_str("handshake timed out"),
            CloseReason::HeartbeatTimeout => f.write_str("heartbeat timed out"),
            CloseReason::TtlExpired => f.write_str("peer's heartbeat TTL expired"),
            CloseReason::PeerClosed => f.write_str("peer closed the connection"),
            CloseReason::Local => f.write_str("closed locally"),
        }
    }
}

impl std::error::Error for CloseReason {}

impl From<ProtocolError> for CloseReason {
    fn from(e: ProtocolError) -> Self {
        CloseReason::Protocol(e)
    }
}
