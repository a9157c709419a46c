//! A socket's pipes and its type's behaviour, with no I/O (DESIGN.md `core/socket_core`).

use super::PipeId;
use super::pattern::Pipes;
use super::socket::{Behaviour, Pattern, PipeInfo, RecvError, SendError};
use crate::pipe::{PipeCommand, PipeEnd, PipeEvent};
use crate::{Error, Msg, SocketType};
use std::collections::VecDeque;
use std::fmt;

/// A socket's pattern and pipes.
///
/// The owner attaches pipes ([`attach_pipe`](Self::attach_pipe)), feeds it the commands that
/// the peers' owners sent about them ([`handle_pipe_command`](Self::handle_pipe_command)),
/// calls [`send`](Self::send) / [`recv`](Self::recv), and after every call forwards what
/// [`poll_command`](Self::poll_command) yields to the owners of the peer ends. The socket type's
/// own rules live in `core/socket/<type>.rs`; this type holds what every type shares. A driver
/// usually reaches it through a [`SocketActor`](super::SocketActor), which also keeps the
/// routes to the peer ends' owners.
///
/// ```
/// use ferromq::core::{PipeId, PipeInfo, SocketCore};
/// use ferromq::pipe::pipe_pair;
/// use ferromq::{Msg, SocketType};
///
/// let mut push = SocketCore::new(SocketType::Push).unwrap();
/// let mut pull = SocketCore::new(SocketType::Pull).unwrap();
/// let (a, b) = pipe_pair(1000, 1000);
/// push.attach_pipe(PipeId(1), a, PipeInfo::new(true));
/// pull.attach_pipe(PipeId(1), b, PipeInfo::new(false));
/// push.send(Msg::from("job")).unwrap();
/// // The owners carry pipe commands between the two sides (here: none needed).
/// while let Some((id, cmd)) = push.poll_command() { pull.handle_pipe_command(id, cmd); }
/// assert_eq!(&pull.recv().unwrap()[..], b"job");
/// ```
pub struct SocketCore {
    ty: SocketType,
    pipes: Pipes,
    pattern: Pattern,
    commands: VecDeque<(PipeId, PipeCommand)>,
    /// Pipes whose termination handshake finished since the last poll (the owner may forget
    /// their routing).
    terminated: VecDeque<PipeId>,
    /// `close` was called; pipes attached afterwards are terminated at once.
    closing: bool,
    events: Vec<PipeEvent>,
}

impl fmt::Debug for SocketCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketCore").field("type", &self.ty).field("pipes", &self.pipes).finish()
    }
}

impl SocketCore {
    /// A socket core of type `ty`; [`Error::NotSupported`] for a type not built yet.
    pub fn new(ty: SocketType) -> Result<SocketCore, Error> {
        let pattern = Pattern::new(ty).ok_or(Error::NotSupported)?;
        Ok(SocketCore {
            ty,
            pipes: Pipes::new(),
            pattern,
            commands: VecDeque::new(),
            terminated: VecDeque::new(),
            closing: false,
            events: Vec::new(),
        })
    }

    /// Applies the options the socket type reads (ROUTER_MANDATORY, ROUTER_HANDOVER,
    /// PROBE_ROUTER, REQ_CORRELATE, REQ_RELAXED): they apply at once (O-02).
    pub fn configure(&mut self, o: &crate::SocketOptions) {
        self.pattern.configure(o);
    }

    /// Seeds what the type draws (a ROUTER's generated routing ids), so that runs replay.
    pub fn seed(&mut self, seed: u64) {
        self.pattern.seed(seed);
    }

    /// The socket type.
    pub fn socket_type(&self) -> SocketType {
        self.ty
    }

    /// Number of pipes attached and not yet terminated.
    pub fn pipe_count(&self) -> usize {
        self.pipes.len()
    }

    /// Adds a pipe (a new peer). The type may refuse it (PAIR takes one only): a refused pipe,
    /// like one attached while closing, is terminated at once.
    pub fn attach_pipe(&mut self, id: PipeId, end: impl Into<Box<PipeEnd<Msg>>>, info: PipeInfo) {
        let mut end = *end.into();
        if !self.pattern.reads() {
            end.set_nodelay();
        }
        if self.closing {
            end.terminate(false);
            self.pipes.insert(id, end);
        } else {
            self.pipes.insert(id, end);
            if !self.pattern.attach(&mut self.pipes, id, &info) {
                if let Some(p) = self.pipes.get_mut(&id) {
                    p.terminate(false);
                }
            }
        }
        self.collect();
    }

    /// Applies a command from the owner of the other end of pipe `id`.
    pub fn handle_pipe_command(&mut self, id: PipeId, cmd: PipeCommand) {
        let Some(pipe) = self.pipes.get_mut(&id) else { return };
        pipe.handle_command(cmd);
        self.settle_pipe(id);
    }

    /// Takes what pipe `id` produced after a change: its own commands first (a `Terminated`
    /// event below removes the pipe, and the final acknowledgement it just queued must still
    /// reach the peer), then its events.
    fn settle_pipe(&mut self, id: PipeId) {
        let Some(pipe) = self.pipes.get_mut(&id) else { return };
        while let Some(c) = pipe.poll_command() {
            self.commands.push_back((id, c));
        }
        let mut events = std::mem::take(&mut self.events);
        events.extend(std::iter::from_fn(|| pipe.poll_event()));
        for e in events.drain(..) {
            match e {
                PipeEvent::ReadActivated => self.pattern.read_activated(&mut self.pipes, id),
                PipeEvent::WriteActivated if mutant!(LostActivateWrite) => {}
                PipeEvent::WriteActivated => self.pattern.write_activated(&mut self.pipes, id),
                PipeEvent::Hiccuped => self.pattern.hiccuped(&mut self.pipes, id),
                PipeEvent::Terminated => {
                    self.pattern.terminated(id);
                    self.pipes.remove(id);
                    self.terminated.push_back(id);
                }
            }
        }
        self.events = events;
        self.collect();
    }

    /// Changes the marks of pipe `id` at once (O-02): `sndhwm` on what this socket sends into
    /// it, `rcvhwm` on what the peer sends. The pipe tells its other end.
    pub fn set_pipe_hwms(&mut self, id: PipeId, sndhwm: u64, rcvhwm: u64) {
        let Some(pipe) = self.pipes.get_mut(&id) else { return };
        pipe.set_hwms(sndhwm, rcvhwm);
        self.settle_pipe(id);
    }

    /// The ids of the pipes attached and not yet terminated.
    pub fn pipe_ids(&self) -> Vec<PipeId> {
        self.pipes.ids()
    }

    /// Starts terminating pipe `id` (disconnect or unbind of its endpoint). What this socket
    /// already sent stays readable by the peer end up to the delimiter (the peer's owner, a
    /// session or an inproc socket, applies linger); what the peer sent is dropped.
    pub fn terminate_pipe(&mut self, id: PipeId) {
        if let Some(p) = self.pipes.get_mut(&id) {
            p.terminate(false);
        }
        self.collect();
    }

    /// Sends one message part. Parts with MORE go to the same peer as the first part.
    #[inline]
    pub fn send(&mut self, msg: Msg) -> Result<(), SendError> {
        if self.closing {
            return Err(SendError::WouldBlock(msg));
        }
        let result = self.pattern.send(&mut self.pipes, msg);
        self.collect();
        result
    }

    /// SUBSCRIBE or UNSUBSCRIBE `topic` (SUB; XPUB with XPUB_MANUAL): `NotSupported` for
    /// other types.
    pub fn subscribe(&mut self, subscribe: bool, topic: &[u8]) -> Result<(), SendError> {
        let result = self.pattern.subscribe(&mut self.pipes, subscribe, topic);
        self.collect();
        result
    }

    /// The pipe the last whole message sent went into, for socket types that send each
    /// message to one peer (PUSH, PAIR): what an observer such as the simulator's checker
    /// needs to know which peer a message was queued for.
    pub fn last_pipe(&self) -> Option<PipeId> {
        self.pattern.last_pipe()
    }

    /// Receives one message part.
    #[inline]
    pub fn recv(&mut self) -> Result<Msg, RecvError> {
        let result = self.pattern.recv(&mut self.pipes);
        self.collect();
        result
    }

    /// Whether a message part can be received now (POLLIN).
    pub fn has_in(&mut self) -> bool {
        let r = self.pattern.has_in(&mut self.pipes);
        self.collect();
        r
    }

    /// Whether a message part can be sent now (POLLOUT).
    pub fn has_out(&mut self) -> bool {
        let r = !self.closing && self.pattern.has_out(&mut self.pipes);
        self.collect();
        r
    }

    /// Starts closing, as libzmq does: every pipe is terminated without delay, so unread
    /// inbound messages are dropped (L-07) while what this socket sent stays readable by the
    /// peer ends up to their delimiters; their owners apply linger. The core is closed once
    /// [`is_closed`](Self::is_closed).
    pub fn close(&mut self) {
        self.closing = true;
        for id in self.pipes.ids() {
            if let Some(p) = self.pipes.get_mut(&id) {
                p.terminate(false);
            }
        }
        self.collect();
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// True once closing finished: every pipe's termination handshake completed.
    pub fn is_closed(&self) -> bool {
        self.closing && self.pipes.is_empty()
    }

    /// True when a command or a finished termination waits to be polled.
    #[inline]
    pub fn has_output(&self) -> bool {
        !self.commands.is_empty() || !self.terminated.is_empty()
    }

    /// The next command for the owner of the other end of a pipe. Poll after every call.
    #[must_use]
    #[inline]
    pub fn poll_command(&mut self) -> Option<(PipeId, PipeCommand)> {
        self.commands.pop_front()
    }

    /// The next pipe whose termination finished.
    #[must_use]
    #[inline]
    pub fn poll_terminated(&mut self) -> Option<PipeId> {
        self.terminated.pop_front()
    }

    #[inline]
    fn collect(&mut self) {
        self.pipes.drain_commands(&mut self.commands);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::pipe_pair;

    /// Two socket cores joined by pipes, with their owners' command shuttling.
    struct Net {
        a: SocketCore,
        b: SocketCore,
    }

    impl Net {
        fn new(a: SocketType, b: SocketType, pipes: u64, hwm: u64) -> Net {
            let mut n = Net { a: SocketCore::new(a).unwrap(), b: SocketCore::new(b).unwrap() };
            for i in 0..pipes {
                let (x, y) = pipe_pair(hwm, hwm);
                n.a.attach_pipe(PipeId(i), x, PipeInfo::new(true));
                n.b.attach_pipe(PipeId(i), y, PipeInfo::new(false));
            }
            n.shuttle();
            n
        }

        fn shuttle(&mut self) {
            loop {
                let mut moved = false;
                while let Some((id, c)) = self.a.poll_command() {
                    self.b.handle_pipe_command(id, c);
                    moved = true;
                }
                while let Some((id, c)) = self.b.poll_command() {
                    self.a.handle_pipe_command(id, c);
                    moved = true;
                }
                if !moved {
                    return;
                }
            }
        }
    }

    #[test]
    fn unsupported_directions_are_refused() {
        let mut push = SocketCore::new(SocketType::Push).unwrap();
        let mut pull = SocketCore::new(SocketType::Pull).unwrap();
        assert_eq!(push.recv(), Err(RecvError::NotSupported));
        assert_eq!(pull.send(Msg::from("x")), Err(SendError::NotSupported(Msg::from("x"))));
        let mut publisher = SocketCore::new(SocketType::Pub).unwrap();
        let mut sub = SocketCore::new(SocketType::Sub).unwrap();
        assert_eq!(publisher.recv(), Err(RecvError::NotSupported), "PUB-05");
        assert_eq!(sub.send(Msg::from("x")), Err(SendError::NotSupported(Msg::from("x"))));
        assert!(matches!(push.subscribe(true, b"t"), Err(SendError::NotSupported(_))));
        assert!(matches!(publisher.subscribe(true, b"t"), Err(SendError::NotSupported(_))));
    }

    /// PUSH-02: no peer: would block, message handed back.
    #[test]
    fn push02_no_peer_would_block() {
        let mut push = SocketCore::new(SocketType::Push).unwrap();
        assert!(!push.has_out());
        assert_eq!(push.send(Msg::from("x")), Err(SendError::WouldBlock(Msg::from("x"))));
    }

    /// Q-03/Q-04 at the core: capacity is the HWM per direction; a blocked PUSH resumes when
    /// PULL drains, via the pipe commands the owners carry.
    #[test]
    fn q04_push_blocks_at_hwm_and_resumes() {
        let mut n = Net::new(SocketType::Push, SocketType::Pull, 1, 4);
        let mut sent = 0;
        while n.a.send(Msg::from([sent])).is_ok() {
            sent += 1;
        }
        assert_eq!(sent, 4);
        n.shuttle();
        for i in 0..4 {
            assert_eq!(n.b.recv().unwrap()[0], i);
        }
        assert_eq!(n.b.recv(), Err(RecvError::WouldBlock));
        n.shuttle();
        assert!(n.a.has_out());
        assert!(n.a.send(Msg::from("more")).is_ok());
        n.shuttle();
        assert!(n.b.has_in());
        assert_eq!(&n.b.recv().unwrap()[..], b"more");
    }

    /// PUSH-01 + PULL-01 over several pipes, with multipart messages.
    #[test]
    fn push_pull_over_three_pipes_keeps_every_message_whole() {
        let mut n = Net::new(SocketType::Push, SocketType::Pull, 3, 0);
        for i in 0..30u8 {
            n.a.send(Msg::from([i]).with_more(true)).unwrap();
            n.a.send(Msg::from([i])).unwrap();
        }
        n.shuttle();
        let mut got = Vec::new();
        while let Ok(m) = n.b.recv() {
            let more = m.more();
            let second = n.b.recv().unwrap();
            assert!(more && !second.more());
            assert_eq!(m[0], second[0]);
            got.push(m[0]);
        }
        got.sort();
        assert_eq!(got, (0..30).collect::<Vec<_>>());
    }

    /// PAIR-01, PAIR-02: one peer, both ways; a second pipe is terminated.
    #[test]
    fn pair01_pair02_single_peer_both_ways() {
        let mut n = Net::new(SocketType::Pair, SocketType::Pair, 1, 0);
        n.a.send(Msg::from("ping")).unwrap();
        n.b.send(Msg::from("pong")).unwrap();
        n.shuttle();
        assert_eq!(&n.b.recv().unwrap()[..], b"ping");
        assert_eq!(&n.a.recv().unwrap()[..], b"pong");
        let (x, mut y) = pipe_pair(0, 0);
        n.a.attach_pipe(PipeId(9), x, PipeInfo::new(false));
        while let Some((id, c)) = n.a.poll_command() {
            assert_eq!(id, PipeId(9));
            y.handle_command(c);
        }
        assert!(y.is_terminating(), "the second peer is turned away");
        // The first peer still works.
        n.a.send(Msg::from("still")).unwrap();
        n.shuttle();
        assert_eq!(&n.b.recv().unwrap()[..], b"still");
    }

    /// L-07 at the core: close with linger lets the peer drain, then both sides finish.
    #[test]
    fn l07_close_with_linger_loses_nothing() {
        let mut n = Net::new(SocketType::Push, SocketType::Pull, 2, 0);
        for i in 0..10u8 {
            n.a.send(Msg::from([i])).unwrap();
        }
        n.a.close();
        assert!(n.a.send(Msg::from("late")).is_err());
        n.shuttle();
        let mut got = Vec::new();
        while let Ok(m) = n.b.recv() {
            got.push(m[0]);
        }
        got.sort();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        n.shuttle();
        assert!(n.a.is_closed());
        assert_eq!(n.b.pipe_count(), 0);
        let mut ended = Vec::new();
        while let Some(id) = n.b.poll_terminated() {
            ended.push(id);
        }
        assert_eq!(ended, [PipeId(0), PipeId(1)]);
    }
}
