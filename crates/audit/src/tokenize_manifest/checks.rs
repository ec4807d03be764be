//! The checks a tokenize manifest allows on its own: fields well formed, counts
//! that add up, known reason codes, the profile (`profile.rs`), unique names, the
//! reject-rate record recomputed, and timestamps in order.

use std::collections::{BTreeMap, HashSet};

use blindmatch_token::{Rejection, token};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Column, Manifest};
use crate::files;
use crate::report::{Finding, safe_name};

impl Manifest {
    /// Checks that need nothing but the manifest: fields well formed, counts adding
    /// up, known reason codes, the profile digest, timestamps.
    pub(crate) fn internal_findings(&self) -> Vec<Finding> {
        let mut out = self.malformed.clone();
        let inconsistent = |field: &str, message: String| {
            Finding::new("manifest_inconsistent", message).field(field)
        };
        if let Some(c) = self.command.as_deref().filter(|c| *c != "tokenize") {
            out.push(inconsistent(
                "command",
                format!("manifest was written by `{}`, not `tokenize`", safe_name(c)),
            ));
        }
        if let Some(f) = self
            .token_format
            .as_deref()
            .filter(|f| *f != token::TOKEN_PREFIX)
        {
            out.push(inconsistent(
                "token.format",
                format!(
                    "token format `{}` is not `{}`",
                    safe_name(f),
                    token::TOKEN_PREFIX
                ),
            ));
        }
        if let Some(n) = self.mac_bytes.filter(|_| self.mac_len().is_none()) {
            out.push(inconsistent(
                "token.mac_bytes",
                format!(
                    "token MAC length {n} bytes is outside {} to {}",
                    token::MIN_LEN,
                    token::FULL_LEN
                ),
            ));
        }
        if let (Some(a), Some(b)) = (self.key_id(), self.previous_key_id())
            && a == b
        {
            out.push(inconsistent(
                "previous_key.id",
                "the previous key is the same key as the key".to_owned(),
            ));
        }
        self.check_profile(&mut out);
        for (field, file) in [
            ("input", &self.input),
            ("output", &self.output),
            ("rejects_file", &self.rejects_file),
        ] {
            if let Some(f) = file
                && !files::is_sha256_hex(&f.sha256)
            {
                out.push(
                    Finding::new(
                        "manifest_malformed",
                        format!("manifest field `{field}.sha256` is not 64 lowercase hex digits"),
                    )
                    .field(format!("{field}.sha256")),
                );
            }
        }
        self.check_counts(&mut out);
        self.check_names(&mut out);
        self.check_rate(&mut out);
        self.check_times(&mut out);
        out
    }

    fn check_counts(&self, out: &mut Vec<Finding>) {
        let inconsistent = |field: String, message: String| {
            Finding::new("manifest_inconsistent", message).field(field)
        };
        let read = self.rows.read;
        if let (Some(r), Some(w)) = (read, self.rows.written)
            && r != w
        {
            out.push(inconsistent(
                "rows.written".into(),
                format!(
                    "rows written ({w}) differ from rows read ({r}); tokenize never drops a row"
                ),
            ));
        }
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        let mut rejected_total = 0u64;
        let mut rejected_max = 0u64;
        for (i, c) in self.columns.iter().enumerate() {
            let base = format!("columns[{i}]");
            if let (Some(t), Some(e), Some(r), Some(read)) = (c.tokens, c.empty, c.rejected, read)
                && t.checked_add(e).and_then(|s| s.checked_add(r)) != Some(read)
            {
                out.push(inconsistent(
                    base.clone(),
                    format!(
                        "column {}: tokens {t} + empty {e} + rejected {r} do not add up to the {read} rows read",
                        column_name(c)
                    ),
                ));
            }
            if let Some(reasons) = &c.rejects {
                let mut sum = 0u64;
                for (code, n) in reasons {
                    sum = sum.saturating_add(*n);
                    *by_reason.entry(code.as_str()).or_default() += n;
                    if Rejection::from_code(code).is_none() {
                        out.push(inconsistent(
                            format!("{base}.rejects"),
                            format!(
                                "column {}: `{}` is not a rejection reason",
                                column_name(c),
                                safe_name(code)
                            ),
                        ));
                    }
                }
                if let Some(r) = c.rejected
                    && r != sum
                {
                    out.push(inconsistent(
                        format!("{base}.rejects"),
                        format!(
                            "column {}: rejects by reason add up to {sum}, but {r} cells are recorded as rejected",
                            column_name(c)
                        ),
                    ));
                }
            }
            rejected_total = rejected_total.saturating_add(c.rejected.unwrap_or(0));
            rejected_max = rejected_max.max(c.rejected.unwrap_or(0));
        }
        if let Some(total) = &self.rejects {
            let total: BTreeMap<&str, u64> = total.iter().map(|(k, n)| (k.as_str(), *n)).collect();
            if total != by_reason {
                out.push(inconsistent(
                    "rejects".into(),
                    "rejects by reason over the whole file differ from the sum of the columns' rejects".into(),
                ));
            }
        }
        if let Some(w) = self.rows.with_rejects {
            let too_many = read.is_some_and(|r| w > r) || w > rejected_total;
            if too_many || w < rejected_max {
                out.push(inconsistent(
                    "rows.with_rejects".into(),
                    format!(
                        "{w} rows with rejects is impossible with {rejected_total} rejected cells ({rejected_max} in the worst column)"
                    ),
                ));
            }
        }
    }

    fn check_names(&self, out: &mut Vec<Finding>) {
        let mut seen = HashSet::new();
        for name in self.declared_columns() {
            if !seen.insert(name) {
                out.push(
                    Finding::new(
                        "manifest_inconsistent",
                        format!("output column '{}' is declared twice", safe_name(name)),
                    )
                    .field("columns"),
                );
            }
        }
        let kept: HashSet<&str> = self.kept.iter().map(String::as_str).collect();
        let mut inputs = HashSet::new();
        for c in &self.columns {
            if let Some(input) = c.input.as_deref() {
                if !inputs.insert(input) {
                    out.push(
                        Finding::new(
                            "manifest_inconsistent",
                            format!("input column '{}' is declared twice", safe_name(input)),
                        )
                        .field("columns"),
                    );
                }
                if self.dropped.iter().any(|d| d == input) {
                    out.push(
                        Finding::new(
                            "manifest_inconsistent",
                            format!(
                                "identifier column '{}' is also listed as dropped",
                                safe_name(input)
                            ),
                        )
                        .field("dropped_columns"),
                    );
                }
            }
        }
        for d in &self.dropped {
            if kept.contains(d.as_str()) {
                out.push(
                    Finding::new(
                        "manifest_inconsistent",
                        format!("column '{}' is listed as kept and as dropped", safe_name(d)),
                    )
                    .field("dropped_columns"),
                );
            }
        }
    }

    fn check_rate(&self, out: &mut Vec<Finding>) {
        let Some(check) = &self.rate_check else {
            return;
        };
        let mut worst: Option<(f64, Option<&str>)> = None;
        for c in &self.columns {
            let (Some(t), Some(r)) = (c.tokens, c.rejected) else {
                return;
            };
            let rate = if t + r == 0 {
                0.0
            } else {
                r as f64 / (t + r) as f64
            };
            if worst.is_none_or(|(w, _)| rate > w) {
                worst = Some((rate, c.input.as_deref()));
            }
        }
        let computed = worst.map_or(0.0, |(w, _)| w);
        if let Some(recorded) = check.worst_rate
            && (recorded - computed).abs() > 1e-9
        {
            out.push(
                Finding::new(
                    "manifest_inconsistent",
                    format!(
                        "recorded worst reject rate {recorded:.6} is not the {computed:.6} the column counts give"
                    ),
                )
                .field("reject_rate_check.worst_rate"),
            );
        }
        if let (Some(max), Some(passed)) = (check.max_rate, check.passed)
            && passed != (computed <= max)
        {
            out.push(
                Finding::new(
                    "manifest_inconsistent",
                    format!(
                        "reject-rate check recorded as {}, but the counts give {computed:.6} against the limit {max:.6}",
                        if passed { "passed" } else { "failed" }
                    ),
                )
                .field("reject_rate_check.passed"),
            );
        }
        if computed > 0.0
            && let (Some(recorded), Some((_, Some(column)))) =
                (check.worst_column.as_deref(), worst)
            && recorded != column
        {
            out.push(
                Finding::new(
                    "manifest_inconsistent",
                    "the recorded worst column is not the one with the highest reject rate"
                        .to_owned(),
                )
                .field("reject_rate_check.worst_column"),
            );
        }
    }

    fn check_times(&self, out: &mut Vec<Finding>) {
        let parse = |field: &str, s: &Option<String>, out: &mut Vec<Finding>| {
            let s = s.as_deref()?;
            match OffsetDateTime::parse(s, &Rfc3339) {
                Ok(t) => Some(t),
                Err(_) => {
                    out.push(
                        Finding::new(
                            "manifest_malformed",
                            format!("manifest field `{field}` is not an RFC 3339 time"),
                        )
                        .field(field),
                    );
                    None
                }
            }
        };
        let started = parse("started_at", &self.started_at, out);
        let finished = parse("finished_at", &self.finished_at, out);
        if let (Some(s), Some(f)) = (started, finished) {
            let span = (f - s).as_seconds_f64();
            if span < 0.0 {
                out.push(
                    Finding::new(
                        "manifest_inconsistent",
                        "finished_at is before started_at".to_owned(),
                    )
                    .field("finished_at"),
                );
            } else if let Some(e) = self.elapsed_seconds
                && (e < 0.0 || e > span + 1.0)
            {
                out.push(
                    Finding::new(
                        "manifest_inconsistent",
                        format!("elapsed_seconds {e:.3} does not fit between started_at and finished_at ({span:.3} s)"),
                    )
                    .field("elapsed_seconds"),
                );
            }
        }
    }
}

fn column_name(c: &Column) -> String {
    format!(
        "'{}'",
        safe_name(c.input.as_deref().or(c.output.as_deref()).unwrap_or("?"))
    )
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::plan::Role;
    use blindmatch_token::{IdType, Profile, unicode_case_version, unicode_version};
    use serde_json::Value;
    use std::path::Path;

    pub(in crate::tokenize_manifest) fn sample() -> Value {
        serde_json::json!({
            "format": "blindmatch-manifest",
            "version": 1,
            "command": "tokenize",
            "tool": {"name": "blindmatch", "version": env!("CARGO_PKG_VERSION")},
            "profile": {
                "types": {
                    "phone": Profile::standard().type_string(IdType::Phone),
                    "email": Profile::standard().type_string(IdType::Email)
                },
                "name": "bm-std-v1",
                "unicode": unicode_version(),
                "unicode_case": unicode_case_version(),
                "all_types_digest": Profile::standard().digest().to_hex()
            },
            "token": {"format": "bm1", "mac_bytes": 32},
            "key": {"id": "f69c05abe2efc61d", "purpose": "token", "master_id": "0123456789abcdef",
                    "file": "a.key", "file_purpose": "master"},
            "input": {"path": "in.csv", "sha256": "ab".repeat(32), "bytes": 82},
            "output": {"path": "t.csv", "sha256": "cd".repeat(32), "bytes": 294},
            "columns": [
                {"input": "phone", "type": "phone", "output": "phone", "tokens": 2, "empty": 0,
                 "rejected": 1, "rejects": {"invalid_character": 1}},
                {"input": "email", "type": "email", "output": "email", "tokens": 2, "empty": 1,
                 "rejected": 0, "rejects": {}}
            ],
            "kept_columns": ["id", "note"],
            "dropped_columns": [],
            "rejected_cells": "written empty",
            "rows": {"read": 3, "written": 3, "with_rejects": 1},
            "rejects": {"invalid_character": 1},
            "started_at": "2026-11-22T13:40:50.639005377Z",
            "finished_at": "2026-11-22T13:40:50.651503743Z",
            "elapsed_seconds": 0.012
        })
    }

    pub(in crate::tokenize_manifest) fn checks(v: &Value) -> Vec<(&'static str, Option<String>)> {
        Manifest::from_value(Path::new("m.json"), v)
            .internal_findings()
            .into_iter()
            .map(|f| (f.check, f.field))
            .collect()
    }

    #[test]
    fn a_consistent_manifest_has_no_findings() {
        assert_eq!(checks(&sample()), vec![]);
        let m = Manifest::from_value(Path::new("m.json"), &sample());
        let header: Vec<String> = ["id", "phone", "email", "note", "extra"]
            .map(String::from)
            .to_vec();
        let roles: Vec<Role> = m.plan(&header).into_iter().map(|p| p.role).collect();
        assert_eq!(
            roles,
            vec![
                Role::Kept,
                Role::Token,
                Role::Token,
                Role::Kept,
                Role::Undeclared
            ]
        );
    }

    #[test]
    fn altered_fields_are_caught() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/columns/0/tokens", 3.into(), "columns[0]"),
            ("/rows/read", 4.into(), "rows.written"),
            ("/columns/0/rejected", 0.into(), "columns[0]"),
            ("/rejects/invalid_character", 2.into(), "rejects"),
            ("/key/id", "not-a-key-id".into(), "key.id"),
            ("/key/master_id", "not-a-key-id".into(), "key.master_id"),
            (
                "/profile/all_types_digest",
                "00".repeat(32).into(),
                "profile.all_types_digest",
            ),
            ("/output/sha256", "xyz".into(), "output.sha256"),
            ("/token/mac_bytes", 8.into(), "token.mac_bytes"),
            ("/rows/with_rejects", 2.into(), "rows.with_rejects"),
            ("/finished_at", "2026-11-22T13:40:49Z".into(), "finished_at"),
            ("/columns/1/type", "mobile".into(), "columns[1].type"),
        ];
        for (pointer, value, field) in cases {
            let mut v = sample();
            *v.pointer_mut(pointer).unwrap() = value;
            let found = checks(&v);
            assert!(
                found.iter().any(|(_, f)| f.as_deref() == Some(field)),
                "{pointer}: {found:?}"
            );
        }
        let mut v = sample();
        v.as_object_mut().unwrap().remove("output");
        assert!(checks(&v).contains(&("manifest_malformed", Some("output".into()))));
        let mut v = sample();
        v["columns"][0]["rejects"] = serde_json::json!({"made_up": 1});
        assert!(
            checks(&v)
                .iter()
                .any(|(c, _)| *c == "manifest_inconsistent")
        );
    }

    #[test]
    fn the_key_block_names_the_token_key_and_the_file_apart() {
        let cases: Vec<(&str, Value, (&str, &str))> = vec![
            // A derived token key's ID beside the master's purpose.
            (
                "/key/purpose",
                "master".into(),
                ("manifest_inconsistent", "key.purpose"),
            ),
            (
                "/key/purpose",
                "psi".into(),
                ("manifest_malformed", "key.purpose"),
            ),
            (
                "/key/file_purpose",
                "short-code".into(),
                ("manifest_malformed", "key.file_purpose"),
            ),
            (
                "/key/file_purpose",
                "token".into(),
                ("manifest_inconsistent", "key.master_id"),
            ),
            (
                "/key/master_id",
                "f69c05abe2efc61d".into(),
                ("manifest_inconsistent", "key.id"),
            ),
        ];
        for (pointer, value, (check, field)) in cases {
            let mut v = sample();
            *v.pointer_mut(pointer).unwrap() = value;
            let found = checks(&v);
            assert!(
                found.contains(&(check, Some(field.to_owned()))),
                "{pointer}: {found:?}"
            );
        }
        let mut v = sample();
        v["key"].as_object_mut().unwrap().remove("master_id");
        assert_eq!(
            checks(&v),
            vec![("manifest_inconsistent", Some("key.master_id".into()))]
        );
        // A token key file: no master.
        v["key"]["file_purpose"] = "token".into();
        assert_eq!(checks(&v), vec![]);
        v["key"].as_object_mut().unwrap().remove("file_purpose");
        assert_eq!(
            checks(&v),
            vec![("manifest_malformed", Some("key.file_purpose".into()))]
        );
    }

    #[test]
    fn rate_checks_are_recomputed() {
        let mut v = sample();
        v["reject_rate_check"] = serde_json::json!({
            "max_rate": 0.5, "worst_rate": 1.0 / 3.0, "worst_column": "phone", "passed": true
        });
        assert_eq!(checks(&v), vec![]);
        v["reject_rate_check"]["passed"] = false.into();
        assert_eq!(
            checks(&v),
            vec![(
                "manifest_inconsistent",
                Some("reject_rate_check.passed".into())
            )]
        );
        v["reject_rate_check"]["passed"] = true.into();
        v["reject_rate_check"]["worst_rate"] = 0.1.into();
        assert_eq!(
            checks(&v),
            vec![(
                "manifest_inconsistent",
                Some("reject_rate_check.worst_rate".into())
            )]
        );
    }

    /// `manifest_findings` reads a manifest's bytes as `audit manifest` reads its
    /// file: the same findings, and the same error naming the file.
    #[test]
    fn manifests_read_from_bytes_as_from_files() {
        let mut v = sample();
        v["rows"]["read"] = 4.into();
        v["command"] = "+86 138 0013 8000".into();
        let bytes = serde_json::to_vec_pretty(&v).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let shown = |f: crate::report::Finding| (f.check, f.field, f.message);
        std::fs::write(&path, &bytes).unwrap();
        let from_file: Vec<_> = Manifest::load(&path)
            .unwrap()
            .internal_findings()
            .into_iter()
            .map(shown)
            .collect();
        let from_bytes: Vec<_> = crate::manifest_findings(&bytes, &path)
            .unwrap()
            .into_iter()
            .map(shown)
            .collect();
        assert!(!from_file.is_empty());
        assert_eq!(from_file, from_bytes);
        for bad in [
            &b"{"[..],
            br#"{"format": "blindmatch-manifest", "version": 2}"#,
        ] {
            std::fs::write(&path, bad).unwrap();
            let from_file = Manifest::load(&path).unwrap_err();
            let from_bytes = crate::manifest_findings(bad, &path).unwrap_err();
            assert_eq!(from_file.to_string(), from_bytes.to_string());
            assert!(from_bytes.to_string().contains("m.json"), "{from_bytes}");
        }
    }
}
