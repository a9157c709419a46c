//! The connection driver: carries out one [`Connection`](ferromq::core::Connection)'s actions
//! on a byte stream — dial, read, write, shut the write side, drop — and reports back what the
//! stream did. It decides nothing: backoff, linger, the flush and the drain are the
//! connection's. It is generic over the stream (any tokio `AsyncRead + AsyncWrite`), so the
//! same loop runs over turmoil's simulated TCP under the [`Chaos`](crate::chaos::Chaos) layer,
//! or over a real tokio `TcpStream` (`sim/tests/real_tokio.rs`).

use ferromq::core::READ_CHUNK;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

/// Bytes read per call.
pub const READ_BUF: usize = 16 * 1024;
/// Bytes handed to one write call at most.
const WRITE_MAX: usize = 16 * 1024;

/// What the connection asked of the stream (its [`Action`](ferromq::core::Action)s that
/// concern the stream; the others go to the socket and the checker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamAction {
    /// Start a dial.
    Dial,
    /// Give the dial in progress up.
    AbortDial,
    /// Send FIN.
    ShutdownWrite,
    /// Close and forget the stream.
    Drop,
    /// The connection is finished: the driver returns.
    Finished,
}

/// A connection's state, as the driver needs it.
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkState {
    /// Read from the stream now.
    pub wants_input: bool,
    /// Output bytes pending.
    pub pending: usize,
    /// The next timer.
    pub timeout: Option<Instant>,
}

/// A dial in progress.
pub type Dialing<S> = Pin<Box<dyn Future<Output = io::Result<S>>>>;

/// A stream split for reading and writing at once.
type Halves<S> = (ReadHalf<S>, WriteHalf<S>);

/// What the driver needs from the connection's owner, which keeps the connection and routes
/// its socket-bound actions after every call.
pub trait ConnLink {
    /// The stream type.
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    /// Applies pending commands for the connection and routes its actions; returns its state.
    fn service(&self, now: Instant) -> LinkState;
    /// The next thing to do to the stream.
    fn next_stream_action(&self) -> Option<StreamAction>;
    /// Copies up to `max` pending output bytes into `out`.
    fn output(&self, out: &mut Vec<u8>, max: usize);
    /// Bytes arrived, or some are still waiting in `inbox`: hand them over with [`feed`],
    /// which takes what the connection takes and leaves the rest.
    fn input(&self, now: Instant, inbox: &mut Vec<u8>);
    /// The stream ended or failed.
    fn eof(&self, now: Instant);
    /// `n` output bytes were written.
    fn advance(&self, now: Instant, n: usize);
    /// Timers are due.
    fn timeout(&self, now: Instant);
    /// The dial completed.
    fn connected(&self, now: Instant);
    /// The dial failed.
    fn dial_failed(&self, now: Instant);
    /// Starts a dial to wherever this connection goes.
    fn dial(&self) -> Dialing<Self::Stream>;
    /// Resolves when the owner has something new for the connection.
    fn changed(&self) -> impl Future<Output = ()>;
}

/// The driver's clock: tokio's, which is virtual under turmoil.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

enum Wake<S> {
    Changed,
    Read(io::Result<usize>),
    Wrote(io::Result<usize>),
    Dialed(S),
    DialFailed,
    Timer,
}

/// Runs one connection until it is finished, starting with `stream` (an accepted one) or
/// none (a connect side, which asks to dial).
pub async fn drive<L: ConnLink>(link: &L, stream: Option<L::Stream>) {
    let mut rbuf = vec![0u8; READ_BUF];
    // Bytes read from the stream that the connection has not taken yet, as a socket's receive
    // buffer holds them: fed before the stream is read again.
    let mut inbox = Vec::new();
    let mut io: Option<Halves<L::Stream>> = stream.map(tokio::io::split);
    let mut dialing: Option<Dialing<L::Stream>> = None;
    // A copy of the head of the connection's output; refilled only once written, so that
    // many small writes do not copy it again each time.
    let mut out = Vec::new();
    let mut out_pos = 0;
    // The stream ended or failed: the connection may still deliver complete messages it holds
    // before it drops the stream; until then the stream is left alone.
    let mut eof = false;
    loop {
        let st = link.service(now());
        if let Some(a) = link.next_stream_action() {
            match a {
                StreamAction::Dial => dialing = Some(link.dial()),
                StreamAction::AbortDial => dialing = None,
                StreamAction::ShutdownWrite => {
                    let failed = match io.as_mut() {
                        Some((_, w)) => w.shutdown().await.is_err(),
                        None => true,
                    };
                    if failed {
                        link.eof(now());
                    }
                }
                StreamAction::Drop => {
                    io = None;
                    inbox.clear();
                    eof = false;
                    out.clear();
                    out_pos = 0;
                }
                StreamAction::Finished => return,
            }
            continue;
        }
        if st.wants_input && !inbox.is_empty() && io.is_some() {
            let before = inbox.len();
            link.input(now(), &mut inbox);
            if inbox.len() < before {
                continue;
            }
        }
        // Output only shrinks by our writes, unless the connection dropped it: then the copy
        // is stale.
        if out_pos == out.len() || st.pending < out.len() - out_pos {
            out.clear();
            out_pos = 0;
            if st.pending > 0 && !eof && io.is_some() {
                link.output(&mut out, WRITE_MAX);
            }
        }
        let deadline = st.timeout.map(tokio::time::Instant::from_std);
        let up = io.is_some() && !eof;
        let (rd, wr) = match io.as_mut() {
            Some((r, w)) => (Some(r), Some(w)),
            None => (None, None),
        };
        let wake = tokio::select! {
            biased;
            () = link.changed() => Wake::Changed,
            r = read(rd, &mut rbuf), if st.wants_input && up && inbox.is_empty() => Wake::Read(r),
            r = write(wr, &out[out_pos..]), if out_pos < out.len() && up => Wake::Wrote(r),
            r = dial(&mut dialing), if dialing.is_some() => match r {
                Ok(s) => Wake::Dialed(s),
                Err(_) => Wake::DialFailed,
            },
            () = sleep_until(deadline), if deadline.is_some() => Wake::Timer,
        };
        match wake {
            Wake::Changed => {}
            Wake::Read(Ok(n)) if n > 0 => {
                inbox.extend_from_slice(&rbuf[..n]);
                link.input(now(), &mut inbox);
            }
            Wake::Read(_) => {
                eof = true;
                link.eof(now());
            }
            Wake::Wrote(Ok(n)) if n > 0 => {
                out_pos += n;
                link.advance(now(), n);
            }
            // A stream that takes nothing is closed.
            Wake::Wrote(_) => {
                eof = true;
                link.eof(now());
            }
            Wake::Dialed(s) => {
                dialing = None;
                io = Some(tokio::io::split(s));
                eof = false;
                link.connected(now());
            }
            Wake::DialFailed => {
                dialing = None;
                link.dial_failed(now());
            }
            Wake::Timer => link.timeout(now()),
        }
    }
}

async fn read<R: AsyncRead + Unpin>(r: Option<&mut R>, buf: &mut [u8]) -> io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn write<W: AsyncWrite + Unpin>(w: Option<&mut W>, buf: &[u8]) -> io::Result<usize> {
    match w {
        Some(w) => w.write(buf).await,
        None => std::future::pending().await,
    }
}

async fn dial<S>(d: &mut Option<Dialing<S>>) -> io::Result<S> {
    match d.as_mut() {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    if let Some(t) = t {
        tokio::time::sleep_until(t).await;
    }
}

/// Hands the bytes waiting in `inbox` to `conn` as the runtime hands it a socket's: straight
/// into its input buffer ([`Connection::read_input`] with [`READ_CHUNK`], as much as it makes
/// room for each time, so that its rules for large frames run here too), for as long as it
/// wants input; what it no longer reads into its buffer (arriving after our FIN, only
/// drained) through `handle_input`, which discards it. The rest stays for the next time.
///
/// [`Connection::read_input`]: ferromq::core::Connection::read_input
pub fn feed(conn: &mut ferromq::core::Connection, now: Instant, inbox: &mut Vec<u8>) {
    let mut taken = 0;
    while taken < inbox.len() && conn.wants_input() {
        let rest = &inbox[taken..];
        let got = conn.read_input(now, READ_CHUNK, |input, room| {
            let n = room.min(rest.len());
            input.extend_from_slice(&rest[..n]);
            Ok::<usize, std::convert::Infallible>(n)
        });
        match got {
            Some(Ok(0)) => break,
            Some(Ok(n)) => taken += n,
            None => {
                conn.handle_input(now, rest);
                taken = inbox.len();
            }
        }
    }
    inbox.drain(..taken);
}

/// Copies the head of a connection's pending output into `out` (up to `max` bytes in all):
/// what a [`ConnLink::output`] implementation usually does.
pub fn copy_output(conn: &ferromq::core::Connection, out: &mut Vec<u8>, max: usize) {
    let mut iov = [std::io::IoSlice::new(&[]); 16];
    let n = conn.transmit_chunks(&mut iov);
    for c in &iov[..n] {
        let room = max - out.len();
        if room == 0 {
            break;
        }
        out.extend_from_slice(&c[..c.len().min(room)]);
    }
}
