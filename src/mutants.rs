//! Planted bugs, for proving that the simulator finds real bugs (feature `mutants`).
//!
//! Each [`Mutant`] is a known defect compiled into the real stack (pipes, sessions, connection
//! lifecycles, socket cores) behind its own switch. They are all off until [`set`] turns one on; the switches are process-wide
//! because the simulator's sweep threads must all run the same broken build. Without the
//! `mutants` feature none of this exists and every check compiles to `false`.
//!
//! ```
//! use ferromq::mutants::{self, Mutant};
//! mutants::set(Mutant::HwmOffByOne, true);
//! assert!(mutants::is_on(Mutant::HwmOffByOne));
//! mutants::set(Mutant::HwmOffByOne, false);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

/// One planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutant {
    /// A session drops the first message frame that arrives on a connection after a
    /// reconnect.
    FrameDroppedAfterReconnect,
    /// A session hands pairs of single-part messages to its engine swapped.
    ReorderedOutput,
    /// A pipe's flush never reports a sleeping reader, so no wake-up is sent.
    MissedWakeup,
    /// A pipe accepts one message more than its high-water mark.
    HwmOffByOne,
    /// The rest of a multipart message half-written to a dead connection is sent on the next
    /// one instead of being discarded.
    MultipartSplitAtReconnect,
    /// LINGER drops queued messages at once, as if it were zero.
    LingerDropsQueued,
    /// The reconnect wait never doubles: RECONNECT_IVL_MAX is ignored.
    BackoffNeverGrows,
    /// A closing connection drops its stream without flushing what it still owes, or draining
    /// (libzmq's #4660: the tail of a stream lost at close).
    CloseBeforeFlush,
    /// A closing connection drops its stream as soon as everything is written, without FIN
    /// and drain: with input still unread, the close resets the connection, and what the
    /// kernel had not sent yet is lost.
    SkipDrain,
    /// A connection lingers with the LINGER of its socket when it was made, not the one in
    /// force when the socket lets it go (O-02).
    LingerNotReapplied,
    /// A socket never hears that a full pipe can take messages again: its sends block for
    /// good while the connection stays up.
    LostActivateWrite,
    /// After its first reconnect a session stops moving messages from its pipe into the
    /// engine, while the connection stays up.
    SessionStopsFeeding,
    /// A PAIR takes a second peer instead of refusing it (PAIR-02), and never reads it.
    PairTakesSecondPeer,
    /// A REQ takes a reply from a peer it did not send the request to (REQ-05).
    ReqAcceptsAnyPeer,
    /// A REP sends a reply back with the envelope of the request before (REP-02).
    RepWrongEnvelope,
    /// A ROUTER's generated routing ids repeat, so a peer that reconnects takes over the id
    /// of another (ROUTER-04).
    RouterReusesIds,
    /// A ROUTER with ROUTER_MANDATORY drops a message for a full peer instead of blocking
    /// (ROUTER-03).
    RouterDropsWhenFull,
    /// Only newly read bytes count as a sign of life, not frames decoded later from input a
    /// slow application held back (W-27): a live peer behind a slow reader is timed out.
    SlowReaderTimesOut,
    /// A SUB does not send its subscriptions again when its connection to a publisher is
    /// replaced (SUB-07), nor to a publisher that attaches late (SUB-02).
    NoReplayAfterReconnect,
    /// A SUB sends CANCEL upstream on the first of two unsubscribes from a topic it
    /// subscribed to twice (SUB-04).
    CancelOnFirstUnsubscribe,
    /// A publisher's prefix match stops one byte short: a message whose first frame is
    /// exactly a subscribed topic is not delivered (PUB-01).
    PrefixMatchOffByOne,
    /// A PUB blocks at a subscriber's high-water mark instead of dropping that subscriber's
    /// copy (PUB-04).
    PubBlocksAtHwm,
    /// A conflating pipe's close replaces the message not yet read, as libzmq's delimiter
    /// does: the last message sent before a close is lost (Q-10).
    ConflateCloseDropsLast,
    /// A conflating pipe keeps the oldest unread message instead of the newest (Q-10).
    ConflateKeepsOldest,
    /// A proxy reads a message whatever room its destination has, and drops it when the
    /// destination refuses it (a broker with no worker yet loses the requests).
    ProxyIgnoresRoom,
    /// An I/O thread takes a short read for "drained" even after the peer hung up, so the end
    /// of a stream that came with its last bytes is never read: the connection never finishes
    /// closing (the runtime driver; the simulator does not run it).
    ShortReadIgnoresHangup,
    /// In the low-latency mode, an I/O thread that left its work to a helping user thread
    /// takes it back only ten seconds after that thread stopped calling, not one budget
    /// later: meanwhile what arrives is not read (the runtime driver; the simulator does not
    /// run it).
    IoThreadStaysQuiet,
    /// In the low-latency mode, an I/O thread tells the senders of commands that it is not
    /// in `epoll_wait` even while it sleeps there, so nobody rings it: a message sent while
    /// no user thread helps waits for the next timer, or for ever (the runtime driver; the
    /// simulator does not run it).
    PollGoesUnrung,
    /// A user thread that leads its I/O thread's loop (a blocking call in the default mode)
    /// is not rung when its socket is notified from another thread: it sleeps on in
    /// `epoll_wait`, and an inproc message or a closing context waits for the next network
    /// event or the call's timeout (the runtime driver; the simulator does not run it).
    LeaderGoesUnrung,
    /// A session keeps every message it used up for the thread that wrote it, never handing
    /// a batch back and never dropping one: memory grows with every heap-bodied message sent
    /// (`pipe::return_spent`).
    SpentPilesUp,
    /// A home takes back every body another thread gives it, past its bounds: an owner that
    /// stops allocating holds every body its peers dropped since (`msg::home`).
    HomeOverflows,
    /// A thread never frees the bodies given back to its home: they wait there, up to its
    /// bounds, and everything past them is freed by the threads that dropped them, as if
    /// there were no homes (`msg::home`).
    HomeNeverDrained,
    /// A thread never takes back the bodies it made with `MsgBuf`: each one is
    /// allocated afresh, and those that come back wait, up to the bounds, to be freed
    /// (`msg::home`).
    ReuseForgets,
    /// A session moves whatever its pipe holds into the engine, however much already waits
    /// to be written: behind a stalled peer a connection's output grows without bound, and the
    /// sender, whose pipe keeps emptying, never meets its high-water mark.
    BacklogUnbounded,
    /// A body made with a `MsgBuf` takes a new reference count for each message instead of
    /// the one it came back in: a stream of reused bodies allocates (and its receiver frees)
    /// one small box per message (`msg::home`).
    ShellPerMessage,
    /// Of the holders of a homed body who drop it at once on several threads, each having seen
    /// the others, none sends it home: it is freed where it was dropped last, on another
    /// thread, and a reused body is lost to its thread (`msg::home`).
    FanOutFreedAway,
    /// The encoder gives each homed body it writes by reference (8 KiB or more, over tcp and
    /// ipc) a `Bytes` of its own: one small box per message, made and freed by the I/O thread
    /// (`proto::frame::Encoder`).
    BoxPerWrite,
    /// A blocked call whose deadline passed clears its signal's bit with a relaxed store, not
    /// an acquire swap: a notify that raced the timeout is cleared without its notifier's
    /// writes becoming visible, so the caller can miss the message that came and sleep
    /// through it in its next call (`runtime::signal::Signal::wait`).
    StaleAfterTimeout,
    /// An I/O thread ending a grace that ran out clears it with a store, not a
    /// compare-exchange: a helper that left again meanwhile loses its grace, and the I/O
    /// thread takes the loop back from a user thread in the middle of a round trip (a
    /// hand-over and a wake-up it did not need; nothing is lost) (`runtime::gate`).
    GraceErased,
    /// A call spinning on its signal in the low-latency mode clears the bit with a load and a
    /// store, not a compare-exchange: a second notify landing between them is lost with the
    /// first, and the call can sleep through the message it brought
    /// (`runtime::signal::Signal::spin_until`).
    SpinLosesNotify,
}

impl Mutant {
    /// Every mutant.
    pub const ALL: [Mutant; 40] = [
        Mutant::FrameDroppedAfterReconnect,
        Mutant::ReorderedOutput,
        Mutant::MissedWakeup,
        Mutant::HwmOffByOne,
        Mutant::MultipartSplitAtReconnect,
        Mutant::LingerDropsQueued,
        Mutant::BackoffNeverGrows,
        Mutant::CloseBeforeFlush,
        Mutant::SkipDrain,
        Mutant::LingerNotReapplied,
        Mutant::LostActivateWrite,
        Mutant::SessionStopsFeeding,
        Mutant::PairTakesSecondPeer,
        Mutant::ReqAcceptsAnyPeer,
        Mutant::RepWrongEnvelope,
        Mutant::RouterReusesIds,
        Mutant::RouterDropsWhenFull,
        Mutant::SlowReaderTimesOut,
        Mutant::NoReplayAfterReconnect,
        Mutant::CancelOnFirstUnsubscribe,
        Mutant::PrefixMatchOffByOne,
        Mutant::PubBlocksAtHwm,
        Mutant::ConflateCloseDropsLast,
        Mutant::ConflateKeepsOldest,
        Mutant::ProxyIgnoresRoom,
        Mutant::ShortReadIgnoresHangup,
        Mutant::IoThreadStaysQuiet,
        Mutant::PollGoesUnrung,
        Mutant::LeaderGoesUnrung,
        Mutant::SpentPilesUp,
        Mutant::HomeOverflows,
        Mutant::HomeNeverDrained,
        Mutant::ReuseForgets,
        Mutant::BacklogUnbounded,
        Mutant::ShellPerMessage,
        Mutant::FanOutFreedAway,
        Mutant::BoxPerWrite,
        Mutant::StaleAfterTimeout,
        Mutant::GraceErased,
        Mutant::SpinLosesNotify,
    ];

    /// Its command-line name (kebab case).
    pub fn name(self) -> &'static str {
        match self {
            Mutant::FrameDroppedAfterReconnect => "frame-dropped-after-reconnect",
            Mutant::ReorderedOutput => "reordered-output",
            Mutant::MissedWakeup => "missed-wakeup",
            Mutant::HwmOffByOne => "hwm-off-by-one",
            Mutant::MultipartSplitAtReconnect => "multipart-split-at-reconnect",
            Mutant::LingerDropsQueued => "linger-drops-queued",
            Mutant::BackoffNeverGrows => "backoff-never-grows",
            Mutant::CloseBeforeFlush => "close-before-flush",
            Mutant::SkipDrain => "skip-drain",
            Mutant::LingerNotReapplied => "linger-not-reapplied",
            Mutant::LostActivateWrite => "lost-activate-write",
            Mutant::SessionStopsFeeding => "session-stops-feeding",
            Mutant::PairTakesSecondPeer => "pair-takes-second-peer",
            Mutant::ReqAcceptsAnyPeer => "req-accepts-any-peer",
            Mutant::RepWrongEnvelope => "rep-wrong-envelope",
            Mutant::RouterReusesIds => "router-reuses-ids",
            Mutant::RouterDropsWhenFull => "router-drops-when-full",
            Mutant::SlowReaderTimesOut => "slow-reader-times-out",
            Mutant::NoReplayAfterReconnect => "no-replay-after-reconnect",
            Mutant::CancelOnFirstUnsubscribe => "cancel-on-first-unsubscribe",
            Mutant::PrefixMatchOffByOne => "prefix-match-off-by-one",
            Mutant::PubBlocksAtHwm => "pub-blocks-at-hwm",
            Mutant::ConflateCloseDropsLast => "conflate-close-drops-last",
            Mutant::ConflateKeepsOldest => "conflate-keeps-oldest",
            Mutant::ProxyIgnoresRoom => "proxy-ignores-room",
            Mutant::ShortReadIgnoresHangup => "short-read-ignores-hangup",
            Mutant::IoThreadStaysQuiet => "io-thread-stays-quiet",
            Mutant::PollGoesUnrung => "poll-goes-unrung",
            Mutant::LeaderGoesUnrung => "leader-goes-unrung",
            Mutant::SpentPilesUp => "spent-piles-up",
            Mutant::HomeOverflows => "home-overflows",
            Mutant::HomeNeverDrained => "home-never-drained",
            Mutant::ReuseForgets => "reuse-forgets",
            Mutant::BacklogUnbounded => "backlog-unbounded",
            Mutant::ShellPerMessage => "shell-per-message",
            Mutant::FanOutFreedAway => "fan-out-freed-away",
            Mutant::BoxPerWrite => "box-per-write",
            Mutant::StaleAfterTimeout => "stale-after-timeout",
            Mutant::GraceErased => "grace-erased",
            Mutant::SpinLosesNotify => "spin-loses-notify",
        }
    }

    /// The mutant called `name` (see [`Mutant::name`]).
    pub fn from_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.into_iter().find(|m| m.name() == name)
    }

    fn bit(self) -> u64 {
        1 << self as u64
    }
}

static ON: AtomicU64 = AtomicU64::new(0);

/// Turns a planted bug on or off for the whole process.
pub fn set(m: Mutant, on: bool) {
    if on {
        ON.fetch_or(m.bit(), Ordering::Relaxed);
    } else {
        ON.fetch_and(!m.bit(), Ordering::Relaxed);
    }
}

/// Turns on the planted bug that `FERROMQ_MUTANT` names (kebab case), if it names one: how a
/// test over real sockets is run with a bug in it (`scripts/mutants_runtime.sh`).
///
/// # Panics
/// If `FERROMQ_MUTANT` is set to a name no mutant has: a mistyped case must not pass as
/// caught-by-nothing.
pub fn plant_from_env() {
    if let Ok(name) = std::env::var("FERROMQ_MUTANT") {
        let m = Mutant::from_name(&name)
            .unwrap_or_else(|| panic!("FERROMQ_MUTANT={name}: no such mutant"));
        set(m, true);
    }
}

/// Whether a planted bug is on.
pub fn is_on(m: Mutant) -> bool {
    ON.load(Ordering::Relaxed) & m.bit() != 0
}
