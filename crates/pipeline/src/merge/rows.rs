//! The merged output: the shard outputs read side by side in row order, each
//! checked against the digest its receipt recorded.

use std::io::Write;
use std::path::{Path, PathBuf};

use blindmatch_data::dataset::{CsvReader, InputSource, Record};
use blindmatch_data::output::{AtomicFile, SealedFile};
use blindmatch_data::text::write_field;
use blindmatch_data::{Error, FailWith, Result};
use sha2::{Digest, Sha256};

use super::{MergeConfig, ShardReceipt};
use crate::matching::{MATCH_ID_COLUMN, MATCHED_RULES_COLUMN, RULE_MATCH_ID_PREFIX};

/// A shard output being read.
struct Cursor {
    path: PathBuf,
    reader: CsvReader,
    /// The current line's fields, and its row number; `None` at the end.
    current: Option<(u64, Vec<Vec<u8>>)>,
}

impl Cursor {
    fn advance(&mut self, record: &mut Record) -> Result<()> {
        self.current = if self.reader.read(record)? {
            let row = std::str::from_utf8(record.get(0).unwrap_or_default())
                .ok()
                .and_then(|r| r.parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::bad_input(format!(
                        "'{}' line {}: the row column is not a number",
                        self.path.display(),
                        record.line()
                    ))
                    .hint("give the matched-rows files `blindmatch match --shard` wrote, unchanged")
                })?;
            if self.current.as_ref().is_some_and(|(last, _)| *last >= row) {
                return Err(Error::bad_input(format!(
                    "'{}' line {}: rows are not in increasing order",
                    self.path.display(),
                    record.line()
                )));
            }
            Some((
                row,
                (0..record.len())
                    .map(|i| record.get(i).unwrap_or_default().to_vec())
                    .collect(),
            ))
        } else {
            None
        };
        Ok(())
    }
}

/// Where a shard receipt's output is: beside the receipt, else as recorded.
fn locate(shard: &ShardReceipt) -> Result<PathBuf> {
    let recorded = shard.doc["output"]["path"].as_str().unwrap_or_default();
    let lower = recorded.to_ascii_lowercase();
    if [".parquet", ".arrow", ".ipc", ".feather"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        return Err(Error::bad_input(format!(
            "shard {}'s output '{recorded}' is not a CSV file: merge reads CSV shard outputs",
            shard.shard
        ))
        .hint("run the shards with -o NAME.csv, merge, then convert the merged file if needed"));
    }
    let beside = shard
        .path
        .parent()
        .map(|d| d.join(recorded))
        .filter(|p| p.exists());
    let path = beside.unwrap_or_else(|| PathBuf::from(recorded));
    let bytes = std::fs::read(&path).fail_with(|| {
        Error::bad_input(format!(
            "cannot read '{}', the output of shard {}",
            path.display(),
            shard.shard
        ))
        .hint("keep each shard's output where its receipt says (beside the receipt or at the recorded path)")
    })?;
    let digest = hex::encode(Sha256::digest(&bytes));
    if shard.doc["output"]["sha256"].as_str() != Some(digest.as_str()) {
        return Err(Error::bad_input(format!(
            "'{}' is not the output shard {}'s receipt recorded (its SHA-256 differs)",
            path.display(),
            shard.shard
        ))
        .hint("the file was changed after the session; merge the unchanged outputs"));
    }
    Ok(path)
}

/// Writes the merged output to `path` (sealed, not yet committed); returns it and
/// its row count.
pub(super) fn merge_outputs(
    shards: &[ShardReceipt],
    path: &Path,
    cfg: &MergeConfig,
) -> Result<(SealedFile, u64)> {
    let mut cursors = Vec::with_capacity(shards.len());
    let mut header: Option<Vec<String>> = None;
    let mut record = Record::default();
    for s in shards {
        let file = locate(s)?;
        let reader = CsvReader::open(&InputSource::File(file.clone()), cfg.delimiter)?;
        let h = reader.header().to_vec();
        match &header {
            None => header = Some(h),
            Some(first) if *first != h => {
                return Err(Error::bad_input(format!(
                    "'{}' has other columns than the first shard's output",
                    file.display()
                ))
                .hint("every shard must run with the same --column, --rule and --keep"));
            }
            Some(_) => {}
        }
        let mut cursor = Cursor {
            path: file,
            reader,
            current: None,
        };
        cursor.advance(&mut record)?;
        cursors.push(cursor);
    }
    let header = header.unwrap_or_default();
    let id_at = header.iter().position(|h| h == MATCH_ID_COLUMN);
    let rules_at = header.iter().position(|h| h == MATCHED_RULES_COLUMN);
    let per_rule: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            h.strip_prefix(RULE_MATCH_ID_PREFIX)
                .map(|r| (i, r.to_owned()))
        })
        .collect();
    let delimiter = cfg.delimiter;
    let mut out = AtomicFile::create(path, cfg.force, true)?;
    let write_error = || Error::failed(format!("cannot write '{}'", path.display()));
    let mut line = Vec::with_capacity(256);
    for (i, h) in header.iter().enumerate() {
        if i > 0 {
            line.push(delimiter);
        }
        write_field(&mut line, h.as_bytes(), delimiter);
    }
    line.push(b'\n');
    out.write_all(&line).fail_with(write_error)?;
    let mut rows = 0u64;
    while let Some(row) = cursors
        .iter()
        .filter_map(|c| c.current.as_ref().map(|(r, _)| *r))
        .min()
    {
        let mut merged: Option<Vec<Vec<u8>>> = None;
        for c in cursors
            .iter_mut()
            .filter(|c| c.current.as_ref().is_some_and(|(r, _)| *r == row))
        {
            let (_, fields) = c.current.take().unwrap_or_default();
            merged = Some(match merged {
                None => fields,
                Some(mut m) => {
                    // The same row matched on other rules in another shard.
                    for (i, _) in &per_rule {
                        if m.get(*i).is_some_and(Vec::is_empty)
                            && let (Some(slot), Some(v)) = (m.get_mut(*i), fields.get(*i))
                        {
                            slot.clone_from(v);
                        }
                    }
                    m
                }
            });
            c.advance(&mut record)?;
        }
        let mut fields = merged.unwrap_or_default();
        if !per_rule.is_empty() {
            let matched: Vec<&str> = per_rule
                .iter()
                .filter(|(i, _)| fields.get(*i).is_some_and(|v| !v.is_empty()))
                .map(|(_, r)| r.as_str())
                .collect();
            let first_id = per_rule
                .iter()
                .find_map(|(i, _)| fields.get(*i).filter(|v| !v.is_empty()).cloned());
            let joined = matched.join(";").into_bytes();
            if let Some(slot) = rules_at.and_then(|at| fields.get_mut(at)) {
                *slot = joined;
            }
            if let (Some(slot), Some(id)) = (id_at.and_then(|at| fields.get_mut(at)), first_id) {
                *slot = id;
            }
        }
        line.clear();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                line.push(delimiter);
            }
            write_field(&mut line, f, delimiter);
        }
        line.push(b'\n');
        out.write_all(&line).fail_with(write_error)?;
        rows += 1;
    }
    Ok((out.seal()?, rows))
}
