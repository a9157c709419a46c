//! Subscriptions as prefix tries (RFC 29; PUB-01, PUB-03, SUB-04).
//!
//! * [`Trie`] is a subscriber's own set of topics, counted: subscribing to a topic twice
//!   takes two cancels to undo, and only the last one is news for the publishers (SUB-04).
//! * [`PipeTrie`] is a publisher's view: for each topic, the set of pipes subscribed to it. A
//!   set, not a count, as libzmq's `mtrie`: a subscriber forwards every SUBSCRIBE but only
//!   its last CANCEL, so a count here would never reach zero.
//!
//! Both walk the message's first frame byte by byte: a match costs time proportional to the
//! topic's length (times the fan-out of a node's lookup), whatever the number of
//! subscriptions. Nodes left empty by a removal are pruned, so memory follows the live
//! subscriptions.

use crate::core::PipeId;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
struct Node<V> {
    value: V,
    children: BTreeMap<u8, Node<V>>,
}

impl<V: Default> Node<V> {
    fn get_or_insert(&mut self, topic: &[u8]) -> &mut V {
        let mut node = self;
        for &b in topic {
            node = node.children.entry(b).or_default();
        }
        &mut node.value
    }

    /// Applies `f` to the value at `topic` (if the node exists), then prunes nodes on the
    /// path that became empty according to `empty`.
    fn update<R>(
        &mut self,
        topic: &[u8],
        f: impl FnOnce(&mut V) -> R,
        empty: &impl Fn(&V) -> bool,
    ) -> Option<R> {
        match topic.split_first() {
            None => Some(f(&mut self.value)),
            Some((&b, rest)) => {
                let child = self.children.get_mut(&b)?;
                let r = child.update(rest, f, empty);
                if empty(&child.value) && child.children.is_empty() {
                    self.children.remove(&b);
                }
                r
            }
        }
    }

    /// Visits every node whose topic is a prefix of `data` (the root, "", first).
    fn prefixes<'a>(&'a self, data: &[u8], mut f: impl FnMut(&'a V)) {
        let mut node = self;
        f(&node.value);
        for b in data {
            match node.children.get(b) {
                Some(n) => node = n,
                None => return,
            }
            f(&node.value);
        }
    }

    /// Visits every node with its topic, depth first, in byte order.
    fn walk(&self, topic: &mut Vec<u8>, f: &mut impl FnMut(&[u8], &V)) {
        f(topic, &self.value);
        for (&b, child) in &self.children {
            topic.push(b);
            child.walk(topic, f);
            topic.pop();
        }
    }
}

/// A subscriber's counted topics. See the module docs.
#[derive(Debug, Default)]
pub struct Trie {
    root: Node<u32>,
    topics: usize,
}

impl Trie {
    /// Adds one instance of `topic`; `true` if it is new (it had none).
    pub fn add(&mut self, topic: &[u8]) -> bool {
        let n = self.root.get_or_insert(topic);
        *n += 1;
        let new = *n == 1;
        self.topics += usize::from(new);
        new
    }

    /// Removes one instance of `topic`; `true` if that was the last one (the topic is gone),
    /// `false` if instances remain or it was not subscribed.
    pub fn rm(&mut self, topic: &[u8]) -> bool {
        let gone = self
            .root
            .update(
                topic,
                |n| match *n {
                    0 => false,
                    _ => {
                        *n -= 1;
                        *n == 0
                    }
                },
                &|n| *n == 0,
            )
            .unwrap_or(false);
        self.topics -= usize::from(gone);
        gone
    }

    /// Whether some subscribed topic is a prefix of `data` ("" matches everything).
    pub fn matches(&self, data: &[u8]) -> bool {
        let mut hit = false;
        self.root.prefixes(data, |&n| hit |= n > 0);
        hit
    }

    /// Number of distinct topics subscribed.
    pub fn len(&self) -> usize {
        self.topics
    }

    /// True when nothing is subscribed.
    pub fn is_empty(&self) -> bool {
        self.topics == 0
    }

    /// Every distinct topic, once each, in byte order.
    pub fn topics(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.topics);
        self.root.walk(&mut Vec::new(), &mut |t, &n| {
            if n > 0 {
                out.push(t.to_vec());
            }
        });
        out
    }
}

/// What [`PipeTrie::rm`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// The pipe was not subscribed to that topic.
    NotFound,
    /// The pipe was the topic's last subscriber: nobody wants it any more.
    Last,
    /// Other pipes still want the topic.
    Remain,
}

/// A publisher's topics, each with the pipes subscribed to it. See the module docs.
#[derive(Debug, Default)]
pub struct PipeTrie {
    root: Node<BTreeSet<PipeId>>,
}

impl PipeTrie {
    /// Subscribes `pipe` to `topic`; `true` if the topic had no subscriber before.
    pub fn add(&mut self, topic: &[u8], pipe: PipeId) -> bool {
        let set = self.root.get_or_insert(topic);
        let first = set.is_empty();
        set.insert(pipe);
        first
    }

    /// Unsubscribes `pipe` from `topic`.
    pub fn rm(&mut self, topic: &[u8], pipe: PipeId) -> Removed {
        self.root
            .update(
                topic,
                |set| match set.remove(&pipe) {
                    false => Removed::NotFound,
                    true if set.is_empty() => Removed::Last,
                    true => Removed::Remain,
                },
                &BTreeSet::is_empty,
            )
            .unwrap_or(Removed::NotFound)
    }

    /// Removes `pipe` from every topic and calls `f(topic, last)` for each topic it held,
    /// `last` telling whether it was that topic's last subscriber.
    pub fn rm_pipe(&mut self, pipe: PipeId, mut f: impl FnMut(&[u8], bool)) {
        let mut held = Vec::new();
        self.root.walk(&mut Vec::new(), &mut |t, set| {
            if set.contains(&pipe) {
                held.push((t.to_vec(), set.len() == 1));
            }
        });
        for (topic, last) in held {
            self.rm(&topic, pipe);
            f(&topic, last);
        }
    }

    /// Calls `f` for each pipe subscribed to a prefix of `data`; a pipe subscribed to several
    /// such prefixes is named once per prefix.
    pub fn matching(&self, data: &[u8], mut f: impl FnMut(PipeId)) {
        let data = match data.len() {
            n if n > 0 && mutant!(PrefixMatchOffByOne) => &data[..n - 1],
            _ => data,
        };
        self.root.prefixes(data, |set| set.iter().for_each(|&p| f(p)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SUB-04, PUB-03: counted on the subscriber's side; the topic goes with its last instance.
    #[test]
    fn sub04_two_subscribes_need_two_cancels() {
        let mut t = Trie::default();
        assert!(t.add(b"A"));
        assert!(!t.add(b"A"));
        assert!(!t.rm(b"A"), "one instance is left");
        assert!(t.matches(b"Apple"));
        assert!(t.rm(b"A"), "the last instance goes");
        assert!(!t.matches(b"Apple"));
        assert!(!t.rm(b"A"), "not subscribed any more");
        assert!(t.is_empty());
    }

    /// PUB-01, SUB-01, PUB-03: a prefix matches, "" matches everything, filters are OR-ed, and
    /// "A" with "" is the same as "" alone.
    #[test]
    fn pub01_prefixes_and_the_empty_topic() {
        let mut t = Trie::default();
        assert!(!t.matches(b""), "nothing subscribed matches nothing");
        t.add(b"wea");
        t.add(b"sport");
        assert!(t.matches(b"weather"));
        assert!(t.matches(b"sports"));
        assert!(!t.matches(b"we"), "a topic longer than the message does not match");
        assert!(!t.matches(b"news"));
        t.add(b"");
        assert!(t.matches(b"news") && t.matches(b""));
        assert_eq!(t.topics(), vec![b"".to_vec(), b"sport".to_vec(), b"wea".to_vec()]);
    }

    /// PUB-03 at the publisher: a set per topic; the topic's news is its first subscriber and
    /// its last cancel; a pipe that goes takes its topics with it.
    #[test]
    fn pub03_pipe_trie_sets_and_pipe_removal() {
        let (a, b) = (PipeId(1), PipeId(2));
        let mut t = PipeTrie::default();
        assert!(t.add(b"A", a));
        assert!(!t.add(b"A", a), "the same pipe again is nothing new");
        assert!(!t.add(b"A", b));
        t.add(b"", b);
        let mut hit = Vec::new();
        t.matching(b"AB", |p| hit.push(p));
        hit.sort();
        assert_eq!(hit, [a, b, b], "b via \"\" and via \"A\"");
        assert_eq!(t.rm(b"A", a), Removed::Remain);
        assert_eq!(t.rm(b"A", a), Removed::NotFound);
        let mut gone = Vec::new();
        t.rm_pipe(b, |topic, last| gone.push((topic.to_vec(), last)));
        assert_eq!(gone, vec![(b"".to_vec(), true), (b"A".to_vec(), true)]);
        let mut hit = Vec::new();
        t.matching(b"AB", |p| hit.push(p));
        assert!(hit.is_empty());
        assert!(t.root.children.is_empty(), "emptied nodes are pruned");
    }

    proptest! {
        /// The tries agree with the obvious model: a multiset of topics and a prefix test.
        #[test]
        fn trie_matches_the_model(ops in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(0u8..3, 0..4)), 0..60),
            probe in proptest::collection::vec(0u8..3, 0..6)
        ) {
            let mut t = Trie::default();
            let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            for (add, topic) in &ops {
                if *add {
                    let new = !model.contains_key(topic);
                    *model.entry(topic.clone()).or_default() += 1;
                    prop_assert_eq!(t.add(topic), new);
                } else {
                    let last = model.get(topic) == Some(&1);
                    if let Some(n) = model.get_mut(topic) {
                        *n -= 1;
                        if *n == 0 {
                            model.remove(topic);
                        }
                    }
                    prop_assert_eq!(t.rm(topic), last);
                }
            }
            let want = model.keys().any(|k| probe.starts_with(k));
            prop_assert_eq!(t.matches(&probe), want);
            prop_assert_eq!(t.topics(), model.keys().cloned().collect::<Vec<_>>());
            prop_assert_eq!(t.len(), model.len());
        }
    }
}
