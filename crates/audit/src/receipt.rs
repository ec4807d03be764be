//! The receipt audit (`blindmatch audit receipt`): do two session receipts describe the same session
//! (the rules of `docs/receipt-format.md`), is each consistent in itself, and do the
//! output files at hand still have the SHA-256, size and row count recorded?
//!
//! Either receipt may be the full one or the shareable one (in any order): a party
//! audits its own full receipt against the partner's shareable one. A shareable
//! receipt is compared on every field it holds; its side's input, result and output
//! are not in it, so those checks apply to full receipts only.
//!
//! A receipt is not signed either; the cross-check is what gives it weight: the
//! transcript hash, session ID, sizes and traffic of one side must mirror the
//! other's, so changing one receipt alone is caught.

mod checks;
mod document;
mod output;
mod profile;
mod rules;

use std::path::{Path, PathBuf};

use blindmatch_data::Result;
use blindmatch_data::dataset::parse_delimiter;
use serde::Serialize;

use crate::files::{self, describe_check};
use crate::json;
use crate::report::{self, AuditReport, Finding, ReportOptions, group, safe_name};
use checks::same_session;
use document::Receipt;
use output::{OutputCheck, check_output};

#[derive(Debug, Serialize)]
struct Side {
    receipt: String,
    /// `full` or `shareable`.
    form: &'static str,
    role: Option<String>,
    fingerprint: Option<String>,
    declared_size: Option<u64>,
    learns: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<OutputCheck>,
}

#[derive(Debug, Serialize)]
struct Details {
    session_id: Option<String>,
    transcript_hash: Option<String>,
    mode: Option<String>,
    reveal: Option<String>,
    a: Side,
    b: Side,
}

/// Which two receipts `audit receipt` compares, and their output files.
#[derive(Debug, Clone)]
pub struct ReceiptAudit {
    /// One party's receipt.
    pub a: PathBuf,
    /// The other party's receipt.
    pub b: PathBuf,
    /// A's output file, when it is not where A's receipt says.
    pub output_a: Option<PathBuf>,
    /// B's output file, when it is not where B's receipt says.
    pub output_b: Option<PathBuf>,
    /// The output files' field delimiter as given (one ASCII character or `tab`).
    pub delimiter: String,
    /// How the report is rendered.
    pub report: ReportOptions,
}

/// Audits two session receipts against each other and their output files.
///
/// # Errors
/// Bad input for unreadable receipts or a bad delimiter; findings are not errors
/// here (see [`AuditReport::verdict`]).
pub fn audit_receipts(args: &ReceiptAudit) -> Result<AuditReport> {
    let delimiter = parse_delimiter(&args.delimiter)?;
    let (bytes_a, bytes_b) = (
        json::read(&args.a, "receipt")?,
        json::read(&args.b, "receipt")?,
    );
    match (
        crate::merged::is_merged(&bytes_a),
        crate::merged::is_merged(&bytes_b),
    ) {
        (true, true) => return crate::merged::audit_merged(args, &bytes_a, &bytes_b),
        (false, false) => {}
        _ => {
            return Err(blindmatch_data::Error::bad_input(
                "one receipt is a merged receipt and the other is not",
            )
            .hint("audit two merged receipts (from `blindmatch merge` on each side), or two receipts of one session"));
        }
    }
    let a = Receipt::from_slice("A", &args.a, &bytes_a)?;
    let b = Receipt::from_slice("B", &args.b, &bytes_b)?;
    let mut findings = session_findings(&a, &b);
    let mut notes = Vec::new();
    if a.tool_version != b.tool_version {
        notes.push("the two sides ran different blindmatch versions".to_owned());
    }
    let out_a = check_output(
        &a,
        &args.a,
        args.output_a.as_deref(),
        delimiter,
        &mut findings,
        &mut notes,
    )?;
    let out_b = check_output(
        &b,
        &args.b,
        args.output_b.as_deref(),
        delimiter,
        &mut findings,
        &mut notes,
    )?;
    for r in [&a, &b].into_iter().filter(|r| r.shareable) {
        notes.push(format!(
            "receipt {} is the shareable form: its side's input, results and output are not in it and were not checked",
            r.label
        ));
    }
    notes.push(
        "receipts are not signed: each is checked against the other; keep both sides' copies apart"
            .to_owned(),
    );
    let side = |r: &Receipt, path: &Path, output| Side {
        receipt: safe_name(&path.display().to_string()),
        form: if r.shareable { "shareable" } else { "full" },
        role: r.local_role.as_deref().map(safe_name),
        fingerprint: r.local_fingerprint.clone().flatten().map(|f| safe_name(&f)),
        declared_size: r.local_size,
        learns: r.learns,
        output,
    };
    let details = Details {
        session_id: a.session_id.as_deref().map(safe_name),
        transcript_hash: a.transcript_hash.as_deref().map(safe_name),
        mode: a.mode.as_deref().map(safe_name),
        reveal: a.reveal.as_deref().map(safe_name),
        a: side(&a, &args.a, out_a),
        b: side(&b, &args.b, out_b),
    };
    let subject = format!("'{}' and '{}'", details.a.receipt, details.b.receipt);
    report::finish(
        "receipt",
        &subject,
        details,
        findings,
        notes,
        args.report,
        human,
    )
}

/// The checks of `audit receipt` that need the two receipts alone, for receipts
/// held in memory: each receipt's fields and consistency, and whether the two
/// describe the same session. `a` and `b` are the bytes of the receipt files
/// named `a_name` and `b_name` in messages; findings call them A and B, as
/// [`audit_receipts`] does, which makes these checks first and then compares the
/// output files.
///
/// # Errors
/// Bad input when either is not JSON, not a receipt or of an unsupported version;
/// missing or mistyped fields are findings.
pub fn receipt_findings(a: &[u8], a_name: &Path, b: &[u8], b_name: &Path) -> Result<Vec<Finding>> {
    let a = Receipt::from_slice("A", a_name, a)?;
    let b = Receipt::from_slice("B", b_name, b)?;
    Ok(session_findings(&a, &b))
}

/// Each receipt's own findings, then the cross-receipt rules.
fn session_findings(a: &Receipt, b: &Receipt) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    findings.extend(a.findings.iter().cloned());
    findings.extend(b.findings.iter().cloned());
    a.internal(&mut findings);
    b.internal(&mut findings);
    same_session(a, b, &mut findings);
    findings
}

fn human(d: &Details) -> String {
    let mut s = format!(
        "audit receipt: '{}' (A) and '{}' (B)\n",
        d.a.receipt, d.b.receipt
    );
    s.push_str(&format!(
        "  session {}, transcript {}, mode {}, reveal {}\n",
        d.session_id
            .as_deref()
            .map_or_else(|| "-".to_owned(), files::short),
        d.transcript_hash
            .as_deref()
            .map_or_else(|| "-".to_owned(), files::short),
        d.mode.as_deref().unwrap_or("-"),
        d.reveal.as_deref().unwrap_or("-")
    ));
    for (label, side) in [("A", &d.a), ("B", &d.b)] {
        s.push_str(&format!(
            "  {label}{}: {} set of {}, {}{}\n",
            if side.form == "shareable" {
                " (shareable)"
            } else {
                ""
            },
            side.role.as_deref().unwrap_or("?"),
            side.declared_size.map_or_else(|| "?".to_owned(), group),
            match side.learns {
                Some(true) => "learns",
                Some(false) => "does not learn",
                None => "learns ?",
            },
            side.fingerprint
                .as_deref()
                .map(|f| format!(
                    ", certificate {}",
                    files::short(f.strip_prefix("sha256:").unwrap_or(f))
                ))
                .unwrap_or_default()
        ));
        if let Some(o) = &side.output {
            s.push_str(&format!(
                "     {}{}\n",
                describe_check(&o.file),
                o.rows
                    .map(|r| format!("; {} rows", group(r)))
                    .unwrap_or_default()
            ));
        }
    }
    s
}
