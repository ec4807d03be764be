//! The learner's last step: matching the values the peer returned for our items
//! against the peer's own items, both doubly blinded, and turning hits into rows with
//! match IDs.

use std::ops::Range;

use rayon::prelude::*;

use crate::{Match, MatchId, MatchResult, Mode};

/// Bytes of a comparison value used as a sort key. Comparison values are at most 13
/// bytes under the set-size limit (`config::tests` checks that this covers them).
pub(crate) const KEY_LEN: usize = 16;

/// A peer item doubly blinded, as the comparing side keeps it: the full point, and,
/// when the result goes back to the peer (both learn), its position in the peer's
/// sending order.
pub(super) trait PeerValue: Ord + Send + Sync {
    /// The full 32-byte encoding.
    fn point(&self) -> &[u8; 32];
    /// The position in the peer's sending order, if kept.
    fn position(&self) -> Option<u32>;
    /// The match ID of this item when it matched: from the point when we learn alone,
    /// from the peer's position when both learn (the peer knows its positions, never
    /// our points).
    fn match_id(&self, context: &[u8; 32]) -> MatchId;
}

impl PeerValue for [u8; 32] {
    fn point(&self) -> &[u8; 32] {
        self
    }
    fn position(&self) -> Option<u32> {
        None
    }
    fn match_id(&self, context: &[u8; 32]) -> MatchId {
        MatchId::derive(context, self)
    }
}

impl PeerValue for ([u8; 32], u32) {
    fn point(&self) -> &[u8; 32] {
        &self.0
    }
    fn position(&self) -> Option<u32> {
        Some(self.1)
    }
    fn match_id(&self, context: &[u8; 32]) -> MatchId {
        MatchId::derive_at_position(context, u64::from(self.1))
    }
}

/// Everything the comparison needs, taken out of the finished party.
pub(super) struct Comparison<'a, P> {
    /// Bytes per comparison value.
    pub(super) cmp_len: usize,
    pub(super) mode: Mode,
    pub(super) context: [u8; 32],
    /// The peer's items doubly blinded, full encodings.
    pub(super) peer_double: Vec<P>,
    /// Our items doubly blinded and truncated, in our sending order.
    pub(super) returned: Vec<u8>,
    /// Our rows, to turn hits into matches.
    pub(super) rows: Rows<'a>,
    /// Position ranges of the peer's type groups in its sending order.
    pub(super) peer_bounds: &'a [Range<usize>],
}

/// Our side of a session's rows: which distinct item each sending position carries,
/// where the type groups lie, and the rows of each distinct item.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    /// Sending position → distinct index.
    pub(super) own_order: &'a [u32],
    /// Position ranges of our type groups in sending order.
    pub(super) own_bounds: &'a [Range<usize>],
    pub(super) row_offsets: &'a [usize],
    pub(super) rows: &'a [u64],
}

/// What the comparison found.
pub(super) struct Compared {
    pub(super) result: MatchResult,
    /// Distinct matches per type group.
    pub(super) per_group: Vec<u64>,
    /// When the peer's positions were kept: the peer positions that matched,
    /// ascending, each once, each paired with one of ours in one type group. Empty
    /// otherwise.
    pub(super) peer_positions: Vec<u32>,
}

/// The type group (index into `bounds`) holding `pos`, if any. `bounds` are
/// consecutive ranges in order.
pub(super) fn group_of(bounds: &[Range<usize>], pos: usize) -> Option<usize> {
    let g = bounds.partition_point(|r| r.end <= pos);
    bounds.get(g).filter(|r| r.contains(&pos)).map(|_| g)
}

/// Compares, and maps hits to our rows; also returns the hits per type group.
///
/// With peer positions kept ([`PeerValue::position`]), a hit whose two items lie in
/// different type groups is dropped (the groups are hashed under different labels,
/// so only a false match can pair them), and so is a second hit on one peer item
/// (again only a false match can make one): what the peer is told and what we report
/// are the same matches.
pub(super) fn compare<P: PeerValue>(c: Comparison<'_, P>) -> Compared {
    let l = c.cmp_len;
    let mut peer = c.peer_double;
    peer.par_sort_unstable();
    // Sort our values too and merge: one sequential pass instead of a binary search
    // (a cache miss per probe) for each of our values.
    let mut ours: Vec<([u8; KEY_LEN], u32)> = c
        .returned
        .par_chunks(l)
        .enumerate()
        // pos < local_count <= MAX_SET_SIZE = u32::MAX
        .map(|(pos, v)| (prefix_key(v, l), pos as u32))
        .collect();
    drop(c.returned);
    ours.par_sort_unstable();
    // Each hit keeps the peer's item itself, so the match ID below needs no lookup
    // that could miss.
    let mut hits: Vec<(u32, &P)> = Vec::new();
    let mut peer_iter = peer.iter().peekable();
    for &(key, pos) in &ours {
        while peer_iter
            .next_if(|p| prefix_key(p.point(), l) < key)
            .is_some()
        {}
        if let Some(&full) = peer_iter.peek()
            && prefix_key(full.point(), l) == key
        {
            hits.push((pos, full));
        }
    }
    drop(ours);
    let mut peer_positions = Vec::new();
    if peer.first().is_some_and(|p| p.position().is_some()) {
        let own_bounds = c.rows.own_bounds;
        hits.retain(|&(pos, p)| {
            let peer_pos = p.position().unwrap_or(u32::MAX) as usize;
            let own = group_of(own_bounds, pos as usize);
            own.is_some() && own == group_of(c.peer_bounds, peer_pos)
        });
        hits.sort_unstable_by_key(|&(pos, p)| (p.position(), pos));
        hits.dedup_by_key(|&mut (_, p)| p.position());
        peer_positions = hits.iter().filter_map(|&(_, p)| p.position()).collect();
    }
    let per_group = per_group(c.rows.own_bounds, hits.iter().map(|&(pos, _)| pos));
    let result = match c.mode {
        Mode::Cardinality => MatchResult::Cardinality {
            matched: hits.len() as u64,
        },
        // Labelled sessions never reach ECDH (`Party` refuses them).
        Mode::Intersection | Mode::Labelled => intersection(
            c.rows,
            hits.par_iter()
                .map(|&(pos, p)| (pos, p.match_id(&c.context)))
                .collect(),
        ),
    };
    Compared {
        result,
        per_group,
        peer_positions,
    }
}

/// Distinct matches per type group of ours, from our matched positions.
pub(super) fn per_group(
    own_bounds: &[Range<usize>],
    positions: impl Iterator<Item = u32>,
) -> Vec<u64> {
    let mut counts = vec![0u64; own_bounds.len()];
    for pos in positions {
        if let Some(n) = group_of(own_bounds, pos as usize).and_then(|g| counts.get_mut(g)) {
            *n += 1;
        }
    }
    counts
}

/// The intersection result from our matched positions, each with its match ID:
/// every row of the matched item, with the ID.
pub(super) fn intersection(rows: Rows<'_>, hits: Vec<(u32, MatchId)>) -> MatchResult {
    let mut matches = Vec::with_capacity(hits.len());
    for &(pos, match_id) in &hits {
        let Some(&distinct) = rows.own_order.get(pos as usize) else {
            continue;
        };
        let d = distinct as usize;
        let (Some(&start), Some(&end)) = (rows.row_offsets.get(d), rows.row_offsets.get(d + 1))
        else {
            continue;
        };
        for &row in rows.rows.get(start..end).unwrap_or_default() {
            matches.push(Match { row, match_id });
        }
    }
    matches.par_sort_unstable();
    MatchResult::Intersection {
        matched: hits.len() as u64,
        matches,
    }
}

/// The first `l` bytes of `value`, zero-padded: equal keys ⇔ equal comparison values,
/// and key order is their lexicographic order.
fn prefix_key(value: &[u8], l: usize) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    let n = l.min(KEY_LEN).min(value.len());
    if let (Some(dst), Some(src)) = (key.get_mut(..n), value.get(..n)) {
        dst.copy_from_slice(src);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_found_by_position() {
        let bounds = [0..3, 3..3, 3..7];
        assert_eq!(group_of(&bounds, 0), Some(0));
        assert_eq!(group_of(&bounds, 2), Some(0));
        assert_eq!(group_of(&bounds, 3), Some(2));
        assert_eq!(group_of(&bounds, 6), Some(2));
        assert_eq!(group_of(&bounds, 7), None);
        assert_eq!(per_group(&bounds, [0, 4, 5, 9].into_iter()), [1, 0, 2]);
    }

    /// A peer point whose first 8 bytes are `prefix`.
    fn point(prefix: u8, rest: u8) -> [u8; 32] {
        let mut p = [rest; 32];
        p[..8].fill(prefix);
        p
    }

    #[test]
    fn the_first_learner_drops_what_only_a_false_match_produces() {
        // Two rules, positions 0..2 and 2..4 on both sides. Our 0 hits the peer's 1
        // (same rule: kept); our 1 hits the peer's 3 (another rule: dropped); our 2 and
        // 3 both hit the peer's 2 (one peer item twice: one kept). The second learner
        // cannot check rules or duplicates itself (its bitmaps name only its own
        // positions), so this is what keeps both results equal.
        let context = [7; 32];
        let bounds = [0..2, 2..4];
        let rows = Rows {
            own_order: &[0, 1, 2, 3],
            own_bounds: &bounds,
            row_offsets: &[0, 1, 2, 3, 4],
            rows: &[10, 11, 12, 13],
        };
        let returned = [1u8, 2, 3, 3].iter().flat_map(|&b| [b; 8]).collect();
        let compared = compare(Comparison {
            cmp_len: 8,
            mode: Mode::Intersection,
            context,
            peer_double: vec![
                (point(9, 0), 0),
                (point(1, 1), 1),
                (point(3, 2), 2),
                (point(2, 3), 3),
            ],
            returned,
            rows,
            peer_bounds: &bounds,
        });
        assert_eq!(compared.peer_positions, [1, 2]);
        assert_eq!(compared.per_group, [1, 1]);
        let MatchResult::Intersection { matched, matches } = compared.result else {
            panic!("an intersection result");
        };
        assert_eq!(matched, 2);
        assert_eq!(matches.len(), 2);
        assert_eq!(matches[0].row, 10);
        assert_eq!(
            matches[0].match_id,
            MatchId::derive_at_position(&context, 1)
        );
        assert!(matches[1].row == 12 || matches[1].row == 13);
        assert_eq!(
            matches[1].match_id,
            MatchId::derive_at_position(&context, 2)
        );
    }
}
