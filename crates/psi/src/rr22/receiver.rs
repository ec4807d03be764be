//! The OPRF receiver of `vole-rr22-silent`: the side that learns (the initiator when
//! both learn). It encodes `{x ↦ h(x)}` into the OKVS `P`, runs the base OTs as OT
//! sender and the silent VOLE as its receiver (ending with `A`, `C`), sends
//! `A' = P ⊕ A`, and compares its outputs `H(Decode(C, x))` with the sender's.

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use rayon::prelude::*;
use zeroize::{Zeroize, Zeroizing};

use super::cardinality::bins::{self, BinHasher, Slot};
use super::cardinality::{CardLearner, CardShape};
use super::compare::{self, Hits};
use super::hash::{ItemHash, ItemHasher, OutputHasher};
use super::message::Rr22Message;
use super::params::{
    BASE_OTS, MAX_OKVS_ATTEMPTS, check_receiver_count, okvs_columns, row_chunk, row_chunks,
    silent_params, tree_chunk, tree_chunks,
};
use crate::config::batch_count;
use crate::ecdh::batch::{batch_len, check_batch_index};
use crate::error::Pending;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::silent::ggm::message_blocks;
use crate::silent::params::SilentParams;
use crate::silent::session::SilentReceiver;
use crate::vole::hash::BandHasher;
use crate::vole::items::{OwnItems, outcome_base};
use crate::vole::okvs::{self, Band};
use crate::vole::ot::OtSender;
use crate::vole::params::{chunk_range, masked_chunks};
use crate::{MatchResult, MessageKind, Mode, Outcome, PreparedSet, PsiError, SessionConfig};

pub(crate) struct Receiver {
    config: SessionConfig,
    cmp_len: usize,
    items: OwnItems,
    /// Keys in our OKVS: our items, or in cardinality mode our bins.
    oprf_count: u64,
    /// Cardinality mode: what follows the OPRF.
    card: Option<Box<CardLearner>>,
    bands: Zeroizing<Vec<Band>>,
    /// `P`, until `A' = P ⊕ A` replaces it.
    okvs: Zeroizing<Vec<u128>>,
    okvs_seed: [u8; 16],
    ot: Option<OtSender>,
    params: SilentParams,
    silent: SilentReceiver,
    start_sent: bool,
    keys_set: bool,
    columns_sent: u32,
    columns_total: u32,
    trees: Zeroizing<Vec<u128>>,
    trees_received: u32,
    trees_total: u32,
    /// `A' = P ⊕ A` once the trees are open.
    masked: Option<Vec<u128>>,
    masked_sent: u32,
    masked_total: u32,
    /// Our full OPRF outputs by sending position.
    outputs: Zeroizing<Vec<[u8; 32]>>,
    peer_values: Vec<u8>,
    outputs_received: u32,
    outputs_total: u32,
    hits: Option<Hits>,
    report: Vec<u32>,
    report_sent: u32,
    report_total: u32,
    failed: bool,
}

impl Receiver {
    /// Hashes and encodes our items (retrying OKVS seeds), draws the base-OT key and
    /// the silent VOLE's noise.
    ///
    /// # Errors
    /// As [`OwnItems::new`]; [`PsiError::OkvsEncoding`] when no seed works.
    pub(crate) fn new(
        config: SessionConfig,
        set: PreparedSet,
        rng: &mut StdRng,
    ) -> Result<Self, PsiError> {
        if config.mode == Mode::Cardinality {
            // The other side refuses a VOLE for more bins: say so before any work.
            check_receiver_count(1u64 << bins::log_bins(config.local_count))?;
        }
        let mut items = OwnItems::new(&config, set, rng)?;
        let hasher = ItemHasher::new(&config.context);
        let mut hashed = Zeroizing::new(items.hash_all_with(|t, v| hasher.hash(t, v)));
        let cardinality = config.mode == Mode::Cardinality;
        let log_n = bins::log_bins(config.local_count);
        let oprf_count = if cardinality {
            1u64 << log_n
        } else {
            config.local_count
        };
        let own_items = Zeroizing::new(std::mem::take(&mut *hashed));
        let m = okvs_columns(oprf_count);
        let mut attempts = 0;
        let mut slots = Vec::new();
        let (okvs, bands, okvs_seed) = loop {
            attempts += 1;
            let mut seed = [0u8; 16];
            rng.fill_bytes(&mut seed);
            if cardinality {
                // The seed places the bins too: a cuckoo failure draws another.
                let bin_hasher = BinHasher::new(&config.context, &seed, log_n);
                let Some(placed) = bins::cuckoo(&bin_hasher, &own_items, log_n, rng) else {
                    if attempts < MAX_OKVS_ATTEMPTS {
                        continue;
                    }
                    return Err(PsiError::BinPlacement { attempts });
                };
                let queries = Zeroizing::new(bin_queries(&bin_hasher, &placed, &own_items, rng));
                hashed.zeroize();
                hashed.extend_from_slice(&queries);
                slots = placed;
            } else {
                hashed.zeroize();
                hashed.extend_from_slice(&own_items);
            }
            let band_hasher = BandHasher::new(&config.context, &seed, m);
            let bands: Zeroizing<Vec<Band>> = Zeroizing::new(
                hashed
                    .par_iter()
                    .map(|h| band_hasher.band(&h.band_key))
                    .collect(),
            );
            let pairs: Vec<(Band, u128)> = bands
                .iter()
                .zip(hashed.iter())
                .map(|(b, h)| (*b, h.value))
                .collect();
            match okvs::encode(m, &pairs) {
                Ok(table) => break (table, bands, seed),
                Err(_) if attempts < MAX_OKVS_ATTEMPTS => {}
                Err(_) => return Err(PsiError::OkvsEncoding { attempts }),
            }
        };
        drop(own_items);
        let card = cardinality.then(|| {
            let shape = CardShape {
                context: config.context,
                batch_size: config.batch_size,
                log_n,
                sender_count: config.peer_count,
                groups: config.groups.len().max(1),
                peer_learns: config.peer_learns(),
            };
            let mut seed = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(&mut seed[..]);
            Box::new(CardLearner::new(
                shape,
                hashed.clone(),
                &slots,
                |pos| {
                    items
                        .group_of(pos as usize)
                        .and_then(|g| u16::try_from(g).ok())
                },
                StdRng::from_seed(*seed),
            ))
        });
        drop(hashed);
        let params = silent_params(oprf_count);
        let silent = SilentReceiver::new(params, &config.context, rng);
        Ok(Receiver {
            oprf_count,
            card,
            cmp_len: config.comparison_len(),
            items,
            bands,
            okvs: Zeroizing::new(okvs),
            okvs_seed,
            ot: Some(OtSender::new(rng)),
            params,
            silent,
            start_sent: false,
            keys_set: false,
            columns_sent: 0,
            columns_total: row_chunks(params.cot_rows(), config.batch_size),
            trees: Zeroizing::new(Vec::new()),
            trees_received: 0,
            trees_total: tree_chunks(params.trees),
            masked: None,
            masked_sent: 0,
            masked_total: masked_chunks(oprf_count, config.batch_size),
            outputs: Zeroizing::new(Vec::new()),
            peer_values: Vec::new(),
            outputs_received: 0,
            outputs_total: batch_count(config.peer_count, config.batch_size),
            hits: None,
            report: Vec::new(),
            report_sent: 0,
            report_total: 0,
            failed: false,
            config,
        })
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Outgoing> {
        if self.failed {
            return None;
        }
        if !self.start_sent {
            let ot = self.ot.as_ref()?;
            self.start_sent = true;
            let message = Rr22Message::Start {
                ot_point: ot.public(),
                okvs_seed: self.okvs_seed,
            };
            return Some(Outgoing {
                payload: message.encode(),
                prepared: self.config.local_count,
                on_sent: None,
            });
        }
        if self.keys_set && self.columns_sent < self.columns_total {
            let chunk = self.columns_sent;
            let rows = row_chunk(self.params.cot_rows(), self.config.batch_size, chunk);
            let columns = self.silent.columns(rows);
            self.columns_sent += 1;
            return Some(Outgoing {
                payload: Rr22Message::Columns { chunk, columns }.encode(),
                prepared: 0,
                on_sent: None,
            });
        }
        if self.masked.is_some() && self.masked_sent < self.masked_total {
            return Some(self.next_masked());
        }
        if self.masked_sent == self.masked_total
            && let Some(card) = self.card.as_mut()
        {
            return card.poll_transmit();
        }
        if self.config.peer_learns() {
            if self.hits.is_none() && self.compare_ready() {
                self.compare();
            }
            if self.hits.is_some() && self.report_sent < self.report_total {
                return Some(self.next_report());
            }
        }
        None
    }

    fn next_masked(&mut self) -> Outgoing {
        let chunk = self.masked_sent;
        let n = self.config.local_count;
        let range = chunk_range(self.oprf_count, self.config.batch_size, chunk);
        let mut rows = Vec::with_capacity(range.len() * 16);
        for v in self
            .masked
            .as_deref()
            .and_then(|m| m.get(range))
            .unwrap_or_default()
        {
            rows.extend_from_slice(&v.to_le_bytes());
        }
        self.masked_sent += 1;
        if self.masked_sent == self.masked_total {
            self.masked = None;
        }
        let total = u64::from(self.masked_total);
        let share = |c: u64| n * c / total;
        let items = share(u64::from(chunk) + 1) - share(u64::from(chunk));
        Outgoing {
            payload: Rr22Message::Masked { chunk, rows }.encode(),
            prepared: 0,
            on_sent: Some(StageItems {
                stage: Stage::Sent,
                items,
            }),
        }
    }

    /// Every tree message is in: `A`, `C` from the silent VOLE, `A' = P ⊕ A` to
    /// send, and our outputs `H(Decode(C, x))`.
    fn open(&mut self) {
        let ac = self.silent.open(&self.trees);
        self.trees = Zeroizing::new(Vec::new());
        let masked: Vec<u128> = self
            .okvs
            .par_iter()
            .zip(ac.par_iter())
            .map(|(p, pair)| p ^ pair[0])
            .collect();
        let c: Zeroizing<Vec<u128>> = Zeroizing::new(ac.iter().map(|pair| pair[1]).collect());
        drop(ac);
        let hasher = OutputHasher::new(&self.config.context);
        self.outputs = Zeroizing::new(okvs::decode_all(&c, &self.bands, |_, v| hasher.hash(v)));
        if let Some(card) = self.card.as_mut() {
            card.set_outputs(&self.outputs);
            self.outputs = Zeroizing::new(Vec::new());
        }
        self.masked = Some(masked);
        self.okvs = Zeroizing::new(Vec::new());
        self.bands = Zeroizing::new(Vec::new());
    }

    fn compare_ready(&self) -> bool {
        self.masked_sent == self.masked_total && self.outputs_received == self.outputs_total
    }

    fn compare(&mut self) {
        let hits = compare::hits(&self.outputs, &self.peer_values, self.cmp_len);
        if self.config.peer_learns() {
            let report = compare::report(&hits);
            let batch = self.config.batch_size.max(1) as usize;
            // At most peer_count <= u32::MAX positions.
            self.report_total = report.len().div_ceil(batch).max(1) as u32;
            self.report = report;
        }
        self.peer_values = Vec::new();
        self.hits = Some(hits);
    }

    fn next_report(&mut self) -> Outgoing {
        let index = self.report_sent;
        let batch = self.config.batch_size.max(1) as usize;
        let start = (index as usize)
            .saturating_mul(batch)
            .min(self.report.len());
        let end = start.saturating_add(batch).min(self.report.len());
        self.report_sent += 1;
        let message = Rr22Message::Matched {
            index,
            total: self.report.len() as u32,
            positions: self.report.get(start..end).unwrap_or_default().to_vec(),
        };
        if self.report_sent == self.report_total {
            self.report = Vec::new();
        }
        Outgoing {
            payload: message.encode(),
            prepared: 0,
            on_sent: None,
        }
    }

    pub(crate) fn handle(&mut self, message: Rr22Message) -> Result<Option<StageItems>, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        let result = match message {
            Rr22Message::Choices { points } => self.handle_choices(&points),
            Rr22Message::Trees { chunk, blocks } => self.handle_trees(chunk, &blocks),
            Rr22Message::Outputs { batch, values } if self.card.is_none() => {
                self.handle_outputs(batch, values)
            }
            Rr22Message::Table { chunk, seed, rows } => self
                .card_after_oprf(MessageKind::VoleTable)
                .and_then(|card| card.handle_table(chunk, seed, &rows))
                .map(Some),
            Rr22Message::Shuffle { index, payload } => self
                .card_after_oprf(MessageKind::VoleShuffle)
                .and_then(|card| card.handle_shuffle(index, &payload))
                .map(|()| None),
            Rr22Message::Masks { batch, values } => self
                .card_after_oprf(MessageKind::VoleMasks)
                .and_then(|card| card.handle_masks(batch, &values))
                .map(|()| None),
            other => Err(PsiError::MessageNotAllowed {
                kind: other.kind(),
                reason: "the OPRF receiver never receives this message",
            }),
        };
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Cardinality mode once our masked rows are all sent; otherwise the message
    /// is out of place.
    fn card_after_oprf(&mut self, kind: MessageKind) -> Result<&mut CardLearner, PsiError> {
        if self.masked_sent < self.masked_total || self.trees_received < self.trees_total {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "cardinality messages before all our masked rows were sent",
            });
        }
        self.card.as_deref_mut().ok_or(PsiError::MessageNotAllowed {
            kind,
            reason: "only cardinality sessions send this message",
        })
    }

    fn handle_choices(&mut self, points: &[[u8; 32]]) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleChoices;
        if !self.start_sent {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "base-OT choices before our start message",
            });
        }
        if self.keys_set {
            return Err(PsiError::DuplicateBatch { kind, batch: 0 });
        }
        if points.len() != BASE_OTS {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: 0,
                expected: BASE_OTS * 32,
                actual: points.len() * 32,
            });
        }
        let ot = self.ot.take().ok_or(PsiError::Aborted)?;
        let keys = ot
            .keys(&self.config.context, points)
            .map_err(|bad| PsiError::InvalidPoint {
                kind,
                batch: 0,
                index: bad.0.min(BASE_OTS) as u32,
            })?;
        self.silent.set_base_keys(&keys);
        self.keys_set = true;
        Ok(None)
    }

    fn handle_trees(&mut self, chunk: u32, blocks: &[u8]) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleTrees;
        if self.columns_sent < self.columns_total || !self.keys_set {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "tree sums before all our correlated-OT columns were sent",
            });
        }
        check_batch_index(
            kind,
            chunk,
            self.trees_received,
            self.trees_total,
            self.params.trees as u64,
        )?;
        let trees = tree_chunk(self.params.trees, chunk).len();
        let expected = trees * message_blocks(self.params.depth) * 16;
        if blocks.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected,
                actual: blocks.len(),
            });
        }
        self.trees.extend(blocks.chunks_exact(16).map(|b| {
            let mut x = [0u8; 16];
            x.copy_from_slice(b);
            u128::from_le_bytes(x)
        }));
        self.trees_received += 1;
        if self.trees_received == self.trees_total {
            self.open();
        }
        Ok(None)
    }

    fn handle_outputs(
        &mut self,
        batch: u32,
        values: Vec<u8>,
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleOutputs;
        if self.masked_sent < self.masked_total || self.trees_received < self.trees_total {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "outputs before all our masked rows were sent",
            });
        }
        check_batch_index(
            kind,
            batch,
            self.outputs_received,
            self.outputs_total,
            self.config.peer_count,
        )?;
        let count = batch_len(batch, self.config.batch_size, self.config.peer_count);
        let expected = count * self.cmp_len;
        if values.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch,
                expected,
                actual: values.len(),
            });
        }
        if self.peer_values.is_empty() {
            self.peer_values = values;
        } else {
            self.peer_values.extend_from_slice(&values);
        }
        self.outputs_received += 1;
        Ok(Some(StageItems {
            stage: Stage::Received,
            items: count as u64,
        }))
    }

    pub(crate) fn pending(&self) -> Option<Pending> {
        if !self.keys_set {
            return Some(Pending::PeerBatches {
                received: 0,
                total: 1,
            });
        }
        if self.columns_sent < self.columns_total {
            return Some(Pending::OwnBatches {
                sent: self.columns_sent,
                total: self.columns_total,
            });
        }
        if self.trees_received < self.trees_total {
            return Some(Pending::PeerBatches {
                received: self.trees_received,
                total: self.trees_total,
            });
        }
        if self.masked_sent < self.masked_total {
            return Some(Pending::OwnBatches {
                sent: self.masked_sent,
                total: self.masked_total,
            });
        }
        if let Some(card) = self.card.as_ref() {
            return card.pending();
        }
        if self.outputs_received < self.outputs_total {
            return Some(Pending::PeerBatches {
                received: self.outputs_received,
                total: self.outputs_total,
            });
        }
        if self.config.peer_learns()
            && (self.hits.is_none() || self.report_sent < self.report_total)
        {
            return Some(Pending::Responses {
                queued: (self.report_total - self.report_sent).max(1) as usize,
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

    pub(crate) fn finish(mut self) -> Result<Outcome, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        if let Some(pending) = self.pending() {
            return Err(PsiError::Incomplete { pending });
        }
        if let Some(card) = self.card.as_ref() {
            let mut outcome = outcome_base(&self.config, self.cmp_len);
            fill_counts(&mut outcome, card.counts());
            return Ok(outcome);
        }
        if self.hits.is_none() {
            self.compare();
        }
        let hits = self.hits.take().unwrap_or_default();
        let mut outcome = outcome_base(&self.config, self.cmp_len);
        compare::fill_outcome(
            &mut outcome,
            &self.config,
            &self.items,
            hits.iter().map(|&(p, _)| p),
            &self.outputs,
        );
        Ok(outcome)
    }
}

/// One query per bin: the placed item's, or a random dummy's for an empty bin.
fn bin_queries(
    hasher: &BinHasher,
    slots: &[Slot],
    items: &[ItemHash],
    rng: &mut StdRng,
) -> Vec<ItemHash> {
    slots
        .iter()
        .enumerate()
        .map(|(bin, slot)| match *slot {
            Slot::Item { position, which } => items
                .get(position as usize)
                .map_or_else(ItemHash::default, |x| hasher.query(bin as u64, which, x)),
            Slot::Empty => ItemHash {
                value: rng.random(),
                band_key: rng.random(),
            },
        })
        .collect()
}

/// A cardinality result from the counts per group.
pub(crate) fn fill_counts(outcome: &mut Outcome, counts: &[u64]) {
    for (t, &n) in outcome.per_type.iter_mut().zip(counts) {
        t.matched = Some(n);
    }
    outcome.result = MatchResult::Cardinality {
        matched: counts.iter().sum(),
    };
}
