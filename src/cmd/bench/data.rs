//! The generated data sets: which identifiers each side holds, and the bytes of each
//! identifier, produced on demand from its number so that no copy of the sets sits in
//! memory besides what the protocol itself keeps.
//!
//! The initiator holds identifiers `0..n`; the responder holds the first `shared` of
//! those and `m - shared` of its own, numbered from `n` on. Identifiers are normalised
//! mainland mobile numbers, `"861"` followed by ten digits, under the type `phone`.

use std::ops::Range;

use blindmatch_psi::{PreparedSet, PsiError};

/// Identifier type of every generated item.
pub(crate) const ID_TYPE: &str = "phone";
/// Length of a generated identifier.
pub(crate) const VALUE_LEN: usize = 13;
/// Identifiers are numbered below this (ten digits after the prefix).
pub(crate) const MAX_IDS: u64 = 10_000_000_000;

/// The identifier numbers one side holds: two consecutive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SideIds {
    ranges: [Range<u64>; 2],
}

impl SideIds {
    /// The initiator's `n` identifiers.
    pub(crate) fn initiator(n: u64) -> SideIds {
        SideIds {
            ranges: [0..n, n..n],
        }
    }

    /// The responder's `m` identifiers, `shared` of them also the initiator's (of `n`).
    pub(crate) fn responder(n: u64, m: u64, shared: u64) -> SideIds {
        let shared = shared.min(n).min(m);
        SideIds {
            ranges: [0..shared, n..n + (m - shared)],
        }
    }

    /// How many identifiers.
    pub(crate) fn len(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// The `j`-th identifier number (`j < len`).
    pub(crate) fn id_at(&self, j: u64) -> u64 {
        let [first, second] = &self.ranges;
        let first_len = first.end - first.start;
        if j < first_len {
            first.start + j
        } else {
            second.start + (j - first_len)
        }
    }

    /// All identifier numbers in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges.iter().flat_map(|r| r.clone())
    }

    /// The side's prepared set: every identifier once, its position as the row.
    ///
    /// # Errors
    ///
    /// As [`PreparedSet::push`] (not for generated data).
    pub(crate) fn prepare(&self) -> Result<PreparedSet, PsiError> {
        let mut set = PreparedSet::new();
        for (row, id) in self.iter().enumerate() {
            set.push(ID_TYPE, &value(id), row as u64)?;
        }
        Ok(set)
    }
}

/// The identifier with number `id` (`id < MAX_IDS`): `"861"` and ten digits.
pub(crate) fn value(id: u64) -> [u8; VALUE_LEN] {
    let mut out = *b"8610000000000";
    let mut rest = id % MAX_IDS;
    for digit in out.iter_mut().rev().take(10) {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_distinct_phone_numbers() {
        assert_eq!(&value(0), b"8610000000000");
        assert_eq!(&value(1_234_567), b"8610001234567");
        assert_eq!(&value(MAX_IDS - 1), b"8619999999999");
        assert_ne!(value(41), value(42));
    }

    #[test]
    fn sides_share_exactly_the_overlap() {
        let a = SideIds::initiator(10);
        let b = SideIds::responder(10, 7, 4);
        assert_eq!((a.len(), b.len()), (10, 7));
        let ids_b: Vec<u64> = b.iter().collect();
        assert_eq!(ids_b, [0, 1, 2, 3, 10, 11, 12]);
        for (j, id) in ids_b.iter().enumerate() {
            assert_eq!(b.id_at(j as u64), *id);
        }
        let shared = a.iter().filter(|id| ids_b.contains(id)).count();
        assert_eq!(shared, 4);
        // The overlap is capped by the smaller side.
        assert_eq!(
            SideIds::responder(3, 5, 9).iter().collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
    }
}
