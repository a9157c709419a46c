//! The seeded fault layer between the driver and a stream. turmoil delivers a write as one
//! segment and never resets a stream, so this layer, drawing from the run's seed, splits every
//! read and write at random points, stalls reads and writes for a while (a slow reader or
//! writer), and resets the connection after a random number of bytes. It also taps the bytes
//! read, for the checker.

use crate::rng::Rng;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// How one connection misbehaves.
#[derive(Clone, Debug)]
pub struct ChaosPlan {
    /// Largest read handed up at once (reads are split uniformly in `1..=max_read`).
    pub max_read: usize,
    /// Chance that a read or write is cut to 1 to 8 bytes instead (through a frame header,
    /// the greeting, a command: anywhere).
    pub tiny: f64,
    /// The first this many bytes each way move one byte at a time.
    pub byte_by_byte: u64,
    /// Largest write passed down at once.
    pub max_write: usize,
    /// Reset the connection once this many bytes went through (read + written)...
    pub reset_after: Option<u64>,
    /// Resets and stalls happen only before this instant (faults stop at a known time).
    pub faults_until: Option<tokio::time::Instant>,
    /// Chance, per read or write, of a stall first.
    pub stall_chance: f64,
    /// Longest stall.
    pub max_stall: Duration,
}

impl ChaosPlan {
    /// A layer that changes nothing: whole reads and writes, no stalls, no reset.
    pub fn none() -> ChaosPlan {
        ChaosPlan {
            max_read: 64 * 1024,
            tiny: 0.0,
            byte_by_byte: 0,
            max_write: 64 * 1024,
            reset_after: None,
            faults_until: None,
            stall_chance: 0.0,
            max_stall: Duration::ZERO,
        }
    }
}

/// What the layer did, for the trace and the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaosEvent {
    /// The planned reset happened.
    Reset,
    /// A stall started.
    Stall,
}

type Tap = Box<dyn FnMut(&[u8])>;
type Report = Box<dyn FnMut(ChaosEvent)>;

/// A stream with seeded misbehaviour; generic over the stream so that it wraps turmoil's
/// simulated TCP as well as a real one.
pub struct Chaos<S> {
    inner: Option<S>,
    rng: Rng,
    plan: ChaosPlan,
    moved: u64,
    read_stall: Option<Pin<Box<Sleep>>>,
    write_stall: Option<Pin<Box<Sleep>>>,
    scratch: Vec<u8>,
    tap: Tap,
    tap_write: Tap,
    report: Report,
}

impl<S> Chaos<S> {
    /// Wraps `inner`; `tap` sees every byte read, `tap_write` every byte written, `report`
    /// every fault.
    pub fn new(
        inner: S,
        rng: Rng,
        plan: ChaosPlan,
        tap: impl FnMut(&[u8]) + 'static,
        tap_write: impl FnMut(&[u8]) + 'static,
        report: impl FnMut(ChaosEvent) + 'static,
    ) -> Chaos<S> {
        Chaos {
            inner: Some(inner),
            rng,
            plan,
            moved: 0,
            read_stall: None,
            write_stall: None,
            scratch: Vec::new(),
            tap: Box::new(tap),
            tap_write: Box::new(tap_write),
            report: Box::new(report),
        }
    }

    /// How much of `max` bytes the next read or write may move.
    fn chunk(&mut self, max: usize) -> usize {
        if self.moved < self.plan.byte_by_byte {
            1
        } else if self.rng.chance(self.plan.tiny) {
            self.rng.range(1, 8) as usize
        } else {
            self.rng.range(1, max as u64) as usize
        }
    }

    fn faults_allowed(&self) -> bool {
        self.plan.faults_until.is_none_or(|d| tokio::time::Instant::now() < d)
    }

    fn maybe_stall(&mut self, write: bool) {
        if self.plan.stall_chance > 0.0
            && self.rng.chance(self.plan.stall_chance)
            && self.faults_allowed()
        {
            let ms = self.plan.max_stall.as_millis() as u64;
            let d = Duration::from_millis(self.rng.range(1, ms.max(1)));
            (self.report)(ChaosEvent::Stall);
            let s = Some(Box::pin(tokio::time::sleep(d)));
            if write { self.write_stall = s } else { self.read_stall = s }
        }
    }

    fn account(&mut self, n: usize) {
        self.moved += n as u64;
        if self.plan.reset_after.is_some_and(|r| self.moved >= r) && self.faults_allowed() {
            self.plan.reset_after = None;
            // Dropping the stream is what the peer sees: an RST or a FIN.
            self.inner = None;
            (self.report)(ChaosEvent::Reset);
        }
    }
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "reset by the simulator")
}

impl<S: AsyncRead + Unpin> AsyncRead for Chaos<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(s) = this.read_stall.as_mut() {
            ready!(s.as_mut().poll(cx));
            this.read_stall = None;
        }
        if this.inner.is_none() {
            return Poll::Ready(Err(reset()));
        }
        let limit = this.chunk(this.plan.max_read).min(buf.remaining());
        let inner = this.inner.as_mut().expect("checked above");
        this.scratch.resize(limit, 0);
        let mut sub = ReadBuf::new(&mut this.scratch);
        ready!(Pin::new(inner).poll_read(cx, &mut sub))?;
        let n = sub.filled().len();
        buf.put_slice(&this.scratch[..n]);
        if n > 0 {
            (this.tap)(&this.scratch[..n]);
            this.account(n);
            this.maybe_stall(false);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Chaos<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(s) = this.write_stall.as_mut() {
            ready!(s.as_mut().poll(cx));
            this.write_stall = None;
        }
        // Tiny writes make a link crawl (one segment each): once faults stop, they stop too.
        let max = if this.faults_allowed() {
            this.plan.max_write
        } else {
            this.plan.max_write.max(16384)
        };
        if this.inner.is_none() {
            return Poll::Ready(Err(reset()));
        }
        let limit = this.chunk(max).min(buf.len());
        let inner = this.inner.as_mut().expect("checked above");
        let n = ready!(Pin::new(inner).poll_write(cx, &buf[..limit]))?;
        (this.tap_write)(&buf[..n]);
        this.account(n);
        this.maybe_stall(true);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(s) => Pin::new(s).poll_flush(cx),
            None => Poll::Ready(Err(reset())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(s) => Pin::new(s).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}
