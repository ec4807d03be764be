//! Cardinality mode, the learner (the OPRF receiver): after the OPRF it receives the
//! other side's programmed OKVS, turns each bin's output into `w_j` (equal to the
//! other side's secret target of bin `j` exactly when bin `j`'s item is also the
//! other side's), hands `w` to the oblivious shuffle as its data holder, and counts
//! the positions whose shuffled share equals the other side's masked target.

use rand::rngs::StdRng;
use zeroize::Zeroizing;

use super::bins::Slot;
use super::{CardShape, Stage as CardStage, match_len, table_chunk, table_chunks, table_share};
use crate::ecdh::batch::{batch_len, check_batch_index};
use crate::error::Pending;
use crate::osn::ShuffleHolder;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::rr22::hash::ItemHash;
use crate::rr22::message::Rr22Message;
use crate::vole::hash::BandHasher;
use crate::vole::okvs;
use crate::{MessageKind, PsiError};

/// The learner's side of cardinality mode, from the OPRF's end on.
pub(crate) struct CardLearner {
    shape: CardShape,
    /// Per bin: its query (an item's or a dummy's) and the item's group (`None` for
    /// a dummy).
    queries: Zeroizing<Vec<ItemHash>>,
    groups_of: Vec<Option<u16>>,
    /// Per bin: the first 16 bytes of our OPRF output.
    outputs: Zeroizing<Vec<u128>>,
    table: Zeroizing<Vec<u128>>,
    table_seed: Option<[u8; 16]>,
    table_received: u32,
    /// Draws the shuffle's masks and `Δ`; dropped once the shuffle has them.
    rng: Option<StdRng>,
    holder: Option<ShuffleHolder>,
    shuffle_sent: u32,
    shuffle_received: u32,
    shares: Zeroizing<Vec<u8>>,
    masks_received: u32,
    counts: Vec<u64>,
    counts_sent: bool,
}

impl CardLearner {
    /// Before the OPRF: the bins' queries and groups.
    pub(crate) fn new(
        shape: CardShape,
        queries: Zeroizing<Vec<ItemHash>>,
        slots: &[Slot],
        group_of: impl Fn(u32) -> Option<u16>,
        rng: StdRng,
    ) -> Self {
        let groups_of = slots
            .iter()
            .map(|s| match *s {
                Slot::Empty => None,
                Slot::Item { position, .. } => group_of(position),
            })
            .collect();
        CardLearner {
            counts: vec![0; shape.groups],
            shape,
            queries,
            groups_of,
            outputs: Zeroizing::new(Vec::new()),
            table: Zeroizing::new(Vec::new()),
            table_seed: None,
            table_received: 0,
            rng: Some(rng),
            holder: None,
            shuffle_sent: 0,
            shuffle_received: 0,
            shares: Zeroizing::new(Vec::new()),
            masks_received: 0,
            counts_sent: false,
        }
    }

    /// The OPRF is done: our output for every bin's query.
    pub(crate) fn set_outputs(&mut self, outputs: &[[u8; 32]]) {
        self.outputs = Zeroizing::new(
            outputs
                .iter()
                .map(|f| {
                    let mut x = [0u8; 16];
                    x.copy_from_slice(&f[..16]);
                    u128::from_le_bytes(x)
                })
                .collect(),
        );
    }

    fn stage(&self) -> CardStage {
        if self.table_received < table_chunks(&self.shape) {
            CardStage::Table
        } else if self.holder.as_ref().is_some_and(|h| !h.is_done()) {
            CardStage::Shuffle
        } else if self.masks_received < self.shape.mask_batches() {
            CardStage::Masks
        } else if self.shape.peer_learns && !self.counts_sent {
            CardStage::Counts
        } else {
            CardStage::Done
        }
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Outgoing> {
        if let Some(holder) = self.holder.as_mut()
            && let Some(payload) = holder.poll_payload(self.shape.batch_size)
        {
            let index = self.shuffle_sent;
            self.shuffle_sent += 1;
            self.take_shares_when_done();
            return Some(Outgoing {
                payload: Rr22Message::Shuffle { index, payload }.encode(),
                prepared: 0,
                on_sent: None,
            });
        }
        if self.stage() == CardStage::Counts {
            self.counts_sent = true;
            return Some(Outgoing {
                payload: Rr22Message::Counts {
                    counts: self.counts.clone(),
                }
                .encode(),
                prepared: 0,
                on_sent: None,
            });
        }
        None
    }

    /// A chunk of the table; it stands for its share of the sender's items.
    pub(crate) fn handle_table(
        &mut self,
        chunk: u32,
        seed: [u8; 16],
        rows: &[u8],
    ) -> Result<StageItems, PsiError> {
        let kind = MessageKind::VoleTable;
        let total = table_chunks(&self.shape);
        check_batch_index(
            kind,
            chunk,
            self.table_received,
            total,
            self.shape.sender_count,
        )?;
        if *self.table_seed.get_or_insert(seed) != seed {
            return Err(PsiError::InconsistentResult {
                kind,
                batch: chunk,
                reason: "a table chunk with another seed than the first",
            });
        }
        let expected = table_chunk(&self.shape, chunk).len() * 16;
        if rows.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected,
                actual: rows.len(),
            });
        }
        self.table.extend(rows.chunks_exact(16).map(|b| {
            let mut x = [0u8; 16];
            x.copy_from_slice(b);
            u128::from_le_bytes(x)
        }));
        self.table_received += 1;
        if self.table_received == total {
            self.start_shuffle();
        }
        Ok(StageItems {
            stage: Stage::Received,
            items: table_share(&self.shape, chunk),
        })
    }

    /// `w_j = Decode(table, q_j) ⊕ F(q_j)`, cut to the match length, with bin `j`'s
    /// group appended when the session has several: the shuffle's input.
    fn start_shuffle(&mut self) {
        let shape = &self.shape;
        let seed = self.table_seed.unwrap_or_default();
        let bands = BandHasher::new(&shape.context, &seed, shape.table_len());
        let (l, width) = (match_len(shape.log_n), shape.width());
        let mut w = Zeroizing::new(vec![0u8; shape.bins() * width]);
        for (j, out) in w.chunks_exact_mut(width).enumerate() {
            let (Some(q), Some(f)) = (self.queries.get(j), self.outputs.get(j)) else {
                continue;
            };
            let value = okvs::decode(&self.table, &bands.band(&q.band_key)) ^ f;
            let bytes = Zeroizing::new(value.to_le_bytes());
            out[..l].copy_from_slice(&bytes[..l]);
            if shape.tagged() {
                let g = self.groups_of.get(j).copied().flatten().unwrap_or(u16::MAX);
                out[l..].copy_from_slice(&g.to_be_bytes());
            }
        }
        self.table = Zeroizing::new(Vec::new());
        self.queries = Zeroizing::new(Vec::new());
        self.outputs = Zeroizing::new(Vec::new());
        let Some(mut rng) = self.rng.take() else {
            return;
        };
        self.holder = Some(ShuffleHolder::new(
            &shape.context,
            shape.log_n,
            width,
            w,
            &mut rng,
        ));
    }

    pub(crate) fn handle_shuffle(&mut self, index: u32, payload: &[u8]) -> Result<(), PsiError> {
        let kind = MessageKind::VoleShuffle;
        let Some(holder) = self.holder.as_mut() else {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "shuffle messages before the whole programmed table arrived",
            });
        };
        if index != self.shuffle_received {
            return Err(PsiError::BatchOutOfOrder {
                kind,
                expected: self.shuffle_received,
                got: index,
            });
        }
        holder.handle_payload(payload)?;
        self.shuffle_received += 1;
        self.take_shares_when_done();
        Ok(())
    }

    /// Once the shuffle has sent and received everything: our shares `s`.
    fn take_shares_when_done(&mut self) {
        if self.holder.as_ref().is_some_and(ShuffleHolder::is_done)
            && let Some(h) = self.holder.take()
        {
            self.shares = h.into_shares();
        }
    }

    /// A batch of `t_j ⊕ r_{π(j)}`: position `j` matched when it equals our share
    /// `s_j` in the first match-length bytes; the rest is `j`'s group.
    pub(crate) fn handle_masks(&mut self, batch: u32, values: &[u8]) -> Result<(), PsiError> {
        let kind = MessageKind::VoleMasks;
        let bins = self.shape.bins() as u64;
        if self.masks_received >= self.shape.mask_batches() {
            return Err(PsiError::TooManyItems {
                kind,
                batch,
                declared: bins,
            });
        }
        if self.holder.is_some() || self.shares.is_empty() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "comparison masks before the shuffle ended",
            });
        }
        let shape = &self.shape;
        check_batch_index(kind, batch, self.masks_received, shape.mask_batches(), bins)?;
        let count = batch_len(batch, shape.batch_size, bins);
        let width = shape.width();
        if values.len() != count * width {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch,
                expected: count * width,
                actual: values.len(),
            });
        }
        let start = batch as usize * shape.batch_size.max(1) as usize;
        let l = match_len(shape.log_n);
        let ours = self
            .shares
            .get(start * width..(start + count) * width)
            .unwrap_or_default();
        for (s, u) in ours.chunks_exact(width).zip(values.chunks_exact(width)) {
            if s[..l] != u[..l] {
                continue;
            }
            let group = if shape.tagged() {
                let mut g = [0u8; 2];
                for (o, (a, b)) in g.iter_mut().zip(s[l..].iter().zip(&u[l..])) {
                    *o = a ^ b;
                }
                usize::from(u16::from_be_bytes(g))
            } else {
                0
            };
            if let Some(c) = self.counts.get_mut(group) {
                *c += 1;
            }
        }
        self.masks_received += 1;
        if self.masks_received == shape.mask_batches() {
            self.shares = Zeroizing::new(Vec::new());
        }
        Ok(())
    }

    pub(crate) fn pending(&self) -> Option<Pending> {
        match self.stage() {
            CardStage::Table => Some(Pending::PeerBatches {
                received: self.table_received,
                total: table_chunks(&self.shape),
            }),
            CardStage::Shuffle => Some(Pending::PeerBatches {
                received: self.shuffle_received,
                total: self.shuffle_received + 1,
            }),
            CardStage::Masks => Some(Pending::PeerBatches {
                received: self.masks_received,
                total: self.shape.mask_batches(),
            }),
            CardStage::Counts => Some(Pending::Responses { queued: 1 }),
            CardStage::Done => None,
        }
    }

    /// Matched items per agreed group.
    pub(crate) fn counts(&self) -> &[u64] {
        &self.counts
    }
}
