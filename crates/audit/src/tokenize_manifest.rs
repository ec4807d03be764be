//! A tokenize manifest as the audits read it: defensively, field by field (a
//! missing or mistyped field is a finding naming it), with the checks that need
//! nothing but the manifest: counts that must add up, reason codes, the profile
//! digest, names, the reject-rate record and timestamps.
//!
//! A manifest is not signed. What can be detected from files alone is listed in
//! `docs/compliance.md`: a change to the token file, or to one manifest field that
//! other fields or the file contradict. A forger who rewrites the file and every
//! dependent field consistently is not detectable without a copy of the manifest
//! kept elsewhere (its SHA-256 in a ticket or a signature).

mod checks;
mod profile;

use std::path::{Path, PathBuf};

use blindmatch_data::Result;
use blindmatch_data::dataset::parse_delimiter;
use blindmatch_token::{IdType, KeyId, KeyPurpose, token};
use serde_json::Value;

use crate::files::Recorded;
use crate::json::{self, Walker};
use crate::plan::{ColumnPlan, Role};
use crate::report::{Finding, safe_name};

/// A key as a manifest names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyRef {
    /// The key ID, if it is well formed.
    pub(crate) id: Option<KeyId>,
}

/// Row counts recorded in a manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rows {
    pub(crate) read: Option<u64>,
    pub(crate) written: Option<u64>,
    pub(crate) with_rejects: Option<u64>,
}

/// One identifier column of a manifest.
#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    /// Input column name.
    pub(crate) input: Option<String>,
    /// Identifier type, if known to this build.
    pub(crate) id_type: Option<IdType>,
    /// Output column with the tokens.
    pub(crate) output: Option<String>,
    /// Output column with tokens under the previous key.
    pub(crate) previous_output: Option<String>,
    /// Output column with short codes.
    pub(crate) short_code_output: Option<String>,
    pub(crate) tokens: Option<u64>,
    pub(crate) empty: Option<u64>,
    pub(crate) rejected: Option<u64>,
    pub(crate) rejects: Option<Vec<(String, u64)>>,
}

/// The `--max-reject-rate` record.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateCheck {
    max_rate: Option<f64>,
    worst_rate: Option<f64>,
    worst_column: Option<String>,
    passed: Option<bool>,
}

/// A tokenize manifest as read: every field optional, so a damaged manifest still
/// yields every check that its remaining fields allow.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    /// Where it was read from.
    pub(crate) path: PathBuf,
    pub(crate) command: Option<String>,
    pub(crate) tool_version: Option<String>,
    pub(crate) profile_name: Option<String>,
    /// Per identifier type, its per-type profile string (`profile.types`).
    pub(crate) profile_types: Option<Vec<(String, String)>>,
    pub(crate) profile_unicode: Option<String>,
    pub(crate) profile_unicode_case: Option<String>,
    /// The whole profile's digest (`profile.all_types_digest`).
    pub(crate) profile_digest: Option<String>,
    pub(crate) token_format: Option<String>,
    pub(crate) mac_bytes: Option<u64>,
    pub(crate) key: Option<KeyRef>,
    pub(crate) previous_key: Option<KeyRef>,
    pub(crate) input: Option<Recorded>,
    pub(crate) output: Option<Recorded>,
    pub(crate) rejects_file: Option<Recorded>,
    pub(crate) columns: Vec<Column>,
    pub(crate) kept: Vec<String>,
    pub(crate) dropped: Vec<String>,
    pub(crate) rows: Rows,
    pub(crate) rejects: Option<Vec<(String, u64)>>,
    pub(crate) rate_check: Option<RateCheck>,
    pub(crate) started_at: Option<String>,
    pub(crate) finished_at: Option<String>,
    pub(crate) elapsed_seconds: Option<f64>,
    /// The token file's delimiter, if the manifest records one (not yet written by
    /// tokenize; read when present).
    pub(crate) delimiter: Option<u8>,
    /// Fields that are missing, mistyped or malformed.
    pub(crate) malformed: Vec<Finding>,
}

/// The value of a manifest's `format` field.
const FORMAT: &str = "blindmatch-manifest";
/// The manifest version this build reads.
const VERSION: u64 = 1;

impl Manifest {
    /// Reads a manifest.
    ///
    /// # Errors
    /// Bad input when the file is unreadable, not JSON, not a manifest or of
    /// an unsupported version. Missing or mistyped fields are findings instead.
    pub(crate) fn load(path: &Path) -> Result<Manifest> {
        Manifest::from_slice(path, &json::read(path, "manifest")?)
    }

    /// Reads a manifest from the bytes of the file at `path` (named in messages).
    ///
    /// # Errors
    /// As [`Manifest::load`], but for reading the file.
    pub(crate) fn from_slice(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let value = json::parse(bytes, path, "manifest", &[(FORMAT, &[VERSION])])?;
        Ok(Manifest::from_value(path, &value))
    }

    fn from_value(path: &Path, v: &Value) -> Manifest {
        let mut w = Walker::default();
        let mut malformed = Vec::new();
        let command = w.string(v, "", "command");
        let tool_version = w.object(v, "", "tool").and_then(|t| {
            w.string(t, "tool", "name");
            w.string(t, "tool", "version")
        });
        let mut profile_types = None;
        let mut profile_unicode = None;
        let mut profile_unicode_case = None;
        let mut profile_name = None;
        let mut profile_digest = None;
        if let Some(p) = w.object(v, "", "profile") {
            profile_types = w.string_map(p, "profile", "types");
            profile_name = w.string(p, "profile", "name");
            profile_unicode = w.string(p, "profile", "unicode");
            profile_unicode_case = w.string(p, "profile", "unicode_case");
            profile_digest = w.string(p, "profile", "all_types_digest");
        }
        let (token_format, mac_bytes) = match w.object(v, "", "token") {
            Some(t) => (
                w.string(t, "token", "format"),
                w.uint(t, "token", "mac_bytes"),
            ),
            None => (None, None),
        };
        let key = w
            .object(v, "", "key")
            .map(|k| key_ref(&mut w, k, "key", &mut malformed));
        let previous_key = w
            .opt_object(v, "", "previous_key")
            .map(|k| key_ref(&mut w, k, "previous_key", &mut malformed));
        let input = w
            .object(v, "", "input")
            .and_then(|f| recorded(&mut w, f, "input"));
        let output = w
            .object(v, "", "output")
            .and_then(|f| recorded(&mut w, f, "output"));
        let rejects_file = w
            .opt_object(v, "", "rejects_file")
            .and_then(|f| recorded(&mut w, f, "rejects_file"));
        let mut columns = Vec::new();
        if let Some(items) = w.array(v, "", "columns") {
            for (i, item) in items.iter().enumerate() {
                let base = format!("columns[{i}]");
                if !item.is_object() {
                    malformed.push(
                        Finding::new(
                            "manifest_malformed",
                            format!("manifest field `{base}` is not an object"),
                        )
                        .field(base),
                    );
                    continue;
                }
                let type_name = w.string(item, &base, "type");
                let id_type = type_name.as_deref().and_then(|t| t.parse::<IdType>().ok());
                if type_name.is_some() && id_type.is_none() {
                    malformed.push(
                        Finding::new(
                            "manifest_malformed",
                            format!(
                                "manifest field `{base}.type` is not an identifier type ({})",
                                IdType::VALID_NAMES
                            ),
                        )
                        .field(format!("{base}.type")),
                    );
                }
                columns.push(Column {
                    input: w.string(item, &base, "input"),
                    id_type,
                    output: w.string(item, &base, "output"),
                    previous_output: w.opt_string(item, &base, "previous_output"),
                    short_code_output: w.opt_string(item, &base, "short_code_output"),
                    tokens: w.uint(item, &base, "tokens"),
                    empty: w.uint(item, &base, "empty"),
                    rejected: w.uint(item, &base, "rejected"),
                    rejects: w.counts(item, &base, "rejects"),
                });
            }
        }
        let kept = w.strings(v, "", "kept_columns");
        let dropped = w.strings(v, "", "dropped_columns");
        w.string(v, "", "rejected_cells");
        let rows = match w.object(v, "", "rows") {
            Some(r) => Rows {
                read: w.uint(r, "rows", "read"),
                written: w.uint(r, "rows", "written"),
                with_rejects: w.uint(r, "rows", "with_rejects"),
            },
            None => Rows::default(),
        };
        let rejects = w.counts(v, "", "rejects");
        let rate_check = w.opt_object(v, "", "reject_rate_check").map(|r| {
            let base = "reject_rate_check";
            RateCheck {
                max_rate: w.number(r, base, "max_rate"),
                worst_rate: w.number(r, base, "worst_rate"),
                worst_column: w.opt_string(r, base, "worst_column"),
                passed: w.boolean(r, base, "passed"),
            }
        });
        let started_at = w.string(v, "", "started_at");
        let finished_at = w.string(v, "", "finished_at");
        let elapsed_seconds = w.number(v, "", "elapsed_seconds");
        let delimiter = w
            .opt_string(v, "", "delimiter")
            .and_then(|d| parse_delimiter(&d).ok());
        for p in w.problems {
            let how = if p.missing {
                "is missing"
            } else {
                "has the wrong type"
            };
            malformed.push(
                Finding::new(
                    "manifest_malformed",
                    format!(
                        "manifest field `{}` {how} (expected {})",
                        p.field, p.expected
                    ),
                )
                .field(p.field),
            );
        }
        Manifest {
            path: path.to_path_buf(),
            command,
            tool_version,
            profile_name,
            profile_types,
            profile_unicode,
            profile_unicode_case,
            profile_digest,
            token_format,
            mac_bytes,
            key,
            previous_key,
            input,
            output,
            rejects_file,
            columns,
            kept,
            dropped,
            rows,
            rejects,
            rate_check,
            started_at,
            finished_at,
            elapsed_seconds,
            delimiter,
            malformed,
        }
    }

    /// The key ID the tokens were made with, if recorded and well formed.
    pub(crate) fn key_id(&self) -> Option<KeyId> {
        self.key.and_then(|k| k.id)
    }

    /// The previous key ID (`--previous-key`), if recorded and well formed.
    pub(crate) fn previous_key_id(&self) -> Option<KeyId> {
        self.previous_key.and_then(|k| k.id)
    }

    /// The MAC length in bytes, if recorded and plausible.
    pub(crate) fn mac_len(&self) -> Option<usize> {
        self.mac_bytes
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (token::MIN_LEN..=token::FULL_LEN).contains(n))
    }

    /// What each column of a token file with this header is, by the manifest.
    pub(crate) fn plan(&self, header: &[String]) -> Vec<ColumnPlan> {
        header
            .iter()
            .map(|name| {
                let name = name.as_str();
                for c in &self.columns {
                    if c.output.as_deref() == Some(name) {
                        return ColumnPlan::new(Role::Token, self.key_id(), c.id_type);
                    }
                    if c.previous_output.as_deref() == Some(name) {
                        return ColumnPlan::new(
                            Role::PreviousToken,
                            self.previous_key_id(),
                            c.id_type,
                        );
                    }
                    if c.short_code_output.as_deref() == Some(name) {
                        return ColumnPlan::new(Role::ShortCode, None, c.id_type);
                    }
                }
                if self.kept.iter().any(|k| k == name) {
                    ColumnPlan::new(Role::Kept, None, None)
                } else {
                    ColumnPlan::new(Role::Undeclared, None, None)
                }
            })
            .collect()
    }

    /// The column names the manifest says the token file has.
    pub(crate) fn declared_columns(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.kept.iter().map(String::as_str).collect();
        for c in &self.columns {
            names.extend(c.output.as_deref());
            names.extend(c.previous_output.as_deref());
            names.extend(c.short_code_output.as_deref());
        }
        names
    }
}

fn key_ref(w: &mut Walker, k: &Value, base: &str, malformed: &mut Vec<Finding>) -> KeyRef {
    let id =
        w.string(k, base, "id")
            .and_then(|s| match s.parse::<KeyId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    malformed.push(
                Finding::new(
                    "manifest_malformed",
                    format!("manifest field `{base}.id` is not a key ID (16 lowercase hex digits)"),
                )
                .field(format!("{base}.id")),
            );
                    None
                }
            });
    // `id` and `purpose` describe the key that made the tokens, always a token
    // key; the file's own purpose is `file_purpose`.
    match w.string(k, base, "purpose") {
        Some(p) if p.parse::<KeyPurpose>().is_err() => malformed.push(
            Finding::new(
                "manifest_malformed",
                format!("manifest field `{base}.purpose` is not a key purpose"),
            )
            .field(format!("{base}.purpose")),
        ),
        Some(p) if p != KeyPurpose::Token.as_str() => malformed.push(
            Finding::new(
                "manifest_inconsistent",
                format!(
                    "`{base}.purpose` is `{}`, but `{base}.id` names the key that made the tokens, a token key (the key file's own purpose goes in `{base}.file_purpose`)",
                    safe_name(&p)
                ),
            )
            .field(format!("{base}.purpose")),
        ),
        _ => {}
    }
    let file_purpose = w.string(k, base, "file_purpose");
    let file_purpose = match file_purpose.as_deref().map(str::parse::<KeyPurpose>) {
        Some(Ok(p @ (KeyPurpose::Master | KeyPurpose::Token))) => Some(p),
        Some(_) => {
            malformed.push(
                Finding::new(
                    "manifest_malformed",
                    format!(
                        "manifest field `{base}.file_purpose` is not the purpose of a key that makes tokens (master or token)"
                    ),
                )
                .field(format!("{base}.file_purpose")),
            );
            None
        }
        None => None,
    };
    let master_id = w.opt_string(k, base, "master_id");
    if let Some(m) = &master_id
        && m.parse::<KeyId>().is_err()
    {
        malformed.push(
            Finding::new(
                "manifest_malformed",
                format!(
                    "manifest field `{base}.master_id` is not a key ID (16 lowercase hex digits)"
                ),
            )
            .field(format!("{base}.master_id")),
        );
    }
    // A master key file's token key is derived from it, and the manifest names the
    // master; a token key file is the token key itself.
    match (file_purpose, &master_id) {
        (Some(KeyPurpose::Master), None) => malformed.push(
            Finding::new(
                "manifest_inconsistent",
                format!("the key file is a master key, but `{base}.master_id` is missing"),
            )
            .field(format!("{base}.master_id")),
        ),
        (Some(KeyPurpose::Master), Some(m)) if id.is_some() && m.parse::<KeyId>().ok() == id => {
            malformed.push(
                Finding::new(
                    "manifest_inconsistent",
                    format!(
                        "`{base}.id` is the master key's own ID: a master key never makes tokens, its derived token key does"
                    ),
                )
                .field(format!("{base}.id")),
            );
        }
        (Some(KeyPurpose::Token), Some(_)) => malformed.push(
            Finding::new(
                "manifest_inconsistent",
                format!("the key file is a token key, yet `{base}.master_id` names a master"),
            )
            .field(format!("{base}.master_id")),
        ),
        _ => {}
    }
    w.string(k, base, "file");
    KeyRef { id }
}

fn recorded(w: &mut Walker, f: &Value, base: &str) -> Option<Recorded> {
    let path = w.string(f, base, "path");
    let sha256 = w.string(f, base, "sha256");
    let bytes = w.uint(f, base, "bytes");
    let format = w.opt_format(f, base, "format");
    Some(Recorded {
        path: path?,
        sha256: sha256?,
        bytes: Some(bytes?),
        format,
    })
}
