//! Correlated OT with a global offset `Δ`: IKNP extension (Ishai–Kilian–Nissim–Petrank,
//! CRYPTO 2003) 128 columns wide, whose base-OT choice bits are the bits of `Δ`.
//! For every row `j` the *chooser* (the OPRF receiver) picks a bit `r_j` and gets
//! `T_j`; the *holder* of `Δ` (the OPRF sender) gets `Q_j`, with
//!
//! `T_j = Q_j ⊕ r_j·Δ`.
//!
//! That is a VOLE over the subfield `GF(2)` with the same `Δ` as the silent VOLE:
//! 128 rows make one base-VOLE entry ([`super::gf128::gadget`]), one row makes one
//! random OT of the GGM trees ([`ot_hash`]). Column `i` is stretched from base-OT key
//! `k_i^b` with ChaCha20 ([`crate::vole::ext::Prg`]): the chooser sends
//! `u^i = G(k_i^0) ⊕ G(k_i^1) ⊕ r`; the holder, knowing `k_i^{Δ_i}`, sets `q^i = G(k_i^{Δ_i}) ⊕ Δ_i·u^i = G(k_i^0) ⊕ Δ_i·r`.

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::vole::ext::Prg;
use crate::vole::ot::OtKey;
use crate::vole::transpose::transpose;

/// Columns of the extension: the bits of `Δ`, one base OT each.
pub(crate) const COT_WIDTH: usize = 128;

fn rows_of(columns: &[u8], rows: usize) -> Vec<u128> {
    // The transposed rows are `Q`/`T` themselves: wiped once read.
    Zeroizing::new(transpose(columns, COT_WIDTH, rows))
        .chunks_exact(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            u128::from_le_bytes(b)
        })
        .collect()
}

/// The chooser: both keys of every base OT (it was the base-OT sender).
pub(crate) struct CotChooser {
    zero: Vec<Prg>,
    one: Vec<Prg>,
}

impl CotChooser {
    /// From the [`COT_WIDTH`] key pairs of the base OTs.
    pub(crate) fn new(keys: &[(OtKey, OtKey)]) -> Self {
        CotChooser {
            zero: keys.iter().map(|(k0, _)| Prg::new(k0)).collect(),
            one: keys.iter().map(|(_, k1)| Prg::new(k1)).collect(),
        }
    }

    /// The next `rows` correlated OTs (a multiple of 128) with choice bits `r`
    /// (`rows / 8` bytes, bit `j` of the vector at byte `j / 8`, bit `j % 8`): the
    /// columns `u` for the holder (`COT_WIDTH` columns of `rows / 8` bytes, column
    /// after column) and our `T_j`.
    pub(crate) fn extend(&mut self, r: &[u8], rows: usize) -> (Vec<u8>, Zeroizing<Vec<u128>>) {
        let col_len = rows / 8;
        // The zip with `r` below would silently stop short of a column otherwise.
        debug_assert_eq!(r.len(), col_len);
        debug_assert!(rows.is_multiple_of(128));
        let mut u = vec![0u8; COT_WIDTH * col_len];
        let mut t = Zeroizing::new(vec![0u8; COT_WIDTH * col_len]);
        u.par_chunks_mut(col_len.max(1))
            .zip(t.par_chunks_mut(col_len.max(1)))
            .zip(self.zero.par_iter_mut().zip(self.one.par_iter_mut()))
            .for_each(|((u_col, t_col), (g0, g1))| {
                g0.xor_next(t_col);
                g1.xor_next(u_col);
                for ((x, y), c) in u_col.iter_mut().zip(t_col.iter()).zip(r) {
                    *x ^= y ^ c;
                }
            });
        let rows = Zeroizing::new(rows_of(&t, rows));
        (u, rows)
    }
}

/// The holder of `Δ`: its chosen key of every base OT.
pub(crate) struct CotHolder {
    chosen: Vec<Prg>,
    delta: Zeroizing<u128>,
}

impl CotHolder {
    /// From `Δ` (bit `i` was the choice of base OT `i`) and the keys it chose.
    pub(crate) fn new(delta: u128, keys: &[OtKey]) -> Self {
        CotHolder {
            chosen: keys.iter().map(Prg::new).collect(),
            delta: Zeroizing::new(delta),
        }
    }

    #[cfg(test)]
    /// `Δ`.
    pub(crate) fn delta(&self) -> u128 {
        *self.delta
    }

    /// Our `Q_j` for the next `rows` rows from the chooser's columns `u`, which must
    /// hold `COT_WIDTH · rows / 8` bytes (checked by the caller).
    pub(crate) fn extend(&mut self, u: &[u8], rows: usize) -> Zeroizing<Vec<u128>> {
        let col_len = rows / 8;
        debug_assert_eq!(u.len(), COT_WIDTH * col_len);
        debug_assert!(rows.is_multiple_of(128));
        let delta = *self.delta;
        let mut q = Zeroizing::new(vec![0u8; COT_WIDTH * col_len]);
        q.par_chunks_mut(col_len.max(1))
            .zip(u.par_chunks(col_len.max(1)))
            .zip(self.chosen.par_iter_mut())
            .enumerate()
            .for_each(|(i, ((q_col, u_col), g))| {
                g.xor_next(q_col);
                // A mask, not a branch: the work per column must not depend on
                // Δ's bit (i < COT_WIDTH = 128).
                let mask = 0u8.wrapping_sub((delta >> i & 1) as u8);
                for (x, y) in q_col.iter_mut().zip(u_col) {
                    *x ^= y & mask;
                }
            });
        Zeroizing::new(rows_of(&q, rows))
    }
}

/// The correlation-robust hash that turns correlated OT row `index` into a random
/// OT: the holder's keys are `H(Q_j)` and `H(Q_j ⊕ Δ)`, the chooser's `H(T_j)`
/// (Ishai et al. 2003 §3; the tweak keeps rows apart). BLAKE3 keyed with a session
/// key, over the index and the row.
pub(crate) fn ot_hash(key: &[u8; 32], index: u64, row: u128) -> u128 {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(&index.to_le_bytes());
    h.update(&row.to_le_bytes());
    let mut out = [0u8; 16];
    h.finalize_xof().fill(&mut out);
    u128::from_le_bytes(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::super::gf128::{gadget, mul};
    use super::*;

    /// A chooser and a holder as the base OTs would leave them.
    pub(crate) fn pair(rng: &mut StdRng) -> (CotChooser, CotHolder) {
        let pairs: Vec<(OtKey, OtKey)> = (0..COT_WIDTH)
            .map(|_| (Zeroizing::new(rng.random()), Zeroizing::new(rng.random())))
            .collect();
        let delta: u128 = rng.random();
        let chosen: Vec<OtKey> = pairs
            .iter()
            .enumerate()
            .map(|(i, (k0, k1))| {
                if delta >> i & 1 == 1 {
                    k1.clone()
                } else {
                    k0.clone()
                }
            })
            .collect();
        (CotChooser::new(&pairs), CotHolder::new(delta, &chosen))
    }

    #[test]
    fn every_row_is_correlated_by_delta() {
        let mut rng = StdRng::from_seed([11; 32]);
        let (mut chooser, mut holder) = pair(&mut rng);
        let delta = holder.delta();
        for rows in [128usize, 384, 128] {
            let r: Vec<u8> = (0..rows / 8).map(|_| rng.random()).collect();
            let (u, t) = chooser.extend(&r, rows);
            assert_eq!(u.len(), COT_WIDTH * rows / 8);
            let q = holder.extend(&u, rows);
            for j in 0..rows {
                let bit = r[j / 8] >> (j % 8) & 1 == 1;
                assert_eq!(t[j], if bit { q[j] ^ delta } else { q[j] }, "row {j}");
            }
            // 128 rows give one VOLE entry over the whole field (Gilboa).
            let beta = u128::from_le_bytes(r[..16].try_into().unwrap_or([0; 16]));
            assert_eq!(gadget(&t[..128]), gadget(&q[..128]) ^ mul(beta, delta));
        }
    }

    #[test]
    fn hashed_rows_are_random_ots() {
        let key = [3u8; 32];
        let (q, delta) = (0x1234u128, 0xfeed_u128 << 64);
        let (k0, k1) = (ot_hash(&key, 5, q), ot_hash(&key, 5, q ^ delta));
        assert_ne!(k0, k1);
        assert_eq!(ot_hash(&key, 5, q ^ delta), k1);
        assert_ne!(ot_hash(&key, 6, q), k0);
        assert_ne!(ot_hash(&[4u8; 32], 5, q), k0);
    }
}
