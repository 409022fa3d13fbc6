//! Result files as bytes: pure functions from run results to CSV (SPEC §5).
//!
//! Column names and order are part of the product contract; the golden header test in
//! `tests/it` pins them. Rows are `Serialize` structs, so a column cannot be silently dropped.

use dhtsim_core::metrics::{LookupRecord, PeerRecord, RunResult, Summary};
use serde::Serialize;

/// One run of a (possibly swept) scenario, as the writers see it.
pub struct RunOutput {
    /// Number of the run, from 0.
    pub run: u64,
    /// Its seed.
    pub seed: u64,
    /// The swept keys and the value this run used for each, in sweep order.
    pub point: Vec<(String, String)>,
    /// What it measured.
    pub result: RunResult,
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().expect("writing to memory cannot fail")
}

/// A CSV of `rows`, with the header serde derives from the row type; `columns` (the same names)
/// is written instead when there are no rows, so an empty table still has its header.
fn write_rows<T: Serialize>(columns: &[&str], rows: impl IntoIterator<Item = T>) -> Vec<u8> {
    let mut w = writer();
    let mut empty = true;
    for row in rows {
        w.serialize(row).expect("in memory");
        empty = false;
    }
    if empty {
        w.write_record(columns).expect("in memory");
    }
    finish(w)
}

/// Formats a float the shortest way that reads back exactly; empty when absent.
fn float(x: Option<f64>) -> String {
    x.map_or_else(String::new, |x| format!("{x}"))
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map_or_else(String::new, |x| x.to_string())
}

/// `summary.csv`: one row per run.
pub fn summary_csv(runs: &[RunOutput]) -> Vec<u8> {
    let mut w = writer();
    let swept: Vec<&str> =
        runs.first().map(|r| r.point.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
    let mut header = vec!["run", "seed"];
    header.extend(&swept);
    header.extend([
        "peers",
        "lookups",
        "hops_mean",
        "hops_p50",
        "hops_p95",
        "hops_p99",
        "hops_max",
        "ok",
        "not_found",
        "wrong_owner",
        "failed",
        "timeouts",
        "messages",
        "latency_ms_mean",
        "events",
        "end_ms",
        "hops_p1",
        "timeouts_p1",
        "timeouts_p99",
        "keys_mean",
        "keys_p1",
        "keys_p99",
        "keys_max",
    ]);
    w.write_record(&header).expect("in memory");
    for r in runs {
        let s = Summary::of(&r.result);
        let h = s.hops;
        let mut row = vec![r.run.to_string(), r.seed.to_string()];
        row.extend(r.point.iter().map(|(_, v)| v.clone()));
        row.extend([
            s.peers.to_string(),
            s.lookups.to_string(),
            float(h.map(|h| h.mean)),
            opt(h.map(|h| h.p50)),
            opt(h.map(|h| h.p95)),
            opt(h.map(|h| h.p99)),
            opt(h.map(|h| h.max)),
            s.ok.to_string(),
            s.not_found.to_string(),
            s.wrong_owner.to_string(),
            s.failed.to_string(),
            s.timeouts.to_string(),
            s.messages.to_string(),
            float(s.latency_ms_mean),
            r.result.events.to_string(),
            r.result.end.as_ms().to_string(),
            opt(h.map(|h| h.p1)),
            opt(s.timeouts_p1_p99.map(|t| t.0)),
            opt(s.timeouts_p1_p99.map(|t| t.1)),
            float(s.load.map(|l| l.mean)),
            opt(s.load.map(|l| l.p1)),
            opt(s.load.map(|l| l.p99)),
            opt(s.load.map(|l| l.max)),
        ]);
        w.write_record(&row).expect("in memory");
    }
    finish(w)
}

#[derive(Serialize)]
struct LookupRow {
    run: u64,
    lookup: u64,
    start_ms: u64,
    origin: u64,
    key: u64,
    owner: Option<u64>,
    true_owner: u64,
    hops: u32,
    timeouts: u32,
    latency_ms: u64,
    outcome: &'static str,
    /// Holders found under the key, space-separated.
    value: String,
    /// Peers visited, origin first, space-separated (when `output.paths` is on).
    path: String,
}

fn join_ids(ids: &[dhtsim_core::ring::RingId]) -> String {
    ids.iter().map(|id| id.0.to_string()).collect::<Vec<_>>().join(" ")
}

impl LookupRow {
    fn new(run: u64, l: &LookupRecord) -> Self {
        LookupRow {
            run,
            lookup: l.lookup,
            start_ms: l.start.as_ms(),
            origin: l.origin.0,
            key: l.key.0,
            owner: l.owner.map(|o| o.0),
            true_owner: l.true_owner.0,
            hops: l.hops,
            timeouts: l.timeouts,
            latency_ms: l.latency.as_ms(),
            outcome: l.outcome.as_str(),
            value: join_ids(&l.values),
            path: join_ids(&l.path),
        }
    }
}

/// `lookups.csv`: one row per lookup of every run.
pub fn lookups_csv(runs: &[RunOutput]) -> Vec<u8> {
    let rows = runs.iter().flat_map(|r| r.result.lookups.iter().map(|l| LookupRow::new(r.run, l)));
    write_rows(LOOKUP_COLUMNS, rows)
}

/// Header of `lookups.csv` (written by serde from `LookupRow`; spelled out for empty files).
pub const LOOKUP_COLUMNS: &[&str] = &[
    "run",
    "lookup",
    "start_ms",
    "origin",
    "key",
    "owner",
    "true_owner",
    "hops",
    "timeouts",
    "latency_ms",
    "outcome",
    "value",
    "path",
];

#[derive(Serialize)]
struct PeerRow {
    run: u64,
    peer: u64,
    join_ms: Option<u64>,
    leave_ms: Option<u64>,
    leave_kind: Option<&'static str>,
    /// Messages the join query took (empty for bootstrap peers).
    join_hops: Option<u32>,
    /// Peers the join query visited, the joiner first (when paths are recorded).
    join_path: String,
    /// The physical peer running this ring node (differs from the row's own number only with
    /// virtual nodes).
    host: u32,
    /// Stored entries whose key it truly owns at the end (empty if it left or nothing was stored).
    keys: Option<u64>,
}

impl PeerRow {
    fn new(run: u64, p: &PeerRecord) -> Self {
        PeerRow {
            run,
            peer: p.id.0,
            join_ms: p.join.map(|t| t.as_ms()),
            leave_ms: p.leave.map(|(t, _)| t.as_ms()),
            leave_kind: p.leave.map(|(_, k)| k.as_str()),
            join_hops: p.join_hops,
            join_path: join_ids(&p.join_path),
            host: p.host,
            keys: p.keys,
        }
    }
}

/// `peers.csv`: one row per peer of every run.
pub fn peers_csv(runs: &[RunOutput]) -> Vec<u8> {
    let rows = runs.iter().flat_map(|r| r.result.peers.iter().map(|p| PeerRow::new(r.run, p)));
    let columns = [
        "run",
        "peer",
        "join_ms",
        "leave_ms",
        "leave_kind",
        "join_hops",
        "join_path",
        "host",
        "keys",
    ];
    write_rows(&columns, rows)
}

#[derive(Serialize)]
struct SampleRow {
    run: u64,
    t_ms: u64,
    live_peers: u64,
    joins: u64,
    leaves: u64,
    crashes: u64,
    lookups: u64,
    hops_mean: String,
    ok: u64,
    failed: u64,
    at_least_one_ring: u8,
    at_most_one_ring: u8,
    ordered_ring: u8,
    connected_appendages: u8,
    ordered_successor_lists: u8,
    succ_correct: f64,
    pred_correct: f64,
    fingers_correct: f64,
    lost_keys: u64,
    sccs: u64,
    timeouts: u64,
}

/// Columns of `timeseries.csv`.
pub const SAMPLE_COLUMNS: &[&str] = &[
    "run",
    "t_ms",
    "live_peers",
    "joins",
    "leaves",
    "crashes",
    "lookups",
    "hops_mean",
    "ok",
    "failed",
    "at_least_one_ring",
    "at_most_one_ring",
    "ordered_ring",
    "connected_appendages",
    "ordered_successor_lists",
    "succ_correct",
    "pred_correct",
    "fingers_correct",
    "lost_keys",
    "sccs",
    "timeouts",
];

/// `timeseries.csv`: one row per run and sample interval: counts over the interval (joins,
/// departures, lookups that ended in it) and the ring's health at its end.
pub fn timeseries_csv(runs: &[RunOutput]) -> Vec<u8> {
    let rows = runs.iter().flat_map(|r| {
        r.result.samples.iter().map(move |s| {
            let h = &s.health;
            SampleRow {
                run: r.run,
                t_ms: s.t.as_ms(),
                live_peers: h.members,
                joins: s.joins,
                leaves: s.leaves,
                crashes: s.crashes,
                lookups: s.lookups,
                hops_mean: float((s.answered > 0).then(|| s.hops_sum as f64 / s.answered as f64)),
                ok: s.ok,
                failed: s.failed,
                at_least_one_ring: h.at_least_one_ring.into(),
                at_most_one_ring: h.at_most_one_ring.into(),
                ordered_ring: h.ordered_ring.into(),
                connected_appendages: h.connected_appendages.into(),
                ordered_successor_lists: h.ordered_successor_lists.into(),
                succ_correct: h.succ_correct,
                pred_correct: h.pred_correct,
                fingers_correct: h.fingers_correct,
                lost_keys: h.lost_keys,
                sccs: h.sccs,
                timeouts: s.timeouts,
            }
        })
    });
    write_rows(SAMPLE_COLUMNS, rows)
}

#[derive(Serialize)]
struct HopRow {
    run: u64,
    hops: u32,
    lookups: u64,
}

/// `hops.csv`: the hop-count distribution of each run, one row per (run, hop count) that
/// occurred, over the lookups answered by an owner (every outcome but `failed`). Compact enough
/// to keep for every sweep, and all the plots need.
pub fn hops_csv(runs: &[RunOutput]) -> Vec<u8> {
    let rows = runs.iter().flat_map(|r| {
        hop_histogram(&r.result).into_iter().map(|(hops, lookups)| HopRow {
            run: r.run,
            hops,
            lookups,
        })
    });
    write_rows(&["run", "hops", "lookups"], rows)
}

/// (hops, lookups) for each hop count that occurred among the lookups answered by an owner.
pub fn hop_histogram(result: &RunResult) -> Vec<(u32, u64)> {
    result.lookup_stats.hop_histogram()
}

/// Two-sided 95 % Student t quantiles for 1 to 30 degrees of freedom; 1.96 beyond.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Mean and half-width of the 95 % confidence interval (Student t) of `xs`, summed in order;
/// the half-width is `None` with fewer than two values.
pub fn mean_ci95(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, None);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let t = T95.get(n - 2).copied().unwrap_or(1.96);
    (mean, Some(t * (var / n as f64).sqrt()))
}

/// `summary_by_point.csv`: one row per sweep point, its runs (one per seed) aggregated: the mean
/// of each per-run statistic and the half-width of its 95 % confidence interval over seeds.
pub fn summary_by_point_csv(runs: &[RunOutput]) -> Vec<u8> {
    type Point<'a> = &'a [(String, String)];
    let mut groups: Vec<(Point<'_>, Vec<&RunOutput>)> = Vec::new();
    for r in runs {
        match groups.iter_mut().find(|(p, _)| *p == r.point.as_slice()) {
            Some((_, members)) => members.push(r),
            None => groups.push((&r.point, vec![r])),
        }
    }
    type Metric = fn(&Summary) -> Option<f64>;
    fn rate(s: &Summary, n: u64) -> Option<f64> {
        (s.lookups > 0).then(|| n as f64 / s.lookups as f64)
    }
    let metrics: [(&str, Metric); 16] = [
        ("hops_mean", |s| s.hops.map(|h| h.mean)),
        ("ok_rate", |s| rate(s, s.ok)),
        ("failed_rate", |s| rate(s, s.failed)),
        ("timeouts_per_lookup", |s| rate(s, s.timeouts)),
        ("latency_ms_mean", |s| s.latency_ms_mean),
        ("hops_p1", |s| s.hops.map(|h| h.p1 as f64)),
        ("hops_p99", |s| s.hops.map(|h| h.p99 as f64)),
        ("not_found_rate", |s| rate(s, s.not_found)),
        ("wrong_owner_rate", |s| rate(s, s.wrong_owner)),
        ("timeouts_p1", |s| s.timeouts_p1_p99.map(|t| t.0 as f64)),
        ("timeouts_p99", |s| s.timeouts_p1_p99.map(|t| t.1 as f64)),
        ("keys_mean", |s| s.load.map(|l| l.mean)),
        ("keys_p1", |s| s.load.map(|l| l.p1 as f64)),
        ("keys_p99", |s| s.load.map(|l| l.p99 as f64)),
        ("keys_max", |s| s.load.map(|l| l.max as f64)),
        ("messages_per_lookup", |s| rate(s, s.messages)),
    ];
    let mut w = writer();
    let mut header: Vec<String> =
        runs.first().map(|r| r.point.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
    header.extend(["runs".to_string(), "peers".to_string()]);
    for (name, _) in &metrics {
        header.push(name.to_string());
        header.push(format!("{name}_ci95"));
    }
    w.write_record(&header).expect("in memory");
    for (point, members) in groups {
        let summaries: Vec<Summary> = members.iter().map(|r| Summary::of(&r.result)).collect();
        let mut row: Vec<String> = point.iter().map(|(_, v)| v.clone()).collect();
        row.push(members.len().to_string());
        row.push(summaries[0].peers.to_string());
        for (_, metric) in &metrics {
            let xs: Vec<f64> = summaries.iter().filter_map(metric).collect();
            if xs.is_empty() {
                row.extend([String::new(), String::new()]);
            } else {
                let (mean, ci) = mean_ci95(&xs);
                row.push(float(Some(mean)));
                row.push(float(ci));
            }
        }
        w.write_record(&row).expect("in memory");
    }
    finish(w)
}

/// One Graphviz DOT file per overlay snapshot: `overlay-run<R>-<t>ms.dot`, members as nodes in
/// ring order (labelled by ID, with their predecessor), successor pointers solid, the rest of the
/// successor list dashed, fingers dotted.
pub fn dot_files(runs: &[RunOutput]) -> Vec<(String, Vec<u8>)> {
    use std::fmt::Write;
    let mut files = Vec::new();
    for r in runs {
        for snap in &r.result.snapshots {
            let mut s = String::new();
            let t = snap.t.as_ms();
            writeln!(s, "digraph overlay {{").expect("string");
            writeln!(s, "  label=\"run {} at {t} ms: {} members\";", r.run, snap.members.len())
                .expect("string");
            writeln!(s, "  node [shape=circle];").expect("string");
            for (id, pred) in &snap.members {
                let pred = pred.map_or_else(|| "?".to_string(), |p| p.0.to_string());
                writeln!(s, "  \"{id}\" [tooltip=\"pred {pred}\"];").expect("string");
            }
            for (from, to, kind) in &snap.edges {
                let style = match *kind {
                    "succ" => "solid",
                    "list" => "dashed",
                    _ => "dotted",
                };
                writeln!(s, "  \"{from}\" -> \"{to}\" [style={style}, class={kind}];")
                    .expect("string");
            }
            writeln!(s, "}}").expect("string");
            files.push((format!("overlay-run{}-{t}ms.dot", r.run), s.into_bytes()));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_of_known_values() {
        let (m, ci) = mean_ci95(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // sd = 1.29099, t(3) = 3.182: 3.182 * 1.29099 / 2 = 2.0540.
        assert!((ci.unwrap() - 2.0540).abs() < 1e-3, "{ci:?}");
        assert_eq!(mean_ci95(&[7.0]), (7.0, None));
    }

    #[test]
    fn lookup_header_matches_the_row_struct() {
        use dhtsim_core::ring::RingId;
        use dhtsim_core::time::{SimDuration, SimTime};
        let record = LookupRecord {
            lookup: 0,
            start: SimTime(5),
            origin: RingId(13),
            key: RingId(45),
            owner: Some(RingId(48)),
            true_owner: RingId(48),
            hops: 4,
            timeouts: 0,
            latency: SimDuration(250),
            outcome: dhtsim_core::metrics::Outcome::Ok,
            values: vec![RingId(1)],
            path: vec![RingId(13), RingId(25)],
        };
        let mut run = RunOutput {
            run: 0,
            seed: 1,
            point: vec![],
            result: RunResult {
                seed: 1,
                initial_peers: 8,
                lookups: vec![record],
                lookup_stats: Default::default(),
                peers: vec![],
                messages: 5,
                events: 6,
                end: SimTime(255),
                samples: vec![],
                snapshots: vec![],
                stopped: None,
                warnings: vec![],
                load: vec![],
            },
        };
        let text = String::from_utf8(lookups_csv(std::slice::from_ref(&run))).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), LOOKUP_COLUMNS.join(","));
        assert_eq!(lines.next().unwrap(), "0,0,5,13,45,48,48,4,0,250,ok,1,13 25");
        run.result.lookups.clear();
        let empty = String::from_utf8(lookups_csv(&[run])).unwrap();
        assert_eq!(empty.trim_end(), LOOKUP_COLUMNS.join(","));
    }
}
