//! Plots, drawn from result tables alone (summary rows and hop histograms), so the same code
//! serves `dhtsim run` and a later re-plot from CSV files. SVG and PNG, with an embedded font
//! (DejaVu Sans): no system fonts or libraries, and identical bytes on every machine.
//!
//! - `hops_vs_n`: mean hops against the number of peers (log-log), one line per variant with its
//!   p5–p95 band, beside the reference curves (N-1)/2 and ½·log2 N + 1;
//! - `hop_distribution`: the cumulative distribution of hop counts per variant at one N;
//! - `churn_effects`: lookup failure rate, mean hops and timeouts per lookup against the mean
//!   session time, when `churn.session_mean_s` is swept, or against the Poisson model's
//!   `churn.rate_per_s`;
//! - `timeseries`: live peers, lookup outcomes, pointer correctness and lost keys over virtual
//!   time, for the last run that has samples;
//! - `ring_convergence`: the share of members whose successor is right over virtual time, one
//!   line per sweep point, when the rings are built by simultaneous joins;
//! - `latency_cdf`: the cumulative distribution of lookup latency per variant at the hop
//!   distribution's N (seeds pooled), when the latency is not constant;
//! - `cost_vs_latency`: maintenance bytes per live peer per second against median lookup
//!   latency, one point per sweep point (pooled over seeds), and each protocol's convex hull
//!   (Li et al., INFOCOM 2005), when every run maintains its overlay and the sweep has named
//!   variants (the settings compared).
//!
//! A *variant* is a sweep point without its `population.peers` value: runs of the same variant
//! at the same N (different seeds) are pooled.

mod chart;

use std::collections::BTreeMap;

/// What a plot needs to know about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotRun {
    /// Number of the run.
    pub run: u64,
    /// Swept keys and values, as in `summary.csv`.
    pub point: Vec<(String, String)>,
    /// Peers at bootstrap.
    pub peers: u64,
    /// Hop histogram: (hops, lookups), ascending.
    pub hops: Vec<(u32, u64)>,
    /// Lookups started.
    pub lookups: u64,
    /// Lookups that ended `failed`.
    pub failed: u64,
    /// Lookups answered by a peer that wrongly believed it owned the key (`wrong_owner`).
    pub wrong: u64,
    /// Lookups that reached the true owner, which had lost the value (`not_found`).
    pub not_found: u64,
    /// Timed-out forwards, summed over lookups.
    pub timeouts: u64,
    /// The run's time series (empty without sampling).
    pub samples: Vec<TsPoint>,
    /// The overlay protocol (`chord`, `kademlia`).
    pub protocol: String,
    /// Bytes per live peer per second without lookup traffic, if known.
    pub maintenance_bytes_per_peer_s: Option<f64>,
    /// Median latency of the lookups answered by an owner, ms, if any.
    pub latency_ms_p50: Option<f64>,
    /// Latency histogram of the same lookups: (ms, lookups), ascending; empty with a constant
    /// latency (then the hop distribution says it all).
    pub latencies: Vec<(u64, u64)>,
    /// A swarm run's downloads and population, if it is one.
    pub swarm: Option<SwarmPlot>,
}

/// What the swarm plots need of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SwarmPlot {
    /// Leechers that arrived.
    pub leechers: u64,
    /// Download times of those that completed, seconds.
    pub downloads_s: Vec<f64>,
    /// (minutes, seeders, leechers) at each sample.
    pub population: Vec<(f64, u64, u64)>,
}

/// One variant of a swarm scenario: its label, the download times pooled over its seeds
/// (sorted, seconds) with the leechers that arrived, and its first run's population.
pub struct SwarmVariant<'a> {
    /// Legend text.
    pub label: String,
    /// Download times, ascending.
    pub downloads_s: Vec<f64>,
    /// Leechers over all its runs.
    pub leechers: u64,
    /// Its first run's population.
    pub population: &'a [(f64, u64, u64)],
}

/// The swarm runs grouped by sweep point, in first-appearance order.
pub fn swarm_variants(runs: &[PlotRun]) -> Vec<SwarmVariant<'_>> {
    let mut out: Vec<(&[(String, String)], SwarmVariant<'_>)> = Vec::new();
    for r in runs {
        let Some(s) = &r.swarm else { continue };
        match out.iter_mut().find(|(p, _)| *p == r.point.as_slice()) {
            Some((_, v)) => {
                v.downloads_s.extend(&s.downloads_s);
                v.leechers += s.leechers;
            }
            None => out.push((
                &r.point,
                SwarmVariant {
                    label: label(&r.point),
                    downloads_s: s.downloads_s.clone(),
                    leechers: s.leechers,
                    population: &s.population,
                },
            )),
        }
    }
    out.into_iter()
        .map(|(_, mut v)| {
            v.downloads_s.sort_by(f64::total_cmp);
            v
        })
        .collect()
}

/// One parameter setting's cost and performance, pooled over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct CostPoint {
    /// The sweep point's label.
    pub label: String,
    /// Maintenance bytes per live peer per second (mean over seeds).
    pub cost: f64,
    /// Median lookup latency, ms (mean over seeds).
    pub latency_ms: f64,
}

/// One protocol's points and their convex hull.
#[derive(Clone, Debug, PartialEq)]
pub struct CostCurve {
    /// Its name.
    pub protocol: String,
    /// Every setting.
    pub points: Vec<CostPoint>,
    /// The settings on the lower convex hull, from the cheapest to the fastest: no mix of two
    /// settings is both cheaper and faster.
    pub hull: Vec<CostPoint>,
}

/// Pools runs by sweep point (mean over seeds) and groups the points by protocol, in order of
/// first appearance; runs without a cost or a latency are left out.
pub fn cost_curves(runs: &[PlotRun]) -> Vec<CostCurve> {
    let mut order: Vec<(&str, &[(String, String)])> = Vec::new();
    let mut sums: BTreeMap<usize, (f64, f64, u32)> = BTreeMap::new();
    for r in runs {
        let (Some(cost), Some(lat)) = (r.maintenance_bytes_per_peer_s, r.latency_ms_p50) else {
            continue;
        };
        let key = (r.protocol.as_str(), r.point.as_slice());
        let i = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key);
            order.len() - 1
        });
        let e = sums.entry(i).or_default();
        *e = (e.0 + cost, e.1 + lat, e.2 + 1);
    }
    let mut curves: Vec<CostCurve> = Vec::new();
    for (i, (protocol, point)) in order.iter().enumerate() {
        let (c, l, n) = sums[&i];
        let p = CostPoint { label: label(point), cost: c / n as f64, latency_ms: l / n as f64 };
        match curves.iter_mut().find(|cv| cv.protocol == *protocol) {
            Some(cv) => cv.points.push(p),
            None => curves.push(CostCurve {
                protocol: protocol.to_string(),
                points: vec![p],
                hull: Vec::new(),
            }),
        }
    }
    for cv in &mut curves {
        cv.hull = lower_hull(&cv.points);
    }
    curves
}

/// The lower convex hull of `points` (Andrew's monotone chain on cost, then latency), from the
/// cheapest point to the fastest one.
fn lower_hull(points: &[CostPoint]) -> Vec<CostPoint> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.cost.total_cmp(&b.cost).then(a.latency_ms.total_cmp(&b.latency_ms)));
    let cross = |o: &CostPoint, a: &CostPoint, b: &CostPoint| {
        (a.cost - o.cost) * (b.latency_ms - o.latency_ms)
            - (a.latency_ms - o.latency_ms) * (b.cost - o.cost)
    };
    let mut hull: Vec<CostPoint> = Vec::new();
    for p in sorted {
        while hull.len() >= 2 && cross(&hull[hull.len() - 2], &hull[hull.len() - 1], &p) <= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    // Past the fastest point the chain climbs again: those settings cost more for no gain.
    let fastest = hull
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.latency_ms.total_cmp(&b.1.latency_ms))
        .map_or(0, |(i, _)| i);
    hull.truncate(fastest + 1);
    hull
}

/// One time-series sample, as in `timeseries.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct TsPoint {
    /// End of the interval, ms.
    pub t_ms: u64,
    /// Live members.
    pub live: u64,
    /// Lookups that ended `ok` in the interval.
    pub ok: u64,
    /// Lookups that ended `failed` in the interval.
    pub failed: u64,
    /// Lookups that ended in the interval.
    pub lookups: u64,
    /// Fraction of members with the right successor.
    pub succ: f64,
    /// Fraction of members with the right predecessor.
    pub pred: f64,
    /// Fraction of members with exactly the right fingers.
    pub fingers: f64,
    /// Keys lost so far.
    pub lost: u64,
}

/// The swept key that plays the role of N.
pub const PEERS_KEY: &str = "population.peers";

/// The swept key that sets the churn rate through the session time.
pub const SESSION_KEY: &str = "churn.session_mean_s";

/// The swept key that sets the Poisson model's rate.
pub const RATE_KEY: &str = "churn.rate_per_s";

/// What the x axis of `churn_effects` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChurnAxis {
    /// Mean session time, seconds (`churn.session_mean_s`): less is more churn.
    Session,
    /// Joins and departures per second (`churn.rate_per_s`): more is more churn.
    Rate,
}

impl ChurnAxis {
    /// The swept key.
    pub fn key(self) -> &'static str {
        match self {
            ChurnAxis::Session => SESSION_KEY,
            ChurnAxis::Rate => RATE_KEY,
        }
    }
}

/// Churn statistics of one variant at one churn level, pooled over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct ChurnPoint {
    /// The churn level: the swept key's value (see [`ChurnAxis`]).
    pub x: f64,
    /// Fraction of lookups that ended `failed` or `wrong_owner` (routing failures).
    pub failure_rate: f64,
    /// Fraction of lookups that ended `not_found` (the key was lost).
    pub lost_rate: f64,
    /// Mean hops over answered lookups.
    pub hops_mean: f64,
    /// Timeouts per lookup.
    pub timeouts_per_lookup: f64,
}

/// The churn axis the runs sweep (the session time first), if any.
pub fn churn_axis(runs: &[PlotRun]) -> Option<ChurnAxis> {
    [ChurnAxis::Session, ChurnAxis::Rate]
        .into_iter()
        .find(|a| runs.iter().any(|r| r.point.iter().any(|(k, _)| k == a.key())))
}

/// Groups runs by variant (the point without the `axis` key) and pools each variant's runs at
/// each churn level.
pub fn churn_variants(runs: &[PlotRun], axis: ChurnAxis) -> Vec<(String, Vec<ChurnPoint>)> {
    let mut order: Vec<Vec<(String, String)>> = Vec::new();
    let mut groups: BTreeMap<usize, BTreeMap<String, [u64; 7]>> = BTreeMap::new();
    for r in runs {
        let Some(session) = r.point.iter().find(|(k, _)| k == axis.key()).map(|(_, v)| v.clone())
        else {
            continue;
        };
        let key: Vec<(String, String)> =
            r.point.iter().filter(|(k, _)| k != axis.key()).cloned().collect();
        let i = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key);
            order.len() - 1
        });
        let answered: u64 = r.hops.iter().map(|&(_, c)| c).sum();
        let hop_sum: u64 = r.hops.iter().map(|&(h, c)| h as u64 * c).sum();
        let acc = groups.entry(i).or_default().entry(session).or_default();
        let counts = [r.lookups, r.failed, r.wrong, r.not_found, r.timeouts, answered, hop_sum];
        for (a, v) in acc.iter_mut().zip(counts) {
            *a += v;
        }
    }
    groups
        .into_iter()
        .map(|(i, by_session)| {
            let mut points: Vec<ChurnPoint> = by_session
                .into_iter()
                .filter_map(|(s, [lookups, failed, wrong, lost, timeouts, answered, hop_sum])| {
                    let x: f64 = s.parse().ok()?;
                    (lookups > 0).then(|| ChurnPoint {
                        x,
                        failure_rate: (failed + wrong) as f64 / lookups as f64,
                        lost_rate: lost as f64 / lookups as f64,
                        hops_mean: if answered > 0 {
                            hop_sum as f64 / answered as f64
                        } else {
                            0.0
                        },
                        timeouts_per_lookup: timeouts as f64 / lookups as f64,
                    })
                })
                .collect();
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            (label(&order[i]), points)
        })
        .collect()
}

/// Pooled hop statistics of one variant at one N.
#[derive(Clone, Debug, PartialEq)]
pub struct Pooled {
    /// Peers.
    pub n: u64,
    /// Lookups pooled.
    pub lookups: u64,
    /// Mean hops.
    pub mean: f64,
    /// 5th percentile (nearest rank).
    pub p5: u32,
    /// 95th percentile (nearest rank).
    pub p95: u32,
    /// Pooled histogram.
    pub hist: Vec<(u32, u64)>,
    /// Half-width of the 95 % confidence interval of the mean over runs (seeds), if there are
    /// at least two.
    pub ci95: Option<f64>,
}

/// A variant: its label and its pooled statistics by N, ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Legend text.
    pub label: String,
    /// One entry per N.
    pub by_n: Vec<Pooled>,
}

/// Latency histograms per variant at `n` peers (seeds pooled), labelled, in order of first
/// appearance; variants without latencies are left out.
pub fn latency_curves(runs: &[PlotRun], n: u64) -> Vec<(String, Vec<(u64, u64)>)> {
    let mut order: Vec<Vec<(String, String)>> = Vec::new();
    let mut pooled: Vec<BTreeMap<u64, u64>> = Vec::new();
    for r in runs.iter().filter(|r| r.peers == n && !r.latencies.is_empty()) {
        let key: Vec<(String, String)> =
            r.point.iter().filter(|(k, _)| k != PEERS_KEY).cloned().collect();
        let i = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key);
            pooled.push(BTreeMap::new());
            order.len() - 1
        });
        for &(ms, count) in &r.latencies {
            *pooled[i].entry(ms).or_default() += count;
        }
    }
    order.iter().zip(pooled).map(|(p, h)| (label(p), h.into_iter().collect())).collect()
}

/// Groups runs into variants (in order of first appearance) and pools each variant's runs at
/// each N.
pub fn variants(runs: &[PlotRun]) -> Vec<Variant> {
    let mut order: Vec<Vec<(String, String)>> = Vec::new();
    type Group = (BTreeMap<u32, u64>, Vec<f64>);
    let mut groups: BTreeMap<usize, BTreeMap<u64, Group>> = BTreeMap::new();
    for r in runs {
        let key: Vec<(String, String)> =
            r.point.iter().filter(|(k, _)| k != PEERS_KEY).cloned().collect();
        let i = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key);
            order.len() - 1
        });
        let (hist, means) = groups.entry(i).or_default().entry(r.peers).or_default();
        for &(h, c) in &r.hops {
            *hist.entry(h).or_default() += c;
        }
        let count: u64 = r.hops.iter().map(|&(_, c)| c).sum();
        if count > 0 {
            let sum: u64 = r.hops.iter().map(|&(h, c)| h as u64 * c).sum();
            means.push(sum as f64 / count as f64);
        }
    }
    groups
        .into_iter()
        .map(|(i, by_n)| Variant {
            label: label(&order[i]),
            by_n: by_n
                .into_iter()
                .filter_map(|(n, (hist, means))| {
                    let mut p = pool(n, hist)?;
                    p.ci95 = (!means.is_empty())
                        .then(|| crate::output::tables::mean_ci95(&means).1)
                        .flatten();
                    Some(p)
                })
                .collect(),
        })
        .collect()
}

fn pool(n: u64, hist: BTreeMap<u32, u64>) -> Option<Pooled> {
    let lookups: u64 = hist.values().sum();
    if lookups == 0 {
        return None;
    }
    let total: u64 = hist.iter().map(|(&h, &c)| h as u64 * c).sum();
    let hist: Vec<(u32, u64)> = hist.into_iter().collect();
    Some(Pooled {
        n,
        lookups,
        mean: total as f64 / lookups as f64,
        p5: percentile(&hist, lookups, 5),
        p95: percentile(&hist, lookups, 95),
        hist,
        ci95: None,
    })
}

/// Nearest-rank percentile of a histogram holding `total` values.
fn percentile(hist: &[(u32, u64)], total: u64, p: u64) -> u32 {
    let rank = (total * p).div_ceil(100).max(1);
    let mut seen = 0;
    for &(h, c) in hist {
        seen += c;
        if seen >= rank {
            return h;
        }
    }
    hist.last().map_or(0, |&(h, _)| h)
}

/// A legend label for a variant: "ring", "fingers", "ring + cache 16", or key=value pairs.
pub fn label(point: &[(String, String)]) -> String {
    let get = |k: &str| point.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let mut parts = Vec::new();
    match get("overlay.fingers") {
        Some("true") => parts.push("fingers".to_string()),
        Some(_) => parts.push("ring".to_string()),
        None => {}
    }
    let cache = get("overlay.cache_size");
    if let Some(c) = cache.filter(|&c| c != "0") {
        parts.push(format!("cache {c}"));
    }
    if let Some(r) = get("overlay.successors") {
        parts.push(format!("r={r}"));
    }
    for (k, v) in point {
        if k == "variant" {
            // A named group of settings: its name is its label.
            parts.push(v.clone());
            continue;
        }
        let shown = [
            "overlay.fingers",
            "overlay.cache_size",
            "overlay.successors",
            PEERS_KEY,
            SESSION_KEY,
            RATE_KEY,
        ];
        if !shown.contains(&k.as_str()) {
            let short = k.rsplit('.').next().unwrap_or(k);
            parts.push(format!("{short}={v}"));
        }
    }
    match (parts.is_empty(), cache) {
        (false, _) => parts.join(" + "),
        (true, Some(_)) => "no cache".to_string(),
        (true, None) => "all runs".to_string(),
    }
}

/// The successor-correctness curve of each sweep point (its first run that has samples), when
/// some run starts with most successors wrong: a ring built by simultaneous joins
/// (`population.bootstrap = "joins"`), whose convergence is what there is to compare. Sweeps that
/// start from a correct ring (churn included) have no such plot. Labels name the number of
/// peers when it is swept.
pub fn convergence_curves(runs: &[PlotRun]) -> Vec<(String, Vec<(f64, f64)>)> {
    let sampled: Vec<&PlotRun> = runs.iter().filter(|r| r.samples.len() >= 2).collect();
    if !sampled.iter().any(|r| r.samples[0].succ < 0.5) {
        return Vec::new();
    }
    let ns: std::collections::BTreeSet<u64> = sampled.iter().map(|r| r.peers).collect();
    let mut seen: Vec<&[(String, String)]> = Vec::new();
    let mut curves = Vec::new();
    for r in sampled {
        if seen.contains(&r.point.as_slice()) {
            continue;
        }
        seen.push(&r.point);
        let mut name = label(&r.point);
        if ns.len() > 1 {
            name = format!("{name}, N = {}", r.peers);
        }
        let points = r.samples.iter().map(|p| (p.t_ms as f64 / 60_000.0, p.succ)).collect();
        curves.push((name, points));
    }
    curves
}

/// Every plot the data supports, as (file name under `plots/`, bytes). `distribution_n` picks
/// the N of the hop distribution (default: the largest N).
pub fn render_all(
    runs: &[PlotRun],
    distribution_n: Option<u64>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let variants = variants(runs);
    let mut files = Vec::new();
    let ns: std::collections::BTreeSet<u64> =
        variants.iter().flat_map(|v| v.by_n.iter().map(|p| p.n)).collect();
    if ns.len() >= 2 {
        files.extend(chart::both("hops_vs_n", &chart::HopsVsN { variants: &variants })?);
    }
    if let Some(axis) = churn_axis(runs) {
        let churn = churn_variants(runs, axis);
        if churn.iter().any(|(_, pts)| pts.len() >= 2) {
            let chart = chart::ChurnEffects { variants: &churn, axis };
            files.extend(chart::both("churn_effects", &chart)?);
        }
    }
    let curves = cost_curves(runs);
    // Settings compared: named variants (a sweep over one knob is better seen on its own axis).
    let maintained = runs.iter().all(|r| r.maintenance_bytes_per_peer_s.is_some_and(|c| c > 0.0));
    let settings = runs.iter().any(|r| r.point.iter().any(|(k, _)| k == "variant"));
    if maintained && settings && curves.iter().map(|c| c.points.len()).sum::<usize>() >= 2 {
        files.extend(chart::both("cost_vs_latency", &chart::CostVsLatency { protocols: &curves })?);
    }
    if let Some(r) = runs.iter().rev().find(|r| r.samples.len() >= 2) {
        let ts = chart::TimeSeries { run: r.run, samples: &r.samples };
        files.extend(chart::both("timeseries", &ts)?);
    }
    let convergence = convergence_curves(runs);
    if convergence.len() >= 2 {
        let chart = chart::RingConvergence { curves: &convergence };
        files.extend(chart::both("ring_convergence", &chart)?);
    }
    let swarms = swarm_variants(runs);
    if swarms.iter().any(|v| !v.downloads_s.is_empty()) {
        files.extend(chart::both("download_cdf", &chart::DownloadCdf { variants: &swarms })?);
    }
    if swarms.iter().any(|v| v.population.len() >= 2) {
        files.extend(chart::both(
            "swarm_population",
            &chart::SwarmPopulation { variants: &swarms },
        )?);
    }
    let n = distribution_n.filter(|n| ns.contains(n)).or_else(|| ns.last().copied());
    if let Some(n) = n {
        let latencies = latency_curves(runs, n);
        if !latencies.is_empty() {
            let chart = chart::LatencyCdf { curves: &latencies, n };
            files.extend(chart::both("latency_cdf", &chart)?);
        }
        let dist = chart::HopDistribution { variants: &variants, n };
        files.extend(chart::both("hop_distribution", &dist)?);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(run: u64, fingers: &str, peers: u64, hops: Vec<(u32, u64)>) -> PlotRun {
        let point = vec![
            ("overlay.fingers".to_string(), fingers.to_string()),
            (PEERS_KEY.to_string(), peers.to_string()),
        ];
        let lookups = hops.iter().map(|&(_, c)| c).sum();
        PlotRun {
            run,
            point,
            peers,
            hops,
            lookups,
            failed: 0,
            wrong: 0,
            not_found: 0,
            timeouts: 0,
            samples: vec![],
            protocol: "chord".into(),
            maintenance_bytes_per_peer_s: None,
            latency_ms_p50: None,
            latencies: Vec::new(),
            swarm: None,
        }
    }

    #[test]
    fn convergence_curves_need_a_ring_that_starts_wrong_and_take_one_run_per_point() {
        let sampled = |r: u64, fingers: &str, peers: u64, succ: [f64; 2]| {
            let sample = |t_ms: u64, succ: f64| TsPoint {
                t_ms,
                live: peers,
                ok: 0,
                failed: 0,
                lookups: 0,
                succ,
                pred: succ,
                fingers: 0.0,
                lost: 0,
            };
            let samples = vec![sample(20_000, succ[0]), sample(40_000, succ[1])];
            PlotRun { samples, ..run(r, fingers, peers, vec![]) }
        };
        // Rings that start right (a bootstrap ring, churn): nothing to converge.
        let churn = [sampled(0, "false", 16, [0.9, 0.8]), sampled(1, "true", 16, [1.0, 1.0])];
        assert!(convergence_curves(&churn).is_empty());
        let joins = [
            sampled(0, "false", 16, [0.1, 0.5]),
            sampled(1, "false", 16, [0.2, 0.6]), // another seed of the same point
            sampled(2, "true", 16, [0.6, 1.0]),
            sampled(3, "true", 32, [0.3, 1.0]),
        ];
        let curves = convergence_curves(&joins);
        let labels: Vec<&str> = curves.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["ring, N = 16", "fingers, N = 16", "fingers, N = 32"]);
        let minutes = 20_000.0 / 60_000.0;
        assert_eq!(curves[0].1, vec![(minutes, 0.1), (2.0 * minutes, 0.5)]);
        let svg = chart::both("ring_convergence", &chart::RingConvergence { curves: &curves });
        assert_eq!(svg.expect("draws").len(), 2);
    }

    #[test]
    fn pools_seeds_per_variant_and_n() {
        let runs = vec![
            run(0, "false", 16, vec![(1, 2), (3, 2)]),
            run(1, "false", 16, vec![(5, 4)]),
            run(2, "true", 16, vec![(1, 1)]),
        ];
        let v = variants(&runs);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].label, "ring");
        assert_eq!(v[1].label, "fingers");
        let p = &v[0].by_n[0];
        assert_eq!((p.n, p.lookups), (16, 8));
        assert_eq!(p.mean, (2.0 + 6.0 + 20.0) / 8.0);
        assert_eq!((p.p5, p.p95), (1, 5));
        assert_eq!(p.hist, vec![(1, 2), (3, 2), (5, 4)]);
    }

    #[test]
    fn labels() {
        let pt = |kv: &[(&str, &str)]| -> Vec<(String, String)> {
            kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(
            label(&pt(&[("overlay.fingers", "false"), ("overlay.cache_size", "16")])),
            "ring + cache 16"
        );
        assert_eq!(
            label(&pt(&[("overlay.fingers", "true"), ("overlay.cache_size", "0")])),
            "fingers"
        );
        assert_eq!(label(&pt(&[("overlay.cache_size", "0")])), "no cache");
        assert_eq!(label(&pt(&[("network.latency_ms", "5")])), "latency_ms=5");
        assert_eq!(label(&[]), "all runs");
    }

    #[test]
    fn renders_deterministic_svg_and_png() {
        let runs = vec![
            run(0, "false", 16, vec![(0, 1), (7, 5), (15, 1)]),
            run(1, "false", 64, vec![(31, 5), (60, 1)]),
            run(2, "true", 16, vec![(2, 3), (3, 4)]),
            run(3, "true", 64, vec![(3, 3), (4, 4)]),
        ];
        let a = render_all(&runs, None).unwrap();
        let b = render_all(&runs, None).unwrap();
        let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec!["hops_vs_n.svg", "hops_vs_n.png", "hop_distribution.svg", "hop_distribution.png"]
        );
        assert_eq!(a, b, "same data, same bytes");
        let svg = String::from_utf8(a[0].1.clone()).unwrap();
        assert!(svg.contains("(N-1)/2") && svg.contains("fingers"), "legend and reference curves");
        assert!(a[1].1.starts_with(b"\x89PNG"));
    }
}

#[cfg(test)]
mod cost_tests {
    use super::*;

    fn run(protocol: &str, setting: &str, seed: u64, cost: f64, latency: f64) -> PlotRun {
        PlotRun {
            run: seed,
            point: vec![("variant".into(), setting.into())],
            peers: 10,
            hops: vec![],
            lookups: 1,
            failed: 0,
            wrong: 0,
            not_found: 0,
            timeouts: 0,
            samples: vec![],
            protocol: protocol.into(),
            maintenance_bytes_per_peer_s: Some(cost),
            latency_ms_p50: Some(latency),
            latencies: Vec::new(),
            swarm: None,
        }
    }

    #[test]
    fn settings_are_pooled_over_seeds_and_the_hull_runs_from_cheapest_to_fastest() {
        let runs = vec![
            run("chord", "a", 1, 10.0, 400.0),
            run("chord", "a", 2, 12.0, 600.0), // a: (11, 500)
            run("chord", "b", 1, 20.0, 300.0), // on the hull
            run("chord", "c", 1, 30.0, 450.0), // dominated by b
            run("chord", "d", 1, 15.0, 490.0), // above the segment a-b: off the hull
            run("chord", "e", 1, 50.0, 290.0), // fastest: the hull ends here
            run("kademlia", "k", 1, 5.0, 900.0),
        ];
        let curves = cost_curves(&runs);
        assert_eq!(curves.len(), 2);
        let chord = &curves[0];
        assert_eq!(chord.protocol, "chord");
        assert_eq!(chord.points[0], CostPoint { label: "a".into(), cost: 11.0, latency_ms: 500.0 });
        let hull: Vec<&str> = chord.hull.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(hull, ["a", "b", "e"]);
        assert_eq!(curves[1].hull.len(), 1);
    }
}
