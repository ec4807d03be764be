//! Labelled mode on our side: the values of the columns we release, read with the
//! input and checked against `--release-max-bytes` (a longer value is an input error,
//! never cut); and, on the side that receives labels, which label sets go into the
//! output: a row matched under several rules gets the label sets of its first
//! matching rule only, so each is released once per matched row.

use std::collections::BTreeMap;
use std::fmt;

use blindmatch_data::{Error, Result};
use blindmatch_net::LabelledRow;
use zeroize::Zeroize;

use super::prepare::split_row_ref;

/// The released columns' values of every data row, as read (not normalised).
/// Zeroised on drop; `Debug` shows only counts.
pub struct ReleasedValues {
    /// Released column names, in `--release` order.
    pub columns: Vec<String>,
    /// Their positions in each record.
    pub(super) indices: Vec<usize>,
    /// Longest value allowed, in bytes.
    pub(super) max_bytes: u32,
    /// Per data row (1-based row at index row-1), one value per column.
    pub(super) rows: Vec<Vec<Vec<u8>>>,
}

impl fmt::Debug for ReleasedValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReleasedValues")
            .field("columns", &self.columns)
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl Drop for ReleasedValues {
    fn drop(&mut self) {
        for row in &mut self.rows {
            for v in row.iter_mut() {
                v.zeroize();
            }
        }
    }
}

impl ReleasedValues {
    /// Finds the released columns in `header`.
    ///
    /// # Errors
    /// A released column is not in the header (bad input).
    pub(super) fn new(
        release: &[String],
        max_bytes: u32,
        header: &[String],
        source: &str,
    ) -> Result<ReleasedValues> {
        let mut indices = Vec::with_capacity(release.len());
        for name in release {
            let Some(i) = header.iter().position(|h| h == name) else {
                return Err(Error::bad_input(format!(
                    "--release '{name}' is not a column of '{source}'"
                ))
                .hint("name columns as the header spells them"));
            };
            indices.push(i);
        }
        Ok(ReleasedValues {
            columns: release.to_vec(),
            indices,
            max_bytes,
            rows: Vec::new(),
        })
    }

    /// The record positions to check as text.
    pub(super) fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Adds the next data row's values from `get` (a record's field by position).
    ///
    /// # Errors
    /// A value longer than `--release-max-bytes`, named by file, line and column,
    /// never by its content (bad input).
    pub(super) fn push<'a>(
        &mut self,
        get: impl Fn(usize) -> Option<&'a [u8]>,
        source: &str,
        line: u64,
    ) -> Result<()> {
        let mut values = Vec::with_capacity(self.indices.len());
        for (name, &i) in self.columns.iter().zip(&self.indices) {
            let value = get(i).unwrap_or_default();
            if value.len() > self.max_bytes as usize {
                return Err(Error::bad_input(format!(
                    "'{source}' line {line}: column '{name}' holds {} bytes, above --release-max-bytes {}",
                    value.len(),
                    self.max_bytes
                ))
                .hint("raise --release-max-bytes (every released value is padded to it) or shorten the values; a value is never cut"));
            }
            values.push(value.to_vec());
        }
        self.rows.push(values);
        Ok(())
    }

    /// Every data row with its values, in row order.
    pub(super) fn all(&self) -> impl Iterator<Item = (u64, &[Vec<u8>])> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u64 + 1, v.as_slice()))
    }
}

/// The label sets for each of our matched data rows: for a row matched under
/// several rules, those received under its first matching rule (priority order).
pub(super) fn label_sets_by_row(rows: &[LabelledRow]) -> BTreeMap<u64, Vec<&[Vec<u8>]>> {
    let mut first_rule: BTreeMap<u64, usize> = BTreeMap::new();
    for r in rows {
        let (row, rule) = split_row_ref(r.row);
        first_rule
            .entry(row)
            .and_modify(|f| *f = (*f).min(rule))
            .or_insert(rule);
    }
    let mut out: BTreeMap<u64, Vec<&[Vec<u8>]>> = BTreeMap::new();
    for r in rows {
        let (row, rule) = split_row_ref(r.row);
        if first_rule.get(&row) == Some(&rule) {
            out.entry(row).or_default().push(&r.values);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use blindmatch_net::MatchId;

    use super::super::prepare::row_ref;
    use super::*;

    #[test]
    fn values_are_checked_never_cut() {
        let header = vec!["id".to_owned(), "segment".to_owned()];
        let mut v = ReleasedValues::new(&["segment".to_owned()], 4, &header, "f.csv").unwrap();
        let rec: [&[u8]; 2] = [b"1", b"gold"];
        v.push(|i| rec.get(i).copied(), "f.csv", 2).unwrap();
        let long: [&[u8]; 2] = [b"2", b"platinum"];
        let e = v.push(|i| long.get(i).copied(), "f.csv", 3).unwrap_err();
        let text = format!("{e:?} {e}");
        assert!(
            text.contains("line 3") && text.contains("'segment'"),
            "{text}"
        );
        assert!(!text.contains("platinum"));
        assert_eq!(v.all().next().unwrap(), (1, &[b"gold".to_vec()][..]));
        assert!(!format!("{v:?}").contains("gold"));
        assert!(ReleasedValues::new(&["tier".to_owned()], 4, &header, "f.csv").is_err());
    }

    #[test]
    fn a_row_gets_the_label_sets_of_its_first_rule() {
        let id = MatchId([0; 32]);
        let lr = |row, rule, v: &str| LabelledRow {
            row: row_ref(row, rule),
            match_id: id,
            values: vec![v.as_bytes().to_vec()],
        };
        let rows = vec![
            lr(5, 1, "b1"),
            lr(5, 0, "a1"),
            lr(5, 0, "a2"),
            lr(7, 2, "c"),
        ];
        let by_row = label_sets_by_row(&rows);
        assert_eq!(by_row[&5].len(), 2);
        assert_eq!(by_row[&5][0], [b"a1".to_vec()]);
        assert_eq!(by_row[&7], vec![&[b"c".to_vec()][..]]);
    }
}
