//! How the CLI fails: exit codes, one-line error messages with a hint, and the
//! helpers commands use to say which kind of failure an error is.
//!
//! Exit codes (documented in the README):
//! - 0: success;
//! - 1: the work failed at run time (network, peer abort, I/O on an output);
//! - 2: bad input or usage (arguments, CSV, identifiers, key files, existing output);
//! - 3: the work ran but a check did not pass (reject rate above the limit, audit
//!   findings, a policy refusal).

use std::fmt;
use std::process::ExitCode;

/// The process outcome of a command, mapped one-to-one onto exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Everything asked for was done.
    Success,
    /// The work failed at run time.
    Failed,
    /// Input or usage was wrong; nothing was written.
    BadInput,
    /// The work ran, but a check the user asked for did not pass.
    CheckFailed,
}

impl ExitStatus {
    /// The numeric exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::BadInput => 2,
            ExitStatus::CheckFailed => 3,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// An error a command raises on purpose: a message naming what and where, the exit
/// status it maps to, and an optional hint naming the fix. It never carries a raw
/// identifier or key material: callers build messages from names, paths, row and
/// column numbers only.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    hint: Option<String>,
    status: ExitStatus,
    // The cause, kept as `source()` so `{:#}` prints it and `chain()` yields the
    // Failure itself (anyhow's `.context()` wrapper would hide it from downcasts).
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Failure {
    /// A failure with the given status and message.
    pub(crate) fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            status,
            source: None,
        }
    }

    /// Bad input or usage (exit code 2).
    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        Failure::new(ExitStatus::BadInput, message)
    }

    /// A run-time failure (exit code 1).
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Failure::new(ExitStatus::Failed, message)
    }

    /// A check that did not pass (exit code 3).
    pub(crate) fn check_failed(message: impl Into<String>) -> Self {
        Failure::new(ExitStatus::CheckFailed, message)
    }

    /// Adds the second line of the error: what the user can do about it.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The exit status (for tests that check how a command failed).
    #[cfg(test)]
    pub(crate) fn status(&self) -> ExitStatus {
        self.status
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Attaches a [`Failure`] (message, status, hint) to any error, keeping the
/// original as its cause so `{:#}` prints `message: cause`.
pub(crate) trait FailWith<T> {
    /// Wraps the error in `failure`.
    ///
    /// # Errors
    /// Returns the wrapped error when `self` is an error.
    fn fail_with(self, failure: impl FnOnce() -> Failure) -> anyhow::Result<T>;
}

impl<T, E> FailWith<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn fail_with(self, failure: impl FnOnce() -> Failure) -> anyhow::Result<T> {
        self.map_err(|err| {
            let mut failure = failure();
            failure.source = Some(err.into().into());
            anyhow::Error::new(failure)
        })
    }
}

/// Prints an error (if any) as `error: …` plus `hint: …` on stderr and returns the
/// process exit code.
pub(crate) fn report(result: anyhow::Result<ExitStatus>) -> ExitCode {
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                // The reader went away (e.g. `| head`): not an error worth a message.
                return ExitStatus::Success.into();
            }
            let failure = err.chain().find_map(|e| e.downcast_ref::<Failure>());
            eprintln!("error: {err:#}");
            if let Some(hint) = failure.and_then(|f| f.hint.as_deref()) {
                eprintln!("hint: {hint}");
            }
            failure
                .map(|f| f.status)
                .unwrap_or(ExitStatus::Failed)
                .into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_status_and_hint_survive_wrapping() {
        let inner: Result<(), std::io::Error> = Err(std::io::Error::other("disk on fire"));
        let err = inner
            .fail_with(|| Failure::bad_input("cannot read 'x.csv'").hint("check the path"))
            .expect_err("must fail");
        let failure = err
            .chain()
            .find_map(|e| e.downcast_ref::<Failure>())
            .expect("failure in chain");
        assert_eq!(failure.status, ExitStatus::BadInput);
        assert_eq!(failure.hint.as_deref(), Some("check the path"));
        assert_eq!(format!("{err:#}"), "cannot read 'x.csv': disk on fire");
    }
}
