//! ZMTP commands (RFC 37 §Commands, CONFORMANCE §0.3).
//!
//! A command body is `name-length(1) name data`. The name is found by its length octet, never
//! by a NUL separator (W-12); names are compared exactly, as libzmq does.

use super::ProtocolError;
use super::metadata::Metadata;
use bytes::{BufMut, Bytes, BytesMut};

/// The longest PING context a peer may send and that we echo back (RFC 37).
pub const MAX_PING_CONTEXT: usize = 16;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// READY with its properties (NULL handshake; last step of PLAIN and CURVE).
    Ready(Metadata),
    /// ERROR with its reason (0–255 octets).
    Error(Bytes),
    /// SUBSCRIBE with its topic (ZMTP 3.1).
    Subscribe(Bytes),
    /// CANCEL with its topic (ZMTP 3.1).
    Cancel(Bytes),
    /// PING: the TTL the sender asks for, in deciseconds (0: none), and an opaque context.
    Ping {
        /// Time to live in units of 100 ms.
        ttl_ds: u16,
        /// Up to 16 octets to echo in the PONG.
        context: Bytes,
    },
    /// PONG echoing a PING's context.
    Pong {
        /// The PING's context.
        context: Bytes,
    },
    /// Any other command; after the handshake these are skipped (W-14).
    Unknown {
        /// The command name.
        name: Bytes,
        /// Everything after the name.
        data: Bytes,
    },
}

const READY: &[u8] = b"READY";
const ERROR: &[u8] = b"ERROR";
const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
const CANCEL: &[u8] = b"CANCEL";
const PING: &[u8] = b"PING";
const PONG: &[u8] = b"PONG";

impl Command {
    /// Parses a command frame's body.
    pub fn parse(body: Bytes) -> Result<Command, ProtocolError> {
        let Some(&name_len) = body.first() else { return Err(ProtocolError::TruncatedCommand) };
        let name_end = 1 + name_len as usize;
        if name_len == 0 || body.len() < name_end {
            return Err(ProtocolError::TruncatedCommand);
        }
        let data = body.slice(name_end..);
        Ok(match &body[1..name_end] {
            READY => Command::Ready(Metadata::parse(&data)?),
            ERROR => {
                let malformed = |what| ProtocolError::MalformedCommand { command: "ERROR", what };
                let len = *data.first().ok_or(malformed("missing reason length"))? as usize;
                if data.len() != 1 + len {
                    return Err(malformed("reason length does not match the frame"));
                }
                Command::Error(data.slice(1..))
            }
            SUBSCRIBE => Command::Subscribe(data),
            CANCEL => Command::Cancel(data),
            PING => {
                if data.len() < 2 {
                    return Err(ProtocolError::MalformedCommand {
                        command: "PING",
                        what: "shorter than its 2-octet TTL",
                    });
                }
                // A longer context than the RFC's 16 octets is tolerated and cut when echoed,
                // as libzmq does.
                let ttl_ds = u16::from_be_bytes([data[0], data[1]]);
                let end = data.len().min(2 + MAX_PING_CONTEXT);
                Command::Ping { ttl_ds, context: data.slice(2..end) }
            }
            // Cut like a PING's context, so parsing and encoding agree on every input.
            PONG => Command::Pong { context: data.slice(..data.len().min(MAX_PING_CONTEXT)) },
            name => Command::Unknown { name: Bytes::copy_from_slice(name), data },
        })
    }

    /// The command's name.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => READY,
            Command::Error(_) => ERROR,
            Command::Subscribe(_) => SUBSCRIBE,
            Command::Cancel(_) => CANCEL,
            Command::Ping { .. } => PING,
            Command::Pong { .. } => PONG,
            Command::Unknown { name, .. } => name,
        }
    }

    fn data_len(&self) -> usize {
        match self {
            Command::Ready(m) => m.encoded_len(),
            Command::Error(r) => 1 + r.len().min(255),
            Command::Subscribe(t) | Command::Cancel(t) => t.len(),
            Command::Ping { context, .. } => 2 + context.len().min(MAX_PING_CONTEXT),
            Command::Pong { context } => context.len().min(MAX_PING_CONTEXT),
            Command::Unknown { data, .. } => data.len(),
        }
    }

    /// Size of the encoded command body (name length octet, name, data).
    pub fn encoded_len(&self) -> usize {
        1 + self.name().len() + self.data_len()
    }

    /// Writes the command body (without the frame header). ERROR reasons are cut to 255
    /// octets and PING/PONG contexts to 16, the most the wire form allows.
    pub fn encode(&self, out: &mut BytesMut) {
        let name = self.name();
        out.put_u8(name.len() as u8);
        out.put_slice(name);
        match self {
            Command::Ready(m) => m.encode(out),
            Command::Error(r) => {
                let r = &r[..r.len().min(255)];
                out.put_u8(r.len() as u8);
                out.put_slice(r);
            }
            Command::Subscribe(t) | Command::Cancel(t) => out.put_slice(t),
            Command::Ping { ttl_ds, context } => {
                out.put_u16(*ttl_ds);
                out.put_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Pong { context } => {
                out.put_slice(&context[..context.len().min(MAX_PING_CONTEXT)])
            }
            Command::Unknown { data, .. } => out.put_slice(data),
        }
    }

    /// The encoded command body as one buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut b);
        b.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SocketType;

    fn framed(cmd: &Command) -> Vec<u8> {
        let body = cmd.to_bytes();
        let mut out = vec![0x04, body.len() as u8];
        out.extend_from_slice(&body);
        out
    }

    /// W-31: the byte vectors of CONFORMANCE §0.3 encode and decode exactly.
    #[test]
    fn w31_command_byte_vectors() {
        let dealer = Command::Ready(Metadata::for_socket(SocketType::Dealer, b""));
        let want =
            b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00";
        assert_eq!(framed(&dealer), want);
        assert_eq!(want.len(), 43);
        let sub = Command::Ready(Metadata::for_socket(SocketType::Sub, b""));
        assert_eq!(framed(&sub), b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB");
        let xpub = Command::Ready(Metadata::for_socket(SocketType::Xpub, b""));
        assert_eq!(framed(&xpub).len(), 28);
        let s = Command::Subscribe(Bytes::from_static(b"A"));
        assert_eq!(framed(&s), b"\x04\x0b\x09SUBSCRIBE\x41");
        let ping = Command::Ping { ttl_ds: 10, context: Bytes::new() };
        assert_eq!(framed(&ping), b"\x04\x07\x04PING\x00\x0a");
        assert_eq!(framed(&Command::Pong { context: Bytes::new() }), b"\x04\x05\x04PONG");
        for (bytes, cmd) in
            [(&want[2..], dealer), (b"\x09SUBSCRIBE\x41", s), (b"\x04PING\x00\x0a", ping)]
        {
            assert_eq!(Command::parse(Bytes::copy_from_slice(bytes)).unwrap(), cmd);
        }
    }

    /// W-12: the name is delimited by its length octet; a NUL-separated name is not special.
    #[test]
    fn w12_names_are_length_prefixed() {
        let c = Command::parse(Bytes::from_static(b"\x05READY")).unwrap();
        assert_eq!(c, Command::Ready(Metadata::default()));
        let c = Command::parse(Bytes::from_static(b"\x06READY\x00")).unwrap();
        assert!(matches!(c, Command::Unknown { .. }));
        let c = Command::parse(Bytes::from_static(b"\x05ready")).unwrap();
        assert!(matches!(c, Command::Unknown { .. }), "command names are case-sensitive");
    }

    /// Truncated commands (W-13/W-29 rejection paths).
    #[test]
    fn truncated_commands_are_refused() {
        for bad in [&b""[..], b"\x00", b"\x05REA", b"\x09SUBSCRIB"] {
            assert_eq!(
                Command::parse(Bytes::copy_from_slice(bad)),
                Err(ProtocolError::TruncatedCommand),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Command::parse(Bytes::from_static(b"\x04PING\x00")),
            Err(ProtocolError::MalformedCommand { command: "PING", .. })
        ));
        assert!(matches!(
            Command::parse(Bytes::from_static(b"\x05ERROR\x05abc")),
            Err(ProtocolError::MalformedCommand { command: "ERROR", .. })
        ));
        assert!(matches!(
            Command::parse(Bytes::from_static(b"\x05ERROR")),
            Err(ProtocolError::MalformedCommand { command: "ERROR", .. })
        ));
    }

    #[test]
    fn error_and_ping_context_round_trip() {
        let e = Command::Error(Bytes::from_static(b"400"));
        assert_eq!(e.to_bytes(), &b"\x05ERROR\x03400"[..]);
        assert_eq!(Command::parse(e.to_bytes()).unwrap(), e);
        let p = Command::Ping { ttl_ds: 65535, context: Bytes::from_static(b"ctx") };
        assert_eq!(Command::parse(p.to_bytes()).unwrap(), p);
        // An over-long PING context is accepted and cut to 16 octets.
        let long =
            Command::parse(Bytes::copy_from_slice(&[&b"\x04PING\x00\x00"[..], &[7; 20]].concat()));
        assert_eq!(long.unwrap(), Command::Ping { ttl_ds: 0, context: Bytes::from(vec![7; 16]) });
        // Found by fuzzing: a PONG's context is cut the same way, so it round-trips.
        let pong = Command::parse(Bytes::from_static(b"\x04PONG\x10\n\0\0\0\0\tSUBSCRIBEAc"));
        let pong = pong.unwrap();
        let want = Bytes::from_static(b"\x10\n\0\0\0\0\tSUBSCRIBE");
        assert_eq!(pong, Command::Pong { context: want });
        assert_eq!(Command::parse(pong.to_bytes()).unwrap(), pong);
    }
}
