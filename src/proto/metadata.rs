//! Connection metadata: the properties carried by READY (RFC 37 §Connection Metadata).

use super::ProtocolError;
use crate::SocketType;
use bytes::{BufMut, Bytes, BytesMut};

/// Name of the socket type property, emitted with exactly this case (W-17).
pub const SOCKET_TYPE: &str = "Socket-Type";
/// Name of the identity property, emitted with exactly this case (W-17).
pub const IDENTITY: &str = "Identity";

/// An ordered list of properties. Lookups match names case-insensitively, as RFC 37 says
/// (W-17); the order and spelling the peer used are kept.
///
/// ```
/// use ferromq::proto::Metadata;
/// let mut m = Metadata::default();
/// m.insert("X-Colour", "blue");
/// assert_eq!(m.get("x-colour"), Some(&b"blue"[..]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    props: Vec<(Bytes, Bytes)>,
}

impl Metadata {
    /// The properties a socket of type `ty` announces: `Socket-Type`, then `Identity` for the
    /// types that libzmq sends it for, even when empty (W-18).
    pub fn for_socket(ty: SocketType, identity: &[u8]) -> Metadata {
        let mut m = Metadata::default();
        m.insert(SOCKET_TYPE, ty.wire_name());
        if ty.sends_identity() {
            m.insert(IDENTITY, identity);
        }
        m
    }

    /// Appends a property. Names must be 1–255 octets; longer names are cut to 255 so the
    /// encoding stays valid.
    pub fn insert(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let name = name.as_ref();
        let name = &name[..name.len().min(255)];
        self.props.push((Bytes::copy_from_slice(name), Bytes::copy_from_slice(value.as_ref())));
    }

    /// The value of the first property whose name matches, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// All properties, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.props.iter().map(|(n, v)| (&n[..], &v[..]))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.props.len()
    }

    /// True when there is no property.
    pub fn is_empty(&self) -> bool {
        self.props.is_empty()
    }

    /// Parses properties: `name-len(1) name value-len(4, BE) value`, repeated (W-16).
    pub fn parse(mut data: &[u8]) -> Result<Metadata, ProtocolError> {
        let mut props = Vec::new();
        while let Some((&name_len, rest)) = data.split_first() {
            let name_len = name_len as usize;
            if name_len == 0 {
                return Err(ProtocolError::BadProperty("empty name"));
            }
            if rest.len() < name_len + 4 {
                return Err(ProtocolError::BadProperty("truncated name or value length"));
            }
            let (name, rest) = rest.split_at(name_len);
            let (len, rest) = rest.split_at(4);
            let value_len = u32::from_be_bytes(len.try_into().expect("4 octets"));
            if value_len > i32::MAX as u32 {
                return Err(ProtocolError::BadProperty("value length of 2^31 or more"));
            }
            let value_len = value_len as usize;
            if rest.len() < value_len {
                return Err(ProtocolError::BadProperty("value overruns the command"));
            }
            let (value, rest) = rest.split_at(value_len);
            props.push((Bytes::copy_from_slice(name), Bytes::copy_from_slice(value)));
            data = rest;
        }
        Ok(Metadata { props })
    }

    /// Size of the encoded properties.
    pub fn encoded_len(&self) -> usize {
        self.props.iter().map(|(n, v)| 1 + n.len() + 4 + v.len()).sum()
    }

    /// Writes the encoded properties.
    pub fn encode(&self, out: &mut BytesMut) {
        for (n, v) in &self.props {
            out.put_u8(n.len() as u8);
            out.put_slice(n);
            out.put_u32(v.len() as u32);
            out.put_slice(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(m: &Metadata) -> Vec<u8> {
        let mut b = BytesMut::new();
        m.encode(&mut b);
        assert_eq!(b.len(), m.encoded_len());
        b.to_vec()
    }

    /// W-16: empty names, truncation and overruns are protocol errors.
    #[test]
    fn w16_bad_property_lengths_are_refused() {
        let cases: &[(&[u8], &str)] = &[
            (b"\x00\x00\x00\x00\x00", "empty name"),
            (b"\x04Name\x00\x00", "truncated name or value length"),
            (b"\x08Na", "truncated name or value length"),
            (b"\x04Name\x00\x00\x00\x05abc", "value overruns the command"),
            (b"\x04Name\x80\x00\x00\x00", "value length of 2^31 or more"),
        ];
        for (bytes, what) in cases {
            assert_eq!(Metadata::parse(bytes), Err(ProtocolError::BadProperty(what)), "{bytes:?}");
        }
    }

    /// W-17: names match case-insensitively; we emit `Socket-Type` and `Identity` exactly.
    #[test]
    fn w17_names_match_ignoring_case_and_are_emitted_exactly() {
        let m =
            Metadata::parse(b"\x0bSOCKET-TYPE\x00\x00\x00\x04PUSH\x08identity\x00\x00\x00\x01x")
                .unwrap();
        assert_eq!(m.get("Socket-Type"), Some(&b"PUSH"[..]));
        assert_eq!(m.get("IDENTITY"), Some(&b"x"[..]));
        let ours = encoded(&Metadata::for_socket(SocketType::Router, b"me"));
        assert_eq!(ours, b"\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x02me");
    }

    /// W-18: Identity is sent by REQ, DEALER and ROUTER only, even when empty (the list is
    /// libzmq's, written out here rather than taken from the code under test).
    #[test]
    fn w18_identity_only_for_types_that_use_it() {
        use SocketType::*;
        let with_identity = [Req, Dealer, Router];
        for t in SocketType::ALL {
            let m = Metadata::for_socket(t, b"");
            let want = with_identity.contains(&t);
            assert_eq!(m.get(IDENTITY).map(|v| v.len()), want.then_some(0), "{t}");
        }
        assert_eq!(Metadata::for_socket(Dealer, b"me").get(IDENTITY), Some(&b"me"[..]));
    }

    /// W-18, W-31: the READY properties of a DEALER with no routing id, byte for byte as
    /// libzmq writes them (tests/testutil.hpp), and a SUB's, which has no Identity.
    #[test]
    fn w18_w31_ready_properties_match_libzmq_bytes() {
        let dealer = b"\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00";
        assert_eq!(encoded(&Metadata::for_socket(SocketType::Dealer, b"")), dealer);
        let sub = b"\x0bSocket-Type\x00\x00\x00\x03SUB";
        assert_eq!(encoded(&Metadata::for_socket(SocketType::Sub, b"")), sub);
    }

    #[test]
    fn properties_round_trip_in_order() {
        let mut m = Metadata::for_socket(SocketType::Dealer, b"id");
        m.insert("X-Empty", "");
        m.insert("X-Big", vec![1u8; 300]);
        assert_eq!(Metadata::parse(&encoded(&m)).unwrap(), m);
        let names: Vec<&[u8]> = m.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"Socket-Type"[..], b"Identity", b"X-Empty", b"X-Big"]);
    }
}
