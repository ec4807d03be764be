//! Session parameters both parties agreed on before the protocol starts: roles, mode,
//! who learns, batch size, session context and declared set sizes, plus the
//! comparison-length rule derived from the sizes.

use serde::{Deserialize, Serialize};

use crate::PsiError;

/// Largest accepted set (distinct items per side). Positions are kept as `u32`.
pub const MAX_SET_SIZE: u64 = u32::MAX as u64;

/// Largest accepted batch size; a `Blinded` message then carries at most 2 MiB of
/// points (see [`crate::Message::max_encoded_len`]).
pub const MAX_BATCH_SIZE: u32 = 1 << 16;

/// A batch size that keeps both cores busy without holding much in flight.
pub const DEFAULT_BATCH_SIZE: u32 = 4096;

/// Statistical security parameter: the probability that any two distinct items are
/// reported as a match stays at or below `2^-STATISTICAL_SECURITY_BITS`.
pub const STATISTICAL_SECURITY_BITS: u32 = 40;

/// Shortest comparison value sent, in bytes, whatever the set sizes.
pub const MIN_COMPARISON_LEN: usize = 8;

/// Full length of a compressed ristretto255 point.
pub const POINT_LEN: usize = 32;

/// Which end of the session this party is. The network layer maps its connector and
/// listener onto these; the protocol itself is symmetric apart from who learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The side that opened the session.
    Initiator,
    /// The side that accepted it.
    Responder,
}

impl Role {
    /// The other role.
    #[must_use]
    pub fn peer(self) -> Role {
        match self {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        }
    }
}

/// What the learning side(s) find out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Which of its own rows matched, with a shared match ID per matched value.
    Intersection,
    /// Only how many distinct values matched.
    Cardinality,
    /// The learner gets its matched rows and, for each, the values of the columns
    /// the other side released for its matching rows; the releasing side learns
    /// nothing but the sizes. Run by a labelled protocol only.
    Labelled,
}

impl Mode {
    /// Every mode this version runs.
    pub const ALL: [Mode; 3] = [Mode::Intersection, Mode::Cardinality, Mode::Labelled];

    /// The mode's name on the wire and in receipts (`intersection`, `cardinality`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mode::Intersection => "intersection",
            Mode::Cardinality => "cardinality",
            Mode::Labelled => "labelled",
        }
    }

    /// The mode of a name, `None` for a name this version does not know.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Which roles learn the result; the other learns only the two set sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reveal {
    /// Only the initiator learns.
    Initiator,
    /// Only the responder learns.
    Responder,
    /// Both learn.
    Both,
}

impl Reveal {
    /// The role that gets doubly blinded values back and compares, for sets of
    /// `initiator` and `responder` distinct items: the learner, or, when both learn,
    /// the side with fewer items (the responder on a tie), which then sends the other
    /// its result ([`SessionConfig::first_learner`]).
    #[must_use]
    pub fn first_learner(self, initiator: u64, responder: u64) -> Role {
        match self {
            Reveal::Initiator => Role::Initiator,
            Reveal::Responder => Role::Responder,
            Reveal::Both if initiator < responder => Role::Initiator,
            Reveal::Both => Role::Responder,
        }
    }

    /// Whether `role` learns the result under this setting.
    #[must_use]
    pub fn learns(self, role: Role) -> bool {
        matches!(
            (self, role),
            (Reveal::Both, _)
                | (Reveal::Initiator, Role::Initiator)
                | (Reveal::Responder, Role::Responder)
        )
    }
}

/// Everything a [`crate::Party`] needs besides its items. Both sides must hold the same
/// `mode`, `reveal`, `batch_size` and `context`, opposite `role`s, and each other's
/// counts swapped; agreeing on them is the handshake's job (the network layer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// This party's role.
    pub role: Role,
    /// Intersection or cardinality.
    pub mode: Mode,
    /// Who learns.
    pub reveal: Reveal,
    /// Items per message, `1..=MAX_BATCH_SIZE`.
    pub batch_size: u32,
    /// Session context: a hash over the handshake (both sides' fresh nonces included),
    /// so that hashes, blinded values and match IDs are unrelated across sessions.
    pub context: [u8; 32],
    /// Our distinct item count ([`crate::PreparedSet::len`]).
    pub local_count: u64,
    /// The peer's declared distinct item count.
    pub peer_count: u64,
    /// Per identifier type, in the agreed priority order, both sides' declared
    /// distinct counts, when the session agreed them type by type (several rules);
    /// empty for a session over one undivided set. With groups, each side sends its
    /// items grouped in this order (shuffled within a group), cardinality responses
    /// are shuffled within the peer's groups, and the learner gets per-type counts.
    pub groups: Vec<TypeGroup>,
    /// The peer's protocol parameters, as its hello carried them (for protocols
    /// whose two sides declare different parameters, such as the labelled one,
    /// where only the releasing side names its columns). Checked by the protocol's
    /// [`crate::ProtocolSetup::params_check`] before the session starts.
    pub peer_params: Vec<u8>,
}

/// One identifier type of a session that agreed counts type by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeGroup {
    /// The identifier type label (for a composite rule, its fields joined by `+`).
    pub id_type: String,
    /// Our distinct items of this type.
    pub local: u64,
    /// The peer's declared distinct items of this type.
    pub peer: u64,
}

impl SessionConfig {
    /// Whether this party learns the result.
    #[must_use]
    pub fn i_learn(&self) -> bool {
        self.reveal.learns(self.role)
    }

    /// Whether the peer learns the result (and so needs our doubly blinded values).
    #[must_use]
    pub fn peer_learns(&self) -> bool {
        self.reveal.learns(self.role.peer())
    }

    /// The role that gets doubly blinded values back and compares: the learner, or,
    /// when both learn, the side with fewer declared items (the responder on a tie).
    /// Under [`Reveal::Both`] that side then sends the other its result (matched
    /// positions and indices, or counts per type), so the comparison values cross
    /// only one way; letting the smaller set learn first sends the fewer values and
    /// the shorter indices. Both sides compute the same from the agreed sizes.
    #[must_use]
    pub fn first_learner(&self) -> Role {
        let (initiator, responder) = match self.role {
            Role::Initiator => (self.local_count, self.peer_count),
            Role::Responder => (self.peer_count, self.local_count),
        };
        self.reveal.first_learner(initiator, responder)
    }

    /// Whether this party receives doubly blinded values and compares
    /// ([`SessionConfig::first_learner`]).
    #[must_use]
    pub fn i_compare(&self) -> bool {
        self.first_learner() == self.role
    }

    /// Whether this party sends doubly blinded values to the peer.
    #[must_use]
    pub fn peer_compares(&self) -> bool {
        self.first_learner() != self.role
    }

    /// Bytes per comparison value for these sizes: see [`comparison_len`].
    #[must_use]
    pub fn comparison_len(&self) -> usize {
        comparison_len(self.local_count, self.peer_count)
    }

    /// Checks the limits on sizes and batch size.
    ///
    /// # Errors
    ///
    /// [`PsiError::InvalidBatchSize`] or [`PsiError::SetTooLarge`].
    pub fn validate(&self) -> Result<(), PsiError> {
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return Err(PsiError::InvalidBatchSize {
                batch_size: self.batch_size,
                max: MAX_BATCH_SIZE,
            });
        }
        for count in [self.local_count, self.peer_count] {
            if count > MAX_SET_SIZE {
                return Err(PsiError::SetTooLarge {
                    count,
                    max: MAX_SET_SIZE,
                });
            }
        }
        if !self.groups.is_empty() {
            let sum = |f: fn(&TypeGroup) -> u64| {
                self.groups
                    .iter()
                    .try_fold(0u64, |acc, g| acc.checked_add(f(g)))
            };
            if sum(|g| g.local) != Some(self.local_count)
                || sum(|g| g.peer) != Some(self.peer_count)
            {
                return Err(PsiError::GroupsMismatch {
                    reason: "per-type counts do not add up to the set sizes",
                });
            }
            for (i, g) in self.groups.iter().enumerate() {
                if self
                    .groups
                    .iter()
                    .skip(i + 1)
                    .any(|h| h.id_type == g.id_type)
                {
                    return Err(PsiError::GroupsMismatch {
                        reason: "an identifier type is listed twice",
                    });
                }
            }
        }
        Ok(())
    }
}

/// Bytes of each doubly blinded point kept for comparison when the two sides hold `n`
/// and `m` distinct items.
///
/// Treating doubly blinded points as uniform, two distinct items collide on `L` bytes
/// with probability `2^(-8L)`; over all `n·m` pairs the chance of any false match is at
/// most `n·m·2^(-8L)`. `L = ceil((40 + ceil(log2(n·m))) / 8)` is the least `L` with
/// `n·m·2^(-8L) ≤ 2^-40`; it is raised to [`MIN_COMPARISON_LEN`] (8 bytes, so tiny
/// sessions keep a wide margin for at most 3 extra bytes per item) and capped at the
/// full 32-byte point.
#[must_use]
pub fn comparison_len(n: u64, m: u64) -> usize {
    let pairs = u128::from(n) * u128::from(m);
    let log2_pairs = if pairs <= 1 {
        0
    } else {
        // ceil(log2(pairs)) for pairs >= 2
        128 - (pairs - 1).leading_zeros()
    };
    let bits = STATISTICAL_SECURITY_BITS + log2_pairs;
    let len = bits.div_ceil(8) as usize;
    len.clamp(MIN_COMPARISON_LEN, POINT_LEN)
}

/// Number of batches needed for `items` items at `batch_size` per batch.
#[must_use]
pub fn batch_count(items: u64, batch_size: u32) -> u32 {
    if batch_size == 0 {
        return 0;
    }
    u32::try_from(items.div_ceil(u64::from(batch_size))).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n·m·2^(-8L) ≤ 2^-40` ⇔ `n·m ≤ 2^(8L-40)`, checked in exact integers.
    fn bound_holds(n: u64, m: u64) -> bool {
        let l = comparison_len(n, m) as u32;
        let pairs = u128::from(n) * u128::from(m);
        let exp = 8 * l - STATISTICAL_SECURITY_BITS;
        exp >= 128 || pairs <= (1u128 << exp)
    }

    #[test]
    fn comparison_len_meets_the_false_match_bound() {
        let sizes = [
            0u64,
            1,
            2,
            3,
            255,
            256,
            257,
            1 << 12,
            (1 << 16) - 1,
            1 << 16,
            (1 << 16) + 1,
            1 << 20,
            1 << 24,
            1 << 30,
            MAX_SET_SIZE,
        ];
        for &n in &sizes {
            for &m in &sizes {
                assert!(bound_holds(n, m), "bound fails for n={n}, m={m}");
                let l = comparison_len(n, m);
                assert!((MIN_COMPARISON_LEN..=POINT_LEN).contains(&l));
            }
        }
    }

    #[test]
    fn comparison_len_is_minimal_above_the_floor() {
        // One byte less would break the bound whenever the floor is not what set L.
        for (n, m) in [(1u64 << 20, 1u64 << 20), (1 << 16, 1 << 16), (1 << 32, 3)] {
            let l = comparison_len(n, m) as u32;
            if l as usize > MIN_COMPARISON_LEN {
                let pairs = u128::from(n) * u128::from(m);
                assert!(pairs > 1u128 << (8 * (l - 1) - STATISTICAL_SECURITY_BITS));
            }
        }
    }

    #[test]
    fn comparison_len_known_values() {
        assert_eq!(comparison_len(0, 0), 8);
        assert_eq!(comparison_len(1 << 12, 1 << 12), 8); // 40 + 24 = 64 bits
        assert_eq!(comparison_len((1 << 12) + 1, 1 << 12), 9);
        assert_eq!(comparison_len(1 << 16, 1 << 16), 9); // 40 + 32 = 72 bits
        assert_eq!(comparison_len(1 << 20, 1 << 20), 10); // 40 + 40 = 80 bits
        assert_eq!(comparison_len(MAX_SET_SIZE, MAX_SET_SIZE), 13); // 40 + 64 = 104 bits
    }

    #[test]
    fn comparison_values_fit_the_sort_key() {
        assert!(comparison_len(MAX_SET_SIZE, MAX_SET_SIZE) <= crate::ecdh::compare::KEY_LEN);
    }

    #[test]
    fn batch_count_rounds_up() {
        assert_eq!(batch_count(0, 4), 0);
        assert_eq!(batch_count(1, 4), 1);
        assert_eq!(batch_count(4, 4), 1);
        assert_eq!(batch_count(5, 4), 2);
    }

    fn both(role: Role, local_count: u64, peer_count: u64) -> SessionConfig {
        SessionConfig {
            role,
            mode: Mode::Intersection,
            reveal: Reveal::Both,
            batch_size: 4,
            context: [0; 32],
            local_count,
            peer_count,
            groups: Vec::new(),
            peer_params: Vec::new(),
        }
    }

    #[test]
    fn the_smaller_side_learns_first_and_both_sides_agree() {
        for (i, r, first) in [
            (5, 4, Role::Responder),
            (4, 5, Role::Initiator),
            (7, 7, Role::Responder),
            (0, 0, Role::Responder),
        ] {
            let ci = both(Role::Initiator, i, r);
            let cr = both(Role::Responder, r, i);
            assert_eq!(ci.first_learner(), first);
            assert_eq!(cr.first_learner(), first);
            assert_ne!(ci.i_compare(), cr.i_compare());
            assert_eq!(ci.i_compare(), cr.peer_compares());
        }
        let mut one = both(Role::Initiator, 1, 9);
        one.reveal = Reveal::Responder;
        assert_eq!(one.first_learner(), Role::Responder);
        assert!(one.peer_compares() && !one.i_compare());
    }

    #[test]
    fn reveal_learners() {
        assert!(Reveal::Both.learns(Role::Initiator) && Reveal::Both.learns(Role::Responder));
        assert!(Reveal::Initiator.learns(Role::Initiator));
        assert!(!Reveal::Initiator.learns(Role::Responder));
        assert!(Reveal::Responder.learns(Role::Responder));
        assert!(!Reveal::Responder.learns(Role::Initiator));
    }
}
