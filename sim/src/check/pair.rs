//! PAIR-02: a PAIR has one peer. A pipe that reaches a PAIR already holding one (even a
//! terminating one) is refused: its connection must be closed by the PAIR within
//! [`REFUSAL_BOUND`]. (That nothing it carried is delivered is the delivery oracle's part.)

use super::{Event, Model, Oracle, kinds};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a refused peer's connection may stay up.
pub const REFUSAL_BOUND: Duration = Duration::from_secs(1);

/// See the module docs.
#[derive(Debug, Default)]
pub struct PairExclusive {
    /// Refused connections not closed yet, with when they were refused.
    refused: BTreeMap<(u32, u64), Duration>,
}

impl Oracle for PairExclusive {
    fn interests(&self) -> u32 {
        kinds::PIPE_ATTACHED | kinds::DOWN | kinds::CONN_FINISHED | kinds::TICK
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::PipeAttached { sock, key }
                if m.sock(sock).keys.get(&key).is_some_and(|k| k.refused) =>
            {
                self.refused.insert((sock, key), m.now);
            }
            Event::Down { sock, key, .. } | Event::ConnFinished { sock, key } => {
                self.refused.remove(&(sock, key));
            }
            Event::Tick => {
                let late: Vec<_> = self
                    .refused
                    .iter()
                    .filter(|&(&(sock, _), &at)| {
                        m.now > at + REFUSAL_BOUND && m.sock(sock).died.is_none()
                    })
                    .map(|(&k, _)| k)
                    .collect();
                for (sock, key) in late {
                    self.refused.remove(&(sock, key));
                    out.push(format!(
                        "{} took a second peer (k{key}) while it had one, and kept it for over {} \
                         ms: PAIR-02 says it must refuse it",
                        m.describe(sock),
                        REFUSAL_BOUND.as_millis()
                    ));
                }
            }
            _ => {}
        }
    }
}
