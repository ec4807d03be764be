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

/// The tokens of one column, one fixed-width slot per row: row `i`'s token is
/// `text[i * width..(i + 1) * width]` when `present[i]`; an absent token (a
/// missing, empty or rejected cell) leaves its slot zero-filled. Fixed slots let
/// every thread write its rows straight into one buffer, and map onto an Arrow
/// string column without copying (offsets `i * width`, absent rows null).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnTokens {
    /// The slots, `width` bytes per row: ASCII token text, or zeros.
    pub text: Vec<u8>,
    /// Bytes per slot: the length of every token's text.
    pub width: usize,
    /// Whether each row has a token.
    pub present: Vec<bool>,
    /// Tokens made, empty (or missing) and rejected cells.
    pub counts: ColumnCounts,
    /// Rejected cells: 0-based row and reason, in row order. Never the value.
    pub rejects: Vec<(usize, Rejection)>,
}

impl ColumnTokens {
    /// Row `i`'s token, if it has one.
    pub fn token(&self, i: usize) -> Option<&str> {
        if !self.present.get(i).copied().unwrap_or(false) {
            return None;
        }
        let slot = self.text.get(i * self.width..(i + 1) * self.width)?;
        std::str::from_utf8(slot).ok()
    }
}

/// What one worker counted over its rows.
#[derive(Default)]
struct RangeTally {
    counts: ColumnCounts,
    rejects: Vec<(usize, Rejection)>,
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
        let width = self.tokenizer.encoded_len();
        let mut text = vec![0u8; rows * width];
        let mut present = vec![false; rows];
        // Each worker gets a contiguous run of rows and the matching slices of
        // both buffers, so no row is written twice and nothing is copied after.
        let mut jobs = Vec::with_capacity(workers);
        let (mut text_rest, mut present_rest) = (&mut text[..], &mut present[..]);
        for w in 0..workers {
            let (start, end) = (rows * w / workers, rows * (w + 1) / workers);
            let (t, t_rest) = std::mem::take(&mut text_rest).split_at_mut((end - start) * width);
            let (p, p_rest) = std::mem::take(&mut present_rest).split_at_mut(end - start);
            text_rest = t_rest;
            present_rest = p_rest;
            jobs.push((start, t, p));
        }
        let tallies: Vec<RangeTally> = if workers == 1 {
            jobs.into_iter()
                .map(|(start, t, p)| self.range(profile, id_type, start, t, p, &cell))
                .collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = jobs
                    .into_iter()
                    .map(|(start, t, p)| {
                        let cell = &cell;
                        scope.spawn(move || self.range(profile, id_type, start, t, p, cell))
                    })
                    .collect();
                handles
                    .into_iter()
                    // A worker panics only on a bug; its rows then stay absent.
                    .filter_map(|h| h.join().ok())
                    .collect()
            })
        };
        let mut out = ColumnTokens {
            text,
            width,
            present,
            ..ColumnTokens::default()
        };
        for tally in tallies {
            out.counts.values += tally.counts.values;
            out.counts.empty += tally.counts.empty;
            out.counts.rejected += tally.counts.rejected;
            out.rejects.extend_from_slice(&tally.rejects);
        }
        out
    }

    /// Rows `start..start + present.len()`, a group at a time: normalise, MAC
    /// together, write each token into its slot of `text`.
    fn range<'a, F>(
        &self,
        profile: &Profile,
        id_type: IdType,
        start: usize,
        text: &mut [u8],
        present: &mut [bool],
        cell: &F,
    ) -> RangeTally
    where
        F: Fn(usize) -> Option<&'a str> + Sync,
    {
        let width = self.tokenizer.encoded_len();
        let mut tally = RangeTally::default();
        let mut values = String::new();
        let mut spans: Vec<Option<(usize, usize)>> = Vec::with_capacity(GROUP_ROWS);
        let mut macs: Vec<[u8; 32]> = Vec::with_capacity(GROUP_ROWS);
        for ((group, slots), flags) in (0..present.len())
            .step_by(GROUP_ROWS)
            .zip(text.chunks_mut(GROUP_ROWS * width))
            .zip(present.chunks_mut(GROUP_ROWS))
        {
            values.clear();
            spans.clear();
            for row in start + group..start + group + flags.len() {
                let from = values.len();
                let outcome = match cell(row) {
                    Some(text) => normalize_cell_append(profile, id_type, text, &mut values),
                    None => Cell::Empty,
                };
                tally.counts.add(outcome);
                spans.push(match outcome {
                    Cell::Value => Some((from, values.len())),
                    Cell::Empty => None,
                    Cell::Rejected(reason) => {
                        tally.rejects.push((row, reason));
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
            for ((span, slot), flag) in spans.iter().zip(slots.chunks_mut(width)).zip(flags) {
                if let Some(mac) = span.and_then(|_| next.next()) {
                    *flag = self.tokenizer.mac_text_into(mac, slot);
                }
            }
        }
        tally
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
        for (i, cell) in cells.iter().enumerate() {
            match cell.as_deref().map(|c| profile.normalize(IdType::Phone, c)) {
                Some(Ok(n)) => {
                    let mut want = String::new();
                    tokenizer.write_token(IdType::Phone, n.as_bytes(), &mut want);
                    assert_eq!(one.token(i), Some(want.as_str()));
                }
                _ => {
                    assert_eq!(one.token(i), None);
                    let slot = &one.text[i * one.width..(i + 1) * one.width];
                    assert!(
                        slot.iter().all(|&b| b == 0),
                        "an absent row's slot stays zero"
                    );
                }
            }
        }
    }

    #[test]
    fn truncated_tokens_fill_their_narrower_slots() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file(dir.path());
        let column = ColumnTokenizer::open(&path, 16, &Silent).unwrap();
        let profile = Profile::standard();
        let cells = ["+86 138 0013 8000", "", "a@example.com"];
        let tokens = column.tokenize(&profile, IdType::Email, 3, |i| Some(cells[i]), None);
        let file = KeyFile::read(&path).unwrap();
        let tokenizer = Tokenizer::with_len(&file.token_key().unwrap(), 16).unwrap();
        let mut want = String::new();
        tokenizer.write_token(IdType::Email, b"a@example.com", &mut want);
        assert_eq!(tokens.width, want.len());
        assert_eq!(tokens.token(2), Some(want.as_str()));
        assert_eq!((tokens.token(0), tokens.token(1)), (None, None));
        assert_eq!(tokens.rejects, vec![(0, Rejection::MissingAt)]);
    }
}
