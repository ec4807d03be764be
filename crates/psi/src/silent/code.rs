//! The dual-LPN compression of the silent VOLE: an expand-convolute code
//! (Raghuraman–Rindal–Tanguy, "Expand-Convolute Codes for Pseudorandom Correlation
//! Generators from LPN", CRYPTO 2023), systematic, as libOTe's `ExConvCode`
//! configures it for RR22 (`ExConv7x24`). A length-`N` input `e` (the sparse VOLE)
//! becomes `k` outputs:
//!
//! 1. Convolute the tail `d = e[k..N]` (length `s = N − k`) onto itself, twice, each
//!    pass with its own coefficients: for `i` in order, `d[i]` is added to
//!    `d[i + 1 + w]` for each set bit `w` of a random 24-bit mask, and always to
//!    `d[i + 25]` (indices mod `s`).
//! 2. Expand: `out[i] = e[i] ⊕ ⊕_{w < 7} d[p_{i,w}]`, with `p_{i,w}` uniform in the
//!    `w`-th of seven equal slices of `d` (a regular expander).
//!
//! The map is `GF(2)`-linear, so it keeps `c = b ⊕ a ⊗ Δ` entry by entry. The
//! coefficients come from ChaCha20 under a key both sides derive from the session
//! context: the code is public, as dual LPN assumes.

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use rayon::prelude::*;

/// Derivation label of the code's coefficient key.
const CODE_LABEL: &str = "blindmatch/v1/psi/vole-rr22/code";
/// Ones per expander row (RRT23 §6, libOTe `ExConv7x24`).
pub(crate) const EXPANDER_WEIGHT: usize = 7;
/// Random coefficients per convolution step (RRT23 §6, libOTe `ExConv7x24`).
pub(crate) const CONV_WINDOW: usize = 24;
/// Outputs per parallel expander task (each seeks its own coefficient stream).
const EXPAND_CHUNK: usize = 4096;
/// ChaCha20 nonces of the three coefficient streams.
const NONCE_PASS_ONE: [u8; 12] = [1; 12];
const NONCE_PASS_TWO: [u8; 12] = [2; 12];
const NONCE_EXPANDER: [u8; 12] = [3; 12];

/// A vector entry the code compresses: one field element, or both of the
/// receiver's (`A` and `C`) side by side, so that they share one pass.
pub(crate) trait Lane: Copy + Default + Send + Sync {
    /// `self ⊕= other`.
    fn add(&mut self, other: &Self);
    /// `other` if `bit` is 1, else zero, without a branch.
    fn select(other: &Self, bit: u32) -> Self;
}

impl Lane for u128 {
    #[inline]
    fn add(&mut self, other: &Self) {
        *self ^= other;
    }
    #[inline]
    fn select(other: &Self, bit: u32) -> Self {
        other & 0u128.wrapping_sub(u128::from(bit & 1))
    }
}

impl Lane for [u128; 2] {
    #[inline]
    fn add(&mut self, other: &Self) {
        self[0] ^= other[0];
        self[1] ^= other[1];
    }
    #[inline]
    fn select(other: &Self, bit: u32) -> Self {
        let m = 0u128.wrapping_sub(u128::from(bit & 1));
        [other[0] & m, other[1] & m]
    }
}

/// One instance of the code: `n` inputs to `k` outputs.
#[derive(Clone)]
pub(crate) struct Code {
    key: [u8; 32],
    k: usize,
    n: usize,
}

impl Code {
    /// The code for this session, `n > k` inputs to `k` outputs.
    pub(crate) fn new(context: &[u8; 32], k: usize, n: usize) -> Self {
        Code {
            key: blake3::derive_key(CODE_LABEL, context),
            k,
            n,
        }
    }

    /// Compresses `e` (exactly `n` entries) in place to its first `k` entries; the
    /// capacity stays, so a wiping owner still wipes all of it and the peak is one
    /// length-`n` buffer, not that plus a length-`k` copy.
    pub(crate) fn compress<T: Lane>(&self, e: &mut Vec<T>) {
        let len = self.n.min(e.len());
        let k = self.k.min(len);
        let (head, tail) = e.split_at_mut(len).0.split_at_mut(k);
        self.convolute(tail, &NONCE_PASS_ONE);
        self.convolute(tail, &NONCE_PASS_TWO);
        let tail: &[T] = tail;
        let s = tail.len();
        let slice = s / EXPANDER_WEIGHT;
        head.par_chunks_mut(EXPAND_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let mut stream = ChaCha20::new(&self.key.into(), &NONCE_EXPANDER.into());
                stream.seek((c * EXPAND_CHUNK * EXPANDER_WEIGHT * 4) as u64);
                let mut coins = vec![0u8; chunk.len() * EXPANDER_WEIGHT * 4];
                stream.apply_keystream(&mut coins);
                for (o, row) in chunk
                    .iter_mut()
                    .zip(coins.chunks_exact(EXPANDER_WEIGHT * 4))
                {
                    for (w, r) in row.chunks_exact(4).enumerate() {
                        let x = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
                        // Uniform in the slice by multiply-shift (the code is public,
                        // so the tiny bias is of no consequence).
                        let p = w * slice + ((u64::from(x) * slice as u64) >> 32) as usize;
                        if let Some(v) = tail.get(p) {
                            o.add(v);
                        }
                    }
                }
            });
        e.truncate(k);
    }

    /// One convolution pass over `d`, in place.
    fn convolute<T: Lane>(&self, d: &mut [T], nonce: &[u8; 12]) {
        let s = d.len();
        if s <= CONV_WINDOW + 1 {
            // Too short to convolute (never for the sizes `params` picks).
            return;
        }
        let mut stream = ChaCha20::new(&self.key.into(), &(*nonce).into());
        let mut coins = vec![0u8; EXPAND_CHUNK * 3];
        let mut i = 0;
        while i < s {
            let count = (s - i).min(EXPAND_CHUNK);
            let coins = &mut coins[..count * 3];
            coins.fill(0);
            stream.apply_keystream(coins);
            for mask in coins.chunks_exact(3) {
                let mask = u32::from(mask[0]) | u32::from(mask[1]) << 8 | u32::from(mask[2]) << 16;
                let v = d[i];
                if i + CONV_WINDOW + 1 < s {
                    for (w, x) in d[i + 1..=i + CONV_WINDOW].iter_mut().enumerate() {
                        x.add(&T::select(&v, mask >> w));
                    }
                    d[i + CONV_WINDOW + 1].add(&v);
                } else {
                    for w in 0..CONV_WINDOW {
                        d[(i + 1 + w) % s].add(&T::select(&v, mask >> w));
                    }
                    d[(i + CONV_WINDOW + 1) % s].add(&v);
                }
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::super::gf128::mul;
    use super::*;

    fn compressed<T: Lane>(code: &Code, mut e: Vec<T>) -> Vec<T> {
        code.compress(&mut e);
        e
    }

    #[test]
    fn compression_is_linear_and_keeps_the_correlation() {
        let mut rng = StdRng::from_seed([31; 32]);
        let (k, n) = (5000usize, 10_240usize);
        let code = Code::new(&[1; 32], k, n);
        let delta: u128 = rng.random();
        let b: Vec<u128> = (0..n).map(|_| rng.random()).collect();
        // Sparse a: one non-zero entry per block of 64, as the trees give.
        let mut a = vec![0u128; n];
        for block in 0..n / 64 {
            a[block * 64 + rng.random_range(0..64)] = rng.random();
        }
        let c: Vec<u128> = b.iter().zip(&a).map(|(b, a)| b ^ mul(*a, delta)).collect();
        let big_b = compressed(&code, b.clone());
        let pairs: Vec<[u128; 2]> = a.iter().zip(&c).map(|(a, c)| [*a, *c]).collect();
        let ac = compressed(&code, pairs);
        assert_eq!(big_b.len(), k);
        for i in 0..k {
            assert_eq!(ac[i][1], big_b[i] ^ mul(ac[i][0], delta), "entry {i}");
        }
        // The same lanes one at a time agree with the pair.
        let big_a = compressed(&code, a.clone());
        assert!(big_a.iter().zip(&ac).all(|(x, p)| *x == p[0]));
        // The sparse noise reaches (almost) every output: a is dense after compression.
        let zeros = big_a.iter().filter(|&&x| x == 0).count();
        assert!(zeros < k / 100, "{zeros} zero outputs");
    }

    #[test]
    fn every_input_position_matters_and_sessions_differ() {
        let (k, n) = (300usize, 640usize);
        let code = Code::new(&[2; 32], k, n);
        for pos in [0usize, 1, k - 1, k, k + 1, n - 2, n - 1] {
            let mut e = vec![0u128; n];
            e[pos] = 1;
            let out = compressed(&code, e);
            assert!(out.iter().any(|&x| x != 0), "position {pos} is lost");
        }
        let e: Vec<u128> = (0..n as u128).collect();
        let one = compressed(&code, e.clone());
        let other = compressed(&Code::new(&[3; 32], k, n), e);
        assert_ne!(one, other);
    }
}
