//! A Chord peer's finger table: finger i is the first peer at or after me + 2^i.
//!
//! Kept as the distinct entries other than the peer itself, in increasing clockwise distance
//! (a million-peer ring has about log2 N distinct fingers of m), plus the bookkeeping of repair:
//! the finger the next repair fixes, and which fingers have been set at least once (SimGrid's
//! benchmark looks up only those: `workload.keys = "own_fingers"`).

use crate::protocol::{PeerIdx, PeerRef};
use crate::ring::{IdSpace, RingId};

/// One peer's finger table.
#[derive(Clone, Debug, Default, Hash)]
pub(super) struct FingerTable {
    /// Distinct entries other than the peer itself, in increasing clockwise distance.
    entries: Vec<PeerRef>,
    /// The finger the next repair fixes.
    next: u8,
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
        self.entries.is_empty()
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
