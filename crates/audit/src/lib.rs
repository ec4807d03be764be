//! blindmatch-audit: compliance checks a team runs on files alone: token files,
//! tokenize manifests and session receipts.
#![doc = include_str!("../README.md")]

mod files;
mod given_key;
mod json;
mod manifest;
mod merged;
mod plan;
mod receipt;
mod report;
mod source;
mod token_file;
mod tokenize_manifest;
mod tokens;

pub use manifest::{ManifestAudit, audit_manifest, manifest_findings};
pub use merged::audit_merged_receipt;
pub use receipt::{ReceiptAudit, audit_receipts, receipt_findings};
pub use report::{AuditReport, Finding, ReportOptions};
pub use tokens::{TokensAudit, audit_tokens, token_file_findings};
