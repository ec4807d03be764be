//! The JSON manifest written beside a token file: which tool, profile and key made
//! it, from which input (by SHA-256), with which column mapping, and how many
//! cells were tokenised, empty or rejected (and why).
//!
//! A manifest lets an auditor check a token file without seeing any raw data or
//! key: it holds hashes, key IDs, column names, counts and reason codes only.
//! Nothing in here is ever built from a cell value or key bytes.

use std::collections::BTreeMap;

use blindmatch_data::{Error, FailWith, Result};
use serde::Serialize;

pub use blindmatch_data::meta::{FileInfo, ProfileInfo, Tool};

/// The value of the manifest's `format` field.
pub const FORMAT: &str = "blindmatch-manifest";
/// The manifest layout version; bumped when a field changes meaning or is removed.
pub const VERSION: u32 = 1;

/// The manifest of one `blindmatch tokenize` run.
#[derive(Debug, Clone, Serialize)]
pub struct TokenizeManifest {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// The command that wrote it (`tokenize`).
    pub command: &'static str,
    /// The program and its version.
    pub tool: Tool,
    /// The normalisation profile: per identifier type of the run, the per-type
    /// profile string partners compare (as hellos and receipts carry it).
    pub profile: ProfileInfo,
    /// The token format written (`bm1`) and MAC length in bytes.
    pub token: TokenInfo,
    /// The key the tokens were made with.
    pub key: KeyInfo,
    /// The previous key (`--previous-key`), for rotation mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_key: Option<KeyInfo>,
    /// The input read.
    pub input: FileInfo,
    /// The token file written.
    pub output: FileInfo,
    /// The rejects file, if one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejects_file: Option<FileInfo>,
    /// The short-code registry file, if one was given (`--short-code-registry`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_code_registry: Option<RegistryInfo>,
    /// One entry per identifier column, in `--column` order.
    pub columns: Vec<ColumnInfo>,
    /// Columns copied unchanged.
    pub kept_columns: Vec<String>,
    /// Input columns not written to the output.
    pub dropped_columns: Vec<String>,
    /// What happens to a rejected cell in the output.
    pub rejected_cells: &'static str,
    /// Row counts.
    pub rows: RowCounts,
    /// Rejected cells over all identifier columns, by reason code.
    pub rejects: BTreeMap<&'static str, u64>,
    /// The `--max-reject-rate` check, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_rate_check: Option<RateCheck>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When the run finished (RFC 3339, UTC).
    pub finished_at: String,
    /// Wall-clock duration in seconds.
    pub elapsed_seconds: f64,
}

/// The token encoding.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// Format prefix, `bm1`.
    pub format: &'static str,
    /// MAC bytes in each token.
    pub mac_bytes: usize,
}

/// A key, by ID and purpose only.
///
/// `id` and `purpose` describe one key, the key that made the tokens: always a
/// token key, whose ID every token carries. The key file given may hold that token
/// key itself (`file_purpose` `token`) or a master key it was derived from
/// (`file_purpose` `master`, and `master_id` names the master).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// The public ID of the key that made the tokens (reveals nothing about the
    /// key): for a master key file, of its derived token key, as in every token.
    pub id: String,
    /// The purpose of the key `id` names: always [`TOKEN_KEY_PURPOSE`].
    pub purpose: &'static str,
    /// For a master key file, the master key's own ID (its `key-id:` line), so the
    /// file can be found again; the token key is derived from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_id: Option<String>,
    /// The key file path as given.
    pub file: String,
    /// The purpose recorded in the key file: `master` or `token`.
    pub file_purpose: String,
}

/// The `purpose` of a manifest's key: the key that made tokens is a token key,
/// whatever the key file given held.
pub const TOKEN_KEY_PURPOSE: &str = "token";

/// The short-code registry file a run read and wrote back: where, its hash and
/// size after the run, which code key and length it is for, and how many codes
/// it held before and after.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryInfo {
    /// Path, SHA-256 and size as written.
    #[serde(flatten)]
    pub file: FileInfo,
    /// The code key's ID (derived from the master key; not the token key's).
    pub key_id: String,
    /// Data characters per code.
    pub length: usize,
    /// Distinct codes before the run (0 for a new registry).
    pub codes_before: u64,
    /// Distinct codes after the run, earlier and new.
    pub codes_after: u64,
}

/// One identifier column and what became of its cells.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    /// Input column name.
    pub input: String,
    /// Identifier type.
    #[serde(rename = "type")]
    pub id_type: String,
    /// Output column holding the tokens.
    pub output: String,
    /// Output column holding tokens under the previous key, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_output: Option<String>,
    /// Output column holding short customer codes, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_code_output: Option<String>,
    /// Cells turned into tokens.
    pub tokens: u64,
    /// Empty cells (left empty).
    pub empty: u64,
    /// Cells rejected by the normaliser (left empty, counted below).
    pub rejected: u64,
    /// Rejected cells by reason code.
    pub rejects: BTreeMap<&'static str, u64>,
}

/// Row counts of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RowCounts {
    /// Data rows read (header excluded).
    pub read: u64,
    /// Data rows written (always equal to `read`: no row is dropped).
    pub written: u64,
    /// Rows with at least one rejected cell.
    pub with_rejects: u64,
}

/// The outcome of `--max-reject-rate`.
#[derive(Debug, Clone, Serialize)]
pub struct RateCheck {
    /// The limit: rejected / non-empty cells, per column.
    pub max_rate: f64,
    /// The highest rate seen in any column.
    pub worst_rate: f64,
    /// The column with the highest rate.
    pub worst_column: Option<String>,
    /// Whether every column stayed within the limit.
    pub passed: bool,
}

impl TokenizeManifest {
    /// The manifest as pretty JSON with a trailing newline.
    ///
    /// # Errors
    /// Serialisation failed (cannot happen for these types, but is not assumed).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(self)
            .fail_with(|| Error::failed("cannot encode the manifest as JSON"))?;
        out.push(b'\n');
        Ok(out)
    }
}
