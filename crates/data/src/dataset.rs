//! Customer records in: where they come from ([`InputSource`]), in which format
//! ([`Format`]: CSV, Parquet or Arrow IPC), which columns to use and how
//! ([`InputSpec`]), and the parts that read them: [`DatasetReader`] over the CSV
//! reader ([`CsvReader`], with line and row numbers and one-line errors naming
//! file, line and column) and the Parquet and Arrow reader ([`ColumnarReader`],
//! one record batch at a time), blocks of rows for pipelines that work on many
//! rows at once ([`RowChunk`], read through [`Rows`]: CSV records, or a range of
//! a record batch read in place), column specs resolved against the header ([`Columns`]), per-cell
//! normalisation ([`normalize_cell`]) and reject counting ([`RejectTally`]).
//!
//! Shared by every pipeline that reads a dataset (tokenize, normalize, match), so
//! they accept the same options and fail the same way.
//!
//! Header names are shown in messages, hints and manifests only through
//! [`shown_header`]: in a file without a header row the first line is data, so a
//! name that looks like a raw identifier is replaced by its position.

mod cells;
mod columnar;
mod columns;
mod csv;
mod format;
mod reader;
mod rejects;
mod rows;
mod source;

/// The Arrow type of a column of a Parquet or Arrow input
/// ([`DatasetReader::column_type`]).
pub use arrow_schema::DataType;
pub use cells::{Cell, ColumnCounts, normalize_cell, normalize_cell_append, parse_rate};
pub use columnar::{BATCH_ROWS, ColumnarReader};
pub use columns::{ColumnSpec, Columns, IdColumn, KeepColumn, OutputColumn, shown_header};
pub use csv::{CsvReader, InputSummary, Record, utf8_failure};
pub use format::Format;
pub use reader::DatasetReader;
pub use rejects::{REJECTS_HEADER, RejectTally, write_reject_line};
pub use rows::{BatchRows, ChunkRows, RowChunk, Rows};
pub use source::{InputSource, InputSpec, MemoryInput, parse_delimiter};
