//! The one error type of the pipeline crates: a category the CLI maps to an exit
//! code, a one-line message, an optional hint naming the fix, and the cause.
//!
//! Messages and hints are written by the library that fails, from names, paths,
//! row and column numbers only: never a raw identifier, a key or a cell value.

use std::fmt;

/// A boxed cause, as [`Error::source`] returns it.
type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is; the CLI turns it into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Category {
    /// The work failed at run time (I/O on an output, a lost peer, a collision).
    Failed,
    /// Input or usage was wrong (arguments, CSV, identifiers, key files, an
    /// existing output); nothing was written.
    BadInput,
    /// The work ran, but a check the caller asked for did not pass.
    CheckFailed,
}

/// A failure with its category, message, optional hint and cause.
///
/// `Display` prints the message alone; the cause is [`std::error::Error::source`],
/// so a reporter that walks the chain (anyhow's `{:#}`) prints `message: cause`.
#[derive(thiserror::Error)]
#[error("{message}")]
pub struct Error {
    category: Category,
    message: String,
    hint: Option<String>,
    #[source]
    source: Option<Cause>,
}

/// A result whose error is an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `category` with `message`.
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        Error {
            category,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// Bad input or usage.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::new(Category::BadInput, message)
    }

    /// A run-time failure.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::new(Category::Failed, message)
    }

    /// A check that did not pass.
    pub fn check_failed(message: impl Into<String>) -> Self {
        Error::new(Category::CheckFailed, message)
    }

    /// Adds what the user can do about it (printed on a second line).
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Keeps `cause` as this error's source.
    #[must_use]
    pub fn caused_by(mut self, cause: impl Into<Cause>) -> Self {
        self.source = Some(cause.into());
        self
    }

    /// The category.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The message (without the cause).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("category", &self.category)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .field("source", &self.source)
            .finish()
    }
}

/// Wraps any error in an [`Error`] (message, category, hint), keeping the original
/// as its cause.
pub trait FailWith<T> {
    /// Wraps the error in the one `error` makes.
    ///
    /// # Errors
    /// Returns the wrapped error when `self` is an error.
    fn fail_with(self, error: impl FnOnce() -> Error) -> Result<T>;
}

impl<T, E> FailWith<T> for std::result::Result<T, E>
where
    E: Into<Cause>,
{
    fn fail_with(self, error: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|cause| error().caused_by(cause))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::error::Error as _;

    #[test]
    fn category_hint_and_cause_survive_wrapping() {
        let inner: std::result::Result<(), std::io::Error> =
            Err(std::io::Error::other("disk on fire"));
        let err = inner
            .fail_with(|| Error::bad_input("cannot read 'x.csv'").hint("check the path"))
            .expect_err("must fail");
        assert_eq!(err.category(), Category::BadInput);
        assert_eq!(err.hint_text(), Some("check the path"));
        assert_eq!(err.to_string(), "cannot read 'x.csv'");
        assert_eq!(err.source().unwrap().to_string(), "disk on fire");
    }
}
