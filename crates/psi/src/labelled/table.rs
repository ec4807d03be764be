//! [`LabelTable`]: the releasing side's label values by row, checked against the
//! released columns as they are inserted, wiped when dropped.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use zeroize::Zeroize;

use super::LabelColumn;
use crate::PsiError;

/// The sender's label values, by the row references it pushed into its
/// [`crate::PreparedSet`]. `Debug` shows counts only; values are zeroised on drop.
pub struct LabelTable {
    /// Each column's maximum, in column order.
    max_bytes: Vec<u32>,
    rows: HashMap<u64, Vec<Vec<u8>>>,
}

impl fmt::Debug for LabelTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabelTable")
            .field("columns", &self.max_bytes.len())
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl Drop for LabelTable {
    fn drop(&mut self) {
        for values in self.rows.values_mut() {
            for v in values.iter_mut() {
                v.zeroize();
            }
        }
    }
}

impl LabelTable {
    /// An empty table for these columns (their maxima bound every value).
    #[must_use]
    pub fn new(columns: &[LabelColumn]) -> Self {
        LabelTable {
            max_bytes: columns.iter().map(|c| c.max_bytes).collect(),
            rows: HashMap::new(),
        }
    }

    /// One row's values, one per column; a value longer than its column's
    /// `max_bytes` → [`PsiError::LabelTooLong`] (never cut); wrong count →
    /// [`PsiError::LabelColumnCount`]; a row given twice →
    /// [`PsiError::DuplicateLabelRow`]. The table is unchanged on error (the refused
    /// values are wiped).
    ///
    /// # Errors
    ///
    /// As above.
    pub fn insert(&mut self, row: u64, mut values: Vec<Vec<u8>>) -> Result<(), PsiError> {
        let check = self.check(row, &values);
        if let Err(e) = check {
            for v in &mut values {
                v.zeroize();
            }
            return Err(e);
        }
        match self.rows.entry(row) {
            Entry::Vacant(e) => {
                e.insert(values);
                Ok(())
            }
            Entry::Occupied(_) => {
                for v in &mut values {
                    v.zeroize();
                }
                Err(PsiError::DuplicateLabelRow { row })
            }
        }
    }

    fn check(&self, row: u64, values: &[Vec<u8>]) -> Result<(), PsiError> {
        if values.len() != self.max_bytes.len() {
            return Err(PsiError::LabelColumnCount {
                row,
                expected: self.max_bytes.len(),
                found: values.len(),
            });
        }
        for (column, (v, &max)) in values.iter().zip(&self.max_bytes).enumerate() {
            if v.len() > max as usize {
                return Err(PsiError::LabelTooLong { row, column });
            }
        }
        Ok(())
    }

    /// Rows with values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row has values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The column maxima the table was built for.
    pub(crate) fn max_bytes(&self) -> &[u32] {
        &self.max_bytes
    }

    /// One row's values.
    pub(crate) fn get(&self, row: u64) -> Option<&[Vec<u8>]> {
        self.rows.get(&row).map(Vec::as_slice)
    }
}
