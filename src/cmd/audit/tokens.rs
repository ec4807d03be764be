//! `blindmatch audit tokens`: one streaming pass over a token file that checks the
//! token columns (well formed, made by the declared key IDs, of the declared
//! length), scans every cell of every column for raw identifiers, counts duplicate
//! and singleton tokens, and draws a random sample of rows; then, with the key and
//! the raw source, re-tokenises the sample and compares.
//!
//! Memory: one 12-byte entry per distinct token per token column (for the duplicate
//! and singleton rates) and the sampled rows' token cells; everything else streams.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use blindmatch_token::{IdType, KeyId, Profile, ShortCode, Token, Tokenizer};
use clap::Args as ClapArgs;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::ReportArgs;
use super::files::{self, FileCheck};
use super::manifest::{self, Manifest, RecountReport, SourceRows, describe_check};
use super::report::{self, Finding, RowList, counted, group, percent, safe_name};
use super::scan::{Kind, Kinds, Scanner};
use crate::error::{ExitStatus, Failure};
use crate::progress;
use blindmatch_data::dataset::{
    Cell, CsvReader, InputSource, Record, normalize_cell, parse_delimiter,
};

/// Check a token file: token columns well formed and made by the declared key,
/// no raw identifiers in any column, duplicate and singleton rates; optionally
/// re-tokenise a random sample of rows from the raw source and compare.
///
/// Every cell of every column is scanned for values that look like phone numbers,
/// e-mail addresses, USCCs and citizen ID numbers, whole or inside longer text.
/// The report names column, count and row numbers, never the values. Exit code 0
/// when clean, 3 when anything is found.
///
/// Examples:
///
///   blindmatch audit tokens tokens.csv --manifest tokens.csv.manifest.json
///
///   blindmatch audit tokens tokens.csv --manifest tokens.csv.manifest.json \
///       --key acme.key --source customers.csv --sample 1000 --json
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The token file (CSV) to audit, `-` for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// The manifest `blindmatch tokenize` wrote: declares token columns, key IDs
    /// and counts, and its output SHA-256 must be this file's.
    #[arg(long, value_name = "MANIFEST")]
    manifest: Option<PathBuf>,

    /// Key file: the ID of its token key (for a master key, the derived token key)
    /// must be the one that made the tokens; with --source, re-tokenises the sample.
    #[arg(long, value_name = "KEY_FILE")]
    key: Option<PathBuf>,

    /// A key ID every token must carry (repeatable); for files without a manifest.
    #[arg(long = "key-id", value_name = "KID")]
    key_ids: Vec<KeyId>,

    /// The raw CSV the token file was made from (needs --key and --manifest): a
    /// random sample of rows is re-tokenised and compared with the stored tokens.
    #[arg(long, value_name = "RAW_CSV")]
    source: Option<PathBuf>,

    /// Rows to re-tokenise from --source (all rows when N is at least the row count).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    sample: u64,

    /// Seed for choosing the sample, to repeat an audit exactly [default: random,
    /// printed in the report].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Field delimiter of the token file: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    /// Field delimiter of --source [default: as --delimiter].
    #[arg(long, value_name = "CHAR")]
    source_delimiter: Option<String>,

    #[command(flatten)]
    report: ReportArgs,
}

/// What a column of a token file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// Tokens under the (current) key.
    Token,
    /// Tokens under the previous key (`--previous-key`).
    PreviousToken,
    /// Short customer codes.
    ShortCode,
    /// A column copied unchanged (`--keep`).
    Kept,
    /// In the file but not in the manifest.
    Undeclared,
    /// No manifest, and most of its cells are not tokens.
    Other,
}

impl Role {
    fn is_token(self) -> bool {
        matches!(self, Role::Token | Role::PreviousToken)
    }

    fn label(self) -> &'static str {
        match self {
            Role::Token => "token",
            Role::PreviousToken => "token (prev)",
            Role::ShortCode => "short code",
            Role::Kept => "kept",
            Role::Undeclared => "UNDECLARED",
            Role::Other => "other",
        }
    }
}

/// What the audit expects of one column before reading it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColumnPlan {
    /// The role, when declared.
    pub(crate) role: Role,
    /// The key ID its tokens must carry, when known.
    pub(crate) key_id: Option<KeyId>,
    /// The identifier type its tokens were made from, when declared.
    pub(crate) id_type: Option<IdType>,
}

impl ColumnPlan {
    /// A plan.
    pub(crate) fn new(role: Role, key_id: Option<KeyId>, id_type: Option<IdType>) -> Self {
        ColumnPlan {
            role,
            key_id,
            id_type,
        }
    }
}

/// What one column of the token file holds. No cell value is kept.
#[derive(Debug, Serialize)]
pub(crate) struct ColumnStats {
    /// The header name, or `column N` if the name itself looks like an identifier.
    pub(crate) name: String,
    /// 1-based position.
    pub(crate) position: usize,
    /// What the column is (declared by the manifest, or inferred).
    pub(crate) role: Role,
    /// Identifier type, if the manifest declares one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_type: Option<IdType>,
    /// Cells read (one per row).
    pub(crate) cells: u64,
    /// Empty cells.
    pub(crate) empty: u64,
    /// Cells that are well-formed tokens.
    pub(crate) tokens: u64,
    /// Cells that are valid short codes (short-code columns only).
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) short_codes: u64,
    /// Non-empty cells that are neither (reported as a count; findings list the
    /// rows where such a cell is a malformed token or short code).
    #[serde(rename = "non_token_cells", serialize_with = "count_only")]
    pub(crate) other_cells: RowList,
    /// Key IDs of the tokens, with how many tokens carry each (rows in findings).
    #[serde(serialize_with = "counts_only")]
    pub(crate) key_ids: BTreeMap<String, RowList>,
    /// MAC lengths (bytes) of the tokens, with how many tokens have each.
    #[serde(serialize_with = "counts_only")]
    pub(crate) mac_bytes: BTreeMap<usize, RowList>,
    /// Cells that look like raw identifiers, by kind (rows in the findings).
    #[serde(serialize_with = "counts_only")]
    pub(crate) raw_identifiers: BTreeMap<&'static str, RowList>,
    /// Distinct tokens.
    pub(crate) distinct_tokens: u64,
    /// Share of token cells repeating an earlier token: 1 − distinct/tokens.
    pub(crate) duplicate_rate: f64,
    /// Share of token cells whose token occurs once in the column.
    pub(crate) singleton_rate: f64,
    /// The most cells sharing one token.
    pub(crate) max_repeats: u64,
    /// The header as read, for matching against a manifest (not reported).
    #[serde(skip)]
    pub(crate) header: String,
    #[serde(skip)]
    plan: Option<ColumnPlan>,
    /// Row numbers kept per list.
    #[serde(skip)]
    cap: usize,
    #[serde(skip)]
    seen: HashMap<u64, u32>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn count_only<S: serde::Serializer>(rows: &RowList, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(rows.count)
}

fn counts_only<K: Serialize, S: serde::Serializer>(
    map: &BTreeMap<K, RowList>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(k, rows)| (k, rows.count)))
}

/// Everything one pass over a token file found.
#[derive(Debug)]
pub(crate) struct FileStats {
    /// SHA-256 of the bytes read, lowercase hex.
    pub(crate) sha256: String,
    /// Bytes read.
    pub(crate) bytes: u64,
    /// Data rows.
    pub(crate) rows: u64,
    /// The header names as read.
    pub(crate) header: Vec<String>,
    /// Header names that look like raw identifiers: (1-based position, kinds).
    pub(crate) header_identifiers: Vec<(usize, Vec<Kind>)>,
    /// Per column.
    pub(crate) columns: Vec<ColumnStats>,
    /// The sampled rows: row number and the cells of the sampled columns.
    pub(crate) sample: Vec<(u64, Vec<String>)>,
}

/// The sample to draw while reading.
#[derive(Debug, Clone)]
pub(crate) struct SampleSpec {
    /// Rows to draw.
    pub(crate) rows: u64,
    /// Seed of the generator.
    pub(crate) seed: u64,
    /// Header names of the columns to keep for sampled rows.
    pub(crate) columns: Vec<String>,
}

/// How to read a token file.
#[derive(Debug)]
pub(crate) struct Inspect<'a> {
    /// The file.
    pub(crate) source: &'a InputSource,
    /// Its field delimiter.
    pub(crate) delimiter: u8,
    /// The manifest declaring its columns, if any.
    pub(crate) manifest: Option<&'a Manifest>,
    /// Whether to scan cells for raw identifiers.
    pub(crate) scan: bool,
    /// Row numbers kept per finding.
    pub(crate) max_rows: usize,
    /// The sample to draw, if any.
    pub(crate) sample: Option<SampleSpec>,
}

/// Reads a token file once.
///
/// # Errors
/// Bad input (exit 2) for an unreadable or malformed CSV.
pub(crate) fn inspect(opts: &Inspect<'_>) -> anyhow::Result<FileStats> {
    let mut reader = CsvReader::open(opts.source, opts.delimiter)?;
    let header: Vec<String> = reader.header().to_vec();
    let mut scanner = Scanner::new(opts.manifest.and_then(Manifest::mac_len));
    let plans: Option<Vec<ColumnPlan>> = opts.manifest.map(|m| m.plan(&header));
    let mut header_identifiers = Vec::new();
    let mut columns: Vec<ColumnStats> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let found: Vec<Kind> = scanner.scan(h).iter().collect();
            let name = if found.is_empty() {
                h.clone()
            } else {
                header_identifiers.push((i + 1, found));
                format!("column {}", i + 1)
            };
            let plan = plans.as_ref().and_then(|p| p.get(i).copied());
            ColumnStats {
                name,
                position: i + 1,
                role: plan.map_or(Role::Other, |p| p.role),
                id_type: plan.and_then(|p| p.id_type),
                cells: 0,
                empty: 0,
                tokens: 0,
                short_codes: 0,
                other_cells: RowList::new(opts.max_rows),
                key_ids: BTreeMap::new(),
                mac_bytes: BTreeMap::new(),
                raw_identifiers: BTreeMap::new(),
                distinct_tokens: 0,
                duplicate_rate: 0.0,
                singleton_rate: 0.0,
                max_repeats: 0,
                header: h.clone(),
                plan,
                cap: opts.max_rows,
                seen: HashMap::new(),
            }
        })
        .collect();
    let sample_cols: Vec<usize> = opts
        .sample
        .as_ref()
        .map(|s| {
            s.columns
                .iter()
                .filter_map(|c| header.iter().position(|h| h == c))
                .collect()
        })
        .unwrap_or_default();
    let mut rng = opts.sample.as_ref().map(|s| StdRng::seed_from_u64(s.seed));
    let want = opts.sample.as_ref().map_or(0, |s| s.rows);
    let mut sample: Vec<(u64, Vec<String>)> = Vec::new();

    let bar = progress::bytes(reader.size(), "audit");
    let mut record = Record::default();
    while reader.read(&mut record)? {
        let row = record.row();
        for (i, col) in columns.iter_mut().enumerate() {
            let bytes = record.get(i).unwrap_or_default();
            col.add(row, bytes, opts.scan, &mut scanner);
        }
        if let Some(rng) = rng.as_mut() {
            // Reservoir sampling: every row ends up in the sample with equal chance.
            let slot = if (sample.len() as u64) < want {
                Some(sample.len())
            } else {
                let j = rng.random_range(0..row);
                (j < want).then_some(j as usize)
            };
            if let Some(slot) = slot {
                let cells = sample_cols
                    .iter()
                    .map(|&i| {
                        String::from_utf8_lossy(record.get(i).unwrap_or_default()).into_owned()
                    })
                    .collect();
                if slot == sample.len() {
                    sample.push((row, cells));
                } else if let Some(entry) = sample.get_mut(slot) {
                    *entry = (row, cells);
                }
            }
        }
        if row % 8192 == 0 {
            bar.set_position(reader.bytes_read());
        }
    }
    bar.finish_and_clear();
    let summary = reader.finish()?;
    sample.sort_by_key(|(row, _)| *row);
    for col in &mut columns {
        col.finish(opts.manifest.is_some());
    }
    Ok(FileStats {
        sha256: summary.sha256,
        bytes: summary.bytes,
        rows: summary.rows,
        header,
        header_identifiers,
        columns,
        sample,
    })
}

impl ColumnStats {
    fn add(&mut self, row: u64, bytes: &[u8], scan: bool, scanner: &mut Scanner) {
        self.cells += 1;
        if bytes.is_empty() {
            self.empty += 1;
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        if let Ok(token) = Token::parse(&text) {
            self.tokens += 1;
            self.key_ids
                .entry(token.key_id().to_string())
                .or_insert_with(|| RowList::new(self.cap))
                .add(row);
            self.mac_bytes
                .entry(token.mac().len())
                .or_insert_with(|| RowList::new(self.cap))
                .add(row);
            // Tokens are uniformly random: 8 MAC bytes mixed with the key ID make a
            // fine key for counting repeats (a false merge needs ~2^32 tokens).
            let mut k = [0u8; 8];
            for (dst, src) in k.iter_mut().zip(token.mac()) {
                *dst = *src;
            }
            let key = u64::from_le_bytes(k) ^ u64::from_le_bytes(*token.key_id().as_bytes());
            *self.seen.entry(key).or_default() += 1;
            return;
        }
        // A short code's check character catches only 36 in 37 random strings, so
        // about one raw mobile number in 37 parses as a code: a cell counts as a
        // code only when it is written exactly as tokenize writes codes (canonical,
        // no separators) and does not look like a raw identifier.
        let found = if scan {
            scanner.scan(&text)
        } else {
            Kinds::default()
        };
        if self.role == Role::ShortCode
            && found.is_empty()
            && ShortCode::parse(&text).is_ok_and(|code| code.as_str() == text)
        {
            self.short_codes += 1;
            return;
        }
        self.other_cells.add(row);
        let cap = self.cap;
        for kind in found.iter() {
            self.raw_identifiers
                .entry(kind.code())
                .or_insert_with(|| RowList::new(cap))
                .add(row);
        }
    }

    fn finish(&mut self, declared: bool) {
        if !declared {
            // Without a manifest, a column is a token column when most of its
            // non-empty cells are tokens.
            let non_empty = self.cells - self.empty;
            if self.tokens > 0 && self.tokens * 2 >= non_empty {
                self.role = Role::Token;
            }
        }
        let tokens = self.tokens;
        self.distinct_tokens = self.seen.len() as u64;
        let singletons = self.seen.values().filter(|&&n| n == 1).count() as u64;
        self.max_repeats = self.seen.values().copied().max().map_or(0, u64::from);
        if tokens > 0 {
            self.duplicate_rate = (tokens - self.distinct_tokens) as f64 / tokens as f64;
            self.singleton_rate = singletons as f64 / tokens as f64;
        }
        self.seen = HashMap::new();
    }
}

/// A note when a one-column header holds a likely delimiter: the file was probably
/// read with the wrong `--delimiter`.
pub(crate) fn delimiter_note(stats: &FileStats, notes: &mut Vec<String>) {
    if let [only] = stats.header.as_slice()
        && let Some(d) = [';', '\t', '|'].into_iter().find(|d| only.contains(*d))
    {
        let shown = if d == '\t' {
            "tab".to_owned()
        } else {
            format!("'{d}'")
        };
        notes.push(format!(
            "the file reads as one column whose header contains {shown}: if that is its delimiter, pass --delimiter {shown}"
        ));
    }
}

/// Findings about the columns themselves: raw identifiers anywhere, malformed
/// tokens or short codes, undeclared key IDs and MAC lengths, undeclared columns.
pub(crate) fn column_findings(
    stats: &FileStats,
    manifest: Option<&Manifest>,
    findings: &mut Vec<Finding>,
) {
    column_findings_with(stats, manifest, &[], findings);
}

fn column_findings_with(
    stats: &FileStats,
    manifest: Option<&Manifest>,
    key_ids: &[KeyId],
    findings: &mut Vec<Finding>,
) {
    for (position, kinds) in &stats.header_identifiers {
        for kind in kinds {
            findings.push(
                Finding::new(
                    "raw_identifier_in_header",
                    format!(
                        "the header of column {position} looks like {}",
                        kind.describe()
                    ),
                )
                .kind(kind.code()),
            );
        }
    }
    let mac_len = manifest.and_then(Manifest::mac_len);
    for col in &stats.columns {
        let name = &col.name;
        for kind in Kind::ALL {
            if let Some(rows) = col.raw_identifiers.get(kind.code()) {
                findings.push(
                    Finding::new(
                        "raw_identifier",
                        format!(
                            "column '{name}': {} like {} ({})",
                            counted(rows.count, "cell looks", "cells look"),
                            kind.describe(),
                            rows.describe()
                        ),
                    )
                    .column(name)
                    .kind(kind.code())
                    .rows(rows),
                );
            }
        }
        if col.role == Role::Undeclared {
            findings.push(
                Finding::new(
                    "undeclared_column",
                    format!("column '{name}' is not declared in the manifest (neither a token nor a kept column)"),
                )
                .column(name),
            );
        }
        if col.role == Role::ShortCode && col.other_cells.count > 0 {
            findings.push(
                Finding::new(
                    "malformed_short_code",
                    format!(
                        "column '{name}': {} ({})",
                        counted(
                            col.other_cells.count,
                            "cell is not a valid short code",
                            "cells are not valid short codes"
                        ),
                        col.other_cells.describe()
                    ),
                )
                .column(name)
                .rows(&col.other_cells),
            );
        }
        if !col.role.is_token() {
            continue;
        }
        if col.other_cells.count > 0 {
            findings.push(
                Finding::new(
                    "malformed_token",
                    format!(
                        "column '{name}': {} `bm1.<kid>.<base64url>` ({})",
                        counted(
                            col.other_cells.count,
                            "non-empty cell is not a well-formed token",
                            "non-empty cells are not well-formed tokens"
                        ),
                        col.other_cells.describe()
                    ),
                )
                .column(name)
                .rows(&col.other_cells),
            );
        }
        let expected: Vec<KeyId> = match col.plan.and_then(|p| p.key_id) {
            Some(k) => vec![k],
            None => key_ids.to_vec(),
        };
        let declared_missing = col
            .plan
            .is_some_and(|p| p.role.is_token() && p.key_id.is_none());
        if !expected.is_empty() {
            for (kid, rows) in &col.key_ids {
                if !expected.iter().any(|e| e.to_string() == *kid) {
                    findings.push(
                        Finding::new(
                            "undeclared_key_id",
                            format!(
                                "column '{name}': {} key ID {kid}, not the declared {} ({})",
                                counted(rows.count, "token carries", "tokens carry"),
                                expected
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect::<Vec<_>>()
                                    .join(" or "),
                                rows.describe()
                            ),
                        )
                        .column(name)
                        .rows(rows),
                    );
                }
            }
        } else if col.key_ids.len() > 1 && !declared_missing {
            findings.push(
                Finding::new(
                    "mixed_key_ids",
                    format!(
                        "column '{name}': tokens carry {} different key IDs ({}); one column is made with one key",
                        col.key_ids.len(),
                        col.key_ids.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
                .column(name),
            );
        }
        match mac_len {
            Some(len) => {
                for (n, rows) in &col.mac_bytes {
                    if *n != len {
                        findings.push(
                            Finding::new(
                                "token_length",
                                format!(
                                    "column '{name}': {} {n}-byte MACs, the manifest declares {len} ({})",
                                    counted(rows.count, "token has", "tokens have"),
                                    rows.describe()
                                ),
                            )
                            .column(name)
                            .rows(rows),
                        );
                    }
                }
            }
            None if col.mac_bytes.len() > 1 => findings.push(
                Finding::new(
                    "token_length",
                    format!(
                        "column '{name}': tokens of {} different MAC lengths",
                        col.mac_bytes.len()
                    ),
                )
                .column(name),
            ),
            None => {}
        }
    }
}

/// The sample re-tokenised from the source.
#[derive(Debug, Serialize)]
struct SampleReport {
    key_id: String,
    profile: String,
    requested: u64,
    seed: u64,
    rows_checked: u64,
    cells_checked: u64,
    cells_mismatched: u64,
    mismatched_rows: RowList,
    columns: Vec<SampleColumn>,
}

#[derive(Debug, Serialize)]
struct SampleColumn {
    column: String,
    source_column: String,
    id_type: IdType,
    checked: u64,
    mismatched: u64,
}

/// What `audit tokens` reports besides the findings.
#[derive(Debug, Serialize)]
struct Details {
    file: FileSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<ManifestSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_given: Option<String>,
    columns: Vec<ColumnStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<FileCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recount: Option<RecountReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample: Option<SampleReport>,
    scanned_for: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct FileSummary {
    path: String,
    sha256: String,
    bytes: u64,
    rows: u64,
}

#[derive(Debug, Serialize)]
struct ManifestSummary {
    path: String,
    key_id: Option<String>,
    previous_key_id: Option<String>,
    profile: Option<String>,
    output: FileCheck,
}

/// Runs `blindmatch audit tokens`.
///
/// # Errors
/// Bad input (exit 2) for unreadable or malformed files and unusable options;
/// check-failed (exit 3) for findings.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let source = InputSource::parse(&args.file);
    if args.source.is_some() && (args.key.is_none() || args.manifest.is_none()) {
        return Err(Failure::bad_input("--source needs --key and --manifest")
            .hint("the manifest maps source columns to token columns, and the key re-makes the tokens")
            .into());
    }
    if args.source.as_deref().is_some_and(|s| s.as_os_str() == "-") && source == InputSource::Stdin
    {
        return Err(Failure::bad_input(
            "the token file and --source cannot both be standard input",
        )
        .hint("give at least one of them as a file")
        .into());
    }
    let manifest = match &args.manifest {
        Some(path) => Some(Manifest::load(path)?),
        None => None,
    };
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    if let Some(m) = &manifest {
        findings.extend(m.internal_findings());
    } else if let InputSource::File(path) = &source {
        let mut beside = path.as_os_str().to_owned();
        beside.push(".manifest.json");
        if PathBuf::from(&beside).is_file() {
            notes.push(format!(
                "a manifest exists beside the file ('{}'); pass --manifest to check the file against it",
                safe_name(&PathBuf::from(beside).display().to_string())
            ));
        }
    }
    let key_file = match &args.key {
        Some(path) => Some(manifest::check_key(path, manifest.as_ref(), &mut findings)?),
        None => None,
    };
    let mut key_ids = args.key_ids.clone();
    if manifest.is_none()
        && let Some(k) = &key_file
    {
        key_ids.push(k.key_id());
    }
    let delimiter = match manifest.as_ref().and_then(|m| m.delimiter) {
        Some(d) => d,
        None => parse_delimiter(&args.delimiter)?,
    };

    // Which token columns the sample compares: those of the key given.
    let mut sample_plan: Vec<SamplePlanColumn> = Vec::new();
    if let (Some(m), Some(k), Some(_)) = (&manifest, &key_file, &args.source) {
        let id = k.key_id();
        for c in &m.columns {
            let output = if m.key_id() == Some(id) {
                c.output.clone()
            } else if m.previous_key_id() == Some(id) {
                c.previous_output.clone()
            } else {
                None
            };
            if let (Some(output), Some(input), Some(id_type)) = (output, c.input.clone(), c.id_type)
            {
                sample_plan.push(SamplePlanColumn {
                    output,
                    input,
                    id_type,
                });
            }
        }
        if sample_plan.is_empty() {
            notes.push("no token column of the manifest belongs to the key given; the sample was not compared".to_owned());
        }
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let sample_spec = (!sample_plan.is_empty() && args.sample > 0).then(|| SampleSpec {
        rows: args.sample,
        seed,
        columns: sample_plan.iter().map(|c| c.output.clone()).collect(),
    });

    let recorded = manifest.as_ref().and_then(|m| m.output.clone());
    let parsed = files::parse_or_finding(
        "token file",
        &args.file,
        recorded.as_ref(),
        &mut findings,
        || {
            inspect(&Inspect {
                source: &source,
                delimiter,
                manifest: manifest.as_ref(),
                scan: true,
                max_rows: args.report.max_rows,
                sample: sample_spec.clone(),
            })
        },
    )?;
    let stats = match parsed {
        Ok(stats) => stats,
        Err(check) => {
            // Changed and no longer CSV: the findings say so; nothing else to read.
            let details = Details {
                file: FileSummary {
                    path: safe_name(&source.name()),
                    sha256: check.sha256.clone().unwrap_or_default(),
                    bytes: check.bytes.unwrap_or_default(),
                    rows: 0,
                },
                manifest: manifest.as_ref().map(|m| manifest_summary(m, check)),
                key_given: key_file.as_ref().map(|k| k.key_id().to_string()),
                columns: Vec::new(),
                source: None,
                recount: None,
                sample: None,
                scanned_for: Vec::new(),
            };
            let subject = format!("'{}'", details.file.path);
            return report::emit(
                "tokens",
                &subject,
                details,
                findings,
                notes,
                args.report.json,
                human,
            );
        }
    };

    let manifest_summary = match &manifest {
        Some(m) => {
            let output = match &m.output {
                Some(rec) => files::compare(
                    "token file",
                    &args.file,
                    stats.sha256.clone(),
                    stats.bytes,
                    rec,
                    &mut findings,
                ),
                None => FileCheck {
                    what: "token file",
                    path: safe_name(&args.file.display().to_string()),
                    found: true,
                    sha256: Some(stats.sha256.clone()),
                    bytes: Some(stats.bytes),
                    sha256_matches: None,
                    size_matches: None,
                },
            };
            m.cross_check(&stats, &mut findings);
            Some(manifest_summary(m, output))
        }
        None => {
            if key_ids.is_empty() {
                notes.push(
                    "no manifest, --key or --key-id: the key IDs in the file were not compared with a declared key"
                        .to_owned(),
                );
            }
            None
        }
    };
    column_findings_with(&stats, manifest.as_ref(), &key_ids, &mut findings);
    delimiter_note(&stats, &mut notes);
    if !stats.columns.iter().any(|c| c.role.is_token()) {
        notes.push("no column of the file holds tokens".to_owned());
    }

    let (source_check, recount, sample) = match (&args.source, &manifest, &key_file) {
        (Some(path), Some(m), Some(k)) => {
            let (check, recount, sample) = check_source_and_sample(
                path,
                args.source_delimiter.as_deref().unwrap_or(&args.delimiter),
                m,
                k.key(),
                &sample_plan,
                sample_spec.as_ref(),
                &stats,
                args.report.max_rows,
                &mut findings,
                &mut notes,
            )?;
            (Some(check), recount, sample)
        }
        _ => (None, None, None),
    };
    if args.key.is_some() && args.source.is_none() {
        notes.push(
            "tokens are one-way: without --source only the key ID was checked, not that the key made these tokens"
                .to_owned(),
        );
    }

    let details = Details {
        file: FileSummary {
            path: safe_name(&source.name()),
            sha256: stats.sha256,
            bytes: stats.bytes,
            rows: stats.rows,
        },
        manifest: manifest_summary,
        key_given: key_file.as_ref().map(|k| k.key_id().to_string()),
        columns: stats.columns,
        source: source_check,
        recount,
        sample,
        scanned_for: Kind::ALL.iter().map(|k| k.code()).collect(),
    };
    let subject = format!("'{}'", details.file.path);
    report::emit(
        "tokens",
        &subject,
        details,
        findings,
        notes,
        args.report.json,
        human,
    )
}

fn manifest_summary(m: &Manifest, output: FileCheck) -> ManifestSummary {
    ManifestSummary {
        path: safe_name(&m.path.display().to_string()),
        key_id: m.key_id().map(|k| k.to_string()),
        previous_key_id: m.previous_key_id().map(|k| k.to_string()),
        profile: m.profile_name.as_deref().map(safe_name),
        output,
    }
}

#[derive(Debug, Clone)]
struct SamplePlanColumn {
    output: String,
    input: String,
    id_type: IdType,
}

/// Re-tokenises the sampled rows while the source is read, and compares.
struct SampleChecker<'a> {
    plan: &'a [SamplePlanColumn],
    tokenizer: Tokenizer,
    profile: Profile,
    wanted: HashMap<u64, &'a Vec<String>>,
    indices: Vec<Option<usize>>,
    columns: Vec<SampleColumn>,
    mismatched_rows: RowList,
    rows_checked: u64,
    cells_checked: u64,
    cells_mismatched: u64,
    normalised: String,
    expected: String,
}

impl SourceRows for SampleChecker<'_> {
    fn header(&mut self, header: &[String]) -> Vec<usize> {
        self.indices = self
            .plan
            .iter()
            .map(|c| header.iter().position(|h| *h == c.input))
            .collect();
        self.indices.iter().flatten().copied().collect()
    }

    fn row(&mut self, record: &Record) {
        let Some(stored) = self.wanted.get(&record.row()) else {
            return;
        };
        self.rows_checked += 1;
        let mut row_bad = false;
        for ((c, index), (col, stored)) in self
            .plan
            .iter()
            .zip(&self.indices)
            .zip(self.columns.iter_mut().zip(stored.iter()))
        {
            let Some(index) = index else { continue };
            self.expected.clear();
            let outcome = normalize_cell(
                &self.profile,
                c.id_type,
                record.text(*index),
                &mut self.normalised,
            );
            if outcome == Cell::Value {
                self.tokenizer.write_token(
                    c.id_type,
                    self.normalised.as_bytes(),
                    &mut self.expected,
                );
            }
            col.checked += 1;
            self.cells_checked += 1;
            // Tokens are pseudonyms, not secrets: a plain comparison is fine.
            if self.expected != *stored {
                col.mismatched += 1;
                self.cells_mismatched += 1;
                row_bad = true;
            }
        }
        self.normalised.clear();
        if row_bad {
            self.mismatched_rows.add(record.row());
        }
    }
}

/// Reads the raw source once: its hash and the manifest's counts are checked, and
/// the sampled rows (if any) re-tokenised and compared.
#[allow(clippy::too_many_arguments)]
fn check_source_and_sample(
    path: &std::path::Path,
    delimiter: &str,
    manifest: &Manifest,
    key: &blindmatch_token::Key,
    plan: &[SamplePlanColumn],
    spec: Option<&SampleSpec>,
    stats: &FileStats,
    max_rows: usize,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) -> anyhow::Result<(FileCheck, Option<RecountReport>, Option<SampleReport>)> {
    let delimiter = parse_delimiter(delimiter)?;
    // An unknown profile is a manifest finding already; the standard one is the
    // best guess for the sample.
    let profile: Profile = manifest
        .profile_name
        .as_deref()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    let mac_len = manifest
        .mac_len()
        .unwrap_or(blindmatch_token::token::FULL_LEN);
    let tokenizer = Tokenizer::with_len(key, mac_len)
        .map_err(|e| anyhow::Error::new(Failure::bad_input(format!("token length: {e}"))))?;
    let key_id = tokenizer.key_id().to_string();
    let profile_name = safe_name(&profile.name());
    let mut checker = SampleChecker {
        plan,
        tokenizer,
        profile,
        wanted: stats.sample.iter().map(|(r, cells)| (*r, cells)).collect(),
        indices: Vec::new(),
        columns: plan
            .iter()
            .map(|c| SampleColumn {
                column: safe_name(&c.output),
                source_column: safe_name(&c.input),
                id_type: c.id_type,
                checked: 0,
                mismatched: 0,
            })
            .collect(),
        mismatched_rows: RowList::new(max_rows),
        rows_checked: 0,
        cells_checked: 0,
        cells_mismatched: 0,
        normalised: String::new(),
        expected: String::new(),
    };
    let (source, recount, source_rows) =
        manifest::check_source(path, delimiter, manifest, findings, notes, &mut checker)?;
    if source_rows != stats.rows {
        findings.push(Finding::new(
            "row_count_mismatch",
            format!(
                "the source has {} rows, the token file {}; tokenize keeps every row, so rows do not line up",
                source_rows, stats.rows
            ),
        ));
    }
    let Some(spec) = spec else {
        return Ok((source, recount, None));
    };
    let missing = stats.sample.len() as u64 - checker.rows_checked;
    if missing > 0 {
        findings.push(Finding::new(
            "row_count_mismatch",
            format!(
                "{} of the token file no row in the source",
                counted(missing, "sampled row has", "sampled rows have")
            ),
        ));
    }
    if checker.cells_mismatched > 0 {
        findings.push(
            Finding::new(
                "sample_mismatch",
                format!(
                    "{} of {} sampled cells do not re-tokenise to the stored token ({})",
                    group(checker.cells_mismatched),
                    group(checker.cells_checked),
                    checker.mismatched_rows.describe()
                ),
            )
            .rows(&checker.mismatched_rows),
        );
    }
    let sample = SampleReport {
        key_id,
        profile: profile_name,
        requested: spec.rows,
        seed: spec.seed,
        rows_checked: checker.rows_checked,
        cells_checked: checker.cells_checked,
        cells_mismatched: checker.cells_mismatched,
        mismatched_rows: checker.mismatched_rows,
        columns: checker.columns,
    };
    Ok((source, recount, Some(sample)))
}

fn human(d: &Details) -> String {
    let mut s = format!("audit tokens: '{}'\n", d.file.path);
    s.push_str(&format!(
        "  sha256 {}, {} bytes, {} rows, {} columns\n",
        files::short(&d.file.sha256),
        group(d.file.bytes),
        group(d.file.rows),
        d.columns.len()
    ));
    if let Some(m) = &d.manifest {
        s.push_str(&format!(
            "  manifest '{}': key {}{}, profile {}\n  {}\n",
            m.path,
            m.key_id.as_deref().unwrap_or("(none)"),
            m.previous_key_id
                .as_deref()
                .map(|p| format!(" (previous key {p})"))
                .unwrap_or_default(),
            m.profile.as_deref().unwrap_or("(none)"),
            describe_check(&m.output)
        ));
    }
    if let Some(k) = &d.key_given {
        s.push_str(&format!("  key given: {k}\n"));
    }
    s.push_str("columns:\n");
    let width = d
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(32);
    for c in &d.columns {
        let mut line = format!("  {:<width$}  {:<12}  ", c.name, c.role.label());
        if c.role.is_token() {
            let kids: Vec<&str> = c.key_ids.keys().map(String::as_str).collect();
            line.push_str(&format!(
                "{} tokens, {} empty; key {}; {} duplicates, {} singletons",
                group(c.tokens),
                group(c.empty),
                if kids.is_empty() {
                    "-".to_owned()
                } else {
                    kids.join("+")
                },
                percent_f(c.duplicate_rate),
                percent_f(c.singleton_rate)
            ));
        } else {
            line.push_str(&format!(
                "{} cells, {} empty",
                group(c.cells),
                group(c.empty)
            ));
        }
        let raw: u64 = c.raw_identifiers.values().map(|r| r.count).sum();
        if raw > 0 {
            line.push_str(&format!("; {} RAW IDENTIFIER CELLS", group(raw)));
        }
        s.push_str(&line);
        s.push('\n');
    }
    if let Some(source) = &d.source {
        s.push_str(&format!("{}\n", describe_check(source)));
    }
    if let Some(recount) = &d.recount {
        s.push_str(&format!(
            "  counts recomputed from its {} rows for {}\n",
            group(recount.rows),
            counted(
                recount.columns.len() as u64,
                "identifier column",
                "identifier columns"
            )
        ));
    }
    if let Some(sample) = &d.sample {
        s.push_str(&format!(
            "sample: {} re-tokenised with key {} (seed {}), {} compared, {} mismatched\n",
            counted(sample.rows_checked, "row", "rows"),
            sample.key_id,
            sample.seed,
            counted(sample.cells_checked, "cell", "cells"),
            group(sample.cells_mismatched),
        ));
    }
    s.push_str(&format!(
        "scanned every cell for: {}\n",
        Kind::ALL
            .iter()
            .map(|k| k.code())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s
}

fn percent_f(rate: f64) -> String {
    percent((rate * 1_000_000.0).round() as u64, 1_000_000)
}
