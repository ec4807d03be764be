//! Which table format a file is in: CSV, Parquet or Arrow IPC, chosen by
//! `--format` or else by the file's extension; and which format an output is
//! written in (Parquet when its name ends in `.parquet`, CSV otherwise).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::source::InputSource;
use crate::error::Error;

/// A table format blindmatch reads (all three) or writes (CSV and Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text with a header line (`.csv`, `.tsv`, anything else).
    Csv,
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// An Arrow IPC file, also called Feather v2 (`.arrow`, `.ipc`, `.feather`).
    Arrow,
}

impl Format {
    /// The names `--format` takes, for hints.
    pub const VALID_NAMES: &'static str = "csv, parquet, arrow";

    /// The name manifests and receipts record: `csv`, `parquet` or `arrow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
        }
    }

    /// The format of `path` by its extension (case-insensitive); CSV for any
    /// other name, as before Parquet was read.
    pub fn of_path(path: &Path) -> Format {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("parquet" | "pq") => Format::Parquet,
            Some("arrow" | "ipc" | "feather") => Format::Arrow,
            _ => Format::Csv,
        }
    }

    /// The format to read `source` in: `given` (`--format`) if any, else by the
    /// file's extension; standard input and in-memory input are CSV unless told
    /// otherwise.
    pub fn of_input(source: &InputSource, given: Option<Format>) -> Format {
        match (given, source) {
            (Some(format), _) => format,
            // In-memory input (library callers) is CSV text, like standard input.
            (None, InputSource::Stdin | InputSource::Memory(_)) => Format::Csv,
            (None, InputSource::File(path)) => Format::of_path(path),
        }
    }

    /// The format an output named `path` is written in: Parquet when the name
    /// ends in `.parquet` (case-insensitive), CSV otherwise.
    pub fn of_output(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("parquet") => Format::Parquet,
            _ => Format::Csv,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses `csv`, `parquet` or `arrow` (also `ipc` and `feather`).
    fn from_str(arg: &str) -> Result<Self, Error> {
        match arg.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "arrow" | "ipc" | "feather" => Ok(Format::Arrow),
            _ => Err(
                Error::bad_input(format!("--format '{arg}' is not a table format"))
                    .hint(format!("formats: {}", Format::VALID_NAMES)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn formats_by_extension_and_by_name() {
        let file = |p: &str| InputSource::File(PathBuf::from(p));
        assert_eq!(Format::of_input(&file("a.csv"), None), Format::Csv);
        assert_eq!(Format::of_input(&file("a.tsv"), None), Format::Csv);
        assert_eq!(Format::of_input(&file("a"), None), Format::Csv);
        assert_eq!(Format::of_input(&file("a.PARQUET"), None), Format::Parquet);
        assert_eq!(Format::of_input(&file("dir/a.pq"), None), Format::Parquet);
        for name in ["a.arrow", "a.ipc", "a.feather"] {
            assert_eq!(Format::of_input(&file(name), None), Format::Arrow);
        }
        assert_eq!(
            Format::of_input(&file("a.csv"), Some(Format::Parquet)),
            Format::Parquet
        );
        assert_eq!(Format::of_input(&InputSource::Stdin, None), Format::Csv);
        assert_eq!(Format::of_output(Path::new("t.parquet")), Format::Parquet);
        assert_eq!(Format::of_output(Path::new("t.Parquet")), Format::Parquet);
        assert_eq!(Format::of_output(Path::new("t.arrow")), Format::Csv);
        assert_eq!(Format::of_output(Path::new("-")), Format::Csv);
        assert_eq!("Parquet".parse::<Format>().unwrap(), Format::Parquet);
        assert_eq!("feather".parse::<Format>().unwrap(), Format::Arrow);
        let e = "xlsx".parse::<Format>().unwrap_err();
        assert!(e.message().contains("'xlsx'"), "{e}");
        assert_eq!(e.hint_text(), Some("formats: csv, parquet, arrow"));
        assert_eq!(Format::Arrow.to_string(), "arrow");
    }
}
