//! The learning side: sends `a·H(x)`, unblinds the sender's `b·a·H(x)` to
//! `b·H(x)`, derives its tags and keys, and opens the sender's entries whose tag
//! matches one of its items.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use curve25519_dalek::Scalar;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::keys::{self, LabelSet, Layout, OpenError};
use super::message::LabelledMessage;
use super::params::HANDLE_LEN;
use crate::config::batch_count;
use crate::ecdh::batch::{batch_len, check_batch_index, check_point_batch};
use crate::ecdh::hash::IdentifierHasher;
use crate::items::Parts;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::{
    LabelledRow, Match, MatchId, MatchResult, MessageKind, Outcome, Pending, PsiError,
    ReceivedLabels, SessionConfig, TypeMatches,
};

/// Tag bytes used as a hash key (tags are at most 13 bytes under the set-size limit).
const TAG_KEY_LEN: usize = 16;

/// The learner's secrets: `a/2` and `a⁻¹/2` (halved for `double_and_compress_batch`).
#[derive(Zeroize, ZeroizeOnDrop)]
pub(super) struct LearnerSecret {
    pub(super) half_key: Scalar,
    pub(super) half_inverse: Scalar,
}

/// A matched sending position with the label sets its entry carried.
type Hit = (u32, Vec<LabelSet>);

/// The running learner.
pub(super) struct Learner {
    config: SessionConfig,
    secret: LearnerSecret,
    layout: Layout,
    hashers: Vec<IdentifierHasher>,
    /// Own items (type index ‖ value) in sending order; wiped as blinded.
    own_items: Vec<Box<[u8]>>,
    own_order: Vec<u32>,
    /// Position ranges of the agreed type groups (one range without groups).
    own_bounds: Vec<Range<usize>>,
    row_offsets: Vec<usize>,
    rows: Vec<u64>,
    own_total: u32,
    own_sent: u32,
    /// `b·H(x)` by sending position.
    evaluated: Vec<[u8; 32]>,
    evaluated_batches: u32,
    /// Tag prefix → sending position.
    tags: HashMap<[u8; TAG_KEY_LEN], u32>,
    /// Matched positions with their label sets, in arrival order.
    hits: Vec<Hit>,
    matched: HashSet<u32>,
    entries_total: u32,
    entries_received: u32,
    failed: bool,
}

impl Drop for Learner {
    /// `b·H(x)` opens the entries of our items: wiped with the learner.
    fn drop(&mut self) {
        self.evaluated.zeroize();
    }
}

impl fmt::Debug for Learner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Learner")
            .field("own_sent", &self.own_sent)
            .field("entries_received", &self.entries_received)
            .finish_non_exhaustive()
    }
}

impl Learner {
    pub(super) fn new(
        config: SessionConfig,
        parts: Parts,
        layout: Layout,
        secret: LearnerSecret,
        order: crate::ecdh::groups::Order,
    ) -> Result<Learner, PsiError> {
        let hashers = parts
            .types
            .iter()
            .map(|t| IdentifierHasher::new(t, &config.context))
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys: Vec<Option<Box<[u8]>>> = parts.keys.into_iter().map(Some).collect();
        let own_items = order
            .order
            .iter()
            .filter_map(|&i| keys.get_mut(i as usize).and_then(Option::take))
            .collect();
        let own_total = batch_count(config.local_count, config.batch_size);
        let entries_total = batch_count(config.peer_count, layout.per_message);
        Ok(Learner {
            secret,
            layout,
            hashers,
            own_items,
            own_order: order.order,
            own_bounds: order.bounds,
            row_offsets: parts.row_offsets,
            rows: parts.rows,
            own_total,
            own_sent: 0,
            evaluated: Vec::with_capacity(usize::try_from(config.local_count).unwrap_or(0)),
            evaluated_batches: 0,
            tags: HashMap::new(),
            hits: Vec::new(),
            matched: HashSet::new(),
            entries_total,
            entries_received: 0,
            failed: false,
            config,
        })
    }

    pub(super) fn poll_transmit(&mut self) -> Option<Outgoing> {
        if self.failed || self.own_sent >= self.own_total {
            return None;
        }
        let batch = self.own_sent;
        let size = self.config.batch_size as usize;
        let start = (batch as usize)
            .saturating_mul(size)
            .min(self.own_items.len());
        let end = start.saturating_add(size).min(self.own_items.len());
        let items = self.own_items.get_mut(start..end).unwrap_or_default();
        let points = keys::hash_and_blind(items, &self.hashers, &self.secret.half_key);
        self.own_sent += 1;
        if self.own_sent == self.own_total {
            self.own_items = Vec::new();
        }
        let n = points.len() as u64;
        Some(Outgoing {
            payload: LabelledMessage::Blinded { batch, points }.encode(),
            prepared: n,
            on_sent: Some(StageItems {
                stage: Stage::Sent,
                items: n,
            }),
        })
    }

    pub(super) fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        let result = match LabelledMessage::decode(payload) {
            Ok(LabelledMessage::Evaluated { batch, points }) => {
                self.handle_evaluated(batch, &points)
            }
            Ok(LabelledMessage::Entries { batch, entries }) => self.handle_entries(batch, &entries),
            Ok(LabelledMessage::Blinded { .. }) => Err(PsiError::MessageNotAllowed {
                kind: MessageKind::Blinded,
                reason: "the side receiving labels receives no blinded points",
            }),
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn handle_evaluated(
        &mut self,
        batch: u32,
        points: &[[u8; 32]],
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::Reblinded;
        if batch >= self.evaluated_batches && batch < self.own_total && batch >= self.own_sent {
            return Err(PsiError::ReblindedNotSent { batch });
        }
        check_point_batch(
            kind,
            batch,
            self.evaluated_batches,
            self.own_total,
            self.config.local_count,
            self.config.batch_size,
            points.len(),
        )?;
        let decoded = keys::decompress_all(points).map_err(|index| PsiError::InvalidPoint {
            kind,
            batch,
            // index < batch_size <= MAX_BATCH_SIZE
            index: index as u32,
        })?;
        let unblinded = Zeroizing::new(keys::mul_compress(&decoded, &self.secret.half_inverse));
        let context = &self.config.context;
        let tag_len = self.layout.tag_len;
        let tags: Vec<[u8; TAG_KEY_LEN]> = unblinded
            .par_iter()
            .map(|p| tag_key(&keys::derive(context, p, tag_len).tag, tag_len))
            .collect();
        let base = self.evaluated.len();
        for (i, t) in tags.into_iter().enumerate() {
            // Positions < local_count <= u32::MAX. Two of our own items with equal
            // tags (probability below 2^-40) keep the first; an entry for the
            // other would then fail to open: an error, never a wrong value.
            self.tags.entry(t).or_insert((base + i) as u32);
        }
        self.evaluated.extend_from_slice(&unblinded);
        self.evaluated_batches += 1;
        Ok(Some(StageItems {
            stage: Stage::Compared,
            items: points.len() as u64,
        }))
    }

    fn handle_entries(
        &mut self,
        batch: u32,
        entries: &[u8],
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::LabelEntries;
        if self.evaluated_batches < self.own_total {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "label entries before every evaluated batch",
            });
        }
        check_batch_index(
            kind,
            batch,
            self.entries_received,
            self.entries_total,
            self.config.peer_count,
        )?;
        let count = batch_len(batch, self.layout.per_message, self.config.peer_count);
        let expected = count * self.layout.entry_len;
        if entries.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch,
                expected,
                actual: entries.len(),
            });
        }
        let layout = &self.layout;
        let (tags, evaluated, context) = (&self.tags, &self.evaluated, &self.config.context);
        let opened: Vec<Result<Option<Hit>, PsiError>> = entries
            .par_chunks(layout.entry_len.max(1))
            .enumerate()
            .map(|(index, entry)| {
                // index < per_message <= batch_size <= MAX_BATCH_SIZE
                let index = index as u32;
                let (tag, body) = entry.split_at(layout.tag_len.min(entry.len()));
                let Some(&pos) = tags.get(&tag_key(tag, layout.tag_len)) else {
                    return Ok(None);
                };
                let Some(point) = evaluated.get(pos as usize) else {
                    return Ok(None);
                };
                let k = keys::derive(context, point, layout.tag_len);
                match keys::open(layout, &k.key, body) {
                    Ok(sets) => Ok(Some((pos, sets))),
                    Err(OpenError::Auth) => Err(PsiError::LabelDecryption { batch, index }),
                    Err(OpenError::Layout(reason)) => Err(PsiError::MalformedLabels {
                        batch,
                        index,
                        reason,
                    }),
                }
            })
            .collect();
        for (index, r) in opened.into_iter().enumerate() {
            if let Some((pos, sets)) = r? {
                if !self.matched.insert(pos) {
                    return Err(PsiError::MalformedLabels {
                        batch,
                        index: index as u32,
                        reason: "a second entry for an identifier already matched",
                    });
                }
                self.hits.push((pos, sets));
            }
        }
        self.entries_received += 1;
        Ok(Some(StageItems {
            stage: Stage::Received,
            items: count as u64,
        }))
    }

    pub(super) fn pending(&self) -> Option<Pending> {
        if self.own_sent < self.own_total {
            return Some(Pending::OwnBatches {
                sent: self.own_sent,
                total: self.own_total,
            });
        }
        if self.evaluated_batches < self.own_total {
            return Some(Pending::Reblinded {
                received: self.evaluated_batches,
                total: self.own_total,
            });
        }
        (self.entries_received < self.entries_total).then_some(Pending::PeerBatches {
            received: self.entries_received,
            total: self.entries_total,
        })
    }

    pub(super) fn is_finished(&self) -> bool {
        !self.failed && self.pending().is_none()
    }

    pub(super) fn finish(mut self) -> Result<Outcome, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        if let Some(pending) = self.pending() {
            return Err(PsiError::Incomplete { pending });
        }
        // Our agreed group order (rule priority) first, so a label set that reaches
        // one of our rows through several identifiers is credited to the first rule.
        let mut hits = std::mem::take(&mut self.hits);
        hits.sort_unstable_by_key(|(pos, _)| *pos);
        let mut per_group = vec![0u64; self.own_bounds.len()];
        let mut matches = Vec::new();
        let mut labelled = Vec::new();
        let mut released: HashSet<(u64, [u8; HANDLE_LEN])> = HashSet::new();
        for (pos, sets) in &hits {
            let pos = *pos as usize;
            if let Some(g) = self.own_bounds.iter().position(|r| r.contains(&pos))
                && let Some(n) = per_group.get_mut(g)
            {
                *n += 1;
            }
            let (Some(point), Some(&distinct)) = (self.evaluated.get(pos), self.own_order.get(pos))
            else {
                continue;
            };
            let match_id = MatchId::derive(&self.config.context, point);
            let d = distinct as usize;
            let item_rows = match (self.row_offsets.get(d), self.row_offsets.get(d + 1)) {
                (Some(&s), Some(&e)) => self.rows.get(s..e).unwrap_or_default(),
                _ => &[],
            };
            for &row in item_rows {
                matches.push(Match { row, match_id });
                for set in sets {
                    if released.insert((row, set.handle)) {
                        labelled.push(LabelledRow {
                            row,
                            match_id,
                            values: set.values.clone(),
                        });
                    }
                }
            }
        }
        matches.sort_unstable();
        matches.dedup();
        // Stable: a row's label sets keep the sender's slot order.
        labelled.sort_by_key(|r| r.row);
        let per_type = self
            .config
            .groups
            .iter()
            .zip(per_group.iter().copied().chain(std::iter::repeat(0)))
            .map(|(g, matched)| TypeMatches {
                id_type: g.id_type.clone(),
                local: g.local,
                peer: g.peer,
                matched: Some(matched),
            })
            .collect();
        Ok(Outcome {
            role: self.config.role,
            mode: self.config.mode,
            local_count: self.config.local_count,
            peer_count: self.config.peer_count,
            comparison_len: self.layout.tag_len,
            result: MatchResult::Intersection {
                matched: hits.len() as u64,
                matches,
            },
            per_type,
            labels: Some(ReceivedLabels {
                columns: self.layout.columns.iter().map(|c| c.name.clone()).collect(),
                max_bytes: self.layout.columns.iter().map(|c| c.max_bytes).collect(),
                rows: labelled,
            }),
        })
    }
}

fn tag_key(tag: &[u8], tag_len: usize) -> [u8; TAG_KEY_LEN] {
    let mut k = [0u8; TAG_KEY_LEN];
    let n = tag_len.min(TAG_KEY_LEN).min(tag.len());
    if let (Some(d), Some(s)) = (k.get_mut(..n), tag.get(..n)) {
        d.copy_from_slice(s);
    }
    k
}

/// Draws the learner's secrets and order seed from `rng`.
pub(super) fn draw<R: rand::CryptoRng + ?Sized>(
    rng: &mut R,
) -> Result<(LearnerSecret, StdRng), PsiError> {
    let half_key = super::draw_half_key(rng)?;
    // (a/2)·P doubled is a·P; a⁻¹ = (2·(a/2))⁻¹, halved the same way.
    let half_inverse = (half_key + half_key).invert().div_by_2();
    let mut order_seed = [0u8; 32];
    rng.fill_bytes(&mut order_seed);
    let order_rng = StdRng::from_seed(order_seed);
    order_seed.zeroize();
    Ok((
        LearnerSecret {
            half_key,
            half_inverse,
        },
        order_rng,
    ))
}
