//! Bounds: the high-water mark with no connection up, memory per connection,
//! connect sides back after the faults (L-03, L-04), and closes finished within linger
//! (L-07).

use super::{Event, Excused, Model, Oracle, kinds};
use ferromq::SocketType;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A sending socket with no connection up accepts at most (its pipes) × SNDHWM messages: the
/// queues are bounded.
#[derive(Debug, Default)]
pub struct HwmBound {
    /// Per socket: messages accepted since no connection was up, and the most pipes then.
    windows: BTreeMap<u32, (u64, u32)>,
}

fn pipes(m: &Model, sock: u32) -> u32 {
    m.sock(sock).keys.values().filter(|k| k.pipe).count() as u32
}

impl Oracle for HwmBound {
    fn interests(&self) -> u32 {
        kinds::SOCKET_OPENED | kinds::UP | kinds::DOWN | kinds::PIPE_ATTACHED | kinds::SENT
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::SocketOpened { sock, .. } => {
                self.windows.insert(sock, (0, 0));
            }
            Event::Up { sock, .. } => {
                self.windows.remove(&sock);
            }
            Event::Down { sock, .. } if m.sock(sock).up == 0 => {
                self.windows.entry(sock).or_insert((0, pipes(m, sock)));
            }
            Event::PipeAttached { sock, .. } => {
                if let Some(w) = self.windows.get_mut(&sock) {
                    w.1 = w.1.max(pipes(m, sock));
                }
            }
            // A publisher drops what no subscriber can take: the pub-sub oracle judges it.
            Event::Sent { id, .. } if super::judged_apart(m.sock(id.sender)) => {}
            Event::Sent { id, key, .. } => {
                // A ROUTER's or REP's drop queues nothing (the delivery oracle judges it).
                let routed = matches!(m.sock(id.sender).ty, SocketType::Router | SocketType::Rep);
                if routed && key.is_none() {
                    return;
                }
                let Some(w) = self.windows.get_mut(&id.sender) else { return };
                w.0 += 1;
                let hwm = m.sock(id.sender).opts.sndhwm;
                if hwm > 0 && w.0 > u64::from(w.1) * hwm {
                    out.push(format!(
                        "high-water mark exceeded: {} accepted {} messages while no connection \
                         was up, but its {} pipe(s) hold at most {hwm} each",
                        m.describe(id.sender),
                        w.0,
                        w.1
                    ));
                }
            }
            _ => {}
        }
    }
}

/// The most output one connection may hold: its session stops feeding the engine at
/// `OUT_BACKLOG`, so one message more (the scenarios' largest is 3 parts of 40 kB) and framing.
pub const OUTPUT_BOUND: usize = ferromq::core::OUT_BACKLOG + 3 * (40_000 + 64) + 64;

/// The most input one connection may hold undecoded: one frame (the largest part, 40 kB, and
/// its header) and one read.
pub const INPUT_BOUND: usize = 40_000 + 64 + crate::driver::READ_BUF;

/// Memory per connection stays bounded however slow or stalled the peer is.
#[derive(Debug)]
pub struct MemoryBound;

impl Oracle for MemoryBound {
    fn interests(&self) -> u32 {
        kinds::BUFFERS
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        let Event::Buffers { sock, key, pending, buffered, returning } = *e else { return };
        // What a session holds for the socket's thread to free: the batch it fills between two
        // credits and the slot's, in batches of the low-water mark of the pipe it reads (the
        // socket's SNDHWM; none without a mark).
        let lwm = ferromq::pipe::compute_lwm(m.sock(sock).opts.sndhwm);
        let returns_bound = ((ferromq::pipe::RETURN_SLOT + 1) * lwm) as usize;
        if buffered <= INPUT_BOUND && pending <= OUTPUT_BOUND && returning <= returns_bound {
            return;
        }
        let who = m.describe(sock);
        if returning > returns_bound {
            out.push(format!(
                "{who} k{key}: {returning} sent messages held to be freed by the socket's \
                 thread; at most {returns_bound} may be (batches of the low-water mark)"
            ));
        }
        if buffered > INPUT_BOUND {
            out.push(format!(
                "{who} k{key}: {buffered} bytes read and not decoded; a session reads only \
                 while it can decode (memory must stay bounded)"
            ));
        }
        if pending > OUTPUT_BOUND {
            out.push(format!(
                "{who} k{key}: {pending} bytes queued for one connection; a session must stop \
                 taking messages from its pipe at {} (memory must stay bounded)",
                ferromq::core::OUT_BACKLOG
            ));
        }
    }
}

/// Once the faults stop, every connect side of a live socket is back within its backoff bound.
#[derive(Debug, Default)]
pub struct Reconnected {
    reported: BTreeSet<(u32, u64)>,
}

impl Oracle for Reconnected {
    fn interests(&self) -> u32 {
        kinds::TICK
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        if !matches!(e, Event::Tick) {
            return;
        }
        // Until peers start closing for good; each connect side is judged from its own last
        // loss (a peer may close and come back in the quiet phase, as a batch job does), or
        // from the end of the faults.
        let (faults_end, until) = (m.faults_end(), m.timeline.map(|t| t.close_senders));
        if until.is_some_and(|u| m.now >= u) {
            return;
        }
        for (i, s) in m.socks.iter().enumerate() {
            if s.closed.is_some() || s.died.is_some() {
                continue;
            }
            let bound = s.opts.reconnect_bound();
            for (&key, k) in &s.keys {
                if !k.connect || k.finished || k.up {
                    continue;
                }
                let since = k.last_lost_at.map_or(faults_end, |t| t.max(faults_end));
                if m.now >= since + bound && self.reported.insert((i as u32, key)) {
                    out.push(format!(
                        "{} has connect side k{key} still down {} ms after {}",
                        m.describe(i as u32),
                        (m.now - since).as_millis(),
                        if since == faults_end {
                            "the faults stopped".to_owned()
                        } else {
                            format!("it was lost at {} ms", since.as_millis())
                        }
                    ));
                }
            }
        }
    }
}

/// Slack on top of linger for a close to finish: the drain after FIN and scheduling.
pub const CLOSE_SLACK: Duration = Duration::from_millis(1500);

/// Every close finishes within linger plus slack, and by the end every socket has finished.
#[derive(Debug, Default)]
pub struct CloseWithinLinger {
    late: BTreeSet<u32>,
}

impl Oracle for CloseWithinLinger {
    fn interests(&self) -> u32 {
        kinds::TICK
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        if !matches!(e, Event::Tick) {
            return;
        }
        for (i, s) in m.socks.iter().enumerate() {
            let Some((_, at)) = s.closed else { continue };
            let linger = s.opts.linger.unwrap_or(Duration::MAX);
            let late = s.finished.is_none()
                && s.died.is_none()
                && at.saturating_add(linger).saturating_add(CLOSE_SLACK) < m.now;
            if late && self.late.insert(i as u32) {
                let open: Vec<String> = s
                    .keys
                    .iter()
                    .filter(|(_, k)| !k.finished)
                    .map(|(key, k)| {
                        let state = if k.up {
                            "up"
                        } else if k.conn.is_some() {
                            "streaming"
                        } else {
                            "idle"
                        };
                        format!("k{key} ({state}{})", if k.pipe { ", pipe" } else { "" })
                    })
                    .collect();
                out.push(format!(
                    "{}: close did not finish within linger {} ms + slack; unfinished: {}",
                    m.describe(i as u32),
                    linger.as_millis(),
                    if open.is_empty() {
                        "none (the socket's pipes)".into()
                    } else {
                        open.join(", ")
                    }
                ));
            }
        }
    }

    fn finish(&mut self, m: &Model, out: &mut Vec<String>, _: &mut Excused) {
        for (i, s) in m.socks.iter().enumerate() {
            if s.died.is_none() && s.finished.is_none() && !self.late.contains(&(i as u32)) {
                out.push(format!(
                    "{} did not finish closing by the end of the run",
                    m.describe(i as u32)
                ));
            }
        }
    }
}
