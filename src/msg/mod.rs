//! Messages: one frame ([`Msg`]) and a whole multipart message ([`Multipart`]).
//!
//! The representation follows DESIGN.md principle 2, "copy small, share large": a body of at
//! most [`Msg::INLINE_CAPACITY`] (69) bytes lives inside the `Msg` value itself (no heap
//! allocation; libzmq's "very small message" holds up to 33); anything larger is reference
//! counted, so cloning a `Msg` or handing it to the socket's vectored write never copies the
//! body. A heap body made here from a `Vec` or a copy (up to 16 KiB) goes back to the thread
//! that allocated it when another thread drops it last, and is freed there ([`home`]); one made
//! with a [`MsgBuf`] goes back there to be reused, its reference count with it. Such a body is
//! a [`home::HomeBody`]; one from elsewhere (`Msg::from(Bytes)`, a receive buffer) a [`Bytes`].

pub(crate) mod home;
mod multipart;

pub use multipart::Multipart;

use bytes::Bytes;
use home::Shell;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Bytes kept inline: as many as fit beside the tag, the flags and the length in 72 bytes, so
/// that a 64-byte body is carried by value. An allocated body costs its sender a malloc and its
/// receiver a free on another thread, which glibc's per-thread caches cannot serve, and a body
/// decoded from a read buffer shares that buffer's reference count between two threads: at 64
/// bytes that was a third to a half of a message's cost (docs/performance.md has the figures).
/// The price is the larger value: a pipe slot takes two cache lines instead of one, and
/// one-byte messages lost about a tenth of their throughput.
const INLINE_CAP: usize = 69;

// The flags sit in each variant, beside the tag, rather than in `Msg` after the body: the body
// is padded to a multiple of 8 and a separate byte would cost a whole extra word.
#[derive(Clone)]
enum Body {
    Inline { flags: u8, len: u8, buf: [u8; INLINE_CAP] },
    Shared { flags: u8, heap: Heap },
}

/// A heap body: shared from elsewhere ([`Bytes`]), or homed ([`home::HomeBody`]).
///
/// Dropping one is a single call out of line, with the body by value. Dropping a `Msg` is then
/// small enough for the compiler to inline wherever messages are received, in the unwinding
/// paths too; when it was not (a third variant of `Body`, or a drop taking the body by
/// reference), every caller kept its message in memory for the call and copied each one
/// received, inline bodies too, part by part at odd offsets: tcp 1 B ran at 0.62 of its speed.
struct Heap(std::mem::ManuallyDrop<HeapBody>);

#[derive(Clone)]
enum HeapBody {
    Bytes(Bytes),
    Homed(home::HomeBody),
}

impl Heap {
    fn new(body: HeapBody) -> Heap {
        Heap(std::mem::ManuallyDrop::new(body))
    }

    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        match &*self.0 {
            HeapBody::Bytes(b) => b,
            HeapBody::Homed(h) => &h.body,
        }
    }

    /// The body as a `Bytes`; a homed one is owned by a `Heap` of its own, whose drop
    /// still sends it home.
    fn to_bytes(&self) -> Bytes {
        match &*self.0 {
            HeapBody::Bytes(b) => b.clone(),
            HeapBody::Homed(_) => Bytes::from_owner(self.clone()),
        }
    }

    #[allow(unsafe_code)]
    fn into_body(self) -> HeapBody {
        let mut heap = std::mem::ManuallyDrop::new(self);
        // SAFETY: `heap` is never dropped, so the body is taken once.
        unsafe { std::mem::ManuallyDrop::take(&mut heap.0) }
    }
}

/// A message's heap body, shared with whoever writes it to a stream: the encoder queues one in
/// place of a copy. Cloning one is a reference-count increment, a homed body's too (where
/// [`Msg::to_bytes`] boxes a homed body in a `Bytes` of its own), and dropping the last clone
/// sends a homed body home.
#[derive(Clone)]
pub(crate) struct SharedBody(Heap);

impl Deref for SharedBody {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.0.bytes()
    }
}

impl fmt::Debug for SharedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBody({} bytes)", self.len())
    }
}

impl AsRef<[u8]> for Heap {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

impl Clone for Heap {
    fn clone(&self) -> Self {
        Heap::new((*self.0).clone())
    }
}

impl Drop for Heap {
    #[inline(always)]
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and nothing touches the field after it.
        let body = unsafe { std::mem::ManuallyDrop::take(&mut self.0) };
        // In words, so that they travel in registers, as `Bytes`'s drop passes its fields: a
        // 32-byte value would go by reference, and the caller would keep its message in memory.
        // SAFETY: the sizes match (`transmute` checks), and any bits fit a `MaybeUninit`.
        let [a, b, c, d] =
            unsafe { std::mem::transmute::<HeapBody, [std::mem::MaybeUninit<usize>; 4]>(body) };
        drop_heap(a, b, c, d);
    }
}

/// Drops the `HeapBody` whose words are `a`..`d` ([`Heap`]'s drop).
#[inline(never)]
#[allow(unsafe_code)]
fn drop_heap(
    a: std::mem::MaybeUninit<usize>,
    b: std::mem::MaybeUninit<usize>,
    c: std::mem::MaybeUninit<usize>,
    d: std::mem::MaybeUninit<usize>,
) {
    // SAFETY: the words are those of a valid `HeapBody`, moved out of it once.
    let body =
        unsafe { std::mem::transmute::<[std::mem::MaybeUninit<usize>; 4], HeapBody>([a, b, c, d]) };
    match body {
        HeapBody::Bytes(b) => drop(b),
        HeapBody::Homed(h) => go_home(h),
    }
}

/// One message frame: a body plus the MORE flag that says another frame of the same message
/// follows.
///
/// ```
/// use ferromq::Msg;
/// let m = Msg::from("hello");
/// assert_eq!(&m[..], b"hello");
/// assert!(m.is_inline());            // small bodies never touch the heap
/// let big = Msg::from(vec![7u8; 4096]);
/// let copy = big.clone();            // a reference-count increment, not a copy
/// assert_eq!(big.as_ptr(), copy.as_ptr());
/// ```
#[derive(Clone)]
pub struct Msg {
    body: Body,
}

/// Another frame of the same message follows.
const MORE: u8 = 1;
/// A routing id travelling from a connection to its socket through the pipe (never on the
/// wire, never handed to the application).
const ROUTING_ID: u8 = 2;
/// A subscription or cancellation on its way to a publisher (SUB-03).
const SUBSCRIPTION: u8 = 4;
/// A connection's peer was replaced (never on the wire, never handed to the application).
const PEER_REPLACED: u8 = 8;

/// Copies `src` (at most `INLINE_CAP` bytes) to the front of `dst` with fixed-size moves that
/// may overlap, as memcpy does for short lengths, but without the call: a 1-byte frame made
/// per send spent more on the calls to memset and memcpy than on anything else it did.
#[inline(always)]
fn copy_small(dst: &mut [u8; INLINE_CAP], src: &[u8]) {
    const _: () = assert!(INLINE_CAP <= 80, "five 16-byte moves cover the inline body");
    let n = src.len();
    if n >= 16 {
        dst[..16].copy_from_slice(&src[..16]);
        if n > 32 {
            dst[16..32].copy_from_slice(&src[16..32]);
        }
        if n > 48 {
            dst[32..48].copy_from_slice(&src[32..48]);
        }
        if n > 64 {
            dst[48..64].copy_from_slice(&src[48..64]);
        }
        dst[n - 16..n].copy_from_slice(&src[n - 16..]);
    } else if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..n].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..n].copy_from_slice(&src[n - 4..]);
    } else if n > 0 {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

impl Msg {
    /// The largest body stored inline, without a heap allocation.
    pub const INLINE_CAPACITY: usize = INLINE_CAP;

    /// An empty frame (a delimiter, in REQ/REP envelopes).
    pub const fn new() -> Self {
        Msg { body: Body::Inline { flags: 0, len: 0, buf: [0; INLINE_CAP] } }
    }

    /// A frame whose body is a copy of `data` when it is small, or a fresh shared buffer.
    // Inline, so that a body of a length known where it is called (an array, a literal) is
    // copied with a few moves instead of a call into memcpy: small frames are made per
    // message on the send path, and this was a third of a pipe round trip's instructions.
    #[inline]
    pub fn copy_from_slice(data: &[u8]) -> Self {
        if data.len() <= INLINE_CAP {
            let mut buf = [0; INLINE_CAP];
            copy_small(&mut buf, data);
            Msg { body: Body::Inline { flags: 0, len: data.len() as u8, buf } }
        } else {
            Msg::copy_to_heap(data)
        }
    }

    #[cold]
    fn copy_to_heap(data: &[u8]) -> Self {
        Msg::from_vec(data.to_vec(), false, None)
    }

    /// A heap body taken over from `v`, homed at the calling thread ([`home`]) if it is
    /// small enough or to be reused (`reuse`, [`MsgBuf::reusable`]); `shell` is the reference
    /// count a reused body came back in, which takes `v` again.
    fn from_vec(v: Vec<u8>, reuse: bool, shell: Option<home::HomeBody>) -> Self {
        let home = if v.capacity() <= home::MAX_LEN || reuse { home::current() } else { 0 };
        if home == 0 {
            let heap = Heap::new(HeapBody::Bytes(Bytes::from(v)));
            return Msg { body: Body::Shared { flags: 0, heap } };
        }
        let body = shelled(shell, Shell { body: v, home, reuse });
        let heap = Heap::new(HeapBody::Homed(body));
        Msg { body: Body::Shared { flags: 0, heap } }
    }

    /// A frame that shares `data`. Small bodies are still copied inline so that a tiny frame
    /// never keeps a large receive buffer alive.
    pub fn from_bytes(data: Bytes) -> Self {
        if data.len() <= INLINE_CAP {
            Msg::copy_from_slice(&data)
        } else {
            Msg { body: Body::Shared { flags: 0, heap: Heap::new(HeapBody::Bytes(data)) } }
        }
    }

    #[inline(always)]
    fn flags(&self) -> u8 {
        match self.body {
            Body::Inline { flags, .. } | Body::Shared { flags, .. } => flags,
        }
    }

    #[inline(always)]
    fn flags_mut(&mut self) -> &mut u8 {
        match &mut self.body {
            Body::Inline { flags, .. } | Body::Shared { flags, .. } => flags,
        }
    }

    /// Length of the body in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.body {
            Body::Inline { len, .. } => *len as usize,
            Body::Shared { heap, .. } => heap.bytes().len(),
        }
    }

    /// True when the body is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the body is stored inline (no heap allocation).
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self.body, Body::Inline { .. })
    }

    /// True when another frame of the same message follows this one.
    #[inline]
    pub fn more(&self) -> bool {
        self.flags() & MORE != 0
    }

    /// Sets or clears the MORE flag.
    #[inline]
    pub fn set_more(&mut self, more: bool) {
        let flags = self.flags_mut();
        *flags = (*flags & !MORE) | if more { MORE } else { 0 };
    }

    /// Builder form of [`Msg::set_more`].
    #[must_use]
    pub fn with_more(mut self, more: bool) -> Self {
        self.set_more(more);
        self
    }

    /// A pipe item carrying a peer's routing id, from a connection to its socket (a ROUTER
    /// learns who is at the other end of a pipe this way, as libzmq's do). Never sent on the
    /// wire; a socket that receives one takes it for itself.
    pub fn routing_id(id: &[u8]) -> Self {
        let mut m = Msg::copy_from_slice(id);
        *m.flags_mut() = ROUTING_ID;
        m
    }

    /// True for a [`Msg::routing_id`] item.
    #[inline]
    pub fn is_routing_id(&self) -> bool {
        self.flags() & ROUTING_ID != 0
    }

    /// A subscription (`subscribe`) or a cancellation for `topic`, as a SUB or XSUB sends it
    /// towards its publishers: the body is the message form, `01` or `00` followed by the
    /// topic, which is what a publisher reads and what a ZMTP 3.0 peer gets; a connection to
    /// a ZMTP 3.1 peer writes it as a SUBSCRIBE or CANCEL command instead (SUB-03).
    pub fn subscription(subscribe: bool, topic: &[u8]) -> Self {
        let mut body = Vec::with_capacity(1 + topic.len());
        body.push(u8::from(subscribe));
        body.extend_from_slice(topic);
        let mut m = Msg::from(body);
        *m.flags_mut() = SUBSCRIPTION;
        m
    }

    /// A pipe item from a connect side whose connection was replaced: what the old peer
    /// asked for (a publisher's subscriptions) no longer holds. Never sent on the wire.
    pub fn peer_replaced() -> Self {
        let mut m = Msg::new();
        *m.flags_mut() = PEER_REPLACED;
        m
    }

    /// True for a [`Msg::peer_replaced`] item.
    #[inline]
    pub fn is_peer_replaced(&self) -> bool {
        self.flags() & PEER_REPLACED != 0
    }

    /// True for a [`Msg::subscription`].
    #[inline]
    pub fn is_subscription(&self) -> bool {
        self.flags() & SUBSCRIPTION != 0
    }

    /// The body as a `Bytes`: shared when large (no copy), copied when inline. A body that
    /// goes home ([`MsgBuf`], or a `Vec` of up to 16 KiB) becomes a `Bytes` of its own, one
    /// small allocation, and still goes home when the last of them is dropped.
    pub fn to_bytes(&self) -> Bytes {
        match &self.body {
            Body::Inline { len, buf, .. } => Bytes::copy_from_slice(&buf[..*len as usize]),
            Body::Shared { heap, .. } => heap.to_bytes(),
        }
    }

    /// The heap body, shared (no copy, no allocation); `None` for an inline body.
    pub(crate) fn share_body(&self) -> Option<SharedBody> {
        match &self.body {
            Body::Inline { .. } => None,
            // The planted bug gives a homed body a `Bytes` of its own, as writes did until
            // `SharedBody`: one small box per message, made and freed by the writer.
            Body::Shared { heap, .. } if mutant!(BoxPerWrite) => {
                Some(SharedBody(Heap::new(HeapBody::Bytes(heap.to_bytes()))))
            }
            Body::Shared { heap, .. } => Some(SharedBody(heap.clone())),
        }
    }

    /// Consumes the message and returns its body as `Bytes` (no copy when shared).
    pub fn into_bytes(self) -> Bytes {
        match self.body {
            Body::Inline { len, buf, .. } => Bytes::copy_from_slice(&buf[..len as usize]),
            Body::Shared { heap, .. } => match heap.into_body() {
                HeapBody::Bytes(b) => b,
                homed => Bytes::from_owner(Heap::new(homed)),
            },
        }
    }
}

impl Default for Msg {
    fn default() -> Self {
        Msg::new()
    }
}

impl Deref for Msg {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.body {
            Body::Inline { len, buf, .. } => &buf[..*len as usize],
            Body::Shared { heap, .. } => heap.bytes(),
        }
    }
}

impl AsRef<[u8]> for Msg {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Msg {
    fn eq(&self, other: &Self) -> bool {
        self.flags() == other.flags() && self[..] == other[..]
    }
}
impl Eq for Msg {}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 32;
        let body = &self[..SHOWN.min(self.len())];
        let mut d = f.debug_struct("Msg");
        d.field("len", &self.len());
        d.field("more", &self.more());
        if self.is_routing_id() {
            d.field("routing_id", &true);
        }
        match std::str::from_utf8(body) {
            Ok(s) => d.field("body", &s),
            Err(_) => d.field("body", &body),
        };
        d.finish()
    }
}

impl From<Bytes> for Msg {
    fn from(b: Bytes) -> Self {
        Msg::from_bytes(b)
    }
}
impl From<Vec<u8>> for Msg {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP { Msg::copy_from_slice(&v) } else { Msg::from_vec(v, false, None) }
    }
}

/// A message body being written, which becomes a [`Msg`] without a copy, and whose memory
/// ferromq reuses. When another thread drops the body last (a receiver over inproc, the I/O
/// thread once the body is written), it goes back to the thread that made it, and that
/// thread's next `MsgBuf` of about its size (up to twice the capacity asked) takes it again,
/// warm, instead of asking the allocator; one dropped by its own thread, sent or not, is
/// kept at once. A thread keeps at most 8 MiB of such bodies (and 4096 of them), and as much
/// again waits in its home, until it ends; bodies over 1 MiB are left to the allocator.
/// `Msg::from(Vec)` and copies are not reused (small ones go home to be freed): the steady
/// state of a stream of `MsgBuf` bodies allocates nothing. It derefs to the `Vec<u8>` it
/// fills, so anything that writes to a `Vec` writes to it.
///
/// ```
/// use ferromq::{Msg, MsgBuf};
/// use std::io::Write;
/// let mut body = MsgBuf::with_capacity(64 * 1024);
/// body.resize(60_000, 0);
/// write!(&mut *body, "trailer").unwrap();
/// let msg = Msg::from(body);
/// assert_eq!(msg.len(), 60_007);
/// assert!(msg.ends_with(b"trailer"));
/// ```
#[derive(Default)]
pub struct MsgBuf {
    body: Vec<u8>,
    /// The reference count the body came back in, to take it again ([`home::HomeBody`]).
    shell: Option<home::HomeBody>,
}

impl fmt::Debug for MsgBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgBuf")
            .field("len", &self.body.len())
            .field("capacity", &self.body.capacity())
            .finish()
    }
}

impl Drop for MsgBuf {
    fn drop(&mut self) {
        // A thread without a home keeps nothing: no count is made for it.
        if MsgBuf::reusable(self.body.capacity()) && home::keeps() {
            let body = std::mem::take(&mut self.body);
            home::keep(shelled(self.shell.take(), Shell { body, home: 0, reuse: true }));
        }
    }
}

impl MsgBuf {
    /// An empty body with room for `capacity` bytes, reused where one of about that size
    /// came back to this thread.
    pub fn with_capacity(capacity: usize) -> MsgBuf {
        if MsgBuf::reusable(capacity) {
            if let Some(mut shell) = home::reuse(capacity) {
                // Nothing else holds a body that came back (`go_home`); were it shared
                // after all, it is left to its holders.
                if let Some(kept) = Arc::get_mut(&mut shell) {
                    let mut body = std::mem::take(&mut kept.body);
                    body.clear();
                    return MsgBuf { body, shell: Some(shell) };
                }
            }
        }
        MsgBuf { body: Vec::with_capacity(capacity), shell: None }
    }

    /// Bodies of this capacity are kept for reuse: past the inline threshold, up to the bound.
    fn reusable(capacity: usize) -> bool {
        capacity > INLINE_CAP && capacity <= home::MAX_REUSE_LEN
    }
}

impl Deref for MsgBuf {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.body
    }
}

impl std::ops::DerefMut for MsgBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.body
    }
}

impl From<MsgBuf> for Msg {
    fn from(mut b: MsgBuf) -> Self {
        if b.len() <= INLINE_CAP {
            // The body stays with `b`, whose drop keeps it.
            Msg::copy_from_slice(&b)
        } else {
            let reuse = MsgBuf::reusable(b.body.capacity());
            Msg::from_vec(std::mem::take(&mut b.body), reuse, b.shell.take())
        }
    }
}

/// `body` in `shell`, the reference count a reused body came back in, or in a new one.
fn shelled(shell: Option<home::HomeBody>, body: Shell) -> home::HomeBody {
    match shell {
        Some(mut shell) if !mutant!(ShellPerMessage) => match Arc::get_mut(&mut shell) {
            Some(slot) => {
                *slot = body;
                shell
            }
            None => Arc::new(body),
        },
        _ => Arc::new(body),
    }
}

/// The last holder of a homed body sends it home.
#[inline(never)]
fn go_home(body: home::HomeBody) {
    let shared = Arc::strong_count(&body) > 1;
    let Some(body) = last_holder(body, shared) else { return };
    if !home::is_mine(body.home) {
        home::send_home(body);
    } else if body.reuse {
        home::keep(body);
    }
}

/// `body` if its holder is the last, given what the holder `saw` when it looked at the count.
/// Holders dropping at once on several threads (a message fanned out to subscribers) may each
/// see the others: `Arc::into_inner` then picks the last of them, which sends the body home in
/// a new count (one allocation, in that race only), rather than freeing it where it dropped.
fn last_holder(body: home::HomeBody, saw_shared: bool) -> Option<home::HomeBody> {
    if !saw_shared {
        return Some(body);
    }
    Arc::into_inner(body).filter(|_| !mutant!(FanOutFreedAway)).map(Arc::new)
}

impl From<&[u8]> for Msg {
    #[inline]
    fn from(s: &[u8]) -> Self {
        Msg::copy_from_slice(s)
    }
}
impl<const N: usize> From<[u8; N]> for Msg {
    #[inline]
    fn from(a: [u8; N]) -> Self {
        Msg::copy_from_slice(&a)
    }
}
impl<const N: usize> From<&[u8; N]> for Msg {
    #[inline]
    fn from(a: &[u8; N]) -> Self {
        Msg::copy_from_slice(a)
    }
}
impl From<&str> for Msg {
    #[inline]
    fn from(s: &str) -> Self {
        Msg::copy_from_slice(s.as_bytes())
    }
}
impl From<String> for Msg {
    fn from(s: String) -> Self {
        Msg::from(s.into_bytes())
    }
}
impl From<Msg> for Bytes {
    fn from(m: Msg) -> Self {
        m.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every inline length, with distinct bytes, so that a chunk copied from the wrong offset
    /// or a byte left out shows.
    #[test]
    fn inline_copies_are_exact_at_every_length() {
        let src: Vec<u8> = (1..=INLINE_CAP as u8).collect();
        for n in 0..=INLINE_CAP {
            let m = Msg::copy_from_slice(&src[..n]);
            assert!(m.is_inline());
            assert_eq!(&m[..], &src[..n], "length {n}");
        }
    }

    /// A `MsgBuf` body dropped at home is kept and handed out again: large or small, sent or
    /// not, inline or not; a copy's body and a huge one are left to the allocator.
    #[test]
    fn a_msgbuf_body_dropped_by_its_own_thread_is_made_again_from_the_same_memory() {
        let made = |n: usize| {
            let mut b = MsgBuf::with_capacity(n);
            b.resize(n, 1);
            Msg::from(b)
        };
        let msg = made(100_000);
        let at = msg.as_ptr();
        drop(msg);
        let kept = home::reuse(90_000).expect("the body was kept");
        assert_eq!(kept.body.as_ptr(), at);
        assert_eq!(kept.capacity(), 100_000);
        home::keep(kept);
        let again = MsgBuf::with_capacity(90_000);
        assert_eq!(again.as_ptr(), at, "a MsgBuf takes the kept body");
        assert!(again.is_empty(), "emptied");
        drop(again);
        assert_eq!(home::reuse(90_000).map(|b| b.body.as_ptr()), Some(at), "unsent, kept too");
        let small = made(1000);
        let at = small.as_ptr();
        drop(small);
        assert_eq!(home::reuse(1000).map(|b| b.body.as_ptr()), Some(at), "1 KiB too");
        let mut inline = MsgBuf::with_capacity(1000);
        let at = inline.as_ptr();
        inline.push(7);
        assert!(Msg::from(inline).is_inline());
        assert_eq!(
            home::reuse(1000).map(|b| b.body.as_ptr()),
            Some(at),
            "inline, the body is kept"
        );
        drop(Msg::copy_from_slice(&[2; 90_000]));
        assert!(home::reuse(90_000).is_none(), "a copy is freed");
        drop(made(home::MAX_REUSE_LEN + 1));
        assert!(home::reuse(home::MAX_REUSE_LEN / 2 + 1).is_none(), "past the bound it is freed");
    }

    /// Nine words: a 64-byte body inline, and no more (a pipe slot is this plus its mark,
    /// rounded up to cache lines).
    #[test]
    fn msg_stays_small_enough_to_move_cheaply() {
        assert_eq!(std::mem::size_of::<Msg>(), 72);
        const { assert!(INLINE_CAP >= 64) };
    }

    #[test]
    fn bodies_up_to_the_inline_capacity_stay_inline() {
        for n in [0, 1, 33, 64, INLINE_CAP] {
            let m = Msg::from(vec![1u8; n]);
            assert!(m.is_inline(), "{n}");
            assert_eq!(m.len(), n);
        }
        let m = Msg::from(vec![1u8; INLINE_CAP + 1]);
        assert!(!m.is_inline());
        assert_eq!(m.len(), INLINE_CAP + 1);
    }

    #[test]
    fn large_bodies_are_shared_not_copied() {
        let b = Bytes::from(vec![9u8; 1000]);
        let ptr = b.as_ptr();
        let m = Msg::from(b);
        assert_eq!(m.as_ptr(), ptr);
        assert_eq!(m.clone().as_ptr(), ptr);
        assert_eq!(m.into_bytes().as_ptr(), ptr);
        let v = vec![3u8; 500];
        let vptr = v.as_ptr();
        assert_eq!(Msg::from(v).as_ptr(), vptr, "a Vec is taken over, not copied");
    }

    /// A body dropped on another thread goes back to the thread that made it; one dropped at
    /// home, or still shared by a clone, or too large to go home, does not.
    #[test]
    fn a_body_dropped_elsewhere_goes_back_to_its_thread() {
        let (to_other, msgs) = std::sync::mpsc::channel::<Msg>();
        let other = std::thread::spawn(move || msgs.into_iter().count());
        let home = home::home(home::current());
        home.drain();
        drop(Msg::from(vec![2u8; 1000]));
        assert_eq!(home.holding(), 0, "dropped at home: freed here");
        let m = Msg::from(vec![1u8; 1000]);
        let kept = m.clone();
        // All made before any is dropped over there: making one may drain the home.
        let sent = [
            m,
            Msg::from(vec![3u8; 1000]),
            Msg::copy_from_slice(&[4u8; 500]),
            Msg::from(vec![5u8; home::MAX_LEN + 1]),
        ];
        for m in sent {
            to_other.send(m).unwrap();
        }
        drop(to_other);
        assert_eq!(other.join().unwrap(), 4);
        assert_eq!(home.holding(), 2, "the copy and the fresh body; the clone still lives here");
        assert_eq!(kept.len(), 1000);
        assert_eq!(home.drain(), 2);
    }

    /// Two holders of a body fanned out to two threads who both looked at its count before
    /// either let go (each saw the other): the one whose release is the last still sends it
    /// home, the other does not. Fails with the planted bug `fan-out-freed-away`, where neither
    /// does and the body is freed on the thread that dropped it last.
    #[test]
    fn of_two_holders_racing_to_drop_a_body_the_last_sends_it_home() {
        // `scripts/mutants_runtime.sh` runs this test alone with the mutant named here.
        #[cfg(feature = "mutants")]
        if let Ok(name) = std::env::var("FERROMQ_MUTANT") {
            crate::mutants::set(crate::mutants::Mutant::from_name(&name).expect("a mutant"), true);
        }
        let body = home::HomeBody::new(home::Shell::new(vec![1; 100]));
        let other = body.clone();
        assert!(last_holder(body, true).is_none(), "the first to let go is not the last");
        let last = last_holder(other, true).expect("the last holder keeps the body");
        assert_eq!(&last.body[..], &[1; 100][..]);
        assert_eq!(Arc::strong_count(&last), 1);
    }

    #[test]
    fn small_shared_bytes_are_copied_inline_to_release_big_buffers() {
        let big = Bytes::from(vec![5u8; 4096]);
        let m = Msg::from(big.slice(0..4));
        assert!(m.is_inline());
        assert_eq!(&m[..], &[5, 5, 5, 5]);
    }

    #[test]
    fn every_conversion_gives_the_same_body() {
        let want: &[u8] = b"abc";
        let all = [
            Msg::from("abc"),
            Msg::from(String::from("abc")),
            Msg::from(b"abc"),
            Msg::from(*b"abc"),
            Msg::from(&b"abc"[..]),
            Msg::from(b"abc".to_vec()),
            Msg::from(Bytes::from_static(b"abc")),
        ];
        for m in all {
            assert_eq!(&m[..], want);
            assert!(!m.more());
        }
    }

    #[test]
    fn more_flag_round_trips_and_counts_in_equality() {
        let a = Msg::from("x").with_more(true);
        assert!(a.more());
        assert_ne!(a, Msg::from("x"));
        let mut b = a.clone();
        b.set_more(false);
        assert_eq!(b, Msg::from("x"));
    }
}
