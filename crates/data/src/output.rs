//! Output files that appear only when complete.
//!
//! Every file a command writes goes to a temporary name in the destination folder
//! and is renamed into place only after the last byte is written and synced, so a
//! crash, a bad row or a lost peer never leaves a half-written file under the real
//! name. Temporary names are derived from the output's (`output/temp.rs`), listed
//! process-wide so that an interrupted command removes them, and recognised by the
//! next run when a killed one left them behind. Existing files are never overwritten unless the command allows it. The
//! writer also computes the SHA-256 of everything written, for manifests and
//! receipts.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::error::{Error, FailWith, Result};

mod parquet;
mod plan;
mod scratch;
mod table;
mod temp;

pub use parquet::{ColumnTypes, ParquetWriter, ROW_GROUP_ROWS};
pub use plan::{check_outputs, ensure_absent, with_suffix};
pub use scratch::{SCRATCH_PREFIX, ScratchDir};
pub use table::TableFile;
pub use temp::{TEMP_SUFFIX, clear_stale, remove_live_temporaries, temporaries_removed};

/// Where a command's main output goes: a file path, or stdout for `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// Standard output (`-`): streamed, so it cannot be made atomic.
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

impl OutputTarget {
    /// Parses a command-line output argument: `-` is stdout.
    pub fn parse(arg: &Path) -> Self {
        if arg.as_os_str() == "-" {
            OutputTarget::Stdout
        } else {
            OutputTarget::File(arg.to_path_buf())
        }
    }
}

/// A file being written under a temporary name; [`AtomicFile::commit`] renames it
/// into place. Dropping it without commit removes the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    writer: Option<BufWriter<File>>,
    hasher: Sha256,
    bytes: u64,
    overwrite: bool,
    /// Background writeback of a large file, started once it passes
    /// [`EARLY_SYNC_EVERY`] bytes.
    early_sync: Option<EarlySync>,
    /// Size at which the next background sync is asked for.
    next_sync_at: u64,
}

/// How often (in bytes written) a large output asks for a background sync.
const EARLY_SYNC_EVERY: u64 = 16 << 20;

/// A thread that syncs a file's data while it is still being written, so that
/// the sync before the rename waits only for the last few megabytes instead of
/// the whole file (~70 ms for a 136 MB token file on the benchmark machine).
/// The thread shares the open file (a duplicated descriptor), so the kernel
/// reports a write-back error to whichever sync sees it first: the thread keeps
/// that error and [`AtomicFile::seal`] fails with it.
#[derive(Debug)]
struct EarlySync {
    /// A pending request covers everything written before it is served, so one
    /// slot is enough: a full channel means a sync is already due.
    requests: mpsc::SyncSender<()>,
    thread: JoinHandle<io::Result<()>>,
}

impl EarlySync {
    /// Starts the thread for `file`; `None` (and no early syncs, only the final
    /// one) when the descriptor cannot be duplicated or no thread started.
    fn start(file: &File) -> Option<EarlySync> {
        let file = file.try_clone().ok()?;
        let (requests, pending) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("output-sync".into())
            .spawn(move || {
                for () in pending {
                    file.sync_data()?;
                }
                Ok(())
            })
            .ok()?;
        Some(EarlySync { requests, thread })
    }

    /// Asks for a sync of everything written so far, unless one is pending.
    fn request(&self) {
        // Full: a pending request will cover these bytes. Disconnected: the
        // thread stopped on an error, which `finish` reports.
        let _ = self.requests.try_send(());
    }

    /// Stops the thread after its last sync; the first error it met, if any.
    fn finish(self) -> io::Result<()> {
        drop(self.requests);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the output sync thread panicked")))
    }
}

impl AtomicFile {
    /// Creates the temporary file beside `path`. With `private`, the file is
    /// created with mode 0600 (Unix) because it holds data that must not leave
    /// the party.
    ///
    /// # Errors
    /// The destination exists (and `overwrite` is false) or the folder is not
    /// writable.
    pub fn create(path: &Path, overwrite: bool, private: bool) -> Result<Self> {
        ensure_absent(path, overwrite)?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if private { 0o600 } else { 0o644 });
        }
        #[cfg(not(unix))]
        let _ = private;
        let (temp_path, file) = temp::create(path, &options)?;
        Ok(AtomicFile {
            final_path: path.to_path_buf(),
            temp_path,
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
            hasher: Sha256::new(),
            bytes: 0,
            overwrite,
            early_sync: None,
            next_sync_at: EARLY_SYNC_EVERY,
        })
    }

    /// The path the file will have once committed.
    pub fn path(&self) -> &Path {
        &self.final_path
    }

    /// Flushes, syncs and renames the file into place; returns its SHA-256 and
    /// size. Without `overwrite`, a file that appeared at the destination
    /// meanwhile is not replaced.
    ///
    /// # Errors
    /// Writing, syncing or renaming failed; the temporary file is removed.
    pub fn commit(self) -> Result<WrittenFile> {
        self.seal()?.commit()
    }

    /// Flushes and syncs the content under the temporary name, without renaming
    /// it yet. Commands that write several files seal them all first and
    /// [`commit_all`] at the end, so a failure on one never leaves another behind
    /// (a token file without its manifest, matches without their receipt).
    ///
    /// # Errors
    /// Writing or syncing failed; the temporary file is removed.
    pub fn seal(mut self) -> Result<SealedFile> {
        let early = self.early_sync.take().map_or(Ok(()), EarlySync::finish);
        let synced = match self.writer.take() {
            Some(writer) => early.and_then(|()| {
                writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .and_then(|file| file.sync_all().map(|()| Some(file)))
            }),
            None => early.map(|()| None),
        };
        let file = synced.fail_with(|| {
            Error::failed(format!(
                "cannot finish output file '{}'",
                self.final_path.display()
            ))
            .hint("check the free space and permissions of the output folder")
        })?;
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        Ok(SealedFile {
            info: WrittenFile {
                path: self.final_path.clone(),
                sha256,
                bytes: self.bytes,
            },
            // Hand the temporary name over: from here on SealedFile removes it.
            temp_path: std::mem::take(&mut self.temp_path),
            _locked: file,
            overwrite: self.overwrite,
            committed: false,
        })
    }

    /// Writes all of `content` straight to the file, past the buffer: for one-shot
    /// content (a key file among them) that is in memory already and should not be
    /// copied into a buffer that is freed without being wiped.
    fn write_whole(&mut self, content: &[u8]) -> io::Result<()> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("output already committed"))?;
        writer.flush()?;
        writer.get_mut().write_all(content)?;
        self.hasher.update(content);
        self.bytes += content.len() as u64;
        Ok(())
    }
}

/// A complete file still under its temporary name: its hash and size are known,
/// but it appears under the real name only on [`SealedFile::commit`]. Dropping it
/// uncommitted removes it.
#[derive(Debug)]
pub struct SealedFile {
    info: WrittenFile,
    temp_path: PathBuf,
    /// The open temporary file: kept until the commit so that its lock tells other
    /// runs that it is not stale.
    _locked: Option<File>,
    overwrite: bool,
    committed: bool,
}

impl SealedFile {
    /// Final path, SHA-256 and size the file will have once committed.
    pub fn info(&self) -> &WrittenFile {
        &self.info
    }

    /// Renames the file into place.
    ///
    /// # Errors
    /// The rename failed (or, without overwrite, the destination appeared
    /// meanwhile); the temporary file is removed.
    pub fn commit(mut self) -> Result<WrittenFile> {
        // Under the registry's lock, so an interruption comes wholly before (and
        // the file is not committed) or after (and it is complete). `self` is
        // dropped after the guard, as dropping takes the lock again.
        let mut registry = temp::registry();
        let written = self.commit_in(&mut registry)?;
        drop(registry);
        sync_dir(&written.path);
        Ok(written)
    }

    /// Renames the file into place while the caller holds the registry.
    fn commit_in(&mut self, registry: &mut temp::Registry) -> Result<WrittenFile> {
        registry.check_open(&self.info.path)?;
        let renamed = if self.overwrite {
            fs::rename(&self.temp_path, &self.info.path)
        } else {
            // hard_link fails if the destination exists: a no-overwrite rename.
            fs::hard_link(&self.temp_path, &self.info.path)
                .and_then(|()| fs::remove_file(&self.temp_path))
        };
        renamed.fail_with(|| {
            Error::failed(format!(
                "cannot finish output file '{}'",
                self.info.path.display()
            ))
            .hint("another process may have created it meanwhile; choose another name or pass --force")
        })?;
        self.committed = true;
        registry.forget(&self.temp_path);
        Ok(self.info.clone())
    }
}

impl Drop for SealedFile {
    fn drop(&mut self) {
        if !self.committed {
            temp::discard(&self.temp_path);
        }
    }
}

/// Commits sealed files in order. If one fails, the ones already committed are
/// removed again, so either all appear or none does; an interruption comes
/// before or after all of them.
///
/// # Errors
/// As [`SealedFile::commit`].
pub fn commit_all(mut files: Vec<SealedFile>) -> Result<Vec<WrittenFile>> {
    let result = {
        let mut registry = temp::registry();
        let mut done: Vec<WrittenFile> = Vec::with_capacity(files.len());
        let mut failed = None;
        for file in &mut files {
            match file.commit_in(&mut registry) {
                Ok(written) => done.push(written),
                Err(err) => {
                    for written in &done {
                        let _ = fs::remove_file(&written.path);
                    }
                    failed = Some(err);
                    break;
                }
            }
        }
        failed.map_or(Ok(done), Err)
    };
    // The uncommitted ones remove their temporary files as they drop, which takes
    // the registry's lock: only after it is released above.
    drop(files);
    if let Ok(written) = &result {
        let mut synced: Vec<Option<&Path>> = Vec::new();
        for file in written {
            if !synced.contains(&file.path.parent()) {
                synced.push(file.path.parent());
                sync_dir(&file.path);
            }
        }
    }
    result
}

/// Makes the new name of `path` durable (Unix: syncs its folder), best effort: a
/// failure here loses nothing that was written.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    {
        let (dir, _) = temp::split(path);
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("output already committed"))?;
        let n = writer.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if self.bytes >= self.next_sync_at {
            self.next_sync_at = self.bytes + EARLY_SYNC_EVERY;
            if self.early_sync.is_none() {
                self.early_sync = EarlySync::start(writer.get_ref());
            }
            if let Some(early) = &self.early_sync {
                early.request();
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(writer) => writer.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Dropped before seal: remove the partial file. After seal the temporary
        // name belongs to the SealedFile and this path is empty.
        self.writer = None;
        if let Some(early) = self.early_sync.take() {
            let _ = early.finish();
        }
        if !self.temp_path.as_os_str().is_empty() {
            temp::discard(&self.temp_path);
        }
    }
}

/// A committed output: where it is, its SHA-256 (hex) and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// The final path.
    pub path: PathBuf,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Writes a small file (manifest, receipt, rejects) atomically in one go.
///
/// # Errors
/// As [`AtomicFile::create`] and [`AtomicFile::commit`].
pub fn write_atomic(
    path: &Path,
    content: &[u8],
    overwrite: bool,
    private: bool,
) -> Result<WrittenFile> {
    let mut file = AtomicFile::create(path, overwrite, private)?;
    file.write_whole(content)
        .fail_with(|| Error::failed(format!("cannot write '{}'", path.display())))?;
    file.commit()
}

/// Writes a small file (manifest, receipt, rejects) in one go under a temporary
/// name, to be committed later with [`commit_all`].
///
/// # Errors
/// As [`AtomicFile::create`] and [`AtomicFile::seal`].
pub fn seal_atomic(
    path: &Path,
    content: &[u8],
    overwrite: bool,
    private: bool,
) -> Result<SealedFile> {
    let mut file = AtomicFile::create(path, overwrite, private)?;
    file.write_whole(content)
        .fail_with(|| Error::failed(format!("cannot write '{}'", path.display())))?;
    file.seal()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The names in `dir`, sorted.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        {
            let mut file = AtomicFile::create(&path, false, false).unwrap();
            file.write_all(b"half a row").unwrap();
        }
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn committed_file_has_content_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let written = write_atomic(&path, b"abc", false, true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        assert_eq!(
            written.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(names_in(dir.path()), vec!["out.csv".to_owned()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_large_file_is_synced_in_the_background_and_sealed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        let mut file = AtomicFile::create(&path, false, true).unwrap();
        let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        let mut whole = Sha256::new();
        for i in 0..40 {
            file.write_all(&chunk).unwrap();
            whole.update(&chunk);
            // Small files (manifests, receipts) never start the thread.
            let started = file.early_sync.is_some();
            assert_eq!(
                started,
                (i + 1) << 20 >= EARLY_SYNC_EVERY,
                "after {} MiB",
                i + 1
            );
        }
        let written = file.commit().unwrap();
        assert_eq!(written.bytes, 40 << 20);
        assert_eq!(written.sha256, hex::encode(whole.finalize()));
        assert_eq!(fs::metadata(&path).unwrap().len(), 40 << 20);
        assert_eq!(names_in(dir.path()), vec!["tokens.csv".to_owned()]);
    }

    #[test]
    fn a_large_uncommitted_file_stops_its_sync_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = AtomicFile::create(&dir.path().join("tokens.csv"), false, true).unwrap();
        file.write_all(&vec![b'x'; (EARLY_SYNC_EVERY + 1) as usize])
            .unwrap();
        assert!(file.early_sync.is_some());
        drop(file);
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn a_background_sync_error_fails_the_seal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        let mut file = AtomicFile::create(&path, false, true).unwrap();
        file.write_all(b"rows").unwrap();
        // Stands in for a write-back error that only the background sync saw:
        // the kernel reports it once per open file, so the final sync would
        // not see it again.
        let (requests, _) = mpsc::sync_channel(1);
        let thread = std::thread::spawn(|| Err(io::Error::other("write-back failed")));
        file.early_sync = Some(EarlySync { requests, thread });
        let err = file.seal().unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot finish output file"),
            "{err:#}"
        );
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn existing_file_is_refused_unless_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, b"keep me").unwrap();
        assert!(AtomicFile::create(&path, false, false).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"keep me");
        write_atomic(&path, b"new", true, false).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn commit_all_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("matches.csv");
        let second = dir.path().join("receipt.json");
        let a = seal_atomic(&first, b"rows", false, true).unwrap();
        let b = seal_atomic(&second, b"{}", false, false).unwrap();
        assert_eq!(a.info().bytes, 4);
        // Nothing is visible under the final names before the commit.
        assert!(!first.exists() && !second.exists());
        // The second destination appears meanwhile: the commit must fail and take
        // the first file back out.
        fs::write(&second, b"someone else's").unwrap();
        assert!(commit_all(vec![a, b]).is_err());
        assert!(!first.exists());
        assert_eq!(fs::read(&second).unwrap(), b"someone else's");
        assert_eq!(names_in(dir.path()), vec!["receipt.json".to_owned()]);
    }

    #[test]
    fn the_temporary_name_comes_from_the_output_and_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        let mut file = AtomicFile::create(&path, false, true).unwrap();
        file.write_all(b"rows").unwrap();
        let temp = format!(".tokens.csv.{}{TEMP_SUFFIX}", std::process::id());
        assert_eq!(names_in(dir.path()), vec![temp]);
        file.commit().unwrap();
        assert_eq!(names_in(dir.path()), vec!["tokens.csv".to_owned()]);
    }

    /// Collects warnings.
    #[derive(Default)]
    struct Warnings(std::sync::Mutex<Vec<crate::Warning>>);

    impl crate::Observer for Warnings {
        fn warning(&self, warning: &crate::Warning) {
            self.0.lock().unwrap().push(warning.clone());
        }
    }

    #[test]
    fn a_file_being_written_or_sealed_is_not_taken_for_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let writing = AtomicFile::create(&path, false, false).unwrap();
        let temp = dir.path().join(&names_in(dir.path())[0]);
        // Renamed as another process's file would be: only its lock tells.
        let other = dir.path().join(format!(".out.csv.1{TEMP_SUFFIX}"));
        fs::hard_link(&temp, &other).unwrap();
        let seen = Warnings::default();
        clear_stale(&path, &seen);
        assert!(other.exists() && temp.exists());
        let sealed = writing.seal().unwrap();
        clear_stale(&path, &seen);
        assert!(other.exists() && temp.exists());
        assert_eq!(seen.0.lock().unwrap().len(), 2);
        drop(sealed);
        // Unlocked now: a killed writer's file.
        clear_stale(&path, &seen);
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn a_killed_runs_temporary_file_is_removed_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        // What a run killed with SIGKILL leaves: its temporary file, unlocked,
        // possibly under our own process ID (IDs are reused).
        let own = dir
            .path()
            .join(format!(".out.csv.{}{TEMP_SUFFIX}", std::process::id()));
        let other = dir.path().join(format!(".out.csv.4000000{TEMP_SUFFIX}"));
        fs::write(&own, b"half").unwrap();
        fs::write(&other, b"half").unwrap();
        write_atomic(&path, b"whole", false, false).unwrap();
        assert_eq!(names_in(dir.path()), vec!["out.csv".to_owned()]);
        assert_eq!(fs::read(&path).unwrap(), b"whole");
    }

    #[test]
    fn dropped_sealed_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = seal_atomic(&dir.path().join("out.csv"), b"x", false, false).unwrap();
        drop(sealed);
        assert!(names_in(dir.path()).is_empty());
    }
}
