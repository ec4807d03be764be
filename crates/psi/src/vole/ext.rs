//! IKNP-style OT extension used as a VOLE over `GF(2)^ℓ` (Ishai–Kilian–Nissim–Petrank
//! 2003; the PaXoS use of it in Pinkas–Rosulek–Trieu–Yanai, EUROCRYPT 2020): for
//! each of `m` rows the receiver holds `P_j` (its OKVS encoding) and `T_j`, the sender
//! holds `s` and `Q_j`, with
//!
//! `Q_j = T_j ⊕ (P_j ∧ s)`.
//!
//! Column `i` of the matrices is stretched from base-OT key `k_i^b` with ChaCha20
//! (zero nonce, one key per column): the receiver sends `u^i = G(k_i^0) ⊕ G(k_i^1)
//! ⊕ p^i` column by column; the sender, holding `k_i^{s_i}`, sets
//! `q^i = G(k_i^{s_i}) ⊕ s_i·u^i`. The matrices travel in chunks of rows; both sides
//! draw each column's stream chunk by chunk in the same order.

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::hash::{row_bytes, row_from_bytes};
use super::okvs::Row;
use super::ot::OtKey;
use super::params::{BASE_OTS, VALUE_WORDS};
use super::transpose::transpose;

/// One column's PRG: the ChaCha20 keystream under a base-OT key.
pub(crate) struct Prg(ChaCha20);

impl Prg {
    pub(crate) fn new(key: &OtKey) -> Self {
        Prg(ChaCha20::new(&(**key).into(), &[0u8; 12].into()))
    }

    /// XORs the next `out.len()` stream bytes into `out`.
    pub(crate) fn xor_next(&mut self, out: &mut [u8]) {
        self.0.apply_keystream(out);
    }
}

fn rows_to_bytes(rows: &[Row]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(rows.len() * 64));
    for r in rows {
        out.extend_from_slice(&row_bytes(r));
    }
    out
}

fn bytes_to_rows(bytes: &[u8]) -> Vec<Row> {
    bytes.chunks_exact(64).map(row_from_bytes).collect()
}

/// The receiver of the extension: both keys of every base OT.
pub(crate) struct ExtReceiver {
    zero: Vec<Prg>,
    one: Vec<Prg>,
}

impl ExtReceiver {
    /// From the `BASE_OTS` key pairs of the base OTs (we sent them).
    pub(crate) fn new(keys: &[(OtKey, OtKey)]) -> Self {
        ExtReceiver {
            zero: keys.iter().map(|(k0, _)| Prg::new(k0)).collect(),
            one: keys.iter().map(|(_, k1)| Prg::new(k1)).collect(),
        }
    }

    /// The next chunk: our rows `p` (a multiple of 64 of them) in, the columns `u`
    /// for the sender (`BASE_OTS` columns of `p.len() / 8` bytes each, in column
    /// order) and our rows `T_j` out.
    pub(crate) fn chunk(&mut self, p: &[Row]) -> (Vec<u8>, Vec<Row>) {
        let rows = p.len();
        let col_len = rows / 8;
        let mut u = transpose(&rows_to_bytes(p), rows, BASE_OTS);
        let mut t = Zeroizing::new(vec![0u8; u.len()]);
        u.par_chunks_mut(col_len.max(1))
            .zip(t.par_chunks_mut(col_len.max(1)))
            .zip(self.zero.par_iter_mut().zip(self.one.par_iter_mut()))
            .for_each(|((u_col, t_col), (g0, g1))| {
                g0.xor_next(t_col);
                g1.xor_next(u_col);
                for (x, y) in u_col.iter_mut().zip(t_col.iter()) {
                    *x ^= y;
                }
            });
        let t_rows = bytes_to_rows(&transpose(&t, BASE_OTS, rows));
        (u, t_rows)
    }
}

/// The sender of the extension: its secret `s` and the chosen key of every base OT.
pub(crate) struct ExtSender {
    chosen: Vec<Prg>,
    choices: Vec<bool>,
    s_row: Zeroizing<Row>,
}

impl ExtSender {
    /// From our choice bits `s` and the keys the base OTs gave us.
    pub(crate) fn new(choices: Vec<bool>, keys: &[OtKey]) -> Self {
        let mut s_row = Zeroizing::new([0u64; VALUE_WORDS]);
        for (i, &c) in choices.iter().enumerate() {
            if let Some(w) = s_row.get_mut(i / 64) {
                *w |= u64::from(c) << (i % 64);
            }
        }
        ExtSender {
            chosen: keys.iter().map(Prg::new).collect(),
            choices,
            s_row,
        }
    }

    /// `s` as a row: `Q_j = T_j ⊕ (P_j ∧ s)`.
    pub(crate) fn s_row(&self) -> &Row {
        &self.s_row
    }

    /// The next chunk: the receiver's columns `u` for `rows` rows in, our rows
    /// `Q_j` out. `u` must hold `BASE_OTS · rows / 8` bytes (checked by the caller).
    pub(crate) fn chunk(&mut self, u: &[u8], rows: usize) -> Vec<Row> {
        let col_len = rows / 8;
        let mut q = Zeroizing::new(vec![0u8; BASE_OTS * col_len]);
        q.par_chunks_mut(col_len.max(1))
            .zip(u.par_chunks(col_len.max(1)))
            .zip(self.chosen.par_iter_mut().zip(self.choices.par_iter()))
            .for_each(|((q_col, u_col), (g, &c))| {
                g.xor_next(q_col);
                if c {
                    for (x, y) in q_col.iter_mut().zip(u_col) {
                        *x ^= y;
                    }
                }
            });
        bytes_to_rows(&transpose(&q, BASE_OTS, rows))
    }
}

impl Drop for ExtSender {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.choices);
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::super::okvs::xor_into;
    use super::*;

    #[test]
    fn correlation_holds_on_every_row_across_chunks() {
        let mut rng = StdRng::from_seed([6; 32]);
        let pairs: Vec<(OtKey, OtKey)> = (0..BASE_OTS)
            .map(|_| (Zeroizing::new(rng.random()), Zeroizing::new(rng.random())))
            .collect();
        let choices: Vec<bool> = (0..BASE_OTS).map(|_| rng.random()).collect();
        let chosen: Vec<OtKey> = pairs
            .iter()
            .zip(&choices)
            .map(|((k0, k1), &c)| if c { k1.clone() } else { k0.clone() })
            .collect();
        let mut receiver = ExtReceiver::new(&pairs);
        let mut sender = ExtSender::new(choices.clone(), &chosen);
        for rows in [128usize, 256, 128] {
            let p: Vec<Row> = (0..rows).map(|_| rng.random()).collect();
            let (u, t) = receiver.chunk(&p);
            assert_eq!(u.len(), BASE_OTS * rows / 8);
            let q = sender.chunk(&u, rows);
            for j in 0..rows {
                let mut expected = t[j];
                let mut masked = p[j];
                for (m, s) in masked.iter_mut().zip(sender.s_row()) {
                    *m &= s;
                }
                xor_into(&mut expected, &masked);
                assert_eq!(q[j], expected, "row {j}");
            }
        }
        // The sender's key row really is its choice bits.
        let ones = sender.s_row().iter().map(|w| w.count_ones()).sum::<u32>();
        assert_eq!(ones as usize, choices.iter().filter(|&&c| c).count());
    }
}
