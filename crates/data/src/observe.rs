//! How a pipeline tells its caller what is going on without printing anything
//! itself: warnings that do not stop the work, and progress through the input.
//!
//! The CLI draws progress bars and prints warnings; a library caller may ignore
//! both ([`Silent`]). Nothing passed here ever holds a cell value or key bytes.

use std::fmt;
use std::path::PathBuf;

/// Something the user should know that does not stop the work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A key or secret file may be read by group or others.
    ExposedSecretFile {
        /// What the file is, e.g. `key file` or `shared secret file`.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// Its permission bits (Unix mode).
        mode: u32,
    },
    /// A temporary file that a killed run of a command left beside an output was
    /// found and removed.
    StaleTemporaryRemoved {
        /// The temporary file.
        path: PathBuf,
        /// The output it was to become.
        output: PathBuf,
        /// The process that wrote it (no longer running, or no longer writing it).
        pid: u32,
    },
    /// Another running process is writing the same output: its temporary file was
    /// kept.
    TemporaryInUse {
        /// The temporary file.
        path: PathBuf,
        /// The output it is to become.
        output: PathBuf,
        /// The process writing it.
        pid: u32,
    },
}

impl Warning {
    /// Whether the warning is about the safety of a secret: shown even when the user
    /// asked for quiet output.
    pub fn is_security(&self) -> bool {
        matches!(self, Warning::ExposedSecretFile { .. })
    }

    /// What to do about it, if anything can be done.
    pub fn hint(&self) -> Option<String> {
        match self {
            Warning::ExposedSecretFile { path, .. } => {
                Some(format!("run `chmod 600 {}`", path.display()))
            }
            Warning::StaleTemporaryRemoved { .. } => None,
            Warning::TemporaryInUse { path, output, .. } => Some(format!(
                "wait for the other run to finish or write another file; if no run is writing '{}', remove '{}'",
                output.display(),
                path.display()
            )),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::ExposedSecretFile { what, path, mode } => write!(
                f,
                "{what} '{}' is readable by others (mode {mode:04o})",
                path.display()
            ),
            Warning::StaleTemporaryRemoved { path, output, pid } => write!(
                f,
                "removed '{}', the temporary file of '{}' that an interrupted run (process {pid}) left behind",
                path.display(),
                output.display()
            ),
            Warning::TemporaryInUse { path, output, pid } => write!(
                f,
                "another run (process {pid}) is writing '{}' now (temporary file '{}')",
                output.display(),
                path.display()
            ),
        }
    }
}

/// Receives a pipeline's warnings and progress. Every method does nothing unless
/// overridden. Shared with the pipeline's threads, hence `Sync`.
pub trait Observer: Sync {
    /// A warning, as it happens.
    fn warning(&self, warning: &Warning) {
        let _ = warning;
    }

    /// The pipeline starts reading `total` bytes of input (`None`: unknown, e.g.
    /// standard input); `stage` names the work, e.g. `tokenize`.
    fn progress_start(&self, stage: &'static str, total: Option<u64>) {
        let _ = (stage, total);
    }

    /// `done` bytes of the input are read.
    fn progress(&self, done: u64) {
        let _ = done;
    }

    /// The pipeline is done reading (or stopped).
    fn progress_end(&self) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}
