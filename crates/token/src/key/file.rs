//! The versioned key file format: the [`KeyFile`] type, its text form and the
//! parser with typed errors. How a key came to be is in `file/derivation.rs`,
//! reading and writing files (0600, never overwriting) in `file/disk.rs`.
//!
//! ```text
//! blindmatch-key v1
//! # blindmatch key file: keep it secret. Anyone holding it can compute your tokens.
//! key-id: 5f0c8a1b2c3d4e5f
//! created: 2026-11-22T13:45:00Z
//! algorithm: hmac-sha256
//! purpose: master
//! purpose-check: 0123456789abcdef
//! derivation: random
//! key: <43 characters of unpadded base64url>
//! ```

mod derivation;
mod disk;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

pub use derivation::Derivation;
pub use disk::{MAX_KEY_FILE_LEN, key_file_exposure};

use super::{Key, KeyId, KeyPurpose};
use crate::{Error, KeyFileProblem};

/// Header line of the current format version.
const HEADER: &str = "blindmatch-key v1";
const HEADER_PREFIX: &str = "blindmatch-key v";
/// The only algorithm of format version 1.
const ALGORITHM: &str = "hmac-sha256";

/// A key with the metadata of its key file.
pub struct KeyFile {
    key: Key,
    created: OffsetDateTime,
    purpose: KeyPurpose,
    derivation: Derivation,
}

impl KeyFile {
    /// Bundles a key with its metadata; `created` is kept to whole seconds in UTC.
    pub fn new(
        key: Key,
        purpose: KeyPurpose,
        derivation: Derivation,
        created: OffsetDateTime,
    ) -> KeyFile {
        let created = created.to_offset(time::UtcOffset::UTC);
        let created = created.replace_nanosecond(0).unwrap_or(created);
        KeyFile {
            key,
            created,
            purpose,
            derivation,
        }
    }

    /// A fresh random key for `purpose`, created now.
    ///
    /// # Errors
    /// [`Error::Rng`] if the system has no randomness.
    pub fn generate(purpose: KeyPurpose) -> Result<KeyFile, Error> {
        Ok(KeyFile::new(
            Key::generate()?,
            purpose,
            Derivation::Random,
            OffsetDateTime::now_utc(),
        ))
    }

    /// The secret key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Takes the key out, dropping (and so zeroising nothing else of) the metadata.
    pub fn into_key(self) -> Key {
        self.key
    }

    /// The key's ID.
    pub fn key_id(&self) -> KeyId {
        self.key.id()
    }

    /// The `purpose-check:` line's value, 16 lowercase hex digits: the first 8
    /// bytes of `HMAC-SHA256(key, "blindmatch/v1/key-file/purpose" ‖ 0x00 ‖
    /// purpose)`. Reading a key file recomputes it, so a `purpose:` line edited by
    /// hand is refused; the key ID does not depend on the purpose.
    pub fn purpose_check(&self) -> String {
        hex::encode(self.key.purpose_check(self.purpose))
    }

    /// The key that makes tokens with this key file; use it for every [`crate::Tokenizer`]
    /// built from a key file.
    ///
    /// A `token` key file's key is the token key itself. A `master` key is never used
    /// as an HMAC key directly, since it is also the input of every derivation: its
    /// token key is `derive(Token, None)`, the key `blindmatch key derive --purpose
    /// token` writes without a partner. So tokens (and their key ID) are the same
    /// whether the master or that derived key file is given.
    ///
    /// # Errors
    /// [`Error::NotATokenKey`] for a `short-code` (or any other non-token) key file.
    pub fn token_key(&self) -> Result<Key, Error> {
        match self.purpose {
            KeyPurpose::Token => Ok(Key::from_bytes(*self.key.expose())),
            KeyPurpose::Master => self.key.derive(KeyPurpose::Token, None),
            purpose => Err(Error::NotATokenKey { purpose }),
        }
    }

    /// When the key was created (UTC, whole seconds).
    pub fn created(&self) -> OffsetDateTime {
        self.created
    }

    /// What the key is for.
    pub fn purpose(&self) -> KeyPurpose {
        self.purpose
    }

    /// How the key was made.
    pub fn derivation(&self) -> &Derivation {
        &self.derivation
    }

    /// The file text. Contains the key: zeroised when dropped, never log it.
    pub fn to_text(&self) -> Zeroizing<String> {
        let created = self
            .created
            .format(&Rfc3339)
            .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"));
        let mut text = Zeroizing::new(String::with_capacity(512));
        text.push_str(HEADER);
        text.push('\n');
        text.push_str(
            "# blindmatch key file. Keep it secret: anyone holding it can compute your tokens.\n\
             # Do not edit; the key-id and purpose-check lines are checked against the key.\n",
        );
        text.push_str(&format!("key-id: {}\n", self.key_id()));
        text.push_str(&format!("created: {created}\n"));
        text.push_str(&format!("algorithm: {ALGORITHM}\n"));
        text.push_str(&format!("purpose: {}\n", self.purpose));
        text.push_str(&format!("purpose-check: {}\n", self.purpose_check()));
        text.push_str(&format!("derivation: {}\n", self.derivation));
        text.push_str("key: ");
        URL_SAFE_NO_PAD.encode_string(self.key.expose(), &mut text);
        text.push('\n');
        text
    }

    /// Parses key file text.
    ///
    /// # Errors
    /// [`Error::KeyFileMalformed`] with the 1-based line and what is wrong,
    /// [`Error::KeyFileVersion`] for another format version,
    /// [`Error::KeyFileMissingField`] if a field is absent. Messages never contain
    /// the file's content.
    pub fn parse(text: &str) -> Result<KeyFile, Error> {
        let bad = |line: usize, problem: KeyFileProblem| Error::KeyFileMalformed { line, problem };
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let header = lines.next().unwrap_or("").trim_end();
        if header != HEADER {
            let version = header
                .strip_prefix(HEADER_PREFIX)
                .and_then(|v| v.parse::<u32>().ok());
            return Err(match version {
                Some(found) => Error::KeyFileVersion { found },
                None => bad(1, KeyFileProblem::MissingHeader),
            });
        }
        let mut key_id: Option<(usize, KeyId)> = None;
        let mut created = None;
        let mut algorithm = false;
        let mut purpose: Option<(usize, KeyPurpose)> = None;
        let mut purpose_check: Option<[u8; 8]> = None;
        let mut derivation = None;
        let mut key: Option<Key> = None;
        for (i, raw) in lines.enumerate() {
            let line_no = i + 2;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (field, value) = line
                .split_once(':')
                .map(|(f, v)| (f.trim(), v.trim()))
                .ok_or(bad(line_no, KeyFileProblem::NotAField))?;
            let dup = bad(line_no, KeyFileProblem::DuplicateField);
            match field {
                "key-id" => {
                    let id = value
                        .parse()
                        .map_err(|_| bad(line_no, KeyFileProblem::BadKeyId))?;
                    if key_id.replace((line_no, id)).is_some() {
                        return Err(dup);
                    }
                }
                "created" => {
                    let t = OffsetDateTime::parse(value, &Rfc3339)
                        .map_err(|_| bad(line_no, KeyFileProblem::BadTimestamp))?;
                    if created.replace(t).is_some() {
                        return Err(dup);
                    }
                }
                "algorithm" => {
                    if value != ALGORITHM {
                        return Err(bad(line_no, KeyFileProblem::UnknownAlgorithm));
                    }
                    if std::mem::replace(&mut algorithm, true) {
                        return Err(dup);
                    }
                }
                "purpose" => {
                    let p: KeyPurpose = value
                        .parse()
                        .map_err(|_| bad(line_no, KeyFileProblem::UnknownPurpose))?;
                    if purpose.replace((line_no, p)).is_some() {
                        return Err(dup);
                    }
                }
                "purpose-check" => {
                    let check =
                        parse_check(value).ok_or(bad(line_no, KeyFileProblem::BadPurposeCheck))?;
                    if purpose_check.replace(check).is_some() {
                        return Err(dup);
                    }
                }
                "derivation" => {
                    let d = Derivation::parse(value)
                        .ok_or(bad(line_no, KeyFileProblem::BadDerivation))?;
                    if derivation.replace(d).is_some() {
                        return Err(dup);
                    }
                }
                "key" => {
                    let bytes = Zeroizing::new(
                        URL_SAFE_NO_PAD
                            .decode(value)
                            .map_err(|_| bad(line_no, KeyFileProblem::BadKeyEncoding))?,
                    );
                    let k = Key::from_slice(&bytes).map_err(|_| {
                        bad(line_no, KeyFileProblem::BadKeyLength { found: bytes.len() })
                    })?;
                    if key.replace(k).is_some() {
                        return Err(dup);
                    }
                }
                _ => return Err(bad(line_no, KeyFileProblem::UnknownField)),
            }
        }
        let missing = |field| Error::KeyFileMissingField { field };
        let key = key.ok_or(missing("key"))?;
        let (id_line, id) = key_id.ok_or(missing("key-id"))?;
        if !bool::from(id.ct_eq(&key.id())) {
            return Err(bad(id_line, KeyFileProblem::KeyIdMismatch));
        }
        if !algorithm {
            return Err(missing("algorithm"));
        }
        let (purpose_line, purpose) = purpose.ok_or(missing("purpose"))?;
        let check = purpose_check.ok_or(missing("purpose-check"))?;
        if !bool::from(check.ct_eq(&key.purpose_check(purpose))) {
            return Err(bad(purpose_line, KeyFileProblem::PurposeChanged));
        }
        Ok(KeyFile::new(
            key,
            purpose,
            derivation.ok_or(missing("derivation"))?,
            created.ok_or(missing("created"))?,
        ))
    }

    /// Parses key file bytes (which must be UTF-8).
    ///
    /// # Errors
    /// As [`KeyFile::parse`]; `NotUtf8` on line 1 for non-UTF-8 input.
    pub fn parse_bytes(bytes: &[u8]) -> Result<KeyFile, Error> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::KeyFileMalformed {
            line: 1,
            problem: KeyFileProblem::NotUtf8,
        })?;
        KeyFile::parse(text)
    }
}

/// Exactly 16 lowercase hex digits, as the key ID is written.
fn parse_check(value: &str) -> Option<[u8; 8]> {
    let ok = value.len() == 16
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mut check = [0u8; 8];
    (ok && hex::decode_to_slice(value, &mut check).is_ok()).then_some(check)
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("key_id", &self.key_id())
            .field("created", &self.created)
            .field("purpose", &self.purpose)
            .field("derivation", &self.derivation)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> KeyFile {
        KeyFile::new(
            Key::from_bytes([9; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
        )
    }

    fn err_of(text: &str) -> Error {
        KeyFile::parse(text).err().unwrap()
    }

    #[test]
    fn text_round_trips() {
        let kf = sample();
        let text = kf.to_text();
        let back = KeyFile::parse(&text).unwrap();
        assert!(bool::from(back.key().ct_eq(kf.key())));
        assert_eq!(back.created(), kf.created());
        assert_eq!(back.purpose(), KeyPurpose::Master);
        assert_eq!(back.derivation(), &Derivation::Random);
        assert!(text.starts_with("blindmatch-key v1\n"));
        // CRLF line endings from a Windows editor are accepted.
        let crlf = text.replace('\n', "\r\n");
        assert!(KeyFile::parse(&crlf).is_ok());
        let derived = KeyFile::new(
            Key::from_bytes([1; 32]),
            KeyPurpose::Token,
            Derivation::Master {
                master: kf.key_id(),
                partner: Some("acme".into()),
            },
            kf.created(),
        );
        let back = KeyFile::parse(&derived.to_text()).unwrap();
        assert_eq!(back.derivation(), derived.derivation());
        let shared = KeyFile::new(
            Key::from_bytes([2; 32]),
            KeyPurpose::Token,
            Derivation::Shared {
                collaboration_id: "acme-globex".into(),
            },
            kf.created(),
        );
        assert_eq!(
            KeyFile::parse(&shared.to_text()).unwrap().derivation(),
            shared.derivation()
        );
    }

    #[test]
    fn token_key_is_derived_from_a_master_and_never_the_master_itself() {
        let created = OffsetDateTime::UNIX_EPOCH;
        let file = |bytes: [u8; 32], purpose| {
            KeyFile::new(Key::from_bytes(bytes), purpose, Derivation::Random, created)
        };
        let master = file([7; 32], KeyPurpose::Master);
        let token_key = master.token_key().unwrap();
        let derived = master.key().derive(KeyPurpose::Token, None).unwrap();
        assert!(bool::from(token_key.ct_eq(&derived)));
        assert!(!bool::from(token_key.ct_eq(master.key())));
        // Published in docs/test-vectors/tokens.json (derivations, context "").
        assert_eq!(token_key.id().to_string(), "e0e8ac68165ee160");
        // The derived key written as a token key file makes the same tokens.
        let token_file = KeyFile::new(
            derived,
            KeyPurpose::Token,
            Derivation::Master {
                master: master.key_id(),
                partner: None,
            },
            created,
        );
        assert!(bool::from(
            token_file.token_key().unwrap().ct_eq(token_file.key())
        ));
        assert_eq!(token_file.token_key().unwrap().id(), token_key.id());
        assert!(matches!(
            file([7; 32], KeyPurpose::ShortCode).token_key(),
            Err(Error::NotATokenKey {
                purpose: KeyPurpose::ShortCode
            })
        ));
    }

    #[test]
    fn an_edited_purpose_line_is_refused_and_named() {
        let created = OffsetDateTime::UNIX_EPOCH;
        for (from, to) in [
            (KeyPurpose::Master, "token"),
            (KeyPurpose::Token, "short-code"),
            (KeyPurpose::ShortCode, "master"),
        ] {
            let file = KeyFile::new(Key::from_bytes([9; 32]), from, Derivation::Random, created);
            let text = file.to_text().to_string();
            let line = text
                .lines()
                .position(|l| l.starts_with("purpose:"))
                .unwrap()
                + 1;
            let edited = text.replace(&format!("purpose: {from}\n"), &format!("purpose: {to}\n"));
            assert_ne!(edited, text);
            let err = err_of(&edited);
            assert!(
                matches!(err, Error::KeyFileMalformed { line: l, problem: KeyFileProblem::PurposeChanged } if l == line),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(
                message.contains("the purpose line was changed"),
                "{message}"
            );
            assert!(!message.contains(&text[text.find("key: ").unwrap() + 5..][..10]));
            // The key ID does not depend on the purpose.
            assert_eq!(KeyFile::parse(&text).unwrap().key_id(), file.key_id());
        }
        let good = sample().to_text().to_string();
        let check = sample().purpose_check();
        let line = format!("purpose-check: {check}\n");
        assert!(matches!(
            err_of(&good.replace(&line, "")),
            Error::KeyFileMissingField {
                field: "purpose-check"
            }
        ));
        for bad in ["0123", "E685E566BCD5AE68", "zz85e566bcd5ae68"] {
            assert!(
                matches!(
                    err_of(&good.replace(&check, bad)),
                    Error::KeyFileMalformed {
                        problem: KeyFileProblem::BadPurposeCheck,
                        ..
                    }
                ),
                "{bad}"
            );
        }
        // Another key's check (a copied line) does not pass either.
        let other = KeyFile::new(
            Key::from_bytes([3; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            sample().created(),
        );
        assert!(matches!(
            err_of(&good.replace(&check, &other.purpose_check())),
            Error::KeyFileMalformed {
                problem: KeyFileProblem::PurposeChanged,
                ..
            }
        ));
    }

    #[test]
    fn the_documented_example_parses() {
        // The example in docs/token-format.md, key bytes 0..=31.
        let text = "blindmatch-key v1\n\
            # blindmatch key file. Keep it secret: anyone holding it can compute your tokens.\n\
            # Do not edit; the key-id and purpose-check lines are checked against the key.\n\
            key-id: 79111f87b575303e\n\
            created: 2026-11-22T13:45:00Z\n\
            algorithm: hmac-sha256\n\
            purpose: master\n\
            purpose-check: e685e566bcd5ae68\n\
            derivation: random\n\
            key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n";
        let kf = KeyFile::parse(text).unwrap();
        let want: Vec<u8> = (0..32).collect();
        assert!(bool::from(kf.key().ct_eq(&Key::from_slice(&want).unwrap())));
        assert_eq!(kf.key_id().to_string(), "79111f87b575303e");
        assert_eq!(*kf.to_text(), *text);
    }

    #[test]
    fn malformed_files_give_line_numbers_and_never_echo_content() {
        let good = sample().to_text().to_string();
        let key_line = good.lines().position(|l| l.starts_with("key:")).unwrap() + 1;
        let key_value = good.lines().nth(key_line - 1).unwrap()[5..].to_owned();

        assert!(matches!(
            err_of("hello\n"),
            Error::KeyFileMalformed {
                line: 1,
                problem: KeyFileProblem::MissingHeader
            }
        ));
        assert!(matches!(
            err_of(""),
            Error::KeyFileMalformed { line: 1, .. }
        ));
        assert!(matches!(
            err_of(&good.replace("blindmatch-key v1", "blindmatch-key v2")),
            Error::KeyFileVersion { found: 2 }
        ));
        let cases: Vec<(String, KeyFileProblem)> = vec![
            (
                good.replace("algorithm: hmac-sha256", "algorithm: md5"),
                KeyFileProblem::UnknownAlgorithm,
            ),
            (
                good.replace("purpose: master", "purpose: psi"),
                KeyFileProblem::UnknownPurpose,
            ),
            (
                good.replace("derivation: random", "derivation: magic"),
                KeyFileProblem::BadDerivation,
            ),
            (
                good.replace("created: ", "created: yesterday "),
                KeyFileProblem::BadTimestamp,
            ),
            (
                good.replace("purpose: master", "purpose: master\ncolour: blue"),
                KeyFileProblem::UnknownField,
            ),
            (
                good.replace("purpose: master", "purpose: master\npurpose: token"),
                KeyFileProblem::DuplicateField,
            ),
            (
                good.replace("purpose: master", "purpose master"),
                KeyFileProblem::NotAField,
            ),
            (
                good.replace(&key_value, &format!("{key_value}=")),
                KeyFileProblem::BadKeyEncoding,
            ),
            (
                good.replace(&key_value, &key_value[..40]),
                KeyFileProblem::BadKeyLength { found: 30 },
            ),
        ];
        for (text, problem) in cases {
            let err = err_of(&text);
            assert!(
                matches!(&err, Error::KeyFileMalformed { problem: p, .. } if *p == problem),
                "{problem:?}: {err:?}"
            );
            assert!(!err.to_string().contains(&key_value[..10]), "{err}");
        }
        // The key ID line must match the key.
        let other_id = Key::from_bytes([3; 32]).id().to_string();
        let kid = sample().key_id().to_string();
        let err = err_of(&good.replace(&kid, &other_id));
        assert!(
            matches!(
                err,
                Error::KeyFileMalformed {
                    line: 4,
                    problem: KeyFileProblem::KeyIdMismatch
                }
            ),
            "{err:?}"
        );
        let err = err_of(&good.replace(&format!("key: {key_value}\n"), ""));
        assert!(
            matches!(err, Error::KeyFileMissingField { field: "key" }),
            "{err:?}"
        );
        assert!(matches!(
            KeyFile::parse_bytes(b"\xff\xfe"),
            Err(Error::KeyFileMalformed {
                problem: KeyFileProblem::NotUtf8,
                ..
            })
        ));
    }
}
