//! Seeded random streams, one per purpose.
//!
//! A run has one seed. Every consumer of randomness draws from its own ChaCha8 stream derived from
//! that seed and a fixed stream number, so changing how much randomness one purpose consumes (more
//! lookups, another latency model) never shifts the values another purpose sees (the peer IDs, the
//! churn trace). There is deliberately no way to build an unseeded generator here.
//!
//! Transcendental functions applied to random draws (logarithms and powers for session times,
//! Zipf weights) come from the `libm` crate, a pure-Rust port of musl's libm, never from the
//! platform's C library, whose last-bit results may differ between systems: the same seed gives
//! the same bytes on any machine.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every stream uses.
pub type Rng = ChaCha8Rng;

/// What a stream is for. The discriminant is the ChaCha stream number and must never change:
/// changing it changes every result ever produced with that purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    /// Peer identifiers drawn at bootstrap.
    PeerIds = 1,
    /// Join, leave and crash times.
    Churn = 2,
    /// Lookup origins and keys, stored files.
    Workload = 3,
    /// Message latencies and losses.
    Network = 4,
    /// Phases and jitter of the peers' maintenance timers.
    Maintenance = 5,
    /// A swarm's leechers: arrival times and capacities (shared by the variants of a paired
    /// comparison, whatever their discovery).
    SwarmPeers = 6,
    /// A swarm's choices: tracker answers, pieces picked, optimistic unchokes.
    Swarm = 7,
    /// Latencies of a swarm's messages.
    SwarmNetwork = 8,
    /// A swarm's peers as overlay members: their IDs and the members they join through.
    SwarmOverlay = 9,
    /// Where each host sits in a latency topology (`network.latency = "plane"`), drawn by host
    /// number at a fixed position of the stream.
    Topology = 10,
    /// Which class of access link each host is on (`network.links`), drawn by host number at
    /// a fixed position of the stream.
    Links = 11,
}

/// The generator for `purpose` in the run seeded with `seed`.
pub fn stream(seed: u64, purpose: Purpose) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose as u64);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4).map(|_| stream(7, Purpose::PeerIds).random()).collect();
        let mut r1 = stream(7, Purpose::PeerIds);
        let mut r2 = stream(7, Purpose::Workload);
        let mut r3 = stream(8, Purpose::PeerIds);
        let x1: u64 = r1.random();
        let x2: u64 = r2.random();
        let x3: u64 = r3.random();
        assert_eq!(a[0], x1, "same seed and purpose give the same values");
        assert_ne!(x1, x2, "purposes are independent streams");
        assert_ne!(x1, x3, "the seed is used");
    }

    #[test]
    fn golden_first_values() {
        // Pins the generator: a dependency bump that changed sampled values would fail here
        // before it silently changed every published result.
        let mut r = stream(42, Purpose::PeerIds);
        let v: [u64; 2] = [r.random(), r.random()];
        assert_eq!(v, GOLDEN);
    }

    const GOLDEN: [u64; 2] = [13222472167927179408, 3078952320862533021];
}
