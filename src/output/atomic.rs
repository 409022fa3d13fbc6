//! Output directories that dhtsim owns, written atomically.
//!
//! [`AtomicDir::claim`] runs before any simulation: it decides whether the target may be
//! written (SPEC §3: absent, an empty directory, or a directory holding only the files its dhtsim
//! `manifest.json` lists), creates a hidden temporary directory beside it (which proves the
//! location writable), and clears the temporaries that killed dhtsim processes left there. Files
//! are then written into the temporary directory, which replaces the target only in
//! [`AtomicDir::commit`], once everything is written. A failed or killed run never leaves a
//! half-written results directory in place of a good one, and nothing dhtsim did not write is
//! ever deleted, moved or renamed: a directory that holds anything else is refused.
//!
//! Temporaries are named `.NAME.tmp-PID-N` and come with a lock file `.NAME.tmp-PID-N.lock`
//! that the writing process holds locked (an advisory lock, released by the kernel when the
//! process ends, however it ends). A lock file that can be locked belongs to a dead process:
//! its temporary is removed, and a previous results directory that the dead process had moved
//! aside to `.NAME.tmp-PID-N.old` while committing is put back if the new one never arrived.
//! On file systems without locks, stale temporaries are left alone (never wrongly removed).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a directory may not be written: the user's files are in the way, or the location cannot
/// be written. Nothing has been simulated or changed when this is returned.
#[derive(Debug)]
pub struct Refusal {
    /// The target as the user named it.
    pub path: String,
    /// What is wrong and what to do, for the user.
    pub message: String,
}

/// What a target directory holds today.
enum Existing {
    /// Nothing: it will be created.
    Absent,
    /// An empty directory.
    Empty,
    /// A results directory: every file in it is one of `owned` (relative paths).
    Results(BTreeSet<String>),
}

/// A results directory being written.
pub struct AtomicDir {
    target: PathBuf,
    /// The target as the user named it, for messages.
    shown: String,
    /// Which files of an existing target dhtsim may replace (relative paths), given the target.
    owned: fn(&Path) -> Option<BTreeSet<String>>,
    tmp: PathBuf,
    lock_path: PathBuf,
    /// Held (locked) until the directory is committed or dropped.
    _lock: Option<fs::File>,
    /// Parent directories this run created, deepest first (removed again if it fails).
    created: Vec<PathBuf>,
    committed: bool,
}

/// Distinguishes the temporaries of one process (`plot` and `run` in one test process, say).
static SERIAL: AtomicU64 = AtomicU64::new(0);

const TMP_MARK: &str = ".tmp-";
const LOCK_SUFFIX: &str = ".lock";
const OLD_SUFFIX: &str = ".old";

impl AtomicDir {
    /// Claims `target` for writing, before any work is done. `owned` reads which files of an
    /// existing directory dhtsim wrote (from its manifest), or `None` when it holds no dhtsim
    /// manifest. Creates the missing parent directories and the temporary directory.
    pub fn claim(
        target: &Path,
        owned: fn(&Path) -> Option<BTreeSet<String>>,
    ) -> Result<Self, Refusal> {
        let shown = target.display().to_string();
        let refuse = |message: String| Refusal { path: shown.clone(), message };
        let target = resolve(target).map_err(&refuse)?;
        let name = target
            .file_name()
            .ok_or_else(|| refuse("does not name a directory".into()))?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        inspect(&target, &shown, owned)?;
        let cannot = |e: io::Error| refuse(format!("cannot write results here: {e}"));
        let created = create_parents(&parent).map_err(cannot)?;
        let mut dir = AtomicDir {
            tmp: PathBuf::new(),
            lock_path: PathBuf::new(),
            target,
            shown: shown.clone(),
            owned,
            _lock: None,
            created,
            committed: false,
        };
        clear_stale(&parent);
        let stem = format!(
            ".{name}{TMP_MARK}{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        dir.lock_path = parent.join(format!("{stem}{LOCK_SUFFIX}"));
        dir._lock = Some(take_lock(&dir.lock_path, &name).map_err(cannot)?);
        dir.tmp = parent.join(&stem);
        fs::create_dir(&dir.tmp).map_err(cannot)?;
        Ok(dir)
    }

    /// Writes the file `name` (a path relative to the directory) with `bytes`.
    pub fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.tmp.join(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut f = fs::File::create(&path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// Replaces the target with everything written so far. The target is checked again (the
    /// user may have put files into it while the run went on); a previous results directory is
    /// moved aside, the new one moved in, and the files of the previous one deleted. Returns a
    /// warning when the previous directory could not be removed entirely.
    pub fn commit(mut self) -> Result<Option<String>, Refusal> {
        let fail = |e: io::Error| Refusal {
            path: self.shown.clone(),
            message: format!("cannot move the results into place: {e}"),
        };
        let mut warning = None;
        match inspect(&self.target, &self.shown, self.owned)? {
            Existing::Absent | Existing::Empty => {
                // rename(2) replaces an empty directory in one step.
                fs::rename(&self.tmp, &self.target).map_err(fail)?;
            }
            Existing::Results(owned) => {
                let old = self.tmp.with_file_name(format!(
                    "{}{OLD_SUFFIX}",
                    self.tmp.file_name().expect("named").to_string_lossy()
                ));
                fs::rename(&self.target, &old).map_err(fail)?;
                if let Err(e) = fs::rename(&self.tmp, &self.target) {
                    let _ = fs::rename(&old, &self.target);
                    return Err(fail(e));
                }
                let left = remove_owned(&old, &owned);
                if !left.is_empty() {
                    warning = Some(format!(
                        "the previous results were replaced, but {} holds files dhtsim did not \
                         write ({}), so it was kept",
                        old.display(),
                        left.join(", ")
                    ));
                }
            }
        }
        self.committed = true;
        let _ = fs::remove_file(&self.lock_path);
        Ok(warning)
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.tmp);
        }
        if !self.lock_path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.lock_path);
        }
        for dir in &self.created {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// The directory `target` names: itself when absent, its canonical path when it exists (so
/// `.` has a name), where it points when it is a symbolic link to a directory (the link stays;
/// the directory it names is written).
fn resolve(target: &Path) -> Result<PathBuf, String> {
    match fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => fs::canonicalize(target).map_err(|e| format!("cannot resolve: {e}")),
        Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(target) {
            Ok(real) if real.is_dir() => Ok(real),
            Ok(real) => Err(format!(
                "is a symbolic link to {}, which is not a directory: dhtsim never replaces a \
                 file it did not write; choose another --out",
                real.display()
            )),
            Err(e) => Err(format!("is a symbolic link that cannot be followed ({e})")),
        },
        _ => Ok(target.to_path_buf()),
    }
}

/// Decides whether `target` may be replaced (SPEC §3).
fn inspect(
    target: &Path,
    shown: &str,
    owned: fn(&Path) -> Option<BTreeSet<String>>,
) -> Result<Existing, Refusal> {
    let refuse = |message: String| Refusal { path: shown.to_string(), message };
    let meta = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(refuse(format!("cannot inspect the output location: {e}"))),
    };
    if !meta.is_dir() {
        return Err(refuse(
            "exists and is not a directory: dhtsim writes a results directory and never \
             replaces a file it did not write; choose another --out"
                .into(),
        ));
    }
    let files = match files_under(target) {
        Ok(files) => files,
        Err(e) => return Err(refuse(format!("cannot read the directory: {e}"))),
    };
    if files.is_empty() {
        return Ok(Existing::Empty);
    }
    let Some(owned) = owned(target) else {
        return Err(refuse(
            "is not empty and holds no dhtsim manifest.json: dhtsim replaces only its own \
             results directories; choose a new or an empty directory for --out"
                .into(),
        ));
    };
    let foreign: Vec<&String> = files.iter().filter(|f| !owned.contains(*f)).collect();
    if !foreign.is_empty() {
        let mut list: Vec<String> = foreign.iter().take(5).map(|f| f.to_string()).collect();
        if foreign.len() > 5 {
            list.push(format!("and {} more", foreign.len() - 5));
        }
        return Err(refuse(format!(
            "holds files that dhtsim did not write ({}): dhtsim replaces a results directory \
             only when it holds nothing else; move them elsewhere or choose another --out",
            list.join(", ")
        )));
    }
    Ok(Existing::Results(owned))
}

/// Every file and symbolic link under `dir`, as relative paths with `/` separators, sorted.
/// Directories are not listed (an empty one holds nothing of anyone's).
fn files_under(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = stack.pop() {
        for entry in fs::read_dir(&path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            if entry.file_type()?.is_dir() {
                stack.push((entry.path(), rel));
            } else {
                found.insert(rel);
            }
        }
    }
    Ok(found)
}

/// Deletes the files of `dir` listed in `owned`, then its directories that became empty. Returns
/// what is left (nothing, unless someone added files to it).
fn remove_owned(dir: &Path, owned: &BTreeSet<String>) -> Vec<String> {
    let Ok(files) = files_under(dir) else { return vec![dir.display().to_string()] };
    let mut left = Vec::new();
    for f in &files {
        if !owned.contains(f) || fs::remove_file(dir.join(f)).is_err() {
            left.push(f.clone());
        }
    }
    // Deepest directories first: a parent can go only once its children have.
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .flat_map(|f| Path::new(f).ancestors().skip(1).map(Path::to_path_buf).collect::<Vec<_>>())
        .filter(|d| !d.as_os_str().is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = fs::remove_dir(dir.join(d));
    }
    let _ = fs::remove_dir(dir);
    left
}

/// Creates `dir` and its missing ancestors; returns those it created, deepest first.
fn create_parents(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    for d in dir.ancestors() {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
    }
    for d in missing.iter().rev() {
        fs::create_dir(d)?;
    }
    Ok(missing)
}

/// Creates and locks the lock file at `path`, recording the target's name in it (so a later
/// run can put a moved-aside results directory back).
fn take_lock(path: &Path, target_name: &str) -> io::Result<fs::File> {
    let mut f = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    // A file system without locks gives a temporary that is never cleared by others: harmless.
    let _ = f.lock();
    f.write_all(target_name.as_bytes())?;
    Ok(f)
}

/// Removes the temporaries in `parent` whose process has ended (their lock file can be
/// locked), and puts back a results directory that such a process had moved aside.
fn clear_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    let mut locks: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with('.') && name.contains(TMP_MARK) && name.ends_with(LOCK_SUFFIX)
        })
        .collect();
    locks.sort();
    for lock_path in locks {
        let Ok(f) = fs::OpenOptions::new().read(true).write(true).open(&lock_path) else {
            continue;
        };
        if f.try_lock().is_err() {
            continue; // its process still runs (or locks are not supported here)
        }
        let target_name = fs::read_to_string(&lock_path).unwrap_or_default();
        let stem = lock_path.to_string_lossy();
        let tmp = PathBuf::from(stem.strip_suffix(LOCK_SUFFIX).expect("matched above"));
        let old = PathBuf::from(format!("{}{OLD_SUFFIX}", tmp.display()));
        let _ = fs::remove_dir_all(&tmp);
        if old.is_dir() {
            let target = parent.join(target_name.trim());
            let restorable = !target_name.trim().is_empty()
                && !target_name.contains('/')
                && fs::symlink_metadata(&target).is_err();
            if restorable {
                let _ = fs::rename(&old, &target);
            } else {
                // The new results arrived: the old ones are dhtsim's, listed in their manifest.
                let owned = crate::output::manifest::owned_files(&old).unwrap_or_default();
                remove_owned(&old, &owned);
            }
        }
        let _ = fs::remove_file(&lock_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    /// Every entry of `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    fn manifest_of(files: &[&str]) -> String {
        let outputs: Vec<String> = files.iter().map(|f| format!("\"{f}\": \"00\"")).collect();
        format!("{{\"dhtsim_version\": \"0\", \"outputs\": {{{}}}}}", outputs.join(", "))
    }

    fn owned(dir: &Path) -> Option<BTreeSet<String>> {
        crate::output::manifest::owned_files(dir)
    }

    #[test]
    fn replaces_results_only_on_commit() {
        let root = scratch();
        let target = root.path().join("out");
        fs::create_dir_all(target.join("plots")).unwrap();
        fs::write(target.join("old.csv"), "old").unwrap();
        fs::write(target.join("plots/a.svg"), "svg").unwrap();
        fs::write(target.join("manifest.json"), manifest_of(&["old.csv", "plots/a.svg"])).unwrap();
        let dir = AtomicDir::claim(&target, owned).unwrap();
        dir.write("new.csv", b"new").unwrap();
        assert!(target.join("old.csv").exists(), "untouched until commit");
        assert_eq!(dir.commit().unwrap(), None);
        assert!(!target.join("old.csv").exists());
        assert_eq!(fs::read_to_string(target.join("new.csv")).unwrap(), "new");
        assert_eq!(listing(root.path()), ["out"], "no temporary left");
    }

    #[test]
    fn dropping_leaves_nothing_not_even_the_parents_it_made() {
        let root = scratch();
        let target = root.path().join("a/b/out");
        let dir = AtomicDir::claim(&target, owned).unwrap();
        dir.write("x.csv", b"x").unwrap();
        drop(dir);
        assert!(listing(root.path()).is_empty());
    }

    #[test]
    fn refuses_what_is_not_its_own() {
        let root = scratch();
        let user_file = root.path().join("notes.txt");
        fs::write(&user_file, "mine").unwrap();
        let e = AtomicDir::claim(&user_file, owned).err().unwrap();
        assert!(e.message.contains("not a directory"), "{}", e.message);

        let thesis = root.path().join("thesis");
        fs::create_dir(&thesis).unwrap();
        fs::write(thesis.join("ch1.tex"), "mine").unwrap();
        let e = AtomicDir::claim(&thesis, owned).err().unwrap();
        assert!(e.message.contains("no dhtsim manifest.json"), "{}", e.message);

        // A results directory with one file of the user's added.
        let results = root.path().join("results");
        fs::create_dir(&results).unwrap();
        fs::write(results.join("summary.csv"), "x").unwrap();
        fs::write(results.join("manifest.json"), manifest_of(&["summary.csv"])).unwrap();
        fs::write(results.join("analysis.md"), "mine").unwrap();
        let e = AtomicDir::claim(&results, owned).err().unwrap();
        assert!(e.message.contains("analysis.md"), "{}", e.message);

        // Another program's manifest.json.
        let other = root.path().join("other");
        fs::create_dir(&other).unwrap();
        fs::write(other.join("manifest.json"), "{\"name\": \"npm\"}").unwrap();
        assert!(AtomicDir::claim(&other, owned).is_err());

        assert_eq!(listing(root.path()), ["notes.txt", "other", "results", "thesis"]);
        assert_eq!(fs::read_to_string(&user_file).unwrap(), "mine");
    }

    #[test]
    fn files_added_during_the_run_stop_the_commit() {
        let root = scratch();
        let target = root.path().join("out");
        let dir = AtomicDir::claim(&target, owned).unwrap();
        dir.write("new.csv", b"new").unwrap();
        fs::create_dir(&target).unwrap();
        fs::write(target.join("mine.txt"), "mine").unwrap();
        assert!(dir.commit().is_err());
        assert_eq!(listing(&target), ["mine.txt"]);
        assert_eq!(listing(root.path()), ["out"]);
    }

    #[test]
    fn an_empty_directory_is_filled() {
        let root = scratch();
        let target = root.path().join("out");
        fs::create_dir(&target).unwrap();
        let dir = AtomicDir::claim(&target, owned).unwrap();
        dir.write("a.csv", b"a").unwrap();
        dir.commit().unwrap();
        assert_eq!(listing(&target), ["a.csv"]);
    }

    #[test]
    fn a_dead_process_temporaries_are_cleared_and_moved_results_restored() {
        let root = scratch();
        let p = root.path();
        // A writer that died while writing: its temporary and an unlocked lock file.
        fs::create_dir(p.join(".out.tmp-99999999-0")).unwrap();
        fs::write(p.join(".out.tmp-99999999-0/summary.csv"), "half").unwrap();
        fs::write(p.join(".out.tmp-99999999-0.lock"), "out").unwrap();
        // One that died while committing, after moving the old results of `res` aside.
        fs::create_dir(p.join(".res.tmp-99999998-0.old")).unwrap();
        fs::write(p.join(".res.tmp-99999998-0.old/summary.csv"), "good").unwrap();
        fs::write(p.join(".res.tmp-99999998-0.lock"), "res").unwrap();
        // A living writer's temporary (its lock is held).
        let live = AtomicDir::claim(&p.join("busy"), owned).unwrap();
        fs::write(p.join("user.tmp-1.lock"), "not a dhtsim file").unwrap();

        let dir = AtomicDir::claim(&p.join("out"), owned).unwrap();
        assert!(!listing(p).iter().any(|n| n.contains("99999999")), "{:?}", listing(p));
        assert!(!listing(p).iter().any(|n| n.contains("99999998")), "{:?}", listing(p));
        assert_eq!(fs::read_to_string(p.join("res/summary.csv")).unwrap(), "good");
        assert!(live.tmp.exists() && live.lock_path.exists(), "a running writer is left alone");
        assert!(p.join("user.tmp-1.lock").exists(), "not hidden, not ours");
        drop(dir);
        drop(live);
    }
}
