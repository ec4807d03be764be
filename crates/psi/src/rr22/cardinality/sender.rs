//! Cardinality mode, the OPRF sender: programs the OKVS that maps each of its items'
//! three queries to `F(query) ⊕ r_bin`, permutes the learner's `w` in the
//! oblivious shuffle, and sends `t_j ⊕ r_{π(j)}`. When both learn it takes the
//! learner's counts.

use rand::rngs::StdRng;
use rand::{Rng, RngExt};
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::bins::{BinHasher, CUCKOO_HASHES};
use super::{CardShape, Stage as CardStage, match_len, table_chunk, table_chunks, table_share};
use crate::ecdh::batch::batch_range;
use crate::error::Pending;
use crate::osn::ShufflePermuter;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::rr22::hash::{ItemHash, OutputHasher};
use crate::rr22::message::Rr22Message;
use crate::rr22::params::MAX_OKVS_ATTEMPTS;
use crate::silent::gf128::mul;
use crate::vole::hash::BandHasher;
use crate::vole::okvs::{self, Band};
use crate::{MessageKind, PsiError};

/// What the OPRF left the sender with.
pub(crate) struct OprfKey<'a> {
    /// `K = B ⊕ A' ⊗ Δ`.
    pub(crate) k: &'a [u128],
    pub(crate) delta: u128,
    /// The bands of the learner's OKVS (its seed, its size).
    pub(crate) bands: &'a BandHasher,
    /// The learner's seed (the bins derive from it too).
    pub(crate) seed: &'a [u8; 16],
}

/// The OPRF sender's side of cardinality mode, from the OPRF's end on.
pub(crate) struct CardSender {
    shape: CardShape,
    /// Largest honest count per group: the smaller of the two declared sizes.
    limits: Vec<u64>,
    table: Vec<u128>,
    table_seed: [u8; 16],
    table_sent: u32,
    /// Per bin: `r_j`.
    targets: Zeroizing<Vec<u128>>,
    permuter: Option<ShufflePermuter>,
    shuffle_sent: u32,
    shuffle_received: u32,
    masks: Zeroizing<Vec<u8>>,
    masks_ready: bool,
    masks_sent: u32,
    counts: Option<Vec<u64>>,
}

impl CardSender {
    /// Programs the table from our items' hashes and draws the shuffle.
    ///
    /// # Errors
    /// [`PsiError::OkvsEncoding`] when no table seed works.
    pub(crate) fn new(
        shape: CardShape,
        limits: Vec<u64>,
        key: &OprfKey<'_>,
        items: &[ItemHash],
        rng: &mut StdRng,
    ) -> Result<Self, PsiError> {
        let bins = BinHasher::new(&shape.context, key.seed, shape.log_n);
        let targets: Zeroizing<Vec<u128>> =
            Zeroizing::new((0..shape.bins()).map(|_| rng.random()).collect());
        // Three queries per item, item after item.
        let queries: Zeroizing<Vec<ItemHash>> = Zeroizing::new(
            items
                .par_iter()
                .flat_map_iter(|y| {
                    let b = bins.bins(y);
                    (0..CUCKOO_HASHES).map(move |w| (b[w], w as u8, *y))
                })
                .map(|(bin, w, y)| bins.query(bin, w, &y))
                .collect(),
        );
        let bin_of: Zeroizing<Vec<u64>> =
            Zeroizing::new(items.par_iter().flat_map_iter(|y| bins.bins(y)).collect());
        let out = OutputHasher::new(&shape.context);
        let oprf_bands: Zeroizing<Vec<Band>> = Zeroizing::new(
            queries
                .par_iter()
                .map(|q| key.bands.band(&q.band_key))
                .collect(),
        );
        let values: Zeroizing<Vec<u128>> =
            Zeroizing::new(okvs::decode_all(key.k, &oprf_bands, |i, v: u128| {
                let q = queries.get(i).map_or(0, |q| q.value);
                let f = out.hash(v ^ mul(key.delta, q));
                let mut x = [0u8; 16];
                x.copy_from_slice(&f[..16]);
                let r = bin_of
                    .get(i)
                    .and_then(|&b| targets.get(b as usize))
                    .copied()
                    .unwrap_or(0);
                u128::from_le_bytes(x) ^ r
            }));
        drop(oprf_bands);
        let m = shape.table_len();
        let mut attempts = 0;
        let (table, table_seed) = loop {
            attempts += 1;
            let mut seed = [0u8; 16];
            rng.fill_bytes(&mut seed);
            let bands = BandHasher::new(&shape.context, &seed, m);
            let pairs: Zeroizing<Vec<(Band, u128)>> = Zeroizing::new(
                queries
                    .par_iter()
                    .zip(values.par_iter())
                    .map(|(q, &v)| (bands.band(&q.band_key), v))
                    .collect(),
            );
            // Sent in the clear: free columns must be random (oblivious OKVS).
            match okvs::encode_oblivious(m, &pairs, rng) {
                Ok(table) => break (table, seed),
                Err(_) if attempts < MAX_OKVS_ATTEMPTS => {}
                Err(_) => return Err(PsiError::OkvsEncoding { attempts }),
            }
        };
        let width = shape.width();
        let permuter = ShufflePermuter::new(&shape.context, shape.log_n, width, rng);
        Ok(CardSender {
            shape,
            limits,
            table,
            table_seed,
            table_sent: 0,
            targets,
            permuter: Some(permuter),
            shuffle_sent: 0,
            shuffle_received: 0,
            masks: Zeroizing::new(Vec::new()),
            masks_ready: false,
            masks_sent: 0,
            counts: None,
        })
    }

    fn stage(&self) -> CardStage {
        if self.table_sent < table_chunks(&self.shape) {
            CardStage::Table
        } else if self.permuter.as_ref().is_some_and(|p| !p.is_done()) {
            CardStage::Shuffle
        } else if self.masks_sent < self.shape.mask_batches() {
            CardStage::Masks
        } else if self.shape.peer_learns && self.counts.is_none() {
            CardStage::Counts
        } else {
            CardStage::Done
        }
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Outgoing> {
        match self.stage() {
            CardStage::Table => {
                let chunk = self.table_sent;
                let range = table_chunk(&self.shape, chunk);
                let mut rows = Vec::with_capacity(range.len() * 16);
                for v in self.table.get(range).unwrap_or_default() {
                    rows.extend_from_slice(&v.to_le_bytes());
                }
                self.table_sent += 1;
                if self.table_sent == table_chunks(&self.shape) {
                    self.table = Vec::new();
                }
                // The table carries our items: progress counts them sent with it.
                let items = table_share(&self.shape, chunk);
                Some(Outgoing {
                    payload: Rr22Message::Table {
                        chunk,
                        seed: self.table_seed,
                        rows,
                    }
                    .encode(),
                    prepared: items,
                    on_sent: Some(StageItems {
                        stage: Stage::Sent,
                        items,
                    }),
                })
            }
            CardStage::Shuffle => {
                let payload = self
                    .permuter
                    .as_mut()?
                    .poll_payload(self.shape.batch_size)?;
                let index = self.shuffle_sent;
                self.shuffle_sent += 1;
                Some(Outgoing {
                    payload: Rr22Message::Shuffle { index, payload }.encode(),
                    prepared: 0,
                    on_sent: None,
                })
            }
            CardStage::Masks => {
                if !self.masks_ready {
                    self.compute_masks();
                }
                let batch = self.masks_sent;
                let width = self.shape.width();
                let range = batch_range(batch, self.shape.batch_size, self.shape.bins());
                let values = self
                    .masks
                    .get(range.start * width..range.end * width)
                    .unwrap_or_default()
                    .to_vec();
                self.masks_sent += 1;
                if self.masks_sent == self.shape.mask_batches() {
                    self.masks = Zeroizing::new(Vec::new());
                }
                Some(Outgoing {
                    payload: Rr22Message::Masks { batch, values }.encode(),
                    prepared: 0,
                    on_sent: None,
                })
            }
            CardStage::Counts | CardStage::Done => None,
        }
    }

    /// `t_j ⊕ (r_{π(j)} ‖ 0…)`, the targets cut to the match length.
    fn compute_masks(&mut self) {
        let Some(permuter) = self.permuter.take() else {
            return;
        };
        let perm: Zeroizing<Vec<u32>> = Zeroizing::new(permuter.permutation().to_vec());
        let mut t = permuter.into_shares();
        let (l, width) = (match_len(self.shape.log_n), self.shape.width());
        for (u, &p) in t.chunks_exact_mut(width).zip(perm.iter()) {
            let r = Zeroizing::new(
                self.targets
                    .get(p as usize)
                    .copied()
                    .unwrap_or(0)
                    .to_le_bytes(),
            );
            for (a, b) in u[..l].iter_mut().zip(r.iter()) {
                *a ^= b;
            }
        }
        self.targets = Zeroizing::new(Vec::new());
        self.masks = t;
        self.masks_ready = true;
    }

    pub(crate) fn handle_shuffle(&mut self, index: u32, payload: &[u8]) -> Result<(), PsiError> {
        let kind = MessageKind::VoleShuffle;
        let Some(permuter) = self.permuter.as_mut() else {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "a shuffle message after the shuffle ended",
            });
        };
        if self.table_sent < table_chunks(&self.shape) {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "shuffle messages before our whole table was sent",
            });
        }
        if index != self.shuffle_received {
            return Err(PsiError::BatchOutOfOrder {
                kind,
                expected: self.shuffle_received,
                got: index,
            });
        }
        permuter.handle_payload(payload)?;
        self.shuffle_received += 1;
        Ok(())
    }

    pub(crate) fn handle_counts(&mut self, counts: &[u64]) -> Result<(), PsiError> {
        let kind = MessageKind::Counts;
        let inconsistent = |reason| PsiError::InconsistentResult {
            kind,
            batch: 0,
            reason,
        };
        if !self.shape.peer_learns {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "this party does not learn the result",
            });
        }
        if self.stage() != CardStage::Counts {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "counts before all our comparison masks were sent",
            });
        }
        if counts.len() != self.limits.len() {
            return Err(inconsistent("counts for another number of type groups"));
        }
        if counts.iter().zip(&self.limits).any(|(c, l)| c > l) {
            return Err(inconsistent("a count larger than a type group's sets"));
        }
        self.counts = Some(counts.to_vec());
        Ok(())
    }

    pub(crate) fn pending(&self) -> Option<Pending> {
        match self.stage() {
            CardStage::Table => Some(Pending::OwnBatches {
                sent: self.table_sent,
                total: table_chunks(&self.shape),
            }),
            CardStage::Shuffle => Some(Pending::PeerBatches {
                received: self.shuffle_received,
                total: self.shuffle_received + 1,
            }),
            CardStage::Masks => Some(Pending::OwnBatches {
                sent: self.masks_sent,
                total: self.shape.mask_batches(),
            }),
            CardStage::Counts => Some(Pending::Report {
                received: 0,
                total: 1,
            }),
            CardStage::Done => None,
        }
    }

    /// The learner's counts, when both learn and they arrived.
    pub(crate) fn counts(&self) -> Option<&[u64]> {
        self.counts.as_deref()
    }
}
