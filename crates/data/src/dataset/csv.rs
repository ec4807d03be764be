//! The streaming CSV reader: the header on open, then one reused record at a time,
//! with the line each record starts on, the input's SHA-256 and size, and every
//! malformation a bad-input error naming the source and the line.
//!
//! The reader drives `csv_core` directly instead of `csv::Reader` for two reasons:
//! `csv::Reader` silently accepts a quoted field left open at the end of the file
//! (the rest of the file becomes one field), and it cannot report the line a record
//! *starts* on once blank lines or CRLF endings are involved. The loop is the same
//! as `csv::Reader`'s, with one reused buffer per record and no per-row allocation.

use std::io::{self, BufRead, BufReader, Read};

use csv_core::ReadRecordResult;
use sha2::{Digest, Sha256};

use super::columns::shown_header;
use super::format::Format;
use super::source::InputSource;
use crate::error::{Error, FailWith, Result};

/// A record longer than this is refused: in practice it is an unbalanced quote
/// swallowing the rest of the file, and refusing it keeps memory bounded.
const MAX_RECORD_BYTES: usize = 16 << 20;

/// The UTF-8 byte order mark some editors put at the start of a CSV file.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// A reader that hashes and counts every byte it passes on, so the manifest can
/// name the exact input without reading it twice.
struct HashingReader<R> {
    inner: R,
    /// `None` once hashing was turned off ([`CsvReader::skip_hashing`]).
    hasher: Option<Sha256>,
    bytes: u64,
    /// An error met after the first read had bytes to pass on: returned next.
    pending: Option<io::Error>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let mut n = self.inner.read(buf)?;
        // csv_core strips a byte order mark only when its first input holds all of
        // it, and takes an input that was nothing else for the end of the file; a
        // pipe may deliver the mark alone, or a byte at a time. So while the first
        // bytes are (the start of) a mark, the first read goes on past it.
        if self.bytes == 0 {
            while n > 0 && n < buf.len() && buf.get(..n).is_some_and(|b| BOM.starts_with(b)) {
                match self.inner.read(buf.get_mut(n..).unwrap_or_default()) {
                    Ok(0) => break,
                    Ok(more) => n += more,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.pending = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// One CSV record: the unescaped bytes of all fields in one buffer plus field
/// ends, reused from row to row.
///
/// `Debug` shows the shape and position only: the cells are raw identifiers.
#[derive(Clone, Default)]
pub struct Record {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    fields: usize,
    /// The reader's line count after the record was read.
    end_line: u64,
    /// Whether the record's terminator was a `\n` (already counted in `end_line`).
    newline_terminated: bool,
    row: u64,
    /// Filled from a Parquet or Arrow table, which has no lines: [`Record::line`]
    /// is then the row number.
    columnar: bool,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("fields", &self.fields)
            .field("bytes", &self.bytes.len())
            .field("row", &self.row)
            .field("end_line", &self.end_line)
            .field("columnar", &self.columnar)
            .finish_non_exhaustive()
    }
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields
    }

    /// Whether the record has no fields (never true for a record the reader
    /// returned: an empty line is skipped, not read as a record).
    pub fn is_empty(&self) -> bool {
        self.fields == 0
    }

    /// The bytes of field `i`, if present.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
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
    pub fn text(&self, i: usize) -> &str {
        self.try_text(i).unwrap_or("")
    }

    /// Field `i` as text, `None` if it is not UTF-8 (an absent field is empty).
    /// For hot loops that check a column once themselves instead of in the reader;
    /// report a `None` with [`utf8_failure`].
    pub fn try_text(&self, i: usize) -> Option<&str> {
        std::str::from_utf8(self.get(i).unwrap_or_default()).ok()
    }

    /// 1-based data row number (the header is not a row).
    pub fn row(&self) -> u64 {
        self.row
    }

    /// 1-based line of the input on which this record starts (blank lines,
    /// CRLF endings and quoted line breaks accounted for). A Parquet or Arrow
    /// table has no lines: its records give their row number.
    pub fn line(&self) -> u64 {
        if self.columnar {
            return self.row;
        }
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

impl Record {
    /// Empties the record for row `row` of a columnar table; fields follow with
    /// [`Record::push_field`].
    pub(super) fn start_columnar(&mut self, row: u64) {
        self.bytes.clear();
        self.ends.clear();
        self.fields = 0;
        self.row = row;
        self.end_line = row;
        self.newline_terminated = false;
        self.columnar = true;
    }

    /// Appends one field of a columnar row.
    pub(super) fn push_field(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        self.ends.push(self.bytes.len());
        self.fields += 1;
    }
}

/// What the reader saw, once it reached the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSummary {
    /// SHA-256 of every byte read, lowercase hex; empty after
    /// [`CsvReader::skip_hashing`].
    pub sha256: String,
    /// Bytes read.
    pub bytes: u64,
    /// Data rows read (header excluded).
    pub rows: u64,
    /// The format the input was read in.
    pub format: Format,
}

/// A streaming CSV reader: the header on open, then one record at a time, in
/// constant memory. Every malformation is a bad-input failure naming the source
/// and the line.
pub struct CsvReader {
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
    pub fn open(source: &InputSource, delimiter: u8) -> Result<Self> {
        let (reader, size) = source.open()?;
        Self::from_reader(reader, source.name(), size, delimiter)
    }

    /// Reads CSV from any byte stream; `name` is used in messages.
    ///
    /// # Errors
    /// As [`CsvReader::open`].
    pub fn from_reader(
        reader: Box<dyn Read + Send>,
        name: String,
        size: Option<u64>,
        delimiter: u8,
    ) -> Result<Self> {
        let mut core = csv_core::ReaderBuilder::new();
        core.delimiter(delimiter);
        let mut this = CsvReader {
            input: BufReader::with_capacity(
                1 << 16,
                HashingReader {
                    inner: reader,
                    hasher: Some(Sha256::new()),
                    bytes: 0,
                    pending: None,
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
            return Err(Error::bad_input(format!(
                "input '{}' is empty: no header line",
                this.name
            ))
            .hint("the first line must name the columns, e.g. customer_id,phone,email"));
        }
        let mut header = Vec::with_capacity(record.len());
        for i in 0..record.len() {
            let field = record.get(i).unwrap_or_default();
            let name = std::str::from_utf8(field).fail_with(|| {
                Error::bad_input(format!(
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
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The input size in bytes, when known (a file, not stdin).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.input.get_ref().bytes
    }

    /// Stops hashing the input, for a caller that will not use the hash: the
    /// summary's `sha256` is then empty.
    pub fn skip_hashing(&mut self) {
        self.input.get_mut().hasher = None;
    }

    /// Columns whose every value must be UTF-8; others are passed over unread.
    pub fn check_text_columns(&mut self, indices: Vec<usize>) {
        self.text_columns = indices;
    }

    /// Reads the next data record into `record`; `false` at the end.
    ///
    /// # Errors
    /// A malformed record (field count differs from the header, unbalanced quote,
    /// invalid UTF-8 in a used column, over-long record) or a read error.
    pub fn read(&mut self, record: &mut Record) -> Result<bool> {
        if !self.read_raw(record)? {
            return Ok(false);
        }
        self.rows += 1;
        record.row = self.rows;
        if record.len() != self.header.len() {
            let line = record.line();
            return Err(Error::bad_input(format!(
                "'{}' line {line}: {} fields, but the header has {}",
                self.name,
                record.len(),
                self.header.len()
            ))
            .hint(format!(
                "every row needs as many fields as the header; look for a missing or extra delimiter or an unbalanced quote on line {line}"
            )));
        }
        for &i in &self.text_columns {
            if record.try_text(i).is_none() {
                let column = self.header.get(i).map(String::as_str).unwrap_or("?");
                return Err(utf8_failure(&self.name, record.line(), column, i));
            }
        }
        Ok(true)
    }

    /// Reads to the end (so the hash covers the whole input) and returns the hash,
    /// size and row count.
    ///
    /// # Errors
    /// A read error or a malformed record in the rest of the input.
    pub fn finish(mut self) -> Result<InputSummary> {
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
            format: Format::Csv,
        })
    }

    /// One record with no checks beyond CSV syntax.
    fn read_raw(&mut self, record: &mut Record) -> Result<bool> {
        record.fields = 0;
        record.columnar = false;
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
                Error::bad_input(format!("cannot read input '{name}'"))
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
                        return Err(Error::bad_input(format!(
                            "'{}' line {}: unbalanced quote: a quoted field is never closed",
                            self.name,
                            start.max(1)
                        ))
                        .hint("close the quote; a quote inside a quoted field is written twice (\"\")"));
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
                        return Err(Error::bad_input(format!(
                            "'{}' line {}: a record longer than {} MiB",
                            self.name,
                            self.core.line(),
                            MAX_RECORD_BYTES >> 20
                        ))
                        .hint("this is usually an unbalanced quote earlier in the file"));
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
pub fn utf8_failure(source: &str, line: u64, column: &str, index: usize) -> Error {
    let column = match shown_header(column, index) {
        shown if shown == column => format!("column '{shown}'"),
        shown => shown,
    };
    Error::bad_input(format!("'{source}' line {line}, {column}: not valid UTF-8"))
        .hint(utf8_hint(source))
}

fn utf8_hint(name: &str) -> String {
    format!("save the file as UTF-8, e.g. iconv -f GBK -t UTF-8 '{name}' > converted.csv")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dataset::columns::list_names;
    use crate::dataset::{ColumnSpec, Columns, parse_delimiter};

    fn reader(data: &[u8]) -> Result<CsvReader> {
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
    fn record_debug_shows_no_cell() {
        let mut r = reader(b"id,phone\n1,13812345678\n").unwrap();
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        let shown = format!("{rec:?}");
        assert!(!shown.contains("13812345678"), "{shown}");
        assert!(!shown.contains("49, 51, 56"), "{shown}");
        assert!(shown.contains("fields: 2"), "{shown}");
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

    /// Gives at most one byte per read, as a slow pipe may.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(buf.get_mut(..n).unwrap_or_default())
        }
    }

    /// Found by the `csv_input` fuzz target: a byte order mark that arrived in
    /// reads of fewer than three bytes stayed in the first header name.
    #[test]
    fn a_bom_delivered_a_byte_at_a_time_is_stripped() {
        let trickled = |data: &[u8]| {
            let input = Box::new(Trickle(io::Cursor::new(data.to_vec())));
            CsvReader::from_reader(input, "t.csv".into(), None, b',')
        };
        let data = b"\xef\xbb\xbfid,phone\r\n1,a\r\n";
        let mut r = trickled(data).unwrap();
        assert_eq!(r.header(), ["id", "phone"]);
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        assert_eq!((rec.text(1), rec.line()), ("a", 2));
        let summary = r.finish().unwrap();
        assert_eq!(summary.bytes, data.len() as u64);
        assert_eq!(summary.sha256, hex::encode(Sha256::digest(data)));
        // The start of a mark that is not one stays in the data.
        let e = trickled(b"\xef\xbbx,y\n").err().map(|e| format!("{e:#}"));
        assert!(
            e.unwrap()
                .contains("line 1, column 1: header is not valid UTF-8")
        );
        // A mark alone is an empty input.
        assert!(trickled(BOM).is_err());
    }

    /// A byte order mark that arrives in a read of its own (a writer that sends it
    /// first) was stripped, and then the empty rest taken for the end of the input.
    #[test]
    fn a_bom_in_a_read_of_its_own_is_stripped() {
        let data = b"\xef\xbb\xbfid\n1\n".to_vec();
        let chunks = io::Cursor::new(data[..3].to_vec()).chain(io::Cursor::new(data[3..].to_vec()));
        let mut r = CsvReader::from_reader(Box::new(chunks), "t.csv".into(), None, b',').unwrap();
        assert_eq!(r.header(), ["id"]);
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        assert_eq!(r.finish().unwrap().bytes, data.len() as u64);
    }

    /// The first read passes on the bytes it has before an error, which comes next.
    #[test]
    fn an_error_after_the_start_of_a_bom_comes_on_the_next_read() {
        struct Failing(u8);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0 {
                    0 => Err(io::Error::other("disk on fire")),
                    _ => {
                        self.0 -= 1;
                        buf[0] = 0xef;
                        Ok(1)
                    }
                }
            }
        }
        let mut hashing = HashingReader {
            inner: Failing(1),
            hasher: None,
            bytes: 0,
            pending: None,
        };
        let mut buf = [0; 8];
        assert_eq!(hashing.read(&mut buf).unwrap(), 1);
        assert_eq!(
            hashing.read(&mut buf).unwrap_err().to_string(),
            "disk on fire"
        );
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
}
