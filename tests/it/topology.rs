//! The plane latency topology (issue 21): a lookup's latency is the sum of the latencies of the
//! links its messages took, each link the distance between two hosts plus their access delays;
//! its stretch compares that with the round trip between querier and owner. And unreachable
//! hosts, which get only the replies to their own requests.

use super::*;
use dhtsim_core::config::Plane;
use dhtsim_core::network::Topology;
use dhtsim_core::time::SimDuration;
use std::collections::BTreeMap;

const SEED: u64 = 11;

/// The plane's defaults (docs/scenario.md), without jitter.
const DEFAULT_PLANE: Plane = Plane {
    side: SimDuration(150),
    access_min: SimDuration(1),
    access_max: SimDuration(20),
    jitter: SimDuration(0),
};

/// A static ring in the default plane (150 ms square, access delays 1 ..= 20 ms, no jitter).
fn static_ring(lookup: &str) -> String {
    format!(
        "name = \"plane\"\nseed = {SEED}\nid_bits = 32\nduration_s = 600\n\
         [population]\npeers = 300\n\
         [overlay]\nfingers = true\nlookup = \"{lookup}\"\n\
         [network]\nlatency = \"plane\"\n\
         [workload]\nlookups = 3000\n\
         [output]\nlookups = true\npaths = true\npeers = true\n"
    )
}

fn num(row: &BTreeMap<String, String>, key: &str) -> u64 {
    row[key].parse().unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

/// The run's lookups, and the one-way latency (no jitter) between two peer IDs: on a static
/// ring peer i (in ID order) is host i.
fn lookups_and_links(lookup: &str) -> (Vec<BTreeMap<String, String>>, impl FnMut(u64, u64) -> u64) {
    let (_d, out) = run_text(&static_ring(lookup), &[]);
    let mut ids: Vec<u64> =
        read_csv(&out.join("peers.csv")).iter().map(|r| num(r, "peer")).collect();
    ids.sort_unstable();
    let mut topology = Topology::new(DEFAULT_PLANE, SEED);
    let link = move |a: u64, b: u64| {
        let host = |id: u64| ids.binary_search(&id).expect("a peer's ID") as u32;
        if a == b { 0 } else { topology.one_way(host(a), host(b)).as_ms() }
    };
    (read_csv(&out.join("lookups.csv")), link)
}

fn path(row: &BTreeMap<String, String>) -> Vec<u64> {
    row["path"].split(' ').map(|id| id.parse().expect("an ID")).collect()
}

#[test]
fn a_recursive_lookups_latency_is_the_sum_of_its_links() {
    // The query goes along the path, origin first; the owner answers the origin directly.
    let (rows, mut link) = lookups_and_links("recursive");
    let (mut measured, mut summed) = (0, 0);
    for r in &rows {
        assert_eq!(r["outcome"], "ok");
        let p = path(r);
        let legs: u64 = p.windows(2).map(|w| link(w[0], w[1])).sum();
        let want = legs + link(*p.last().unwrap(), p[0]);
        assert_eq!(num(r, "latency_ms"), want, "{r:?}");
        measured += num(r, "latency_ms");
        summed += want;
        let (origin, owner) = (num(r, "origin"), num(r, "true_owner"));
        assert_eq!(num(r, "rtt_ms"), 2 * link(origin, owner), "{r:?}");
    }
    assert_eq!(measured, summed, "mean latency = mean of the path sums");
    // The links are not all alike: a latency is not hops × a constant.
    let per_message: std::collections::BTreeSet<u64> = rows
        .iter()
        .filter(|r| num(r, "hops") == 1 && r["origin"] != r["owner"])
        .map(|r| num(r, "latency_ms"))
        .collect();
    assert!(per_message.len() > 5, "{per_message:?}");
}

#[test]
fn an_iterative_lookups_latency_is_a_round_trip_to_each_peer_it_asks() {
    // The querier asks each peer of the path in turn and waits for its reply.
    let (rows, mut link) = lookups_and_links("iterative");
    for r in &rows {
        assert_eq!(r["outcome"], "ok");
        let p = path(r);
        let want: u64 = p[1..].iter().map(|&asked| 2 * link(p[0], asked)).sum();
        assert_eq!(num(r, "latency_ms"), want, "{r:?}");
    }
}

#[test]
fn stretch_is_latency_over_the_round_trip_to_the_true_owner() {
    let (_d, out) = run_text(&static_ring("recursive"), &[]);
    let s = &read_csv(&out.join("summary.csv"))[0];
    // Nearest-rank median of the per-lookup ratios, in thousandths, from lookups.csv.
    let mut milli: Vec<u64> = read_csv(&out.join("lookups.csv"))
        .iter()
        .filter(|r| num(r, "rtt_ms") > 0)
        .map(|r| (2000 * num(r, "latency_ms") + num(r, "rtt_ms")) / (2 * num(r, "rtt_ms")))
        .collect();
    milli.sort_unstable();
    let median = milli[milli.len().div_ceil(2) - 1];
    assert_eq!(s["stretch_p50"].parse::<f64>().unwrap(), median as f64 / 1000.0);
    let mean = milli.iter().sum::<u64>() as f64 / milli.len() as f64 / 1000.0;
    assert_eq!(s["stretch_mean"].parse::<f64>().unwrap(), mean);
    // Fingers on 300 peers: about 4 hops plus the answer, each as long as a direct link on
    // average, over 2 direct links: a median stretch between 1.5 and 4.
    let p50: f64 = s["stretch_p50"].parse().unwrap();
    assert!((1.5..4.0).contains(&p50), "{p50}");
    // latency.csv and the latency CDF are written; the hop histogram is unchanged in form.
    assert!(out.join("latency.csv").exists() && out.join("plots/latency_cdf.svg").exists());
}

#[test]
fn jitter_keeps_runs_reproducible_and_a_constant_latency_writes_no_latency_table() {
    let text = static_ring("recursive")
        .replace("latency = \"plane\"", "latency = \"plane\"\njitter_ms = 7");
    let (_a, one) = run_text(&text, &[]);
    let (_b, two) = run_text(&text, &[]);
    for f in ["summary.csv", "lookups.csv", "latency.csv", "plots/latency_cdf.svg"] {
        assert_eq!(std::fs::read(one.join(f)).unwrap(), std::fs::read(two.join(f)).unwrap(), "{f}");
    }
    let (_c, constant) = run_text(&text.replace("latency = \"plane\"\njitter_ms = 7", ""), &[]);
    assert!(!constant.join("latency.csv").exists());
    let header = std::fs::read_to_string(constant.join("lookups.csv")).unwrap();
    assert!(!header.lines().next().unwrap().contains("rtt_ms"));
    assert!(!std::fs::read_to_string(constant.join("summary.csv")).unwrap().contains("stretch"));
}

/// A static network of 300 peers, a share `unreachable` of them behind NAT.
fn with_unreachable(protocol: &str, unreachable: f64) -> String {
    network(protocol, "peers = 300", unreachable, false)
}

/// A static network of `population`, a share `unreachable` of its peers behind NAT, in client
/// mode if `clients`.
fn network(protocol: &str, population: &str, unreachable: f64, clients: bool) -> String {
    format!(
        "name = \"nat\"\nseed = {SEED}\nid_bits = 32\nduration_s = 600\n\
         [population]\n{population}\n\
         [overlay]\nprotocol = \"{protocol}\"\nclient_mode = {clients}\n{}\
         [network]\nlatency_ms = 50\nunreachable = {unreachable}\n\
         [workload]\nlookups = 3000\n\
         [output]\nlookups = true\npeers = true\n",
        if protocol == "chord" { "fingers = true\nsuccessors = 4\n" } else { "" }
    )
}

/// The mean of column `key` over `rows`.
fn mean(rows: &[BTreeMap<String, String>], key: &str) -> f64 {
    rows.iter().map(|r| num(r, key) as f64).sum::<f64>() / rows.len() as f64
}

#[test]
fn clients_stay_out_of_routing_tables_and_lookups_route_as_among_the_servers_alone() {
    // docs/validation.md, "Unreachable peers": in client mode an unreachable peer is in no
    // table and owns no key, so no request is ever sent to one (no timeout), every lookup ends
    // at the owner among the servers, and hops are those of a fully reachable network of the
    // servers alone (the same IDs, no NAT), within sampling error.
    for protocol in ["chord", "kademlia"] {
        let (_d, out) = run_text(&network(protocol, "peers = 300", 0.3, true), &[]);
        let mut ids: Vec<u64> =
            read_csv(&out.join("peers.csv")).iter().map(|r| num(r, "peer")).collect();
        ids.sort_unstable();
        let mut hosts = Topology::new(Plane::POINT, SEED).with_unreachable(0.3);
        let servers: Vec<u64> =
            (0..ids.len()).filter(|&i| hosts.place(i as u32).reachable).map(|i| ids[i]).collect();
        let lookups = read_csv(&out.join("lookups.csv"));
        let from_clients =
            lookups.iter().filter(|r| servers.binary_search(&num(r, "origin")).is_err()).count();
        assert!(from_clients > 600, "{protocol}: {from_clients} lookups from clients");
        for r in &lookups {
            assert_eq!(r["outcome"], "ok", "{protocol}: {r:?}");
            assert!(servers.binary_search(&num(r, "true_owner")).is_ok(), "{protocol}: {r:?}");
        }
        let s = &read_csv(&out.join("summary.csv"))[0];
        assert_eq!(num(s, "timeouts"), 0, "{protocol}");

        let list = servers.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let alone = network(protocol, &format!("ids = [{list}]"), 0.0, false);
        let (_d, out) = run_text(&alone, &[]);
        let reachable = read_csv(&out.join("lookups.csv"));
        let (a, b) = (mean(&lookups, "hops"), mean(&reachable, "hops"));
        // Hops have a standard deviation near 1.2 (Chord) and 0.8 (Kademlia): the standard
        // error of a difference of two means of 3,000 is about 0.03.
        assert!((a - b).abs() < 0.15, "{protocol}: {a:.3} hops with clients, {b:.3} without");
    }
}

#[test]
fn a_lookup_fails_exactly_when_its_owner_is_unreachable() {
    // docs/validation.md, "Unreachable peers": a request sent to a peer behind NAT is lost, so
    // no query reaches an unreachable owner; the lookup ends at a reachable peer that believes
    // it owns the key (Chord: the owner's successor, by the rule after a dead predecessor;
    // Kademlia: the closest peer that answered), unless the querier is the owner. Every other
    // lookup is routed around the unreachable peers to its owner. Host h is unreachable when word 4h + 3 of the topology
    // stream is below 0.3 × 2^32; on a static ring peer i (in ID order) is host i.
    for protocol in ["chord", "kademlia"] {
        let (_d, out) = run_text(&with_unreachable(protocol, 0.3), &[]);
        let mut ids: Vec<u64> =
            read_csv(&out.join("peers.csv")).iter().map(|r| num(r, "peer")).collect();
        ids.sort_unstable();
        let mut hosts = Topology::new(Plane::POINT, SEED).with_unreachable(0.3);
        let unreachable = (0..ids.len() as u32).filter(|&h| !hosts.place(h).reachable).count();
        assert!((60..120).contains(&unreachable), "{unreachable} of 300 unreachable");
        let mut reachable = |id: u64| hosts.place(ids.binary_search(&id).unwrap() as u32).reachable;
        let (mut ok, mut wrong) = (0, 0);
        for r in &read_csv(&out.join("lookups.csv")) {
            // A querier that owns the key answers itself, reachable or not.
            let owner_reachable = reachable(num(r, "true_owner")) || r["origin"] == r["true_owner"];
            let want = if owner_reachable { "ok" } else { "wrong_owner" };
            assert_eq!(r["outcome"], want, "{protocol}: {r:?}");
            if owner_reachable { ok += 1 } else { wrong += 1 }
        }
        assert!(ok > 1000 && wrong > 300, "{protocol}: {ok} ok, {wrong} wrong");
        let s = &read_csv(&out.join("summary.csv"))[0];
        assert!(num(s, "timeouts") > 0, "{protocol}");
    }
}

/// A static network of 1,000 peers in the default plane, with proximity selection of
/// `proximity` candidates per table entry.
fn with_proximity(protocol: &str, proximity: u32) -> String {
    format!(
        "name = \"pns\"\nseed = {SEED}\nid_bits = 32\nduration_s = 600\n\
         [population]\npeers = 1000\n\
         [overlay]\nprotocol = \"{protocol}\"\nproximity = {proximity}\n{}\
         [network]\nlatency = \"plane\"\n\
         [workload]\nlookups = 4000\n\
         [output]\nlookups = true\n",
        if protocol == "chord" { "fingers = true\n" } else { "k = 20\nalpha = 3\n" }
    )
}

fn summary_of(text: &str) -> (BTreeMap<String, String>, Vec<u8>) {
    let (_d, out) = run_text(text, &[]);
    let lookups = std::fs::read(out.join("lookups.csv")).expect("lookups.csv");
    (read_csv(&out.join("summary.csv")).remove(0), lookups)
}

#[test]
fn proximity_selection_lowers_chords_latency_without_more_hops() {
    // docs/validation.md, "Proximity neighbour selection": a finger chosen among the first 16
    // peers of its interval lies at or past the exact one, in the same interval, so hops do not
    // rise (they fall a little), and the nearest of 16 round trips is far below the mean one.
    let (plain, _) = summary_of(&with_proximity("chord", 0));
    let (near, _) = summary_of(&with_proximity("chord", 16));
    let f = |s: &BTreeMap<String, String>, k: &str| s[k].parse::<f64>().expect(k);
    assert_eq!((f(&plain, "ok"), f(&near, "ok")), (4000.0, 4000.0));
    assert!(f(&near, "hops_mean") <= f(&plain, "hops_mean"), "{near:?}");
    let (a, b) = (f(&plain, "latency_ms_p50"), f(&near, "latency_ms_p50"));
    assert!(b < 0.75 * a, "median latency {a} -> {b} ms");
}

#[test]
fn kademlias_proximity_picks_among_more_than_k_or_changes_nothing() {
    // k = 20: up to 20 candidates per bucket is the random choice of k without selection, to
    // the byte; 64 candidates keep the hops (their IDs are as random) and lower the latency.
    let (plain, plain_lookups) = summary_of(&with_proximity("kademlia", 0));
    let (same, same_lookups) = summary_of(&with_proximity("kademlia", 20));
    assert!(plain_lookups == same_lookups, "proximity = k is no selection");
    assert_eq!(plain, same);
    let (near, _) = summary_of(&with_proximity("kademlia", 64));
    let f = |s: &BTreeMap<String, String>, k: &str| s[k].parse::<f64>().expect(k);
    assert_eq!(f(&near, "ok"), 4000.0);
    assert!((f(&near, "hops_mean") - f(&plain, "hops_mean")).abs() < 0.05, "{near:?}");
    assert!(f(&near, "latency_ms_mean") < f(&plain, "latency_ms_mean"), "{near:?}");
}

#[test]
fn kademlias_proximity_routing_asks_nearer_peers_first_and_finds_values_sooner() {
    // docs/validation.md, "Proximity route selection": of the contacts that make the same
    // progress as the closest fresh one, the nearest is asked first. A lookup of a stored key
    // ends at the first value, so asking near peers first lowers its latency; the contacts
    // asked are as close to the key, so the hops barely change.
    let stored = |routing: bool| {
        with_proximity("kademlia", 0)
            .replace("proximity = 0\n", &format!("proximity_routing = {routing}\n"))
            .replace("lookups = 4000\n", "lookups = 2000\nfiles = 2000\nkeys = \"stored\"\n")
    };
    let (plain, _) = summary_of(&stored(false));
    let (near, _) = summary_of(&stored(true));
    let f = |s: &BTreeMap<String, String>, k: &str| s[k].parse::<f64>().expect(k);
    assert_eq!((f(&plain, "ok"), f(&near, "ok")), (2000.0, 2000.0));
    let (a, b) = (f(&plain, "latency_ms_mean"), f(&near, "latency_ms_mean"));
    assert!(b < 0.97 * a, "mean latency {a} -> {b} ms");
    assert!(f(&near, "hops_mean") - f(&plain, "hops_mean") < 0.05, "{near:?}");
    assert!(f(&near, "messages") < 1.04 * f(&plain, "messages"), "{near:?}");
}

/// Runs `scenario` in a fresh directory holding `files` (name, text) beside it.
fn run_with_files(scenario: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.toml"), scenario).expect("write scenario");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write input");
    }
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out", "--quiet"]);
    assert!(o.status.success(), "dhtsim failed: {}", stderr(&o));
    let out = dir.path().join("out");
    (dir, out)
}

/// The round trips of the default plane's first `hosts` hosts for seed [`SEED`], as a matrix
/// file: one row per host.
fn plane_as_matrix(hosts: u32) -> String {
    let mut topology = Topology::new(DEFAULT_PLANE, SEED);
    let mut text = String::from("# round trips in ms\n");
    for a in 0..hosts {
        let row: Vec<String> = (0..hosts)
            .map(|b| if a == b { 0 } else { 2 * topology.one_way(a, b).as_ms() })
            .map(|rtt| rtt.to_string())
            .collect();
        text += &row.join(",");
        text.push('\n');
    }
    text
}

#[test]
fn a_latency_matrix_of_the_planes_round_trips_is_the_same_run_as_the_plane() {
    // docs/scenario.md, "A latency matrix": one-way latency is half the file's round trip. A
    // matrix written from the plane's hosts (even round trips) gives every lookup the latency,
    // round trip and stretch it had in the plane, to the byte, for both lookup styles; the
    // manifest records the file with its hash, and `reproduce` re-runs from it alone.
    let matrix = plane_as_matrix(300);
    for lookup in ["recursive", "iterative"] {
        let (_a, plane) = run_text(&static_ring(lookup), &[]);
        let text = static_ring(lookup)
            .replace("latency = \"plane\"", "latency = \"matrix\"\nmatrix = \"king.csv\"");
        let (dir, out) = run_with_files(&text, &[("king.csv", &matrix)]);
        for file in ["lookups.csv", "summary.csv", "latency.csv"] {
            let (a, b) = (std::fs::read(plane.join(file)), std::fs::read(out.join(file)));
            assert!(a.unwrap() == b.unwrap(), "{lookup}: {file} differs");
        }
        let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
        assert!(manifest.contains("\"network.matrix\"") && manifest.contains("\"sha256\""));
        std::fs::remove_file(dir.path().join("king.csv")).unwrap();
        let o = dhtsim(dir.path(), &["reproduce", "out", "--quiet"]);
        assert!(o.status.success(), "reproduce without the file: {}", stderr(&o));
    }
}

#[test]
fn a_matrix_maps_more_peers_onto_its_hosts_by_a_rule_and_reproducibly() {
    // 300 peers on a 40-host matrix: "modulo" puts peer-host h on row h mod 40, "random" on a
    // row drawn for it; each is reproducible, and they differ.
    let matrix = plane_as_matrix(40);
    let mut latencies = Vec::new();
    for rule in ["modulo", "random"] {
        let text = static_ring("recursive").replace(
            "latency = \"plane\"",
            &format!("latency = \"matrix\"\nmatrix = \"m.csv\"\nmatrix_hosts = \"{rule}\""),
        );
        let (_d, a) = run_with_files(&text, &[("m.csv", &matrix)]);
        let (_e, b) = run_with_files(&text, &[("m.csv", &matrix)]);
        let bytes = std::fs::read(a.join("lookups.csv")).unwrap();
        assert!(bytes == std::fs::read(b.join("lookups.csv")).unwrap(), "{rule}: same bytes");
        latencies.push(bytes);
    }
    assert!(latencies[0] != latencies[1], "the two rules place hosts differently");
}

#[test]
fn a_sweep_reads_its_latency_matrix_once() {
    // Every point of a sweep holds the same parsed matrix (H² entries), not a copy each; a
    // second host mapping is parsed for itself.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("m.csv"), plane_as_matrix(40)).expect("write matrix");
    let text = static_ring("recursive").replace(
        "latency = \"plane\"",
        "latency = \"matrix\"\nmatrix = \"m.csv\"\nmatrix_hosts = \"modulo\"",
    ) + "[sweep]\nseeds = [1, 2, 3]\n\"network.matrix_hosts\" = [\"modulo\", \"random\"]\n";
    let file = dir.path().join("s.toml");
    std::fs::write(&file, text).expect("write scenario");
    let scenario = dhtsim::scenario::load(&file, &[], None).expect("valid scenario");
    let matrices: Vec<_> = scenario
        .runs
        .iter()
        .map(|run| match &run.config.network.latency {
            dhtsim_core::config::Latency::Matrix(m) => (m.mapping, std::sync::Arc::as_ptr(m)),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(matrices.len(), 6);
    let distinct: std::collections::BTreeSet<_> = matrices.iter().map(|m| m.1).collect();
    assert_eq!(distinct.len(), 2, "one matrix per host mapping: {matrices:?}");
    assert!(
        matrices.iter().all(|(rule, at)| matrices.iter().all(|(r, a)| (r == rule) == (a == at)))
    );
}

#[test]
fn a_join_through_an_unreachable_peer_fails_and_is_warned_about() {
    // 20 peers, half behind NAT: a join query is nothing its receiver asked for, so a join
    // through an unreachable well-known peer never arrives; the run says so for each.
    let ids: Vec<u64> = (1..=20).map(|i| i * 1_000_000).collect();
    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
    let mut text = format!(
        "name = \"nat-join\"\nseed = {SEED}\nid_bits = 32\nduration_s = 120\n\
         [population]\nids = [{}]\n[overlay]\nmaintenance = true\n\
         [network]\nlatency_ms = 50\nunreachable = 0.5\n[output]\npeers = true\n",
        list.join(", ")
    );
    for (i, via) in ids.iter().enumerate() {
        let (at, peer) = (1_000 * (i as u64 + 1), via + 1);
        text += &format!("[[events]]\nat_ms = {at}\nkind = \"join\"\npeer = {peer}\nvia = {via}\n");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.toml"), &text).expect("write scenario");
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out"]); // warnings need no --quiet
    assert!(o.status.success(), "dhtsim failed: {}", stderr(&o));
    let peers = read_csv(&dir.path().join("out").join("peers.csv"));
    let mut hosts = Topology::new(Plane::POINT, SEED).with_unreachable(0.5);
    let mut behind_nat = 0;
    for via in &ids {
        let host = |id: u64| peers.iter().find(|r| num(r, "peer") == id).map(|r| num(r, "host"));
        let reachable = hosts.place(host(*via).expect("a member") as u32).reachable;
        let joiner = peers.iter().find(|r| num(r, "peer") == via + 1).expect("spawned");
        assert_eq!(!joiner["join_ms"].is_empty(), reachable, "join via {via}: {joiner:?}");
        let warned = format!("well-known peer {via} is unreachable");
        assert_eq!(stderr(&o).contains(&warned), !reachable, "via {via}: {}", stderr(&o));
        behind_nat += !reachable as u32;
    }
    assert!((5..=15).contains(&behind_nat), "{behind_nat} of 20 behind NAT");
}

#[test]
fn under_churn_no_lookup_ends_at_a_client() {
    // Clients join, stabilize, repair and leave under churn with maintenance; none may ever
    // answer as an owner (Chord: not even one that lost every successor), for both protocols.
    for protocol in ["chord", "kademlia"] {
        let text = format!(
            "name = \"nat\"\nseed = {SEED}\nid_bits = 32\nduration_s = 1800\nwarmup_s = 300\n\
             [population]\npeers = 300\n\
             [overlay]\nprotocol = \"{protocol}\"\nclient_mode = true\nmaintenance = true\n{}\
             [network]\nlatency_ms = 50\nunreachable = 0.3\n\
             [churn]\nmodel = \"exponential\"\nsession_mean_s = 600\ncrash_fraction = 0.5\n\
             [workload]\nper_peer_interval_s = 60\n\
             [output]\nlookups = true\npeers = true\n",
            if protocol == "chord" { "fingers = true\nsuccessors = 1\n" } else { "" }
        );
        let (_d, out) = run_text(&text, &[]);
        let mut hosts = Topology::new(Plane::POINT, SEED).with_unreachable(0.3);
        let clients: std::collections::BTreeSet<u64> = read_csv(&out.join("peers.csv"))
            .iter()
            .filter(|r| !hosts.place(num(r, "host") as u32).reachable)
            .map(|r| num(r, "peer"))
            .collect();
        assert!(clients.len() > 100, "{protocol}: {} clients came and went", clients.len());
        let lookups = read_csv(&out.join("lookups.csv"));
        let from_clients = lookups.iter().filter(|r| clients.contains(&num(r, "origin"))).count();
        assert!(from_clients > 1000, "{protocol}: {from_clients} lookups from clients");
        for r in &lookups {
            if !r["owner"].is_empty() {
                assert!(!clients.contains(&num(r, "owner")), "{protocol}: {r:?}");
            }
            assert!(!clients.contains(&num(r, "true_owner")), "{protocol}: {r:?}");
        }
    }
}
