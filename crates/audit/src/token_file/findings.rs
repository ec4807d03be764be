//! Findings about a token file's columns (raw identifiers anywhere, malformed
//! tokens or short codes, undeclared key IDs, MAC lengths and columns), and about
//! its agreement with its manifest (columns, rows, token and empty counts).

use std::collections::BTreeSet;

use blindmatch_data::scan::Kind;
use blindmatch_token::KeyId;

use super::FileStats;
use crate::plan::Role;
use crate::report::{Finding, counted, safe_name};
use crate::tokenize_manifest::Manifest;

/// Findings about the columns themselves: raw identifiers anywhere, malformed
/// tokens or short codes, undeclared key IDs and MAC lengths, undeclared columns.
pub(crate) fn column_findings(
    stats: &FileStats,
    manifest: Option<&Manifest>,
    findings: &mut Vec<Finding>,
) {
    column_findings_with(stats, manifest, &[], findings);
}

pub(crate) fn column_findings_with(
    stats: &FileStats,
    manifest: Option<&Manifest>,
    key_ids: &[KeyId],
    findings: &mut Vec<Finding>,
) {
    for (position, kinds) in &stats.header_identifiers {
        for kind in kinds {
            findings.push(
                Finding::new(
                    "raw_identifier_in_header",
                    format!(
                        "the header of column {position} looks like {}",
                        kind.describe()
                    ),
                )
                .kind(kind.code()),
            );
        }
    }
    let mac_len = manifest.and_then(Manifest::mac_len);
    for col in &stats.columns {
        let name = &col.name;
        for kind in Kind::ALL {
            if let Some(rows) = col.raw_identifiers.get(kind.code()) {
                findings.push(
                    Finding::new(
                        "raw_identifier",
                        format!(
                            "column '{name}': {} like {} ({})",
                            counted(rows.count, "cell looks", "cells look"),
                            kind.describe(),
                            rows.describe()
                        ),
                    )
                    .column(name)
                    .kind(kind.code())
                    .rows(rows),
                );
            }
        }
        if col.role == Role::Undeclared {
            findings.push(
                Finding::new(
                    "undeclared_column",
                    format!("column '{name}' is not declared in the manifest (neither a token nor a kept column)"),
                )
                .column(name),
            );
        }
        if col.role == Role::ShortCode && col.other_cells.count > 0 {
            findings.push(
                Finding::new(
                    "malformed_short_code",
                    format!(
                        "column '{name}': {} ({})",
                        counted(
                            col.other_cells.count,
                            "cell is not a valid short code",
                            "cells are not valid short codes"
                        ),
                        col.other_cells.describe()
                    ),
                )
                .column(name)
                .rows(&col.other_cells),
            );
        }
        if !col.role.is_token() {
            continue;
        }
        if col.other_cells.count > 0 {
            findings.push(
                Finding::new(
                    "malformed_token",
                    format!(
                        "column '{name}': {} `bm1.<kid>.<base64url>` ({})",
                        counted(
                            col.other_cells.count,
                            "non-empty cell is not a well-formed token",
                            "non-empty cells are not well-formed tokens"
                        ),
                        col.other_cells.describe()
                    ),
                )
                .column(name)
                .rows(&col.other_cells),
            );
        }
        let expected: Vec<KeyId> = match col.plan.and_then(|p| p.key_id) {
            Some(k) => vec![k],
            None => key_ids.to_vec(),
        };
        let declared_missing = col
            .plan
            .is_some_and(|p| p.role.is_token() && p.key_id.is_none());
        if !expected.is_empty() {
            for (kid, rows) in &col.key_ids {
                if !expected.iter().any(|e| e.to_string() == *kid) {
                    findings.push(
                        Finding::new(
                            "undeclared_key_id",
                            format!(
                                "column '{name}': {} key ID {kid}, not the declared {} ({})",
                                counted(rows.count, "token carries", "tokens carry"),
                                expected
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect::<Vec<_>>()
                                    .join(" or "),
                                rows.describe()
                            ),
                        )
                        .column(name)
                        .rows(rows),
                    );
                }
            }
        } else if col.key_ids.len() > 1 && !declared_missing {
            findings.push(
                Finding::new(
                    "mixed_key_ids",
                    format!(
                        "column '{name}': tokens carry {} different key IDs ({}); one column is made with one key",
                        col.key_ids.len(),
                        col.key_ids.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
                .column(name),
            );
        }
        match mac_len {
            Some(len) => {
                for (n, rows) in &col.mac_bytes {
                    if *n != len {
                        findings.push(
                            Finding::new(
                                "token_length",
                                format!(
                                    "column '{name}': {} {n}-byte MACs, the manifest declares {len} ({})",
                                    counted(rows.count, "token has", "tokens have"),
                                    rows.describe()
                                ),
                            )
                            .column(name)
                            .rows(rows),
                        );
                    }
                }
            }
            None if col.mac_bytes.len() > 1 => findings.push(
                Finding::new(
                    "token_length",
                    format!(
                        "column '{name}': tokens of {} different MAC lengths",
                        col.mac_bytes.len()
                    ),
                )
                .column(name),
            ),
            None => {}
        }
    }
}

/// Checks of the manifest against what is actually in the token file.
pub(crate) fn cross_check(manifest: &Manifest, stats: &FileStats, findings: &mut Vec<Finding>) {
    let declared: BTreeSet<&str> = manifest.declared_columns().into_iter().collect();
    let present: BTreeSet<&str> = stats.header.iter().map(String::as_str).collect();
    for missing in declared.difference(&present) {
        findings.push(
            Finding::new(
                "missing_column",
                format!(
                    "column '{}' is declared in the manifest but not in the token file",
                    safe_name(missing)
                ),
            )
            .column(&safe_name(missing)),
        );
    }
    if let Some(written) = manifest.rows.written
        && written != stats.rows
    {
        findings.push(
            Finding::new(
                "count_mismatch",
                format!(
                    "the token file has {} rows, the manifest records {written}",
                    stats.rows
                ),
            )
            .field("rows.written"),
        );
    }
    for (i, c) in manifest.columns.iter().enumerate() {
        let base = format!("columns[{i}]");
        let find =
            |name: Option<&str>| name.and_then(|n| stats.columns.iter().find(|s| s.header == n));
        let empty_expected = c.empty.zip(c.rejected).and_then(|(e, r)| e.checked_add(r));
        for (col, what) in [
            (find(c.output.as_deref()), "tokens"),
            (find(c.previous_output.as_deref()), "previous-key tokens"),
        ] {
            let Some(col) = col else { continue };
            if let Some(t) = c.tokens
                && col.tokens != t
            {
                findings.push(
                    Finding::new(
                        "count_mismatch",
                        format!(
                            "column '{}': {} {what} in the file, {t} recorded",
                            col.name, col.tokens
                        ),
                    )
                    .column(&col.name)
                    .field(format!("{base}.tokens")),
                );
            }
            if let Some(e) = empty_expected
                && col.empty != e
            {
                findings.push(
                    Finding::new(
                        "count_mismatch",
                        format!(
                            "column '{}': {} empty cells in the file, {e} recorded (empty + rejected)",
                            col.name, col.empty
                        ),
                    )
                    .column(&col.name)
                    .field(format!("{base}.empty")),
                );
            }
        }
        if let (Some(col), Some(t)) = (find(c.short_code_output.as_deref()), c.tokens) {
            let codes = col.cells - col.empty;
            if codes != t {
                findings.push(
                    Finding::new(
                        "count_mismatch",
                        format!(
                            "column '{}': {codes} short codes in the file, {t} recorded",
                            col.name
                        ),
                    )
                    .column(&col.name)
                    .field(format!("{base}.tokens")),
                );
            }
        }
    }
}
