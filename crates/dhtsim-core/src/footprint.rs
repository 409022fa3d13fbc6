//! How much memory a run will hold, estimated from its configuration before it starts, so that
//! a run too big for the machine is refused up front instead of being killed half-way.
//!
//! The model counts the structures that grow with the scenario: one `Peer` (with its successor
//! list, fingers and cache on the heap) and one record per ring node ever created, one record
//! per lookup when records are kept (operation state only while a lookup is in flight), the
//! stored entries, and the pending timers. Sizes come from `size_of`, so the
//! estimate follows the code; allocator overhead is a flat 25 % on heap-allocated parts.
//! docs/performance.md compares it with measured peak memory.

use crate::churn::{Arrivals, ChurnModel};
use crate::config::{Bootstrap, Config, Population};
use crate::metrics::{LookupRecord, PeerRecord};
use crate::protocol::{Peer, PeerIdx, PeerRef};
use crate::ring::RingId;
use std::mem::size_of;

/// The estimate, by part, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Ring nodes ever created (bootstrap and joiners).
    pub nodes: u64,
    /// Peer state, peer records, the oracle and the per-node vectors.
    pub peers: u64,
    /// Lookup records and operation state (and recorded paths).
    pub lookups: u64,
    /// The part of `peers` and `lookups` that stays in the results once the run is over (peer
    /// and lookup records).
    pub results: u64,
    /// Stored entries, their copies and the oracle's set of stored keys.
    pub stored: u64,
    /// Pending events: periodic timers and messages in flight.
    pub queue: u64,
}

impl Footprint {
    /// Everything together.
    pub fn total(&self) -> u64 {
        self.peers + self.lookups + self.stored + self.queue
    }
}

/// Heap-allocated bytes including allocator overhead.
fn heap(bytes: f64) -> f64 {
    bytes * 1.25
}

/// Estimated peak memory of one run of `cfg`.
pub fn estimate(cfg: &Config) -> Footprint {
    let v = cfg.overlay.virtual_nodes.max(1) as f64;
    let initial = match &cfg.population {
        Population::Random(n) => *n as f64 * v,
        Population::Explicit(ids) => ids.len() as f64,
    };
    let span_ms = cfg.churn.stop.as_ms().saturating_sub(cfg.churn.start.as_ms()) as f64;
    let joiners = match &cfg.churn.model {
        ChurnModel::None => 0.0,
        ChurnModel::Sessions { session, arrivals, .. } => match arrivals {
            Arrivals::Steady => initial * span_ms / session.mean_ms(),
            Arrivals::Poisson { rate_per_ms } => rate_per_ms * span_ms,
        },
        ChurnModel::Poisson { join_rate_per_ms, .. } => join_rate_per_ms * span_ms,
        ChurnModel::Trace(events) => events.len() as f64,
    };
    let scripted = cfg.events.len() as f64;
    let nodes = initial + joiners + scripted;
    let live = initial.max(1.0);

    let r = cfg.overlay.successors as f64;
    let fingers = if cfg.overlay.fingers { live.log2().ceil() + 3.0 } else { 0.0 };
    let cache = cfg.overlay.cache_size as f64 * 40.0; // PeerRef + RingId + u64 counter
    let per_node = size_of::<Peer>() as f64
        + heap((r + fingers) * size_of::<PeerRef>() as f64 + cache)
        + size_of::<PeerRecord>() as f64
        + (size_of::<RingId>() + size_of::<PeerIdx>()) as f64 * 2.0 // members and alive lists
        + 1.0 + 4.0; // alive flag, host

    let window_ms = cfg.duration.as_ms().saturating_sub(cfg.warmup.as_ms()) as f64;
    let generated = match cfg.workload.per_peer_interval {
        Some(every) => live * window_ms / every.as_ms().max(1) as f64,
        None => cfg.workload.lookups as f64,
    };
    let lookups = generated + scripted;
    let hops = if cfg.overlay.fingers { live.log2() / 2.0 + 1.0 } else { live / 2.0 };
    let path = if cfg.record_paths { heap(hops * size_of::<RingId>() as f64) } else { 0.0 };
    // A record per lookup only when asked for; operation state only while in flight (the slot is
    // reused), at most about one per peer, plus every join at once when joins build the ring.
    let recorded = if cfg.record_lookups { lookups } else { 0.0 };
    let per_record = size_of::<LookupRecord>() as f64 + path;
    let in_flight =
        lookups.min(nodes) + if cfg.bootstrap == Bootstrap::Joins { initial } else { 0.0 };

    let copies = cfg.overlay.replication.max(1) as f64;
    // A B-tree entry (key + Vec header) and the holder list's own allocation, per copy; the
    // oracle's set and the workload's key list once.
    let stored = cfg.workload.files as f64 * (copies * heap(32.0 + 8.0 * 4.0) + heap(16.0) + 8.0);

    let timers = if cfg.overlay.maintenance.is_some() { 3.0 } else { 0.0 };
    let per_peer_lookup = if cfg.workload.per_peer_interval.is_some() { 1.0 } else { 0.0 };
    let queue = live * (timers + per_peer_lookup + 1.0) * crate::sim::EVENT_BYTES as f64;

    Footprint {
        nodes: nodes as u64,
        peers: (nodes * per_node) as u64,
        lookups: (recorded * per_record + in_flight * crate::sim::OP_BYTES as f64) as u64,
        results: (nodes * size_of::<PeerRecord>() as f64 + recorded * per_record) as u64,
        stored: stored as u64,
        queue: queue as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(peers: u64, lookups: u64, fingers: bool) -> Config {
        let mut cfg = Config::static_ring(peers, lookups);
        cfg.overlay.fingers = fingers;
        cfg
    }

    #[test]
    fn grows_with_peers_lookups_fingers_and_files() {
        let base = estimate(&cfg(10_000, 0, false));
        let double = estimate(&cfg(20_000, 0, false));
        assert_eq!(base.nodes, 10_000);
        assert!((double.peers as f64 / base.peers as f64 - 2.0).abs() < 0.01);
        // A few hundred bytes per peer on a static successor ring (docs/performance.md: 292).
        assert!((250..600).contains(&(base.total() / 10_000)), "{base:?}");
        assert!(estimate(&cfg(10_000, 0, true)).peers > base.peers);
        let with_lookups = estimate(&cfg(10_000, 1_000, false));
        assert!(with_lookups.lookups > 100_000 && with_lookups.results > base.results);
        // Without records, 10^7 lookups cost only their operation state while in flight.
        let mut streamed = cfg(10_000, 10_000_000, false);
        streamed.record_lookups = false;
        let streamed = estimate(&streamed);
        assert!(streamed.lookups < 10_000 * crate::sim::OP_BYTES as u64 + 1);
        assert_eq!(streamed.results, base.results);
        let mut files = cfg(10_000, 0, false);
        files.workload.files = 100_000;
        assert!(estimate(&files).stored > 5_000_000);
    }
}
