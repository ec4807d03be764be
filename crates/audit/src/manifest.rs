//! The manifest audit (`blindmatch audit manifest`): a tokenize manifest checked
//! in itself and against its token file (hash, size, header, row and token counts,
//! key IDs and MAC lengths of the tokens actually in the file), its rejects file,
//! and, when given, the raw input and the key.
//!
//! A manifest is not signed. What can be detected from files alone is listed in
//! `docs/compliance.md`: a change to the token file, or to one manifest field that
//! other fields or the file contradict. A forger who rewrites the file and every
//! dependent field consistently is not detectable without a copy of the manifest
//! kept elsewhere (its SHA-256 in a ticket or a signature).

use std::path::{Path, PathBuf};

use blindmatch_data::dataset::{CsvReader, DatasetReader, InputSource, parse_delimiter};
use blindmatch_data::{Error, Observer, Result};
use serde::Serialize;

use crate::files::{self, FileCheck, describe_check};
use crate::given_key::check_key;
use crate::report::{self, AuditReport, Finding, ReportOptions, group, safe_name};
use crate::source::{RecountReport, check_source};
use crate::token_file::findings::{column_findings, cross_check};
use crate::token_file::{ColumnStats, Inspect, delimiter_note, inspect};
use crate::tokenize_manifest::Manifest;

/// What `audit manifest` reports besides the findings.
#[derive(Debug, Serialize)]
struct Details {
    manifest: String,
    key_id: Option<String>,
    previous_key_id: Option<String>,
    profile: Option<String>,
    output: FileCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<FileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recount: Option<RecountReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejects_file: Option<FileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_given: Option<String>,
    columns: Vec<ColumnStats>,
}

/// What `audit manifest` checks and with what.
#[derive(Debug, Clone)]
pub struct ManifestAudit {
    /// The manifest `tokenize` wrote.
    pub manifest: PathBuf,
    /// A key file: the ID of its token key must be the manifest's key (or
    /// previous key).
    pub key: Option<PathBuf>,
    /// The token file, when it is not where the manifest says.
    pub output: Option<PathBuf>,
    /// The raw input, to check against the recorded SHA-256 and counts.
    pub input: Option<PathBuf>,
    /// The token file's field delimiter as given (one ASCII character or `tab`);
    /// read only when the manifest records none.
    pub delimiter: String,
    /// How the report is rendered.
    pub report: ReportOptions,
}

/// The checks of `audit manifest` that need the manifest alone, for a manifest
/// held in memory: `bytes` are read as the contents of the manifest file `name`
/// (named in messages), and the findings are those [`audit_manifest`] makes
/// before it looks at any other file: fields missing, mistyped or malformed,
/// counts that do not add up, unknown reason codes, the profile digest, names
/// and timestamps.
///
/// # Errors
/// Bad input when the bytes are too large, not JSON, not a manifest or of an
/// unsupported version; missing or mistyped fields are findings.
pub fn manifest_findings(bytes: &[u8], name: &Path) -> Result<Vec<Finding>> {
    Ok(Manifest::from_slice(name, bytes)?.internal_findings())
}

/// Audits a tokenize manifest.
///
/// # Errors
/// Bad input for unreadable files or a manifest that names no usable token file;
/// findings are not errors here (see [`AuditReport::verdict`]).
pub fn audit_manifest(args: &ManifestAudit, observer: &dyn Observer) -> Result<AuditReport> {
    let manifest = Manifest::load(&args.manifest)?;
    let mut findings = manifest.internal_findings();
    let mut notes = Vec::new();
    let key_given = match &args.key {
        Some(path) => Some(
            check_key(path, Some(&manifest), &mut findings, observer)?
                .key_id()
                .to_string(),
        ),
        None => None,
    };
    let Some(recorded) = manifest.output.clone() else {
        return Err(Error::bad_input(format!(
            "manifest '{}' records no usable output file",
            args.manifest.display()
        ))
        .hint("the manifest is damaged: its `output` field is missing or malformed"));
    };
    let output_path = match &args.output {
        Some(p) => Some(p.clone()),
        None => files::locate(&recorded.path, &args.manifest),
    };
    let Some(output_path) = output_path else {
        return Err(Error::bad_input(format!(
            "the token file the manifest names ('{}') is not at hand",
            safe_name(&recorded.path)
        ))
        .hint("give its location with --output FILE"));
    };
    let delimiter = match manifest.delimiter {
        Some(d) => d,
        None => parse_delimiter(&args.delimiter)?,
    };
    let parsed = files::parse_or_finding(
        "output file",
        &output_path,
        Some(&recorded),
        &mut findings,
        || {
            let reader = DatasetReader::open(
                &InputSource::File(output_path.clone()),
                recorded.table_format(&output_path),
                delimiter,
            )?;
            inspect(
                reader,
                &Inspect {
                    manifest: Some(&manifest),
                    scan: false,
                    max_rows: args.report.max_rows,
                    sample: None,
                    observer,
                },
            )
        },
    )?;
    let (output, stats) = match parsed {
        Ok(stats) => {
            let output = files::compare(
                "output file",
                &output_path,
                stats.sha256.clone(),
                stats.bytes,
                &recorded,
                &mut findings,
            );
            cross_check(&manifest, &stats, &mut findings);
            column_findings(&stats, Some(&manifest), &mut findings);
            delimiter_note(&stats, &mut notes);
            (output, Some(stats))
        }
        Err(output) => (output, None),
    };
    let (input, recount) = match &args.input {
        Some(path) => {
            let (check, recount, _) = check_source(
                path,
                delimiter,
                &manifest,
                &mut findings,
                &mut notes,
                &mut (),
            )?;
            (Some(check), recount)
        }
        None => {
            notes.push(
                "the raw input was not given (--input): its hash and the counts were not checked against it"
                    .to_owned(),
            );
            (None, None)
        }
    };
    let rejects_path = manifest
        .rejects_file
        .as_ref()
        .and_then(|r| files::locate(&r.path, &args.manifest));
    let rejects_file = check_rejects_file(
        &manifest,
        rejects_path.as_deref(),
        &mut findings,
        &mut notes,
    )?;
    notes.push(
        "a manifest is not signed: record its SHA-256 where it cannot be changed (see docs/compliance.md)".to_owned(),
    );
    let details = Details {
        manifest: safe_name(&args.manifest.display().to_string()),
        key_id: manifest.key_id().map(|k| k.to_string()),
        previous_key_id: manifest.previous_key_id().map(|k| k.to_string()),
        profile: manifest.profile_name.as_deref().map(safe_name),
        output,
        input,
        recount,
        rejects_file,
        rows: stats.as_ref().map(|s| s.rows),
        key_given,
        columns: stats.map(|s| s.columns).unwrap_or_default(),
    };
    let subject = format!("'{}'", safe_name(&args.manifest.display().to_string()));
    report::finish(
        "manifest",
        &subject,
        details,
        findings,
        notes,
        args.report,
        human,
    )
}

fn human(d: &Details) -> String {
    let mut s = format!("audit manifest: '{}'\n", d.manifest);
    s.push_str(&format!(
        "  key {}{}, profile {}\n",
        d.key_id.as_deref().unwrap_or("(none)"),
        d.previous_key_id
            .as_deref()
            .map(|p| format!(" (previous key {p})"))
            .unwrap_or_default(),
        d.profile.as_deref().unwrap_or("(none)")
    ));
    for check in [Some(&d.output), d.input.as_ref(), d.rejects_file.as_ref()]
        .into_iter()
        .flatten()
    {
        s.push_str(&format!("  {}\n", describe_check(check)));
    }
    if let Some(recount) = &d.recount {
        s.push_str(&format!(
            "  counts recomputed from the input's {} rows for {}\n",
            group(recount.rows),
            report::counted(
                recount.columns.len() as u64,
                "identifier column",
                "identifier columns"
            )
        ));
    }
    if let Some(k) = &d.key_given {
        s.push_str(&format!("  key given: {k}\n"));
    }
    if let Some(rows) = d.rows {
        s.push_str(&format!(
            "  {} rows, {} columns in the token file\n",
            group(rows),
            d.columns.len()
        ));
    }
    s
}

/// Checks a rejects file against the manifest: hash, size, and one line per
/// rejected cell.
fn check_rejects_file(
    manifest: &Manifest,
    path: Option<&Path>,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) -> Result<Option<FileCheck>> {
    let Some(recorded) = &manifest.rejects_file else {
        return Ok(None);
    };
    let Some(path) = path else {
        notes.push("the rejects file named in the manifest is not at hand; not checked".to_owned());
        return Ok(Some(files::check(
            "rejects file",
            None,
            recorded,
            findings,
        )?));
    };
    let parsed = files::parse_or_finding("rejects file", path, Some(recorded), findings, || {
        CsvReader::open(&InputSource::File(path.to_path_buf()), b',')?.finish()
    })?;
    let summary = match parsed {
        Ok(summary) => summary,
        Err(check) => return Ok(Some(check)),
    };
    let check = files::compare(
        "rejects file",
        path,
        summary.sha256,
        summary.bytes,
        recorded,
        findings,
    );
    let lines = summary.rows;
    let rejected: u64 = manifest.columns.iter().filter_map(|c| c.rejected).sum();
    if lines != rejected {
        findings.push(Finding::new(
            "count_mismatch",
            format!(
                "the rejects file lists {lines} cells, the manifest records {rejected} rejected cells"
            ),
        ));
    }
    Ok(Some(check))
}
