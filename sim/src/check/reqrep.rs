//! Request-reply: the rules of REQ, REP, DEALER and ROUTER that a reply, or a routing id, can
//! break, judged from the payloads (a reply names the request it answers) and the envelopes the
//! applications saw.
//!
//! * no request gets two replies (that a reply reaches who asked is the delivery oracle's
//!   rule: it knows the streams);
//! * with REQ_CORRELATE a REQ takes only the reply to its newest request (REQ-07); without, a
//!   late reply may pass, as in libzmq, if it came over the newest request's connection (that
//!   rule, REQ-05, is the delivery oracle's, which knows the streams);
//! * liveness: a request a REQ sends in the quiet phase is answered within [`REPLY_BOUND`].

use super::{Event, Model, Oracle, kinds};
use crate::check::liveness::SETTLE;
use crate::payload::{self, MsgId};
use ferromq::SocketType;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// How long a request sent in the quiet phase may wait for its reply: a client's own timeout
/// must be longer, so that a request the stack lost shows here rather than as a retry.
pub const REPLY_BOUND: Duration = Duration::from_secs(2);

/// See the module docs.
#[derive(Debug, Default)]
pub struct Replies {
    /// Per REQ socket, its newest request.
    newest: BTreeMap<u32, MsgId>,
    /// Replies received, per request.
    answered: BTreeMap<MsgId, u32>,
    /// Requests sent in the quiet phase, oldest first.
    due: VecDeque<(MsgId, Duration)>,
}

impl Replies {
    fn received(&mut self, m: &Model, sock: u32, parts: &[ferromq::Msg], out: &mut Vec<String>) {
        let Some(h) = parts.first().and_then(|p| payload::parse_header(p).ok()) else { return };
        let who = || m.describe(sock);
        let r = m.sock(sock);
        let Some(q) = h.re else { return };
        let n = self.answered.entry(q).or_default();
        *n += 1;
        if *n > 1 {
            out.push(format!("{who} received a second reply to {q} ({})", h.id, who = who()));
        }
        if r.ty == SocketType::Req {
            let newest = self.newest.get(&sock).copied();
            // Without CORRELATE nothing in a reply says which request it answers: a late one,
            // or one to the socket this one succeeded on the same connect side's pipe, passes
            // if it comes over the right connection (REQ-05, the delivery oracle's to judge).
            if newest != Some(q) && r.opts.req_correlate {
                out.push(format!(
                    "{who} took {}, a reply to {q}, while its newest request was {}{}",
                    h.id,
                    newest.map_or("none".to_owned(), |n| n.to_string()),
                    if r.opts.req_correlate { " (REQ_CORRELATE)" } else { "" },
                    who = who()
                ));
            }
        }
    }

    fn quiet(m: &Model) -> bool {
        m.timeline
            .is_some_and(|t| m.now >= t.faults_end + SETTLE && m.now + REPLY_BOUND < t.send_end)
    }
}

impl Oracle for Replies {
    fn interests(&self) -> u32 {
        kinds::SENT | kinds::RECEIVED | kinds::TICK
    }

    fn on_event(&mut self, m: &Model, e: &Event<'_>, out: &mut Vec<String>) {
        match *e {
            Event::Sent { id, re: None, .. } if m.sock(id.sender).ty == SocketType::Req => {
                self.newest.insert(id.sender, id);
                if Self::quiet(m) {
                    self.due.push_back((id, m.now));
                }
            }
            Event::Received { sock, parts, .. } => self.received(m, sock, parts, out),
            Event::Tick => {
                while let Some(&(id, at)) = self.due.front() {
                    let sk = m.sock(id.sender);
                    let settled = self.answered.contains_key(&id)
                        || sk.closed.is_some()
                        || sk.died.is_some()
                        || self.newest.get(&id.sender) != Some(&id);
                    if settled {
                        self.due.pop_front();
                        continue;
                    }
                    if m.now < at + REPLY_BOUND {
                        break;
                    }
                    self.due.pop_front();
                    out.push(format!(
                        "{id} from {}, a request sent in the quiet phase at {} ms, had no reply \
                         within {} ms",
                        m.describe(id.sender),
                        at.as_millis(),
                        REPLY_BOUND.as_millis()
                    ));
                }
            }
            _ => {}
        }
    }
}
