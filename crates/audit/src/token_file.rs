//! One streaming pass over a token file: per column, tokens (key IDs, MAC lengths,
//! repeats), short codes, empty and other cells, and raw identifiers anywhere;
//! optionally a reservoir sample of rows for re-tokenising.
//!
//! Memory: one 12-byte entry per distinct token per token column (for the duplicate
//! and singleton rates) and the sampled rows' token cells; everything else streams.
//! No cell value is kept beyond the sample, and none reaches a report.

pub(crate) mod findings;

use std::collections::{BTreeMap, HashMap};

use blindmatch_data::dataset::{DatasetReader, Record};
use blindmatch_data::scan::{Kind, Kinds, Scanner};
use blindmatch_data::{Observer, Result};
use blindmatch_token::{IdType, ShortCode, Token};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::plan::{ColumnPlan, Role};
use crate::report::RowList;
use crate::tokenize_manifest::Manifest;

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
pub(crate) struct Inspect<'a> {
    /// The manifest declaring its columns, if any.
    pub(crate) manifest: Option<&'a Manifest>,
    /// Whether to scan cells for raw identifiers.
    pub(crate) scan: bool,
    /// Row numbers kept per finding.
    pub(crate) max_rows: usize,
    /// The sample to draw, if any.
    pub(crate) sample: Option<SampleSpec>,
    /// Told how far the read has got.
    pub(crate) observer: &'a dyn Observer,
}

/// Reads a token file once, from `reader` (a CSV, Parquet or Arrow file opened
/// with [`DatasetReader::open`], or a CSV stream) to its end.
///
/// # Errors
/// Bad input for an unreadable or malformed CSV.
pub(crate) fn inspect(mut reader: DatasetReader, opts: &Inspect<'_>) -> Result<FileStats> {
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

    opts.observer.progress_start("audit", reader.size());
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
            opts.observer.progress(reader.bytes_read());
        }
    }
    opts.observer.progress_end();
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
