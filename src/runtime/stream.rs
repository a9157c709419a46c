//! The byte streams the runtime drives: TCP and Unix-domain sockets, behind one type.

use crate::endpoint::{Endpoint, Host, Port};
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

pub(crate) enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

/// What the OS applies to each connection's socket: TCP keepalive (O-11) and the kernel's
/// buffer sizes (O-12); `None` fields keep the OS's values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tuning {
    pub(crate) on: Option<bool>,
    pub(crate) idle: Option<std::time::Duration>,
    pub(crate) intvl: Option<std::time::Duration>,
    pub(crate) cnt: Option<u32>,
    pub(crate) sndbuf: Option<usize>,
    pub(crate) rcvbuf: Option<usize>,
}

impl Tuning {
    /// TCP_KEEPALIVE, _IDLE, _INTVL, _CNT, SNDBUF and RCVBUF from a socket's options.
    pub(crate) fn from_options(o: &crate::SocketOptions) -> Tuning {
        Tuning {
            on: o.tcp_keepalive,
            idle: o.tcp_keepalive_idle,
            intvl: o.tcp_keepalive_intvl,
            cnt: o.tcp_keepalive_cnt,
            sndbuf: o.sndbuf,
            rcvbuf: o.rcvbuf,
        }
    }

    fn apply_buffers(&self, sock: socket2::SockRef<'_>) -> io::Result<()> {
        if let Some(n) = self.sndbuf {
            sock.set_send_buffer_size(n)?;
        }
        if let Some(n) = self.rcvbuf {
            sock.set_recv_buffer_size(n)?;
        }
        Ok(())
    }

    fn apply(&self, s: &mio::net::TcpStream) -> io::Result<()> {
        self.apply_buffers(socket2::SockRef::from(s))?;
        let sock = socket2::SockRef::from(s);
        if let Some(on) = self.on {
            sock.set_keepalive(on)?;
        }
        if self.on == Some(true) {
            let mut k = socket2::TcpKeepalive::new();
            if let Some(t) = self.idle {
                k = k.with_time(t);
            }
            if let Some(t) = self.intvl {
                k = k.with_interval(t);
            }
            if let Some(n) = self.cnt {
                k = k.with_retries(n);
            }
            sock.set_tcp_keepalive(&k)?;
        }
        Ok(())
    }
}

impl Stream {
    /// Applies per-connection settings: buffer sizes, and keepalive for TCP.
    pub(crate) fn configure(&self, k: &Tuning) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => k.apply(s),
            Stream::Unix(s) => k.apply_buffers(socket2::SockRef::from(s)),
        }
    }

    /// Starts a non-blocking connect. Names are resolved here (T-04).
    pub(crate) fn connect(target: &Endpoint) -> io::Result<Stream> {
        match target {
            Endpoint::Tcp { host, port: Port::Number(port) } => {
                let addr = resolve(host, *port)?;
                let s = mio::net::TcpStream::connect(addr)?;
                Ok(Stream::Tcp(s))
            }
            Endpoint::Ipc(path) => Ok(Stream::Unix(mio::net::UnixStream::connect(ipc_path(path))?)),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a dialable endpoint")),
        }
    }

    /// Sends FIN: no more bytes from us; the peer can still send until it closes too.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        }
    }

    /// Whether a connect in progress has finished: `Ok(false)` while in progress.
    pub(crate) fn connected(&mut self) -> io::Result<bool> {
        match self {
            Stream::Tcp(s) => {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => {
                        // O-11: TCP_NODELAY on every TCP socket.
                        s.set_nodelay(true)?;
                        Ok(true)
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Stream::Unix(s) => {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                Ok(true)
            }
        }
    }
}

fn resolve(host: &Host, port: u16) -> io::Result<SocketAddr> {
    match host {
        Host::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
        // IPv4 first, as libzmq does with its default IPV6=0 (O-10): "localhost" must reach
        // a listener on 127.0.0.1 even where it also resolves to ::1.
        Host::Name(name) => {
            let addrs: Vec<SocketAddr> = (name.as_str(), port).to_socket_addrs()?.collect();
            addrs
                .iter()
                .find(|a| a.is_ipv4())
                .or(addrs.first())
                .copied()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host name did not resolve"))
        }
        Host::Any => Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot connect to *")),
    }
}

/// The bind address of a tcp endpoint (`*` is every IPv4 interface).
pub(crate) fn bind_addr(host: &Host, port: Port) -> io::Result<SocketAddr> {
    let port = match port {
        Port::Any => 0,
        Port::Number(n) => n,
    };
    match host {
        Host::Any => Ok(SocketAddr::from(([0, 0, 0, 0], port))),
        h => resolve(h, port),
    }
}

/// `@name` is the Linux abstract namespace; everything else a filesystem path.
pub(crate) fn ipc_path(path: &str) -> PathBuf {
    PathBuf::from(path)
}

impl Stream {
    /// Reads at most `most` bytes onto the end of `buf`, into its spare capacity, which is not
    /// initialized: the kernel writes it, so no zeroing and no copy from a buffer of our own.
    /// Returns how many bytes arrived.
    #[allow(unsafe_code)]
    pub(crate) fn recv_into(&self, buf: &mut bytes::BytesMut, most: usize) -> io::Result<usize> {
        let spare = buf.spare_capacity_mut();
        let take = most.min(spare.len());
        let spare = &mut spare[..take];
        let n = match self {
            Stream::Tcp(s) => socket2::SockRef::from(s).recv(spare)?,
            Stream::Unix(s) => socket2::SockRef::from(s).recv(spare)?,
        };
        // SAFETY: socket2's `recv` returns how many bytes at the start of `spare` it
        // initialized (the kernel wrote them); `spare` began at `buf.len()`, and `n` is at
        // most its length.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Unix(s) => s.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Unix(s) => s.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Unix(s) => s.deregister(r),
        }
    }
}

pub(crate) enum Listener {
    Tcp(mio::net::TcpListener),
    /// The path is removed when the listener is dropped.
    Unix(mio::net::UnixListener, Option<PathBuf>),
}

impl Listener {
    pub(crate) fn accept(&mut self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
            Listener::Unix(l, _) => Ok(Stream::Unix(l.accept()?.0)),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, Some(path)) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl mio::event::Source for Listener {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(r, t, i),
            Listener::Unix(l, _) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(r, t, i),
            Listener::Unix(l, _) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(r),
            Listener::Unix(l, _) => l.deregister(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// O-11, O-12: keepalive and buffer options reach the socket; `None` leaves the OS's values
    /// alone.
    #[test]
    fn o11_o12_keepalive_and_buffer_settings_are_applied() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = mio::net::TcpStream::from_std(
            std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap(),
        );
        let sock = socket2::SockRef::from(&s);
        let before = sock.keepalive().unwrap();
        Tuning::default().apply(&s).unwrap();
        assert_eq!(sock.keepalive().unwrap(), before);
        let k = Tuning {
            on: Some(true),
            idle: Some(Duration::from_secs(42)),
            intvl: Some(Duration::from_secs(7)),
            cnt: Some(3),
            sndbuf: Some(8192),
            rcvbuf: Some(16384),
        };
        k.apply(&s).unwrap();
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(42));
        assert_eq!(sock.tcp_keepalive_interval().unwrap(), Duration::from_secs(7));
        assert_eq!(sock.tcp_keepalive_retries().unwrap(), 3);
        // O-12: Linux doubles the value asked for (its bookkeeping overhead).
        assert_eq!(sock.send_buffer_size().unwrap(), 2 * 8192);
        assert_eq!(sock.recv_buffer_size().unwrap(), 2 * 16384);
        Tuning { on: Some(false), ..Tuning::default() }.apply(&s).unwrap();
        assert!(!sock.keepalive().unwrap());
    }
}
