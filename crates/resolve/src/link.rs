//! Linking records into clusters: for each rule, records with equal keys are
//! joined (union-find with path halving and union by size), unless a guard
//! refuses the join.
//!
//! A record's key for a rule is the tuple of its value numbers for the rule's
//! fields (values are interned exactly, so equal keys mean equal normalised values:
//! no digest, no collision); a record lacking any of the fields has no key and
//! takes no part in the rule.
//!
//! Guards make clustering depend on the order in which links are tried, so the
//! order is fixed: rules in priority order, and within a rule records in canonical
//! order (source name, row). Each key keeps "anchors": the first record with the
//! key, plus each later one that no earlier anchor's cluster would take (up to
//! [`MAX_ANCHORS`]); a record tries to join every anchor of its key. A join is
//! refused when the two clusters hold different values of a guard field; a
//! cluster's guard value is the one value its records have (empty values never
//! conflict). The result therefore depends on the records, rules and guards only,
//! never on the order of the input files or of the records in memory.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use crate::load::NONE;

/// The most anchors one key keeps (a shared number with many conflicting guard
/// values would otherwise cost time quadratic in its records). Records beyond
/// it that join no anchor stay apart on that key; their refusals are counted.
pub(crate) const MAX_ANCHORS: usize = 16;

/// `linked_by` of a record no rule joined to anything.
pub(crate) const NO_RULE: u8 = u8::MAX;

/// The most rules a run takes (a rule index is a `u8`, one value marks "no rule").
pub const MAX_RULES: usize = 254;

/// A fast hasher for keys that are value numbers, not attacker-chosen bytes.
#[derive(Debug, Default, Clone, Copy)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Mix>>;

/// Which records ended up together, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clustering {
    /// Per record, its cluster's number. Clusters are numbered by their smallest
    /// record.
    pub cluster_of: Vec<u32>,
    /// Per cluster, its smallest record.
    pub first_member: Vec<u32>,
    /// Per record, the index of the rule that first joined it to another record,
    /// or [`NO_RULE`].
    pub linked_by: Vec<u8>,
    /// Per rule, the joins it made.
    pub unions: Vec<u64>,
    /// Per guard, per rule: joins refused because the guard's values differed.
    pub refusals: Vec<Vec<u64>>,
}

impl Clustering {
    /// Number of clusters.
    pub(crate) fn clusters(&self) -> usize {
        self.first_member.len()
    }
}

/// The union-find forest with per-root guard values.
struct Forest {
    parent: Vec<u32>,
    size: Vec<u32>,
    /// Per guard: per root, the cluster's value (or [`NONE`]).
    guard_values: Vec<Vec<u32>>,
    linked_by: Vec<u8>,
    unions: Vec<u64>,
    refusals: Vec<Vec<u64>>,
}

impl Forest {
    fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.parent[x as usize];
            if p == x {
                return x;
            }
            let gp = self.parent[p as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
    }

    /// Joins the clusters of `a` and `r` under rule `rule` unless a guard refuses;
    /// whether they are (now) one cluster.
    fn try_join(&mut self, a: u32, r: u32, rule: usize) -> bool {
        let (ra, rr) = (self.find(a), self.find(r));
        if ra == rr {
            return true;
        }
        for (g, values) in self.guard_values.iter().enumerate() {
            let (va, vr) = (values[ra as usize], values[rr as usize]);
            if va != NONE && vr != NONE && va != vr {
                self.refusals[g][rule] += 1;
                return false;
            }
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rr as usize] {
            (ra, rr)
        } else {
            (rr, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        for values in &mut self.guard_values {
            if values[big as usize] == NONE {
                values[big as usize] = values[small as usize];
            }
        }
        for x in [a, r] {
            if self.linked_by[x as usize] == NO_RULE {
                self.linked_by[x as usize] = u8::try_from(rule).unwrap_or(NO_RULE);
            }
        }
        self.unions[rule] += 1;
        true
    }
}

/// A record's key for a rule over `fields`, or `None` when a field is empty.
/// Keys of rules over more than two fields fold pairs through `pairs`.
fn key_of(
    values: &[Vec<u32>],
    fields: &[usize],
    r: usize,
    pairs: &mut FastMap<u64, u32>,
) -> Option<u64> {
    let mut key: Option<u64> = None;
    for (i, &f) in fields.iter().enumerate() {
        let v = values[f][r];
        if v == NONE {
            return None;
        }
        key = Some(match key {
            None => u64::from(v),
            Some(k) => {
                let pair = (k << 32) | u64::from(v);
                if i + 1 == fields.len() {
                    pair
                } else {
                    let next = u32::try_from(pairs.len()).unwrap_or(NONE);
                    u64::from(*pairs.entry(pair).or_insert(next))
                }
            }
        });
    }
    key
}

/// Clusters `records` records whose field values are `values[field][record]`
/// (value numbers or [`NONE`]), with `rules` (each a list of field positions, in
/// priority order) and `guards` (field positions).
pub(crate) fn link(
    values: &[Vec<u32>],
    records: u32,
    rules: &[Vec<usize>],
    guards: &[usize],
) -> Clustering {
    let n = records as usize;
    let mut forest = Forest {
        parent: (0..records).collect(),
        size: vec![1; n],
        guard_values: guards.iter().map(|&g| values[g][..n].to_vec()).collect(),
        linked_by: vec![NO_RULE; n],
        unions: vec![0; rules.len()],
        refusals: vec![vec![0; rules.len()]; guards.len()],
    };
    for (ri, fields) in rules.iter().enumerate() {
        let mut first: FastMap<u64, u32> = FastMap::default();
        first.reserve(n / 2);
        let mut extra: FastMap<u64, Vec<u32>> = FastMap::default();
        let mut pairs: FastMap<u64, u32> = FastMap::default();
        for r in 0..records {
            let Some(key) = key_of(values, fields, r as usize, &mut pairs) else {
                continue;
            };
            let anchor = match first.entry(key) {
                Entry::Vacant(e) => {
                    e.insert(r);
                    continue;
                }
                Entry::Occupied(e) => *e.get(),
            };
            let mut joined = forest.try_join(anchor, r, ri);
            if let Some(list) = extra.get(&key) {
                for &b in list {
                    joined |= forest.try_join(b, r, ri);
                }
            }
            if !joined {
                let list = extra.entry(key).or_default();
                if list.len() + 1 < MAX_ANCHORS {
                    list.push(r);
                }
            }
        }
    }
    let mut cluster_of = vec![NONE; n];
    let mut first_member = Vec::new();
    for r in 0..records {
        let root = forest.find(r) as usize;
        if cluster_of[root] == NONE {
            cluster_of[root] = u32::try_from(first_member.len()).unwrap_or(NONE);
            first_member.push(r);
        }
        cluster_of[r as usize] = cluster_of[root];
    }
    Clustering {
        cluster_of,
        first_member,
        linked_by: forest.linked_by,
        unions: forest.unions,
        refusals: forest.refusals,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::needless_range_loop)]
    use super::*;
    use proptest::prelude::*;

    const X: u32 = NONE;

    /// Clusters as sorted lists of records, sorted.
    fn partition(c: &Clustering) -> Vec<Vec<u32>> {
        let mut groups = vec![Vec::new(); c.clusters()];
        for (r, &k) in c.cluster_of.iter().enumerate() {
            groups[k as usize].push(r as u32);
        }
        groups.sort();
        groups
    }

    #[test]
    fn rules_are_ors_of_ands_and_empties_never_link() {
        // fields: 0 phone, 1 email, 2 name, 3 uscc
        let values = vec![
            vec![1, 1, X, X, 7, X],
            vec![X, 2, 2, X, X, X],
            vec![X, X, X, 5, 5, 5],
            vec![X, X, X, 9, 8, 9],
        ];
        let c = link(&values, 6, &[vec![0], vec![1], vec![2, 3]], &[]);
        assert_eq!(partition(&c), vec![vec![0, 1, 2], vec![3, 5], vec![4]]);
        assert_eq!(c.linked_by, [0, 0, 1, 2, NO_RULE, 2]);
        assert_eq!(c.unions, [1, 1, 1]);
        assert_eq!(c.first_member, [0, 3, 4]);
        assert_eq!(c.cluster_of, [0, 0, 0, 1, 2, 1]);
    }

    #[test]
    fn guards_refuse_and_count() {
        // fields: 0 phone, 1 cn_id. Records 0 and 2 share a phone but not a cn_id;
        // record 1 has no cn_id and goes with the first anchor (record 0).
        let values = vec![vec![1, 1, 1, 1], vec![10, X, 11, 11]];
        let c = link(&values, 4, &[vec![0]], &[1]);
        assert_eq!(partition(&c), vec![vec![0, 1], vec![2, 3]]);
        // 2 refused by {0,1}; 3 joins anchor 2 after being refused by {0,1}.
        assert_eq!(c.refusals, [vec![2]]);
        assert_eq!(c.unions, [2]);
    }

    #[test]
    fn rules_over_three_fields() {
        let values = vec![vec![1, 1, 1, 2], vec![3, 3, 4, 3], vec![5, 5, 5, 5]];
        let c = link(&values, 4, &[vec![0, 1, 2]], &[]);
        assert_eq!(partition(&c), vec![vec![0, 1], vec![2], vec![3]]);
    }

    /// Connected components the slow way: relabel until nothing changes.
    fn components(values: &[Vec<u32>], n: usize, rules: &[Vec<usize>]) -> Vec<Vec<u32>> {
        let mut label: Vec<usize> = (0..n).collect();
        loop {
            let mut changed = false;
            for rule in rules {
                for a in 0..n {
                    for b in 0..n {
                        let linked = rule
                            .iter()
                            .all(|&f| values[f][a] != X && values[f][a] == values[f][b]);
                        if linked && label[a] != label[b] {
                            let (lo, hi) = (label[a].min(label[b]), label[a].max(label[b]));
                            label.iter_mut().filter(|l| **l == hi).for_each(|l| *l = lo);
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut groups: std::collections::BTreeMap<usize, Vec<u32>> = Default::default();
        for (r, l) in label.into_iter().enumerate() {
            groups.entry(l).or_default().push(r as u32);
        }
        let mut out: Vec<Vec<u32>> = groups.into_values().collect();
        out.sort();
        out
    }

    fn table() -> impl Strategy<Value = (usize, Vec<Vec<u32>>)> {
        (1usize..40).prop_flat_map(|n| {
            let column = proptest::collection::vec(prop_oneof![1 => Just(X), 3 => 0u32..6], n);
            (Just(n), proptest::collection::vec(column, 3))
        })
    }

    proptest! {
        #[test]
        fn unguarded_clusters_are_connected_components_in_any_order(
            (n, values) in table(),
            seed in any::<u64>(),
        ) {
            let rules = [vec![0], vec![1, 2]];
            let c = link(&values, n as u32, &rules, &[]);
            prop_assert_eq!(partition(&c), components(&values, n, &rules));
            // The records in another order: the same clusters, mapped back.
            let mut order: Vec<usize> = (0..n).collect();
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let shuffled: Vec<Vec<u32>> = values.iter().map(|col| order.iter().map(|&i| col[i]).collect()).collect();
            let d = link(&shuffled, n as u32, &rules, &[]);
            let mut back: Vec<Vec<u32>> = partition(&d)
                .into_iter()
                .map(|g| { let mut g: Vec<u32> = g.into_iter().map(|r| order[r as usize] as u32).collect(); g.sort(); g })
                .collect();
            back.sort();
            prop_assert_eq!(back, partition(&c));
        }

        #[test]
        fn guards_hold_and_guarded_clusters_are_linked((n, values) in table()) {
            let rules = [vec![0], vec![1]];
            let c = link(&values, n as u32, &rules, &[2]);
            let mut seen: Vec<u32> = vec![X; c.clusters()];
            for r in 0..n {
                let v = values[2][r];
                let k = c.cluster_of[r] as usize;
                if v != X {
                    prop_assert!(seen[k] == X || seen[k] == v, "cluster {} holds two guard values", k);
                    seen[k] = v;
                }
            }
            // Every guarded cluster lies inside one unguarded component.
            let unguarded = link(&values, n as u32, &rules, &[]);
            for r in 0..n {
                let first = c.first_member[c.cluster_of[r] as usize] as usize;
                prop_assert_eq!(unguarded.cluster_of[r], unguarded.cluster_of[first]);
            }
            // Singletons carry no rule; every other record does.
            let mut sizes = vec![0u32; c.clusters()];
            for &k in &c.cluster_of { sizes[k as usize] += 1; }
            for r in 0..n {
                prop_assert_eq!(sizes[c.cluster_of[r] as usize] == 1, c.linked_by[r] == NO_RULE);
            }
        }
    }
}
