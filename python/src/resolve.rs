//! `resolve`: identity resolution over tables held in memory (CSV text the Python
//! layer made from each DataFrame), through `blindmatch_resolve::resolve`. The
//! clusters and golden files it writes go to a private temporary folder and are
//! read back and removed before returning.

use std::path::PathBuf;

use blindmatch_data::Error;
use blindmatch_data::dataset::{ColumnSpec, InputSource, MemoryInput};
use blindmatch_resolve::{ResolveConfig, SourceSpec, Survivorship};
use blindmatch_token::{IdType, RuleSet};
use pyo3::prelude::*;

use crate::column::{Warnings, profile};
use crate::errors::{IntoPy, bad_input, to_py};

/// One source as the Python layer passes it: name, CSV text, (column, field) pairs.
type Source = (String, Vec<u8>, Vec<(String, String)>);

/// `resolve_csv(sources, rules, guards, prefer, profile, previous)`: (clusters CSV,
/// golden CSV, report JSON).
#[pyfunction]
#[pyo3(signature = (sources, rules, guards=Vec::new(), prefer=Vec::new(), profile=None, previous=None))]
pub(crate) fn resolve_csv(
    py: Python<'_>,
    sources: Vec<Source>,
    rules: Vec<String>,
    guards: Vec<String>,
    prefer: Vec<String>,
    profile: Option<String>,
    previous: Option<PathBuf>,
) -> PyResult<(Vec<u8>, Vec<u8>, String)> {
    let mut specs = Vec::with_capacity(sources.len());
    for (name, csv, columns) in sources {
        let mut parsed = Vec::with_capacity(columns.len());
        for (column, field) in columns {
            parsed.push(ColumnSpec::parse(&format!("{column}:{field}")).py_err()?);
        }
        specs.push(SourceSpec {
            input: InputSource::Memory(MemoryInput::new(format!("<{name}>"), csv)),
            name,
            columns: parsed,
            delimiter: b',',
            // The table reaches the library as CSV text in memory.
            format: Some(blindmatch_data::dataset::Format::Csv),
        });
    }
    let rules = RuleSet::parse(&rules).map_err(|e| {
        bad_input(
            format!("invalid rule: {e}"),
            Some("a rule is one field or fields joined by +, e.g. rules=['phone', 'name+uscc']"),
        )
    })?;
    let mut guard_types = Vec::with_capacity(guards.len());
    for g in &guards {
        guard_types.push(g.trim().parse::<IdType>().map_err(|_| {
            bad_input(
                format!("never_link_on '{g}' is not a field"),
                Some(&format!(
                    "a field is an identifier type: {}",
                    IdType::VALID_NAMES
                )),
            )
        })?);
    }
    let dir = tempfile::Builder::new()
        .prefix("blindmatch-py-")
        .tempdir()
        .map_err(|e| {
            to_py(Error::failed(format!(
                "cannot create a temporary folder: {e}"
            )))
        })?;
    let config = ResolveConfig {
        sources: specs,
        rules,
        guards: guard_types,
        profile: self::profile(profile.as_deref())?,
        previous,
        output: dir.path().join("clusters.csv"),
        golden: Some(dir.path().join("golden.csv")),
        report: None,
        survivorship: Survivorship::parse(&prefer).py_err()?,
        overwrite: false,
    };
    config.check().py_err()?;
    let warnings = Warnings::default();
    let result = py.detach(|| {
        let summary = blindmatch_resolve::resolve(&config, &warnings)?;
        let read = |path: &std::path::Path| {
            std::fs::read(path)
                .map_err(|e| Error::failed(format!("cannot read back '{}': {e}", path.display())))
        };
        let clusters = read(&summary.clusters_file.path)?;
        let golden = match &summary.golden_file {
            Some(file) => read(&file.path)?,
            None => Vec::new(),
        };
        let report = String::from_utf8_lossy(&summary.report.to_json()).into_owned();
        Ok::<_, Error>((clusters, golden, report))
    });
    warnings.emit(py)?;
    let out = result.py_err()?;
    drop(dir);
    Ok(out)
}
