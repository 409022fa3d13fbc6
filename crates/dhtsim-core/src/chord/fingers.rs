//! A Chord peer's finger table: finger i is the first peer at or after me + 2^i.
//!
//! Kept as the distinct entries other than the peer itself, in increasing clockwise distance
//! (a million-peer ring has about log2 N distinct fingers of m), plus the bookkeeping of repair:
//! the finger the next repair fixes, and which fingers have been set at least once (SimGrid's
//! benchmark looks up only those: `workload.keys = "own_fingers"`).
//!
//! A static ring's table can also be *derived*: left empty and found in the ring at time zero
//! whenever it is read ([`StaticRing`]), which is exact as long as the peer has not changed it.
//! Its first change stores it (`own`). Routing reads one entry per hop, two searches of the ring,
//! where building the table takes one search per finger: a static ring of 10^7 peers holds a
//! million tables that are each read once or twice.

use crate::protocol::{PeerIdx, PeerRef};
use crate::ring::{IdSpace, RingId, finger_indices, successor_index};
use std::sync::Arc;

/// The IDs of a static ring at time zero, ascending: peer i has the i-th (`Params::ring`).
#[derive(Clone)]
pub struct StaticRing(pub Arc<[RingId]>);

impl std::fmt::Debug for StaticRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticRing({} peers)", self.0.len())
    }
}

impl StaticRing {
    fn at(&self, i: usize) -> PeerRef {
        PeerRef::new(PeerIdx(i as u32), self.0[i])
    }

    /// The first peer at or after `key`, wrapping.
    fn successor(&self, key: RingId) -> PeerRef {
        self.at(successor_index(&self.0, key))
    }
}

/// One peer's finger table.
#[derive(Clone, Debug, Default, Hash)]
pub(super) struct FingerTable {
    /// Distinct entries other than the peer itself, in increasing clockwise distance.
    entries: Vec<PeerRef>,
    /// The finger the next repair fixes.
    next: u8,
    /// The entries are those of the static ring at time zero, found there when read; `entries`
    /// is empty. Only for a bootstrap peer of a ring of two or more.
    derived: bool,
    /// Bit i set once finger i has been set.
    set: u64,
}

impl FingerTable {
    /// The distinct entries, nearest first.
    pub(super) fn entries(&self) -> &[PeerRef] {
        &self.entries
    }

    /// Whether the table holds no entry.
    pub(super) fn is_empty(&self) -> bool {
        !self.derived && self.entries.is_empty()
    }

    /// Whether the entries are found in the static ring when read (see the module's notes).
    pub(super) fn is_derived(&self) -> bool {
        self.derived
    }

    /// Makes this table of peer `me` the exact table of `ring`, found there when read. `me` is
    /// `ring`'s peer `me.idx`.
    pub(super) fn derive(&mut self, space: IdSpace, me: PeerRef, ring: &StaticRing) {
        debug_assert_eq!(ring.0.get(me.idx.0 as usize), Some(&me.id));
        self.entries = Vec::new();
        self.set = u64::MAX >> (64 - space.bits());
        self.derived = ring.0.len() >= 2;
    }

    /// Stores a derived table, so that the peer can change it or lend out its entries.
    pub(super) fn own(&mut self, space: IdSpace, me: PeerRef, ring: Option<&StaticRing>) {
        if !self.derived {
            return;
        }
        let ring = ring.expect("a derived table has its static ring");
        let fingers = finger_indices(space, &ring.0, me.idx.0 as usize).into_iter();
        self.set_all(space, me, fingers.map(|j| ring.at(j)));
        self.derived = false;
    }

    /// [`FingerTable::finger`] of a derived table.
    pub(super) fn derived_finger(
        ring: &StaticRing,
        space: IdSpace,
        me: PeerRef,
        index: u8,
    ) -> PeerRef {
        ring.successor(space.add(me.id, 1u64 << index))
    }

    /// [`FingerTable::last_before`] of a derived table: with q the farthest peer before distance
    /// `limit`, at distance D, finger b lies before the limit exactly when 2^b <= D, so the
    /// answer is finger floor(log2 D), the successor of me + 2^floor(log2 D).
    pub(super) fn derived_last_before(
        ring: &StaticRing,
        space: IdSpace,
        me: PeerRef,
        limit: u64,
    ) -> Option<PeerRef> {
        let n = ring.0.len();
        let after = successor_index(&ring.0, space.add(me.id, limit));
        let q = ring.at(if after == 0 { n - 1 } else { after - 1 });
        let d = space.dist(me.id, q.id);
        if q.idx == me.idx || d == 0 || d >= limit {
            return None;
        }
        Some(ring.successor(space.add(me.id, 1u64 << d.ilog2())))
    }

    /// The nearest entry.
    pub(super) fn first(&self) -> Option<PeerRef> {
        self.entries.first().copied()
    }

    /// Finger `index` > 0 of peer `me`, the way SimGrid's Chord keeps its table: `me` until the
    /// finger has been set, then the nearest entry at or after me + 2^index.
    pub(super) fn finger(&self, space: IdSpace, me: PeerRef, index: u8) -> PeerRef {
        if self.set & (1 << index) == 0 {
            return me;
        }
        let start = 1u64 << index;
        let at = self.entries.partition_point(|f| space.dist(me.id, f.id) < start);
        self.entries.get(at).copied().unwrap_or(me)
    }

    /// The index the next periodic repair fixes; advances round the m fingers.
    pub(super) fn next_to_fix(&mut self, space: IdSpace) -> u8 {
        let index = self.next;
        self.next = ((index as u32 + 1) % space.bits()) as u8;
        index
    }

    /// Sets the whole table of `me`: `fingers` are the successors of me + 2^i for i = 0..m-1, in
    /// that order. Entries equal to `me` or to the previous finger are dropped.
    pub(super) fn set_all(
        &mut self,
        space: IdSpace,
        me: PeerRef,
        fingers: impl IntoIterator<Item = PeerRef>,
    ) {
        self.entries.clear();
        for f in fingers {
            if f.idx != me.idx && self.entries.last().is_none_or(|l| l.idx != f.idx) {
                self.entries.push(f);
            }
        }
        // Built once at bootstrap for every peer: keep no spare capacity (a million peers).
        self.entries.shrink_to_fit();
        self.derived = false;
        self.set = u64::MAX >> (64 - space.bits());
        debug_assert!(
            self.entries
                .windows(2)
                .all(|w| space.dist(me.id, w[0].id) < space.dist(me.id, w[1].id))
        );
    }

    /// `f` owns target t_i = me + 2^index of finger `index`. No other peer in
    /// [t_i, max(f, t_{i+1})) can be a finger of any index (a live one in [t_i, f) would own t_i;
    /// one in (f, t_{i+1}) is nobody's first peer at or after a target), so such entries are
    /// dropped and `f` is inserted in distance order. After one round over every index the list
    /// is exactly the true finger table.
    pub(super) fn update(&mut self, space: IdSpace, me: PeerRef, index: u8, f: PeerRef) {
        self.set |= 1 << index;
        let lo = 1u128 << index;
        let next = 1u128 << (index as u32 + 1); // t_{i+1}; 2^m (the whole ring) for the last
        let hi = next.max(space.dist(me.id, f.id) as u128);
        self.entries.retain(|e| {
            let d = space.dist(me.id, e.id) as u128;
            !(lo <= d && d < hi) || e.idx == f.idx
        });
        if f.idx != me.idx && !self.entries.iter().any(|e| e.idx == f.idx) {
            let d = space.dist(me.id, f.id);
            let at = self.entries.partition_point(|e| space.dist(me.id, e.id) < d);
            self.entries.insert(at, f);
        }
    }

    /// Replaces the entries of `me`'s table by `hints`, another peer's table (SIGCOMM 2001 §4.4:
    /// a neighbour's fingers are close to one's own): any live peer routes correctly as a
    /// shortcut (a dead one costs a timeout, like a dead finger), and each repair of finger i
    /// drops the hints it proves are no finger ([`FingerTable::update`]). The fingers already
    /// set stay set (none, for a peer joining for the first time).
    pub(super) fn take_hints(
        &mut self,
        space: IdSpace,
        me: PeerRef,
        hints: impl IntoIterator<Item = PeerRef>,
    ) {
        self.entries.clear();
        self.entries.extend(hints.into_iter().filter(|h| h.idx != me.idx));
        self.entries.sort_by_key(|h| space.dist(me.id, h.id));
        self.entries.dedup_by_key(|h| h.idx);
        self.derived = false;
    }

    /// The last entry strictly closer to `me` than distance `limit` (the best finger towards a
    /// key at that distance), if any.
    pub(super) fn last_before(&self, space: IdSpace, me: RingId, limit: u64) -> Option<PeerRef> {
        let below = self.entries.partition_point(|f| space.dist(me, f.id) < limit);
        self.entries[..below].last().copied()
    }

    /// Drops a peer found dead.
    pub(super) fn forget(&mut self, dead: PeerIdx) {
        self.entries.retain(|f| f.idx != dead);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hints_are_taken_in_the_takers_order_without_itself_or_repeats() {
        // 6-bit IDs: peer 10 takes the table of 40, its owner, in 40's order: 40 itself, then
        // 41, 50, 8 (past zero) and 20 (between 10 and 40), and 10 itself and 50 again.
        let space = IdSpace::new(6).unwrap();
        let p = |i: u32, id: u64| PeerRef::new(PeerIdx(i), RingId(id));
        let me = p(0, 10);
        let mut t = FingerTable::default();
        t.update(space, me, 5, p(9, 45));
        let hints = [p(1, 40), p(2, 41), p(3, 50), p(4, 8), p(5, 20), me, p(3, 50)];
        t.take_hints(space, me, hints);
        let ids: Vec<u64> = t.entries().iter().map(|e| e.id.0).collect();
        assert_eq!(ids, vec![20, 40, 41, 50, 8], "by distance from 10");
        assert_eq!(t.finger(space, me, 5).id.0, 50, "finger 5 was set: now the first at 42+");
        assert_eq!(t.finger(space, me, 4).id.0, 10, "finger 4 was never set");
    }

    proptest! {
        /// A derived table reads exactly what the stored table of the same ring holds: the best
        /// finger before every distance (each peer's, one either side, random ones) and every
        /// finger by index.
        #[test]
        fn a_derived_table_reads_as_the_stored_one(
            m in 1u32..=64,
            raw in prop::collection::vec(any::<u64>(), 2..50),
            limits in prop::collection::vec(any::<u64>(), 8),
        ) {
            let space = IdSpace::new(m).unwrap();
            let mut ids: Vec<RingId> = raw.iter().map(|&x| space.wrap(x)).collect();
            ids.sort();
            ids.dedup();
            prop_assume!(ids.len() >= 2);
            let ring = StaticRing(ids.as_slice().into());
            for i in 0..ids.len() {
                let me = ring.at(i);
                let mut stored = FingerTable::default();
                let fingers = finger_indices(space, &ids, i).into_iter().map(|j| ring.at(j));
                stored.set_all(space, me, fingers);
                let mut derived = FingerTable::default();
                derived.derive(space, me, &ring);
                prop_assert!(derived.is_derived() && !derived.is_empty());
                let mut all: Vec<u64> = limits.iter().map(|&l| l & space.max_id()).collect();
                for p in &ids {
                    let d = space.dist(me.id, *p);
                    all.extend([d, d.saturating_add(1) & space.max_id(), d.saturating_sub(1)]);
                }
                for limit in all {
                    prop_assert_eq!(
                        FingerTable::derived_last_before(&ring, space, me, limit),
                        stored.last_before(space, me.id, limit),
                        "peer {} limit {}", i, limit
                    );
                }
                for index in 1..m as u8 {
                    prop_assert_eq!(
                        FingerTable::derived_finger(&ring, space, me, index),
                        stored.finger(space, me, index)
                    );
                }
                derived.own(space, me, Some(&ring));
                prop_assert!(!derived.is_derived());
                prop_assert_eq!(derived.entries(), stored.entries());
            }
        }
    }
}
