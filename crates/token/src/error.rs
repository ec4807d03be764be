//! The crate's error type. No variant ever carries an identifier value or key material.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in this crate apart from a normaliser rejecting a
/// value (that is a [`crate::Rejection`], an expected outcome rather than an error).
///
/// Messages name what and where (a path, a line number, a row), never the value
/// that was being processed and never key bytes.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An identifier type name that is not one of the stable names.
    #[error(
        "unknown identifier type `{given}`; valid types: {}",
        crate::IdType::VALID_NAMES
    )]
    UnknownIdType {
        /// The name given (clipped to 64 characters).
        given: String,
    },
    /// A calling code that is not an assigned ITU-T E.164 country code.
    #[error("`{given}` is not an assigned E.164 country calling code (e.g. 86, 1, 44)")]
    InvalidCallingCode {
        /// The text given (clipped to 64 characters).
        given: String,
    },
    /// An e-mail provider rule set name that is not known.
    #[error("unknown e-mail provider rules `{given}`; valid: none, gmail")]
    UnknownEmailProviderRules {
        /// The name given (clipped to 64 characters).
        given: String,
    },
    /// A profile name that this version cannot parse.
    #[error("unknown normalisation profile `{given}`; expected e.g. `{}`", crate::Profile::standard().name())]
    UnknownProfile {
        /// The name given (clipped to 64 characters).
        given: String,
    },
    /// A key purpose name that is not known.
    #[error("unknown key purpose `{given}`; valid: master, token, short-code")]
    UnknownKeyPurpose {
        /// The name given (clipped to 64 characters).
        given: String,
    },
    /// A derivation was asked for a purpose that cannot be derived (the master purpose).
    #[error("keys for purpose `{purpose}` cannot be derived; derive `token` or `short-code` keys")]
    NotDerivable {
        /// The purpose asked for.
        purpose: crate::KeyPurpose,
    },
    /// A key file of a purpose that never makes tokens (a short-code key) was given
    /// where a token key was needed.
    #[error("a {purpose} key never makes tokens; use a master key or a token key")]
    NotATokenKey {
        /// The purpose recorded in the key file.
        purpose: crate::KeyPurpose,
    },
    /// A partner name or collaboration ID used as derivation context is unusable.
    #[error(
        "{what} must be 1 to {max} characters from A-Z a-z 0-9 . _ - : @ / (got {len} characters)"
    )]
    InvalidLabel {
        /// Which label (`partner`, `collaboration ID`).
        what: &'static str,
        /// Its length in characters.
        len: usize,
        /// The maximum length.
        max: usize,
    },
    /// A shared secret too short to derive a key from.
    #[error("shared secret has {len} bytes; at least {min} random bytes are required")]
    SharedSecretTooShort {
        /// Bytes given.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// A byte string of the wrong length where a 32-byte key was expected.
    #[error("a key is {expected} bytes, got {len}")]
    KeyLength {
        /// Bytes given.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng(#[source] rand::rngs::SysError),
    /// A key file line could not be understood.
    #[error("key file line {line}: {problem}")]
    KeyFileMalformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: KeyFileProblem,
    },
    /// A key file written by a newer (or unknown) format version.
    #[error("key file format version {found} is not supported; this build reads version 1")]
    KeyFileVersion {
        /// The version number in the header.
        found: u32,
    },
    /// A required key file field is absent.
    #[error("key file has no `{field}:` line")]
    KeyFileMissingField {
        /// The missing field name.
        field: &'static str,
    },
    /// A key file is larger than any valid key file.
    #[error("key file is larger than {max} bytes; not a blindmatch key file")]
    KeyFileTooLarge {
        /// The size limit.
        max: u64,
    },
    /// Refused to overwrite an existing file.
    #[error("{}: already exists; refusing to overwrite", path.display())]
    AlreadyExists {
        /// The existing path.
        path: PathBuf,
    },
    /// An I/O operation on a path failed.
    #[error("cannot {op} {}", path.display())]
    Io {
        /// What was attempted (`read`, `create`, `link`, ...).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A token string that is not `bm1.<kid>.<base64url>`.
    #[error("malformed token: {problem}")]
    InvalidToken {
        /// What is wrong with it.
        problem: TokenProblem,
    },
    /// A key ID that is not 16 lowercase hex digits.
    #[error("malformed key ID: expected 16 lowercase hex digits")]
    InvalidKeyId,
    /// A token length outside the supported range.
    #[error("token length {given} bytes is not supported; use {min} to {max} bytes")]
    TokenLength {
        /// The length asked for.
        given: usize,
        /// Shortest supported.
        min: usize,
        /// Longest supported.
        max: usize,
    },
    /// A short-code length outside the supported range.
    #[error("short-code length {given} is not supported; use {min} to {max} characters")]
    ShortCodeLength {
        /// The length asked for.
        given: usize,
        /// Shortest supported.
        min: usize,
        /// Longest supported.
        max: usize,
    },
    /// A string that is not a well-formed short code (bad character, length or check character).
    #[error("malformed short code: {problem}")]
    InvalidShortCode {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two different identifiers produced the same short code within one run.
    #[error(
        "short-code collision: rows {first_row} and {row} are different identifiers with the same code {code}; use longer codes"
    )]
    ShortCodeCollision {
        /// The colliding code (a pseudonym, not an identifier).
        code: String,
        /// The row that first produced the code.
        first_row: u64,
        /// The row that produced it again for a different identifier.
        row: u64,
    },
    /// A different identifier produced a code already issued in an earlier run
    /// (read from the short-code registry file).
    #[error(
        "short-code collision: row {row} is a different identifier with the same code {code} as a code issued in an earlier run (listed in the short-code registry); use longer codes"
    )]
    ShortCodeCollisionEarlierRun {
        /// The colliding code (a pseudonym, not an identifier).
        code: String,
        /// The row that produced it for a different identifier.
        row: u64,
    },
    /// A short-code registry file line could not be used.
    #[error("short-code registry line {line}: {problem}")]
    ShortCodeRegistryMalformed {
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        problem: crate::short_code::RegistryProblem,
    },
    /// A short-code registry written by a newer (or unknown) format version.
    #[error(
        "short-code registry format version {found} is not supported; this build reads version 1"
    )]
    ShortCodeRegistryVersion {
        /// The version number in the header.
        found: u32,
    },
    /// A `--rule` that cannot be used: an empty term, an unknown type, or a rule
    /// given twice.
    #[error("rule `{rule}`: {problem}")]
    InvalidRule {
        /// The rule as given (clipped to 64 characters).
        rule: String,
        /// What is wrong with it.
        problem: RuleProblem,
    },
    /// Reading a short-code registry failed.
    #[error("cannot read the short-code registry at line {line}")]
    ShortCodeRegistryRead {
        /// The line being read.
        line: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What is wrong with a key file line. Never contains the line's content.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFileProblem {
    /// The first line is not `blindmatch-key v<N>`.
    MissingHeader,
    /// The file is not valid UTF-8.
    NotUtf8,
    /// A line is neither blank, a `#` comment nor `field: value`.
    NotAField,
    /// A field name this version does not know.
    UnknownField,
    /// A field given twice.
    DuplicateField,
    /// The key is not unpadded base64url.
    BadKeyEncoding,
    /// The key decodes to the wrong number of bytes.
    BadKeyLength {
        /// Bytes found.
        found: usize,
    },
    /// The key ID is not 16 lowercase hex digits.
    BadKeyId,
    /// The key ID does not belong to the key (file corrupted or edited).
    KeyIdMismatch,
    /// The creation time is not RFC 3339.
    BadTimestamp,
    /// An algorithm other than `hmac-sha256`.
    UnknownAlgorithm,
    /// A purpose other than `master`, `token` or `short-code`.
    UnknownPurpose,
    /// The derivation line is not understood.
    BadDerivation,
    /// The purpose check is not 16 lowercase hex digits.
    BadPurposeCheck,
    /// The purpose line does not match the purpose check computed from the key
    /// (the line was edited, or the check line was).
    PurposeChanged,
}

impl fmt::Display for KeyFileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileProblem::MissingHeader => {
                f.write_str("expected header `blindmatch-key v1`; not a blindmatch key file")
            }
            KeyFileProblem::NotUtf8 => f.write_str("not valid UTF-8"),
            KeyFileProblem::NotAField => {
                f.write_str("expected `field: value`, a `#` comment or a blank line")
            }
            KeyFileProblem::UnknownField => f.write_str("unknown field"),
            KeyFileProblem::DuplicateField => f.write_str("field given twice"),
            KeyFileProblem::BadKeyEncoding => f.write_str("key is not unpadded base64url"),
            KeyFileProblem::BadKeyLength { found } => {
                write!(f, "key is {found} bytes, expected 32")
            }
            KeyFileProblem::BadKeyId => f.write_str("key ID is not 16 lowercase hex digits"),
            KeyFileProblem::KeyIdMismatch => {
                f.write_str("key ID does not match the key (file corrupted or edited)")
            }
            KeyFileProblem::BadTimestamp => {
                f.write_str("creation time is not an RFC 3339 timestamp")
            }
            KeyFileProblem::UnknownAlgorithm => {
                f.write_str("unknown algorithm; expected hmac-sha256")
            }
            KeyFileProblem::UnknownPurpose => {
                f.write_str("unknown purpose; expected master, token or short-code")
            }
            KeyFileProblem::BadDerivation => f.write_str("derivation not understood"),
            KeyFileProblem::BadPurposeCheck => {
                f.write_str("purpose check is not 16 lowercase hex digits")
            }
            KeyFileProblem::PurposeChanged => f.write_str(
                "the purpose line was changed: it does not match the purpose-check line, which is computed from the key",
            ),
        }
    }
}

/// What is wrong with a matching rule. Never contains an identifier value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleProblem {
    /// The rule, or one of its `+`-separated terms, is empty.
    EmptyTerm,
    /// A term is not an identifier type name.
    UnknownType {
        /// The term (clipped to 64 characters).
        term: String,
    },
    /// The same rule (in canonical form) was given twice.
    Duplicate {
        /// The canonical name both spellings share.
        canonical: String,
    },
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleProblem::EmptyTerm => f.write_str(
                "empty term; a rule is one or more identifier types joined by `+`, e.g. `name+phone`",
            ),
            RuleProblem::UnknownType { term } => write!(
                f,
                "unknown identifier type `{term}`; valid types: {}",
                crate::IdType::VALID_NAMES
            ),
            RuleProblem::Duplicate { canonical } => {
                write!(f, "given twice (as `{canonical}`)")
            }
        }
    }
}

/// What is wrong with a token string.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not three dot-separated parts.
    Shape,
    /// A version prefix other than `bm1`.
    UnknownVersion,
    /// The key ID part is not 16 lowercase hex digits.
    KeyId,
    /// The MAC part is not unpadded base64url.
    Encoding,
    /// The MAC part decodes to an unsupported length.
    Length {
        /// Bytes found.
        found: usize,
    },
}

impl fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenProblem::Shape => f.write_str("expected `bm1.<kid>.<base64url>`"),
            TokenProblem::UnknownVersion => f.write_str("unknown version prefix; expected `bm1`"),
            TokenProblem::KeyId => f.write_str("key ID is not 16 lowercase hex digits"),
            TokenProblem::Encoding => f.write_str("MAC is not unpadded base64url"),
            TokenProblem::Length { found } => {
                write!(f, "MAC is {found} bytes; expected 16 to 32")
            }
        }
    }
}

/// Shortens a user-supplied name (never an identifier value) for echoing in an error.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
