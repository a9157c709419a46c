//! Endpoint strings: `tcp://host:port`, `ipc://path`, `inproc://name` (CONFORMANCE T-01…T-08).
//! Parsing only; no I/O and no name resolution happen here.

#![forbid(unsafe_code)]

use crate::Error;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The longest ipc path Linux accepts (`sun_path` is 108 bytes with the terminating NUL).
pub const MAX_IPC_PATH: usize = 107;
/// The longest inproc name (T-08).
pub const MAX_INPROC_NAME: usize = 256;

/// The host part of a tcp endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// `*`: every interface (bind only).
    Any,
    /// A numeric IPv4 or IPv6 address (IPv6 in brackets in the string).
    Ip(IpAddr),
    /// A name, resolved when connecting or binding.
    Name(String),
}

/// The port of a tcp endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Port {
    /// `*` or `0`: an ephemeral port chosen at bind time (read it back with LAST_ENDPOINT).
    Any,
    /// A fixed port.
    Number(u16),
}

/// A parsed endpoint.
///
/// ```
/// use ferromq::endpoint::{Endpoint, Host, Port};
/// let e: Endpoint = "tcp://127.0.0.1:5555".parse().unwrap();
/// assert_eq!(e, Endpoint::Tcp { host: Host::Ip([127, 0, 0, 1].into()), port: Port::Number(5555) });
/// assert_eq!(e.to_string(), "tcp://127.0.0.1:5555");
/// assert!("tcp://[::1]:*".parse::<Endpoint>().is_ok());
/// assert!("udp://x:1".parse::<Endpoint>().is_err()); // unsupported transport
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP.
    Tcp {
        /// Interface or peer address.
        host: Host,
        /// Port.
        port: Port,
    },
    /// Unix-domain socket: a path, `*` for a fresh temporary path at bind, or `@name` in
    /// the Linux abstract namespace.
    Ipc(String),
    /// In-process, between sockets of one context.
    Inproc(String),
}

fn invalid(endpoint: &str, reason: &'static str) -> Error {
    Error::InvalidEndpoint { endpoint: endpoint.to_owned(), reason }
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Endpoint, Error> {
        let Some((transport, address)) = s.split_once("://") else {
            return Err(invalid(s, "expected transport://address"));
        };
        match transport {
            "tcp" => parse_tcp(s, address),
            "ipc" => {
                if address.is_empty() {
                    return Err(invalid(s, "empty ipc path"));
                }
                if address.len() > MAX_IPC_PATH {
                    return Err(invalid(s, "ipc path longer than 107 bytes"));
                }
                if address.contains('\0') {
                    return Err(invalid(s, "ipc path contains a NUL byte"));
                }
                Ok(Endpoint::Ipc(address.to_owned()))
            }
            "inproc" => {
                if address.is_empty() {
                    return Err(invalid(s, "empty inproc name"));
                }
                if address.chars().count() > MAX_INPROC_NAME {
                    return Err(invalid(s, "inproc name longer than 256 characters"));
                }
                Ok(Endpoint::Inproc(address.to_owned()))
            }
            // pgm, epgm, tipc, vmci, udp, ws, … (T-11) and anything unknown.
            _ => Err(Error::ProtocolNotSupported(transport.to_owned())),
        }
    }
}

fn parse_tcp(s: &str, address: &str) -> Result<Endpoint, Error> {
    if address.contains(';') {
        return Err(invalid(s, "source addresses (src;dst) are not supported"));
    }
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let Some((ip, port)) = rest.split_once("]:") else {
            return Err(invalid(s, "expected [ipv6]:port"));
        };
        let ip = ip.split('%').next().unwrap_or(ip);
        let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| invalid(s, "bad IPv6 address"))?;
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let Some((host, port)) = address.rsplit_once(':') else {
            return Err(invalid(s, "expected host:port"));
        };
        if host.contains(':') {
            return Err(invalid(s, "IPv6 addresses must be in brackets"));
        }
        let host = match host {
            "" => return Err(invalid(s, "empty host")),
            "*" => Host::Any,
            h => match h.parse::<IpAddr>() {
                Ok(ip) => Host::Ip(ip),
                Err(_) if h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) => {
                    Host::Name(h.to_owned())
                }
                Err(_) => return Err(invalid(s, "bad host name")),
            },
        };
        (host, port)
    };
    let port = match port {
        "*" | "0" => Port::Any,
        p => match p.parse::<u16>() {
            Ok(n) => Port::Number(n),
            Err(_) => return Err(invalid(s, "bad port")),
        },
    };
    Ok(Endpoint::Tcp { host, port })
}

impl Endpoint {
    /// Checks that the endpoint names something to connect to: a concrete host, and a port
    /// that is not `*` (T-04).
    pub fn check_connectable(&self) -> Result<(), Error> {
        match self {
            Endpoint::Tcp { host: Host::Any, .. } => {
                Err(invalid(&self.to_string(), "cannot connect to *"))
            }
            Endpoint::Tcp { port: Port::Any, .. } => {
                Err(invalid(&self.to_string(), "cannot connect to port * or 0"))
            }
            Endpoint::Ipc(p) if p == "*" => Err(invalid(&self.to_string(), "cannot connect to *")),
            _ => Ok(()),
        }
    }

    /// The transport's name.
    pub fn transport(&self) -> &'static str {
        match self {
            Endpoint::Tcp { .. } => "tcp",
            Endpoint::Ipc(_) => "ipc",
            Endpoint::Inproc(_) => "inproc",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => {
                f.write_str("tcp://")?;
                match host {
                    Host::Any => f.write_str("*")?,
                    Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
                    Host::Ip(ip) => write!(f, "{ip}")?,
                    Host::Name(n) => f.write_str(n)?,
                }
                match port {
                    Port::Any => f.write_str(":*"),
                    Port::Number(n) => write!(f, ":{n}"),
                }
            }
            Endpoint::Ipc(p) => write!(f, "ipc://{p}"),
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn tcp(host: Host, port: Port) -> Endpoint {
        Endpoint::Tcp { host, port }
    }

    /// T-02, T-04, T-05: the tcp forms libzmq accepts.
    #[test]
    fn t02_tcp_forms() {
        let cases = [
            ("tcp://127.0.0.1:5555", tcp(Host::Ip(Ipv4Addr::LOCALHOST.into()), Port::Number(5555))),
            ("tcp://*:5555", tcp(Host::Any, Port::Number(5555))),
            ("tcp://*:*", tcp(Host::Any, Port::Any)),
            ("tcp://*:0", tcp(Host::Any, Port::Any)),
            ("tcp://[::1]:80", tcp(Host::Ip(Ipv6Addr::LOCALHOST.into()), Port::Number(80))),
            (
                "tcp://[fe80::1%eth0]:80",
                tcp(Host::Ip("fe80::1".parse().unwrap()), Port::Number(80)),
            ),
            ("tcp://localhost:1", tcp(Host::Name("localhost".into()), Port::Number(1))),
            (
                "tcp://my-host.example:65535",
                tcp(Host::Name("my-host.example".into()), Port::Number(65535)),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(s.parse::<Endpoint>().unwrap(), want, "{s}");
        }
    }

    /// T-01: malformed addresses are InvalidEndpoint with a reason; unknown transports are
    /// ProtocolNotSupported.
    #[test]
    fn t01_bad_endpoints_say_what_is_wrong() {
        let bad = [
            ("tcp//x:1", "expected transport://address"),
            ("tcp://x", "expected host:port"),
            ("tcp://:1", "empty host"),
            ("tcp://x:70000", "bad port"),
            ("tcp://x:-1", "bad port"),
            ("tcp://::1:5", "IPv6 addresses must be in brackets"),
            ("tcp://[::1:5", "expected [ipv6]:port"),
            ("tcp://[zz]:5", "bad IPv6 address"),
            ("tcp://a b:5", "bad host name"),
            ("tcp://a:1;b:2", "source addresses (src;dst) are not supported"),
            ("ipc://", "empty ipc path"),
            ("inproc://", "empty inproc name"),
        ];
        for (s, reason) in bad {
            match s.parse::<Endpoint>() {
                Err(Error::InvalidEndpoint { reason: r, endpoint }) => {
                    assert_eq!(r, reason, "{s}");
                    assert_eq!(endpoint, s);
                }
                other => panic!("{s}: {other:?}"),
            }
        }
        for s in ["udp://x:1", "pgm://eth0;239.1.1.1:5555", "http://x"] {
            assert!(matches!(s.parse::<Endpoint>(), Err(Error::ProtocolNotSupported(_))), "{s}");
        }
    }

    /// T-06, T-07, T-08: ipc paths and inproc names, with their length limits.
    #[test]
    fn t06_t08_ipc_and_inproc() {
        assert_eq!(
            "ipc:///tmp/a.sock".parse::<Endpoint>().unwrap(),
            Endpoint::Ipc("/tmp/a.sock".into())
        );
        assert_eq!(
            "ipc://@abstract".parse::<Endpoint>().unwrap(),
            Endpoint::Ipc("@abstract".into())
        );
        assert!(format!("ipc://{}", "a".repeat(107)).parse::<Endpoint>().is_ok());
        assert!(format!("ipc://{}", "a".repeat(108)).parse::<Endpoint>().is_err());
        assert_eq!(
            "inproc://any thing:/x".parse::<Endpoint>().unwrap(),
            Endpoint::Inproc("any thing:/x".into())
        );
        assert!(format!("inproc://{}", "é".repeat(256)).parse::<Endpoint>().is_ok());
        assert!(format!("inproc://{}", "n".repeat(257)).parse::<Endpoint>().is_err());
    }

    /// T-04: port * cannot be connected to.
    #[test]
    fn t04_connect_needs_a_concrete_address() {
        for s in ["tcp://*:5", "tcp://127.0.0.1:*", "tcp://127.0.0.1:0", "ipc://*"] {
            assert!(s.parse::<Endpoint>().unwrap().check_connectable().is_err(), "{s}");
        }
        assert!("tcp://h:5".parse::<Endpoint>().unwrap().check_connectable().is_ok());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "tcp://10.0.0.1:5",
            "tcp://[::1]:5",
            "tcp://*:*",
            "tcp://h:7",
            "ipc:///x",
            "inproc://n",
        ] {
            assert_eq!(s.parse::<Endpoint>().unwrap().to_string(), s);
        }
    }
}
