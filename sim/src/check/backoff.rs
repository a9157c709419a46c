//! Reconnect waits (L-03), judged from when the glue saw a dial fail or a stream drop and when
//! it saw the next dial start: with RECONNECT_IVL_MAX, RECONNECT_IVL doubling per failure up
//! to the maximum; without it, RECONNECT_IVL plus a jitter below RECONNECT_IVL; the doubling
//! restarts after a successful dial.

use super::{Event, Model, Oracle, kinds};
use std::collections::BTreeMap;
use std::time::Duration;

/// The simulator's clock ticks by 1 ms: a timer fires up to that late, and the glue may see a
/// step later still.
const TOLERANCE: Duration = Duration::from_millis(3);

#[derive(Debug, Default)]
struct Key {
    /// Waits since the last successful dial.
    failures: u32,
    /// When the last failure (or drop) happened, and the wait it calls for.
    waiting: Option<(Duration, u32)>,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Backoff {
    keys: BTreeMap<(u32, u64), Key>,
}

impl Backoff {
    fn failed(&mut self, m: &Model, sock: u32, key: u64) {
        let k = self.keys.entry((sock, key)).or_default();
        k.waiting = Some((m.now, k.failures));
        k.failures += 1;
    }
}

impl Oracle for Backoff {
    fn interests(&self) -> u32 {
        kinds::DIAL_SUCCEEDED | kinds::DIAL_FAILED | kinds::STREAM_DROPPED | kinds::DIAL_STARTED
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::DialSucceeded { sock, key } => {
                let k = self.keys.entry((sock, key)).or_default();
                k.failures = 0;
            }
            Event::DialFailed { sock, key } => self.failed(m, sock, key),
            Event::StreamDropped { sock, key, .. } => {
                let s = m.sock(sock);
                let connect = s.keys.get(&key).is_some_and(|k| k.connect);
                if connect {
                    self.failed(m, sock, key);
                }
            }
            Event::DialStarted { sock, key } => {
                let Some((since, n)) =
                    self.keys.get_mut(&(sock, key)).and_then(|k| k.waiting.take())
                else {
                    return;
                };
                let o = &m.sock(sock).opts;
                let Some(ivl) = o.reconnect_ivl else { return };
                let waited = m.now - since;
                let (lo, hi) = match o.reconnect_ivl_max.filter(|d| !d.is_zero()) {
                    Some(max) => {
                        let w = ivl.saturating_mul(1 << n.min(20)).min(max);
                        (w, w + TOLERANCE)
                    }
                    None => (ivl, ivl * 2 + TOLERANCE),
                };
                if waited < lo || waited > hi {
                    out.push(format!(
                        "{} k{key} dialed again {} ms after failure {} in a row; RECONNECT_IVL {} \
                         ms and RECONNECT_IVL_MAX {:?} call for {}..{} ms",
                        m.describe(sock),
                        waited.as_millis(),
                        n + 1,
                        ivl.as_millis(),
                        o.reconnect_ivl_max.map(|d| d.as_millis()),
                        lo.as_millis(),
                        hi.as_millis()
                    ));
                }
            }
            _ => {}
        }
    }
}
