//! The Beneš network on `n = 2^k` wires (Beneš 1964), laid out in place, and its
//! routing by the looping algorithm (Waksman 1968; Beneš's own proof of
//! rearrangeability).
//!
//! **Wiring.** `2k − 1` layers of `n/2` two-by-two switches. Layer `l` pairs the
//! wire positions that differ in bit `b(l)` only, `b(l) = k − 1 − l` for `l < k` and
//! `l − (k − 1)` after: the dimensions run `k−1, …, 1, 0, 1, …, k−1`. Switch `s`
//! of a layer acts on positions `p0 < p1 = p0 + 2^b`, where `p0` is `s` with a 0
//! inserted at bit `b`; its global index is `l·n/2 + s`. A switch with control bit
//! 0 passes its wires straight, with 1 it swaps them. Read recursively, the first
//! and last layers (bit `k − 1`) split the wires into a top half `[0, n/2)` and a
//! bottom half `[n/2, n)`, each of which is a Beneš network on `n/2` wires made of
//! layers `1 .. 2k − 3`.
//!
//! **Routing.** For a sub-network of `m` wires realising `out[j] = in[p[j]]`, the
//! looping algorithm two-colours the inputs (top or bottom half) so that the two
//! inputs of every first-layer switch, and the two sources of every last-layer
//! switch's outputs, get different halves: start at an output switch not yet
//! routed, send its output `j` through the top, hence input `p[j]` top, its partner
//! `p[j] ⊕ m/2` bottom, hence the output `j'` it feeds comes from the bottom, hence
//! `j' ⊕ m/2` from the top, and so on until the loop closes. The colours fix the
//! outer switches and the two half-size permutations, routed the same way, one
//! level of the recursion at a time (`O(n log n)` time, `O(n)` words of memory).

use zeroize::Zeroizing;

/// Layers of the network on `2^log_n` wires.
pub(crate) fn layers(log_n: u32) -> usize {
    2 * log_n as usize - 1
}

/// Switches in the whole network (every layer has `n/2`).
pub(crate) fn switches(log_n: u32) -> usize {
    layers(log_n) << (log_n - 1)
}

/// The bit in which the two positions of every switch of `layer` differ.
fn layer_bit(log_n: u32, layer: usize) -> u32 {
    let k = log_n as usize;
    // layer < 2k − 1 ≤ 2·MAX_LOG_N: the casts are exact.
    if layer < k {
        (k - 1 - layer) as u32
    } else {
        (layer - (k - 1)) as u32
    }
}

/// The positions `(p0, p1)` switch `s` of `layer` connects.
pub(crate) fn switch_wires(log_n: u32, layer: usize, s: usize) -> (usize, usize) {
    let b = layer_bit(log_n, layer);
    let low = s & ((1usize << b) - 1);
    let p0 = ((s >> b) << (b + 1)) | low;
    (p0, p0 | 1 << b)
}

/// The positions of global switch `g` (`layer · n/2 + s`).
pub(crate) fn global_wires(log_n: u32, g: usize) -> (usize, usize) {
    let per_layer = 1usize << (log_n - 1);
    switch_wires(log_n, g / per_layer, g % per_layer)
}

/// Control bit of global switch `g` in a packed vector (bit `g % 8` of byte `g / 8`).
pub(crate) fn bit(bits: &[u8], g: usize) -> u8 {
    bits.get(g / 8).map_or(0, |b| b >> (g % 8) & 1)
}

fn set_bit(bits: &mut [u8], g: usize, value: u8) {
    if let Some(b) = bits.get_mut(g / 8) {
        *b |= (value & 1) << (g % 8);
    }
}

/// The control bits that make the network realise `out[j] = in[perm[j]]`, packed
/// (bit `g % 8` of byte `g / 8` for global switch `g`), `⌈switches / 8⌉` bytes.
/// `perm` must be a permutation of `0..2^log_n` (our own draw; a repeated or
/// out-of-range entry gives a network that realises something else, never a panic).
pub(crate) fn route(log_n: u32, perm: &[u32]) -> Zeroizing<Vec<u8>> {
    let n = 1usize << log_n;
    debug_assert_eq!(perm.len(), n);
    let mut bits = Zeroizing::new(vec![0u8; switches(log_n).div_ceil(8)]);
    let per_layer = n / 2;
    // Everything below describes the secret permutation: wiped when dropped.
    let mut cur: Zeroizing<Vec<u32>> = Zeroizing::new(perm.to_vec());
    cur.resize(n, 0);
    let mut next: Zeroizing<Vec<u32>> = Zeroizing::new(vec![0u32; n]);
    let mut inv: Zeroizing<Vec<u32>> = Zeroizing::new(vec![0u32; n]);
    let mut colour: Zeroizing<Vec<u8>> = Zeroizing::new(vec![0u8; n]);
    let mut seen: Zeroizing<Vec<bool>> = Zeroizing::new(vec![false; n / 2]);
    for d in (1..=log_n).rev() {
        let m = 1usize << d;
        let half = m / 2;
        // The outer layers of every sub-network of 2^d wires.
        let first = (log_n - d) as usize;
        let last = (log_n + d - 2) as usize;
        seen.fill(false);
        for base in (0..n).step_by(m) {
            let p = &cur[base..base + m];
            if d == 1 {
                // One switch: crossed exactly when out[0] = in[1].
                set_bit(&mut bits, first * per_layer + base / 2, (p[0] & 1) as u8);
                continue;
            }
            let inv = &mut inv[base..base + m];
            for (j, &i) in p.iter().enumerate() {
                // i < m ≤ 2^28 and j < m: the casts are exact; `% m` keeps a
                // malformed entry in range.
                inv[i as usize % m] = j as u32;
            }
            let colour = &mut colour[base..base + m];
            let seen = &mut seen[base / 2..base / 2 + half];
            for start in 0..half {
                if seen[start] {
                    continue;
                }
                let mut j = start;
                loop {
                    seen[j % half] = true;
                    let i = p[j] as usize % m;
                    colour[i] = 0;
                    colour[i ^ half] = 1;
                    // The output fed by the partner comes from the bottom half;
                    // its own partner must come from the top.
                    j = inv[i ^ half] as usize ^ half;
                    if seen[j % half] {
                        break;
                    }
                }
            }
            for s in 0..half {
                // Input s goes top (straight) or bottom (crossed).
                set_bit(&mut bits, first * per_layer + base / 2 + s, colour[s]);
                // Output s is fed from the bottom half: crossed.
                let from_bottom = colour[p[s] as usize % m];
                set_bit(&mut bits, last * per_layer + base / 2 + s, from_bottom);
                let (top_out, bottom_out) = if from_bottom == 1 {
                    (s + half, s)
                } else {
                    (s, s + half)
                };
                // Input i sits at position i mod half of the half it went to.
                next[base + s] = p[top_out] % half as u32;
                next[base + half + s] = p[bottom_out] % half as u32;
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    bits
}

/// Runs the network in the clear: afterwards `values[j]` holds the old
/// `values[perm[j]]` for the permutation `bits` was routed for. For tests and for
/// documenting what the shares compute.
#[cfg(test)]
pub(crate) fn apply<T>(log_n: u32, bits: &[u8], values: &mut [T]) {
    for g in 0..switches(log_n) {
        let (p0, p1) = global_wires(log_n, g);
        if bit(bits, g) == 1 {
            values.swap(p0, p1);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn realises(log_n: u32, perm: &[u32]) -> bool {
        let bits = route(log_n, perm);
        let mut values: Vec<u32> = (0..1u32 << log_n).collect();
        apply(log_n, &bits, &mut values);
        values == perm
    }

    fn random_perm(log_n: u32, rng: &mut StdRng) -> Vec<u32> {
        let mut perm: Vec<u32> = (0..1u32 << log_n).collect();
        for i in (1..perm.len()).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        perm
    }

    #[test]
    fn wiring_pairs_every_position_once_per_layer() {
        for log_n in 1..=6u32 {
            let n = 1usize << log_n;
            for layer in 0..layers(log_n) {
                let mut hit = vec![0u8; n];
                for s in 0..n / 2 {
                    let (p0, p1) = switch_wires(log_n, layer, s);
                    assert!(p0 < p1 && p1 < n);
                    hit[p0] += 1;
                    hit[p1] += 1;
                }
                assert!(hit.iter().all(|&h| h == 1), "log_n {log_n} layer {layer}");
            }
        }
    }

    #[test]
    fn identity_and_reverse_for_every_size() {
        for log_n in 1..=10u32 {
            let n = 1u32 << log_n;
            let identity: Vec<u32> = (0..n).collect();
            let reverse: Vec<u32> = (0..n).rev().collect();
            assert!(realises(log_n, &identity), "identity, log_n {log_n}");
            assert!(realises(log_n, &reverse), "reverse, log_n {log_n}");
            // The identity needs no crossing at all.
            assert!(route(log_n, &identity).iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn random_permutations_for_every_size() {
        let mut rng = StdRng::from_seed([21; 32]);
        for log_n in 1..=10u32 {
            for _ in 0..8 {
                let perm = random_perm(log_n, &mut rng);
                assert!(realises(log_n, &perm), "log_n {log_n}");
            }
        }
    }

    #[test]
    fn every_permutation_of_eight_wires() {
        // All 8! permutations: the routing is complete, not lucky.
        let mut perm: Vec<u32> = (0..8).collect();
        let mut count = 0;
        loop {
            assert!(realises(3, &perm), "{perm:?}");
            count += 1;
            // Next permutation in lexicographic order.
            let Some(i) = (0..7).rev().find(|&i| perm[i] < perm[i + 1]) else {
                break;
            };
            let j = (i + 1..8).rev().find(|&j| perm[j] > perm[i]).unwrap_or(i);
            perm.swap(i, j);
            perm[i + 1..].reverse();
        }
        assert_eq!(count, 40_320);
    }

    proptest! {
        #[test]
        fn routing_realises_any_permutation(log_n in 1u32..=10, seed in any::<[u8; 32]>()) {
            let perm = random_perm(log_n, &mut StdRng::from_seed(seed));
            prop_assert!(realises(log_n, &perm));
        }
    }
}
