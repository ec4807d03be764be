//! Metadata every written document shares (manifests, receipts, audit reports):
//! the tool block, files by SHA-256 and size, profiles by their per-type profile
//! strings, and timestamps.
//!
//! None of it is ever built from a cell value or key bytes.

use std::collections::BTreeMap;
use std::path::Path;

use blindmatch_token::{IdType, Profile, unicode_case_version, unicode_version};
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
    /// The table format (`csv`, `parquet`, `arrow`) of an input or output table;
    /// absent for other files, and in documents written before Parquet was read
    /// (which were all CSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl FileInfo {
    /// Describes a file by path, hash and size.
    pub fn new(path: &Path, sha256: String, bytes: u64) -> Self {
        FileInfo {
            path: path.display().to_string(),
            sha256,
            bytes,
            format: None,
        }
    }

    /// The same file, recorded as a table in `format`.
    #[must_use]
    pub fn with_format(mut self, format: &str) -> Self {
        self.format = Some(format.to_owned());
        self
    }
}

/// The normalisation profile of a tokenize run, as its manifest records it.
///
/// What partners compare is `types`: per identifier type of the run, the per-type
/// profile string (`Profile::type_string`), the exact string a match's hello and
/// receipt carry for that type. The whole profile's digest covers every type at
/// once, so two runs that agree on the types they share may still differ there; it
/// is named `all_types_digest` to say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// Per identifier type of the run (by type name), its per-type profile string,
    /// e.g. `"phone": "bm-std-v1,phone-region=86;sha256=…"`.
    pub types: BTreeMap<String, String>,
    /// The whole profile's name (every option), e.g. `bm-std-v1,phone-region=86`.
    pub name: String,
    /// Unicode version of the normalisers' NFKC tables.
    pub unicode: String,
    /// Unicode version of the normalisers' case mapping and character classes.
    pub unicode_case: String,
    /// Digest of the whole profile (`Profile::digest`, every identifier type),
    /// lowercase hex: not comparable with a per-type digest.
    pub all_types_digest: String,
}

impl ProfileInfo {
    /// The record of `profile` for a run over identifier columns of `types`.
    pub fn new(profile: &Profile, types: impl IntoIterator<Item = IdType>) -> Self {
        ProfileInfo {
            types: types
                .into_iter()
                .map(|t| (t.as_str().to_owned(), profile.type_string(t)))
                .collect(),
            name: profile.name(),
            unicode: unicode_version(),
            unicode_case: unicode_case_version(),
            all_types_digest: profile.digest().to_hex(),
        }
    }
}

/// The normalisation profile of one identifier type as a session agreed on it, as
/// receipts record it.
///
/// `types` holds one entry, the session's identifier type with the per-type profile
/// string both hellos carried (`"phone": "bm-std-v1;sha256=…"`), as a manifest shows
/// it for a token column of that type; `name` and `digest` are its two parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeProfileInfo {
    /// The identifier type and its per-type profile string.
    pub types: BTreeMap<String, String>,
    /// The profile name restricted to the options of the type (`Profile::type_name`).
    pub name: String,
    /// The per-type digest (`Profile::type_digest`), lowercase hex.
    pub digest: String,
    /// Unicode version of the normalisers' NFKC tables.
    pub unicode: String,
    /// Unicode version of the normalisers' case mapping and character classes.
    pub unicode_case: String,
}

impl TypeProfileInfo {
    /// The record of `profile` for a session on `id_type`.
    pub fn new(profile: &Profile, id_type: IdType) -> Self {
        TypeProfileInfo {
            types: BTreeMap::from([(id_type.as_str().to_owned(), profile.type_string(id_type))]),
            name: profile.type_name(id_type),
            digest: profile.type_digest(id_type).to_hex(),
            unicode: unicode_version(),
            unicode_case: unicode_case_version(),
        }
    }

    /// The record of `profile` for a session on several identifier types (the fields
    /// of its rules): `types` holds each type's per-type string; `name` and `digest`
    /// are those of the session's string, [`Profile::types_string`] (for one type,
    /// exactly [`TypeProfileInfo::new`]).
    pub fn for_types(profile: &Profile, types: &[IdType]) -> Self {
        TypeProfileInfo {
            types: types
                .iter()
                .map(|t| (t.as_str().to_owned(), profile.type_string(*t)))
                .collect(),
            name: profile.types_name(types),
            digest: profile.types_digest(types).to_hex(),
            unicode: unicode_version(),
            unicode_case: unicode_case_version(),
        }
    }

    /// The per-type profile string of `id_type`, if this record holds exactly that
    /// type and its string is `name;sha256=digest`: what a reader checks before
    /// comparing it.
    pub fn string_for(&self, id_type: &str) -> Option<&str> {
        let (t, string) = self.types.first_key_value()?;
        let joined = string
            .split_once(";sha256=")
            .is_some_and(|(name, digest)| name == self.name && digest == self.digest);
        (self.types.len() == 1 && t == id_type && joined).then_some(string.as_str())
    }
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
    fn profile_records_show_the_per_type_strings() {
        let profile: Profile = "bm-std-v1,phone-region=86".parse().unwrap();
        let m = ProfileInfo::new(&profile, [IdType::Phone, IdType::Email, IdType::Phone]);
        assert_eq!(m.types.len(), 2);
        assert_eq!(m.types["phone"], profile.type_string(IdType::Phone));
        assert_eq!(m.types["email"], profile.type_string(IdType::Email));
        assert_eq!(m.all_types_digest, profile.digest().to_hex());
        let r = TypeProfileInfo::new(&profile, IdType::Phone);
        // One string, comparable by eye between a manifest and a receipt.
        assert_eq!(r.types["phone"], m.types["phone"]);
        assert_eq!(
            r.types["phone"],
            format!("bm-std-v1,phone-region=86;sha256={}", r.digest)
        );
        assert_eq!(r.string_for("phone"), Some(m.types["phone"].as_str()));
        assert_eq!(r.string_for("email"), None);
        let mut edited = r.clone();
        edited.digest = "00".repeat(32);
        assert_eq!(edited.string_for("phone"), None);
        assert_eq!(r.unicode, m.unicode);
    }

    #[test]
    fn the_tool_is_the_product() {
        assert_eq!(Tool::current().name, "blindmatch");
    }
}
