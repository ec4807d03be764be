//! Rejected cells: counted per column and reason for summaries and manifests, and
//! listed one line per cell (row, line, column, type, reason code; never the
//! value) in the rejects file every pipeline writes the same way.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use blindmatch_token::{IdType, Rejection};

use crate::text::write_field;

/// The first line of a rejects file.
pub const REJECTS_HEADER: &[u8] = b"row,line,column,type,reason\n";

/// Appends one rejects-file line: the cell's 1-based data row and input line, its
/// column name (quoted as CSV needs), identifier type and reason code.
pub fn write_reject_line(
    out: &mut Vec<u8>,
    row: u64,
    line: u64,
    column: &str,
    id_type: IdType,
    reason: Rejection,
) {
    let mut text = String::with_capacity(24);
    let _ = write!(text, "{row},{line},");
    out.extend_from_slice(text.as_bytes());
    write_field(out, column.as_bytes(), b',');
    text.clear();
    let _ = writeln!(text, ",{},{}", id_type.as_str(), reason.code());
    out.extend_from_slice(text.as_bytes());
}

/// Rejected cells counted per column and reason, for summaries and manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectTally {
    /// Per identifier column (index into [`Columns::ids`]): counts per reason.
    per_column: Vec<BTreeMap<Rejection, u64>>,
    total: u64,
}

impl RejectTally {
    /// A tally for `columns` identifier columns.
    pub fn new(columns: usize) -> Self {
        RejectTally {
            per_column: vec![BTreeMap::new(); columns],
            total: 0,
        }
    }

    /// Counts one rejected cell.
    pub fn add(&mut self, column: usize, reason: Rejection) {
        if let Some(counts) = self.per_column.get_mut(column) {
            *counts.entry(reason).or_default() += 1;
            self.total += 1;
        }
    }

    /// Adds another tally (from a parallel batch) into this one.
    pub fn merge(&mut self, other: &RejectTally) {
        for (mine, theirs) in self.per_column.iter_mut().zip(&other.per_column) {
            for (reason, n) in theirs {
                *mine.entry(*reason).or_default() += n;
            }
        }
        self.total += other.total;
    }

    /// All rejected cells.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts per reason for one column, in a stable order.
    pub fn by_reason(&self, column: usize) -> impl Iterator<Item = (Rejection, u64)> + '_ {
        self.per_column
            .get(column)
            .into_iter()
            .flat_map(|c| c.iter().map(|(r, n)| (*r, *n)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tally_counts_and_merges() {
        let mut a = RejectTally::new(2);
        a.add(0, Rejection::TooShort);
        a.add(0, Rejection::TooShort);
        a.add(1, Rejection::MissingAt);
        let mut b = RejectTally::new(2);
        b.add(0, Rejection::InvalidMobilePrefix);
        a.merge(&b);
        assert_eq!(a.total(), 4);
        assert_eq!(
            a.by_reason(0).collect::<Vec<_>>(),
            vec![
                (Rejection::TooShort, 2),
                (Rejection::InvalidMobilePrefix, 1)
            ]
        );
    }
}
