//! Lookup consistency (`inconsistent_rate`, `consistency_pairs` in `summary.csv`): zero on a
//! static ring, above zero when a stale ring answers, the window obeyed, the same with or without
//! lookup records, and equal to a pair-by-pair count from `lookups.csv`.

use super::*;
use std::collections::BTreeMap;

type Row = BTreeMap<String, String>;

/// (inconsistent pairs, pairs) counted pair by pair from `lookups.csv` rows: lookups answered by
/// an owner (not `failed`) for the same key, started at most `window` ms apart.
fn count_pairs(rows: &[Row], window: u64) -> (u64, u64) {
    let answered: Vec<(&str, u64, &str)> = rows
        .iter()
        .filter(|r| r["outcome"] != "failed")
        .map(|r| (r["key"].as_str(), r["start_ms"].parse().unwrap(), r["owner"].as_str()))
        .collect();
    let (mut differing, mut pairs) = (0, 0);
    for (i, a) in answered.iter().enumerate() {
        for b in &answered[i + 1..] {
            if a.0 == b.0 && a.1.abs_diff(b.1) <= window {
                pairs += 1;
                differing += u64::from(a.2 != b.2);
            }
        }
    }
    (differing, pairs)
}

/// The summary row's (inconsistent_rate, consistency_pairs).
fn columns(row: &Row) -> (String, u64) {
    (row["inconsistent_rate"].clone(), row["consistency_pairs"].parse().unwrap())
}

/// 200 peers with fingers, 3,000 Zipf lookups over 20 files in 60 s: the popular keys are
/// looked up many times a second.
const ZIPF: &str = "seed = 3\nid_bits = 32\nduration_s = 60\n\
    [population]\npeers = 200\n[overlay]\nfingers = true\n\
    [workload]\nlookups = 3000\nfiles = 20\nkeys = \"zipf\"\n[output]\nplots = false\n";

#[test]
fn a_static_ring_is_consistent_and_the_pairs_match_lookups_csv() {
    let (_d, out) = run_text(ZIPF, &[]);
    let row = &read_csv(&out.join("summary.csv"))[0];
    let (rate, pairs) = columns(row);
    assert_eq!(rate, "0", "every lookup of a key reaches its one owner");
    let lookups = read_csv(&out.join("lookups.csv"));
    assert_eq!(count_pairs(&lookups, 1000), (0, pairs));
    assert!(pairs > 10_000, "keys repeat within the default 1 s window: {pairs}");
    // Without lookup records (the recorder keeps statistics only) the columns are the same.
    let (_d, quiet) = run_text(ZIPF, &["--set", "output.lookups=false"]);
    assert!(!quiet.join("lookups.csv").exists());
    assert_eq!(columns(&read_csv(&quiet.join("summary.csv"))[0]), (rate, pairs));
}

#[test]
fn under_churn_the_columns_match_lookups_csv_and_need_no_records() {
    // Churn with slow maintenance: some lookups go astray; the count must still be the
    // pair-by-pair one, at two windows.
    let churn = ZIPF
        .replace("fingers = true\n", "fingers = true\nsuccessors = 4\nstabilize_s = 20\n")
        + "[churn]\nmodel = \"poisson\"\nrate_per_s = 1\ncrash_fraction = 0.5\n";
    for window in ["1000", "200"] {
        let set = format!("workload.consistency_window_ms={window}");
        let (_d, out) = run_text(&churn, &["--set", &set]);
        let row = &read_csv(&out.join("summary.csv"))[0];
        let lookups = read_csv(&out.join("lookups.csv"));
        let (differing, pairs) = count_pairs(&lookups, window.parse().unwrap());
        let (rate, got_pairs) = columns(row);
        assert!(differing > 0, "churn makes some pairs disagree (window {window})");
        assert_eq!(got_pairs, pairs, "window {window}");
        assert_eq!(rate, format!("{}", differing as f64 / pairs as f64), "window {window}");
        let (_d, quiet) = run_text(&churn, &["--set", &set, "--set", "output.lookups=false"]);
        assert_eq!(columns(&read_csv(&quiet.join("summary.csv"))[0]), (rate, got_pairs));
    }
}

/// The lecture's ring; 45 joins through 40 at 1 s. Its join reaches 48 (the owner of 41..48) at
/// 1,100 ms; 48's answer arrives at 1,150 ms; 45 checks 48 is alive (a stabilization request and
/// its answer) and becomes a member at 1,250 ms, telling 48 at 1,300 ms. A lookup of 44 started
/// at 1,210 ms reaches 48 at 1,260 ms, before 48 knows: 48 answers as owner (`wrong_owner`).
/// Lookups of 44 at 1,500 and 1,600 ms get 45's answer.
const STALE: &str = "id_bits = 6\nduration_s = 5\n\
    [population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n[output]\nplots = false\n\
    [[events]]\nat_ms = 1000\nkind = \"join\"\npeer = 45\nvia = 40\n\
    [[events]]\nat_ms = 1210\nkind = \"lookup\"\nfrom = 40\nkey = 44\n\
    [[events]]\nat_ms = 1500\nkind = \"lookup\"\nfrom = 40\nkey = 44\n\
    [[events]]\nat_ms = 1600\nkind = \"lookup\"\nfrom = 12\nkey = 44\n";

#[test]
fn a_stale_owner_makes_pairs_inconsistent_within_the_window_only() {
    let run = |window: &str| {
        let (_d, out) =
            run_text(STALE, &["--set", &format!("workload.consistency_window_ms={window}")]);
        let lookups = read_csv(&out.join("lookups.csv"));
        let owners: Vec<(&str, &str)> =
            lookups.iter().map(|r| (r["owner"].as_str(), r["outcome"].as_str())).collect();
        assert_eq!(owners, [("48", "wrong_owner"), ("45", "ok"), ("45", "ok")]);
        columns(&read_csv(&out.join("summary.csv"))[0])
    };
    // 1 s: all three pairs; 48 differs from 45 twice.
    assert_eq!(run("1000"), (format!("{}", 2.0 / 3.0), 3));
    // 390 ms, the span of the three starts: the same pairs, at exactly the window.
    assert_eq!(run("390"), (format!("{}", 2.0 / 3.0), 3));
    // 389 ms: the first and last are one millisecond too far apart.
    assert_eq!(run("389"), ("0.5".to_string(), 2));
    // 100 ms: only the two answers of 45 pair, and agree.
    assert_eq!(run("100"), ("0".to_string(), 1));
    // 99 ms: no pairs, so no share (an empty cell, not 0).
    assert_eq!(run("99"), (String::new(), 0));
}

#[test]
fn the_window_is_bounded_and_named_in_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.toml"), STALE).unwrap();
    for bad in ["-1", "4294967296", "1.5", "\"1s\""] {
        let set = format!("workload.consistency_window_ms={bad}");
        let o = dhtsim(tmp.path(), &["check", "s.toml", "--set", &set]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("key `workload.consistency_window_ms`"), "{}", stderr(&o));
    }
    let o = dhtsim(tmp.path(), &["check", "s.toml", "--set", "workload.consistency_windw_ms=5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean `consistency_window_ms`"), "{}", stderr(&o));
}
