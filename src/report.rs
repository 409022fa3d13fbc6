//! The short human-readable report `dhtsim run` prints on stdout (results go to files).

use crate::output::tables::RunOutput;
use dhtsim_core::metrics::Summary;
use std::fmt::Write;

/// Paths are listed one lookup per line up to this many lookups.
const MAX_LISTED: usize = 50;

/// An aligned table of the main statistics of each run, followed, for runs that recorded paths
/// and have few lookups, by each lookup's path.
pub fn render(runs: &[RunOutput]) -> String {
    let mut rows = vec![
        [
            "run",
            "seed",
            "peers",
            "lookups",
            "hops_mean",
            "p50",
            "p95",
            "max",
            "ok",
            "not_found",
            "wrong_owner",
            "failed",
            "inconsistent",
            "latency_ms",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in runs {
        let s = Summary::of(&r.result);
        let h = s.hops;
        let dash = || "-".to_string();
        rows.push(vec![
            r.run.to_string(),
            r.seed.to_string(),
            s.peers.to_string(),
            s.lookups.to_string(),
            h.map_or_else(dash, |h| format!("{:.2}", h.mean)),
            h.map_or_else(dash, |h| h.p50.to_string()),
            h.map_or_else(dash, |h| h.p95.to_string()),
            h.map_or_else(dash, |h| h.max.to_string()),
            s.ok.to_string(),
            s.not_found.to_string(),
            s.wrong_owner.to_string(),
            s.failed.to_string(),
            inconsistent(&s),
            s.latency_ms_mean.map_or_else(dash, |l| format!("{l:.1}")),
        ]);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> =
            row.iter().zip(&widths).map(|(cell, w)| format!("{cell:>w$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end()).expect("to string");
    }
    for r in runs {
        let lookups = &r.result.lookups;
        if lookups.is_empty() || lookups.len() > MAX_LISTED || lookups[0].path.is_empty() {
            continue;
        }
        writeln!(out, "\nrun {}: lookup paths", r.run).expect("to string");
        for l in lookups {
            let path: Vec<String> = l.path.iter().map(|p| p.to_string()).collect();
            let owner = l.owner.map_or_else(|| "none".to_string(), |o| o.to_string());
            let values: Vec<String> = l.values.iter().map(|v| v.to_string()).collect();
            let value = if values.is_empty() {
                String::new()
            } else {
                format!(", value {}", values.join(" "))
            };
            writeln!(
                out,
                "  lookup {} at {} ms: {} looks up {}: {} ({} hops, owner {owner}{value}, {})",
                l.lookup,
                l.start.as_ms(),
                l.origin,
                l.key,
                path.join(" -> "),
                l.hops,
                l.outcome.as_str(),
            )
            .expect("to string");
        }
    }
    out
}

/// The share of pairs of lookups for one key, started within the consistency window, that
/// named different owners, with the number of pairs it rests on: `0.0123 of 4321`; `-` with
/// no pairs.
fn inconsistent(s: &Summary) -> String {
    let c = s.consistency;
    c.share().map_or_else(|| "-".to_string(), |share| format!("{share:.4} of {}", c.pairs))
}
