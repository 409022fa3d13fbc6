//! Kademlia's XOR metric over the m-bit identifiers (SPEC §2b): distance, the bucket a peer
//! files a contact in, the range of IDs a bucket covers, and the n IDs of a sorted set closest
//! to a key.
//!
//! Owns the arithmetic only, as `ring.rs` does for Chord's clockwise order. The XOR distance
//! d(a, b) = a ^ b is a metric (d(a, a) = 0, symmetric, triangle inequality) and, for a fixed
//! key, it is one-to-one: two distinct IDs are never at the same distance from a key, so
//! "the n closest" is always a unique set with a unique order.
//!
//! The IDs with a given top bit prefix form one contiguous range in sorted order, the subtree of
//! a binary trie. That makes both bucket ranges and the n closest IDs cheap to find in a sorted
//! set: descend the trie from the top bit, preferring the half that agrees with the key.

use crate::ring::RingId;

/// The XOR distance between `a` and `b`.
#[inline]
pub fn distance(a: RingId, b: RingId) -> u64 {
    a.0 ^ b.0
}

/// The bucket in which `me` files `other`: the index i with `2^i <= d(me, other) < 2^(i+1)`,
/// i.e. the highest bit in which they differ. `None` for `other == me`.
#[inline]
pub fn bucket_of(me: RingId, other: RingId) -> Option<u32> {
    let d = distance(me, other);
    (d != 0).then(|| 63 - d.leading_zeros())
}

/// The low `bits` bits set (`bits <= 64`).
#[inline]
fn low_mask(bits: u32) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 }
}

/// The IDs bucket `i` of `me` covers, as an inclusive range: those that agree with `me` above
/// bit i and differ from it at bit i (`i < 64`; a space of m bits uses buckets `0..m`).
pub fn bucket_range(me: RingId, i: u32) -> (RingId, RingId) {
    let low = low_mask(i);
    let lo = (me.0 ^ (1u64 << i)) & !low;
    (RingId(lo), RingId(lo | low))
}

/// A sorted set of distinct IDs that can count its members below a bound and give the member
/// of a rank: what [`closest`] needs, from a slice or from the oracle's map.
pub trait SortedIds {
    /// Number of members.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of members `< x` (`x` may be `2^64`).
    fn rank(&self, x: u128) -> usize;
    /// The member of rank `i`.
    fn nth(&self, i: usize) -> RingId;
}

impl SortedIds for [RingId] {
    fn len(&self) -> usize {
        <[RingId]>::len(self)
    }
    fn rank(&self, x: u128) -> usize {
        self.partition_point(|id| (id.0 as u128) < x)
    }
    fn nth(&self, i: usize) -> RingId {
        self[i]
    }
}

/// The (at most) `n` members of `ids` closest to `key` by XOR distance, closest first, appended
/// to `out`. `bits` is m: every member is `< 2^m`. O(m log N + n log n).
pub fn closest<S: SortedIds + ?Sized>(
    ids: &S,
    bits: u32,
    key: RingId,
    n: usize,
    out: &mut Vec<RingId>,
) {
    let mut need = n.min(ids.len());
    if need > 0 {
        visit(ids, key, 0, bits, &mut need, out);
    }
}

/// Visits the trie subtree of the IDs `lo ..= lo + 2^free - 1`, nearer half first, until `need`
/// members have been taken.
fn visit<S: SortedIds + ?Sized>(
    ids: &S,
    key: RingId,
    lo: u64,
    free: u32,
    need: &mut usize,
    out: &mut Vec<RingId>,
) {
    let hi = lo as u128 + low_mask(free) as u128;
    let (a, b) = (ids.rank(lo as u128), ids.rank(hi + 1));
    let count = b - a;
    if count == 0 || *need == 0 {
        return;
    }
    if count <= *need {
        // Every member of a subtree is nearer to the key than any member of a subtree visited
        // after it, so the subtree sorted by distance continues the order.
        let start = out.len();
        out.extend((a..b).map(|r| ids.nth(r)));
        out[start..].sort_unstable_by_key(|id| distance(*id, key));
        *need -= count;
        return;
    }
    // More members than needed: at least two, so free > 0.
    let bit = 1u64 << (free - 1);
    let near = lo | (key.0 & bit);
    visit(ids, key, near, free - 1, need, out);
    visit(ids, key, near ^ bit, free - 1, need, out);
}

/// A small, fast, deterministic generator (SplitMix64) for the choices a protocol makes without
/// a random stream: which of many equivalent contacts a converged table holds, which ID a bucket
/// refresh looks up. Seeded from IDs that the run's ID stream drew, so runs stay a function of
/// their seed.
#[derive(Clone, Debug, Hash)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the tiny modulo bias is irrelevant for these choices).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The n closest by brute force: sort everything by distance.
    fn brute(ids: &[RingId], key: RingId, n: usize) -> Vec<RingId> {
        let mut v = ids.to_vec();
        v.sort_by_key(|id| distance(*id, key));
        v.truncate(n);
        v
    }

    fn space_ids() -> impl Strategy<Value = (u32, Vec<RingId>, RingId, usize)> {
        (1u32..=64).prop_flat_map(|bits| {
            let id = move || (0..=low_mask(bits)).prop_map(RingId);
            (Just(bits), proptest::collection::btree_set(id(), 1..60), id(), 0usize..70)
                .prop_map(|(b, set, key, n)| (b, set.into_iter().collect(), key, n))
        })
    }

    proptest! {
        #[test]
        fn closest_matches_brute_force((bits, ids, key, n) in space_ids()) {
            let mut got = Vec::new();
            closest(ids.as_slice(), bits, key, n, &mut got);
            prop_assert_eq!(got, brute(&ids, key, n));
        }

        #[test]
        fn distances_from_a_key_are_distinct_and_symmetric(
            (bits, ids, key, _n) in space_ids()
        ) {
            let mut d: Vec<u64> = ids.iter().map(|id| distance(*id, key)).collect();
            d.sort_unstable();
            d.dedup();
            prop_assert_eq!(d.len(), ids.len());
            for id in &ids {
                prop_assert_eq!(distance(*id, key), distance(key, *id));
                prop_assert!(distance(*id, key) <= low_mask(bits));
            }
        }

        #[test]
        fn a_contact_lies_in_the_range_of_its_bucket((bits, ids, me, _n) in space_ids()) {
            for &other in &ids {
                match bucket_of(me, other) {
                    None => prop_assert_eq!(other, me),
                    Some(i) => {
                        prop_assert!(i < bits);
                        let d = distance(me, other);
                        prop_assert!(d >= 1u64 << i && (d >> i) == 1);
                        let (lo, hi) = bucket_range(me, i);
                        prop_assert!(lo <= other && other <= hi);
                        prop_assert_eq!(bucket_of(me, lo), Some(i));
                        prop_assert_eq!(bucket_of(me, hi), Some(i));
                    }
                }
            }
        }

        #[test]
        fn triangle_inequality(a: u64, b: u64, c: u64) {
            let (a, b, c) = (RingId(a), RingId(b), RingId(c));
            prop_assert!(distance(a, c) <= distance(a, b) | distance(b, c));
        }
    }

    #[test]
    fn bucket_ranges_tile_the_space_around_me() {
        // m = 4, me = 0b0110: bucket 3 holds the IDs that differ from me at bit 3 (8..=15),
        // bucket 2 those that agree at bit 3 and differ at bit 2 (0..=3), ..., bucket 0 = {7}.
        let me = RingId(0b0110);
        assert_eq!(bucket_range(me, 3), (RingId(8), RingId(15)));
        assert_eq!(bucket_range(me, 2), (RingId(0), RingId(3)));
        assert_eq!(bucket_range(me, 1), (RingId(4), RingId(5)));
        assert_eq!(bucket_range(me, 0), (RingId(7), RingId(7)));
        assert_eq!(bucket_range(RingId(0), 63), (RingId(1 << 63), RingId(u64::MAX)));
    }
}
