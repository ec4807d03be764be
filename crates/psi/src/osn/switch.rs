//! The share arithmetic of one switch (Mohassel–Sadeghian, EUROCRYPT 2013, §4,
//! "permute + share" with one random OT per switch).
//!
//! Every wire `e` carries a value `v_e` split as R's mask `ρ_e` and S's share
//! `x_e = v_e ⊕ ρ_e`. A switch has inputs `e0, e1`, outputs `f0, f1` and S's
//! control bit `c`. Correlated OT row `j` (the switch's global index) gives R `Q`
//! and `Δ`, S `T = Q ⊕ c·Δ`; with `G(j, ·)` the keyed BLAKE3 XOF of `2ℓ` bytes,
//!
//! - R: `pad0 = G(j, Q)`, `pad1 = G(j, Q ⊕ Δ)`; new masks
//!   `ρ_f0 = ρ_e0 ⊕ pad0[..ℓ]`, `ρ_f1 = ρ_e1 ⊕ pad0[ℓ..]`, so `M0 := pad0`
//!   `= (ρ_e0 ⊕ ρ_f0 ‖ ρ_e1 ⊕ ρ_f1)`; with `M1 = (ρ_e1 ⊕ ρ_f0 ‖ ρ_e0 ⊕ ρ_f1)` it
//!   sends `z = M1 ⊕ pad1`.
//! - S: `G(j, T) = pad_c`; `M = pad_c ⊕ c·z`, which is `M_c` (for `c = 1`,
//!   `z ⊕ pad1 = M1`); then `y0 = x_{e_c} ⊕ M[..ℓ]`, `y1 = x_{e_{1−c}} ⊕ M[ℓ..]`.
//!
//! Check, `c = 0`: `y0 = v_e0 ⊕ ρ_e0 ⊕ ρ_e0 ⊕ ρ_f0 = v_e0 ⊕ ρ_f0` and likewise
//! `y1 = v_e1 ⊕ ρ_f1`: the values pass straight. `c = 1`:
//! `y0 = v_e1 ⊕ ρ_e1 ⊕ ρ_e1 ⊕ ρ_f0 = v_e1 ⊕ ρ_f0`, `y1 = v_e0 ⊕ ρ_f1`: crossed.
//! Either way `y_b ⊕ ρ_fb` is the value the switch puts on `f_b`.
//!
//! What S sees: `pad_c`, and `z`, masked by `pad_{1−c}` which it cannot compute
//! (correlation robustness of `G` on `Q ⊕ Δ`); `M_c` itself is uniform because the
//! fresh pad `pad0` sits in `ρ_f0` and `ρ_f1`. R sees only OT messages.

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::benes::{bit, global_wires};

/// Derivation label of the key of `G`.
pub(crate) const PAD_LABEL: &str = "blindmatch/v1/psi/osn/pad";

/// The key of `G` for a session context.
pub(crate) fn pad_key(context: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(blake3::derive_key(PAD_LABEL, context))
}

/// `G(index, row)`: the first `out.len()` bytes of the XOF of
/// `BLAKE3-keyed(key, u64_le(index) ‖ u128_le(row))`, the random-OT hash of
/// correlated OT row `index` (Ishai et al. 2003 §3), stretched to the pad length.
pub(crate) fn pad(key: &[u8; 32], index: u64, row: u128, out: &mut [u8]) {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(&index.to_le_bytes());
    h.update(&row.to_le_bytes());
    h.finalize_xof().fill(out);
}

/// The two `ℓ`-byte elements at positions `p0 < p1` of `values`, both mutable.
fn pair(values: &mut [u8], ell: usize, (p0, p1): (usize, usize)) -> (&mut [u8], &mut [u8]) {
    let (low, high) = values.split_at_mut(p1 * ell);
    (&mut low[p0 * ell..(p0 + 1) * ell], &mut high[..ell])
}

/// R's side of one switch: `pads` is `pad0 ‖ pad1`; updates the masks `r0`, `r1`
/// of the input wires to those of the outputs and writes `z` (`2ℓ` bytes).
fn holder_switch(pads: &[u8], r0: &mut [u8], r1: &mut [u8], z: &mut [u8]) {
    let ell = r0.len();
    let (pad0, pad1) = pads.split_at(2 * ell);
    let (z0, z1) = z.split_at_mut(ell);
    for i in 0..ell {
        let (e0, e1) = (r0[i], r1[i]);
        let (f0, f1) = (e0 ^ pad0[i], e1 ^ pad0[ell + i]);
        z0[i] = e1 ^ f0 ^ pad1[i];
        z1[i] = e0 ^ f1 ^ pad1[ell + i];
        r0[i] = f0;
        r1[i] = f1;
    }
}

/// S's side of one switch with control bit `c`: `pad` is `G(j, T) = pad_c`, `z`
/// R's correction; turns the shares `x0`, `x1` of the inputs into those of the
/// outputs. The bit drives masks, not branches.
fn permuter_switch(c: u8, pad: &[u8], z: &[u8], x0: &mut [u8], x1: &mut [u8]) {
    let ell = x0.len();
    let mask = 0u8.wrapping_sub(c & 1);
    for i in 0..ell {
        let swap = (x0[i] ^ x1[i]) & mask;
        let y0 = x0[i] ^ swap ^ pad[i] ^ (z[i] & mask);
        let y1 = x1[i] ^ swap ^ pad[ell + i] ^ (z[ell + i] & mask);
        x0[i] = y0;
        x1[i] = y1;
    }
}

/// R's side of the run of switches `g0 .. g0 + q.len()` (global indices, layer by
/// layer), `q` holding their rows `Q_j`: updates the masks `rho` (`n·ℓ` bytes) in
/// place and returns the corrections `z`, `2ℓ` bytes per switch.
pub(crate) fn holder_run(
    log_n: u32,
    ell: usize,
    key: &[u8; 32],
    delta: u128,
    g0: usize,
    q: &[u128],
    rho: &mut [u8],
) -> Vec<u8> {
    // Both pads of every switch first (the hashing is the work, and parallel),
    // then the cheap updates in order: a run may span two layers.
    let mut pads = Zeroizing::new(vec![0u8; q.len() * 4 * ell]);
    pads.par_chunks_mut(4 * ell)
        .zip(q.par_iter())
        .enumerate()
        .for_each(|(j, (out, &row))| {
            let (pad0, pad1) = out.split_at_mut(2 * ell);
            let index = (g0 + j) as u64;
            pad(key, index, row, pad0);
            pad(key, index, row ^ delta, pad1);
        });
    let mut z = vec![0u8; q.len() * 2 * ell];
    for (j, (pads, z)) in pads
        .chunks_exact(4 * ell)
        .zip(z.chunks_exact_mut(2 * ell))
        .enumerate()
    {
        let (r0, r1) = pair(rho, ell, global_wires(log_n, g0 + j));
        holder_switch(pads, r0, r1, z);
    }
    z
}

/// S's side of the run of switches `g0 .. g0 + t.len()`: `t` their rows `T_j`,
/// `z` R's corrections (`2ℓ` bytes per switch, length checked by the caller),
/// `bits` the packed control bits; updates the shares `x` (`n·ℓ` bytes) in place.
#[allow(clippy::too_many_arguments)]
pub(crate) fn permuter_run(
    log_n: u32,
    ell: usize,
    key: &[u8; 32],
    bits: &[u8],
    g0: usize,
    t: &[u128],
    z: &[u8],
    x: &mut [u8],
) {
    let mut pads = Zeroizing::new(vec![0u8; t.len() * 2 * ell]);
    pads.par_chunks_mut(2 * ell)
        .zip(t.par_iter())
        .enumerate()
        .for_each(|(j, (out, &row))| pad(key, (g0 + j) as u64, row, out));
    for (j, (pad, z)) in pads
        .chunks_exact(2 * ell)
        .zip(z.chunks_exact(2 * ell))
        .enumerate()
    {
        let g = g0 + j;
        let (x0, x1) = pair(x, ell, global_wires(log_n, g));
        permuter_switch(bit(bits, g), pad, z, x0, x1);
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    /// One switch, both sides, both bits, with a real correlated-OT row.
    #[test]
    fn one_switch_straight_and_crossed() {
        let mut rng = StdRng::from_seed([31; 32]);
        let key = [7u8; 32];
        for ell in [1usize, 5, 16, 33] {
            for c in [0u8, 1] {
                let (q, delta): (u128, u128) = (rng.random(), rng.random());
                let t = if c == 1 { q ^ delta } else { q };
                let v: Vec<u8> = (0..2 * ell).map(|_| rng.random()).collect();
                let rho_in: Vec<u8> = (0..2 * ell).map(|_| rng.random()).collect();
                let mut x: Vec<u8> = v.iter().zip(&rho_in).map(|(a, b)| a ^ b).collect();
                let mut rho = rho_in.clone();
                let mut pads = vec![0u8; 4 * ell];
                pad(&key, 9, q, &mut pads[..2 * ell]);
                pad(&key, 9, q ^ delta, &mut pads[2 * ell..]);
                let mut z = vec![0u8; 2 * ell];
                let (r0, r1) = rho.split_at_mut(ell);
                holder_switch(&pads, r0, r1, &mut z);
                let mut pad_c = vec![0u8; 2 * ell];
                pad(&key, 9, t, &mut pad_c);
                let (x0, x1) = x.split_at_mut(ell);
                permuter_switch(c, &pad_c, &z, x0, x1);
                let out: Vec<u8> = x.iter().zip(&rho).map(|(a, b)| a ^ b).collect();
                let expect = if c == 1 {
                    [&v[ell..], &v[..ell]].concat()
                } else {
                    v.clone()
                };
                assert_eq!(out, expect, "ell {ell} c {c}");
                // The output masks are fresh: neither share is the value.
                assert_ne!(&rho[..], &rho_in[..]);
            }
        }
    }

    #[test]
    fn pads_depend_on_key_index_and_row() {
        let mut a = [0u8; 10];
        let mut b = [0u8; 10];
        pad(&[1; 32], 3, 5, &mut a);
        pad(&[1; 32], 3, 5, &mut b);
        assert_eq!(a, b);
        pad(&[1; 32], 4, 5, &mut b);
        assert_ne!(a, b);
        pad(&[1; 32], 3, 6, &mut b);
        assert_ne!(a, b);
        pad(&[2; 32], 3, 5, &mut b);
        assert_ne!(a, b);
    }
}
