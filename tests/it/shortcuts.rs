//! Finger tables and the learned shortcut cache against theory; sweeps and paired comparison.

use super::*;
use std::collections::BTreeMap;

fn mean_hops(rows: &[BTreeMap<String, String>]) -> f64 {
    rows.iter().map(|r| r["hops"].parse::<f64>().unwrap()).sum::<f64>() / rows.len() as f64
}

#[test]
fn fingers_take_half_log2_n_plus_one_hops() {
    for n in [1024u32, 16384] {
        let text = format!(
            "seed = 21\nid_bits = 32\n[population]\npeers = {n}\n[overlay]\nfingers = true\n\
             [workload]\nlookups = 10000\n[output]\nplots = false\n"
        );
        let (_d, out) = run_text(&text, &[]);
        let rows = read_csv(&out.join("lookups.csv"));
        assert!(rows.iter().all(|r| r["outcome"] == "ok" && r["owner"] == r["true_owner"]));
        let mean = mean_hops(&rows);
        let expected = 0.5 * (n as f64).log2() + 1.0;
        let err = (mean - expected).abs() / expected;
        assert!(err < 0.05, "N = {n}: mean hops {mean}, expected about {expected}");
    }
}

const LECTURE_RING: &str = "id_bits = 6\nduration_s = 10\n[population]\n\
                            ids = [1, 12, 13, 25, 32, 40, 48, 60]\n[overlay]\ncache_size = 4\n\
                            [output]\npaths = true\n";

#[test]
fn cache_makes_a_repeated_lookup_one_hop() {
    let mut text = LECTURE_RING.to_string();
    for t in [0, 1000, 2000] {
        text += &format!("[[events]]\nat_ms = {t}\nkind = \"lookup\"\nfrom = 13\nkey = 45\n");
    }
    let (_d, out) = run_text(&text, &[]);
    let rows = read_csv(&out.join("lookups.csv"));
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str()).collect();
    assert_eq!(paths, vec!["13 25 32 40 48", "13 48", "13 48"]);
    assert!(rows.iter().all(|r| r["outcome"] == "ok"));
    // Without the cache every lookup walks the ring.
    let (_d, out) = run_text(&text, &["--set", "overlay.cache_size=0"]);
    let rows = read_csv(&out.join("lookups.csv"));
    assert!(rows.iter().all(|r| r["hops"] == "4"));
}

#[test]
fn cache_lowers_mean_hops_on_a_zipf_workload() {
    let text = "seed = 4\nid_bits = 32\n[population]\npeers = 1024\n\
                [workload]\nlookups = 20000\nfiles = 200\nkeys = \"zipf\"\nzipf_exponent = 1.0\n\
                [output]\nplots = false\n\
                [sweep]\n\"overlay.cache_size\" = [0, 16]\n\"overlay.fingers\" = [false, true]\n";
    let (_d, out) = run_text(text, &[]);
    let summary = read_csv(&out.join("summary.csv"));
    let hops = |cache: &str, fingers: &str| -> f64 {
        let row = summary
            .iter()
            .find(|r| r["overlay.cache_size"] == cache && r["overlay.fingers"] == fingers)
            .unwrap();
        assert_eq!(row["ok"], "20000");
        row["hops_mean"].parse().unwrap()
    };
    assert!(hops("16", "false") < 0.5 * hops("0", "false"), "cache halves ring hops at least");
    assert!(hops("16", "true") < hops("0", "true"), "cache helps fingers too");
}

#[test]
fn variants_of_a_sweep_see_identical_lookups() {
    let text = "seed = 8\nid_bits = 24\n[population]\npeers = 300\n\
                [workload]\nlookups = 400\nfiles = 50\nkeys = \"zipf\"\n[output]\nplots = false\n\
                [sweep]\n\"overlay.fingers\" = [false, true]\n\"overlay.cache_size\" = [0, 8]\n\
                seeds = [1, 2]\n";
    let (_d, out) = run_text(text, &[]);
    let summary = read_csv(&out.join("summary.csv"));
    assert_eq!(summary.len(), 8, "2 x 2 points x 2 seeds");
    let rows = read_csv(&out.join("lookups.csv"));
    let work = |run: &str| lookup_work(&rows, run);
    for seed in ["1", "2"] {
        let runs: Vec<&str> =
            summary.iter().filter(|r| r["seed"] == seed).map(|r| r["run"].as_str()).collect();
        assert_eq!(runs.len(), 4);
        for run in &runs[1..] {
            assert_eq!(work(runs[0]), work(run), "seed {seed}: run {run} differs from {}", runs[0]);
        }
    }
    let seed1 = summary.iter().find(|r| r["seed"] == "1").unwrap()["run"].clone();
    let seed2 = summary.iter().find(|r| r["seed"] == "2").unwrap()["run"].clone();
    assert_ne!(work(&seed1), work(&seed2), "seeds differ");
}

#[test]
fn outputs_do_not_depend_on_the_thread_count() {
    let text = "seed = 3\nid_bits = 20\n[population]\npeers = 200\n[workload]\nlookups = 300\n\
                [sweep]\n\"population.peers\" = [50, 100, 200]\n\"overlay.fingers\" = [false, true]\n";
    let (_a, one) = run_text(text, &["--jobs", "1"]);
    let (_b, many) = run_text(text, &["--jobs", "4"]);
    for f in [
        "summary.csv",
        "lookups.csv",
        "peers.csv",
        "hops.csv",
        "plots/hops_vs_n.svg",
        "plots/hops_vs_n.png",
    ] {
        assert_eq!(
            std::fs::read(one.join(f)).unwrap(),
            std::fs::read(many.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn sweep_input_errors_exit_2() {
    let cases = [
        (
            "[sweep]\n\"overlay.fingerz\" = [true]\n",
            "key `overlay.fingerz`: unknown key",
            "did you mean `fingers`?",
        ),
        (
            "[sweep]\n\"population.peers\" = []\n",
            "key `sweep.population.peers`: must list at least one value",
            "",
        ),
        (
            "[sweep]\n\"population.peers\" = [10, \"many\"]\n",
            "key `population.peers`: expected an integer, found a string",
            "",
        ),
        ("[sweep]\n\"overlay.fingers\" = true\n", "expected a list of values", ""),
        ("[sweep]\nseeds = [-1]\n", "expected a seed", ""),
    ];
    for (text, want, hint) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.toml"), text).unwrap();
        let o = dhtsim(dir.path(), &["run", "s.toml"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.starts_with("error: s.toml:2:"), "{text}: {err}");
        assert!(err.contains(want) && err.contains(hint), "{text}: {err}");
        assert!(!dir.path().join("results").exists());
    }
}
