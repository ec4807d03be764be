//! The JSON manifest written beside a token file: which tool, profile and key made
//! it, from which input (by SHA-256), with which column mapping, and how many
//! cells were tokenised, empty or rejected (and why).
//!
//! A manifest lets an auditor check a token file without seeing any raw data or
//! key: it holds hashes, key IDs, column names, counts and reason codes only.
//! Nothing in here is ever built from a cell value or key bytes.

use std::collections::BTreeMap;

use serde::Serialize;

pub(crate) use blindmatch_data::meta::{FileInfo, ProfileInfo, Tool};

/// The value of the manifest's `format` field.
pub(crate) const FORMAT: &str = "blindmatch-manifest";
/// The manifest layout version; bumped when a field changes meaning or is removed.
pub(crate) const VERSION: u32 = 1;

/// The manifest of one `blindmatch tokenize` run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TokenizeManifest {
    /// Always [`FORMAT`].
    pub(crate) format: &'static str,
    /// Always [`VERSION`].
    pub(crate) version: u32,
    /// The command that wrote it (`tokenize`).
    pub(crate) command: &'static str,
    /// The program and its version.
    pub(crate) tool: Tool,
    /// The normalisation profile both partners must share.
    pub(crate) profile: ProfileInfo,
    /// The token format written (`bm1`) and MAC length in bytes.
    pub(crate) token: TokenInfo,
    /// The key the tokens were made with.
    pub(crate) key: KeyInfo,
    /// The previous key (`--previous-key`), for rotation mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) previous_key: Option<KeyInfo>,
    /// The input read.
    pub(crate) input: FileInfo,
    /// The token file written.
    pub(crate) output: FileInfo,
    /// The rejects file, if one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rejects_file: Option<FileInfo>,
    /// One entry per identifier column, in `--column` order.
    pub(crate) columns: Vec<ColumnInfo>,
    /// Columns copied unchanged.
    pub(crate) kept_columns: Vec<String>,
    /// Input columns not written to the output.
    pub(crate) dropped_columns: Vec<String>,
    /// What happens to a rejected cell in the output.
    pub(crate) rejected_cells: &'static str,
    /// Row counts.
    pub(crate) rows: RowCounts,
    /// Rejected cells over all identifier columns, by reason code.
    pub(crate) rejects: BTreeMap<&'static str, u64>,
    /// The `--max-reject-rate` check, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reject_rate_check: Option<RateCheck>,
    /// When the run started (RFC 3339, UTC).
    pub(crate) started_at: String,
    /// When the run finished (RFC 3339, UTC).
    pub(crate) finished_at: String,
    /// Wall-clock duration in seconds.
    pub(crate) elapsed_seconds: f64,
}

/// The token encoding.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TokenInfo {
    /// Format prefix, `bm1`.
    pub(crate) format: &'static str,
    /// MAC bytes in each token.
    pub(crate) mac_bytes: usize,
}

/// A key, by ID and purpose only.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct KeyInfo {
    /// The public ID of the key that made the tokens (reveals nothing about the
    /// key): for a master key file, of its derived token key, as in every token.
    pub(crate) id: String,
    /// The purpose recorded in the key file.
    pub(crate) purpose: String,
    /// For a master key file, the master key's own ID (its `key-id:` line), so the
    /// file can be found again; the token key is derived from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) master_id: Option<String>,
    /// The key file path as given.
    pub(crate) file: String,
}

/// One identifier column and what became of its cells.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ColumnInfo {
    /// Input column name.
    pub(crate) input: String,
    /// Identifier type.
    #[serde(rename = "type")]
    pub(crate) id_type: String,
    /// Output column holding the tokens.
    pub(crate) output: String,
    /// Output column holding tokens under the previous key, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) previous_output: Option<String>,
    /// Output column holding short customer codes, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) short_code_output: Option<String>,
    /// Cells turned into tokens.
    pub(crate) tokens: u64,
    /// Empty cells (left empty).
    pub(crate) empty: u64,
    /// Cells rejected by the normaliser (left empty, counted below).
    pub(crate) rejected: u64,
    /// Rejected cells by reason code.
    pub(crate) rejects: BTreeMap<&'static str, u64>,
}

/// Row counts of a run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RowCounts {
    /// Data rows read (header excluded).
    pub(crate) read: u64,
    /// Data rows written (always equal to `read`: no row is dropped).
    pub(crate) written: u64,
    /// Rows with at least one rejected cell.
    pub(crate) with_rejects: u64,
}

/// The outcome of `--max-reject-rate`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RateCheck {
    /// The limit: rejected / non-empty cells, per column.
    pub(crate) max_rate: f64,
    /// The highest rate seen in any column.
    pub(crate) worst_rate: f64,
    /// The column with the highest rate.
    pub(crate) worst_column: Option<String>,
    /// Whether every column stayed within the limit.
    pub(crate) passed: bool,
}

impl TokenizeManifest {
    /// The manifest as pretty JSON with a trailing newline.
    ///
    /// # Errors
    /// Serialisation failed (cannot happen for these types, but is not assumed).
    pub(crate) fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(self)?;
        out.push(b'\n');
        Ok(out)
    }
}
