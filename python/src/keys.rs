//! Key files and TLS identities, as `blindmatch keygen` and `blindmatch identity
//! new` make them (`blindmatch_pipeline::keys`, `::identity`): a notebook can set
//! up a session without the CLI. Neither ever returns key bytes.

use std::path::PathBuf;

use blindmatch_pipeline::{identity, keys};
use blindmatch_token::KeyPurpose;
use pyo3::prelude::*;

use crate::column::Warnings;
use crate::errors::IntoPy;

/// `keygen(path)`: a new master key file (mode 0600, never overwritten); returns
/// its key ID.
#[pyfunction]
pub(crate) fn keygen(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let warnings = Warnings::default();
    let file = py
        .detach(|| keys::generate(&path, KeyPurpose::Master, &warnings))
        .py_err()?;
    warnings.emit(py)?;
    Ok(file.key_id().to_string())
}

/// `new_identity(stem, name)`: `STEM.key` (0600) and `STEM.crt`; returns the
/// certificate's fingerprint (`sha256:…`) for the partner to pin.
#[pyfunction]
#[pyo3(signature = (stem, name="blindmatch"))]
pub(crate) fn new_identity(py: Python<'_>, stem: PathBuf, name: &str) -> PyResult<String> {
    let warnings = Warnings::default();
    let (made, _) = py
        .detach(|| identity::create(&stem, name, &warnings))
        .py_err()?;
    warnings.emit(py)?;
    Ok(made.fingerprint().to_string())
}
