//! What both `vole-rr22-silent` parties do with OPRF outputs once they have them:
//! the learner matches its own against the sender's truncated ones by sorted merge,
//! and either side turns matched positions into an outcome with match IDs.

use rayon::prelude::*;

use crate::vole::items::OwnItems;
use crate::{Match, MatchId, MatchResult, Outcome, SessionConfig};

/// Bytes of a comparison value used as a sort key (comparison values are at most
/// 13 bytes under the set-size limit).
const KEY_LEN: usize = 16;

/// `(our position, the sender's position)` of every match.
pub(crate) type Hits = Vec<(u32, u32)>;

/// The first `l` bytes of `value`, zero-padded.
fn prefix_key(value: &[u8], l: usize) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    let n = l.min(KEY_LEN).min(value.len());
    if let (Some(dst), Some(src)) = (key.get_mut(..n), value.get(..n)) {
        dst.copy_from_slice(src);
    }
    key
}

/// Our full outputs against the peer's `l`-byte truncated ones.
pub(crate) fn hits(ours: &[[u8; 32]], peer_values: &[u8], l: usize) -> Hits {
    let mut peer: Vec<([u8; KEY_LEN], u32)> = peer_values
        .par_chunks(l.max(1))
        .enumerate()
        // pos < peer_count <= MAX_SET_SIZE = u32::MAX
        .map(|(pos, v)| (prefix_key(v, l), pos as u32))
        .collect();
    peer.par_sort_unstable();
    let mut mine: Vec<([u8; KEY_LEN], u32)> = ours
        .par_iter()
        .enumerate()
        .map(|(pos, v)| (prefix_key(v, l), pos as u32))
        .collect();
    mine.par_sort_unstable();
    let mut hits = Vec::new();
    let mut it = peer.iter().peekable();
    for &(key, pos) in &mine {
        while it.next_if(|p| p.0 < key).is_some() {}
        if let Some(&&(k, peer_pos)) = it.peek()
            && k == key
        {
            hits.push((pos, peer_pos));
        }
    }
    hits
}

/// The sender's matched positions, sorted and distinct: the report it gets.
pub(crate) fn report(hits: &Hits) -> Vec<u32> {
    let mut report: Vec<u32> = hits.iter().map(|&(_, p)| p).collect();
    report.sort_unstable();
    report.dedup();
    report
}

/// Fills `outcome` from our matched sending positions: counts per group, and a
/// match ID (from the full OPRF output) for every row of every matched item.
pub(crate) fn fill_outcome(
    outcome: &mut Outcome,
    config: &SessionConfig,
    items: &OwnItems,
    positions: impl Iterator<Item = u32> + Clone,
    outputs: &[[u8; 32]],
) {
    let per_group = items.per_group(positions.clone().map(|p| p as usize));
    for (t, n) in outcome.per_type.iter_mut().zip(per_group) {
        t.matched = Some(n);
    }
    let mut matched = 0u64;
    let mut matches = Vec::new();
    for pos in positions {
        matched += 1;
        let Some(full) = outputs.get(pos as usize) else {
            continue;
        };
        let match_id = MatchId::derive(&config.context, full);
        for &row in items.rows_at(pos as usize) {
            matches.push(Match { row, match_id });
        }
    }
    matches.par_sort_unstable();
    outcome.result = MatchResult::Intersection { matched, matches };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_finds_equal_prefixes_only() {
        let ours = [[1u8; 32], [2u8; 32], [3u8; 32]];
        let mut peer = Vec::new();
        for v in [[3u8; 32], [9u8; 32], [1u8; 32]] {
            peer.extend_from_slice(&v[..10]);
        }
        let mut h = hits(&ours, &peer, 10);
        h.sort_unstable();
        assert_eq!(h, vec![(0, 2), (2, 0)]);
        assert_eq!(report(&h), vec![0, 2]);
        assert!(hits(&ours, &[], 10).is_empty());
    }
}
