//! Both sides learn: the first learner's result for the other side
//! (`docs/protocol.md`, "Both sides learn"). The first learner
//! ([`crate::SessionConfig::first_learner`]) compares exactly as a single learner
//! does, then tells the other side what it found instead of having doubly blinded
//! values sent both ways: in intersection mode, per `Blinded` batch of the receiver,
//! a bitmap of its matched positions and, per match, the position of the matching
//! item in the first learner's own sending order (from which the receiver takes the
//! doubly blinded point it computed itself, and so the same match ID); in
//! cardinality mode, one count per type group.
//!
//! The receiver cannot tell a real match from a claimed one (it cannot compute
//! `k_a·k_b·H(y)` for its own items); it refuses everything no honest first learner
//! sends: a wrong length, a bit past the batch, an index outside the set or in
//! another type group, an index twice, a count no set allows, or a result sent
//! before it could be known.

use std::collections::VecDeque;
use std::ops::Range;

use super::batch::{batch_len, check_batch_index};
use super::compare::{self, Rows, group_of};
use crate::config::batch_count;
use crate::{MatchResult, Message, MessageKind, Mode, PsiError};

/// Bytes per index in a `Matches` payload when the first learner holds `count`
/// items: the fewest bytes that hold every position `0..count` (1 to 4).
#[must_use]
pub fn index_width(count: u64) -> usize {
    match count {
        0..=0x100 => 1,
        0x101..=0x1_0000 => 2,
        0x1_0001..=0x100_0000 => 3,
        _ => 4,
    }
}

/// Bitmap bytes for a batch of `items` items.
fn bitmap_len(items: usize) -> usize {
    items.div_ceil(8)
}

/// First learner, intersection: the `Matches` batches for the peer, one per peer
/// `Blinded` batch (`peer_count` items at `batch_size`), from the matches as (peer
/// position, our position), sorted by peer position, unique.
pub(super) fn matches_messages(
    pairs: &[(u32, u32)],
    peer_count: u64,
    batch_size: u32,
    width: usize,
) -> VecDeque<Message> {
    let total = batch_count(peer_count, batch_size);
    let mut out = VecDeque::with_capacity(total as usize);
    let mut rest = pairs;
    for batch in 0..total {
        let start = u64::from(batch) * u64::from(batch_size);
        let items = batch_len(batch, batch_size, peer_count);
        let end = start + items as u64;
        let split = rest.partition_point(|&(p, _)| u64::from(p) < end);
        let (here, later) = rest.split_at(split);
        rest = later;
        let bitmap = bitmap_len(items);
        let mut payload = vec![0u8; bitmap];
        payload.reserve(here.len() * width);
        for &(peer_pos, own_pos) in here {
            let p = (u64::from(peer_pos) - start) as usize;
            if let Some(byte) = payload.get_mut(p / 8) {
                *byte |= 0x80 >> (p % 8);
            }
            let be = own_pos.to_be_bytes();
            payload.extend_from_slice(be.get(4 - width..).unwrap_or_default());
        }
        out.push_back(Message::Matches { batch, payload });
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
    pub(super) peer_count: u64,
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
    /// Intersection: (our position, peer position) per match, in our order.
    pairs: Vec<(u32, u32)>,
    /// Intersection: the peer positions already named, one bit each.
    seen: Vec<u64>,
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
            Message::Matches { batch, payload } => self.matches(s, batch, &payload),
            Message::Counts { batch, counts } => self.counts(s, batch, &counts),
            // Party::handle routes only these two kinds here.
            other => Err(PsiError::MessageNotAllowed {
                kind: other.kind(),
                reason: "not a result message",
            }),
        }
    }

    fn matches(&mut self, s: &Session<'_>, batch: u32, payload: &[u8]) -> Result<(), PsiError> {
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
        let width = index_width(s.peer_count);
        let (bitmap, indices) =
            payload
                .split_at_checked(bitmap_len(items))
                .ok_or(PsiError::WrongBatchLength {
                    kind,
                    batch,
                    expected: bitmap_len(items),
                    actual: payload.len(),
                })?;
        if !items.is_multiple_of(8)
            && bitmap
                .last()
                .is_some_and(|&last| last & (0xFF >> (items % 8)) != 0)
        {
            return Err(inconsistent("a bit is set past the batch's items"));
        }
        let matched: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
        if indices.len() != matched * width {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch,
                expected: bitmap.len() + matched * width,
                actual: payload.len(),
            });
        }
        if self.seen.is_empty() && s.peer_count > 0 {
            self.seen = vec![0; s.peer_count.div_ceil(64) as usize];
        }
        let start = batch as usize * s.batch_size as usize;
        let set_bits = (0..items).filter(|p| {
            bitmap
                .get(p / 8)
                .is_some_and(|b| b & (0x80 >> (p % 8)) != 0)
        });
        for (p, index) in set_bits.zip(indices.chunks_exact(width)) {
            let peer_pos = index.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
            if peer_pos >= s.peer_count {
                return Err(inconsistent("an index beyond the peer's set"));
            }
            let own_pos = start + p;
            if group_of(s.own_bounds, own_pos) != group_of(s.peer_bounds, peer_pos as usize) {
                return Err(inconsistent(
                    "an index in another type group than the matched item",
                ));
            }
            let word = self.seen.get_mut((peer_pos / 64) as usize);
            let bit = 1u64 << (peer_pos % 64);
            match word {
                Some(w) if *w & bit == 0 => *w |= bit,
                _ => return Err(inconsistent("an index named twice")),
            }
            // Positions are below MAX_SET_SIZE = u32::MAX.
            self.pairs.push((own_pos as u32, peer_pos as u32));
        }
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

    /// The result this side learns from the peer's messages. `peer_double` is the
    /// peer's items doubly blinded by us, in its sending order (intersection only).
    pub(super) fn outcome(
        self,
        mode: Mode,
        context: &[u8; 32],
        rows: Rows<'_>,
        peer_double: &[[u8; 32]],
    ) -> (MatchResult, Vec<u64>) {
        match mode {
            Mode::Cardinality => {
                let counts = self.counts.unwrap_or_default();
                let matched = counts.iter().sum();
                (MatchResult::Cardinality { matched }, counts)
            }
            Mode::Intersection | Mode::Labelled => {
                let per_group =
                    compare::per_group(rows.own_bounds, self.pairs.iter().map(|&(own, _)| own));
                // Every peer position was checked below the peer's count, and we hold
                // one point per peer item once the exchange is complete.
                let hits = self
                    .pairs
                    .iter()
                    .filter_map(|&(own, peer)| Some((own, peer_double.get(peer as usize)?)))
                    .collect();
                (compare::intersection(context, rows, hits), per_group)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn index_width_holds_every_position() {
        for (count, width) in [
            (0u64, 1usize),
            (1, 1),
            (256, 1),
            (257, 2),
            (1 << 16, 2),
            ((1 << 16) + 1, 3),
            (1 << 24, 3),
            ((1 << 24) + 1, 4),
            (u64::from(u32::MAX), 4),
        ] {
            assert_eq!(index_width(count), width, "{count}");
            assert!(count.saturating_sub(1) < 1u64 << (8 * width));
        }
    }

    #[test]
    fn matches_are_cut_by_batch_with_msb_first_bitmaps() {
        // Peer of 11 items in batches of 8: positions 1 and 9 matched our 300 and 2.
        let m = matches_messages(&[(1, 300), (9, 2)], 11, 8, 2);
        assert_eq!(
            Vec::from(m),
            [
                Message::Matches {
                    batch: 0,
                    payload: vec![0b0100_0000, 0x01, 0x2C],
                },
                Message::Matches {
                    batch: 1,
                    payload: vec![0b0100_0000, 0x00, 0x02],
                },
            ]
        );
        assert!(matches_messages(&[], 0, 8, 1).is_empty());
    }
}
