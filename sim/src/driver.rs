//! The connection driver: feeds one [`Session`] from a byte stream and
//! writes what it produces, until the connection ends. It is generic over the stream (any
//! tokio `AsyncRead + AsyncWrite`), so the same loop runs over turmoil's simulated TCP, under
//! the [`Chaos`](crate::chaos::Chaos) layer, or over a real tokio `TcpStream`.

use ferromq::core::Session;
use std::future::Future;
use std::io::IoSlice;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes read per call.
pub const READ_BUF: usize = 16 * 1024;
/// Bytes handed to one write call at most.
const WRITE_MAX: usize = 16 * 1024;

/// What the driver needs from the session's owner. The owner keeps the session and routes
/// its actions (pipe commands, attach, monitor-like events) after every call.
pub trait SessionLink {
    /// Applies pending pipe commands and routes the session's actions; returns its state.
    fn service(&self, now: Instant) -> LinkState;
    /// Copies up to `max` pending output bytes into `out`.
    fn output(&self, out: &mut Vec<u8>, max: usize);
    /// Bytes arrived.
    fn input(&self, now: Instant, data: &[u8]);
    /// The stream ended or failed.
    fn eof(&self, now: Instant);
    /// `n` output bytes were written.
    fn advance(&self, now: Instant, n: usize);
    /// Timers are due.
    fn timeout(&self, now: Instant);
    /// Resolves when the owner has something new for the session (a pipe command).
    fn changed(&self) -> impl Future<Output = ()>;
    /// The connection was dropped with output still unwritten (linger ran out, or the
    /// stream failed while the last bytes were flushed).
    fn unflushed(&self, pending: usize);
}

/// A session's state, as the driver needs it.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkState {
    /// Read from the stream now.
    pub wants_input: bool,
    /// Output bytes pending.
    pub pending: usize,
    /// The next timer.
    pub timeout: Option<Instant>,
    /// The connection ended (`Some(reconnect)`).
    pub disconnected: Option<bool>,
    /// The session is finished.
    pub terminated: bool,
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The session wants another connection.
    Reconnect,
    /// The session lives on without a connection (it is terminating) or is finished.
    Done,
}

/// The driver's clock: tokio's, which is virtual under turmoil.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Runs one connection. Before returning, writes what the session still owes the peer (an
/// ERROR, or the last messages after linger drained the pipe) within `flush_within`.
pub async fn drive<S, L>(stream: &mut S, link: &L, flush_within: Duration) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin,
    L: SessionLink,
{
    let mut rbuf = vec![0u8; READ_BUF];
    // A copy of the head of the session's output; refilled only once written, so that
    // many small writes do not copy it again each time.
    let mut out = Vec::new();
    let mut out_pos = 0;
    let (mut rd, mut wr) = tokio::io::split(&mut *stream);
    // The stream ended or failed: the session may still deliver complete messages it holds
    // (its pipe was full) before it reports the end; until then the stream is left alone.
    let mut eof = false;
    loop {
        let st = link.service(now());
        if let Some(reconnect) = st.disconnected {
            let deadline = tokio::time::Instant::now() + flush_within;
            if st.pending > 0 {
                let _ = tokio::time::timeout_at(deadline, flush(&mut wr, link)).await;
                let left = link.service(now()).pending;
                if left > 0 {
                    link.unflushed(left);
                }
            }
            if st.terminated {
                // A graceful close: send FIN, then read (and drop) until the peer closes too.
                // Dropping a socket with unread input sends an RST, and an RST can overtake
                // the last messages just flushed and make the peer discard them.
                let _ = tokio::time::timeout_at(deadline, async {
                    let _ = wr.shutdown().await;
                    while let Ok(n) = rd.read(&mut rbuf).await {
                        if n == 0 {
                            break;
                        }
                    }
                })
                .await;
            }
            return if reconnect { Ending::Reconnect } else { Ending::Done };
        }
        // Output only shrinks by our writes, unless the engine dropped it (it failed): then
        // the copy is stale.
        if out_pos == out.len() || st.pending < out.len() - out_pos {
            out.clear();
            out_pos = 0;
            if st.pending > 0 && !eof {
                link.output(&mut out, WRITE_MAX);
            }
        }
        let deadline = st.timeout.map(tokio::time::Instant::from_std);
        tokio::select! {
            biased;
            () = link.changed() => {}
            r = rd.read(&mut rbuf), if st.wants_input && !eof => match r {
                Ok(0) | Err(_) => {
                    eof = true;
                    link.eof(now());
                }
                Ok(n) => link.input(now(), &rbuf[..n]),
            },
            r = wr.write(&out[out_pos..]), if out_pos < out.len() && !eof => match r {
                Ok(n) if n > 0 => {
                    out_pos += n;
                    link.advance(now(), n);
                }
                // A stream that takes nothing is closed.
                Ok(_) | Err(_) => {
                    eof = true;
                    link.eof(now());
                }
            },
            () = sleep_until(deadline), if deadline.is_some() => link.timeout(now()),
        }
    }
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    if let Some(t) = t {
        tokio::time::sleep_until(t).await;
    }
}

async fn flush<S: AsyncWrite + Unpin, L: SessionLink>(stream: &mut S, link: &L) {
    let mut out = Vec::new();
    loop {
        out.clear();
        link.output(&mut out, WRITE_MAX);
        if out.is_empty() {
            let _ = stream.flush().await;
            return;
        }
        match stream.write(&out).await {
            Ok(n) if n > 0 => link.advance(now(), n),
            _ => return,
        }
    }
}

/// Copies the head of `session`'s pending output into `out` (up to `max` bytes in all): what
/// a [`SessionLink::output`] implementation usually does.
pub fn copy_output(session: &Session, out: &mut Vec<u8>, max: usize) {
    let mut iov = [IoSlice::new(&[]); 16];
    let n = session.transmit_chunks(&mut iov);
    for c in &iov[..n] {
        let room = max - out.len();
        if room == 0 {
            break;
        }
        out.extend_from_slice(&c[..c.len().min(room)]);
    }
}
