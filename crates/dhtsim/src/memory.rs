//! The memory check before a run: the scenario's estimated peak (from `dhtsim_core::footprint`)
//! against what the machine has available, so that a run too big for it stops with a clear
//! message before it starts instead of being killed half-way.

use crate::scenario::Scenario;

/// Estimated peak bytes of running every run of `s` with `jobs` threads: the results of every
/// run (kept until the files are written) plus the working state of the largest runs that can
/// be in progress at once.
pub fn sweep_estimate(s: &Scenario, jobs: usize) -> u64 {
    let estimates: Vec<dhtsim_core::footprint::Footprint> =
        s.runs.iter().map(|r| dhtsim_core::footprint::estimate(&r.config)).collect();
    let threads = if jobs == 0 { rayon::current_num_threads() } else { jobs };
    let mut working: Vec<u64> = estimates.iter().map(|e| e.total() - e.results).collect();
    working.sort_unstable_by(|a, b| b.cmp(a));
    let kept: u64 = estimates.iter().map(|e| e.results).sum();
    kept + working.iter().take(threads.max(1)).sum::<u64>()
}

/// Memory available to a new process, from `/proc/meminfo` (`None` where that is unknown).
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `bytes` for people: "850 MB", "3.2 GB".
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 { format!("{:.1} GB", b / 1e9) } else { format!("{:.0} MB", (b / 1e6).max(1.0)) }
}

/// `Some(message)` when the estimate for `s` exceeds the available memory.
pub fn too_big(s: &Scenario, jobs: usize) -> Option<String> {
    let need = sweep_estimate(s, jobs);
    let have = available()?;
    (need > have).then(|| {
        format!(
            "this scenario needs about {} of memory ({} runs), but only {} is available: use \
             fewer peers or lookups, fewer runs at once (--jobs 1), or --ignore-memory-check to \
             run anyway",
            human(need),
            s.runs.len(),
            human(have)
        )
    })
}
