//! Customer records in: where they come from ([`InputSource`]), which columns to
//! use and how ([`InputSpec`]), and the parts that read them: the CSV reader
//! ([`CsvReader`], with line and row numbers and one-line errors naming file, line
//! and column), column specs resolved against the header ([`Columns`]), per-cell
//! normalisation ([`normalize_cell`]) and reject counting ([`RejectTally`]).
//!
//! Shared by every pipeline that reads a dataset (tokenize, normalize, match), so
//! they accept the same options and fail the same way.
//!
//! Header names are shown in messages, hints and manifests only through
//! [`shown_header`]: in a file without a header row the first line is data, so a
//! name that looks like a raw identifier is replaced by its position.

mod cells;
mod columns;
mod csv;
mod rejects;
mod source;

pub use cells::{Cell, ColumnCounts, normalize_cell, normalize_cell_append, parse_rate};
pub use columns::{ColumnSpec, Columns, IdColumn, KeepColumn, OutputColumn, shown_header};
pub use csv::{CsvReader, InputSummary, Record, utf8_failure};
pub use rejects::{REJECTS_HEADER, RejectTally, write_reject_line};
pub use source::{InputSource, InputSpec, MemoryInput, parse_delimiter};
