//! The PRG of the OT extensions: each base-OT key `k_i^b` stretched with ChaCha20
//! (zero nonce, one key per column) into column `i` of the extension matrices, as in
//! Ishai–Kilian–Nissim–Petrank 2003. Both sides draw each column's stream chunk by
//! chunk in the same order. Used by the correlated-OT extension of
//! [`crate::silent::cot`].

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};

use super::ot::OtKey;

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
