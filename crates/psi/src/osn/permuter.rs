//! S, the permuter: draws `π`, routes it, runs the base OTs as OT sender and
//! chooses the correlated OTs with its switch bits, then moves R's input shares
//! through the network as R's corrections come back.

use std::collections::VecDeque;

use rand::RngExt;
use rand::rngs::StdRng;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::benes::route;
use super::holder::check_chunk;
use super::message::{OsnMessage, TAG_COLUMNS, TAG_START, encode};
use super::switch::{pad_key, permuter_run};
use super::{Shape, base_ot_context, row_chunk};
use crate::silent::cot::{COT_WIDTH, CotChooser};
use crate::vole::ext::Prg;
use crate::vole::ot::OtSender;
use crate::vole::transpose::transpose;
use crate::{MessageKind, PsiError};

/// S: draws `π`, ends with `t`.
pub(crate) struct ShufflePermuter {
    /// `None` when constructed with sizes out of range: the party refuses all.
    shape: Option<Shape>,
    ot_context: [u8; 32],
    pad_key: Zeroizing<[u8; 32]>,
    perm: Zeroizing<Vec<u32>>,
    /// The switch bits, packed, padded with zeros to the correlated-OT rows.
    bits: Zeroizing<Vec<u8>>,
    ot: Option<OtSender>,
    start_sent: bool,
    chooser: Option<CotChooser>,
    /// The streams of the base-OT keys `k_i^0`, drawn again in step with the
    /// corrections: `T_j` comes from them alone, so S need not keep it.
    replay: Vec<Prg>,
    rows_sent: usize,
    columns_sent: u32,
    /// Rows of each columns chunk sent and not yet answered, oldest first.
    in_flight: VecDeque<usize>,
    /// Our shares of the current wires: R's `x`, then layer by layer.
    wires: Zeroizing<Vec<u8>>,
    inputs_received: usize,
    input_chunks: u32,
    corrections_received: u32,
    rows_done: usize,
    failed: bool,
}

impl std::fmt::Debug for ShufflePermuter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Progress only: π, the switch bits and the shares are secrets.
        f.debug_struct("ShufflePermuter")
            .field("shape", &self.shape)
            .field("rows_sent", &self.rows_sent)
            .field("rows_done", &self.rows_done)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
fn draw_permutation(n: usize, rng: &mut StdRng) -> Zeroizing<Vec<u32>> {
    // n ≤ 2^MAX_LOG_N < 2^32: every index fits.
    let mut perm: Zeroizing<Vec<u32>> = Zeroizing::new((0..n as u32).collect());
    for i in (1..n).rev() {
        perm.swap(i, rng.random_range(0..=i));
    }
    perm
}

/// The next `rows` rows `T_j` from the streams of the keys `k_i^0`, exactly as
/// [`CotChooser::extend`] computed them when the columns went out.
fn replay_rows(streams: &mut [Prg], rows: usize) -> Zeroizing<Vec<u128>> {
    let col_len = rows / 8;
    let mut t = Zeroizing::new(vec![0u8; COT_WIDTH * col_len]);
    t.par_chunks_mut(col_len.max(1))
        .zip(streams.par_iter_mut())
        .for_each(|(col, g)| g.xor_next(col));
    let bytes = Zeroizing::new(transpose(&t, COT_WIDTH, rows));
    Zeroizing::new(
        bytes
            .chunks_exact(16)
            .map(|c| {
                let mut b = [0u8; 16];
                b.copy_from_slice(c);
                u128::from_le_bytes(b)
            })
            .collect(),
    )
}

impl ShufflePermuter {
    /// Draws `π` (Fisher–Yates from `rng`) and our base-OT secret, and routes `π`.
    /// The sizes are the caller's own: with `log_n` outside `1..=28` or `ell`
    /// outside `1..=1024` the party refuses everything ([`PsiError::Aborted`]).
    pub(crate) fn new(context: &[u8; 32], log_n: u32, ell: usize, rng: &mut StdRng) -> Self {
        let shape = Shape::new(log_n, ell);
        let (perm, bits, wires) = match shape {
            Some(s) => {
                let perm = draw_permutation(s.n(), rng);
                let mut bits = route(s.log_n, &perm);
                bits.resize(s.rows() / 8, 0);
                (perm, bits, vec![0u8; s.vector_len()])
            }
            None => (Zeroizing::default(), Zeroizing::default(), Vec::new()),
        };
        ShufflePermuter {
            shape,
            ot_context: base_ot_context(context),
            pad_key: pad_key(context),
            perm,
            bits,
            ot: Some(OtSender::new(rng)),
            start_sent: false,
            chooser: None,
            replay: Vec::new(),
            rows_sent: 0,
            columns_sent: 0,
            in_flight: VecDeque::new(),
            wires: Zeroizing::new(wires),
            inputs_received: 0,
            input_chunks: 0,
            corrections_received: 0,
            rows_done: 0,
            failed: shape.is_none(),
        }
    }

    /// π: out `j` carries in `π[j]`.
    pub(crate) fn permutation(&self) -> &[u32] {
        &self.perm
    }

    #[cfg(test)]
    /// The packed switch bits (padding included).
    pub(crate) fn switch_bits_mut(&mut self) -> &mut [u8] {
        &mut self.bits
    }

    /// Next OSN payload to send, if any: our start, then, once R's base-OT
    /// choices are in, the correlated-OT columns chunk by chunk (no need to wait
    /// for the corrections in between).
    pub(crate) fn poll_payload(&mut self, batch_size: u32) -> Option<Vec<u8>> {
        let shape = self.shape.filter(|_| !self.failed)?;
        if !self.start_sent {
            let point = self.ot.as_ref()?.public();
            self.start_sent = true;
            return Some(encode(TAG_START, 0, &point));
        }
        let chooser = self.chooser.as_mut()?;
        if self.rows_sent == shape.rows() {
            return None;
        }
        // Both multiples of 128.
        let rows = row_chunk(batch_size, shape.ell).min(shape.rows() - self.rows_sent);
        let bits = self
            .bits
            .get(self.rows_sent / 8..(self.rows_sent + rows) / 8)
            .unwrap_or_default();
        // `T_j` is dropped (and wiped) here; `replay_rows` draws it again.
        let (u, _t) = chooser.extend(bits, rows);
        let payload = encode(TAG_COLUMNS, self.columns_sent, &u);
        self.in_flight.push_back(rows);
        self.rows_sent += rows;
        self.columns_sent += 1;
        Some(payload)
    }

    /// Takes one payload from R.
    ///
    /// # Errors
    /// What [`OsnMessage::decode`] refuses; [`PsiError::MessageNotAllowed`] for a
    /// payload only S sends, choices before our start, inputs before the choices,
    /// corrections before all inputs or for columns not sent;
    /// [`PsiError::DuplicateBatch`] / [`PsiError::BatchOutOfOrder`] for a repeated
    /// or early chunk; [`PsiError::TooManyItems`] / [`PsiError::WrongBatchLength`]
    /// for inputs past `n` values or not whole values and corrections of the wrong
    /// length; [`PsiError::InvalidPoint`] for a base-OT point that does not decode.
    /// Every error is final: later calls get [`PsiError::Aborted`].
    pub(crate) fn handle_payload(&mut self, payload: &[u8]) -> Result<(), PsiError> {
        let Some(shape) = self.shape.filter(|_| !self.failed) else {
            return Err(PsiError::Aborted);
        };
        let result = self.handle(shape, payload);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn handle(&mut self, shape: Shape, payload: &[u8]) -> Result<(), PsiError> {
        let message = OsnMessage::decode(payload)?;
        let kind = message.kind();
        match message {
            OsnMessage::Choices { points } => self.choices(kind, points),
            OsnMessage::Inputs { chunk, values } => self.inputs(shape, kind, chunk, values),
            OsnMessage::Corrections { chunk, masks } => self.corrections(shape, kind, chunk, masks),
            OsnMessage::Start { .. } | OsnMessage::Columns { .. } => {
                Err(PsiError::MessageNotAllowed {
                    kind,
                    reason: "the shuffle's permuter sends this payload, it never receives it",
                })
            }
        }
    }

    fn choices(&mut self, kind: MessageKind, points: &[u8]) -> Result<(), PsiError> {
        if !self.start_sent {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "base-OT choices before the shuffle's start",
            });
        }
        if self.chooser.is_some() {
            return Err(PsiError::DuplicateBatch { kind, batch: 0 });
        }
        let ot = self.ot.take().ok_or(PsiError::Aborted)?;
        let points: Vec<[u8; 32]> = points
            .chunks_exact(32)
            .map(|c| {
                let mut p = [0u8; 32];
                p.copy_from_slice(c);
                p
            })
            .collect();
        let keys = ot
            .keys(&self.ot_context, &points)
            .map_err(|bad| PsiError::InvalidPoint {
                kind,
                batch: 0,
                index: u32::try_from(bad.0).unwrap_or(u32::MAX),
            })?;
        self.replay = keys.iter().map(|(k0, _)| Prg::new(k0)).collect();
        self.chooser = Some(CotChooser::new(&keys));
        Ok(())
    }

    fn inputs(
        &mut self,
        shape: Shape,
        kind: MessageKind,
        chunk: u32,
        values: &[u8],
    ) -> Result<(), PsiError> {
        if self.chooser.is_none() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "input shares before the base-OT choices",
            });
        }
        check_chunk(kind, chunk, self.input_chunks)?;
        let remaining = shape.vector_len() - self.inputs_received;
        if remaining == 0 {
            return Err(PsiError::TooManyItems {
                kind,
                batch: chunk,
                declared: shape.n() as u64,
            });
        }
        if values.len() > remaining || !values.len().is_multiple_of(shape.ell) {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected: values.len().min(remaining) / shape.ell * shape.ell,
                actual: values.len(),
            });
        }
        let start = self.inputs_received;
        self.wires[start..start + values.len()].copy_from_slice(values);
        self.inputs_received += values.len();
        self.input_chunks += 1;
        Ok(())
    }

    fn corrections(
        &mut self,
        shape: Shape,
        kind: MessageKind,
        chunk: u32,
        masks: &[u8],
    ) -> Result<(), PsiError> {
        check_chunk(kind, chunk, self.corrections_received)?;
        if self.inputs_received < shape.vector_len() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "corrections before all input shares",
            });
        }
        let Some(&rows) = self.in_flight.front() else {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "corrections for correlated-OT columns not sent",
            });
        };
        // Padding rows past the last switch have no correction.
        let real = rows.min(shape.switches() - self.rows_done);
        let expected = real * 2 * shape.ell;
        if masks.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected,
                actual: masks.len(),
            });
        }
        self.in_flight.pop_front();
        let t = replay_rows(&mut self.replay, rows);
        permuter_run(
            shape.log_n,
            shape.ell,
            &self.pad_key,
            &self.bits,
            self.rows_done,
            &t[..real],
            masks,
            &mut self.wires,
        );
        self.rows_done += rows;
        self.corrections_received += 1;
        if self.rows_done == shape.rows() {
            // Every switch is through: the keys' streams and the chooser are spent.
            self.replay = Vec::new();
        }
        Ok(())
    }

    /// Everything sent and received.
    pub(crate) fn is_done(&self) -> bool {
        self.shape.is_some_and(|shape| {
            !self.failed
                && self.chooser.is_some()
                && self.rows_sent == shape.rows()
                && self.rows_done == shape.rows()
                && self.inputs_received == shape.vector_len()
        })
    }

    /// `t`, `n·ℓ` bytes; empty unless [`Self::is_done`] (a shuffle cut short has
    /// no shares).
    pub(crate) fn into_shares(mut self) -> Zeroizing<Vec<u8>> {
        if !self.is_done() {
            return Zeroizing::new(Vec::new());
        }
        std::mem::take(&mut self.wires)
    }
}
