//! Parquet output for pipelines that write CSV: [`ParquetWriter`] takes the CSV
//! text a pipeline would have written (header line first) and writes it as a
//! Parquet file into any writer, an [`AtomicFile`](super::AtomicFile) above all,
//! so the file still appears only when complete, with its SHA-256 and mode.
//!
//! Every column is a nullable string column, except the ones the caller gives an
//! Arrow type for ([`ColumnTypes`]: kept columns of a Parquet or Arrow input),
//! which are converted back to that type. An empty cell is written as a null:
//! CSV cannot tell an empty text from a missing one, and blindmatch treats both
//! as absent (a null identifier is an empty cell). So a kept text column's empty
//! strings come back as nulls; every other value, and every null, is kept.
//! Types whose text form does not convert back exactly (binary, nested, time of
//! day, intervals) are written as their text.
//!
//! Memory stays bounded: rows go out in batches of [`BATCH_ROWS`](crate::dataset::BATCH_ROWS),
//! row groups hold at most [`ROW_GROUP_ROWS`] rows.

use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use csv_core::ReadRecordResult;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::dataset::BATCH_ROWS;

/// Rows per Parquet row group (what the writer buffers, encoded, at most).
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Output columns, by name, that keep an Arrow type instead of being text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnTypes {
    types: Vec<(String, DataType)>,
}

impl ColumnTypes {
    /// No typed columns: every column is text.
    pub fn new() -> Self {
        ColumnTypes::default()
    }

    /// Writes column `name` as `data_type`, when its text converts back to that
    /// type exactly; otherwise it stays text.
    pub fn set(&mut self, name: impl Into<String>, data_type: &DataType) {
        if restorable(data_type) {
            self.types.push((name.into(), data_type.clone()));
        }
    }

    /// The type column `name` is written as.
    pub fn of(&self, name: &str) -> DataType {
        self.types
            .iter()
            .find(|(n, _)| n == name)
            .map_or(DataType::Utf8, |(_, t)| t.clone())
    }
}

/// Whether a value of `data_type`, written as text by the columnar reader,
/// converts back to the same value.
fn restorable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Boolean
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Date32
        | DataType::Timestamp(_, _)
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => true,
        DataType::Dictionary(key, values) => {
            key.is_dictionary_key_type() && matches!(**values, DataType::Utf8 | DataType::LargeUtf8)
        }
        t => t.is_integer(),
    }
}

/// A writer that turns CSV text into a Parquet file.
pub struct ParquetWriter<W: Write + Send> {
    parser: csv_core::Reader,
    /// The record being parsed: unescaped bytes and field ends.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
    types: ColumnTypes,
    /// Set once the header line is parsed.
    columns: Option<Columns<W>>,
    /// The destination until the header is known.
    inner: Option<W>,
}

/// The output's columns, once the header is known.
struct Columns<W: Write + Send> {
    schema: SchemaRef,
    builders: Vec<StringBuilder>,
    rows: usize,
    writer: ArrowWriter<W>,
}

impl<W: Write + Send> std::fmt::Debug for ParquetWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field(
                "columns",
                &self.columns.as_ref().map(|c| c.schema.fields().len()),
            )
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A writer into `inner` of CSV text with `delimiter`; `types` names the
    /// columns that are not text.
    pub fn new(inner: W, delimiter: u8, types: ColumnTypes) -> Self {
        let mut parser = csv_core::ReaderBuilder::new();
        parser.delimiter(delimiter);
        ParquetWriter {
            parser: parser.build(),
            bytes: vec![0; 256],
            ends: vec![0; 16],
            out_len: 0,
            ends_len: 0,
            types,
            columns: None,
            inner: Some(inner),
        }
    }

    /// Writes the last rows and the file footer; returns the inner writer.
    ///
    /// # Errors
    /// Encoding or writing failed.
    pub fn finish(mut self) -> io::Result<W> {
        // A last line without a line break is a record too.
        self.feed(&[])?;
        if self.columns.is_none() {
            self.start(Vec::new())?;
        }
        let Some(mut columns) = self.columns.take() else {
            return Err(io::Error::other("the Parquet output has no columns"));
        };
        columns.flush(&self.types)?;
        columns.writer.into_inner().map_err(io::Error::other)
    }

    /// Parses `input`, taking every complete record.
    fn feed(&mut self, mut input: &[u8]) -> io::Result<()> {
        loop {
            let (result, nin, nout, nend) = self.parser.read_record(
                input,
                self.bytes.get_mut(self.out_len..).unwrap_or_default(),
                self.ends.get_mut(self.ends_len..).unwrap_or_default(),
            );
            input = input.get(nin..).unwrap_or_default();
            self.out_len += nout;
            self.ends_len += nend;
            match result {
                ReadRecordResult::InputEmpty | ReadRecordResult::End => return Ok(()),
                ReadRecordResult::OutputFull => {
                    let len = self.bytes.len() * 2;
                    self.bytes.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                ReadRecordResult::Record => {
                    self.take_record()?;
                    self.out_len = 0;
                    self.ends_len = 0;
                }
            }
        }
    }

    /// Takes the record just parsed: the header, or a row.
    fn take_record(&mut self) -> io::Result<()> {
        let mut start = 0;
        let mut fields: Vec<&str> = Vec::with_capacity(self.ends_len);
        for &end in self.ends.get(..self.ends_len).unwrap_or_default() {
            let field = self.bytes.get(start..end).unwrap_or_default();
            fields.push(std::str::from_utf8(field).map_err(io::Error::other)?);
            start = end;
        }
        let Some(columns) = self.columns.as_mut() else {
            let header = fields.iter().map(|f| (*f).to_owned()).collect();
            return self.start(header);
        };
        if fields.len() != columns.builders.len() {
            return Err(io::Error::other(format!(
                "an output row has {} fields for {} columns",
                fields.len(),
                columns.builders.len()
            )));
        }
        for (builder, field) in columns.builders.iter_mut().zip(&fields) {
            if field.is_empty() {
                builder.append_null();
            } else {
                builder.append_value(field);
            }
        }
        columns.rows += 1;
        if columns.rows >= BATCH_ROWS {
            columns.flush(&self.types)?;
        }
        Ok(())
    }

    /// Starts the Parquet file with the columns of `header`.
    fn start(&mut self, header: Vec<String>) -> io::Result<()> {
        let Some(inner) = self.inner.take() else {
            return Err(io::Error::other("the Parquet output was started twice"));
        };
        let fields: Vec<Field> = header
            .iter()
            .map(|name| Field::new(name, self.types.of(name), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(inner, schema.clone(), Some(properties))
            .map_err(io::Error::other)?;
        self.columns = Some(Columns {
            builders: header.iter().map(|_| StringBuilder::new()).collect(),
            schema,
            rows: 0,
            writer,
        });
        Ok(())
    }
}

impl<W: Write + Send> Columns<W> {
    /// Writes the rows gathered as one batch, converting typed columns back.
    fn flush(&mut self, types: &ColumnTypes) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        self.rows = 0;
        let options = CastOptions {
            safe: false,
            ..CastOptions::default()
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.builders.len());
        for (builder, field) in self.builders.iter_mut().zip(self.schema.fields()) {
            let text: ArrayRef = Arc::new(builder.finish());
            let target = types.of(field.name());
            if target == DataType::Utf8 {
                arrays.push(text);
                continue;
            }
            // The cast's own message may quote the value: only the column is named.
            let array = cast_with_options(&text, &target, &options).map_err(|_| {
                io::Error::other(format!(
                    "a value of column '{}' does not convert back to {target}",
                    crate::dataset::shown_header(field.name(), arrays.len())
                ))
            })?;
            arrays.push(array);
        }
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(io::Error::other)?;
        self.writer.write(&batch).map_err(io::Error::other)
    }
}

impl<W: Write + Send> Write for ParquetWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The CSV parser takes an empty input for the end of the file.
        if buf.is_empty() {
            return Ok(0);
        }
        self.feed(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
