//! Whole runs: a static ring of random peers (32-bit IDs, successor-only routing: no fingers, no
//! cache, successor list of the default length 2 but only the first successor used), 10 000
//! lookups of uniform keys over 600 s, constant 50 ms latency, no warmup. Counts one item per
//! engine event, so divan's items/s is the simulator's events per second.
//!
//! Run with `cargo bench -p dhtsim-core --bench run`. Before the benchmarks it prints the sizes of
//! the per-peer and per-lookup structures to stderr.

use dhtsim_core::chord::{Message, Peer};
use dhtsim_core::config::Config;
use dhtsim_core::metrics::{LookupRecord, PeerRecord};
use dhtsim_core::protocol::{PeerIdx, PeerRef};
use dhtsim_core::ring::RingId;
use dhtsim_core::sim;
use divan::Bencher;
use divan::counter::ItemsCount;
use std::mem::size_of;

const SEED: u64 = 1;

/// Successor-list length (the scenario default).
const SUCCESSORS: u32 = 2;

fn main() {
    let oracle = size_of::<RingId>() + size_of::<PeerIdx>();
    // The successor list lives on the heap, outside `size_of::<Peer>()`.
    let succs = SUCCESSORS as usize * size_of::<PeerRef>();
    let per_peer = size_of::<Peer>() + succs + size_of::<PeerRecord>() + oracle;
    eprintln!(
        "sizes (bytes): Peer {} + successor list {succs} on the heap, PeerRecord {}, oracle \
         entry (RingId + PeerIdx) {}, total per peer {per_peer}; LookupRecord {}, Message {}",
        size_of::<Peer>(),
        size_of::<PeerRecord>(),
        oracle,
        size_of::<LookupRecord>(),
        size_of::<Message>(),
    );
    divan::main();
}

/// The static-ring scenario with `peers` peers.
fn config(peers: u64) -> Config {
    Config { name: format!("bench-{peers}"), ..Config::static_ring(peers, 10_000) }
}

#[divan::bench(args = [1_000, 10_000], sample_count = 3, sample_size = 1)]
fn static_ring(bencher: Bencher, peers: u64) {
    let cfg = config(peers);
    // One untimed run to learn the event count (a run is deterministic); it also warms up.
    let events = sim::run(&cfg, SEED).expect("valid").events;
    bencher
        .counter(ItemsCount::new(events))
        .bench_local(|| sim::run(divan::black_box(&cfg), SEED).expect("valid"));
}
