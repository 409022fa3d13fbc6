//! The learned shortcut cache (SPEC §2, from the lecture): peers that answered this peer as
//! owners, with the key range each reported, least recently used evicted.
//!
//! A plain vector scanned in insertion order: caches are small (tens of entries), and a linear
//! scan is deterministic and cache-friendly.

use crate::protocol::{PeerIdx, PeerRef};
use crate::ring::{IdSpace, RingId};

/// A learned shortcut: a peer that answered as owner of the range (from, peer].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Shortcut {
    peer: PeerRef,
    from: RingId,
    /// Value of the cache's use counter when this entry was last stored or used.
    used: u64,
}

/// At most `capacity` shortcuts (the capacity is passed in, so an empty cache costs nothing).
#[derive(Clone, Debug, Default, Hash)]
pub struct ShortcutCache {
    entries: Vec<Shortcut>,
    uses: u64,
}

impl ShortcutCache {
    fn tick(&mut self) -> u64 {
        self.uses += 1;
        self.uses
    }

    /// Remembers that `peer` owns (from, peer], evicting the least recently used entry if full.
    pub fn remember(&mut self, peer: PeerRef, from: RingId, capacity: usize) {
        if capacity == 0 {
            return;
        }
        let used = self.tick();
        if let Some(e) = self.entries.iter_mut().find(|e| e.peer.idx == peer.idx) {
            *e = Shortcut { peer, from, used };
            return;
        }
        if self.entries.len() >= capacity
            && let Some((i, _)) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.used)
        {
            self.entries.swap_remove(i);
        }
        self.entries.push(Shortcut { peer, from, used });
    }

    /// The cached peer whose remembered range holds `key` (the one closest clockwise from the key
    /// if stale entries overlap), with the start of that range, marked as used.
    pub fn covering(&mut self, space: IdSpace, key: RingId) -> Option<(PeerRef, RingId)> {
        let i = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| space.in_open_closed(key, e.from, e.peer.id))
            .min_by_key(|(_, e)| space.dist(key, e.peer.id))?
            .0;
        let used = self.tick();
        self.entries[i].used = used;
        Some((self.entries[i].peer, self.entries[i].from))
    }

    /// Marks the entry of `idx`, if any, as just used.
    pub fn mark_used(&mut self, idx: PeerIdx) {
        if let Some(i) = self.entries.iter().position(|e| e.peer.idx == idx) {
            let used = self.tick();
            self.entries[i].used = used;
        }
    }

    /// Drops the entry of a peer found dead.
    pub fn remove(&mut self, idx: PeerIdx) {
        self.entries.retain(|e| e.peer.idx != idx);
    }

    /// The cached peers, in insertion order.
    pub fn peers(&self) -> impl Iterator<Item = PeerRef> + '_ {
        self.entries.iter().map(|e| e.peer)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
