//! The 64-octet ZMTP greeting (RFC 37 §Formal Grammar, CONFORMANCE §0.1).

use super::ProtocolError;

/// Length of a ZMTP 3 greeting.
pub const GREETING_LEN: usize = 64;

/// The version we announce (ZMTP 3.1).
pub const OUR_VERSION: (u8, u8) = (3, 1);

/// A security mechanism name as carried in greeting octets 12–31.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MechanismName(pub &'static str);

impl MechanismName {
    /// The NULL mechanism (RFC 37 §The NULL Security Mechanism).
    pub const NULL: MechanismName = MechanismName("NULL");

    fn padded(self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[..self.0.len()].copy_from_slice(self.0.as_bytes());
        out
    }
}

/// A parsed greeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// Major and minor version announced.
    pub version: (u8, u8),
    /// The 20 mechanism octets.
    pub mechanism: [u8; 20],
    /// The as-server flag (octet 32).
    pub as_server: bool,
}

impl Greeting {
    /// Our greeting: version 3.1, the mechanism, the as-server flag. Padding and filler are
    /// zero; octet 9 is `7F`.
    pub fn encode(mechanism: MechanismName, as_server: bool) -> [u8; GREETING_LEN] {
        let mut g = [0u8; GREETING_LEN];
        g[0] = 0xFF;
        g[9] = 0x7F;
        g[10] = OUR_VERSION.0;
        g[11] = OUR_VERSION.1;
        g[12..32].copy_from_slice(&mechanism.padded());
        g[32] = as_server as u8;
        g
    }

    /// Validates as much of a greeting prefix as has arrived, so that a ZMTP 1.0/2.0 peer is
    /// refused without waiting for 64 octets it will never send (W-02, W-04). Padding
    /// (octets 1–8) is never looked at: libzmq writes an identity length there (W-03).
    pub fn check_prefix(prefix: &[u8]) -> Result<(), ProtocolError> {
        if let Some(&b) = prefix.first() {
            if b != 0xFF {
                return Err(ProtocolError::BadSignature);
            }
        }
        if let Some(&b) = prefix.get(9) {
            if b & 1 == 0 {
                return Err(ProtocolError::BadSignature);
            }
        }
        if let Some(&major) = prefix.get(10) {
            if major < 3 {
                return Err(ProtocolError::UnsupportedVersion { major });
            }
        }
        Ok(())
    }

    /// Parses a complete greeting and checks that the peer uses `ours` (W-05, W-06). Any
    /// minor version is accepted; we keep 3.1 framing.
    pub fn decode(g: &[u8; GREETING_LEN], ours: MechanismName) -> Result<Greeting, ProtocolError> {
        Greeting::check_prefix(g)?;
        let mut mechanism = [0u8; 20];
        mechanism.copy_from_slice(&g[12..32]);
        if mechanism != ours.padded() {
            let end = mechanism.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            return Err(ProtocolError::MechanismMismatch {
                ours: ours.0,
                theirs: mechanism[..end].to_vec(),
            });
        }
        Ok(Greeting { version: (g[10], g[11]), mechanism, as_server: g[32] == 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> [u8; 64] {
        Greeting::encode(MechanismName::NULL, false)
    }

    /// W-01: the layout of §0.1, byte for byte.
    #[test]
    fn w01_greeting_layout() {
        let g = ours();
        assert_eq!(g[0], 0xFF);
        assert_eq!(&g[1..9], &[0; 8]);
        assert_eq!(&g[9..12], &[0x7F, 3, 1]);
        assert_eq!(&g[12..16], b"NULL");
        assert_eq!(&g[16..32], &[0; 16]);
        assert_eq!(g[32], 0);
        assert_eq!(&g[33..], &[0; 31]);
    }

    /// W-03: padding is not validated, whatever libzmq writes there.
    #[test]
    fn w03_padding_is_ignored() {
        let mut g = ours();
        g[1..9].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(Greeting::decode(&g, MechanismName::NULL).is_ok());
        g[1..9].copy_from_slice(&[0xAB; 8]);
        assert!(Greeting::decode(&g, MechanismName::NULL).is_ok());
    }

    /// W-04: ZMTP 1.0 and 2.0 are refused as soon as the deciding octet arrives.
    #[test]
    fn w04_old_versions_are_refused_early() {
        assert_eq!(Greeting::check_prefix(&[0x01]), Err(ProtocolError::BadSignature));
        let mut g = ours();
        g[9] = 0x7E;
        assert_eq!(Greeting::check_prefix(&g[..10]), Err(ProtocolError::BadSignature));
        let mut g = ours();
        g[10] = 2;
        assert_eq!(
            Greeting::check_prefix(&g[..11]),
            Err(ProtocolError::UnsupportedVersion { major: 2 })
        );
        assert!(Greeting::check_prefix(&ours()[..11]).is_ok());
    }

    /// W-05: any minor, and majors above 3, are accepted.
    #[test]
    fn w05_future_versions_are_accepted() {
        for (major, minor) in [(3, 0), (3, 1), (3, 9), (4, 0)] {
            let mut g = ours();
            g[10] = major;
            g[11] = minor;
            assert_eq!(Greeting::decode(&g, MechanismName::NULL).unwrap().version, (major, minor));
        }
    }

    /// W-06: a mechanism differing in any octet is refused.
    #[test]
    fn w06_mechanism_mismatch() {
        let g = Greeting::encode(MechanismName("PLAIN"), false);
        assert_eq!(
            Greeting::decode(&g, MechanismName::NULL),
            Err(ProtocolError::MechanismMismatch { ours: "NULL", theirs: b"PLAIN".to_vec() })
        );
        let mut g = ours();
        g[31] = b'X';
        assert!(matches!(
            Greeting::decode(&g, MechanismName::NULL),
            Err(ProtocolError::MechanismMismatch { .. })
        ));
    }
}
