//! Rows handed out many at a time ([`RowChunk`], filled by
//! [`DatasetReader::read_chunk`](super::DatasetReader::read_chunk)), for
//! pipelines that work on blocks of rows on many threads: from CSV a block of
//! reused [`Record`]s, from Parquet or Arrow a range of the current record batch
//! whose cells are read straight from the Arrow arrays' buffers, never copied.
//!
//! Both read through one trait, [`Rows`], so the code over them is written once
//! and gives the same result whichever format the rows came from.

use std::sync::Arc;

use arrow_array::{Array, LargeStringArray, StringArray, StringViewArray};

use super::csv::Record;

/// A block of rows read by field: CSV records ([`Record`] slices) or a range of
/// a Parquet or Arrow batch ([`BatchRows`]). Rows are 0-based within the block.
pub trait Rows {
    /// Rows in the block.
    fn len(&self) -> usize;

    /// Whether the block has no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Field `column` of row `i` as text: empty when absent (or null in a
    /// columnar table), `None` when it is not UTF-8 (CSV only: report it with
    /// [`utf8_failure`](super::utf8_failure)).
    fn text(&self, i: usize, column: usize) -> Option<&str>;

    /// The 1-based data row number of row `i`.
    fn row(&self, i: usize) -> u64;

    /// The 1-based input line on which row `i` starts ([`Record::line`]; a
    /// columnar table's row number).
    fn line(&self, i: usize) -> u64;
}

impl Rows for [Record] {
    fn len(&self) -> usize {
        <[Record]>::len(self)
    }

    fn text(&self, i: usize, column: usize) -> Option<&str> {
        self.get(i).map_or(Some(""), |r| r.try_text(column))
    }

    fn row(&self, i: usize) -> u64 {
        self.get(i).map_or(0, Record::row)
    }

    fn line(&self, i: usize) -> u64 {
        self.get(i).map_or(0, Record::line)
    }
}

/// One column of a columnar batch as text: strings as the file holds them, or
/// other types formatted once per batch. No `Debug`: it holds raw data.
pub(super) enum TextColumn {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl TextColumn {
    /// The text of `row`; `None` for a null (or a row past the end).
    pub(super) fn get(&self, row: usize) -> Option<&str> {
        // Arrow's `value` asserts the index; rows come from the batch's own
        // length, and the check keeps a bug from becoming a panic.
        match self {
            TextColumn::Utf8(a) => (row < a.len() && a.is_valid(row)).then(|| a.value(row)),
            TextColumn::Large(a) => (row < a.len() && a.is_valid(row)).then(|| a.value(row)),
            TextColumn::View(a) => (row < a.len() && a.is_valid(row)).then(|| a.value(row)),
        }
    }
}

/// The columns of one record batch as text, per header position (`None`: not
/// decoded, read as empty). Shared by the reader and every block cut from it.
pub(super) type BatchColumns = Arc<[Option<TextColumn>]>;

/// Rows `start..start + len` of a Parquet or Arrow record batch. Cells are read
/// from the batch's arrays in place (the text of a string column is already
/// checked UTF-8 by the decoder), so nothing is copied per row or per cell.
///
/// `Debug` shows the size only: the arrays hold raw data.
#[derive(Clone)]
pub struct BatchRows {
    columns: BatchColumns,
    start: usize,
    len: usize,
    /// The data row number of the first row.
    first_row: u64,
}

impl std::fmt::Debug for BatchRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRows")
            .field("first_row", &self.first_row)
            .field("rows", &self.len)
            .finish_non_exhaustive()
    }
}

impl BatchRows {
    /// Rows `start..start + len` of `columns`, the first of which is data row
    /// `first_row`.
    pub(super) fn new(columns: BatchColumns, start: usize, len: usize, first_row: u64) -> Self {
        BatchRows {
            columns,
            start,
            len,
            first_row,
        }
    }
}

impl Rows for BatchRows {
    fn len(&self) -> usize {
        self.len
    }

    fn text(&self, i: usize, column: usize) -> Option<&str> {
        if i >= self.len {
            return Some("");
        }
        let cell = match self.columns.get(column) {
            Some(Some(text)) => text.get(self.start + i),
            _ => None,
        };
        Some(cell.unwrap_or(""))
    }

    fn row(&self, i: usize) -> u64 {
        self.first_row + i as u64
    }

    fn line(&self, i: usize) -> u64 {
        self.row(i)
    }
}

/// A reusable block of rows for [`DatasetReader::read_chunk`](super::DatasetReader::read_chunk):
/// CSV fills its records (kept from block to block, so their buffers are
/// reused), a columnar table hands over a range of its batch.
///
/// `Debug` shows the form and the row count only: the rows are raw data.
#[derive(Default)]
pub struct RowChunk {
    records: Vec<Record>,
    len: usize,
    batch: Option<BatchRows>,
}

impl std::fmt::Debug for RowChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.rows().fmt(f)
    }
}

/// The rows of a [`RowChunk`], in the form they were read.
///
/// `Debug` shows the form and the row count only.
#[derive(Clone, Copy)]
pub enum ChunkRows<'a> {
    /// CSV records.
    Records(&'a [Record]),
    /// A range of a Parquet or Arrow batch.
    Batch(&'a BatchRows),
}

impl std::fmt::Debug for ChunkRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkRows::Records(records) => f
                .debug_struct("Records")
                .field("rows", &records.len())
                .finish_non_exhaustive(),
            ChunkRows::Batch(batch) => batch.fmt(f),
        }
    }
}

impl RowChunk {
    /// Rows in the chunk.
    pub fn len(&self) -> usize {
        match &self.batch {
            Some(batch) => batch.len,
            None => self.len,
        }
    }

    /// Whether the chunk has no rows (the end of the input was reached).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows, to be read through [`Rows`]: match once per chunk, not per cell.
    pub fn rows(&self) -> ChunkRows<'_> {
        match &self.batch {
            Some(batch) => ChunkRows::Batch(batch),
            None => ChunkRows::Records(self.records.get(..self.len).unwrap_or_default()),
        }
    }

    /// Fills the chunk with up to `max` (at least one) CSV records, each read
    /// by `read` (`false` at the end of the input); the records' buffers are
    /// reused. Returns the records read.
    pub(super) fn fill_records<E>(
        &mut self,
        max: usize,
        mut read: impl FnMut(&mut Record) -> std::result::Result<bool, E>,
    ) -> std::result::Result<usize, E> {
        self.batch = None;
        self.len = 0;
        while self.len < max.max(1) {
            if self.records.len() == self.len {
                self.records.push(Record::default());
            }
            let Some(record) = self.records.get_mut(self.len) else {
                break;
            };
            if !read(record)? {
                break;
            }
            self.len += 1;
        }
        Ok(self.len)
    }

    /// Sets the chunk to a range of a batch, or to nothing at the end.
    pub(super) fn set_batch(&mut self, batch: Option<BatchRows>) {
        self.len = 0;
        self.batch = batch;
    }
}
