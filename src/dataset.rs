//! Customer records in: reading a CSV file or stdin, the header and column lookup,
//! `NAME:TYPE` column specs and `--keep` columns, record streaming with line and row
//! numbers, CSV errors turned into one-line failures naming file, line and column,
//! and per-column normalisation with reject counting.
//!
//! Shared by every command that reads a dataset (`tokenize`, `normalize --input`,
//! `match`), so they accept the same options and fail the same way.
//!
//! Header names are shown in messages, hints and manifests only through
//! [`shown_header`]: in a file without a header row the first line is data, so a
//! name that looks like a raw identifier is replaced by its position.
//!
//! The reader drives `csv_core` directly instead of `csv::Reader` for two reasons:
//! `csv::Reader` silently accepts a quoted field left open at the end of the file
//! (the rest of the file becomes one field), and it cannot report the line a record
//! *starts* on once blank lines or CRLF endings are involved. The loop is the same
//! as `csv::Reader`'s, with one reused buffer per record and no per-row allocation.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use blindmatch_token::{CallingCode, EmailProviderRules, IdType, Profile, Rejection};
use clap::Args;
use csv_core::ReadRecordResult;
use sha2::{Digest, Sha256};

use crate::error::{FailWith, Failure};
use blindmatch_data::scan;

/// A record longer than this is refused: in practice it is an unbalanced quote
/// swallowing the rest of the file, and refusing it keeps memory bounded.
const MAX_RECORD_BYTES: usize = 16 << 20;

/// How `--column`, `--keep` and `--input` are spelled on every command that reads
/// customer records.
#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// CSV file to read, `-` for standard input. The first line is the header;
    /// the file must be UTF-8 (a byte-order mark is allowed).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) input: PathBuf,

    /// An identifier column and its type, as NAME:TYPE (repeatable), e.g.
    /// `--column mobile:phone`. Types: phone, email, uscc, cn_id, name, text, raw.
    #[arg(short, long = "column", value_name = "NAME:TYPE", required = true)]
    pub(crate) columns: Vec<String>,

    /// A column copied to the output unchanged (repeatable). Columns neither
    /// given to --column nor to --keep are dropped.
    #[arg(short, long, value_name = "NAME")]
    pub(crate) keep: Vec<String>,

    /// Field delimiter: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub(crate) delimiter: String,
}

impl InputArgs {
    /// The validated form: the input source, parsed column specs, keep list and
    /// delimiter.
    ///
    /// # Errors
    /// A spec is not `NAME:TYPE`, a type is unknown, a column is named twice, or the
    /// delimiter is not one ASCII character.
    pub(crate) fn validate(&self) -> anyhow::Result<InputSpec> {
        let mut columns = Vec::with_capacity(self.columns.len());
        for arg in &self.columns {
            columns.push(ColumnSpec::parse(arg)?);
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, option) in columns
            .iter()
            .map(|c| (c.name.as_str(), "--column"))
            .chain(self.keep.iter().map(|k| (k.as_str(), "--keep")))
        {
            if let Some(first) = seen.insert(name, option) {
                return Err(Failure::bad_input(format!(
                    "column '{name}' is given twice ({first} and {option})"
                ))
                .hint("name each input column once; a column is either an identifier (--column) or kept (--keep)")
                .into());
            }
        }
        Ok(InputSpec {
            source: InputSource::parse(&self.input),
            columns,
            keep: self.keep.clone(),
            delimiter: parse_delimiter(&self.delimiter)?,
        })
    }
}

/// Validated input options: where to read, which columns to use and how.
#[derive(Debug, Clone)]
pub(crate) struct InputSpec {
    /// The file or stdin.
    pub(crate) source: InputSource,
    /// Identifier columns with their types, in the order given.
    pub(crate) columns: Vec<ColumnSpec>,
    /// Columns copied unchanged.
    pub(crate) keep: Vec<String>,
    /// Field delimiter byte.
    pub(crate) delimiter: u8,
}

/// Parses `--delimiter`: one ASCII character or the word `tab`.
///
/// # Errors
/// Anything else.
pub(crate) fn parse_delimiter(arg: &str) -> anyhow::Result<u8> {
    match arg.as_bytes() {
        _ if arg.eq_ignore_ascii_case("tab") => Ok(b'\t'),
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(*b),
        _ => Err(Failure::bad_input(format!(
            "--delimiter '{arg}' is not a single ASCII character"
        ))
        .hint("use e.g. --delimiter ';' or --delimiter tab")
        .into()),
    }
}

/// Where records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputSource {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl InputSource {
    /// Parses an `--input` argument: `-` is stdin.
    pub(crate) fn parse(arg: &Path) -> Self {
        if arg.as_os_str() == "-" {
            InputSource::Stdin
        } else {
            InputSource::File(arg.to_path_buf())
        }
    }

    /// The name used in messages: the path as given, or `<stdin>`.
    pub(crate) fn name(&self) -> String {
        match self {
            InputSource::Stdin => "<stdin>".to_owned(),
            InputSource::File(path) => path.display().to_string(),
        }
    }

    /// Opens the source for reading, with its size when known (for progress).
    ///
    /// # Errors
    /// The file does not exist, is a folder, or cannot be opened.
    pub(crate) fn open(&self) -> anyhow::Result<(Box<dyn Read + Send>, Option<u64>)> {
        match self {
            InputSource::Stdin => Ok((Box::new(io::stdin()), None)),
            InputSource::File(path) => {
                let shown = path.display();
                let meta = std::fs::metadata(path).fail_with(|| {
                    Failure::bad_input(format!("cannot read input file '{shown}'"))
                        .hint("check the path; use `-` to read standard input")
                })?;
                if meta.is_dir() {
                    return Err(Failure::bad_input(format!(
                        "input '{shown}' is a folder, not a file"
                    ))
                    .hint("give the path of a CSV file")
                    .into());
                }
                let file = File::open(path).fail_with(|| {
                    Failure::bad_input(format!("cannot read input file '{shown}'"))
                        .hint("check the file's permissions")
                })?;
                Ok((Box::new(file), Some(meta.len())))
            }
        }
    }
}

/// One `--column NAME:TYPE` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnSpec {
    /// The header name of the column.
    pub(crate) name: String,
    /// How its values are normalised and tokenised.
    pub(crate) id_type: IdType,
}

impl ColumnSpec {
    /// Parses `NAME:TYPE`. The type follows the last `:`, so header names may
    /// contain colons.
    ///
    /// # Errors
    /// No `:`, an empty name, or an unknown type.
    pub(crate) fn parse(arg: &str) -> anyhow::Result<Self> {
        let Some((name, ty)) = arg.rsplit_once(':') else {
            return Err(Failure::bad_input(format!(
                "--column '{arg}' has no type; expected NAME:TYPE"
            ))
            .hint(format!(
                "e.g. --column {arg}:phone; types: {}",
                IdType::VALID_NAMES
            ))
            .into());
        };
        if name.is_empty() {
            return Err(
                Failure::bad_input(format!("--column '{arg}' has no column name"))
                    .hint("expected NAME:TYPE, e.g. --column mobile:phone")
                    .into(),
            );
        }
        let id_type = ty.trim().parse::<IdType>().fail_with(|| {
            Failure::bad_input(format!("--column '{arg}': unknown identifier type '{ty}'"))
                .hint(format!("types: {}", IdType::VALID_NAMES))
        })?;
        Ok(ColumnSpec {
            name: name.to_owned(),
            id_type,
        })
    }
}

/// An identifier column found in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdColumn {
    /// Header name.
    pub(crate) name: String,
    /// Position in each record (0-based).
    pub(crate) index: usize,
    /// Identifier type.
    pub(crate) id_type: IdType,
}

/// A `--keep` column found in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeepColumn {
    /// Header name.
    pub(crate) name: String,
    /// Position in each record (0-based).
    pub(crate) index: usize,
}

/// One output column, in input-file order: identifier columns are replaced in
/// place, kept columns copied, all others dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputColumn {
    /// The n-th entry of [`Columns::ids`].
    Id(usize),
    /// The n-th entry of [`Columns::keep`].
    Keep(usize),
}

/// The column specs resolved against a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Columns {
    /// Identifier columns, in `--column` order.
    pub(crate) ids: Vec<IdColumn>,
    /// Kept columns, in `--keep` order.
    pub(crate) keep: Vec<KeepColumn>,
    /// Identifier and kept columns in the order they appear in the input.
    pub(crate) output_order: Vec<OutputColumn>,
}

impl Columns {
    /// Finds every named column in `header`.
    ///
    /// # Errors
    /// A column is missing, or its name appears more than once in the header.
    pub(crate) fn resolve(
        header: &[String],
        specs: &[ColumnSpec],
        keep: &[String],
        source: &str,
    ) -> anyhow::Result<Self> {
        let find = |name: &str, option: &str| -> anyhow::Result<usize> {
            let mut hits = header
                .iter()
                .enumerate()
                .filter(|(_, h)| h.as_str() == name);
            match (hits.next(), hits.next()) {
                (Some((i, _)), None) => Ok(i),
                (None, _) => Err(Failure::bad_input(format!(
                    "column '{name}' ({option}) is not in the header of '{source}'"
                ))
                .hint(format!("columns in the file: {}", list_names(header)))
                .into()),
                (Some(_), Some(_)) => Err(Failure::bad_input(format!(
                    "column '{name}' ({option}) appears more than once in the header of '{source}'"
                ))
                .hint("rename the duplicate columns so each name is unique")
                .into()),
            }
        };
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            ids.push(IdColumn {
                name: spec.name.clone(),
                index: find(&spec.name, "--column")?,
                id_type: spec.id_type,
            });
        }
        let mut kept = Vec::with_capacity(keep.len());
        for name in keep {
            kept.push(KeepColumn {
                name: name.clone(),
                index: find(name, "--keep")?,
            });
        }
        let mut output_order: Vec<(usize, OutputColumn)> = ids
            .iter()
            .enumerate()
            .map(|(n, c)| (c.index, OutputColumn::Id(n)))
            .chain(
                kept.iter()
                    .enumerate()
                    .map(|(n, c)| (c.index, OutputColumn::Keep(n))),
            )
            .collect();
        output_order.sort_by_key(|(index, _)| *index);
        Ok(Columns {
            ids,
            keep: kept,
            output_order: output_order.into_iter().map(|(_, c)| c).collect(),
        })
    }

    /// Record positions that must be valid UTF-8 (every column that is used).
    pub(crate) fn used_indices(&self) -> Vec<usize> {
        self.ids
            .iter()
            .map(|c| c.index)
            .chain(self.keep.iter().map(|c| c.index))
            .collect()
    }
}

/// Header names for a hint, shortened when the header is very wide. Names that
/// look like raw identifiers are shown by position, with a word on why.
fn list_names(header: &[String]) -> String {
    const SHOWN: usize = 20;
    let shown: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, name)| shown_header(name, i))
        .collect();
    let withheld = shown.iter().zip(header).any(|(shown, name)| shown != name);
    let mut out = shown
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if header.len() > SHOWN {
        out.push_str(&format!(", … ({} columns)", header.len()));
    }
    if withheld {
        out.push_str(
            " (names that look like identifiers are withheld: does the first line name the columns?)",
        );
    }
    out
}

/// A header name as a message, hint or manifest shows it: the name, or `column N`
/// (1-based `index + 1`) when the name looks like a raw identifier, as the first
/// line of a file without a header row does.
pub(crate) fn shown_header(name: &str, index: usize) -> String {
    if scan::is_safe_name(name) {
        name.to_owned()
    } else {
        format!("column {}", index + 1)
    }
}

/// A reader that hashes and counts every byte it passes on, so the manifest can
/// name the exact input without reading it twice.
struct HashingReader<R> {
    inner: R,
    /// `None` once hashing was turned off ([`CsvReader::skip_hashing`]).
    hasher: Option<Sha256>,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// One CSV record: the unescaped bytes of all fields in one buffer plus field
/// ends, reused from row to row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    fields: usize,
    /// The reader's line count after the record was read.
    end_line: u64,
    /// Whether the record's terminator was a `\n` (already counted in `end_line`).
    newline_terminated: bool,
    row: u64,
}

impl Record {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.fields
    }

    /// The bytes of field `i`, if present.
    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.fields {
            return None;
        }
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => 0,
            _ => *self.ends.get(i - 1)?,
        };
        self.bytes.get(start..end)
    }

    /// Field `i` as text. Empty when absent or not UTF-8: for columns the reader
    /// checked ([`CsvReader::check_text_columns`]) that cannot happen.
    pub(crate) fn text(&self, i: usize) -> &str {
        self.try_text(i).unwrap_or("")
    }

    /// Field `i` as text, `None` if it is not UTF-8 (an absent field is empty).
    /// For hot loops that check a column once themselves instead of in the reader;
    /// report a `None` with [`utf8_failure`].
    pub(crate) fn try_text(&self, i: usize) -> Option<&str> {
        std::str::from_utf8(self.get(i).unwrap_or_default()).ok()
    }

    /// 1-based data row number (the header is not a row).
    pub(crate) fn row(&self) -> u64 {
        self.row
    }

    /// 1-based line of the input on which this record starts (blank lines,
    /// CRLF endings and quoted line breaks accounted for).
    pub(crate) fn line(&self) -> u64 {
        let content = self.bytes.get(
            ..self
                .ends
                .get(self.fields.wrapping_sub(1))
                .copied()
                .unwrap_or(0),
        );
        let inner = content.map_or(0, |c| c.iter().filter(|&&b| b == b'\n').count() as u64);
        self.end_line
            .saturating_sub(inner)
            .saturating_sub(u64::from(self.newline_terminated))
            .max(1)
    }
}

/// What the reader saw, once it reached the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputSummary {
    /// SHA-256 of every byte read, lowercase hex; empty after
    /// [`CsvReader::skip_hashing`].
    pub(crate) sha256: String,
    /// Bytes read.
    pub(crate) bytes: u64,
    /// Data rows read (header excluded).
    pub(crate) rows: u64,
}

/// A streaming CSV reader: the header on open, then one record at a time, in
/// constant memory. Every malformation is a bad-input failure naming the source
/// and the line.
pub(crate) struct CsvReader {
    input: BufReader<HashingReader<Box<dyn Read + Send>>>,
    core: csv_core::Reader,
    name: String,
    header: Vec<String>,
    text_columns: Vec<usize>,
    rows: u64,
    /// The end-of-input probe ran (see [`CsvReader::read_raw`]).
    probed: bool,
    done: bool,
    size: Option<u64>,
}

impl std::fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("name", &self.name)
            // Header names are not shown: the first line may be data.
            .field("columns", &self.header.len())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl CsvReader {
    /// Opens `source` and reads its header.
    ///
    /// # Errors
    /// The source cannot be opened, is empty, or its header is malformed.
    pub(crate) fn open(source: &InputSource, delimiter: u8) -> anyhow::Result<Self> {
        let (reader, size) = source.open()?;
        Self::from_reader(reader, source.name(), size, delimiter)
    }

    /// Reads CSV from any byte stream; `name` is used in messages.
    ///
    /// # Errors
    /// As [`CsvReader::open`].
    pub(crate) fn from_reader(
        reader: Box<dyn Read + Send>,
        name: String,
        size: Option<u64>,
        delimiter: u8,
    ) -> anyhow::Result<Self> {
        let mut core = csv_core::ReaderBuilder::new();
        core.delimiter(delimiter);
        let mut this = CsvReader {
            input: BufReader::with_capacity(
                1 << 16,
                HashingReader {
                    inner: reader,
                    hasher: Some(Sha256::new()),
                    bytes: 0,
                },
            ),
            core: core.build(),
            name,
            header: Vec::new(),
            text_columns: Vec::new(),
            rows: 0,
            probed: false,
            done: false,
            size,
        };
        let mut record = Record::default();
        if !this.read_raw(&mut record)? {
            return Err(Failure::bad_input(format!(
                "input '{}' is empty: no header line",
                this.name
            ))
            .hint("the first line must name the columns, e.g. customer_id,phone,email")
            .into());
        }
        let mut header = Vec::with_capacity(record.len());
        for i in 0..record.len() {
            let field = record.get(i).unwrap_or_default();
            let name = std::str::from_utf8(field).fail_with(|| {
                Failure::bad_input(format!(
                    "'{}' line {}, column {}: header is not valid UTF-8",
                    this.name,
                    record.line(),
                    i + 1
                ))
                .hint(utf8_hint(&this.name))
            })?;
            header.push(name.trim().to_owned());
        }
        this.header = header;
        Ok(this)
    }

    /// The header names (trimmed).
    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    /// The name used in messages.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The input size in bytes, when known (a file, not stdin).
    pub(crate) fn size(&self) -> Option<u64> {
        self.size
    }

    /// Bytes consumed so far (for progress).
    pub(crate) fn bytes_read(&self) -> u64 {
        self.input.get_ref().bytes
    }

    /// Stops hashing the input, for a caller that will not use the hash: the
    /// summary's `sha256` is then empty.
    pub(crate) fn skip_hashing(&mut self) {
        self.input.get_mut().hasher = None;
    }

    /// Columns whose every value must be UTF-8; others are passed over unread.
    pub(crate) fn check_text_columns(&mut self, indices: Vec<usize>) {
        self.text_columns = indices;
    }

    /// Reads the next data record into `record`; `false` at the end.
    ///
    /// # Errors
    /// A malformed record (field count differs from the header, unbalanced quote,
    /// invalid UTF-8 in a used column, over-long record) or a read error.
    pub(crate) fn read(&mut self, record: &mut Record) -> anyhow::Result<bool> {
        if !self.read_raw(record)? {
            return Ok(false);
        }
        self.rows += 1;
        record.row = self.rows;
        if record.len() != self.header.len() {
            let line = record.line();
            return Err(Failure::bad_input(format!(
                "'{}' line {line}: {} fields, but the header has {}",
                self.name,
                record.len(),
                self.header.len()
            ))
            .hint(format!(
                "every row needs as many fields as the header; look for a missing or extra delimiter or an unbalanced quote on line {line}"
            ))
            .into());
        }
        for &i in &self.text_columns {
            if record.try_text(i).is_none() {
                let column = self.header.get(i).map(String::as_str).unwrap_or("?");
                return Err(utf8_failure(&self.name, record.line(), column, i).into());
            }
        }
        Ok(true)
    }

    /// Reads to the end (so the hash covers the whole input) and returns the hash,
    /// size and row count.
    ///
    /// # Errors
    /// A read error or a malformed record in the rest of the input.
    pub(crate) fn finish(mut self) -> anyhow::Result<InputSummary> {
        let mut record = Record::default();
        while self.read(&mut record)? {}
        let hashing = self.input.into_inner();
        Ok(InputSummary {
            sha256: hashing
                .hasher
                .map(|h| hex::encode(h.finalize()))
                .unwrap_or_default(),
            bytes: hashing.bytes,
            rows: self.rows,
        })
    }

    /// One record with no checks beyond CSV syntax.
    fn read_raw(&mut self, record: &mut Record) -> anyhow::Result<bool> {
        record.fields = 0;
        if self.done {
            return Ok(false);
        }
        if record.bytes.is_empty() {
            record.bytes.resize(256, 0);
        }
        if record.ends.is_empty() {
            record.ends.resize(16, 0);
        }
        let (mut outlen, mut endlen) = (0usize, 0usize);
        let mut last_byte = 0u8;
        loop {
            let name = &self.name;
            let buffer = self.input.fill_buf().fail_with(|| {
                Failure::bad_input(format!("cannot read input '{name}'"))
                    .hint("check that the input is a readable file or pipe")
            })?;
            // At the end of input, feed one `\n` before the final empty read: outside
            // a quoted field it ends the last line, inside one it is copied into the
            // field. That is the only way to see a quote left open at the end of the
            // file, which csv_core otherwise accepts silently.
            let probing = buffer.is_empty() && !self.probed;
            let input: &[u8] = if probing { b"\n" } else { buffer };
            let (result, nin, nout, nend) = self.core.read_record(
                input,
                record.bytes.get_mut(outlen..).unwrap_or_default(),
                record.ends.get_mut(endlen..).unwrap_or_default(),
            );
            if let Some(&b) = nin.checked_sub(1).and_then(|i| input.get(i)) {
                last_byte = b;
            }
            if probing {
                if nin > 0 {
                    self.probed = true;
                    if nout > 0 {
                        let start = self.core.line().saturating_sub(
                            record
                                .bytes
                                .get(..outlen + nout)
                                .unwrap_or_default()
                                .iter()
                                .filter(|&&b| b == b'\n')
                                .count() as u64,
                        );
                        return Err(Failure::bad_input(format!(
                            "'{}' line {}: unbalanced quote: a quoted field is never closed",
                            self.name,
                            start.max(1)
                        ))
                        .hint("close the quote; a quote inside a quoted field is written twice (\"\")")
                        .into());
                    }
                }
            } else {
                self.input.consume(nin);
            }
            outlen += nout;
            endlen += nend;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if record.bytes.len() >= MAX_RECORD_BYTES {
                        return Err(Failure::bad_input(format!(
                            "'{}' line {}: a record longer than {} MiB",
                            self.name,
                            self.core.line(),
                            MAX_RECORD_BYTES >> 20
                        ))
                        .hint("this is usually an unbalanced quote earlier in the file")
                        .into());
                    }
                    let len = record.bytes.len() * 2;
                    record.bytes.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = record.ends.len() * 2;
                    record.ends.resize(len, 0);
                }
                ReadRecordResult::Record => {
                    record.fields = endlen;
                    record.end_line = self.core.line();
                    record.newline_terminated = last_byte == b'\n';
                    return Ok(true);
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
    }
}

/// The failure for a cell that is not UTF-8, naming the source, line and column
/// (header `column` at 0-based `index`, shown as [`shown_header`] does).
pub(crate) fn utf8_failure(source: &str, line: u64, column: &str, index: usize) -> Failure {
    let column = match shown_header(column, index) {
        shown if shown == column => format!("column '{shown}'"),
        shown => shown,
    };
    Failure::bad_input(format!("'{source}' line {line}, {column}: not valid UTF-8"))
        .hint(utf8_hint(source))
}

fn utf8_hint(name: &str) -> String {
    format!("save the file as UTF-8, e.g. iconv -f GBK -t UTF-8 '{name}' > converted.csv")
}

/// Normalisation options shared by every command that normalises identifiers
/// (`tokenize`, `normalize`, `match`): both partners must use the same profile.
#[derive(Debug, Clone, Args)]
pub(crate) struct ProfileArgs {
    /// Normalisation profile by name, as printed in manifests (e.g.
    /// `bm-std-v1,phone-region=86`). --phone-region and --email-rules override
    /// its parts.
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<Profile>,

    /// Calling code assumed for phone numbers written without one, e.g. 86 or 1.
    /// Without it, only numbers with a country code and Chinese mainland mobile
    /// numbers are accepted.
    #[arg(long, value_name = "CODE")]
    pub(crate) phone_region: Option<CallingCode>,

    /// E-mail provider rules: `none` (default) or `gmail` (for gmail.com and
    /// googlemail.com, drop dots and +suffix from the part before @).
    #[arg(long, value_name = "RULES")]
    pub(crate) email_rules: Option<EmailProviderRules>,
}

impl ProfileArgs {
    /// The profile these options select.
    pub(crate) fn profile(&self) -> Profile {
        let mut profile = self.profile.clone().unwrap_or_default();
        if let Some(region) = self.phone_region {
            profile = profile.with_phone_default_region(Some(region));
        }
        if let Some(rules) = self.email_rules {
            profile = profile.with_email_provider_rules(rules);
        }
        profile
    }
}

/// What normalising one cell gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// The cell is empty (or blank): it stays empty and is never tokenised.
    Empty,
    /// The normalised value is in the caller's buffer.
    Value,
    /// The normaliser refused the value.
    Rejected(Rejection),
}

/// Normalises one cell into `out`. An empty cell, or one the normaliser finds empty
/// after trimming, is [`Cell::Empty`], not a rejection: blank is not wrong.
pub(crate) fn normalize_cell(
    profile: &Profile,
    id_type: IdType,
    cell: &str,
    out: &mut String,
) -> Cell {
    if cell.is_empty() {
        out.clear();
        return Cell::Empty;
    }
    match profile.normalize_into(id_type, cell, out) {
        Ok(()) => Cell::Value,
        Err(Rejection::Empty) => Cell::Empty,
        Err(reason) => Cell::Rejected(reason),
    }
}

/// As [`normalize_cell`], but appends the value to what `out` holds (many values
/// can share one buffer); on anything but [`Cell::Value`] `out` is left as it was.
pub(crate) fn normalize_cell_append(
    profile: &Profile,
    id_type: IdType,
    cell: &str,
    out: &mut String,
) -> Cell {
    if cell.is_empty() {
        return Cell::Empty;
    }
    let start = out.len();
    let outcome = match profile.normalize_append(id_type, cell, out) {
        Ok(()) => return Cell::Value,
        Err(Rejection::Empty) => Cell::Empty,
        Err(reason) => Cell::Rejected(reason),
    };
    out.truncate(start);
    outcome
}

/// What became of one identifier column's cells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ColumnCounts {
    /// Cells normalised (and tokenised or matched).
    pub(crate) values: u64,
    /// Empty cells.
    pub(crate) empty: u64,
    /// Cells rejected by the normaliser.
    pub(crate) rejected: u64,
}

impl ColumnCounts {
    /// Counts one outcome.
    pub(crate) fn add(&mut self, cell: Cell) {
        match cell {
            Cell::Empty => self.empty += 1,
            Cell::Value => self.values += 1,
            Cell::Rejected(_) => self.rejected += 1,
        }
    }

    /// Adds another column count into this one.
    pub(crate) fn merge(&mut self, other: &ColumnCounts) {
        self.values += other.values;
        self.empty += other.empty;
        self.rejected += other.rejected;
    }

    /// Rejected share of the non-empty cells (0 when there are none).
    pub(crate) fn reject_rate(&self) -> f64 {
        let non_empty = self.values + self.rejected;
        if non_empty == 0 {
            0.0
        } else {
            self.rejected as f64 / non_empty as f64
        }
    }
}

/// Parses a rate given as a fraction (`0.05`) or a percentage (`5%`).
///
/// # Errors
/// Not a number, or outside 0..=1 (0%..=100%).
pub(crate) fn parse_rate(arg: &str) -> Result<f64, String> {
    let (number, scale) = match arg.trim().strip_suffix('%') {
        Some(pct) => (pct, 100.0),
        None => (arg.trim(), 1.0),
    };
    let rate = number
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("'{arg}' is not a rate; use e.g. 0.05 or 5%"))?
        / scale;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("'{arg}' is outside 0 to 1 (0% to 100%)"));
    }
    Ok(rate)
}

/// Rejected cells counted per column and reason, for summaries and manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RejectTally {
    /// Per identifier column (index into [`Columns::ids`]): counts per reason.
    per_column: Vec<BTreeMap<Rejection, u64>>,
    total: u64,
}

impl RejectTally {
    /// A tally for `columns` identifier columns.
    pub(crate) fn new(columns: usize) -> Self {
        RejectTally {
            per_column: vec![BTreeMap::new(); columns],
            total: 0,
        }
    }

    /// Counts one rejected cell.
    pub(crate) fn add(&mut self, column: usize, reason: Rejection) {
        if let Some(counts) = self.per_column.get_mut(column) {
            *counts.entry(reason).or_default() += 1;
            self.total += 1;
        }
    }

    /// Adds another tally (from a parallel batch) into this one.
    pub(crate) fn merge(&mut self, other: &RejectTally) {
        for (mine, theirs) in self.per_column.iter_mut().zip(&other.per_column) {
            for (reason, n) in theirs {
                *mine.entry(*reason).or_default() += n;
            }
        }
        self.total += other.total;
    }

    /// All rejected cells.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Counts per reason for one column, in a stable order.
    pub(crate) fn by_reason(&self, column: usize) -> impl Iterator<Item = (Rejection, u64)> + '_ {
        self.per_column
            .get(column)
            .into_iter()
            .flat_map(|c| c.iter().map(|(r, n)| (*r, *n)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reader(data: &[u8]) -> anyhow::Result<CsvReader> {
        CsvReader::from_reader(
            Box::new(io::Cursor::new(data.to_vec())),
            "t.csv".into(),
            None,
            b',',
        )
    }

    /// Every record as (line, fields) or the error message.
    fn read_all(data: &[u8]) -> Result<Vec<(u64, Vec<String>)>, String> {
        let mut r = reader(data).map_err(|e| format!("{e:#}"))?;
        let mut rec = Record::default();
        let mut out = Vec::new();
        while r.read(&mut rec).map_err(|e| format!("{e:#}"))? {
            let fields = (0..rec.len()).map(|i| rec.text(i).to_owned()).collect();
            out.push((rec.line(), fields));
        }
        Ok(out)
    }

    fn err(data: &[u8]) -> String {
        match read_all(data) {
            Ok(rows) => panic!("expected an error, got {rows:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn header_and_rows_with_line_numbers() {
        let rows = read_all(b"id,phone\n1,138\n\n2,\"13\n9\"\n3,x").unwrap();
        assert_eq!(
            rows,
            vec![
                (2, vec!["1".into(), "138".into()]),
                (4, vec!["2".into(), "13\n9".into()]),
                (6, vec!["3".into(), "x".into()]),
            ]
        );
    }

    #[test]
    fn crlf_lines_and_bom() {
        let r = reader(b"\xef\xbb\xbfid,phone\r\n1,a\r\n\r\n2,b\r\n").unwrap();
        assert_eq!(r.header(), ["id", "phone"]);
        let rows = read_all(b"id,phone\r\n1,a\r\n\r\n2,b\r\n").unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 4]);
    }

    #[test]
    fn empty_input_is_refused() {
        for data in [&b""[..], b"\n\n", b"\r\n"] {
            let e = reader(data).err().map(|e| format!("{e:#}")).unwrap();
            assert!(e.contains("'t.csv' is empty"), "{e}");
        }
    }

    #[test]
    fn header_only_has_no_rows() {
        assert_eq!(read_all(b"id,phone\n").unwrap(), vec![]);
    }

    #[test]
    fn ragged_row_names_the_line() {
        let e = err(b"a,b\n1,2\n3\n");
        assert!(
            e.contains("'t.csv' line 3: 1 fields, but the header has 2"),
            "{e}"
        );
        let e = err(b"a,b\n1,2,3\n");
        assert!(e.contains("line 2: 3 fields"), "{e}");
    }

    #[test]
    fn unbalanced_quote_at_end_is_refused() {
        let e = err(b"a,b\n1,2\n3,\"4\n5,6\n");
        assert!(e.contains("'t.csv' line 3: unbalanced quote"), "{e}");
        // Without a final newline too.
        let e = err(b"a,b\n1,\"2");
        assert!(e.contains("line 2: unbalanced quote"), "{e}");
        // A closed quote at the very end is fine.
        assert_eq!(read_all(b"a,b\n1,\"2\"").unwrap().len(), 1);
        // An open quote in the middle usually surfaces as a ragged row.
        let e = err(b"a,b,c\n1,\"2,3\n4,5,6\"\n7,8,9\n");
        assert!(e.contains("line 2: 2 fields, but the header has 3"), "{e}");
    }

    #[test]
    fn invalid_utf8_in_used_column_names_line_and_column() {
        let mut r = reader(b"id,phone\n1,ok\n2,\xff\xfe\n").unwrap();
        r.check_text_columns(vec![1]);
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        let e = format!("{:#}", r.read(&mut rec).unwrap_err());
        assert!(
            e.contains("'t.csv' line 3, column 'phone': not valid UTF-8"),
            "{e}"
        );
        // An unused column may hold anything.
        let mut r = reader(b"id,notes\n1,\xff\n").unwrap();
        r.check_text_columns(vec![0]);
        assert!(r.read(&mut rec).unwrap());
        let e = reader(b"id,\xff\n1,2\n")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap();
        assert!(
            e.contains("line 1, column 2: header is not valid UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn header_names_that_look_like_identifiers_are_shown_by_position() {
        // A file without a header row: its first line is data.
        let mut r = reader(b"13812345678,alice@example.com\n2,\xff\n").unwrap();
        r.check_text_columns(vec![1]);
        let mut rec = Record::default();
        let e = format!("{:#}", r.read(&mut rec).unwrap_err());
        assert!(e.contains("line 2, column 2: not valid UTF-8"), "{e}");
        assert!(
            !e.contains("alice") && !format!("{r:?}").contains("alice"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            Columns::resolve(
                r.header(),
                &[ColumnSpec::parse("phone:phone").unwrap()],
                &[],
                "t.csv"
            )
            .unwrap_err()
        );
        assert!(
            e.contains("column 'phone' (--column) is not in the header"),
            "{e}"
        );
        let hint = list_names(r.header());
        assert!(
            hint.starts_with("column 1, column 2 (names that look like"),
            "{hint}"
        );
        assert!(
            !hint.contains("13812345678") && !hint.contains("alice"),
            "{hint}"
        );
        // Ordinary names are shown as they are.
        assert_eq!(list_names(&["id".into(), "phone".into()]), "id, phone");
        assert_eq!(shown_header("mobile", 3), "mobile");
        assert_eq!(shown_header("+86 138 1234 5678", 3), "column 4");
    }

    #[test]
    fn finish_hashes_the_whole_input() {
        let data = b"id\n1\n2\n";
        let mut r = reader(data).unwrap();
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        let summary = r.finish().unwrap();
        assert_eq!(summary.rows, 2);
        assert_eq!(summary.bytes, data.len() as u64);
        assert_eq!(summary.sha256, hex::encode(Sha256::digest(data)));
    }

    #[test]
    fn skipped_hashing_still_counts() {
        let data = b"id\n1\n2\n";
        let mut r = reader(data).unwrap();
        r.skip_hashing();
        let summary = r.finish().unwrap();
        assert_eq!((summary.rows, summary.bytes), (2, data.len() as u64));
        assert_eq!(summary.sha256, "");
    }

    #[test]
    fn long_fields_and_many_columns_grow_the_buffers() {
        let wide: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let long = "x".repeat(10_000);
        let data = format!(
            "{}\n{}\n",
            wide.join(","),
            vec![long.as_str(); 100].join(",")
        );
        let rows = read_all(data.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].1.iter().all(|f| f == &long));
    }

    #[test]
    fn other_delimiters() {
        assert_eq!(parse_delimiter("tab").unwrap(), b'\t');
        assert_eq!(parse_delimiter(";").unwrap(), b';');
        assert!(parse_delimiter(";;").is_err());
        assert!(parse_delimiter("\"").is_err());
        let mut r = CsvReader::from_reader(
            Box::new(io::Cursor::new(b"a;b\n1;2\n".to_vec())),
            "t".into(),
            None,
            b';',
        )
        .unwrap();
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        assert_eq!(rec.text(1), "2");
    }

    #[test]
    fn column_specs() {
        let spec = ColumnSpec::parse("mobile:phone").unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.id_type),
            ("mobile", IdType::Phone)
        );
        let spec = ColumnSpec::parse("a:b:email").unwrap();
        assert_eq!((spec.name.as_str(), spec.id_type), ("a:b", IdType::Email));
        let e = format!("{:#}", ColumnSpec::parse("mobile").unwrap_err());
        assert!(e.contains("--column 'mobile' has no type"), "{e}");
        let e = format!("{:#}", ColumnSpec::parse("mobile:cell").unwrap_err());
        assert!(e.contains("unknown identifier type 'cell'"), "{e}");
        assert!(ColumnSpec::parse(":phone").is_err());
    }

    #[test]
    fn columns_resolve_in_file_order() {
        let header: Vec<String> = ["id", "email", "notes", "phone"].map(String::from).to_vec();
        let specs = [
            ColumnSpec::parse("phone:phone").unwrap(),
            ColumnSpec::parse("email:email").unwrap(),
        ];
        let cols = Columns::resolve(&header, &specs, &["id".into()], "t.csv").unwrap();
        assert_eq!(cols.ids[0].index, 3);
        assert_eq!(cols.ids[1].index, 1);
        assert_eq!(
            cols.output_order,
            vec![
                OutputColumn::Keep(0),
                OutputColumn::Id(1),
                OutputColumn::Id(0)
            ]
        );
        let e = format!(
            "{:#}",
            Columns::resolve(
                &header,
                &[ColumnSpec::parse("phnoe:phone").unwrap()],
                &[],
                "t.csv"
            )
            .unwrap_err()
        );
        assert!(
            e.contains("column 'phnoe' (--column) is not in the header of 't.csv'"),
            "{e}"
        );
        let dup: Vec<String> = ["id", "id"].map(String::from).to_vec();
        let e = format!(
            "{:#}",
            Columns::resolve(&dup, &[], &["id".into()], "t.csv").unwrap_err()
        );
        assert!(e.contains("appears more than once"), "{e}");
    }

    #[test]
    fn cells_empty_value_rejected() {
        let p = Profile::standard();
        let mut out = String::new();
        assert_eq!(normalize_cell(&p, IdType::Phone, "", &mut out), Cell::Empty);
        assert_eq!(
            normalize_cell(&p, IdType::Phone, "   ", &mut out),
            Cell::Empty
        );
        assert_eq!(
            normalize_cell(&p, IdType::Phone, "+86 138 1234 5678", &mut out),
            Cell::Value
        );
        assert_eq!(out, "+8613812345678");
        assert!(matches!(
            normalize_cell(&p, IdType::Phone, "12", &mut out),
            Cell::Rejected(_)
        ));
        let mut counts = ColumnCounts::default();
        for cell in [
            Cell::Empty,
            Cell::Value,
            Cell::Value,
            Cell::Rejected(Rejection::TooShort),
        ] {
            counts.add(cell);
        }
        assert_eq!((counts.values, counts.empty, counts.rejected), (2, 1, 1));
        assert!((counts.reject_rate() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(ColumnCounts::default().reject_rate(), 0.0);
    }

    #[test]
    fn appended_cells_leave_the_buffer_alone_unless_they_are_values() {
        let profile = Profile::standard();
        let mut out = String::from("kept|");
        for (cell, want) in [
            ("", Cell::Empty),
            ("   ", Cell::Empty),
            ("not a number", Cell::Rejected(Rejection::InvalidCharacter)),
        ] {
            assert_eq!(
                normalize_cell_append(&profile, IdType::Phone, cell, &mut out),
                want
            );
            assert_eq!(out, "kept|");
        }
        let cell = "138 1234 5678";
        assert_eq!(
            normalize_cell_append(&profile, IdType::Phone, cell, &mut out),
            Cell::Value
        );
        assert_eq!(out, "kept|+8613812345678");
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0.05"), Ok(0.05));
        assert_eq!(parse_rate("5%"), Ok(0.05));
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert!(parse_rate("150%").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert!(parse_rate("lots").is_err());
    }

    #[test]
    fn profile_options_override_the_named_profile() {
        let args = ProfileArgs {
            profile: Some("bm-std-v1,email-rules=gmail".parse().unwrap()),
            phone_region: Some("86".parse().unwrap()),
            email_rules: None,
        };
        assert_eq!(
            args.profile().name(),
            "bm-std-v1,phone-region=86,email-rules=gmail"
        );
        let none = ProfileArgs {
            profile: None,
            phone_region: None,
            email_rules: None,
        };
        assert_eq!(none.profile(), Profile::standard());
    }

    #[test]
    fn tally_counts_and_merges() {
        let mut a = RejectTally::new(2);
        a.add(0, Rejection::TooShort);
        a.add(0, Rejection::TooShort);
        a.add(1, Rejection::MissingAt);
        let mut b = RejectTally::new(2);
        b.add(0, Rejection::InvalidMobilePrefix);
        a.merge(&b);
        assert_eq!(a.total(), 4);
        assert_eq!(
            a.by_reason(0).collect::<Vec<_>>(),
            vec![
                (Rejection::TooShort, 2),
                (Rejection::InvalidMobilePrefix, 1)
            ]
        );
    }
}
