//! Hashing identifiers to ristretto255: RFC 9380 `expand_message_xmd` with SHA-512 and
//! the RFC 9496 one-way map (`hash_to_ristretto255`, RFC 9380 appendix B), plus our
//! domain-separation tag, which binds the protocol version, the identifier type and
//! the session context.

use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use sha2::{Digest, Sha512};

use crate::PsiError;

/// Versioned prefix of every hash-to-group DST.
pub const H2G_DST_PREFIX: &[u8] = b"blindmatch/v1/psi/h2g:";

/// Longest identifier type label accepted (keeps the DST under RFC 9380's 255 bytes).
pub const MAX_TYPE_LEN: usize = 64;

/// SHA-512 block size (`s_in_bytes` in RFC 9380).
const BLOCK_LEN: usize = 128;
/// SHA-512 output size (`b_in_bytes`).
const HASH_LEN: usize = 64;
/// Longest `expand_message_xmd` output: `ell = ceil(len / 64) <= 255`.
const MAX_EXPAND_LEN: usize = 255 * HASH_LEN;

/// Checks an identifier type label: 1 to [`MAX_TYPE_LEN`] bytes of `[A-Za-z0-9._+-]`
/// (`+` joins the fields of a composite rule such as `name+company`).
///
/// # Errors
///
/// [`PsiError::InvalidIdentifierType`].
pub fn validate_identifier_type(id_type: &str) -> Result<(), PsiError> {
    if id_type.is_empty() {
        return Err(PsiError::InvalidIdentifierType { reason: "empty" });
    }
    if id_type.len() > MAX_TYPE_LEN {
        return Err(PsiError::InvalidIdentifierType {
            reason: "longer than 64 bytes",
        });
    }
    if !id_type
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
    {
        return Err(PsiError::InvalidIdentifierType {
            reason: "characters outside [A-Za-z0-9._+-]",
        });
    }
    Ok(())
}

/// The hash-to-group DST for one identifier type in one session:
/// `"blindmatch/v1/psi/h2g:" ‖ id_type ‖ ":" ‖ lowercase-hex(context)`
/// (at most 22 + 64 + 1 + 64 = 151 bytes).
///
/// # Errors
///
/// [`PsiError::InvalidIdentifierType`] for a bad label.
pub fn h2g_dst(id_type: &str, context: &[u8; 32]) -> Result<Vec<u8>, PsiError> {
    validate_identifier_type(id_type)?;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut dst = Vec::with_capacity(H2G_DST_PREFIX.len() + id_type.len() + 1 + 64);
    dst.extend_from_slice(H2G_DST_PREFIX);
    dst.extend_from_slice(id_type.as_bytes());
    dst.push(b':');
    for b in context {
        dst.push(HEX[usize::from(b >> 4)]);
        dst.push(HEX[usize::from(b & 0x0f)]);
    }
    Ok(dst)
}

/// RFC 9380 section 5.3.1 `expand_message_xmd` with SHA-512, filling `out`.
///
/// # Errors
///
/// [`PsiError::InvalidHashParameters`] if `dst` is empty or longer than 255 bytes
/// (the RFC's oversize-DST hashing is not implemented: our DSTs never need it), or
/// `out` is longer than 255 · 64 bytes.
pub fn expand_message_xmd_sha512(msg: &[u8], dst: &[u8], out: &mut [u8]) -> Result<(), PsiError> {
    let expander = Expander::new(dst)?;
    expander.expand(msg, out)
}

/// `hash_to_ristretto255(msg, dst)` of RFC 9380 appendix B: 64 bytes from
/// `expand_message_xmd` (SHA-512) through the RFC 9496 one-way map.
///
/// # Errors
///
/// [`PsiError::InvalidHashParameters`] for an empty or over-long `dst`.
pub fn hash_to_ristretto255(msg: &[u8], dst: &[u8]) -> Result<RistrettoPoint, PsiError> {
    Ok(Expander::new(dst)?.hash_to_group(msg))
}

/// Hashes one identifier value of type `id_type` for the session `context`, returning
/// the compressed point. This is the unblinded `H(x)` of the protocol; it is exposed
/// for test vectors and benchmarks, never sent.
///
/// # Errors
///
/// [`PsiError::InvalidIdentifierType`] for a bad label.
pub fn hash_identifier(
    id_type: &str,
    value: &[u8],
    context: &[u8; 32],
) -> Result<[u8; 32], PsiError> {
    Ok(IdentifierHasher::new(id_type, context)?
        .hash(value)
        .compress()
        .to_bytes())
}

/// Hashes values of one identifier type in one session: [`hash_identifier`] with the
/// DST-dependent work done once. This is what a [`crate::Party`] uses internally.
#[derive(Clone)]
pub struct IdentifierHasher {
    expander: Expander,
}

impl fmt::Debug for IdentifierHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentifierHasher").finish_non_exhaustive()
    }
}

impl IdentifierHasher {
    /// A hasher for `id_type` values in the session `context`.
    ///
    /// # Errors
    ///
    /// [`PsiError::InvalidIdentifierType`] for a bad label.
    pub fn new(id_type: &str, context: &[u8; 32]) -> Result<Self, PsiError> {
        Ok(IdentifierHasher {
            expander: Expander::new(&h2g_dst(id_type, context)?)?,
        })
    }

    /// `H(value)`: the unblinded group element (never sent).
    #[must_use]
    pub fn hash(&self, value: &[u8]) -> RistrettoPoint {
        self.expander.hash_to_group(value)
    }
}

/// `expand_message_xmd` with a fixed DST, precomputing what does not depend on the
/// message: the SHA-512 state after the all-zero first block `Z_pad`, and `DST_prime`.
#[derive(Clone)]
pub(crate) struct Expander {
    after_zpad: Sha512,
    dst_prime: Vec<u8>,
}

impl Expander {
    pub(crate) fn new(dst: &[u8]) -> Result<Self, PsiError> {
        if dst.is_empty() {
            return Err(PsiError::InvalidHashParameters {
                reason: "empty DST",
            });
        }
        let dst_len = u8::try_from(dst.len()).map_err(|_| PsiError::InvalidHashParameters {
            reason: "DST longer than 255 bytes",
        })?;
        let mut dst_prime = Vec::with_capacity(dst.len() + 1);
        dst_prime.extend_from_slice(dst);
        dst_prime.push(dst_len);
        let after_zpad = Sha512::new().chain_update([0u8; BLOCK_LEN]);
        Ok(Expander {
            after_zpad,
            dst_prime,
        })
    }

    pub(crate) fn expand(&self, msg: &[u8], out: &mut [u8]) -> Result<(), PsiError> {
        if out.len() > MAX_EXPAND_LEN {
            return Err(PsiError::InvalidHashParameters {
                reason: "output longer than 255 hash blocks",
            });
        }
        self.fill(msg, out);
        Ok(())
    }

    /// The expansion proper; `out.len() <= MAX_EXPAND_LEN` is the caller's duty.
    fn fill(&self, msg: &[u8], out: &mut [u8]) {
        debug_assert!(out.len() <= MAX_EXPAND_LEN);
        // Fits: MAX_EXPAND_LEN < 2^16.
        let len_in_bytes = out.len() as u16;
        // b_0 = H(Z_pad ‖ msg ‖ I2OSP(len_in_bytes, 2) ‖ I2OSP(0, 1) ‖ DST_prime)
        let mut h = self.after_zpad.clone();
        h.update(msg);
        h.update(len_in_bytes.to_be_bytes());
        h.update([0u8]);
        h.update(&self.dst_prime);
        let b0: [u8; HASH_LEN] = h.finalize().into();

        // b_1 = H(b_0 ‖ I2OSP(1, 1) ‖ DST_prime)
        // b_i = H(strxor(b_0, b_(i-1)) ‖ I2OSP(i, 1) ‖ DST_prime)
        let mut prev = [0u8; HASH_LEN];
        for (i, chunk) in out.chunks_mut(HASH_LEN).enumerate() {
            let mut input = b0;
            for (x, p) in input.iter_mut().zip(prev.iter()) {
                *x ^= p;
            }
            let mut h = Sha512::new();
            h.update(input);
            // ell <= 255, so i + 1 fits in a byte.
            h.update([(i + 1) as u8]);
            h.update(&self.dst_prime);
            prev = h.finalize().into();
            chunk.copy_from_slice(&prev[..chunk.len()]);
        }
    }

    /// `hash_to_ristretto255`: 64 uniform bytes, then the one-way map.
    pub(crate) fn hash_to_group(&self, msg: &[u8]) -> RistrettoPoint {
        let mut uniform = [0u8; 64];
        self.fill(msg, &mut uniform);
        RistrettoPoint::from_uniform_bytes(&uniform)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dst_layout_and_limits() {
        let ctx = [0xabu8; 32];
        let dst = h2g_dst("phone", &ctx).unwrap();
        let expected = format!("blindmatch/v1/psi/h2g:phone:{}", "ab".repeat(32));
        assert_eq!(dst, expected.as_bytes());
        let longest = h2g_dst(&"x".repeat(MAX_TYPE_LEN), &ctx).unwrap();
        assert!(longest.len() <= 255);
        assert!(h2g_dst("", &ctx).is_err());
        assert!(h2g_dst(&"x".repeat(MAX_TYPE_LEN + 1), &ctx).is_err());
        assert!(h2g_dst("pho:ne", &ctx).is_err());
        assert!(h2g_dst("电话", &ctx).is_err());
    }

    #[test]
    fn expand_rejects_bad_parameters() {
        let mut out = [0u8; 32];
        assert!(expand_message_xmd_sha512(b"", b"", &mut out).is_err());
        assert!(expand_message_xmd_sha512(b"", &[b'a'; 256], &mut out).is_err());
        let mut big = vec![0u8; 255 * 64 + 1];
        assert!(expand_message_xmd_sha512(b"", b"dst", &mut big).is_err());
        let mut max = vec![0u8; 255 * 64];
        assert!(expand_message_xmd_sha512(b"", b"dst", &mut max).is_ok());
    }

    #[test]
    fn types_and_contexts_separate_hashes() {
        let a = hash_identifier("phone", b"8613800000000", &[0; 32]).unwrap();
        let b = hash_identifier("email", b"8613800000000", &[0; 32]).unwrap();
        let c = hash_identifier("phone", b"8613800000000", &[1; 32]).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            a,
            hash_identifier("phone", b"8613800000000", &[0; 32]).unwrap()
        );
    }
}
