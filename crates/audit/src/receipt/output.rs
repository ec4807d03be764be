//! The output-file check of `audit receipt`: the matched-rows file a full receipt
//! records still has its SHA-256, size and row count, and the layout `blindmatch
//! match` writes. With one rule that is `row,<keep…>,match_id`; with several (a
//! version 2 receipt) also `matched_rules` and one `match_id.<rule>` per rule, in
//! priority order: each rule's non-empty IDs are counted against the rule's
//! `matched_rows`, and each row's `matched_rules` and `match_id` must follow from
//! its per-rule IDs.
//!
//! Cells are read, never shown: findings give counts and row numbers.

use std::path::Path;

use blindmatch_data::dataset::{DatasetReader, InputSource, Record};
use blindmatch_data::{Error, Result};
use serde::Serialize;

use super::document::Receipt;
use crate::files::{self, FileCheck};
use crate::report::{Finding, RowList};

/// The column of the first matching rule's match ID.
const MATCH_ID: &str = "match_id";
/// The column of the matched rule names, joined by `;` (several rules only).
const MATCHED_RULES: &str = "matched_rules";
/// The prefix of a rule's own match ID column (several rules only).
const RULE_MATCH_ID_PREFIX: &str = "match_id.";
/// Row numbers listed in a layout finding.
const ROWS_LISTED: usize = 10;

/// What the output-file check found.
#[derive(Debug, Serialize)]
pub(super) struct OutputCheck {
    #[serde(flatten)]
    pub(super) file: FileCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) has_match_id: Option<bool>,
    /// With several rules: the rows with a match ID under each rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) rules: Option<Vec<RuleRows>>,
}

/// The rows of the output file with a match ID under one rule.
#[derive(Debug, Clone, Serialize)]
pub(super) struct RuleRows {
    /// The rule's canonical name.
    pub(super) rule: String,
    /// Rows with a non-empty `match_id.<rule>`.
    pub(super) rows: u64,
}

/// Each rule's name and the index of its `match_id.<rule>` column, if present.
type RuleColumns = Vec<(String, Option<usize>)>;

/// Where the columns of the layout are, as far as the header has them.
struct Layout {
    /// The `row` column: labelled mode repeats a row once per label set.
    row: Option<usize>,
    match_id: Option<usize>,
    /// With several rules: `matched_rules`, and each rule's column.
    several: Option<(Option<usize>, RuleColumns)>,
}

impl Layout {
    fn of(header: &[String], rules: Option<&[String]>) -> Layout {
        let at = |name: &str| header.iter().position(|h| h == name);
        Layout {
            row: at("row"),
            match_id: at(MATCH_ID),
            several: rules.filter(|r| r.len() > 1).map(|rules| {
                let per_rule = rules
                    .iter()
                    .map(|r| (r.clone(), at(&format!("{RULE_MATCH_ID_PREFIX}{r}"))))
                    .collect();
                (at(MATCHED_RULES), per_rule)
            }),
        }
    }

    /// The layout's columns the header lacks.
    fn missing(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.match_id.is_none() {
            out.push(MATCH_ID.to_owned());
        }
        if let Some((matched_rules, per_rule)) = &self.several {
            if matched_rules.is_none() {
                out.push(MATCHED_RULES.to_owned());
            }
            for (rule, at) in per_rule {
                if at.is_none() {
                    out.push(format!("{RULE_MATCH_ID_PREFIX}{rule}"));
                }
            }
        }
        out
    }
}

/// Per-rule counts and rows whose `matched_rules` or `match_id` do not follow from
/// their per-rule IDs.
struct Tally {
    per_rule: Vec<u64>,
    inconsistent: RowList,
    /// The previous record's `row` value: a row repeated (one line per label set
    /// in labelled mode) is counted once per rule.
    last_row: Vec<u8>,
}

impl Tally {
    fn add(&mut self, layout: &Layout, record: &Record) {
        let (Some(match_id), Some((Some(matched_rules), per_rule))) =
            (layout.match_id, &layout.several)
        else {
            return;
        };
        let row = layout.row.and_then(|at| record.get(at)).unwrap_or_default();
        let repeated = layout.row.is_some() && row == self.last_row.as_slice();
        if !repeated {
            self.last_row.clear();
            self.last_row.extend_from_slice(row);
        }
        let mut names: Vec<&str> = Vec::new();
        let mut first: Option<&[u8]> = None;
        let mut complete = true;
        for ((rule, at), count) in per_rule.iter().zip(self.per_rule.iter_mut()) {
            let Some(at) = at else {
                complete = false;
                continue;
            };
            let id = record.get(*at).unwrap_or_default();
            if !id.is_empty() {
                if !repeated {
                    *count += 1;
                }
                names.push(rule);
                first.get_or_insert(id);
            }
        }
        let recorded = record.get(*matched_rules).unwrap_or_default();
        let id = record.get(match_id).unwrap_or_default();
        if complete && (recorded != names.join(";").as_bytes() || Some(id) != first) {
            self.inconsistent.add(record.row());
        }
    }
}

/// Checks one side's output file, if the receipt records one and it is at hand.
pub(super) fn check_output(
    r: &Receipt,
    receipt_path: &Path,
    given: Option<&Path>,
    delimiter: u8,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) -> Result<Option<OutputCheck>> {
    if r.shareable {
        if let Some(path) = given {
            return Err(Error::bad_input(format!(
                "receipt {} is a shareable receipt, which records no output, but --output-{} '{}' was given",
                r.label,
                r.label.to_lowercase(),
                path.display()
            ))
            .hint("an output file is checked against the full receipt of the side that wrote it; leave the option out"));
        }
        return Ok(None);
    }
    let recorded = match (&r.output, given) {
        (Some(Some(rec)), _) => rec,
        (Some(None), Some(path)) => {
            return Err(Error::bad_input(format!(
                "receipt {} records no output, but --output-{} '{}' was given",
                r.label,
                r.label.to_lowercase(),
                path.display()
            ))
            .hint("a side that learned no rows writes no output file; leave the option out"));
        }
        _ => return Ok(None),
    };
    let path = match given {
        Some(p) => Some(p.to_path_buf()),
        None => files::locate(&recorded.path, receipt_path),
    };
    let Some(path) = path else {
        notes.push(format!(
            "receipt {}: the output file is not at hand; its SHA-256 was not checked (--output-{} FILE)",
            r.label,
            r.label.to_lowercase()
        ));
        return Ok(Some(OutputCheck {
            file: files::check("output file", None, recorded, findings)?,
            rows: None,
            has_match_id: None,
            rules: None,
        }));
    };
    // The rule names, when the receipt has rules (version 2) and all are readable.
    let rules: Option<Vec<String>> = r
        .parsed_rules()
        .map(|rules| rules.iter().map(|r| r.name()).collect());
    let counted = files::parse_or_finding("output file", &path, Some(recorded), findings, || {
        let format = recorded.table_format(&path);
        let mut reader = DatasetReader::open(&InputSource::File(path.clone()), format, delimiter)?;
        let layout = Layout::of(reader.header(), rules.as_deref());
        let mut tally = Tally {
            per_rule: vec![0; layout.several.as_ref().map_or(0, |(_, p)| p.len())],
            inconsistent: RowList::new(ROWS_LISTED),
            last_row: Vec::new(),
        };
        let mut record = Record::default();
        while reader.read(&mut record)? {
            tally.add(&layout, &record);
        }
        Ok((reader.finish()?, layout, tally))
    })?;
    let (summary, layout, tally) = match counted {
        Ok(parsed) => parsed,
        Err(file) => {
            return Ok(Some(OutputCheck {
                file,
                rows: None,
                has_match_id: None,
                rules: None,
            }));
        }
    };
    let rows = summary.rows;
    let file = files::compare(
        "output file",
        &path,
        summary.sha256,
        summary.bytes,
        recorded,
        findings,
    );
    // Labelled mode writes one row per matched row and label set.
    let expected_rows = match (r.mode.as_deref(), r.label_output_rows) {
        (Some("labelled"), Some(n)) => Some(Some(n)),
        _ => r.matched_rows,
    };
    if let Some(Some(expected)) = expected_rows
        && rows != expected
    {
        findings.push(
            Finding::new(
                "count_mismatch",
                format!("receipt {}: the output file has {rows} rows, the receipt records {expected} matched rows", r.label),
            )
            .field("result.matched_rows"),
        );
    }
    let missing = layout.missing();
    match (&rules, missing.is_empty()) {
        (_, true) => {}
        // Before rules (version 1) a missing `match_id` was a note only.
        (None, false) => notes.push(format!(
            "receipt {}: the output file has no `match_id` column",
            r.label
        )),
        (Some(_), false) => findings.push(
            Finding::new(
                "output_layout_mismatch",
                format!(
                    "receipt {}: the output file lacks the column(s) `{}` of the layout `blindmatch match` writes for these rules",
                    r.label,
                    missing.join("`, `")
                ),
            )
            .field("output"),
        ),
    }
    if tally.inconsistent.count > 0 {
        findings.push(
            Finding::new(
                "output_layout_mismatch",
                format!(
                    "receipt {}: in the output file, {} of {} show `matched_rules` or `match_id` that do not follow from the per-rule match IDs",
                    r.label,
                    tally.inconsistent.count,
                    tally.inconsistent.describe()
                ),
            )
            .field("output")
            .rows(&tally.inconsistent),
        );
    }
    let rule_rows = layout.several.as_ref().map(|(_, per_rule)| {
        per_rule
            .iter()
            .zip(&tally.per_rule)
            .map(|((rule, _), rows)| RuleRows {
                rule: rule.clone(),
                rows: *rows,
            })
            .collect::<Vec<_>>()
    });
    if let (Some(counted), Some(recorded), true) = (&rule_rows, &r.rules, missing.is_empty()) {
        for (c, rec) in counted.iter().zip(recorded) {
            if let Some(Some(expected)) = rec.matched_rows
                && c.rows != expected
            {
                findings.push(
                    Finding::new(
                        "count_mismatch",
                        format!(
                            "receipt {}: the output file has {} rows with a match ID under rule `{}`, the receipt records {expected}",
                            r.label, c.rows, c.rule
                        ),
                    )
                    .field(format!("{}.matched_rows", rec.path)),
                );
            }
        }
    }
    Ok(Some(OutputCheck {
        file,
        rows: Some(rows),
        has_match_id: Some(layout.match_id.is_some()),
        rules: rule_rows,
    }))
}

#[cfg(test)]
mod tests;
