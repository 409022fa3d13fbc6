//! The global oracle: the true live ring, for measuring and checking only.
//!
//! Its members are the live peers that have joined the ring (a joining peer becomes a member
//! when it has a successor; a departing one stops being one at once).
//!
//! Knows every live peer and which keys have been stored. The simulation consults it to label a
//! lookup's outcome (did it end at the true owner?) and to pick workload origins among live
//! peers; protocols never see it, so it can never make routing look better than it is.

use crate::protocol::PeerIdx;
use crate::ring::{RingId, successor_index};
use crate::rng::Rng;
use rand::RngExt;
use std::collections::BTreeSet;

/// The true state of the network.
#[derive(Debug, Default)]
pub struct Oracle {
    /// Live peer IDs, strictly increasing.
    ids: Vec<RingId>,
    /// `idx[i]` is the address of the peer with ID `ids[i]`.
    idx: Vec<PeerIdx>,
    /// Keys that some store has placed in the DHT.
    stored: BTreeSet<RingId>,
    /// Every live peer, member or still joining, by ID: what the workload and the churn model
    /// draw from, so that their draws never depend on how fast routing lets peers join.
    alive: Vec<(RingId, PeerIdx)>,
}

impl Oracle {
    /// An oracle over the live peers `(id, address)`, which must have distinct IDs.
    pub fn new(mut peers: Vec<(RingId, PeerIdx)>) -> Self {
        peers.sort_unstable();
        debug_assert!(peers.windows(2).all(|w| w[0].0 < w[1].0), "duplicate peer IDs");
        let alive = peers.clone();
        let (ids, idx) = peers.into_iter().unzip();
        Oracle { ids, idx, stored: BTreeSet::new(), alive }
    }

    /// Number of live peers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no peer is alive.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Live peer IDs in increasing order.
    pub fn ids(&self) -> &[RingId] {
        &self.ids
    }

    /// The true owner of `key`: the first live peer clockwise from it, inclusive.
    pub fn owner(&self, key: RingId) -> (RingId, PeerIdx) {
        let i = successor_index(&self.ids, key);
        (self.ids[i], self.idx[i])
    }

    /// The address of the live peer with ID `id`.
    pub fn find(&self, id: RingId) -> Option<PeerIdx> {
        self.ids.binary_search(&id).ok().map(|i| self.idx[i])
    }

    /// A live peer chosen uniformly.
    pub fn random_live(&self, rng: &mut Rng) -> (RingId, PeerIdx) {
        let i = rng.random_range(0..self.ids.len() as u64) as usize;
        (self.ids[i], self.idx[i])
    }

    /// A live peer (member or joining) chosen uniformly: the draw depends only on who is alive,
    /// which churn alone decides.
    pub fn random_alive(&self, rng: &mut Rng) -> (RingId, PeerIdx) {
        let i = rng.random_range(0..self.alive.len() as u64) as usize;
        self.alive[i]
    }

    /// Whether a live peer (member or joining) has ID `id`.
    pub fn is_alive_id(&self, id: RingId) -> bool {
        self.alive.binary_search_by_key(&id, |&(x, _)| x).is_ok()
    }

    /// Number of live peers, members or joining.
    pub fn alive_count(&self) -> usize {
        self.alive.len()
    }

    /// Adds a live peer that has started joining.
    pub fn add_alive(&mut self, id: RingId, idx: PeerIdx) {
        let i = self.alive.partition_point(|&(x, _)| x < id);
        self.alive.insert(i, (id, idx));
    }

    /// Removes a departed peer from the live peers (and from the members).
    pub fn remove_alive(&mut self, id: RingId) {
        if let Ok(i) = self.alive.binary_search_by_key(&id, |&(x, _)| x) {
            self.alive.remove(i);
        }
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
        let i = self.ids.partition_point(|&x| x < id);
        debug_assert!(self.ids.get(i) != Some(&id), "duplicate member {id}");
        self.ids.insert(i, id);
        self.idx.insert(i, idx);
    }

    /// Removes a member; returns whether it was one.
    pub fn remove(&mut self, id: RingId) -> bool {
        match self.ids.binary_search(&id) {
            Ok(i) => {
                self.ids.remove(i);
                self.idx.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Whether `key` has ever been stored.
    pub fn is_stored(&self, key: RingId) -> bool {
        self.stored.contains(&key)
    }
}
