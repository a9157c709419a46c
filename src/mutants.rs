//! Planted bugs, for proving that the simulator finds real bugs (feature `mutants`).
//!
//! Each [`Mutant`] is a known defect compiled into the real stack (pipes, sessions) behind its
//! own switch. They are all off until [`set`] turns one on; the switches are process-wide
//! because the simulator's sweep threads must all run the same broken build. Without the
//! `mutants` feature none of this exists and every check compiles to `false`.
//!
//! ```
//! use ferromq::mutants::{self, Mutant};
//! mutants::set(Mutant::HwmOffByOne, true);
//! assert!(mutants::is_on(Mutant::HwmOffByOne));
//! mutants::set(Mutant::HwmOffByOne, false);
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

/// One planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutant {
    /// A session drops the first message frame that arrives on a connection after a
    /// reconnect.
    FrameDroppedAfterReconnect,
    /// A pipe's flush publishes a batch with pairs of messages swapped.
    ReorderingFlush,
    /// A pipe's flush never reports a sleeping reader, so no wake-up is sent.
    MissedWakeup,
    /// A pipe accepts one message more than its high-water mark.
    HwmOffByOne,
    /// The rest of a multipart message half-written to a dead connection is sent on the next
    /// one instead of being discarded.
    MultipartSplitAtReconnect,
    /// LINGER drops queued messages at once, as if it were zero.
    LingerDropsQueued,
}

impl Mutant {
    /// Every mutant.
    pub const ALL: [Mutant; 6] = [
        Mutant::FrameDroppedAfterReconnect,
        Mutant::ReorderingFlush,
        Mutant::MissedWakeup,
        Mutant::HwmOffByOne,
        Mutant::MultipartSplitAtReconnect,
        Mutant::LingerDropsQueued,
    ];

    /// Its command-line name (kebab case).
    pub fn name(self) -> &'static str {
        match self {
            Mutant::FrameDroppedAfterReconnect => "frame-dropped-after-reconnect",
            Mutant::ReorderingFlush => "reordering-flush",
            Mutant::MissedWakeup => "missed-wakeup",
            Mutant::HwmOffByOne => "hwm-off-by-one",
            Mutant::MultipartSplitAtReconnect => "multipart-split-at-reconnect",
            Mutant::LingerDropsQueued => "linger-drops-queued",
        }
    }

    /// The mutant called `name` (see [`Mutant::name`]).
    pub fn from_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.into_iter().find(|m| m.name() == name)
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

static ON: AtomicU32 = AtomicU32::new(0);

/// Turns a planted bug on or off for the whole process.
pub fn set(m: Mutant, on: bool) {
    if on {
        ON.fetch_or(m.bit(), Ordering::Relaxed);
    } else {
        ON.fetch_and(!m.bit(), Ordering::Relaxed);
    }
}

/// Whether a planted bug is on.
pub fn is_on(m: Mutant) -> bool {
    ON.load(Ordering::Relaxed) & m.bit() != 0
}
