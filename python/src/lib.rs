//! The native half of the Python package `blindmatch` (`blindmatch._native`):
//! thin PyO3 wrappers over the library crates. Every job is done by the
//! libraries; this crate converts arguments, releases the GIL around the work,
//! and turns library errors into Python exceptions. The public Python API, its
//! docstrings and the pandas/polars conversions are in `blindmatch/`.

mod audit;
mod column;
mod errors;
mod keys;
mod lowlevel;
mod resolve;
mod session;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("BlindmatchError", py.get_type::<errors::BlindmatchError>())?;
    m.add("FailedError", py.get_type::<errors::FailedError>())?;
    m.add("BadInputError", py.get_type::<errors::BadInputError>())?;
    m.add(
        "CheckFailedError",
        py.get_type::<errors::CheckFailedError>(),
    )?;
    m.add_function(wrap_pyfunction!(column::normalize_array, m)?)?;
    m.add_class::<column::NativeTokenizer>()?;
    m.add_function(wrap_pyfunction!(session::match_csv, m)?)?;
    m.add_function(wrap_pyfunction!(resolve::resolve_csv, m)?)?;
    m.add_class::<lowlevel::NativeParty>()?;
    m.add_function(wrap_pyfunction!(keys::keygen, m)?)?;
    m.add_function(wrap_pyfunction!(keys::new_identity, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_tokens_json, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_manifest_json, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit_receipts_json, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
