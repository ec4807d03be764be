//! The two ends of one silent VOLE, step by step, with no messages of their own:
//! the RR22 parties carry the base-OT points, the correlated-OT columns and the tree
//! message in theirs.
//!
//! 1. The receiver runs the base OTs as OT sender, the sender chooses with the bits
//!    of its `Δ` ([`SilentSender::new`], [`SilentReceiver::set_base_keys`]).
//! 2. The receiver sends the correlated-OT columns chunk by chunk
//!    ([`SilentReceiver::columns`] → [`SilentSender::absorb_columns`]); its choice
//!    bits are its base-VOLE `β_j` (128 rows per tree), then for every tree level the
//!    complement of its path bit.
//! 3. The sender grows the trees and sends their message ([`SilentSender::trees`]),
//!    keeping `B`; the receiver opens them ([`SilentReceiver::open`]) into `A`, `C`.

use std::ops::Range;

use rand::{CryptoRng, RngExt};
use zeroize::Zeroizing;

use super::code::Code;
use super::cot::{CotChooser, CotHolder};
use super::gf128::gadget;
use super::ggm;
use super::params::SilentParams;
use crate::vole::ot::OtKey;

/// Derivation label of the key of the correlated-OT hash.
const OT_HASH_LABEL: &str = "blindmatch/v1/psi/vole-rr22/cot-hash";

fn ot_hash_key(context: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key(OT_HASH_LABEL, context)
}

/// The sender's end: `Δ` and, at the end, `B`.
pub(crate) struct SilentSender {
    params: SilentParams,
    context: [u8; 32],
    delta: Zeroizing<u128>,
    holder: Option<CotHolder>,
    q: Zeroizing<Vec<u128>>,
}

impl SilentSender {
    /// Draws `Δ`; its bits are the choices of our base OTs ([`Self::choices`]).
    pub(crate) fn new<R: CryptoRng + ?Sized>(
        params: SilentParams,
        context: &[u8; 32],
        rng: &mut R,
    ) -> Self {
        SilentSender {
            params,
            context: *context,
            delta: Zeroizing::new(rng.random()),
            holder: None,
            q: Zeroizing::new(Vec::with_capacity(params.cot_rows())),
        }
    }

    /// The base-OT choice bits: `Δ`, low bit first.
    pub(crate) fn choices(&self) -> Vec<bool> {
        (0..128).map(|i| *self.delta >> i & 1 == 1).collect()
    }

    /// `Δ`.
    pub(crate) fn delta(&self) -> u128 {
        *self.delta
    }

    /// The keys our base OTs gave us.
    pub(crate) fn set_base_keys(&mut self, keys: &[OtKey]) {
        self.holder = Some(CotHolder::new(*self.delta, keys));
    }

    #[cfg(test)]
    /// Correlated-OT rows received so far.
    pub(crate) fn rows_received(&self) -> usize {
        self.q.len()
    }

    /// The next chunk of the receiver's columns, for `rows` rows (`128 · rows / 8`
    /// bytes, checked by the caller). Returns false before the base keys are set.
    pub(crate) fn absorb_columns(&mut self, u: &[u8], rows: usize) -> bool {
        let Some(holder) = self.holder.as_mut() else {
            return false;
        };
        let q = holder.extend(u, rows);
        self.q.extend_from_slice(&q);
        true
    }

    /// Once every row is in: grows the trees from fresh roots and returns their
    /// message and our compressed `B` (`params.outputs` entries).
    pub(crate) fn trees<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> (Vec<u128>, Zeroizing<Vec<u128>>) {
        let p = self.params;
        let deltas: Zeroizing<Vec<u128>> =
            Zeroizing::new(self.q.chunks(128).take(p.trees).map(gadget).collect());
        let tree_rows = self
            .q
            .get(p.base_vole_rows()..p.base_vole_rows() + p.tree_rows())
            .unwrap_or_default();
        debug_assert_eq!(tree_rows.len(), p.tree_rows(), "trees() before every row");
        let roots: Zeroizing<Vec<u128>> =
            Zeroizing::new((0..p.trees).map(|_| rng.random()).collect());
        let mut b = ggm::leaves(p.code_len);
        let message = ggm::send(
            &roots,
            p.depth,
            &ot_hash_key(&self.context),
            *self.delta,
            tree_rows,
            &deltas,
            &mut b,
        );
        let code = Code::new(&self.context, p.outputs, p.code_len);
        code.compress(&mut b);
        self.q = Zeroizing::new(Vec::new());
        self.holder = None;
        (message, b)
    }
}

/// The receiver's end: its noise positions and values and, at the end, `A` and `C`.
pub(crate) struct SilentReceiver {
    params: SilentParams,
    context: [u8; 32],
    alphas: Zeroizing<Vec<usize>>,
    /// Choice bits of every correlated-OT row, as bytes (bit `j % 8` of byte `j / 8`).
    choices: Zeroizing<Vec<u8>>,
    chooser: Option<CotChooser>,
    t: Zeroizing<Vec<u128>>,
}

impl SilentReceiver {
    /// Draws the noise: a leaf `α_j` and a non-zero `β_j` per tree.
    pub(crate) fn new<R: CryptoRng + ?Sized>(
        params: SilentParams,
        context: &[u8; 32],
        rng: &mut R,
    ) -> Self {
        let p = params;
        let alphas: Zeroizing<Vec<usize>> = Zeroizing::new(
            (0..p.trees)
                .map(|_| rng.random_range(0..1usize << p.depth))
                .collect(),
        );
        let mut choices = Zeroizing::new(vec![0u8; p.cot_rows() / 8]);
        // β_j: 16 random bytes, never zero (a zero β would drop a noise position).
        for j in 0..p.trees {
            let mut beta: u128 = 0;
            while beta == 0 {
                beta = rng.random();
            }
            if let Some(dst) = choices.get_mut(16 * j..16 * j + 16) {
                dst.copy_from_slice(&beta.to_le_bytes());
            }
        }
        for (j, &alpha) in alphas.iter().enumerate() {
            for level in 0..p.depth {
                let row = p.base_vole_rows() + j * p.depth + level;
                if !ggm::path_bit(alpha, p.depth, level)
                    && let Some(byte) = choices.get_mut(row / 8)
                {
                    *byte |= 1 << (row % 8);
                }
            }
        }
        SilentReceiver {
            params,
            context: *context,
            alphas,
            choices,
            chooser: None,
            t: Zeroizing::new(Vec::with_capacity(p.cot_rows())),
        }
    }

    /// Both keys of each of our 128 base OTs (we were the OT sender).
    pub(crate) fn set_base_keys(&mut self, pairs: &[(OtKey, OtKey)]) {
        self.chooser = Some(CotChooser::new(pairs));
    }

    /// The columns for correlated-OT rows `rows` (whole 128-row blocks, in order,
    /// each range once). Empty before the base keys are set.
    pub(crate) fn columns(&mut self, rows: Range<usize>) -> Vec<u8> {
        let Some(chooser) = self.chooser.as_mut() else {
            return Vec::new();
        };
        let bits = self
            .choices
            .get(rows.start / 8..rows.end / 8)
            .unwrap_or_default();
        debug_assert_eq!(bits.len(), rows.len() / 8, "rows past the choices");
        let (u, t) = chooser.extend(bits, rows.len());
        self.t.extend_from_slice(&t);
        u
    }

    /// Opens the sender's tree message (`trees · (2d + 1)` blocks, checked by the
    /// caller) into `(A_i, C_i)` pairs, `params.outputs` of them.
    pub(crate) fn open(&mut self, message: &[u128]) -> Zeroizing<Vec<[u128; 2]>> {
        let p = self.params;
        let gammas: Zeroizing<Vec<u128>> =
            Zeroizing::new(self.t.chunks(128).take(p.trees).map(gadget).collect());
        let tree_rows = self
            .t
            .get(p.base_vole_rows()..p.base_vole_rows() + p.tree_rows())
            .unwrap_or_default();
        debug_assert_eq!(tree_rows.len(), p.tree_rows(), "open() before every row");
        let mut c = ggm::leaves(p.code_len);
        ggm::receive(
            message,
            p.depth,
            &ot_hash_key(&self.context),
            tree_rows,
            &self.alphas,
            &gammas,
            &mut c,
        );
        let mut pairs: Zeroizing<Vec<[u128; 2]>> =
            Zeroizing::new(c.iter().map(|&ci| [0, ci]).collect());
        for (j, &alpha) in self.alphas.iter().enumerate() {
            let beta = self
                .choices
                .get(16 * j..16 * j + 16)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map_or(0, u128::from_le_bytes);
            if let Some(pair) = pairs.get_mut((j << p.depth) + alpha) {
                pair[0] = beta;
            }
        }
        drop(c);
        let code = Code::new(&self.context, p.outputs, p.code_len);
        code.compress(&mut pairs);
        self.t = Zeroizing::new(Vec::new());
        self.chooser = None;
        pairs
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::super::gf128::mul;
    use super::*;
    use crate::vole::ot::{self, OtSender};

    /// A whole silent VOLE between the two ends, base OTs included.
    pub(crate) fn run(m: usize, chunk: usize, seed: u8) -> (u128, Vec<u128>, Vec<[u128; 2]>) {
        let mut rng = StdRng::from_seed([seed; 32]);
        let context = [seed ^ 0x5a; 32];
        let params = SilentParams::for_outputs(m);
        let mut sender = SilentSender::new(params, &context, &mut rng);
        let mut receiver = SilentReceiver::new(params, &context, &mut rng);
        let ot_sender = OtSender::new(&mut rng);
        let (points, keys) =
            ot::receive(&context, &ot_sender.public(), &sender.choices(), &mut rng)
                .expect("own points");
        sender.set_base_keys(&keys);
        receiver.set_base_keys(&ot_sender.keys(&context, &points).expect("own points"));
        let total = params.cot_rows();
        let mut start = 0;
        while start < total {
            let end = (start + chunk).min(total);
            let u = receiver.columns(start..end);
            assert!(sender.absorb_columns(&u, end - start));
            start = end;
        }
        assert_eq!(sender.rows_received(), total);
        let (message, b) = sender.trees(&mut rng);
        assert_eq!(
            message.len(),
            params.trees * ggm::message_blocks(params.depth)
        );
        let ac = receiver.open(&message);
        (sender.delta(), b.to_vec(), ac.to_vec())
    }

    #[test]
    fn silent_vole_end_to_end() {
        for (m, chunk, seed) in [(256usize, 1 << 14, 1u8), (3000, 512, 2), (40_000, 4096, 3)] {
            let (delta, b, ac) = run(m, chunk, seed);
            assert_eq!((b.len(), ac.len()), (m, m));
            for i in 0..m {
                assert_eq!(ac[i][1], b[i] ^ mul(ac[i][0], delta), "m {m} entry {i}");
            }
            // A is pseudorandom, not the sparse noise: (almost) no zero entries.
            let zeros = ac.iter().filter(|p| p[0] == 0).count();
            assert!(zeros <= m / 100, "m {m}: {zeros} zero entries of A");
        }
    }
}
