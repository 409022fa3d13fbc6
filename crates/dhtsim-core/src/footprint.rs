//! How much memory a run will hold, estimated from its configuration before it starts, so that
//! a run too big for the machine is refused up front instead of being killed half-way.
//!
//! The model counts the structures that grow with the scenario: one `Peer` (with its successor
//! list, fingers and cache on the heap) and one record per ring node ever created, one record
//! per lookup when records are kept (operation state only while a lookup is in flight; the key,
//! start and owner of about one consistency window of lookups always), the
//! stored entries (B-tree nodes and holder lists), the pending events, and what a ring-health
//! sample builds while it checks the ring. Sizes come from `size_of`, so the estimate follows
//! the code. Each heap block is counted as glibc's allocator takes it (an 8-byte header,
//! rounded up to 16 bytes, at least 32), a vector grown by pushes at its power-of-two capacity,
//! and a block too large for the heap at its length only (pages never written are not
//! resident). The edge (`dhtsim::memory`) adds what a whole sweep holds besides: the binary,
//! every run's specification and results, and the result files. docs/performance.md compares
//! the estimate with the measured peak.

use crate::chord::Peer;
use crate::churn::{Arrivals, ChurnModel};
use crate::config::{Bootstrap, Config, KeyDist, Latency, Population, ProtocolKind};
use crate::kademlia::Node;
use crate::metrics::{ConsistencyCounter, LookupRecord, PeerRecord, Sample, Snapshot};
use crate::protocol::{PeerIdx, PeerRef};
use crate::ring::RingId;
use std::mem::size_of;

/// The estimate, by part, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Ring nodes ever created (bootstrap and joiners).
    pub nodes: u64,
    /// Lookup records kept for `lookups.csv` (0 unless the run keeps records).
    pub records: u64,
    /// Peer state, peer records, the oracle and the per-node vectors.
    pub peers: u64,
    /// Lookup records and operation state (and recorded paths), and the key, start and owner
    /// of the lookups the consistency count holds.
    pub lookups: u64,
    /// What stays in the results once the run is over: the peer and lookup records (counted
    /// within `peers` and `lookups`) and `measured`.
    pub results: u64,
    /// Stored entries, their copies and the oracle's set of stored keys.
    pub stored: u64,
    /// Pending events (periodic timers, messages in flight) and the engine's wheel.
    pub queue: u64,
    /// Samples, snapshots, the load and the hop histogram (all kept in the results).
    pub measured: u64,
    /// What a ring-health sample builds while it checks the ring (only with samples).
    pub sampling: u64,
    /// A swarm's peers: their pieces, connections, rarest-first counts and transfers.
    pub swarm: u64,
    /// The part of the working state held in blocks large enough to be mapped on their own
    /// (the peer table, the event slab, the wheel): given back to the system when a lone run
    /// ends, so that what is built after it can reuse the memory.
    pub large: u64,
}

impl Footprint {
    /// Everything together.
    pub fn total(&self) -> u64 {
        // Saturating: an absurd config must give an absurd estimate, not wrap around.
        [
            self.peers,
            self.lookups,
            self.stored,
            self.queue,
            self.measured,
            self.sampling,
            self.swarm,
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    /// What the run holds only while it runs (everything but its results).
    pub fn working(&self) -> u64 {
        self.total().saturating_sub(self.results)
    }
}

/// A heap block at least this large is mapped on its own (glibc's default threshold): it costs
/// its length, not a rounded size, and the capacity it never writes stays out of memory.
const LARGE: f64 = 128.0 * 1024.0;

/// `bytes` if a block that size is mapped on its own, else 0.
fn mapped(bytes: f64) -> f64 {
    if bytes >= LARGE { bytes } else { 0.0 }
}

/// Bytes the allocator takes for a block of `bytes`.
pub fn block(bytes: f64) -> f64 {
    if bytes <= 0.0 {
        0.0
    } else if bytes >= LARGE {
        bytes
    } else {
        (((bytes + 8.0) / 16.0).ceil() * 16.0).max(32.0)
    }
}

/// Bytes of a vector of `len` elements of `elem` bytes grown by pushes: capacity 4 first, then
/// doubled, so a small one takes its next power of two; a large one only the part written.
pub fn grown(len: f64, elem: usize) -> f64 {
    if len <= 0.0 {
        return 0.0;
    }
    let written = len * elem as f64;
    if written >= LARGE {
        return written;
    }
    let capacity =
        (len.ceil() as u64).max(4).checked_next_power_of_two().unwrap_or(u64::MAX) as f64;
    block(capacity * elem as f64)
}

/// Expected number of distinct values among `draws` drawn uniformly from `range` values.
pub fn distinct(range: f64, draws: f64) -> f64 {
    if range <= 0.0 { 0.0 } else { range * (1.0 - libm::exp(-draws / range)) }
}

/// Entries of a B-tree node (`std`'s `BTreeMap` keeps up to 11 per node).
const BTREE_CAPACITY: f64 = 11.0;
/// Entries per node of a B-tree grown by inserts in random order, internal nodes included
/// (about 52 bytes per stored entry measured at 100 entries per peer).
const BTREE_FILL: f64 = 7.3;

/// Bytes of one leaf node of a B-tree with `key` and `value` bytes per entry.
fn btree_node(key: usize, value: usize) -> f64 {
    // Parent pointer, parent index and length, keys and values; aligned to 8.
    let bytes = 12 + BTREE_CAPACITY as usize * (key + value);
    block(bytes.next_multiple_of(8) as f64)
}

/// Expected bytes of `maps` B-trees holding `entries` entries in all, spread at random.
fn btrees(maps: f64, entries: f64, key: usize, value: usize) -> f64 {
    if maps <= 0.0 || entries <= 0.0 {
        return 0.0;
    }
    let per_map = entries / maps;
    // One node for a map that holds anything, one more per BTREE_FILL entries beyond the first.
    let more = maps * (per_map - BTREE_CAPACITY).max(0.0) / BTREE_FILL;
    (distinct(maps, entries) + more) * btree_node(key, value)
}

/// Live peers at bootstrap (ring nodes, with virtual nodes).
pub(crate) fn initial_nodes(cfg: &Config) -> f64 {
    let v = cfg.overlay.virtual_nodes.max(1) as f64;
    match &cfg.population {
        Population::Random(n) => *n as f64 * v,
        Population::Explicit(ids) => ids.len() as f64,
    }
}

/// Peers whose state a run of `cfg` builds, when it builds a static ring's peers on first touch
/// (Chord without maintenance, `sim::peers`): the origins and receivers of its lookups and the
/// holders of its files, drawn about uniformly. `None` when every peer is built at time zero.
pub fn built_on_touch(cfg: &Config) -> Option<f64> {
    if cfg.overlay.protocol != ProtocolKind::Chord || !crate::sim::builds_on_touch(cfg) {
        return None;
    }
    let live = initial_nodes(cfg);
    let visits = lookups_started(cfg) * (mean_hops(cfg) + 1.0);
    let holders = cfg.workload.files as f64 * cfg.overlay.replication.max(1) as f64;
    Some(distinct(live, visits + holders))
}

/// Distinct fingers of a peer on a ring of `live` members with `bits`-bit IDs: about
/// log2(live) + 1/3 (the first fingers all point to the successor).
fn distinct_fingers(live: f64, bits: u32) -> f64 {
    (live.max(2.0).log2() + 1.0 / 3.0).min(bits as f64)
}

/// Contacts in a converged Kademlia table of a network of `live` peers: bucket m - j holds
/// min(k, peers in its range), about `live / 2^j`. With x = live / k, the floor(log2 x)
/// farthest buckets are full (k each); the nearer ones hold about half of the one before, which
/// sums to k·x / 2^floor(log2 x) (between k and 2k). Every other peer when there are at most
/// k + 1.
pub fn kademlia_contacts(live: f64, k: u32) -> f64 {
    let k = k.max(1) as f64;
    if live <= k + 1.0 {
        return (live - 1.0).max(0.0);
    }
    let x = live / k;
    let full = x.log2().floor();
    k * (full + x / full.exp2())
}

/// Mean hops of a lookup, roughly: half of log2 N with fingers, N / 2r along the ring (N / 2
/// when only the first successor routes). Used for the size of paths and of result columns.
pub fn mean_hops(cfg: &Config) -> f64 {
    let live = initial_nodes(cfg).max(1.0);
    // Kademlia: 2.8 to 3.7 hops at 65,536 peers (kademlia-vs-chord), but a lookup lasts about
    // as many rounds of messages as Chord's hops.
    if cfg.overlay.fingers || cfg.overlay.protocol == ProtocolKind::Kademlia {
        live.log2() / 2.0 + 1.0
    } else if cfg.overlay.route_via_successors {
        live / (2.0 * cfg.overlay.successors.max(1) as f64) + 1.0
    } else {
        live / 2.0 + 1.0
    }
}

/// Mean one-way message latency, ms.
pub fn mean_latency_ms(cfg: &Config) -> f64 {
    match cfg.network.latency {
        Latency::Constant(d) => d.as_ms() as f64,
        Latency::Uniform { min, max } => (min.as_ms() + max.as_ms()) as f64 / 2.0,
        // Two points drawn uniformly in a unit square are 0.5214 apart on average
        // ((2 + √2 + 5·ln(1 + √2)) / 15), and each end adds a mean access delay.
        Latency::Plane(p) => {
            0.521_405 * p.side.as_ms() as f64
                + (p.access_min.as_ms() + p.access_max.as_ms()) as f64
                + p.jitter.as_ms() as f64 / 2.0
        }
        Latency::Matrix(ref m) => m.mean_one_way_ms(),
    }
}

/// Lookups the run starts (generated and scripted).
pub fn lookups_started(cfg: &Config) -> f64 {
    let live = initial_nodes(cfg).max(1.0);
    let window_ms = cfg.duration.as_ms().saturating_sub(cfg.warmup.as_ms()) as f64;
    let generated = match cfg.workload.per_peer_interval {
        Some(every) => live * window_ms / every.as_ms().max(1) as f64,
        None => cfg.workload.lookups as f64,
    };
    generated + cfg.events.len() as f64
}

/// Ring nodes that join during the run (churn and scripted joins).
pub fn joiners(cfg: &Config) -> f64 {
    let initial = initial_nodes(cfg);
    let span_ms = cfg.churn.stop.as_ms().saturating_sub(cfg.churn.start.as_ms()) as f64;
    let churn = match &cfg.churn.model {
        ChurnModel::None => 0.0,
        ChurnModel::Sessions { session, arrivals, .. } => match arrivals {
            Arrivals::Steady => initial * span_ms / session.mean_ms(),
            Arrivals::Poisson { rate_per_ms } => rate_per_ms * span_ms,
        },
        ChurnModel::Poisson { join_rate_per_ms, .. } => join_rate_per_ms * span_ms,
        ChurnModel::Trace(events) => events.len() as f64,
    };
    churn + cfg.events.len() as f64
}

/// Ring nodes that leave or crash during the run (churn, a mass failure, scripted departures).
pub fn departures(cfg: &Config) -> f64 {
    let initial = initial_nodes(cfg);
    let span_ms = cfg.churn.stop.as_ms().saturating_sub(cfg.churn.start.as_ms()) as f64;
    let churn = match &cfg.churn.model {
        ChurnModel::None => 0.0,
        ChurnModel::Sessions { session, .. } => initial * span_ms / session.mean_ms(),
        ChurnModel::Poisson { leave_rate_per_ms, .. } => leave_rate_per_ms * span_ms,
        ChurnModel::Trace(events) => {
            events.iter().filter(|e| e.kind != crate::churn::TraceKind::Join).count() as f64
        }
    };
    let failed = cfg.churn.mass_failure.map_or(0.0, |m| m.fraction * initial);
    (churn + failed + cfg.events.len() as f64).min(initial + joiners(cfg))
}

/// How long a lookup takes, ms: a message per hop and the answer.
fn lookup_ms(cfg: &Config) -> f64 {
    (mean_hops(cfg) + 1.0) * mean_latency_ms(cfg).max(1.0)
}

/// Lookups in flight at once, on average: the rate at which they start times how long one
/// takes, at least one.
fn lookups_in_flight(cfg: &Config) -> f64 {
    let lookups = lookups_started(cfg);
    let window_ms = cfg.duration.as_ms().saturating_sub(cfg.warmup.as_ms()).max(1) as f64;
    (lookups / window_ms * lookup_ms(cfg)).clamp(lookups.min(1.0), lookups)
}

/// Estimated peak memory of one run of `cfg`.
pub fn estimate(cfg: &Config) -> Footprint {
    let initial = initial_nodes(cfg);
    let joined = joiners(cfg);
    let nodes = initial + joined;
    let live = initial.max(1.0);
    let bits = cfg.space.bits();
    let churn = !matches!(cfg.churn.model, ChurnModel::None);
    let maintained = cfg.overlay.maintenance.is_some();
    let duration_ms = cfg.duration.as_ms() as f64;

    // Kademlia: one block of contacts per peer (a joiner's table fills to about the same size
    // through its own lookup and refreshes), and no successor list.
    let kademlia = cfg.overlay.protocol == ProtocolKind::Kademlia;
    let contacts = if kademlia { kademlia_contacts(live, cfg.overlay.kademlia.k) } else { 0.0 };
    // A table keeps its contacts' IDs and addresses in two arrays.
    let table = if kademlia {
        block(contacts * size_of::<RingId>() as f64) + block(contacts * size_of::<PeerIdx>() as f64)
    } else {
        0.0
    };
    let state = if kademlia { size_of::<Node>() } else { size_of::<Peer>() };
    // Successor lists: inside the peer up to 4 entries (stabilization never makes one longer
    // than r), a block of their own beyond.
    let r = if kademlia { 0.0 } else { cfg.overlay.successors.max(1) as f64 };
    let succs = if r <= 4.0 { 0.0 } else { block(r * size_of::<PeerRef>() as f64) };
    // Fingers: exact at bootstrap; grown by inserts once the ring changes. Peers that join
    // set one finger per repair (round-robin from finger 0, the first ones all the successor).
    let full = if cfg.overlay.fingers { distinct_fingers(live, bits) } else { 0.0 };
    let finger = size_of::<PeerRef>();
    let fingers_at_bootstrap =
        if churn { grown(full, finger) } else { block(full * finger as f64) };
    let repaired = match cfg.overlay.maintenance {
        _ if !cfg.overlay.fingers => 0.0,
        // A joiner that looks up its table, or copies its successor's, holds about all of it.
        _ if cfg.overlay.fingers_at_join || cfg.overlay.finger_hints => full,
        Some(m) => {
            let repairs = (duration_ms / m.fix_finger.as_ms().max(1) as f64).min(bits as f64);
            entries_after(repairs, bits, full)
        }
        None => 1.0,
    };
    // Under churn joiners come all along the run, and the later or shorter-lived ones have
    // repaired fewer fingers.
    // (Those of `bootstrap = "joins"` join at time zero, and have the whole run.)
    let one_by_one =
        !cfg.overlay.fingers_at_join && !cfg.overlay.finger_hints && !cfg.overlay.fix_all_fingers;
    let fingers_of_joiner = grown(repaired, finger);
    let fingers_of_churn_joiner = match cfg.overlay.maintenance {
        Some(m) if cfg.overlay.fingers && one_by_one && churn => {
            joiner_fingers(cfg, live, full, m.fix_finger.as_ms())
        }
        _ => fingers_of_joiner,
    };
    let bootstrap_members = match cfg.bootstrap {
        Bootstrap::Ring => initial,
        Bootstrap::Joins => 1.0,
    };
    // Built on first touch: only the peers a lookup or a file reaches, their tables found in
    // the shared ring (an ID and a slot per peer) instead of stored.
    let touched = built_on_touch(cfg);
    let built = touched.map_or(nodes, |t| t + joined);
    let fingers = match touched {
        Some(_) => joined * fingers_of_churn_joiner,
        None => {
            bootstrap_members * fingers_at_bootstrap
                + (initial - bootstrap_members) * fingers_of_joiner
                + joined * fingers_of_churn_joiner
        }
    };
    let shared_ring = if touched.is_some() {
        initial * (size_of::<RingId>() + size_of::<u32>()) as f64
    } else {
        0.0
    };

    // Learned shortcuts: each answered lookup teaches its origin one entry (32 bytes), up to
    // the cache size per peer.
    let lookups = lookups_started(cfg);
    let cache = if cfg.overlay.cache_size > 0 && lookups > 0.0 {
        let per_origin = (lookups / live).max(1.0).min(cfg.overlay.cache_size as f64);
        lookups.min(live) * grown(per_origin, 32)
    } else {
        0.0
    };

    let per_built = state as f64 + succs + table;
    let per_node = size_of::<PeerRecord>() as f64
        + 4.0 // physical peer
        + 1.0; // alive flag
    let oracle = live * 2.0 * size_of::<(RingId, PeerIdx)>() as f64; // members and live peers
    let hops = mean_hops(cfg);
    let join_paths = if cfg.record_paths { joined * grown(hops + 1.0, 8) } else { 0.0 };
    let peer_results = nodes * size_of::<PeerRecord>() as f64 + join_paths;
    // With a topology, unreachable hosts or classes of links, each host's place, drawn as the
    // run reaches it; with proximity route selection, a copy of them and each node's host.
    let hosts = nodes / cfg.overlay.virtual_nodes.max(1) as f64;
    let place = grown(hosts, size_of::<crate::network::Place>());
    let placed = cfg.network.latency.has_topology()
        || cfg.network.unreachable > 0.0
        || !cfg.network.links.is_empty();
    let matrix = match cfg.network.latency {
        Latency::Matrix(ref m) => 4.0 * (m.hosts as f64).powi(2),
        _ => 0.0,
    };
    let routing = cfg.overlay.kademlia.proximity_routing
        && cfg.overlay.protocol == crate::config::ProtocolKind::Kademlia;
    let places =
        if placed { place } else { 0.0 } + matrix + if routing { place + 4.0 * nodes } else { 0.0 };
    let peers = nodes * per_node
        + built * per_built
        + shared_ring
        + fingers
        + cache
        + oracle
        + join_paths
        + places;

    // A record per lookup only when asked for (its holders when keys are stored, its path when
    // paths are recorded); operation state only while in flight (the slot is reused), plus
    // every join at once when joins build the ring.
    let recorded = if cfg.record_lookups { lookups } else { 0.0 };
    let stored_keys = cfg.workload.files > 0
        && matches!(cfg.workload.keys, KeyDist::Stored | KeyDist::Zipf { .. });
    let per_record = if stored_keys { block(8.0) } else { 0.0 }
        + if cfg.record_paths { grown(hops + 1.0, size_of::<RingId>()) } else { 0.0 };
    let records = grown(recorded, size_of::<LookupRecord>()) + recorded * per_record;
    let joins_at_once = if cfg.bootstrap == Bootstrap::Joins { initial } else { 0.0 };
    let in_flight = lookups_in_flight(cfg);
    let ops = (in_flight + joins_at_once) * crate::sim::OP_BYTES as f64;
    // Key, start and owner of the answered lookups the consistency count holds, records or
    // not: those started within about a window and two lookup durations, twice over as the
    // vector doubles between counts, at least a batch (all of them in a short run).
    let per_ms = lookups / cfg.duration.as_ms().saturating_sub(cfg.warmup.as_ms()).max(1) as f64;
    let span_ms = cfg.workload.consistency_window.as_ms() as f64 + 2.0 * lookup_ms(cfg);
    let held = (2.0 * per_ms * span_ms).max(ConsistencyCounter::BATCH as f64).min(lookups);
    let owner_answers = grown(held, crate::sim::OWNER_ANSWER_BYTES);

    // Stored entries: each copy is an entry in its holder's B-tree with a holder list (capacity
    // 4); the oracle's set of stored keys and the workload's key list once per file, and the
    // (key, holder) list that publishing walks, alive while the trees are built. Every join and
    // departure hands a peer's share over to another peer, and the one that left keeps its own.
    let files = cfg.workload.files as f64;
    let copies = (cfg.overlay.replication.max(1) as f64).min(live);
    let entries = files * copies;
    let departed = departures(cfg);
    let handed = entries / live * (joined + departed);
    let stored =
        btrees(live + joined, entries + handed, size_of::<RingId>(), size_of::<Vec<RingId>>())
            + entries * grown(1.0, size_of::<RingId>())
            + handed * block(size_of::<RingId>() as f64)
            + files * (btree_node(size_of::<RingId>(), 0) / BTREE_CAPACITY + 8.0 + 16.0);

    // Pending events: a slot each (the event aligned to a cache line, and its free-list entry),
    // per live peer its periodic timers and about one maintenance message, its next lookup
    // with per-peer lookups, its departure with session churn; a message per lookup and join
    // in flight; plus the wheel's buckets.
    let slot = ((crate::sim::EVENT_BYTES - 24 + 4).next_multiple_of(64) + 4) as f64;
    let timers = if maintained { 4.0 } else { 0.0 };
    let per_peer_lookup = if cfg.workload.per_peer_interval.is_some() { 1.0 } else { 0.0 };
    let departure = if matches!(cfg.churn.model, ChurnModel::Sessions { .. }) { 1.0 } else { 0.0 };
    let wheel = crate::engine::WHEEL_MS as f64 * 8.0;
    let events = live * (timers + per_peer_lookup + departure) + in_flight + joins_at_once;
    let queue = events * slot + wheel;
    // Of these, the peer table, the per-node vectors, the slab, the wheel, the operation slots
    // and the per-file lists are single large blocks.
    let large = mapped(built * state as f64)
        + mapped(shared_ring)
        + mapped(nodes * 5.0)
        + mapped(events * slot)
        + wheel
        + mapped(ops)
        + mapped(files * 24.0);

    // Results besides the records: samples, snapshots (members and pointers), the load per
    // physical peer and the histograms of hops and of timeouts.
    let samples = match cfg.sample {
        Some(every) => duration_ms / every.as_ms().max(1) as f64,
        None => 0.0,
    };
    // Pointers between live members: the successor list and the fingers set so far.
    let mean_fingers = (bootstrap_members * full + (nodes - bootstrap_members) * repaired) / nodes;
    let edges = live * (r + mean_fingers + contacts);
    let snapshots =
        cfg.snapshots.len() as f64 * (size_of::<Snapshot>() as f64 + live * 24.0 + edges * 32.0);
    let load = if files > 0.0 { live / cfg.overlay.virtual_nodes.max(1) as f64 * 4.0 } else { 0.0 };
    let hop_range =
        if cfg.overlay.fingers || kademlia { 2.0 * live.log2() + 4.0 } else { live + 16.0 };
    let histogram = grown(hop_range.min(lookups + 1.0), 8);
    let other_results =
        grown(samples, size_of::<Sample>()) + snapshots + load + histogram + grown(8.0, 8);

    // A sample checks the ring: per member its position, successor, flags and the overlay
    // graph (successor-list and finger edges, a 4-byte target each), and the keys held.
    let sampling =
        if samples > 0.0 { live * 64.0 + edges * 4.0 + nodes * 8.0 + entries * 8.0 } else { 0.0 };

    let swarm = cfg.swarm.as_ref().map_or(0.0, |s| swarm_bytes(cfg, s));

    Footprint {
        swarm: swarm as u64,
        nodes: nodes as u64,
        records: recorded as u64,
        peers: peers as u64,
        lookups: (records + ops + owner_answers) as u64,
        results: (peer_results + records + other_results) as u64,
        stored: stored as u64,
        queue: queue as u64,
        measured: other_results as u64,
        sampling: sampling as u64,
        large: large as u64,
    }
}

/// Distinct entries of a table of m = `bits` fingers after `repairs` (at least one) repairs,
/// round-robin from finger 0, on a ring where a full table has `full`: the first m - `full`
/// repairs all find the successor.
fn entries_after(repairs: f64, bits: u32, full: f64) -> f64 {
    (repairs - (bits as f64 - full)).clamp(1.0, full)
}

/// Expected bytes of the finger table a peer that joins during the run holds at its end, when
/// its fingers are set one per repair (every `fix_ms`, round-robin from finger 0): after k
/// repairs (k >= 1) it holds k - (m - `full`) distinct entries, at least one (the near fingers
/// are all its successor), at most `full`, in a vector grown by pushes. Joins come evenly over
/// the churn span; a joiner stays until the end or until it departs, at the churn model's
/// departure rate per live peer (exponential lifetimes: the mean session, `live` / the Poisson
/// leave rate, or a trace's departures per live peer and ms). A departed peer keeps its table.
fn joiner_fingers(cfg: &Config, live: f64, full: f64, fix_ms: u64) -> f64 {
    let bits = cfg.space.bits() as usize;
    let fix = fix_ms.max(1) as f64;
    let entries = |k: usize| if k == 0 { 0.0 } else { entries_after(k as f64, bits as u32, full) };
    let start = cfg.churn.start.as_ms() as f64;
    let stop = (cfg.churn.stop.as_ms() as f64).min(cfg.duration.as_ms() as f64).max(start);
    let end = cfg.duration.as_ms() as f64;
    let span = cfg.churn.stop.as_ms().saturating_sub(cfg.churn.start.as_ms()).max(1) as f64;
    let mean_life = match &cfg.churn.model {
        ChurnModel::Sessions { session, .. } => session.mean_ms(),
        ChurnModel::Poisson { leave_rate_per_ms, .. } => live / leave_rate_per_ms,
        ChurnModel::Trace(events) => {
            let leaves = events.iter().filter(|e| e.kind != crate::churn::TraceKind::Join);
            live * span / leaves.count() as f64
        }
        ChurnModel::None => f64::INFINITY,
    };
    // P(still here x ms after joining), for a joiner that has `left` ms of the run ahead (1
    // when nothing departs: x / ∞ = 0).
    let survives = |x: f64, left: f64| if x > left { 0.0 } else { libm::exp(-x / mean_life) };
    const STEPS: usize = 64;
    let mut total = 0.0;
    for i in 0..STEPS {
        let joined = start + (stop - start) * (i as f64 + 0.5) / STEPS as f64;
        let left = end - joined;
        // k repairs exactly: here at k repairs and not at k + 1 (or every finger repaired).
        for k in 0..=bits {
            let here = survives(k as f64 * fix, left);
            let next = if k == bits { 0.0 } else { survives((k + 1) as f64 * fix, left) };
            total += (here - next) * grown(entries(k), size_of::<PeerRef>());
        }
    }
    total / STEPS as f64
}

/// Bytes a swarm's peers hold at the peak: per peer that ever joins (a departed peer keeps its
/// slot and record) about 9.7 KB (its connections to about 60 neighbours at 64 bytes a pair,
/// its links, unchokers, candidates and record) and 9 bytes per piece (the rarest-first
/// count, the bitfields, the pieces it announced recently, and the copy the count table makes
/// while it grows). Fitted to the peak RSS of bench-swarm at 1,000 to 10^5 leechers and 100 to
/// 1,000 pieces (docs/performance.md). With Kademlia discovery, each peer of a flash crowd
/// gathers every holder from each of the k closest at once: 64 bytes per peer squared, as
/// values held, values in flight and the events that wait meanwhile (96 MB measured with 1,000
/// leechers).
fn swarm_bytes(cfg: &Config, s: &crate::swarm::SwarmConfig) -> f64 {
    let arriving = s.arrivals_per_s * s.arrivals_until.min(cfg.duration).as_ms() as f64 / 1000.0;
    let peers = s.seeders as f64 + s.flash_crowd as f64 + arriving;
    let gathering = cfg.overlay.protocol == ProtocolKind::Kademlia
        && s.discovery != crate::swarm::Discovery::Tracker;
    let crowd = (s.flash_crowd + s.seeders) as f64;
    peers * (9_700.0 + 9.0 * s.pieces as f64) + if gathering { 64.0 * crowd * crowd } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A static ring whose peers are all built at time zero (checked after every event, which
    /// needs them all).
    fn cfg(peers: u64, lookups: u64, fingers: bool) -> Config {
        let mut cfg = Config::static_ring(peers, lookups);
        cfg.overlay.fingers = fingers;
        cfg.check_every_event = true;
        cfg
    }

    #[test]
    fn a_static_ring_built_on_touch_holds_the_peers_its_lookups_reach() {
        let mut ten_million = cfg(10_000_000, 100_000, true);
        ten_million.check_every_event = false;
        ten_million.record_lookups = false;
        // Measured (bench-fingers, docs/performance.md): 1,210,946 peers built, 1.77 GB peak.
        let built = built_on_touch(&ten_million).expect("built on touch");
        assert!((1.1e6..1.4e6).contains(&built), "{built}");
        let bytes = estimate(&ten_million).total() as f64;
        assert!((1.5e9..2.1e9).contains(&bytes), "{bytes}");
        assert_eq!(built_on_touch(&cfg(1000, 10, true)), None);
    }

    #[test]
    fn allocator_blocks_and_grown_vectors() {
        assert_eq!(block(0.0), 0.0);
        assert_eq!(block(1.0), 32.0);
        assert_eq!(block(32.0), 48.0);
        assert_eq!(block(1e6), 1e6);
        // Ten 128-byte records: capacity 16.
        assert_eq!(grown(10.0, 128), block(16.0 * 128.0));
        assert_eq!(grown(1.0, 8), block(32.0));
        assert_eq!(grown(1e6, 128), 128e6);
    }

    #[test]
    fn grows_with_peers_lookups_fingers_and_files() {
        let base = estimate(&cfg(10_000, 0, false));
        let double = estimate(&cfg(20_000, 0, false));
        assert_eq!(base.nodes, 10_000);
        assert!((double.peers as f64 / base.peers as f64 - 2.0).abs() < 0.01);
        // A few hundred bytes per peer on a static successor ring (docs/performance.md).
        assert!((250..600).contains(&(base.total() / 10_000)), "{base:?}");
        assert!(estimate(&cfg(10_000, 0, true)).peers > base.peers);
        let with_lookups = estimate(&cfg(10_000, 1_000, false));
        assert_eq!(with_lookups.records, 1_000);
        assert!(with_lookups.lookups > 100_000 && with_lookups.results > base.results);
        // Without records, 10^7 lookups cost only their operation state while in flight: 16.7
        // start per ms and each takes about 8.6 × 50 ms, so about 7,200 at once.
        let mut streamed = cfg(10_000, 10_000_000, true);
        streamed.record_lookups = false;
        let streamed = estimate(&streamed);
        assert_eq!(streamed.records, 0);
        // Besides, the consistency count holds a batch of answers (24 bytes each): 2 × (16.7
        // per ms × (1,000 ms + 2 × 430 ms)) = 62,000 is less than a batch.
        let answers = grown(ConsistencyCounter::BATCH as f64, crate::sim::OWNER_ANSWER_BYTES);
        assert_eq!(answers, 65_536.0 * 24.0);
        let ops = (streamed.lookups - answers as u64) / crate::sim::OP_BYTES as u64;
        assert!((7_000..7_400).contains(&ops), "{ops}");
        // With a 10 s window, 2 × 16.7 × (10,000 + 860) = 362,000 answers: 8.7 MB, not 1.6.
        let mut wide = cfg(10_000, 10_000_000, true);
        wide.record_lookups = false;
        wide.workload.consistency_window = crate::time::SimDuration(10_000);
        let more = estimate(&wide).lookups - streamed.lookups;
        assert!((6_900_000..7_300_000).contains(&more), "{more}");
        assert!(streamed.results < estimate(&cfg(10_000, 0, true)).results + 1_000);
        let mut files = cfg(10_000, 0, false);
        files.workload.files = 100_000;
        assert!(estimate(&files).stored > 5_000_000);
    }

    #[test]
    fn a_joiners_table_holds_the_fingers_its_lifetime_repaired() {
        use crate::churn::{ChurnConfig, SessionDist};
        use crate::time::SimTime;
        // 10^4 peers, 32-bit IDs (13.6 distinct fingers), a repair every 30 s: a full table
        // takes 32 repairs, 16 minutes.
        let mut cfg = cfg(10_000, 0, true);
        cfg.duration = SimTime(10 * 3_600_000);
        let full = distinct_fingers(10_000.0, 32);
        let table = |cfg: &Config| joiner_fingers(cfg, 10_000.0, full, 30_000);
        let churn = |model, stop_h: u64| ChurnConfig {
            model,
            start: SimTime::ZERO,
            stop: SimTime(stop_h * 3_600_000),
            mass_failure: None,
        };
        // Joins only, all over within the first hour of ten: every joiner has every finger.
        let joins = ChurnModel::Poisson {
            join_rate_per_ms: 1e-3,
            leave_rate_per_ms: 0.0,
            crash_fraction: 0.0,
        };
        cfg.churn = churn(joins.clone(), 1);
        assert_eq!(table(&cfg), grown(full, size_of::<PeerRef>()));
        // Joins until the end: those of the last 16 minutes have not repaired every finger.
        cfg.churn = churn(joins, 10);
        let until_end = table(&cfg);
        assert!(until_end < grown(full, size_of::<PeerRef>()), "{until_end}");
        // One-hour sessions (bench-churn) and ten-minute ones: shorter lives, smaller tables.
        let sessions = |minutes: f64| ChurnModel::Sessions {
            session: SessionDist::Exponential { mean_ms: minutes * 60_000.0 },
            arrivals: Arrivals::Steady,
            crash_fraction: 0.5,
        };
        cfg.churn = churn(sessions(60.0), 10);
        let hour = table(&cfg);
        cfg.churn = churn(sessions(10.0), 10);
        let ten_minutes = table(&cfg);
        assert!(ten_minutes < 0.6 * hour && hour < until_end, "{ten_minutes} {hour}");
        // Lifetimes are the sessions': churn that would go on past the end, a mass failure or
        // scripted events do not shorten them.
        cfg.churn = churn(sessions(60.0), 100);
        assert_eq!(table(&cfg), hour);
        cfg.churn = churn(sessions(60.0), 10);
        cfg.churn.mass_failure =
            Some(crate::churn::MassFailure { at: SimTime(3_600_000), fraction: 0.5 });
        assert_eq!(table(&cfg), hour);
        // Whole tables at once: as many entries as a ring of this size has fingers.
        cfg.overlay.maintenance = Some(crate::protocol::Maintenance {
            stabilize: crate::time::SimDuration(30_000),
            fix_finger: crate::time::SimDuration(30_000),
            check_predecessor: crate::time::SimDuration(30_000),
        });
        let one_by_one = estimate(&cfg).peers;
        cfg.overlay.fix_all_fingers = true;
        assert!(estimate(&cfg).peers > one_by_one);
    }

    #[test]
    fn fingers_about_log2_n() {
        // Measured: 271 bytes of fingers per peer at 10^5 peers (16.9 distinct fingers).
        let f = distinct_fingers(100_000.0, 32);
        assert!((f - 16.9).abs() < 0.2, "{f}");
        assert_eq!(distinct_fingers(1e9, 24), 24.0);
    }
}
