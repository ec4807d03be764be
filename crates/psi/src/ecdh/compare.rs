//! The learner's last step: matching the values the peer returned for our items
//! against the peer's own items, both doubly blinded, and turning hits into rows with
//! match IDs.

use rayon::prelude::*;

use crate::{Match, MatchId, MatchResult, Mode};

/// Bytes of a comparison value used as a sort key. Comparison values are at most 13
/// bytes under the set-size limit (`config::tests` checks that this covers them).
pub(crate) const KEY_LEN: usize = 16;

/// Everything the comparison needs, taken out of the finished party.
pub(super) struct Comparison {
    /// Bytes per comparison value.
    pub(super) cmp_len: usize,
    pub(super) mode: Mode,
    pub(super) context: [u8; 32],
    /// The peer's items doubly blinded, full encodings.
    pub(super) peer_double: Vec<[u8; 32]>,
    /// Our items doubly blinded and truncated, in our sending order.
    pub(super) returned: Vec<u8>,
    /// Sending position → distinct index.
    pub(super) own_order: Vec<u32>,
    /// Position ranges of our type groups in sending order.
    pub(super) own_bounds: Vec<std::ops::Range<usize>>,
    pub(super) row_offsets: Vec<usize>,
    pub(super) rows: Vec<u64>,
}

/// Compares, and maps hits to our rows; also returns the hits per type group.
pub(super) fn compare(c: Comparison) -> (MatchResult, Vec<u64>) {
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
    // Each hit keeps the peer's full point itself, so the match ID below needs no
    // lookup that could miss.
    let mut hits: Vec<(u32, &[u8; 32])> = Vec::new();
    let mut peer_iter = peer.iter().peekable();
    for &(key, pos) in &ours {
        while peer_iter.next_if(|p| prefix_key(*p, l) < key).is_some() {}
        if let Some(&full) = peer_iter.peek()
            && prefix_key(full, l) == key
        {
            hits.push((pos, full));
        }
    }
    drop(ours);
    let mut per_group = vec![0u64; c.own_bounds.len()];
    for &(pos, _) in &hits {
        let pos = pos as usize;
        if let Some(g) = c.own_bounds.iter().position(|r| r.contains(&pos))
            && let Some(n) = per_group.get_mut(g)
        {
            *n += 1;
        }
    }
    let result = match c.mode {
        Mode::Cardinality => MatchResult::Cardinality {
            matched: hits.len() as u64,
        },
        // Labelled sessions never reach ECDH (`Party` refuses them).
        Mode::Intersection | Mode::Labelled => {
            let context = c.context;
            let ids: Vec<MatchId> = hits
                .par_iter()
                .map(|&(_, full)| MatchId::derive(&context, full))
                .collect();
            let mut matches = Vec::with_capacity(hits.len());
            for (&(pos, _), &match_id) in hits.iter().zip(&ids) {
                let Some(&distinct) = c.own_order.get(pos as usize) else {
                    continue;
                };
                let d = distinct as usize;
                let (Some(&start), Some(&end)) = (c.row_offsets.get(d), c.row_offsets.get(d + 1))
                else {
                    continue;
                };
                for &row in c.rows.get(start..end).unwrap_or_default() {
                    matches.push(Match { row, match_id });
                }
            }
            matches.par_sort_unstable();
            MatchResult::Intersection {
                matched: hits.len() as u64,
                matches,
            }
        }
    };
    (result, per_group)
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
