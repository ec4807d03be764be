//! Tokenising one column held in memory, for library callers (the Python package)
//! whose data is already in memory rather than in a CSV file: the same key
//! handling, per-cell normalisation (`normalize_cell_append`), rejects and batched
//! MACs as `tokenize`, in parallel over contiguous row ranges.
//!
//! Nothing is written anywhere: the caller gets the tokens and the rejects (row
//! and reason, never the value) and decides what to keep.

use std::path::Path;

use blindmatch_data::dataset::{Cell, ColumnCounts, normalize_cell_append};
use blindmatch_data::{Observer, Result};
use blindmatch_token::{IdType, KeyId, Profile, Rejection, Tokenizer};

use super::setup::tokenizer_for;
use crate::keys;
use crate::manifest::KeyInfo;

/// Rows whose MACs are computed together (as the file pipeline's groups).
const GROUP_ROWS: usize = 64;
/// Fewer rows than this per worker are not worth a thread.
const MIN_ROWS_PER_WORKER: usize = 16_384;

/// A tokeniser loaded from a key file, for columns held in memory.
///
/// Holds the key only inside its [`Tokenizer`] (zeroised on drop); `Debug`
/// shows the key ID alone.
pub struct ColumnTokenizer {
    tokenizer: Tokenizer,
    info: KeyInfo,
}

impl std::fmt::Debug for ColumnTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnTokenizer")
            .field("key_id", &self.info.id)
            .finish_non_exhaustive()
    }
}

/// The tokens of one column: row `i`'s token is `text[ends[i-1]..ends[i]]`
/// (from 0 for the first row) when `present[i]`; an absent token is a missing,
/// empty or rejected cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnTokens {
    /// Every token's ASCII text, back to back.
    pub text: Vec<u8>,
    /// End offset into `text` of each row's token (equal to the previous end when
    /// the row has none).
    pub ends: Vec<usize>,
    /// Whether each row has a token.
    pub present: Vec<bool>,
    /// Tokens made, empty (or missing) and rejected cells.
    pub counts: ColumnCounts,
    /// Rejected cells: 0-based row and reason, in row order. Never the value.
    pub rejects: Vec<(usize, Rejection)>,
}

impl ColumnTokenizer {
    /// Loads `key` (a master key tokenises with its derived token key, as
    /// `tokenize --key` does) for tokens of `token_bytes` bytes. Warnings (a key
    /// file others can read) go to `observer`.
    ///
    /// # Errors
    /// A missing, unreadable or malformed key file, a key of a purpose that never
    /// makes tokens, or a length outside 16..=32 (bad input).
    pub fn open(key: &Path, token_bytes: usize, observer: &dyn Observer) -> Result<Self> {
        let file = keys::load(key, "key", observer)?;
        let (tokenizer, info) = tokenizer_for(&file, key, "key", token_bytes)?;
        Ok(ColumnTokenizer { tokenizer, info })
    }

    /// The ID of the key the tokens are made with (a token key).
    pub fn key_id(&self) -> KeyId {
        self.tokenizer.key_id()
    }

    /// What a manifest records of the key.
    pub fn key_info(&self) -> &KeyInfo {
        &self.info
    }

    /// Tokenises `rows` cells, `cell(i)` giving row `i` (`None`: a missing cell),
    /// on up to `threads` threads (`None`: one per core). Empty and missing cells
    /// get no token; rejected ones are listed.
    pub fn tokenize<'a, F>(
        &self,
        profile: &Profile,
        id_type: IdType,
        rows: usize,
        cell: F,
        threads: Option<usize>,
    ) -> ColumnTokens
    where
        F: Fn(usize) -> Option<&'a str> + Sync,
    {
        let workers = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, rows.div_ceil(MIN_ROWS_PER_WORKER).max(1));
        let ranges: Vec<(usize, usize)> = (0..workers)
            .map(|w| (rows * w / workers, rows * (w + 1) / workers))
            .collect();
        let parts: Vec<ColumnTokens> = if workers == 1 {
            vec![self.range(profile, id_type, 0, rows, &cell)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = ranges
                    .iter()
                    .map(|&(start, end)| {
                        let cell = &cell;
                        scope.spawn(move || self.range(profile, id_type, start, end, cell))
                    })
                    .collect();
                handles
                    .into_iter()
                    // A worker panics only on a bug; its rows are then missing,
                    // which the length check below turns into absent tokens.
                    .filter_map(|h| h.join().ok())
                    .collect()
            })
        };
        let mut out = ColumnTokens {
            text: Vec::with_capacity(parts.iter().map(|p| p.text.len()).sum()),
            ends: Vec::with_capacity(rows),
            present: Vec::with_capacity(rows),
            ..ColumnTokens::default()
        };
        for part in parts {
            let base = out.text.len();
            out.text.extend_from_slice(&part.text);
            out.ends.extend(part.ends.iter().map(|e| e + base));
            out.present.extend_from_slice(&part.present);
            out.counts.values += part.counts.values;
            out.counts.empty += part.counts.empty;
            out.counts.rejected += part.counts.rejected;
            out.rejects.extend_from_slice(&part.rejects);
        }
        let last = out.text.len();
        out.ends.resize(rows, last);
        out.present.resize(rows, false);
        out
    }

    /// Rows `start..end`, a group at a time: normalise, MAC together, write.
    fn range<'a, F>(
        &self,
        profile: &Profile,
        id_type: IdType,
        start: usize,
        end: usize,
        cell: &F,
    ) -> ColumnTokens
    where
        F: Fn(usize) -> Option<&'a str> + Sync,
    {
        let rows = end.saturating_sub(start);
        let mut out = ColumnTokens {
            text: Vec::with_capacity(rows * self.tokenizer.encoded_len()),
            ends: Vec::with_capacity(rows),
            present: Vec::with_capacity(rows),
            ..ColumnTokens::default()
        };
        let mut values = String::new();
        let mut spans: Vec<Option<(usize, usize)>> = Vec::with_capacity(GROUP_ROWS);
        let mut macs: Vec<[u8; 32]> = Vec::with_capacity(GROUP_ROWS);
        let mut group_start = start;
        while group_start < end {
            let group_end = (group_start + GROUP_ROWS).min(end);
            values.clear();
            spans.clear();
            for row in group_start..group_end {
                let from = values.len();
                let outcome = match cell(row) {
                    Some(text) => normalize_cell_append(profile, id_type, text, &mut values),
                    None => Cell::Empty,
                };
                out.counts.add(outcome);
                spans.push(match outcome {
                    Cell::Value => Some((from, values.len())),
                    Cell::Empty => None,
                    Cell::Rejected(reason) => {
                        out.rejects.push((row, reason));
                        None
                    }
                });
            }
            macs.clear();
            self.tokenizer.macs(
                spans.iter().flatten().map(|&(from, to)| {
                    (id_type, values.as_bytes().get(from..to).unwrap_or_default())
                }),
                &mut macs,
            );
            let mut next = macs.iter();
            for span in &spans {
                let mac = span.and_then(|_| next.next());
                if let Some(mac) = mac {
                    self.tokenizer.write_mac_text(mac, &mut out.text);
                }
                out.ends.push(out.text.len());
                out.present.push(mac.is_some());
            }
            group_start = group_end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use blindmatch_data::Silent;
    use blindmatch_token::{KeyFile, KeyPurpose};

    fn key_file(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("t.key");
        crate::keys::generate(&path, KeyPurpose::Master, &Silent).unwrap();
        path
    }

    #[test]
    fn tokens_match_the_tokenizer_row_for_row_on_any_thread_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file(dir.path());
        let column = ColumnTokenizer::open(&path, 32, &Silent).unwrap();
        let profile = Profile::standard();
        let cells: Vec<Option<String>> = (0..40_000)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some(String::new()),
                2 => Some("12345".to_owned()),
                _ => Some(format!("+86 138{:08}", i)),
            })
            .collect();
        let one = column.tokenize(
            &profile,
            IdType::Phone,
            cells.len(),
            |i| cells[i].as_deref(),
            Some(1),
        );
        let four = column.tokenize(
            &profile,
            IdType::Phone,
            cells.len(),
            |i| cells[i].as_deref(),
            Some(4),
        );
        assert_eq!(one, four);
        assert_eq!(one.counts.values, 16_000);
        assert_eq!(one.counts.empty, 16_000);
        assert_eq!(one.rejects.len(), 8_000);
        assert_eq!(one.rejects[0], (2, Rejection::TooShort));
        let file = KeyFile::read(&path).unwrap();
        let tokenizer = Tokenizer::new(&file.token_key().unwrap());
        let mut start = 0;
        for (i, cell) in cells.iter().enumerate() {
            let end = one.ends[i];
            let got = std::str::from_utf8(&one.text[start..end]).unwrap();
            match cell.as_deref().map(|c| profile.normalize(IdType::Phone, c)) {
                Some(Ok(n)) => {
                    assert!(one.present[i]);
                    let mut want = String::new();
                    tokenizer.write_token(IdType::Phone, n.as_bytes(), &mut want);
                    assert_eq!(got, want);
                }
                _ => {
                    assert!(!one.present[i]);
                    assert_eq!(got, "");
                }
            }
            start = end;
        }
    }
}
