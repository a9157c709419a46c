//! The rules of `zmq_proxy` and `zmq_proxy_steerable` (API-10 … API-12), sans-IO: which way a
//! message may move, moving it whole, the copy to a capture socket, the counts, and the
//! commands on a control socket. The runtime's [`crate::proxy`] drives it over real sockets
//! with `poll`; the simulator's forwarder host drives the same core over simulated ones.
//!
//! A message is read from one side only when the other side can take it, so a backend with no
//! peer yet holds requests back at the frontend instead of dropping them or blocking the other
//! direction. Parts move as they are: a large body is shared, never copied (the capture gets
//! another reference to the same bytes).

use crate::{Error, Msg, Result, SocketType};

/// Per-socket counts, as `zmq_proxy_steerable`'s STATISTICS reports them: every part counts as
/// one message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Parts received on the socket.
    pub msgs_in: u64,
    /// Bytes received on the socket.
    pub bytes_in: u64,
    /// Parts sent on the socket.
    pub msgs_out: u64,
    /// Bytes sent on the socket.
    pub bytes_out: u64,
}

/// A send a socket did not take.
#[derive(Debug)]
pub enum Refused {
    /// Not now (the queue is full): the part comes back, to be sent when the socket can take
    /// it.
    Full(Msg),
    /// An error that ends the proxy (the context terminated, for one).
    Failed(Error),
}

/// One socket as the proxy sees it; the driver decides what waiting means. Receives never
/// wait: `Err(Error::WouldBlock)` when there is nothing.
pub trait ProxySocket {
    /// Its type.
    fn socket_type(&self) -> SocketType;
    /// A part can be received now (POLLIN).
    fn can_recv(&mut self) -> Result<bool>;
    /// A message can be sent now (POLLOUT).
    fn can_send(&mut self) -> Result<bool>;
    /// Receives one part.
    fn recv(&mut self) -> Result<Msg>;
    /// Sends one part.
    fn send(&mut self, part: Msg) -> std::result::Result<(), Refused>;
}

/// What the driver should wait for on one side before calling [`ProxyCore::pump`] again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Want {
    /// A part to receive.
    pub recv: bool,
    /// Room to send.
    pub send: bool,
}

/// What a control command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steered {
    /// Keep going (maybe paused or resumed).
    Running,
    /// TERMINATE: the proxy ends, successfully.
    Terminated,
}

/// The proxy's state: paused or not, a part waiting for room, the counts.
#[derive(Debug, Default)]
pub struct ProxyCore {
    paused: bool,
    /// A part the destination refused for now, with its destination; the rest of its message
    /// follows it before anything else moves.
    waiting: Option<(usize, Msg)>,
    /// Frontend, backend.
    stats: [ProxyStats; 2],
}

/// Frontend and backend, as indices into [`ProxyCore`]'s sides.
type Sides<'a> = [&'a mut dyn ProxySocket; 2];

impl ProxyCore {
    /// The counts: frontend, backend.
    pub fn stats(&self) -> [ProxyStats; 2] {
        self.stats
    }

    /// True while PAUSE holds.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Per side (frontend, backend), what to wait for: a part at a source whose destination
    /// can take one, else room at the destination.
    pub fn want(&mut self, sides: Sides<'_>) -> Result<[Want; 2]> {
        let mut want = [Want::default(); 2];
        if self.paused {
            return Ok(want);
        }
        if let Some((dst, _)) = &self.waiting {
            want[*dst].send = true;
            return Ok(want);
        }
        for (src, dst) in [(0, 1), (1, 0)] {
            if room(sides[dst])? {
                want[src].recv = true;
            } else {
                want[dst].send = true;
            }
        }
        Ok(want)
    }

    /// Moves what can move now: the rest of a message that waited for room, then one whole
    /// message each way whose source has one and whose destination can take it. True if
    /// anything moved.
    pub fn pump<'c>(
        &mut self,
        mut sides: Sides<'_>,
        mut capture: Option<&'c mut (dyn ProxySocket + 'c)>,
    ) -> Result<bool> {
        if self.paused {
            return Ok(false);
        }
        let mut moved = false;
        if let Some((dst, part)) = self.waiting.take() {
            let more = part.more();
            if !self.put(&mut sides, dst, part)? {
                return Ok(false);
            }
            moved = true;
            if more && !self.move_message(&mut sides, 1 - dst, dst, &mut capture)? {
                return Ok(true);
            }
        }
        for (src, dst) in [(0, 1), (1, 0)] {
            if sides[src].can_recv()? && room(sides[dst])? {
                moved |= self.move_message(&mut sides, src, dst, &mut capture)?;
                if self.waiting.is_some() {
                    break;
                }
            }
        }
        Ok(moved)
    }

    /// Sends `part` to side `dst`; false when it must wait for room.
    fn put(&mut self, sides: &mut Sides<'_>, dst: usize, part: Msg) -> Result<bool> {
        let len = part.len() as u64;
        match sides[dst].send(part) {
            Ok(()) => {
                self.stats[dst].msgs_out += 1;
                self.stats[dst].bytes_out += len;
                Ok(true)
            }
            Err(Refused::Full(_)) if mutant!(ProxyIgnoresRoom) => Ok(true),
            Err(Refused::Full(part)) => {
                self.waiting = Some((dst, part));
                Ok(false)
            }
            Err(Refused::Failed(e)) => Err(e),
        }
    }

    /// Moves parts from `src` to `dst` up to the end of a message; true if any moved, with
    /// the rest left waiting if `dst` ran out of room.
    fn move_message<'c>(
        &mut self,
        sides: &mut Sides<'_>,
        src: usize,
        dst: usize,
        capture: &mut Option<&'c mut (dyn ProxySocket + 'c)>,
    ) -> Result<bool> {
        let mut moved = false;
        loop {
            let part = match sides[src].recv() {
                Ok(m) => m,
                // Readiness said yes, but a SUB may have filtered the message out.
                Err(Error::WouldBlock) => return Ok(moved),
                Err(e) => return Err(e),
            };
            moved = true;
            let more = part.more();
            self.stats[src].msgs_in += 1;
            self.stats[src].bytes_in += part.len() as u64;
            if let Some(c) = capture.as_deref_mut() {
                match c.send(part.clone()) {
                    Ok(()) | Err(Refused::Full(_)) => {}
                    Err(Refused::Failed(e)) => return Err(e),
                }
            }
            if !self.put(sides, dst, part)? || !more {
                return Ok(true);
            }
        }
    }

    /// Serves every command waiting on `control` (a REP or PAIR): `PAUSE`, `RESUME`,
    /// `TERMINATE`, and `STATISTICS`, answered with eight u64 frames in native byte order
    /// (parts and bytes in, parts and bytes out, frontend then backend), as libzmq does. A
    /// REP gets an empty reply to every other command, so that it can take the next; an
    /// unknown command is otherwise ignored.
    pub fn steer(&mut self, control: &mut dyn ProxySocket) -> Result<Steered> {
        while control.can_recv()? {
            let mut cmd = Vec::new();
            loop {
                let part = control.recv()?;
                let more = part.more();
                cmd.push(part);
                if !more {
                    break;
                }
            }
            match cmd.first().map(|m| &m[..]).unwrap_or_default() {
                b"PAUSE" => self.paused = true,
                b"RESUME" => self.paused = false,
                b"TERMINATE" => {
                    reply_if_rep(control)?;
                    return Ok(Steered::Terminated);
                }
                b"STATISTICS" => {
                    let numbers: Vec<u64> = self
                        .stats
                        .iter()
                        .flat_map(|s| [s.msgs_in, s.bytes_in, s.msgs_out, s.bytes_out])
                        .collect();
                    for (i, n) in numbers.iter().enumerate() {
                        let frame =
                            Msg::copy_from_slice(&n.to_ne_bytes()).with_more(i + 1 < numbers.len());
                        send_now(control, frame)?;
                    }
                    continue;
                }
                _ => {}
            }
            reply_if_rep(control)?;
        }
        Ok(Steered::Running)
    }
}

/// Whether `dst` can take a message: the rule the planted `ProxyIgnoresRoom` breaks.
fn room(dst: &mut dyn ProxySocket) -> Result<bool> {
    Ok(mutant!(ProxyIgnoresRoom) || dst.can_send()?)
}

fn send_now(s: &mut dyn ProxySocket, part: Msg) -> Result<()> {
    match s.send(part) {
        Ok(()) => Ok(()),
        Err(Refused::Full(_)) => Err(Error::WouldBlock),
        Err(Refused::Failed(e)) => Err(e),
    }
}

/// A REP must answer before it can take the next command.
fn reply_if_rep(control: &mut dyn ProxySocket) -> Result<()> {
    if control.socket_type() == SocketType::Rep { send_now(control, Msg::new()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A socket of scripted queues: `inbox` to receive, `room` messages it can take.
    struct Fake {
        ty: SocketType,
        inbox: VecDeque<Msg>,
        sent: Vec<Msg>,
        room: usize,
    }

    impl Fake {
        fn new(ty: SocketType, room: usize) -> Fake {
            Fake { ty, inbox: VecDeque::new(), sent: Vec::new(), room }
        }
        fn give(&mut self, parts: &[&str]) {
            for (i, p) in parts.iter().enumerate() {
                self.inbox.push_back(Msg::from(p.to_string()).with_more(i + 1 < parts.len()));
            }
        }
        fn texts(&self) -> Vec<String> {
            self.sent.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect()
        }
    }

    impl ProxySocket for Fake {
        fn socket_type(&self) -> SocketType {
            self.ty
        }
        fn can_recv(&mut self) -> Result<bool> {
            Ok(!self.inbox.is_empty())
        }
        fn can_send(&mut self) -> Result<bool> {
            Ok(self.room > 0)
        }
        fn recv(&mut self) -> Result<Msg> {
            self.inbox.pop_front().ok_or(Error::WouldBlock)
        }
        fn send(&mut self, part: Msg) -> std::result::Result<(), Refused> {
            if self.room == 0 {
                return Err(Refused::Full(part));
            }
            if !part.more() {
                self.room -= 1;
            }
            self.sent.push(part);
            Ok(())
        }
    }

    /// API-10: whole messages both ways, a copy of each part to capture, counted per part;
    /// nothing is read from a side whose destination has no room.
    #[test]
    fn api10_moves_whole_messages_only_where_there_is_room() {
        let mut core = ProxyCore::default();
        let mut f = Fake::new(SocketType::Router, 10);
        let mut b = Fake::new(SocketType::Dealer, 0);
        let mut cap = Fake::new(SocketType::Pub, usize::MAX);
        f.give(&["id", "", "request"]);
        b.give(&["id", "", "reply"]);
        assert!(core.pump([&mut f, &mut b], Some(&mut cap)).unwrap());
        assert_eq!(f.texts(), ["id", "", "reply"]);
        assert_eq!(f.inbox.len(), 3, "the backend had no room: the request stays queued");
        // Not the frontend's input (the backend has no room), but the backend's room; and the
        // backend's input, since the frontend can take it.
        assert_eq!(
            core.want([&mut f, &mut b]).unwrap(),
            [Want { recv: false, send: false }, Want { recv: true, send: true }]
        );
        b.room = 1;
        assert!(core.pump([&mut f, &mut b], Some(&mut cap)).unwrap());
        assert_eq!(b.texts(), ["id", "", "request"]);
        assert_eq!(cap.texts(), ["id", "", "reply", "id", "", "request"]);
        let [fs, bs] = core.stats();
        assert_eq!((fs.msgs_in, fs.bytes_in, fs.msgs_out, fs.bytes_out), (3, 9, 3, 7));
        assert_eq!((bs.msgs_in, bs.msgs_out), (3, 3));
        assert!(!core.pump([&mut f, &mut b], None).unwrap(), "nothing left");
    }

    /// A part refused for room waits, and the rest of its message follows it before anything
    /// else moves.
    #[test]
    fn a_refused_part_waits_and_its_message_stays_whole() {
        struct Tight(Fake, usize);
        impl ProxySocket for Tight {
            fn socket_type(&self) -> SocketType {
                self.0.ty
            }
            fn can_recv(&mut self) -> Result<bool> {
                self.0.can_recv()
            }
            fn can_send(&mut self) -> Result<bool> {
                Ok(true)
            }
            fn recv(&mut self) -> Result<Msg> {
                self.0.recv()
            }
            fn send(&mut self, part: Msg) -> std::result::Result<(), Refused> {
                // Takes parts only while it has credit.
                if self.1 == 0 {
                    return Err(Refused::Full(part));
                }
                self.1 -= 1;
                self.0.sent.push(part);
                Ok(())
            }
        }
        let mut core = ProxyCore::default();
        let mut f = Fake::new(SocketType::Pull, 0);
        f.give(&["a", "b", "c"]);
        f.give(&["next"]);
        let mut b = Tight(Fake::new(SocketType::Push, 0), 1);
        assert!(core.pump([&mut f, &mut b], None).unwrap());
        assert_eq!(b.0.texts(), ["a"]);
        assert_eq!(core.want([&mut f, &mut b]).unwrap()[1], Want { recv: false, send: true });
        assert!(!core.pump([&mut f, &mut b], None).unwrap(), "still no room");
        b.1 = 10;
        assert!(core.pump([&mut f, &mut b], None).unwrap());
        assert_eq!(b.0.texts(), ["a", "b", "c", "next"]);
    }

    /// API-12: PAUSE stops moving, RESUME starts again, STATISTICS answers with eight frames,
    /// TERMINATE ends; a REP control gets an empty reply to the others, a PAIR none.
    #[test]
    fn api12_steering_commands() {
        for ty in [SocketType::Rep, SocketType::Pair] {
            let mut core = ProxyCore::default();
            let mut ctl = Fake::new(ty, usize::MAX);
            let mut f = Fake::new(SocketType::Pull, 0);
            let mut b = Fake::new(SocketType::Push, 10);
            f.give(&["x"]);
            ctl.give(&["PAUSE"]);
            assert_eq!(core.steer(&mut ctl).unwrap(), Steered::Running);
            assert!(core.is_paused());
            assert!(!core.pump([&mut f, &mut b], None).unwrap());
            assert_eq!(core.want([&mut f, &mut b]).unwrap(), [Want::default(); 2]);
            ctl.give(&["RESUME"]);
            ctl.give(&["what?"]);
            core.steer(&mut ctl).unwrap();
            assert!(core.pump([&mut f, &mut b], None).unwrap());
            ctl.sent.clear();
            ctl.give(&["STATISTICS"]);
            core.steer(&mut ctl).unwrap();
            assert_eq!(ctl.sent.len(), 8);
            let n = |i: usize| u64::from_ne_bytes(ctl.sent[i][..].try_into().unwrap());
            assert_eq!((n(0), n(1), n(2), n(3), n(4), n(5), n(6), n(7)), (1, 1, 0, 0, 0, 0, 1, 1));
            assert!(ctl.sent[..7].iter().all(Msg::more) && !ctl.sent[7].more());
            ctl.sent.clear();
            ctl.give(&["TERMINATE"]);
            assert_eq!(core.steer(&mut ctl).unwrap(), Steered::Terminated);
            let replies = usize::from(ty == SocketType::Rep);
            assert_eq!(ctl.sent.len(), replies, "{ty}");
        }
    }
}
