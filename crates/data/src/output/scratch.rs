//! [`ScratchDir`]: a private folder for a command's working files (spill files of a
//! bucketed session), removed when dropped and when the process is interrupted, so
//! that neither a failure nor Ctrl-C leaves working data behind.

use std::fs;
use std::path::{Path, PathBuf};

use rand::TryRng;
use rand::rngs::SysRng;

use super::temp::registry;
use crate::error::{Error, FailWith, Result};

/// A folder created with mode 0700 under a parent the user chose, with a fresh
/// random name (`blindmatch-scratch-<16 hex>`), listed process-wide so that an
/// interruption removes it ([`super::remove_live_temporaries`]). Dropping it removes
/// the folder and everything in it.
///
/// The folder holds a `lock` file that this process keeps locked (the kernel drops
/// the lock when the process ends, even on SIGKILL): a scratch folder under the same
/// parent whose lock can be taken is a killed run's leftover, and the next run
/// removes it.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    _lock: fs::File,
}

/// Prefix of every scratch folder's name.
pub const SCRATCH_PREFIX: &str = "blindmatch-scratch-";

impl ScratchDir {
    /// Creates a scratch folder inside `parent` (which must exist).
    ///
    /// # Errors
    /// The process is being interrupted, the random generator failed, or the folder
    /// cannot be created (exit 2, naming `parent`).
    pub fn create(parent: &Path) -> Result<ScratchDir> {
        remove_stale(parent);
        let mut random = [0u8; 8];
        SysRng
            .try_fill_bytes(&mut random)
            .map_err(|_| Error::failed("the operating system random number generator failed"))?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = parent.join(format!("{SCRATCH_PREFIX}{name}"));
        let mut registry = registry();
        registry.check_open(&path)?;
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&path).fail_with(|| {
            Error::bad_input(format!(
                "cannot create a working folder in '{}'",
                parent.display()
            ))
            .hint("--work-dir must name an existing, writable folder with room for the spill files")
        })?;
        registry.scratch.push(path.clone());
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let lock = options.open(path.join("lock")).fail_with(|| {
            Error::failed(format!(
                "cannot create a working folder in '{}'",
                parent.display()
            ))
        })?;
        // Best effort: without advisory locks a killed run's folder stays behind.
        let _ = lock.try_lock();
        Ok(ScratchDir { path, _lock: lock })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes the scratch folders of killed runs in `parent`: those whose lock no
/// live process holds.
fn remove_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(SCRATCH_PREFIX)
            || !entry.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let dir = entry.path();
        let Ok(lock) = fs::File::open(dir.join("lock")) else {
            continue;
        };
        if lock.try_lock().is_ok() {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let mut registry = registry();
        if let Some(at) = registry.scratch.iter().position(|p| *p == self.path) {
            registry.scratch.swap_remove(at);
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn private_and_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let scratch = ScratchDir::create(parent.path()).unwrap();
        let path = scratch.path().to_path_buf();
        fs::write(path.join("spill"), b"x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert!(registry().scratch.contains(&path));
        drop(scratch);
        assert!(!path.exists());
        assert!(!registry().scratch.contains(&path));
    }

    #[test]
    fn a_killed_runs_folder_is_removed_by_the_next_run() {
        let parent = tempfile::tempdir().unwrap();
        let stale = parent
            .path()
            .join(format!("{SCRATCH_PREFIX}0000000000000000"));
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join("lock"), b"").unwrap();
        fs::write(stale.join("slice-000.spill"), b"x").unwrap();
        let live = ScratchDir::create(parent.path()).unwrap();
        assert!(!stale.exists());
        // A live run's folder is left alone.
        let other = ScratchDir::create(parent.path()).unwrap();
        assert!(live.path().exists() && other.path().exists());
    }

    #[test]
    fn a_missing_parent_is_a_clear_error() {
        let parent = tempfile::tempdir().unwrap();
        let err = ScratchDir::create(&parent.path().join("nope")).unwrap_err();
        assert!(err.to_string().contains("working folder"), "{err}");
    }
}
