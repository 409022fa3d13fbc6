//! The m-bit identifier ring: IDs, clockwise distance, intervals that wrap, successor of a key.
//!
//! Owns the arithmetic only. Which peers are alive, and who owns what right now, belongs to the
//! oracle (`oracle.rs`) and to each peer's own view (`chord/`).

use std::fmt;

/// A point on the ring: a peer ID or a key, always `< 2^m` for the ring it belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RingId(pub u64);

impl fmt::Display for RingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The identifier space of `m` bits, `1 <= m <= 64`: the integers `0 .. 2^m`, arranged clockwise in
/// a circle, so that `2^m - 1` is followed by `0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdSpace {
    bits: u32,
    mask: u64,
}

impl IdSpace {
    /// The space of `bits`-bit identifiers, or `None` unless `1 <= bits <= 64`.
    pub fn new(bits: u32) -> Option<Self> {
        if (1..=64).contains(&bits) {
            let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            Some(IdSpace { bits, mask })
        } else {
            None
        }
    }

    /// m, the number of bits.
    pub fn bits(self) -> u32 {
        self.bits
    }

    /// The largest identifier, `2^m - 1`.
    pub fn max_id(self) -> u64 {
        self.mask
    }

    /// The number of identifiers, `2^m` (as `u128`, since `2^64` does not fit a `u64`).
    pub fn size(self) -> u128 {
        self.mask as u128 + 1
    }

    /// Whether `x` is an identifier of this space.
    pub fn contains(self, x: u64) -> bool {
        x & !self.mask == 0
    }

    /// Reduces any integer to the space (keeps the low m bits).
    pub fn wrap(self, x: u64) -> RingId {
        RingId(x & self.mask)
    }

    /// `a + d` clockwise, wrapping.
    pub fn add(self, a: RingId, d: u64) -> RingId {
        RingId(a.0.wrapping_add(d) & self.mask)
    }

    /// Clockwise distance from `a` to `b`: the number of steps forward from `a` to reach `b`,
    /// in `0 .. 2^m`. `dist(a, a) = 0`, and `dist(a, b) + dist(b, a) = 2^m` for `a != b`.
    pub fn dist(self, a: RingId, b: RingId) -> u64 {
        b.0.wrapping_sub(a.0) & self.mask
    }

    /// `x ∈ (a, b]` clockwise. When `a == b` the interval is the whole ring (a single peer owns
    /// every key), so this is always true.
    pub fn in_open_closed(self, x: RingId, a: RingId, b: RingId) -> bool {
        if a == b {
            return true;
        }
        let dx = self.dist(a, x);
        dx != 0 && dx <= self.dist(a, b)
    }

    /// `x ∈ (a, b)` clockwise. When `a == b` the interval is the whole ring except `a`.
    pub fn in_open(self, x: RingId, a: RingId, b: RingId) -> bool {
        if a == b {
            return x != a;
        }
        let dx = self.dist(a, x);
        dx != 0 && dx < self.dist(a, b)
    }
}

/// Index in `sorted` of the successor of `key`: the first ID `>= key`, wrapping to index 0 past the
/// largest. `sorted` must be strictly increasing and non-empty.
pub fn successor_index(sorted: &[RingId], key: RingId) -> usize {
    debug_assert!(!sorted.is_empty());
    let i = sorted.partition_point(|&p| p < key);
    if i == sorted.len() { 0 } else { i }
}

/// Indices in `sorted` of the true fingers of the peer at index `i`: finger b (b = 0..m-1) is the
/// successor of `sorted[i] + 2^b`. A million peers build 32 fingers each, so this is tuned: the
/// low fingers, a few peers away, are found by galloping from the previous finger (O(log gap)
/// steps over nearby, cached entries); the high ones, far away, by one binary search over the
/// whole ring. `sorted` must be strictly increasing and non-empty.
pub fn finger_indices(space: IdSpace, sorted: &[RingId], i: usize) -> Vec<usize> {
    let mut fingers = Vec::with_capacity(space.bits() as usize);
    finger_indices_while(space, sorted, i, |j| {
        fingers.push(j);
        true
    });
    fingers
}

/// [`finger_indices`], handed to `f` in finger order until it returns `false`: a caller that
/// compares them with a table stops at the first difference without finding the rest.
pub fn finger_indices_while(
    space: IdSpace,
    sorted: &[RingId],
    i: usize,
    mut f: impl FnMut(usize) -> bool,
) {
    let n = sorted.len();
    let me = sorted[i];
    // Clockwise distance from `me` to the peer `k` places after it; the peer n places after it
    // is itself, a whole turn away.
    let dist = |k: usize| -> u128 {
        if k >= n {
            space.size()
        } else {
            let j = if i + k >= n { i + k - n } else { i + k };
            space.dist(me, sorted[j]) as u128
        }
    };
    // Expected offset of finger b is n·2^b / 2^m: gallop while it is small.
    let near = |b: u32| (n as u128) << b < space.size() * 64;
    let mut k = 1; // offset of the previous finger (at least the successor)
    for b in 0..space.bits() {
        let want = 1u128 << b;
        if !near(b) {
            if !f(successor_index(sorted, space.add(me, 1u64 << b))) {
                return;
            }
            continue;
        }
        // Gallop: the first offset whose distance reaches `want` lies in (lo, hi].
        let (mut lo, mut hi) = (k - 1, k);
        let mut step = 1;
        while dist(hi) < want {
            lo = hi;
            hi = (hi + step).min(n);
            step *= 2;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if dist(mid) >= want { hi = mid } else { lo = mid }
        }
        k = hi;
        if !f(if i + k >= n { i + k - n } else { i + k }) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lecture() -> Vec<RingId> {
        [1, 12, 13, 25, 32, 40, 48, 60].map(RingId).to_vec()
    }

    #[test]
    fn lecture_ownership() {
        let ring = lecture();
        let owner = |k| ring[successor_index(&ring, RingId(k))].0;
        assert_eq!(owner(13), 13);
        assert_eq!(owner(45), 48);
        assert_eq!(owner(61), 1);
        assert_eq!(owner(0), 1);
        assert_eq!(owner(63), 1);
        assert_eq!(owner(60), 60);
        assert_eq!(owner(2), 12);
    }

    #[test]
    fn space_bounds() {
        assert!(IdSpace::new(0).is_none());
        assert!(IdSpace::new(65).is_none());
        assert_eq!(IdSpace::new(1).unwrap().size(), 2);
        assert_eq!(IdSpace::new(64).unwrap().size(), 1u128 << 64);
        assert_eq!(IdSpace::new(6).unwrap().max_id(), 63);
    }

    #[test]
    fn wrap_around_intervals() {
        let s = IdSpace::new(6).unwrap();
        // (60, 1] wraps past 63.
        assert!(s.in_open_closed(RingId(61), RingId(60), RingId(1)));
        assert!(s.in_open_closed(RingId(0), RingId(60), RingId(1)));
        assert!(s.in_open_closed(RingId(1), RingId(60), RingId(1)));
        assert!(!s.in_open_closed(RingId(60), RingId(60), RingId(1)));
        assert!(!s.in_open_closed(RingId(2), RingId(60), RingId(1)));
        assert!(!s.in_open(RingId(1), RingId(60), RingId(1)));
        assert_eq!(s.dist(RingId(60), RingId(1)), 5);
        assert_eq!(s.add(RingId(60), 8), RingId(4));
    }

    /// The distinct IDs of `raw` wrapped into `s`, sorted: a ring.
    fn ring_of(s: IdSpace, raw: &[u64]) -> Vec<RingId> {
        let mut ids: Vec<RingId> = raw.iter().map(|&x| s.wrap(x)).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The fingers of peer `i` by one successor search each: the reference for
    /// `finger_indices`.
    fn fingers_by_search(s: IdSpace, ids: &[RingId], i: usize) -> Vec<usize> {
        (0..s.bits()).map(|b| successor_index(ids, s.add(ids[i], 1u64 << b))).collect()
    }

    /// An m in 1..=64 and three identifiers of that space.
    fn space_and_ids() -> impl Strategy<Value = (IdSpace, RingId, RingId, RingId)> {
        (1u32..=64, any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(m, a, b, x)| {
            let s = IdSpace::new(m).unwrap();
            (s, s.wrap(a), s.wrap(b), s.wrap(x))
        })
    }

    proptest! {
        #[test]
        fn dist_laws((s, a, b, _x) in space_and_ids()) {
            prop_assert_eq!(s.dist(a, a), 0);
            prop_assert!(s.contains(s.dist(a, b)));
            if a != b {
                prop_assert_eq!(s.dist(a, b) as u128 + s.dist(b, a) as u128, s.size());
            }
            prop_assert_eq!(s.add(a, s.dist(a, b)), b);
        }

        #[test]
        fn interval_laws((s, a, b, x) in space_and_ids()) {
            // (a, b] is (a, b) plus b itself.
            prop_assert_eq!(s.in_open_closed(x, a, b), s.in_open(x, a, b) || x == b);
            if a != b {
                // (a, b] and (b, a] split the ring: every point is in exactly one.
                prop_assert!(s.in_open_closed(x, a, b) ^ s.in_open_closed(x, b, a));
                prop_assert!(!s.in_open(a, a, b) && !s.in_open(b, a, b));
            }
        }

        #[test]
        fn extreme_spaces_wrap(m in prop::sample::select(vec![1u32, 2, 63, 64]), a in any::<u64>()) {
            let s = IdSpace::new(m).unwrap();
            let a = s.wrap(a);
            let top = RingId(s.max_id());
            prop_assert_eq!(s.add(top, 1), RingId(0));
            prop_assert_eq!(s.dist(top, RingId(0)), 1);
            prop_assert!(s.in_open_closed(RingId(0), top, RingId(0)));
            prop_assert_eq!(s.add(a, 0), a);
        }

        #[test]
        fn finger_indices_match_successor_search(
            m in 1u32..=64,
            raw in prop::collection::vec(any::<u64>(), 1..60),
        ) {
            let s = IdSpace::new(m).unwrap();
            let ids = ring_of(s, &raw);
            for i in 0..ids.len() {
                prop_assert_eq!(finger_indices(s, &ids, i), fingers_by_search(s, &ids, i));
            }
        }

        #[test]
        fn finger_indices_match_on_dense_rings(
            m in 8u32..=16,
            raw in prop::collection::vec(any::<u64>(), 500..3000),
        ) {
            // Dense enough that the high fingers take the binary-search path.
            let s = IdSpace::new(m).unwrap();
            let ids = ring_of(s, &raw);
            for i in (0..ids.len()).step_by(7) {
                prop_assert_eq!(finger_indices(s, &ids, i), fingers_by_search(s, &ids, i));
            }
        }

        #[test]
        fn successor_index_matches_linear_scan(
            m in 1u32..=64,
            raw in prop::collection::vec(any::<u64>(), 1..40),
            key in any::<u64>(),
        ) {
            let s = IdSpace::new(m).unwrap();
            let ids = ring_of(s, &raw);
            let key = s.wrap(key);
            let got = ids[successor_index(&ids, key)];
            // The owner is the peer at the smallest clockwise distance from the key.
            let want = *ids.iter().min_by_key(|&&p| s.dist(key, p)).unwrap();
            prop_assert_eq!(got, want);
            // And the key lies in (predecessor, owner].
            let i = successor_index(&ids, key);
            let pred = ids[(i + ids.len() - 1) % ids.len()];
            prop_assert!(s.in_open_closed(key, pred, got));
        }
    }
}
