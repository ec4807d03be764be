#![doc = include_str!("../README.md")]
//! blindmatch-psi: the protocol core, sans-IO. See the crate README above.

/// The curve library, re-exported so that benchmarks and callers use the exact version
/// (and backend) this crate was built with.
pub use curve25519_dalek;

mod config;
pub mod ecdh;
mod error;
mod items;
pub mod labelled;
pub(crate) mod osn;
mod outcome;
pub mod protocol;
pub mod rr22;
pub mod silent;
pub mod vole;

pub use config::{
    DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, MAX_SET_SIZE, MIN_COMPARISON_LEN, Mode, POINT_LEN, Reveal,
    Role, STATISTICAL_SECURITY_BITS, SessionConfig, TypeGroup, batch_count, comparison_len,
};
pub use ecdh::hash::{self, MAX_TYPE_LEN, validate_identifier_type};
pub use ecdh::{
    ECDH_PARAMS, ECDH_PROTOCOL_ID, EcdhSetup, MESSAGE_HEADER_LEN, MESSAGE_KIND_BLINDED,
    MESSAGE_KIND_COUNTS, MESSAGE_KIND_MATCHES, MESSAGE_KIND_REBLINDED, Message, Party, Progress,
};
pub use error::{MessageKind, Pending, PsiError};
pub use items::{MAX_IDENTIFIER_TYPES, PreparedSet};
pub use labelled::{
    LABELLED_PROTOCOL_ID, LabelColumn, LabelTable, LabelledSetup, MAX_LABEL_BYTES,
    MAX_LABEL_COLUMNS, MAX_LABELS_PER_ID,
};
#[doc(hidden)]
pub use osn::fuzz as osn_fuzz;
pub use outcome::{
    LabelledRow, MATCH_ID_BOTH_LABEL, MATCH_ID_LABEL, Match, MatchId, MatchResult, Outcome,
    ReceivedLabels, TypeMatches,
};
pub use protocol::{
    Outgoing, ParamsCheck, Protocol, ProtocolSetup, Stage, StageItems, equal_params,
};
