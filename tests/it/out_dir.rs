//! `--out` (SPEC §3): dhtsim writes only a directory it owns, refuses a user's file or a
//! non-empty directory without its manifest before simulating anything, and cleans up after
//! itself even when killed.

use super::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// A scenario that takes the debug binary many seconds to simulate (0.1 s to read).
const SLOW: &str = "name = \"slow\"\nid_bits = 32\n[population]\npeers = 20000\n\
                    [workload]\nlookups = 2000000\n";

/// A scenario whose run writes a 20 MB `lookups.csv` after a short simulation.
const WRITES_A_LOT: &str = "name = \"big\"\nid_bits = 32\n[population]\npeers = 1000\n\
                            [overlay]\nfingers = true\n[workload]\nlookups = 300000\n";

const SMALL: &str = "name = \"small\"\nid_bits = 20\n[population]\npeers = 64\n\
                     [workload]\nlookups = 300\n";

/// Every file under `dir` with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let bytes = if p.is_dir() { Vec::new() } else { std::fs::read(&p).unwrap() };
            out.push((rel, bytes));
        }
    }
    out.sort();
    out
}

/// Runs `dhtsim run s.toml --out OUT` on `SLOW` and checks it is refused at once, with exit
/// status 2 and a message containing `needle`, leaving every byte of the directory as it was.
fn refused_at_once(dir: &Path, out: &str, needle: &str) {
    let before = snapshot(dir);
    let started = Instant::now();
    let o = dhtsim(dir, &["run", "s.toml", "--out", out]);
    let took = started.elapsed();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with(&format!("error: {out}: ")), "{err}");
    assert!(err.contains(needle), "wants {needle:?}: {err}");
    assert!(!err.contains("running"), "nothing simulated: {err}");
    assert!(took < Duration::from_millis(900), "refused before simulating: {took:?}");
    assert_eq!(snapshot(dir), before, "every byte untouched");
}

#[test]
fn a_users_directory_or_file_is_refused_before_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), SLOW).unwrap();
    std::fs::create_dir(d.join("thesis")).unwrap();
    std::fs::write(d.join("thesis/ch1.tex"), "\\chapter{One}\n").unwrap();
    std::fs::create_dir(d.join("thesis/figures")).unwrap();
    std::fs::write(d.join("thesis/figures/ring.svg"), "<svg/>").unwrap();
    std::fs::write(d.join("notes.txt"), "my notes\n").unwrap();
    refused_at_once(d, "thesis", "holds no dhtsim manifest.json");
    refused_at_once(d, "notes.txt", "is not a directory");
    // A directory that only looks like results: someone else's manifest.json.
    std::fs::create_dir(d.join("web")).unwrap();
    std::fs::write(d.join("web/manifest.json"), "{\"name\": \"app\"}").unwrap();
    refused_at_once(d, "web", "holds no dhtsim manifest.json");
    // The scenario's own directory (`--out .`).
    refused_at_once(d, ".", "holds no dhtsim manifest.json");
}

#[test]
fn results_with_a_users_file_added_are_refused() {
    let (dir, out) = run_text(SMALL, &[]);
    std::fs::write(out.join("analysis.md"), "what I found\n").unwrap();
    std::fs::write(dir.path().join("s.toml"), SLOW).unwrap();
    refused_at_once(dir.path(), "out", "analysis.md");
}

#[test]
fn an_unwritable_location_fails_in_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SLOW).unwrap();
    for out in ["/proc/dhtsim-results", "/dev/null/results"] {
        let started = Instant::now();
        let o = dhtsim(dir.path(), &["run", "s.toml", "--out", out]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.starts_with(&format!("error: {out}: ")), "{err}");
        assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());
    }
}

#[test]
fn own_results_are_replaced_and_new_or_empty_directories_filled() {
    let (dir, out) = run_text(SMALL, &[]);
    let first = std::fs::read(out.join("summary.csv")).unwrap();
    let text = SMALL.replace("lookups = 300", "lookups = 200");
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(out.join("summary.csv")).unwrap(), first, "replaced");
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    for target in ["empty", "new/nested/dir"] {
        let o = dhtsim(dir.path(), &["run", "s.toml", "--out", target, "--quiet"]);
        assert!(o.status.success(), "{target}: {}", stderr(&o));
        assert!(dir.path().join(target).join("manifest.json").exists());
    }
    let hidden: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "no temporaries left: {hidden:?}");
}

#[test]
fn a_symbolic_link_to_a_results_directory_writes_through_it() {
    let (dir, out) = run_text(SMALL, &[]);
    std::os::unix::fs::symlink(&out, dir.path().join("link")).unwrap();
    let o = dhtsim(dir.path(), &["run", "s.toml", "--out", "link", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(dir.path().join("link")).unwrap().file_type().is_symlink());
    assert!(out.join("manifest.json").exists());
}

/// The hidden temporaries (`.NAME.tmp-*`) in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".out.tmp-"))
        .collect();
    v.sort();
    v
}

/// Starts `dhtsim run big.toml --out out` and kills it (SIGKILL) as soon as `ready` holds for
/// its temporary directory. Returns false when the run finished before that.
fn kill_when(dir: &Path, ready: impl Fn(&Path) -> bool) -> bool {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dhtsim"))
        .args(["run", "big.toml", "--out", "out", "--quiet"])
        .current_dir(dir)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tmp = temporaries(dir).into_iter().find(|n| !n.ends_with(".lock"));
        if let Some(tmp) = tmp
            && ready(&dir.join(tmp))
        {
            child.kill().unwrap(); // SIGKILL: no destructor runs
            child.wait().unwrap();
            return true;
        }
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_killed_run_leaves_old_results_intact_and_the_next_run_clears_its_temporaries() {
    let (dir, out) = run_text(SMALL, &[]);
    let d = dir.path();
    let good = snapshot(&out);
    std::fs::write(d.join("big.toml"), WRITES_A_LOT).unwrap();
    // Killed while simulating (the temporary exists, empty), then while writing its files.
    let simulating = |tmp: &Path| tmp.is_dir();
    let writing =
        |tmp: &Path| std::fs::read_dir(tmp).map(|mut r| r.next().is_some()).unwrap_or(false);
    assert!(kill_when(d, simulating), "the run was killed before it finished");
    let first = temporaries(d);
    assert_eq!(first.len(), 2, "a directory and its lock file: {first:?}");
    assert!(kill_when(d, writing), "the run was killed while writing");
    let second = temporaries(d);
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(first.iter().all(|t| !second.contains(t)), "the second run cleared the first's");
    assert_eq!(snapshot(&out), good, "old results intact");
    let o = dhtsim(d, &["reproduce", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The next run into the same parent removes what the killed ones left.
    let o = dhtsim(d, &["run", "s.toml", "--out", "other", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(temporaries(d), Vec::<String>::new());
    assert_eq!(snapshot(&out), good, "old results still intact");
}
