//! A Kademlia peer's routing table: one k-bucket per bit of the ID space, each in
//! least-recently-seen order, with Kademlia's preference for old contacts (a newcomer enters a
//! full bucket only when its oldest contact fails a ping).
//!
//! Layout: every contact in one pair of arrays (IDs, addresses), grouped by bucket in increasing
//! index, with a length per bucket. A bucket holds at most k contacts, so moving one to its tail
//! or removing one shifts at most k entries; one `Vec` per bucket would cost 64 headers (1.5 KB)
//! per peer before any contact, which is most of the memory at 10^6 peers. Keeping IDs and
//! addresses apart makes a contact 12 bytes rather than a padded 16-byte `PeerRef`, and a
//! bucket's search for an ID reads only the IDs.

use crate::protocol::{PeerIdx, PeerRef};
use crate::ring::RingId;
use crate::xor::{bucket_of, distance};

/// A full bucket's oldest contact, pinged because `candidate` wants its place.
///
/// Every newcomer to a full bucket pings its least recently seen contact (SPEC §2b), one ping
/// per bucket at a time. A contact that answers moves to the tail, so successive newcomers
/// sweep the bucket and find its dead contacts. (Turning newcomers away for a whole refresh
/// period once the oldest contact had answered, as an earlier version did, left buckets of
/// k = 8 half dead at 15-minute sessions and an hourly refresh, and a fifth of the lookups
/// ending at a wrong owner: docs/validation.md §8b.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Pending {
    pinged: PeerRef,
    candidate: PeerRef,
}

/// What [`Table::seen`] asks its peer to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Seen {
    /// Nothing: the contact was known (moved to its bucket's tail), added, or waits for a ping
    /// already under way.
    Done,
    /// Ping this contact, the oldest of a full bucket: if it does not answer, the newcomer takes
    /// its place.
    Ping(PeerRef),
}

/// The k-buckets of one peer.
#[derive(Clone, Debug, Hash)]
pub struct Table {
    me: RingId,
    /// Contacts' IDs grouped by bucket (bucket 0 first), each bucket least recently seen first.
    ids: Vec<RingId>,
    /// Their addresses, in the same order.
    idxs: Vec<PeerIdx>,
    /// Contacts in each bucket.
    lens: [u16; 64],
    /// Of each bucket's contacts, how many at its tail were heard from since the last refresh
    /// (the least-recently-seen order puts them there).
    heard: [u16; 64],
    /// Pings before eviction under way (at most one per bucket).
    pending: Vec<Pending>,
    /// Buckets that a lookup has targeted since the last refresh (bit i: bucket i).
    used: u64,
}

impl Table {
    /// An empty table of peer `me`.
    pub fn new(me: RingId) -> Self {
        Table {
            me,
            ids: Vec::new(),
            idxs: Vec::new(),
            lens: [0; 64],
            heard: [0; 64],
            pending: Vec::new(),
            used: 0,
        }
    }

    /// A table holding `contacts` (none equal to `me`, each bucket's share at most k), in the
    /// order given within each bucket.
    pub fn with(me: RingId, contacts: &[PeerRef]) -> Self {
        let bucket = |c: &PeerRef| bucket_of(me, c.id).expect("not me");
        let sorted: Vec<PeerRef>;
        // A stable sort keeps the given order within each bucket; the bootstrap's contacts come
        // grouped by bucket already.
        let contacts = if contacts.is_sorted_by_key(bucket) {
            contacts
        } else {
            let mut v = contacts.to_vec();
            v.sort_by_key(bucket);
            sorted = v;
            &sorted
        };
        let mut lens = [0u16; 64];
        for c in contacts {
            lens[bucket(c) as usize] += 1;
        }
        Table {
            me,
            ids: contacts.iter().map(|c| c.id).collect(),
            idxs: contacts.iter().map(|c| c.idx).collect(),
            lens,
            heard: [0; 64],
            pending: Vec::new(),
            used: 0,
        }
    }

    /// Where bucket `b`'s contacts start.
    fn start(&self, b: usize) -> usize {
        self.lens[..b].iter().map(|&l| l as usize).sum()
    }

    /// The contact at position `i`.
    fn at(&self, i: usize) -> PeerRef {
        PeerRef::new(self.idxs[i], self.ids[i])
    }

    /// The contacts of bucket `b`, least recently seen first.
    pub fn bucket(&self, b: u32) -> impl Iterator<Item = PeerRef> + '_ {
        let s = self.start(b as usize);
        (s..s + self.lens[b as usize] as usize).map(|i| self.at(i))
    }

    /// Every contact, by bucket.
    pub fn contacts(&self) -> impl Iterator<Item = PeerRef> + '_ {
        (0..self.ids.len()).map(|i| self.at(i))
    }

    /// Number of contacts.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the table knows nobody.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `id` is a contact.
    pub fn contains(&self, id: RingId) -> bool {
        bucket_of(self.me, id).is_some_and(|b| {
            let s = self.start(b as usize);
            self.ids[s..s + self.lens[b as usize] as usize].contains(&id)
        })
    }

    /// Inserts `c` at position `i`.
    fn insert(&mut self, i: usize, c: PeerRef) {
        self.ids.insert(i, c.id);
        self.idxs.insert(i, c.idx);
    }

    /// The lowest non-empty bucket (that of the closest contact), if any.
    pub fn lowest_bucket(&self) -> Option<u32> {
        self.lens.iter().position(|&l| l > 0).map(|b| b as u32)
    }

    /// A message came from `c`: it moves to its bucket's tail, or joins a bucket with room; at a
    /// full bucket the oldest contact is to be pinged, `c` waiting for its place.
    pub fn seen(&mut self, c: PeerRef, k: usize) -> Seen {
        self.note(c, k, true)
    }

    /// A ping or its answer came from `c`: as [`Table::seen`], except that at a full bucket
    /// `c` is dropped with no ping. Otherwise each ping from a peer that does not know its
    /// sender would start another, in a chain across the network that never ends: measured on
    /// `bench-kademlia` (a static network), 169 M pings in 600 s against 6 M messages of
    /// lookups.
    pub fn pinged_by(&mut self, c: PeerRef, k: usize) {
        self.note(c, k, false);
    }

    fn note(&mut self, c: PeerRef, k: usize, may_ping: bool) -> Seen {
        let Some(b) = bucket_of(self.me, c.id) else { return Seen::Done };
        let (s, len) = (self.start(b as usize), self.lens[b as usize] as usize);
        if let Some(i) = self.ids[s..s + len].iter().position(|&x| x == c.id) {
            self.ids[s + i..s + len].rotate_left(1);
            self.idxs[s + i..s + len].rotate_left(1);
            if i < len - self.heard[b as usize] as usize {
                self.heard[b as usize] += 1;
            }
            return Seen::Done;
        }
        if len < k {
            self.insert(s + len, c);
            self.lens[b as usize] += 1;
            self.heard[b as usize] += 1;
            return Seen::Done;
        }
        if !may_ping {
            return Seen::Done;
        }
        if let Some(p) =
            self.pending.iter_mut().find(|p| bucket_of(self.me, p.pinged.id) == Some(b))
        {
            // A ping is under way: the newest newcomer waits for the place.
            p.candidate = c;
            return Seen::Done;
        }
        let oldest = self.at(s);
        self.pending.push(Pending { pinged: oldest, candidate: c });
        Seen::Ping(oldest)
    }

    /// `from` answered a ping: it stays (the caller moves it to its tail by [`Table::seen`]) and
    /// the newcomer that waited for its place is dropped.
    pub fn ping_answered(&mut self, from: RingId) {
        if let Some(at) = self.pending.iter().position(|p| p.pinged.id == from) {
            self.pending.swap_remove(at);
        }
    }

    /// `dead` did not answer: it leaves the table, and a newcomer waiting for a place in its
    /// bucket takes it. Returns whether it was a contact.
    pub fn remove(&mut self, dead: RingId) -> bool {
        let Some(b) = bucket_of(self.me, dead) else { return false };
        let (s, len) = (self.start(b as usize), self.lens[b as usize] as usize);
        let Some(i) = self.ids[s..s + len].iter().position(|&x| x == dead) else {
            self.pending.retain(|p| p.candidate.id != dead);
            return false;
        };
        self.ids.remove(s + i);
        self.idxs.remove(s + i);
        if i >= len - self.heard[b as usize] as usize {
            self.heard[b as usize] -= 1;
        }
        self.lens[b as usize] -= 1;
        if let Some(at) =
            self.pending.iter().position(|p| bucket_of(self.me, p.pinged.id) == Some(b))
        {
            let p = self.pending.swap_remove(at);
            if p.candidate.id != dead && !self.contains(p.candidate.id) {
                self.insert(s + len - 1, p.candidate);
                self.lens[b as usize] += 1;
                self.heard[b as usize] += 1;
            }
        }
        true
    }

    /// Appends to `out` the (at most) `n` contacts closest to `target` by XOR, closest first.
    ///
    /// Uses the bucket structure: with b the bucket `target` falls in, every contact of bucket
    /// b is closer to it than any other contact; the contacts of the buckets below b come next
    /// (all at distances in [2^b, 2^(b+1))), then buckets b+1, b+2, ... in turn. Only the
    /// groups needed are sorted.
    pub fn closest(&self, target: RingId, n: usize, out: &mut Vec<PeerRef>) {
        let start = out.len();
        let sorted_group = |out: &mut Vec<PeerRef>, group: &mut dyn Iterator<Item = PeerRef>| {
            let from = out.len();
            out.extend(group);
            out[from..].sort_unstable_by_key(|c| distance(c.id, target));
        };
        match bucket_of(self.me, target) {
            None => {
                // Target = me: buckets in increasing order are increasingly far.
                for b in 0..64 {
                    if out.len() - start >= n {
                        break;
                    }
                    sorted_group(out, &mut self.bucket(b));
                }
            }
            Some(b) => {
                sorted_group(out, &mut self.bucket(b));
                if out.len() - start < n {
                    let below = self.start(b as usize);
                    sorted_group(out, &mut (0..below).map(|i| self.at(i)));
                }
                for j in b + 1..64 {
                    if out.len() - start >= n {
                        break;
                    }
                    sorted_group(out, &mut self.bucket(j));
                }
            }
        }
        out.truncate(start + n);
    }

    /// A lookup targets `target`: its bucket counts as used until the next refresh.
    pub fn mark_used(&mut self, target: RingId) {
        if let Some(b) = bucket_of(self.me, target) {
            self.used |= 1 << b;
        }
    }

    /// The buckets from the closest contact's up to bucket `bits - 1` that no lookup targeted
    /// since the last call, and starts a new period.
    pub fn take_unused(&mut self, bits: u32) -> Vec<u32> {
        let low = self.lowest_bucket().unwrap_or(bits);
        let unused = (low..bits).filter(|&b| self.used & (1 << b) == 0).collect();
        self.used = 0;
        unused
    }

    /// The contacts not heard from since the last call (to be pinged: one that does not answer
    /// leaves), and starts a new period.
    pub fn take_unheard(&mut self) -> Vec<PeerRef> {
        let mut unheard = Vec::new();
        let mut s = 0;
        for b in 0..64 {
            let len = self.lens[b] as usize;
            unheard.extend((s..s + len - self.heard[b] as usize).map(|i| self.at(i)));
            s += len;
        }
        self.heard = [0; 64];
        unheard
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerIdx;
    use proptest::prelude::*;

    fn p(id: u64) -> PeerRef {
        PeerRef::new(PeerIdx(id as u32), RingId(id))
    }

    #[test]
    fn a_full_bucket_keeps_its_oldest_contact_unless_the_ping_fails() {
        // me = 0; bucket 3 holds 8..=15; k = 2.
        let mut t = Table::new(RingId(0));
        assert_eq!(t.seen(p(8), 2), Seen::Done);
        assert_eq!(t.seen(p(9), 2), Seen::Done);
        assert_eq!(t.seen(p(10), 2), Seen::Ping(p(8)));
        assert_eq!(t.seen(p(11), 2), Seen::Done, "one ping per bucket; 11 now waits");
        // 8 answers: it stays, moved to the tail; 11 is dropped.
        t.ping_answered(RingId(8));
        assert_eq!(t.seen(p(8), 2), Seen::Done);
        assert_eq!(t.bucket(3).collect::<Vec<_>>(), [p(9), p(8)]);
        assert!(!t.contains(RingId(11)));
        // The next newcomer pings the bucket's new oldest contact, 9, which fails; the newcomer
        // takes its place.
        assert_eq!(t.seen(p(12), 2), Seen::Ping(p(9)));
        assert!(t.remove(RingId(9)));
        assert_eq!(t.bucket(3).collect::<Vec<_>>(), [p(8), p(12)]);
        assert!(!t.contains(RingId(11)));
    }

    #[test]
    fn contacts_not_heard_from_in_a_period_are_the_ones_to_ping() {
        let mut t = Table::with(RingId(0), &[p(4), p(5), p(6), p(1), p(8)]);
        assert_eq!(t.take_unheard(), vec![p(1), p(4), p(5), p(6), p(8)]);
        t.seen(p(5), 20);
        t.seen(p(9), 20);
        t.seen(p(5), 20);
        assert!(t.remove(RingId(9)));
        assert!(t.remove(RingId(6)));
        assert_eq!(t.take_unheard(), vec![p(1), p(4), p(8)]);
        assert_eq!(t.take_unheard(), vec![p(1), p(4), p(5), p(8)]);
    }

    #[test]
    fn contacts_heard_from_move_to_the_tail() {
        let mut t = Table::with(RingId(0), &[p(4), p(5), p(1), p(6)]);
        assert_eq!(t.bucket(2).collect::<Vec<_>>(), [p(4), p(5), p(6)]);
        assert_eq!(t.bucket(0).collect::<Vec<_>>(), [p(1)]);
        t.seen(p(4), 20);
        assert_eq!(t.bucket(2).collect::<Vec<_>>(), [p(5), p(6), p(4)]);
        assert_eq!(t.lowest_bucket(), Some(0));
    }

    proptest! {
        #[test]
        fn closest_is_the_sorted_prefix(
            me: u64, target: u64,
            ids in proptest::collection::btree_set(any::<u64>(), 0..80), n in 0usize..30,
        ) {
            let contacts: Vec<PeerRef> = ids.iter().filter(|&&i| i != me).map(|&i| p(i)).collect();
            let t = Table::with(RingId(me), &contacts);
            let mut got = Vec::new();
            t.closest(RingId(target), n, &mut got);
            let mut want = contacts;
            want.sort_by_key(|c| distance(c.id, RingId(target)));
            want.truncate(n);
            prop_assert_eq!(got, want);
        }
    }
}
