//! Parquet and Arrow IPC files read one record batch at a time, handed out as the
//! same [`Record`]s the CSV reader gives, so every pipeline reads them unchanged,
//! or as ranges of the batch ([`BatchRows`], [`ColumnarReader::read_rows`]) whose
//! cells are read in place, for pipelines that work on blocks of rows.
//!
//! Memory stays bounded by a batch ([`BATCH_ROWS`] rows of the columns in use):
//! a Parquet file is read row group by row group, only the columns a command
//! uses are decoded ([`ColumnarReader::use_columns`]), and each batch's columns
//! become text once, not cell by cell. A null cell is an empty field, as an
//! empty CSV cell is.
//!
//! Identifier columns must hold text: strings (also large, view and dictionary
//! encoded ones), or integers, read as their decimal digits (a phone number or
//! customer number stored as an integer is common; a leading zero it had is
//! gone, which the normaliser then rejects or which simply does not match).
//! Floating-point, date, binary and nested identifier columns are refused: a
//! phone number that became `1.3812345678E10` is not one any more.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use sha2::{Digest, Sha256};

use super::columns::{Columns, shown_header};
use super::csv::{InputSummary, Record};
use super::format::Format;
use super::rows::{BatchColumns, BatchRows, TextColumn};
use super::source::InputSource;
use crate::error::{Error, FailWith, Result};

/// Rows per record batch: large enough that per-batch work is nothing beside the
/// rows, small enough that a batch of a wide table stays a few megabytes.
pub const BATCH_ROWS: usize = 8192;

/// The batches still to read.
type Batches = Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>;

/// A file opened, before its batches are read: the projection can still change.
enum Opened {
    Parquet(ParquetRecordBatchReaderBuilder<File>),
    Arrow(Batches),
}

/// A Parquet or Arrow IPC file read in record batches.
pub struct ColumnarReader {
    name: String,
    format: Format,
    /// The file, for hashing it (the readers hold their own handles of it).
    file: File,
    opened: Option<Opened>,
    batches: Option<Batches>,
    schema: SchemaRef,
    header: Vec<String>,
    /// Header positions decoded, ascending; `None` for all.
    selected: Option<Vec<usize>>,
    /// The current batch, per header position (`None`: not decoded); shared
    /// with the [`BatchRows`] handed out of it.
    current: BatchColumns,
    current_rows: usize,
    next_row: usize,
    rows: u64,
    total_rows: Option<u64>,
    size: u64,
    hashing: bool,
    sha256: Option<String>,
}

impl std::fmt::Debug for ColumnarReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnarReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("columns", &self.header.len())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ColumnarReader {
    /// Opens `source` as a `format` file (Parquet or Arrow IPC) and reads its
    /// schema.
    ///
    /// # Errors
    /// Standard input (these formats need a file), a file that cannot be opened,
    /// or one that is not a readable file of that format (bad input).
    pub fn open(source: &InputSource, format: Format) -> Result<Self> {
        let name = source.name();
        if matches!(source, InputSource::Stdin) {
            return Err(Error::bad_input(format!(
                "{} input cannot be read from standard input",
                format_title(format)
            ))
            .hint("give the file's path with --input, or pipe CSV with --format csv"));
        }
        let (file, size) = source.open_file()?;
        let clone = |file: &File| {
            file.try_clone().fail_with(|| {
                Error::bad_input(format!("cannot read input file '{name}'"))
                    .hint("check the file's permissions")
            })
        };
        let not_this_format = || {
            Error::bad_input(format!(
                "'{name}' is not {} file, or it is truncated",
                a_format(format)
            ))
            .hint(match format {
                Format::Parquet => "check the file is complete; for a CSV file give --format csv or a name ending in .csv",
                _ => "check the file is a complete Arrow IPC (Feather v2) file; for a CSV file give --format csv or a name ending in .csv",
            })
        };
        let (opened, schema, total_rows) = match format {
            Format::Parquet => {
                let builder = ParquetRecordBatchReaderBuilder::try_new(clone(&file)?)
                    .fail_with(not_this_format)?;
                check_chunks(builder.metadata(), &name)?;
                let schema = builder.schema().clone();
                // Text columns are decoded as string views: values then stay in
                // the decompressed pages instead of being copied once more into a
                // contiguous buffer, most of the decoding time of short strings.
                // `column_type` still gives the file's own types.
                let options = ArrowReaderOptions::new().with_schema(view_schema(&schema));
                let builder =
                    ParquetRecordBatchReaderBuilder::try_new_with_options(clone(&file)?, options)
                        .fail_with(not_this_format)?;
                let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
                (Opened::Parquet(builder), schema, rows)
            }
            Format::Arrow => {
                let reader = arrow_ipc::reader::FileReader::try_new_buffered(clone(&file)?, None)
                    .fail_with(not_this_format)?;
                let schema = reader.schema();
                (Opened::Arrow(Box::new(reader)), schema, None)
            }
            Format::Csv => {
                return Err(Error::failed("a CSV file was opened as a columnar table"));
            }
        };
        let header = schema.fields().iter().map(|f| f.name().clone()).collect();
        Ok(ColumnarReader {
            name,
            format,
            file,
            opened: Some(opened),
            batches: None,
            current: Arc::from(Vec::new()),
            schema,
            header,
            selected: None,
            current_rows: 0,
            next_row: 0,
            rows: 0,
            total_rows,
            size,
            hashing: true,
            sha256: None,
        })
    }

    /// The column names, in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The format read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file's bytes read so far, estimated from the rows read (for progress).
    pub fn bytes_read(&self) -> u64 {
        match self.total_rows {
            Some(total) if total > 0 => {
                ((self.size as u128 * u128::from(self.rows)) / u128::from(total)) as u64
            }
            _ => 0,
        }
    }

    /// Stops hashing the input: the summary's `sha256` is then empty.
    pub fn skip_hashing(&mut self) {
        self.hashing = false;
    }

    /// The Arrow type of column `index`.
    pub fn column_type(&self, index: usize) -> Option<&DataType> {
        self.schema.fields().get(index).map(|f| f.data_type())
    }

    /// Decodes only the columns `columns` uses (the others read as empty), and
    /// checks that each identifier column holds text or integers.
    ///
    /// # Errors
    /// An identifier column of another type (bad input, naming the column and
    /// its type, never a value).
    pub fn use_columns(&mut self, columns: &Columns) -> Result<()> {
        self.check_identifiers(columns)?;
        let mut selected = columns.used_indices();
        selected.sort_unstable();
        selected.dedup();
        self.selected = Some(selected);
        Ok(())
    }

    /// Checks that each identifier column of `columns` holds text or integers,
    /// decoding every column still.
    ///
    /// # Errors
    /// As [`ColumnarReader::use_columns`].
    pub fn check_identifiers(&self, columns: &Columns) -> Result<()> {
        for id in &columns.ids {
            let Some(data_type) = self.column_type(id.index) else {
                continue;
            };
            if !identifier_type(data_type) {
                let shown = shown_header(&id.name, id.index);
                return Err(Error::bad_input(format!(
                    "column '{shown}' of '{}' holds {data_type} values, not text: an identifier column must be a string column (or integers, read as decimal digits)",
                    self.name
                ))
                .hint(format!(
                    "store '{shown}' as a string column when writing the file (in pandas: .astype(\"string\")); a number stored as floating point has lost its exact digits"
                )));
            }
        }
        Ok(())
    }

    /// Reads the next row into `record`; `false` at the end.
    ///
    /// # Errors
    /// A damaged file (a corrupt page, a truncated file) or a read error.
    pub fn read(&mut self, record: &mut Record) -> Result<bool> {
        while self.next_row >= self.current_rows {
            if !self.next_batch()? {
                return Ok(false);
            }
        }
        let row = self.next_row;
        self.next_row += 1;
        self.rows += 1;
        record.start_columnar(self.rows);
        for column in self.current.iter() {
            let text = column.as_ref().and_then(|c| c.get(row)).unwrap_or("");
            record.push_field(text.as_bytes());
        }
        Ok(true)
    }

    /// Reads up to `max` (at least one) of the next rows as one block of the current batch
    /// (fewer at the end of a batch), without copying a cell; `None` at the
    /// end. Rows read before with [`ColumnarReader::read`] are not repeated.
    ///
    /// # Errors
    /// As [`ColumnarReader::read`].
    pub fn read_rows(&mut self, max: usize) -> Result<Option<BatchRows>> {
        while self.next_row >= self.current_rows {
            if !self.next_batch()? {
                return Ok(None);
            }
        }
        let len = max.max(1).min(self.current_rows - self.next_row);
        let rows = BatchRows::new(Arc::clone(&self.current), self.next_row, len, self.rows + 1);
        self.next_row += len;
        self.rows += len as u64;
        Ok(Some(rows))
    }

    /// Reads to the end (so a damaged last page is found) and returns the hash,
    /// size and row count.
    ///
    /// # Errors
    /// As [`ColumnarReader::read`].
    pub fn finish(mut self) -> Result<InputSummary> {
        while self.next_batch()? {}
        Ok(InputSummary {
            sha256: self.sha256.take().unwrap_or_default(),
            bytes: self.size,
            rows: self.rows,
            format: self.format,
        })
    }

    /// Moves to the next batch; `false` at the end of the file.
    fn next_batch(&mut self) -> Result<bool> {
        if self.batches.is_none() {
            self.start()?;
        }
        let Some(batches) = self.batches.as_mut() else {
            return Ok(false);
        };
        // The parquet and arrow crates assert on some damaged pages instead of
        // returning an error (the fuzzer found one in parquet 60's level decoder): a
        // panic while decoding a batch is a damaged file, and the reader stops.
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batches.next()));
        let Ok(next) = next else {
            self.batches = Some(Box::new(std::iter::empty()));
            return Err(self.damaged());
        };
        let batch = match next {
            None => {
                self.batches = Some(Box::new(std::iter::empty()));
                self.current_rows = 0;
                self.next_row = 0;
                return Ok(false);
            }
            Some(batch) => batch.fail_with(|| self.damaged())?,
        };
        let selected: Vec<usize> = match &self.selected {
            Some(selected) => selected.clone(),
            None => (0..self.header.len()).collect(),
        };
        let mut current: Vec<Option<TextColumn>> = (0..self.header.len()).map(|_| None).collect();
        for (position, &index) in selected.iter().enumerate() {
            // A Parquet projection hands back the selected columns only, in file
            // order; an Arrow file hands back all of them.
            let array = match self.format {
                Format::Parquet => batch.columns().get(position),
                _ => batch.columns().get(index),
            };
            let Some(array) = array else {
                return Err(self.damaged());
            };
            let text = text_column(array).fail_with(|| self.damaged())?;
            if let Some(slot) = current.get_mut(index) {
                *slot = Some(text);
            }
        }
        self.current = Arc::from(current);
        self.current_rows = batch.num_rows();
        self.next_row = 0;
        Ok(true)
    }

    /// Hashes the file (when asked) and starts reading batches of the columns
    /// in use.
    fn start(&mut self) -> Result<()> {
        if self.hashing {
            self.sha256 = Some(self.hash_file()?);
        }
        let batches: Batches = match self.opened.take() {
            Some(Opened::Parquet(builder)) => {
                let builder = builder.with_batch_size(BATCH_ROWS);
                let builder = match &self.selected {
                    Some(selected) => {
                        let mask = ProjectionMask::roots(
                            builder.parquet_schema(),
                            selected.iter().copied(),
                        );
                        builder.with_projection(mask)
                    }
                    None => builder,
                };
                Box::new(builder.build().fail_with(|| self.damaged())?)
            }
            Some(Opened::Arrow(batches)) => batches,
            None => Box::new(std::iter::empty()),
        };
        self.batches = Some(batches);
        Ok(())
    }

    /// SHA-256 of the whole file, read through the handle the readers share
    /// (they seek before every read), so it covers exactly the bytes decoded.
    fn hash_file(&mut self) -> Result<String> {
        let name = &self.name;
        let failure = || {
            Error::bad_input(format!("cannot read input file '{name}'"))
                .hint("check that the file is readable")
        };
        self.file.seek(SeekFrom::Start(0)).fail_with(failure)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = match self.file.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(failure().caused_by(e)),
            };
            hasher.update(buffer.get(..n).unwrap_or_default());
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// The error for a batch that cannot be decoded.
    fn damaged(&self) -> Error {
        Error::bad_input(format!(
            "'{}': cannot decode the rows after row {}: the {} file is damaged (a corrupt page or a truncated file)",
            self.name,
            self.rows,
            format_title(self.format)
        ))
        .hint("write the file again from its source; nothing was written")
    }
}

/// Refuses, before any page is read, a Parquet file whose footer places a column
/// chunk at a negative offset or size (damaged), or one compressed with a codec
/// this build leaves out (gzip, Brotli, LZO), by name: otherwise it would look
/// damaged.
fn check_chunks(metadata: &parquet::file::metadata::ParquetMetaData, name: &str) -> Result<()> {
    use parquet::basic::Compression;
    for group in metadata.row_groups() {
        for column in group.columns() {
            // The parquet crate asserts these when it reads the chunk (a panic on a
            // damaged footer): refuse them here, as bad input.
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            if start < 0 || column.compressed_size() < 0 {
                return Err(Error::bad_input(format!(
                    "'{name}' is damaged: a column chunk has a negative offset or size"
                ))
                .hint("check the file is complete; write it again from its source"));
            }
            let codec = column.compression();
            if !matches!(
                codec,
                Compression::UNCOMPRESSED
                    | Compression::SNAPPY
                    | Compression::ZSTD(_)
                    | Compression::LZ4
                    | Compression::LZ4_RAW
            ) {
                let codec = match codec {
                    Compression::GZIP(_) => "gzip",
                    Compression::BROTLI(_) => "Brotli",
                    Compression::LZO => "LZO",
                    _ => "an unsupported",
                };
                return Err(Error::bad_input(format!(
                    "'{name}' is compressed with {codec} compression, which blindmatch does not read"
                ))
                .hint("write the file with Snappy or zstd compression (the defaults of pyarrow and polars)"));
            }
        }
    }
    Ok(())
}

/// `schema` with its top-level text columns as string views.
fn view_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View))
            }
            _ => f.clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Whether an identifier column may have this type: text, or integers.
fn identifier_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => true,
        DataType::Dictionary(_, values) => identifier_type(values),
        t => t.is_integer(),
    }
}

/// One batch column as text: strings as they are, anything else formatted once
/// per batch (integers as decimal digits, dates as ISO 8601, binary as hex).
fn text_column(array: &ArrayRef) -> std::result::Result<TextColumn, ArrowError> {
    Ok(match array.data_type() {
        DataType::Utf8 => TextColumn::Utf8(array.as_string::<i32>().clone()),
        DataType::LargeUtf8 => TextColumn::Large(array.as_string::<i64>().clone()),
        DataType::Utf8View => TextColumn::View(array.as_string_view().clone()),
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
            let nulls = array.logical_nulls();
            let mut builder = arrow_array::builder::StringBuilder::with_capacity(array.len(), 0);
            let mut text = String::new();
            for row in 0..array.len() {
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    builder.append_null();
                } else {
                    text.clear();
                    write!(text, "{}", formatter.value(row))
                        .map_err(|e| ArrowError::ComputeError(e.to_string()))?;
                    builder.append_value(&text);
                }
            }
            TextColumn::Utf8(builder.finish())
        }
    })
}

/// The format's name after "is not".
fn a_format(format: Format) -> &'static str {
    match format {
        Format::Parquet => "a Parquet",
        Format::Arrow => "an Arrow IPC",
        Format::Csv => "a CSV",
    }
}

/// The format's name in a sentence.
fn format_title(format: Format) -> &'static str {
    match format {
        Format::Parquet => "Parquet",
        Format::Arrow => "Arrow IPC",
        Format::Csv => "CSV",
    }
}
