//! [`PreparedSet`]: one party's items, de-duplicated by (identifier type, value), with
//! every caller row reference kept. Its distinct count is the declared set size the
//! handshake exchanges before any identifier-derived byte is sent.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use crate::PsiError;
use crate::ecdh::hash::validate_identifier_type;

/// Most distinct identifier types in one set.
pub const MAX_IDENTIFIER_TYPES: usize = 256;

/// One party's items before the protocol: distinct (type, value) pairs, each with the
/// rows that carry it.
///
/// Values are normalised identifier bytes (normalising is the caller's job); the type is
/// a short label such as `"phone"` that goes into the hash-to-group DST, so the same
/// bytes under two types never match. `Debug` shows only counts.
#[derive(Default)]
pub struct PreparedSet {
    types: Vec<String>,
    /// Key: type index (2 bytes, big-endian) ‖ value. Value: distinct index.
    index: HashMap<Box<[u8]>, u32>,
    /// (distinct index, row) in insertion order.
    rows: Vec<(u32, u64)>,
    /// Distinct items per type, by type index.
    type_sizes: Vec<u64>,
}

impl fmt::Debug for PreparedSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedSet")
            .field("types", &self.types)
            .field("distinct", &self.index.len())
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl PreparedSet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `items` distinct items, so that filling it does
    /// not rehash.
    #[must_use]
    pub fn with_capacity(items: usize) -> Self {
        PreparedSet {
            types: Vec::new(),
            index: HashMap::with_capacity(items),
            rows: Vec::with_capacity(items),
            type_sizes: Vec::new(),
        }
    }

    /// Builds a set from `(type, value, row)` items.
    ///
    /// # Errors
    ///
    /// As [`PreparedSet::push`].
    pub fn from_items<I, T, V>(items: I) -> Result<Self, PsiError>
    where
        I: IntoIterator<Item = (T, V, u64)>,
        T: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let items = items.into_iter();
        let mut set = Self::with_capacity(items.size_hint().0);
        for (t, v, row) in items {
            set.push(t.as_ref(), v.as_ref(), row)?;
        }
        Ok(set)
    }

    /// Adds one item. A (type, value) pair seen before adds only its row.
    ///
    /// # Errors
    ///
    /// [`PsiError::InvalidIdentifierType`], [`PsiError::TooManyIdentifierTypes`],
    /// [`PsiError::EmptyValue`], or [`PsiError::SetTooLarge`] past
    /// [`crate::MAX_SET_SIZE`] distinct items. The set is unchanged on error.
    pub fn push(&mut self, id_type: &str, value: &[u8], row: u64) -> Result<(), PsiError> {
        if value.is_empty() {
            return Err(PsiError::EmptyValue { row });
        }
        let type_index = self.type_index(id_type)?;
        let mut key = Vec::with_capacity(2 + value.len());
        key.extend_from_slice(&type_index.to_be_bytes());
        key.extend_from_slice(value);
        let next = self.index.len();
        let distinct = match self.index.entry(key.into_boxed_slice()) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let next = u32::try_from(next)
                    .ok()
                    .filter(|&n| u64::from(n) < crate::MAX_SET_SIZE)
                    .ok_or(PsiError::SetTooLarge {
                        count: next as u64 + 1,
                        max: crate::MAX_SET_SIZE,
                    })?;
                if let Some(c) = self.type_sizes.get_mut(usize::from(type_index)) {
                    *c += 1;
                }
                *e.insert(next)
            }
        };
        self.rows.push((distinct, row));
        Ok(())
    }

    fn type_index(&mut self, id_type: &str) -> Result<u16, PsiError> {
        if let Some(i) = self.types.iter().position(|t| t == id_type) {
            // Fewer than MAX_IDENTIFIER_TYPES (256) entries, so this fits.
            return Ok(i as u16);
        }
        validate_identifier_type(id_type)?;
        if self.types.len() >= MAX_IDENTIFIER_TYPES {
            return Err(PsiError::TooManyIdentifierTypes {
                max: MAX_IDENTIFIER_TYPES,
            });
        }
        self.types.push(id_type.to_owned());
        self.type_sizes.push(0);
        Ok((self.types.len() - 1) as u16)
    }

    /// Distinct (type, value) count: the size to declare to the peer.
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the set holds no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// [`PreparedSet::len`] as the `u64` that goes into [`crate::SessionConfig`].
    #[must_use]
    pub fn declared_size(&self) -> u64 {
        self.index.len() as u64
    }

    /// Number of rows pushed (duplicates included).
    #[must_use]
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// Identifier types present, in first-seen order.
    #[must_use]
    pub fn identifier_types(&self) -> &[String] {
        &self.types
    }

    /// Distinct items per identifier type, in first-seen order: what the hello
    /// declares per type when a session agrees several.
    #[must_use]
    pub fn type_sizes(&self) -> Vec<(String, u64)> {
        self.types
            .iter()
            .cloned()
            .zip(self.type_sizes.iter().copied())
            .collect()
    }

    /// Splits the set into what the party keeps: type labels, keys by distinct index
    /// (moved, not copied), and rows grouped by distinct index as
    /// offsets into a flat row list.
    pub(crate) fn into_parts(self) -> Parts {
        let n = self.index.len();
        let mut keys: Vec<Box<[u8]>> = vec![Box::default(); n];
        for (key, i) in self.index {
            if let Some(slot) = keys.get_mut(i as usize) {
                *slot = key;
            }
        }
        let mut offsets = vec![0usize; n + 1];
        for &(i, _) in &self.rows {
            if let Some(c) = offsets.get_mut(i as usize + 1) {
                *c += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut rows = vec![0u64; self.rows.len()];
        for (i, row) in self.rows {
            if let Some(pos) = fill.get_mut(i as usize) {
                if let Some(slot) = rows.get_mut(*pos) {
                    *slot = row;
                }
                *pos += 1;
            }
        }
        Parts {
            types: self.types,
            keys,
            row_offsets: offsets,
            rows,
        }
    }
}

/// A key's type index and value. Every key is built by [`PreparedSet::push`] with a
/// 2-byte prefix; a shorter one cannot occur and would read as an empty value.
pub(crate) fn split_key(key: &[u8]) -> (u16, &[u8]) {
    match key.split_first_chunk::<2>() {
        Some((t, value)) => (u16::from_be_bytes(*t), value),
        None => (0, &[]),
    }
}

/// [`PreparedSet`] taken apart for a [`crate::Party`].
pub(crate) struct Parts {
    pub(crate) types: Vec<String>,
    /// By distinct index: type index (2 bytes, big-endian) ‖ value; see [`split_key`].
    pub(crate) keys: Vec<Box<[u8]>>,
    /// Rows of distinct index `i` are `rows[row_offsets[i]..row_offsets[i + 1]]`.
    pub(crate) row_offsets: Vec<usize>,
    pub(crate) rows: Vec<u64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn duplicates_count_once_and_keep_rows() {
        let set = PreparedSet::from_items([
            ("phone", &b"1"[..], 10),
            ("phone", b"2", 11),
            ("phone", b"1", 12),
            ("email", b"1", 13),
        ])
        .unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.row_count(), 4);
        assert_eq!(
            set.type_sizes(),
            [("phone".to_owned(), 2), ("email".to_owned(), 1)]
        );
        let parts = set.into_parts();
        assert_eq!(parts.types, ["phone", "email"]);
        assert_eq!(parts.row_offsets, [0, 2, 3, 4]);
        assert_eq!(parts.rows, [10, 12, 11, 13]);
        assert_eq!(split_key(&parts.keys[2]), (1, &b"1"[..]));
    }

    #[test]
    fn bad_items_are_refused() {
        let mut set = PreparedSet::new();
        assert!(matches!(
            set.push("phone", b"", 7),
            Err(PsiError::EmptyValue { row: 7 })
        ));
        assert!(matches!(
            set.push("bad type", b"x", 1),
            Err(PsiError::InvalidIdentifierType { .. })
        ));
        assert!(set.is_empty());
        for i in 0..MAX_IDENTIFIER_TYPES {
            set.push(&format!("t{i}"), b"x", 0).unwrap();
        }
        assert!(matches!(
            set.push("one-more", b"x", 0),
            Err(PsiError::TooManyIdentifierTypes { .. })
        ));
    }

    #[test]
    fn debug_shows_no_values() {
        let set = PreparedSet::from_items([("phone", "13800138000", 1)]).unwrap();
        let shown = format!("{set:?}");
        assert!(!shown.contains("13800138000"));
    }
}
