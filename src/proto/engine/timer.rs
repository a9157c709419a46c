//! The engine's timers: a fixed table over a closed set, so that `poll_timeout` is a scan of
//! four slots and no timer can be forgotten.

use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Greeting + handshake must finish by then (HANDSHAKE_IVL, W-28).
    Handshake = 0,
    /// Send the next PING (HEARTBEAT_IVL, W-26).
    Heartbeat = 1,
    /// Close unless something arrives by then (HEARTBEAT_TIMEOUT after a PING, W-26).
    HeartbeatTimeout = 2,
    /// Close unless something arrives by then (the TTL of the peer's PING, W-25).
    PeerTtl = 3,
}

impl Timer {
    pub(crate) const ALL: [Timer; 4] =
        [Timer::Handshake, Timer::Heartbeat, Timer::HeartbeatTimeout, Timer::PeerTtl];
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; 4],
}

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        self.slots[t as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, t: Timer) {
        self.slots[t as usize] = None;
    }

    pub(crate) fn is_set(&self, t: Timer) -> bool {
        self.slots[t as usize].is_some()
    }

    pub(crate) fn clear(&mut self) {
        self.slots = [None; 4];
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Stops and returns the timer that expired first at `now`, if any.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let t = Timer::ALL
            .into_iter()
            .filter(|&t| self.slots[t as usize].is_some_and(|at| at <= now))
            .min_by_key(|&t| self.slots[t as usize])?;
        self.stop(t);
        Some(t)
    }
}
