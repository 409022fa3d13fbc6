//! Bad input: each mistake exits with status 2 and one message naming the file, line and key,
//! without a panic and without leaving a results directory behind.

use super::*;

const RING: &str = "[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n";

/// Runs `dhtsim run` on `text` and checks the failure: status 2, the message names `s.toml`, the
/// 1-based `line` and the `key` (when given), contains `needle`, and nothing was written.
fn rejects(text: &str, line: usize, key: Option<&str>, needle: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    for args in [&["run", "s.toml"][..], &["check", "s.toml"][..]] {
        let o = dhtsim(dir.path(), args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with(&format!("error: s.toml:{line}:")), "{args:?} line {line}: {err}");
        if let Some(key) = key {
            assert!(err.contains(&format!("key `{key}`")), "{args:?} key {key}: {err}");
        }
        assert!(err.contains(needle), "{args:?} wants {needle:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(o.stdout.is_empty(), "nothing on stdout");
        let left: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec!["s.toml"], "no results directory is left behind");
    }
    stderr(&dhtsim(dir.path(), &["check", "s.toml"]))
}

#[test]
fn toml_syntax_error() {
    rejects("seed = 1\nid_bits = = 6\n", 2, None, "invalid TOML");
}

#[test]
fn unknown_key_gets_a_suggestion() {
    let err =
        rejects("seed = 1\n[overlay]\nhop_limt = 4\n", 3, Some("overlay.hop_limt"), "unknown key");
    assert!(err.contains("did you mean `hop_limit`?"), "{err}");
    let err = rejects("[populaton]\npeers = 5\n", 1, Some("populaton"), "unknown section");
    assert!(err.contains("did you mean `population`?"), "{err}");
}

#[test]
fn unknown_key_inside_an_event() {
    let text =
        format!("id_bits = 6\n{RING}[[events]]\nat_ms = 0\nkind = \"lookup\"\nfrom = 1\nkye = 3\n");
    let err = rejects(&text, 8, Some("events[0].kye"), "unknown key");
    assert!(err.contains("did you mean `key`?"), "{err}");
}

#[test]
fn wrong_type() {
    rejects("id_bits = \"six\"\n", 1, Some("id_bits"), "expected an integer, found a string");
    rejects("[output]\npaths = 1\n", 2, Some("output.paths"), "expected a boolean");
}

#[test]
fn id_bits_out_of_range() {
    rejects("id_bits = 0\n", 1, Some("id_bits"), "expected 1 to 64");
    rejects("id_bits = 65\n", 1, Some("id_bits"), "expected 1 to 64");
}

#[test]
fn duplicate_explicit_ids() {
    rejects(
        "id_bits = 6\n[population]\nids = [1, 12, 1]\n",
        3,
        Some("population.ids"),
        "duplicate peer ID 1",
    );
}

#[test]
fn ids_and_keys_outside_the_space() {
    rejects(
        "id_bits = 6\n[population]\nids = [1, 64]\n",
        3,
        Some("population.ids"),
        "expected 0 to 63",
    );
    let text = format!(
        "id_bits = 6\n{RING}[[events]]\nat_ms = 0\nkind = \"lookup\"\nfrom = 1\nkey = 64\n"
    );
    rejects(&text, 8, Some("events[0].key"), "expected 0 to 63");
}

#[test]
fn negative_or_zero_duration() {
    rejects("duration_s = -5\n", 1, Some("duration_s"), "must be positive");
    rejects("duration_s = 0\n", 1, Some("duration_s"), "must be positive");
    rejects("duration_s = 10\nwarmup_s = 10\n", 2, Some("warmup_s"), "less than duration_s");
}

#[test]
fn event_naming_a_missing_peer() {
    let text =
        format!("id_bits = 6\n{RING}[[events]]\nat_ms = 0\nkind = \"lookup\"\nfrom = 2\nkey = 3\n");
    rejects(&text, 7, Some("events[0].from"), "no peer has ID 2");
}

#[test]
fn event_problems() {
    let text =
        format!("id_bits = 6\n{RING}[[events]]\nat_ms = 0\nkind = \"jump\"\nfrom = 1\nkey = 3\n");
    rejects(&text, 6, Some("events[0].kind"), "expected one of \"lookup\", \"store\"");
    let text = format!(
        "id_bits = 6\nduration_s = 1\n{RING}[[events]]\nat_ms = 1000\nkind = \"lookup\"\nfrom = 1\nkey = 3\n"
    );
    rejects(&text, 6, Some("events[0].at_ms"), "not before the end of the run");
}

#[test]
fn population_conflicts() {
    rejects("id_bits = 2\n[population]\npeers = 5\n", 3, Some("population.peers"), "do not fit");
    rejects("[population]\npeers = 5\nids = [1]\n", 1, Some("population.ids"), "not both");
}

#[test]
fn missing_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["run", "check"] {
        let o = dhtsim(dir.path(), &[cmd, "nope.toml"]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o).trim_end(), "error: nope.toml: no such file");
    }
}

#[test]
fn bad_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), "seed = 1\n").unwrap();
    let o = dhtsim(dir.path(), &["check", "s.toml", "--set", "overlay.hop_limit=zero"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("--set overlay.hop_limit=zero: key `overlay.hop_limit`: expected an integer"),
        "{err}"
    );
    let o = dhtsim(dir.path(), &["check", "s.toml", "--set", "overlay.hop_limt=3"]);
    assert!(stderr(&o).contains("did you mean"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(dhtsim(dir.path(), &["frobnicate"]).status.code(), Some(2));
    assert_eq!(dhtsim(dir.path(), &["run"]).status.code(), Some(2));
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    // `dhtsim check s.toml | head -1`: standard output closes before dhtsim writes to it.
    let dir = tempfile::tempdir().unwrap();
    let lecture = repo_root().join("scenarios/lecture.toml");
    for args in [&["check"][..], &["run", "--out", "out"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dhtsim"))
            .args(args)
            .arg(&lecture)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

#[test]
fn lookup_count_and_rate_together() {
    rejects(
        "[workload]\nlookups = 5\nrate_per_s = 1\n",
        3,
        Some("workload.rate_per_s"),
        "not both",
    );
}

#[test]
fn files_and_files_per_peer_together() {
    let text = "[workload]\nfiles = 3\nfiles_per_peer = 2\n";
    rejects(text, 3, Some("workload.files_per_peer"), "not both");
}

#[test]
fn mass_failure_of_everyone() {
    let text = "[churn]\nfail_fraction = 1.0\nfail_at_s = 1\n";
    rejects(text, 2, Some("churn.fail_fraction"), "less than 1");
}

#[test]
fn mass_failure_needs_a_time_inside_the_run() {
    rejects("[churn]\nfail_fraction = 0.5\n", 1, Some("churn.fail_at_s"), "needs `fail_at_s`");
    let text = "duration_s = 10\n[churn]\nfail_fraction = 0.5\nfail_at_s = 20\n";
    rejects(text, 4, Some("churn.fail_at_s"), "before duration_s");
}

#[test]
fn poisson_churn_needs_a_rate() {
    rejects("[churn]\nmodel = \"poisson\"\n", 1, Some("churn.rate_per_s"), "needs `rate_per_s`");
}

#[test]
fn a_ring_formed_by_joins_needs_drawn_ids_and_maintenance() {
    let text = "[population]\nids = [1, 2, 3]\nbootstrap = \"joins\"\n";
    rejects(text, 3, Some("population.bootstrap"), "not `ids`");
    let text = "[population]\nbootstrap = \"joins\"\n[overlay]\nmaintenance = false\n";
    rejects(text, 4, Some("overlay.maintenance"), "needs maintenance");
}

#[test]
fn per_peer_lookups_with_a_count_or_no_interval() {
    let text = "[workload]\nlookups = 5\nper_peer_interval_s = 10\n";
    rejects(text, 3, Some("workload.per_peer_interval_s"), "give one of");
    let text = "[workload]\nper_peer_interval_s = 0\n";
    rejects(text, 2, Some("workload.per_peer_interval_s"), "positive");
}

#[test]
fn own_finger_keys_without_fingers() {
    let text = "[workload]\nkeys = \"own_fingers\"\n";
    rejects(text, 2, Some("workload.keys"), "set `overlay.fingers = true`");
}

#[test]
fn virtual_nodes_with_churn_or_explicit_ids() {
    let text = "[overlay]\nvirtual_nodes = 4\n[churn]\nmodel = \"exponential\"\n";
    rejects(text, 2, Some("overlay.virtual_nodes"), "not supported with a churn model");
    let text = "[population]\nids = [1, 2, 3]\n[overlay]\nvirtual_nodes = 2\n";
    rejects(text, 4, Some("overlay.virtual_nodes"), "population.peers");
}

#[test]
fn a_run_too_big_for_the_machine_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id_bits = 64\n[population]\npeers = 4000000000\n[overlay]\nfingers = true\n";
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let o = dhtsim(dir.path(), &["run", "s.toml"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("s.toml") && err.contains("needs about"), "{err}");
    assert!(err.contains("--ignore-memory-check"), "{err}");
    let left: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec!["s.toml"], "nothing written");
    // `check` refuses what `run` would refuse.
    let o = dhtsim(dir.path(), &["check", "s.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs about"), "{}", stderr(&o));
}

#[test]
fn kademlia_and_chord_settings_are_refused_in_each_other_s_scenarios() {
    let err = rejects("[overlay]\nk = 8\n", 2, Some("overlay.k"), "is a Kademlia setting");
    assert!(err.contains("set `overlay.protocol = \"kademlia\"`"), "{err}");
    let kad = "[overlay]\nprotocol = \"kademlia\"\n";
    for (key, value) in [("fingers", "true"), ("successors", "4"), ("lookup", "\"iterative\"")] {
        let text = format!("{kad}{key} = {value}\n");
        let err = rejects(&text, 3, Some(&format!("overlay.{key}")), "is a Chord setting");
        assert!(err.contains("this scenario runs Kademlia"), "{err}");
    }
}

#[test]
fn kademlia_k_and_alpha_out_of_range() {
    let kad = "[overlay]\nprotocol = \"kademlia\"\n";
    rejects(&format!("{kad}k = 0\n"), 3, Some("overlay.k"), "expected 1 to 65535");
    rejects(&format!("{kad}alpha = 0\n"), 3, Some("overlay.alpha"), "expected 1 to 65535");
    rejects(&format!("{kad}k = 2\nalpha = 3\n"), 4, Some("overlay.alpha"), "at most k = 2");
}

#[test]
fn sweep_variants_need_unique_names_and_plain_values() {
    let sweep = "[sweep]\nvariant = [";
    rejects(
        &format!("{sweep}{{ \"overlay.fingers\" = true }}]\n"),
        2,
        Some("sweep.variant[0]"),
        "needs a `name`",
    );
    rejects(
        &format!("{sweep}{{ name = \"a\" }}, {{ name = \"a\" }}]\n"),
        2,
        Some("sweep.variant[1].name"),
        "names two variants",
    );
    rejects(
        &format!("{sweep}{{ name = \"a\", overlay = {{ fingers = true }} }}]\n"),
        2,
        Some("sweep.variant[0].overlay"),
        "set one key at a time",
    );
    rejects(&format!("{sweep}1]\n"), 2, Some("sweep.variant[0]"), "expected a table");
    rejects(
        &format!(
            "{sweep}{{ name = \"a\", \"overlay.fingers\" = true }}]\n\"overlay.fingers\" = [true]\n"
        ),
        2,
        Some("sweep.variant.overlay.fingers"),
        "is swept too",
    );
    // A key a variant sets is read like any other: a misspelt one is unknown, at its place.
    rejects(
        &format!("{sweep}{{ name = \"a\", \"overlay.fingrs\" = true }}]\n"),
        2,
        Some("overlay.fingrs"),
        "unknown key",
    );
}

#[test]
fn a_plane_whose_access_delays_are_reversed_or_that_carries_a_swarm() {
    let text = "seed = 1\n[network]\nlatency = \"plane\"\naccess_min_ms = 30\naccess_max_ms = 10\n";
    rejects(text, 5, Some("network.access_max_ms"), "at least access_min_ms (30), got 10");
    let swarm = "seed = 1\n[network]\nlatency = \"plane\"\n[swarm]\npieces = 10\n";
    rejects(swarm, 3, Some("network.latency"), "not supported with [swarm]");
}

#[test]
fn loss_outside_zero_to_one() {
    for (value, needle) in [("1", "less than 1, got 1"), ("-0.1", "at least 0"), ("1.5", "got 1.5")]
    {
        let text = format!("seed = 1\n[network]\nlatency_ms = 5\nloss = {value}\n");
        rejects(&text, 4, Some("network.loss"), needle);
    }
    rejects("seed = 1\n[network]\nloss = \"high\"\n", 3, Some("network.loss"), "number");
    let unreachable = "seed = 1\n[network]\nunreachable = 1\n";
    rejects(unreachable, 3, Some("network.unreachable"), "less than 1, got 1");
}

#[test]
fn classes_of_access_links_out_of_range_unknown_or_outside_the_plane() {
    let links =
        |classes: &str| format!("seed = 1\n[network]\nlatency = \"plane\"\nlinks = {classes}\n");
    let cases = [
        ("[{ loss = 1 }]", "network.links[0].loss", "less than 1, got 1"),
        ("[{ weight = 2 }, { loss = -0.1 }]", "network.links[1].loss", "at least 0"),
        ("[{ weight = 0 }]", "network.links[0].weight", "expected 1 to"),
        ("[{ share = 0.5 }]", "network.links[0].share", "unknown key"),
        (
            "[{ access_min_ms = 30, access_max_ms = 10 }]",
            "network.links[0].access_max_ms",
            "more than",
        ),
        ("[]", "network.links", "at least one class"),
        ("[0.5]", "network.links", "expected a table"),
    ];
    for (classes, key, needle) in cases {
        rejects(&links(classes), 4, Some(key), needle);
    }
    let constant = "seed = 1\n[network]\nlinks = [{ weight = 1 }, { access_max_ms = 50 }]\n";
    rejects(constant, 3, Some("network.links[1].access_max_ms"), "need `latency = \"plane\"`");
    let swarm = "seed = 1\n[network]\nlinks = [{ loss = 0.1 }]\n[swarm]\nleechers = 5\n";
    rejects(swarm, 3, Some("network.links"), "not supported with [swarm]");
}

#[test]
fn clients_with_no_peer_to_serve_them_or_in_a_ring_formed_by_joins() {
    // With seed 1, the three hosts' draws all fall below 0.99: every peer would be a client.
    let text = "seed = 1\n[population]\npeers = 3\n[overlay]\nclient_mode = true\n\
                [network]\nunreachable = 0.99\n";
    rejects(text, 7, Some("network.unreachable"), "with seed 1, all 3 peers drew an unreachable");
    let joins = "seed = 1\n[population]\npeers = 30\nbootstrap = \"joins\"\n[overlay]\n\
                 client_mode = true\n[network]\nunreachable = 0.2\n";
    rejects(joins, 6, Some("overlay.client_mode"), "not supported with `population.bootstrap");
}

#[test]
fn proximity_without_distances_or_with_tables_that_change() {
    let text = "seed = 1\n[overlay]\nfingers = true\nproximity = 16\n";
    rejects(text, 4, Some("overlay.proximity"), "set `network.latency = \"plane\"`");
    let churn = "seed = 1\n[overlay]\nproximity = 16\nmaintenance = true\n\
                 [network]\nlatency = \"plane\"\n";
    rejects(churn, 3, Some("overlay.proximity"), "not supported with maintenance");
    let kad = "seed = 1\n[overlay]\nprotocol = \"kademlia\"\nproximity_routing = true\n";
    rejects(kad, 4, Some("overlay.proximity_routing"), "needs round trips");
    let joins = format!("{kad}[network]\nlatency = \"plane\"\n[churn]\nmodel = \"exponential\"\n");
    rejects(&joins, 4, Some("overlay.proximity_routing"), "not supported with joins or a churn");
    let chord = "seed = 1\n[overlay]\nproximity_routing = true\n";
    rejects(chord, 3, Some("overlay.proximity_routing"), "Kademlia setting");
}

#[test]
fn a_latency_matrix_with_missing_or_negative_entries_or_too_few_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let net = |extra: &str| {
        format!(
            "seed = 1\n[population]\npeers = 3\n[network]\nlatency = \"matrix\"\n\
             matrix = \"m.csv\"\n{extra}"
        )
    };
    let good = "0,10,20\n10,0,30\n20,30,0\n";
    let one_line = format!("{}0\n", "0,".repeat(999_999));
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (net(""), "0,10,20\n10,,30\n20,30,0\n", "m.csv:2:", "entry 2 (host 1) is missing"),
        (net(""), "0,10,20\n10,0\n20,30,0\n", "m.csv:2:", "row 2 has 2 round trips, expected 3"),
        (net(""), "# ms\n0,10,20\n10,0,-30\n20,30,0\n", "m.csv:3:", "cannot be negative, got -30"),
        (net(""), "0,10,20\n10,0,x\n20,30,0\n", "m.csv:2:", "found \"x\""),
        (net(""), "0,10,20\n10,0,30\n", "m.csv:2:", "2 rows of 3 round trips"),
        (
            net(""),
            "0,1\n1,0\n",
            "s.toml:",
            "the run has 3 peers (joiners included) and the matrix 2 hosts",
        ),
        (
            net("[churn]\nmodel = \"exponential\"\n").replace("peers = 3", "peers = 8"),
            good,
            "s.toml:",
            "a churn model adds peers as it runs",
        ),
        ("seed = 1\n[network]\nlatency = \"matrix\"\n".into(), good, "s.toml:2:", "needs `matrix`"),
        (net("").replace("m.csv", "gone.csv"), good, "s.toml:6:", "gone.csv"),
        (net("[swarm]\npieces = 4\n"), good, "s.toml:", "not supported with [swarm]"),
        // A flattened matrix: its first row alone promises 10^12 entries (4 TB).
        (net(""), one_line.as_str(), "m.csv:1:", "1 rows of 1000000 round trips"),
    ];
    for (text, matrix, at, want) in cases {
        std::fs::write(dir.path().join("s.toml"), &text).unwrap();
        std::fs::write(dir.path().join("m.csv"), matrix).unwrap();
        let o = dhtsim(dir.path(), &["run", "s.toml"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.starts_with(&format!("error: {at}")), "{text}: wants {at}: {err}");
        assert!(err.contains(want), "{text}: wants {want:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!dir.path().join("results").exists(), "no results left behind");
    }
}
