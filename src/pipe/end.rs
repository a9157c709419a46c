//! A pipe: two SPSC queues, one each way, between two owners (a socket and a session, or two
//! inproc sockets), with whole-message high-water marks and libzmq's termination handshake.
//!
//! A `PipeEnd` knows no driver. What it must tell the other end (wake up, you may write
//! again, let us terminate) comes out of [`PipeEnd::poll_command`]; the owner carries it to the
//! owner of the peer end (by mailbox) who feeds it to [`PipeEnd::handle_command`]. What the
//! owner itself must react to comes out of [`PipeEnd::poll_event`].

use super::latest;
use super::spsc::{self, Consumer, Producer};
use crate::Msg;
use crate::sync::{Arc, Mutex, lock};
use std::collections::VecDeque;

/// What the pipe needs to know about a message part: whether another part of the same
/// message follows (a multipart message counts once against the high-water mark).
pub trait PipeMsg {
    /// True when another part of the same message follows.
    fn more(&self) -> bool;
}

impl PipeMsg for Msg {
    fn more(&self) -> bool {
        Msg::more(self)
    }
}

pub(crate) enum Item<T> {
    Msg(T),
    /// Written after the last message when an end terminates.
    Delimiter,
}

/// How one direction of a pipe queues what its writer sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// In order, at most this many unread messages (0: no limit).
    Queue(u64),
    /// Only the newest message is kept (CONFLATE, Q-10); there is no high-water mark.
    Conflate,
}

/// The writing side of one direction.
enum Tx<T> {
    Queue(Producer<Item<T>>),
    Latest(latest::Producer<T>),
}

impl<T> Tx<T> {
    #[inline]
    fn write(&mut self, item: Item<T>, incomplete: bool) {
        match self {
            Tx::Queue(q) => q.write(item, incomplete),
            Tx::Latest(l) => match item {
                Item::Msg(m) => l.write(m, incomplete),
                Item::Delimiter => l.close(),
            },
        }
    }

    /// False when the reader was asleep and must be woken.
    #[inline]
    fn flush(&mut self) -> bool {
        match self {
            Tx::Queue(q) => q.flush(),
            Tx::Latest(l) => l.flush(),
        }
    }

    fn unwrite(&mut self) -> Option<()> {
        match self {
            Tx::Queue(q) => q.unwrite().map(drop),
            Tx::Latest(l) => l.unwrite().map(drop),
        }
    }
}

/// What the reading side sees next.
enum Next<'a, T> {
    Empty,
    Msg(&'a T),
    Delimiter,
}

/// The reading side of one direction.
enum Rx<T> {
    Queue(Consumer<Item<T>>),
    Latest(latest::Consumer<T>),
}

impl<T> Rx<T> {
    fn peek(&mut self) -> Next<'_, T> {
        match self {
            Rx::Queue(q) => match q.peek() {
                None => Next::Empty,
                Some(Item::Msg(m)) => Next::Msg(m),
                Some(Item::Delimiter) => Next::Delimiter,
            },
            Rx::Latest(l) => match l.peek() {
                latest::Peek::Empty => Next::Empty,
                latest::Peek::Item(m) => Next::Msg(m),
                latest::Peek::Closed => Next::Delimiter,
            },
        }
    }

    #[inline(always)]
    fn read(&mut self) -> Option<Item<T>> {
        match self {
            Rx::Queue(q) => q.read(),
            Rx::Latest(l) => match l.read() {
                latest::Read::Item(m) => Some(Item::Msg(m)),
                latest::Read::Closed => Some(Item::Delimiter),
                latest::Read::Empty => None,
            },
        }
    }
}

fn direction<T>(flow: Flow) -> (Tx<T>, Rx<T>) {
    match flow {
        Flow::Queue(_) => {
            let (tx, rx) = spsc::channel();
            (Tx::Queue(tx), Rx::Queue(rx))
        }
        Flow::Conflate => {
            let (tx, rx) = latest::channel();
            (Tx::Latest(tx), Rx::Latest(rx))
        }
    }
}

impl Flow {
    /// The high-water mark in messages (0: none).
    fn hwm(self) -> u64 {
        match self {
            Flow::Queue(hwm) => hwm,
            Flow::Conflate => 0,
        }
    }
}

/// A command from one end to the other, carried by the owners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeCommand {
    /// Messages were published while the reader slept: read again.
    ActivateRead,
    /// The reader has read this many messages in all: the writer may use the credit.
    ActivateWrite {
        /// Messages read so far.
        msgs_read: u64,
    },
    /// The sender is terminating the pipe.
    Term,
    /// Acknowledges `Term` (or, from the initiator, the final acknowledgement).
    TermAck,
    /// The other end's owner changed the marks (O-02): the receiving end now writes at most
    /// `out` unread messages and returns credit for an inbound mark of `inbound`.
    Hwms {
        /// The receiving end's new outbound mark.
        out: u64,
        /// The mark on what the receiving end reads.
        inbound: u64,
    },
    /// The connection behind the other end broke and will be replaced, while the pipe stays
    /// (a connect side reconnecting): what the owner told the peer, such as a SUB's
    /// subscriptions, must be said again (libzmq's `hiccup`, SUB-07).
    Hiccup,
}

/// Something the owner of an end must react to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeEvent {
    /// Messages can be read again (after `read` returned `None`).
    ReadActivated,
    /// Messages can be written again (after the high-water mark was hit).
    WriteActivated,
    /// The termination handshake finished: drop this end.
    Terminated,
    /// The other end's connection was replaced ([`PipeCommand::Hiccup`]).
    Hiccuped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Active,
    /// The peer's delimiter was read before its `Term` arrived.
    DelimiterReceived,
    /// The peer asked to terminate; we read until its delimiter first (delay on).
    WaitingForDelimiter,
    /// We acknowledged the peer's `Term` and wait for its final acknowledgement.
    TermAckSent,
    /// We asked to terminate.
    TermReqSent1,
    /// We asked to terminate and so did the peer, at the same time.
    TermReqSent2,
    Terminated,
}

/// The first multiple of `lwm` above `msgs_read`: when credit goes back next (never for 0).
fn next_credit(msgs_read: u64, lwm: u64) -> u64 {
    msgs_read.checked_div(lwm).map_or(u64::MAX, |n| (n + 1) * lwm)
}

/// libzmq's low-water mark: the reader returns credit every `lwm` messages.
pub fn compute_lwm(hwm: u64) -> u64 {
    const MAX_WM_DELTA: u64 = 1024;
    if hwm > MAX_WM_DELTA * 2 { hwm - MAX_WM_DELTA } else { hwm.div_ceil(2) }
}

/// One end of a pipe.
pub struct PipeEnd<T> {
    out: Option<Tx<T>>,
    inp: Rx<T>,
    /// What this end writes is conflated: it has no high-water mark, whatever is set.
    conflate_out: bool,
    state: State,
    /// Outbound high-water mark in messages (0: none).
    hwm: u64,
    /// Inbound low-water mark: credit goes back every `lwm` messages read.
    lwm: u64,
    /// The `msgs_read` at which credit goes back next: the next multiple of `lwm` (a compare
    /// on each read instead of a division).
    credit_at: u64,
    msgs_written: u64,
    peers_msgs_read: u64,
    msgs_read: u64,
    in_active: bool,
    out_active: bool,
    /// Read the peer's remaining messages before acknowledging its `Term`.
    delay: bool,
    /// Made with room for a few, as every pipe that carries a stream sends credit: grown at
    /// the first, it would allocate on the reader's thread (an I/O thread) the first time
    /// `lwm` messages had been read, long into the stream when the high-water mark is large.
    commands: VecDeque<PipeCommand>,
    events: VecDeque<PipeEvent>,
    /// Spent messages going back to the writer's thread ([`return_spent`]): as the reader,
    /// what it read and used up since it last returned credit, and the slot it leaves them in
    /// for the writer; as the writer, the slot it empties and its own (empty) batch.
    back: Option<Returns<T>>,
    mine: Option<Returns<T>>,
}

/// How many batches of `lwm` spent messages the return slot holds at most: HWM + `lwm` is at
/// most three (`compute_lwm` is at least half the mark, or all but 1024 of it above 2048).
pub const RETURN_SLOT: u64 = 3;

/// One direction's spent messages on their way back ([`return_spent`]): a batch this end
/// fills or empties, and the slot shared with the other end. Three vectors circulate between
/// the two ends and the slot by swapping, so returning allocates nothing in the steady state.
struct Returns<T> {
    batch: Vec<T>,
    slot: Arc<Mutex<Vec<T>>>,
}

impl<T> std::fmt::Debug for PipeEnd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeEnd")
            .field("state", &self.state)
            .field("hwm", &self.hwm)
            .field("msgs_written", &self.msgs_written)
            .field("msgs_read", &self.msgs_read)
            .finish_non_exhaustive()
    }
}

/// Creates a pipe and returns its two ends. `hwm_a_to_b` limits how many messages end A may
/// have written that end B has not read (0: no limit); `hwm_b_to_a` the reverse.
///
/// ```
/// # #[cfg(not(loom))] {
/// use ferromq::pipe::{pipe_pair, PipeCommand};
/// use ferromq::Msg;
/// let (mut a, mut b) = pipe_pair::<Msg>(2, 2);
/// a.write(Msg::from("1")).unwrap();
/// a.write(Msg::from("2")).unwrap();
/// assert!(a.write(Msg::from("3")).is_err()); // at the high-water mark
/// a.flush();
/// assert_eq!(&b.read().unwrap()[..], b"1");
/// // B returns credit; its owner carries the command to A's owner.
/// while let Some(cmd) = b.poll_command() {
///     a.handle_command(cmd);
/// }
/// assert!(a.write(Msg::from("3")).is_ok());
/// # }
/// ```
pub fn pipe_pair<T: PipeMsg>(hwm_a_to_b: u64, hwm_b_to_a: u64) -> (PipeEnd<T>, PipeEnd<T>) {
    pipe_pair_with(Flow::Queue(hwm_a_to_b), Flow::Queue(hwm_b_to_a))
}

/// Creates a pipe whose two directions queue as `a_to_b` and `b_to_a` say: a conflating
/// direction keeps only its writer's newest message (CONFLATE).
///
/// ```
/// # #[cfg(not(loom))] {
/// use ferromq::pipe::{Flow, pipe_pair_with};
/// use ferromq::Msg;
/// let (mut a, mut b) = pipe_pair_with::<Msg>(Flow::Conflate, Flow::Queue(0));
/// for price in ["10", "11", "12"] {
///     a.write(Msg::from(price)).unwrap(); // never refused: no high-water mark
///     a.flush();
/// }
/// assert_eq!(&b.read().unwrap()[..], b"12");
/// assert!(b.read().is_none());
/// # }
/// ```
pub fn pipe_pair_with<T: PipeMsg>(a_to_b: Flow, b_to_a: Flow) -> (PipeEnd<T>, PipeEnd<T>) {
    let (a_tx, b_rx) = direction(a_to_b);
    let (b_tx, a_rx) = direction(b_to_a);
    (
        PipeEnd::new(a_tx, a_rx, a_to_b, compute_lwm(b_to_a.hwm())),
        PipeEnd::new(b_tx, b_rx, b_to_a, compute_lwm(a_to_b.hwm())),
    )
}

/// Makes `reader` return what it reads from `writer`, once used up ([`PipeEnd::spent`]), to
/// `writer`'s owner, who drops it when it next handles credit. A session that copies each
/// message it reads into its output would otherwise free every heap body on the I/O thread,
/// while the user's thread allocated it: glibc then serves each `malloc` and each `free` from
/// the same arena under its lock, and the two threads contend for it per message (at 1 KiB
/// that was a futex call per message on both). Returned, both happen on one thread, mostly in
/// its per-thread cache. What waits to go back is bounded: a batch of at most `lwm` messages
/// on the reader's side and [`RETURN_SLOT`] batches in the slot, about the mark's worth of
/// messages once more.
pub fn return_spent<T>(reader: &mut PipeEnd<T>, writer: &mut PipeEnd<T>) {
    let slot = Arc::new(Mutex::new(Vec::new()));
    reader.back = Some(Returns { batch: Vec::new(), slot: slot.clone() });
    writer.mine = Some(Returns { batch: Vec::new(), slot });
}

impl<T: PipeMsg> PipeEnd<T> {
    fn new(out: Tx<T>, inp: Rx<T>, flow: Flow, lwm: u64) -> Self {
        let hwm = flow.hwm();
        PipeEnd {
            out: Some(out),
            inp,
            conflate_out: flow == Flow::Conflate,
            state: State::Active,
            hwm,
            lwm,
            credit_at: next_credit(0, lwm),
            msgs_written: 0,
            peers_msgs_read: 0,
            msgs_read: 0,
            in_active: true,
            out_active: true,
            delay: true,
            commands: VecDeque::with_capacity(4),
            events: VecDeque::new(),
            back: None,
            mine: None,
        }
        .with_hwm(hwm)
    }

    /// The mark as stored: the planted `HwmOffByOne` bug lives here, where a mark is set, not
    /// on the write path.
    fn with_hwm(mut self, hwm: u64) -> Self {
        self.hwm = self.stored_hwm(hwm);
        self
    }

    fn stored_hwm(&self, hwm: u64) -> u64 {
        if self.conflate_out {
            0
        } else if hwm > 0 && mutant!(HwmOffByOne) {
            hwm + 1
        } else {
            hwm
        }
    }

    /// Whether a message may be written now: the pipe is active and below its high-water
    /// mark. When it returns `false` because of the mark, [`PipeEvent::WriteActivated`]
    /// follows once the reader has drained to the low-water mark.
    #[inline]
    pub fn check_write(&mut self) -> bool {
        if !self.out_active || self.state != State::Active {
            return false;
        }
        let full = self.hwm > 0 && self.msgs_written - self.peers_msgs_read >= self.hwm;
        if full {
            self.out_active = false;
        }
        !full
    }

    /// Writes one message part (not yet visible to the reader: see [`PipeEnd::flush`]).
    /// Refused, and handed back, when [`PipeEnd::check_write`] says no.
    #[inline]
    pub fn write(&mut self, msg: T) -> Result<(), T> {
        if !self.check_write() {
            return Err(msg);
        }
        let more = msg.more();
        let Some(out) = self.out.as_mut() else { return Err(msg) };
        out.write(Item::Msg(msg), more);
        if !more {
            self.msgs_written += 1;
        }
        Ok(())
    }

    /// Writes one whole single-part message past the high-water mark: for control traffic a
    /// pattern must not lose, such as a subscriber's subscriptions, which libzmq drops at the
    /// mark (then a SUB that changed its subscriptions while disconnected never gets what it
    /// asked for). It counts towards the mark, so data waits until the reader catches up.
    /// Refused only by a pipe that is terminating.
    pub fn write_past_hwm(&mut self, msg: T) -> Result<(), T> {
        if self.state != State::Active || msg.more() {
            return Err(msg);
        }
        let Some(out) = self.out.as_mut() else { return Err(msg) };
        out.write(Item::Msg(msg), false);
        self.msgs_written += 1;
        Ok(())
    }

    /// Publishes the complete messages written so far; if the reader was asleep, queues the
    /// one [`PipeCommand::ActivateRead`] that wakes it.
    #[inline]
    pub fn flush(&mut self) {
        if self.state == State::TermAckSent {
            return;
        }
        if let Some(out) = self.out.as_mut() {
            if !out.flush() && !mutant!(MissedWakeup) {
                self.commands.push_back(PipeCommand::ActivateRead);
            }
        }
    }

    /// Drops the parts of a message written but not completed (the connection that was
    /// delivering it broke mid-message).
    pub fn rollback(&mut self) {
        if let Some(out) = self.out.as_mut() {
            while out.unwrite().is_some() {}
        }
    }

    /// Takes back a message this end read and has used up (a session that copied it into its
    /// output), to be dropped on the writer's thread rather than here ([`return_spent`]).
    /// Dropped here at once if this direction does not return, or has no credit flow to
    /// carry the batch (no high-water mark), or the batch is full.
    pub fn spent(&mut self, msg: T) {
        match self.back.as_mut() {
            // The planted bug keeps them all.
            Some(r) if mutant!(SpentPilesUp) => r.batch.push(msg),
            Some(r) if self.lwm > 0 && (r.batch.len() as u64) < self.lwm => r.batch.push(msg),
            _ => drop(msg),
        }
    }

    /// At a credit point: the batch of spent messages goes into the slot, where the writer
    /// finds it when it handles the credit. A reader often reads two credits' worth before
    /// the writer handles the first, so the slot takes a batch on top of another; flow control
    /// bounds what the writer leaves there (it writes at most HWM past the credit it handled,
    /// so at most HWM + `lwm` are spent meanwhile: `RETURN_SLOT` batches), and a batch that
    /// would overfill it, which only a changed mark can cause, is dropped here.
    fn hand_back(&mut self) {
        let Some(r) = self.back.as_mut() else { return };
        if r.batch.is_empty() || mutant!(SpentPilesUp) {
            return;
        }
        let mut slot = lock(&r.slot);
        if slot.is_empty() {
            std::mem::swap(&mut *slot, &mut r.batch);
        } else if ((slot.len() + r.batch.len()) as u64) <= RETURN_SLOT * self.lwm {
            slot.append(&mut r.batch);
        } else {
            drop(slot);
            r.batch.clear();
        }
    }

    /// How many used-up messages this end holds for the writer's thread (its batch and the
    /// slot): at most `RETURN_SLOT + 1` batches of `lwm`.
    pub fn returning(&self) -> usize {
        self.back.as_ref().map_or(0, |r| r.batch.len() + lock(&r.slot).len())
    }

    /// The writer handles a credit: the batch its reader returned is dropped now, on the
    /// thread that allocated it (outside the lock; the emptied vector goes back next time).
    fn free_returned(&mut self) {
        let Some(r) = self.mine.as_mut() else { return };
        std::mem::swap(&mut *lock(&r.slot), &mut r.batch);
        r.batch.clear();
    }

    fn readable_state(&self) -> bool {
        matches!(self.state, State::Active | State::WaitingForDelimiter)
    }

    /// Whether a message can be read now. When it returns `false`, the reader sleeps until
    /// [`PipeEvent::ReadActivated`].
    #[inline]
    pub fn check_read(&mut self) -> bool {
        if !self.in_active || !self.readable_state() {
            return false;
        }
        match self.inp.peek() {
            Next::Empty => {
                self.in_active = false;
                false
            }
            Next::Delimiter => {
                let _ = self.inp.read();
                self.process_delimiter();
                false
            }
            Next::Msg(_) => true,
        }
    }

    /// Reads one message part, or `None` when there is none (the reader then sleeps until
    /// [`PipeEvent::ReadActivated`]) or the pipe is terminating.
    #[inline(always)]
    pub fn read(&mut self) -> Option<T> {
        if !self.in_active || !self.readable_state() {
            return None;
        }
        match self.inp.read() {
            None => {
                self.in_active = false;
                None
            }
            Some(Item::Delimiter) => {
                self.process_delimiter();
                None
            }
            Some(Item::Msg(m)) => {
                if !m.more() {
                    self.msgs_read += 1;
                    if self.msgs_read == self.credit_at {
                        self.credit_at += self.lwm;
                        let msgs_read = self.msgs_read;
                        self.commands.push_back(PipeCommand::ActivateWrite { msgs_read });
                        self.hand_back();
                    }
                }
                Some(m)
            }
        }
    }

    /// Reads and drops the messages at the head of the pipe for which `pred` holds (a closing
    /// subscriber's subscriptions, owed to nobody once it is gone); stops at the first one
    /// for which it does not, or at the end. True if it dropped any.
    pub fn skip_while(&mut self, mut pred: impl FnMut(&T) -> bool) -> bool {
        let mut skipped = false;
        while self.check_read() {
            match self.inp.peek() {
                Next::Msg(m) if pred(m) => {
                    let _ = self.read();
                    skipped = true;
                }
                _ => break,
            }
        }
        skipped
    }

    /// Never waits to read what the peer sent before acknowledging its termination: for an
    /// owner that never reads (PUSH, PUB), which would otherwise hold a terminating pipe for
    /// good (libzmq's `set_nodelay`).
    pub fn set_nodelay(&mut self) {
        self.delay = false;
    }

    /// Starts terminating the pipe. With `delay`, this end will still read what the peer had
    /// sent before it learns of the termination (linger); without, it drops it. Messages this
    /// end wrote stay readable by the peer up to a delimiter. Idempotent.
    pub fn terminate(&mut self, delay: bool) {
        self.delay = delay;
        match self.state {
            State::TermReqSent1 | State::TermReqSent2 | State::TermAckSent | State::Terminated => {
                return;
            }
            State::Active | State::DelimiterReceived => {
                self.commands.push_back(PipeCommand::Term);
                self.state = State::TermReqSent1;
            }
            State::WaitingForDelimiter if !delay => {
                self.rollback();
                self.out = None;
                self.commands.push_back(PipeCommand::TermAck);
                self.state = State::TermAckSent;
            }
            State::WaitingForDelimiter => {}
        }
        self.out_active = false;
        if let Some(out) = self.out.as_mut() {
            while out.unwrite().is_some() {}
            out.write(Item::Delimiter, false);
            self.flush();
        }
    }

    /// Applies a command from the peer end.
    pub fn handle_command(&mut self, cmd: PipeCommand) {
        match cmd {
            PipeCommand::ActivateRead => {
                if !self.in_active && self.readable_state() {
                    self.in_active = true;
                    self.events.push_back(PipeEvent::ReadActivated);
                }
            }
            PipeCommand::ActivateWrite { msgs_read } => {
                self.free_returned();
                self.peers_msgs_read = msgs_read;
                if !self.out_active && self.state == State::Active {
                    self.out_active = true;
                    self.events.push_back(PipeEvent::WriteActivated);
                }
            }
            PipeCommand::Term => self.process_term(),
            PipeCommand::TermAck => self.process_term_ack(),
            PipeCommand::Hwms { out, inbound } => self.apply_hwms(out, inbound),
            PipeCommand::Hiccup => {
                if self.state == State::Active {
                    self.events.push_back(PipeEvent::Hiccuped);
                }
            }
        }
    }

    /// Tells the other end's owner that this end's connection was replaced
    /// ([`PipeCommand::Hiccup`]).
    pub fn hiccup(&mut self) {
        if self.state == State::Active {
            self.commands.push_back(PipeCommand::Hiccup);
        }
    }

    fn process_term(&mut self) {
        match self.state {
            State::Active if self.delay => self.state = State::WaitingForDelimiter,
            State::Active | State::DelimiterReceived => self.ack_term(State::TermAckSent),
            State::TermReqSent1 => self.ack_term(State::TermReqSent2),
            _ => {}
        }
    }

    fn ack_term(&mut self, next: State) {
        self.state = next;
        self.out = None;
        self.commands.push_back(PipeCommand::TermAck);
    }

    fn process_term_ack(&mut self) {
        if self.state == State::TermReqSent1 {
            self.out = None;
            self.commands.push_back(PipeCommand::TermAck);
        }
        self.state = State::Terminated;
        // Release what the peer sent and nobody will read, now rather than at drop.
        while self.inp.read().is_some() {}
        self.events.push_back(PipeEvent::Terminated);
    }

    fn process_delimiter(&mut self) {
        match self.state {
            State::Active => self.state = State::DelimiterReceived,
            State::WaitingForDelimiter => {
                self.rollback();
                self.ack_term(State::TermAckSent);
            }
            _ => {}
        }
    }

    /// The next command for the peer end. Poll after every call on this end.
    #[must_use]
    #[inline]
    pub fn poll_command(&mut self) -> Option<PipeCommand> {
        self.commands.pop_front()
    }

    /// The next event for this end's owner.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<PipeEvent> {
        self.events.pop_front()
    }

    /// True once the termination handshake has finished.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// True when the peer has started terminating (its delimiter was read or its `Term`
    /// arrived) or we have.
    pub fn is_terminating(&self) -> bool {
        self.state != State::Active
    }

    /// Changes both marks of this end at once (O-02): `out` bounds what this end writes and
    /// the peer has not read, `inbound` what the peer writes to it. The peer is told with a
    /// [`PipeCommand::Hwms`], so both ends agree on both directions.
    pub fn set_hwms(&mut self, out: u64, inbound: u64) {
        if self.state != State::Active {
            return; // terminating: the marks no longer matter, and the peer may be gone
        }
        self.apply_hwms(out, inbound);
        self.commands.push_back(PipeCommand::Hwms { out: inbound, inbound: out });
    }

    fn apply_hwms(&mut self, out: u64, inbound: u64) {
        self.lwm = compute_lwm(inbound);
        self.credit_at = next_credit(self.msgs_read, self.lwm);
        // A smaller low-water mark may be one this end has already passed without returning
        // credit; a writer blocked on that credit would wait forever, so return it now.
        if self.state == State::Active && self.msgs_read > 0 {
            self.commands.push_back(PipeCommand::ActivateWrite { msgs_read: self.msgs_read });
        }
        self.set_hwm(out);
    }

    /// Changes the outbound high-water mark; applies at once (Q-09).
    pub fn set_hwm(&mut self, hwm: u64) {
        self.hwm = self.stored_hwm(hwm);
        let hwm = self.hwm;
        if !self.out_active && self.state == State::Active {
            let full = hwm > 0 && self.msgs_written - self.peers_msgs_read >= hwm;
            if !full {
                self.out_active = true;
                self.events.push_back(PipeEvent::WriteActivated);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A message that counts its drops, for the returns.
    struct Tracked(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl PipeMsg for Tracked {
        fn more(&self) -> bool {
            false
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The reader's spent messages are dropped by the writer when it handles the credit that
    /// follows them, not by the reader; what waits is bounded however long the writer takes.
    #[test]
    fn spent_messages_go_back_with_the_credit() {
        let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let dropped = || drops.load(std::sync::atomic::Ordering::Relaxed);
        // HWM 8: credit every 4 messages.
        let (mut w, mut r) = pipe_pair::<Tracked>(8, 8);
        return_spent(&mut r, &mut w);
        let mut credits = VecDeque::new();
        let (mut sent, mut refused) = (0, 0);
        for round in 0..50 {
            while w.write(Tracked(drops.clone())).is_ok() {
                sent += 1;
            }
            // The one the mark refused was dropped on the spot.
            refused += 1;
            w.flush();
            while let Some(m) = r.read() {
                r.spent(m);
                let bound = (RETURN_SLOT as usize + 1) * 4;
                assert!(r.returning() <= bound, "round {round}: {} held", r.returning());
            }
            while let Some(c) = r.poll_command() {
                credits.push_back(c);
            }
            // The writer lags a round behind with the credit: the slot meanwhile takes the
            // reader's batches on top of each other, within its bound.
            if round % 2 == 1 {
                let before = dropped();
                while let Some(c) = credits.pop_front() {
                    w.handle_command(c);
                }
                assert!(dropped() > before, "the writer freed nothing it was handed");
            }
            while let Some(c) = w.poll_command() {
                r.handle_command(c);
            }
        }
        let held = sent + refused - dropped();
        assert_eq!(held, r.returning(), "what is not dropped is held for return");
        drop((w, r));
        assert_eq!(dropped(), sent + refused, "every message is dropped exactly once");
    }

    /// Without a high-water mark no credit flows to carry a batch back: spent messages are
    /// dropped where they are.
    #[test]
    fn without_a_mark_spent_messages_drop_at_once() {
        let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (mut w, mut r) = pipe_pair::<Tracked>(0, 0);
        return_spent(&mut r, &mut w);
        for _ in 0..10 {
            w.write(Tracked(drops.clone())).map_err(drop).unwrap();
        }
        w.flush();
        while let Some(m) = r.read() {
            r.spent(m);
        }
        assert_eq!(r.returning(), 0);
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), 10);
    }

    /// Carries every pending command between the two ends until none is left.
    fn shuttle(a: &mut PipeEnd<Msg>, b: &mut PipeEnd<Msg>) {
        loop {
            let mut moved = false;
            while let Some(c) = a.poll_command() {
                b.handle_command(c);
                moved = true;
            }
            while let Some(c) = b.poll_command() {
                a.handle_command(c);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn drain(end: &mut PipeEnd<Msg>) -> Vec<Msg> {
        std::iter::from_fn(|| end.read()).collect()
    }

    #[test]
    fn compute_lwm_matches_libzmq() {
        assert_eq!(compute_lwm(0), 0);
        assert_eq!(compute_lwm(1), 1);
        assert_eq!(compute_lwm(2), 1);
        assert_eq!(compute_lwm(1000), 500);
        assert_eq!(compute_lwm(5000), 3976);
    }

    /// Q-01: the high-water mark counts whole messages; a multipart message counts once.
    #[test]
    fn q01_hwm_counts_whole_messages() {
        let (mut a, mut b) = pipe_pair::<Msg>(2, 0);
        for _ in 0..2 {
            for part in 0..5 {
                a.write(Msg::from("p").with_more(part < 4)).unwrap();
            }
        }
        assert!(!a.check_write());
        a.flush();
        assert_eq!(drain(&mut b).len(), 10);
        shuttle(&mut a, &mut b);
        assert_eq!(a.poll_event(), Some(PipeEvent::WriteActivated));
        assert!(a.check_write());
    }

    /// Q-02: 0 means no limit.
    #[test]
    fn q02_zero_hwm_is_unlimited() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        for i in 0..10_000u32 {
            a.write(Msg::from(i.to_be_bytes())).unwrap();
        }
        a.flush();
        assert_eq!(drain(&mut b).len(), 10_000);
        shuttle(&mut a, &mut b);
        assert_eq!(a.poll_event(), None, "no credit traffic is needed without a limit");
    }

    /// A writer blocked at the mark is woken once the reader drains to the low-water mark,
    /// and not before.
    #[test]
    fn lwm_wakes_a_blocked_writer() {
        let (mut a, mut b) = pipe_pair::<Msg>(10, 10);
        for _ in 0..10 {
            a.write(Msg::from("x")).unwrap();
        }
        assert!(a.write(Msg::from("x")).is_err());
        a.flush();
        for _ in 0..4 {
            b.read().unwrap();
        }
        shuttle(&mut a, &mut b);
        assert_eq!(a.poll_event(), None, "4 reads are below the low-water mark of 5");
        b.read().unwrap();
        shuttle(&mut a, &mut b);
        assert_eq!(a.poll_event(), Some(PipeEvent::WriteActivated));
        for _ in 0..5 {
            a.write(Msg::from("y")).unwrap();
        }
        assert!(!a.check_write());
    }

    /// O-02: lowering the marks on a live pipe. The writer blocks at the new mark, and the
    /// reader, whose old low-water mark (500) it had already passed without returning credit,
    /// returns it when the new marks arrive: otherwise the writer would wait forever.
    #[test]
    fn o02_lowered_marks_reach_the_peer_and_never_strand_the_writer() {
        let (mut a, mut b) = pipe_pair::<Msg>(1000, 1000);
        for _ in 0..700 {
            a.write(Msg::from("x")).unwrap();
        }
        a.flush();
        assert_eq!(drain(&mut b).len(), 700);
        shuttle(&mut a, &mut b); // credit came back at 500 reads only
        a.set_hwms(10, 4);
        assert!(!a.check_write(), "200 unread as far as the writer knows, above 10");
        shuttle(&mut a, &mut b);
        assert_eq!(a.poll_event(), Some(PipeEvent::WriteActivated));
        for _ in 0..10 {
            a.write(Msg::from("y")).unwrap();
        }
        assert!(!a.check_write(), "the new mark holds");
        a.flush();
        shuttle(&mut a, &mut b); // B had read all and slept: wake it
        // B now writes at most 4 unread toward A, and returns credit every 5 reads (lwm of 10).
        for _ in 0..4 {
            b.write(Msg::from("z")).unwrap();
        }
        assert!(!b.check_write());
        for _ in 0..5 {
            b.read().unwrap();
        }
        shuttle(&mut a, &mut b);
        assert_eq!(a.poll_event(), Some(PipeEvent::WriteActivated));
    }

    /// O-02: a terminating pipe ignores new marks and sends nothing to a peer that may be gone.
    #[test]
    fn o02_marks_on_a_terminating_pipe_are_ignored() {
        let (mut a, _b) = pipe_pair::<Msg>(10, 10);
        a.terminate(false);
        while a.poll_command().is_some() {}
        a.set_hwms(1, 1);
        assert_eq!(a.poll_command(), None);
    }

    /// Q-09: raising the mark releases a blocked writer at once.
    #[test]
    fn q09_raising_the_hwm_applies_at_once() {
        let (mut a, _b) = pipe_pair::<Msg>(1, 1);
        a.write(Msg::from("x")).unwrap();
        assert!(!a.check_write());
        a.set_hwm(5);
        assert_eq!(a.poll_event(), Some(PipeEvent::WriteActivated));
        assert!(a.check_write());
    }

    #[test]
    fn reader_sleeps_and_is_woken_by_exactly_one_command() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        assert!(b.read().is_none());
        a.write(Msg::from("1")).unwrap();
        a.flush();
        a.write(Msg::from("2")).unwrap();
        a.flush();
        assert_eq!(a.poll_command(), Some(PipeCommand::ActivateRead));
        assert_eq!(a.poll_command(), None);
        b.handle_command(PipeCommand::ActivateRead);
        assert_eq!(b.poll_event(), Some(PipeEvent::ReadActivated));
        assert_eq!(drain(&mut b).len(), 2);
    }

    /// W-11/PUSH-03: a partial multipart message is never visible; rollback removes it.
    #[test]
    fn w11_partial_messages_are_invisible_and_rolled_back() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        a.write(Msg::from("whole")).unwrap();
        a.write(Msg::from("half").with_more(true)).unwrap();
        a.flush();
        assert_eq!(drain(&mut b), [Msg::from("whole")]);
        a.rollback();
        a.write(Msg::from("next")).unwrap();
        a.flush();
        shuttle(&mut a, &mut b);
        let _ = b.poll_event();
        assert_eq!(drain(&mut b), [Msg::from("next")]);
    }

    /// Termination from A with messages in flight: B (delay on) reads every message, then
    /// the handshake completes on both sides.
    #[test]
    fn term_from_writer_loses_no_message() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        for i in 0..600u32 {
            a.write(Msg::from(i.to_be_bytes())).unwrap();
        }
        a.flush();
        a.terminate(true);
        // B learns of the Term before reading anything.
        shuttle(&mut a, &mut b);
        assert!(b.is_terminating());
        let got = drain(&mut b);
        assert_eq!(got.len(), 600);
        shuttle(&mut a, &mut b);
        assert_eq!(a.poll_event(), Some(PipeEvent::Terminated));
        assert_eq!(b.poll_event(), Some(PipeEvent::Terminated));
        assert!(a.is_terminated() && b.is_terminated());
    }

    /// Without delay, the peer acknowledges at once and drops what it had not read.
    #[test]
    fn term_without_delay_drops_unread_messages() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        a.write(Msg::from("lost")).unwrap();
        a.flush();
        b.terminate(false);
        shuttle(&mut a, &mut b);
        // A (delay on by default) reads up to B's delimiter, then acknowledges.
        assert!(a.is_terminating() && !a.is_terminated());
        assert!(drain(&mut a).is_empty());
        shuttle(&mut a, &mut b);
        assert!(a.is_terminated() && b.is_terminated());
        assert_eq!(b.read(), None, "B never reads what A sent");
    }

    /// Both ends terminate at the same time.
    #[test]
    fn simultaneous_term_completes_on_both_sides() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        a.terminate(true);
        b.terminate(true);
        shuttle(&mut a, &mut b);
        assert!(a.is_terminated() && b.is_terminated());
        assert_eq!(a.poll_event(), Some(PipeEvent::Terminated));
        assert_eq!(b.poll_event(), Some(PipeEvent::Terminated));
    }

    /// The delimiter read before the Term arrives.
    #[test]
    fn delimiter_before_term_command() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        a.write(Msg::from("m")).unwrap();
        a.terminate(true);
        assert_eq!(drain(&mut b), [Msg::from("m")]);
        assert!(b.is_terminating());
        assert!(!b.check_write(), "no writes once the peer has gone");
        shuttle(&mut a, &mut b);
        assert!(a.is_terminated() && b.is_terminated());
    }

    #[test]
    fn terminate_is_idempotent_and_writes_fail_afterwards() {
        let (mut a, mut b) = pipe_pair::<Msg>(0, 0);
        a.terminate(true);
        a.terminate(false);
        assert!(a.write(Msg::from("late")).is_err());
        shuttle(&mut a, &mut b);
        assert!(drain(&mut b).is_empty(), "only the delimiter was sent");
        shuttle(&mut a, &mut b);
        assert!(a.is_terminated() && b.is_terminated());
    }

    fn texts(end: &mut PipeEnd<Msg>) -> Vec<Vec<u8>> {
        drain(end).iter().map(|m| m.to_vec()).collect()
    }

    /// Q-10: a conflating direction takes every write (no mark, however low it is set), keeps
    /// the newest message, and hands it over before the termination that follows it.
    #[test]
    fn q10_conflation_keeps_the_newest_and_it_outlives_the_close() {
        let (mut a, mut b) = pipe_pair_with::<Msg>(Flow::Conflate, Flow::Queue(1));
        a.set_hwms(1, 1);
        shuttle(&mut a, &mut b);
        for i in 0..100u32 {
            a.write(Msg::from(i.to_be_bytes())).unwrap();
            a.flush();
        }
        a.write(Msg::from("x").with_more(true)).unwrap();
        a.write(Msg::from("y")).unwrap();
        a.flush();
        a.terminate(true);
        shuttle(&mut a, &mut b);
        assert_eq!(texts(&mut b), [b"x".to_vec(), b"y".to_vec()], "the newest whole message");
        shuttle(&mut a, &mut b);
        assert!(a.is_terminated() && b.is_terminated());
        // The other direction still queues by its mark.
        let (mut a, mut b) = pipe_pair_with::<Msg>(Flow::Conflate, Flow::Queue(1));
        b.write(Msg::from("1")).unwrap();
        assert!(b.write(Msg::from("2")).is_err());
        b.flush();
        assert_eq!(texts(&mut a), [b"1".to_vec()]);
    }

    /// A conflating reader asleep is woken by exactly one command, as a queue's is.
    #[test]
    fn q10_a_sleeping_conflating_reader_is_woken_once() {
        let (mut a, mut b) = pipe_pair_with::<Msg>(Flow::Conflate, Flow::Conflate);
        assert!(b.read().is_none());
        a.write(Msg::from("1")).unwrap();
        a.flush();
        a.write(Msg::from("2")).unwrap();
        a.flush();
        assert_eq!(a.poll_command(), Some(PipeCommand::ActivateRead));
        assert_eq!(a.poll_command(), None);
        b.handle_command(PipeCommand::ActivateRead);
        assert_eq!(b.poll_event(), Some(PipeEvent::ReadActivated));
        assert_eq!(texts(&mut b), [b"2".to_vec()]);
    }
}
