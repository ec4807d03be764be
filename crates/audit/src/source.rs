//! The raw source of a token file read once: its hash against the manifest, and
//! every count tokenize recorded computed again (normalising needs no key); other
//! checks (the re-tokenised sample) see the same records as they pass.

use std::collections::BTreeMap;
use std::path::Path;

use blindmatch_data::Result;
use blindmatch_data::dataset::{Cell, DatasetReader, Format, InputSource, Record, normalize_cell};
use blindmatch_token::{IdType, Profile};
use serde::Serialize;

use crate::files::{self, FileCheck};
use crate::report::{Finding, safe_name};
use crate::tokenize_manifest::Manifest;

/// What tokenize must have recorded, counted again from the raw source: per
/// identifier column, tokens, empty and rejected cells by reason, and rows with a
/// rejected cell. Normalising needs no key, so this check needs only the source.
#[derive(Debug)]
pub(crate) struct Recount {
    profile: Option<Profile>,
    /// (manifest column index, source column index, type).
    columns: Vec<(usize, usize, IdType)>,
    counts: Vec<RecountColumn>,
    rows: u64,
    rows_with_rejects: u64,
    buf: String,
}

/// One identifier column as recounted.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RecountColumn {
    /// The input column.
    pub(crate) column: String,
    /// Cells that normalise (and so were tokenised).
    pub(crate) tokens: u64,
    /// Empty cells.
    pub(crate) empty: u64,
    /// Rejected cells.
    pub(crate) rejected: u64,
    /// Rejected cells by reason.
    pub(crate) rejects: BTreeMap<&'static str, u64>,
}

/// The recount as reported.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RecountReport {
    /// Data rows of the source.
    pub(crate) rows: u64,
    /// Rows with at least one rejected cell.
    pub(crate) rows_with_rejects: u64,
    /// Per identifier column.
    pub(crate) columns: Vec<RecountColumn>,
}

impl Recount {
    /// Plans the recount for a source with this header; columns the source lacks
    /// are findings.
    pub(crate) fn new(
        manifest: &Manifest,
        header: &[String],
        findings: &mut Vec<Finding>,
    ) -> Recount {
        let profile = manifest
            .profile_name
            .as_deref()
            .and_then(|n| n.parse::<Profile>().ok());
        let mut columns = Vec::new();
        let mut counts = Vec::new();
        for (i, c) in manifest.columns.iter().enumerate() {
            let (Some(input), Some(id_type)) = (c.input.as_deref(), c.id_type) else {
                continue;
            };
            match header.iter().position(|h| h == input) {
                Some(index) => {
                    columns.push((i, index, id_type));
                    counts.push(RecountColumn {
                        column: safe_name(input),
                        tokens: 0,
                        empty: 0,
                        rejected: 0,
                        rejects: BTreeMap::new(),
                    });
                }
                None => findings.push(
                    Finding::new(
                        "source_column_missing",
                        format!(
                            "the source has no column '{}', which the manifest names as an identifier column",
                            safe_name(input)
                        ),
                    )
                    .column(&safe_name(input)),
                ),
            }
        }
        Recount {
            profile,
            columns,
            counts,
            rows: 0,
            rows_with_rejects: 0,
            buf: String::new(),
        }
    }

    /// Source columns whose cells are normalised (and so must be UTF-8).
    pub(crate) fn text_columns(&self) -> Vec<usize> {
        self.columns.iter().map(|(_, index, _)| *index).collect()
    }

    /// Counts one source record.
    pub(crate) fn add(&mut self, record: &Record) {
        self.rows += 1;
        let Some(profile) = &self.profile else {
            return;
        };
        let mut rejected_here = false;
        for ((_, index, id_type), count) in self.columns.iter().zip(self.counts.iter_mut()) {
            match normalize_cell(profile, *id_type, record.text(*index), &mut self.buf) {
                Cell::Value => count.tokens += 1,
                Cell::Empty => count.empty += 1,
                Cell::Rejected(reason) => {
                    count.rejected += 1;
                    *count.rejects.entry(reason.code()).or_default() += 1;
                    rejected_here = true;
                }
            }
        }
        self.buf.clear();
        self.rows_with_rejects += u64::from(rejected_here);
    }

    /// Compares the counts with the manifest; `None` when the profile is unknown
    /// (nothing could be recounted).
    pub(crate) fn finish(
        self,
        manifest: &Manifest,
        findings: &mut Vec<Finding>,
        notes: &mut Vec<String>,
    ) -> Option<RecountReport> {
        if self.profile.is_none() {
            notes.push(
                "the manifest's profile is unknown to this build: counts were not recomputed from the source"
                    .to_owned(),
            );
            return None;
        }
        let mismatch =
            |field: String, message: String| Finding::new("recount_mismatch", message).field(field);
        for ((i, _, _), count) in self.columns.iter().zip(&self.counts) {
            let Some(c) = manifest.columns.get(*i) else {
                continue;
            };
            let recorded = (c.tokens, c.empty, c.rejected);
            let recounted = (Some(count.tokens), Some(count.empty), Some(count.rejected));
            if recorded != recounted {
                findings.push(
                    mismatch(
                        format!("columns[{i}]"),
                        format!(
                            "column '{}': the source gives {} tokens, {} empty and {} rejected cells; the manifest records {}, {} and {}",
                            count.column,
                            count.tokens,
                            count.empty,
                            count.rejected,
                            show(c.tokens),
                            show(c.empty),
                            show(c.rejected)
                        ),
                    )
                    .column(&count.column),
                );
            }
            let recorded: Option<BTreeMap<&str, u64>> = c
                .rejects
                .as_ref()
                .map(|r| r.iter().map(|(k, n)| (k.as_str(), *n)).collect());
            let recounted: BTreeMap<&str, u64> =
                count.rejects.iter().map(|(k, n)| (*k, *n)).collect();
            if recorded.is_some_and(|r| r != recounted) {
                findings.push(
                    mismatch(
                        format!("columns[{i}].rejects"),
                        format!(
                            "column '{}': the rejection reasons differ from the source's",
                            count.column
                        ),
                    )
                    .column(&count.column),
                );
            }
        }
        if let Some(read) = manifest.rows.read
            && read != self.rows
        {
            findings.push(mismatch(
                "rows.read".to_owned(),
                format!(
                    "the source has {} rows, the manifest records {read} read",
                    self.rows
                ),
            ));
        }
        if let Some(w) = manifest.rows.with_rejects
            && w != self.rows_with_rejects
        {
            findings.push(mismatch(
                "rows.with_rejects".to_owned(),
                format!(
                    "the source has {} rows with a rejected cell, the manifest records {w}",
                    self.rows_with_rejects
                ),
            ));
        }
        Some(RecountReport {
            rows: self.rows,
            rows_with_rejects: self.rows_with_rejects,
            columns: self.counts,
        })
    }
}

fn show(n: Option<u64>) -> String {
    n.map_or_else(|| "nothing".to_owned(), |n| n.to_string())
}

/// Something else to do with every record of the raw source while it is read.
pub(crate) trait SourceRows {
    /// Sees the header; returns further columns that must be UTF-8.
    fn header(&mut self, header: &[String]) -> Vec<usize>;
    /// Sees one record.
    fn row(&mut self, record: &Record);
}

/// Nothing else to do.
impl SourceRows for () {
    fn header(&mut self, _: &[String]) -> Vec<usize> {
        Vec::new()
    }

    fn row(&mut self, _: &Record) {}
}

/// Reads the raw source once: checks its hash against the manifest and recounts;
/// `also` sees every record too (for the re-tokenised sample).
///
/// # Errors
/// The source cannot be read or is malformed (bad input).
pub(crate) fn check_source(
    path: &Path,
    delimiter: u8,
    manifest: &Manifest,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
    also: &mut dyn SourceRows,
) -> Result<(FileCheck, Option<RecountReport>, u64)> {
    // The format tokenize recorded for its input, else by the file's extension.
    let format = manifest
        .input
        .as_ref()
        .and_then(|r| r.format)
        .unwrap_or_else(|| Format::of_path(path));
    let mut reader =
        DatasetReader::open(&InputSource::File(path.to_path_buf()), format, delimiter)?;
    let mut recount = Recount::new(manifest, reader.header(), findings);
    let mut text = recount.text_columns();
    text.extend(also.header(reader.header()));
    text.sort_unstable();
    text.dedup();
    reader.check_text_columns(text);
    let mut record = Record::default();
    while reader.read(&mut record)? {
        recount.add(&record);
        also.row(&record);
    }
    let summary = reader.finish()?;
    let check = match &manifest.input {
        Some(rec) => files::compare(
            "source file",
            path,
            summary.sha256,
            summary.bytes,
            rec,
            findings,
        ),
        None => FileCheck {
            what: "source file",
            path: safe_name(&path.display().to_string()),
            found: true,
            sha256: Some(summary.sha256),
            bytes: Some(summary.bytes),
            sha256_matches: None,
            size_matches: None,
        },
    };
    let report = recount.finish(manifest, findings, notes);
    Ok((check, report, summary.rows))
}
