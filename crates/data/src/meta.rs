//! Metadata every written document shares (manifests, receipts, audit reports):
//! the tool block, files by SHA-256 and size, profiles by name and digest, and
//! timestamps.
//!
//! None of it is ever built from a cell value or key bytes.

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The program that wrote a document.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// `blindmatch`.
    pub name: &'static str,
    /// The package version.
    pub version: &'static str,
}

impl Tool {
    /// This build. The name is the product's, not this crate's package name; every
    /// workspace member shares one version, so this crate's is the binary's.
    pub fn current() -> Self {
        Tool {
            name: "blindmatch",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// A file read or written, identified by content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// The path as given, or `-` for standard input/output.
    pub path: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl FileInfo {
    /// Describes a file by path, hash and size.
    pub fn new(path: &Path, sha256: String, bytes: u64) -> Self {
        FileInfo {
            path: path.display().to_string(),
            sha256,
            bytes,
        }
    }
}

/// A normalisation profile by name and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// Stable profile name (encodes the rules and options), e.g. `bm-std-v1`.
    pub name: String,
    /// Digest of the profile, lowercase hex, for a quick equality check.
    pub digest: String,
}

/// How finely a timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Precision {
    /// Whole seconds (`2026-11-22T10:00:05Z`): session receipts, which both sides
    /// write and compare by eye.
    Seconds,
    /// As the clock gives it, to the nanosecond
    /// (`2026-11-22T13:40:50.639005377Z`): manifests and audit reports, whose
    /// `elapsed_seconds` must fit between `started_at` and `finished_at`.
    Full,
}

/// Now as RFC 3339 in UTC, at `precision`. Each document keeps the precision it
/// has always had (see [`Precision`]); the formats are fixed by `docs/schemas/`.
pub fn now_rfc3339(precision: Precision) -> String {
    let now = OffsetDateTime::now_utc();
    let now = match precision {
        Precision::Seconds => now.replace_nanosecond(0).unwrap_or(now),
        Precision::Full => now,
    };
    // Formatting fails only for years outside 0..=9999.
    now.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_seconds() {
        let t = now_rfc3339(Precision::Seconds);
        assert!(t.ends_with('Z'), "{t}");
        assert_eq!(t.len(), "2024-01-01T00:00:00Z".len(), "{t}");
        assert!(OffsetDateTime::parse(&t, &Rfc3339).is_ok());
    }

    #[test]
    fn full_timestamps_keep_the_fraction() {
        let t = now_rfc3339(Precision::Full);
        assert!(t.ends_with('Z'), "{t}");
        assert!(OffsetDateTime::parse(&t, &Rfc3339).is_ok());
    }

    #[test]
    fn the_tool_is_the_product() {
        assert_eq!(Tool::current().name, "blindmatch");
    }
}
