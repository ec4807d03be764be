#![doc = include_str!("../README.md")]
//! blindmatch-psi: the protocol core, sans-IO. See the crate README above.

/// The curve library, re-exported so that benchmarks and callers use the exact version
/// (and backend) this crate was built with.
pub use curve25519_dalek;

mod config;
mod error;
pub mod hash;
mod items;
mod message;
mod party;

pub use config::{
    DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, MAX_SET_SIZE, MIN_COMPARISON_LEN, Mode, POINT_LEN, Reveal,
    Role, STATISTICAL_SECURITY_BITS, SessionConfig, batch_count, comparison_len,
};
pub use error::{MessageKind, Pending, PsiError};
pub use hash::{MAX_TYPE_LEN, validate_identifier_type};
pub use items::{MAX_IDENTIFIER_TYPES, PreparedSet};
pub use message::{MESSAGE_HEADER_LEN, Message};
pub use party::{MATCH_ID_LABEL, Match, MatchId, MatchResult, Outcome, Party, Progress};
