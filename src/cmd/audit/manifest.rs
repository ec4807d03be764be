//! `blindmatch audit manifest`, and the manifest checks `audit tokens --manifest`
//! shares: reading a tokenize manifest defensively, its internal consistency
//! (counts that must add up, reason codes, profile digest, timestamps), and its
//! agreement with the token file (hash, size, header, row and token counts, key IDs
//! and MAC lengths of the tokens actually in the file).
//!
//! A manifest is not signed. What can be detected from files alone is listed in
//! `docs/compliance.md`: a change to the token file, or to one manifest field that
//! other fields or the file contradict. A forger who rewrites the file and every
//! dependent field consistently is not detectable without a copy of the manifest
//! kept elsewhere (its SHA-256 in a ticket or a signature).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use blindmatch_token::{IdType, Key, KeyId, KeyPurpose, Profile, Rejection, token};
use clap::Args as ClapArgs;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ReportArgs;
use super::files::{self, FileCheck, Recorded};
use super::json::{self, Walker};
use super::report::{self, Finding, group, safe_name};
use super::tokens::{self, ColumnPlan, FileStats, Inspect, Role};
use crate::error::{ExitStatus, Failure};
use blindmatch_data::dataset::{
    Cell, CsvReader, InputSource, Record, normalize_cell, parse_delimiter,
};

/// Check that a tokenize manifest matches its token file and is internally
/// consistent; with --key, that the key is the one the manifest names.
///
/// The token file is found from the path recorded in the manifest (relative to the
/// manifest's folder, then to the current folder) unless --output names it. Exit
/// code 0 when every check passes, 3 when any fails.
///
/// Example:
///
///   blindmatch audit manifest tokens.csv.manifest.json --key acme.key
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The manifest written by `blindmatch tokenize`.
    #[arg(value_name = "MANIFEST")]
    manifest: PathBuf,

    /// Key file: checks that the ID of the key it makes tokens with (for a master
    /// key, its derived token key) is the manifest's key (or previous key).
    #[arg(long, value_name = "KEY_FILE")]
    key: Option<PathBuf>,

    /// The token file, when it is not where the manifest says.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The raw input file, to check it against the input SHA-256 recorded.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    /// Field delimiter of the token file: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    #[command(flatten)]
    report: ReportArgs,
}

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
    /// Bad input (exit 2) when the file is unreadable, not JSON, not a manifest or of
    /// an unsupported version. Missing or mistyped fields are findings instead.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Manifest> {
        let value = json::load(path, "manifest", FORMAT, VERSION)?;
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
        let (profile_name, profile_digest) = match w.object(v, "", "profile") {
            Some(p) => (
                w.string(p, "profile", "name"),
                w.string(p, "profile", "digest"),
            ),
            None => (None, None),
        };
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
    fn declared_columns(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.kept.iter().map(String::as_str).collect();
        for c in &self.columns {
            names.extend(c.output.as_deref());
            names.extend(c.previous_output.as_deref());
            names.extend(c.short_code_output.as_deref());
        }
        names
    }

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

    fn check_profile(&self, out: &mut Vec<Finding>) {
        let (Some(name), Some(digest)) = (&self.profile_name, &self.profile_digest) else {
            return;
        };
        let Ok(profile) = name.parse::<Profile>() else {
            out.push(
                Finding::new(
                    "manifest_inconsistent",
                    "profile name is not a profile this build knows".to_owned(),
                )
                .field("profile.name"),
            );
            return;
        };
        let ours = profile.digest().to_hex();
        if ours != *digest {
            let same_build = self.tool_version.as_deref() == Some(env!("CARGO_PKG_VERSION"));
            let message = format!(
                "profile digest {} is not the digest of profile `{}` ({}){}",
                files::short(digest),
                profile.name(),
                files::short(&ours),
                if same_build {
                    ""
                } else {
                    " in this build; the manifest names another blindmatch version"
                }
            );
            out.push(Finding::new("profile_digest_mismatch", message).field("profile.digest"));
        }
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

    /// Checks of the manifest against what is actually in the token file.
    pub(crate) fn cross_check(&self, stats: &FileStats, findings: &mut Vec<Finding>) {
        let declared: BTreeSet<&str> = self.declared_columns().into_iter().collect();
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
        if let Some(written) = self.rows.written
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
        for (i, c) in self.columns.iter().enumerate() {
            let base = format!("columns[{i}]");
            let find = |name: Option<&str>| {
                name.and_then(|n| stats.columns.iter().find(|s| s.header == n))
            };
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

    /// Checks a rejects file against the manifest: hash, size, and one line per
    /// rejected cell.
    fn check_rejects_file(
        &self,
        path: Option<&Path>,
        findings: &mut Vec<Finding>,
        notes: &mut Vec<String>,
    ) -> anyhow::Result<Option<FileCheck>> {
        let Some(recorded) = &self.rejects_file else {
            return Ok(None);
        };
        let Some(path) = path else {
            notes.push(
                "the rejects file named in the manifest is not at hand; not checked".to_owned(),
            );
            return Ok(Some(files::check(
                "rejects file",
                None,
                recorded,
                findings,
            )?));
        };
        let parsed =
            files::parse_or_finding("rejects file", path, Some(recorded), findings, || {
                Ok(CsvReader::open(&InputSource::File(path.to_path_buf()), b',')?.finish()?)
            })?;
        let summary = match parsed {
            Ok(summary) => summary,
            Err(check) => return Ok(Some(check)),
        };
        let check = files::compare(
            "rejects file",
            path,
            summary.sha256,
            summary.bytes,
            recorded,
            findings,
        );
        let lines = summary.rows;
        let rejected: u64 = self.columns.iter().filter_map(|c| c.rejected).sum();
        if lines != rejected {
            findings.push(Finding::new(
                "count_mismatch",
                format!(
                    "the rejects file lists {lines} cells, the manifest records {rejected} rejected cells"
                ),
            ));
        }
        Ok(Some(check))
    }
}

/// What tokenize must have recorded, counted again from the raw source: per
/// identifier column, tokens, empty and rejected cells by reason, and rows with a
/// rejected cell. Normalising needs no key, so this check needs only the source.
#[derive(Debug)]
pub(crate) struct Recount {
    profile: Option<Profile>,
    /// (manifest column index, source column index, type).
    columns: Vec<(usize, usize, IdType)>,
    counts: Vec<RecountColumn>,
    rows: u64,
    rows_with_rejects: u64,
    buf: String,
}

/// One identifier column as recounted.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RecountColumn {
    /// The input column.
    pub(crate) column: String,
    /// Cells that normalise (and so were tokenised).
    pub(crate) tokens: u64,
    /// Empty cells.
    pub(crate) empty: u64,
    /// Rejected cells.
    pub(crate) rejected: u64,
    /// Rejected cells by reason.
    pub(crate) rejects: BTreeMap<&'static str, u64>,
}

/// The recount as reported.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RecountReport {
    /// Data rows of the source.
    pub(crate) rows: u64,
    /// Rows with at least one rejected cell.
    pub(crate) rows_with_rejects: u64,
    /// Per identifier column.
    pub(crate) columns: Vec<RecountColumn>,
}

impl Recount {
    /// Plans the recount for a source with this header; columns the source lacks
    /// are findings.
    pub(crate) fn new(
        manifest: &Manifest,
        header: &[String],
        findings: &mut Vec<Finding>,
    ) -> Recount {
        let profile = manifest
            .profile_name
            .as_deref()
            .and_then(|n| n.parse::<Profile>().ok());
        let mut columns = Vec::new();
        let mut counts = Vec::new();
        for (i, c) in manifest.columns.iter().enumerate() {
            let (Some(input), Some(id_type)) = (c.input.as_deref(), c.id_type) else {
                continue;
            };
            match header.iter().position(|h| h == input) {
                Some(index) => {
                    columns.push((i, index, id_type));
                    counts.push(RecountColumn {
                        column: safe_name(input),
                        tokens: 0,
                        empty: 0,
                        rejected: 0,
                        rejects: BTreeMap::new(),
                    });
                }
                None => findings.push(
                    Finding::new(
                        "source_column_missing",
                        format!(
                            "the source has no column '{}', which the manifest names as an identifier column",
                            safe_name(input)
                        ),
                    )
                    .column(&safe_name(input)),
                ),
            }
        }
        Recount {
            profile,
            columns,
            counts,
            rows: 0,
            rows_with_rejects: 0,
            buf: String::new(),
        }
    }

    /// Source columns whose cells are normalised (and so must be UTF-8).
    pub(crate) fn text_columns(&self) -> Vec<usize> {
        self.columns.iter().map(|(_, index, _)| *index).collect()
    }

    /// Counts one source record.
    pub(crate) fn add(&mut self, record: &Record) {
        self.rows += 1;
        let Some(profile) = &self.profile else {
            return;
        };
        let mut rejected_here = false;
        for ((_, index, id_type), count) in self.columns.iter().zip(self.counts.iter_mut()) {
            match normalize_cell(profile, *id_type, record.text(*index), &mut self.buf) {
                Cell::Value => count.tokens += 1,
                Cell::Empty => count.empty += 1,
                Cell::Rejected(reason) => {
                    count.rejected += 1;
                    *count.rejects.entry(reason.code()).or_default() += 1;
                    rejected_here = true;
                }
            }
        }
        self.buf.clear();
        self.rows_with_rejects += u64::from(rejected_here);
    }

    /// Compares the counts with the manifest; `None` when the profile is unknown
    /// (nothing could be recounted).
    pub(crate) fn finish(
        self,
        manifest: &Manifest,
        findings: &mut Vec<Finding>,
        notes: &mut Vec<String>,
    ) -> Option<RecountReport> {
        if self.profile.is_none() {
            notes.push(
                "the manifest's profile is unknown to this build: counts were not recomputed from the source"
                    .to_owned(),
            );
            return None;
        }
        let mismatch =
            |field: String, message: String| Finding::new("recount_mismatch", message).field(field);
        for ((i, _, _), count) in self.columns.iter().zip(&self.counts) {
            let Some(c) = manifest.columns.get(*i) else {
                continue;
            };
            let recorded = (c.tokens, c.empty, c.rejected);
            let recounted = (Some(count.tokens), Some(count.empty), Some(count.rejected));
            if recorded != recounted {
                findings.push(
                    mismatch(
                        format!("columns[{i}]"),
                        format!(
                            "column '{}': the source gives {} tokens, {} empty and {} rejected cells; the manifest records {}, {} and {}",
                            count.column,
                            count.tokens,
                            count.empty,
                            count.rejected,
                            show(c.tokens),
                            show(c.empty),
                            show(c.rejected)
                        ),
                    )
                    .column(&count.column),
                );
            }
            let recorded: Option<BTreeMap<&str, u64>> = c
                .rejects
                .as_ref()
                .map(|r| r.iter().map(|(k, n)| (k.as_str(), *n)).collect());
            let recounted: BTreeMap<&str, u64> =
                count.rejects.iter().map(|(k, n)| (*k, *n)).collect();
            if recorded.is_some_and(|r| r != recounted) {
                findings.push(
                    mismatch(
                        format!("columns[{i}].rejects"),
                        format!(
                            "column '{}': the rejection reasons differ from the source's",
                            count.column
                        ),
                    )
                    .column(&count.column),
                );
            }
        }
        if let Some(read) = manifest.rows.read
            && read != self.rows
        {
            findings.push(mismatch(
                "rows.read".to_owned(),
                format!(
                    "the source has {} rows, the manifest records {read} read",
                    self.rows
                ),
            ));
        }
        if let Some(w) = manifest.rows.with_rejects
            && w != self.rows_with_rejects
        {
            findings.push(mismatch(
                "rows.with_rejects".to_owned(),
                format!(
                    "the source has {} rows with a rejected cell, the manifest records {w}",
                    self.rows_with_rejects
                ),
            ));
        }
        Some(RecountReport {
            rows: self.rows,
            rows_with_rejects: self.rows_with_rejects,
            columns: self.counts,
        })
    }
}

fn show(n: Option<u64>) -> String {
    n.map_or_else(|| "nothing".to_owned(), |n| n.to_string())
}

/// Something else to do with every record of the raw source while it is read.
pub(crate) trait SourceRows {
    /// Sees the header; returns further columns that must be UTF-8.
    fn header(&mut self, header: &[String]) -> Vec<usize>;
    /// Sees one record.
    fn row(&mut self, record: &Record);
}

/// Nothing else to do.
impl SourceRows for () {
    fn header(&mut self, _: &[String]) -> Vec<usize> {
        Vec::new()
    }

    fn row(&mut self, _: &Record) {}
}

/// Reads the raw source once: checks its hash against the manifest and recounts;
/// `also` sees every record too (for the re-tokenised sample).
///
/// # Errors
/// The source cannot be read or is malformed (bad input).
pub(crate) fn check_source(
    path: &Path,
    delimiter: u8,
    manifest: &Manifest,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
    also: &mut dyn SourceRows,
) -> anyhow::Result<(FileCheck, Option<RecountReport>, u64)> {
    let mut reader = CsvReader::open(&InputSource::File(path.to_path_buf()), delimiter)?;
    let mut recount = Recount::new(manifest, reader.header(), findings);
    let mut text = recount.text_columns();
    text.extend(also.header(reader.header()));
    text.sort_unstable();
    text.dedup();
    reader.check_text_columns(text);
    let mut record = Record::default();
    while reader.read(&mut record)? {
        recount.add(&record);
        also.row(&record);
    }
    let summary = reader.finish()?;
    let check = match &manifest.input {
        Some(rec) => files::compare(
            "source file",
            path,
            summary.sha256,
            summary.bytes,
            rec,
            findings,
        ),
        None => FileCheck {
            what: "source file",
            path: safe_name(&path.display().to_string()),
            found: true,
            sha256: Some(summary.sha256),
            bytes: Some(summary.bytes),
            sha256_matches: None,
            size_matches: None,
        },
    };
    let report = recount.finish(manifest, findings, notes);
    Ok((check, report, summary.rows))
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
    if let Some(p) = w.string(k, base, "purpose")
        && p.parse::<KeyPurpose>().is_err()
    {
        malformed.push(
            Finding::new(
                "manifest_malformed",
                format!("manifest field `{base}.purpose` is not a key purpose"),
            )
            .field(format!("{base}.purpose")),
        );
    }
    if let Some(m) = w.opt_string(k, base, "master_id")
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
    w.string(k, base, "file");
    KeyRef { id }
}

fn recorded(w: &mut Walker, f: &Value, base: &str) -> Option<Recorded> {
    let path = w.string(f, base, "path");
    let sha256 = w.string(f, base, "sha256");
    let bytes = w.uint(f, base, "bytes");
    Some(Recorded {
        path: path?,
        sha256: sha256?,
        bytes: Some(bytes?),
    })
}

fn column_name(c: &Column) -> String {
    format!(
        "'{}'",
        safe_name(c.input.as_deref().or(c.output.as_deref()).unwrap_or("?"))
    )
}

/// The key an audit was given with `--key`: the key file's token key, which made the
/// tokens and whose ID the manifest declares (for a master key file, its derived
/// token key; see `KeyFile::token_key`).
pub(crate) struct GivenKey {
    token_key: Key,
}

impl GivenKey {
    /// The token key's ID, as written in every token it makes.
    pub(crate) fn key_id(&self) -> KeyId {
        self.token_key.id()
    }

    /// The token key, for re-tokenising samples.
    pub(crate) fn key(&self) -> &Key {
        &self.token_key
    }
}

impl fmt::Debug for GivenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GivenKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// Loads `--key` and checks its token key against the manifest.
///
/// # Errors
/// The key file cannot be read, or is a short-code key (bad input).
pub(crate) fn check_key(
    path: &Path,
    manifest: Option<&Manifest>,
    findings: &mut Vec<Finding>,
) -> anyhow::Result<GivenKey> {
    let file =
        blindmatch_pipeline::keys::load(path, "--key", &crate::progress::Terminal::default())?;
    // The only error is a purpose that never makes tokens; the message says so.
    let token_key = file.token_key().map_err(|_| {
        anyhow::Error::new(
            Failure::bad_input(format!(
                "--key '{}' is a {} key, which never makes tokens",
                path.display(),
                file.purpose()
            ))
            .hint("give the master or token key the file was tokenised with"),
        )
    })?;
    let given = GivenKey { token_key };
    if let Some(m) = manifest {
        let id = given.key_id();
        let matches = m.key_id() == Some(id) || m.previous_key_id() == Some(id);
        if !matches {
            let declared = m
                .key_id()
                .map_or_else(|| "no valid key ID".to_owned(), |k| k.to_string());
            let what = if file.purpose() == KeyPurpose::Master {
                format!(
                    "the master key given (key ID {}) makes tokens with key ID {id}",
                    file.key_id()
                )
            } else {
                format!("the key given has key ID {id}")
            };
            findings.push(
                Finding::new(
                    "key_id_mismatch",
                    format!("{what}, but the manifest names {declared}"),
                )
                .field("key.id"),
            );
        }
    }
    Ok(given)
}

/// What `audit manifest` reports besides the findings.
#[derive(Debug, Serialize)]
struct Details {
    manifest: String,
    key_id: Option<String>,
    previous_key_id: Option<String>,
    profile: Option<String>,
    output: FileCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<FileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recount: Option<RecountReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejects_file: Option<FileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_given: Option<String>,
    columns: Vec<tokens::ColumnStats>,
}

/// Runs `blindmatch audit manifest`.
///
/// # Errors
/// Bad input (exit 2) for unreadable files; check-failed (exit 3) for findings.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let manifest = Manifest::load(&args.manifest)?;
    let mut findings = manifest.internal_findings();
    let mut notes = Vec::new();
    let key_given = match &args.key {
        Some(path) => Some(
            check_key(path, Some(&manifest), &mut findings)?
                .key_id()
                .to_string(),
        ),
        None => None,
    };
    let Some(recorded) = manifest.output.clone() else {
        return Err(Failure::bad_input(format!(
            "manifest '{}' records no usable output file",
            args.manifest.display()
        ))
        .hint("the manifest is damaged: its `output` field is missing or malformed")
        .into());
    };
    let output_path = match &args.output {
        Some(p) => Some(p.clone()),
        None => files::locate(&recorded.path, &args.manifest),
    };
    let Some(output_path) = output_path else {
        return Err(Failure::bad_input(format!(
            "the token file the manifest names ('{}') is not at hand",
            safe_name(&recorded.path)
        ))
        .hint("give its location with --output FILE")
        .into());
    };
    let delimiter = match manifest.delimiter {
        Some(d) => d,
        None => parse_delimiter(&args.delimiter)?,
    };
    let parsed = files::parse_or_finding(
        "output file",
        &output_path,
        Some(&recorded),
        &mut findings,
        || {
            tokens::inspect(&Inspect {
                source: &InputSource::File(output_path.clone()),
                delimiter,
                manifest: Some(&manifest),
                scan: false,
                max_rows: args.report.max_rows,
                sample: None,
            })
        },
    )?;
    let (output, stats) = match parsed {
        Ok(stats) => {
            let output = files::compare(
                "output file",
                &output_path,
                stats.sha256.clone(),
                stats.bytes,
                &recorded,
                &mut findings,
            );
            manifest.cross_check(&stats, &mut findings);
            tokens::column_findings(&stats, Some(&manifest), &mut findings);
            tokens::delimiter_note(&stats, &mut notes);
            (output, Some(stats))
        }
        Err(output) => (output, None),
    };
    let (input, recount) = match &args.input {
        Some(path) => {
            let (check, recount, _) = check_source(
                path,
                delimiter,
                &manifest,
                &mut findings,
                &mut notes,
                &mut (),
            )?;
            (Some(check), recount)
        }
        None => {
            notes.push(
                "the raw input was not given (--input): its hash and the counts were not checked against it"
                    .to_owned(),
            );
            (None, None)
        }
    };
    let rejects_path = manifest
        .rejects_file
        .as_ref()
        .and_then(|r| files::locate(&r.path, &args.manifest));
    let rejects_file =
        manifest.check_rejects_file(rejects_path.as_deref(), &mut findings, &mut notes)?;
    notes.push(
        "a manifest is not signed: record its SHA-256 where it cannot be changed (see docs/compliance.md)".to_owned(),
    );
    let details = Details {
        manifest: safe_name(&args.manifest.display().to_string()),
        key_id: manifest.key_id().map(|k| k.to_string()),
        previous_key_id: manifest.previous_key_id().map(|k| k.to_string()),
        profile: manifest.profile_name.as_deref().map(safe_name),
        output,
        input,
        recount,
        rejects_file,
        rows: stats.as_ref().map(|s| s.rows),
        key_given,
        columns: stats.map(|s| s.columns).unwrap_or_default(),
    };
    let subject = format!("'{}'", safe_name(&args.manifest.display().to_string()));
    report::emit(
        "manifest",
        &subject,
        details,
        findings,
        notes,
        args.report.json,
        human,
    )
}

fn human(d: &Details) -> String {
    let mut s = format!("audit manifest: '{}'\n", d.manifest);
    s.push_str(&format!(
        "  key {}{}, profile {}\n",
        d.key_id.as_deref().unwrap_or("(none)"),
        d.previous_key_id
            .as_deref()
            .map(|p| format!(" (previous key {p})"))
            .unwrap_or_default(),
        d.profile.as_deref().unwrap_or("(none)")
    ));
    for check in [Some(&d.output), d.input.as_ref(), d.rejects_file.as_ref()]
        .into_iter()
        .flatten()
    {
        s.push_str(&format!("  {}\n", describe_check(check)));
    }
    if let Some(recount) = &d.recount {
        s.push_str(&format!(
            "  counts recomputed from the input's {} rows for {}\n",
            group(recount.rows),
            report::counted(
                recount.columns.len() as u64,
                "identifier column",
                "identifier columns"
            )
        ));
    }
    if let Some(k) = &d.key_given {
        s.push_str(&format!("  key given: {k}\n"));
    }
    if let Some(rows) = d.rows {
        s.push_str(&format!(
            "  {} rows, {} columns in the token file\n",
            group(rows),
            d.columns.len()
        ));
    }
    s
}

/// One line about a file check.
pub(crate) fn describe_check(c: &FileCheck) -> String {
    if !c.found {
        return format!("{} '{}': not at hand, not checked", c.what, c.path);
    }
    let verdict = match (c.sha256_matches, c.size_matches) {
        (Some(true), Some(false)) => "SHA-256 matches, SIZE DIFFERS",
        (Some(true), _) => "SHA-256 and size match the record",
        (Some(false), _) => "SHA-256 DIFFERS from the record",
        (None, _) => "not compared",
    };
    format!("{} '{}': {verdict}", c.what, c.path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Value {
        serde_json::json!({
            "format": "blindmatch-manifest",
            "version": 1,
            "command": "tokenize",
            "tool": {"name": "blindmatch", "version": env!("CARGO_PKG_VERSION")},
            "profile": {"name": "bm-std-v1", "digest": Profile::standard().digest().to_hex()},
            "token": {"format": "bm1", "mac_bytes": 32},
            "key": {"id": "f69c05abe2efc61d", "purpose": "master", "master_id": "0123456789abcdef", "file": "a.key"},
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

    fn checks(v: &Value) -> Vec<(&'static str, Option<String>)> {
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
            ("/profile/digest", "00".repeat(32).into(), "profile.digest"),
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
}
