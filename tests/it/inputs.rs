//! What a scenario reads and says: traces checked like `[[events]]`, inputs recorded in the
//! manifest for `reproduce`, settings without effect warned about, `--quiet` quiet, and limits on
//! what a user types.

use super::*;
use std::path::Path;

/// A four-peer ring whose churn is the trace `t.csv`.
const TRACED: &str = "id_bits = 8\nduration_s = 100\n[population]\nids = [1, 50, 100, 150]\n\
                      [churn]\nmodel = \"trace\"\ntrace = \"t.csv\"\n[workload]\nlookups = 100\n";

/// Writes `s.toml` (and `t.csv` when given) into a fresh directory.
fn setup(scenario: &str, trace: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    if let Some(t) = trace {
        std::fs::write(dir.path().join("t.csv"), t).unwrap();
    }
    dir
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// `check` and `run` both exit 2 with a message starting `error: {at}` and containing `needle`,
/// writing nothing.
fn refused(dir: &Path, at: &str, needle: &str) {
    let before = names(dir);
    for args in [&["check", "s.toml"][..], &["run", "s.toml", "--out", "out"][..]] {
        let o = dhtsim(dir, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with(&format!("error: {at}")), "{args:?} wants {at}: {err}");
        assert!(err.contains(needle), "{args:?} wants {needle:?}: {err}");
        assert_eq!(names(dir), before, "nothing written");
    }
}

#[test]
fn trace_rows_are_checked_like_scripted_events() {
    let header = "at_ms,kind,peer\n";
    let cases = [
        ("1000,crash,7\n", "t.csv:2:1: ", "no peer has ID 7 at 1000 ms"),
        ("1000,join,50\n", "t.csv:2:1: ", "ID 50 is already in use at 1000 ms"),
        ("1000,join,60\n2000,leave,60\n3000,leave,60\n", "t.csv:4:1: ", "no peer has ID 60"),
        ("100000,join,51\n", "t.csv:2:1: ", "not before the end of the run"),
        (
            "1000,crash,1\n2000,crash,50\n3000,leave,100\n4000,crash,150\n",
            "t.csv:5:1: ",
            "would leave no live peer at 4000 ms",
        ),
    ];
    for (rows, at, needle) in cases {
        let dir = setup(TRACED, Some(&format!("{header}{rows}")));
        refused(dir.path(), at, needle);
    }
}

#[test]
fn a_trace_with_drawn_ids_can_name_only_peers_it_joined() {
    let text = TRACED.replace("ids = [1, 50, 100, 150]", "peers = 10");
    let dir = setup(&text, Some("at_ms,kind,peer\n10,join,3\n20,crash,3\n30,crash,4\n"));
    refused(dir.path(), "t.csv:4:1: ", "draws the initial IDs at random");
}

#[test]
fn scripted_events_that_empty_the_ring_are_refused() {
    let mut text = String::from("id_bits = 8\n[population]\nids = [10, 100]\n");
    for (at, peer) in [(1000, 10), (2000, 100)] {
        text += &format!("[[events]]\nat_ms = {at}\nkind = \"crash\"\npeer = {peer}\n");
    }
    let dir = setup(&text, None);
    refused(dir.path(), "s.toml:11:", "would leave no live peer at 2000 ms");
}

#[test]
fn a_ring_below_its_floor_is_allowed_but_said_and_recorded() {
    let dir = setup(TRACED, Some("at_ms,kind,peer\n1000,crash,1\n2000,crash,50\n"));
    let o = dhtsim(dir.path(), &["check", "s.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let warning = "warning: t.csv:3:1: leaves 2 live peers at 2000 ms, fewer than successors + 1";
    assert!(stderr(&o).starts_with(warning), "{}", stderr(&o));

    // --quiet: nothing at all on either stream; the warning is in the manifest.
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!((o.stdout.len(), o.stderr.len()), (0, 0), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let warnings = m["warnings"].as_array().unwrap();
    assert!(warnings[0].as_str().unwrap().starts_with(warning), "{warnings:?}");
    // Without --quiet the warning is on stderr too.
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out"]);
    assert!(stderr(&o).contains(warning), "{}", stderr(&o));
}

#[test]
fn reproduce_reads_the_recorded_trace_from_any_directory() {
    let dir = setup(TRACED, Some("at_ms,kind,peer\n1000,crash,1\n5000,join,7\n"));
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let input = &m["inputs"][0];
    assert_eq!(input["key"], "churn.trace");
    assert_eq!(input["path"], "t.csv");
    assert_eq!(input["text"], "at_ms,kind,peer\n1000,crash,1\n5000,join,7\n");
    // From elsewhere, with the trace gone: the manifest carries it.
    std::fs::remove_file(dir.path().join("t.csv")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let results = dir.path().join("out");
    let o = dhtsim(elsewhere.path(), &["reproduce", results.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn reproduce_names_a_changed_trace_instead_of_the_outputs() {
    // Over 1 MiB, so the manifest records the trace's path and digest, not its text.
    let mut trace = String::from("at_ms,kind,peer\n");
    let mut at = 0;
    while trace.len() <= 1 << 20 {
        at += 1;
        trace += &format!("{at},join,200\n{},leave,200\n", at + 1);
        at += 1;
    }
    let text = TRACED.replace("duration_s = 100", "duration_s = 1000");
    let dir = setup(&text, Some(&trace));
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/manifest.json")).unwrap())
            .unwrap();
    assert!(m["inputs"][0].get("text").is_none(), "large traces are not copied");
    let elsewhere = tempfile::tempdir().unwrap();
    let results = dir.path().join("out");
    let o = dhtsim(elsewhere.path(), &["reproduce", results.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "from another directory: {}", stderr(&o));
    std::fs::write(dir.path().join("t.csv"), trace.replace("1,join,200", "1,join,201")).unwrap();
    let o = dhtsim(elsewhere.path(), &["reproduce", results.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("t.csv: has changed since the run"), "{err}");
    assert!(!err.contains("differs"), "the outputs are not blamed: {err}");
}

#[test]
fn reproduce_reports_missing_files_and_binary_differences_briefly() {
    let (dir, out) =
        run_text("id_bits = 16\n[population]\npeers = 20\n[workload]\nlookups = 50\n", &[]);
    let o = dhtsim(dir.path(), &["reproduce", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!((o.stdout.len(), o.stderr.len()), (0, 0), "--quiet prints nothing on success");
    std::fs::remove_file(out.join("hops.csv")).unwrap();
    let png = out.join("plots/hop_distribution.png");
    let mut bytes = std::fs::read(&png).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&png, bytes).unwrap();
    let o = dhtsim(dir.path(), &["reproduce", "out"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("hops.csv: recorded in the manifest, missing from the directory"),
        "{err}"
    );
    assert!(err.contains("first difference at byte 100"), "{err}");
    assert!(err.len() < 1500, "no raw bytes: {err}");
}

#[test]
fn settings_without_effect_are_warned_about() {
    let cases = [
        ("[churn]\nsession_mean_s = 60\n", "churn.session_mean_s", "model = \"none\""),
        ("[network]\nlatency_min_ms = 5\n", "network.latency_min_ms", "latency = \"constant\""),
        ("[churn]\nmodel = \"exponential\"\nstart_s = 900\n", "churn.start_s", "no churn happens"),
        ("[workload]\nzipf_exponent = 1.2\n", "workload.zipf_exponent", "keys = \"zipf\""),
        ("[overlay]\nstabilize_s = 5\n", "overlay.stabilize_s", "membership never changes"),
        (
            "[churn]\nmodel = \"exponential\"\narrival_rate_per_s = 2\n",
            "churn.arrival_rate_per_s",
            "steady arrivals",
        ),
        ("[overlay]\nclient_mode = true\n", "overlay.client_mode", "network.unreachable"),
        (
            "[overlay]\nproximity = 8\n[network]\nlatency = \"plane\"\n",
            "overlay.proximity",
            "fingers = true",
        ),
    ];
    for (section, key, needle) in cases {
        let text = format!("duration_s = 600\n[population]\npeers = 10\n{section}");
        let dir = setup(&text, None);
        let o = dhtsim(dir.path(), &["check", "s.toml"]);
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert!(err.starts_with("warning: s.toml:"), "{section}: {err}");
        assert!(err.contains(&format!("key `{key}`")) && err.contains(needle), "{section}: {err}");
    }
    // A key that matters in some run of a sweep is not ignored.
    let text = "[population]\npeers = 10\n[churn]\nsession_mean_s = 60\n\
                [sweep]\n\"churn.model\" = [\"none\", \"exponential\"]\n";
    let o = dhtsim(setup(text, None).path(), &["check", "s.toml"]);
    assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn output_settings_that_would_be_ignored_are_errors() {
    let text = "[population]\npeers = 10\n[output]\ndistribution_peers = 20\n\
                [sweep]\n\"population.peers\" = [10, 40]\n";
    refused(setup(text, None).path(), "s.toml:4:", "no run has 20 peers (the runs have 10, 40)");
    let text = "duration_s = 10\n[population]\npeers = 10\n[output]\ndot_at_s = [1, 2, 1.0]\n";
    refused(setup(text, None).path(), "s.toml:5:", "1 s is listed twice");
}

#[test]
fn limits_on_what_a_user_types() {
    let dir = setup("seed = { a = 1 }\n", None);
    refused(dir.path(), "s.toml:1:", "key `seed`: expected an integer, found a table");
    let dir = setup("duration_s = 1e300\n", None);
    refused(dir.path(), "s.toml:1:", "got 1e300");
    let dir = setup("seed = 1\nname = \"caf\u{e9}\"\n", None);
    let mut bytes = std::fs::read(dir.path().join("s.toml")).unwrap();
    let at = bytes.len() - 3;
    bytes[at] = 0xff;
    std::fs::write(dir.path().join("s.toml"), bytes).unwrap();
    refused(dir.path(), "s.toml:2:", "not UTF-8");
    for device in ["/dev/zero", "/dev/urandom"] {
        let o = dhtsim(dir.path(), &["check", device]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    }
    let values: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let list = values.join(", ");
    let text =
        format!("[sweep]\n\"workload.lookups\" = [{list}]\n\"seed\" = 1\nseeds = [{list}]\n");
    let text = text.replace("\"seed\" = 1\n", "\"overlay.hop_limit\" = [1, 2]\n");
    refused(setup(&text, None).path(), "s.toml:1:", "2000000 runs");
}

#[test]
fn jobs_beyond_the_cores_are_cut_down() {
    let (dir, _) = run_text("id_bits = 16\n[population]\npeers = 20\n", &[]);
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out", "--jobs", "100000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: --jobs 100000: using at most"), "{}", stderr(&o));
}
