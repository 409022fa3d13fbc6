//! Hop counts on a static ring against the analytic value, and the oracle on every row.

use super::*;

#[test]
fn successor_ring_of_1000_takes_half_the_ring() {
    let text = "name = \"ring\"\nseed = 11\nid_bits = 32\nduration_s = 600\n\
                [population]\npeers = 1000\n[workload]\nlookups = 10000\n";
    let (_d, out) = run_text(text, &[]);
    let rows = read_csv(&out.join("lookups.csv"));
    assert_eq!(rows.len(), 10_000);
    assert!(rows.iter().all(|r| r["outcome"] == "ok"), "every lookup ok");
    assert!(rows.iter().all(|r| r["owner"] == r["true_owner"]), "owner == true_owner");
    let mean = rows.iter().map(|r| r["hops"].parse::<f64>().unwrap()).sum::<f64>() / 10_000.0;
    let expected = (1000.0 - 1.0) / 2.0;
    assert!((mean - expected).abs() / expected < 0.03, "mean hops {mean}, expected {expected}");
    let summary = read_csv(&out.join("summary.csv"));
    assert_eq!(summary[0]["ok"], "10000");
    assert_eq!(summary[0]["peers"], "1000");
    let peers = read_csv(&out.join("peers.csv"));
    assert_eq!(peers.len(), 1000);
    // Constant 50 ms latency: each lookup takes (hops + 1) x 50 ms, or 0 when the querier owns it.
    for r in &rows {
        let hops: u64 = r["hops"].parse().unwrap();
        let want = if hops == 0 && r["origin"] == r["owner"] { 0 } else { (hops + 1) * 50 };
        assert_eq!(r["latency_ms"].parse::<u64>().unwrap(), want);
    }
}

#[test]
fn lookups_start_inside_the_measured_window() {
    let text = "id_bits = 16\nduration_s = 10\nwarmup_s = 4\n[population]\npeers = 50\n\
                [workload]\nlookups = 300\n[network]\nlatency = \"uniform\"\nlatency_min_ms = 5\n\
                latency_max_ms = 80\n";
    let (_d, out) = run_text(text, &[]);
    let rows = read_csv(&out.join("lookups.csv"));
    assert_eq!(rows.len(), 300);
    for r in &rows {
        let t: u64 = r["start_ms"].parse().unwrap();
        assert!((4000..10_000).contains(&t), "start {t}");
    }
    let latencies: Vec<u64> = rows.iter().map(|r| r["latency_ms"].parse().unwrap()).collect();
    assert!(latencies.iter().any(|&l| l % 50 != 0), "uniform latency is not constant");
}
