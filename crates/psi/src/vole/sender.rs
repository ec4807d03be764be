//! The OPRF sender: holds the OT-extension secret `s`, answers the receiver's masked
//! OKVS with its own items' OPRF outputs, and (when both learn) takes the learner's
//! report of which of them matched.

use rand::RngExt;
use rand::rngs::StdRng;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::ext::ExtSender;
use super::hash::{BandHasher, ItemHash, ItemHasher, OutputHasher};
use super::items::{OwnItems, outcome_base};
use super::message::VoleMessage;
use super::okvs::{self, Row, xor_into};
use super::ot;
use super::params::{
    BASE_OTS, CHOICE_MESSAGES, CHOICES_PER_MESSAGE, chunk_range, masked_chunks, okvs_columns,
};
use crate::config::batch_count;
use crate::ecdh::batch::{batch_range, check_batch_index};
use crate::error::Pending;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::{
    Match, MatchId, MatchResult, MessageKind, Outcome, PreparedSet, PsiError, SessionConfig,
};

pub(crate) struct Sender {
    config: SessionConfig,
    cmp_len: usize,
    items: OwnItems,
    rng: StdRng,
    started: bool,
    hashed: Vec<ItemHash>,
    band_hasher: Option<BandHasher>,
    choices_out: Vec<[u8; 32]>,
    choices_sent: u32,
    ext: Option<ExtSender>,
    q_rows: Zeroizing<Vec<Row>>,
    masked_received: u32,
    masked_total: u32,
    /// Truncated outputs by sending position, once computed.
    outputs: Vec<u8>,
    /// Full outputs when we learn (for match IDs).
    outputs_full: Zeroizing<Vec<[u8; 32]>>,
    outputs_ready: bool,
    outputs_sent: u32,
    outputs_total: u32,
    /// Both learn: the learner's report.
    matched: Vec<u32>,
    matched_total: Option<u32>,
    matched_messages: u32,
    failed: bool,
}

impl Sender {
    pub(crate) fn new(
        config: SessionConfig,
        set: PreparedSet,
        rng: StdRng,
    ) -> Result<Self, PsiError> {
        let mut rng = rng;
        let mut items = OwnItems::new(&config, set, &mut rng)?;
        // Our hashes do not depend on the receiver's OKVS seed, only our bands do.
        let hashed = items.hash_all(&ItemHasher::new(&config.context));
        Ok(Sender {
            cmp_len: config.comparison_len(),
            items,
            rng,
            started: false,
            hashed,
            band_hasher: None,
            choices_out: Vec::new(),
            choices_sent: 0,
            ext: None,
            q_rows: Zeroizing::new(Vec::new()),
            masked_received: 0,
            masked_total: masked_chunks(config.peer_count, config.batch_size),
            outputs: Vec::new(),
            outputs_full: Zeroizing::new(Vec::new()),
            outputs_ready: false,
            outputs_sent: 0,
            outputs_total: batch_count(config.local_count, config.batch_size),
            matched: Vec::new(),
            matched_total: None,
            matched_messages: 0,
            failed: false,
            config,
        })
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Outgoing> {
        if self.failed || !self.started {
            return None;
        }
        if self.choices_sent < CHOICE_MESSAGES {
            let chunk = self.choices_sent;
            let start = chunk as usize * CHOICES_PER_MESSAGE;
            let points = self
                .choices_out
                .get(start..start + CHOICES_PER_MESSAGE)
                .unwrap_or_default()
                .to_vec();
            self.choices_sent += 1;
            if self.choices_sent == CHOICE_MESSAGES {
                self.choices_out = Vec::new();
            }
            return Some(Outgoing {
                payload: VoleMessage::Choices { chunk, points }.encode(),
                prepared: 0,
                on_sent: None,
            });
        }
        if self.outputs_ready && self.outputs_sent < self.outputs_total {
            let batch = self.outputs_sent;
            let l = self.cmp_len;
            let range = batch_range(batch, self.config.batch_size, self.items.len());
            let values = self
                .outputs
                .get(range.start * l..range.end * l)
                .unwrap_or_default()
                .to_vec();
            self.outputs_sent += 1;
            if self.outputs_sent == self.outputs_total {
                self.outputs = Vec::new();
            }
            let n = range.len() as u64;
            return Some(Outgoing {
                payload: VoleMessage::Outputs { batch, values }.encode(),
                prepared: n,
                on_sent: Some(StageItems {
                    stage: Stage::Sent,
                    items: n,
                }),
            });
        }
        None
    }

    pub(crate) fn handle(&mut self, message: VoleMessage) -> Result<Option<StageItems>, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        let result = match message {
            VoleMessage::Start {
                ot_point,
                okvs_seed,
            } => self.handle_start(&ot_point, &okvs_seed),
            VoleMessage::Masked { chunk, columns } => self.handle_masked(chunk, &columns),
            VoleMessage::Matched {
                index,
                total,
                positions,
            } => self.handle_matched(index, total, &positions),
            other => Err(PsiError::MessageNotAllowed {
                kind: other.kind(),
                reason: "the OPRF sender never receives this message",
            }),
        };
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn handle_start(
        &mut self,
        ot_point: &[u8; 32],
        okvs_seed: &[u8; 16],
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleStart;
        if self.started {
            return Err(PsiError::DuplicateBatch { kind, batch: 0 });
        }
        let choices: Vec<bool> = (0..BASE_OTS).map(|_| self.rng.random()).collect();
        let (points, keys) = ot::receive(&self.config.context, ot_point, &choices, &mut self.rng)
            .map_err(|_| PsiError::InvalidPoint {
            kind,
            batch: 0,
            index: 0,
        })?;
        self.ext = Some(ExtSender::new(choices, &keys));
        self.choices_out = points;
        self.band_hasher = Some(BandHasher::new(
            &self.config.context,
            okvs_seed,
            okvs_columns(self.config.peer_count),
        ));
        self.started = true;
        Ok(None)
    }

    fn handle_masked(
        &mut self,
        chunk: u32,
        columns: &[u8],
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleMasked;
        if !self.started || self.choices_sent < CHOICE_MESSAGES {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "masked columns before our base-OT choices were sent",
            });
        }
        check_batch_index(
            kind,
            chunk,
            self.masked_received,
            self.masked_total,
            self.config.peer_count,
        )?;
        let rows = chunk_range(self.config.peer_count, self.config.batch_size, chunk).len();
        let expected = BASE_OTS * rows / 8;
        if columns.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected,
                actual: columns.len(),
            });
        }
        let q = match self.ext.as_mut() {
            Some(ext) => ext.chunk(columns, rows),
            None => return Err(PsiError::Aborted),
        };
        self.q_rows.extend_from_slice(&q);
        self.masked_received += 1;
        if self.masked_received == self.masked_total {
            self.compute_outputs();
        }
        let n = self.config.peer_count;
        let total = u64::from(self.masked_total);
        let share = |c: u64| n * c / total;
        Ok(Some(StageItems {
            stage: Stage::Received,
            items: share(u64::from(chunk) + 1) - share(u64::from(chunk)),
        }))
    }

    /// `F(y) = H(Decode(Q, y) ⊕ (h(y) ∧ s))` for each of our items, in sending order.
    fn compute_outputs(&mut self) {
        let hasher = OutputHasher::new(&self.config.context);
        let (Some(ext), Some(bands)) = (self.ext.as_ref(), self.band_hasher.as_ref()) else {
            return;
        };
        let s = ext.s_row();
        let hashed = &self.hashed;
        let our_bands: Vec<_> = hashed.par_iter().map(|h| bands.band(&h.band_key)).collect();
        let full: Vec<[u8; 32]> = okvs::decode_all(&self.q_rows, &our_bands, |i, mut row| {
            if let Some(h) = hashed.get(i) {
                let mut masked = h.value;
                for (m, k) in masked.iter_mut().zip(s) {
                    *m &= k;
                }
                xor_into(&mut row, &masked);
            }
            hasher.hash(&row)
        });
        let l = self.cmp_len;
        let mut outputs = Vec::with_capacity(full.len() * l);
        for f in &full {
            outputs.extend_from_slice(f.get(..l).unwrap_or_default());
        }
        self.outputs = outputs;
        if self.config.i_learn() {
            self.outputs_full = Zeroizing::new(full);
        }
        self.outputs_ready = true;
        self.q_rows = Zeroizing::new(Vec::new());
        self.hashed = Vec::new();
        self.ext = None;
    }

    fn handle_matched(
        &mut self,
        index: u32,
        total: u32,
        positions: &[u32],
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleMatched;
        if !self.config.i_learn() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "this party does not learn the result",
            });
        }
        if self.outputs_sent < self.outputs_total || !self.outputs_ready {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "matched positions before all our outputs were sent",
            });
        }
        let own = self.config.local_count;
        let batch = self.config.batch_size.max(1);
        let expected_total = *self.matched_total.get_or_insert(total);
        if total != expected_total || u64::from(total) > own {
            return Err(PsiError::TooManyItems {
                kind,
                batch: index,
                declared: own,
            });
        }
        let messages = total.div_ceil(batch).max(1);
        check_batch_index(kind, index, self.matched_messages, messages, own)?;
        let received = self.matched.len();
        let count = (total as usize - received).min(batch as usize);
        if positions.len() != count {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: index,
                expected: count * 4,
                actual: positions.len() * 4,
            });
        }
        let mut last = self.matched.last().copied();
        for &p in positions {
            if u64::from(p) >= own || last.is_some_and(|l| p <= l) {
                return Err(PsiError::BadMatchedPosition { index, position: p });
            }
            last = Some(p);
        }
        self.matched.extend_from_slice(positions);
        self.matched_messages += 1;
        Ok(None)
    }

    fn matched_messages_total(&self) -> u32 {
        let batch = self.config.batch_size.max(1);
        self.matched_total.map_or(1, |t| t.div_ceil(batch).max(1))
    }

    pub(crate) fn pending(&self) -> Option<Pending> {
        if self.masked_received < self.masked_total || !self.started {
            return Some(Pending::PeerBatches {
                received: self.masked_received,
                total: self.masked_total,
            });
        }
        if self.choices_sent < CHOICE_MESSAGES {
            return Some(Pending::Responses {
                queued: (CHOICE_MESSAGES - self.choices_sent) as usize,
            });
        }
        if self.outputs_sent < self.outputs_total {
            return Some(Pending::OwnBatches {
                sent: self.outputs_sent,
                total: self.outputs_total,
            });
        }
        let total = self.matched_messages_total();
        if self.config.i_learn() && self.matched_messages < total {
            return Some(Pending::Report {
                received: self.matched_messages,
                total,
            });
        }
        None
    }

    /// Marks the session failed (a message that did not even decode).
    pub(crate) fn handle_failed(&mut self) {
        self.failed = true;
    }

    pub(crate) fn is_finished(&self) -> bool {
        !self.failed && self.pending().is_none()
    }

    pub(crate) fn finish(self) -> Result<Outcome, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        if let Some(pending) = self.pending() {
            return Err(PsiError::Incomplete { pending });
        }
        let mut outcome = outcome_base(&self.config, self.cmp_len);
        if !self.config.i_learn() {
            return Ok(outcome);
        }
        let per_group = self
            .items
            .per_group(self.matched.iter().map(|&p| p as usize));
        for (t, n) in outcome.per_type.iter_mut().zip(per_group) {
            t.matched = Some(n);
        }
        let context = self.config.context;
        let mut matches = Vec::new();
        for &pos in &self.matched {
            let Some(full) = self.outputs_full.get(pos as usize) else {
                continue;
            };
            let match_id = MatchId::derive(&context, full);
            for &row in self.items.rows_at(pos as usize) {
                matches.push(Match { row, match_id });
            }
        }
        matches.par_sort_unstable();
        outcome.result = MatchResult::Intersection {
            matched: self.matched.len() as u64,
            matches,
        };
        Ok(outcome)
    }
}
