//! The memory check before a run: the scenario's estimated peak against what the machine has
//! available, so that a run too big for it stops with a clear message before it starts instead
//! of being killed half-way.
//!
//! The peak of `dhtsim run` is reached while the result files are rendered: every run's results
//! are still held (a sweep keeps each `RunOutput` until the end), the allocator still holds the
//! working memory of the last runs, and every output file is built in memory before any is
//! written. So the estimate is the sum of: a fixed baseline (the binary, the runtime, a stack per
//! worker thread), each run's specification and bookkeeping, each run's results and the working
//! state of the largest runs that can be in progress at once (`dhtsim_core::footprint`), the
//! bytes of every result file (modelled below from the columns and the rows the configuration
//! implies), and the plot renderer's bitmap. docs/performance.md compares it with measured peaks.

use crate::output::manifest::RunInfo;
use crate::output::tables::RunOutput;
use crate::plot::{PlotRun, TsPoint};
use crate::scenario::{RunSpec, Scenario};
use dhtsim_core::churn::{ChurnModel, TraceEvent};
use dhtsim_core::config::{Config, KeyDist, ScriptedEvent};
use dhtsim_core::footprint::{self, Footprint, block, grown};
use dhtsim_core::metrics::Summary;
use std::mem::size_of;

/// What the process holds whatever the scenario: code and data of the binary, the runtime and
/// the allocator's first pages (5.0 MB measured for the lecture scenario without plots).
const BASELINE: f64 = 5.0e6;
/// Each worker thread: the pages of its stack and of its allocator arena that it touches.
const PER_THREAD: f64 = 0.25e6;
/// Drawing the plots: one 1000 × 650 RGB bitmap at a time (1.95 MB), the font's glyphs, the
/// encoded SVG and PNG files (2.5 MB measured for the lecture scenario).
const PLOTS: f64 = 2.5e6;

/// Share of the live heap lost to fragmentation in a sweep with more runs than threads.
const FRAGMENTATION: f64 = 0.1;

/// The estimated peak of running a scenario, by part, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    /// The binary, the runtime and the worker threads.
    pub baseline: u64,
    /// Every run's specification, its place among the outputs, its manifest entry and plot data.
    pub bookkeeping: u64,
    /// Every run's results, held until the files are written.
    pub results: u64,
    /// The working state of the largest runs that can be in progress at once (and, in a sweep
    /// with more runs than threads, what the allocator holds but cannot reuse).
    pub working: u64,
    /// The result files (and the plot renderer), all built in memory before any is written.
    pub outputs: u64,
}

impl Estimate {
    /// Everything together.
    pub fn total(&self) -> u64 {
        // Saturating: an absurd scenario (10^19 lookups) must give an absurd estimate, not wrap.
        [self.baseline, self.bookkeeping, self.results, self.working, self.outputs]
            .into_iter()
            .fold(0, u64::saturating_add)
    }
}

/// Worker threads of a run with `--jobs jobs` (0 = one per core).
fn threads(jobs: usize) -> usize {
    if jobs == 0 { rayon::current_num_threads() } else { jobs }.max(1)
}

/// The estimated peak bytes of running every run of `s` with `jobs` threads (0 = one per core),
/// by part.
pub fn estimate(s: &Scenario, jobs: usize) -> Estimate {
    let threads = threads(jobs).min(s.runs.len().max(1));
    let estimates: Vec<Footprint> = s.runs.iter().map(|r| footprint::estimate(&r.config)).collect();
    let mut working: Vec<u64> = estimates.iter().map(Footprint::working).collect();
    working.sort_unstable_by(|a, b| b.cmp(a));
    let working: f64 = working.iter().take(threads).map(|&w| w as f64).sum();
    let results: f64 = estimates.iter().map(|e| e.results as f64).sum();
    let bookkeeping: f64 = s.runs.iter().map(|r| bookkeeping(r, s.output.plots)).sum();
    let sequential = s.runs.len() > threads;
    let plots = match s.output.plots {
        false => 0.0,
        // Runs one after another on the same threads leave the allocator holding their memory.
        true if sequential => PLOTS,
        // The plot bitmap, drawn after the runs, reuses the large blocks they gave back.
        true => (PLOTS - estimates.iter().map(|e| e.large as f64).sum::<f64>()).max(0.0),
    };
    // Memory the allocator keeps but cannot reuse once many runs have come and gone on the same
    // threads (their results left between the blocks of their working state): 2 to 50 % of
    // the live heap measured on the sweeps of docs/performance.md.
    let fragmentation =
        if sequential { FRAGMENTATION * (bookkeeping + results + working) } else { 0.0 };
    Estimate {
        baseline: (BASELINE + threads as f64 * PER_THREAD) as u64,
        bookkeeping: bookkeeping as u64,
        results: results as u64,
        working: (working + fragmentation) as u64,
        outputs: (output_bytes(s, &estimates) + plots) as u64,
    }
}

/// Estimated peak bytes of running every run of `s` with `jobs` threads (0 = one per core).
pub fn sweep_estimate(s: &Scenario, jobs: usize) -> u64 {
    estimate(s, jobs).total()
}

/// Bytes of a string's heap block.
fn string(s: &str) -> f64 {
    block(s.len() as f64)
}

/// Bytes of a run's swept values as `Vec<(String, String)>`.
fn point(p: &[(String, String)]) -> f64 {
    block(p.len() as f64 * 48.0) + p.iter().map(|(k, v)| string(k) + string(v)).sum::<f64>()
}

/// What a run costs besides its simulation: its `RunSpec` (a copy of the configuration), its
/// `RunOutput`, its summary and manifest entry (a one-leaf map of its point and the JSON text),
/// and its plot data.
fn bookkeeping(r: &RunSpec, plots: bool) -> f64 {
    let c = &r.config;
    let ids = match &c.population {
        dhtsim_core::config::Population::Explicit(ids) => block(ids.len() as f64 * 8.0),
        dhtsim_core::config::Population::Random(_) => 0.0,
    };
    let trace = match &c.churn.model {
        ChurnModel::Trace(events) => block((events.len() * size_of::<TraceEvent>()) as f64),
        _ => 0.0,
    };
    let config = string(&c.name)
        + ids
        + trace
        + block((c.events.len() * size_of::<ScriptedEvent>()) as f64)
        + block(c.snapshots.len() as f64 * 8.0);
    let pt = point(&r.point);
    let json: f64 =
        70.0 + r.point.iter().map(|(k, v)| k.len() as f64 + v.len() as f64 + 12.0).sum::<f64>();
    let manifest = size_of::<RunInfo>() as f64
        + if r.point.is_empty() { 0.0 } else { block(12.0 + 11.0 * 48.0) }
        + r.point.iter().map(|(k, v)| string(k) + string(v)).sum::<f64>()
        + json;
    let plot = if plots {
        let samples = samples(c);
        size_of::<PlotRun>() as f64
            + pt
            + grown(hop_rows(c), 16)
            + grown(samples, size_of::<TsPoint>())
    } else {
        0.0
    };
    (size_of::<RunSpec>() + size_of::<RunOutput>() + size_of::<Summary>()) as f64
        + config
        + 2.0 * pt
        + manifest
        + plot
}

/// Samples of the time series a run takes.
fn samples(c: &Config) -> f64 {
    match c.sample {
        Some(every) => c.duration.as_ms() as f64 / every.as_ms().max(1) as f64,
        None => 0.0,
    }
}

/// Decimal digits of `x` rounded (at least 1).
fn digits(x: f64) -> f64 {
    let x = x.round().max(1.0);
    x.log10().floor() + 1.0
}

/// Mean decimal digits of an integer drawn uniformly from `[0, n)`, `n >= 1`.
fn mean_digits(n: f64) -> f64 {
    let n = n.max(1.0);
    let (mut total, mut lo, mut k, mut ten_k) = (0.0, 0.0, 1.0, 10.0);
    while lo < n {
        let hi = f64::min(ten_k, n);
        total += (hi - lo) * k;
        lo = hi;
        k += 1.0;
        ten_k *= 10.0;
    }
    total / n
}

/// Mean decimal digits of an integer drawn uniformly from `[a, b)`.
fn mean_digits_between(a: f64, b: f64) -> f64 {
    if b <= a + 1.0 {
        return digits(a);
    }
    (mean_digits(b) * b - if a > 0.0 { mean_digits(a) * a } else { 0.0 }) / (b - a)
}

/// Distinct hop counts among a run's lookups: the rows of its `hops.csv` and plot histogram.
fn hop_rows(c: &Config) -> f64 {
    let lookups = footprint::lookups_started(c);
    if lookups <= 0.0 {
        return 0.0;
    }
    let live = bootstrap_nodes(c);
    let range = if c.overlay.fingers { live.max(2.0).log2() + 3.0 } else { live + 1.0 };
    footprint::distinct(range, lookups)
}

/// Ring nodes at bootstrap.
fn bootstrap_nodes(c: &Config) -> f64 {
    c.population.len() as f64 * c.overlay.virtual_nodes.max(1) as f64
}

/// Bytes of every result file of `s` (summary, hops, per-point summary, peers, time series, DOT
/// snapshots, lookups), from the rows each run implies and the digits of each column.
fn output_bytes(s: &Scenario, estimates: &[Footprint]) -> f64 {
    let mut bytes = 0.0;
    let swept: f64 = s.runs[0].point.iter().map(|(k, _)| k.len() as f64 + 1.0).sum();
    // summary.csv: 25 statistics per run (floats in shortest form), 56 to 145 bytes measured
    // before the consistency columns, which add at most a share and a count.
    bytes += 276.0 + swept;
    // hops.csv
    bytes += 18.0;
    let mut points = 0.0;
    for (i, (r, fp)) in s.runs.iter().zip(estimates).enumerate() {
        let c = &r.config;
        let run = digits(r.run as f64) + 1.0;
        let values: f64 = r.point.iter().map(|(_, v)| v.len() as f64 + 1.0).sum();
        bytes += 155.0 + values + run;
        let rows = hop_rows(c);
        if rows > 0.0 {
            let per_row = footprint::lookups_started(c) / rows;
            bytes += rows * (run + 2.0 + digits(footprint::mean_hops(c)) + digits(per_row) + 1.0);
        }
        if i == 0 || s.runs[i - 1].point != r.point {
            points += 1.0;
        }
        if s.output.peers {
            bytes += peer_rows(c, fp, run);
        }
        bytes += samples(c) * 110.0;
        bytes += dot_files(c);
        if s.output.lookups {
            bytes += fp.records as f64 * lookup_row(c, r.run);
        }
    }
    if s.runs.len() > 1 {
        // summary_by_point.csv: 18 statistics and their intervals per point.
        bytes += 585.0 + swept + points * 530.0;
    }
    // Headers of the optional files.
    bytes + 300.0
}

/// Bytes of an ID column (with its comma): IDs are uniform over the space.
fn id_column(c: &Config) -> f64 {
    mean_digits(c.space.size() as f64) + 1.0
}

/// Bytes of one row of `lookups.csv` for run number `run`.
fn lookup_row(c: &Config, run: u64) -> f64 {
    let lookups = footprint::lookups_started(c);
    let hops = footprint::mean_hops(c);
    let id = id_column(c);
    let start = mean_digits_between(c.warmup.as_ms() as f64, c.duration.as_ms() as f64) + 1.0;
    let latency = digits((hops + 1.0) * footprint::mean_latency_ms(c)) + 1.0;
    let stored =
        c.workload.files > 0 && matches!(c.workload.keys, KeyDist::Stored | KeyDist::Zipf { .. });
    let value = if stored { id } else { 1.0 };
    let path = if c.record_paths { (hops + 1.0) * id - 1.0 } else { 0.0 };
    (digits(run as f64) + 1.0) // run
        + mean_digits(lookups) + 1.0 // lookup
        + start
        + 4.0 * id // origin, key, owner, true owner
        + digits(hops) + 1.0
        + 2.0 // timeouts
        + latency
        + 3.0 // outcome ("ok")
        + value
        + path
        + 2.0 // CRLF
}

/// Bytes of the rows of `peers.csv` for one run.
fn peer_rows(c: &Config, fp: &Footprint, run: f64) -> f64 {
    let nodes = fp.nodes as f64;
    let joined = footprint::joiners(c).min(nodes);
    let departed = footprint::departures(c);
    let id = id_column(c);
    let time = mean_digits(c.duration.as_ms() as f64) + 1.0;
    let hops = digits(footprint::mean_hops(c)) + 1.0;
    let paths = if c.record_paths { (footprint::mean_hops(c) + 1.0) * id } else { 0.0 };
    let hosts = mean_digits(c.population.len() as f64) + 1.0;
    let keys = if c.workload.files > 0 {
        let copies = c.overlay.replication.max(1) as f64;
        digits(c.workload.files as f64 * copies / nodes.max(1.0)) + 1.0
    } else {
        1.0
    };
    // run, peer, join_ms, leave_ms, leave_kind, join_hops, join_path, host, keys, CRLF.
    let bootstrap = run + id + 2.0 + 1.0 + 1.0 + 1.0 + 1.0 + hosts + keys + 1.0;
    nodes * bootstrap + joined * (time - 2.0 + hops - 1.0 + paths) + departed * (time - 1.0 + 5.0)
}

/// Bytes of a run's DOT snapshots: a line per member and per pointer.
fn dot_files(c: &Config) -> f64 {
    if c.snapshots.is_empty() {
        return 0.0;
    }
    let live = bootstrap_nodes(c);
    let id = id_column(c);
    let fingers = if c.overlay.fingers { live.max(2.0).log2() } else { 0.0 };
    let edges = live * (c.overlay.successors as f64 + fingers);
    c.snapshots.len() as f64 * (120.0 + live * (2.0 * id + 24.0) + edges * (2.0 * id + 36.0))
}

/// Memory available to a new process, from `/proc/meminfo` (`None` where that is unknown).
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `bytes` for people: "850 MB", "3.2 GB", "more than 1 PB".
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e15 {
        "more than 1 PB".to_string()
    } else if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.0} MB", (b / 1e6).max(1.0))
    }
}

/// `Some(message)` when running `s` with `jobs` threads (0 = one per core) would need more than
/// `have` bytes: why, and what would make it fit.
pub fn too_big_for(s: &Scenario, jobs: usize, have: u64) -> Option<String> {
    let need = sweep_estimate(s, jobs);
    if need <= have {
        return None;
    }
    let runs = s.runs.len();
    let what =
        if runs == 1 { "this scenario".to_string() } else { format!("this sweep ({runs} runs)") };
    let mut ways = vec!["use fewer peers or lookups".to_string()];
    if runs > 1 {
        // Fewer runs at once helps only when fewer threads would fit.
        if let Some(fits) =
            (1..threads(jobs).min(runs)).rev().find(|&j| sweep_estimate(s, j) <= have)
        {
            ways.push(format!("run fewer at once (--jobs {fits})"));
        }
        ways.push("sweep fewer points or seeds".to_string());
    }
    if s.output.lookups && s.runs.iter().any(|r| r.config.record_lookups) {
        ways.push("set `output.lookups = false` (no record kept per lookup)".to_string());
    }
    Some(format!(
        "{what} needs about {} of memory, but only {} is available: {}, or use \
         --ignore-memory-check to run anyway",
        human(need),
        human(have),
        ways.join(", ")
    ))
}

/// `Some(message)` when the estimate for running `s` with `jobs` threads (0 = one per core)
/// exceeds the memory this machine has available: `dhtsim run` refuses such a scenario unless
/// given `--ignore-memory-check`, and `dhtsim check` (which runs with `jobs` = 0) can say so.
/// `None` when it fits or the available memory is unknown.
pub fn too_big(s: &Scenario, jobs: usize) -> Option<String> {
    too_big_for(s, jobs, available()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str, overrides: &[&str]) -> Scenario {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        crate::scenario::from_text("t.toml", text, "t", &overrides, None).expect("valid scenario")
    }

    const RING: &str = "duration_s = 600\n[population]\npeers = 1000\n[overlay]\nfingers = true\n\
                        [workload]\nlookups = 1000\n";

    #[test]
    fn digits_of_uniform_integers() {
        assert_eq!(mean_digits(10.0), 1.0);
        assert!((mean_digits(100.0) - 1.9).abs() < 1e-12);
        assert!((mean_digits_between(10.0, 100.0) - 2.0).abs() < 1e-12);
        assert_eq!(digits(0.0), 1.0);
        assert_eq!(digits(430.0), 3.0);
    }

    #[test]
    fn lookup_rows_match_a_measured_file() {
        // 10^4 peers with fingers, 2·10^6 lookups over 600 s, 32-bit IDs: lookups.csv measured
        // 147.1 MB, 73.5 bytes a row.
        let s = scenario(RING, &["population.peers=10000", "workload.lookups=2000000"]);
        let row = lookup_row(&s.runs[0].config, 0);
        assert!((row - 73.5).abs() < 1.5, "{row}");
    }

    #[test]
    fn outputs_grow_with_lookups_only_when_lookups_csv_is_written() {
        let outputs = |lookups: &str, on: &str| {
            let s = scenario(
                RING,
                &[&format!("workload.lookups={lookups}"), &format!("output.lookups={on}")],
            );
            estimate(&s, 1).outputs
        };
        let (few, many) = (outputs("1000", "true"), outputs("100000", "true"));
        // About 60 bytes a row: 99,000 more rows.
        assert!(many - few > 99_000 * 50, "{few} {many}");
        // Only the plot bitmap's share of the peer table given back moves (more lookups build
        // more peers of the static ring: `footprint::built_on_touch`).
        let (few, many) = (outputs("1000", "false"), outputs("100000", "false"));
        assert!(many.abs_diff(few) < 1_000, "{few} {many}");
        // Without lookups.csv the run keeps no records either.
        let on = scenario(RING, &["workload.lookups=100000"]);
        let off = scenario(RING, &["workload.lookups=100000", "output.lookups=false"]);
        assert!(estimate(&on, 1).results >= estimate(&off, 1).results + 100_000 * 128);
    }

    #[test]
    fn sweeps_hold_every_run_and_the_largest_in_progress() {
        let one = estimate(&scenario(RING, &[]), 2);
        let text = format!(
            "{RING}[sweep]\nseeds = [{}]\n",
            (0..100).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        );
        let hundred = estimate(&scenario(&text, &[]), 2);
        assert!(hundred.results > 90 * one.results, "{one:?} {hundred:?}");
        assert!(hundred.bookkeeping > 90 * one.bookkeeping);
        // Two runs in progress at once, not a hundred (and what the allocator cannot reuse).
        assert!(hundred.working > one.working && hundred.working < 10 * one.working);
    }

    #[test]
    fn the_message_suggests_only_what_would_help() {
        // A single run: fewer threads cannot help.
        let single = scenario(RING, &[]);
        let msg = too_big_for(&single, 0, 1).expect("1 byte is too little");
        assert!(!msg.contains("--jobs"), "{msg}");
        assert!(
            msg.contains("this scenario needs about") && msg.contains("output.lookups"),
            "{msg}"
        );
        assert_eq!(too_big_for(&single, 0, u64::MAX), None);
        // A sweep that fits with one thread but not with two.
        let big = ["population.peers=100000", "output.plots=false"];
        let sweep = scenario(&format!("{RING}[sweep]\nseeds = [1, 2]\n"), &big);
        let one_at_a_time = sweep_estimate(&sweep, 1);
        assert!(sweep_estimate(&sweep, 2) > one_at_a_time);
        let msg = too_big_for(&sweep, 2, one_at_a_time).expect("two at once do not fit");
        assert!(msg.contains("(--jobs 1)") && msg.contains("2 runs"), "{msg}");
        // One thread already: no --jobs either.
        let msg = too_big_for(&sweep, 1, 1).expect("too little");
        assert!(!msg.contains("--jobs"), "{msg}");
    }
}
