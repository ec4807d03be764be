//! The hash functions of the OT/OKVS building blocks, all BLAKE3 in keyed or
//! key-derivation mode with versioned labels: an item's OKVS band, the base-OT keys,
//! and a 512-bit item hash (value and band key). The session context goes into
//! every key, so nothing is comparable across sessions. The labels keep the `vole`
//! names they had under the removed IKNP protocol: `vole-rr22-silent` derives its
//! bands and base-OT keys with them, so they are part of its wire format. No
//! protocol uses the 512-bit item hash at present (`vole-rr22-silent` hashes items
//! to `GF(2^128)` in [`crate::rr22`]); it stays for the protocols being written.

use super::okvs::{Band, Row};
use super::params::{BAND_WIDTH, BAND_WORDS, VALUE_BYTES, VALUE_WORDS};

/// Key-derivation label of the item hash (value and band key).
pub const ITEM_LABEL: &str = "blindmatch/v1/psi/vole/item";
/// Key-derivation label of the band hash (keyed by context and OKVS seed).
pub const BAND_LABEL: &str = "blindmatch/v1/psi/vole/band";
/// Key-derivation label of the base-OT key hash.
pub const BASE_OT_LABEL: &str = "blindmatch/v1/psi/vole/base-ot";
/// Bytes the item hash extends to: the value, then the band key.
#[allow(dead_code, reason = "512-bit item hash, kept for new protocols")]
const ITEM_DIGEST_LEN: usize = VALUE_BYTES + 16;
/// Bytes the band hash extends to: the start, then the band bits.
const BAND_DIGEST_LEN: usize = 8 + BAND_WIDTH / 8;

/// An item's OKVS value and the key its band is derived from.
#[allow(dead_code, reason = "512-bit item hash, kept for new protocols")]
#[derive(Clone, Copy)]
pub(crate) struct ItemHash {
    pub(crate) value: Row,
    pub(crate) band_key: [u8; 16],
}

/// Hashes `(type, value)` items for one session.
#[allow(dead_code, reason = "512-bit item hash, kept for new protocols")]
#[derive(Clone)]
pub(crate) struct ItemHasher {
    key: [u8; 32],
}

#[allow(dead_code, reason = "512-bit item hash, kept for new protocols")]
impl ItemHasher {
    pub(crate) fn new(context: &[u8; 32]) -> Self {
        ItemHasher {
            key: blake3::derive_key(ITEM_LABEL, context),
        }
    }

    /// BLAKE3 keyed with the session key over `len(type) ‖ type ‖ value`, extended
    /// to the 64-byte value and a 16-byte band key.
    pub(crate) fn hash(&self, id_type: &str, value: &[u8]) -> ItemHash {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        // Type labels are at most 64 bytes (checked when the set is built).
        h.update(&[id_type.len() as u8]);
        h.update(id_type.as_bytes());
        h.update(value);
        let mut out = [0u8; ITEM_DIGEST_LEN];
        h.finalize_xof().fill(&mut out);
        let mut band_key = [0u8; 16];
        band_key.copy_from_slice(&out[VALUE_BYTES..]);
        ItemHash {
            value: row_from_bytes(&out[..VALUE_BYTES]),
            band_key,
        }
    }
}

/// Derives bands from band keys for one OKVS seed (the receiver retries seeds
/// without hashing its items again).
#[derive(Clone)]
pub(crate) struct BandHasher {
    key: [u8; 32],
    /// Band starts lie in `0..=m - BAND_WIDTH`.
    starts: u64,
}

impl BandHasher {
    /// For an encoding of `m` columns (at least [`BAND_WIDTH`]).
    pub(crate) fn new(context: &[u8; 32], okvs_seed: &[u8; 16], m: usize) -> Self {
        let mut material = [0u8; 48];
        material[..32].copy_from_slice(context);
        material[32..].copy_from_slice(okvs_seed);
        BandHasher {
            key: blake3::derive_key(BAND_LABEL, &material),
            starts: (m.saturating_sub(BAND_WIDTH) as u64).saturating_add(1),
        }
    }

    /// BLAKE3 keyed with the seed's key over the band key, extended to 8 start
    /// bytes (little-endian, reduced mod the start range) and the band bits.
    pub(crate) fn band(&self, band_key: &[u8; 16]) -> Band {
        let mut out = [0u8; BAND_DIGEST_LEN];
        blake3::Hasher::new_keyed(&self.key)
            .update(band_key)
            .finalize_xof()
            .fill(&mut out);
        let start = le_word(&out[..8]) % self.starts;
        let mut bits = [0u64; BAND_WORDS];
        for (w, c) in bits.iter_mut().zip(out[8..].chunks_exact(8)) {
            *w = le_word(c);
        }
        // `start < starts <= m`, so it fits in usize.
        Band {
            start: start as usize,
            bits,
        }
    }
}

fn le_word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c.get(..8).unwrap_or(&[0u8; 8]));
    u64::from_le_bytes(w)
}

/// The row of `VALUE_BYTES` bytes: words little-endian, in order.
#[allow(dead_code, reason = "512-bit item hash, kept for new protocols")]
pub(crate) fn row_from_bytes(bytes: &[u8]) -> Row {
    let mut row = [0u64; VALUE_WORDS];
    for (w, c) in row.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = le_word(c);
    }
    row
}

/// A base-OT key: `BLAKE3-derive(BASE_OT_LABEL, context ‖ index ‖ A ‖ B ‖ shared)`.
pub(crate) fn base_ot_key(
    context: &[u8; 32],
    index: u32,
    a: &[u8; 32],
    b: &[u8; 32],
    shared: &[u8; 32],
) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(BASE_OT_LABEL);
    h.update(context);
    h.update(&index.to_be_bytes());
    h.update(a);
    h.update(b);
    h.update(shared);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_hashes_separate_types_seeds_and_contexts() {
        let m = 1024;
        let h = ItemHasher::new(&[1; 32]);
        let a = h.hash("phone", b"123");
        assert_eq!(a.value, h.hash("phone", b"123").value);
        assert_ne!(a.value, h.hash("email", b"123").value);
        assert_ne!(a.band_key, h.hash("email", b"123").band_key);
        assert_ne!(
            a.value,
            ItemHasher::new(&[9; 32]).hash("phone", b"123").value
        );
        // "ab" ‖ "c" and "a" ‖ "bc" differ thanks to the length prefix.
        assert_ne!(h.hash("ab", b"c").value, h.hash("a", b"bc").value);
        let bands = BandHasher::new(&[1; 32], &[2; 16], m);
        let band = bands.band(&a.band_key);
        assert!(band == bands.band(&a.band_key));
        assert!(band != BandHasher::new(&[1; 32], &[3; 16], m).band(&a.band_key));
        for v in 0..200u32 {
            let k = h.hash("t", &v.to_be_bytes()).band_key;
            assert!(bands.band(&k).start + BAND_WIDTH <= m);
        }
    }
}
