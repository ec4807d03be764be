//! `vole-rr22-silent`'s fixed parameters and the sizes that follow from the declared
//! set sizes: OKVS columns (RB-OKVS, `w = 256`, `ε = 0.1`, see [`crate::vole::params`]),
//! the silent VOLE's shape, and how the messages are chunked.
//!
//! Every constant is named in the hello parameters ([`params_bytes`]), so two builds
//! with different choices refuse each other instead of computing garbage.

use std::ops::Range;

use crate::PsiError;
use crate::rr22::cardinality::GROUP_TAG_BYTES;
use crate::rr22::cardinality::bins;
use crate::silent::params::{
    CODE_SCALER, MIN_DIST_PER_MILLE, MIN_NOISE_WEIGHT, SECURITY_BITS, SilentParams,
};
use crate::vole::params::{BAND_WIDTH, OKVS_EXPANSION_PER_MILLE, STATISTICAL_BITS, chunk_rows};

pub use crate::vole::params::{MAX_OKVS_ATTEMPTS, okvs_columns};

/// Version of the parameter set below (and of the message layout). Version 2 adds
/// cardinality mode (its messages, the small-set bin table
/// [`SMALL_SET_BINS`](crate::rr22::cardinality::bins::SMALL_SET_BINS) and the
/// constants named in the block).
pub const RR22_PARAMS_VERSION: u8 = 2;

/// Bits of an OKVS value and of the VOLE's field.
pub const FIELD_BITS: u16 = 128;

/// GGM trees per `Trees` message.
pub const TREES_PER_MESSAGE: usize = 64;

/// Deepest tree any declared size can need (`d ≤ log2(2m / 256)` with
/// `m < 2^34`), bounding the `Trees` message.
pub const MAX_TREE_DEPTH: usize = 32;

/// The base-OT count: one per bit of `Δ`.
pub const BASE_OTS: usize = 128;

/// Largest receiver set the OPRF sender builds a silent VOLE for.
///
/// The sender sizes its VOLE from the receiver's *declared* count, and allocates it
/// (about [`sender_vole_bytes`] of it, ~64 bytes per item) once the receiver's
/// correlated-OT columns are in, well before anything binds the receiver to that
/// count; without a bound a peer could make us allocate for a set it does not have.
/// `2^26` items (~4.5 GiB of VOLE) is 25 times the bucket capacity of the
/// default 1 GiB `--memory-limit` (400 bytes per item), so only a peer with a
/// limit above 25 GiB meets it; [`crate::MAX_SET_SIZE`] would be ~270 GiB.
pub const MAX_RECEIVER_ITEMS: u64 = 1 << 26;

/// Bytes the OPRF sender's silent VOLE peaks at for `n` receiver items: the
/// length-`code_len` leaf vector (compressed in place) plus `B` and `K`.
#[must_use]
pub fn sender_vole_bytes(n: u64) -> u64 {
    let p = silent_params(n);
    16 * (p.code_len as u64 + 2 * p.outputs as u64)
}

/// Refuses a receiver's declared count above [`MAX_RECEIVER_ITEMS`].
///
/// # Errors
/// [`PsiError::SetTooLarge`] naming the declared count and the bound.
pub(crate) fn check_receiver_count(declared: u64) -> Result<(), PsiError> {
    if declared > MAX_RECEIVER_ITEMS {
        return Err(PsiError::SetTooLarge {
            count: declared,
            max: MAX_RECEIVER_ITEMS,
        });
    }
    Ok(())
}

/// The parameter block the hello carries, big-endian: version, statistical and
/// computational security, field bits, band width, OKVS expansion, code scaler,
/// code minimum distance (‰), expander weight, convolution window, least noise
/// weight; then cardinality mode's cuckoo hash functions, bins per item (‰),
/// fewest bins (`log2`) and group-tag bytes.
#[must_use]
pub fn params_bytes() -> Vec<u8> {
    let mut out = vec![RR22_PARAMS_VERSION, STATISTICAL_BITS];
    for v in [
        SECURITY_BITS as u16,
        FIELD_BITS,
        BAND_WIDTH as u16,
        OKVS_EXPANSION_PER_MILLE as u16,
        CODE_SCALER as u16,
        MIN_DIST_PER_MILLE as u16,
        crate::silent::code::EXPANDER_WEIGHT as u16,
        crate::silent::code::CONV_WINDOW as u16,
        MIN_NOISE_WEIGHT as u16,
        bins::CUCKOO_HASHES as u16,
        bins::BINS_PER_MILLE as u16,
        bins::MIN_LOG_BINS as u16,
        GROUP_TAG_BYTES as u16,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

/// The silent VOLE for an OPRF receiver holding `n` items: one output per OKVS
/// column.
#[must_use]
pub fn silent_params(n: u64) -> SilentParams {
    SilentParams::for_outputs(okvs_columns(n))
}

/// Number of chunks of `total` rows (a multiple of 128) at this batch size.
#[must_use]
pub fn row_chunks(total: usize, batch_size: u32) -> u32 {
    u32::try_from(total.div_ceil(chunk_rows(batch_size))).unwrap_or(u32::MAX)
}

/// Rows of chunk `chunk` of `total`.
#[must_use]
pub fn row_chunk(total: usize, batch_size: u32, chunk: u32) -> Range<usize> {
    let rows = chunk_rows(batch_size);
    let start = (chunk as usize).saturating_mul(rows).min(total);
    start..start.saturating_add(rows).min(total)
}

/// `Trees` messages for `trees` trees.
#[must_use]
pub fn tree_chunks(trees: usize) -> u32 {
    u32::try_from(trees.div_ceil(TREES_PER_MESSAGE)).unwrap_or(u32::MAX)
}

/// Trees of `Trees` chunk `chunk`.
#[must_use]
pub fn tree_chunk(trees: usize, chunk: u32) -> Range<usize> {
    let start = (chunk as usize)
        .saturating_mul(TREES_PER_MESSAGE)
        .min(trees);
    start..start.saturating_add(TREES_PER_MESSAGE).min(trees)
}

/// Payload bytes of the longest `Columns` or `Masked` message at this batch size.
#[must_use]
pub fn max_row_payload(batch_size: u32) -> usize {
    16 * chunk_rows(batch_size)
}

/// Payload bytes of the longest `Trees` message.
#[must_use]
pub fn max_trees_payload() -> usize {
    TREES_PER_MESSAGE * (2 * MAX_TREE_DEPTH + 1) * 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_tile_rows_and_trees() {
        for (total, batch) in [
            (128usize, 1u32),
            (39_808, 4096),
            (36_224, 65_536),
            (512, 100),
        ] {
            let mut next = 0;
            for c in 0..row_chunks(total, batch) {
                let r = row_chunk(total, batch, c);
                assert_eq!(r.start, next);
                assert!(!r.is_empty() && r.len().is_multiple_of(128));
                next = r.end;
            }
            assert_eq!(next, total);
        }
        for trees in [256usize, 282, 511] {
            let mut next = 0;
            for c in 0..tree_chunks(trees) {
                let r = tree_chunk(trees, c);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, trees);
        }
        assert!(check_receiver_count(MAX_RECEIVER_ITEMS).is_ok());
        assert!(matches!(
            check_receiver_count(MAX_RECEIVER_ITEMS + 1),
            Err(PsiError::SetTooLarge { count, max })
                if count == MAX_RECEIVER_ITEMS + 1 && max == MAX_RECEIVER_ITEMS
        ));
        let bound = sender_vole_bytes(MAX_RECEIVER_ITEMS);
        assert!(bound <= 5 << 30, "{bound} bytes at the bound");
        let biggest = silent_params(u64::from(u32::MAX));
        assert!(biggest.depth <= MAX_TREE_DEPTH);
        // The docs' 28 bytes: version, λ and thirteen 2-byte fields.
        let p = params_bytes();
        assert_eq!(p.len(), 2 + 13 * 2);
        assert_eq!(p[0], 2);
        assert_eq!(&p[20..], [0, 3, 0x04, 0xF6, 0, 3, 0, 2]);
    }
}
