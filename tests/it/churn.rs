//! Churn: the lecture's crash-and-repair and join stories step by step, eventual consistency,
//! replication, the invariant checker, determinism and bad churn input.

use super::*;
use dhtsim::scenario;
use dhtsim_core::chord::Peer;
use dhtsim_core::ring::RingId;
use dhtsim_core::sim::Simulation;
use dhtsim_core::time::SimTime;

fn load(text: &str) -> scenario::Scenario {
    scenario::from_text("t.toml", text, "t", &[], None).unwrap_or_else(|e| panic!("{e}"))
}

fn ids(peers: &[dhtsim_core::protocol::PeerRef]) -> Vec<u64> {
    peers.iter().map(|p| p.id.0).collect()
}

#[test]
fn lecture_crash_repair_and_join_step_by_step() {
    let text = std::fs::read_to_string(repo_root().join("scenarios/lecture-churn.toml")).unwrap();
    let s = load(&text);
    let cfg = &s.runs[0].config;
    let mut sim = Simulation::<Peer>::new(cfg, s.runs[0].seed).expect("valid");
    let peer = |sim: &mut Simulation, id: u64| sim.peer_by_id(RingId(id)).expect("alive").clone();

    // Before the crash: keys 14 and 20 live on 25 with copies on 32; 28 lives on 32.
    sim.run_until(SimTime(10_000));
    assert_eq!(ids(peer(&mut sim, 13).successors()), vec![25, 32]);
    assert!(!peer(&mut sim, 25).entries().values(RingId(14)).is_empty());
    assert!(
        !peer(&mut sim, 32).entries().values(RingId(14)).is_empty(),
        "replica on the next successor"
    );

    // 25 crashes at 10 s. Nobody knows yet.
    sim.run_until(SimTime(10_001));
    assert!(sim.peer_by_id(RingId(25)).is_none());
    assert_eq!(ids(peer(&mut sim, 13).successors()), vec![25, 32]);
    assert_eq!(peer(&mut sim, 32).pred().map(|p| p.id.0), Some(25));

    // Within one stabilization period plus the RPC timeout, 13 has promoted 32 and copied its
    // list, and 32 has found its predecessor dead and adopted 13.
    sim.run_until(SimTime(10_000 + 5_000 + 500 + 200));
    assert_eq!(ids(peer(&mut sim, 13).successors()), vec![32, 40]);
    sim.run_until(SimTime(10_000 + 2 * 5_000 + 1_000));
    assert_eq!(peer(&mut sim, 32).pred().map(|p| p.id.0), Some(13));
    assert!(peer(&mut sim, 32).owns(cfg.space, RingId(14)), "32 now owns 14..32");
    assert_eq!(
        peer(&mut sim, 32).entries().values(RingId(14)),
        &[RingId(1)],
        "and the copy survived"
    );
    assert!(sim.health().is_perfect(), "{:?}", sim.health());

    // 28 joins through 60 at 30 s: routed 60 -> 1 -> 12 -> 13 -> 32; 32 answers; 28 notifies
    // 32, which makes 28 its predecessor and hands over keys 14..28.
    sim.run_until(SimTime(30_000 + 1_000));
    let p28 = peer(&mut sim, 28);
    assert!(p28.is_joined());
    assert_eq!(ids(p28.successors()), vec![32, 40]);
    assert_eq!(peer(&mut sim, 32).pred().map(|p| p.id.0), Some(28));
    for k in [14, 20, 28] {
        assert_eq!(p28.entries().values(RingId(k)), &[RingId(1)], "key {k} moved to 28");
    }
    // 13 learns of 28 at its next stabilization; 28 then learns 13 is its predecessor.
    sim.run_until(SimTime(30_000 + 2 * 5_000 + 1_000));
    assert_eq!(ids(peer(&mut sim, 13).successors()), vec![28, 32]);
    assert_eq!(peer(&mut sim, 28).pred().map(|p| p.id.0), Some(13));
    assert!(sim.health().is_perfect(), "{:?}", sim.health());

    let result = sim.run();
    let rec = result.peers.iter().find(|p| p.id == RingId(28)).unwrap();
    assert_eq!(rec.join_path.iter().map(|p| p.0).collect::<Vec<_>>(), vec![28, 60, 1, 12, 13, 32]);
    assert_eq!(rec.join_hops, Some(5));
    for l in &result.lookups {
        assert_eq!((l.owner, l.values.as_slice()), (Some(RingId(28)), &[RingId(1)][..]));
    }
}

/// Churn for 300 s, then quiet: the ring must converge to the truth.
const CHURNY: &str = "seed = 5\nid_bits = 16\nduration_s = 500\n\
    [population]\npeers = 150\n\
    [overlay]\nfingers = true\nsuccessors = 4\nreplication = 3\nstabilize_s = 5\n\
    fix_fingers_s = 1\ncheck_predecessor_s = 5\n\
    [churn]\nmodel = \"exponential\"\nsession_mean_s = 600\nstop_s = 300\n\
    [workload]\nlookups = 2000\nfiles = 100\nkeys = \"stored\"\n\
    [output]\nsample_s = 10\nplots = false\n";

#[test]
fn ring_converges_after_churn_stops() {
    let s = load(CHURNY);
    let mut sim = Simulation::<Peer>::new(&s.runs[0].config, s.runs[0].seed).expect("valid");
    sim.run_until(SimTime(300_000));
    let during = sim.health();
    assert!(during.members >= 5);
    // Bound: 60 stabilization rounds (300 s) after the last departure.
    sim.run_until(SimTime(300_000 + 60 * 5_000 - 1));
    let h = sim.health();
    assert!(h.is_perfect(), "not converged: {h:?}");
    assert_eq!(h.lost_keys, 0, "r = 4, replication = 3: nothing lost");
    let result = sim.run();
    let joins = result.peers.iter().filter(|p| p.join_hops.is_some()).count();
    let departures = result.peers.iter().filter(|p| p.leave.is_some()).count();
    assert!(
        joins > 20 && departures > 20,
        "there was churn: {joins} joins, {departures} departures"
    );
    // Safety properties held at every sample, during churn too.
    for smp in &result.samples {
        let h = &smp.health;
        assert!(h.at_least_one_ring && h.at_most_one_ring && h.ordered_ring, "at {}: {h:?}", smp.t);
    }
}

#[test]
fn replication_keeps_keys_and_r1_heavy_crashes_lose_them() {
    let safe = load(CHURNY);
    let result = dhtsim_core::sim::run(&safe.runs[0].config, 5).expect("valid");
    assert!(result.samples.iter().all(|s| s.health.lost_keys == 0));
    assert!(result.lookups.iter().all(|l| l.outcome != dhtsim_core::metrics::Outcome::NotFound));

    let heavy = CHURNY
        .replace("successors = 4\nreplication = 3", "successors = 1\nreplication = 1")
        .replace("session_mean_s = 600", "session_mean_s = 60")
        .replace("[churn]\n", "[churn]\ncrash_fraction = 1.0\n");
    let s = load(&heavy);
    let result = dhtsim_core::sim::run(&s.runs[0].config, 5).expect("valid");
    let lost = result.samples.iter().map(|s| s.health.lost_keys).max().unwrap();
    assert!(lost > 0, "heavy crash churn with no copies loses keys");
    let summary = dhtsim_core::metrics::Summary::of(&result);
    assert!(summary.failed + summary.not_found + summary.wrong_owner > 0, "{summary:?}");
    assert!(summary.timeouts > 0);
    assert_eq!(summary.lookups, 2000, "every lookup is recorded, none dropped");
}

#[test]
fn checker_catches_a_broken_ring() {
    let text = "id_bits = 8\nduration_s = 10\n[population]\npeers = 50\n[overlay]\nmaintenance = true\n\
                [output]\nsample_s = 1\n[check]\nstop_on_violation = true\n";
    let s = load(text);
    let mut sim = Simulation::<Peer>::new(&s.runs[0].config, 1).expect("valid");
    sim.run_until(SimTime(500));
    assert!(sim.health().is_perfect());
    // Two cycles: 0..10 and 11..49.
    let at = |sim: &mut Simulation, i: usize| {
        let id = sim.oracle().ids()[i];
        sim.peer_by_id(id).unwrap().me()
    };
    let (p0, p10, p11, p49) =
        (at(&mut sim, 0), at(&mut sim, 10), at(&mut sim, 11), at(&mut sim, 49));
    sim.peer_mut(p10.idx).corrupt_successors(vec![p0]);
    sim.peer_mut(p49.idx).corrupt_successors(vec![p11]);
    let h = sim.health();
    assert!(!h.at_most_one_ring && !h.ordered_ring, "{h:?}");
    assert_eq!(h.violations(), vec!["AtMostOneRing", "OrderedRing"]);
    // The run stops at the next sample and says why, with the last events.
    let result = sim.run();
    let why = result.stopped.expect("stopped on the violation");
    assert!(why.contains("AtMostOneRing") && why.contains("last"), "{why}");

    // An out-of-order successor list.
    let mut sim = Simulation::<Peer>::new(&s.runs[0].config, 1).expect("valid");
    let (p3, p4, p5) = (at(&mut sim, 3), at(&mut sim, 4), at(&mut sim, 5));
    sim.peer_mut(p3.idx).corrupt_successors(vec![p5, p4]);
    assert_eq!(sim.health().violations(), vec!["OrderedSuccessorLists"]);
}

#[test]
fn a_lookup_whose_origin_crashes_is_recorded() {
    let text = "id_bits = 6\nduration_s = 10\n[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n\
                [[events]]\nat_ms = 1000\nkind = \"lookup\"\nfrom = 13\nkey = 61\n\
                [[events]]\nat_ms = 1100\nkind = \"crash\"\npeer = 13\n";
    let (_d, out) = run_text(text, &[]);
    let rows = read_csv(&out.join("lookups.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["owner"], "1", "the owner answered; the querier was gone");
}

#[test]
fn churn_runs_are_deterministic() {
    let (_a, a) = run_text(CHURNY, &[]);
    let (_b, b) = run_text(CHURNY, &[]);
    let (_c, c) = run_text(CHURNY, &["--seed", "6"]);
    for f in ["summary.csv", "lookups.csv", "peers.csv", "timeseries.csv"] {
        let read = |d: &Path| std::fs::read(d.join(f)).unwrap();
        assert_eq!(read(&a), read(&b), "{f}");
        assert_ne!(read(&a), read(&c), "{f} depends on the seed");
    }
}

#[test]
fn bad_churn_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad-kind.csv"), "at_ms,kind,peer\n100,join,5\n200,explode,5\n")
        .unwrap();
    std::fs::write(dir.path().join("backwards.csv"), "at_ms,kind,peer\n300,join,5\n200,leave,5\n")
        .unwrap();
    let cases = [
        (
            "[churn]\nmodel = \"exponential\"\nsession_mean_s = -5\n",
            "s.toml:3:",
            "churn.session_mean_s",
            "must be positive",
        ),
        (
            "[churn]\nmodel = \"weibull\"\nshape = 0\n",
            "s.toml:3:",
            "churn.shape",
            "must be positive",
        ),
        ("[churn]\nmodel = \"pareto\"\nshape = 1\n", "s.toml:3:", "churn.shape", "greater than 1"),
        (
            "[churn]\nmodel = \"exponential\"\ncrash_fraction = 2\n",
            "s.toml:3:",
            "churn.crash_fraction",
            "between 0 and 1",
        ),
        ("[overlay]\nsuccessors = 0\n", "s.toml:2:", "overlay.successors", "expected 1 to 1024"),
        (
            "[churn]\nmodel = \"trace\"\ntrace = \"bad-kind.csv\"\n",
            "bad-kind.csv:3:",
            "",
            "unknown event \"explode\"",
        ),
        (
            "[churn]\nmodel = \"trace\"\ntrace = \"backwards.csv\"\n",
            "backwards.csv:3:",
            "",
            "goes backwards",
        ),
        (
            "[churn]\nmodel = \"trace\"\ntrace = \"missing.csv\"\n",
            "s.toml:3:",
            "churn.trace",
            "missing.csv: no such file",
        ),
        (
            "[population]\npeers = 2\n[churn]\nmodel = \"exponential\"\n",
            "s.toml:2:",
            "population.peers",
            "at least successors + 1",
        ),
    ];
    for (text, at, key, want) in cases {
        std::fs::write(dir.path().join("s.toml"), text).unwrap();
        let o = dhtsim(dir.path(), &["run", "s.toml"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(at) && err.contains(key) && err.contains(want), "{text}: {err}");
        assert!(!dir.path().join("results").exists());
    }
}

#[test]
fn checking_a_large_ring_fits_a_worker_threads_stack() {
    // Runs execute on rayon workers (2 MiB stacks): the checker must not recurse per peer.
    let text = "id_bits = 32\nduration_s = 1\n[population]\npeers = 100000\n";
    let s = load(text);
    let cfg = s.runs[0].config.clone();
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || Simulation::<Peer>::new(&cfg, 1).expect("valid").health())
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert!(h.is_perfect() && h.sccs == 1 && h.members == 100_000, "{h:?}");
}

#[test]
fn overlay_snapshots_export_as_dot() {
    let scenario = repo_root().join("scenarios/lecture-churn.toml");
    let text = std::fs::read_to_string(scenario).unwrap();
    let (_d, out) = run_text(&text, &["--set", "output.dot_at_s=[5, 45]"]);
    let before = std::fs::read_to_string(out.join("overlay-run0-5000ms.dot")).unwrap();
    let after = std::fs::read_to_string(out.join("overlay-run0-45000ms.dot")).unwrap();
    assert!(before.contains("\"13\" -> \"25\" [style=solid"), "{before}");
    assert!(after.contains("\"13\" -> \"28\" [style=solid"), "{after}");
    assert!(after.contains("\"28\" [tooltip=\"pred 13\"]") && !after.contains("\"25\""), "{after}");
}

#[test]
fn a_trace_replays_joins_leaves_and_crashes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trace.csv"),
        "at_ms,kind,peer\n1000,crash,25\n2000,join,28\n3000,leave,40\n# comments are fine\n4000,join,41\n",
    )
    .unwrap();
    let text = "id_bits = 6\nduration_s = 60\n[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n\
                [overlay]\nstabilize_s = 2\ncheck_predecessor_s = 2\n\
                [churn]\nmodel = \"trace\"\ntrace = \"trace.csv\"\n[output]\nsample_s = 1\n";
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let peers = read_csv(&dir.path().join("out/peers.csv"));
    let row = |id: &str| peers.iter().find(|p| p["peer"] == id).unwrap().clone();
    assert_eq!(
        (row("25")["leave_ms"].as_str(), row("25")["leave_kind"].as_str()),
        ("1000", "crash")
    );
    assert_eq!(
        (row("40")["leave_ms"].as_str(), row("40")["leave_kind"].as_str()),
        ("3000", "leave")
    );
    assert!(!row("28")["join_ms"].is_empty() && !row("41")["join_ms"].is_empty());
    let ts = read_csv(&dir.path().join("out/timeseries.csv"));
    let last = ts.last().unwrap();
    assert_eq!(last["live_peers"], "8", "8 - 2 + 2");
    for col in ["succ_correct", "pred_correct"] {
        assert_eq!(last[col], "1.0", "converged: {last:?}");
    }
}

#[test]
fn variants_under_churn_see_the_same_churn_and_lookups() {
    let text =
        CHURNY.replace("fingers = true\n", "") + "[sweep]\n\"overlay.fingers\" = [false, true]\n";
    let (_d, out) = run_text(&text, &[]);
    let rows = read_csv(&out.join("lookups.csv"));
    let work = |run: &str| lookup_work(&rows, run);
    assert_eq!(work("0"), work("1"), "same lookups (time, origin, key) with and without fingers");
    let peers = read_csv(&out.join("peers.csv"));
    let trace = |run: &str| -> Vec<(String, String, String)> {
        peers
            .iter()
            .filter(|r| r["run"] == run)
            .map(|r| (r["peer"].clone(), r["leave_ms"].clone(), r["leave_kind"].clone()))
            .collect()
    };
    assert_eq!(trace("0"), trace("1"), "same churn trace");
    let summary = read_csv(&out.join("summary.csv"));
    assert_ne!(summary[0]["hops_mean"], summary[1]["hops_mean"], "routing does differ");
}

/// Regressions found in review: each scenario failed before its fix.
#[test]
fn review_regressions_under_churn() {
    let ring = "id_bits = 6\n[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n";
    let ev = |at: u64, kind: &str, rest: &str| {
        format!("[[events]]\nat_ms = {at}\nkind = \"{kind}\"\n{rest}\n")
    };
    let outcomes = |text: &str| -> Vec<String> {
        let (_d, out) = run_text(text, &[]);
        read_csv(&out.join("lookups.csv")).iter().map(|r| r["outcome"].clone()).collect()
    };
    // Replicas are refreshed when a successor vanishes: the copy of key 13 must survive the
    // owner's crash long after its first replica holder crashed.
    let text = format!(
        "duration_s = 150\n{ring}[overlay]\nreplication = 2\nstabilize_s = 5\ncheck_predecessor_s = 5\n{}{}{}{}",
        ev(0, "store", "from = 1\nkey = 13"),
        ev(10_000, "crash", "peer = 25"),
        ev(80_000, "crash", "peer = 13"),
        ev(140_000, "lookup", "from = 1\nkey = 13"),
    );
    assert_eq!(outcomes(&text), vec!["ok"]);
    // A peer without predecessor must not teach querier caches that it owns the whole ring.
    let text = format!(
        "duration_s = 60\n{ring}[overlay]\ncache_size = 4\nstabilize_s = 100000\ncheck_predecessor_s = 1\n{}{}{}{}",
        ev(10_000, "crash", "peer = 25"),
        ev(15_000, "lookup", "from = 13\nkey = 20"),
        ev(20_000, "lookup", "from = 13\nkey = 50"),
        ev(21_000, "lookup", "from = 13\nkey = 5"),
    );
    assert!(outcomes(&text).iter().all(|o| o != "wrong_owner"), "{:?}", outcomes(&text));
    // With r = 1 a crash isolates a peer; the ring must heal through its predecessor.
    let text = format!(
        "duration_s = 300\n{ring}[overlay]\nsuccessors = 1\nstabilize_s = 5\ncheck_predecessor_s = 5\n{}{}",
        ev(10_000, "crash", "peer = 25"),
        ev(290_000, "lookup", "from = 1\nkey = 30"),
    );
    assert_eq!(outcomes(&text), vec!["ok"]);
}
