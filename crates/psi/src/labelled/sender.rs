//! The releasing side: answers the learner's blinded batches with `b`, then sends
//! one entry per distinct item of its own set, in a secret order.

use std::collections::VecDeque;
use std::fmt;

use curve25519_dalek::Scalar;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::LabelTable;
use super::keys::{self, Layout};
use super::message::LabelledMessage;
use super::params::HANDLE_LEN;
use crate::config::batch_count;
use crate::ecdh::batch::check_point_batch;
use crate::ecdh::hash::IdentifierHasher;
use crate::items::Parts;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::{MatchResult, MessageKind, Outcome, PsiError, SessionConfig, TypeMatches};

/// The sender's secrets for one session: `b/2` (see `ecdh/party.rs` on halving)
/// and the key of its label-set handles. Zeroised on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(super) struct SenderSecret {
    pub(super) half_key: Scalar,
    pub(super) handle_key: [u8; 32],
}

/// The running sender.
pub(super) struct Sender {
    config: SessionConfig,
    secret: SenderSecret,
    layout: Layout,
    hashers: Vec<IdentifierHasher>,
    /// Own distinct items (type index ‖ value) in sending order; wiped as sent.
    own_items: Vec<Box<[u8]>>,
    /// Sending position → distinct index.
    own_order: Vec<u32>,
    row_offsets: Vec<usize>,
    rows: Vec<u64>,
    labels: LabelTable,
    peer_total: u32,
    peer_received: u32,
    outbox: VecDeque<LabelledMessage>,
    entries_total: u32,
    entries_sent: u32,
    failed: bool,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("peer_received", &self.peer_received)
            .field("entries_sent", &self.entries_sent)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(super) fn new(
        config: SessionConfig,
        parts: Parts,
        labels: LabelTable,
        layout: Layout,
        secret: SenderSecret,
        order_seed: [u8; 32],
    ) -> Result<Sender, PsiError> {
        let hashers = parts
            .types
            .iter()
            .map(|t| IdentifierHasher::new(t, &config.context))
            .collect::<Result<Vec<_>, _>>()?;
        // One shuffle over the whole set, whatever the groups: an entry's position
        // then says nothing about its identifier type.
        let n = parts.keys.len();
        // n <= MAX_SET_SIZE = u32::MAX.
        let mut own_order: Vec<u32> = (0..n as u32).collect();
        own_order.shuffle(&mut StdRng::from_seed(order_seed));
        let mut keys: Vec<Option<Box<[u8]>>> = parts.keys.into_iter().map(Some).collect();
        let own_items = own_order
            .iter()
            .filter_map(|&i| keys.get_mut(i as usize).and_then(Option::take))
            .collect();
        let peer_total = batch_count(config.peer_count, config.batch_size);
        let entries_total = batch_count(config.local_count, layout.per_message);
        Ok(Sender {
            secret,
            layout,
            hashers,
            own_items,
            own_order,
            row_offsets: parts.row_offsets,
            rows: parts.rows,
            labels,
            peer_total,
            peer_received: 0,
            outbox: VecDeque::new(),
            entries_total,
            entries_sent: 0,
            failed: false,
            config,
        })
    }

    pub(super) fn poll_transmit(&mut self) -> Option<Outgoing> {
        if self.failed {
            return None;
        }
        if let Some(m) = self.outbox.pop_front() {
            let items = match &m {
                LabelledMessage::Evaluated { points, .. } => points.len() as u64,
                _ => 0,
            };
            return Some(Outgoing {
                payload: m.encode(),
                prepared: 0,
                on_sent: Some(StageItems {
                    stage: Stage::Answered,
                    items,
                }),
            });
        }
        // Entries only after every learner batch is answered, so the learner holds
        // all of `b·H(x)` when they arrive and can match and drop them batch by batch.
        if self.peer_received < self.peer_total || self.entries_sent >= self.entries_total {
            return None;
        }
        let (message, items) = self.entry_batch();
        Some(Outgoing {
            payload: message.encode(),
            prepared: items,
            on_sent: Some(StageItems {
                stage: Stage::Sent,
                items,
            }),
        })
    }

    /// Builds our next `Entries` batch, wiping the raw values it used.
    fn entry_batch(&mut self) -> (LabelledMessage, u64) {
        let batch = self.entries_sent;
        let per = self.layout.per_message as usize;
        let start = (batch as usize)
            .saturating_mul(per)
            .min(self.own_items.len());
        let end = start.saturating_add(per).min(self.own_items.len());
        let items = self.own_items.get_mut(start..end).unwrap_or_default();
        // `b·H(y)` derives each entry's tag and key: wiped once the batch is sealed.
        let points = Zeroizing::new(keys::hash_and_blind(
            items,
            &self.hashers,
            &self.secret.half_key,
        ));
        let order = self.own_order.get(start..end).unwrap_or_default();
        let layout = &self.layout;
        let context = &self.config.context;
        let (row_offsets, rows, labels) = (&self.row_offsets, &self.rows, &self.labels);
        let handle_key = &self.secret.handle_key;
        let entries: Vec<Vec<u8>> = points
            .par_iter()
            .zip(order.par_iter())
            .map(|(p, &d)| {
                let d = d as usize;
                let item_rows = match (row_offsets.get(d), row_offsets.get(d + 1)) {
                    (Some(&s), Some(&e)) => rows.get(s..e).unwrap_or_default(),
                    _ => &[],
                };
                // Every row has values and every item at most `cap` rows: both
                // checked by `LabelledSetup::sender` before the session.
                let sets: Vec<([u8; HANDLE_LEN], &[Vec<u8>])> = item_rows
                    .iter()
                    .filter_map(|&r| Some((keys::handle(handle_key, r), labels.get(r)?)))
                    .collect();
                let k = keys::derive(context, p, layout.tag_len);
                let mut out = Vec::with_capacity(layout.entry_len);
                // Cannot fail for checked inputs; an empty entry would be refused by
                // the learner rather than carry a wrong value.
                let _ = keys::seal(layout, &k, &sets, &mut out);
                out
            })
            .collect();
        let mut flat = Vec::with_capacity(entries.len() * self.layout.entry_len);
        for e in &entries {
            flat.extend_from_slice(e);
        }
        self.entries_sent += 1;
        if self.entries_sent == self.entries_total {
            self.own_items = Vec::new();
        }
        let n = entries.len() as u64;
        (
            LabelledMessage::Entries {
                batch,
                entries: flat,
            },
            n,
        )
    }

    pub(super) fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        let result = self.handle_inner(payload);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn handle_inner(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        let (batch, points) = match LabelledMessage::decode(payload)? {
            LabelledMessage::Blinded { batch, points } => (batch, points),
            LabelledMessage::Evaluated { .. } => {
                return Err(PsiError::MessageNotAllowed {
                    kind: MessageKind::Reblinded,
                    reason: "the releasing side receives no evaluated points",
                });
            }
            LabelledMessage::Entries { .. } => {
                return Err(PsiError::MessageNotAllowed {
                    kind: MessageKind::LabelEntries,
                    reason: "the releasing side receives no label entries",
                });
            }
        };
        let kind = MessageKind::Blinded;
        check_point_batch(
            kind,
            batch,
            self.peer_received,
            self.peer_total,
            self.config.peer_count,
            self.config.batch_size,
            points.len(),
        )?;
        let decoded = keys::decompress_all(&points).map_err(|index| PsiError::InvalidPoint {
            kind,
            batch,
            // index < batch_size <= MAX_BATCH_SIZE
            index: index as u32,
        })?;
        let evaluated = keys::mul_compress(&decoded, &self.secret.half_key);
        self.outbox.push_back(LabelledMessage::Evaluated {
            batch,
            points: evaluated,
        });
        self.peer_received += 1;
        Ok(Some(StageItems {
            stage: Stage::Received,
            items: points.len() as u64,
        }))
    }

    pub(super) fn is_finished(&self) -> bool {
        !self.failed
            && self.outbox.is_empty()
            && self.peer_received == self.peer_total
            && self.entries_sent == self.entries_total
    }

    pub(super) fn pending(&self) -> Option<crate::Pending> {
        if self.peer_received < self.peer_total {
            return Some(crate::Pending::PeerBatches {
                received: self.peer_received,
                total: self.peer_total,
            });
        }
        if !self.outbox.is_empty() {
            return Some(crate::Pending::Responses {
                queued: self.outbox.len(),
            });
        }
        (self.entries_sent < self.entries_total).then_some(crate::Pending::OwnBatches {
            sent: self.entries_sent,
            total: self.entries_total,
        })
    }

    pub(super) fn finish(self) -> Result<Outcome, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        if let Some(pending) = self.pending() {
            return Err(PsiError::Incomplete { pending });
        }
        Ok(Outcome {
            role: self.config.role,
            mode: self.config.mode,
            local_count: self.config.local_count,
            peer_count: self.config.peer_count,
            comparison_len: self.layout.tag_len,
            result: MatchResult::NotRevealed,
            per_type: self
                .config
                .groups
                .iter()
                .map(|g| TypeMatches {
                    id_type: g.id_type.clone(),
                    local: g.local,
                    peer: g.peer,
                    matched: None,
                })
                .collect(),
            labels: None,
        })
    }
}

/// Draws the sender's secrets and order seed from `rng`.
pub(super) fn draw<R: rand::CryptoRng + ?Sized>(
    rng: &mut R,
) -> Result<(SenderSecret, [u8; 32]), PsiError> {
    let half_key = super::draw_half_key(rng)?;
    let mut handle_key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut handle_key[..]);
    let mut order_seed = [0u8; 32];
    rng.fill_bytes(&mut order_seed);
    Ok((
        SenderSecret {
            half_key,
            handle_key: *handle_key,
        },
        order_seed,
    ))
}
