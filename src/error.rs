//! How the CLI fails: exit codes, one-line error messages with a hint, and the
//! helpers commands use to say which kind of failure an error is.
//!
//! Exit codes (documented in the README):
//! - 0: success;
//! - 1: the work failed at run time (network, peer abort, I/O on an output);
//! - 2: bad input or usage (arguments, CSV, identifiers, key files, existing output);
//! - 3: the work ran but a check did not pass (reject rate above the limit, audit
//!   findings, a policy refusal);
//! - 130 and 143: interrupted by SIGINT or SIGTERM (`crate::interrupt` exits with
//!   them, not this module).
//!
//! The libraries fail with [`blindmatch_data::Error`], whose category and hint they
//! choose; this module only maps the category to an exit code and prints.

use std::process::ExitCode;

use blindmatch_data::Category;

/// The error a command raises on purpose: the libraries' error type, under the
/// name the command modules have always used. Its message never carries a raw
/// identifier or key material: callers build messages from names, paths, row and
/// column numbers only.
pub(crate) type Failure = blindmatch_data::Error;

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

    /// The status an error of `category` exits with.
    pub(crate) fn of(category: Category) -> Self {
        match category {
            Category::BadInput => ExitStatus::BadInput,
            Category::CheckFailed => ExitStatus::CheckFailed,
            // A category added later is a run-time failure until mapped here.
            _ => ExitStatus::Failed,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// Attaches a [`Failure`] (message, category, hint) to any error, keeping the
/// original as its cause so `{:#}` prints `message: cause`. The command-side twin
/// of [`blindmatch_data::FailWith`], for code that works in `anyhow::Result`.
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
        // The cause is kept as `source()` so `{:#}` prints it and `chain()` yields
        // the Failure itself (anyhow's `.context()` wrapper would hide it from
        // downcasts).
        self.map_err(|err| anyhow::Error::new(failure().caused_by(err.into())))
    }
}

/// The first [`Failure`] in an error's chain: the one that says how it failed.
pub(crate) fn failure_of(err: &anyhow::Error) -> Option<&Failure> {
    err.chain().find_map(|e| e.downcast_ref::<Failure>())
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
            let failure = failure_of(&err);
            eprintln!("error: {err:#}");
            if let Some(hint) = failure.and_then(Failure::hint_text) {
                eprintln!("hint: {hint}");
            }
            failure
                .map_or(ExitStatus::Failed, |f| ExitStatus::of(f.category()))
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
        let failure = failure_of(&err).expect("failure in chain");
        assert_eq!(ExitStatus::of(failure.category()), ExitStatus::BadInput);
        assert_eq!(failure.hint_text(), Some("check the path"));
        assert_eq!(format!("{err:#}"), "cannot read 'x.csv': disk on fire");
    }

    #[test]
    fn a_library_error_keeps_its_category_through_anyhow() {
        let lib = Failure::check_failed("audit tokens of 'x': 1 finding").hint("see above");
        let err = anyhow::Error::from(lib);
        let failure = failure_of(&err).expect("failure in chain");
        assert_eq!(ExitStatus::of(failure.category()), ExitStatus::CheckFailed);
    }
}
