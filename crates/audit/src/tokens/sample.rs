//! The re-tokenised sample of `audit tokens`: the sampled rows' source cells are
//! normalised and tokenised again with the key given, and compared with the stored
//! tokens, while the source is read once for its hash and the manifest's counts.

use std::collections::HashMap;
use std::path::Path;

use blindmatch_data::dataset::{Cell, Record, normalize_cell, parse_delimiter};
use blindmatch_data::{Error, Result};
use blindmatch_token::{IdType, Key, Profile, Tokenizer};
use serde::Serialize;

use crate::files::FileCheck;
use crate::report::{Finding, RowList, counted, group, safe_name};
use crate::source::{RecountReport, SourceRows, check_source};
use crate::token_file::{FileStats, SampleSpec};
use crate::tokenize_manifest::Manifest;

/// The sample re-tokenised from the source.
#[derive(Debug, Serialize)]
pub(super) struct SampleReport {
    pub(super) key_id: String,
    pub(super) profile: String,
    pub(super) requested: u64,
    pub(super) seed: u64,
    pub(super) rows_checked: u64,
    pub(super) cells_checked: u64,
    pub(super) cells_mismatched: u64,
    pub(super) mismatched_rows: RowList,
    pub(super) columns: Vec<SampleColumn>,
}

#[derive(Debug, Serialize)]
pub(super) struct SampleColumn {
    column: String,
    source_column: String,
    id_type: IdType,
    checked: u64,
    mismatched: u64,
}

#[derive(Debug, Clone)]
pub(super) struct SamplePlanColumn {
    pub(super) output: String,
    pub(super) input: String,
    pub(super) id_type: IdType,
}

/// Re-tokenises the sampled rows while the source is read, and compares.
struct SampleChecker<'a> {
    plan: &'a [SamplePlanColumn],
    tokenizer: Tokenizer,
    profile: Profile,
    wanted: HashMap<u64, &'a Vec<String>>,
    indices: Vec<Option<usize>>,
    columns: Vec<SampleColumn>,
    mismatched_rows: RowList,
    rows_checked: u64,
    cells_checked: u64,
    cells_mismatched: u64,
    normalised: String,
    expected: String,
}

impl SourceRows for SampleChecker<'_> {
    fn header(&mut self, header: &[String]) -> Vec<usize> {
        self.indices = self
            .plan
            .iter()
            .map(|c| header.iter().position(|h| *h == c.input))
            .collect();
        self.indices.iter().flatten().copied().collect()
    }

    fn row(&mut self, record: &Record) {
        let Some(stored) = self.wanted.get(&record.row()) else {
            return;
        };
        self.rows_checked += 1;
        let mut row_bad = false;
        for ((c, index), (col, stored)) in self
            .plan
            .iter()
            .zip(&self.indices)
            .zip(self.columns.iter_mut().zip(stored.iter()))
        {
            let Some(index) = index else { continue };
            self.expected.clear();
            let outcome = normalize_cell(
                &self.profile,
                c.id_type,
                record.text(*index),
                &mut self.normalised,
            );
            if outcome == Cell::Value {
                self.tokenizer.write_token(
                    c.id_type,
                    self.normalised.as_bytes(),
                    &mut self.expected,
                );
            }
            col.checked += 1;
            self.cells_checked += 1;
            // Tokens are pseudonyms, not secrets: a plain comparison is fine.
            if self.expected != *stored {
                col.mismatched += 1;
                self.cells_mismatched += 1;
                row_bad = true;
            }
        }
        self.normalised.clear();
        if row_bad {
            self.mismatched_rows.add(record.row());
        }
    }
}

/// Reads the raw source once: its hash and the manifest's counts are checked, and
/// the sampled rows (if any) re-tokenised and compared.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_source_and_sample(
    path: &Path,
    delimiter: &str,
    manifest: &Manifest,
    key: &Key,
    plan: &[SamplePlanColumn],
    spec: Option<&SampleSpec>,
    stats: &FileStats,
    max_rows: usize,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) -> Result<(FileCheck, Option<RecountReport>, Option<SampleReport>)> {
    let delimiter = parse_delimiter(delimiter)?;
    // An unknown profile is a manifest finding already; the standard one is the
    // best guess for the sample.
    let profile: Profile = manifest
        .profile_name
        .as_deref()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    let mac_len = manifest
        .mac_len()
        .unwrap_or(blindmatch_token::token::FULL_LEN);
    let tokenizer = Tokenizer::with_len(key, mac_len)
        .map_err(|e| Error::bad_input(format!("token length: {e}")))?;
    let key_id = tokenizer.key_id().to_string();
    let profile_name = safe_name(&profile.name());
    let mut checker = SampleChecker {
        plan,
        tokenizer,
        profile,
        wanted: stats.sample.iter().map(|(r, cells)| (*r, cells)).collect(),
        indices: Vec::new(),
        columns: plan
            .iter()
            .map(|c| SampleColumn {
                column: safe_name(&c.output),
                source_column: safe_name(&c.input),
                id_type: c.id_type,
                checked: 0,
                mismatched: 0,
            })
            .collect(),
        mismatched_rows: RowList::new(max_rows),
        rows_checked: 0,
        cells_checked: 0,
        cells_mismatched: 0,
        normalised: String::new(),
        expected: String::new(),
    };
    let (source, recount, source_rows) =
        check_source(path, delimiter, manifest, findings, notes, &mut checker)?;
    if source_rows != stats.rows {
        findings.push(Finding::new(
            "row_count_mismatch",
            format!(
                "the source has {} rows, the token file {}; tokenize keeps every row, so rows do not line up",
                source_rows, stats.rows
            ),
        ));
    }
    let Some(spec) = spec else {
        return Ok((source, recount, None));
    };
    let missing = stats.sample.len() as u64 - checker.rows_checked;
    if missing > 0 {
        findings.push(Finding::new(
            "row_count_mismatch",
            format!(
                "{} of the token file no row in the source",
                counted(missing, "sampled row has", "sampled rows have")
            ),
        ));
    }
    if checker.cells_mismatched > 0 {
        findings.push(
            Finding::new(
                "sample_mismatch",
                format!(
                    "{} of {} sampled cells do not re-tokenise to the stored token ({})",
                    group(checker.cells_mismatched),
                    group(checker.cells_checked),
                    checker.mismatched_rows.describe()
                ),
            )
            .rows(&checker.mismatched_rows),
        );
    }
    let sample = SampleReport {
        key_id,
        profile: profile_name,
        requested: spec.rows,
        seed: spec.seed,
        rows_checked: checker.rows_checked,
        cells_checked: checker.cells_checked,
        cells_mismatched: checker.cells_mismatched,
        mismatched_rows: checker.mismatched_rows,
        columns: checker.columns,
    };
    Ok((source, recount, Some(sample)))
}
