//! Every shipped scenario validates and runs; the documentation covers every scenario key; the
//! result file headers are the contract's.

use super::*;

#[test]
fn every_shipped_scenario_checks_and_runs() {
    let dir = repo_root().join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        n += 1;
        let tmp = tempfile::tempdir().unwrap();
        let p = path.to_str().unwrap();
        let o = dhtsim(tmp.path(), &["check", p]);
        assert!(o.status.success(), "{p}: {}", stderr(&o));
        // Smoke-run at a reduced size: one seed and few generated lookups keep every sweep point
        // cheap; benchmarks and the published experiments also shrink what makes them big.
        let mut args = vec!["run", p, "--out", "out", "--quiet", "--set", "workload.lookups=20"];
        args.extend(["--set", "sweep.seeds=[1]"]);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let shrink: &[&str] = match name.as_str() {
            "bench-swarm" => &["swarm.leechers=200", "swarm.pieces=50"],
            n if n.starts_with("bench-") => &["population.peers=200", "duration_s=120"],
            "chord-path-length" => {
                &["sweep.population.peers=[8, 64]", "output.distribution_peers=64"]
            }
            "chord-load-balance" => &["population.peers=200", "sweep.workload.files=[1000, 2000]"],
            "chord-virtual-nodes" => &["population.peers=200", "workload.files=2000"],
            "swarm-tracker-vs-dht" | "swarm-fluid" => &[
                "population.peers=60",
                "swarm.leechers=30",
                "swarm.pieces=10",
                "swarm.arrivals_per_s=0.02",
                "duration_s=1500",
            ],
            "chord-stabilization" | "shortcuts-churn" => {
                &["duration_s=900", "sweep.churn.rate_per_s=[0.05, 0.4]"]
            }
            _ => &[],
        };
        for set in shrink {
            args.extend(["--set", set]);
        }
        let o = dhtsim(tmp.path(), &args);
        assert!(o.status.success(), "{p}: {}", stderr(&o));
    }
    assert!(n >= 1, "scenarios/ ships at least the lecture");
}

#[test]
fn docs_cover_every_scenario_key() {
    let doc = std::fs::read_to_string(repo_root().join("docs/scenario.md")).unwrap();
    for key in dhtsim::scenario::known_keys() {
        let leaf = key.rsplit('.').next().unwrap();
        assert!(
            doc.contains(&format!("`{key}`"))
                || doc.contains(&format!("| `{leaf}`"))
                || doc.contains(&format!("[{key}]")),
            "docs/scenario.md does not document `{key}`"
        );
    }
}

#[test]
fn result_headers_are_the_contract() {
    let text = "id_bits = 8\nduration_s = 1\n[population]\npeers = 4\n[workload]\nlookups = 2\n";
    let (_d, out) = run_text(text, &[]);
    let header = |f: &str| {
        let t = std::fs::read_to_string(out.join(f)).unwrap();
        t.lines().next().unwrap().to_string()
    };
    assert_eq!(
        header("summary.csv"),
        "run,seed,peers,lookups,hops_mean,hops_p50,hops_p95,hops_p99,hops_max,ok,not_found,\
         wrong_owner,failed,timeouts,messages,latency_ms_mean,events,end_ms,hops_p1,timeouts_p1,\
         timeouts_p99,keys_mean,keys_p1,keys_p99,keys_max,inconsistent_rate,consistency_pairs,\
         messages_lookup,messages_join,messages_maintenance,messages_ping,messages_store,replies,\
         bytes,bytes_per_peer_s,maintenance_bytes_per_peer_s,latency_ms_p50,latency_ms_p95,\
         latency_ms_p99,protocol"
    );
    assert_eq!(
        header("lookups.csv"),
        "run,lookup,start_ms,origin,key,owner,true_owner,hops,timeouts,latency_ms,outcome,value,path"
    );
    assert_eq!(
        header("peers.csv"),
        "run,peer,join_ms,leave_ms,leave_kind,join_hops,join_path,host,keys"
    );
    let bytes = std::fs::read(out.join("summary.csv")).unwrap();
    assert!(bytes.ends_with(b"\r\n"), "RFC 4180 line endings");
}

#[test]
fn check_describes_simgrids_workload() {
    let tmp = tempfile::tempdir().unwrap();
    let path = repo_root().join("scenarios/bench-maintenance.toml");
    let o = dhtsim(tmp.path(), &["check", path.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    for part in [
        "100000 random peers joining at 0 ms",
        "a lookup every 10000 ms from every member (of the asker's own fingers, none while unset)",
    ] {
        assert!(out.contains(part), "{part:?} not in {out}");
    }
}

#[test]
fn an_override_replaces_the_alternative_key() {
    let text = "duration_s = 100\n[population]\npeers = 10\n\
                [workload]\nrate_per_s = 1\nfiles_per_peer = 3\n\
                [output]\nplots = false\n[sweep]\n\"overlay.fingers\" = [false]\n";
    let (_d, out) = run_text(text, &[]);
    let row = &read_csv(&out.join("summary.csv"))[0];
    assert_eq!((row["lookups"].as_str(), row["keys_mean"].as_str()), ("100", "3"));
    let set = ["--set", "workload.lookups=7", "--set", "workload.files=20"];
    let (_d, out) =
        run_text(text, &[&set[..], &["--set", "sweep.\"overlay.fingers\"=[true]"]].concat());
    let row = &read_csv(&out.join("summary.csv"))[0];
    assert_eq!((row["lookups"].as_str(), row["keys_mean"].as_str()), ("7", "2"));
    assert_eq!(row["overlay.fingers"], "true");
    // Per-peer lookups replace the rate: 10 peers, one lookup each per 50 s of 100 s.
    let (_d, out) = run_text(text, &["--set", "workload.per_peer_interval_s=50"]);
    assert_eq!(read_csv(&out.join("summary.csv"))[0]["lookups"], "20");
}
