//! `dhtsim explore`: the shortest counterexample of the published Chord, written as a scenario
//! that `dhtsim run` replays to the same failure; none for the corrected Chord within the same
//! bounds, with the same counts every time; scopes too large to explore refused; `reproduce`
//! searches again.

use super::*;

fn scenario() -> PathBuf {
    repo_root().join("scenarios/zave-connected-appendages.toml")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_published_chord_breaks_and_the_counterexample_replays() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = dhtsim(d, &["explore", scenario().to_str().unwrap(), "--out", "ex", "--depth", "12"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = text(&o);
    assert!(
        out.contains(
            "result: Always(ConnectedAppendages), Always(OneLiveSuccessor) fail after 6 steps"
        ),
        "{out}"
    );
    assert!(
        stderr(&o).contains("replay with `dhtsim run ex/counterexample.toml`"),
        "{}",
        stderr(&o)
    );
    let report = std::fs::read_to_string(d.join("ex/report.txt")).unwrap();
    // Under Zave's fault assumption 30 may crash only before 25 knows it; its answer, already
    // on its way, arrives after.
    assert!(
        report.contains("  5. scripted event 1: crash 30\n    6. 30 -> 25: answer"),
        "{report}"
    );
    // The replay takes the six steps and stops on the same properties.
    let o = dhtsim(d, &["run", "ex/counterexample.toml", "--out", "replay", "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "stopped: ring property failed after schedule step 6 of 6: ConnectedAppendages, OneLiveSuccessor"
        ),
        "{}",
        stderr(&o)
    );
    // `reproduce` searches again and finds the same files.
    let o = dhtsim(d, &["reproduce", "ex", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_corrected_chord_keeps_its_ring_within_the_same_bounds_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = |out: &'static str| {
        vec![
            "explore",
            "--set",
            "overlay.chord_variant=zave",
            "--depth",
            "12",
            "--out",
            out,
            "--quiet",
        ]
    };
    let mut counts = Vec::new();
    for out in ["a", "b"] {
        let mut a = args(out);
        let s = scenario();
        a.insert(1, s.to_str().unwrap());
        let o = dhtsim(d, &a);
        assert!(o.status.success(), "{}", stderr(&o));
        let report = std::fs::read_to_string(d.join(out).join("report.txt")).unwrap();
        assert!(report.contains("result: no violation within the bounds"), "{report}");
        assert!(!d.join(out).join("counterexample.toml").exists());
        counts.push(report.lines().find(|l| l.starts_with("explored:")).unwrap().to_string());
    }
    assert_eq!(counts[0], counts[1]);
}

#[test]
fn scopes_it_cannot_enumerate_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        ("name = \"r\"\n[population]\npeers = 1000\n", "1000 random peers"),
        (
            "name = \"c\"\n[population]\nids = [1, 2, 3, 4]\n[churn]\nmodel = \"exponential\"\n",
            "a churn model",
        ),
        (
            "name = \"w\"\n[population]\nids = [1, 2, 3, 4]\n[workload]\nlookups = 5\n",
            "generated lookups",
        ),
        (
            "name = \"s\"\n[population]\nids = [1, 2, 3, 4]\n[sweep]\nseeds = [1, 2]\n",
            "sweeps 2 runs",
        ),
    ];
    for (toml, why) in cases {
        std::fs::write(d.join("s.toml"), toml).unwrap();
        let o = dhtsim(d, &["explore", "s.toml", "--out", "ex"]);
        assert_eq!(o.status.code(), Some(2), "{toml}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{toml}: {}", stderr(&o));
        assert!(!d.join("ex").exists(), "nothing written for {toml}");
    }
}

#[test]
fn a_schedule_that_does_not_fit_is_refused_or_stops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = std::fs::read_to_string(scenario()).unwrap();
    // A step with a key its kind does not take: exit 2, naming it.
    let bad = format!(
        "{base}\n[[schedule]]\nstep = \"timer\"\npeer = 10\ntimer = \"Stabilize\"\nindex = 0\n"
    );
    std::fs::write(d.join("bad.toml"), bad).unwrap();
    let o = dhtsim(d, &["run", "bad.toml", "--out", "r1", "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("schedule[0].index"), "{}", stderr(&o));
    assert!(stderr(&o).contains("a timer step has no `index`"), "{}", stderr(&o));
    // A step that is not pending: the run stops there and says which.
    let early = format!(
        "{base}\n[[schedule]]\nstep = \"deliver\"\nfrom = 25\nto = 10\nmessage = \"Notify\"\n"
    );
    std::fs::write(d.join("early.toml"), early).unwrap();
    let o = dhtsim(d, &["run", "early.toml", "--out", "r2", "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("schedule step 1 of 1 is not pending: 25 -> 10: Notify"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn kademlia_without_maintenance_is_explored_to_the_end_and_every_node_lookup_finds_its_peer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kad = "name = \"kad\"\nid_bits = 6\n[population]\nids = [10, 20, 30, 40]\n\
               [overlay]\nprotocol = \"kademlia\"\nk = 2\nalpha = 1\nmaintenance = false\n\
               [workload]\nlookups = 0\n\
               [[events]]\nat_ms = 0\nkind = \"join\"\npeer = 25\nvia = 10\n\
               [[events]]\nat_ms = 1\nkind = \"crash\"\npeer = 30\n";
    std::fs::write(d.join("kad.toml"), kad).unwrap();
    let o = dhtsim(d, &["explore", "kad.toml", "--depth", "80", "--out", "ex", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(d.join("ex/report.txt")).unwrap();
    assert!(report.contains("Kademlia, k 2, alpha 1"), "{report}");
    assert!(report.contains("covered: every state reachable within the bounds"), "{report}");
    let settled = report
        .lines()
        .find_map(|l| l.strip_prefix("explored: ")?.split("; ").nth(1)?.strip_suffix(" settled"))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(settled > 0, "{report}");
    // With maintenance, refreshes draw new IDs and states never repeat: refused.
    std::fs::write(d.join("kad.toml"), kad.replace("maintenance = false\n", "")).unwrap();
    let o = dhtsim(d, &["explore", "kad.toml", "--out", "ex2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Kademlia with maintenance"), "{}", stderr(&o));
}
