//! What a run measured, as plain data, and the statistics computed from it.
//!
//! The simulation fills a `RunResult`; writers at the edge turn it into CSV files. Everything here
//! is integer or computed from integer sums in a fixed order, so the same run gives the same bytes.

use crate::ring::RingId;
use crate::time::{SimDuration, SimTime};

/// How a lookup ended (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// With a latency topology, the round trip between the querier's host and the true owner's,
    /// without jitter (0 when they share a host): what the latency is compared with.
    #[cfg_attr(feature = "serde", serde(default))]
    pub round_trip: Option<SimDuration>,
    /// How it ended.
    pub outcome: Outcome,
    /// Holders found under the key.
    pub values: Vec<RingId>,
    /// Peers visited, origin first (empty unless paths are recorded).
    pub path: Vec<RingId>,
}

/// How a peer left the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// Messages sent in the interval, by [`crate::protocol::Traffic`] kind.
    pub messages: [u64; 5],
    /// Ring health at `t`.
    pub health: crate::check::Health,
}

/// Messages by what they are for, their bytes (the size model of [`crate::protocol::Wire`]),
/// and the time peers were alive, over the whole run.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrafficStats {
    /// Messages by [`crate::protocol::Traffic`] kind (in [`crate::protocol::Traffic::ALL`]
    /// order).
    pub messages: [u64; 5],
    /// Bytes by kind.
    pub bytes: [u64; 5],
    /// Messages that answer a request (of every kind).
    pub replies: u64,
    /// Of the messages, those the network dropped (`network.loss`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub dropped: u64,
    /// Sum over peers of the time each was alive (joining or member), in peer-milliseconds.
    pub peer_ms: u128,
}

impl TrafficStats {
    /// Bytes sent per live peer per second, of the kinds `which` selects.
    pub fn bytes_per_peer_s(
        &self,
        which: impl Fn(crate::protocol::Traffic) -> bool,
    ) -> Option<f64> {
        let bytes: u64 = crate::protocol::Traffic::ALL
            .iter()
            .zip(&self.bytes)
            .filter(|(t, _)| which(**t))
            .map(|(_, b)| b)
            .sum();
        (self.peer_ms > 0).then(|| bytes as f64 * 1000.0 / self.peer_ms as f64)
    }
}

/// Everything one run measured.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RunResult {
    /// The seed of the run.
    pub seed: u64,
    /// The overlay protocol it ran.
    pub protocol: crate::config::ProtocolKind,
    /// Messages and bytes by kind, and the live peers' time.
    pub traffic: TrafficStats,
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
    /// A swarm run's own measurements (`[swarm]`); the fields above then describe its overlay.
    pub swarm: Option<crate::swarm::run::SwarmResult>,
}

/// The statistics of a run's lookups, accumulated as each one ends, so that a run of a hundred
/// million lookups keeps a few histograms instead of a record per lookup. Every per-run statistic
/// of [`Summary`] comes from here, recorded lookups or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// How many of those lookups took each latency, in ms (exact; a run has at most as many
    /// distinct latencies as lookups, and with constant delays only a few).
    pub latency_ms: std::collections::BTreeMap<u64, u64>,
    /// With a latency topology, how many of those lookups had each latency stretch, in
    /// thousandths: the latency over the round trip between the querier and the true owner,
    /// rounded to the nearest thousandth (lookups whose querier and true owner share a host
    /// have none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub stretch_milli: std::collections::BTreeMap<u64, u64>,
    /// Whether lookups for the same key at about the same time named the same owner: computed
    /// once, when the run ends, from every answered lookup's key, start and owner (see
    /// [`Consistency`]); [`add`](LookupStats::add) leaves it alone.
    pub consistency: Consistency,
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
            *self.latency_ms.entry(latency.as_ms()).or_default() += 1;
        }
        bump(&mut self.timeouts, timeouts);
    }

    /// Counts the stretch of a lookup answered by an owner that took `latency`, whose querier
    /// and true owner are `round_trip` apart (nothing when they share a host).
    pub fn add_stretch(&mut self, latency: SimDuration, round_trip: SimDuration) {
        let (l, r) = (latency.as_ms() as u128, round_trip.as_ms() as u128);
        if r > 0 {
            let milli = ((l * 2000 + r) / (2 * r)) as u64;
            *self.stretch_milli.entry(milli).or_default() += 1;
        }
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

/// A lookup answered by a peer that claims to own its key (every outcome but `failed`), as
/// [`Consistency`] counts it: 24 bytes. Ordered by key, then start, then owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnerAnswer {
    /// The key looked up.
    pub key: RingId,
    /// When the lookup started.
    pub start: SimTime,
    /// The peer that answered as the key's owner.
    pub owner: RingId,
}

/// Lookup consistency, after Rhea, Geels, Roscoe and Kubiatowicz, "Handling Churn in a DHT"
/// (USENIX 2004), who ask that lookups be consistent under churn (their exact procedure was not
/// available to check; see the README): among a run's lookups answered by a peer claiming ownership, every unordered pair
/// with the same key whose start times differ by at most a window W
/// (`workload.consistency_window_ms`), and how many of those pairs name different owners.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Consistency {
    /// Pairs of answered lookups for the same key started at most W apart.
    pub pairs: u64,
    /// Those of the pairs whose two lookups were answered by different peers.
    pub differing: u64,
}

impl Consistency {
    /// Counts every pair of `answers` (reordered: sorted by key, then start) started at most
    /// `window` apart.
    pub fn of(answers: &mut [OwnerAnswer], window: SimDuration) -> Consistency {
        let mut c = Consistency::default();
        c.add_pairs(answers, window, SimTime::ZERO, None);
        c
    }

    /// The share of pairs that name different owners; `None` without pairs.
    pub fn share(&self) -> Option<f64> {
        (self.pairs > 0).then(|| self.differing as f64 / self.pairs as f64)
    }

    /// Sorts `answers` and adds the pairs whose later lookup (in that order) started in
    /// `from..until` (`None`: no end); its earlier lookup may have started before `from`.
    /// O(n log n), without listing the pairs (a hot key may have millions): for each key, a
    /// window slides over its lookups in start order, holding a count of its lookups per owner;
    /// a lookup pairs with every earlier one in the window, and differs from all but those of
    /// its own owner. Exact integers (fewer than 2^32 lookups give fewer than 2^63 pairs).
    fn add_pairs(
        &mut self,
        answers: &mut [OwnerAnswer],
        window: SimDuration,
        from: SimTime,
        until: Option<SimTime>,
    ) {
        answers.sort_unstable();
        // Lookups in the window, per owner (looked up, never iterated: the order cannot leak).
        let mut held: std::collections::BTreeMap<RingId, u64> = Default::default();
        for group in answers.chunk_by(|a, b| a.key == b.key).filter(|g| g.len() > 1) {
            held.clear();
            let mut first = 0;
            for (i, a) in group.iter().enumerate() {
                if until.is_some_and(|until| a.start >= until) {
                    break;
                }
                while a.start - group[first].start > window {
                    *held.get_mut(&group[first].owner).expect("held while in the window") -= 1;
                    first += 1;
                }
                let same = held.entry(a.owner).or_insert(0);
                if a.start >= from {
                    let earlier = (i - first) as u64;
                    self.pairs += earlier;
                    self.differing += earlier - *same;
                }
                *same += 1;
            }
        }
    }
}

/// [`Consistency`] counted while a run goes, holding only the answers that may still pair with
/// a lookup yet to end: the uncounted ones, and those started at most the window before the
/// earliest lookup still in flight. So a run's memory grows with the lookups of one window, not
/// with all of them (unless a lookup stays in flight for long).
#[derive(Debug)]
pub(crate) struct ConsistencyCounter {
    window: SimDuration,
    /// The answers held, sorted up to where the last count left them.
    answers: Vec<OwnerAnswer>,
    /// Every pair whose later lookup started before this is counted.
    counted_until: SimTime,
    /// Count when this many answers are held.
    next_count: usize,
    /// The least of `next_count`.
    batch: usize,
    counts: Consistency,
}

impl ConsistencyCounter {
    /// Answers held before the first count: 1.5 MB.
    pub(crate) const BATCH: usize = 1 << 16;

    /// A counter of the pairs started at most `window` apart.
    pub(crate) fn new(window: SimDuration) -> Self {
        Self::with_batch(window, Self::BATCH)
    }

    fn with_batch(window: SimDuration, batch: usize) -> Self {
        ConsistencyCounter {
            window,
            answers: Vec::new(),
            counted_until: SimTime::ZERO,
            next_count: batch,
            batch,
            counts: Consistency::default(),
        }
    }

    /// A lookup answered by an owner has ended. `closed` gives a time before which every lookup
    /// that started has ended (the earliest start among the lookups in flight, or now, when
    /// none is), never less than it gave before; it is asked only when the answers held are
    /// counted.
    pub(crate) fn push(&mut self, answer: OwnerAnswer, closed: impl FnOnce() -> SimTime) {
        self.answers.push(answer);
        if self.answers.len() < self.next_count {
            return;
        }
        let until = closed();
        debug_assert!(until >= self.counted_until, "lookups do not start in the past");
        let until = until.max(self.counted_until);
        self.counts.add_pairs(&mut self.answers, self.window, self.counted_until, Some(until));
        self.counted_until = until;
        // A lookup yet to be counted started at `until` or later: one started more than the
        // window before can no longer be in a pair with it.
        let keep = SimTime(until.as_ms().saturating_sub(self.window.as_ms()));
        self.answers.retain(|a| a.start >= keep);
        self.next_count = (2 * self.answers.len()).max(self.batch);
    }

    /// Every pair, once every lookup has ended (or the run stopped).
    pub(crate) fn finish(mut self) -> Consistency {
        self.counts.add_pairs(&mut self.answers, self.window, self.counted_until, None);
        self.counts
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

/// Nearest-rank percentile `p` (0 < p <= 100) of the values counted in `counts` (value to
/// occurrences, at least one in all).
pub fn percentile_of_map(counts: &std::collections::BTreeMap<u64, u64>, p: u32) -> u64 {
    let n: u64 = counts.values().sum();
    debug_assert!(n > 0 && (1..=100).contains(&p));
    let rank = (n * p as u64).div_ceil(100).max(1);
    let mut seen = 0;
    for (&v, &c) in counts {
        seen += c;
        if seen >= rank {
            return v;
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
    /// Median, 95th and 99th percentile (nearest rank) of the same latencies, in ms.
    pub latency_ms_p50_p95_p99: Option<(u64, u64, u64)>,
    /// With a latency topology, the latency stretch of the same lookups (those whose querier
    /// and true owner are different hosts).
    pub stretch: Option<StretchStats>,
    /// 1st and 99th percentile of timed-out forwards per lookup, over all lookups.
    pub timeouts_p1_p99: Option<(u32, u32)>,
    /// Stored entries per live physical peer at the end (see [`RunResult::load`]).
    pub load: Option<LoadStats>,
    /// Pairs of answered lookups for the same key started within the consistency window, and
    /// how many name different owners.
    pub consistency: Consistency,
    /// Messages and bytes by kind.
    pub traffic: TrafficStats,
    /// Bytes sent per live peer per second, every kind.
    pub bytes_per_peer_s: Option<f64>,
    /// The same without lookup traffic: what keeping the overlay (joins, maintenance, pings,
    /// stores) costs.
    pub maintenance_bytes_per_peer_s: Option<f64>,
}

/// Mean and nearest-rank percentiles of lookups' latency stretch (latency over the round trip
/// between querier and true owner), from thousandths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StretchStats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl StretchStats {
    /// The statistics of a histogram of stretches in thousandths; `None` when it is empty.
    pub fn of(milli: &std::collections::BTreeMap<u64, u64>) -> Option<StretchStats> {
        let n: u64 = milli.values().sum();
        let sum: u128 = milli.iter().map(|(&s, &c)| s as u128 * c as u128).sum();
        (n > 0).then(|| StretchStats {
            mean: sum as f64 / n as f64 / 1000.0,
            p50: percentile_of_map(milli, 50) as f64 / 1000.0,
            p95: percentile_of_map(milli, 95) as f64 / 1000.0,
        })
    }
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
            latency_ms_p50_p95_p99: (n > 0).then(|| {
                let at = |p| percentile_of_map(&st.latency_ms, p);
                (at(50), at(95), at(99))
            }),
            stretch: StretchStats::of(&st.stretch_milli),
            timeouts_p1_p99: (st.count() > 0).then(|| {
                (percentile_of_counts(&st.timeouts, 1), percentile_of_counts(&st.timeouts, 99))
            }),
            load,
            consistency: st.consistency,
            traffic: run.traffic.clone(),
            bytes_per_peer_s: run.traffic.bytes_per_peer_s(|_| true),
            maintenance_bytes_per_peer_s: run
                .traffic
                .bytes_per_peer_s(|t| t != crate::protocol::Traffic::Lookup),
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

    /// (key, start ms, owner) as an answer.
    fn answer(key: u64, start: u64, owner: u64) -> OwnerAnswer {
        OwnerAnswer { key: RingId(key), start: SimTime(start), owner: RingId(owner) }
    }

    fn consistency(answers: &[(u64, u64, u64)], window: u64) -> Consistency {
        let mut v: Vec<OwnerAnswer> = answers.iter().map(|&(k, t, o)| answer(k, t, o)).collect();
        Consistency::of(&mut v, SimDuration(window))
    }

    /// Every unordered pair, one by one.
    fn brute_force(answers: &[(u64, u64, u64)], window: u64) -> Consistency {
        let mut c = Consistency::default();
        for (i, a) in answers.iter().enumerate() {
            for b in &answers[i + 1..] {
                if a.0 == b.0 && a.1.abs_diff(b.1) <= window {
                    c.pairs += 1;
                    c.differing += u64::from(a.2 != b.2);
                }
            }
        }
        c
    }

    #[test]
    fn a_pair_counts_up_to_the_window_and_not_one_ms_beyond() {
        let c = |gap: u64| consistency(&[(7, 100, 1), (7, 100 + gap, 2)], 1000);
        assert_eq!(c(1000), Consistency { pairs: 1, differing: 1 });
        assert_eq!(c(1001), Consistency::default());
        assert_eq!(c(1001).share(), None, "no pairs: no share");
        assert_eq!(c(0), Consistency { pairs: 1, differing: 1 });
        // The order given does not matter.
        assert_eq!(consistency(&[(7, 1100, 2), (7, 100, 1)], 1000).pairs, 1);
        // A zero window pairs lookups of the same millisecond only.
        assert_eq!(
            consistency(&[(7, 5, 1), (7, 5, 1), (7, 6, 2)], 0),
            Consistency { pairs: 1, differing: 0 }
        );
    }

    #[test]
    fn three_lookups_and_two_owners_differ_in_two_pairs_of_three() {
        let c = consistency(&[(7, 0, 1), (7, 10, 1), (7, 20, 2)], 1000);
        assert_eq!(c, Consistency { pairs: 3, differing: 2 });
        assert_eq!(c.share(), Some(2.0 / 3.0));
        // The same owner throughout: pairs, none differing (a share of 0, not none).
        let same = consistency(&[(7, 0, 1), (7, 10, 1), (7, 20, 1)], 1000);
        assert_eq!((same.pairs, same.share()), (3, Some(0.0)));
    }

    #[test]
    fn only_lookups_of_one_key_pair() {
        let c = consistency(&[(1, 0, 1), (2, 0, 2), (3, 0, 3), (1, 5, 9)], 1000);
        assert_eq!(c, Consistency { pairs: 1, differing: 1 });
        assert_eq!(consistency(&[], 1000), Consistency::default());
        assert_eq!(consistency(&[(1, 0, 1)], u64::MAX), Consistency::default());
    }

    #[test]
    fn the_window_slides_past_lookups_of_each_owner() {
        // Key 7: owner 1 at 0 and 1000, owner 2 at 1500 and 2600. With W = 1000: (0, 1000)
        // same, (1000, 1500) differ, (1500, 2600) is 1100 apart.
        let c = consistency(&[(7, 0, 1), (7, 1000, 1), (7, 1500, 2), (7, 2600, 2)], 1000);
        assert_eq!(c, Consistency { pairs: 2, differing: 1 });
    }

    /// A fixed-seed xorshift sequence: test data without a dependency on the run's streams.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn a_hot_key_matches_the_pairs_counted_one_by_one() {
        // 3,000 lookups of one key over 20 s from a fixed-seed sequence, owners flapping among
        // three peers; other keys mixed in. 4.5 M pairs by brute force.
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let answers: Vec<(u64, u64, u64)> = (0..3000)
            .map(|_| {
                let r = next();
                let key = if r.is_multiple_of(5) { r >> 40 } else { 42 };
                (key, (r >> 8) % 20_000, 100 + (r >> 20) % 3)
            })
            .collect();
        for window in [0, 1, 250, 1000, 20_000] {
            let c = consistency(&answers, window);
            assert_eq!(c, brute_force(&answers, window), "window {window}");
            assert!(c.differing > 0 && c.differing < c.pairs, "{c:?}");
        }
    }

    /// Lookups (key, start ms, latency ms, owner) counted as a run would: each pushed when it
    /// ends, in end order, `closed` the earliest start among those not ended yet. Returns the
    /// count and the most answers the counter held at once.
    fn counted_as_they_end(
        lookups: &[(u64, u64, u64, u64)],
        window: u64,
        batch: usize,
    ) -> (Consistency, usize) {
        let mut ends: Vec<(u64, usize)> =
            lookups.iter().enumerate().map(|(i, l)| (l.1 + l.2, i)).collect();
        ends.sort_unstable();
        let mut pending: std::collections::BTreeSet<(u64, usize)> =
            lookups.iter().enumerate().map(|(i, l)| (l.1, i)).collect();
        let mut counter = ConsistencyCounter::with_batch(SimDuration(window), batch);
        let mut peak = 0;
        for (_, i) in ends {
            let (key, start, _, owner) = lookups[i];
            pending.remove(&(start, i));
            let closed = pending.first().map_or(u64::MAX, |p| p.0);
            counter.push(answer(key, start, owner), || SimTime(closed));
            peak = peak.max(counter.answers.len());
        }
        (counter.finish(), peak)
    }

    #[test]
    fn counting_as_lookups_end_holds_about_one_window() {
        // 40,000 lookups, one every 5 ms, of 50 keys, each taking 0 to 300 ms (one 20 s).
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let lookups: Vec<(u64, u64, u64, u64)> = (0..40_000u64)
            .map(|i| {
                let r = next();
                let latency = if i == 20_000 { 20_000 } else { r % 301 };
                (r % 50, i * 5, latency, (r >> 32) % 2)
            })
            .collect();
        let all: Vec<(u64, u64, u64)> = lookups.iter().map(|l| (l.0, l.1, l.3)).collect();
        for window in [5, 100, 1000] {
            let (c, peak) = counted_as_they_end(&lookups, window, 1024);
            assert_eq!(c, consistency(&all, window), "window {window}");
            assert!(c.pairs > 0 && c.differing > 0);
            // The window, the slowest lookup in flight and the doubling: far below all 40,000,
            // though the 20 s lookup holds 4,000 more while it is in flight.
            assert!(peak < 14_000, "window {window}: held {peak}");
        }
        // A window longer than the run holds everything, and still counts right.
        let (c, peak) = counted_as_they_end(&lookups, 1_000_000, 1024);
        assert_eq!((c, peak), (consistency(&all, 1_000_000), 40_000));
    }

    proptest::proptest! {
        #[test]
        fn counting_as_lookups_end_matches_counting_at_the_end(
            lookups in proptest::collection::vec((0u64..3, 0u64..10, 0u64..30, 0u64..3), 0..60),
            window in 0u64..20,
            batch in 1usize..8,
        ) {
            // Starts in order, as a run makes them.
            let mut lookups = lookups;
            let mut t = 0;
            for l in &mut lookups {
                t += l.1;
                l.1 = t;
            }
            let all: Vec<(u64, u64, u64)> = lookups.iter().map(|l| (l.0, l.1, l.3)).collect();
            let (c, _) = counted_as_they_end(&lookups, window, batch);
            proptest::prop_assert_eq!(c, brute_force(&all, window));
        }

        #[test]
        fn pairs_match_a_brute_force_count(
            answers in proptest::collection::vec((0u64..4, 0u64..60, 0u64..4), 0..80),
            window in 0u64..40,
        ) {
            proptest::prop_assert_eq!(consistency(&answers, window), brute_force(&answers, window));
        }
    }
}

/// The overlay at one moment: every member and the pointers it holds to other members.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    /// When.
    pub t: SimTime,
    /// Members in ring order, with their predecessor pointer.
    pub members: Vec<(RingId, Option<RingId>)>,
    /// (from, to, kind) pointers between live members; kind is one of [`EDGE_KINDS`]: "succ"
    /// (the first successor), "list" (the rest of the successor list), "finger", or a
    /// Kademlia "contact".
    #[cfg_attr(feature = "serde", serde(deserialize_with = "edge_kinds"))]
    pub edges: Vec<(RingId, RingId, &'static str)>,
}

/// The kinds of pointers a [`Snapshot`] holds.
pub const EDGE_KINDS: [&str; 4] = ["succ", "list", "finger", "contact"];

/// Reads a snapshot's edges back, their kinds as the names of [`EDGE_KINDS`].
#[cfg(feature = "serde")]
fn edge_kinds<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(RingId, RingId, &'static str)>, D::Error> {
    use serde::Deserialize;
    let edges = Vec::<(RingId, RingId, String)>::deserialize(d)?;
    edges
        .into_iter()
        .map(|(from, to, kind)| match EDGE_KINDS.iter().find(|k| **k == kind) {
            Some(k) => Ok((from, to, *k)),
            None => Err(serde::de::Error::custom(format!("unknown edge kind {kind:?}"))),
        })
        .collect()
}
