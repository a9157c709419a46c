#![forbid(unsafe_code)]

use super::Msg;
use bytes::Bytes;

/// A whole message of one or more frames.
///
/// The MORE flags of the frames it holds are kept consistent by [`Multipart::into_frames`]: all
/// frames but the last carry MORE, so a sender cannot produce a message whose end is ambiguous.
///
/// ```
/// use ferromq::Multipart;
/// let m: Multipart = vec!["routing", "", "body"].into();
/// assert_eq!(m.len(), 3);
/// let frames: Vec<_> = m.into_frames().collect();
/// assert!(frames[0].more() && frames[1].more() && !frames[2].more());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Multipart {
    parts: Vec<Msg>,
}

impl Multipart {
    /// An empty message (no frames). Sending one is an error; it exists to be pushed to.
    pub fn new() -> Self {
        Multipart { parts: Vec::new() }
    }

    /// Appends a frame.
    pub fn push(&mut self, part: impl Into<Msg>) {
        self.parts.push(part.into());
    }

    /// Appends a frame at the front (used to add routing envelopes).
    pub fn push_front(&mut self, part: impl Into<Msg>) {
        self.parts.insert(0, part.into());
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Msg> {
        if self.parts.is_empty() { None } else { Some(self.parts.remove(0)) }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// True when there is no frame.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Total body size of all frames in bytes.
    pub fn total_size(&self) -> usize {
        self.parts.iter().map(|m| m.len()).sum()
    }

    /// The frames, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Msg> {
        self.parts.iter()
    }

    /// The frames with MORE set on all but the last, ready to send one by one.
    pub fn into_frames(self) -> impl ExactSizeIterator<Item = Msg> {
        let n = self.parts.len();
        self.parts.into_iter().enumerate().map(move |(i, m)| m.with_more(i + 1 < n))
    }

    /// The frames as they are stored (MORE flags untouched).
    pub fn into_vec(self) -> Vec<Msg> {
        self.parts
    }
}

impl std::ops::Index<usize> for Multipart {
    type Output = Msg;
    fn index(&self, i: usize) -> &Msg {
        &self.parts[i]
    }
}

impl<T: Into<Msg>> From<Vec<T>> for Multipart {
    fn from(v: Vec<T>) -> Self {
        Multipart { parts: v.into_iter().map(Into::into).collect() }
    }
}

impl<T: Into<Msg>> FromIterator<T> for Multipart {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        Multipart { parts: it.into_iter().map(Into::into).collect() }
    }
}

impl From<Msg> for Multipart {
    fn from(m: Msg) -> Self {
        Multipart { parts: vec![m] }
    }
}

impl IntoIterator for Multipart {
    type Item = Msg;
    type IntoIter = std::vec::IntoIter<Msg>;
    fn into_iter(self) -> Self::IntoIter {
        self.parts.into_iter()
    }
}

impl<'a> IntoIterator for &'a Multipart {
    type Item = &'a Msg;
    type IntoIter = std::slice::Iter<'a, Msg>;
    fn into_iter(self) -> Self::IntoIter {
        self.parts.iter()
    }
}

impl Multipart {
    /// The frames' bodies as `Bytes` (shared when large).
    pub fn to_bytes_vec(&self) -> Vec<Bytes> {
        self.parts.iter().map(Msg::to_bytes).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_frames_sets_more_on_all_but_the_last() {
        let mut m = Multipart::new();
        m.push(Msg::from("a").with_more(false));
        m.push(Msg::from("b").with_more(false));
        m.push(Msg::from("c").with_more(true));
        let more: Vec<bool> = m.into_frames().map(|f| f.more()).collect();
        assert_eq!(more, [true, true, false]);
    }

    #[test]
    fn front_operations_manage_envelopes() {
        let mut m: Multipart = vec!["body"].into();
        m.push_front("");
        m.push_front("id");
        assert_eq!(m.total_size(), 6);
        assert_eq!(&m.pop_front().unwrap()[..], b"id");
        assert_eq!(&m[0][..], b"");
        assert_eq!(m.len(), 2);
    }
}
