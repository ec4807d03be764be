//! The `vole-rr22-silent` hash functions, BLAKE3 in keyed mode with versioned labels
//! and the session context in every key: an item's OKVS value `h(x) ∈ GF(2^128)`
//! with its band key, and the OPRF output. Bands come from the shared
//! [`crate::vole::hash`] band hasher (keyed by context and OKVS seed).

/// Key-derivation label of the item hash (value and band key).
pub const ITEM_LABEL: &str = "blindmatch/v1/psi/vole-rr22/item";
/// Key-derivation label of the OPRF output hash.
pub const OUTPUT_LABEL: &str = "blindmatch/v1/psi/vole-rr22/output";

/// An item's OKVS value and the key its band is derived from.
#[derive(Clone, Copy, Default)]
pub(crate) struct ItemHash {
    pub(crate) value: u128,
    pub(crate) band_key: [u8; 16],
}

// Derived from our raw identifiers: wiped with the vectors that hold them.
impl zeroize::DefaultIsZeroes for ItemHash {}

/// Hashes `(type, value)` items for one session.
#[derive(Clone)]
pub(crate) struct ItemHasher {
    key: [u8; 32],
}

impl ItemHasher {
    pub(crate) fn new(context: &[u8; 32]) -> Self {
        ItemHasher {
            key: blake3::derive_key(ITEM_LABEL, context),
        }
    }

    /// BLAKE3 keyed with the session key over `len(type) ‖ type ‖ value`, extended
    /// to the 16-byte value (little-endian) and a 16-byte band key.
    pub(crate) fn hash(&self, id_type: &str, value: &[u8]) -> ItemHash {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        // Type labels are at most 64 bytes (checked when the set is built).
        h.update(&[id_type.len() as u8]);
        h.update(id_type.as_bytes());
        h.update(value);
        ItemHash::from_xof(&h)
    }
}

impl ItemHash {
    /// The first 32 bytes of `h`'s XOF: the value (16 bytes, little-endian), then
    /// the band key.
    pub(crate) fn from_xof(h: &blake3::Hasher) -> ItemHash {
        let mut out = [0u8; 32];
        h.finalize_xof().fill(&mut out);
        let (v, k) = out.split_at(16);
        let mut value = [0u8; 16];
        value.copy_from_slice(v);
        let mut band_key = [0u8; 16];
        band_key.copy_from_slice(k);
        ItemHash {
            value: u128::from_le_bytes(value),
            band_key,
        }
    }
}

/// The OPRF's final hash: 32 bytes from a decoded field element.
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

    pub(crate) fn hash(&self, x: u128) -> [u8; 32] {
        *blake3::keyed_hash(&self.key, &x.to_le_bytes()).as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_separate_types_contexts_and_protocols() {
        let h = ItemHasher::new(&[1; 32]);
        let a = h.hash("phone", b"123");
        assert_eq!(a.value, h.hash("phone", b"123").value);
        assert_ne!(a.value, h.hash("email", b"123").value);
        assert_ne!(a.band_key, h.hash("email", b"123").band_key);
        assert_ne!(
            a.value,
            ItemHasher::new(&[9; 32]).hash("phone", b"123").value
        );
        assert_ne!(h.hash("ab", b"c").value, h.hash("a", b"bc").value);
        let out = OutputHasher::new(&[1; 32]);
        assert_ne!(out.hash(1), out.hash(2));
        assert_ne!(out.hash(1), OutputHasher::new(&[2; 32]).hash(1));
    }
}
