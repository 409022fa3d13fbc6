//! `dhtsim run --shard I/K` and `dhtsim merge`: shards in any order and any K give the bytes of
//! one local run; missing, duplicated and foreign shards are refused; a complete shard is not
//! run again.

use super::*;

/// A sweep of 2 × 2 points × 3 seeds (12 runs), with churn samples (timeseries), lookups, peers
/// and plots: every kind of file a run writes.
const SWEEP: &str = "name = \"small\"\nseed = 3\nid_bits = 20\nduration_s = 60\n\
                     [population]\npeers = 48\n[workload]\nlookups = 200\n\
                     [churn]\nmodel = \"exponential\"\nsession_mean_s = 300\n\
                     [output]\nsample_s = 10\ndot_at_s = [30]\n\
                     [sweep]\n\"population.peers\" = [24, 48]\n\"overlay.fingers\" = [false, true]\n\
                     seeds = [1, 2, 3]\n";

/// Every file of a results directory but its manifest, by relative path.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let name = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(name, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The manifest without the two fields that say when and how it was written.
fn manifest_content(dir: &Path) -> serde_json::Value {
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let o = m.as_object_mut().unwrap();
    o.remove("created");
    o.remove("command_line");
    m
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

/// Runs shard `i`/`k` of `s.toml` in `dir` into `out`.
fn shard(dir: &Path, i: u64, k: u64, out: &str) -> Output {
    dhtsim(dir, &["run", "s.toml", "--shard", &format!("{i}/{k}"), "--out", out, "--quiet"])
}

#[test]
fn merged_shards_are_the_bytes_of_one_run_for_any_count_and_order() {
    let (dir, whole) = run_text(SWEEP, &[]);
    let d = dir.path();
    let want = files(&whole);
    assert!(want.contains_key("timeseries.csv") && want.contains_key("lookups.csv"));
    assert!(want.keys().any(|f| f.starts_with("plots/")), "{:?}", want.keys());
    for k in [1u64, 2, 5, 12, 13] {
        let mut dirs: Vec<String> = (1..=k).map(|i| format!("k{k}-s{i}")).collect();
        for (i, name) in dirs.iter().enumerate() {
            ok(&shard(d, i as u64 + 1, k, name));
        }
        // Any order: reversed, and every other one first.
        dirs.reverse();
        dirs.sort_by_key(|name| name.len() % 2);
        let merged = format!("merged-{k}");
        let mut args = vec!["merge", merged.as_str()];
        args.extend(dirs.iter().map(String::as_str));
        args.push("--quiet");
        ok(&dhtsim(d, &args));
        let got = files(&d.join(&merged));
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "K = {k}");
        for (name, bytes) in &want {
            if name != "manifest.json" {
                assert!(got[name] == *bytes, "K = {k}: {name} differs");
            }
        }
        assert_eq!(manifest_content(&d.join(&merged)), manifest_content(&whole), "K = {k}");
    }
    // A merged sweep reproduces like any other.
    ok(&dhtsim(d, &["reproduce", "merged-2", "--quiet"]));
}

#[test]
fn missing_duplicated_and_foreign_shards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), SWEEP).unwrap();
    for i in 1..=3 {
        ok(&shard(d, i, 3, &format!("s{i}")));
    }
    let refused = |args: &[&str], needle: &str| {
        let o = dhtsim(d, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!d.join(args[1]).exists(), "nothing written for {args:?}");
    };
    refused(&["merge", "m", "s1", "s3"], "missing: 2/3");
    refused(&["merge", "m", "s1", "s2", "s2", "s3"], "shard 2/3 twice");
    // Another seed, another K: shards of other sweeps.
    let o = dhtsim(d, &["run", "s.toml", "--seed", "9", "--shard", "2/3", "--out", "x2", "-q"]);
    ok(&o);
    refused(&["merge", "m", "s1", "x2", "s3"], "a shard of another sweep");
    ok(&shard(d, 2, 4, "y2"));
    refused(&["merge", "m", "s1", "y2", "s3"], "a shard of another sweep");
    // A whole run is no shard; a shard whose run file was changed is refused by name.
    ok(&dhtsim(d, &["run", "s.toml", "--out", "whole", "-q"]));
    refused(&["merge", "m", "whole"], "not a shard");
    let run = d.join("s2/runs/run-000001.json");
    let mut bytes = std::fs::read(&run).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&run, bytes).unwrap();
    refused(&["merge", "m", "s1", "s2", "s3"], "run-000001.json: does not match its digest");
    // Bad shard numbers are usage errors.
    for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
        let o = dhtsim(d, &["run", "s.toml", "--shard", bad, "--out", "bad"]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("expected I/K"), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn a_complete_shard_is_not_run_again_and_a_damaged_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), SWEEP).unwrap();
    ok(&shard(d, 2, 3, "s2"));
    let before = std::fs::read(d.join("s2/manifest.json")).unwrap();
    let o = dhtsim(d, &["run", "s.toml", "--shard", "2/3", "--out", "s2"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("shard 2/3 is complete"));
    assert_eq!(std::fs::read(d.join("s2/manifest.json")).unwrap(), before, "left as it was");
    // One run's file lost (a job killed while copying): the shard runs again, whole.
    std::fs::remove_file(d.join("s2/runs/run-000004.json")).unwrap();
    let o = dhtsim(d, &["run", "s.toml", "--shard", "2/3", "--out", "s2"]);
    ok(&o);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("is complete"));
    assert!(d.join("s2/runs/run-000004.json").exists());
    // The shard's runs are r mod 3 = 1: 1, 4, 7, 10.
    let names: Vec<String> = files(&d.join("s2")).into_keys().collect();
    let want = ["manifest.json", "runs/run-000001.json", "runs/run-000004.json"];
    assert!(want.iter().all(|w| names.contains(&w.to_string())), "{names:?}");
    assert_eq!(names.len(), 5, "{names:?}");
}

#[test]
fn check_lists_the_runs_to_size_an_array_job() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), SWEEP).unwrap();
    let o = dhtsim(d, &["check", "s.toml", "--runs"]);
    ok(&o);
    let path = d.join("runs.csv");
    std::fs::write(&path, &o.stdout).unwrap();
    let rows = read_csv(&path);
    assert_eq!(rows.len(), 12);
    // Points vary slowest, seeds fastest; the larger population needs more memory.
    assert_eq!(
        rows.iter().map(|r| (r["run"].as_str(), r["seed"].as_str())).take(4).collect::<Vec<_>>(),
        [("0", "1"), ("1", "2"), ("2", "3"), ("3", "1")]
    );
    assert_eq!(
        (rows[0]["population.peers"].as_str(), rows[11]["population.peers"].as_str()),
        ("24", "48")
    );
    assert_eq!(
        (rows[0]["overlay.fingers"].as_str(), rows[3]["overlay.fingers"].as_str()),
        ("false", "true")
    );
    let mem =
        |r: &std::collections::BTreeMap<String, String>| r["memory_bytes"].parse::<u64>().unwrap();
    assert!(mem(&rows[11]) > mem(&rows[0]) && mem(&rows[0]) > 1_000_000, "{rows:?}");
    // Twice the peers (with fingers both), more events and more time; a run this small takes
    // under a second.
    let num =
        |r: &std::collections::BTreeMap<String, String>, k: &str| r[k].parse::<f64>().unwrap();
    assert!(num(&rows[9], "events") > num(&rows[3], "events"), "{rows:?}");
    assert!(num(&rows[9], "time_s") > num(&rows[3], "time_s"), "{rows:?}");
    assert!(rows.iter().all(|r| r["time"] == "under a second"), "{rows:?}");
}

/// `check --runs` estimates each committed run's events within a factor of 3.5 (its own sweep's
/// geometric mean within a factor of 1.6); a lookup that fails early on a broken ring takes
/// fewer hops than the estimate's correct ring (docs/cluster.md has the table).
#[test]
fn the_run_list_estimates_the_events_of_every_committed_run() {
    let root = repo_root();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("results")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = root.join("scenarios").join(format!("{name}.toml"));
        if !dir.join("summary.csv").is_file() || !scenario.is_file() {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let o = dhtsim(tmp.path(), &["check", scenario.to_str().unwrap(), "--runs"]);
        ok(&o);
        let list = tmp.path().join("runs.csv");
        std::fs::write(&list, &o.stdout).unwrap();
        let estimated: std::collections::BTreeMap<String, f64> = read_csv(&list)
            .into_iter()
            .map(|r| (r["run"].clone(), r["events"].parse().unwrap()))
            .collect();
        let mut logs = Vec::new();
        for row in read_csv(&dir.join("summary.csv")) {
            let swarm = row.get("swarm_events").map_or(0.0, |v| v.parse().unwrap_or(0.0));
            let actual = row["events"].parse::<f64>().unwrap() + swarm;
            if actual < 1000.0 {
                continue; // no simulation to speak of (a load analysis, the lecture's 8 peers)
            }
            let ratio = estimated[&row["run"]] / actual;
            assert!((1.0 / 3.5..3.5).contains(&ratio), "{name} run {}: {ratio:.2}", row["run"]);
            logs.push(ratio.ln());
        }
        if !logs.is_empty() {
            let mean = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
            assert!((1.0 / 1.6..1.6).contains(&mean), "{name}: geometric mean {mean:.2}");
            checked += logs.len();
        }
    }
    assert!(checked > 1000, "only {checked} committed runs compared");
}
