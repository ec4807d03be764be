//! The VOLE protocol's hash functions, all BLAKE3 in keyed or key-derivation mode
//! with versioned labels: an item's OKVS band and value, the OPRF output, and the
//! base-OT keys. The session context goes into every key, so nothing is comparable
//! across sessions.

use super::okvs::{Band, Row};
use super::params::{BAND_WIDTH, BAND_WORDS, VALUE_BYTES, VALUE_WORDS};

/// Key-derivation label of the item hash (band and value).
pub const ITEM_LABEL: &str = "blindmatch/v1/psi/vole/item";
/// Key-derivation label of the OPRF output hash.
pub const OUTPUT_LABEL: &str = "blindmatch/v1/psi/vole/output";
/// Key-derivation label of the base-OT key hash.
pub const BASE_OT_LABEL: &str = "blindmatch/v1/psi/vole/base-ot";
/// Bytes the item hash extends to: value, band start, band bits.
const ITEM_DIGEST_LEN: usize = VALUE_BYTES + 8 + BAND_WIDTH / 8;

/// Hashes `(type, value)` items to their OKVS band and value for one session and
/// one OKVS seed.
#[derive(Clone)]
pub(crate) struct ItemHasher {
    key: [u8; 32],
    /// Band starts lie in `0..=m - BAND_WIDTH`.
    starts: u64,
}

impl ItemHasher {
    /// A hasher for an encoding of `m` columns (at least [`BAND_WIDTH`]).
    pub(crate) fn new(context: &[u8; 32], okvs_seed: &[u8; 16], m: usize) -> Self {
        let mut material = [0u8; 48];
        material[..32].copy_from_slice(context);
        material[32..].copy_from_slice(okvs_seed);
        ItemHasher {
            key: blake3::derive_key(ITEM_LABEL, &material),
            starts: (m.saturating_sub(BAND_WIDTH) as u64).saturating_add(1),
        }
    }

    /// The band and value of one item: BLAKE3 keyed with the session key over
    /// `len(type) ‖ type ‖ value`, extended to 64 value bytes, 8 start bytes
    /// (little-endian, reduced mod the start range) and 32 band bytes.
    pub(crate) fn hash(&self, id_type: &str, value: &[u8]) -> (Band, Row) {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        // Type labels are at most 64 bytes (checked when the set is built).
        h.update(&[id_type.len() as u8]);
        h.update(id_type.as_bytes());
        h.update(value);
        let mut out = [0u8; ITEM_DIGEST_LEN];
        h.finalize_xof().fill(&mut out);
        let mut row = [0u64; VALUE_WORDS];
        for (w, c) in row.iter_mut().zip(out.chunks_exact(8)) {
            *w = le_word(c);
        }
        let start = le_word(&out[VALUE_BYTES..VALUE_BYTES + 8]) % self.starts;
        let mut bits = [0u64; BAND_WORDS];
        for (w, c) in bits.iter_mut().zip(out[VALUE_BYTES + 8..].chunks_exact(8)) {
            *w = le_word(c);
        }
        // `start < starts <= m`, so it fits in usize.
        (
            Band {
                start: start as usize,
                bits,
            },
            row,
        )
    }
}

fn le_word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c.get(..8).unwrap_or(&[0u8; 8]));
    u64::from_le_bytes(w)
}

/// Bytes of a row in the wire and hash order: words little-endian, in order.
pub(crate) fn row_bytes(row: &Row) -> [u8; VALUE_BYTES] {
    let mut out = [0u8; VALUE_BYTES];
    for (c, w) in out.chunks_exact_mut(8).zip(row) {
        c.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// The row of `VALUE_BYTES` bytes in [`row_bytes`] order.
pub(crate) fn row_from_bytes(bytes: &[u8]) -> Row {
    let mut row = [0u64; VALUE_WORDS];
    for (w, c) in row.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = le_word(c);
    }
    row
}

/// The OPRF's final hash: 32 bytes from the OKVS-decoded correlation row.
#[derive(Clone)]
pub(crate) struct OutputHasher {
    key: [u8; 32],
}

impl OutputHasher {
    pub(crate) fn new(context: &[u8; 32]) -> Self {
        OutputHasher {
            key: blake3::derive_key(OUTPUT_LABEL, context),
        }
    }

    pub(crate) fn hash(&self, row: &Row) -> [u8; 32] {
        *blake3::keyed_hash(&self.key, &row_bytes(row)).as_bytes()
    }
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
        let h = ItemHasher::new(&[1; 32], &[2; 16], m);
        let a = h.hash("phone", b"123");
        assert!(a == h.hash("phone", b"123"));
        assert!(a != h.hash("email", b"123"));
        assert!(a != ItemHasher::new(&[1; 32], &[3; 16], m).hash("phone", b"123"));
        assert!(a != ItemHasher::new(&[9; 32], &[2; 16], m).hash("phone", b"123"));
        // "ab" ‖ "c" and "a" ‖ "bc" differ thanks to the length prefix.
        assert!(h.hash("ab", b"c") != h.hash("a", b"bc"));
        for v in 0..200u32 {
            assert!(h.hash("t", &v.to_be_bytes()).0.start + BAND_WIDTH <= m);
        }
    }

    #[test]
    fn rows_round_trip_through_bytes() {
        let row: Row = core::array::from_fn(|i| (i as u64 + 1) * 0x0102_0304_0506_0708);
        assert_eq!(row_from_bytes(&row_bytes(&row)), row);
    }
}
