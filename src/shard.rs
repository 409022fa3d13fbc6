//! Shards of a sweep (SPEC §3: `run --shard I/K`, `merge`), so that a batch system (Slurm job
//! arrays, GNU parallel) can run a sweep's runs apart and still get the files of one local run.
//!
//! Shard I of K runs the runs r with r mod K = I − 1. It keeps each run's whole result, not its
//! rows of the tables: `runs/run-NNNNNN.json`, exact JSON (floats written and read back bit for
//! bit). `merge` checks that the shards are one sweep's, each once, then renders every table and
//! plot from the results read back, with the code `run` uses: the same bytes. Its manifest is a
//! local run's too, but for `created` and `command_line`, which say when and how it was made.

use crate::output::manifest::{Manifest, ShardInfo, sha256_hex};
use crate::output::tables::RunOutput;
use crate::scenario::InputError;
use dhtsim_core::metrics::RunResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Which shard of how many (`--shard I/K`, 1 ≤ I ≤ K).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// I, from 1.
    pub index: u64,
    /// K.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = || format!("`{text}`: expected I/K, two whole numbers with 1 <= I <= K");
        let (i, k) = text.split_once('/').ok_or_else(expected)?;
        let (index, count) = match (i.trim().parse::<u64>(), k.trim().parse::<u64>()) {
            (Ok(i), Ok(k)) => (i, k),
            _ => return Err(expected()),
        };
        if index == 0 || index > count {
            return Err(expected());
        }
        Ok(Shard { index, count })
    }
}

impl From<ShardInfo> for Shard {
    fn from(i: ShardInfo) -> Self {
        Shard { index: i.index, count: i.count }
    }
}

impl Shard {
    /// Whether run `run` is this shard's.
    pub fn holds(self, run: u64) -> bool {
        run % self.count == self.index - 1
    }

    /// Its default directory, beside the sweep's: `results/NAME.shard-I-of-K`.
    pub fn default_dir(self, name: &str) -> PathBuf {
        Path::new("results").join(format!("{name}.shard-{}-of-{}", self.index, self.count))
    }
}

/// A run's whole result, as a shard keeps it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRun {
    run: u64,
    seed: u64,
    point: Vec<(String, String)>,
    result: RunResult,
}

/// The file that holds run `run` in a shard.
fn run_file(run: u64) -> String {
    format!("runs/run-{run:06}.json")
}

/// A shard's files: each run's result, as (relative path, bytes).
pub fn render(runs: &[RunOutput]) -> Vec<(String, Vec<u8>)> {
    runs.iter()
        .map(|r| {
            let stored = StoredRun {
                run: r.run,
                seed: r.seed,
                point: r.point.clone(),
                result: r.result.clone(),
            };
            let mut bytes = serde_json::to_vec(&stored).expect("plain data serializes");
            bytes.push(b'\n');
            (run_file(r.run), bytes)
        })
        .collect()
}

/// Whether `dir` already holds shard `shard` of the sweep `want` describes, complete and intact:
/// then a resubmitted job has nothing to do. A directory holding something else is left for the
/// caller to claim (or refuse).
pub fn already_done(dir: &Path, want: &Manifest) -> bool {
    let Ok(m) = crate::results::read_manifest(dir) else { return false };
    same_sweep(&m, want)
        && m.shard == want.shard
        && m.runs.iter().map(|r| r.run).eq(want.runs.iter().map(|r| r.run))
        && m.outputs.iter().all(|(name, digest)| {
            std::fs::read(dir.join(name)).is_ok_and(|b| sha256_hex(&b) == *digest)
        })
}

/// Whether two manifests describe runs of one sweep by one dhtsim.
fn same_sweep(a: &Manifest, b: &Manifest) -> bool {
    a.dhtsim_version == b.dhtsim_version
        && a.scenario.sha256 == b.scenario.sha256
        && a.overrides == b.overrides
        && a.seed == b.seed
        && a.seed_override == b.seed_override
        && a.shard.map(|s| (s.count, s.runs)) == b.shard.map(|s| (s.count, s.runs))
}

/// The shards in `dirs`, checked: each a shard of the same sweep by this dhtsim, every shard
/// of it exactly once, every file intact. Returns the first shard's manifest (the sweep's
/// scenario) and every run's result, in run order. Anything else is an input error naming the
/// directories at fault.
pub fn read_all(dirs: &[PathBuf]) -> Result<(Manifest, Vec<RunOutput>), InputError> {
    let mut shards: Vec<(PathBuf, Manifest, ShardInfo)> = Vec::new();
    for dir in dirs {
        let m = crate::results::read_manifest(dir)?;
        crate::results::check_version(dir, &m)?;
        let shown = dir.join("manifest.json").display().to_string();
        let Some(info) = m.shard else {
            return Err(InputError::whole(&shown, "not a shard: its manifest names no shard")
                .with_hint("merge takes directories written by `dhtsim run --shard I/K`"));
        };
        if let Some((first, m0, _)) = shards.first()
            && !same_sweep(m0, &m)
        {
            return Err(InputError::whole(
                &shown,
                format!(
                    "a shard of another sweep than {}: its scenario, overrides, seed or shard count differ",
                    first.display()
                ),
            ));
        }
        if let Some((other, _, _)) = shards.iter().find(|(_, _, s)| s.index == info.index) {
            return Err(InputError::whole(
                &shown,
                format!(
                    "shard {}/{} twice: here and in {}",
                    info.index,
                    info.count,
                    other.display()
                ),
            ));
        }
        shards.push((dir.clone(), m, info));
    }
    let Some((_, _, info)) = shards.first() else {
        return Err(InputError::whole("merge", "no shard directory given"));
    };
    let count = info.count;
    let missing: Vec<String> = (1..=count)
        .filter(|i| !shards.iter().any(|(_, _, s)| s.index == *i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        let first = shards[0].0.join("manifest.json").display().to_string();
        return Err(InputError::whole(
            &first,
            format!("the sweep has {count} shards; missing: {}", missing.join(", ")),
        ));
    }
    let mut runs = Vec::new();
    for (dir, m, s) in &shards {
        for (name, digest) in &m.outputs {
            let path = dir.join(name);
            let shown = path.display().to_string();
            let bytes = std::fs::read(&path)
                .map_err(|e| InputError::whole(&shown, format!("cannot read: {e}")))?;
            if sha256_hex(&bytes) != *digest {
                return Err(InputError::whole(&shown, "does not match its digest in the manifest")
                    .with_hint(format!("run shard {}/{} again", s.index, s.count)));
            }
            let stored: StoredRun = serde_json::from_slice(&bytes)
                .map_err(|e| InputError::whole(&shown, format!("malformed run result: {e}")))?;
            if !Shard::from(*s).holds(stored.run) {
                return Err(InputError::whole(
                    &shown,
                    format!("run {} is not shard {}/{}'s", stored.run, s.index, s.count),
                ));
            }
            runs.push(RunOutput {
                run: stored.run,
                seed: stored.seed,
                point: stored.point,
                result: stored.result,
            });
        }
    }
    runs.sort_by_key(|r| r.run);
    let total = shards[0].2.runs;
    if !runs.iter().map(|r| r.run).eq(0..total) {
        let first = shards[0].0.join("manifest.json").display().to_string();
        let have: BTreeSet<u64> = runs.iter().map(|r| r.run).collect();
        let lacking: Vec<String> =
            (0..total).filter(|r| !have.contains(r)).take(10).map(|r| r.to_string()).collect();
        return Err(InputError::whole(
            &first,
            format!(
                "the shards hold {} of {total} runs; missing runs: {}",
                runs.len(),
                lacking.join(", ")
            ),
        ));
    }
    let (_, first, _) = shards.swap_remove(0);
    Ok((first, runs))
}
