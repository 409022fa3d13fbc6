//! The DHT entries a peer stores, and the bookkeeping of replication, for any protocol.
//!
//! An entry maps a key to the holders of a file (a peer that has it). A peer stores the entries
//! of the keys it owns and copies of others (replicas); which keys those are is the protocol's
//! business (Chord: its range and its predecessors' ranges; Kademlia: keys it is among the
//! closest to). This module keeps the entries in key order, so every iteration is
//! deterministic, and answers the questions protocols and measurement ask of them.

use crate::protocol::PeerRef;
use crate::ring::{IdSpace, RingId};
use std::collections::BTreeMap;

/// DHT entries: (key, holders) pairs.
pub type Entries = Vec<(RingId, Vec<RingId>)>;

/// The entries stored at one peer, by key.
#[derive(Clone, Debug, Default, Hash)]
pub struct Store {
    entries: BTreeMap<RingId, Vec<RingId>>,
}

impl Store {
    /// Stores the entry (key, holder), once.
    pub fn insert(&mut self, key: RingId, holder: RingId) {
        let holders = self.entries.entry(key).or_default();
        if !holders.contains(&holder) {
            holders.push(holder);
        }
    }

    /// Stores every entry of `entries`.
    pub fn insert_all(&mut self, entries: Entries) {
        for (key, holders) in entries {
            for h in holders {
                self.insert(key, h);
            }
        }
    }

    /// The holders stored under `key`, in the order they were stored.
    pub fn values(&self, key: RingId) -> &[RingId] {
        self.entries.get(&key).map_or(&[], Vec::as_slice)
    }

    /// Every key stored here, ascending.
    pub fn keys(&self) -> impl Iterator<Item = RingId> + '_ {
        self.entries.keys().copied()
    }

    /// Number of keys stored here.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored here.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries whose key satisfies `keep`, copied, in key order.
    pub fn select(&self, mut keep: impl FnMut(RingId) -> bool) -> Entries {
        self.entries.iter().filter(|(k, _)| keep(**k)).map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Every entry, copied, in key order.
    pub fn all(&self) -> Entries {
        self.select(|_| true)
    }

    /// Removes the entries of `keys` and returns them (keys that are absent are skipped).
    pub fn remove(&mut self, keys: &[RingId]) -> Entries {
        keys.iter().filter_map(|k| self.entries.remove(k).map(|v| (*k, v))).collect()
    }

    /// Stored entries (key, holder) with the key in `(from, to]`, clockwise; the whole store
    /// when `from == to`.
    pub fn count_in(&self, space: IdSpace, from: RingId, to: RingId) -> u64 {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let count = |r: &mut dyn Iterator<Item = (&RingId, &Vec<RingId>)>| {
            r.map(|(_, h)| h.len() as u64).sum::<u64>()
        };
        if from == to {
            count(&mut self.entries.iter())
        } else if from < to {
            count(&mut self.entries.range((Excluded(from), Included(to))))
        } else {
            debug_assert!(space.contains(from.0));
            count(&mut self.entries.range((Excluded(from), Unbounded)))
                + count(&mut self.entries.range(..=to))
        }
    }
}

/// The replicas in `now` that were not in `before`: the peers that must be sent copies after a
/// replica set changed (a replica vanished and the next peer took its place).
pub fn new_replicas(now: &[PeerRef], before: &[PeerRef]) -> Vec<PeerRef> {
    now.iter().copied().filter(|r| !before.iter().any(|b| b.idx == r.idx)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerIdx;

    fn id(x: u64) -> RingId {
        RingId(x)
    }

    #[test]
    fn an_entry_is_stored_once_per_holder_in_arrival_order() {
        let mut s = Store::default();
        s.insert(id(5), id(1));
        s.insert(id(5), id(9));
        s.insert(id(5), id(1));
        assert_eq!(s.values(id(5)), &[id(1), id(9)]);
        assert_eq!(s.values(id(6)), &[] as &[RingId]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn counts_in_a_range_wrap_round_the_ring() {
        let space = IdSpace::new(6).unwrap();
        let mut s = Store::default();
        for k in [1, 10, 40, 63] {
            s.insert(id(k), id(0));
        }
        s.insert(id(10), id(2));
        assert_eq!(s.count_in(space, id(5), id(40)), 3);
        assert_eq!(s.count_in(space, id(40), id(5)), 2, "(40, 5] wraps: 63 and 1");
        assert_eq!(s.count_in(space, id(7), id(7)), 5, "the whole store");
    }

    #[test]
    fn removing_returns_the_entries_asked_for_that_were_there() {
        let mut s = Store::default();
        s.insert_all(vec![(id(3), vec![id(1)]), (id(8), vec![id(2), id(4)])]);
        assert_eq!(s.remove(&[id(8), id(9)]), vec![(id(8), vec![id(2), id(4)])]);
        assert_eq!(s.all(), vec![(id(3), vec![id(1)])]);
    }

    #[test]
    fn new_replicas_are_those_not_there_before() {
        let p = |i: u32| PeerRef::new(PeerIdx(i), id(i as u64));
        assert_eq!(new_replicas(&[p(1), p(2), p(3)], &[p(2)]), vec![p(1), p(3)]);
        assert!(new_replicas(&[p(2)], &[p(2), p(5)]).is_empty());
    }
}
