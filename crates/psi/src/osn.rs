//! Oblivious shuffle ("permute + share", Mohassel–Sadeghian, EUROCRYPT 2013,
//! §§3–4), sans-IO: the building block of cardinality mode in the style of
//! Garimella–Mohassel–Rosulek–Sadeghian–Singh, "Private Set Operations from
//! Oblivious Switching" (PKC 2021, §5).
//!
//! The *holder* R has a vector `w` of `n = 2^k` values of `ℓ` bytes; the
//! *permuter* S draws a uniformly random permutation `π`. At the end R holds `s`,
//! S holds `t`, with `s_j ⊕ t_j = w_{π(j)}` for every `j`; R learns nothing of `π`,
//! S nothing of `w`.
//!
//! 1. S routes `π` through a Beneš network ([`benes`]): one secret control bit per
//!    switch, `(2k − 1)·n/2` switches.
//! 2. Base OTs (128 simplest OTs on ristretto255, [`crate::vole::ot`]): S is the OT
//!    sender, R chooses with the bits of a fresh `Δ` (`Start`, `Choices`).
//! 3. R masks its inputs with random `ρ` and sends S its shares `x = w ⊕ ρ`
//!    (`Inputs`).
//! 4. The IKNP correlated-OT extension ([`crate::silent::cot`]) gives one row per
//!    switch, S choosing with the switch's bit (`Columns`, S → R, 16 bytes per
//!    switch, rows padded to a multiple of 128 at the end of the stream).
//! 5. Per switch, R turns its row into fresh output masks and a correction `z`
//!    (`Corrections`, `2ℓ` bytes per switch) with which S moves its shares through
//!    the switch ([`switch`]). R's masks of the last layer are `s`, S's shares `t`.
//!
//! S sends first. R answers every `Columns` chunk with one `Corrections` chunk as
//! soon as it is handled; S can send all its columns without waiting and keeps no
//! per-switch state: it regenerates its rows `T_j` from the base-OT keys when the
//! corrections come back. Memory is `O(n·ℓ)` plus one chunk on both sides (and
//! S's `n` permutation words and one bit per switch). Byte layouts, labels and
//! checks: `docs/protocol.md`, "Oblivious shuffle".

pub(crate) mod benes;
#[doc(hidden)]
pub mod fuzz;
mod holder;
pub(crate) mod message;
mod permuter;
pub(crate) mod switch;
#[cfg(test)]
mod tests;

pub(crate) use holder::ShuffleHolder;
pub(crate) use message::OsnMessage;
pub(crate) use permuter::ShufflePermuter;

use message::{COLUMN_BLOCK, HEADER_LEN};

/// Derivation label of the context of the shuffle's base OTs (kept apart from
/// the silent VOLE's, which use the session context itself).
pub(crate) const BASE_OT_LABEL: &str = "blindmatch/v1/psi/osn/base-ot";

/// Largest `log_n` (the permutation is stored as `u32` words).
pub(crate) const MAX_LOG_N: u32 = 28;
/// Largest value length `ℓ` in bytes.
pub(crate) const MAX_ELL: usize = 1024;
/// Bound on the body of one chunk, so that no payload nears the 16 MiB frames.
const MAX_CHUNK_BYTES: usize = 1 << 23;

/// The sizes of one shuffle, checked at construction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    log_n: u32,
    ell: usize,
}

impl Shape {
    /// `None` unless `1 ≤ log_n ≤ MAX_LOG_N` and `1 ≤ ell ≤ MAX_ELL`.
    fn new(log_n: u32, ell: usize) -> Option<Self> {
        ((1..=MAX_LOG_N).contains(&log_n) && (1..=MAX_ELL).contains(&ell))
            .then_some(Shape { log_n, ell })
    }

    /// Values `n`.
    fn n(self) -> usize {
        1 << self.log_n
    }

    /// Bytes of a whole vector, `n·ℓ`.
    fn vector_len(self) -> usize {
        self.n() * self.ell
    }

    /// Switches of the network (the correlated-OT rows that count).
    fn switches(self) -> usize {
        benes::switches(self.log_n)
    }

    /// Correlated-OT rows: the switches rounded up to whole 128-row blocks.
    fn rows(self) -> usize {
        self.switches().div_ceil(128) * 128
    }
}

/// The context of the shuffle's base OTs.
fn base_ot_context(context: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key(BASE_OT_LABEL, context)
}

/// Values per `Inputs` chunk at this batch size.
pub(crate) fn value_chunk(batch_size: u32, ell: usize) -> usize {
    (batch_size as usize).clamp(1, (MAX_CHUNK_BYTES / ell.max(1)).max(1))
}

/// Correlated-OT rows (switches) per `Columns` chunk at this batch size: the batch
/// size rounded down to whole 128-row blocks, at least one block.
pub(crate) fn row_chunk(batch_size: u32, ell: usize) -> usize {
    let per_row = (2 * ell).max(16);
    let blocks = (batch_size as usize / 128).clamp(1, (MAX_CHUNK_BYTES / (128 * per_row)).max(1));
    128 * blocks
}

/// Longest OSN payload either side sends at this batch size (for the session's frame limit).
pub(crate) fn max_payload_len(batch_size: u32, ell: usize) -> usize {
    let rows = row_chunk(batch_size, ell);
    let body = [
        32 * 128,
        value_chunk(batch_size, ell) * ell,
        rows / 128 * COLUMN_BLOCK,
        rows * 2 * ell,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    HEADER_LEN + body
}
