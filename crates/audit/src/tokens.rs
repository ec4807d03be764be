//! The tokens audit (`blindmatch audit tokens`): one streaming pass over a token file that checks the
//! token columns (well formed, made by the declared key IDs, of the declared
//! length), scans every cell of every column for raw identifiers, counts duplicate
//! and singleton tokens, and draws a random sample of rows; then, with the key and
//! the raw source, re-tokenises the sample and compares.
//!
//! Memory: one 12-byte entry per distinct token per token column (for the duplicate
//! and singleton rates) and the sampled rows' token cells; everything else streams.

mod sample;

use std::io::Read;
use std::path::{Path, PathBuf};

use blindmatch_data::dataset::{CsvReader, DatasetReader, Format, InputSource, parse_delimiter};
use blindmatch_data::scan::Kind;
use blindmatch_data::{Error, Observer, Result, Silent};
use blindmatch_token::KeyId;
use serde::Serialize;

use crate::files::{self, FileCheck, describe_check};
use crate::given_key::check_key;
use crate::report::{
    self, AuditReport, Finding, ReportOptions, counted, group, percent, safe_name,
};
use crate::source::RecountReport;
use crate::token_file::findings::{column_findings_with, cross_check};
use crate::token_file::{ColumnStats, Inspect, SampleSpec, delimiter_note, inspect};
use crate::tokenize_manifest::Manifest;
use sample::{SamplePlanColumn, SampleReport, check_source_and_sample};

/// What `audit tokens` reports besides the findings.
#[derive(Debug, Serialize)]
struct Details {
    file: FileSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<ManifestSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_given: Option<String>,
    columns: Vec<ColumnStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<FileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recount: Option<RecountReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample: Option<SampleReport>,
    scanned_for: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct FileSummary {
    path: String,
    sha256: String,
    bytes: u64,
    rows: u64,
}

#[derive(Debug, Serialize)]
struct ManifestSummary {
    path: String,
    key_id: Option<String>,
    previous_key_id: Option<String>,
    profile: Option<String>,
    output: FileCheck,
}

/// What `audit tokens` checks and with what.
#[derive(Debug, Clone)]
pub struct TokensAudit {
    /// The token file (CSV, Parquet or Arrow IPC); `-` for standard input (CSV).
    pub file: PathBuf,
    /// The token file's format (`--format`); `None`: as the manifest records
    /// it, else by the file's extension.
    pub format: Option<Format>,
    /// The manifest `tokenize` wrote: declares token columns, key IDs and counts,
    /// and its output SHA-256 must be this file's.
    pub manifest: Option<PathBuf>,
    /// A key file: the ID of its token key must be the one that made the tokens;
    /// with `source`, it re-tokenises the sample.
    pub key: Option<PathBuf>,
    /// Key IDs every token must carry, for files without a manifest.
    pub key_ids: Vec<KeyId>,
    /// The raw CSV the token file was made from (needs `key` and `manifest`).
    pub source: Option<PathBuf>,
    /// Rows to re-tokenise from `source` (all when at least the row count).
    pub sample: u64,
    /// Seed for choosing the sample; `None`: random, printed in the report.
    pub seed: Option<u64>,
    /// The token file's field delimiter as given (one ASCII character or `tab`);
    /// read only when the manifest records none.
    pub delimiter: String,
    /// The source's delimiter as given; `None`: as `delimiter`.
    pub source_delimiter: Option<String>,
    /// How the report is rendered.
    pub report: ReportOptions,
}

/// Audits a token file.
///
/// # Errors
/// Bad input for unreadable or malformed files and unusable options; findings are
/// not errors here (see [`AuditReport::verdict`]).
pub fn audit_tokens(args: &TokensAudit, observer: &dyn Observer) -> Result<AuditReport> {
    let source = InputSource::parse(&args.file);
    if args.source.is_some() && (args.key.is_none() || args.manifest.is_none()) {
        return Err(Error::bad_input("--source needs --key and --manifest")
            .hint("the manifest maps source columns to token columns, and the key re-makes the tokens"));
    }
    if args.source.as_deref().is_some_and(|s| s.as_os_str() == "-") && source == InputSource::Stdin
    {
        return Err(
            Error::bad_input("the token file and --source cannot both be standard input")
                .hint("give at least one of them as a file"),
        );
    }
    let manifest = match &args.manifest {
        Some(path) => Some(Manifest::load(path)?),
        None => None,
    };
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    if let Some(m) = &manifest {
        findings.extend(m.internal_findings());
    } else if let InputSource::File(path) = &source {
        let mut beside = path.as_os_str().to_owned();
        beside.push(".manifest.json");
        if PathBuf::from(&beside).is_file() {
            notes.push(format!(
                "a manifest exists beside the file ('{}'); pass --manifest to check the file against it",
                safe_name(&PathBuf::from(beside).display().to_string())
            ));
        }
    }
    let key_file = match &args.key {
        Some(path) => Some(check_key(path, manifest.as_ref(), &mut findings, observer)?),
        None => None,
    };
    let mut key_ids = args.key_ids.clone();
    if manifest.is_none()
        && let Some(k) = &key_file
    {
        key_ids.push(k.key_id());
    }
    let delimiter = match manifest.as_ref().and_then(|m| m.delimiter) {
        Some(d) => d,
        None => parse_delimiter(&args.delimiter)?,
    };

    // Which token columns the sample compares: those of the key given.
    let mut sample_plan: Vec<SamplePlanColumn> = Vec::new();
    if let (Some(m), Some(k), Some(_)) = (&manifest, &key_file, &args.source) {
        let id = k.key_id();
        for c in &m.columns {
            let output = if m.key_id() == Some(id) {
                c.output.clone()
            } else if m.previous_key_id() == Some(id) {
                c.previous_output.clone()
            } else {
                None
            };
            if let (Some(output), Some(input), Some(id_type)) = (output, c.input.clone(), c.id_type)
            {
                sample_plan.push(SamplePlanColumn {
                    output,
                    input,
                    id_type,
                });
            }
        }
        if sample_plan.is_empty() {
            notes.push("no token column of the manifest belongs to the key given; the sample was not compared".to_owned());
        }
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let sample_spec = (!sample_plan.is_empty() && args.sample > 0).then(|| SampleSpec {
        rows: args.sample,
        seed,
        columns: sample_plan.iter().map(|c| c.output.clone()).collect(),
    });

    let recorded = manifest.as_ref().and_then(|m| m.output.clone());
    let parsed = files::parse_or_finding(
        "token file",
        &args.file,
        recorded.as_ref(),
        &mut findings,
        || {
            let format = args
                .format
                .or_else(|| recorded.as_ref().and_then(|r| r.format))
                .unwrap_or_else(|| Format::of_input(&source, None));
            let reader = DatasetReader::open(&source, format, delimiter)?;
            inspect(
                reader,
                &Inspect {
                    manifest: manifest.as_ref(),
                    scan: true,
                    max_rows: args.report.max_rows,
                    sample: sample_spec.clone(),
                    observer,
                },
            )
        },
    )?;
    let stats = match parsed {
        Ok(stats) => stats,
        Err(check) => {
            // Changed and no longer CSV: the findings say so; nothing else to read.
            let details = Details {
                file: FileSummary {
                    path: safe_name(&source.name()),
                    sha256: check.sha256.clone().unwrap_or_default(),
                    bytes: check.bytes.unwrap_or_default(),
                    rows: 0,
                },
                manifest: manifest.as_ref().map(|m| manifest_summary(m, check)),
                key_given: key_file.as_ref().map(|k| k.key_id().to_string()),
                columns: Vec::new(),
                source: None,
                recount: None,
                sample: None,
                scanned_for: Vec::new(),
            };
            let subject = format!("'{}'", details.file.path);
            return report::finish(
                "tokens",
                &subject,
                details,
                findings,
                notes,
                args.report,
                human,
            );
        }
    };

    let manifest_summary = match &manifest {
        Some(m) => {
            let output = match &m.output {
                Some(rec) => files::compare(
                    "token file",
                    &args.file,
                    stats.sha256.clone(),
                    stats.bytes,
                    rec,
                    &mut findings,
                ),
                None => FileCheck {
                    what: "token file",
                    path: safe_name(&args.file.display().to_string()),
                    found: true,
                    sha256: Some(stats.sha256.clone()),
                    bytes: Some(stats.bytes),
                    sha256_matches: None,
                    size_matches: None,
                },
            };
            cross_check(m, &stats, &mut findings);
            Some(manifest_summary(m, output))
        }
        None => {
            if key_ids.is_empty() {
                notes.push(
                    "no manifest, --key or --key-id: the key IDs in the file were not compared with a declared key"
                        .to_owned(),
                );
            }
            None
        }
    };
    column_findings_with(&stats, manifest.as_ref(), &key_ids, &mut findings);
    delimiter_note(&stats, &mut notes);
    if !stats.columns.iter().any(|c| c.role.is_token()) {
        notes.push("no column of the file holds tokens".to_owned());
    }

    let (source_check, recount, sample) = match (&args.source, &manifest, &key_file) {
        (Some(path), Some(m), Some(k)) => {
            let (check, recount, sample) = check_source_and_sample(
                path,
                args.source_delimiter.as_deref().unwrap_or(&args.delimiter),
                m,
                k.key(),
                &sample_plan,
                sample_spec.as_ref(),
                &stats,
                args.report.max_rows,
                &mut findings,
                &mut notes,
            )?;
            (Some(check), recount, sample)
        }
        _ => (None, None, None),
    };
    if args.key.is_some() && args.source.is_none() {
        notes.push(
            "tokens are one-way: without --source only the key ID was checked, not that the key made these tokens"
                .to_owned(),
        );
    }

    let details = Details {
        file: FileSummary {
            path: safe_name(&source.name()),
            sha256: stats.sha256,
            bytes: stats.bytes,
            rows: stats.rows,
        },
        manifest: manifest_summary,
        key_given: key_file.as_ref().map(|k| k.key_id().to_string()),
        columns: stats.columns,
        source: source_check,
        recount,
        sample,
        scanned_for: Kind::ALL.iter().map(|k| k.code()).collect(),
    };
    let subject = format!("'{}'", details.file.path);
    report::finish(
        "tokens",
        &subject,
        details,
        findings,
        notes,
        args.report,
        human,
    )
}

/// The findings of `audit tokens` about a token file read from any stream rather
/// than a path (a file held in memory, a fuzz target): the same streaming pass as
/// [`audit_tokens`] over `input` (the file `name` in messages), checked, when a
/// manifest is given as the path and bytes of its file, against it as
/// `audit tokens --manifest` checks (the manifest's own findings, the token
/// file's recorded SHA-256 and size, its columns, rows and counts). Key IDs are
/// those the manifest declares; no key file or raw source is read.
///
/// `delimiter` is the token file's, used when the manifest records none;
/// `max_rows` caps the row numbers listed per finding.
///
/// # Errors
/// Bad input when the manifest cannot be read as one (as for `audit manifest`) or
/// the token file is not well-formed CSV.
pub fn token_file_findings(
    input: Box<dyn Read + Send>,
    name: &Path,
    manifest: Option<(&Path, &[u8])>,
    delimiter: u8,
    max_rows: usize,
) -> Result<Vec<Finding>> {
    let manifest = match manifest {
        Some((path, bytes)) => Some(Manifest::from_slice(path, bytes)?),
        None => None,
    };
    let mut findings = manifest
        .as_ref()
        .map(Manifest::internal_findings)
        .unwrap_or_default();
    let delimiter = manifest
        .as_ref()
        .and_then(|m| m.delimiter)
        .unwrap_or(delimiter);
    let reader = CsvReader::from_reader(input, name.display().to_string(), None, delimiter)?.into();
    let stats = inspect(
        reader,
        &Inspect {
            manifest: manifest.as_ref(),
            scan: true,
            max_rows,
            sample: None,
            observer: &Silent,
        },
    )?;
    if let Some(m) = &manifest {
        if let Some(recorded) = &m.output {
            files::compare(
                "token file",
                name,
                stats.sha256.clone(),
                stats.bytes,
                recorded,
                &mut findings,
            );
        }
        cross_check(m, &stats, &mut findings);
    }
    column_findings_with(&stats, manifest.as_ref(), &[], &mut findings);
    Ok(findings)
}

fn manifest_summary(m: &Manifest, output: FileCheck) -> ManifestSummary {
    ManifestSummary {
        path: safe_name(&m.path.display().to_string()),
        key_id: m.key_id().map(|k| k.to_string()),
        previous_key_id: m.previous_key_id().map(|k| k.to_string()),
        profile: m.profile_name.as_deref().map(safe_name),
        output,
    }
}

fn human(d: &Details) -> String {
    let mut s = format!("audit tokens: '{}'\n", d.file.path);
    s.push_str(&format!(
        "  sha256 {}, {} bytes, {} rows, {} columns\n",
        files::short(&d.file.sha256),
        group(d.file.bytes),
        group(d.file.rows),
        d.columns.len()
    ));
    if let Some(m) = &d.manifest {
        s.push_str(&format!(
            "  manifest '{}': key {}{}, profile {}\n  {}\n",
            m.path,
            m.key_id.as_deref().unwrap_or("(none)"),
            m.previous_key_id
                .as_deref()
                .map(|p| format!(" (previous key {p})"))
                .unwrap_or_default(),
            m.profile.as_deref().unwrap_or("(none)"),
            describe_check(&m.output)
        ));
    }
    if let Some(k) = &d.key_given {
        s.push_str(&format!("  key given: {k}\n"));
    }
    s.push_str("columns:\n");
    let width = d
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(32);
    for c in &d.columns {
        let mut line = format!("  {:<width$}  {:<12}  ", c.name, c.role.label());
        if c.role.is_token() {
            let kids: Vec<&str> = c.key_ids.keys().map(String::as_str).collect();
            line.push_str(&format!(
                "{} tokens, {} empty; key {}; {} duplicates, {} singletons",
                group(c.tokens),
                group(c.empty),
                if kids.is_empty() {
                    "-".to_owned()
                } else {
                    kids.join("+")
                },
                percent_f(c.duplicate_rate),
                percent_f(c.singleton_rate)
            ));
        } else {
            line.push_str(&format!(
                "{} cells, {} empty",
                group(c.cells),
                group(c.empty)
            ));
        }
        let raw: u64 = c.raw_identifiers.values().map(|r| r.count).sum();
        if raw > 0 {
            line.push_str(&format!("; {} RAW IDENTIFIER CELLS", group(raw)));
        }
        s.push_str(&line);
        s.push('\n');
    }
    if let Some(source) = &d.source {
        s.push_str(&format!("{}\n", describe_check(source)));
    }
    if let Some(recount) = &d.recount {
        s.push_str(&format!(
            "  counts recomputed from its {} rows for {}\n",
            group(recount.rows),
            counted(
                recount.columns.len() as u64,
                "identifier column",
                "identifier columns"
            )
        ));
    }
    if let Some(sample) = &d.sample {
        s.push_str(&format!(
            "sample: {} re-tokenised with key {} (seed {}), {} compared, {} mismatched\n",
            counted(sample.rows_checked, "row", "rows"),
            sample.key_id,
            sample.seed,
            counted(sample.cells_checked, "cell", "cells"),
            group(sample.cells_mismatched),
        ));
    }
    s.push_str(&format!(
        "scanned every cell for: {}\n",
        Kind::ALL
            .iter()
            .map(|k| k.code())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s
}

fn percent_f(rate: f64) -> String {
    percent((rate * 1_000_000.0).round() as u64, 1_000_000)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Cursor;

    use blindmatch_token::{IdType, Key, Tokenizer};

    use super::*;

    /// `token_file_findings` finds in a stream what `audit tokens` finds in the file.
    #[test]
    fn token_files_read_from_a_stream_as_from_a_path() {
        let token =
            Tokenizer::new(&Key::from_bytes([7; 32])).token(IdType::Phone, b"+8613800138000");
        let csv = format!("id,phone\n1,{token}\n2,13800138000\n3,bm1.not-a-token\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, &csv).unwrap();
        let args = TokensAudit {
            file: path.clone(),
            format: None,
            manifest: None,
            key: None,
            key_ids: Vec::new(),
            source: None,
            sample: 0,
            seed: Some(1),
            delimiter: ",".to_owned(),
            source_delimiter: None,
            report: ReportOptions::default(),
        };
        let shown = |f: &Finding| (f.check, f.column.clone(), f.rows.clone(), f.message.clone());
        let from_file: Vec<_> = audit_tokens(&args, &Silent)
            .unwrap()
            .findings()
            .iter()
            .map(shown)
            .collect();
        let input = Box::new(Cursor::new(csv.into_bytes()));
        let streamed = token_file_findings(input, &path, None, b',', 20).unwrap();
        let streamed: Vec<_> = streamed.iter().map(shown).collect();
        assert_eq!(from_file, streamed);
        assert!(
            streamed.iter().any(|f| f.0 == "raw_identifier"),
            "{streamed:?}"
        );
        assert!(!format!("{streamed:?}").contains("13800138000"));
    }
}
