//! Atomic output directories: all files are written into a hidden temporary directory beside the
//! target, which replaces the target only once everything is written. A failed or killed run
//! never leaves a half-written results directory in place of a good one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A results directory being written.
pub struct AtomicDir {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl AtomicDir {
    /// Starts writing what will become `target` (its parent directories are created).
    pub fn create(target: &Path) -> io::Result<Self> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)?;
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{} has no directory name", target.display())))?
            .to_string_lossy()
            .into_owned();
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir(&tmp)?;
        Ok(AtomicDir { target: target.to_path_buf(), tmp, committed: false })
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

    /// Replaces the target with everything written so far.
    pub fn commit(mut self) -> io::Result<()> {
        if self.target.exists() {
            let old = self.tmp.with_extension("old");
            fs::rename(&self.target, &old)?;
            fs::rename(&self.tmp, &self.target)?;
            fs::remove_dir_all(&old)?;
        } else {
            fs::rename(&self.tmp, &self.target)?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dhtsim-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn replaces_only_on_commit() {
        let root = scratch("commit");
        let target = root.join("out");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("old.csv"), "old").unwrap();
        let dir = AtomicDir::create(&target).unwrap();
        dir.write("new.csv", b"new").unwrap();
        assert!(target.join("old.csv").exists(), "untouched until commit");
        dir.commit().unwrap();
        assert!(!target.join("old.csv").exists());
        assert_eq!(fs::read_to_string(target.join("new.csv")).unwrap(), "new");
        assert_eq!(fs::read_dir(&root).unwrap().count(), 1, "no temporary left");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn dropping_leaves_nothing() {
        let root = scratch("drop");
        let target = root.join("out");
        let dir = AtomicDir::create(&target).unwrap();
        dir.write("a.csv", b"x").unwrap();
        drop(dir);
        assert!(!target.exists());
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
        fs::remove_dir_all(root).unwrap();
    }
}
