//! The token-file audit of `blindmatch audit tokens`
//! (`blindmatch_audit::token_file_findings`: the same streaming pass over the
//! file, fed from memory, with or without the manifest), on any bytes.
//!
//! The first byte picks the delimiter (`,` `;` tab `|`), how many row numbers a
//! finding lists (0, 1, 3 or 20) and whether a manifest comes first: then the
//! manifest's bytes, a NUL byte, and the token file (a NUL can only be escaped
//! inside JSON). Checked, beyond "never panics":
//! - with a manifest, the read fails with the manifest's own error when that is
//!   unreadable, and otherwise starts with the manifest's own findings;
//! - errors are bad input naming the token file or the manifest;
//! - findings are well formed: row lists ordered, within the file's rows and the
//!   cap, their counts complete;
//! - no finding shows a cell of the token file that looks like a raw identifier
//!   (the audit counts such cells by row; it never copies them).
//!
//! The seeds are token files with their manifests as the real tokenize pipeline
//! writes them (they audit clean: `examples/seeds.rs` checks it), and token
//! files holding raw identifiers and malformed tokens.
#![no_main]

#[path = "shared/documents.rs"]
mod documents;

use std::io::Cursor;
use std::path::Path;

use blindmatch_audit::{manifest_findings, token_file_findings};
use blindmatch_data::dataset::{CsvReader, Record, parse_delimiter};
use documents::{Texts, check_error, check_findings, shown_ok, summary};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const FILE: &str = "fuzz.tokens.csv";
const MANIFEST: &str = "fuzz.manifest.json";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let delimiter = b",;\t|"[usize::from(selector & 3)];
    let max_rows = [0, 1, 3, 20][usize::from((selector >> 2) & 3)];
    let (manifest, file) = match rest.iter().position(|&b| b == 0) {
        Some(i) if selector & 0x10 != 0 => (Some(&rest[..i]), &rest[i + 1..]),
        _ => (None, rest),
    };
    let found = token_file_findings(
        Box::new(Cursor::new(file.to_vec())),
        Path::new(FILE),
        manifest.map(|m| (Path::new(MANIFEST), m)),
        delimiter,
        max_rows,
    );
    let value: Option<Value> = manifest.and_then(|m| serde_json::from_slice(m).ok());
    let mut texts = Texts::of(&value);
    let own = manifest.map(|m| manifest_findings(m, Path::new(MANIFEST)));
    // The audit reads the file with the manifest's delimiter when it records one.
    let delimiter = value
        .as_ref()
        .and_then(|v| v.get("delimiter")?.as_str().map(parse_delimiter)?.ok())
        .unwrap_or(delimiter);
    let cells = cells(file, delimiter);
    let findings = match (found, own) {
        (Err(e), Some(Err(own))) => {
            assert_eq!(e.message(), own.message(), "not the manifest's error");
            return;
        }
        (Ok(_), Some(Err(own))) => panic!("an unreadable manifest was used: {own}"),
        (Err(e), _) => {
            let ok = shown_ok(&texts);
            check_error(&e, &[FILE], &cells.values, &ok);
            return;
        }
        (Ok(findings), own) => {
            if let Some(Ok(own)) = own {
                let first = findings
                    .get(..own.len())
                    .expect("the manifest's findings come first");
                assert_eq!(summary(first), summary(&own), "not the manifest's findings");
            }
            findings
        }
    };
    for f in &findings {
        if let Some(rows) = &f.rows {
            assert!(rows.len() <= max_rows, "more rows listed than asked: {f:?}");
            assert!(rows.iter().all(|&r| r >= 1 && r <= cells.rows), "{f:?}");
        }
    }
    // What scans clean may be shown: header names, the manifest's names, and the
    // key IDs of the tokens in cells that scan clean.
    texts.strings.extend(cells.header);
    texts.strings.extend(cells.values.iter().cloned());
    check_findings(&findings, &cells.values, &shown_ok(&texts));
});

/// The token file as the audit reads it.
#[derive(Default)]
struct Cells {
    header: Vec<String>,
    /// Every data cell, as text.
    values: Vec<String>,
    /// Data rows.
    rows: u64,
}

fn cells(file: &[u8], delimiter: u8) -> Cells {
    let mut out = Cells::default();
    let input = Box::new(Cursor::new(file.to_vec()));
    let Ok(mut reader) = CsvReader::from_reader(input, FILE.to_owned(), None, delimiter) else {
        return out;
    };
    out.header = reader.header().to_vec();
    let mut record = Record::default();
    while let Ok(true) = reader.read(&mut record) {
        out.rows = record.row();
        for i in 0..record.len() {
            let cell = record.get(i).unwrap_or_default();
            out.values.push(String::from_utf8_lossy(cell).into_owned());
        }
    }
    out
}
