//! Sessions that agreed their sets type by type ([`crate::TypeGroup`]): each side
//! sends its items grouped in the agreed order, shuffled within a group, so that the
//! peer can shuffle cardinality responses within a group and the learner can count
//! matches per type. Without groups, one group spans the whole set.

use std::ops::Range;

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::{PsiError, TypeGroup};

/// Our sending order (position → distinct index) and the position range of each
/// group in it.
pub(crate) struct Order {
    pub(crate) order: Vec<u32>,
    pub(crate) bounds: Vec<Range<usize>>,
}

/// Orders our distinct items: grouped by `groups` (their type labels matched against
/// `set_types`, the set's own labels by type index), each group shuffled with `rng`.
/// `type_of` gives each distinct item's type index. Without groups, one shuffle over
/// everything (the same draw as a single group).
///
/// # Errors
///
/// [`PsiError::GroupsMismatch`] when the set holds a type the groups do not list, or
/// a group's count differs from the set's.
pub(crate) fn own_order(
    groups: &[TypeGroup],
    set_types: &[String],
    type_of: &[u16],
    rng: &mut StdRng,
) -> Result<Order, PsiError> {
    let n = type_of.len();
    if groups.is_empty() {
        // Fits: the prepared set holds at most MAX_SET_SIZE = u32::MAX items.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(rng);
        return Ok(Order {
            order,
            bounds: std::iter::once(0..n).collect(),
        });
    }
    let mut group_of_type = Vec::with_capacity(set_types.len());
    for t in set_types {
        let g = groups
            .iter()
            .position(|g| &g.id_type == t)
            .ok_or(PsiError::GroupsMismatch {
                reason: "the set holds an identifier type the session did not agree",
            })?;
        group_of_type.push(g);
    }
    let mut buckets: Vec<Vec<u32>> = groups
        .iter()
        .map(|g| Vec::with_capacity(usize::try_from(g.local).unwrap_or(0).min(n)))
        .collect();
    for (i, &t) in type_of.iter().enumerate() {
        let bucket = group_of_type
            .get(usize::from(t))
            .and_then(|&g| buckets.get_mut(g))
            .ok_or(PsiError::GroupsMismatch {
                reason: "an item names an identifier type the set does not hold",
            })?;
        bucket.push(i as u32);
    }
    let mut order = Vec::with_capacity(n);
    let mut bounds = Vec::with_capacity(groups.len());
    for (bucket, group) in buckets.iter_mut().zip(groups) {
        if bucket.len() as u64 != group.local {
            return Err(PsiError::GroupsMismatch {
                reason: "a per-type count differs from the set's",
            });
        }
        bucket.shuffle(rng);
        let start = order.len();
        order.extend_from_slice(bucket);
        bounds.push(start..order.len());
    }
    Ok(Order { order, bounds })
}

/// The position ranges of the peer's groups in its sending order (one range over
/// `peer_count` items without groups).
pub(crate) fn peer_bounds(groups: &[TypeGroup], peer_count: u64) -> Vec<Range<usize>> {
    if groups.is_empty() {
        return std::iter::once(0..usize::try_from(peer_count).unwrap_or(usize::MAX)).collect();
    }
    let mut start = 0usize;
    groups
        .iter()
        .map(|g| {
            let end = start.saturating_add(usize::try_from(g.peer).unwrap_or(usize::MAX));
            let r = start..end;
            start = end;
            r
        })
        .collect()
}

/// Fisher–Yates over the `l`-byte records of `values`, separately within each range
/// of record positions, so a record never leaves its group.
pub(crate) fn shuffle_within(
    values: &mut [u8],
    l: usize,
    ranges: &[Range<usize>],
    rng: &mut StdRng,
) {
    for range in ranges {
        let Some(group) = values.get_mut(range.start * l..range.end * l) else {
            continue;
        };
        let count = group.len() / l.max(1);
        for i in (1..count).rev() {
            let j = rng.random_range(0..=i);
            if j != i {
                let (head, tail) = group.split_at_mut(i * l);
                if let (Some(a), Some(b)) = (head.get_mut(j * l..(j + 1) * l), tail.get_mut(..l)) {
                    a.swap_with_slice(b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use rand::SeedableRng;

    use super::*;

    fn group(t: &str, local: u64, peer: u64) -> TypeGroup {
        TypeGroup {
            id_type: t.to_owned(),
            local,
            peer,
        }
    }

    #[test]
    fn items_are_grouped_in_the_agreed_order_and_shuffled_within() {
        let types = ["email".to_owned(), "phone".to_owned()];
        // Items 0..3 email, 3..8 phone.
        let type_of = [0u16, 0, 0, 1, 1, 1, 1, 1];
        let groups = [group("phone", 5, 1), group("email", 3, 1)];
        let o = own_order(&groups, &types, &type_of, &mut StdRng::from_seed([7; 32])).unwrap();
        assert_eq!(o.bounds, [0..5, 5..8]);
        let mut phones = o.order[..5].to_vec();
        phones.sort_unstable();
        assert_eq!(phones, [3, 4, 5, 6, 7]);
        let mut emails = o.order[5..].to_vec();
        emails.sort_unstable();
        assert_eq!(emails, [0, 1, 2]);
    }

    #[test]
    fn one_group_draws_the_same_order_as_none() {
        let types = ["phone".to_owned()];
        let type_of = [0u16; 50];
        let a = own_order(&[], &types, &type_of, &mut StdRng::from_seed([3; 32])).unwrap();
        let b = own_order(
            &[group("phone", 50, 9)],
            &types,
            &type_of,
            &mut StdRng::from_seed([3; 32]),
        )
        .unwrap();
        assert_eq!(a.order, b.order);
    }

    #[test]
    fn counts_that_disagree_with_the_set_are_refused() {
        let types = ["phone".to_owned(), "email".to_owned()];
        let type_of = [0u16, 1];
        let rng = &mut StdRng::from_seed([1; 32]);
        assert!(own_order(&[group("phone", 1, 1)], &types, &type_of, rng).is_err());
        assert!(
            own_order(
                &[group("phone", 2, 1), group("email", 0, 1)],
                &types,
                &type_of,
                rng
            )
            .is_err()
        );
    }

    #[test]
    fn the_shuffle_keeps_records_in_their_group() {
        let l = 2;
        let mut values: Vec<u8> = (0u8..10).flat_map(|i| [i, i]).collect();
        let ranges = [0..4, 4..10];
        shuffle_within(&mut values, l, &ranges, &mut StdRng::from_seed([5; 32]));
        let recs: Vec<u8> = values.chunks(l).map(|c| c[0]).collect();
        let mut first: Vec<u8> = recs[..4].to_vec();
        first.sort_unstable();
        assert_eq!(first, [0, 1, 2, 3]);
        assert!(values.chunks(l).all(|c| c[0] == c[1]));
        assert_eq!(
            peer_bounds(&[group("a", 0, 4), group("b", 0, 6)], 10),
            ranges
        );
    }
}
