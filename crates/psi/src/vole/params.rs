//! The fixed parameters of the OT/OKVS building blocks and the sizes that follow
//! from the declared set sizes: OKVS columns and the chunking of the rows that
//! travel per message.
//!
//! `vole-rr22-silent` names every constant it uses here in its hello parameters
//! ([`crate::rr22::params`]), so two builds with different choices refuse each other
//! instead of computing garbage.

/// Bits of a 512-bit OKVS value row (`okvs::Row`, the 512-bit item hash's value).
pub const VALUE_BITS: usize = 512;

/// [`VALUE_BITS`] in 64-bit words.
pub const VALUE_WORDS: usize = VALUE_BITS / 64;

/// Bytes of a 512-bit OKVS value row.
pub const VALUE_BYTES: usize = VALUE_BITS / 8;

/// Width in bits of an OKVS row's random band (`w` in Bienstock–Patel–Seo–Yeo,
/// USENIX Security 2023, "RB-OKVS"). Their fitted failure bound for `ε = 0.1` is
/// `λ ≈ 0.2691·w − 15.21`, so `w = 256` gives about 53 bits; encoding failures are
/// also retried with a fresh seed ([`MAX_OKVS_ATTEMPTS`]).
pub const BAND_WIDTH: usize = 256;

/// [`BAND_WIDTH`] in 64-bit words.
pub const BAND_WORDS: usize = BAND_WIDTH / 64;

/// OKVS expansion `ε` in thousandths: `m ≈ (1 + ε)·n` columns.
pub const OKVS_EXPANSION_PER_MILLE: u64 = 100;

/// Fresh OKVS seeds tried before the receiver gives up on its own set.
pub const MAX_OKVS_ATTEMPTS: u32 = 8;

/// Statistical security parameter the parameter choices meet.
pub const STATISTICAL_BITS: u8 = 40;

/// Smallest and largest OKVS rows per `Masked` message (multiples of 128 so that
/// every chunk is whole 64×64 transpose blocks).
const MIN_CHUNK_ROWS: usize = 128;
const MAX_CHUNK_ROWS: usize = 16384;

/// OKVS columns for `n` items: `n + ⌈ε·n⌉ + w`, rounded up to a multiple of 128.
#[must_use]
pub fn okvs_columns(n: u64) -> usize {
    let extra = (n * OKVS_EXPANSION_PER_MILLE).div_ceil(1000);
    let m = n + extra + BAND_WIDTH as u64;
    usize::try_from(m.div_ceil(128) * 128).unwrap_or(usize::MAX)
}

/// OKVS rows carried by one `Masked` message at this batch size.
#[must_use]
pub fn chunk_rows(batch_size: u32) -> usize {
    (batch_size as usize)
        .div_ceil(128)
        .saturating_mul(128)
        .clamp(MIN_CHUNK_ROWS, MAX_CHUNK_ROWS)
}

/// `Masked` messages for `n` receiver items at this batch size.
#[must_use]
pub fn masked_chunks(n: u64, batch_size: u32) -> u32 {
    let m = okvs_columns(n);
    u32::try_from(m.div_ceil(chunk_rows(batch_size))).unwrap_or(u32::MAX)
}

/// Rows of `Masked` chunk `chunk` for `n` receiver items.
#[must_use]
pub fn chunk_range(n: u64, batch_size: u32, chunk: u32) -> std::ops::Range<usize> {
    let m = okvs_columns(n);
    let rows = chunk_rows(batch_size);
    let start = (chunk as usize).saturating_mul(rows).min(m);
    start..start.saturating_add(rows).min(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_cover_items_slack_and_band() {
        for n in [0u64, 1, 127, 1000, 1 << 16, 1 << 20] {
            let m = okvs_columns(n) as u64;
            assert_eq!(m % 128, 0);
            assert!(m >= n + n / 10 + BAND_WIDTH as u64);
            assert!(m < n + n / 10 + BAND_WIDTH as u64 + 130);
        }
    }

    #[test]
    fn chunks_tile_the_columns() {
        for (n, batch) in [(0u64, 1u32), (5000, 4096), (1 << 16, 65536), (300, 100)] {
            let total = masked_chunks(n, batch);
            let mut next = 0;
            for c in 0..total {
                let r = chunk_range(n, batch, c);
                assert_eq!(r.start, next);
                assert!(!r.is_empty() && r.len().is_multiple_of(128));
                next = r.end;
            }
            assert_eq!(next, okvs_columns(n));
        }
    }
}
