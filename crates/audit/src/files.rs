//! Files a manifest or receipt refers to: finding them from the recorded path, and
//! checking their SHA-256 and size against the recorded values.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use blindmatch_data::dataset::Format;
use blindmatch_data::{Error, FailWith, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::report::{Finding, safe_name};

/// A file as a manifest or receipt records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// The path as recorded (relative to where the command ran, or absolute).
    pub(crate) path: String,
    /// SHA-256, lowercase hex.
    pub(crate) sha256: String,
    /// Size in bytes, when recorded.
    pub(crate) bytes: Option<u64>,
    /// The table format, when recorded (absent before Parquet was read: CSV).
    pub(crate) format: Option<Format>,
}

impl Recorded {
    /// The format to read the table at `path` in: as recorded, else by the
    /// file's extension.
    pub(crate) fn table_format(&self, path: &std::path::Path) -> Format {
        self.format.unwrap_or_else(|| Format::of_path(path))
    }
}

/// The outcome of comparing a file with its record.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileCheck {
    /// What the file is (`output file`, `input file`, ...).
    pub(crate) what: &'static str,
    /// Where it was looked for or found (shown safely).
    pub(crate) path: String,
    /// Whether it was found.
    pub(crate) found: bool,
    /// SHA-256 of the file at hand, if found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha256: Option<String>,
    /// Size at hand, if found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) bytes: Option<u64>,
    /// Whether the hash matches the record (absent when not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha256_matches: Option<bool>,
    /// Whether the size matches the record (absent when not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size_matches: Option<bool>,
}

/// SHA-256 (lowercase hex) and size of a file, streamed.
///
/// # Errors
/// Bad input when the file cannot be read.
pub(crate) fn hash_file(path: &Path) -> Result<(String, u64)> {
    let shown = path.display();
    let mut file = File::open(path).fail_with(|| {
        Error::bad_input(format!("cannot read '{shown}'")).hint("check the path and permissions")
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .fail_with(|| Error::bad_input(format!("cannot read '{shown}'")))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Where a recorded path most likely is now: relative to the folder of the document
/// that records it (manifests and receipts usually travel with their files), then
/// as recorded (relative to the current folder), then by file name beside the
/// document. `None` if none exists, or for `-` (standard input/output).
pub(crate) fn locate(recorded: &str, document: &Path) -> Option<PathBuf> {
    if recorded.is_empty() || recorded == "-" {
        return None;
    }
    let as_recorded = PathBuf::from(recorded);
    let dir = document.parent().filter(|d| !d.as_os_str().is_empty());
    let mut candidates = Vec::new();
    if as_recorded.is_absolute() {
        candidates.push(as_recorded.clone());
    } else if let Some(dir) = dir {
        candidates.push(dir.join(&as_recorded));
    }
    candidates.push(as_recorded.clone());
    if let (Some(dir), Some(name)) = (dir, as_recorded.file_name()) {
        candidates.push(dir.join(name));
    } else if let Some(name) = as_recorded.file_name() {
        candidates.push(PathBuf::from(name));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Compares the file at `path` (if any) with `recorded`; pushes findings for a
/// mismatch. A missing file is not a finding here: the caller decides.
///
/// # Errors
/// The file exists but cannot be read.
pub(crate) fn check(
    what: &'static str,
    path: Option<&Path>,
    recorded: &Recorded,
    findings: &mut Vec<Finding>,
) -> Result<FileCheck> {
    let Some(path) = path else {
        return Ok(FileCheck {
            what,
            path: safe_name(&recorded.path),
            found: false,
            sha256: None,
            bytes: None,
            sha256_matches: None,
            size_matches: None,
        });
    };
    let (sha256, bytes) = hash_file(path)?;
    Ok(compare(what, path, sha256, bytes, recorded, findings))
}

/// As [`check`], for a file whose hash and size were computed already.
pub(crate) fn compare(
    what: &'static str,
    path: &Path,
    sha256: String,
    bytes: u64,
    recorded: &Recorded,
    findings: &mut Vec<Finding>,
) -> FileCheck {
    let shown = safe_name(&path.display().to_string());
    let sha_ok = sha256.eq_ignore_ascii_case(&recorded.sha256);
    let size_ok = recorded.bytes.map(|b| b == bytes);
    if !sha_ok {
        findings.push(Finding::new(
            "file_hash_mismatch",
            format!(
                "{what} '{shown}': SHA-256 {} differs from the recorded {} (the file or the record was changed)",
                short(&sha256),
                short(&recorded.sha256)
            ),
        ));
    }
    if size_ok == Some(false) {
        findings.push(Finding::new(
            "file_size_mismatch",
            format!(
                "{what} '{shown}': {bytes} bytes, but {} recorded",
                recorded.bytes.unwrap_or_default()
            ),
        ));
    }
    FileCheck {
        what,
        path: shown,
        found: true,
        sha256: Some(sha256),
        bytes: Some(bytes),
        sha256_matches: Some(sha_ok),
        size_matches: size_ok,
    }
}

/// Parses a file that a manifest or receipt records. When parsing fails and the
/// file no longer has the recorded SHA-256, the failure is a finding (the file was
/// changed and is not even well formed any more) and the file check is returned
/// instead of the parse; when the file is the recorded one, the error stands
/// (a usage problem such as a wrong `--delimiter`).
///
/// # Errors
/// The parse error, when the file still matches its record or there is no record.
pub(crate) fn parse_or_finding<T>(
    what: &'static str,
    path: &Path,
    recorded: Option<&Recorded>,
    findings: &mut Vec<Finding>,
    parse: impl FnOnce() -> Result<T>,
) -> Result<Result<T, FileCheck>> {
    let err = match parse() {
        Ok(t) => return Ok(Ok(t)),
        Err(err) => err,
    };
    let Some(recorded) = recorded else {
        return Err(err);
    };
    let Ok((sha256, bytes)) = hash_file(path) else {
        return Err(err);
    };
    if sha256.eq_ignore_ascii_case(&recorded.sha256) {
        return Err(err);
    }
    let check = compare(what, path, sha256, bytes, recorded, findings);
    // CSV errors name the file, line and column, never a cell value.
    findings.push(Finding::new(
        "malformed_file",
        format!(
            "{what} '{}' is no longer well-formed CSV: {err:#}",
            check.path
        ),
    ));
    Ok(Err(check))
}

/// The first 12 hex digits of a hash, for messages (the full value is in the JSON).
pub(crate) fn short(hash: &str) -> String {
    let clean: String = hash
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    if clean.is_empty() {
        "(none)".to_owned()
    } else {
        format!("{clean}…")
    }
}

/// Whether `s` is 64 lowercase hex digits (a SHA-256 as blindmatch writes it).
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One line about a file check.
pub(crate) fn describe_check(c: &FileCheck) -> String {
    if !c.found {
        return format!("{} '{}': not at hand, not checked", c.what, c.path);
    }
    let verdict = match (c.sha256_matches, c.size_matches) {
        (Some(true), Some(false)) => "SHA-256 matches, SIZE DIFFERS",
        (Some(true), _) => "SHA-256 and size match the record",
        (Some(false), _) => "SHA-256 DIFFERS from the record",
        (None, _) => "not compared",
    };
    format!("{} '{}': {verdict}", c.what, c.path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn recorded_paths_are_found_beside_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("out");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("t.csv"), b"x").unwrap();
        let manifest = sub.join("t.csv.manifest.json");
        // Recorded relative to the folder where tokenize ran: found by file name.
        assert_eq!(locate("out/t.csv", &manifest), Some(sub.join("t.csv")));
        assert_eq!(locate("t.csv", &manifest), Some(sub.join("t.csv")));
        assert_eq!(locate("missing.csv", &manifest), None);
        assert_eq!(locate("-", &manifest), None);
        let abs = sub.join("t.csv").display().to_string();
        assert_eq!(locate(&abs, &manifest), Some(sub.join("t.csv")));
    }

    #[test]
    fn mismatches_are_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let good = Recorded {
            path: "f".into(),
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            bytes: Some(3),
            format: None,
        };
        let mut findings = Vec::new();
        let c = check("output file", Some(&path), &good, &mut findings).unwrap();
        assert!(findings.is_empty());
        assert_eq!(c.sha256_matches, Some(true));
        let bad = Recorded {
            sha256: "00".repeat(32),
            bytes: Some(4),
            ..good
        };
        check("output file", Some(&path), &bad, &mut findings).unwrap();
        let codes: Vec<&str> = findings.iter().map(|f| f.check).collect();
        assert_eq!(codes, vec!["file_hash_mismatch", "file_size_mismatch"]);
        assert!(is_sha256_hex(&"ab".repeat(32)));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
        assert_eq!(short("ba7816bf8f01cfea41"), "ba7816bf8f01…");
    }
}
