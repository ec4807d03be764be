//! One reader for every table format: [`DatasetReader`] hands out the same
//! [`Record`]s whether the input is CSV ([`CsvReader`]) or a Parquet or Arrow
//! IPC file ([`ColumnarReader`]), so a pipeline reads all of them with one loop
//! and fails on each with the same kind of error. Pipelines that work on blocks
//! of rows read [`RowChunk`]s instead ([`DatasetReader::read_chunk`]): records
//! from CSV, ranges of the record batch, read in place, from the others.

use arrow_schema::DataType;

use super::columnar::ColumnarReader;
use super::columns::Columns;
use super::csv::{CsvReader, InputSummary, Record};
use super::format::Format;
use super::rows::RowChunk;
use super::source::{InputSource, InputSpec};
use crate::error::Result;

/// A dataset reader over CSV, Parquet or Arrow IPC.
#[derive(Debug)]
pub struct DatasetReader {
    inner: Inner,
}

/// Both readers are boxed: their sizes differ by hundreds of bytes, and a reader
/// is moved between threads, never made per row.
#[derive(Debug)]
enum Inner {
    Csv(Box<CsvReader>),
    Columnar(Box<ColumnarReader>),
}

impl From<CsvReader> for DatasetReader {
    fn from(reader: CsvReader) -> Self {
        DatasetReader {
            inner: Inner::Csv(Box::new(reader)),
        }
    }
}

impl DatasetReader {
    /// Opens `source` in `format` (CSV with `delimiter`, Parquet or Arrow IPC)
    /// and reads its header or schema.
    ///
    /// # Errors
    /// As [`CsvReader::open`] and [`ColumnarReader::open`].
    pub fn open(source: &InputSource, format: Format, delimiter: u8) -> Result<Self> {
        let inner = match format {
            Format::Csv => Inner::Csv(Box::new(CsvReader::open(source, delimiter)?)),
            Format::Parquet | Format::Arrow => {
                Inner::Columnar(Box::new(ColumnarReader::open(source, format)?))
            }
        };
        Ok(DatasetReader { inner })
    }

    /// Opens the input of `spec` in its format ([`InputSpec::input_format`]).
    ///
    /// # Errors
    /// As [`DatasetReader::open`].
    pub fn open_spec(spec: &InputSpec) -> Result<Self> {
        Self::open(&spec.source, spec.input_format(), spec.delimiter)
    }

    /// The format read.
    pub fn format(&self) -> Format {
        match &self.inner {
            Inner::Csv(_) => Format::Csv,
            Inner::Columnar(r) => r.format(),
        }
    }

    /// The column names (a CSV header's trimmed).
    pub fn header(&self) -> &[String] {
        match &self.inner {
            Inner::Csv(r) => r.header(),
            Inner::Columnar(r) => r.header(),
        }
    }

    /// The name used in messages.
    pub fn name(&self) -> &str {
        match &self.inner {
            Inner::Csv(r) => r.name(),
            Inner::Columnar(r) => r.name(),
        }
    }

    /// The input size in bytes, when known (a file, not stdin).
    pub fn size(&self) -> Option<u64> {
        match &self.inner {
            Inner::Csv(r) => r.size(),
            Inner::Columnar(r) => Some(r.size()),
        }
    }

    /// Bytes consumed so far (estimated from rows for a columnar file), for
    /// progress.
    pub fn bytes_read(&self) -> u64 {
        match &self.inner {
            Inner::Csv(r) => r.bytes_read(),
            Inner::Columnar(r) => r.bytes_read(),
        }
    }

    /// Stops hashing the input: the summary's `sha256` is then empty.
    pub fn skip_hashing(&mut self) {
        match &mut self.inner {
            Inner::Csv(r) => r.skip_hashing(),
            Inner::Columnar(r) => r.skip_hashing(),
        }
    }

    /// Columns whose every value must be UTF-8 (CSV; columnar text always is).
    pub fn check_text_columns(&mut self, indices: Vec<usize>) {
        if let Inner::Csv(r) = &mut self.inner {
            r.check_text_columns(indices);
        }
    }

    /// Tells the reader which columns the caller uses: a columnar file then
    /// decodes only those, and its identifier columns must hold text or
    /// integers. Nothing changes for CSV. Call before the first read.
    ///
    /// # Errors
    /// An identifier column of another type (bad input).
    pub fn use_columns(&mut self, columns: &Columns) -> Result<()> {
        match &mut self.inner {
            Inner::Csv(_) => Ok(()),
            Inner::Columnar(r) => r.use_columns(columns),
        }
    }

    /// Checks, for a columnar file, that each identifier column of `columns`
    /// holds text or integers, and still decodes every column (for callers that
    /// use more columns than `columns` names). Nothing to check for CSV.
    ///
    /// # Errors
    /// An identifier column of another type (bad input).
    pub fn check_identifiers(&self, columns: &Columns) -> Result<()> {
        match &self.inner {
            Inner::Csv(_) => Ok(()),
            Inner::Columnar(r) => r.check_identifiers(columns),
        }
    }

    /// The Arrow type of column `index`, for a columnar input; `None` for CSV,
    /// whose cells are all text.
    pub fn column_type(&self, index: usize) -> Option<&DataType> {
        match &self.inner {
            Inner::Csv(_) => None,
            Inner::Columnar(r) => r.column_type(index),
        }
    }

    /// Reads the next data record into `record`; `false` at the end.
    ///
    /// # Errors
    /// As [`CsvReader::read`] and [`ColumnarReader::read`].
    pub fn read(&mut self, record: &mut Record) -> Result<bool> {
        match &mut self.inner {
            Inner::Csv(r) => r.read(record),
            Inner::Columnar(r) => r.read(record),
        }
    }

    /// Reads up to `max` (at least one) of the next rows into `chunk` and
    /// returns how many (0 only at the end). CSV fills the chunk's reused records; Parquet and Arrow hand
    /// over a range of the current record batch (at most to its end), whose
    /// cells are then read from the Arrow arrays without a copy. Rows come in
    /// input order with the row numbers [`DatasetReader::read`] gives, and the
    /// two calls may be mixed.
    ///
    /// # Errors
    /// As [`DatasetReader::read`].
    pub fn read_chunk(&mut self, chunk: &mut RowChunk, max: usize) -> Result<usize> {
        match &mut self.inner {
            Inner::Csv(r) => chunk.fill_records(max, |record| r.read(record)),
            Inner::Columnar(r) => {
                let rows = r.read_rows(max)?;
                chunk.set_batch(rows);
                Ok(chunk.len())
            }
        }
    }

    /// Reads to the end and returns the hash, size, row count and format.
    ///
    /// # Errors
    /// A read error or a malformed record in the rest of the input.
    pub fn finish(self) -> Result<InputSummary> {
        match self.inner {
            Inner::Csv(r) => (*r).finish(),
            Inner::Columnar(r) => (*r).finish(),
        }
    }
}
