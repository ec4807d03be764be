//! Short customer codes: human-typeable Crockford base32 with a mod-37 check symbol,
//! derived by a keyed HMAC from an official number. Collision detection, within a
//! run and across runs through a registry file, is in `short_code/registry.rs`.

mod registry;

use std::fmt;
use std::str::FromStr;

use crate::prf::{Prefix, PrefixedHmac};
use crate::{Error, IdType, Key, KeyId, KeyPurpose};

pub use registry::{REGISTRY_HEADER, RegistryProblem, ShortCodeRegistry};

/// Domain label of the short-code HMAC input (version 1).
pub const SHORT_CODE_DOMAIN: &[u8] = b"blindmatch/v1/short-code/";

/// `SHORT_CODE_DOMAIN ‖ type ‖ 0x00` per identifier type, checked against the MAC's
/// prefix limit when this crate compiles.
const SHORT_CODE_PREFIXES: [Prefix; IdType::ALL.len()] = Prefix::per_type(SHORT_CODE_DOMAIN);
/// Crockford base32 data symbols, in value order.
const SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Crockford check symbols: the data symbols plus `*~$=U` for values 32–36.
const CHECK_SYMBOLS: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";

/// Derives short codes under one key.
///
/// The HMAC key is not the given key itself but its HKDF derivation for
/// [`KeyPurpose::ShortCode`], so the same key file never keys two jobs.
pub struct ShortCoder {
    states: [PrefixedHmac; IdType::ALL.len()],
    len: usize,
    key_id: KeyId,
}

impl ShortCoder {
    /// Default number of data characters (60 bits), plus one check character.
    pub const DEFAULT_LEN: usize = 12;
    /// Fewest data characters allowed (40 bits).
    pub const MIN_LEN: usize = 8;
    /// Most data characters allowed (120 bits).
    pub const MAX_LEN: usize = 24;

    /// A coder producing `len` data characters (plus a check character).
    ///
    /// # Errors
    /// [`Error::ShortCodeLength`] outside 8..=24.
    pub fn new(key: &Key, len: usize) -> Result<ShortCoder, Error> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(Error::ShortCodeLength {
                given: len,
                min: Self::MIN_LEN,
                max: Self::MAX_LEN,
            });
        }
        let sub = key.derive(KeyPurpose::ShortCode, None)?;
        let states = SHORT_CODE_PREFIXES.map(|p| PrefixedHmac::new(sub.expose(), &p));
        Ok(ShortCoder {
            states,
            len,
            key_id: sub.id(),
        })
    }

    /// Number of data characters per code.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The ID of the code key (the derived `K_sc`, not the key given): codes, and
    /// registry files, are comparable only under one code key.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Always false: a coder never makes empty codes (for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The code and the full HMAC it was cut from (the registry's collision evidence).
    pub fn derive(&self, id_type: IdType, normalised: &[u8]) -> DerivedCode {
        let mac = self
            .states
            .get(id_type.index())
            .map_or([0; 32], |s| s.mac(normalised));
        let value = u128::from_be_bytes(mac[..16].try_into().unwrap_or([0; 16]));
        let bits = 5 * self.len as u32;
        let value = value >> (128 - bits);
        DerivedCode {
            code: ShortCode::from_value(value, self.len),
            value,
            fingerprint: u128::from_be_bytes(mac[16..].try_into().unwrap_or([0; 16])),
        }
    }

    /// Just the code.
    pub fn code(&self, id_type: IdType, normalised: &[u8]) -> ShortCode {
        self.derive(id_type, normalised).code
    }

    /// Birthday bound on the probability that any two of `population` distinct
    /// identifiers share a code of `len` data characters: `n(n-1)/2 / 32^len`
    /// (capped at 1).
    pub fn collision_probability(len: usize, population: u64) -> f64 {
        let n = population as f64;
        let space = 32f64.powi(len as i32);
        (n * (n - 1.0) / 2.0 / space).min(1.0)
    }
}

impl fmt::Debug for ShortCoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShortCoder")
            .field("len", &self.len)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A derived code with what the registry needs to tell a repeat from a collision.
#[derive(Debug, Clone)]
pub struct DerivedCode {
    code: ShortCode,
    value: u128,
    fingerprint: u128,
}

impl DerivedCode {
    /// The code.
    pub fn code(&self) -> &ShortCode {
        &self.code
    }

    /// Takes the code.
    pub fn into_code(self) -> ShortCode {
        self.code
    }
}

/// A short code: Crockford base32 data characters followed by one check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortCode(String);

impl ShortCode {
    fn from_value(value: u128, len: usize) -> ShortCode {
        let mut s = String::with_capacity(len + 1);
        for i in (0..len).rev() {
            let digit = (value >> (5 * i)) & 31;
            s.push(char::from(SYMBOLS[digit as usize]));
        }
        let check = (value % 37) as usize;
        s.push(char::from(CHECK_SYMBOLS[check]));
        ShortCode(s)
    }

    /// The canonical text (uppercase, no separators).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses a typed code leniently as Crockford prescribes: case-insensitive,
    /// hyphens and spaces ignored, `I`/`L` read as `1` and `O` as `0`; then verifies
    /// the check character.
    ///
    /// # Errors
    /// [`Error::InvalidShortCode`] for a bad character, length or check character.
    pub fn parse(s: &str) -> Result<ShortCode, Error> {
        ShortCode::parse_value(s).map(|(code, _)| code)
    }

    /// As [`ShortCode::parse`], with the code's value (its data symbols as a number).
    fn parse_value(s: &str) -> Result<(ShortCode, u128), Error> {
        let bad = |problem| Error::InvalidShortCode { problem };
        let mut symbols: Vec<u8> = Vec::with_capacity(s.len());
        for c in s.chars() {
            if c == '-' || c == ' ' {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !c.is_ascii() {
                return Err(bad("character outside Crockford base32"));
            }
            symbols.push(c as u8);
        }
        let Some((&check, data)) = symbols.split_last() else {
            return Err(bad("empty"));
        };
        if !(ShortCoder::MIN_LEN..=ShortCoder::MAX_LEN).contains(&data.len()) {
            return Err(bad("wrong length"));
        }
        let mut value: u128 = 0;
        for &c in data {
            let v = SYMBOLS
                .iter()
                .position(|&x| x == c)
                .ok_or(bad("character outside Crockford base32"))?;
            value = (value << 5) | v as u128;
        }
        if CHECK_SYMBOLS.get((value % 37) as usize) != Some(&check) {
            return Err(bad("check character does not match"));
        }
        Ok((ShortCode::from_value(value, data.len()), value))
    }
}

impl fmt::Display for ShortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ShortCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ShortCode::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn codes_are_deterministic_checked_and_parse_back() {
        let coder = ShortCoder::new(&Key::from_bytes([4; 32]), ShortCoder::DEFAULT_LEN).unwrap();
        let a = coder.code(IdType::Uscc, b"91350100M000100Y43");
        assert_eq!(a, coder.code(IdType::Uscc, b"91350100M000100Y43"));
        assert_ne!(a, coder.code(IdType::CnId, b"91350100M000100Y43"));
        assert_eq!(a.as_str().len(), 13);
        assert_eq!(ShortCode::parse(a.as_str()).unwrap(), a);
        let typed = format!("{}-{}", &a.as_str()[..6], &a.as_str()[6..]).to_lowercase();
        assert_eq!(ShortCode::parse(&typed).unwrap(), a);
    }

    #[test]
    fn check_symbol_catches_typos() {
        let coder = ShortCoder::new(&Key::from_bytes([4; 32]), 10).unwrap();
        let code = coder.code(IdType::Uscc, b"x").to_string();
        let bytes = code.as_bytes();
        // Every single-character substitution in the data part is detected.
        for i in 0..10 {
            for &s in SYMBOLS {
                if s == bytes[i] {
                    continue;
                }
                let mut typo = bytes.to_vec();
                typo[i] = s;
                let typo = String::from_utf8(typo).unwrap();
                assert!(ShortCode::parse(&typo).is_err(), "{typo}");
            }
        }
        // Adjacent transpositions too (37 is prime and larger than the alphabet).
        for i in 0..9 {
            if bytes[i] != bytes[i + 1] {
                let mut typo = bytes.to_vec();
                typo.swap(i, i + 1);
                assert!(ShortCode::parse(&String::from_utf8(typo).unwrap()).is_err());
            }
        }
    }

    #[test]
    fn crockford_reference_values() {
        // Crockford's spec: value 32 has check symbol `*`, 36 is `U`, 0 is `0`.
        assert_eq!(ShortCode::from_value(0, 8).as_str(), "000000000");
        assert_eq!(ShortCode::from_value(32, 8).as_str(), "00000010*");
        assert_eq!(ShortCode::from_value(36, 8).as_str(), "00000014U");
        // Typed leniently: hyphens, lowercase, O for 0 and I for 1; 33 checks as `~`.
        assert_eq!(
            ShortCode::parse("0000-0o1I-~").unwrap().as_str(),
            "00000011~"
        );
        assert!(ShortCode::parse("0000-0o1I-*").is_err());
    }

    #[test]
    fn length_bounds_and_bad_codes() {
        let k = Key::from_bytes([4; 32]);
        assert!(ShortCoder::new(&k, 7).is_err());
        assert!(ShortCoder::new(&k, 25).is_err());
        assert!(ShortCoder::new(&k, 24).is_ok());
        for bad in ["", "U", "0000000U0", "00000000!", "0000000", "ÄÄÄÄÄÄÄÄ0"] {
            assert!(ShortCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn birthday_bound() {
        assert!(ShortCoder::collision_probability(8, 1 << 21) > 0.5);
        assert!(ShortCoder::collision_probability(12, 10_000_000) < 1e-4);
        assert_eq!(ShortCoder::collision_probability(8, 1), 0.0);
    }
}
