//! The match pipeline: one party of a PSI session with a partner over mutually
//! authenticated TLS, in three steps that `blindmatch match`, `blindmatch demo` (two
//! parties in one process) and library callers share:
//! 1. [`prepare`]: read the CSV, normalise the identifier columns (rejects are
//!    counted and never sent), build the de-duplicated set: one domain-separated
//!    subset per matching rule (a rule's label goes into the hash to the group);
//! 2. [`Endpoint::run`]: listen or connect, handshake, PSI (`blindmatch-net`);
//! 3. [`finish`]: write the matched rows of *our* input (kept columns + `match_id`)
//!    atomically with mode 0600 when this side learns rows, and the receipt always.
//!
//! Nothing is written before the session succeeded, so a refused, failed or killed
//! session leaves no output behind. Nothing derived from a cell value reaches a log
//! line, an event, an error or the receipt; the output file holds only our own kept
//! columns, row numbers and match IDs.

mod buckets;
mod config;
mod endpoint;
mod failure;
mod finish;
mod labels;
pub mod partition;
mod prepare;
mod protocol;
mod spill;

pub use buckets::{BucketProgress, BucketRun, DUMMY_ROW, PartitionRun, run_partitioned};
pub use config::{
    Address, DEFAULT_MAX_LABELS_PER_ID, DEFAULT_MAX_PEER_FACTOR, DEFAULT_MAX_PEER_FLOOR,
    DEFAULT_MIN_PEER_SET, DEFAULT_RELEASE_MAX_BYTES, LabelConfig, MATCH_ID_COLUMN,
    MATCHED_RULES_COLUMN, MAX_LABELS_PER_ID_CAP, MAX_PEER_SET_CEILING, MAX_RELEASE_BYTES,
    MAX_RELEASED_COLUMNS, PEER_COLUMN_PREFIX, PartyConfig, PsiProtocol, ROW_COLUMN,
    RULE_MATCH_ID_PREFIX, default_max_peer_set, load_transport, profile_for_type, session_rules,
};
pub use endpoint::Endpoint;
pub use failure::{full_text, session_failure};
pub use finish::{Finished, RunClock, finish};
pub use labels::ReleasedValues;
pub use prepare::{Prepared, prepare, prepare_spilled, row_ref, split_row_ref};
pub use protocol::protocol_setup;
