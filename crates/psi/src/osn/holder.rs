//! R, the holder of `w`: masks it, chooses the base OTs with the bits of a fresh
//! `Δ`, holds `Δ` in the correlated-OT extension and walks its masks through the
//! network, one `Columns` chunk at a time.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use zeroize::Zeroizing;

use super::message::{OsnMessage, TAG_CHOICES, TAG_CORRECTIONS, TAG_INPUTS, encode};
use super::switch::{holder_run, pad_key};
use super::{Shape, base_ot_context, value_chunk};
use crate::silent::cot::{COT_WIDTH, CotHolder};
use crate::vole::ot;
use crate::{MessageKind, PsiError};

/// R: holds `w`, ends with `s`.
pub(crate) struct ShuffleHolder {
    /// `None` when constructed with sizes out of range: the party refuses all.
    shape: Option<Shape>,
    ot_context: [u8; 32],
    pad_key: Zeroizing<[u8; 32]>,
    delta: Zeroizing<u128>,
    /// Seeds the scalars of our base OTs once S's point is in.
    ot_seed: Zeroizing<[u8; 32]>,
    /// Our masks `ρ` of the current wires: the input masks, then layer by layer.
    rho: Zeroizing<Vec<u8>>,
    /// S's input shares `x = w ⊕ ρ_in`, until sent.
    inputs: Zeroizing<Vec<u8>>,
    inputs_sent: usize,
    input_chunks: u32,
    cot: Option<CotHolder>,
    /// Our base-OT points, until sent.
    choices: Option<Vec<u8>>,
    rows_received: usize,
    columns_received: u32,
    /// Corrections computed and not yet polled.
    outbox: VecDeque<Vec<u8>>,
    failed: bool,
}

impl std::fmt::Debug for ShuffleHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Progress only: masks, Δ and inputs are secrets.
        f.debug_struct("ShuffleHolder")
            .field("shape", &self.shape)
            .field("rows_received", &self.rows_received)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl ShuffleHolder {
    /// `w`: n·ell bytes (n = 1 << log_n, element i at [i*ell..(i+1)*ell]).
    ///
    /// Draws `Δ`, the input masks and the seed of our base OTs from `rng`. The
    /// sizes are the caller's own: with `log_n` outside `1..=28`, `ell` outside
    /// `1..=1024` or `w` of another length the party refuses everything
    /// ([`PsiError::Aborted`]) and never finishes.
    pub(crate) fn new(
        context: &[u8; 32],
        log_n: u32,
        ell: usize,
        w: Zeroizing<Vec<u8>>,
        rng: &mut StdRng,
    ) -> Self {
        let shape = Shape::new(log_n, ell).filter(|s| s.vector_len() == w.len());
        let mut rho = Zeroizing::new(vec![0u8; w.len()]);
        rng.fill_bytes(&mut rho);
        let inputs = Zeroizing::new(w.iter().zip(rho.iter()).map(|(a, b)| a ^ b).collect());
        ShuffleHolder {
            shape,
            ot_context: base_ot_context(context),
            pad_key: pad_key(context),
            delta: Zeroizing::new(rng.random()),
            ot_seed: Zeroizing::new(rng.random()),
            rho,
            inputs,
            inputs_sent: 0,
            input_chunks: 0,
            cot: None,
            choices: None,
            rows_received: 0,
            columns_received: 0,
            outbox: VecDeque::new(),
            failed: shape.is_none(),
        }
    }

    /// Next OSN payload to send, if any: our base-OT choices once S's start is
    /// in, then S's input shares, then one chunk of corrections per columns chunk
    /// handled. Poll until `None` after every [`Self::handle_payload`]: the
    /// corrections wait here until taken.
    pub(crate) fn poll_payload(&mut self, batch_size: u32) -> Option<Vec<u8>> {
        let shape = self.shape.filter(|_| !self.failed)?;
        if let Some(points) = self.choices.take() {
            return Some(encode(TAG_CHOICES, 0, &points));
        }
        // Nothing more before S's start.
        self.cot.as_ref()?;
        if self.inputs_sent < self.inputs.len() {
            let len = value_chunk(batch_size, shape.ell) * shape.ell;
            let end = (self.inputs_sent + len).min(self.inputs.len());
            let payload = encode(
                TAG_INPUTS,
                self.input_chunks,
                &self.inputs[self.inputs_sent..end],
            );
            self.inputs_sent = end;
            self.input_chunks += 1;
            if end == self.inputs.len() {
                // Sent in full: S's shares of the inputs are no longer ours to keep.
                self.inputs = Zeroizing::new(Vec::new());
            }
            return Some(payload);
        }
        self.outbox.pop_front()
    }

    /// Takes one payload from S.
    ///
    /// # Errors
    /// What [`OsnMessage::decode`] refuses; [`PsiError::MessageNotAllowed`] for a
    /// payload only R sends or columns before the start;
    /// [`PsiError::DuplicateBatch`] for a second start or a repeated columns
    /// chunk, [`PsiError::BatchOutOfOrder`] for one ahead of its turn,
    /// [`PsiError::TooManyItems`] / [`PsiError::WrongBatchLength`] for columns
    /// past the end of the network; [`PsiError::InvalidPoint`] for a start point
    /// that does not decode. Every error is final: later calls get
    /// [`PsiError::Aborted`].
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
            OsnMessage::Start { point } => {
                if self.cot.is_some() {
                    return Err(PsiError::DuplicateBatch { kind, batch: 0 });
                }
                // Δ's bits: wiped with the vector.
                let choices: Zeroizing<Vec<bool>> =
                    Zeroizing::new((0..COT_WIDTH).map(|i| *self.delta >> i & 1 == 1).collect());
                let mut rng = StdRng::from_seed(*self.ot_seed);
                let (points, keys) = ot::receive(&self.ot_context, point, &choices, &mut rng)
                    .map_err(|_| PsiError::InvalidPoint {
                        kind,
                        batch: 0,
                        index: 0,
                    })?;
                self.cot = Some(CotHolder::new(*self.delta, &keys));
                self.choices = Some(points.concat());
                Ok(())
            }
            OsnMessage::Columns { chunk, columns } => self.columns(shape, kind, chunk, columns),
            OsnMessage::Choices { .. }
            | OsnMessage::Inputs { .. }
            | OsnMessage::Corrections { .. } => Err(PsiError::MessageNotAllowed {
                kind,
                reason: "the shuffle's holder sends this payload, it never receives it",
            }),
        }
    }

    fn columns(
        &mut self,
        shape: Shape,
        kind: MessageKind,
        chunk: u32,
        columns: &[u8],
    ) -> Result<(), PsiError> {
        let Some(cot) = self.cot.as_mut() else {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "correlated-OT columns before the shuffle's start",
            });
        };
        check_chunk(kind, chunk, self.columns_received)?;
        let remaining = shape.rows() - self.rows_received;
        let rows = columns.len() / 16;
        if remaining == 0 {
            return Err(PsiError::TooManyItems {
                kind,
                batch: chunk,
                declared: shape.switches() as u64,
            });
        }
        if rows > remaining {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected: 16 * remaining,
                actual: columns.len(),
            });
        }
        let q = cot.extend(columns, rows);
        // Rows past the last switch are padding; a chunk of at least 128 rows
        // within the stream always holds a real switch.
        let real = rows.min(shape.switches() - self.rows_received);
        let z = holder_run(
            shape.log_n,
            shape.ell,
            &self.pad_key,
            *self.delta,
            self.rows_received,
            &q[..real],
            &mut self.rho,
        );
        self.outbox.push_back(encode(TAG_CORRECTIONS, chunk, &z));
        self.rows_received += rows;
        self.columns_received += 1;
        Ok(())
    }

    /// Everything sent and received.
    pub(crate) fn is_done(&self) -> bool {
        self.shape.is_some_and(|shape| {
            !self.failed
                && self.cot.is_some()
                && self.choices.is_none()
                && self.inputs.is_empty()
                && self.rows_received == shape.rows()
                && self.outbox.is_empty()
        })
    }

    /// `s`, `n·ℓ` bytes; empty unless [`Self::is_done`] (a shuffle cut short has
    /// no shares).
    pub(crate) fn into_shares(mut self) -> Zeroizing<Vec<u8>> {
        if !self.is_done() {
            return Zeroizing::new(Vec::new());
        }
        std::mem::take(&mut self.rho)
    }
}

/// Chunks arrive in order, each once.
pub(super) fn check_chunk(kind: MessageKind, got: u32, next: u32) -> Result<(), PsiError> {
    if got < next {
        return Err(PsiError::DuplicateBatch { kind, batch: got });
    }
    if got > next {
        return Err(PsiError::BatchOutOfOrder {
            kind,
            expected: next,
            got,
        });
    }
    Ok(())
}
