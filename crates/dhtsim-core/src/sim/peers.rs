//! The simulation's peer states, by address, built on first touch where the protocol allows it.
//!
//! A static ring of 10^7 peers with fingers holds about 870 bytes per peer when every peer's
//! state is built at time zero, and building the finger tables is a third of the run, yet
//! 100,000 lookups touch about a million of them. When nothing in the run changes a peer before a
//! message, a timer or a file reaches it (no maintenance timers, no joins forming the ring), and
//! the protocol can build one bootstrap peer on its own ([`Protocol::derive`]), the table keeps
//! only the ring's IDs and a slot per peer, and builds a peer's state the first time the run
//! touches it. The state built is the one `bootstrap` would have given it, and nothing reached it
//! before, so a run's results do not depend on which of the two ways the table works. A whole-table
//! inspection (a ring-health check, a snapshot, a test) builds every peer first.

use crate::protocol::{PeerIdx, PeerRef, Protocol};
use crate::ring::RingId;
use std::sync::Arc;

/// The slot of a peer whose state is not built yet.
const UNBUILT: u32 = u32::MAX;

/// The states of the run's peers, addressed by [`PeerIdx`].
pub(crate) struct PeerTable<P> {
    /// Built states. Dense: peer i's at position i. Lazy: in the order they were built.
    built: Vec<P>,
    /// Lazy only (empty when dense): the position in `built` of each peer's state, or
    /// [`UNBUILT`].
    slot: Vec<u32>,
    /// Lazy only: the IDs of the ring at time zero, ascending (peer i has `ring[i]`), shared
    /// with the protocol's settings ([`Protocol::share_ring`]).
    ring: Arc<[RingId]>,
}

impl<P: Protocol> PeerTable<P> {
    /// Every peer's state built already: peer i is `peers[i]`.
    pub(crate) fn dense(peers: Vec<P>) -> Self {
        PeerTable { built: peers, slot: Vec::new(), ring: Arc::new([]) }
    }

    /// The converged ring of the ascending `ids`, each peer built on first touch.
    pub(crate) fn lazy(ids: Arc<[RingId]>) -> Self {
        assert!(ids.len() < UNBUILT as usize, "fewer than 2^32 - 1 peers");
        PeerTable { built: Vec::new(), slot: vec![UNBUILT; ids.len()], ring: ids }
    }

    /// Whether peers are built on first touch.
    pub(crate) fn is_lazy(&self) -> bool {
        !self.slot.is_empty()
    }

    /// Peers ever created (built or not).
    pub(crate) fn len(&self) -> usize {
        if self.is_lazy() { self.slot.len() } else { self.built.len() }
    }

    /// Peer states built so far.
    pub(crate) fn built_count(&self) -> usize {
        self.built.len()
    }

    /// Address and ID of peer `idx`, without building it.
    #[inline]
    pub(crate) fn me(&self, idx: PeerIdx) -> PeerRef {
        let i = idx.0 as usize;
        match self.ring.get(i) {
            Some(&id) => PeerRef::new(idx, id),
            None => self.built[self.position(i).expect("a joiner is built")].me(),
        }
    }

    /// The state of peer `idx`, or `None` if it is not built yet: it is then exactly its
    /// bootstrap state (nothing has reached it).
    #[inline]
    pub(crate) fn get(&self, idx: PeerIdx) -> Option<&P> {
        self.position(idx.0 as usize).map(|s| &self.built[s])
    }

    /// The state of peer `idx` if it is built.
    pub(crate) fn get_built_mut(&mut self, idx: PeerIdx) -> Option<&mut P> {
        self.position(idx.0 as usize).map(|s| &mut self.built[s])
    }

    /// The state of peer `idx`, built now if it was not.
    #[inline]
    pub(crate) fn get_mut(&mut self, params: &P::Params, idx: PeerIdx) -> &mut P {
        let i = idx.0 as usize;
        if !self.is_lazy() {
            return &mut self.built[i];
        }
        if self.slot[i] == UNBUILT {
            self.slot[i] = self.built.len() as u32;
            self.built.push(P::derive(params, &self.ring, i));
        }
        &mut self.built[self.slot[i] as usize]
    }

    /// Adds a new peer, whose address is [`PeerTable::len`] before the call.
    pub(crate) fn push(&mut self, peer: P) {
        debug_assert_eq!(peer.me().idx.0 as usize, self.len());
        if self.is_lazy() {
            self.slot.push(self.built.len() as u32);
        }
        self.built.push(peer);
    }

    /// Every peer's state, peer i at position i, each on its own ([`Protocol::own_state`]):
    /// builds those not built yet, after which the table is dense.
    pub(crate) fn all(&mut self, params: &P::Params) -> &mut [P] {
        if self.is_lazy() {
            let mut built: Vec<Option<P>> =
                std::mem::take(&mut self.built).into_iter().map(Some).collect();
            let slot = std::mem::take(&mut self.slot);
            let ring = std::mem::replace(&mut self.ring, Arc::new([]));
            self.built = slot
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    let mut p = match s {
                        UNBUILT => P::derive(params, &ring, i),
                        s => built[s as usize].take().expect("each state has one slot"),
                    };
                    p.own_state(params);
                    p
                })
                .collect();
        }
        &mut self.built
    }

    /// Hints that peer `idx`'s state will be needed soon (see [`crate::engine::prefetch`]).
    #[inline]
    pub(crate) fn prefetch(&self, idx: PeerIdx) {
        if let Some(p) = self.get(idx) {
            crate::engine::prefetch(p);
        }
    }

    /// Hints that the state peer `idx` keeps on the heap will be needed soon
    /// ([`Protocol::prefetch_state`]); its own state should have been prefetched a while ago.
    #[inline]
    pub(crate) fn prefetch_state(&self, idx: PeerIdx, delivered: Option<&P::Message>) {
        if let Some(p) = self.get(idx) {
            p.prefetch_state(delivered);
        }
    }

    /// Position in `built` of peer `i`'s state, if it is built (and exists).
    #[inline]
    fn position(&self, i: usize) -> Option<usize> {
        match self.slot.get(i) {
            _ if !self.is_lazy() => (i < self.built.len()).then_some(i),
            Some(&s) if s != UNBUILT => Some(s as usize),
            _ => None,
        }
    }
}
