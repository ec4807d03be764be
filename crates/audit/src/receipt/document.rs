//! A session receipt as the receipt audit reads it: defensively, field by field,
//! every field optional, so a damaged receipt still gives every check its other
//! fields allow; missing or mistyped fields are findings naming them.

use std::path::Path;

use blindmatch_data::Result;
use serde_json::Value;

use crate::files::Recorded;
use crate::json::{self, Walker};
use crate::report::Finding;

/// The value of a receipt's `format` field.
pub(super) const FORMAT: &str = "blindmatch-receipt";
/// The receipt version this build reads.
pub(super) const VERSION: u64 = 1;

/// A receipt as read; every field optional so that a damaged receipt still gives
/// every check its other fields allow.
#[derive(Debug, Default)]
pub(super) struct Receipt {
    pub(super) label: &'static str,
    pub(super) tool_version: Option<String>,
    pub(super) protocol_version: Option<u64>,
    pub(super) session_id: Option<String>,
    pub(super) transcript_hash: Option<String>,
    pub(super) started_at: Option<String>,
    pub(super) finished_at: Option<String>,
    pub(super) mode: Option<String>,
    pub(super) reveal: Option<String>,
    pub(super) id_type: Option<String>,
    pub(super) profile_name: Option<String>,
    pub(super) profile_digest: Option<String>,
    pub(super) local_role: Option<String>,
    pub(super) network_role: Option<String>,
    pub(super) local_fingerprint: Option<Option<String>>,
    pub(super) local_size: Option<u64>,
    pub(super) input_rows: Option<u64>,
    pub(super) input_values: Option<u64>,
    pub(super) input_empty: Option<u64>,
    pub(super) input_rejected: Option<u64>,
    pub(super) input_rejects: Option<Vec<(String, u64)>>,
    pub(super) batch_size: Option<u64>,
    pub(super) comparison_bytes: Option<u64>,
    pub(super) learns: Option<bool>,
    pub(super) peer_role: Option<String>,
    pub(super) peer_fingerprint: Option<Option<String>>,
    pub(super) peer_size: Option<u64>,
    pub(super) min_peer_set: Option<Option<u64>>,
    pub(super) matched_rows: Option<Option<u64>>,
    pub(super) matched_values: Option<Option<u64>>,
    pub(super) cardinality: Option<Option<u64>>,
    /// `Some(None)`: the receipt says there is no output.
    pub(super) output: Option<Option<Recorded>>,
    pub(super) bytes_sent: Option<u64>,
    pub(super) bytes_received: Option<u64>,
    pub(super) frames_sent: Option<u64>,
    pub(super) frames_received: Option<u64>,
    pub(super) findings: Vec<Finding>,
}

impl Receipt {
    /// Reads the receipt labelled `label` (`A` or `B` in findings) from the bytes
    /// of the file at `path` (named in messages).
    ///
    /// # Errors
    /// Bad input when the bytes are not JSON, not a receipt or of an unsupported
    /// version. Missing or mistyped fields are findings instead.
    pub(super) fn from_slice(label: &'static str, path: &Path, bytes: &[u8]) -> Result<Receipt> {
        let value = json::parse(bytes, path, "receipt", FORMAT, VERSION)?;
        Ok(Receipt::from_value(label, &value))
    }

    pub(super) fn from_value(label: &'static str, v: &Value) -> Receipt {
        let mut w = Walker::default();
        let mut r = Receipt {
            label,
            ..Receipt::default()
        };
        r.tool_version = w.object(v, "", "tool").and_then(|t| {
            w.string(t, "tool", "name");
            w.string(t, "tool", "version")
        });
        r.protocol_version = w.uint(v, "", "protocol_version");
        r.session_id = w.string(v, "", "session_id");
        r.transcript_hash = w.string(v, "", "transcript_hash");
        r.started_at = w.string(v, "", "started_at");
        r.finished_at = w.string(v, "", "finished_at");
        r.mode = w.string(v, "", "mode");
        r.reveal = w.string(v, "", "reveal");
        r.id_type = w.string(v, "", "id_type");
        if let Some(p) = w.object(v, "", "profile") {
            r.profile_name = w.string(p, "profile", "name");
            r.profile_digest = w.string(p, "profile", "digest");
        }
        r.batch_size = w.uint(v, "", "batch_size");
        r.comparison_bytes = w.uint(v, "", "comparison_bytes");
        if let Some(l) = w.object(v, "", "local") {
            r.local_role = w.string(l, "local", "role");
            r.network_role = w.opt_string(l, "local", "network_role");
            r.local_fingerprint = w.nullable_string(l, "local", "fingerprint");
            r.local_size = w.uint(l, "local", "declared_size");
            if let Some(i) = w.object(l, "local", "input") {
                w.string(i, "local.input", "path");
                w.string(i, "local.input", "sha256");
                r.input_rows = w.uint(i, "local.input", "rows");
                w.uint(i, "local.input", "bytes");
                w.string(i, "local.input", "column");
                r.input_values = w.uint(i, "local.input", "values");
                r.input_empty = w.uint(i, "local.input", "empty");
                r.input_rejected = w.uint(i, "local.input", "rejected");
                r.input_rejects = w.counts(i, "local.input", "rejects");
            }
            r.learns = w.boolean(l, "local", "learns");
        }
        if let Some(p) = w.object(v, "", "peer") {
            r.peer_role = w.string(p, "peer", "role");
            r.peer_fingerprint = w.nullable_string(p, "peer", "fingerprint");
            r.peer_size = w.uint(p, "peer", "declared_size");
            r.min_peer_set = w.nullable_uint(p, "peer", "min_peer_set");
        }
        if let Some(res) = w.object(v, "", "result") {
            r.matched_rows = w.nullable_uint(res, "result", "matched_rows");
            r.matched_values = w.nullable_uint(res, "result", "matched_values");
            r.cardinality = w.nullable_uint(res, "result", "cardinality");
        }
        r.output = w.nullable_object(v, "", "output").map(|o| {
            o.and_then(|o| {
                let path = w.string(o, "output", "path");
                let sha256 = w.string(o, "output", "sha256");
                let bytes = w.uint(o, "output", "bytes");
                Some(Recorded {
                    path: path?,
                    sha256: sha256?,
                    bytes: Some(bytes?),
                })
            })
        });
        if let Some(t) = w.object(v, "", "traffic") {
            r.bytes_sent = w.uint(t, "traffic", "bytes_sent");
            r.bytes_received = w.uint(t, "traffic", "bytes_received");
            r.frames_sent = w.uint(t, "traffic", "frames_sent");
            r.frames_received = w.uint(t, "traffic", "frames_received");
        }
        w.object(v, "", "timings_ms");
        for p in w.problems {
            let how = if p.missing {
                "is missing"
            } else {
                "has the wrong type"
            };
            r.findings.push(
                Finding::new(
                    "receipt_malformed",
                    format!(
                        "receipt {label}: field `{}` {how} (expected {})",
                        p.field, p.expected
                    ),
                )
                .field(p.field),
            );
        }
        r
    }

    pub(super) fn finding(&self, check: &'static str, field: &str, message: String) -> Finding {
        Finding::new(check, format!("receipt {}: {message}", self.label)).field(field)
    }
}
