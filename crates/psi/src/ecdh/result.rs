//! Both sides learn: the first learner's result for the other side
//! (`docs/protocol.md`, "Both sides learn"). The first learner
//! ([`crate::SessionConfig::first_learner`]) compares exactly as a single learner
//! does, then tells the other side what it found instead of having doubly blinded
//! values sent both ways: in intersection mode, per `Blinded` batch of the receiver,
//! a bitmap of its matched positions (both sides derive each match ID from that
//! position, [`crate::MatchId::derive_at_position`], so no pairing with the first
//! learner's items is sent); in cardinality mode, one count per type group.
//!
//! The receiver cannot tell a real match from a claimed one (it cannot compute
//! `k_a·k_b·H(y)` for its own items); it refuses everything no honest first learner
//! sends: a wrong length, a bit past the batch, a count no set allows, or a result
//! sent before it could be known.

use std::collections::VecDeque;
use std::ops::Range;

use super::batch::{batch_len, check_batch_index};
use super::compare::{self, Rows};
use crate::config::batch_count;
use rayon::prelude::*;

use crate::{MatchId, MatchResult, Message, MessageKind, Mode, PsiError};

/// Bitmap bytes for a batch of `items` items: the exact payload of its `Matches`.
pub(crate) fn bitmap_len(items: usize) -> usize {
    items.div_ceil(8)
}

/// First learner, intersection: the `Matches` batches for the peer, one per peer
/// `Blinded` batch (`peer_count` items at `batch_size`), from the peer positions that
/// matched, ascending, unique.
pub(super) fn matches_messages(
    peer_positions: &[u32],
    peer_count: u64,
    batch_size: u32,
) -> VecDeque<Message> {
    let total = batch_count(peer_count, batch_size);
    let mut out = VecDeque::with_capacity(total as usize);
    let mut rest = peer_positions;
    for batch in 0..total {
        let start = u64::from(batch) * u64::from(batch_size);
        let items = batch_len(batch, batch_size, peer_count);
        let end = start + items as u64;
        let split = rest.partition_point(|&p| u64::from(p) < end);
        let (here, later) = rest.split_at(split);
        rest = later;
        let mut bitmap = vec![0u8; bitmap_len(items)];
        for &peer_pos in here {
            let p = (u64::from(peer_pos) - start) as usize;
            if let Some(byte) = bitmap.get_mut(p / 8) {
                *byte |= 0x80 >> (p % 8);
            }
        }
        out.push_back(Message::Matches { batch, bitmap });
    }
    out
}

/// First learner, cardinality: the counts per type group.
pub(super) fn counts_message(per_group: &[u64]) -> Message {
    Message::Counts {
        batch: 0,
        // A group's matches never exceed our group's size, at most MAX_SET_SIZE.
        counts: per_group
            .iter()
            .map(|&n| u32::try_from(n).unwrap_or(u32::MAX))
            .collect(),
    }
}

/// Result messages the receiver expects: one `Matches` per own batch, or one
/// `Counts`.
pub(super) fn expected_messages(mode: Mode, local_count: u64, batch_size: u32) -> u32 {
    match mode {
        Mode::Cardinality => 1,
        Mode::Intersection | Mode::Labelled => batch_count(local_count, batch_size),
    }
}

/// What the receiver needs to check a result message against its session.
pub(super) struct Session<'a> {
    pub(super) mode: Mode,
    pub(super) batch_size: u32,
    pub(super) local_count: u64,
    pub(super) own_bounds: &'a [Range<usize>],
    pub(super) peer_bounds: &'a [Range<usize>],
    /// All own `Blinded` batches sent and all the peer's received: before that no
    /// honest first learner can know its result.
    pub(super) exchanged: bool,
}

/// The second learner's view of the first learner's result, as it arrives.
#[derive(Default)]
pub(super) struct Incoming {
    /// Result messages handled.
    pub(super) received: u32,
    /// Intersection: our matched positions, ascending.
    matched: Vec<u32>,
    /// Cardinality: the counts, once received.
    counts: Option<Vec<u64>>,
}

impl Incoming {
    /// Checks one result message and keeps what it says.
    ///
    /// # Errors
    ///
    /// [`PsiError::MessageNotAllowed`] for the other mode's kind, batch-order errors as
    /// for any batch, [`PsiError::WrongBatchLength`], and
    /// [`PsiError::InconsistentResult`] for anything else no honest first learner
    /// sends.
    pub(super) fn handle(&mut self, s: &Session<'_>, message: Message) -> Result<(), PsiError> {
        match message {
            Message::Matches { batch, bitmap } => self.matches(s, batch, &bitmap),
            Message::Counts { batch, counts } => self.counts(s, batch, &counts),
            // Party::handle routes only these two kinds here.
            other => Err(PsiError::MessageNotAllowed {
                kind: other.kind(),
                reason: "not a result message",
            }),
        }
    }

    fn matches(&mut self, s: &Session<'_>, batch: u32, bitmap: &[u8]) -> Result<(), PsiError> {
        let kind = MessageKind::Matches;
        if s.mode == Mode::Cardinality {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "a cardinality session's result is counts",
            });
        }
        let inconsistent = |reason| PsiError::InconsistentResult {
            kind,
            batch,
            reason,
        };
        if !s.exchanged {
            return Err(inconsistent(
                "sent before the peer could have had both sets",
            ));
        }
        let total = expected_messages(s.mode, s.local_count, s.batch_size);
        check_batch_index(kind, batch, self.received, total, s.local_count)?;
        let items = batch_len(batch, s.batch_size, s.local_count);
        if bitmap.len() != bitmap_len(items) {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch,
                expected: bitmap_len(items),
                actual: bitmap.len(),
            });
        }
        if !items.is_multiple_of(8)
            && bitmap
                .last()
                .is_some_and(|&last| last & (0xFF >> (items % 8)) != 0)
        {
            return Err(inconsistent("a bit is set past the batch's items"));
        }
        let start = batch as usize * s.batch_size as usize;
        // Positions are below our count, at most MAX_SET_SIZE = u32::MAX.
        self.matched.extend(
            (0..items)
                .filter(|p| {
                    bitmap
                        .get(p / 8)
                        .is_some_and(|b| b & (0x80 >> (p % 8)) != 0)
                })
                .map(|p| (start + p) as u32),
        );
        self.received += 1;
        Ok(())
    }

    fn counts(&mut self, s: &Session<'_>, batch: u32, counts: &[u32]) -> Result<(), PsiError> {
        let kind = MessageKind::Counts;
        if s.mode != Mode::Cardinality {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "an intersection session's result is matches",
            });
        }
        let inconsistent = |reason| PsiError::InconsistentResult {
            kind,
            batch,
            reason,
        };
        if !s.exchanged {
            return Err(inconsistent(
                "sent before the peer could have had both sets",
            ));
        }
        if self.received > 0 {
            return Err(PsiError::DuplicateBatch { kind, batch });
        }
        if batch != 0 {
            return Err(inconsistent("counts come as one message, batch 0"));
        }
        if counts.len() != s.own_bounds.len() || counts.len() != s.peer_bounds.len() {
            return Err(inconsistent("counts for another number of type groups"));
        }
        let mut kept = Vec::with_capacity(counts.len());
        for ((&n, own), peer) in counts.iter().zip(s.own_bounds).zip(s.peer_bounds) {
            if n as usize > own.len().min(peer.len()) {
                return Err(inconsistent("a count larger than a type group's sets"));
            }
            kept.push(u64::from(n));
        }
        self.counts = Some(kept);
        self.received += 1;
        Ok(())
    }

    /// The result this side learns from the peer's messages: each matched position's
    /// rows, with the match ID of that position.
    pub(super) fn outcome(
        self,
        mode: Mode,
        context: &[u8; 32],
        rows: Rows<'_>,
    ) -> (MatchResult, Vec<u64>) {
        match mode {
            Mode::Cardinality => {
                let counts = self.counts.unwrap_or_default();
                let matched = counts.iter().sum();
                (MatchResult::Cardinality { matched }, counts)
            }
            Mode::Intersection | Mode::Labelled => {
                let per_group = compare::per_group(rows.own_bounds, self.matched.iter().copied());
                let hits = self
                    .matched
                    .par_iter()
                    .map(|&own| (own, MatchId::derive_at_position(context, u64::from(own))))
                    .collect();
                (compare::intersection(rows, hits), per_group)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn matches_are_cut_by_batch_with_msb_first_bitmaps() {
        // Peer of 11 items in batches of 8: positions 1, 7 and 9 matched.
        let m = matches_messages(&[1, 7, 9], 11, 8);
        assert_eq!(
            Vec::from(m),
            [
                Message::Matches {
                    batch: 0,
                    bitmap: vec![0b0100_0001],
                },
                Message::Matches {
                    batch: 1,
                    bitmap: vec![0b0100_0000],
                },
            ]
        );
        assert!(matches_messages(&[], 0, 8).is_empty());
    }

    #[test]
    fn a_matches_payload_is_its_bitmap_alone() {
        // Whatever matched, a batch of b items costs ceil(b / 8) bytes.
        for (count, batch_size) in [(1u64, 1u32), (17, 8), (100, 7), (4097, 4096)] {
            let all: Vec<u32> = (0..count as u32).collect();
            for positions in [&[][..], &all[..], &all[..all.len() / 2]] {
                let messages = matches_messages(positions, count, batch_size);
                assert_eq!(messages.len() as u32, batch_count(count, batch_size));
                for m in messages {
                    let items = batch_len(m.batch(), batch_size, count);
                    assert_eq!(m.payload_len(), items.div_ceil(8), "{count} {batch_size}");
                }
            }
        }
    }
}
