//! The hash functions of the OT/OKVS building blocks, all BLAKE3 in keyed or
//! key-derivation mode with versioned labels: an item's OKVS band and the base-OT
//! keys. The session context goes into
//! every key, so nothing is comparable across sessions. The labels keep the `vole`
//! names they had under the removed IKNP protocol: `vole-rr22-silent` derives its
//! bands and base-OT keys with them, so they are part of its wire format. Items
//! are hashed by each protocol (`vole-rr22-silent`: to `GF(2^128)`, in
//! [`crate::rr22`]).

use super::okvs::Band;
use super::params::{BAND_WIDTH, BAND_WORDS};

/// Key-derivation label of the band hash (keyed by context and OKVS seed).
pub const BAND_LABEL: &str = "blindmatch/v1/psi/vole/band";
/// Key-derivation label of the base-OT key hash.
pub const BASE_OT_LABEL: &str = "blindmatch/v1/psi/vole/base-ot";
/// Bytes the band hash extends to: the start, then the band bits.
const BAND_DIGEST_LEN: usize = 8 + BAND_WIDTH / 8;

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
    fn bands_separate_seeds_and_stay_inside_the_table() {
        let m = 1024;
        let key = [7u8; 16];
        let bands = BandHasher::new(&[1; 32], &[2; 16], m);
        let band = bands.band(&key);
        assert!(band == bands.band(&key));
        assert!(band != BandHasher::new(&[1; 32], &[3; 16], m).band(&key));
        assert!(band != BandHasher::new(&[9; 32], &[2; 16], m).band(&key));
        for v in 0..200u32 {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&v.to_be_bytes());
            assert!(bands.band(&k).start + BAND_WIDTH <= m);
        }
    }
}
