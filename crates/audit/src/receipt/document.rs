//! A session receipt as the receipt audit reads it: defensively, field by field,
//! every field optional, so a damaged receipt still gives every check its other
//! fields allow; missing or mistyped fields are findings naming them. A receipt is
//! either the full one a side keeps or the shareable one it hands to the partner
//! (told apart by `format`), which holds a subset of the same fields in the same
//! places; a field only the full one may hold is a finding in a shareable one.

use std::path::Path;

use blindmatch_data::Result;
use blindmatch_token::{IdType, Rule};
use serde_json::Value;

use crate::files::Recorded;
use crate::json::{self, Walker};
use crate::report::Finding;

/// The value of a receipt's `format` field.
pub(super) const FORMAT: &str = "blindmatch-receipt";
/// The receipt versions this build reads: 1 (one identifier column, before rules)
/// and 2 (`rules` and `local.input.columns`).
pub(super) const VERSIONS: [u64; 2] = [1, blindmatch_pipeline::receipt::VERSION as u64];
/// The value of a shareable receipt's `format` field.
pub(super) const SHAREABLE_FORMAT: &str = blindmatch_pipeline::receipt::SHAREABLE_FORMAT;
/// The shareable receipt versions this build reads: 1 (before rules) and 2 (`rules`).
pub(super) const SHAREABLE_VERSIONS: [u64; 2] =
    [1, blindmatch_pipeline::receipt::SHAREABLE_VERSION as u64];
/// Fields of a rule only a full receipt holds: our columns and what we learned.
const PRIVATE_RULE_FIELDS: [&str; 3] = ["columns", "matched_values", "matched_rows"];

/// Fields only a full receipt holds: what its side alone knows (the input, the
/// result, the output, the peer's address as seen, the times). A shareable receipt
/// that holds one would hand them to the partner.
const PRIVATE_FIELDS: [(&str, &str); 9] = [
    ("", "started_at"),
    ("", "finished_at"),
    ("", "result"),
    ("", "output"),
    ("", "timings_ms"),
    ("local", "input"),
    ("peer", "address"),
    ("peer", "implementation"),
    ("labels", "output_rows"),
];

/// A receipt as read; every field optional so that a damaged receipt still gives
/// every check its other fields allow.
#[derive(Debug, Default)]
pub(super) struct Receipt {
    pub(super) label: &'static str,
    /// The shareable form: no input, result, output or times to read or check.
    pub(super) shareable: bool,
    /// The layout version; rules and columns are read from version 2 on.
    pub(super) version: u64,
    pub(super) tool_version: Option<String>,
    pub(super) protocol_version: Option<u64>,
    /// `psi_protocol`: absent in receipts written before the vole protocol.
    pub(super) psi_protocol: Option<String>,
    pub(super) session_id: Option<String>,
    pub(super) transcript_hash: Option<String>,
    pub(super) started_at: Option<String>,
    pub(super) finished_at: Option<String>,
    pub(super) mode: Option<String>,
    pub(super) reveal: Option<String>,
    pub(super) id_type: Option<String>,
    /// `rules` (version 2), in priority order; `None` before version 2 or when the
    /// field is unreadable.
    pub(super) rules: Option<Vec<RuleRecord>>,
    pub(super) profile_name: Option<String>,
    pub(super) profile_digest: Option<String>,
    /// `profile.types`: the per-type profile string, by identifier type (one per
    /// field type of the rules).
    pub(super) profile_types: Option<Vec<(String, String)>>,
    pub(super) profile_unicode: Option<String>,
    pub(super) profile_unicode_case: Option<String>,
    pub(super) local_role: Option<String>,
    pub(super) network_role: Option<String>,
    pub(super) local_fingerprint: Option<Option<String>>,
    pub(super) local_size: Option<u64>,
    pub(super) input_rows: Option<u64>,
    /// `local.input.column`: the identifier columns' names joined by `,`.
    pub(super) input_column: Option<String>,
    /// `local.input.columns` (version 2).
    pub(super) input_columns: Option<Vec<ColumnRecord>>,
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
    /// Labelled mode, the receiving side: rows of the output (one per matched row
    /// and label set), from `labels.output_rows`.
    pub(super) label_output_rows: Option<u64>,
    /// Labelled mode: the agreed `labels.max_labels_per_id`.
    pub(super) label_cap: Option<u64>,
    /// `Some(None)`: the receipt says there is no output.
    pub(super) output: Option<Option<Recorded>>,
    pub(super) bytes_sent: Option<u64>,
    pub(super) bytes_received: Option<u64>,
    pub(super) frames_sent: Option<u64>,
    pub(super) frames_received: Option<u64>,
    pub(super) findings: Vec<Finding>,
}

/// One entry of `rules`, every field optional. `path` is where it is (`rules[1]`).
#[derive(Debug, Default, Clone)]
pub(super) struct RuleRecord {
    pub(super) path: String,
    pub(super) rule: Option<String>,
    /// Full receipts only.
    pub(super) columns: Option<Vec<String>>,
    pub(super) local_size: Option<u64>,
    pub(super) peer_size: Option<Option<u64>>,
    /// Full receipts only.
    pub(super) matched_values: Option<Option<u64>>,
    /// Full receipts only.
    pub(super) matched_rows: Option<Option<u64>>,
}

/// One entry of `local.input.columns`, every field optional.
#[derive(Debug, Default, Clone)]
pub(super) struct ColumnRecord {
    pub(super) path: String,
    pub(super) column: Option<String>,
    pub(super) id_type: Option<String>,
    pub(super) values: Option<u64>,
    pub(super) empty: Option<u64>,
    pub(super) rejected: Option<u64>,
    pub(super) rejects: Option<Vec<(String, u64)>>,
}

impl Receipt {
    /// Reads the receipt labelled `label` (`A` or `B` in findings) from the bytes
    /// of the file at `path` (named in messages).
    ///
    /// # Errors
    /// Bad input when the bytes are not JSON, not a receipt or of an unsupported
    /// version. Missing or mistyped fields are findings instead.
    pub(super) fn from_slice(label: &'static str, path: &Path, bytes: &[u8]) -> Result<Receipt> {
        let forms: [(&str, &[u64]); 2] = [
            (FORMAT, &VERSIONS[..]),
            (SHAREABLE_FORMAT, &SHAREABLE_VERSIONS[..]),
        ];
        let value = json::parse(bytes, path, "receipt", &forms)?;
        Ok(Receipt::from_value(label, &value))
    }

    pub(super) fn from_value(label: &'static str, v: &Value) -> Receipt {
        let mut w = Walker::default();
        let shareable = v.get("format").and_then(Value::as_str) == Some(SHAREABLE_FORMAT);
        let version = v.get("version").and_then(Value::as_u64).unwrap_or(1);
        let mut r = Receipt {
            label,
            shareable,
            version,
            ..Receipt::default()
        };
        r.tool_version = w.object(v, "", "tool").and_then(|t| {
            w.string(t, "tool", "name");
            w.string(t, "tool", "version")
        });
        r.protocol_version = w.uint(v, "", "protocol_version");
        r.psi_protocol = w.opt_string(v, "", "psi_protocol");
        r.session_id = w.string(v, "", "session_id");
        r.transcript_hash = w.string(v, "", "transcript_hash");
        if !shareable {
            r.started_at = w.string(v, "", "started_at");
            r.finished_at = w.string(v, "", "finished_at");
        }
        r.mode = w.string(v, "", "mode");
        r.reveal = w.string(v, "", "reveal");
        r.id_type = w.string(v, "", "id_type");
        if version >= 2 {
            r.rules = w.objects(v, "", "rules").map(|items| {
                items
                    .into_iter()
                    .map(|(path, item)| r.read_rule(&mut w, path, item))
                    .collect()
            });
        }
        if let Some(p) = w.object(v, "", "profile") {
            r.profile_types = w.string_map(p, "profile", "types");
            r.profile_name = w.string(p, "profile", "name");
            r.profile_digest = w.string(p, "profile", "digest");
            r.profile_unicode = w.string(p, "profile", "unicode");
            r.profile_unicode_case = w.string(p, "profile", "unicode_case");
        }
        r.batch_size = w.uint(v, "", "batch_size");
        r.comparison_bytes = w.uint(v, "", "comparison_bytes");
        if let Some(l) = w.object(v, "", "local") {
            r.local_role = w.string(l, "local", "role");
            r.network_role = w.opt_string(l, "local", "network_role");
            r.local_fingerprint = w.nullable_string(l, "local", "fingerprint");
            r.local_size = w.uint(l, "local", "declared_size");
            let input = if shareable {
                None
            } else {
                w.object(l, "local", "input")
            };
            if let Some(i) = input {
                w.string(i, "local.input", "path");
                w.string(i, "local.input", "sha256");
                r.input_rows = w.uint(i, "local.input", "rows");
                w.uint(i, "local.input", "bytes");
                r.input_column = w.string(i, "local.input", "column");
                if version >= 2 {
                    r.input_columns = w.objects(i, "local.input", "columns").map(|items| {
                        items
                            .into_iter()
                            .map(|(path, c)| read_column(&mut w, path, c))
                            .collect()
                    });
                }
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
        if shareable {
            r.read_traffic(&mut w, v);
            r.private_fields(v);
            r.push_problems(w);
            return r;
        }
        if let Some(res) = w.object(v, "", "result") {
            r.matched_rows = w.nullable_uint(res, "result", "matched_rows");
            r.matched_values = w.nullable_uint(res, "result", "matched_values");
            r.cardinality = w.nullable_uint(res, "result", "cardinality");
        }
        r.label_output_rows = v
            .get("labels")
            .and_then(|l| l.get("output_rows"))
            .and_then(serde_json::Value::as_u64);
        r.label_cap = v
            .get("labels")
            .and_then(|l| l.get("max_labels_per_id"))
            .and_then(serde_json::Value::as_u64);
        r.output = w.nullable_object(v, "", "output").map(|o| {
            o.and_then(|o| {
                let path = w.string(o, "output", "path");
                let sha256 = w.string(o, "output", "sha256");
                let bytes = w.uint(o, "output", "bytes");
                let format = w.opt_format(o, "output", "format");
                Some(Recorded {
                    path: path?,
                    sha256: sha256?,
                    bytes: Some(bytes?),
                    format,
                })
            })
        });
        r.read_traffic(&mut w, v);
        w.object(v, "", "timings_ms");
        r.push_problems(w);
        r
    }

    /// One rule: its name and sizes, and in a full receipt our columns and counts.
    /// A shareable receipt's rule that holds a full receipt's field is a finding.
    fn read_rule(&mut self, w: &mut Walker, path: String, item: &Value) -> RuleRecord {
        let mut rule = RuleRecord {
            rule: w.string(item, &path, "rule"),
            local_size: w.uint(item, &path, "local_size"),
            peer_size: w.nullable_uint(item, &path, "peer_size"),
            ..RuleRecord::default()
        };
        if self.shareable {
            for key in PRIVATE_RULE_FIELDS {
                if item.get(key).is_some() {
                    let field = crate::json::join(&path, key);
                    let message = format!(
                        "the shareable receipt holds `{field}`, which only the full receipt may hold: it is not the partner's to see"
                    );
                    self.findings
                        .push(self.finding("receipt_malformed", &field, message));
                }
            }
        } else {
            rule.columns = if item.get("columns").is_some_and(Value::is_array) {
                Some(w.strings(item, &path, "columns"))
            } else {
                w.array(item, &path, "columns");
                None
            };
            rule.matched_values = w.nullable_uint(item, &path, "matched_values");
            rule.matched_rows = w.nullable_uint(item, &path, "matched_rows");
        }
        rule.path = path;
        rule
    }

    fn read_traffic(&mut self, w: &mut Walker, v: &Value) {
        if let Some(t) = w.object(v, "", "traffic") {
            self.bytes_sent = w.uint(t, "traffic", "bytes_sent");
            self.bytes_received = w.uint(t, "traffic", "bytes_received");
            self.frames_sent = w.uint(t, "traffic", "frames_sent");
            self.frames_received = w.uint(t, "traffic", "frames_received");
        }
    }

    /// A shareable receipt holding a field only the full one may hold.
    fn private_fields(&mut self, v: &Value) {
        for (base, key) in PRIVATE_FIELDS {
            let parent = if base.is_empty() {
                Some(v)
            } else {
                v.get(base)
            };
            if parent.and_then(|p| p.get(key)).is_some() {
                let field = crate::json::join(base, key);
                let message = format!(
                    "the shareable receipt holds `{field}`, which only the full receipt may hold: it is not the partner's to see"
                );
                self.findings
                    .push(self.finding("receipt_malformed", &field, message));
            }
        }
    }

    fn push_problems(&mut self, w: Walker) {
        let label = self.label;
        for p in w.problems {
            let how = if p.missing {
                "is missing"
            } else {
                "has the wrong type"
            };
            self.findings.push(
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
    }

    /// The rules in priority order, when every one is readable, known and canonical
    /// (as `blindmatch match` writes them).
    pub(super) fn parsed_rules(&self) -> Option<Vec<Rule>> {
        self.rules
            .as_ref()?
            .iter()
            .map(|r| {
                let name = r.rule.as_deref()?;
                name.parse::<Rule>().ok().filter(|rule| rule.name() == name)
            })
            .collect()
    }

    /// The identifier types of the session, in [`IdType::ALL`] order: the fields of
    /// the rules (version 2), or the `id_type` (version 1).
    pub(super) fn session_types(&self) -> Option<Vec<IdType>> {
        let mut types: Vec<IdType> = if self.version >= 2 {
            self.parsed_rules()?
                .iter()
                .flat_map(|r| r.fields().to_vec())
                .collect()
        } else {
            vec![self.id_type.as_deref()?.parse().ok()?]
        };
        types.sort_by_key(|t| t.index());
        types.dedup();
        Some(types)
    }

    /// Every per-type profile string of `profile.types`, by type, in one string to
    /// compare (`phone=…;email=…`, types sorted).
    pub(super) fn profile_strings(&self) -> Option<String> {
        let mut types = self.profile_types.clone()?;
        types.sort();
        let parts: Vec<String> = types.iter().map(|(t, s)| format!("{t}={s}")).collect();
        Some(parts.join("\n"))
    }

    /// The per-type profile string, when `profile.types` holds exactly one.
    pub(super) fn profile_string(&self) -> Option<String> {
        match self.profile_types.as_deref() {
            Some([(_, string)]) => Some(string.clone()),
            _ => None,
        }
    }

    pub(super) fn finding(&self, check: &'static str, field: &str, message: String) -> Finding {
        Finding::new(check, format!("receipt {}: {message}", self.label)).field(field)
    }
}

/// One identifier column of `local.input.columns`.
fn read_column(w: &mut Walker, path: String, c: &Value) -> ColumnRecord {
    ColumnRecord {
        column: w.string(c, &path, "column"),
        id_type: w.string(c, &path, "id_type"),
        values: w.uint(c, &path, "values"),
        empty: w.uint(c, &path, "empty"),
        rejected: w.uint(c, &path, "rejected"),
        rejects: w.counts(c, &path, "rejects"),
        path,
    }
}
