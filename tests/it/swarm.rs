//! The BitTorrent swarm from scenario files (issue 17): tracker and DHT discovery, a tracker
//! outage, paired variants, determinism, aborts, the result files, and bad input.

use super::*;

/// A small swarm: 20 leechers arriving at 60 s and one seeder, 20 pieces, beside an overlay of
/// 100 peers; `extra` adds keys to `[swarm]`, then any further sections.
fn swarm(extra: &str) -> String {
    format!(
        "seed = 3\nid_bits = 32\nduration_s = 2000\n[population]\npeers = 100\n\
         [network]\nlatency_ms = 50\n[overlay]\nprotocol = \"kademlia\"\n\
         [swarm]\npieces = 20\nleechers = 20\nflash_at_s = 60\nannounce_s = 300\n{extra}"
    )
}

fn rows(out: &Path, file: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    read_csv(&out.join(file))
}

fn ms(row: &std::collections::BTreeMap<String, String>, col: &str) -> Option<u64> {
    row[col].parse().ok()
}

#[test]
fn during_a_tracker_outage_only_dht_newcomers_find_peers() {
    // The tracker is down from 10 s to 600 s; the crowd arrives at 60 s.
    let outage = "tracker_down_s = 10\ntracker_up_s = 600\n";
    let text = swarm(&format!("{outage}[sweep]\n\"swarm.discovery\" = [\"tracker\", \"both\"]\n"));
    let (_d, out) = run_text(&text, &[]);
    let downloads = rows(&out, "downloads.csv");
    let leechers = |run: &str| {
        downloads
            .iter()
            .filter(|r| r["run"] == run && r["initial_seeder"] == "0")
            .cloned()
            .collect::<Vec<_>>()
    };
    // Tracker only: nobody knows a peer before the tracker is back (measured: 600.1 s, its
    // first answer), nor has a piece.
    for r in leechers("0") {
        assert!(ms(&r, "first_peer_ms").unwrap() >= 600_000, "{r:?}");
        assert!(ms(&r, "first_piece_ms").unwrap() > 600_000, "{r:?}");
    }
    // Through the DHT beside the silent tracker, every newcomer finds a peer within seconds of
    // arriving (an overlay join, then a lookup of a few hops), and all finish before the
    // tracker is back.
    for run in ["1"] {
        for r in leechers(run) {
            let found = ms(&r, "first_peer_ms").unwrap();
            assert!((60_000..65_000).contains(&found), "run {run}: {r:?}");
            assert!(ms(&r, "complete_ms").unwrap() < 600_000, "run {run}: {r:?}");
        }
    }
    let summary = rows(&out, "summary.csv");
    assert_eq!(summary[0]["lookups"], "0", "a tracker swarm makes no DHT lookup");
    assert!(ms(&summary[1], "lookups").unwrap() >= 21, "each peer looks the infohash up");
    // A scrape answers nothing while the tracker is down. Once it is back, it counts the peers
    // that announced since: all 21 at the last sample (none leaves), a seeder for each whose
    // `completed` has arrived (one 50 ms latency after completing) and the initial seeder.
    let swarm_rows = rows(&out, "swarm.csv");
    for r in swarm_rows.iter().filter(|r| r["run"] == "0") {
        assert_eq!(r["tracker_up"] == "0", r["tracker_seeders"].is_empty(), "{r:?}");
    }
    let last = swarm_rows.iter().rfind(|r| r["run"] == "0").unwrap();
    let t = ms(last, "t_ms").unwrap();
    let told = leechers("0").iter().filter(|r| ms(r, "complete_ms").unwrap() + 50 <= t).count();
    assert_eq!(ms(last, "tracker_seeders"), Some(1 + told as u64), "{last:?}");
    assert_eq!(ms(last, "tracker_leechers"), Some(20 - told as u64), "{last:?}");
}

#[test]
fn variants_see_the_same_arrivals_and_runs_are_reproducible_at_any_thread_count() {
    let text = swarm(
        "arrivals_per_s = 0.05\narrivals_until_s = 400\nseed_time_s = 60\n\
         classes = [{ weight = 1, up_kbps = 500, down_kbps = 2000 }, { weight = 3, up_kbps = 1000, down_kbps = 8000 }]\n\
         [sweep]\n\"swarm.discovery\" = [\"tracker\", \"dht\"]\n",
    );
    let (_a, one) = run_text(&text, &["--jobs", "1"]);
    let (_b, two) = run_text(&text, &["--jobs", "2"]);
    for f in ["summary.csv", "downloads.csv", "swarm.csv"] {
        let (x, y) = (std::fs::read(one.join(f)).unwrap(), std::fs::read(two.join(f)).unwrap());
        assert!(x == y, "{f} differs between 1 and 2 threads");
    }
    let downloads = rows(&one, "downloads.csv");
    let arrivals = |run: &str| {
        downloads
            .iter()
            .filter(|r| r["run"] == run)
            .map(|r| r["arrive_ms"].clone())
            .collect::<Vec<_>>()
    };
    assert!(arrivals("0").len() > 30, "a flash crowd and Poisson arrivals");
    assert_eq!(arrivals("0"), arrivals("1"), "tracker and DHT variants see the same peers");
    // Completed leechers hold the file; bytes up and down balance in every run.
    for run in ["0", "1"] {
        let mine: Vec<_> = downloads.iter().filter(|r| r["run"] == run).collect();
        let sum = |c: &str| mine.iter().map(|r| ms(r, c).unwrap()).sum::<u64>();
        assert_eq!(sum("bytes_up"), sum("bytes_down"), "run {run}");
        for r in mine.iter().filter(|r| !r["complete_ms"].is_empty()) {
            assert_eq!(ms(r, "bytes_down"), Some(20 * 256 * 1024), "{r:?}");
        }
    }
}

#[test]
fn behind_nats_a_dht_in_client_mode_still_lets_every_leecher_find_the_swarm() {
    // docs/validation.md, "Unreachable peers in a swarm": with DHT discovery a swarm peer runs
    // on its DHT member's host. In client mode the members behind NATs stay out of routing
    // tables, so the DHT keeps working and every leecher completes; runs stay reproducible.
    let text = swarm(
        "discovery = \"dht\"\n[sweep]\n\"network.unreachable\" = [0.0, 0.3]\n\
         \"overlay.client_mode\" = [false, true]\n",
    );
    let (_a, once) = run_text(&text, &["--jobs", "1"]);
    let (_b, again) = run_text(&text, &["--jobs", "2"]);
    for f in ["summary.csv", "downloads.csv", "swarm.csv"] {
        let (x, y) = (std::fs::read(once.join(f)).unwrap(), std::fs::read(again.join(f)).unwrap());
        assert!(x == y, "{f} differs between runs");
    }
    let summary = rows(&once, "summary.csv");
    for r in &summary {
        let behind = r["network.unreachable"] == "0.3";
        if !behind || r["overlay.client_mode"] == "true" {
            assert_eq!(r["completed"], "20", "{r:?}");
        }
        if behind && r["overlay.client_mode"] == "false" {
            assert!(ms(r, "timeouts").unwrap() > 0, "learned peers behind NATs time out: {r:?}");
        }
    }
}

#[test]
fn leechers_abort_as_their_sessions_say() {
    // Leechers give up after 30 s on average (a third of them before their first piece could
    // finish): some leave incomplete, the others complete.
    let text = swarm("abort_mean_s = 30\nabort_crash_fraction = 1\n");
    let (_d, out) = run_text(&text, &[]);
    let summary = rows(&out, "summary.csv");
    let aborted = ms(&summary[0], "aborted").unwrap();
    let completed = ms(&summary[0], "completed").unwrap();
    assert!(aborted > 0 && completed > 0, "aborted {aborted}, completed {completed}");
    assert_eq!(aborted + completed, 20);
    for r in rows(&out, "downloads.csv").iter().filter(|r| r["complete_ms"].is_empty()) {
        if r["initial_seeder"] == "0" {
            assert!(ms(r, "leave_ms").is_some(), "an aborted leecher left: {r:?}");
        }
    }
}

#[test]
fn swarm_files_have_the_contract_s_columns() {
    let (_d, out) = run_text(&swarm(""), &[]);
    let header = |f: &str| {
        let t = std::fs::read_to_string(out.join(f)).unwrap();
        t.lines().next().unwrap().to_string()
    };
    assert_eq!(
        header("downloads.csv"),
        "run,peer,arrive_ms,first_peer_ms,first_piece_ms,complete_ms,leave_ms,bytes_up,\
         bytes_down,discovery_messages,initial_seeder,bytes_up_seeding"
    );
    assert_eq!(
        header("swarm.csv"),
        "run,t_ms,seeders,leechers,tracker_up,rarest_piece_copies,tracker_seeders,tracker_leechers"
    );
    assert!(header("summary.csv").ends_with(
        ",protocol,leechers,completed,aborted,download_ms_mean,download_ms_p50,download_ms_p95,\
         first_peer_ms_mean,discovery_messages,tracker_requests,swarm_events"
    ));
    for plot in ["download_cdf.svg", "swarm_population.svg"] {
        assert!(out.join("plots").join(plot).exists(), "{plot}");
    }
}

/// `dhtsim check` on `text` fails with status 2, naming line `line` and key `key`.
fn refused(text: &str, line: usize, key: &str, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    for args in [&["check", "s.toml"][..], &["run", "s.toml"][..]] {
        let o = dhtsim(dir.path(), args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.starts_with(&format!("error: s.toml:{line}:")), "line {line}: {err}");
        assert!(err.contains(&format!("key `{key}`")), "key {key}: {err}");
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn bad_swarm_input_is_refused_at_its_key() {
    let base = "[population]\npeers = 10\n[swarm]\nleechers = 5\n";
    refused(&format!("{base}pieces = 0\n"), 5, "swarm.pieces", "at least 1");
    refused(&format!("{base}up_kbps = 0\n"), 5, "swarm.up_kbps", "out of range");
    refused(
        &format!("{base}classes = [{{ up_kbps = 100, down_kbps = 0 }}]\n"),
        5,
        "swarm.classes[0].down_kbps",
        "out of range",
    );
    refused(&format!("{base}discovery = \"dht\"\n"), 5, "swarm.discovery", "needs an overlay");
    refused(&format!("{base}max_peers = 10001\n"), 5, "swarm.max_peers", "at most 10000");
    refused(
        &format!(
            "{base}discovery = \"dht\"\n[overlay]\nprotocol = \"chord\"\n[[events]]\nat_ms = 5\nkind = \"tracker_down\"\n"
        ),
        10,
        "events[0].kind",
        "without a tracker",
    );
    refused("[[events]]\nat_ms = 5\nkind = \"tracker_up\"\n", 3, "events[0].kind", "needs a swarm");
    refused(
        &format!(
            "{base}discovery = \"dht\"\ntracker_down_s = 5\n[overlay]\nprotocol = \"chord\"\n"
        ),
        6,
        "swarm.tracker_down_s",
        "without a tracker",
    );
}
