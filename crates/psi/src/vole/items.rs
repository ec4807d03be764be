//! One side's items in an OT-based protocol: the prepared set taken apart, put in
//! the session's sending order (grouped by agreed identifier type, shuffled within a
//! group, exactly as the ECDH protocol orders them), hashed once the OKVS seed is
//! known, and mapped back to rows and groups at the end.

use std::ops::Range;

use rand::rngs::StdRng;
use rayon::prelude::*;
use zeroize::Zeroize;

use crate::ecdh::groups;
use crate::items::split_key;
use crate::{MatchResult, Outcome, PreparedSet, PsiError, SessionConfig, TypeMatches};

/// Our items in sending order, with what maps a position back to rows.
pub(crate) struct OwnItems {
    types: Vec<String>,
    /// Prepared-set keys (type index ‖ value) in sending order; wiped once hashed.
    keys: Vec<Box<[u8]>>,
    /// Sending position → distinct index.
    order: Vec<u32>,
    /// Position range of each agreed type group.
    bounds: Vec<Range<usize>>,
    row_offsets: Vec<usize>,
    rows: Vec<u64>,
}

impl OwnItems {
    /// Takes the set apart and orders it.
    ///
    /// # Errors
    /// [`PsiError::LocalCountMismatch`] or [`PsiError::GroupsMismatch`] when the set
    /// does not fit the configuration.
    pub(crate) fn new(
        config: &SessionConfig,
        set: PreparedSet,
        rng: &mut StdRng,
    ) -> Result<Self, PsiError> {
        let actual = set.declared_size();
        if actual != config.local_count {
            return Err(PsiError::LocalCountMismatch {
                configured: config.local_count,
                actual,
            });
        }
        let parts = set.into_parts();
        let type_of: Vec<u16> = parts.keys.iter().map(|k| split_key(k).0).collect();
        if type_of.iter().any(|&t| usize::from(t) >= parts.types.len()) {
            return Err(PsiError::InvalidIdentifierType {
                reason: "an item names an identifier type the set does not hold",
            });
        }
        let groups::Order { order, bounds } =
            groups::own_order(&config.groups, &parts.types, &type_of, rng)?;
        let mut by_index: Vec<Option<Box<[u8]>>> = parts.keys.into_iter().map(Some).collect();
        let keys = order
            .iter()
            .filter_map(|&i| by_index.get_mut(i as usize).and_then(Option::take))
            .collect();
        Ok(OwnItems {
            types: parts.types,
            keys,
            order,
            bounds,
            row_offsets: parts.row_offsets,
            rows: parts.rows,
        })
    }

    /// Items held.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// `hash(type, value)` of every item in sending order; the raw values are wiped.
    pub(crate) fn hash_all_with<T, F>(&mut self, hash: F) -> Vec<T>
    where
        T: Send,
        F: Fn(&str, &[u8]) -> T + Sync,
    {
        let types = &self.types;
        let hashed = self
            .keys
            .par_iter()
            .map(|key| {
                let (t, value) = split_key(key);
                // Type indices were checked in `new`.
                let id_type = types.get(usize::from(t)).map_or("", String::as_str);
                hash(id_type, value)
            })
            .collect();
        for key in &mut self.keys {
            key.zeroize();
        }
        self.keys = Vec::new();
        hashed
    }

    /// The rows of the item at sending position `pos`.
    pub(crate) fn rows_at(&self, pos: usize) -> &[u64] {
        let Some(&d) = self.order.get(pos) else {
            return &[];
        };
        let d = d as usize;
        match (self.row_offsets.get(d), self.row_offsets.get(d + 1)) {
            (Some(&a), Some(&b)) => self.rows.get(a..b).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The agreed group of the item at sending position `pos`.
    pub(crate) fn group_of(&self, pos: usize) -> Option<usize> {
        self.bounds.iter().position(|r| r.contains(&pos))
    }

    /// Matched items per agreed group, from matched sending positions.
    pub(crate) fn per_group(&self, positions: impl Iterator<Item = usize>) -> Vec<u64> {
        let mut counts = vec![0u64; self.bounds.len()];
        for pos in positions {
            if let Some(g) = self.bounds.iter().position(|r| r.contains(&pos))
                && let Some(c) = counts.get_mut(g)
            {
                *c += 1;
            }
        }
        counts
    }
}

impl Drop for OwnItems {
    fn drop(&mut self) {
        for key in &mut self.keys {
            key.zeroize();
        }
    }
}

/// The outcome of a side that learns nothing (yet): sizes and per-type counts.
pub(crate) fn outcome_base(config: &SessionConfig, cmp_len: usize) -> Outcome {
    Outcome {
        role: config.role,
        mode: config.mode,
        local_count: config.local_count,
        peer_count: config.peer_count,
        comparison_len: cmp_len,
        result: MatchResult::NotRevealed,
        per_type: config
            .groups
            .iter()
            .map(|g| TypeMatches {
                id_type: g.id_type.clone(),
                local: g.local,
                peer: g.peer,
                matched: None,
            })
            .collect(),
        labels: None,
    }
}
