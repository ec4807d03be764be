//! Bit-matrix transpose for the OT extension: rows of bits, least significant bit
//! first within each little-endian 64-bit word, in 64×64 blocks.

use rayon::prelude::*;

/// Transposes 64 rows of 64 bits in place: afterwards bit `j` of `a[i]` is the old
/// bit `i` of `a[j]` (Hacker's Delight, section 7-3, recursive block swap).
fn transpose64(a: &mut [u64; 64]) {
    let mut j = 32usize;
    let mut m: u64 = 0x0000_0000_FFFF_FFFF;
    while j != 0 {
        let mut k = 0usize;
        while k < 64 {
            let t = ((a[k] >> j) ^ a[k + j]) & m;
            a[k] ^= t << j;
            a[k + j] ^= t;
            k = (k + j + 1) & !j;
        }
        j >>= 1;
        m ^= m << j;
    }
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

/// Transposes a `rows × cols` bit matrix stored row by row (`cols / 8` bytes per
/// row) into a `cols × rows` one. `rows` and `cols` must be multiples of 64 and
/// `input` exactly `rows · cols / 8` bytes; callers size both from the protocol's
/// own constants, never from peer input.
pub(crate) fn transpose(input: &[u8], rows: usize, cols: usize) -> Vec<u8> {
    debug_assert!(
        rows.is_multiple_of(64) && cols.is_multiple_of(64) && input.len() == rows * cols / 8
    );
    let in_row = cols / 8;
    let out_row = rows / 8;
    let mut out = vec![0u8; rows * cols / 8];
    // One output block-row (64 output rows = 64 input columns) per task.
    out.par_chunks_mut(64 * out_row)
        .enumerate()
        .for_each(|(bc, dst)| {
            let mut block = [0u64; 64];
            for br in 0..rows / 64 {
                for (i, w) in block.iter_mut().enumerate() {
                    *w = word(input, (br * 64 + i) * in_row + bc * 8);
                }
                transpose64(&mut block);
                for (i, w) in block.iter().enumerate() {
                    let at = i * out_row + br * 8;
                    if let Some(d) = dst.get_mut(at..at + 8) {
                        d.copy_from_slice(&w.to_le_bytes());
                    }
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bit(m: &[u8], row: usize, col: usize, cols: usize) -> bool {
        m[row * cols / 8 + col / 8] >> (col % 8) & 1 == 1
    }

    #[test]
    fn transpose_moves_every_bit() {
        let (rows, cols) = (128, 192);
        let input: Vec<u8> = (0..rows * cols / 8)
            .map(|i| (i as u8).wrapping_mul(151).wrapping_add(17))
            .collect();
        let out = transpose(&input, rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(bit(&input, r, c, cols), bit(&out, c, r, rows), "({r},{c})");
            }
        }
        assert_eq!(transpose(&out, cols, rows), input);
    }
}
