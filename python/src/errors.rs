//! blindmatch errors as Python exceptions: one class per CLI exit-code category,
//! each instance carrying `category`, `exit_code` and `hint`.
//!
//! Messages come from the libraries, which build them from names, paths, row and
//! column numbers only, never a cell value, key or secret; this module adds none.

use blindmatch_data::{Category, Error};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(
    blindmatch,
    BlindmatchError,
    PyException,
    "Any blindmatch failure. `category` is 'failed', 'bad_input' or 'check_failed'; `exit_code` is what the CLI would exit with (1, 2, 3); `hint` says what to do, or is None. Messages never hold a raw identifier, key or cell value."
);
pyo3::create_exception!(
    blindmatch,
    FailedError,
    BlindmatchError,
    "The work failed at run time (network, partner abort, output I/O): CLI exit code 1."
);
pyo3::create_exception!(
    blindmatch,
    BadInputError,
    BlindmatchError,
    "Bad input or usage (arguments, data, identifiers, key files): CLI exit code 2. Nothing was written."
);
pyo3::create_exception!(
    blindmatch,
    CheckFailedError,
    BlindmatchError,
    "The work ran but a check asked for did not pass (reject rate, audit findings, partner policy): CLI exit code 3."
);

/// The category's name and the CLI's exit code for it (as `src/error.rs` maps them).
pub(crate) fn category_code(category: Category) -> (&'static str, u8) {
    match category {
        Category::BadInput => ("bad_input", 2),
        Category::CheckFailed => ("check_failed", 3),
        // A category added later is a run-time failure until mapped here (as the CLI).
        _ => ("failed", 1),
    }
}

/// The message with its causes, `message: cause: …`, as the CLI prints it.
fn full_message(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A library error as the Python exception of its category.
pub(crate) fn to_py(error: Error) -> PyErr {
    let (category, code) = category_code(error.category());
    let message = full_message(&error);
    let err = match error.category() {
        Category::BadInput => BadInputError::new_err(message),
        Category::CheckFailed => CheckFailedError::new_err(message),
        _ => FailedError::new_err(message),
    };
    Python::attach(|py| {
        let value = err.value(py);
        // Setting attributes on a fresh exception instance cannot fail in practice;
        // if it did, the exception would still carry its class and message.
        let _ = value.setattr("category", category);
        let _ = value.setattr("exit_code", code);
        let _ = value.setattr("hint", error.hint_text());
    });
    err
}

/// A bad-input exception made here (argument checks of the bindings).
pub(crate) fn bad_input(message: impl Into<String>, hint: Option<&str>) -> PyErr {
    let mut error = Error::bad_input(message);
    if let Some(hint) = hint {
        error = error.hint(hint);
    }
    to_py(error)
}

/// Runs `f` and turns its library error into the Python exception.
pub(crate) trait IntoPy<T> {
    /// The Python form of the result.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
