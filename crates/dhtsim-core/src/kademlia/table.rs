//! A Kademlia peer's routing table: one k-bucket per bit of the ID space, each in
//! least-recently-seen order, with Kademlia's preference for old contacts (a newcomer enters a
//! full bucket only when its oldest contact fails a ping).
//!
//! Layout: every contact in one `Vec`, grouped by bucket in increasing index, with a length per
//! bucket. A bucket holds at most k contacts, so moving one to its tail or removing one shifts at
//! most k entries; one `Vec` per bucket would cost 64 headers (1.5 KB) per peer before any
//! contact, which is most of the memory at 10^6 peers.

use crate::protocol::PeerRef;
use crate::ring::RingId;
use crate::xor::{bucket_of, distance};

/// A full bucket's oldest contact, pinged because `candidate` wants its place.
///
/// A bucket pings at most once per refresh period while its oldest contact keeps answering: a
/// contact that answered within the period counts as live, as BitTorrent's DHT (BEP 5) treats a
/// node heard from in the last 15 minutes as good and turns newcomers away without a ping.
/// Without that, every message from a stranger to a full bucket would cost a ping, and each ping
/// to a peer that does not know its sender another, in a chain across the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    pinged: PeerRef,
    candidate: PeerRef,
}

/// What [`Table::seen`] asks its peer to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Nothing: the contact was known (moved to its bucket's tail), added, or waits for a ping
    /// already under way.
    Done,
    /// Ping this contact, the oldest of a full bucket: if it does not answer, the newcomer takes
    /// its place.
    Ping(PeerRef),
}

/// The k-buckets of one peer.
#[derive(Clone, Debug)]
pub struct Table {
    me: RingId,
    /// Contacts grouped by bucket (bucket 0 first), each bucket least recently seen first.
    contacts: Vec<PeerRef>,
    /// Contacts in each bucket.
    lens: [u16; 64],
    /// Of each bucket's contacts, how many at its tail were heard from since the last refresh
    /// (the least-recently-seen order puts them there).
    heard: [u16; 64],
    /// Pings before eviction under way (at most one per bucket).
    pending: Vec<Pending>,
    /// Buckets that a lookup has targeted since the last refresh (bit i: bucket i).
    used: u64,
    /// Full buckets whose oldest contact answered a ping since the last refresh: newcomers are
    /// turned away without another ping until then.
    checked: u64,
}

impl Table {
    /// An empty table of peer `me`.
    pub fn new(me: RingId) -> Self {
        Table {
            me,
            contacts: Vec::new(),
            lens: [0; 64],
            heard: [0; 64],
            pending: Vec::new(),
            used: 0,
            checked: 0,
        }
    }

    /// A table holding `contacts` (none equal to `me`, each bucket's share at most k), in the
    /// order given within each bucket.
    pub fn with(me: RingId, mut contacts: Vec<PeerRef>) -> Self {
        let mut lens = [0u16; 64];
        for c in &contacts {
            lens[bucket_of(me, c.id).expect("not me") as usize] += 1;
        }
        // A stable sort keeps the given order within each bucket.
        contacts.sort_by_key(|c| bucket_of(me, c.id));
        contacts.shrink_to_fit();
        Table { me, contacts, lens, heard: [0; 64], pending: Vec::new(), used: 0, checked: 0 }
    }

    /// Where bucket `b`'s contacts start.
    fn start(&self, b: usize) -> usize {
        self.lens[..b].iter().map(|&l| l as usize).sum()
    }

    /// The contacts of bucket `b`, least recently seen first.
    pub fn bucket(&self, b: u32) -> &[PeerRef] {
        let s = self.start(b as usize);
        &self.contacts[s..s + self.lens[b as usize] as usize]
    }

    /// Every contact, by bucket.
    pub fn contacts(&self) -> &[PeerRef] {
        &self.contacts
    }

    /// Number of contacts.
    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    /// Whether the table knows nobody.
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }

    /// Whether `id` is a contact.
    pub fn contains(&self, id: RingId) -> bool {
        bucket_of(self.me, id).is_some_and(|b| self.bucket(b).iter().any(|c| c.id == id))
    }

    /// The lowest non-empty bucket (that of the closest contact), if any.
    pub fn lowest_bucket(&self) -> Option<u32> {
        self.lens.iter().position(|&l| l > 0).map(|b| b as u32)
    }

    /// A message came from `c`: it moves to its bucket's tail, or joins a bucket with room; at a
    /// full bucket the oldest contact is to be pinged, `c` waiting for its place.
    pub fn seen(&mut self, c: PeerRef, k: usize) -> Seen {
        let Some(b) = bucket_of(self.me, c.id) else { return Seen::Done };
        let (s, len) = (self.start(b as usize), self.lens[b as usize] as usize);
        let bucket = &mut self.contacts[s..s + len];
        if let Some(i) = bucket.iter().position(|x| x.id == c.id) {
            bucket[i..].rotate_left(1);
            if i < len - self.heard[b as usize] as usize {
                self.heard[b as usize] += 1;
            }
            return Seen::Done;
        }
        if len < k {
            self.contacts.insert(s + len, c);
            self.lens[b as usize] += 1;
            self.heard[b as usize] += 1;
            return Seen::Done;
        }
        if self.checked & (1 << b) != 0 {
            // Its oldest contact answered a ping this period: it counts as live.
            return Seen::Done;
        }
        if let Some(p) =
            self.pending.iter_mut().find(|p| bucket_of(self.me, p.pinged.id) == Some(b))
        {
            // A ping is under way: the newest newcomer waits for the place.
            p.candidate = c;
            return Seen::Done;
        }
        let oldest = self.contacts[s];
        self.pending.push(Pending { pinged: oldest, candidate: c });
        Seen::Ping(oldest)
    }

    /// `from` answered a ping: it stays (the caller moves it to its tail by [`Table::seen`]) and
    /// the newcomer that waited for its place is dropped.
    pub fn ping_answered(&mut self, from: RingId) {
        if let Some(at) = self.pending.iter().position(|p| p.pinged.id == from) {
            self.pending.swap_remove(at);
            if let Some(b) = bucket_of(self.me, from) {
                self.checked |= 1 << b;
            }
        }
    }

    /// `dead` did not answer: it leaves the table, and a newcomer waiting for a place in its
    /// bucket takes it. Returns whether it was a contact.
    pub fn remove(&mut self, dead: RingId) -> bool {
        let Some(b) = bucket_of(self.me, dead) else { return false };
        let (s, len) = (self.start(b as usize), self.lens[b as usize] as usize);
        let Some(i) = self.contacts[s..s + len].iter().position(|x| x.id == dead) else {
            self.pending.retain(|p| p.candidate.id != dead);
            return false;
        };
        self.contacts.remove(s + i);
        if i >= len - self.heard[b as usize] as usize {
            self.heard[b as usize] -= 1;
        }
        self.lens[b as usize] -= 1;
        if let Some(at) =
            self.pending.iter().position(|p| bucket_of(self.me, p.pinged.id) == Some(b))
        {
            let p = self.pending.swap_remove(at);
            if p.candidate.id != dead && !self.contains(p.candidate.id) {
                self.contacts.insert(s + len - 1, p.candidate);
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
                    sorted_group(out, &mut self.bucket(b).iter().copied());
                }
            }
            Some(b) => {
                sorted_group(out, &mut self.bucket(b).iter().copied());
                if out.len() - start < n {
                    let below = self.start(b as usize);
                    sorted_group(out, &mut self.contacts[..below].iter().copied());
                }
                for j in b + 1..64 {
                    if out.len() - start >= n {
                        break;
                    }
                    sorted_group(out, &mut self.bucket(j).iter().copied());
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
        self.checked = 0;
        unused
    }

    /// The contacts not heard from since the last call (to be pinged: one that does not answer
    /// leaves), and starts a new period.
    pub fn take_unheard(&mut self) -> Vec<PeerRef> {
        let mut unheard = Vec::new();
        let mut s = 0;
        for b in 0..64 {
            let len = self.lens[b] as usize;
            unheard.extend_from_slice(&self.contacts[s..s + len - self.heard[b] as usize]);
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
        PeerRef { idx: PeerIdx(id as u32), id: RingId(id) }
    }

    #[test]
    fn a_full_bucket_keeps_its_oldest_contact_unless_the_ping_fails() {
        // me = 0; bucket 3 holds 8..=15; k = 2.
        let mut t = Table::new(RingId(0));
        assert_eq!(t.seen(p(8), 2), Seen::Done);
        assert_eq!(t.seen(p(9), 2), Seen::Done);
        assert_eq!(t.seen(p(10), 2), Seen::Ping(p(8)));
        assert_eq!(t.seen(p(11), 2), Seen::Done, "one ping per bucket; 11 now waits");
        // 8 answers: it stays, moved to the tail; 11 is dropped, and so is the next newcomer
        // until the next refresh.
        t.ping_answered(RingId(8));
        assert_eq!(t.seen(p(8), 2), Seen::Done);
        assert_eq!(t.bucket(3), &[p(9), p(8)]);
        assert_eq!(t.seen(p(13), 2), Seen::Done);
        assert!(!t.contains(RingId(13)));
        t.take_unused(4);
        // Next newcomer: 9 is pinged and fails; the newcomer takes its place.
        assert_eq!(t.seen(p(12), 2), Seen::Ping(p(9)));
        assert!(t.remove(RingId(9)));
        assert_eq!(t.bucket(3), &[p(8), p(12)]);
        assert!(!t.contains(RingId(11)));
    }

    #[test]
    fn contacts_not_heard_from_in_a_period_are_the_ones_to_ping() {
        let mut t = Table::with(RingId(0), vec![p(4), p(5), p(6), p(1), p(8)]);
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
        let mut t = Table::with(RingId(0), vec![p(4), p(5), p(1), p(6)]);
        assert_eq!(t.bucket(2), &[p(4), p(5), p(6)]);
        assert_eq!(t.bucket(0), &[p(1)]);
        t.seen(p(4), 20);
        assert_eq!(t.bucket(2), &[p(5), p(6), p(4)]);
        assert_eq!(t.lowest_bucket(), Some(0));
    }

    proptest! {
        #[test]
        fn closest_is_the_sorted_prefix(
            me: u64, target: u64,
            ids in proptest::collection::btree_set(any::<u64>(), 0..80), n in 0usize..30,
        ) {
            let contacts: Vec<PeerRef> = ids.iter().filter(|&&i| i != me).map(|&i| p(i)).collect();
            let t = Table::with(RingId(me), contacts.clone());
            let mut got = Vec::new();
            t.closest(RingId(target), n, &mut got);
            let mut want = contacts;
            want.sort_by_key(|c| distance(c.id, RingId(target)));
            want.truncate(n);
            prop_assert_eq!(got, want);
        }
    }
}
