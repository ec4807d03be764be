//! The two table outputs: the clusters file (one line per record) and the golden
//! records file (one line per cluster), CSV, or Parquet for a name ending in
//! `.parquet`. Both are written under a temporary name, mode 0600, and sealed;
//! the caller commits them together with the report.

use std::io::Write;
use std::path::Path;

use blindmatch_data::dataset::DataType;
use blindmatch_data::output::{ColumnTypes, SealedFile, TableFile};
use blindmatch_data::text::write_field;
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_token::RuleSet;

use crate::ids::Assigned;
use crate::link::{Clustering, NO_RULE};
use crate::load::{Loaded, NONE};
use crate::previous::CLUSTERS_HEADER;
use crate::survive::{Members, Survivor};

fn write_failed(path: &Path) -> impl FnOnce() -> Error + '_ {
    move || {
        Error::failed(format!("cannot write '{}'", path.display()))
            .hint("check the free space and permissions of the output folder")
    }
}

/// Writes the clusters file: `source,row,cluster_id,linked_by,first_seen`, one
/// line per record in (source name, row) order.
///
/// # Errors
/// The file exists (without `overwrite`) or cannot be written.
pub(crate) fn write_clusters(
    path: &Path,
    overwrite: bool,
    loaded: &Loaded,
    clustering: &Clustering,
    assigned: &Assigned,
    rules: &RuleSet,
) -> Result<SealedFile> {
    // As Parquet (a `.parquet` name), row and generation are integers.
    let mut types = ColumnTypes::new();
    types.set("row", &DataType::UInt64);
    types.set("first_seen", &DataType::UInt64);
    let mut file = TableFile::create(path, overwrite, true, b',', types)?;
    let names = rules.names();
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(CLUSTERS_HEADER.join(",").as_bytes());
    line.push(b'\n');
    for source in &loaded.sources {
        let mut name = Vec::new();
        write_field(&mut name, source.name.as_bytes(), b',');
        for row in 1..=source.rows {
            let r = source.offset as usize + (row - 1) as usize;
            let c = clustering.cluster_of[r] as usize;
            line.extend_from_slice(&name);
            let rule = match clustering.linked_by[r] {
                NO_RULE => "",
                i => names.get(usize::from(i)).map_or("", String::as_str),
            };
            let _ = writeln!(
                line,
                ",{row},{},{rule},{}",
                assigned.ids[c], assigned.first_seen[c]
            );
            if line.len() > 1 << 16 {
                file.write_all(&line).fail_with(write_failed(path))?;
                line.clear();
            }
        }
    }
    file.write_all(&line).fail_with(write_failed(path))?;
    file.seal()
}

/// Writes the golden records: `cluster_id,records,sources`, then one column per
/// stored field with its surviving normalised value; clusters in order of their
/// smallest record.
///
/// # Errors
/// The file exists (without `overwrite`) or cannot be written.
pub(crate) fn write_golden(
    path: &Path,
    overwrite: bool,
    loaded: &Loaded,
    members: &Members,
    assigned: &Assigned,
    survivor: &Survivor,
) -> Result<SealedFile> {
    let mut types = ColumnTypes::new();
    types.set("records", &DataType::UInt64);
    let mut file = TableFile::create(path, overwrite, true, b',', types)?;
    let mut line = Vec::with_capacity(1 << 16);
    line.extend_from_slice(b"cluster_id,records,sources");
    for field in &loaded.fields {
        line.push(b',');
        line.extend_from_slice(field.as_str().as_bytes());
    }
    line.push(b'\n');
    let mut sources: Vec<usize> = Vec::new();
    for (c, id) in assigned.ids.iter().enumerate() {
        let of = members.of(c);
        sources.clear();
        sources.extend(of.iter().map(|&r| loaded.source_index(r)));
        sources.dedup();
        let _ = write!(line, "{id},{},", of.len());
        let joined: Vec<&str> = sources
            .iter()
            .map(|&i| loaded.sources[i].name.as_str())
            .collect();
        write_field(&mut line, joined.join(";").as_bytes(), b',');
        for f in 0..loaded.fields.len() {
            line.push(b',');
            let v = survivor.choose(loaded, f, of);
            if v != NONE {
                write_field(&mut line, loaded.dict[f][v as usize].as_bytes(), b',');
            }
        }
        line.push(b'\n');
        if line.len() > 1 << 16 {
            file.write_all(&line).fail_with(write_failed(path))?;
            line.clear();
        }
    }
    file.write_all(&line).fail_with(write_failed(path))?;
    file.seal()
}
