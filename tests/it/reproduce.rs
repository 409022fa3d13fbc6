//! `dhtsim plot` and `dhtsim reproduce`, committed reference results.

use super::*;

const SWEEP: &str = "name = \"small\"\nseed = 2\nid_bits = 20\n[population]\npeers = 64\n\
                     [workload]\nlookups = 300\n[sweep]\n\"population.peers\" = [16, 64]\n\
                     \"overlay.fingers\" = [false, true]\n";

#[test]
fn plot_redraws_identical_files_from_csv_alone() {
    let (dir, out) = run_text(SWEEP, &[]);
    let plots = out.join("plots");
    let before: Vec<(String, Vec<u8>)> =
        ["hops_vs_n.svg", "hops_vs_n.png", "hop_distribution.svg", "hop_distribution.png"]
            .iter()
            .map(|f| (f.to_string(), std::fs::read(plots.join(f)).unwrap()))
            .collect();
    std::fs::remove_dir_all(&plots).unwrap();
    // Without the per-lookup and per-peer files: plots need only summary.csv and hops.csv.
    std::fs::remove_file(out.join("lookups.csv")).unwrap();
    std::fs::remove_file(out.join("peers.csv")).unwrap();
    let o = dhtsim(dir.path(), &["plot", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (f, bytes) in before {
        assert_eq!(std::fs::read(plots.join(&f)).unwrap(), bytes, "{f}");
    }
}

#[test]
fn reproduce_passes_then_names_a_changed_file() {
    let (dir, _out) = run_text(SWEEP, &["--seed", "9", "--set", "workload.lookups=200"]);
    let o = dhtsim(dir.path(), &["reproduce", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let n = manifest["outputs"].as_object().unwrap().len();
    assert!(n >= 9, "csv files and plots: {n}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("reproduced: {n} files identical")
    );

    // One byte of one CSV changed.
    let path = dir.path().join("out/summary.csv");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 3;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&path, bytes).unwrap();
    let o = dhtsim(dir.path(), &["reproduce", "out"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("differs: summary.csv") && err.contains("first difference at line"),
        "{err}"
    );
    assert!(!err.contains("hops.csv"), "only the changed file is named: {err}");
}

#[test]
fn reproduce_fails_cleanly_without_a_good_manifest() {
    let (dir, out) = run_text(SWEEP, &[]);
    let manifest = out.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    let o = dhtsim(dir.path(), &["reproduce", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("malformed manifest"), "{}", stderr(&o));
    std::fs::write(
        &manifest,
        text.replace("\"dhtsim_version\": \"", "\"dhtsim_version\": \"0.0.0-"),
    )
    .unwrap();
    let o = dhtsim(dir.path(), &["reproduce", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("come from dhtsim 0.0.0-"), "{}", stderr(&o));
    std::fs::remove_file(&manifest).unwrap();
    let o = dhtsim(dir.path(), &["reproduce", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("manifest.json: no such file"), "{}", stderr(&o));
    assert_eq!(dhtsim(dir.path(), &["plot", "out"]).status.code(), Some(2));
}

#[test]
fn committed_reference_results_reproduce() {
    let root = repo_root();
    for name in ["lecture", "lecture-churn"] {
        let dir = root.join("results").join(name);
        let o = dhtsim(&root, &["reproduce", dir.to_str().unwrap(), "--quiet"]);
        assert!(o.status.success(), "results/{name}: {}", stderr(&o));
    }
}
