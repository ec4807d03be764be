//! [`ShortCodeRegistry`]: the codes issued under one code key, which refuses to
//! issue one code for two identifiers, and its file form, which carries the codes
//! of earlier runs into the next one.
//!
//! ```text
//! blindmatch-short-code-registry v1
//! # blindmatch short-code registry: ... no identifier ...
//! key-id: 5f0c8a1b2c3d4e5f
//! length: 12
//! 0123456789ABC 00112233445566778899aabbccddeeff
//! ```
//!
//! One line per code: the code and the remaining 128 bits of its MAC (the
//! "fingerprint" that tells a repeat of one identifier from a collision of two),
//! sorted by code. Never an identifier, a row or anything else of the input.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::io::{self, BufRead, Write};

use super::{DerivedCode, ShortCode};
use crate::{Error, KeyId};

/// Header line of the registry file, format version 1.
pub const REGISTRY_HEADER: &str = "blindmatch-short-code-registry v1";
const HEADER_PREFIX: &str = "blindmatch-short-code-registry v";
const COMMENT: &str = "# blindmatch short-code registry: each code issued under one code key, with the \
     rest of its MAC; no identifier, no row. Do not edit; keep it with the key.";

/// The row recorded for a code read from a registry file: it was issued in an
/// earlier run (data rows count from 1).
const EARLIER_RUN: u64 = 0;

/// Remembers the codes issued (in this run, and in earlier runs read from a
/// registry file) and refuses to issue one code for two different identifiers.
///
/// Stores per code the remaining 128 bits of its HMAC (never the identifier) and the
/// first row, about 40 bytes plus table overhead per distinct code.
#[derive(Debug, Default)]
pub struct ShortCodeRegistry {
    seen: HashMap<u128, (u128, u64)>,
}

/// The table key of a code: its value and length together, so codes of
/// different lengths never mix (values have at most 120 bits).
fn slot(value: u128, chars: usize) -> u128 {
    value ^ ((chars as u128) << 122)
}

impl ShortCodeRegistry {
    /// An empty registry.
    pub fn new() -> ShortCodeRegistry {
        ShortCodeRegistry::default()
    }

    /// Records `code` for `row`. Returns `true` if the code is new, `false` if the same
    /// identifier produced it before (a repeat, not a collision).
    ///
    /// # Errors
    /// [`Error::ShortCodeCollision`] if a different identifier produced the same
    /// code in this run, [`Error::ShortCodeCollisionEarlierRun`] if it was issued
    /// in an earlier run (read from a registry file).
    pub fn insert(&mut self, code: &DerivedCode, row: u64) -> Result<bool, Error> {
        match self.seen.entry(slot(code.value, code.code.0.len())) {
            Entry::Vacant(v) => {
                v.insert((code.fingerprint, row));
                Ok(true)
            }
            Entry::Occupied(o) => {
                let (fingerprint, first_row) = *o.get();
                if fingerprint == code.fingerprint {
                    Ok(false)
                } else if first_row == EARLIER_RUN {
                    Err(Error::ShortCodeCollisionEarlierRun {
                        code: code.code.0.clone(),
                        row,
                    })
                } else {
                    Err(Error::ShortCodeCollision {
                        code: code.code.0.clone(),
                        first_row,
                        row,
                    })
                }
            }
        }
    }

    /// Number of distinct codes recorded.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no code has been recorded.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Reads a registry file written by [`ShortCodeRegistry::write_to`] for the
    /// code key `key_id` and codes of `len` data characters; its codes count as
    /// issued in an earlier run.
    ///
    /// # Errors
    /// [`Error::ShortCodeRegistryMalformed`] with the 1-based line and the problem
    /// (another key or length among them), [`Error::ShortCodeRegistryVersion`],
    /// [`Error::ShortCodeRegistryRead`]. Messages never contain the line's text.
    pub fn read_from(
        mut reader: impl BufRead,
        key_id: KeyId,
        len: usize,
    ) -> Result<ShortCodeRegistry, Error> {
        let bad = |line: u64, problem| Error::ShortCodeRegistryMalformed { line, problem };
        let mut registry = ShortCodeRegistry::new();
        let mut buf = Vec::with_capacity(128);
        let (mut have_key, mut have_len) = (false, false);
        let mut line = 0u64;
        loop {
            buf.clear();
            line += 1;
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|source| Error::ShortCodeRegistryRead { line, source })?;
            if n == 0 {
                break;
            }
            let text =
                std::str::from_utf8(&buf).map_err(|_| bad(line, RegistryProblem::NotUtf8))?;
            let text = text.trim_end_matches(['\n', '\r']);
            if line == 1 {
                if text == REGISTRY_HEADER {
                    continue;
                }
                let version = text
                    .strip_prefix(HEADER_PREFIX)
                    .and_then(|v| v.parse::<u32>().ok());
                return Err(match version {
                    Some(found) => Error::ShortCodeRegistryVersion { found },
                    None => bad(1, RegistryProblem::MissingHeader),
                });
            }
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            if let Some((field, value)) = text.split_once(':') {
                let (field, value) = (field.trim(), value.trim());
                let seen = match field {
                    "key-id" => {
                        let found: KeyId = value
                            .parse()
                            .map_err(|_| bad(line, RegistryProblem::BadKeyId))?;
                        if found != key_id {
                            return Err(bad(
                                line,
                                RegistryProblem::OtherKey {
                                    found,
                                    expected: key_id,
                                },
                            ));
                        }
                        &mut have_key
                    }
                    "length" => {
                        let found: usize = value
                            .parse()
                            .map_err(|_| bad(line, RegistryProblem::BadLength))?;
                        if found != len {
                            return Err(bad(
                                line,
                                RegistryProblem::OtherLength {
                                    found,
                                    expected: len,
                                },
                            ));
                        }
                        &mut have_len
                    }
                    _ => return Err(bad(line, RegistryProblem::UnknownField)),
                };
                if std::mem::replace(seen, true) {
                    return Err(bad(line, RegistryProblem::DuplicateField));
                }
                continue;
            }
            // A code line: only under a known key and length.
            for (have, field) in [(have_key, "key-id"), (have_len, "length")] {
                if !have {
                    return Err(bad(line, RegistryProblem::MissingField { field }));
                }
            }
            let mut words = text.split_ascii_whitespace();
            let (Some(code), Some(fingerprint), None) = (words.next(), words.next(), words.next())
            else {
                return Err(bad(line, RegistryProblem::BadEntry));
            };
            let (parsed, value) = ShortCode::parse_value(code)
                .ok()
                .filter(|(c, _)| c.as_str() == code && c.as_str().len() == len + 1)
                .ok_or(bad(line, RegistryProblem::BadCode))?;
            let fingerprint =
                parse_fingerprint(fingerprint).ok_or(bad(line, RegistryProblem::BadFingerprint))?;
            match registry.seen.entry(slot(value, parsed.0.len())) {
                Entry::Vacant(v) => {
                    v.insert((fingerprint, EARLIER_RUN));
                }
                Entry::Occupied(_) => return Err(bad(line, RegistryProblem::DuplicateCode)),
            }
        }
        for (have, field) in [(have_key, "key-id"), (have_len, "length")] {
            if !have {
                return Err(bad(line, RegistryProblem::MissingField { field }));
            }
        }
        Ok(registry)
    }

    /// Writes the registry file: header, comment, `key-id` (of the code key, see
    /// [`super::ShortCoder::key_id`]), `length`, then every code of `len` data
    /// characters with its fingerprint, sorted by code.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn write_to(&self, mut out: impl Write, key_id: KeyId, len: usize) -> io::Result<()> {
        writeln!(out, "{REGISTRY_HEADER}\n{COMMENT}")?;
        writeln!(out, "key-id: {key_id}\nlength: {len}")?;
        let chars = len + 1;
        // Values have at most 120 bits; the bits above hold the length.
        let mask = (1u128 << 120) - 1;
        let mut codes: Vec<(u128, u128)> = self
            .seen
            .iter()
            .filter(|(slot_key, _)| (*slot_key >> 122) as usize == chars)
            .map(|(slot_key, (fingerprint, _))| (slot_key & mask, *fingerprint))
            .collect();
        // Crockford symbols are in ASCII order, so value order is code order.
        codes.sort_unstable();
        for (value, fingerprint) in codes {
            let code = ShortCode::from_value(value, len);
            writeln!(out, "{code} {fingerprint:032x}")?;
        }
        out.flush()
    }
}

/// Exactly 32 lowercase hex digits.
fn parse_fingerprint(text: &str) -> Option<u128> {
    let ok = text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| u128::from_str_radix(text, 16).ok()).flatten()
}

/// What is wrong with a registry file line. Never contains the line's content.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryProblem {
    /// The first line is not `blindmatch-short-code-registry v<N>`.
    MissingHeader,
    /// The line is not valid UTF-8.
    NotUtf8,
    /// A `field: value` line other than `key-id` and `length`.
    UnknownField,
    /// A field given twice.
    DuplicateField,
    /// A field missing before the first code (or in the whole file).
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// The key ID is not 16 lowercase hex digits.
    BadKeyId,
    /// The registry was made under another code key.
    OtherKey {
        /// The key ID in the file.
        found: KeyId,
        /// This run's code key ID.
        expected: KeyId,
    },
    /// The length is not a number.
    BadLength,
    /// The registry holds codes of another length.
    OtherLength {
        /// The length in the file.
        found: usize,
        /// This run's length.
        expected: usize,
    },
    /// A line that is not `CODE FINGERPRINT`.
    BadEntry,
    /// The code is not a canonical code of the file's length (or its check
    /// character is wrong).
    BadCode,
    /// The fingerprint is not 32 lowercase hex digits.
    BadFingerprint,
    /// A code listed twice.
    DuplicateCode,
}

impl fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryProblem::MissingHeader => write!(
                f,
                "expected header `{REGISTRY_HEADER}`; not a blindmatch short-code registry"
            ),
            RegistryProblem::NotUtf8 => f.write_str("not valid UTF-8"),
            RegistryProblem::UnknownField => f.write_str("unknown field"),
            RegistryProblem::DuplicateField => f.write_str("field given twice"),
            RegistryProblem::MissingField { field } => {
                write!(f, "no `{field}:` line before the codes")
            }
            RegistryProblem::BadKeyId => f.write_str("key ID is not 16 lowercase hex digits"),
            RegistryProblem::OtherKey { found, expected } => write!(
                f,
                "the registry is for code key {found}, and this run's code key is {expected}; \
                 codes under different keys cannot be compared"
            ),
            RegistryProblem::BadLength => f.write_str("length is not a number"),
            RegistryProblem::OtherLength { found, expected } => write!(
                f,
                "the registry holds codes of {found} characters, and this run makes codes of {expected}"
            ),
            RegistryProblem::BadEntry => {
                f.write_str("expected `CODE FINGERPRINT`, a `#` comment or a blank line")
            }
            RegistryProblem::BadCode => f.write_str(
                "not a short code of the registry's length (or its check character is wrong)",
            ),
            RegistryProblem::BadFingerprint => {
                f.write_str("fingerprint is not 32 lowercase hex digits")
            }
            RegistryProblem::DuplicateCode => f.write_str("code listed twice"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{IdType, Key, ShortCoder};

    fn coder(len: usize) -> ShortCoder {
        ShortCoder::new(&Key::from_bytes([4; 32]), len).unwrap()
    }

    fn read(text: &str, coder: &ShortCoder) -> Result<ShortCodeRegistry, Error> {
        ShortCodeRegistry::read_from(text.as_bytes(), coder.key_id(), coder.len())
    }

    fn text_of(reg: &ShortCodeRegistry, coder: &ShortCoder) -> String {
        let mut out = Vec::new();
        reg.write_to(&mut out, coder.key_id(), coder.len()).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn problem_of(text: &str, coder: &ShortCoder) -> (u64, RegistryProblem) {
        match read(text, coder) {
            Err(Error::ShortCodeRegistryMalformed { line, problem }) => (line, problem),
            other => panic!("{other:?}"),
        }
    }

    /// A registry of the codes of `values`, with its file text.
    fn sample(coder: &ShortCoder, values: &[&str]) -> (ShortCodeRegistry, String) {
        let mut reg = ShortCodeRegistry::new();
        for (row, v) in values.iter().enumerate() {
            reg.insert(&coder.derive(IdType::Uscc, v.as_bytes()), row as u64 + 1)
                .unwrap();
        }
        let text = text_of(&reg, coder);
        (reg, text)
    }

    #[test]
    fn registry_tells_repeats_from_collisions() {
        let coder = ShortCoder::new(&Key::from_bytes([4; 32]), ShortCoder::MIN_LEN).unwrap();
        let mut reg = ShortCodeRegistry::new();
        let a = coder.derive(IdType::Uscc, b"A");
        assert!(reg.insert(&a, 1).unwrap());
        assert!(!reg.insert(&coder.derive(IdType::Uscc, b"A"), 2).unwrap());
        assert_eq!(reg.len(), 1);
        // Forge a collision: same code value, different HMAC remainder.
        let forged = DerivedCode {
            fingerprint: a.fingerprint ^ 1,
            ..a.clone()
        };
        match reg.insert(&forged, 7) {
            Err(Error::ShortCodeCollision {
                first_row: 1,
                row: 7,
                code,
            }) => {
                assert_eq!(code, a.code().as_str());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_file_round_trips_and_earlier_codes_collide_as_such() {
        let coder = coder(ShortCoder::MIN_LEN);
        let values = [
            "91350100M000100Y43",
            "110105194912310021",
            "alice@example.com",
            "13812345678",
        ];
        let (reg, text) = sample(&coder, &values);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(REGISTRY_HEADER));
        assert!(lines.next().unwrap().starts_with("# "));
        assert_eq!(lines.next().unwrap(), format!("key-id: {}", coder.key_id()));
        assert_eq!(lines.next(), Some("length: 8"));
        let codes: Vec<&str> = lines.map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(codes.len(), 4);
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
        // Nothing of the identifiers is in the file.
        for v in values {
            assert!(!text.contains(v), "{text}");
        }
        let mut back = read(&text, &coder).unwrap();
        assert_eq!(back.len(), reg.len());
        assert_eq!(text_of(&back, &coder), text);
        // CRLF is read too.
        assert_eq!(read(&text.replace('\n', "\r\n"), &coder).unwrap().len(), 4);
        // A repeat of an earlier identifier is no collision and adds nothing.
        let b = coder.derive(IdType::Uscc, values[1].as_bytes());
        assert!(!back.insert(&b, 1).unwrap());
        let e = coder.derive(IdType::Uscc, b"E");
        assert!(back.insert(&e, 2).unwrap());
        assert_eq!(back.len(), 5);
        // Another identifier with an earlier code is named as such, with its row.
        let forged = DerivedCode {
            fingerprint: b.fingerprint ^ 1,
            ..b.clone()
        };
        match back.insert(&forged, 9) {
            Err(err @ Error::ShortCodeCollisionEarlierRun { row: 9, .. }) => {
                let message = err.to_string();
                assert!(
                    message.contains("a code issued in an earlier run"),
                    "{message}"
                );
                assert!(message.contains("row 9"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // An empty registry has the header lines only.
        let empty = text_of(&ShortCodeRegistry::new(), &coder);
        assert_eq!(empty.lines().count(), 4);
        assert!(read(&empty, &coder).unwrap().is_empty());
    }

    #[test]
    fn another_key_or_length_is_refused_with_the_line() {
        let coder8 = coder(8);
        let (_, text) = sample(&coder8, &["A", "B"]);
        let other_key = ShortCoder::new(&Key::from_bytes([5; 32]), 8).unwrap();
        let (line, problem) = problem_of(&text, &other_key);
        assert_eq!(line, 3);
        assert_eq!(
            problem,
            RegistryProblem::OtherKey {
                found: coder8.key_id(),
                expected: other_key.key_id()
            }
        );
        let (line, problem) = problem_of(&text, &coder(10));
        assert_eq!(line, 4);
        assert_eq!(
            problem,
            RegistryProblem::OtherLength {
                found: 8,
                expected: 10
            }
        );
        // The code key is derived: a coder's key ID is not the key's.
        assert_ne!(coder8.key_id(), Key::from_bytes([4; 32]).id());
    }

    #[test]
    fn malformed_files_name_the_line_and_never_echo_it() {
        let coder = coder(8);
        let (_, good) = sample(&coder, &["A", "B"]);
        let first = good.lines().nth(4).unwrap().to_owned();
        let (code, fingerprint) = first.split_once(' ').unwrap();
        let cases: Vec<(String, u64, RegistryProblem)> = vec![
            ("hello\n".into(), 1, RegistryProblem::MissingHeader),
            (
                good.replace("length: 8", "length: eight"),
                4,
                RegistryProblem::BadLength,
            ),
            (
                good.replace("key-id: ", "key-id: x"),
                3,
                RegistryProblem::BadKeyId,
            ),
            (
                good.replace("length: 8", "length: 8\ncolour: blue"),
                5,
                RegistryProblem::UnknownField,
            ),
            (
                good.replace("length: 8", "length: 8\nlength: 8"),
                5,
                RegistryProblem::DuplicateField,
            ),
            (
                good.replace("length: 8\n", ""),
                4,
                RegistryProblem::MissingField { field: "length" },
            ),
            (good.replace(&first, code), 5, RegistryProblem::BadEntry),
            (
                good.replace(&first, &format!("{first} x")),
                5,
                RegistryProblem::BadEntry,
            ),
            (
                good.replace(&first, &format!("{} {fingerprint}", code.to_lowercase())),
                5,
                RegistryProblem::BadCode,
            ),
            (
                good.replace(&first, &format!("{}0 {fingerprint}", &code[..8])),
                5,
                RegistryProblem::BadCode,
            ),
            (
                good.replace(&first, &format!("{code} {}", &fingerprint[1..])),
                5,
                RegistryProblem::BadFingerprint,
            ),
            (
                format!("{good}{first}\n"),
                7,
                RegistryProblem::DuplicateCode,
            ),
        ];
        for (text, line, problem) in cases {
            assert_eq!(problem_of(&text, &coder), (line, problem), "{problem:?}");
            let message = read(&text, &coder).unwrap_err().to_string();
            assert!(!message.contains(fingerprint), "{message}");
        }
        assert!(matches!(
            read(&good.replace(" v1", " v2"), &coder),
            Err(Error::ShortCodeRegistryVersion { found: 2 })
        ));
        assert!(matches!(
            ShortCodeRegistry::read_from(
                &b"blindmatch-short-code-registry v1\n\xff\n"[..],
                coder.key_id(),
                8
            ),
            Err(Error::ShortCodeRegistryMalformed {
                line: 2,
                problem: RegistryProblem::NotUtf8
            })
        ));
        // A file without its key or length, even with no codes, is refused.
        assert_eq!(
            problem_of(&format!("{REGISTRY_HEADER}\nlength: 8\n"), &coder).1,
            RegistryProblem::MissingField { field: "key-id" }
        );
    }
}
