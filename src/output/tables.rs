//! Result files as bytes: pure functions from run results to CSV (SPEC §5).
//!
//! Column names and order are part of the product contract; the golden header test in
//! `tests/it` pins them. Each table's columns are defined once, each name next to its value:
//! as the fields of a `Serialize` row struct (the per-lookup, per-peer, per-sample and hop
//! tables), or as a list of (name, cell) pairs (the summaries, whose swept-parameter columns
//! are only known at run time). So a column cannot be silently dropped, nor its name paired
//! with another column's value.

use dhtsim_core::metrics::{LookupRecord, PeerRecord, RunResult, Summary};
use dhtsim_core::protocol::Traffic;
use dhtsim_core::swarm::run::SwarmSummary;
use serde::Serialize;
use std::borrow::Cow;

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

/// A CSV writer into memory, with the line ends every table of dhtsim uses.
pub(crate) fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().expect("writing to memory cannot fail")
}

/// A CSV of `rows`, with the header serde derives from the row type's fields. With no rows, the
/// header alone, taken from a default row written aside: the fields stay the only definition of
/// the columns.
fn write_rows<T: Serialize + Default>(rows: impl IntoIterator<Item = T>) -> Vec<u8> {
    let mut w = writer();
    let mut empty = true;
    for row in rows {
        w.serialize(row).expect("in memory");
        empty = false;
    }
    if empty {
        let mut aside = writer();
        aside.serialize(T::default()).expect("in memory");
        let bytes = finish(aside);
        let header = csv::Reader::from_reader(bytes.as_slice()).headers().cloned();
        w.write_record(&header.expect("just written")).expect("in memory");
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

/// A column of a table whose rows are computed from `X`s: its name and how to write a row's cell
/// under it. A table is one list of these, so a name and the value under it are defined together
/// and cannot be paired up wrongly.
type Column<'a, X> = (Cow<'a, str>, Box<dyn Fn(&X) -> String + 'a>);

/// A column known before any run: its name and a plain function writing its cell.
type Fixed<X> = (&'static str, fn(&X) -> String);

/// The columns of a fixed part of a table, `(name, cell)` pairs written out in a `const`.
fn fixed<'a, X: 'a>(table: &'a [Fixed<X>]) -> Vec<Column<'a, X>> {
    table.iter().map(|&(name, cell)| (Cow::Borrowed(name), Box::new(cell) as _)).collect()
}

/// The columns of the swept parameters: one per key of `first`'s point (every run of a scenario
/// sweeps the same keys, in the same order), each row's cell the value its own point gives that
/// key, looked up by name.
fn swept<'a, X: 'a>(
    first: Option<&'a [(String, String)]>,
    point: fn(&X) -> &[(String, String)],
) -> Vec<Column<'a, X>> {
    let keys = first.unwrap_or_default().iter().map(|(key, _)| key.as_str());
    keys.map(|key| {
        let cell = move |x: &X| {
            let (_, value) = point(x).iter().find(|(k, _)| k == key).expect("same keys");
            value.clone()
        };
        (Cow::Borrowed(key), Box::new(cell) as _)
    })
    .collect()
}

/// A CSV of `columns`: their names, then one line per row of their cells.
fn write_table<X>(columns: &[Column<'_, X>], rows: impl IntoIterator<Item = X>) -> Vec<u8> {
    let mut w = writer();
    w.write_record(columns.iter().map(|(name, _)| name.as_bytes())).expect("in memory");
    for row in rows {
        w.write_record(columns.iter().map(|(_, cell)| cell(&row))).expect("in memory");
    }
    finish(w)
}

/// What a row of `summary.csv` is written from: a run and its statistics.
struct RunSummary<'a> {
    out: &'a RunOutput,
    s: Summary,
    swarm: Option<SwarmSummary>,
}

impl<'a> RunSummary<'a> {
    fn of(out: &'a RunOutput) -> Self {
        let swarm = out.result.swarm.as_ref().map(|s| s.summary());
        RunSummary { out, s: Summary::of(&out.result), swarm }
    }
}

/// A fixed column of `summary.csv` (for a run summary of any lifetime).
type SummaryColumn = (&'static str, fn(&RunSummary<'_>) -> String);

/// `summary.csv`'s columns before the swept parameters.
const SUMMARY_KEY: &[SummaryColumn] =
    &[("run", |x| x.out.run.to_string()), ("seed", |x| x.out.seed.to_string())];

/// `summary.csv`'s columns after the swept parameters.
const SUMMARY_STATS: &[SummaryColumn] = &[
    ("peers", |x| x.s.peers.to_string()),
    ("lookups", |x| x.s.lookups.to_string()),
    ("hops_mean", |x| float(x.s.hops.map(|h| h.mean))),
    ("hops_p50", |x| opt(x.s.hops.map(|h| h.p50))),
    ("hops_p95", |x| opt(x.s.hops.map(|h| h.p95))),
    ("hops_p99", |x| opt(x.s.hops.map(|h| h.p99))),
    ("hops_max", |x| opt(x.s.hops.map(|h| h.max))),
    ("ok", |x| x.s.ok.to_string()),
    ("not_found", |x| x.s.not_found.to_string()),
    ("wrong_owner", |x| x.s.wrong_owner.to_string()),
    ("failed", |x| x.s.failed.to_string()),
    ("timeouts", |x| x.s.timeouts.to_string()),
    ("messages", |x| x.s.messages.to_string()),
    ("latency_ms_mean", |x| float(x.s.latency_ms_mean)),
    ("events", |x| x.out.result.events.to_string()),
    ("end_ms", |x| x.out.result.end.as_ms().to_string()),
    ("hops_p1", |x| opt(x.s.hops.map(|h| h.p1))),
    ("timeouts_p1", |x| opt(x.s.timeouts_p1_p99.map(|t| t.0))),
    ("timeouts_p99", |x| opt(x.s.timeouts_p1_p99.map(|t| t.1))),
    ("keys_mean", |x| float(x.s.load.map(|l| l.mean))),
    ("keys_p1", |x| opt(x.s.load.map(|l| l.p1))),
    ("keys_p99", |x| opt(x.s.load.map(|l| l.p99))),
    ("keys_max", |x| opt(x.s.load.map(|l| l.max))),
    ("inconsistent_rate", |x| float(x.s.consistency.share())),
    ("consistency_pairs", |x| x.s.consistency.pairs.to_string()),
    ("messages_lookup", |x| x.s.traffic.messages[Traffic::Lookup as usize].to_string()),
    ("messages_join", |x| x.s.traffic.messages[Traffic::Join as usize].to_string()),
    ("messages_maintenance", |x| x.s.traffic.messages[Traffic::Maintenance as usize].to_string()),
    ("messages_ping", |x| x.s.traffic.messages[Traffic::Ping as usize].to_string()),
    ("messages_store", |x| x.s.traffic.messages[Traffic::Store as usize].to_string()),
    ("replies", |x| x.s.traffic.replies.to_string()),
    ("bytes", |x| x.s.traffic.bytes.iter().sum::<u64>().to_string()),
    ("bytes_per_peer_s", |x| float(x.s.bytes_per_peer_s)),
    ("maintenance_bytes_per_peer_s", |x| float(x.s.maintenance_bytes_per_peer_s)),
    ("latency_ms_p50", |x| opt(x.s.latency_ms_p50_p95_p99.map(|l| l.0))),
    ("latency_ms_p95", |x| opt(x.s.latency_ms_p50_p95_p99.map(|l| l.1))),
    ("latency_ms_p99", |x| opt(x.s.latency_ms_p50_p95_p99.map(|l| l.2))),
    ("protocol", |x| x.out.result.protocol.name().to_string()),
];

/// `summary.csv`'s column when the network dropped messages (`network.loss`), after the
/// others: absent otherwise, so that a lossless run writes the bytes it wrote before loss existed.
const SUMMARY_LOSS: &[SummaryColumn] = &[("messages_dropped", |x| x.s.traffic.dropped.to_string())];

/// `summary.csv`'s columns with a latency topology (`network.latency = "plane"`), after the
/// others: each lookup's latency over the round trip between its querier and the true owner.
const SUMMARY_STRETCH: &[SummaryColumn] = &[
    ("stretch_mean", |x| float(x.s.stretch.map(|s| s.mean))),
    ("stretch_p50", |x| float(x.s.stretch.map(|s| s.p50))),
    ("stretch_p95", |x| float(x.s.stretch.map(|s| s.p95))),
];

/// `summary.csv`'s columns for swarm runs (SPEC §5), after the others; only in the summaries of
/// swarm scenarios.
const SUMMARY_SWARM: &[SummaryColumn] = &[
    ("leechers", |x| opt(x.swarm().map(|s| s.leechers))),
    ("completed", |x| opt(x.swarm().map(|s| s.completed))),
    ("aborted", |x| opt(x.swarm().map(|s| s.aborted))),
    ("download_ms_mean", |x| float(x.swarm().and_then(|s| s.download_ms.map(|d| d.0)))),
    ("download_ms_p50", |x| opt(x.swarm().and_then(|s| s.download_ms.map(|d| d.1)))),
    ("download_ms_p95", |x| opt(x.swarm().and_then(|s| s.download_ms.map(|d| d.2)))),
    ("first_peer_ms_mean", |x| float(x.swarm().and_then(|s| s.first_peer_ms_mean))),
    ("discovery_messages", |x| opt(x.swarm().map(|s| s.discovery_messages))),
    ("tracker_requests", |x| opt(x.swarm().map(|s| s.tracker_requests))),
    ("swarm_events", |x| opt(x.out.result.swarm.as_ref().map(|s| s.events))),
];

impl RunSummary<'_> {
    fn swarm(&self) -> Option<&SwarmSummary> {
        self.swarm.as_ref()
    }
}

/// `summary.csv`: one row per run.
pub fn summary_csv(runs: &[RunOutput]) -> Vec<u8> {
    summary_table(runs.iter().map(RunSummary::of).collect())
}

/// `summary.csv` from the runs' statistics.
fn summary_table(rows: Vec<RunSummary<'_>>) -> Vec<u8> {
    let first = rows.first().map(|x| x.out.point.as_slice());
    let mut columns = fixed(SUMMARY_KEY);
    columns.extend(swept(first, |x: &RunSummary<'_>| &x.out.point));
    columns.extend(fixed(SUMMARY_STATS));
    if rows.iter().any(|x| x.s.traffic.dropped > 0) {
        columns.extend(fixed(SUMMARY_LOSS));
    }
    if rows.iter().any(|x| x.s.stretch.is_some()) {
        columns.extend(fixed(SUMMARY_STRETCH));
    }
    if rows.iter().any(|x| x.swarm.is_some()) {
        columns.extend(fixed(SUMMARY_SWARM));
    }
    write_table(&columns, rows)
}

#[derive(Serialize, Default)]
struct DownloadRow {
    run: u64,
    peer: u64,
    arrive_ms: u64,
    first_peer_ms: Option<u64>,
    first_piece_ms: Option<u64>,
    complete_ms: Option<u64>,
    leave_ms: Option<u64>,
    bytes_up: u64,
    bytes_down: u64,
    discovery_messages: u64,
    /// 1 for the initial seeders.
    initial_seeder: u8,
    /// Of `bytes_up`, the bytes sent while seeding.
    bytes_up_seeding: u64,
}

/// `downloads.csv` (swarm runs): one row per swarm peer of every run, by swarm index.
pub fn downloads_csv(runs: &[RunOutput]) -> Vec<u8> {
    let rows = runs.iter().flat_map(|r| {
        let peers = r.result.swarm.as_ref().map_or(&[][..], |s| &s.peers[..]);
        peers.iter().enumerate().map(move |(i, p)| DownloadRow {
            run: r.run,
            peer: i as u64,
            arrive_ms: p.arrive.as_ms(),
            first_peer_ms: p.first_peer.map(|t| t.as_ms()),
            first_piece_ms: p.first_piece.map(|t| t.as_ms()),
            complete_ms: p.complete.map(|t| t.as_ms()),
            leave_ms: p.leave.map(|t| t.as_ms()),
            bytes_up: p.bytes_up,
            bytes_down: p.bytes_down,
            discovery_messages: p.discovery_messages,
            initial_seeder: p.initial_seeder.into(),
            bytes_up_seeding: p.bytes_up_seeding,
        })
    });
    write_rows(rows)
}

#[derive(Serialize, Default)]
struct SwarmRow {
    run: u64,
    t_ms: u64,
    seeders: u64,
    leechers: u64,
    tracker_up: u8,
    rarest_piece_copies: u32,
    /// A scrape of the tracker: the seeders it knows of (empty while it is down).
    tracker_seeders: Option<u64>,
    /// And the leechers.
    tracker_leechers: Option<u64>,
}

/// `swarm.csv` (swarm runs): the population of every run at each sample.
pub fn swarm_csv(runs: &[RunOutput]) -> Vec<u8> {
    let rows = runs.iter().flat_map(|r| {
        let samples = r.result.swarm.as_ref().map_or(&[][..], |s| &s.samples[..]);
        samples.iter().map(move |s| SwarmRow {
            run: r.run,
            t_ms: s.t.as_ms(),
            seeders: s.seeders,
            leechers: s.leechers,
            tracker_up: s.tracker_up.into(),
            rarest_piece_copies: s.rarest_piece_copies,
            tracker_seeders: s.tracker_scrape.map(|x| x.0),
            tracker_leechers: s.tracker_scrape.map(|x| x.1),
        })
    });
    write_rows(rows)
}

/// A column of `lookups.csv`, whose rows are the lookups of each run, with the run's number.
type LookupColumn = (&'static str, fn(&(u64, &LookupRecord)) -> String);

/// `lookups.csv`'s columns (SPEC §5), then the holders found and the path.
const LOOKUP_COLUMNS: &[LookupColumn] = &[
    ("run", |(run, _)| run.to_string()),
    ("lookup", |(_, l)| l.lookup.to_string()),
    ("start_ms", |(_, l)| l.start.as_ms().to_string()),
    ("origin", |(_, l)| l.origin.0.to_string()),
    ("key", |(_, l)| l.key.0.to_string()),
    ("owner", |(_, l)| opt(l.owner.map(|o| o.0))),
    ("true_owner", |(_, l)| l.true_owner.0.to_string()),
    ("hops", |(_, l)| l.hops.to_string()),
    ("timeouts", |(_, l)| l.timeouts.to_string()),
    ("latency_ms", |(_, l)| l.latency.as_ms().to_string()),
    ("outcome", |(_, l)| l.outcome.as_str().to_string()),
    // Holders found under the key, space-separated.
    ("value", |(_, l)| join_ids(&l.values)),
    // Peers visited, origin first, space-separated (when `output.paths` is on).
    ("path", |(_, l)| join_ids(&l.path)),
];

/// `lookups.csv`'s column with a latency topology: the round trip between the querier's host
/// and the true owner's (absent otherwise, so runs without one write the bytes they wrote
/// before topologies existed).
const LOOKUP_TOPOLOGY: &[LookupColumn] =
    &[("rtt_ms", |(_, l)| opt(l.round_trip.map(|r| r.as_ms())))];

fn join_ids(ids: &[dhtsim_core::ring::RingId]) -> String {
    ids.iter().map(|id| id.0.to_string()).collect::<Vec<_>>().join(" ")
}

/// `lookups.csv`: one row per lookup of every run.
pub fn lookups_csv(runs: &[RunOutput]) -> Vec<u8> {
    let mut columns = fixed(LOOKUP_COLUMNS);
    if runs.iter().any(|r| r.result.lookups.iter().any(|l| l.round_trip.is_some())) {
        columns.extend(fixed(LOOKUP_TOPOLOGY));
    }
    let rows = runs.iter().flat_map(|r| r.result.lookups.iter().map(move |l| (r.run, l)));
    write_table(&columns, rows)
}

#[derive(Serialize, Default)]
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
    write_rows(rows)
}

#[derive(Serialize, Default)]
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
    one_live_successor: u8,
    succ_correct: f64,
    pred_correct: f64,
    fingers_correct: f64,
    lost_keys: u64,
    sccs: u64,
    timeouts: u64,
    messages_lookup: u64,
    messages_join: u64,
    messages_maintenance: u64,
    messages_ping: u64,
    messages_store: u64,
}

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
                one_live_successor: h.one_live_successor.into(),
                succ_correct: h.succ_correct,
                pred_correct: h.pred_correct,
                fingers_correct: h.fingers_correct,
                lost_keys: h.lost_keys,
                sccs: h.sccs,
                timeouts: s.timeouts,
                messages_lookup: s.messages[Traffic::Lookup as usize],
                messages_join: s.messages[Traffic::Join as usize],
                messages_maintenance: s.messages[Traffic::Maintenance as usize],
                messages_ping: s.messages[Traffic::Ping as usize],
                messages_store: s.messages[Traffic::Store as usize],
            }
        })
    });
    write_rows(rows)
}

#[derive(Serialize, Default)]
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
    write_rows(rows)
}

#[derive(Serialize, Default)]
struct LatencyRow {
    run: u64,
    latency_ms: u64,
    lookups: u64,
}

/// `latency.csv` (networks whose latency is not constant): the latency distribution of each
/// run, one row per (run, latency in ms) that occurred, over the lookups answered by an owner:
/// what the latency CDF plot is drawn from.
pub fn latency_csv(runs: &[RunOutput]) -> Vec<u8> {
    let rows = runs.iter().flat_map(|r| {
        let latencies = r.result.lookup_stats.latency_ms.iter();
        latencies.map(|(&latency_ms, &lookups)| LatencyRow { run: r.run, latency_ms, lookups })
    });
    write_rows(rows)
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

/// What a row of `summary_by_point.csv` is written from: a sweep point and the statistics of its
/// runs (one per seed), in run order.
struct PointSummary<'a> {
    point: &'a [(String, String)],
    runs: Vec<&'a Summary>,
}

/// A per-run statistic that `summary_by_point.csv` aggregates over seeds (`None` when the run
/// has none).
type Metric = fn(&Summary) -> Option<f64>;

fn rate(s: &Summary, n: u64) -> Option<f64> {
    (s.lookups > 0).then(|| n as f64 / s.lookups as f64)
}

/// A fixed column of `summary_by_point.csv` (for a point summary of any lifetime).
type PointColumn = (&'static str, fn(&PointSummary<'_>) -> String);

/// `summary_by_point.csv`'s columns after the swept parameters, before the metrics.
const POINT_KEY: &[PointColumn] =
    &[("runs", |x| x.runs.len().to_string()), ("peers", |x| x.runs[0].peers.to_string())];

/// The statistics `summary_by_point.csv` aggregates, each giving two columns: its mean over the
/// point's runs, and (`<name>_ci95`) the half-width of its 95 % confidence interval.
const POINT_METRICS: &[(&str, Metric)] = &[
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
    ("bytes_per_peer_s", |s| s.bytes_per_peer_s),
    ("maintenance_bytes_per_peer_s", |s| s.maintenance_bytes_per_peer_s),
    ("latency_ms_p50", |s| s.latency_ms_p50_p95_p99.map(|l| l.0 as f64)),
    ("latency_ms_p95", |s| s.latency_ms_p50_p95_p99.map(|l| l.1 as f64)),
    ("latency_ms_p99", |s| s.latency_ms_p50_p95_p99.map(|l| l.2 as f64)),
    ("inconsistent_rate", |s| s.consistency.share()),
    ("consistency_pairs", |s| Some(s.consistency.pairs as f64)),
];

/// The statistics `summary_by_point.csv` aggregates with a latency topology, after the others.
const POINT_STRETCH: &[(&str, Metric)] = &[
    ("stretch_mean", |s| s.stretch.map(|x| x.mean)),
    ("stretch_p50", |s| s.stretch.map(|x| x.p50)),
    ("stretch_p95", |s| s.stretch.map(|x| x.p95)),
];

/// The two columns of `metric`: its mean over a point's runs and the half-width of its 95 %
/// confidence interval, both empty when no run has it.
fn metric_columns<'a>((name, metric): (&'a str, Metric)) -> [Column<'a, PointSummary<'a>>; 2] {
    let stats = move |x: &PointSummary<'_>| {
        let xs: Vec<f64> = x.runs.iter().copied().filter_map(metric).collect();
        (!xs.is_empty()).then(|| mean_ci95(&xs))
    };
    [
        (Cow::Borrowed(name), Box::new(move |x| float(stats(x).map(|(mean, _)| mean)))),
        (
            Cow::Owned(format!("{name}_ci95")),
            Box::new(move |x| float(stats(x).and_then(|(_, ci)| ci))),
        ),
    ]
}

/// `summary_by_point.csv`: one row per sweep point, its runs (one per seed) aggregated: the mean
/// of each per-run statistic and the half-width of its 95 % confidence interval over seeds.
pub fn summary_by_point_csv(runs: &[RunOutput]) -> Vec<u8> {
    let summaries: Vec<RunSummary<'_>> = runs.iter().map(RunSummary::of).collect();
    by_point_table(&summaries)
}

/// `summary_by_point.csv` from the runs' statistics.
fn by_point_table<'a>(runs: &'a [RunSummary<'a>]) -> Vec<u8> {
    let mut points: Vec<PointSummary<'a>> = Vec::new();
    for r in runs {
        match points.iter_mut().find(|p| p.point == r.out.point.as_slice()) {
            Some(p) => p.runs.push(&r.s),
            None => points.push(PointSummary { point: &r.out.point, runs: vec![&r.s] }),
        }
    }
    let first = runs.first().map(|r| r.out.point.as_slice());
    let mut columns = swept(first, |x: &PointSummary<'_>| x.point);
    columns.extend(fixed(POINT_KEY));
    columns.extend(POINT_METRICS.iter().copied().flat_map(metric_columns));
    if runs.iter().any(|r| r.s.stretch.is_some()) {
        columns.extend(POINT_STRETCH.iter().copied().flat_map(metric_columns));
    }
    write_table(&columns, points)
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

    /// The contract's header of `lookups.csv`, which serde derives from `LookupRow`.
    const LOOKUP_COLUMNS: &[&str] = &[
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

    /// The contract's header of `timeseries.csv`, which serde derives from `SampleRow`.
    const SAMPLE_COLUMNS: &[&str] = &[
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
        "one_live_successor",
        "succ_correct",
        "pred_correct",
        "fingers_correct",
        "lost_keys",
        "sccs",
        "timeouts",
        "messages_lookup",
        "messages_join",
        "messages_maintenance",
        "messages_ping",
        "messages_store",
    ];

    #[test]
    fn confidence_interval_of_known_values() {
        let (m, ci) = mean_ci95(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // sd = 1.29099, t(3) = 3.182: 3.182 * 1.29099 / 2 = 2.0540.
        assert!((ci.unwrap() - 2.0540).abs() < 1e-3, "{ci:?}");
        assert_eq!(mean_ci95(&[7.0]), (7.0, None));
    }

    /// A run that measured nothing: no lookups, peers, samples or snapshots.
    fn bare_run(run: u64, seed: u64, point: &[(&str, &str)]) -> RunOutput {
        RunOutput {
            run,
            seed,
            point: point.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            result: RunResult {
                seed,
                protocol: Default::default(),
                traffic: Default::default(),
                initial_peers: 0,
                lookups: vec![],
                lookup_stats: Default::default(),
                peers: vec![],
                messages: 0,
                events: 0,
                end: dhtsim_core::time::SimTime(0),
                samples: vec![],
                snapshots: vec![],
                stopped: None,
                warnings: vec![],
                load: vec![],
                swarm: None,
            },
        }
    }

    /// Statistics whose every field holds a value no other field holds.
    fn distinct_summary() -> Summary {
        use dhtsim_core::metrics::{Consistency, HopStats, LoadStats};
        Summary {
            peers: 11,
            lookups: 1000,
            hops: Some(HopStats { mean: 1.5, p1: 3, p50: 12, p95: 13, p99: 4, max: 14 }),
            ok: 100,
            not_found: 400,
            wrong_owner: 500,
            failed: 200,
            timeouts: 300,
            messages: 600,
            latency_ms_mean: Some(2.5),
            stretch: None,
            timeouts_p1_p99: Some((5, 6)),
            load: Some(LoadStats { mean: 7.5, p1: 8, p99: 9, max: 10 }),
            consistency: Consistency { pairs: 80, differing: 10 },
            traffic: dhtsim_core::metrics::TrafficStats {
                messages: [21, 22, 23, 24, 25],
                bytes: [1000, 2000, 3000, 4000, 5000],
                replies: 26,
                dropped: 0,
                peer_ms: 0,
            },
            bytes_per_peer_s: Some(27.5),
            maintenance_bytes_per_peer_s: Some(28.5),
            latency_ms_p50_p95_p99: Some((31, 32, 33)),
        }
    }

    /// The one data line of `csv` as (column, cell) pairs, checking that `expected` names every
    /// column with its cell, and that its cells differ, so a name swapped with another would
    /// show.
    fn assert_columns_hold(text: &str, expected: &[(&str, &str)]) {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let header: Vec<&str> = lines[0].split(',').collect();
        let cells: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(header.len(), cells.len());
        let found: Vec<(&str, &str)> = header.into_iter().zip(cells).collect();
        let mut names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
        let mut values: Vec<&str> = expected.iter().map(|(_, v)| *v).collect();
        names.sort_unstable();
        names.dedup();
        values.sort_unstable();
        values.dedup();
        assert_eq!(names.len(), expected.len(), "a column expected twice");
        assert_eq!(values.len(), expected.len(), "two columns expected to hold the same value");
        assert_eq!(found.len(), expected.len(), "{found:?}");
        for (name, value) in expected {
            let cell = found.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
            assert_eq!(cell, Some(*value), "column {name}");
        }
    }

    #[test]
    fn every_summary_column_holds_the_field_it_is_named_after() {
        let mut out = bare_run(17, 18, &[("overlay.fingers", "true"), ("churn.rate", "0.25")]);
        out.result.events = 15;
        out.result.end = dhtsim_core::time::SimTime(16);
        let csv = summary_table(vec![RunSummary { out: &out, s: distinct_summary(), swarm: None }]);
        assert_columns_hold(
            &String::from_utf8(csv).unwrap(),
            &[
                ("run", "17"),
                ("seed", "18"),
                ("overlay.fingers", "true"),
                ("churn.rate", "0.25"),
                ("peers", "11"),
                ("lookups", "1000"),
                ("hops_mean", "1.5"),
                ("hops_p1", "3"),
                ("hops_p50", "12"),
                ("hops_p95", "13"),
                ("hops_p99", "4"),
                ("hops_max", "14"),
                ("ok", "100"),
                ("not_found", "400"),
                ("wrong_owner", "500"),
                ("failed", "200"),
                ("timeouts", "300"),
                ("messages", "600"),
                ("latency_ms_mean", "2.5"),
                ("events", "15"),
                ("end_ms", "16"),
                ("timeouts_p1", "5"),
                ("timeouts_p99", "6"),
                ("keys_mean", "7.5"),
                ("keys_p1", "8"),
                ("keys_p99", "9"),
                ("keys_max", "10"),
                ("inconsistent_rate", "0.125"),
                ("consistency_pairs", "80"),
                ("messages_lookup", "21"),
                ("messages_join", "22"),
                ("messages_maintenance", "23"),
                ("messages_ping", "24"),
                ("messages_store", "25"),
                ("replies", "26"),
                ("bytes", "15000"),
                ("bytes_per_peer_s", "27.5"),
                ("maintenance_bytes_per_peer_s", "28.5"),
                ("latency_ms_p50", "31"),
                ("latency_ms_p95", "32"),
                ("latency_ms_p99", "33"),
                ("protocol", "chord"),
            ],
        );
    }

    #[test]
    fn every_summary_by_point_column_holds_the_statistic_it_is_named_after() {
        let point = [("overlay.fingers", "true"), ("churn.rate", "0.25")];
        let (a, b) = (bare_run(0, 1, &point), bare_run(1, 2, &point));
        // Two seeds with the same statistics: each mean is the run's value, each interval 0.
        let runs = [
            RunSummary { out: &a, s: distinct_summary(), swarm: None },
            RunSummary { out: &b, s: distinct_summary(), swarm: None },
        ];
        let expected = [
            ("overlay.fingers", "true"),
            ("churn.rate", "0.25"),
            ("runs", "2"),
            ("peers", "11"),
            ("hops_mean", "1.5"),
            ("ok_rate", "0.1"),
            ("failed_rate", "0.2"),
            ("timeouts_per_lookup", "0.3"),
            ("latency_ms_mean", "2.5"),
            ("hops_p1", "3"),
            ("hops_p99", "4"),
            ("not_found_rate", "0.4"),
            ("wrong_owner_rate", "0.5"),
            ("timeouts_p1", "5"),
            ("timeouts_p99", "6"),
            ("keys_mean", "7.5"),
            ("keys_p1", "8"),
            ("keys_p99", "9"),
            ("keys_max", "10"),
            ("messages_per_lookup", "0.6"),
            ("bytes_per_peer_s", "27.5"),
            ("maintenance_bytes_per_peer_s", "28.5"),
            ("latency_ms_p50", "31"),
            ("latency_ms_p95", "32"),
            ("latency_ms_p99", "33"),
            ("inconsistent_rate", "0.125"),
            ("consistency_pairs", "80"),
        ];
        let text = String::from_utf8(by_point_table(&runs)).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let cells: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
        // Each interval follows its mean, and is 0 (the only 0 of the row).
        for (i, name) in header.iter().enumerate() {
            if let Some(metric) = name.strip_suffix("_ci95") {
                assert_eq!((header[i - 1], cells[i]), (metric, "0"), "column {name}");
            }
        }
        // Without the intervals, every column holds its own value.
        let means: Vec<usize> =
            (0..header.len()).filter(|&i| !header[i].ends_with("_ci95")).collect();
        let line = |fields: &[&str]| means.iter().map(|&i| fields[i]).collect::<Vec<_>>().join(",");
        assert_columns_hold(&format!("{}\n{}\n", line(&header), line(&cells)), &expected);
    }

    #[test]
    fn empty_tables_keep_their_headers() {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
        assert_eq!(
            text(summary_csv(&[])),
            "run,seed,peers,lookups,hops_mean,hops_p50,hops_p95,hops_p99,hops_max,ok,not_found,\
             wrong_owner,failed,timeouts,messages,latency_ms_mean,events,end_ms,hops_p1,\
             timeouts_p1,timeouts_p99,keys_mean,keys_p1,keys_p99,keys_max,inconsistent_rate,\
             consistency_pairs,messages_lookup,messages_join,messages_maintenance,messages_ping,\
             messages_store,replies,bytes,bytes_per_peer_s,maintenance_bytes_per_peer_s,\
             latency_ms_p50,latency_ms_p95,latency_ms_p99,protocol\r\n"
        );
        assert_eq!(
            text(summary_by_point_csv(&[])),
            "runs,peers,hops_mean,hops_mean_ci95,ok_rate,ok_rate_ci95,failed_rate,\
             failed_rate_ci95,timeouts_per_lookup,timeouts_per_lookup_ci95,latency_ms_mean,\
             latency_ms_mean_ci95,hops_p1,hops_p1_ci95,hops_p99,hops_p99_ci95,not_found_rate,\
             not_found_rate_ci95,wrong_owner_rate,wrong_owner_rate_ci95,timeouts_p1,\
             timeouts_p1_ci95,timeouts_p99,timeouts_p99_ci95,keys_mean,keys_mean_ci95,keys_p1,\
             keys_p1_ci95,keys_p99,keys_p99_ci95,keys_max,keys_max_ci95,messages_per_lookup,\
             messages_per_lookup_ci95,bytes_per_peer_s,bytes_per_peer_s_ci95,\
             maintenance_bytes_per_peer_s,maintenance_bytes_per_peer_s_ci95,latency_ms_p50,\
             latency_ms_p50_ci95,latency_ms_p95,latency_ms_p95_ci95,latency_ms_p99,\
             latency_ms_p99_ci95,inconsistent_rate,\
             inconsistent_rate_ci95,consistency_pairs,consistency_pairs_ci95\r\n"
        );
        let runs = [bare_run(0, 1, &[("population.peers", "8")])];
        assert_eq!(text(lookups_csv(&runs)), format!("{}\r\n", LOOKUP_COLUMNS.join(",")));
        assert_eq!(
            text(peers_csv(&runs)),
            "run,peer,join_ms,leave_ms,leave_kind,join_hops,join_path,host,keys\r\n"
        );
        assert_eq!(text(timeseries_csv(&runs)), format!("{}\r\n", SAMPLE_COLUMNS.join(",")));
        assert_eq!(
            SAMPLE_COLUMNS.join(","),
            "run,t_ms,live_peers,joins,leaves,crashes,lookups,hops_mean,ok,failed,\
             at_least_one_ring,at_most_one_ring,ordered_ring,connected_appendages,\
             ordered_successor_lists,one_live_successor,succ_correct,pred_correct,\
             fingers_correct,lost_keys,sccs,timeouts,messages_lookup,messages_join,\
             messages_maintenance,messages_ping,messages_store"
        );
        assert_eq!(text(hops_csv(&runs)), "run,hops,lookups\r\n");
        // A run that measured nothing still has its row, swept value included, in the summary.
        assert_eq!(
            text(summary_csv(&runs)).lines().nth(1).unwrap(),
            "0,1,8,0,0,,,,,,0,0,0,0,0,0,,0,0,,,,,,,,,0,0,0,0,0,0,0,0,,,,,,chord"
        );
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
            round_trip: None,
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
                protocol: Default::default(),
                traffic: Default::default(),
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
                swarm: None,
            },
        };
        let text = String::from_utf8(lookups_csv(std::slice::from_ref(&run))).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), LOOKUP_COLUMNS.join(","));
        assert_eq!(lines.next().unwrap(), "0,0,5,13,45,48,48,4,0,250,ok,1,13 25");
        // With a topology, the round trip follows.
        run.result.lookups[0].round_trip = Some(SimDuration(90));
        let text = String::from_utf8(lookups_csv(std::slice::from_ref(&run))).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), format!("{},rtt_ms", LOOKUP_COLUMNS.join(",")));
        assert_eq!(lines.next().unwrap(), "0,0,5,13,45,48,48,4,0,250,ok,1,13 25,90");
        run.result.lookups.clear();
        let empty = String::from_utf8(lookups_csv(&[run])).unwrap();
        assert_eq!(empty.trim_end(), LOOKUP_COLUMNS.join(","));
    }
}
