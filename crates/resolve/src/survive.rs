//! Survivorship: which value of each field a cluster's golden record keeps.
//!
//! Every policy breaks ties by canonical record order (source name, row), so a
//! golden record never depends on the order of the input files.

use crate::config::{Policy, Survivorship};
use crate::link::Clustering;
use crate::load::{Loaded, NONE};

/// Records grouped by cluster: cluster `c`'s records, ascending, are
/// `members[starts[c]..starts[c + 1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Members {
    starts: Vec<u32>,
    members: Vec<u32>,
}

impl Members {
    /// Groups the records of `clustering` (a counting sort: linear).
    pub(crate) fn new(clustering: &Clustering) -> Members {
        let clusters = clustering.clusters();
        let mut starts = vec![0u32; clusters + 1];
        for &c in &clustering.cluster_of {
            starts[c as usize + 1] += 1;
        }
        for c in 0..clusters {
            starts[c + 1] += starts[c];
        }
        let mut next = starts.clone();
        let mut members = vec![0u32; clustering.cluster_of.len()];
        for (r, &c) in clustering.cluster_of.iter().enumerate() {
            members[next[c as usize] as usize] = r as u32;
            next[c as usize] += 1;
        }
        Members { starts, members }
    }

    /// Cluster `c`'s records, ascending.
    pub(crate) fn of(&self, c: usize) -> &[u32] {
        let (a, b) = (self.starts[c] as usize, self.starts[c + 1] as usize);
        &self.members[a..b]
    }
}

/// A field's policy, resolved against the loaded data.
#[derive(Debug, Clone)]
enum Chooser {
    /// Per source (by index), its rank: lower wins.
    Sources(Vec<usize>),
    Frequent,
    /// The date column's slot in [`Loaded::dates`].
    Recent(usize),
}

/// Picks golden values for every stored field.
#[derive(Debug, Clone)]
pub(crate) struct Survivor {
    choosers: Vec<Chooser>,
}

impl Survivor {
    /// Resolves `survivorship` against `loaded` (source names, date columns).
    pub(crate) fn new(survivorship: &Survivorship, loaded: &Loaded) -> Survivor {
        let choosers = loaded
            .fields
            .iter()
            .map(|&field| match survivorship.policy(field) {
                Policy::Frequent => Chooser::Frequent,
                Policy::Sources(list) => {
                    let rank = loaded
                        .sources
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            list.iter()
                                .position(|n| *n == s.name)
                                .unwrap_or(list.len() + i)
                        })
                        .collect();
                    Chooser::Sources(rank)
                }
                Policy::Recent(column) => Chooser::Recent(
                    loaded
                        .dates
                        .iter()
                        .position(|(n, _)| n == column)
                        .unwrap_or(usize::MAX),
                ),
            })
            .collect();
        Survivor { choosers }
    }

    /// The surviving value number of field slot `f` among `members` (ascending),
    /// or [`NONE`] when none of them has a value.
    pub(crate) fn choose(&self, loaded: &Loaded, f: usize, members: &[u32]) -> u32 {
        let values = &loaded.values[f];
        let with_value = members
            .iter()
            .copied()
            .filter(|&r| values[r as usize] != NONE);
        let best = match &self.choosers[f] {
            Chooser::Sources(rank) => with_value.min_by_key(|&r| (rank[loaded.source_index(r)], r)),
            Chooser::Recent(slot) => match loaded.dates.get(*slot) {
                // Latest date; on a tie the smaller record.
                Some((_, dates)) => {
                    with_value.min_by_key(|&r| (std::cmp::Reverse(dates[r as usize]), r))
                }
                None => with_value.min(),
            },
            Chooser::Frequent => return most_frequent(with_value.map(|r| values[r as usize])),
        };
        best.map_or(NONE, |r| values[r as usize])
    }
}

/// The most frequent of `values` (in record order); a tie goes to the value met
/// first. [`NONE`] when empty.
fn most_frequent(values: impl Iterator<Item = u32>) -> u32 {
    let mut seen: Vec<(u32, u32)> = values.enumerate().map(|(i, v)| (v, i as u32)).collect();
    // Stable: within one value, its first occurrence stays first.
    seen.sort_by_key(|&(v, _)| v);
    let mut best: Option<(usize, u32, u32)> = None; // (count, first position, value)
    let mut i = 0;
    while i < seen.len() {
        let (v, first) = seen[i];
        let mut j = i;
        while j < seen.len() && seen[j].0 == v {
            j += 1;
        }
        let count = j - i;
        let better = match best {
            None => true,
            Some((c, p, _)) => count > c || (count == c && first < p),
        };
        if better {
            best = Some((count, first, v));
        }
        i = j;
    }
    best.map_or(NONE, |(_, _, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_with_first_seen_tie_break() {
        assert_eq!(most_frequent([3, 1, 1, 3, 2].into_iter()), 3);
        assert_eq!(most_frequent([2, 1, 1].into_iter()), 1);
        assert_eq!(most_frequent([5].into_iter()), 5);
        assert_eq!(most_frequent(std::iter::empty()), NONE);
    }
}
