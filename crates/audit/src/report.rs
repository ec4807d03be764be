//! What an audit reports and how: findings with stable check codes, capped row
//! lists, the JSON envelope shared by every `audit` subcommand, and the short human
//! summary.
//!
//! A report names files, columns, key IDs, counts and row numbers. It never holds a
//! cell value: names taken from the audited files (column headers, paths in a
//! manifest) go through [`safe_name`] first, so even a header that is itself a
//! phone number is not echoed.

use std::fmt::Write as _;

use blindmatch_data::meta::{Precision, Tool, now_rfc3339};
use blindmatch_data::{Error, FailWith, Result};
use serde::Serialize;

// Shared with every audit module: names from files are shown only through the
// scanner, counts always grouped the same way.
pub(crate) use blindmatch_data::scan::safe_name;
pub(crate) use blindmatch_data::text::group;

/// The `format` field of a JSON audit report.
pub(crate) const FORMAT: &str = "blindmatch-audit-report";
/// The report layout version.
pub(crate) const VERSION: u32 = 1;

/// Row numbers of cells with some property: the total count and the first few.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RowList {
    /// How many rows.
    pub(crate) count: u64,
    /// The first rows (1-based data row numbers, the header excluded), at most the cap.
    pub(crate) rows: Vec<u64>,
    #[serde(skip)]
    cap: usize,
}

impl RowList {
    /// An empty list that keeps at most `cap` row numbers.
    pub(crate) fn new(cap: usize) -> Self {
        RowList {
            count: 0,
            rows: Vec::new(),
            cap,
        }
    }

    /// Counts one row (kept if the list is not full).
    pub(crate) fn add(&mut self, row: u64) {
        self.count += 1;
        if self.rows.len() < self.cap {
            self.rows.push(row);
        }
    }

    /// Whether rows were counted but not listed.
    pub(crate) fn truncated(&self) -> bool {
        self.count > self.rows.len() as u64
    }

    /// `rows 3, 17, 230 and 12 more` (or `row 3`).
    pub(crate) fn describe(&self) -> String {
        let mut s = String::from(if self.count == 1 { "row " } else { "rows " });
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{r}");
        }
        if self.truncated() {
            let _ = write!(s, " and {} more", self.count - self.rows.len() as u64);
        }
        s
    }
}

/// One problem an audit found. `check` is a stable code for automation.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable code, e.g. `raw_identifier`, `file_hash_mismatch`, `session_mismatch`.
    pub check: &'static str,
    /// The column concerned, if any (as [`safe_name`] shows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The identifier kind, for raw-identifier findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The field of a manifest or receipt concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// How many cells or rows are concerned, if counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The first rows concerned, if rows apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<u64>>,
    /// Whether more rows were concerned than listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rows_truncated: bool,
    /// One sentence for humans.
    pub message: String,
}

impl Finding {
    /// A finding with a check code and a message.
    pub(crate) fn new(check: &'static str, message: impl Into<String>) -> Self {
        Finding {
            check,
            column: None,
            kind: None,
            field: None,
            count: None,
            rows: None,
            rows_truncated: false,
            message: message.into(),
        }
    }

    /// Names the column.
    pub(crate) fn column(mut self, column: &str) -> Self {
        self.column = Some(column.to_owned());
        self
    }

    /// Names the identifier kind.
    pub(crate) fn kind(mut self, kind: &'static str) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Names the document field.
    pub(crate) fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds the count and row numbers.
    pub(crate) fn rows(mut self, rows: &RowList) -> Self {
        self.count = Some(rows.count);
        self.rows = Some(rows.rows.clone());
        self.rows_truncated = rows.truncated();
        self
    }
}

/// How a report is rendered and how much it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    /// The full report as JSON (`docs/compliance.md`) instead of the human summary.
    pub json: bool,
    /// Row numbers listed per finding (the count is always complete).
    pub max_rows: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            json: false,
            max_rows: 20,
        }
    }
}

/// The JSON report: an envelope shared by every audit, with the audit's own details.
#[derive(Debug, Serialize)]
struct Envelope<'a, T: Serialize> {
    format: &'static str,
    version: u32,
    /// Which audit: `tokens`, `manifest` or `receipt`.
    audit: &'static str,
    tool: Tool,
    /// When the audit ran (RFC 3339, UTC).
    audited_at: String,
    /// True when there are no findings.
    clean: bool,
    findings: &'a [Finding],
    /// Things an auditor should know that are not failures (checks skipped, ...).
    notes: &'a [String],
    #[serde(flatten)]
    details: T,
}

/// A finished audit: its findings and notes, and the report rendered as asked
/// (JSON or the human summary), ready to print.
#[derive(Debug, Clone)]
pub struct AuditReport {
    audit: &'static str,
    subject: String,
    findings: Vec<Finding>,
    notes: Vec<String>,
    json: bool,
    text: Vec<u8>,
}

impl AuditReport {
    /// The rendered report, for standard output.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Every finding, in the order the checks ran.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// What an auditor should know that is not a failure (checks skipped, ...).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Whether there are no findings.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The audit's verdict.
    ///
    /// # Errors
    /// A check-failed error counting the findings, when there are any.
    pub fn verdict(&self) -> Result<()> {
        let n = self.findings.len();
        if n == 0 {
            return Ok(());
        }
        Err(Error::check_failed(format!(
            "audit {} of {}: {n} finding{}",
            self.audit,
            self.subject,
            plural(n)
        ))
        .hint(if self.json {
            "the findings are listed in the JSON report"
        } else {
            "the findings are listed above; --json gives the full report"
        }))
    }
}

/// Renders an audit's outcome as JSON or, through `human`, as the short summary.
///
/// # Errors
/// The JSON could not be encoded (not expected for these types).
pub(crate) fn finish<T: Serialize>(
    audit: &'static str,
    subject: &str,
    details: T,
    findings: Vec<Finding>,
    notes: Vec<String>,
    options: ReportOptions,
    human: impl FnOnce(&T) -> String,
) -> Result<AuditReport> {
    let n = findings.len();
    let mut out = Vec::new();
    if options.json {
        let report = Envelope {
            format: FORMAT,
            version: VERSION,
            audit,
            tool: Tool::current(),
            audited_at: now_rfc3339(Precision::Full),
            clean: findings.is_empty(),
            findings: &findings,
            notes: &notes,
            details,
        };
        serde_json::to_writer_pretty(&mut out, &report)
            .fail_with(|| Error::failed("cannot encode the report as JSON"))?;
        out.push(b'\n');
    } else {
        let mut text = human(&details);
        for note in &notes {
            let _ = writeln!(text, "note: {note}");
        }
        if findings.is_empty() {
            let _ = writeln!(text, "result: clean, no findings");
        } else {
            let _ = writeln!(text, "findings ({n}):");
            for f in &findings {
                let _ = writeln!(text, "  - [{}] {}", f.check, f.message);
            }
            let _ = writeln!(text, "result: FAILED, {n} finding{}", plural(n));
        }
        out.extend_from_slice(text.as_bytes());
    }
    Ok(AuditReport {
        audit,
        subject: subject.to_owned(),
        findings,
        notes,
        json: options.json,
        text: out,
    })
}

/// `"s"` unless `n == 1`.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `1 cell` or `1,234 cells`: a grouped count with the right noun.
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group(n), if n == 1 { one } else { many })
}

/// A share as a percentage with one decimal, e.g. `12.5%`.
pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.0%".to_owned()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_lists_cap_and_describe() {
        let mut rows = RowList::new(3);
        assert_eq!(rows.describe(), "rows ");
        rows.add(4);
        assert_eq!(rows.describe(), "row 4");
        for r in [9, 12, 40, 41] {
            rows.add(r);
        }
        assert_eq!(rows.count, 5);
        assert_eq!(rows.rows, vec![4, 9, 12]);
        assert!(rows.truncated());
        assert_eq!(rows.describe(), "rows 4, 9, 12 and 2 more");
    }

    #[test]
    fn names_that_hold_identifiers_are_redacted() {
        assert_eq!(safe_name("phone"), "phone");
        assert_eq!(safe_name("customer_id"), "customer_id");
        assert!(!safe_name("13800138000").contains("138"));
        assert!(!safe_name("a@b.cn").contains('@'));
    }

    #[test]
    fn numbers_and_shares_read_well() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(12), "12");
        assert_eq!(percent(1, 8), "12.5%");
        assert_eq!(percent(0, 0), "0.0%");
        assert_eq!(plural(1), "");
        assert_eq!(plural(2), "s");
        assert_eq!(counted(1, "cell", "cells"), "1 cell");
        assert_eq!(counted(1200, "cell", "cells"), "1,200 cells");
    }
}
