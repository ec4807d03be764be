//! What a session ends with: the [`Outcome`], what this side learned
//! ([`MatchResult`]), and the matched rows with their shared [`MatchId`]s. The same
//! for every protocol.

use std::fmt;

use sha2::{Digest, Sha512};
use zeroize::Zeroize;

use crate::{Mode, Role};

/// Versioned label of the match-ID hash.
pub const MATCH_ID_LABEL: &[u8] = b"blindmatch/v1/psi/match-id";

/// Versioned label of the match-ID hash of an ECDH session in which both sides learn
/// ([`MatchId::derive_at_position`]).
pub const MATCH_ID_BOTH_LABEL: &[u8] = b"blindmatch/v1/psi/match-id-both";

/// A shared identifier for one matched value: `SHA-512(MATCH_ID_LABEL ‖ context ‖
/// k_a·k_b·H(x))` truncated to 32 bytes, or, when both sides of an ECDH session learn,
/// `SHA-512(MATCH_ID_BOTH_LABEL ‖ context ‖ u64be(j))` truncated to 32 bytes, with `j`
/// the value's position in the second learner's sending order. Both learners derive
/// the same ID for the same value; IDs from different sessions are unrelated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatchId(pub [u8; 32]);

impl MatchId {
    /// The match ID of a value whose full doubly blinded encoding is `double_blinded`
    /// in the session with this `context`.
    #[must_use]
    pub fn derive(context: &[u8; 32], double_blinded: &[u8; 32]) -> MatchId {
        MatchId::hash(MATCH_ID_LABEL, context, double_blinded)
    }

    /// The match ID of the value at `position` of the second learner's sending order,
    /// in an ECDH session with this `context` in which both sides learn: both sides
    /// know the position of every match (the second learner its own, the first from
    /// comparing), so no pairing of the two sides' items needs to cross the wire
    /// (`docs/protocol.md`, "Match IDs").
    #[must_use]
    pub fn derive_at_position(context: &[u8; 32], position: u64) -> MatchId {
        MatchId::hash(MATCH_ID_BOTH_LABEL, context, &position.to_be_bytes())
    }

    fn hash(label: &[u8], context: &[u8; 32], input: &[u8]) -> MatchId {
        let digest = Sha512::new()
            .chain_update(label)
            .chain_update(context)
            .chain_update(input)
            .finalize();
        let mut id = [0u8; 32];
        id.copy_from_slice(digest.get(..32).unwrap_or_default());
        MatchId(id)
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for MatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// One of our rows whose value the peer also holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Match {
    /// The caller's row reference.
    pub row: u64,
    /// The shared match ID of the value.
    pub match_id: MatchId,
}

/// What this party learned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchResult {
    /// This party does not learn the result; it knows only the two sizes.
    NotRevealed,
    /// Cardinality mode: the number of distinct values both sides hold.
    Cardinality {
        /// Distinct matched values.
        matched: u64,
    },
    /// Intersection mode: our matched rows.
    Intersection {
        /// Distinct matched values (what a cardinality session would report).
        matched: u64,
        /// Every row carrying a matched value, sorted by row (then match ID).
        matches: Vec<Match>,
    },
}

/// The end result of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Our role.
    pub role: Role,
    /// The session's mode.
    pub mode: Mode,
    /// Our distinct item count.
    pub local_count: u64,
    /// The peer's distinct item count.
    pub peer_count: u64,
    /// Bytes per comparison value used.
    pub comparison_len: usize,
    /// What we learned.
    pub result: MatchResult,
    /// Per identifier type, in the agreed priority order, when the session agreed
    /// its sets type by type; empty otherwise.
    pub per_type: Vec<TypeMatches>,
    /// Labelled sessions, the learner: the values the other side released for our
    /// matched rows. `None` otherwise.
    pub labels: Option<ReceivedLabels>,
}

/// What a labelled session's learner received: the released columns, and for each
/// of our matched rows each label set the other side holds for that identifier.
///
/// The values are the partner's data: `Debug` shows only counts.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedLabels {
    /// The released column names, in the order of each row's values.
    pub columns: Vec<String>,
    /// Each released column's agreed longest value in bytes (the padding length),
    /// as the releasing side declared it in its hello.
    pub max_bytes: Vec<u32>,
    /// One entry per (our matched row, partner label set), sorted by row.
    pub rows: Vec<LabelledRow>,
}

impl fmt::Debug for ReceivedLabels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedLabels")
            .field("columns", &self.columns)
            .field("max_bytes", &self.max_bytes)
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// One label set received for one of our matched rows.
#[derive(Clone, PartialEq, Eq)]
pub struct LabelledRow {
    /// Our row reference.
    pub row: u64,
    /// The match ID of the matched value (this side's own: the other side learns
    /// nothing in a labelled session).
    pub match_id: MatchId,
    /// One value per released column, unpadded.
    pub values: Vec<Vec<u8>>,
}

impl Drop for LabelledRow {
    /// The partner's released values: wiped when the row is dropped.
    fn drop(&mut self) {
        for v in &mut self.values {
            v.zeroize();
        }
    }
}

impl fmt::Debug for LabelledRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabelledRow")
            .field("row", &self.row)
            .field("values", &self.values.len())
            .finish_non_exhaustive()
    }
}

/// One identifier type's counts in a session that agreed its sets type by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMatches {
    /// The identifier type label (a composite rule's fields joined by `+`).
    pub id_type: String,
    /// Our distinct items of this type.
    pub local: u64,
    /// The peer's declared distinct items of this type.
    pub peer: u64,
    /// Distinct matched values of this type, when we learn.
    pub matched: Option<u64>,
}

impl Outcome {
    /// Matched rows, empty unless this is an intersection result.
    #[must_use]
    pub fn matches(&self) -> &[Match] {
        match &self.result {
            MatchResult::Intersection { matches, .. } => matches,
            _ => &[],
        }
    }

    /// Distinct matched values, if this party learned anything.
    #[must_use]
    pub fn matched_count(&self) -> Option<u64> {
        match &self.result {
            MatchResult::Intersection { matched, .. } | MatchResult::Cardinality { matched } => {
                Some(*matched)
            }
            MatchResult::NotRevealed => None,
        }
    }
}
