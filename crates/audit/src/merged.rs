//! `audit receipt` over two merged receipts (`blindmatch merge`): each merged
//! receipt against its own shard receipts and output, then every shard's two
//! receipts against each other with the ordinary receipt audit.

use std::path::{Path, PathBuf};

use blindmatch_data::Result;
use blindmatch_pipeline::merge::{MERGED_FORMAT, MERGED_VERSION, receipts_digest};
use serde::Serialize;
use serde_json::Value;

use crate::files::hash_file;
use crate::receipt::{ReceiptAudit, audit_receipts};
use crate::report::{self, AuditReport, Finding, safe_name};

/// Whether `bytes` are a merged receipt (by its `format`).
pub(crate) fn is_merged(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|v| v["format"] == MERGED_FORMAT)
}

#[derive(Debug, Serialize)]
struct MergedSide {
    receipt: String,
    shards: Option<u64>,
    matched_rows: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Details {
    a: MergedSide,
    b: MergedSide,
    /// Per shard index: findings of its pair of receipts.
    shard_findings: Vec<usize>,
}

/// A path a merged receipt records: beside it, else as recorded.
fn resolve(merged: &Path, recorded: &str) -> PathBuf {
    let beside = merged.parent().map(|d| d.join(recorded));
    match beside {
        Some(p) if p.exists() => p,
        _ => PathBuf::from(recorded),
    }
}

/// One merged receipt's own checks; returns its shard receipt paths by index.
fn check_one(label: &str, path: &Path, doc: &Value, findings: &mut Vec<Finding>) -> Vec<PathBuf> {
    let mut f = |check: &'static str, message: String| {
        findings.push(Finding::new(check, format!("{label}: {message}")));
    };
    if doc["version"].as_u64() != Some(u64::from(MERGED_VERSION)) {
        f(
            "merged_version",
            format!("version {} is not {MERGED_VERSION}", doc["version"]),
        );
    }
    let k = doc["shards"].as_u64().unwrap_or(0);
    let list = doc["receipts"].as_array().cloned().unwrap_or_default();
    if list.len() as u64 != k || k == 0 {
        f(
            "shard_count_mismatch",
            format!("{} receipts listed for {k} shards", list.len()),
        );
    }
    let mut paths = Vec::new();
    let mut digests = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let expected = format!("{i}/{k}");
        if entry["shard"].as_str() != Some(expected.as_str()) {
            f("shard_order", format!("entry {i} is not shard {expected}"));
        }
        let recorded = entry["receipt"].as_str().unwrap_or_default();
        let shard_path = resolve(path, recorded);
        let sha = entry["sha256"].as_str().unwrap_or_default().to_owned();
        match hash_file(&shard_path) {
            Ok((actual, _)) if actual == sha => {}
            Ok(_) => f(
                "shard_receipt_changed",
                format!(
                    "shard receipt '{}' is not the one merged (its SHA-256 differs)",
                    safe_name(recorded)
                ),
            ),
            Err(_) => f(
                "shard_receipt_missing",
                format!("shard receipt '{}' is missing", safe_name(recorded)),
            ),
        }
        digests.push(sha);
        paths.push(shard_path);
    }
    if doc["receipts_digest"].as_str()
        != Some(receipts_digest(digests.iter().map(String::as_str)).as_str())
    {
        f(
            "merged_digest_mismatch",
            "the digest over the shard receipts does not match the list".to_owned(),
        );
    }
    if let Some(out) = doc["output"].as_object() {
        let recorded = out.get("path").and_then(Value::as_str).unwrap_or_default();
        let out_path = resolve(path, recorded);
        match hash_file(&out_path) {
            Ok((sha, _)) if Some(sha.as_str()) == out.get("sha256").and_then(Value::as_str) => {
                let rows = std::fs::read(&out_path)
                    .map(|b| {
                        b.split(|&c| c == b'\n')
                            .filter(|l| !l.is_empty())
                            .count()
                            .saturating_sub(1)
                    })
                    .unwrap_or(0) as u64;
                if Some(rows) != doc["matched_rows"].as_u64() {
                    f(
                        "merged_row_count_mismatch",
                        format!(
                            "the merged output has {rows} rows, the receipt says {}",
                            doc["matched_rows"]
                        ),
                    );
                }
            }
            Ok(_) => f(
                "file_hash_mismatch",
                format!("output '{}' changed since the merge", safe_name(recorded)),
            ),
            Err(_) => f(
                "output_missing",
                format!("output '{}' is missing", safe_name(recorded)),
            ),
        }
    }
    paths
}

/// Audits one merged receipt alone: against its shard receipts (present, with the
/// SHA-256 it lists, every shard once, the digest over them) and its output (digest
/// and row count). A receipt that is not a merged receipt needs its partner's:
/// that is an input error naming the remedy.
///
/// # Errors
/// Bad input when the file cannot be read, is not JSON or is not a merged receipt.
pub fn audit_merged_receipt(path: &Path, options: crate::ReportOptions) -> Result<AuditReport> {
    let bytes = crate::json::read(path, "receipt")?;
    if !is_merged(&bytes) {
        return Err(blindmatch_data::Error::bad_input(format!(
            "'{}' is not a merged receipt: a session receipt is audited with the partner's",
            path.display()
        ))
        .hint("give both receipts: blindmatch audit receipt MINE.json PARTNER.json"));
    }
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| {
        blindmatch_data::Error::bad_input(format!("'{}' is not JSON", path.display()))
    })?;
    let mut findings = Vec::new();
    let shards = check_one("merged", path, &doc, &mut findings);
    let details = MergedSide {
        receipt: safe_name(&path.display().to_string()),
        shards: doc["shards"].as_u64(),
        matched_rows: doc["matched_rows"].as_u64(),
    };
    let notes = vec![format!(
        "{} shard receipts checked by digest; audit both sides' merged receipts together to compare the shards' sessions",
        shards.len()
    )];
    let subject = format!("'{}'", details.receipt);
    report::finish(
        "receipt",
        &subject,
        details,
        findings,
        notes,
        options,
        |d| {
            format!(
                "audit receipt (merged): '{}', {} shards, {} matched rows\n",
                d.receipt,
                d.shards.unwrap_or(0),
                d.matched_rows
                    .map_or_else(|| "no".to_owned(), |n| n.to_string())
            )
        },
    )
}

/// Audits two merged receipts (`args.a`, `args.b`): each against its shard receipts
/// and output, then each shard's pair of receipts as `audit receipt` does.
///
/// # Errors
/// Bad input when a file cannot be read or is not JSON.
pub(crate) fn audit_merged(args: &ReceiptAudit, a: &[u8], b: &[u8]) -> Result<AuditReport> {
    let parse = |bytes: &[u8], path: &Path| {
        serde_json::from_slice::<Value>(bytes).map_err(|_| {
            blindmatch_data::Error::bad_input(format!("'{}' is not JSON", path.display()))
        })
    };
    let (doc_a, doc_b) = (parse(a, &args.a)?, parse(b, &args.b)?);
    let mut findings = Vec::new();
    let shards_a = check_one("A", &args.a, &doc_a, &mut findings);
    let shards_b = check_one("B", &args.b, &doc_b, &mut findings);
    if doc_a["shards"] != doc_b["shards"] {
        findings.push(Finding::new(
            "shard_count_mismatch",
            format!("A merged {} shards, B {}", doc_a["shards"], doc_b["shards"]),
        ));
    }
    let mut shard_findings = Vec::new();
    for (i, (sa, sb)) in shards_a.iter().zip(&shards_b).enumerate() {
        if !sa.exists() || !sb.exists() {
            shard_findings.push(0);
            continue;
        }
        let pair = audit_receipts(&ReceiptAudit {
            a: sa.clone(),
            b: sb.clone(),
            output_a: None,
            output_b: None,
            delimiter: args.delimiter.clone(),
            report: args.report,
        })?;
        shard_findings.push(pair.findings().len());
        for finding in pair.findings() {
            let mut finding = finding.clone();
            finding.message = format!("shard {i}: {}", finding.message);
            findings.push(finding);
        }
    }
    let side = |path: &Path, doc: &Value| MergedSide {
        receipt: safe_name(&path.display().to_string()),
        shards: doc["shards"].as_u64(),
        matched_rows: doc["matched_rows"].as_u64(),
    };
    let details = Details {
        a: side(&args.a, &doc_a),
        b: side(&args.b, &doc_b),
        shard_findings,
    };
    let subject = format!("'{}' and '{}'", details.a.receipt, details.b.receipt);
    let notes = vec![
        "merged receipts: each shard's pair of receipts was audited as one session".to_owned(),
    ];
    report::finish(
        "receipt",
        &subject,
        details,
        findings,
        notes,
        args.report,
        |d| {
            format!(
                "audit receipt (merged): '{}' (A, {} shards) and '{}' (B, {} shards)\n",
                d.a.receipt,
                d.a.shards.unwrap_or(0),
                d.b.receipt,
                d.b.shards.unwrap_or(0)
            )
        },
    )
}
