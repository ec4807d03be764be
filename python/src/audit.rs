//! The compliance audits (`blindmatch_audit`), on files as the CLI runs them, each
//! returning its JSON report (`docs/compliance.md`) for the Python layer to parse.

use std::path::PathBuf;

use blindmatch_audit::{ManifestAudit, ReceiptAudit, ReportOptions, TokensAudit};
use blindmatch_token::KeyId;
use pyo3::prelude::*;

use crate::column::Warnings;
use crate::errors::{IntoPy, bad_input};

/// Full JSON reports, listing up to `max_rows` row numbers per finding.
fn json_report(max_rows: usize) -> ReportOptions {
    ReportOptions {
        json: true,
        max_rows,
    }
}

/// `audit_tokens_json(...)`: the JSON report of `blindmatch audit tokens --json`.
#[pyfunction]
#[pyo3(signature = (file, manifest=None, key=None, key_ids=Vec::new(), source=None, sample=1000, seed=None, delimiter=",".to_owned(), source_delimiter=None, max_rows=20))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn audit_tokens_json(
    py: Python<'_>,
    file: PathBuf,
    manifest: Option<PathBuf>,
    key: Option<PathBuf>,
    key_ids: Vec<String>,
    source: Option<PathBuf>,
    sample: u64,
    seed: Option<u64>,
    delimiter: String,
    source_delimiter: Option<String>,
    max_rows: usize,
) -> PyResult<String> {
    let mut ids = Vec::with_capacity(key_ids.len());
    for id in &key_ids {
        ids.push(id.parse::<KeyId>().map_err(|_| {
            bad_input(
                format!("key ID '{id}' is not 16 lowercase hex digits"),
                Some("copy the key ID as `blindmatch key show` prints it"),
            )
        })?);
    }
    let args = TokensAudit {
        file,
        manifest,
        key,
        key_ids: ids,
        source,
        sample,
        seed,
        delimiter,
        source_delimiter,
        // As the manifest records it, else by the file's extension.
        format: None,
        report: json_report(max_rows),
    };
    let warnings = Warnings::default();
    let report = py.detach(|| blindmatch_audit::audit_tokens(&args, &warnings));
    warnings.emit(py)?;
    Ok(String::from_utf8_lossy(report.py_err()?.text()).into_owned())
}

/// `audit_manifest_json(...)`: the JSON report of `blindmatch audit manifest --json`.
#[pyfunction]
#[pyo3(signature = (manifest, key=None, output=None, input=None, delimiter=",".to_owned(), max_rows=20))]
pub(crate) fn audit_manifest_json(
    py: Python<'_>,
    manifest: PathBuf,
    key: Option<PathBuf>,
    output: Option<PathBuf>,
    input: Option<PathBuf>,
    delimiter: String,
    max_rows: usize,
) -> PyResult<String> {
    let args = ManifestAudit {
        manifest,
        key,
        output,
        input,
        delimiter,
        report: json_report(max_rows),
    };
    let warnings = Warnings::default();
    let report = py.detach(|| blindmatch_audit::audit_manifest(&args, &warnings));
    warnings.emit(py)?;
    Ok(String::from_utf8_lossy(report.py_err()?.text()).into_owned())
}

/// `audit_receipts_json(...)`: the JSON report of `blindmatch audit receipt --json`.
#[pyfunction]
#[pyo3(signature = (a, b, output_a=None, output_b=None, delimiter=",".to_owned(), max_rows=20))]
pub(crate) fn audit_receipts_json(
    py: Python<'_>,
    a: PathBuf,
    b: PathBuf,
    output_a: Option<PathBuf>,
    output_b: Option<PathBuf>,
    delimiter: String,
    max_rows: usize,
) -> PyResult<String> {
    let args = ReceiptAudit {
        a,
        b,
        output_a,
        output_b,
        delimiter,
        report: json_report(max_rows),
    };
    let report = py.detach(|| blindmatch_audit::audit_receipts(&args));
    Ok(String::from_utf8_lossy(report.py_err()?.text()).into_owned())
}
