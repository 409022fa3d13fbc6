//! Reading the files a user names (scenarios, traces): regular files only, below a size limit,
//! UTF-8 text, so that `/dev/zero`, a FIFO or a directory is an input error at once instead of a
//! hang or an out-of-memory kill, and a stray byte is reported with its line and column.
//!
//! [`Inputs`] is where a scenario's own inputs (churn traces) come from: the disk, relative to
//! the scenario file, for `run` and `check`; a results directory's manifest for `reproduce`,
//! which records each input with its SHA-256 (and its text, when small), so that results can be
//! reproduced from any working directory and a changed trace is named as the cause.

use super::error::{InputError, Location};
use crate::output::manifest::sha256_hex;
use dhtsim_core::config::{HostMapping, LatencyMatrix};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Inputs up to this size are copied into the manifest, so results carry them.
pub const EMBED_BYTES: usize = 1 << 20;

/// A file a scenario read besides itself, as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// The scenario key that names it (`churn.trace`).
    pub key: String,
    /// The path as the scenario gives it (relative to the scenario file).
    pub path: String,
    /// Where it was read from, as an absolute path.
    pub resolved: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Its text, when at most [`EMBED_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Where a scenario's inputs come from, and what was read.
pub struct Inputs {
    source: Source,
    /// Texts read so far with their names in messages, by path as written (a sweep reads its
    /// trace once).
    cache: RefCell<BTreeMap<String, (String, Rc<str>)>>,
    /// Latency matrices parsed so far, by path as written and host mapping: the runs of a
    /// sweep share one copy (H² entries each) instead of one per point.
    matrices: RefCell<BTreeMap<(String, HostMapping), Arc<LatencyMatrix>>>,
    read: RefCell<Vec<InputFile>>,
}

enum Source {
    /// Files on disk, relative to this directory (the scenario file's).
    Disk(PathBuf),
    /// The inputs a manifest recorded (named `manifest` in messages).
    Recorded { files: Vec<InputFile>, manifest: String },
}

impl Inputs {
    /// Inputs read from disk, relative to the directory of `scenario_file`.
    pub fn beside(scenario_file: &Path) -> Self {
        let base = scenario_file.parent().unwrap_or(Path::new("")).to_path_buf();
        Inputs::from_source(Source::Disk(base))
    }

    /// The inputs recorded in a manifest (`manifest` names it in messages).
    pub fn recorded(files: Vec<InputFile>, manifest: &str) -> Self {
        Inputs::from_source(Source::Recorded { files, manifest: manifest.to_string() })
    }

    fn from_source(source: Source) -> Self {
        Inputs {
            source,
            cache: RefCell::default(),
            matrices: RefCell::default(),
            read: RefCell::default(),
        }
    }

    /// The latency matrix at `path` with host mapping `mapping`, parsed once by `parse` (which
    /// reports its own errors and gives `None` on one; a failure is not remembered).
    pub fn matrix(
        &self,
        path: &str,
        mapping: HostMapping,
        parse: impl FnOnce() -> Option<LatencyMatrix>,
    ) -> Option<Arc<LatencyMatrix>> {
        let key = (path.to_string(), mapping);
        if let Some(hit) = self.matrices.borrow().get(&key) {
            return Some(hit.clone());
        }
        let parsed = Arc::new(parse()?);
        self.matrices.borrow_mut().insert(key, parsed.clone());
        Some(parsed)
    }

    /// Every input read so far, in the order first read.
    pub fn files(&self) -> Vec<InputFile> {
        self.read.borrow().clone()
    }

    /// The text of the input that scenario key `key` names as `path`, at most `limit` bytes,
    /// with the name to use for it in messages.
    pub fn read(&self, key: &str, path: &str, limit: u64) -> Result<(String, Rc<str>), InputError> {
        if let Some(hit) = self.cache.borrow().get(path) {
            return Ok(hit.clone());
        }
        let (shown, text) = self.load(key, path, limit)?;
        let text: Rc<str> = text.into();
        self.cache.borrow_mut().insert(path.to_string(), (shown.clone(), text.clone()));
        Ok((shown, text))
    }

    fn load(&self, key: &str, path: &str, limit: u64) -> Result<(String, String), InputError> {
        match &self.source {
            Source::Disk(base) => {
                let full = base.join(path);
                let shown = full.display().to_string();
                let text = read_text(&full, &shown, limit)?;
                let resolved = std::fs::canonicalize(&full).unwrap_or(full);
                self.read.borrow_mut().push(InputFile {
                    key: key.to_string(),
                    path: path.to_string(),
                    resolved: resolved.display().to_string(),
                    sha256: sha256_hex(text.as_bytes()),
                    text: (text.len() <= EMBED_BYTES).then(|| text.clone()),
                });
                Ok((shown, text))
            }
            Source::Recorded { files, manifest } => {
                let Some(f) = files.iter().find(|f| f.key == key && f.path == path) else {
                    return Err(InputError::whole(
                        manifest,
                        format!("records no input `{key}` = \"{path}\" that the scenario reads"),
                    ));
                };
                let (shown, text) = match &f.text {
                    Some(text) => (format!("{path} (as recorded in {manifest})"), text.clone()),
                    None => {
                        let text = read_text(Path::new(&f.resolved), &f.resolved, limit)?;
                        (f.resolved.clone(), text)
                    }
                };
                let now = sha256_hex(text.as_bytes());
                if now != f.sha256 {
                    return Err(InputError::whole(
                        &shown,
                        format!(
                            "has changed since the run (SHA-256 {} then, {now} now): the \
                             results cannot be reproduced from it",
                            f.sha256
                        ),
                    )
                    .with_hint("restore the file the run read to reproduce its results"));
                }
                self.read.borrow_mut().push(f.clone());
                Ok((shown, text))
            }
        }
    }
}

/// The largest scenario file accepted (16 MiB: a list of a million explicit IDs fits).
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// The largest churn trace accepted (256 MiB: more than ten million events).
pub const MAX_TRACE_BYTES: u64 = 256 << 20;

/// Reads the text file at `path` (named `shown` in messages), refusing anything that is not a
/// regular file, is larger than `limit` bytes, or is not UTF-8.
pub fn read_text(path: &Path, shown: &str, limit: u64) -> Result<String, InputError> {
    let fail = |what: String| InputError::whole(shown, what);
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail("no such file".into()),
        _ => fail(format!("cannot read: {e}")),
    })?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a directory" } else { "a device, socket or pipe" };
        return Err(fail(format!("is {what}, not a regular file")));
    }
    if meta.len() > limit {
        return Err(fail(format!(
            "is {}, larger than the {} this kind of file may have",
            size(meta.len()),
            size(limit)
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    // The file may grow after it was measured: never read more than the limit.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(fail(format!("is larger than the {} this kind of file may have", size(limit))));
    }
    utf8(bytes, shown)
}

/// `bytes` as text, or an error at the first byte that is not UTF-8.
pub fn utf8(bytes: Vec<u8>, shown: &str) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let before = String::from_utf8_lossy(&bytes[line_start..at]);
        let line_end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| at + i);
        InputError {
            location: Some(Location::File {
                line,
                col: before.chars().count() + 1,
                text: String::from_utf8_lossy(&bytes[line_start..line_end]).into_owned(),
                width: 1,
            }),
            ..InputError::whole(
                shown,
                format!("not UTF-8 text: byte 0x{:02X} cannot start a character here", bytes[at]),
            )
        }
    })
}

/// Bytes for people: "16 MiB", "1.5 GiB", "300 bytes".
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_big_files_are_refused() {
        let e = read_text(Path::new("/dev/zero"), "/dev/zero", 100).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = read_text(Path::new("/"), "/", 100).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.toml");
        std::fs::write(&p, vec![b'#'; 101]).unwrap();
        let e = read_text(&p, "big.toml", 100).unwrap_err();
        assert!(e.to_string().contains("larger than the 100 bytes"), "{e}");
    }

    #[test]
    fn a_bad_byte_is_located() {
        let e = utf8(b"seed = 1\nname = \"a\xffb\"\n".to_vec(), "s.toml").unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().starts_with("error: s.toml:2:10: not UTF-8 text: byte 0xFF"), "{e}");
    }
}
