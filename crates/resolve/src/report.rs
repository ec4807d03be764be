//! The JSON report of a resolve run: inputs by SHA-256, the profile, rules and
//! guards, counts of records, clusters, cluster sizes, links per rule, guard
//! refusals, rejects per source, column and reason, and the changes against a
//! previous clusters file.
//!
//! It holds file names, source and column names (from the command line), cluster
//! IDs (never derived from a value), counts and reason codes: never a cell value.

use std::collections::BTreeMap;

use blindmatch_data::meta::{FileInfo, ProfileInfo, Tool};
use serde::Serialize;

use crate::ids::Changes;

/// The value of the report's `format` field.
pub const FORMAT: &str = "blindmatch-resolve-report";
/// The report layout version.
pub const VERSION: u32 = 1;

/// The report of one `blindmatch resolve` run.
#[derive(Debug, Clone, Serialize)]
pub struct ResolveReport {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// The program and its version.
    pub tool: Tool,
    /// The normalisation profile, per field.
    pub profile: ProfileInfo,
    /// The sources, by name.
    pub sources: Vec<SourceReport>,
    /// The rules in priority order, with the joins each made.
    pub rules: Vec<RuleReport>,
    /// The guard fields, with the joins each refused.
    pub guards: Vec<GuardReport>,
    /// Survivorship per field (`frequent`, `source:A,B`, `recent:COLUMN`).
    pub survivorship: BTreeMap<String, String>,
    /// Records read (data rows of every source).
    pub records: u64,
    /// Clusters written.
    pub clusters: u64,
    /// Clusters of one record.
    pub singletons: u64,
    /// The largest cluster's size.
    pub largest_cluster: u64,
    /// Cluster size → number of clusters of that size.
    pub cluster_sizes: BTreeMap<u64, u64>,
    /// This run's generation (the `first_seen` of its new IDs).
    pub generation: u64,
    /// The previous clusters file and the changes against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousReport>,
    /// The files written (the report itself excepted).
    pub outputs: Vec<FileInfo>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When the run finished (RFC 3339, UTC).
    pub finished_at: String,
    /// Wall-clock duration in seconds.
    pub elapsed_seconds: f64,
}

/// One source in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    /// The source name.
    pub name: String,
    /// The file read.
    pub input: FileInfo,
    /// Data rows (records).
    pub rows: u64,
    /// Its mapped columns.
    pub columns: Vec<ColumnReport>,
}

/// One mapped column in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnReport {
    /// The header name.
    pub column: String,
    /// The field it fills.
    pub field: String,
    /// Cells with a normalised value.
    pub values: u64,
    /// Empty cells.
    pub empty: u64,
    /// Rejected cells.
    pub rejected: u64,
    /// Rejected cells by reason code.
    pub rejects: BTreeMap<&'static str, u64>,
}

/// One rule in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleReport {
    /// The canonical rule name.
    pub rule: String,
    /// Joins it made (each merges two clusters).
    pub links: u64,
    /// Records it was the first rule to join to another.
    pub records_linked: u64,
}

/// One guard in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardReport {
    /// The guard field.
    pub field: String,
    /// Refused joins in all.
    pub refused: u64,
    /// Refused joins per rule (canonical name).
    pub refused_by_rule: BTreeMap<String, u64>,
}

/// The previous clusters file and what changed.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousReport {
    /// The file read.
    pub file: FileInfo,
    /// Its rows.
    pub rows: u64,
    /// Its clusters.
    pub clusters: u64,
    /// What became of them.
    #[serde(flatten)]
    pub changes: Changes,
}

impl ResolveReport {
    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}
