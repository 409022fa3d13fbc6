//! The global oracle: the true live ring, for measuring and checking only.
//!
//! Its members are the live peers that have joined the ring (a joining peer becomes a member
//! when it has a successor; a departing one stops being one at once).
//!
//! Knows every live peer and which keys have been stored. The simulation consults it to label a
//! lookup's outcome (did it end at the true owner?) and to pick workload origins among live
//! peers; protocols never see it, so it can never make routing look better than it is.

use crate::protocol::PeerIdx;
use crate::ranked::RankedMap;
use crate::ring::RingId;
use crate::rng::Rng;
use rand::RngExt;
use std::collections::BTreeSet;

/// The true state of the network.
#[derive(Clone, Debug, Default)]
pub struct Oracle {
    /// Members (live peers that have joined), by ID, with their addresses.
    members: RankedMap<PeerIdx>,
    /// The same members by address, one bit each: membership without a search of the ring
    /// ([`Oracle::is_member`]).
    member_bits: Vec<u64>,
    /// Keys that some store has placed in the DHT.
    stored: BTreeSet<RingId>,
    /// Every live peer, member or still joining, by ID: what the workload and the churn model
    /// draw from, so that their draws never depend on how fast routing lets peers join.
    alive: RankedMap<PeerIdx>,
    /// Kademlia's ownership (the closest member by XOR) over IDs of this many bits; `None`:
    /// Chord's (the first member clockwise).
    xor_bits: Option<u32>,
}

impl Oracle {
    /// An oracle over the live peers `(id, address)`, which must have distinct IDs.
    pub fn new(mut peers: Vec<(RingId, PeerIdx)>) -> Self {
        peers.sort_unstable();
        debug_assert!(peers.windows(2).all(|w| w[0].0 < w[1].0), "duplicate peer IDs");
        let alive = RankedMap::from_sorted(peers.clone());
        Oracle {
            member_bits: bits_of(&peers),
            members: RankedMap::from_sorted(peers),
            stored: BTreeSet::new(),
            alive,
            xor_bits: None,
        }
    }

    /// An oracle over the live peers `(id, address)` (distinct IDs) of which only `members` are
    /// on the ring; the others are joining, or are clients that never will be.
    pub fn forming(mut peers: Vec<(RingId, PeerIdx)>, mut members: Vec<(RingId, PeerIdx)>) -> Self {
        peers.sort_unstable();
        members.sort_unstable();
        debug_assert!(peers.windows(2).all(|w| w[0].0 < w[1].0), "duplicate peer IDs");
        Oracle {
            member_bits: bits_of(&members),
            members: RankedMap::from_sorted(members),
            stored: BTreeSet::new(),
            alive: RankedMap::from_sorted(peers),
            xor_bits: None,
        }
    }

    /// The same oracle with Kademlia's ownership: a key belongs to the member closest to it by
    /// XOR, over IDs of `bits` bits.
    pub fn with_xor_ownership(mut self, bits: u32) -> Self {
        self.xor_bits = Some(bits);
        self
    }

    /// The (at most) `n` members closest to `key` in the protocol's sense, nearest first:
    /// Chord's owner and the members after it clockwise, or Kademlia's closest by XOR.
    pub fn closest(&self, key: RingId, n: usize) -> Vec<(RingId, PeerIdx)> {
        let n = n.min(self.members.len());
        match self.xor_bits {
            Some(bits) => {
                let mut ids = Vec::with_capacity(n);
                crate::xor::closest(&self.members, bits, key, n, &mut ids);
                ids.into_iter().map(|id| (id, self.members.get(id).expect("a member"))).collect()
            }
            None => {
                let Some((first, _)) = self.members.successor(key) else { return Vec::new() };
                let start = self.members.rank(first.0 as u128);
                let len = self.members.len();
                (0..n).map(|i| self.members.nth((start + i) % len)).collect()
            }
        }
    }

    /// Number of live peers.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no peer is alive.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Member IDs in increasing order (a copy: O(N), for checks and snapshots).
    pub fn ids(&self) -> Vec<RingId> {
        self.members.iter().map(|(id, _)| id).collect()
    }

    /// Members with their addresses, in ID order.
    pub fn members(&self) -> impl Iterator<Item = (RingId, PeerIdx)> + '_ {
        self.members.iter()
    }

    /// The true owner of `key`: the first member clockwise from it, inclusive (Chord), or the
    /// member closest to it by XOR (Kademlia).
    pub fn owner(&self, key: RingId) -> (RingId, PeerIdx) {
        match self.xor_bits {
            None => self.members.successor(key).expect("the ring has a member"),
            Some(_) => self.closest(key, 1)[0],
        }
    }

    /// Whether peer `idx` is a member: O(1), where [`Oracle::find`] searches the ring.
    pub fn is_member(&self, idx: PeerIdx) -> bool {
        let i = idx.0 as usize;
        self.member_bits.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// The address of the live peer with ID `id`.
    pub fn find(&self, id: RingId) -> Option<PeerIdx> {
        self.members.get(id)
    }

    /// A live peer chosen uniformly.
    pub fn random_live(&self, rng: &mut Rng) -> (RingId, PeerIdx) {
        let i = rng.random_range(0..self.members.len() as u64) as usize;
        self.members.nth(i)
    }

    /// A live peer (member or joining) chosen uniformly: the draw depends only on who is alive,
    /// which churn alone decides.
    pub fn random_alive(&self, rng: &mut Rng) -> (RingId, PeerIdx) {
        let i = rng.random_range(0..self.alive.len() as u64) as usize;
        self.alive.nth(i)
    }

    /// Whether a live peer (member or joining) has ID `id`.
    pub fn is_alive_id(&self, id: RingId) -> bool {
        self.alive.get(id).is_some()
    }

    /// Number of live peers, members or joining.
    pub fn alive_count(&self) -> usize {
        self.alive.len()
    }

    /// Adds a live peer that has started joining.
    pub fn add_alive(&mut self, id: RingId, idx: PeerIdx) {
        self.alive.insert(id, idx);
    }

    /// Removes a departed peer from the live peers (and from the members).
    pub fn remove_alive(&mut self, id: RingId) {
        self.alive.remove(id);
        self.remove(id);
    }

    /// Records that `key` has been stored in the DHT.
    pub fn note_stored(&mut self, key: RingId) {
        self.stored.insert(key);
    }

    /// Every key ever stored, ascending.
    pub fn stored_keys(&self) -> impl Iterator<Item = RingId> + '_ {
        self.stored.iter().copied()
    }

    /// Adds a member (a peer that has joined the ring).
    pub fn insert(&mut self, id: RingId, idx: PeerIdx) {
        self.members.insert(id, idx);
        set_bit(&mut self.member_bits, idx);
    }

    /// Removes a member; returns whether it was one.
    pub fn remove(&mut self, id: RingId) -> bool {
        let Some(idx) = self.members.get(id) else { return false };
        let i = idx.0 as usize;
        self.member_bits[i / 64] &= !(1 << (i % 64));
        self.members.remove(id)
    }

    /// Whether `key` has ever been stored.
    pub fn is_stored(&self, key: RingId) -> bool {
        self.stored.contains(&key)
    }
}

/// One bit per address, set for the addresses of `members`.
fn bits_of(members: &[(RingId, PeerIdx)]) -> Vec<u64> {
    let mut bits = Vec::new();
    for &(_, idx) in members {
        set_bit(&mut bits, idx);
    }
    bits
}

/// Sets the bit of address `idx`, growing `bits` to hold it.
fn set_bit(bits: &mut Vec<u64>, idx: PeerIdx) {
    let i = idx.0 as usize;
    if bits.len() <= i / 64 {
        bits.resize(i / 64 + 1, 0);
    }
    bits[i / 64] |= 1 << (i % 64);
}
