//! Where records come from and which columns to use: the input source (a file or
//! standard input), validated input options, and the delimiter.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::columns::ColumnSpec;
use super::format::Format;
use crate::error::{Error, FailWith, Result};

/// Validated input options: where to read, which columns to use and how.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// The file or stdin.
    pub source: InputSource,
    /// Identifier columns with their types, in the order given.
    pub columns: Vec<ColumnSpec>,
    /// Columns copied unchanged.
    pub keep: Vec<String>,
    /// Field delimiter byte (CSV only).
    pub delimiter: u8,
    /// The format given with `--format`; `None` chooses by the file's extension
    /// ([`Format::of_input`]).
    pub format: Option<Format>,
}

impl InputSpec {
    /// Validates input options as a user spells them: the input path (`-` for
    /// standard input), `NAME:TYPE` column specs, the columns to keep, and the
    /// delimiter.
    ///
    /// # Errors
    /// A spec is not `NAME:TYPE`, a type is unknown, a column is named twice, or the
    /// delimiter is not one ASCII character (bad input).
    pub fn parse(
        input: &Path,
        columns: &[String],
        keep: &[String],
        delimiter: &str,
    ) -> Result<Self> {
        let mut specs = Vec::with_capacity(columns.len());
        for arg in columns {
            specs.push(ColumnSpec::parse(arg)?);
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, option) in specs
            .iter()
            .map(|c| (c.name.as_str(), "--column"))
            .chain(keep.iter().map(|k| (k.as_str(), "--keep")))
        {
            if let Some(first) = seen.insert(name, option) {
                return Err(Error::bad_input(format!(
                    "column '{name}' is given twice ({first} and {option})"
                ))
                .hint("name each input column once; a column is either an identifier (--column) or kept (--keep)"));
            }
        }
        Ok(InputSpec {
            source: InputSource::parse(input),
            columns: specs,
            keep: keep.to_vec(),
            delimiter: parse_delimiter(delimiter)?,
            format: None,
        })
    }

    /// The same options with the table format given (`--format`), or chosen by
    /// the file's extension for `None`.
    #[must_use]
    pub fn with_format(mut self, format: Option<Format>) -> Self {
        self.format = format;
        self
    }

    /// The format the input is read in.
    pub fn input_format(&self) -> Format {
        Format::of_input(&self.source, self.format)
    }
}

/// Parses `--delimiter`: one ASCII character or the word `tab`.
///
/// # Errors
/// Anything else.
pub fn parse_delimiter(arg: &str) -> Result<u8> {
    match arg.as_bytes() {
        _ if arg.eq_ignore_ascii_case("tab") => Ok(b'\t'),
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(*b),
        _ => Err(Error::bad_input(format!(
            "--delimiter '{arg}' is not a single ASCII character"
        ))
        .hint("use e.g. --delimiter ';' or --delimiter tab")),
    }
}

/// Where records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
    /// CSV text a library caller holds in memory (the Python package's data
    /// frames): read like a file, as often as needed, and never written anywhere.
    Memory(MemoryInput),
}

/// CSV text held in memory, with the name messages and receipts give it.
///
/// `Debug` shows the name and length only: the bytes are raw data.
#[derive(Clone)]
pub struct MemoryInput {
    name: String,
    bytes: Arc<[u8]>,
}

impl MemoryInput {
    /// CSV text (header line first) under `name`, e.g. `<DataFrame>`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        MemoryInput {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// The name messages and receipts give the input.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The length of the text in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl std::fmt::Debug for MemoryInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryInput")
            .field("name", &self.name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Two memory inputs are the same input when they share name and buffer.
impl PartialEq for MemoryInput {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.bytes, &other.bytes)
    }
}

impl Eq for MemoryInput {}

impl InputSource {
    /// Parses an `--input` argument: `-` is stdin.
    pub fn parse(arg: &Path) -> Self {
        if arg.as_os_str() == "-" {
            InputSource::Stdin
        } else {
            InputSource::File(arg.to_path_buf())
        }
    }

    /// The name used in messages: the path as given, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            InputSource::Stdin => "<stdin>".to_owned(),
            InputSource::File(path) => path.display().to_string(),
            InputSource::Memory(memory) => memory.name().to_owned(),
        }
    }

    /// The input as a path for receipts and manifests: the file, `-` for standard
    /// input, the name of a memory input.
    pub fn display_path(&self) -> PathBuf {
        match self {
            InputSource::Stdin => PathBuf::from("-"),
            InputSource::File(path) => path.clone(),
            InputSource::Memory(memory) => PathBuf::from(memory.name()),
        }
    }

    /// Opens the source for reading, with its size when known (for progress).
    ///
    /// # Errors
    /// The file does not exist, is a folder, or cannot be opened.
    pub fn open(&self) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
        match self {
            InputSource::Stdin => Ok((Box::new(io::stdin()), None)),
            InputSource::Memory(memory) => Ok((
                Box::new(io::Cursor::new(Arc::clone(&memory.bytes))),
                Some(memory.len() as u64),
            )),
            InputSource::File(_) => {
                let (file, size) = self.open_file()?;
                Ok((Box::new(file), Some(size)))
            }
        }
    }

    /// Opens a file source, with its size; for formats that need a file (Parquet
    /// and Arrow read the end of the file first).
    ///
    /// # Errors
    /// Standard input, or as [`InputSource::open`].
    pub fn open_file(&self) -> Result<(File, u64)> {
        let InputSource::File(path) = self else {
            return Err(
                Error::bad_input("this input must be a file, not standard input")
                    .hint("give the file's path with --input"),
            );
        };
        let shown = path.display();
        let meta = std::fs::metadata(path).fail_with(|| {
            Error::bad_input(format!("cannot read input file '{shown}'"))
                .hint("check the path; use `-` to read standard input")
        })?;
        if meta.is_dir() {
            return Err(
                Error::bad_input(format!("input '{shown}' is a folder, not a file"))
                    .hint("give the path of a CSV or Parquet file"),
            );
        }
        let file = File::open(path).fail_with(|| {
            Error::bad_input(format!("cannot read input file '{shown}'"))
                .hint("check the file's permissions")
        })?;
        Ok((file, meta.len()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dataset::CsvReader;

    #[test]
    fn a_memory_input_reads_like_a_file_as_often_as_needed_and_hides_its_bytes() {
        let text = b"id,phone\n1,13800138000\n2,13900139000\n".to_vec();
        let source = InputSource::Memory(MemoryInput::new("<DataFrame>", text.clone()));
        for _ in 0..2 {
            let mut reader = CsvReader::open(&source, b',').unwrap();
            assert_eq!(reader.header(), ["id", "phone"]);
            assert_eq!(reader.size(), Some(text.len() as u64));
            let mut record = crate::dataset::Record::default();
            let mut rows = 0;
            while reader.read(&mut record).unwrap() {
                rows += 1;
            }
            assert_eq!(rows, 2);
        }
        assert_eq!(source.name(), "<DataFrame>");
        assert_eq!(source.display_path(), PathBuf::from("<DataFrame>"));
        let debug = format!("{source:?}");
        assert!(!debug.contains("13800138000"), "{debug}");
        assert_eq!(source, source.clone());
        let other = InputSource::Memory(MemoryInput::new("<DataFrame>", text));
        assert_ne!(source, other, "another buffer is another input");
    }
}
