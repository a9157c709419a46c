//! XPUB and PUB (RFC 29 §The XPUB Socket Type, §The PUB Socket Type): a message goes to every
//! subscriber with a matching subscription; subscriptions come from the subscribers.
//!
//! * a message goes, with all its parts, to each pipe subscribed to a prefix of its first
//!   part ("" matches all), filtered here, so a message nobody wants never reaches a
//!   connection (PUB-01, PUB-02); with INVERT_MATCHING to the pipes that match none (PUB-07);
//! * a subscriber whose queue is full misses that message alone; sending never blocks
//!   (PUB-04), unless XPUB_NODROP says wait (PUB-06);
//! * a subscription is a message part starting with `01` (subscribe) or `00` (cancel), or a
//!   SUBSCRIBE/CANCEL command, which the connection turns into that form (XPUB-02); a pipe's
//!   subscriptions are a set, and a pipe that goes takes them with it;
//! * XPUB hands them to the application as `01`/`00` + topic, a topic's first subscribe and
//!   last cancel only, or every subscribe (XPUB_VERBOSE), or every subscribe and cancel
//!   (XPUB_VERBOSER) (XPUB-01, XPUB-03), and reports the topics a departing subscriber held
//!   (XPUB-04); other messages from subscribers are handed over as data (XPUB-05);
//! * XPUB_MANUAL: subscriptions are reported, not applied; the application's
//!   `subscribe`/`unsubscribe` apply to the pipe of the subscription it received last
//!   (XPUB-06); XPUB_WELCOME_MSG goes to each new subscriber first (XPUB-07);
//! * a connect side's pipe outlives its connection: when the peer behind it is replaced, the
//!   old peer's subscriptions are dropped (libzmq keeps them, so a new subscriber there would
//!   get what its predecessor asked for) and the new one is welcomed;
//! * PUB is an XPUB that keeps all that to itself: it cannot receive (PUB-05).

use super::{Behaviour, PipeInfo, RecvError, SendError};
use crate::core::PipeId;
use crate::core::pattern::{Dist, PipeTrie, Pipes, Removed};
use crate::pipe::PipeEnd;
use crate::{Msg, SocketOptions};
use bytes::Bytes;
use std::collections::VecDeque;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Xpub {
    /// PUB: never surfaces subscriptions or data.
    is_pub: bool,
    dist: Dist,
    subs: PipeTrie,
    /// XPUB_MANUAL: what each pipe asked for, so that its departure can be reported.
    asked: PipeTrie,
    /// For the application: subscriptions (with the pipe they came from) and data.
    pending: VecDeque<(Msg, Option<PipeId>)>,
    /// XPUB_MANUAL: the pipe of the subscription the application received last.
    last_pipe: Option<PipeId>,
    verbose: bool,
    verboser: bool,
    manual: bool,
    nodrop: bool,
    invert: bool,
    welcome: Option<Bytes>,
    /// The pipes whose subscriptions match the message being sent (scratch).
    hit: Vec<PipeId>,
}

impl Xpub {
    pub(crate) fn publisher() -> Self {
        Xpub { is_pub: true, ..Xpub::default() }
    }

    /// Reads everything pipe `id` holds: subscriptions are applied (or, manual, reported),
    /// anything else is data for an XPUB's application.
    fn drain(&mut self, pipes: &mut Pipes, id: PipeId) {
        let Some(pipe) = pipes.get_mut(&id) else { return };
        while let Some(m) = pipe.read() {
            if m.is_peer_replaced() {
                // A new peer behind the same pipe: it will say what it wants, and is welcomed
                // as any new subscriber (XPUB-07).
                self.forget(id);
                self.welcome(pipe);
                continue;
            }
            match m.first() {
                Some(&b) if b <= 1 => self.subscription(b == 1, &m[1..], id),
                _ if !self.is_pub => self.pending.push_back((m, None)),
                // PUB-05: a subscriber's data is dropped.
                _ => {}
            }
        }
    }

    fn subscription(&mut self, subscribe: bool, topic: &[u8], id: PipeId) {
        let notify = if self.manual {
            if subscribe {
                self.asked.add(topic, id);
            } else {
                self.asked.rm(topic, id);
            }
            true
        } else if subscribe {
            self.subs.add(topic, id) || self.verbose || self.verboser
        } else {
            // libzmq also reports a cancel of a topic the pipe never held (a TODO in its
            // code); such a cancel is no news here, so reports always pair up (XPUB-03).
            self.subs.rm(topic, id) == Removed::Last || self.verboser
        };
        if notify && !self.is_pub {
            self.pending.push_back((Msg::from(subscription_body(subscribe, topic)), Some(id)));
        }
    }

    fn welcome(&self, pipe: &mut PipeEnd<Msg>) {
        if let Some(w) = &self.welcome {
            if pipe.write(Msg::from(w.clone())).is_ok() {
                pipe.flush();
            }
        }
    }

    /// Drops every subscription of pipe `id` (it went, or its peer was replaced), reporting
    /// the topics nobody wants any more (XPUB-04; every one it held, when verboser).
    fn forget(&mut self, id: PipeId) {
        let mut gone = Vec::new();
        if self.manual {
            self.asked.rm_pipe(id, |topic, last| gone.push((topic.to_vec(), last)));
            self.subs.rm_pipe(id, |_, _| {});
            if self.last_pipe == Some(id) {
                self.last_pipe = None;
            }
        } else {
            self.subs.rm_pipe(id, |topic, last| gone.push((topic.to_vec(), last)));
        }
        if self.is_pub {
            return;
        }
        // XPUB-04: the topics nobody wants any more (every one it held, when verboser).
        let every = self.verboser && !self.manual;
        for (topic, last) in gone {
            if last || every {
                self.pending.push_back((Msg::from(subscription_body(false, &topic)), None));
            }
        }
    }
}

fn subscription_body(subscribe: bool, topic: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(1 + topic.len());
    body.push(u8::from(subscribe));
    body.extend_from_slice(topic);
    body
}

impl Behaviour for Xpub {
    fn configure(&mut self, o: &SocketOptions) {
        self.verbose = o.xpub_verbose;
        self.verboser = o.xpub_verboser;
        self.manual = o.xpub_manual;
        self.nodrop = o.xpub_nodrop;
        self.invert = o.invert_matching;
        self.welcome = o.xpub_welcome_msg.clone();
    }

    fn attach(&mut self, pipes: &mut Pipes, id: PipeId, _: &PipeInfo) -> bool {
        self.dist.attach(id);
        if let Some(pipe) = pipes.get_mut(&id) {
            self.welcome(pipe);
        }
        self.drain(pipes, id);
        true
    }

    fn read_activated(&mut self, pipes: &mut Pipes, id: PipeId) {
        self.drain(pipes, id);
    }

    fn terminated(&mut self, id: PipeId) {
        self.dist.terminated(id);
        self.forget(id);
    }
    fn send(&mut self, pipes: &mut Pipes, msg: Msg) -> Result<(), SendError> {
        if !self.dist.in_message() {
            // A scratch list kept between messages: no allocation per message.
            self.hit.clear();
            self.subs.matching(&msg, |p| self.hit.push(p));
            if self.invert {
                self.dist.select_all_but(&self.hit);
            } else {
                self.dist.select(self.hit.iter().copied());
            }
            let nodrop = self.nodrop || self.is_pub && mutant!(PubBlocksAtHwm);
            if nodrop && !self.dist.all_have_room(pipes) {
                return Err(SendError::WouldBlock(msg));
            }
        }
        self.dist.send(pipes, msg);
        Ok(())
    }

    fn subscribe(&mut self, _: &mut Pipes, subscribe: bool, topic: &[u8]) -> Result<(), SendError> {
        // XPUB-06: only a manual XPUB takes subscriptions from its application, for the
        // subscriber it heard from last.
        if !self.manual || self.is_pub {
            return Err(SendError::NotSupported(Msg::from(topic)));
        }
        if let Some(id) = self.last_pipe {
            if subscribe {
                self.subs.add(topic, id);
            } else {
                self.subs.rm(topic, id);
            }
        }
        Ok(())
    }

    fn recv(&mut self, _: &mut Pipes) -> Result<Msg, RecvError> {
        if self.is_pub {
            return Err(RecvError::NotSupported);
        }
        let (m, from) = self.pending.pop_front().ok_or(RecvError::WouldBlock)?;
        if from.is_some() {
            self.last_pipe = from;
        }
        Ok(m)
    }

    fn has_in(&mut self, _: &mut Pipes) -> bool {
        !self.is_pub && !self.pending.is_empty()
    }

    fn has_out(&mut self, _: &mut Pipes) -> bool {
        // As libzmq: always, even under XPUB_NODROP, where a send to a full subscriber then
        // says `WouldBlock`.
        true
    }
}
