//! The CSV reader (`blindmatch_data::dataset::CsvReader::from_reader`, what every
//! pipeline and audit reads a dataset or token file with), on any bytes, read record
//! by record to the end and then `finish()`ed.
//!
//! The first byte picks the delimiter (`,` `;` tab `|`), the size of each read the
//! reader gets (the whole input, or 1 to 7 bytes at a time), whether every column
//! is checked for UTF-8 and whether the input is hashed; the rest is the file.
//! Checked, beyond "never panics":
//! - data rows are numbered 1, 2, 3, … and their lines never go down; every record
//!   has the header's field count;
//! - `get`, `text` and `try_text` agree with each other and with UTF-8 validity, and
//!   a field past the end is absent and reads as empty text;
//! - the outcome (header, records, lines, errors, summary) does not depend on how
//!   the input arrives, and `finish()` straight after the header reaches the same
//!   end as reading every record;
//! - the summary counts the rows read and every byte, with the input's SHA-256;
//! - an error is bad input naming the file and a line no earlier than the last
//!   record read, and holds no run of the input that carries a byte no message
//!   template or header name holds (a cell value).
#![no_main]

use std::io::{self, Read};

use blindmatch_data::Category;
use blindmatch_data::dataset::{CsvReader, InputSummary, Record};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// The name the reader uses in messages.
const NAME: &str = "fuzz.csv";

/// Bytes that occur in no message or hint of the reader, so a run of the input
/// holding one can only be in an error if the error copied it from a cell. The
/// templates use letters, digits, spaces and `'` `,` `:` `;` `.` `(` `)` `"` `-` `_`
/// `>` `/`.
fn is_marker(b: u8) -> bool {
    !b.is_ascii() || (b.is_ascii_control() && b != b'\t') || b"@+#$%&*!?~^[]{}=`\\|<".contains(&b)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let options = Options {
        delimiter: b",;\t|"[usize::from(selector & 3)],
        check_text: selector & 0x20 != 0,
        hash: selector & 0x40 == 0,
    };
    let chunk = usize::from((selector >> 2) & 7);
    let whole = read_all(input, &options, None, false);
    if chunk > 0 {
        let trickled = read_all(input, &options, Some(chunk), false);
        assert_eq!(
            whole, trickled,
            "the outcome depends on read sizes of {chunk}"
        );
    }
    // `finish()` straight after the header reads the rest with the same checks.
    if selector & 0x80 != 0 {
        let finished = read_all(input, &options, None, true);
        assert_eq!(finished.header, whole.header);
        match (&whole.end, &finished.end) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "finish() counts differently"),
            (Err(a), Err(b)) => assert_eq!(a, b, "finish() fails differently"),
            (a, b) => panic!("reading every record: {a:?}, finish() alone: {b:?}"),
        }
    }
    if let Err(message) = whole.header.as_ref().and(whole.end.as_ref()) {
        check_no_cell_text(input, options.delimiter, &whole, message);
    }
});

struct Options {
    delimiter: u8,
    check_text: bool,
    hash: bool,
}

/// Everything one read of the input showed.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The header, or the error text.
    header: Result<Vec<String>, String>,
    /// Row, line and fields of each record read.
    records: Vec<(u64, u64, Vec<Vec<u8>>)>,
    /// The summary, or the error that ended the read.
    end: Result<(u64, u64, String), String>,
}

/// Gives at most `step` bytes per read, so buffer ends fall everywhere.
struct Trickle {
    data: io::Cursor<Vec<u8>>,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.step);
        self.data.read(buf.get_mut(..n).unwrap_or_default())
    }
}

/// Reads `input` to its end (or, with `finish_only`, calls `finish()` right after
/// the header), checking each record and error as it goes.
fn read_all(input: &[u8], options: &Options, step: Option<usize>, finish_only: bool) -> Outcome {
    let data = io::Cursor::new(input.to_vec());
    let source: Box<dyn Read + Send> = match step {
        Some(step) => Box::new(Trickle { data, step }),
        None => Box::new(data),
    };
    let mut reader = match CsvReader::from_reader(source, NAME.to_owned(), None, options.delimiter)
    {
        Ok(reader) => reader,
        Err(e) => {
            let message = checked_error(&e, 0);
            return Outcome {
                header: Err(message),
                records: Vec::new(),
                end: Err(String::new()),
            };
        }
    };
    let header = reader.header().to_vec();
    assert!(!header.is_empty(), "a header with no columns");
    assert!(
        header.iter().all(|h| h.trim() == h),
        "header names are trimmed"
    );
    if options.check_text {
        reader.check_text_columns((0..header.len()).collect());
    }
    if !options.hash {
        reader.skip_hashing();
    }
    let mut records = Vec::new();
    let mut record = Record::default();
    let mut last_line = 0;
    if !finish_only {
        loop {
            match reader.read(&mut record) {
                Ok(true) => {
                    check_record(&record, header.len(), options.check_text);
                    assert_eq!(
                        record.row(),
                        records.len() as u64 + 1,
                        "rows skip or repeat"
                    );
                    assert!(
                        record.line() >= last_line,
                        "line {} after {last_line}",
                        record.line()
                    );
                    last_line = record.line();
                    let fields = (0..record.len())
                        .map(|i| record.get(i).unwrap_or_default().to_vec())
                        .collect();
                    records.push((record.row(), record.line(), fields));
                }
                Ok(false) => break,
                Err(e) => {
                    let message = checked_error(&e, last_line);
                    return Outcome {
                        header: Ok(header),
                        records,
                        end: Err(message),
                    };
                }
            }
        }
        // Reading past the end stays at the end.
        assert!(matches!(reader.read(&mut record), Ok(false)));
    }
    let end = match reader.finish() {
        Ok(summary) => {
            check_summary(&summary, input, options.hash);
            if !finish_only {
                assert_eq!(summary.rows, records.len() as u64, "finish() miscounts");
            }
            Ok((summary.rows, summary.bytes, summary.sha256))
        }
        Err(e) => {
            assert!(
                finish_only,
                "finish() failed after every record was read: {e}"
            );
            Err(checked_error(&e, 0))
        }
    };
    Outcome {
        header: Ok(header),
        records,
        end,
    }
}

fn check_record(record: &Record, columns: usize, check_text: bool) {
    assert_eq!(
        record.len(),
        columns,
        "a record of another width was returned"
    );
    assert!(!record.is_empty());
    assert!(record.line() >= 1);
    for i in 0..record.len() {
        let bytes = record.get(i).expect("a field within the record is present");
        let utf8 = std::str::from_utf8(bytes).ok();
        assert_eq!(
            record.try_text(i),
            utf8,
            "try_text disagrees with UTF-8 validity"
        );
        assert_eq!(
            record.text(i),
            utf8.unwrap_or(""),
            "text disagrees with try_text"
        );
        if check_text {
            assert!(utf8.is_some(), "a checked column passed a non-UTF-8 cell");
        }
    }
    assert_eq!(record.get(record.len()), None, "a field past the end");
    assert_eq!(record.try_text(record.len()), Some(""));
    assert_eq!(record.text(record.len()), "");
}

fn check_summary(summary: &InputSummary, input: &[u8], hashed: bool) {
    assert_eq!(summary.bytes, input.len() as u64, "bytes miscounted");
    if hashed {
        assert_eq!(
            summary.sha256,
            hex(&Sha256::digest(input)),
            "wrong input hash"
        );
    } else {
        assert_eq!(summary.sha256, "");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks an error's shape and returns its text (message, hint and cause).
fn checked_error(e: &blindmatch_data::Error, last_line: u64) -> String {
    assert_eq!(e.category(), Category::BadInput, "{e}");
    // A cause may explain (invalid UTF-8), but reading from memory cannot fail.
    let cause = std::error::Error::source(e);
    assert!(
        cause.is_none_or(|c| !c.is::<io::Error>()),
        "an in-memory read failed: {e}"
    );
    let message = e.message();
    let empty = format!("input '{NAME}' is empty: no header line");
    if message != empty {
        let rest = message
            .strip_prefix(&format!("'{NAME}' line "))
            .unwrap_or_else(|| panic!("an error that names no line: {message}"));
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let line: u64 = digits
            .parse()
            .unwrap_or_else(|_| panic!("no line number: {message}"));
        assert!(
            line >= 1 && line >= last_line,
            "error on line {line} after a record on {last_line}"
        );
    }
    let cause = cause.map(ToString::to_string).unwrap_or_default();
    format!("{message}\n{}\n{cause}", e.hint_text().unwrap_or_default())
}

/// An error holds no cell text: no run of the input between delimiters, quotes and
/// line ends that is four bytes or longer and holds a byte that neither the message
/// templates nor any header name holds (so it cannot be there by coincidence).
fn check_no_cell_text(input: &[u8], delimiter: u8, outcome: &Outcome, message: &str) {
    let header_bytes: Vec<u8> = match &outcome.header {
        Ok(names) => names.iter().flat_map(|n| n.bytes()).collect(),
        Err(_) => Vec::new(),
    };
    let text = message.as_bytes();
    for run in input.split(|&b| b == delimiter || b"\"\r\n".contains(&b)) {
        let telling = run
            .iter()
            .any(|&b| is_marker(b) && !header_bytes.contains(&b));
        if run.len() >= 4 && telling {
            assert!(
                !text.windows(run.len()).any(|w| w == run),
                "the error copies input text {:?}: {message}",
                String::from_utf8_lossy(run)
            );
        }
    }
}
