//! Reading the clusters file of an earlier run (`--previous`): which previous
//! cluster each of this run's records was in, and when each cluster ID was first
//! issued. A file whose header is not exactly [`CLUSTERS_HEADER`] is refused as
//! "not a clusters file".

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use blindmatch_data::dataset::{DatasetReader, Format, InputSource, Record};
use blindmatch_data::{Error, Result};

use crate::ids::ClusterId;
use crate::load::{Loaded, NONE};

/// The header of a clusters file, field by field.
pub const CLUSTERS_HEADER: [&str; 5] = ["source", "row", "cluster_id", "linked_by", "first_seen"];

/// An earlier run's clusters, as far as this run's records are concerned.
#[derive(Debug, Clone)]
pub(crate) struct Previous {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Data rows.
    pub rows: u64,
    /// The previous clusters' IDs.
    pub ids: Vec<ClusterId>,
    /// Per previous cluster, the generation that first issued its ID.
    pub first_seen: Vec<u64>,
    /// The newest generation in the file.
    pub generation: u64,
    /// Per record of this run: its previous cluster, or [`NONE`].
    pub of_record: Vec<u32>,
    /// Rows naming a record this run does not have (a source or row not read now).
    pub not_found: u64,
}

/// Reads `path` against this run's records.
///
/// # Errors
/// The file cannot be read, its header is not a clusters file's, or a line is
/// malformed or inconsistent (bad input, naming the line, never a value).
pub(crate) fn read_previous(path: &Path, loaded: &Loaded) -> Result<Previous> {
    let source = InputSource::File(path.to_path_buf());
    // A clusters file written as Parquet (`-o clusters.parquet`) reads back too.
    let mut reader = DatasetReader::open(&source, Format::of_path(path), b',')?;
    let shown = path.display().to_string();
    if reader.header() != CLUSTERS_HEADER {
        return Err(Error::bad_input(format!(
            "--previous '{shown}' is not a clusters file: its header is not {}",
            CLUSTERS_HEADER.join(",")
        ))
        .hint("give the clusters file (-o) that an earlier `blindmatch resolve` wrote"));
    }
    reader.check_text_columns(vec![0, 1, 2, 4]);
    let bad = |line: u64, what: &str| {
        Error::bad_input(format!("--previous '{shown}' line {line}: {what}"))
            .hint("give the clusters file (-o) of an earlier run, unchanged")
    };
    let mut of_record = vec![NONE; loaded.records as usize];
    let mut index: HashMap<ClusterId, u32> = HashMap::new();
    let mut ids = Vec::new();
    let mut first_seen = Vec::new();
    let mut not_found = 0u64;
    let mut record = Record::default();
    while reader.read(&mut record)? {
        let line = record.line();
        let row: u64 = record
            .text(1)
            .parse()
            .map_err(|_| bad(line, "row is not a row number"))?;
        let Some(id) = ClusterId::parse(record.text(2)) else {
            return Err(bad(line, "cluster_id is not `cl-` and 16 hex digits"));
        };
        let seen: u64 = match record.text(4).parse() {
            // Bounded so that the next run's generation (the highest plus one) fits.
            Ok(n) if n > 0 && n < u64::from(u32::MAX) => n,
            _ => return Err(bad(line, "first_seen is not a generation number (1, 2, …)")),
        };
        let cluster = match index.get(&id) {
            Some(&c) => {
                if first_seen[c as usize] != seen {
                    return Err(bad(line, "a cluster ID with two first_seen generations"));
                }
                c
            }
            None => {
                let c = u32::try_from(ids.len()).unwrap_or(NONE);
                index.insert(id, c);
                ids.push(id);
                first_seen.push(seen);
                c
            }
        };
        let name = record.text(0);
        let found = loaded
            .sources
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(|i| &loaded.sources[i])
            .filter(|s| row >= 1 && row <= s.rows)
            .map(|s| s.offset as usize + (row - 1) as usize);
        match found {
            Some(r) if of_record[r] != NONE => {
                return Err(bad(line, "a record listed on an earlier line"));
            }
            Some(r) => of_record[r] = cluster,
            None => not_found += 1,
        }
    }
    let summary = reader.finish()?;
    Ok(Previous {
        path: path.to_path_buf(),
        sha256: summary.sha256,
        bytes: summary.bytes,
        rows: summary.rows,
        generation: first_seen.iter().copied().max().unwrap_or(0),
        ids,
        first_seen,
        of_record,
        not_found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_id_shape() {
        let id = ClusterId::parse("cl-0123456789abcdef");
        assert_eq!(id, Some(ClusterId(0x0123_4567_89ab_cdef)));
        assert_eq!(
            id.map(|i| i.to_string()).as_deref(),
            Some("cl-0123456789abcdef")
        );
        assert_eq!(ClusterId::parse("cl-0123456789ABCDEF"), None);
        assert_eq!(ClusterId::parse("cl-0123456789abcde"), None);
        assert_eq!(ClusterId::parse("cl-+123456789abcdef"), None);
        assert_eq!(ClusterId::parse("0123456789abcdef"), None);
    }
}
