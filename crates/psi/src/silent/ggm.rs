//! GGM puncturable PRFs (Goldreich–Goldwasser–Micali trees) turned into single-point
//! VOLEs, `t` at a time: the regular sparse VOLE of the silent VOLE (Boyle et al.,
//! CCS 2019, §4; the semi-honest PPRF of Ferret, Yang et al. CCS 2020, §4).
//!
//! The sender grows tree `j` from a random root to `2^d` leaves `v_j`. The receiver,
//! holding a secret leaf index `α_j`, learns every leaf but `v_j[α_j]`: at each
//! level it takes, by one random OT with choice "not my path bit", the XOR of all
//! nodes on the side its path does not take, and recomputes the one node it lacks.
//! The sender also sends `ψ_j = ⊕_i v_j[i] ⊕ δ_j`, where `γ_j = δ_j ⊕ β_j ⊗ Δ` is a
//! base-VOLE entry; the receiver sets `c_j[α_j] = ψ_j ⊕ ⊕_{i≠α_j} v_j[i] ⊕ γ_j`, so
//! that for every leaf
//!
//! `c_j[i] = v_j[i] ⊕ a_j[i] ⊗ Δ` with `a_j = β_j·e_{α_j}`.
//!
//! The tree PRG is fixed-key AES in Matyas–Meyer–Oseas form, `G(s) = (AES_{k0}(s) ⊕ s,
//! AES_{k1}(s) ⊕ s)`, as libOTe's and CryProt's GGM trees use.

use aes::Aes128;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use rayon::prelude::*;
use zeroize::{Zeroize, Zeroizing};

use super::cot::ot_hash;

/// Derivation labels of the two fixed (public) AES keys of the tree PRG.
const LEFT_LABEL: &str = "blindmatch/v1/psi/vole-rr22/ggm-left";
const RIGHT_LABEL: &str = "blindmatch/v1/psi/vole-rr22/ggm-right";

/// Parents expanded per AES batch.
const BATCH: usize = 32;

/// The tree PRG: one node to its two children.
pub(crate) struct TreePrg {
    left: Aes128,
    right: Aes128,
}

impl TreePrg {
    pub(crate) fn new() -> Self {
        let key = |label| {
            let k = blake3::derive_key(label, b"");
            let mut short = [0u8; 16];
            short.copy_from_slice(&k[..16]);
            Aes128::new(&short.into())
        };
        TreePrg {
            left: key(LEFT_LABEL),
            right: key(RIGHT_LABEL),
        }
    }

    /// Replaces level `level` of `tree` (nodes `0..2^level`) by level `level + 1`
    /// (nodes `0..2^(level+1)`), node `i`'s children at `2i` and `2i + 1`. Batches
    /// run from the top down, so no parent is overwritten before it is read.
    fn grow(&self, tree: &mut [u128], level: usize) {
        let parents = 1usize << level;
        let mut end = parents;
        while end > 0 {
            let start = end.saturating_sub(BATCH);
            let mut l = [aes::Block::default(); BATCH];
            let mut r = [aes::Block::default(); BATCH];
            let count = end - start;
            for i in 0..count {
                let p = tree.get(start + i).copied().unwrap_or(0).to_le_bytes();
                l[i] = p.into();
                r[i] = p.into();
            }
            self.left.encrypt_blocks(&mut l[..count]);
            self.right.encrypt_blocks(&mut r[..count]);
            for i in (0..count).rev() {
                let p = tree.get(start + i).copied().unwrap_or(0);
                let lb: [u8; 16] = l[i].into();
                let rb: [u8; 16] = r[i].into();
                if let Some(pair) = tree.get_mut(2 * (start + i)..2 * (start + i) + 2) {
                    pair[0] = u128::from_le_bytes(lb) ^ p;
                    pair[1] = u128::from_le_bytes(rb) ^ p;
                }
            }
            // The children are tree seeds: leave no copy on the stack.
            for b in l.iter_mut().chain(r.iter_mut()) {
                b[..].zeroize();
            }
            end = start;
        }
    }
}

/// XOR of the even and of the odd nodes.
fn parity_sums(nodes: &[u128]) -> [u128; 2] {
    nodes
        .chunks_exact(2)
        .fold([0, 0], |[e, o], p| [e ^ p[0], o ^ p[1]])
}

/// Blocks of one tree's message: two masked level sums per level, then `ψ`.
#[must_use]
pub(crate) fn message_blocks(depth: usize) -> usize {
    2 * depth + 1
}

/// Index of the correlated-OT row that carries level `level` of tree `tree`.
fn ot_index(tree: usize, depth: usize, level: usize) -> usize {
    tree * depth + level
}

/// Sender: grows one tree per root into `leaves` (`roots.len() · 2^depth` of them,
/// tree after tree) and returns the message (`message_blocks(depth)` blocks per
/// tree). `q` holds the holder's correlated-OT rows of the trees (`depth` per tree),
/// `delta_shares` the `δ_j` of the base VOLE.
pub(crate) fn send(
    roots: &[u128],
    depth: usize,
    hash_key: &[u8; 32],
    delta: u128,
    q: &[u128],
    delta_shares: &[u128],
    leaves: &mut [u128],
) -> Vec<u128> {
    let prg = TreePrg::new();
    let width = 1usize << depth;
    let per = message_blocks(depth);
    // The `unwrap_or(0)`s below only keep indexing total; these lengths make them
    // unreachable (a silent 0 there would be a wrong, not a failed, VOLE).
    debug_assert_eq!(leaves.len(), roots.len() * width);
    debug_assert_eq!(q.len(), roots.len() * depth);
    debug_assert_eq!(delta_shares.len(), roots.len());
    let mut message = vec![0u128; roots.len() * per];
    leaves
        .par_chunks_mut(width)
        .zip(message.par_chunks_mut(per))
        .enumerate()
        .for_each(|(j, (tree, out))| {
            if let Some(first) = tree.first_mut() {
                *first = roots.get(j).copied().unwrap_or(0);
            }
            for level in 0..depth {
                prg.grow(tree, level);
                let [even, odd] = parity_sums(&tree[..2 << level]);
                let i = ot_index(j, depth, level);
                let row = q.get(i).copied().unwrap_or(0);
                out[2 * level] = even ^ ot_hash(hash_key, i as u64, row);
                out[2 * level + 1] = odd ^ ot_hash(hash_key, i as u64, row ^ delta);
            }
            let all = tree.iter().fold(0, |a, v| a ^ v);
            out[per - 1] = all ^ delta_shares.get(j).copied().unwrap_or(0);
        });
    message
}

/// Bit `level` (from the root) of the path to leaf `alpha` in a tree of `depth`.
#[must_use]
pub(crate) fn path_bit(alpha: usize, depth: usize, level: usize) -> bool {
    alpha >> (depth - 1 - level) & 1 == 1
}

/// Receiver: from the sender's message, our correlated-OT rows `t` of the trees
/// (chosen with bit `!path_bit`), our leaf indices `alphas` and base-VOLE shares
/// `gammas`, fills `leaves` with `c` (tree after tree).
pub(crate) fn receive(
    message: &[u128],
    depth: usize,
    hash_key: &[u8; 32],
    t: &[u128],
    alphas: &[usize],
    gammas: &[u128],
    leaves: &mut [u128],
) {
    let prg = TreePrg::new();
    let width = 1usize << depth;
    let per = message_blocks(depth);
    // As in `send`: the lengths that make the `unwrap_or(0)`s unreachable.
    debug_assert_eq!(leaves.len(), alphas.len() * width);
    debug_assert_eq!(message.len(), alphas.len() * per);
    debug_assert_eq!(t.len(), alphas.len() * depth);
    debug_assert_eq!(gammas.len(), alphas.len());
    debug_assert!(alphas.iter().all(|&a| a < width));
    leaves
        .par_chunks_mut(width)
        .zip(message.par_chunks(per))
        .enumerate()
        .for_each(|(j, (tree, msg))| {
            let alpha = alphas.get(j).copied().unwrap_or(0);
            // The node on our path at the current level; it stays 0 (unknown).
            let mut path = 0usize;
            tree.fill(0);
            for level in 0..depth {
                prg.grow(tree, level);
                let bit = path_bit(alpha, depth, level);
                let other = usize::from(!bit);
                let i = ot_index(j, depth, level);
                let key = ot_hash(hash_key, i as u64, t.get(i).copied().unwrap_or(0));
                let sum = msg.get(2 * level + other).copied().unwrap_or(0) ^ key;
                let sibling = 2 * path + other;
                let on_path = 2 * path + usize::from(bit);
                // The unknown parent's children hold garbage: clear both first.
                tree[sibling] = 0;
                tree[on_path] = 0;
                let known = parity_sums(&tree[..2 << level])[other];
                tree[sibling] = sum ^ known;
                path = on_path;
            }
            let rest = tree.iter().fold(0, |a, v| a ^ v);
            let psi = msg.get(per - 1).copied().unwrap_or(0);
            tree[alpha] = psi ^ rest ^ gammas.get(j).copied().unwrap_or(0);
        });
}

/// Fresh buffer of `count` leaves, zeroised on drop.
pub(crate) fn leaves(count: usize) -> Zeroizing<Vec<u128>> {
    Zeroizing::new(vec![0u128; count])
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::super::gf128::mul;
    use super::*;

    #[test]
    fn receiver_learns_every_leaf_but_one_and_the_correlation_holds() {
        let mut rng = StdRng::from_seed([21; 32]);
        let hash_key = [5u8; 32];
        for depth in [1usize, 2, 5, 8] {
            let trees = 7;
            let width = 1 << depth;
            let delta: u128 = rng.random();
            let roots: Vec<u128> = (0..trees).map(|_| rng.random()).collect();
            let alphas: Vec<usize> = (0..trees).map(|_| rng.random_range(0..width)).collect();
            let betas: Vec<u128> = (0..trees).map(|_| rng.random::<u128>() | 1).collect();
            // Base VOLE: γ = δ ⊕ β ⊗ Δ.
            let deltas: Vec<u128> = (0..trees).map(|_| rng.random()).collect();
            let gammas: Vec<u128> = deltas
                .iter()
                .zip(&betas)
                .map(|(d, b)| d ^ mul(*b, delta))
                .collect();
            // Correlated OTs with choice = not the path bit: T = Q ⊕ r·Δ.
            let q: Vec<u128> = (0..trees * depth).map(|_| rng.random()).collect();
            let t: Vec<u128> = q
                .iter()
                .enumerate()
                .map(|(i, &qi)| {
                    let (j, level) = (i / depth, i % depth);
                    let r = !path_bit(alphas[j], depth, level);
                    if r { qi ^ delta } else { qi }
                })
                .collect();
            let mut b = leaves(trees * width);
            let msg = send(&roots, depth, &hash_key, delta, &q, &deltas, &mut b);
            assert_eq!(msg.len(), trees * message_blocks(depth));
            let mut c = leaves(trees * width);
            receive(&msg, depth, &hash_key, &t, &alphas, &gammas, &mut c);
            for j in 0..trees {
                for i in 0..width {
                    let k = j * width + i;
                    if i == alphas[j] {
                        assert_eq!(c[k], b[k] ^ mul(betas[j], delta), "depth {depth} tree {j}");
                    } else {
                        assert_eq!(c[k], b[k], "depth {depth} tree {j} leaf {i}");
                    }
                }
            }
            // Leaves are not trivially related to the root or each other.
            assert!(b[..width].iter().all(|&v| v != roots[0]));
        }
    }

    #[test]
    fn a_wrong_ot_key_spoils_the_punctured_tree() {
        let mut rng = StdRng::from_seed([22; 32]);
        let (depth, hash_key, delta) = (4usize, [6u8; 32], rng.random::<u128>());
        let q: Vec<u128> = (0..depth).map(|_| rng.random()).collect();
        let mut b = leaves(1 << depth);
        let msg = send(&[rng.random()], depth, &hash_key, delta, &q, &[0], &mut b);
        // Choosing the path bit itself (the wrong key) yields garbage siblings.
        let mut c = leaves(1 << depth);
        receive(&msg, depth, &hash_key, &q, &[0], &[0], &mut c);
        assert_ne!(&c[1..], &b[1..]);
    }
}
