//! The Parquet and Arrow IPC reader (`blindmatch_data::dataset::DatasetReader`
//! over a `.parquet` or `.arrow` file, what every command reads such a table
//! with), on any bytes, read record by record to the end and then `finish()`ed.
//!
//! The first byte picks the format (even: Parquet, odd: Arrow IPC), whether
//! only the first column is decoded (`use_columns`), and whether the rows are
//! read in blocks (`read_chunk`, the tokenize workers' way: a range of the record
//! batch read in place) of a size the byte's high bits give, mixed with single
//! records; the rest is the file.
//! Checked, beyond "never panics":
//! - every record has the schema's field count, rows are numbered 1, 2, 3, … and a
//!   record's line is its row, in blocks as in records; a block holds at most the
//!   rows asked for, and every field of its rows reads as text;
//! - the summary counts the rows read and the whole file, with its SHA-256;
//! - every error is bad input whose message names the file.
#![no_main]

use std::path::PathBuf;

use blindmatch_data::Category;
use blindmatch_data::dataset::{
    ChunkRows, ColumnSpec, Columns, DatasetReader, Format, InputSource, Record, RowChunk, Rows,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// libFuzzer aborts on every panic. The reader turns a panic inside the parquet or
/// arrow crates (which assert on some damaged pages) into a "damaged file" error,
/// so those may unwind to it; a panic anywhere else still aborts.
fn let_dependency_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let file = info.location().map_or("", |l| l.file());
            if !(file.contains("/parquet-") || file.contains("/arrow-")) {
                eprintln!("{info}");
                std::process::abort();
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_dependency_panics_unwind();
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let (format, name) = match selector & 1 {
        0 => (Format::Parquet, "fuzz.parquet"),
        _ => (Format::Arrow, "fuzz.arrow"),
    };
    // One file per process: libFuzzer runs inputs one after another.
    let dir = std::env::temp_dir().join(format!("bm-fuzz-columnar-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path: PathBuf = dir.join(name);
    if std::fs::write(&path, input).is_err() {
        return;
    }
    let source = InputSource::File(path.clone());
    let shown = source.name();
    let check = |e: &blindmatch_data::Error| {
        assert_eq!(e.category(), Category::BadInput, "{e}");
        assert!(
            e.message().contains(&shown),
            "an error that names no file: {e}"
        );
    };
    let mut reader = match DatasetReader::open(&source, format, b',') {
        Ok(reader) => reader,
        Err(e) => return check(&e),
    };
    let header = reader.header().to_vec();
    if selector & 2 != 0 && !header.is_empty() {
        let spec = ColumnSpec {
            name: header[0].clone(),
            id_type: blindmatch_token::IdType::Raw,
        };
        if let Ok(columns) = Columns::resolve(&header, &[spec], &[], &shown) {
            if let Err(e) = reader.use_columns(&columns) {
                return check(&e);
            }
        }
    }
    let mut record = Record::default();
    let mut chunk = RowChunk::default();
    let blocks = selector & 4 != 0;
    let block_rows = 1 + usize::from(selector >> 3) * 97;
    let mut rows = 0u64;
    for n in 0u64.. {
        if blocks && n % 4 != 3 {
            match reader.read_chunk(&mut chunk, block_rows) {
                Ok(0) => break,
                Ok(got) => {
                    assert!(got <= block_rows, "a block larger than asked for");
                    assert_eq!(got, chunk.len());
                    match chunk.rows() {
                        ChunkRows::Records(r) => check_block(r, header.len(), &mut rows),
                        ChunkRows::Batch(b) => check_block(b, header.len(), &mut rows),
                    }
                }
                Err(e) => return check(&e),
            }
            continue;
        }
        match reader.read(&mut record) {
            Ok(true) => {
                rows += 1;
                assert_eq!(record.len(), header.len(), "a record of another width");
                assert_eq!(record.row(), rows, "rows skip or repeat");
                assert_eq!(record.line(), rows, "a table row's line is its row");
            }
            Ok(false) => break,
            Err(e) => return check(&e),
        }
    }
    match reader.finish() {
        Ok(summary) => {
            assert_eq!(summary.rows, rows, "finish() miscounts");
            assert_eq!(summary.bytes, input.len() as u64);
            let digest: String = Sha256::digest(input)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(summary.sha256, digest);
        }
        Err(e) => check(&e),
    }
});

/// The rows of a block continue the numbering, give their row as line, and
/// read every field as text.
fn check_block<R: Rows + ?Sized>(block: &R, width: usize, rows: &mut u64) {
    for i in 0..block.len() {
        *rows += 1;
        assert_eq!(block.row(i), *rows, "rows skip or repeat in a block");
        assert_eq!(block.line(i), *rows, "a table row's line is its row");
        for c in 0..width {
            assert!(block.text(i, c).is_some(), "a table field that is not text");
        }
    }
}
