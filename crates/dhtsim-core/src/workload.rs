//! The workload: when lookups start, from which peer, for which key; which files exist.
//!
//! Draws only from the run's workload stream, at the moment each lookup starts, so two runs that
//! differ only in routing settings start the same lookups at the same times from the same
//! origins. Lookups are evenly spaced over the measured window `[warmup, duration)`, or, with a
//! per-peer interval, each member starts one per interval (SimGrid's Chord benchmark).

use crate::config::{KeyDist, WorkloadConfig};
use crate::oracle::Oracle;
use crate::protocol::PeerIdx;
use crate::ring::{IdSpace, RingId};
use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};
use rand::RngExt;

/// The key of a file: the SHA-1 digest of its name, truncated to its first m bits.
pub fn file_key(space: IdSpace, name: &str) -> RingId {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(name.as_bytes());
    let top = u64::from_be_bytes(digest[..8].try_into().expect("SHA-1 has 20 bytes"));
    RingId(top >> (64 - space.bits()))
}

/// The name of the `i`-th file published at bootstrap.
pub fn file_name(i: u64) -> String {
    format!("file-{i}")
}

/// Generates the run's lookups one at a time.
#[derive(Debug)]
pub struct Workload {
    cfg: WorkloadConfig,
    space: IdSpace,
    warmup: SimTime,
    window_ms: u64,
    rng: Rng,
    /// Keys of the files published at bootstrap, in file order.
    file_keys: Vec<RingId>,
    /// For Zipf keys: `cdf[i]` = P(file <= i), computed once in file order.
    cdf: Vec<f64>,
}

/// What a generated lookup asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// This key.
    Key(RingId),
    /// The ID of the origin's finger with this index, as the origin knows it; no lookup when
    /// that is the origin itself (`KeyDist::OwnFingers`).
    Finger(u8),
}

/// One generated lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupStart {
    /// The querier.
    pub origin: PeerIdx,
    /// What it looks up.
    pub target: Target,
}

impl Workload {
    /// The workload of a run whose measured window is `[warmup, duration)`, drawing from `rng`.
    pub fn new(
        cfg: WorkloadConfig,
        space: IdSpace,
        warmup: SimTime,
        duration: SimTime,
        rng: Rng,
    ) -> Self {
        let file_keys = (0..cfg.files).map(|i| file_key(space, &file_name(i))).collect();
        let cdf = match cfg.keys {
            KeyDist::Zipf { exponent } => zipf_cdf(cfg.files, exponent),
            _ => Vec::new(),
        };
        let window_ms = duration.since(warmup).as_ms();
        Workload { cfg, space, warmup, window_ms, rng, file_keys, cdf }
    }

    /// Keys of the files published at bootstrap.
    pub fn file_keys(&self) -> &[RingId] {
        &self.file_keys
    }

    /// Chooses the holder of each bootstrap file, in file order.
    pub fn file_holders(&mut self, oracle: &Oracle) -> Vec<(RingId, RingId)> {
        let keys = self.file_keys.clone();
        keys.into_iter().map(|k| (k, oracle.random_live(&mut self.rng).0)).collect()
    }

    /// Number of lookups the workload starts.
    pub fn lookups(&self) -> u64 {
        self.cfg.lookups
    }

    /// When lookup `i` (`0 <= i < lookups`) starts: `warmup + floor(i * window / lookups)`.
    pub fn start_time(&self, i: u64) -> SimTime {
        let offset = (i as u128 * self.window_ms as u128 / self.cfg.lookups as u128) as u64;
        SimTime(self.warmup.as_ms() + offset)
    }

    /// Draws the origin (uniform over live peers, members or still joining) and key of the next
    /// lookup.
    pub fn next_lookup(&mut self, oracle: &Oracle) -> LookupStart {
        let (_, origin) = oracle.random_alive(&mut self.rng);
        LookupStart { origin, target: self.next_target() }
    }

    /// The interval between two lookups of one member, when the workload is per peer.
    pub fn per_peer_interval(&self) -> Option<SimDuration> {
        self.cfg.per_peer_interval
    }

    /// For a per-peer workload: when a peer that becomes a member at `now` starts its first
    /// lookup, uniformly within one interval.
    pub fn first_per_peer_lookup(&mut self, now: SimTime) -> Option<SimTime> {
        let every = self.cfg.per_peer_interval?.as_ms().max(1);
        Some(now + SimDuration(self.rng.random_range(0..every)))
    }

    /// Draws what the next lookup asks for.
    pub fn next_target(&mut self) -> Target {
        match self.cfg.keys {
            KeyDist::Uniform => Target::Key(self.space.wrap(self.rng.random::<u64>())),
            KeyDist::Stored => {
                let i = self.rng.random_range(0..self.file_keys.len() as u64);
                Target::Key(self.file_keys[i as usize])
            }
            KeyDist::Zipf { .. } => {
                let u: f64 = self.rng.random();
                let i = self.cdf.partition_point(|&c| c <= u).min(self.cdf.len() - 1);
                Target::Key(self.file_keys[i])
            }
            KeyDist::OwnFingers => {
                Target::Finger(self.rng.random_range(0..self.space.bits()) as u8)
            }
        }
    }
}

/// Cumulative Zipf probabilities of `n` ranks with exponent `s`, summed in rank order.
fn zipf_cdf(n: u64, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|r| libm::pow(r as f64, -s)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w;
            acc / total
        })
        .collect();
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    cdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_are_truncated_sha1() {
        // SHA-1("file-0") = cce67500... (checked with `printf file-0 | sha1sum`).
        let s64 = IdSpace::new(64).unwrap();
        let s6 = IdSpace::new(6).unwrap();
        let full = file_key(s64, "file-0").0;
        assert_eq!(file_key(s6, "file-0").0, full >> 58);
        assert_eq!(full >> 60, GOLDEN_TOP_NIBBLE);
    }

    const GOLDEN_TOP_NIBBLE: u64 = 0xc;

    #[test]
    fn zipf_prefers_low_ranks_in_proportion() {
        let cfg = WorkloadConfig {
            lookups: 1,
            keys: KeyDist::Zipf { exponent: 1.0 },
            files: 10,
            per_peer_interval: None,
            consistency_window: crate::config::defaults::CONSISTENCY_WINDOW,
        };
        let s = IdSpace::new(32).unwrap();
        let rng = crate::rng::stream(3, crate::rng::Purpose::Workload);
        let mut w = Workload::new(cfg, s, SimTime(0), SimTime(1), rng);
        let oracle = Oracle::new(vec![(RingId(5), PeerIdx(0))]);
        let keys = w.file_keys().to_vec();
        let mut counts = [0u32; 10];
        for _ in 0..20_000 {
            let Target::Key(k) = w.next_lookup(&oracle).target else { panic!("zipf draws keys") };
            counts[keys.iter().position(|&x| x == k).unwrap()] += 1;
        }
        // P(rank 1) / P(rank 2) = 2 with s = 1; H(10) = 2.929, so P(rank 1) = 0.341.
        let p1 = counts[0] as f64 / 20_000.0;
        assert!((p1 - 0.341).abs() < 0.015, "{p1}");
        let ratio = counts[0] as f64 / counts[1] as f64;
        assert!((ratio - 2.0).abs() < 0.15, "{ratio}");
        assert!(counts.windows(2).all(|c| c[0] > c[1] / 2));
    }

    #[test]
    fn lookups_are_evenly_spaced_inside_the_window() {
        let cfg = WorkloadConfig {
            lookups: 4,
            keys: KeyDist::Uniform,
            files: 0,
            per_peer_interval: None,
            consistency_window: crate::config::defaults::CONSISTENCY_WINDOW,
        };
        let s = IdSpace::new(8).unwrap();
        let w = Workload::new(
            cfg,
            s,
            SimTime(1000),
            SimTime(2000),
            crate::rng::stream(1, crate::rng::Purpose::Workload),
        );
        let times: Vec<u64> = (0..4).map(|i| w.start_time(i).as_ms()).collect();
        assert_eq!(times, vec![1000, 1250, 1500, 1750]);
    }
}
