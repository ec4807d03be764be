//! 256-bit secret keys, their public key IDs and purposes; derivation and key files
//! live in the submodules.

mod derive;
mod file;

use std::fmt;
use std::str::FromStr;

use hmac::{KeyInit, Mac};
use rand::TryRng;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use derive::{MAX_LABEL_LEN, MIN_SHARED_SECRET_LEN};
pub use file::{Derivation, KeyFile, MAX_KEY_FILE_LEN, key_file_exposure};

use crate::Error;

pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Domain label of the key ID: `kid = HMAC-SHA256(key, label)[..8]`.
pub const KEY_ID_DOMAIN: &[u8] = b"blindmatch/v1/key-id";

/// Domain label of a key file's purpose check:
/// `check = HMAC-SHA256(key, label ‖ 0x00 ‖ purpose)[..8]`.
pub const PURPOSE_CHECK_DOMAIN: &[u8] = b"blindmatch/v1/key-file/purpose";

/// A 256-bit secret key.
///
/// Zeroised on drop; no `Debug`, no `Clone`, no `Serialize` (a test pins all three),
/// so a key cannot be printed, copied or written by accident. Containers that hold a
/// key (`KeyFile`, `Tokenizer`) write a `Debug` showing only the key ID. Compare keys
/// with [`ConstantTimeEq`].
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Key {
    bytes: [u8; Key::LEN],
}

impl Key {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's random number generator.
    ///
    /// # Errors
    /// [`Error::Rng`] if the operating system cannot provide randomness.
    pub fn generate() -> Result<Key, Error> {
        let mut key = Key {
            bytes: [0; Key::LEN],
        };
        rand::rngs::SysRng
            .try_fill_bytes(&mut key.bytes)
            .map_err(Error::Rng)?;
        Ok(key)
    }

    /// Wraps existing key bytes (e.g. a test vector). The caller should zeroise its copy.
    pub fn from_bytes(bytes: [u8; Key::LEN]) -> Key {
        Key { bytes }
    }

    /// Copies key bytes from a slice.
    ///
    /// # Errors
    /// [`Error::KeyLength`] unless the slice is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Key, Error> {
        let bytes: [u8; Key::LEN] = bytes.try_into().map_err(|_| Error::KeyLength {
            len: bytes.len(),
            expected: Key::LEN,
        })?;
        Ok(Key { bytes })
    }

    /// The key's public identifier: `HMAC-SHA256(key, "blindmatch/v1/key-id")`, first 8
    /// bytes. As a PRF output it reveals nothing about the key, yet tells keys apart.
    pub fn id(&self) -> KeyId {
        let mac = self
            .hmac()
            .chain_update(KEY_ID_DOMAIN)
            .finalize()
            .into_bytes();
        let mut id = [0u8; 8];
        id.copy_from_slice(&mac[..8]);
        KeyId(id)
    }

    /// The check a key file writes beside its `purpose:` line:
    /// `HMAC-SHA256(key, "blindmatch/v1/key-file/purpose" ‖ 0x00 ‖ purpose)`, first
    /// 8 bytes. It binds the purpose to the key without changing the key ID, and
    /// like the ID reveals nothing about the key.
    pub(crate) fn purpose_check(&self, purpose: KeyPurpose) -> [u8; 8] {
        let mac = self
            .hmac()
            .chain_update(PURPOSE_CHECK_DOMAIN)
            .chain_update([0u8])
            .chain_update(purpose.as_str().as_bytes())
            .finalize()
            .into_bytes();
        let mut check = [0u8; 8];
        check.copy_from_slice(&mac[..8]);
        check
    }

    /// An HMAC-SHA256 state keyed with this key.
    pub(crate) fn hmac(&self) -> HmacSha256 {
        // HMAC zero-pads keys shorter than the 64-byte block (RFC 2104), so keying
        // with the padded block is the same function and needs no fallible call.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..Key::LEN].copy_from_slice(&self.bytes);
        HmacSha256::new(&(*block).into())
    }

    pub(crate) fn expose(&self) -> &[u8; Key::LEN] {
        &self.bytes
    }
}

impl ConstantTimeEq for Key {
    fn ct_eq(&self, other: &Key) -> Choice {
        self.bytes.ct_eq(&other.bytes)
    }
}

/// A key's public identifier: 8 bytes, written as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// Length of the text form.
    pub const TEXT_LEN: usize = 16;

    /// The raw ID bytes.
    pub const fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// Writes the 16 hex digits into a fixed buffer (no allocation).
    pub fn to_hex_array(&self) -> [u8; 16] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 16];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        out
    }
}

impl ConstantTimeEq for KeyId {
    fn ct_eq(&self, other: &KeyId) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = Error;

    /// Parses exactly 16 lowercase hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok =
            s.len() == KeyId::TEXT_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(Error::InvalidKeyId);
        }
        let mut id = [0u8; 8];
        hex::decode_to_slice(s, &mut id).map_err(|_| Error::InvalidKeyId)?;
        Ok(KeyId(id))
    }
}

impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What a key is for. Every purpose has its own derivation label, so a key derived for
/// one purpose is unrelated to the key for another.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// A root key that other keys are derived from (and that may tokenise directly).
    Master,
    /// Keyed tokens (`bm1.…`).
    Token,
    /// Short customer codes.
    ShortCode,
}

impl KeyPurpose {
    /// Stable name: `master`, `token` or `short-code`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Master => "master",
            KeyPurpose::Token => "token",
            KeyPurpose::ShortCode => "short-code",
        }
    }

    /// The HKDF `info` label of this purpose, if keys can be derived for it.
    pub const fn derivation_label(self) -> Option<&'static [u8]> {
        match self {
            KeyPurpose::Master => None,
            KeyPurpose::Token => Some(b"blindmatch/v1/purpose/token"),
            KeyPurpose::ShortCode => Some(b"blindmatch/v1/purpose/short-code"),
        }
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyPurpose {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "master" => Ok(KeyPurpose::Master),
            "token" => Ok(KeyPurpose::Token),
            "short-code" => Ok(KeyPurpose::ShortCode),
            _ => Err(Error::UnknownKeyPurpose {
                given: crate::error::clip(s),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_id_is_the_truncated_hmac() {
        let key = Key::from_bytes([0x0b; 32]);
        let full = key
            .hmac()
            .chain_update(KEY_ID_DOMAIN)
            .finalize()
            .into_bytes();
        assert_eq!(key.id().to_string(), hex::encode(&full[..8]));
        assert_eq!(key.id().to_string().parse::<KeyId>().unwrap(), key.id());
        assert_eq!(
            std::str::from_utf8(&key.id().to_hex_array()).unwrap(),
            key.id().to_string()
        );
        assert_ne!(Key::from_bytes([0x0c; 32]).id(), key.id());
    }

    #[test]
    fn padded_block_keying_equals_slice_keying() {
        let key = Key::from_bytes(*b"0123456789abcdef0123456789abcdef");
        let a = key.hmac().chain_update(b"msg").finalize().into_bytes();
        let b = <HmacSha256 as KeyInit>::new_from_slice(key.expose())
            .unwrap()
            .chain_update(b"msg")
            .finalize()
            .into_bytes();
        assert_eq!(a, b);
    }

    /// `Key` implements none of `Debug`, `Clone`, `Serialize`: checked at compile time
    /// with the ambiguous-impl trick of `static_assertions::assert_not_impl_any!`. For
    /// each trait, `AmbiguousIfImpl<Invalid>` is implemented for every type that has
    /// the trait; were `Key` to gain it, `Key::some_item` would have two candidates
    /// and the inference of `_` would fail to compile.
    #[test]
    fn key_is_not_debug_clone_or_serialize() {
        macro_rules! assert_not_impl {
            ($ty:ty, $($tr:path),+ $(,)?) => {$({
                trait AmbiguousIfImpl<A> {
                    fn some_item() {}
                }
                impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
                #[allow(dead_code)]
                struct Invalid;
                impl<T: ?Sized + $tr> AmbiguousIfImpl<Invalid> for T {}
                let _ = <$ty as AmbiguousIfImpl<_>>::some_item;
            })+};
        }
        assert_not_impl!(Key, fmt::Debug, Clone, serde::Serialize);
        // The containers print the key ID and nothing of the key.
        let file = KeyFile::new(
            Key::from_bytes([0xAB; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let dbg = format!("{file:?}");
        assert!(!dbg.to_lowercase().contains("abab"), "{dbg}");
        assert!(!dbg.contains("171"), "{dbg}");
        assert!(dbg.contains(&file.key_id().to_string()), "{dbg}");
    }

    #[test]
    fn generated_keys_differ_and_compare_in_constant_time() {
        let a = Key::generate().unwrap();
        let b = Key::generate().unwrap();
        assert!(!bool::from(a.ct_eq(&b)));
        assert!(bool::from(a.ct_eq(&Key::from_slice(a.expose()).unwrap())));
        assert!(Key::from_slice(&[0; 31]).is_err());
    }

    #[test]
    fn key_id_parsing_is_strict() {
        for bad in [
            "",
            "0123456789ABCDEF",
            "0123456789abcde",
            "0123456789abcdefa",
            "g123456789abcdef",
        ] {
            assert!(bad.parse::<KeyId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn purposes_round_trip_with_distinct_labels() {
        let all = [KeyPurpose::Master, KeyPurpose::Token, KeyPurpose::ShortCode];
        for p in all {
            assert_eq!(p.as_str().parse::<KeyPurpose>().unwrap(), p);
        }
        assert_ne!(
            KeyPurpose::Token.derivation_label(),
            KeyPurpose::ShortCode.derivation_label()
        );
        assert!(KeyPurpose::Master.derivation_label().is_none());
        assert!("psi".parse::<KeyPurpose>().is_err());
    }
}
