//! HKDF-SHA256 derivation of per-partner / per-purpose keys and of shared keys.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Key, KeyPurpose};
use crate::Error;

/// HKDF salt for keys derived from one's own master key.
const MASTER_SALT: &[u8] = b"blindmatch/v1/hkdf/master";
/// HKDF salt for keys two partners derive from a shared secret.
const SHARED_SALT: &[u8] = b"blindmatch/v1/hkdf/shared";
/// Shortest shared secret accepted, in bytes (it must be random, not a password).
pub const MIN_SHARED_SECRET_LEN: usize = 16;
/// Longest partner name or collaboration ID, in characters.
pub const MAX_LABEL_LEN: usize = 128;

impl Key {
    /// Derives the key for `purpose` and, optionally, one partner from this master key.
    ///
    /// `HKDF-SHA256(salt = "blindmatch/v1/hkdf/master", ikm = master,
    /// info = purpose label ‖ 0x00 ‖ partner)`; without a partner the name is empty.
    /// Different partners or purposes give unrelated keys, so tokens given to two
    /// partners cannot be joined.
    ///
    /// # Errors
    /// [`Error::NotDerivable`] for [`KeyPurpose::Master`]; [`Error::InvalidLabel`] for
    /// a partner name that is empty, too long or outside `A-Z a-z 0-9 . _ - : @ /`.
    pub fn derive(&self, purpose: KeyPurpose, partner: Option<&str>) -> Result<Key, Error> {
        if let Some(p) = partner {
            check_label("partner", p)?;
        }
        expand(MASTER_SALT, self.expose(), purpose, partner.unwrap_or(""))
    }

    /// Derives the key two partners share: both hold `secret` (e.g. a key file one of
    /// them generated and passed on securely) and agree a collaboration ID.
    ///
    /// `HKDF-SHA256(salt = "blindmatch/v1/hkdf/shared", ikm = secret,
    /// info = purpose label ‖ 0x00 ‖ collaboration ID)`.
    ///
    /// # Errors
    /// As [`Key::derive`], for the collaboration ID.
    pub fn derive_shared(
        secret: &Key,
        collaboration_id: &str,
        purpose: KeyPurpose,
    ) -> Result<Key, Error> {
        Key::derive_shared_from_bytes(secret.expose(), collaboration_id, purpose)
    }

    /// As [`Key::derive_shared`] for a secret given as bytes.
    ///
    /// # Errors
    /// [`Error::SharedSecretTooShort`] below 16 bytes; otherwise as [`Key::derive_shared`].
    pub fn derive_shared_from_bytes(
        secret: &[u8],
        collaboration_id: &str,
        purpose: KeyPurpose,
    ) -> Result<Key, Error> {
        if secret.len() < MIN_SHARED_SECRET_LEN {
            return Err(Error::SharedSecretTooShort {
                len: secret.len(),
                min: MIN_SHARED_SECRET_LEN,
            });
        }
        check_label("collaboration ID", collaboration_id)?;
        expand(SHARED_SALT, secret, purpose, collaboration_id)
    }
}

fn expand(salt: &[u8], ikm: &[u8], purpose: KeyPurpose, context: &str) -> Result<Key, Error> {
    let label = purpose
        .derivation_label()
        .ok_or(Error::NotDerivable { purpose })?;
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut okm = Zeroizing::new([0u8; Key::LEN]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail;
    // map the impossible error rather than panic.
    hk.expand_multi_info(&[label, &[0u8], context.as_bytes()], okm.as_mut())
        .map_err(|_| Error::KeyLength {
            len: Key::LEN,
            expected: Key::LEN,
        })?;
    Ok(Key::from_bytes(*okm))
}

pub(crate) fn check_label(what: &'static str, s: &str) -> Result<(), Error> {
    let len = s.chars().count();
    let ok = (1..=MAX_LABEL_LEN).contains(&len)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:@/".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidLabel {
            what,
            len,
            max: MAX_LABEL_LEN,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use subtle::ConstantTimeEq;

    use super::*;

    fn eq(a: &Key, b: &Key) -> bool {
        bool::from(a.ct_eq(b))
    }

    #[test]
    fn derivation_is_deterministic_and_separated() {
        let master = Key::from_bytes([7; 32]);
        let a1 = master.derive(KeyPurpose::Token, Some("acme")).unwrap();
        let a2 = master.derive(KeyPurpose::Token, Some("acme")).unwrap();
        let b = master.derive(KeyPurpose::Token, Some("globex")).unwrap();
        let s = master.derive(KeyPurpose::ShortCode, Some("acme")).unwrap();
        let none = master.derive(KeyPurpose::Token, None).unwrap();
        assert!(eq(&a1, &a2));
        assert!(!eq(&a1, &b));
        assert!(!eq(&a1, &s), "one key must never serve two purposes");
        assert!(!eq(&a1, &none));
        assert!(!eq(&a1, &master));
        assert!(matches!(
            master.derive(KeyPurpose::Master, None),
            Err(Error::NotDerivable { .. })
        ));
    }

    #[test]
    fn matches_independent_hkdf_computation() {
        // Recomputed with Python: hmac/hashlib HKDF (RFC 5869), see docs/token-format.md.
        let master = Key::from_bytes([7; 32]);
        let k = master.derive(KeyPurpose::Token, Some("acme")).unwrap();
        let prk = {
            use hmac::{KeyInit, Mac};
            super::super::HmacSha256::new_from_slice(MASTER_SALT)
                .unwrap()
                .chain_update([7u8; 32])
                .finalize()
                .into_bytes()
        };
        let okm = {
            use hmac::{KeyInit, Mac};
            super::super::HmacSha256::new_from_slice(&prk)
                .unwrap()
                .chain_update(b"blindmatch/v1/purpose/token\x00acme\x01")
                .finalize()
                .into_bytes()
        };
        assert_eq!(k.expose().as_slice(), okm.as_slice());
    }

    #[test]
    fn two_partners_with_a_shared_secret_agree() {
        let secret_a = Key::from_bytes([42; 32]);
        let secret_b = Key::from_bytes([42; 32]);
        let ka = Key::derive_shared(&secret_a, "acme-globex-2026q4", KeyPurpose::Token).unwrap();
        let kb = Key::derive_shared(&secret_b, "acme-globex-2026q4", KeyPurpose::Token).unwrap();
        let other = Key::derive_shared(&secret_a, "acme-globex-2027q1", KeyPurpose::Token).unwrap();
        assert!(eq(&ka, &kb));
        assert!(!eq(&ka, &other));
        // Shared derivation is separated from master derivation of the same bytes.
        assert!(!eq(
            &ka,
            &secret_a
                .derive(KeyPurpose::Token, Some("acme-globex-2026q4"))
                .unwrap()
        ));
        let from_bytes =
            Key::derive_shared_from_bytes(&[42; 32], "acme-globex-2026q4", KeyPurpose::Token)
                .unwrap();
        assert!(eq(&ka, &from_bytes));
    }

    #[test]
    fn bad_inputs() {
        let master = Key::from_bytes([1; 32]);
        for bad in ["", "has space", "ünïcode", &"x".repeat(129)] {
            assert!(matches!(
                master.derive(KeyPurpose::Token, Some(bad)),
                Err(Error::InvalidLabel { .. })
            ));
        }
        assert!(matches!(
            Key::derive_shared_from_bytes(b"short", "c", KeyPurpose::Token),
            Err(Error::SharedSecretTooShort { len: 5, min: 16 })
        ));
    }
}
