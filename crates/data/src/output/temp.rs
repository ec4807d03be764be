//! Temporary files of outputs being written: their names, the process-wide list of
//! the live ones (so an interrupted process can remove them), and the stale ones
//! that a killed run left behind.
//!
//! A temporary file is named after its output and the writing process:
//! `.NAME.PID.blindmatch-tmp` beside `NAME`. So every run of a command leaves at most
//! one name per output, two runs writing different outputs into one folder never
//! meet, and the next run writing `NAME` finds what a killed run left.
//!
//! The writer holds an advisory lock on its temporary file for as long as the file
//! exists (the kernel drops it when the process ends, even on SIGKILL). A
//! temporary file of `NAME` that can be locked has no live writer: it is stale and
//! is removed; one that is locked belongs to another live run and is left alone.
//! The lock, not the process ID in the name, decides, so a reused process ID never
//! keeps a stale file alive nor exposes a live one.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Error, FailWith, Result};
use crate::observe::{Observer, Warning};

/// The suffix of every temporary output file.
pub const TEMP_SUFFIX: &str = ".blindmatch-tmp";

/// Temporary files this process is writing; see [`remove_live_temporaries`].
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new(),
    scratch: Vec::new(),
    removed: 0,
    closed: false,
});

pub(super) struct Registry {
    /// Temporary files created and neither committed nor removed yet.
    live: Vec<PathBuf>,
    /// Scratch folders ([`super::ScratchDir`]) not removed yet.
    pub(super) scratch: Vec<PathBuf>,
    /// Temporary files removed uncommitted so far (dropped or interrupted).
    removed: u64,
    /// The process is being interrupted: no new temporary file, no commit.
    closed: bool,
}

impl Registry {
    /// Forgets a temporary file that was renamed into place.
    pub(super) fn forget(&mut self, temp: &Path) {
        if let Some(at) = self.live.iter().position(|p| p == temp) {
            self.live.swap_remove(at);
        }
    }

    /// Fails once the process is being interrupted.
    pub(super) fn check_open(&self, path: &Path) -> Result<()> {
        if self.closed {
            return Err(Error::failed(format!(
                "interrupted: '{}' is not written",
                path.display()
            )));
        }
        Ok(())
    }
}

/// The registry, even if a thread panicked while holding it (its state is a list
/// of paths, always consistent).
pub(super) fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes every temporary file this process is still writing and refuses new
/// ones and commits from now on, so nothing can appear under an output name
/// afterwards: for a signal handler that is about to end the process. Returns how
/// many files it removed.
pub fn remove_live_temporaries() -> usize {
    let mut registry = registry();
    registry.closed = true;
    let live = std::mem::take(&mut registry.live);
    let removed = live.iter().filter(|p| fs::remove_file(p).is_ok()).count();
    registry.removed += removed as u64;
    // Scratch folders (spill files) go too; they are not outputs, so not counted.
    for dir in std::mem::take(&mut registry.scratch) {
        let _ = fs::remove_dir_all(dir);
    }
    removed
}

/// How many temporary files this process has removed without committing them,
/// so far: dropped writers (a failed or cancelled command) and
/// [`remove_live_temporaries`].
pub fn temporaries_removed() -> u64 {
    registry().removed
}

/// The folder and file name of `path`, as its temporary file needs them.
pub(super) fn split(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    (dir, name)
}

/// The file `file_name` in the folder of `path`, written as the user wrote `path`
/// (`tokens.csv` gives a bare name, not `./…`).
fn beside(path: &Path, file_name: &OsStr) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(file_name),
        _ => PathBuf::from(file_name),
    }
}

/// The temporary file name of output `name` written by process `pid`.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.{pid}{TEMP_SUFFIX}")
}

/// The process ID in `file`, if it is a temporary file name of output `name`.
fn temp_pid(file: &OsStr, name: &str) -> Option<u32> {
    let file = file.to_str()?;
    let pid = file
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(TEMP_SUFFIX)?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Creates this process's temporary file for the output `path` with `options`
/// (which say `create_new`), locks it and lists it as live. Stale temporary files
/// of the same output are removed first, silently: a pipeline that wants them
/// reported calls [`clear_stale`] before any work.
///
/// # Errors
/// The process is being interrupted, or the file cannot be created.
pub(super) fn create(path: &Path, options: &OpenOptions) -> Result<(PathBuf, File)> {
    let (dir, name) = split(path);
    clear_stale(path, &crate::Silent);
    let temp = beside(path, OsStr::new(&temp_name(&name, std::process::id())));
    let mut registry = registry();
    registry.check_open(path)?;
    // Created under the registry's lock, so an interruption either sees the file
    // listed or comes first and refuses it.
    let file = options.open(&temp).fail_with(|| {
        Error::bad_input(format!("cannot create output file in '{}'", dir.display()))
            .hint("check that the folder exists and is writable")
    })?;
    // Best effort: where the file system has no advisory locks, the file is still
    // written; another run then takes it for a live one (see `staleness`).
    let _ = file.try_lock();
    registry.live.push(temp.clone());
    Ok((temp, file))
}

/// Removes a temporary file that will not be committed, if it is still listed
/// (an interruption may have removed it already).
pub(super) fn discard(temp: &Path) {
    let mut registry = registry();
    if let Some(at) = registry.live.iter().position(|p| p == temp) {
        registry.live.swap_remove(at);
        if fs::remove_file(temp).is_ok() {
            registry.removed += 1;
        }
    }
}

/// Removes the temporary files of the output `path` that killed runs left behind
/// (their writer no longer holds the lock), reporting each as a
/// [`Warning::StaleTemporaryRemoved`]; one that another live run is writing is
/// reported as [`Warning::TemporaryInUse`] and kept. Pipelines call this for each
/// output before any work; [`super::AtomicFile::create`] does it again, silently.
pub fn clear_stale(path: &Path, observer: &dyn Observer) {
    let (dir, name) = split(path);
    let Ok(entries) = fs::read_dir(&dir) else {
        // A missing folder holds nothing stale; creating the output reports it.
        return;
    };
    let own = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = temp_pid(&entry.file_name(), &name) else {
            continue;
        };
        // Only plain files: a link planted under a temporary name is not ours to
        // follow or remove.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let temp = beside(path, &entry.file_name());
        if pid == own && registry().live.contains(&temp) {
            continue;
        }
        match staleness(&temp, pid == own) {
            Staleness::Stale(file) => {
                // Removed while we hold its lock, so no run can have taken it over.
                let removed = fs::remove_file(&temp).is_ok();
                drop(file);
                if removed {
                    observer.warning(&Warning::StaleTemporaryRemoved {
                        path: temp,
                        output: path.to_path_buf(),
                        pid,
                    });
                }
            }
            Staleness::Live => observer.warning(&Warning::TemporaryInUse {
                path: temp,
                output: path.to_path_buf(),
                pid,
            }),
            Staleness::Gone => {}
        }
    }
}

/// What a temporary file found on disk is.
enum Staleness {
    /// No live writer: here it is, locked by us.
    Stale(File),
    /// Another live run holds it, or we cannot tell.
    Live,
    /// It disappeared meanwhile.
    Gone,
}

/// Whether `temp` has a live writer: its lock decides. Where locks are not
/// supported, only a file named with our own process ID (and not ours, the caller
/// checked) is known to be stale.
fn staleness(temp: &Path, own_pid: bool) -> Staleness {
    let file = match File::open(temp) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Staleness::Gone,
        Err(_) => return Staleness::Live,
    };
    match file.try_lock() {
        Ok(()) => Staleness::Stale(file),
        Err(TryLockError::WouldBlock) => Staleness::Live,
        Err(TryLockError::Error(_)) if own_pid => Staleness::Stale(file),
        Err(TryLockError::Error(_)) => Staleness::Live,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex as StdMutex;

    /// Collects warnings.
    #[derive(Default)]
    struct Recorder(StdMutex<Vec<Warning>>);

    impl Observer for Recorder {
        fn warning(&self, warning: &Warning) {
            self.0.lock().unwrap().push(warning.clone());
        }
    }

    #[test]
    fn temporary_names_come_from_the_output_and_the_process() {
        assert_eq!(temp_name("out.csv", 42), ".out.csv.42.blindmatch-tmp");
        let pid = |f: &str| temp_pid(OsStr::new(f), "out.csv");
        assert_eq!(pid(".out.csv.42.blindmatch-tmp"), Some(42));
        assert_eq!(pid(".out.csv.x42.blindmatch-tmp"), None);
        assert_eq!(pid(".out.csv..blindmatch-tmp"), None);
        assert_eq!(pid(".out.csv.42.tmp"), None);
        // Another output's temporary file, even one whose name extends ours.
        assert_eq!(pid(".out.csv.manifest.json.42.blindmatch-tmp"), None);
        assert_eq!(pid(".other.csv.42.blindmatch-tmp"), None);
    }

    #[test]
    fn a_stale_temporary_is_reported_and_removed_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        // A killed run's file: nobody holds its lock.
        let stale = dir.path().join(".out.csv.999999999.blindmatch-tmp");
        fs::write(&stale, b"half").unwrap();
        // A live run's file: locked (here by us, through another open file).
        let live = dir.path().join(".out.csv.999999998.blindmatch-tmp");
        fs::write(&live, b"busy").unwrap();
        let holder = File::open(&live).unwrap();
        holder.lock().unwrap();
        // Another output's temporary file is none of our business.
        let other = dir.path().join(".other.csv.999999999.blindmatch-tmp");
        fs::write(&other, b"x").unwrap();

        let seen = Recorder::default();
        clear_stale(&out, &seen);
        assert!(!stale.exists());
        assert!(live.exists());
        assert!(other.exists());
        let warnings = seen.0.into_inner().unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.contains(&Warning::StaleTemporaryRemoved {
            path: stale,
            output: out.clone(),
            pid: 999_999_999
        }));
        assert!(warnings.contains(&Warning::TemporaryInUse {
            path: live,
            output: out,
            pid: 999_999_998
        }));
    }
}
