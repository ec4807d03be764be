//! A table output file in the format its name asks for: Parquet when it ends in
//! `.parquet`, CSV otherwise. Pipelines write CSV text into it either way; it
//! appears, like every output, only when complete.

use std::io::{self, Write};
use std::path::Path;

use super::parquet::{ColumnTypes, ParquetWriter};
use super::{AtomicFile, SealedFile};
use crate::dataset::Format;
use crate::error::{Error, FailWith, Result};

/// A table being written under a temporary name, as CSV or Parquet.
#[derive(Debug)]
pub struct TableFile {
    inner: Inner,
}

/// Both boxed: the Parquet writer is over a kilobyte, the CSV file a few hundred
/// bytes, and a table file is made once per output.
#[derive(Debug)]
enum Inner {
    Csv(Box<AtomicFile>),
    Parquet(Box<ParquetWriter<AtomicFile>>, std::path::PathBuf),
}

impl TableFile {
    /// Creates the table output `path` (see [`AtomicFile::create`]); the CSV text
    /// written uses `delimiter`, and `types` names the columns a Parquet output
    /// keeps as other types than text.
    ///
    /// # Errors
    /// As [`AtomicFile::create`].
    pub fn create(
        path: &Path,
        overwrite: bool,
        private: bool,
        delimiter: u8,
        types: ColumnTypes,
    ) -> Result<Self> {
        let file = AtomicFile::create(path, overwrite, private)?;
        let inner = match Format::of_output(path) {
            Format::Parquet => Inner::Parquet(
                Box::new(ParquetWriter::new(file, delimiter, types)),
                path.to_path_buf(),
            ),
            _ => Inner::Csv(Box::new(file)),
        };
        Ok(TableFile { inner })
    }

    /// The format written.
    pub fn format(&self) -> Format {
        match self.inner {
            Inner::Csv(_) => Format::Csv,
            Inner::Parquet(..) => Format::Parquet,
        }
    }

    /// Finishes the table (a Parquet file's last row group and footer) and
    /// seals it, to be committed with [`commit_all`](super::commit_all).
    ///
    /// # Errors
    /// Encoding, writing or syncing failed; the temporary file is removed.
    pub fn seal(self) -> Result<SealedFile> {
        match self.inner {
            Inner::Csv(file) => (*file).seal(),
            Inner::Parquet(writer, path) => {
                let file = writer.finish().fail_with(|| {
                    Error::failed(format!("cannot write '{}'", path.display()))
                        .hint("check the free space and permissions of the output folder")
                })?;
                file.seal()
            }
        }
    }

    /// Seals and commits the table alone.
    ///
    /// # Errors
    /// As [`TableFile::seal`] and [`SealedFile::commit`].
    pub fn commit(self) -> Result<super::WrittenFile> {
        self.seal()?.commit()
    }
}

impl Write for TableFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Csv(file) => file.write(buf),
            Inner::Parquet(writer, _) => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Csv(file) => file.flush(),
            Inner::Parquet(writer, _) => writer.flush(),
        }
    }
}
