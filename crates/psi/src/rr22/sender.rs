//! The OPRF sender of `vole-rr22-silent`: holds the silent VOLE's `Δ` and `B`,
//! turns the receiver's `A' = P ⊕ A` into `K = B ⊕ A' ⊗ Δ = C ⊕ P ⊗ Δ`, and sends
//! `F(y) = H(Decode(K, y) ⊕ Δ ⊗ h(y))` for its items; for `y` the receiver encoded,
//! `Decode(P, y) = h(y)`, so `F(y) = H(Decode(C, y))`, which the receiver computes
//! alone (RR22 §4, Fig. 4). When both learn it takes the learner's report.

use rand::rngs::StdRng;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::cardinality::bins::log_bins;
use super::cardinality::sender::OprfKey;
use super::cardinality::{CardSender, CardShape};
use super::compare;
use super::hash::{ItemHash, ItemHasher, OutputHasher};
use super::message::Rr22Message;
use super::params::{
    BASE_OTS, check_receiver_count, okvs_columns, row_chunk, row_chunks, silent_params, tree_chunk,
    tree_chunks,
};
use super::receiver::fill_counts;
use crate::config::batch_count;
use crate::ecdh::batch::{batch_range, check_batch_index};
use crate::error::Pending;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::silent::cot::COT_WIDTH;
use crate::silent::gf128::mul;
use crate::silent::ggm::message_blocks;
use crate::silent::params::SilentParams;
use crate::silent::session::SilentSender;
use crate::vole::hash::BandHasher;
use crate::vole::items::{OwnItems, outcome_base};
use crate::vole::okvs;
use crate::vole::ot;
use crate::vole::params::{chunk_range, masked_chunks};
use crate::{MessageKind, Mode, Outcome, PreparedSet, PsiError, SessionConfig};

pub(crate) struct Sender {
    config: SessionConfig,
    cmp_len: usize,
    items: OwnItems,
    rng: StdRng,
    /// Keys in the receiver's OKVS: its items, or in cardinality mode its bins.
    oprf_count: u64,
    okvs_seed: [u8; 16],
    /// Cardinality mode: what follows the OPRF, once `K` is known.
    card: Option<Box<CardSender>>,
    hashed: Zeroizing<Vec<ItemHash>>,
    band_hasher: Option<BandHasher>,
    params: SilentParams,
    silent: SilentSender,
    started: bool,
    choices_out: Option<Vec<[u8; 32]>>,
    choices_sent: bool,
    columns_received: u32,
    columns_total: u32,
    /// The tree message, once every column is in.
    tree_message: Option<Vec<u128>>,
    trees_sent: u32,
    trees_total: u32,
    /// `B`, then consumed into `K` chunk by chunk.
    b: Zeroizing<Vec<u128>>,
    k: Zeroizing<Vec<u128>>,
    masked_received: u32,
    masked_total: u32,
    outputs: Vec<u8>,
    outputs_full: Zeroizing<Vec<[u8; 32]>>,
    outputs_ready: bool,
    outputs_sent: u32,
    outputs_total: u32,
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
        // Before anything is allocated or sent: the peer's declared count sizes our
        // VOLE (params::MAX_RECEIVER_ITEMS).
        check_receiver_count(config.peer_count)?;
        let oprf_count = if config.mode == Mode::Cardinality {
            let bins = 1u64 << log_bins(config.peer_count);
            check_receiver_count(bins)?;
            bins
        } else {
            config.peer_count
        };
        let mut rng = rng;
        let mut items = OwnItems::new(&config, set, &mut rng)?;
        let hasher = ItemHasher::new(&config.context);
        let hashed = Zeroizing::new(items.hash_all_with(|t, v| hasher.hash(t, v)));
        let params = silent_params(oprf_count);
        let silent = SilentSender::new(params, &config.context, &mut rng);
        Ok(Sender {
            oprf_count,
            okvs_seed: [0; 16],
            card: None,
            cmp_len: config.comparison_len(),
            items,
            rng,
            hashed,
            band_hasher: None,
            params,
            silent,
            started: false,
            choices_out: None,
            choices_sent: false,
            columns_received: 0,
            columns_total: row_chunks(params.cot_rows(), config.batch_size),
            tree_message: None,
            trees_sent: 0,
            trees_total: tree_chunks(params.trees),
            b: Zeroizing::new(Vec::new()),
            k: Zeroizing::new(Vec::new()),
            masked_received: 0,
            masked_total: masked_chunks(oprf_count, config.batch_size),
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
        if !self.choices_sent {
            let points = self.choices_out.take().unwrap_or_default();
            self.choices_sent = true;
            return Some(Outgoing {
                payload: Rr22Message::Choices { points }.encode(),
                prepared: 0,
                on_sent: None,
            });
        }
        if let Some(message) = self.tree_message.as_ref()
            && self.trees_sent < self.trees_total
        {
            let chunk = self.trees_sent;
            let per = message_blocks(self.params.depth);
            let trees = tree_chunk(self.params.trees, chunk);
            let mut blocks = Vec::with_capacity(trees.len() * per * 16);
            for b in message
                .get(trees.start * per..trees.end * per)
                .unwrap_or_default()
            {
                blocks.extend_from_slice(&b.to_le_bytes());
            }
            self.trees_sent += 1;
            if self.trees_sent == self.trees_total {
                self.tree_message = None;
            }
            return Some(Outgoing {
                payload: Rr22Message::Trees { chunk, blocks }.encode(),
                prepared: 0,
                on_sent: None,
            });
        }
        if let Some(card) = self.card.as_mut() {
            return card.poll_transmit();
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
                payload: Rr22Message::Outputs { batch, values }.encode(),
                prepared: n,
                on_sent: Some(StageItems {
                    stage: Stage::Sent,
                    items: n,
                }),
            });
        }
        None
    }

    pub(crate) fn handle(&mut self, message: Rr22Message) -> Result<Option<StageItems>, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        let result = match message {
            Rr22Message::Start {
                ot_point,
                okvs_seed,
            } => self.handle_start(&ot_point, &okvs_seed),
            Rr22Message::Columns { chunk, columns } => self.handle_columns(chunk, &columns),
            Rr22Message::Masked { chunk, rows } => self.handle_masked(chunk, &rows),
            Rr22Message::Matched {
                index,
                total,
                positions,
            } if self.card.is_none() => self.handle_matched(index, total, &positions),
            Rr22Message::Shuffle { index, payload } => self
                .card_after_oprf(MessageKind::VoleShuffle)
                .and_then(|card| card.handle_shuffle(index, &payload))
                .map(|()| None),
            Rr22Message::Counts { counts } => self
                .card_after_oprf(MessageKind::Counts)
                .and_then(|card| card.handle_counts(&counts))
                .map(|()| None),
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
        // The bits of our Δ: wiped with the vector.
        let choices = Zeroizing::new(self.silent.choices());
        let (points, keys) = ot::receive(&self.config.context, ot_point, &choices, &mut self.rng)
            .map_err(|_| PsiError::InvalidPoint {
            kind,
            batch: 0,
            index: 0,
        })?;
        self.silent.set_base_keys(&keys);
        self.choices_out = Some(points);
        self.band_hasher = Some(BandHasher::new(
            &self.config.context,
            okvs_seed,
            okvs_columns(self.oprf_count),
        ));
        self.okvs_seed = *okvs_seed;
        self.started = true;
        Ok(None)
    }

    fn handle_columns(
        &mut self,
        chunk: u32,
        columns: &[u8],
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleColumns;
        if !self.choices_sent {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "correlated-OT columns before our base-OT choices were sent",
            });
        }
        check_batch_index(
            kind,
            chunk,
            self.columns_received,
            self.columns_total,
            self.params.cot_rows() as u64,
        )?;
        let rows = row_chunk(self.params.cot_rows(), self.config.batch_size, chunk).len();
        let expected = COT_WIDTH * rows / 8;
        if columns.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected,
                actual: columns.len(),
            });
        }
        if !self.silent.absorb_columns(columns, rows) {
            return Err(PsiError::Aborted);
        }
        self.columns_received += 1;
        if self.columns_received == self.columns_total {
            let (message, b) = self.silent.trees(&mut self.rng);
            self.tree_message = Some(message);
            // `K` fills chunk by chunk: reserve it whole, so growing it never
            // frees an unwiped buffer.
            self.k = Zeroizing::new(Vec::with_capacity(b.len()));
            self.b = b;
        }
        Ok(None)
    }

    fn handle_masked(&mut self, chunk: u32, rows: &[u8]) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleMasked;
        if self.trees_sent < self.trees_total || self.columns_received < self.columns_total {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "masked rows before all our tree sums were sent",
            });
        }
        check_batch_index(
            kind,
            chunk,
            self.masked_received,
            self.masked_total,
            self.config.peer_count,
        )?;
        let range = chunk_range(self.oprf_count, self.config.batch_size, chunk);
        let expected = range.len() * 16;
        if rows.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected,
                actual: rows.len(),
            });
        }
        let delta = self.silent.delta();
        let b = self.b.get(range).unwrap_or_default();
        // Straight into `K` (reserved whole): no temporary copy of it to wipe.
        self.k
            .par_extend(rows.par_chunks_exact(16).zip(b.par_iter()).map(|(a, b)| {
                let mut x = [0u8; 16];
                x.copy_from_slice(a);
                b ^ mul(u128::from_le_bytes(x), delta)
            }));
        self.masked_received += 1;
        if self.masked_received == self.masked_total {
            if self.config.mode == Mode::Cardinality {
                self.start_cardinality()?;
            } else {
                self.compute_outputs();
            }
        }
        let n = self.config.peer_count;
        let total = u64::from(self.masked_total);
        let share = |c: u64| n * c / total;
        Ok(Some(StageItems {
            stage: Stage::Received,
            items: share(u64::from(chunk) + 1) - share(u64::from(chunk)),
        }))
    }

    /// Cardinality mode: `K` is known; program the table and draw the shuffle.
    fn start_cardinality(&mut self) -> Result<(), PsiError> {
        let Some(bands) = self.band_hasher.as_ref() else {
            return Err(PsiError::Aborted);
        };
        let config = &self.config;
        let shape = CardShape {
            context: config.context,
            batch_size: config.batch_size,
            log_n: log_bins(config.peer_count),
            sender_count: config.local_count,
            groups: config.groups.len().max(1),
            peer_learns: config.i_learn(),
        };
        let limits = if config.groups.is_empty() {
            vec![config.local_count.min(config.peer_count)]
        } else {
            config.groups.iter().map(|g| g.local.min(g.peer)).collect()
        };
        let key = OprfKey {
            k: &self.k,
            delta: self.silent.delta(),
            bands,
            seed: &self.okvs_seed,
        };
        let card = CardSender::new(shape, limits, &key, &self.hashed, &mut self.rng)?;
        self.card = Some(Box::new(card));
        self.outputs_ready = true;
        self.outputs_total = 0;
        self.k = Zeroizing::new(Vec::new());
        self.b = Zeroizing::new(Vec::new());
        self.hashed = Zeroizing::new(Vec::new());
        Ok(())
    }

    /// Cardinality mode once `K` is known; otherwise the message is out of place.
    fn card_after_oprf(&mut self, kind: MessageKind) -> Result<&mut CardSender, PsiError> {
        if self.config.mode != Mode::Cardinality {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "only cardinality sessions send this message",
            });
        }
        self.card.as_deref_mut().ok_or(PsiError::MessageNotAllowed {
            kind,
            reason: "cardinality messages before all the masked rows arrived",
        })
    }

    /// `F(y) = H(Decode(K, y) ⊕ Δ ⊗ h(y))` for each of our items, in sending order.
    fn compute_outputs(&mut self) {
        let hasher = OutputHasher::new(&self.config.context);
        let Some(bands) = self.band_hasher.as_ref() else {
            return;
        };
        let delta = self.silent.delta();
        let hashed = &self.hashed;
        let our_bands: Zeroizing<Vec<_>> =
            Zeroizing::new(hashed.par_iter().map(|h| bands.band(&h.band_key)).collect());
        // Our full outputs: kept (wiped on drop) only when we learn.
        let full: Zeroizing<Vec<[u8; 32]>> =
            Zeroizing::new(okvs::decode_all(&self.k, &our_bands, |i, v: u128| {
                let h = hashed.get(i).map_or(0, |h| h.value);
                hasher.hash(v ^ mul(delta, h))
            }));
        let l = self.cmp_len;
        let mut outputs = Vec::with_capacity(full.len() * l);
        for f in full.iter() {
            outputs.extend_from_slice(f.get(..l).unwrap_or_default());
        }
        self.outputs = outputs;
        if self.config.i_learn() {
            self.outputs_full = full;
        }
        self.outputs_ready = true;
        self.k = Zeroizing::new(Vec::new());
        self.b = Zeroizing::new(Vec::new());
        self.hashed = Zeroizing::new(Vec::new());
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
        if !self.started {
            return Some(Pending::PeerBatches {
                received: 0,
                total: 1,
            });
        }
        if !self.choices_sent {
            return Some(Pending::Responses { queued: BASE_OTS });
        }
        if self.columns_received < self.columns_total {
            return Some(Pending::PeerBatches {
                received: self.columns_received,
                total: self.columns_total,
            });
        }
        if self.trees_sent < self.trees_total {
            return Some(Pending::Responses {
                queued: (self.trees_total - self.trees_sent) as usize,
            });
        }
        if self.masked_received < self.masked_total {
            return Some(Pending::PeerBatches {
                received: self.masked_received,
                total: self.masked_total,
            });
        }
        if let Some(card) = self.card.as_ref() {
            return card.pending();
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
        if let Some(card) = self.card.as_ref() {
            // `pending` waits for the counts when we learn: they are here.
            let counts = card.counts().ok_or(PsiError::Incomplete {
                pending: Pending::Report {
                    received: 0,
                    total: 1,
                },
            })?;
            fill_counts(&mut outcome, counts);
            return Ok(outcome);
        }
        compare::fill_outcome(
            &mut outcome,
            &self.config,
            &self.items,
            self.matched.iter().copied(),
            &self.outputs_full,
        );
        Ok(outcome)
    }
}
