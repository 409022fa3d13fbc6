//! `manifest.json`: what produced a results directory, and the SHA-256 of every file in it, so
//! that a result can be traced to its scenario and verified byte for byte.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The manifest of one `dhtsim run`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// dhtsim's version (`CARGO_PKG_VERSION`).
    pub dhtsim_version: String,
    /// When the run finished, RFC 3339 UTC; the only field that differs between reruns.
    pub created: String,
    /// The command line, as given.
    pub command_line: Vec<String>,
    /// The scenario.
    pub scenario: ScenarioInfo,
    /// `--set` overrides applied, in order.
    pub overrides: Vec<String>,
    /// The top-level seed.
    pub seed: u64,
    /// The `--seed` given on the command line, if any (it replaces the sweep's `seeds`).
    pub seed_override: Option<u64>,
    /// Each run: its number and seed.
    pub runs: Vec<RunInfo>,
    /// SHA-256 (hex) of every other file in the directory, by file name.
    pub outputs: BTreeMap<String, String>,
    /// The files the scenario read besides itself (churn traces), with their SHA-256 (and
    /// text, when small), so `reproduce` works from anywhere and names a changed input. Absent
    /// in manifests written before inputs were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<crate::scenario::file::InputFile>>,
    /// What the run warned about: settings without effect, events that could not happen.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// In a shard's directory (`run --shard I/K`): which shard of the sweep it holds. Absent
    /// in the results of a whole sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// In the directory of `dhtsim explore`: the bounds of the search. Absent in a run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explore: Option<ExploreInfo>,
}

/// The bounds of a `dhtsim explore` search, so that `reproduce` can search again.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExploreInfo {
    /// `--depth`.
    pub depth: u32,
    /// `--max-states`.
    pub max_states: u64,
    /// `--any-failure`.
    pub any_failure: bool,
    /// `--fifo`.
    #[serde(default)]
    pub fifo: bool,
}

/// Which shard of a sweep a directory holds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// I: it holds the runs r with r mod K = I − 1.
    pub index: u64,
    /// K, the number of shards.
    pub count: u64,
    /// Runs in the whole sweep.
    pub runs: u64,
}

/// The scenario a run came from.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInfo {
    /// File as named on the command line.
    pub path: String,
    /// SHA-256 of its text.
    pub sha256: String,
    /// Its full text.
    pub text: String,
}

/// One run of the scenario.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// Number of the run.
    pub run: u64,
    /// Its seed.
    pub seed: u64,
    /// The value of each swept key.
    pub point: BTreeMap<String, String>,
}

/// The files of the results directory `dir` that its dhtsim manifest lists (relative paths,
/// `manifest.json` included), or `None` when `dir` holds no manifest that dhtsim wrote. Reads
/// only the two fields every version of the manifest has, so results of other dhtsim versions
/// are recognised too.
pub fn owned_files(dir: &std::path::Path) -> Option<std::collections::BTreeSet<String>> {
    #[derive(Deserialize)]
    struct Ownership {
        #[allow(dead_code)]
        dhtsim_version: String,
        outputs: BTreeMap<String, String>,
    }
    let text = std::fs::read(dir.join("manifest.json")).ok()?;
    let m: Ownership = serde_json::from_slice(&text).ok()?;
    let mut files: std::collections::BTreeSet<String> = m.outputs.into_keys().collect();
    files.insert("manifest.json".into());
    Some(files)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    /// The manifest as pretty-printed JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("plain data serializes");
        v.push(b'\n');
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
