//! Cluster IDs: stable across runs, never derived from an identifier value.
//!
//! A new cluster's ID is `cl-` and the first 16 hex digits of
//! SHA-256([`ID_DOMAIN`] ‖ source name ‖ 0x00 ‖ row of the cluster's smallest
//! record in (source name, row) order ‖ 0x00 ‖ generation), with ‖ 0x00 ‖ n
//! appended (n = 1, 2, …) when that ID is already taken in this run or by the
//! previous one. The generation (1 for a first run, one more than the previous
//! file's newest otherwise) keeps an ID retired in an earlier generation (merged
//! away) from coming back for another cluster later. With a
//! previous clusters file, each previous cluster is inherited by the new cluster
//! that holds most of its records (ties: the smaller smallest record); a new
//! cluster that inherits one previous cluster keeps its ID, one that inherits
//! several (a merge) keeps the oldest (smallest `first_seen` generation, ties by
//! ID) and the others are retired; the other parts of a split get new IDs.
//! `docs/resolve.md` documents the scheme.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::link::Clustering;
use crate::load::{Loaded, NONE};
use crate::previous::Previous;

/// Domain label of the cluster-ID hash.
pub const ID_DOMAIN: &[u8] = b"blindmatch/v1/resolve/cluster-id";

/// A cluster ID: shown as `cl-` and 16 lowercase hex digits; kept as the number
/// those digits spell, which orders IDs as their text does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ClusterId(pub(crate) u64);

impl ClusterId {
    /// Parses `cl-` and 16 lowercase hex digits.
    pub(crate) fn parse(text: &str) -> Option<ClusterId> {
        let hex = text.strip_prefix("cl-")?;
        let shaped = hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        shaped.then(|| u64::from_str_radix(hex, 16).ok().map(ClusterId))?
    }
}

impl std::fmt::Display for ClusterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cl-{:016x}", self.0)
    }
}

/// Previous clusters merged into one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Merge {
    /// The ID the merged cluster keeps (the oldest).
    pub kept: String,
    /// The IDs retired into it.
    pub absorbed: Vec<String>,
}

/// A previous cluster whose records now lie in several clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// The previous cluster's ID.
    pub previous: String,
    /// Whether some new cluster still carries it (false when the part that
    /// inherited it merged with an older cluster).
    pub kept: bool,
    /// The IDs of the clusters its records are in now, the inheriting part first.
    pub parts: Vec<String>,
}

/// How this run's IDs relate to the previous run's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Clusters that kept a previous ID.
    pub persisted: u64,
    /// Clusters with a new ID.
    pub new: u64,
    /// Previous IDs no longer in use (merged away, or no record of theirs read now).
    pub retired: u64,
    /// Previous clusters none of whose records this run read.
    pub vanished: u64,
    /// Rows of the previous file naming a record this run did not read.
    pub previous_records_not_found: u64,
    /// Merges, by kept ID.
    pub merges: Vec<Merge>,
    /// Splits, by previous ID.
    pub splits: Vec<Split>,
}

/// The IDs of this run's clusters.
#[derive(Debug, Clone)]
pub(crate) struct Assigned {
    /// Per cluster, its ID.
    pub ids: Vec<ClusterId>,
    /// Per cluster, the generation that first issued its ID.
    pub first_seen: Vec<u64>,
    /// This run's generation (1, or one past the previous file's newest).
    pub generation: u64,
    /// Against the previous run, when there was one.
    pub changes: Option<Changes>,
}

/// The `n`-th candidate ID of a cluster first seen in `generation` whose
/// smallest record is `row` of `source` (n = 0 is the usual one).
pub(crate) fn candidate_id(source: &str, row: u64, generation: u64, n: u32) -> ClusterId {
    let mut h = Sha256::new();
    h.update(ID_DOMAIN);
    h.update(source.as_bytes());
    h.update([0u8]);
    h.update(row.to_string().as_bytes());
    h.update([0u8]);
    h.update(generation.to_string().as_bytes());
    if n > 0 {
        h.update([0u8]);
        h.update(n.to_string().as_bytes());
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    ClusterId(u64::from_be_bytes(first))
}

/// Gives every cluster its ID.
pub(crate) fn assign(
    loaded: &Loaded,
    clustering: &Clustering,
    previous: Option<&Previous>,
) -> Assigned {
    let clusters = clustering.clusters();
    let mut ids: Vec<Option<ClusterId>> = vec![None; clusters];
    let mut first_seen = vec![0u64; clusters];
    // `previous` generations are below u32::MAX (checked when read), so this fits.
    let generation = previous.map_or(1, |p| p.generation.saturating_add(1));
    let mut taken: HashSet<ClusterId> = HashSet::new();
    let mut changes = None;

    if let Some(prev) = previous {
        let mut change = Changes {
            previous_records_not_found: prev.not_found,
            ..Changes::default()
        };
        // (previous cluster, new cluster) → records in both.
        let mut overlap: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for (r, &p) in prev.of_record.iter().enumerate() {
            if p != NONE {
                *overlap.entry((p, clustering.cluster_of[r])).or_default() += 1;
            }
        }
        // Per previous cluster: its parts (new clusters, ascending) and heir.
        let mut parts: Vec<Vec<(u32, u64)>> = vec![Vec::new(); prev.ids.len()];
        for (&(p, c), &n) in &overlap {
            parts[p as usize].push((c, n));
        }
        let mut claims: Vec<Vec<u32>> = vec![Vec::new(); clusters];
        let mut heir_of: Vec<u32> = vec![NONE; prev.ids.len()];
        for (p, list) in parts.iter().enumerate() {
            // Most records wins; on a tie, the first (smallest) cluster.
            let heir = list
                .iter()
                .fold(None::<(u32, u64)>, |best, &(c, n)| match best {
                    Some((_, m)) if m >= n => best,
                    _ => Some((c, n)),
                });
            match heir {
                Some((c, _)) => {
                    claims[c as usize].push(p as u32);
                    heir_of[p] = c;
                }
                None => change.vanished += 1,
            }
        }
        taken.extend(prev.ids.iter().copied());
        for (c, claim) in claims.iter_mut().enumerate() {
            claim.sort_by(|&a, &b| {
                (prev.first_seen[a as usize], &prev.ids[a as usize])
                    .cmp(&(prev.first_seen[b as usize], &prev.ids[b as usize]))
            });
            if let Some((&oldest, rest)) = claim.split_first() {
                ids[c] = Some(prev.ids[oldest as usize]);
                first_seen[c] = prev.first_seen[oldest as usize];
                change.persisted += 1;
                if !rest.is_empty() {
                    change.merges.push(Merge {
                        kept: prev.ids[oldest as usize].to_string(),
                        absorbed: rest
                            .iter()
                            .map(|&p| prev.ids[p as usize].to_string())
                            .collect(),
                    });
                }
            }
        }
        change.retired = prev.ids.len() as u64 - change.persisted;
        assign_new(
            loaded,
            clustering,
            &mut ids,
            &mut first_seen,
            generation,
            &mut taken,
        );
        change.new = clusters as u64 - change.persisted;
        for (p, list) in parts.iter().enumerate() {
            if list.len() > 1 {
                let heir = heir_of[p];
                let mut part_ids: Vec<String> = std::iter::once(heir)
                    .chain(list.iter().map(|&(c, _)| c).filter(|&c| c != heir))
                    .map(|c| ids[c as usize].map(|id| id.to_string()).unwrap_or_default())
                    .collect();
                part_ids[1..].sort();
                change.splits.push(Split {
                    previous: prev.ids[p].to_string(),
                    kept: ids[heir as usize] == Some(prev.ids[p]),
                    parts: part_ids,
                });
            }
        }
        change.merges.sort_by(|a, b| a.kept.cmp(&b.kept));
        change.splits.sort_by(|a, b| a.previous.cmp(&b.previous));
        changes = Some(change);
    } else {
        assign_new(
            loaded,
            clustering,
            &mut ids,
            &mut first_seen,
            generation,
            &mut taken,
        );
    }
    Assigned {
        ids: ids
            .into_iter()
            .map(|id| id.unwrap_or(ClusterId(0)))
            .collect(),
        first_seen,
        generation,
        changes,
    }
}

/// New IDs for the clusters that have none, in cluster order.
fn assign_new(
    loaded: &Loaded,
    clustering: &Clustering,
    ids: &mut [Option<ClusterId>],
    first_seen: &mut [u64],
    generation: u64,
    taken: &mut HashSet<ClusterId>,
) {
    taken.extend(ids.iter().flatten().copied());
    for (c, id) in ids.iter_mut().enumerate() {
        if id.is_some() {
            continue;
        }
        let (source, row) = loaded.locate(clustering.first_member[c]);
        let mut n = 0;
        let fresh = loop {
            let candidate = candidate_id(&source.name, row, generation, n);
            if taken.insert(candidate) {
                break candidate;
            }
            n += 1;
        };
        *id = Some(fresh);
        first_seen[c] = generation;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_ids_are_fixed_and_distinct() {
        let a = candidate_id("crm", 1, 1, 0);
        assert_eq!(ClusterId::parse(&a.to_string()), Some(a));
        assert_eq!(a, candidate_id("crm", 1, 1, 0));
        assert_ne!(a, candidate_id("crm", 1, 1, 1));
        assert_ne!(a, candidate_id("crm", 1, 2, 0));
        assert_ne!(a, candidate_id("crm", 11, 1, 0));
        // A pinned value, so a change to the scheme is a deliberate one.
        let mut h = Sha256::new();
        h.update(b"blindmatch/v1/resolve/cluster-id");
        h.update(b"crm\x001\x001");
        assert_eq!(
            a.to_string(),
            format!("cl-{}", hex::encode(&h.finalize()[..8]))
        );
    }
}
