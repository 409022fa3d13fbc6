//! Reading a results directory back: its manifest, and the tables plots are drawn from.
//!
//! Used by `dhtsim plot` (redraw from CSV alone) and `dhtsim reproduce` (re-run from the
//! manifest and compare digests). Mistakes in these files are input errors (exit status 2).

use crate::output::manifest::Manifest;
use crate::plot::PlotRun;
use crate::scenario::InputError;
use crate::scenario::error::Location;
use std::collections::BTreeMap;
use std::path::Path;

/// Reads and parses `DIR/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, InputError> {
    let path = dir.join("manifest.json");
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            InputError::whole(&shown, "no such file: is this a dhtsim results directory?")
        }
        _ => InputError::whole(&shown, format!("cannot read: {e}")),
    })?;
    serde_json::from_str(&text).map_err(|e| {
        let line_text = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("").to_string();
        InputError {
            location: (e.line() > 0).then(|| Location::File {
                line: e.line(),
                col: e.column().max(1),
                text: line_text,
                width: 1,
            }),
            ..InputError::whole(&shown, format!("malformed manifest: {e}"))
        }
    })
}

/// Checks the manifest was written by this version of dhtsim (another version may compute
/// different bytes from the same scenario).
pub fn check_version(dir: &Path, m: &Manifest) -> Result<(), InputError> {
    let here = env!("CARGO_PKG_VERSION");
    if m.dhtsim_version == here {
        return Ok(());
    }
    let shown = dir.join("manifest.json").display().to_string();
    Err(InputError::whole(
        &shown,
        format!("these results come from dhtsim {}, this is dhtsim {here}", m.dhtsim_version),
    )
    .with_hint(format!("install dhtsim {} to reproduce them", m.dhtsim_version)))
}

fn read_csv(dir: &Path, name: &str) -> Result<Vec<BTreeMap<String, String>>, InputError> {
    let path = dir.join(name);
    let shown = path.display().to_string();
    let mut reader = csv::Reader::from_path(&path)
        .map_err(|e| InputError::whole(&shown, format!("cannot read: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| InputError::whole(&shown, format!("malformed CSV: {e}")))?
        .clone();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| InputError::whole(&shown, format!("malformed CSV: {e}")))?;
        rows.push(
            headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect(),
        );
    }
    Ok(rows)
}

fn number(file: &str, row: &BTreeMap<String, String>, col: &str) -> Result<u64, InputError> {
    let v = row.get(col).ok_or_else(|| InputError::whole(file, format!("no column `{col}`")))?;
    v.parse().map_err(|_| {
        InputError::whole(file, format!("column `{col}`: expected an integer, found \"{v}\""))
    })
}

/// A real number in column `col`, `None` when the column is absent (results of an older dhtsim)
/// or the cell empty.
fn optional_real(
    file: &str,
    row: &BTreeMap<String, String>,
    col: &str,
) -> Result<Option<f64>, InputError> {
    match row.get(col).map(String::as_str) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            InputError::whole(file, format!("column `{col}`: expected a number, found \"{v}\""))
        }),
    }
}

/// The run numbered `run` among `runs`, which a row of `file` names.
fn run_of<'r>(
    runs: &'r mut [PlotRun],
    file: &str,
    run: u64,
) -> Result<&'r mut PlotRun, InputError> {
    runs.iter_mut()
        .find(|r| r.run == run)
        .ok_or_else(|| InputError::whole(file, format!("run {run} is not in summary.csv")))
}

/// The plot inputs of every run, from `summary.csv` (swept values, counts), `hops.csv` (hop
/// histograms) and the other tables written beside them.
pub fn plot_runs(dir: &Path) -> Result<Vec<PlotRun>, InputError> {
    let summary_path = dir.join("summary.csv");
    let sfile = summary_path.display().to_string();
    let header: Vec<String> = {
        let mut r = csv::Reader::from_path(&summary_path)
            .map_err(|e| InputError::whole(&sfile, format!("cannot read: {e}")))?;
        r.headers()
            .map_err(|e| InputError::whole(&sfile, format!("malformed CSV: {e}")))?
            .iter()
            .map(String::from)
            .collect()
    };
    let (Some(seed_at), Some(peers_at)) =
        (header.iter().position(|h| h == "seed"), header.iter().position(|h| h == "peers"))
    else {
        return Err(InputError::whole(&sfile, "expected the columns `seed` and `peers`"));
    };
    let swept = &header[seed_at + 1..peers_at];
    let mut runs = Vec::new();
    for row in read_csv(dir, "summary.csv")? {
        runs.push(PlotRun {
            run: number(&sfile, &row, "run")?,
            point: swept.iter().map(|k| (k.clone(), row[k].clone())).collect(),
            peers: number(&sfile, &row, "peers")?,
            hops: Vec::new(),
            lookups: number(&sfile, &row, "lookups")?,
            failed: number(&sfile, &row, "failed")?,
            wrong: number(&sfile, &row, "wrong_owner")?,
            not_found: number(&sfile, &row, "not_found")?,
            timeouts: number(&sfile, &row, "timeouts")?,
            samples: Vec::new(),
            protocol: row.get("protocol").cloned().unwrap_or_else(|| "chord".into()),
            maintenance_bytes_per_peer_s: optional_real(
                &sfile,
                &row,
                "maintenance_bytes_per_peer_s",
            )?,
            latency_ms_p50: optional_real(&sfile, &row, "latency_ms_p50")?,
            latencies: Vec::new(),
            swarm: None,
        });
    }
    if dir.join("downloads.csv").exists() {
        let dfile = dir.join("downloads.csv").display().to_string();
        for row in read_csv(dir, "downloads.csv")? {
            let run = number(&dfile, &row, "run")?;
            let r = run_of(&mut runs, &dfile, run)?;
            let s = r.swarm.get_or_insert_with(Default::default);
            if number(&dfile, &row, "initial_seeder")? == 0 {
                s.leechers += 1;
                if let Some(done) = optional_real(&dfile, &row, "complete_ms")? {
                    let arrive = number(&dfile, &row, "arrive_ms")?;
                    s.downloads_s.push((done as u64 - arrive) as f64 / 1000.0);
                }
            }
        }
    }
    if dir.join("swarm.csv").exists() {
        let wfile = dir.join("swarm.csv").display().to_string();
        for row in read_csv(dir, "swarm.csv")? {
            let run = number(&wfile, &row, "run")?;
            let r = run_of(&mut runs, &wfile, run)?;
            let t = number(&wfile, &row, "t_ms")? as f64 / 60_000.0;
            let (seeders, leechers) =
                (number(&wfile, &row, "seeders")?, number(&wfile, &row, "leechers")?);
            r.swarm.get_or_insert_with(Default::default).population.push((t, seeders, leechers));
        }
    }
    if dir.join("timeseries.csv").exists() {
        let tfile = dir.join("timeseries.csv").display().to_string();
        let real = |row: &BTreeMap<String, String>, col: &str| -> Result<f64, InputError> {
            let v = row
                .get(col)
                .ok_or_else(|| InputError::whole(&tfile, format!("no column `{col}`")))?;
            v.parse().map_err(|_| {
                InputError::whole(
                    &tfile,
                    format!("column `{col}`: expected a number, found \"{v}\""),
                )
            })
        };
        for row in read_csv(dir, "timeseries.csv")? {
            let run = number(&tfile, &row, "run")?;
            let point = crate::plot::TsPoint {
                t_ms: number(&tfile, &row, "t_ms")?,
                live: number(&tfile, &row, "live_peers")?,
                ok: number(&tfile, &row, "ok")?,
                failed: number(&tfile, &row, "failed")?,
                lookups: number(&tfile, &row, "lookups")?,
                succ: real(&row, "succ_correct")?,
                pred: real(&row, "pred_correct")?,
                fingers: real(&row, "fingers_correct")?,
                lost: number(&tfile, &row, "lost_keys")?,
            };
            if let Some(r) = runs.iter_mut().find(|r| r.run == run) {
                r.samples.push(point);
            }
        }
    }
    if dir.join("latency.csv").exists() {
        let lfile = dir.join("latency.csv").display().to_string();
        for row in read_csv(dir, "latency.csv")? {
            let run = number(&lfile, &row, "run")?;
            let latency = (number(&lfile, &row, "latency_ms")?, number(&lfile, &row, "lookups")?);
            run_of(&mut runs, &lfile, run)?.latencies.push(latency);
        }
    }
    let hfile = dir.join("hops.csv").display().to_string();
    for row in read_csv(dir, "hops.csv")? {
        let run = number(&hfile, &row, "run")?;
        let hops = u32::try_from(number(&hfile, &row, "hops")?)
            .map_err(|_| InputError::whole(&hfile, "hop count out of range"))?;
        let count = number(&hfile, &row, "lookups")?;
        let r = run_of(&mut runs, &hfile, run)?;
        r.hops.push((hops, count));
    }
    Ok(runs)
}

/// Where two files first differ: "line N" (1-based), with both versions of the line, for text;
/// the byte offset for anything else (a PNG), never the bytes themselves.
pub fn first_difference(old: &[u8], new: &[u8]) -> String {
    let text = |b: &[u8]| std::str::from_utf8(b).is_ok_and(|t| !t.contains('\0'));
    if !text(old) || !text(new) {
        let at = old.iter().zip(new).position(|(a, b)| a != b).unwrap_or(old.len().min(new.len()));
        return format!(
            "first difference at byte {at} (recorded {} bytes, reproduced {} bytes)",
            old.len(),
            new.len()
        );
    }
    let (a, b) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 0;
    loop {
        n += 1;
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => {
                return format!(
                    "first difference at line {n}:\n    recorded:   {x}\n    reproduced: {y}"
                );
            }
            (Some(x), None) => return format!("line {n} only in the recorded file: {x}"),
            (None, Some(y)) => return format!("line {n} only in the reproduced file: {y}"),
            (None, None) => return "the bytes differ (line endings or encoding)".into(),
        }
    }
}
