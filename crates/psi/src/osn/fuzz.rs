//! Entry points for the `osn_message` fuzz target, which cannot reach the
//! crate-private shuffle otherwise. Not an API: hidden, and free to change.

use rand::SeedableRng;
use rand::rngs::StdRng;
use zeroize::Zeroizing;

use super::{OsnMessage, ShuffleHolder, ShufflePermuter};
use crate::PsiError;

/// `log_n` of the fuzzed parties: 4 wires, 3 layers, one 128-row columns chunk.
pub const FUZZ_LOG_N: u32 = 2;
/// `ℓ` of the fuzzed parties.
pub const FUZZ_ELL: usize = 3;
/// Batch size the fuzzed parties poll with.
pub const FUZZ_BATCH: u32 = 2;

/// The bytes a payload encodes back to, if it decodes.
pub fn reencode(payload: &[u8]) -> Option<Vec<u8>> {
    OsnMessage::decode(payload).ok().map(|m| m.encode())
}

/// A shuffle holder with fixed sizes and seed.
pub struct FuzzHolder(ShuffleHolder);

/// A shuffle permuter with fixed sizes and seed.
pub struct FuzzPermuter(ShufflePermuter);

/// A fresh pair of parties for the same session.
pub fn parties(seed: u8) -> (FuzzHolder, FuzzPermuter) {
    let context = [seed; 32];
    let mut rng = StdRng::from_seed([seed ^ 0x3c; 32]);
    let w = Zeroizing::new(vec![seed; FUZZ_ELL << FUZZ_LOG_N]);
    let holder = ShuffleHolder::new(&context, FUZZ_LOG_N, FUZZ_ELL, w, &mut rng);
    let permuter = ShufflePermuter::new(&context, FUZZ_LOG_N, FUZZ_ELL, &mut rng);
    (FuzzHolder(holder), FuzzPermuter(permuter))
}

impl FuzzHolder {
    /// [`ShuffleHolder::poll_payload`] at [`FUZZ_BATCH`].
    pub fn poll(&mut self) -> Option<Vec<u8>> {
        self.0.poll_payload(FUZZ_BATCH)
    }

    /// [`ShuffleHolder::handle_payload`].
    ///
    /// # Errors
    /// As the party's.
    pub fn handle(&mut self, payload: &[u8]) -> Result<(), PsiError> {
        self.0.handle_payload(payload)
    }

    /// [`ShuffleHolder::is_done`].
    pub fn is_done(&self) -> bool {
        self.0.is_done()
    }
}

impl FuzzPermuter {
    /// [`ShufflePermuter::poll_payload`] at [`FUZZ_BATCH`].
    pub fn poll(&mut self) -> Option<Vec<u8>> {
        self.0.poll_payload(FUZZ_BATCH)
    }

    /// [`ShufflePermuter::handle_payload`].
    ///
    /// # Errors
    /// As the party's.
    pub fn handle(&mut self, payload: &[u8]) -> Result<(), PsiError> {
        self.0.handle_payload(payload)
    }

    /// [`ShufflePermuter::is_done`].
    pub fn is_done(&self) -> bool {
        self.0.is_done()
    }
}
