//! A sorted map from ring IDs to values that also answers "the i-th entry" quickly: what the
//! oracle needs to find owners (the first ID at or after a key) and to draw a uniform random
//! member (by rank), while peers join and leave.
//!
//! A sorted `Vec` answers both in O(log N) but shifts half of itself on every insert and remove:
//! O(N) per join or departure, most of the churn benchmark's time at 100,000 peers. Here the
//! entries live in sorted blocks of at most `2 * BLOCK` entries with the rank of each block's
//! first entry kept beside it, so an update costs O(BLOCK + N / BLOCK) and a lookup O(log N).
//! Ranks are exactly those of the sorted `Vec`, so random draws by rank are unchanged.

use crate::ring::RingId;

/// Target block length; a block splits in two when it reaches twice this.
const BLOCK: usize = 512;

/// Sorted `(RingId, V)` entries with distinct IDs.
#[derive(Clone, Debug)]
pub struct RankedMap<V> {
    blocks: Vec<Vec<(RingId, V)>>,
    /// `firsts[b]`: ID of the first entry of block `b`, kept apart so that finding a block
    /// searches one array instead of loading each probed block's first entry (a cache miss per
    /// probe at 10^6 peers).
    firsts: Vec<RingId>,
    /// `starts[b]`: rank of the first entry of block `b`.
    starts: Vec<usize>,
    len: usize,
}

impl<V> Default for RankedMap<V> {
    fn default() -> Self {
        RankedMap { blocks: Vec::new(), firsts: Vec::new(), starts: Vec::new(), len: 0 }
    }
}

impl<V: Copy> RankedMap<V> {
    /// A map of `entries`, which must be sorted by ID with no duplicates.
    pub fn from_sorted(entries: Vec<(RingId, V)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        let len = entries.len();
        let blocks: Vec<Vec<(RingId, V)>> = entries.chunks(BLOCK).map(<[_]>::to_vec).collect();
        let starts = (0..blocks.len()).map(|b| b * BLOCK).collect();
        let firsts = blocks.iter().map(|b| b[0].0).collect();
        RankedMap { blocks, firsts, starts, len }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block that holds `id` or would: the last block whose first ID is `<= id` (block 0 if
    /// none is).
    fn block_of(&self, id: RingId) -> usize {
        self.firsts.partition_point(|&f| f <= id).saturating_sub(1)
    }

    /// The value of `id`.
    pub fn get(&self, id: RingId) -> Option<V> {
        let block = self.blocks.get(self.block_of(id))?;
        block.binary_search_by_key(&id, |e| e.0).ok().map(|i| block[i].1)
    }

    /// The entry of rank `i` (`i < len`).
    pub fn nth(&self, i: usize) -> (RingId, V) {
        assert!(i < self.len, "rank {i} of {}", self.len);
        let b = self.starts.partition_point(|&s| s <= i) - 1;
        self.blocks[b][i - self.starts[b]]
    }

    /// The first entry with ID `>= key`, wrapping to the smallest; `None` when empty.
    pub fn successor(&self, key: RingId) -> Option<(RingId, V)> {
        if self.len == 0 {
            return None;
        }
        let b = self.block_of(key);
        let block = &self.blocks[b];
        let i = block.partition_point(|e| e.0 < key);
        Some(match (block.get(i), self.blocks.get(b + 1)) {
            (Some(e), _) => *e,
            (None, Some(next)) => next[0],
            (None, None) => self.blocks[0][0],
        })
    }

    /// Adds `(id, value)`; `id` must not be present.
    pub fn insert(&mut self, id: RingId, value: V) {
        if self.blocks.is_empty() {
            self.blocks.push(vec![(id, value)]);
            self.firsts.push(id);
            self.starts.push(0);
            self.len = 1;
            return;
        }
        let b = self.block_of(id);
        let block = &mut self.blocks[b];
        let i = block.partition_point(|e| e.0 < id);
        debug_assert!(block.get(i).is_none_or(|e| e.0 != id), "duplicate {id}");
        block.insert(i, (id, value));
        if i == 0 {
            self.firsts[b] = id;
        }
        self.len += 1;
        for s in &mut self.starts[b + 1..] {
            *s += 1;
        }
        if self.blocks[b].len() >= 2 * BLOCK {
            let tail = self.blocks[b].split_off(BLOCK);
            self.firsts.insert(b + 1, tail[0].0);
            self.blocks.insert(b + 1, tail);
            self.starts.insert(b + 1, self.starts[b] + BLOCK);
        }
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: RingId) -> bool {
        let b = self.block_of(id);
        let Some(block) = self.blocks.get_mut(b) else { return false };
        let Ok(i) = block.binary_search_by_key(&id, |e| e.0) else { return false };
        block.remove(i);
        if i == 0
            && let Some(first) = block.first()
        {
            self.firsts[b] = first.0;
        }
        self.len -= 1;
        for s in &mut self.starts[b + 1..] {
            *s -= 1;
        }
        if self.blocks[b].is_empty() {
            self.blocks.remove(b);
            self.firsts.remove(b);
            self.starts.remove(b);
        } else if self.blocks[b].len() < BLOCK / 4
            && self.blocks.get(b + 1).is_some_and(|n| self.blocks[b].len() + n.len() < 2 * BLOCK)
        {
            // Merge a small block into its neighbour, so blocks never dwindle to many tiny ones.
            let next = self.blocks.remove(b + 1);
            self.firsts.remove(b + 1);
            self.starts.remove(b + 1);
            self.blocks[b].extend(next);
        }
        true
    }

    /// Every entry in ID order.
    pub fn iter(&self) -> impl Iterator<Item = (RingId, V)> + '_ {
        self.blocks.iter().flatten().copied()
    }

    /// Number of entries with ID `< x` (`x` may be `2^64`).
    pub fn rank(&self, x: u128) -> usize {
        let b = self.firsts.partition_point(|f| (f.0 as u128) < x).saturating_sub(1);
        match self.blocks.get(b) {
            None => 0,
            Some(block) => self.starts[b] + block.partition_point(|e| (e.0.0 as u128) < x),
        }
    }
}

impl<V: Copy> crate::xor::SortedIds for RankedMap<V> {
    fn len(&self) -> usize {
        self.len
    }
    fn rank(&self, x: u128) -> usize {
        RankedMap::rank(self, x)
    }
    fn nth(&self, i: usize) -> RingId {
        RankedMap::nth(self, i).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against a sorted Vec under random inserts and removes: same ranks, same owners.
        #[test]
        fn behaves_like_a_sorted_vec(
            ops in prop::collection::vec((any::<bool>(), 0u64..5_000), 1..3_000),
            probes in prop::collection::vec(0u64..5_000, 1..20),
        ) {
            let mut map = RankedMap::from_sorted(vec![]);
            let mut reference: Vec<(RingId, u32)> = Vec::new();
            for (n, (add, x)) in ops.into_iter().enumerate() {
                let id = RingId(x);
                match reference.binary_search_by_key(&id, |e| e.0) {
                    Err(i) if add => {
                        reference.insert(i, (id, n as u32));
                        map.insert(id, n as u32);
                    }
                    Ok(i) if !add => {
                        reference.remove(i);
                        prop_assert!(map.remove(id));
                    }
                    _ => prop_assert_eq!(map.get(id), reference.iter().find(|e| e.0 == id).map(|e| e.1)),
                }
            }
            prop_assert_eq!(map.len(), reference.len());
            prop_assert_eq!(map.iter().collect::<Vec<_>>(), reference.clone());
            prop_assert_eq!(map.firsts.clone(), map.blocks.iter().map(|b| b[0].0).collect::<Vec<_>>());
            for (i, e) in reference.iter().enumerate() {
                prop_assert_eq!(map.nth(i), *e);
            }
            for p in probes {
                let want = reference.iter().find(|e| e.0 >= RingId(p)).or(reference.first()).copied();
                prop_assert_eq!(map.successor(RingId(p)), want);
            }
        }
    }

    #[test]
    fn splits_and_merges_blocks() {
        let entries: Vec<(RingId, u32)> = (0..5000u64).map(|i| (RingId(2 * i), i as u32)).collect();
        let mut map = RankedMap::from_sorted(entries);
        for i in 0..3000u64 {
            map.insert(RingId(2 * i + 1), 0);
        }
        assert_eq!(map.len(), 8000);
        assert_eq!(map.nth(7999).0, RingId(9998));
        assert_eq!(map.nth(1).0, RingId(1));
        for i in 0..5000u64 {
            assert!(map.remove(RingId(2 * i)));
        }
        assert!(!map.remove(RingId(0)));
        assert_eq!(map.len(), 3000);
        assert_eq!(map.successor(RingId(6000)), Some((RingId(1), 0)), "wraps");
        assert!(map.blocks.iter().all(|b| !b.is_empty() && b.len() < 2 * BLOCK));
        assert!(map.blocks.iter().zip(&map.firsts).all(|(b, &f)| b[0].0 == f));
        // Small blocks are merged into their neighbours as entries go.
        assert!(map.blocks.len() <= 3000 / (BLOCK / 4) + 1, "{} blocks", map.blocks.len());
    }
}
