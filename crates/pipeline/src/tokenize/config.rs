//! What a tokenize run is asked to do ([`TokenizeConfig`]) and what it did
//! ([`TokenizeSummary`]), with the reject-rate verdict.

use std::path::PathBuf;
use std::time::Duration;

use blindmatch_data::dataset::{ColumnCounts, InputSpec};
use blindmatch_data::output::{OutputTarget, WrittenFile, with_suffix};
use blindmatch_data::{Error, Result};
use blindmatch_token::{IdType, Profile, Rejection};

use crate::manifest::RateCheck;

/// What to tokenise, with which key, and where to write.
///
/// Messages name the options of `blindmatch tokenize` (`--key`, `--rejects`, …):
/// the config mirrors them one to one.
#[derive(Debug, Clone)]
pub struct TokenizeConfig {
    /// The input and its identifier (`--column`) and kept (`--keep`) columns.
    pub input: InputSpec,
    /// The normalisation profile.
    pub profile: Profile,
    /// The key file the tokens are made with (a master key makes them with its
    /// derived token key). Required unless `passthrough`.
    pub key: Option<PathBuf>,
    /// An older key: each identifier column gets a `NAME_prev` companion with the
    /// token under that key, an old→new mapping for migrating stored tokens.
    pub previous_key: Option<PathBuf>,
    /// The token file (mode 0600), or standard output.
    pub output: OutputTarget,
    /// The manifest's path; `None`: `OUTPUT.manifest.json` beside a file output,
    /// no manifest for standard output.
    pub manifest: Option<PathBuf>,
    /// A CSV listing every rejected cell by row, line, column, type and reason.
    pub rejects: Option<PathBuf>,
    /// The highest share of rejected non-empty cells any identifier column may
    /// have; above it the run still writes everything, and
    /// [`TokenizeSummary::check`] fails.
    pub max_reject_rate: Option<f64>,
    /// Identifier columns that also get a short customer code (`NAME_code`).
    pub short_codes: Vec<String>,
    /// Data characters per short code.
    pub short_code_len: usize,
    /// A registry file of the codes issued in earlier runs under this key and
    /// length: read before the run (missing: empty), so a new code that collides
    /// with an earlier one stops the run; written back with this run's codes
    /// when the run succeeds. Needs `short_codes`.
    pub short_code_registry: Option<PathBuf>,
    /// Token MAC length in bytes.
    pub token_bytes: usize,
    /// Replace existing output, manifest and rejects files.
    pub overwrite: bool,
    /// Worker threads; `None`: one per core.
    pub threads: Option<usize>,
    /// Benchmark baseline: copy identifier cells unchanged (no key, no
    /// manifest). The output then holds raw identifiers.
    pub passthrough: bool,
}

impl TokenizeConfig {
    /// The manifest this run writes, if any.
    pub(super) fn manifest_path(&self) -> Option<PathBuf> {
        match (&self.manifest, &self.output) {
            _ if self.passthrough => None,
            (Some(path), _) => Some(path.clone()),
            (None, OutputTarget::File(path)) => Some(with_suffix(path, ".manifest.json")),
            (None, OutputTarget::Stdout) => None,
        }
    }
}

/// One identifier column of a finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSummary {
    /// The input column's header name.
    pub name: String,
    /// Its identifier type.
    pub id_type: IdType,
    /// Tokens made, empty and rejected cells.
    pub counts: ColumnCounts,
    /// Rejected cells by reason, in a stable order.
    pub rejects: Vec<(Rejection, u64)>,
}

/// The short-code registry file a finished run wrote back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySummary {
    /// The registry file as written.
    pub file: WrittenFile,
    /// The code key's ID (the key the codes are derived with, not the master's).
    pub key_id: String,
    /// Data characters per code.
    pub length: usize,
    /// Distinct codes it held before the run.
    pub codes_before: u64,
    /// Distinct codes it holds now (earlier and new).
    pub codes_after: u64,
}

/// What a finished run did. All files it names are written.
#[derive(Debug, Clone)]
pub struct TokenizeSummary {
    /// The input's name for messages (its path, or `<stdin>`).
    pub input: String,
    /// Data rows read, and written (no row is ever dropped).
    pub rows: u64,
    /// The token file (`-` for standard output).
    pub output: WrittenFile,
    /// The manifest, if one was written.
    pub manifest: Option<WrittenFile>,
    /// The rejects file, if one was asked for.
    pub rejects_file: Option<WrittenFile>,
    /// The short-code registry file, if one was given.
    pub short_code_registry: Option<RegistrySummary>,
    /// Per identifier column, in `--column` order.
    pub columns: Vec<ColumnSummary>,
    /// Rejected cells over all columns.
    pub rejected: u64,
    /// Rows with at least one rejected cell.
    pub rows_with_rejects: u64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Whether this was the passthrough baseline.
    pub passthrough: bool,
    /// The outcome of the reject-rate limit, if one was set.
    pub reject_rate_check: Option<RateCheck>,
}

impl TokenizeSummary {
    /// The reject-rate verdict: the run wrote everything, but a column rejected
    /// more than the limit allows.
    ///
    /// # Errors
    /// A check-failed error naming the worst column when the limit was exceeded.
    pub fn check(&self) -> Result<()> {
        let Some(check) = self.reject_rate_check.as_ref().filter(|c| !c.passed) else {
            return Ok(());
        };
        let column = check.worst_column.as_deref().unwrap_or_default();
        Err(Error::check_failed(format!(
            "column '{column}': {:.2}% of non-empty cells rejected, above --max-reject-rate {:.2}%",
            check.worst_rate * 100.0,
            check.max_rate * 100.0
        ))
        .hint(match &self.rejects_file {
            Some(file) => format!(
                "the rejected rows are listed in '{}'; the output was written",
                file.path.display()
            ),
            None => "rerun with --rejects FILE to list the rejected rows; the output was written"
                .to_owned(),
        }))
    }
}
