//! The matched rows of a bucketed session, kept on disk bucket by bucket and read
//! back merged in row order while the output is written, so memory does not grow
//! with the intersection.
//!
//! One file per bucket in a [`ScratchDir`] (0600 in a 0700 folder, removed at the
//! end and on interruption): 40-byte records, row reference (u64 LE) and match ID,
//! sorted by row reference. They hold what the output holds, never an identifier.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use blindmatch_data::output::ScratchDir;
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Match, MatchId};

use crate::matching::finish::RowMatches;
use crate::matching::prepare::split_row_ref;

const RECORD: usize = 40;

/// Every bucket's matched rows, on disk.
#[derive(Debug)]
pub(in crate::matching) struct BucketResults {
    dir: ScratchDir,
    files: Vec<PathBuf>,
}

fn io_error(path: &Path) -> impl Fn() -> Error + '_ {
    move || {
        Error::failed(format!("cannot write or read '{}'", path.display()))
            .hint("--work-dir needs room for the matched rows too; check its free space")
    }
}

impl BucketResults {
    /// A new, empty store under `work_dir`.
    pub(crate) fn create(work_dir: &Path) -> Result<BucketResults> {
        Ok(BucketResults {
            dir: ScratchDir::create(work_dir)?,
            files: Vec::new(),
        })
    }

    /// Stores one bucket's matches.
    pub(crate) fn add(&mut self, bucket: u32, mut matches: Vec<Match>) -> Result<()> {
        matches.sort_unstable();
        let path = self.dir.path().join(format!("matches-{bucket:03}.bin"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).fail_with(io_error(&path))?;
        let mut out = BufWriter::new(file);
        for m in &matches {
            out.write_all(&m.row.to_le_bytes())
                .and_then(|()| out.write_all(m.match_id.as_bytes()))
                .fail_with(io_error(&path))?;
        }
        out.flush().fail_with(io_error(&path))?;
        self.files.push(path);
        Ok(())
    }

    /// The matched rows of every bucket, merged in row order, for `rules` rules.
    pub(crate) fn rows(&self, rules: usize) -> Result<RowStream> {
        let mut readers = Vec::with_capacity(self.files.len());
        let mut heap = BinaryHeap::new();
        for (i, path) in self.files.iter().enumerate() {
            let mut reader = BufReader::new(File::open(path).fail_with(io_error(path))?);
            if let Some(record) = read_record(&mut reader, path)? {
                heap.push(Reverse((record.0, i, record.1)));
            }
            readers.push((reader, path.clone()));
        }
        Ok(RowStream {
            readers,
            heap,
            rules,
        })
    }
}

fn read_record(reader: &mut BufReader<File>, path: &Path) -> Result<Option<(u64, [u8; 32])>> {
    let mut buf = [0u8; RECORD];
    match reader.read_exact(&mut buf) {
        Ok(()) => {
            let mut row = [0u8; 8];
            row.copy_from_slice(&buf[..8]);
            let mut id = [0u8; 32];
            id.copy_from_slice(&buf[8..]);
            Ok(Some((u64::from_le_bytes(row), id)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(_) => Err(io_error(path)()),
    }
}

/// The merged rows, one [`RowMatches`] per data row in row order.
pub(in crate::matching) struct RowStream {
    readers: Vec<(BufReader<File>, PathBuf)>,
    heap: BinaryHeap<Reverse<(u64, usize, [u8; 32])>>,
    rules: usize,
}

impl RowStream {
    fn pop(&mut self) -> Result<Option<(u64, [u8; 32])>> {
        let Some(Reverse((reference, i, id))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some((reader, path)) = self.readers.get_mut(i)
            && let Some(next) = read_record(reader, path)?
        {
            self.heap.push(Reverse((next.0, i, next.1)));
        }
        Ok(Some((reference, id)))
    }
}

impl Iterator for RowStream {
    type Item = Result<RowMatches>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((first, _, _)) = *self.heap.peek()?;
        let (row, _) = split_row_ref(first);
        let mut out = RowMatches {
            row,
            ids: vec![None; self.rules],
        };
        while self
            .heap
            .peek()
            .is_some_and(|Reverse((r, _, _))| split_row_ref(*r).0 == row)
        {
            match self.pop() {
                Ok(Some((reference, id))) => {
                    let (_, rule) = split_row_ref(reference);
                    if let Some(slot) = out.ids.get_mut(rule) {
                        *slot = Some(MatchId(id));
                    }
                }
                Ok(None) => break,
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(out))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::matching::prepare::row_ref;

    fn m(row: u64, rule: usize, id: u8) -> Match {
        Match {
            row: row_ref(row, rule),
            match_id: MatchId([id; 32]),
        }
    }

    #[test]
    fn buckets_merge_into_rows_in_order() {
        let work = tempfile::tempdir().unwrap();
        let mut store = BucketResults::create(work.path()).unwrap();
        store.add(0, vec![m(5, 0, 1), m(2, 0, 2)]).unwrap();
        store.add(1, vec![m(5, 1, 3), m(9, 1, 4)]).unwrap();
        store.add(2, Vec::new()).unwrap();
        let rows: Vec<RowMatches> = store.rows(2).unwrap().map(Result::unwrap).collect();
        assert_eq!(
            rows,
            vec![
                RowMatches {
                    row: 2,
                    ids: vec![Some(MatchId([2; 32])), None]
                },
                RowMatches {
                    row: 5,
                    ids: vec![Some(MatchId([1; 32])), Some(MatchId([3; 32]))]
                },
                RowMatches {
                    row: 9,
                    ids: vec![None, Some(MatchId([4; 32]))]
                },
            ]
        );
    }
}
