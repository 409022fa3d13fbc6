//! Integration tests of the `dhtsim` binary and its scenario reader: one test binary, a module per
//! topic (keeps link time low).

mod bad_input;
mod chord_bugs;
mod churn;
mod consistency;
mod corpus;
mod determinism;
mod explore;
mod flash_crowd;
mod fuzz_reader;
mod inputs;
mod iterative;
mod kademlia;
mod lecture;
mod loss;
mod out_dir;
mod reproduce;
mod scenarios;
mod shard;
mod shortcuts;
mod static_ring;
mod swarm;
mod topology;
mod validation;

use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository root (this package's directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `dhtsim` binary with `args` in directory `cwd`.
pub fn dhtsim(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dhtsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("dhtsim runs")
}

/// Standard error of a finished command, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `dhtsim run` on the scenario text `text` in a fresh directory and returns that directory
/// and the results directory. Panics (with stderr) unless the run succeeds.
pub fn run_text(text: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.toml"), text).expect("write scenario");
    let mut args = vec!["run", "s.toml", "--out", "out", "--quiet"];
    args.extend(extra);
    let o = dhtsim(dir.path(), &args);
    assert!(o.status.success(), "dhtsim failed: {}", stderr(&o));
    let out = dir.path().join("out");
    (dir, out)
}

/// The rows of a CSV file as maps from column name to value.
pub fn read_csv(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).expect("csv opens");
    let headers = r.headers().expect("header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("row");
            headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

/// The (start_ms, origin, key) of every lookup of run `run` in `lookups.csv` rows: the work a
/// run was given, which variants of one sweep must share.
pub fn lookup_work(
    rows: &[std::collections::BTreeMap<String, String>],
    run: &str,
) -> Vec<(String, String, String)> {
    rows.iter()
        .filter(|r| r["run"] == run)
        .map(|r| (r["start_ms"].clone(), r["origin"].clone(), r["key"].clone()))
        .collect()
}
