//! What a run measured, as plain data, and the statistics computed from it.
//!
//! The simulation fills a `RunResult`; writers at the edge turn it into CSV files. Everything here
//! is integer or computed from integer sums in a fixed order, so the same run gives the same bytes.

use crate::ring::RingId;
use crate::time::{SimDuration, SimTime};

/// How a lookup ended (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Reached the true owner, and the value was there if the key had been stored.
    Ok,
    /// Reached the true owner, but a stored key's value was missing.
    NotFound,
    /// Ended at a peer that wrongly believes it owns the key.
    WrongOwner,
    /// Hop limit reached (or retries exhausted).
    Failed,
}

impl Outcome {
    /// The name used in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotFound => "not_found",
            Outcome::WrongOwner => "wrong_owner",
            Outcome::Failed => "failed",
        }
    }
}

/// One lookup, from start to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupRecord {
    /// Number of the lookup in its run, in start order from 0.
    pub lookup: u64,
    /// When it started.
    pub start: SimTime,
    /// The querier.
    pub origin: RingId,
    /// The key looked up.
    pub key: RingId,
    /// The peer that answered as owner (`None` when the lookup failed).
    pub owner: Option<RingId>,
    /// The owner according to the oracle when the query ended.
    pub true_owner: RingId,
    /// Forwarding messages until the owner held the query.
    pub hops: u32,
    /// Timed-out forwards (always 0 without churn).
    pub timeouts: u32,
    /// From the start until the answer reached the querier.
    pub latency: SimDuration,
    /// How it ended.
    pub outcome: Outcome,
    /// Holders found under the key.
    pub values: Vec<RingId>,
    /// Peers visited, origin first (empty unless paths are recorded).
    pub path: Vec<RingId>,
}

/// How a peer left the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveKind {
    /// Told its neighbours and handed its keys over.
    Leave,
    /// Vanished silently.
    Crash,
}

impl LeaveKind {
    /// The name used in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveKind::Leave => "leave",
            LeaveKind::Crash => "crash",
        }
    }
}

/// One peer's life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// Its ID.
    pub id: RingId,
    /// When it became a member of the ring (0 for bootstrap peers; `None` if its join never
    /// completed).
    pub join: Option<SimTime>,
    /// When and how it left, if it did.
    pub leave: Option<(SimTime, LeaveKind)>,
    /// Messages its join query took to reach its successor (`None` for bootstrap peers).
    pub join_hops: Option<u32>,
    /// The peers its join query visited, the joiner first (when paths are recorded).
    pub join_path: Vec<RingId>,
    /// The physical peer running this ring node (its own number, from 0, unless the overlay
    /// runs several virtual nodes per peer).
    pub host: u32,
    /// Stored entries whose key it truly owns at the end of the run (`None` when it is no
    /// longer a member, or nothing was ever stored).
    pub keys: Option<u64>,
}

/// One sample of the time series: counts over the interval ending at `t`, and the ring's health
/// at `t`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// End of the interval.
    pub t: SimTime,
    /// Joins completed in the interval.
    pub joins: u64,
    /// Graceful leaves in the interval.
    pub leaves: u64,
    /// Crashes in the interval.
    pub crashes: u64,
    /// Lookups that ended in the interval.
    pub lookups: u64,
    /// Sum of their hops (over those answered by an owner).
    pub hops_sum: u64,
    /// How many of them were answered by an owner.
    pub answered: u64,
    /// How many ended `ok`.
    pub ok: u64,
    /// How many ended `failed`.
    pub failed: u64,
    /// Timed-out forwards of those lookups.
    pub timeouts: u64,
    /// Ring health at `t`.
    pub health: crate::check::Health,
}

/// Everything one run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The seed of the run.
    pub seed: u64,
    /// Peers present at bootstrap.
    pub initial_peers: u64,
    /// Every lookup, in start order, when the configuration asks for records
    /// ([`crate::config::Config::record_lookups`]); empty otherwise.
    pub lookups: Vec<LookupRecord>,
    /// Statistics of every lookup that ended, recorded or not.
    pub lookup_stats: LookupStats,
    /// Every peer that was ever part of the network, in address order.
    pub peers: Vec<PeerRecord>,
    /// Network messages sent (queries, answers; a peer answering itself sends none).
    pub messages: u64,
    /// Events the engine processed.
    pub events: u64,
    /// Virtual time when the last event ran.
    pub end: SimTime,
    /// Time series samples (empty unless sampling is on).
    pub samples: Vec<Sample>,
    /// Why the run stopped early, if it did: the failed properties and the last events.
    pub stopped: Option<String>,
    /// Overlay snapshots taken at the requested times.
    pub snapshots: Vec<Snapshot>,
    /// Things the run skipped that the user should know about (e.g. a trace event naming a peer
    /// that was not there).
    pub warnings: Vec<String>,
    /// Load at the end: stored entries whose key each live physical peer's nodes truly own, in
    /// peer order (empty when nothing was ever stored).
    pub load: Vec<u32>,
}

/// The statistics of a run's lookups, accumulated as each one ends, so that a run of a hundred
/// million lookups keeps a few histograms instead of a record per lookup. Every per-run statistic
/// of [`Summary`] comes from here, recorded lookups or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LookupStats {
    /// Lookups that ended `ok`.
    pub ok: u64,
    /// Lookups that ended `not_found`.
    pub not_found: u64,
    /// Lookups that ended `wrong_owner`.
    pub wrong_owner: u64,
    /// Lookups that ended `failed`.
    pub failed: u64,
    /// `hops[h]`: lookups answered by an owner (every outcome but `failed`) that took `h` hops.
    pub hops: Vec<u64>,
    /// `timeouts[t]`: lookups (any outcome) with `t` timed-out forwards.
    pub timeouts: Vec<u64>,
    /// Sum of the latencies, in ms, of the lookups answered by an owner.
    pub latency_ms_sum: u64,
}

impl LookupStats {
    /// Counts one lookup that ended.
    pub fn add(&mut self, hops: u32, timeouts: u32, latency: SimDuration, outcome: Outcome) {
        fn bump(counts: &mut Vec<u64>, i: u32) {
            let i = i as usize;
            if counts.len() <= i {
                counts.resize(i + 1, 0);
            }
            counts[i] += 1;
        }
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::NotFound => self.not_found += 1,
            Outcome::WrongOwner => self.wrong_owner += 1,
            Outcome::Failed => self.failed += 1,
        }
        if outcome != Outcome::Failed {
            bump(&mut self.hops, hops);
            self.latency_ms_sum += latency.as_ms();
        }
        bump(&mut self.timeouts, timeouts);
    }

    /// Lookups that ended.
    pub fn count(&self) -> u64 {
        self.ok + self.not_found + self.wrong_owner + self.failed
    }

    /// Lookups answered by an owner (every outcome but `failed`).
    pub fn answered(&self) -> u64 {
        self.count() - self.failed
    }

    /// Timed-out forwards, summed over lookups.
    pub fn timeouts_sum(&self) -> u64 {
        sum_of_counts(&self.timeouts)
    }

    /// Hops, summed over the lookups answered by an owner.
    pub fn hops_sum(&self) -> u64 {
        sum_of_counts(&self.hops)
    }

    /// (hops, lookups) for each hop count that occurred among the lookups answered by an owner.
    pub fn hop_histogram(&self) -> Vec<(u32, u64)> {
        self.hops.iter().enumerate().filter(|(_, c)| **c > 0).map(|(h, &c)| (h as u32, c)).collect()
    }
}

/// The sum of the values counted in `counts` (`counts[v]` occurrences of value `v`).
fn sum_of_counts(counts: &[u64]) -> u64 {
    counts.iter().enumerate().map(|(v, &c)| v as u64 * c).sum()
}

/// Nearest-rank percentile `p` (0 < p <= 100) of the values counted in `counts` (`counts[v]`
/// occurrences of value `v`, at least one in all): the same value [`percentile`] gives on the
/// sorted values.
pub fn percentile_of_counts(counts: &[u64], p: u32) -> u32 {
    let n: u64 = counts.iter().sum();
    debug_assert!(n > 0 && (1..=100).contains(&p));
    let rank = (n * p as u64).div_ceil(100).max(1);
    let mut seen = 0;
    for (v, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return v as u32;
        }
    }
    unreachable!("rank {rank} is within the {n} values counted")
}

/// The per-run statistics of `summary.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Peers at bootstrap.
    pub peers: u64,
    /// Lookups started.
    pub lookups: u64,
    /// Hop statistics over the lookups that reached a peer believing it owns the key
    /// (every outcome but `failed`); `None` when there are none.
    pub hops: Option<HopStats>,
    /// Lookups per outcome.
    pub ok: u64,
    /// See [`Outcome::NotFound`].
    pub not_found: u64,
    /// See [`Outcome::WrongOwner`].
    pub wrong_owner: u64,
    /// See [`Outcome::Failed`].
    pub failed: u64,
    /// Timed-out forwards, summed over lookups.
    pub timeouts: u64,
    /// Network messages.
    pub messages: u64,
    /// Mean latency in ms over the same lookups as `hops`.
    pub latency_ms_mean: Option<f64>,
    /// 1st and 99th percentile of timed-out forwards per lookup, over all lookups.
    pub timeouts_p1_p99: Option<(u32, u32)>,
    /// Stored entries per live physical peer at the end (see [`RunResult::load`]).
    pub load: Option<LoadStats>,
}

/// Mean and nearest-rank percentiles of the entries per peer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadStats {
    /// Arithmetic mean.
    pub mean: f64,
    /// 1st percentile.
    pub p1: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest.
    pub max: u32,
}

/// Mean and nearest-rank percentiles of hop counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HopStats {
    /// Arithmetic mean (integer sum divided once, so it is exact to f64 rounding).
    pub mean: f64,
    /// 1st percentile.
    pub p1: u32,
    /// Median.
    pub p50: u32,
    /// 95th percentile.
    pub p95: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest.
    pub max: u32,
}

/// Nearest-rank percentile `p` (0 < p <= 100) of an ascending, non-empty slice.
pub fn percentile(sorted: &[u32], p: u32) -> u32 {
    debug_assert!(!sorted.is_empty() && (1..=100).contains(&p));
    let rank = (sorted.len() as u64 * p as u64).div_ceil(100).max(1);
    sorted[rank as usize - 1]
}

impl Summary {
    /// Statistics of one run.
    pub fn of(run: &RunResult) -> Summary {
        let st = &run.lookup_stats;
        let n = st.answered();
        let top = |counts: &[u64]| counts.iter().rposition(|&c| c > 0).unwrap_or(0) as u32;
        let hop_stats = (n > 0).then(|| HopStats {
            mean: st.hops_sum() as f64 / n as f64,
            p1: percentile_of_counts(&st.hops, 1),
            p50: percentile_of_counts(&st.hops, 50),
            p95: percentile_of_counts(&st.hops, 95),
            p99: percentile_of_counts(&st.hops, 99),
            max: top(&st.hops),
        });
        let mut load = run.load.clone();
        load.sort_unstable();
        let load = (!load.is_empty()).then(|| LoadStats {
            mean: load.iter().map(|&k| k as u64).sum::<u64>() as f64 / load.len() as f64,
            p1: percentile(&load, 1),
            p99: percentile(&load, 99),
            max: *load.last().expect("non-empty"),
        });
        Summary {
            peers: run.initial_peers,
            lookups: st.count(),
            hops: hop_stats,
            ok: st.ok,
            not_found: st.not_found,
            wrong_owner: st.wrong_owner,
            failed: st.failed,
            timeouts: st.timeouts_sum(),
            messages: run.messages,
            latency_ms_mean: (n > 0).then(|| st.latency_ms_sum as f64 / n as f64),
            timeouts_p1_p99: (st.count() > 0).then(|| {
                (percentile_of_counts(&st.timeouts, 1), percentile_of_counts(&st.timeouts, 99))
            }),
            load,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 95), 95);
        assert_eq!(percentile(&v, 100), 100);
        assert_eq!(percentile(&[7], 1), 7);
        assert_eq!(percentile(&[1, 2, 3], 50), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 50), 2);
    }

    #[test]
    fn percentiles_of_counts_match_the_sorted_values() {
        let values = [0u32, 0, 3, 3, 3, 4, 9, 9, 12, 40, 40, 41];
        let mut counts = vec![0u64; 42];
        for &v in &values {
            counts[v as usize] += 1;
        }
        for p in 1..=100 {
            assert_eq!(percentile_of_counts(&counts, p), percentile(&values, p), "p{p}");
        }
    }

    #[test]
    fn stats_count_outcomes_hops_and_timeouts() {
        let mut st = LookupStats::default();
        st.add(3, 0, SimDuration(150), Outcome::Ok);
        st.add(5, 2, SimDuration(1250), Outcome::WrongOwner);
        st.add(7, 1, SimDuration(900), Outcome::Failed);
        assert_eq!((st.count(), st.answered(), st.timeouts_sum()), (3, 2, 3));
        assert_eq!(st.hop_histogram(), vec![(3, 1), (5, 1)]);
        assert_eq!(st.latency_ms_sum, 1400);
    }
}

/// The overlay at one moment: every member and the pointers it holds to other members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// When.
    pub t: SimTime,
    /// Members in ring order, with their predecessor pointer.
    pub members: Vec<(RingId, Option<RingId>)>,
    /// (from, to, kind) pointers between live members; kind is "succ" (the first successor),
    /// "list" (the rest of the successor list) or "finger".
    pub edges: Vec<(RingId, RingId, &'static str)>,
}
