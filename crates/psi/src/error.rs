//! The crate's one error type, [`PsiError`], and the small enums its variants carry.
//!
//! Variants name the batch and index where a peer message went wrong, never an
//! identifier value, a point or key bytes.

use std::fmt;

/// The two kinds of protocol message, used to say which one an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A batch of the sender's own singly blinded points.
    Blinded,
    /// A batch of doubly blinded values returned to a learner.
    Reblinded,
    /// Labelled mode: a batch of the sender's (tag, encrypted label set) entries.
    LabelEntries,
    /// Both learn, intersection: the first learner's matched positions and indices.
    Matches,
    /// Both learn, cardinality: the first learner's counts per type group.
    Counts,
    /// VOLE protocol: the OPRF receiver's base-OT point and OKVS seed.
    VoleStart,
    /// VOLE protocol: a chunk of the OPRF sender's base-OT points.
    VoleChoices,
    /// VOLE protocol: a chunk of the OPRF receiver's masked OKVS columns.
    VoleMasked,
    /// VOLE protocol: a batch of the OPRF sender's truncated outputs.
    VoleOutputs,
    /// VOLE protocol, reveal to both: the matched positions the learner reports.
    VoleMatched,
    /// Silent VOLE (`vole-rr22-silent`): a chunk of the correlated-OT columns.
    VoleColumns,
    /// Silent VOLE (`vole-rr22-silent`): a chunk of the GGM tree messages.
    VoleTrees,
    /// Oblivious shuffle: the permuter's base-OT point.
    ShuffleStart,
    /// Oblivious shuffle: the holder's 128 base-OT points.
    ShuffleChoices,
    /// Oblivious shuffle: a chunk of the permuter's input shares.
    ShuffleInputs,
    /// Oblivious shuffle: a chunk of the correlated-OT columns.
    ShuffleColumns,
    /// Oblivious shuffle: a chunk of the holder's switch corrections.
    ShuffleCorrections,
    /// Silent VOLE, cardinality: a chunk of the programmed OKVS.
    VoleTable,
    /// Silent VOLE, cardinality: a message of the oblivious shuffle.
    VoleShuffle,
    /// Silent VOLE, cardinality: a batch of shuffled comparison masks.
    VoleMasks,
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageKind::Blinded => "blinded",
            MessageKind::Reblinded => "reblinded",
            MessageKind::LabelEntries => "label entries",
            MessageKind::Matches => "matches",
            MessageKind::Counts => "counts",
            MessageKind::VoleStart => "vole start",
            MessageKind::VoleChoices => "vole base-OT choices",
            MessageKind::VoleMasked => "vole masked columns",
            MessageKind::VoleOutputs => "vole outputs",
            MessageKind::VoleMatched => "vole matched positions",
            MessageKind::VoleColumns => "vole correlated-OT columns",
            MessageKind::VoleTrees => "vole tree sums",
            MessageKind::ShuffleStart => "shuffle start",
            MessageKind::ShuffleChoices => "shuffle base-OT choices",
            MessageKind::ShuffleInputs => "shuffle input shares",
            MessageKind::ShuffleColumns => "shuffle correlated-OT columns",
            MessageKind::ShuffleCorrections => "shuffle corrections",
            MessageKind::VoleTable => "vole programmed table",
            MessageKind::VoleShuffle => "vole shuffle",
            MessageKind::VoleMasks => "vole comparison masks",
        })
    }
}

/// Which part of the protocol was still outstanding when [`crate::Party::finish`] was
/// called too early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pending {
    /// Not all of our own blinded batches were taken with `poll_transmit`.
    OwnBatches {
        /// Batches handed out so far.
        sent: u32,
        /// Batches in the whole set.
        total: u32,
    },
    /// Not all of the peer's blinded batches have arrived.
    PeerBatches {
        /// Batches received so far.
        received: u32,
        /// Batches the peer's declared size implies.
        total: u32,
    },
    /// Responses for the peer are computed but not yet taken with `poll_transmit`.
    Responses {
        /// Messages still queued.
        queued: usize,
    },
    /// VOLE protocol, both learn: not all of the learner's matched-position
    /// messages have arrived.
    Report {
        /// Messages received so far.
        received: u32,
        /// Messages expected (1 until the first one names the total).
        total: u32,
    },
    /// Not all of our values have come back doubly blinded.
    Reblinded {
        /// Batches received so far.
        received: u32,
        /// Batches expected.
        total: u32,
    },
    /// Both learn: the first learner's result has not (all) arrived.
    PeerResult {
        /// Result messages received so far.
        received: u32,
        /// Result messages expected.
        total: u32,
    },
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pending::OwnBatches { sent, total } => {
                write!(f, "own blinded batches sent: {sent} of {total}")
            }
            Pending::PeerBatches { received, total } => {
                write!(f, "peer blinded batches received: {received} of {total}")
            }
            Pending::Responses { queued } => {
                write!(f, "{queued} response message(s) not yet transmitted")
            }
            Pending::Report { received, total } => {
                write!(
                    f,
                    "matched-position reports received: {received} of {total}"
                )
            }
            Pending::Reblinded { received, total } => {
                write!(f, "reblinded batches received: {received} of {total}")
            }
            Pending::PeerResult { received, total } => {
                write!(
                    f,
                    "the peer's result messages received: {received} of {total}"
                )
            }
        }
    }
}

/// Everything that can go wrong in `blindmatch-psi`.
///
/// Errors caused by the peer (`InvalidPoint` … `MessageNotAllowed`) are final: the
/// party refuses every later call with [`PsiError::Aborted`], and the session must be
/// abandoned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PsiError {
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed")]
    Rng(#[source] rand::rngs::SysError),

    /// The random generator produced a zero scalar (a broken generator, in practice).
    #[error("the random generator produced a zero scalar")]
    BadRandomness,

    /// An identifier type label is empty, too long or uses characters outside
    /// `[A-Za-z0-9._+-]`.
    #[error("invalid identifier type label: {reason}")]
    InvalidIdentifierType {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The protocol does not run this mode.
    #[error("this protocol does not run {mode} mode")]
    UnsupportedMode {
        /// The mode's name.
        mode: &'static str,
    },

    /// The per-type counts of a [`crate::SessionConfig`] disagree with its set sizes
    /// or with the set the party holds.
    #[error("per-type session counts are inconsistent: {reason}")]
    GroupsMismatch {
        /// What disagrees.
        reason: &'static str,
    },

    /// More distinct identifier types than [`crate::MAX_IDENTIFIER_TYPES`].
    #[error("too many distinct identifier types (at most {max})")]
    TooManyIdentifierTypes {
        /// The limit.
        max: usize,
    },

    /// An item with an empty normalised value; it would match every empty value of the
    /// peer, so it is refused rather than silently hashed.
    #[error("row {row}: empty identifier value")]
    EmptyValue {
        /// The caller's row reference.
        row: u64,
    },

    /// A set (ours or the peer's declared one) is larger than [`crate::MAX_SET_SIZE`],
    /// or a receiver's declared set is larger than the silent VOLE's
    /// [`crate::rr22::params::MAX_RECEIVER_ITEMS`].
    #[error("set of {count} distinct items exceeds the limit of {max}")]
    SetTooLarge {
        /// The size.
        count: u64,
        /// The limit.
        max: u64,
    },

    /// `batch_size` is zero or larger than [`crate::MAX_BATCH_SIZE`].
    #[error("batch size {batch_size} is outside 1..={max}")]
    InvalidBatchSize {
        /// The configured batch size.
        batch_size: u32,
        /// The limit.
        max: u32,
    },

    /// `SessionConfig::local_count` differs from the prepared set's distinct count.
    #[error("configured local count {configured} differs from the prepared set's {actual}")]
    LocalCountMismatch {
        /// What the configuration says.
        configured: u64,
        /// What the prepared set holds.
        actual: u64,
    },

    /// `expand_message_xmd` was asked for something RFC 9380 does not allow (empty or
    /// over-long DST, output too long).
    #[error("invalid expand_message_xmd parameters: {reason}")]
    InvalidHashParameters {
        /// Which parameter.
        reason: &'static str,
    },

    /// A point from the peer is not a canonical ristretto255 encoding.
    #[error("{kind} batch {batch}, index {index}: invalid ristretto255 point encoding")]
    InvalidPoint {
        /// Message kind.
        kind: MessageKind,
        /// Batch number.
        batch: u32,
        /// Position within the batch.
        index: u32,
    },

    /// A batch holds a different number of bytes than its position implies.
    #[error("{kind} batch {batch}: payload of {actual} bytes, expected {expected}")]
    WrongBatchLength {
        /// Message kind.
        kind: MessageKind,
        /// Batch number.
        batch: u32,
        /// Expected payload length in bytes.
        expected: usize,
        /// Received payload length in bytes.
        actual: usize,
    },

    /// A batch number that was already received.
    #[error("{kind} batch {batch} received twice")]
    DuplicateBatch {
        /// Message kind.
        kind: MessageKind,
        /// Batch number.
        batch: u32,
    },

    /// A batch arrived ahead of its predecessors.
    #[error("{kind} batch {got} arrived out of order, expected batch {expected}")]
    BatchOutOfOrder {
        /// Message kind.
        kind: MessageKind,
        /// The batch that should have come next.
        expected: u32,
        /// The batch that came.
        got: u32,
    },

    /// A batch beyond what the declared set size allows.
    #[error("{kind} batch {batch} exceeds the declared size of {declared} items")]
    TooManyItems {
        /// Message kind.
        kind: MessageKind,
        /// Batch number.
        batch: u32,
        /// The declared size the batch would exceed.
        declared: u64,
    },

    /// Doubly blinded values for a batch of ours that we have not sent yet (in
    /// cardinality mode: before we sent all our batches).
    #[error("reblinded batch {batch} answers a batch that was never sent")]
    ReblindedNotSent {
        /// Batch number.
        batch: u32,
    },

    /// A message kind this party must never receive in the agreed mode and reveal.
    #[error("{kind} message not allowed: {reason}")]
    MessageNotAllowed {
        /// Message kind.
        kind: MessageKind,
        /// Why.
        reason: &'static str,
    },

    /// Both learn: the first learner's result contradicts the session (a bit beyond
    /// the batch, an index outside its set or in another type group, an index twice,
    /// a count no set allows, counts for another number of groups, or a result sent
    /// before it could have been known). The receiver cannot check that a match is
    /// real; it refuses only what no honest first learner sends.
    #[error("{kind} batch {batch}: inconsistent result from the peer: {reason}")]
    InconsistentResult {
        /// Message kind.
        kind: MessageKind,
        /// Batch number.
        batch: u32,
        /// What contradicts the session.
        reason: &'static str,
    },

    /// [`crate::Party::finish`] was called before the protocol completed.
    #[error("protocol not complete: {pending}")]
    Incomplete {
        /// What is still outstanding.
        pending: Pending,
    },

    /// An encoded message could not be decoded.
    #[error("malformed message: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Labelled mode: a row's label value is longer than its column's agreed
    /// maximum. Values are never cut: the caller must fix the input or the limit.
    #[error("row {row}: the value of label column {column} is longer than its maximum")]
    LabelTooLong {
        /// The caller's row reference.
        row: u64,
        /// The column's position in the released column list.
        column: usize,
    },

    /// Labelled mode: a row's label values do not have one value per column.
    #[error("row {row}: {found} label value(s), expected one per column ({expected})")]
    LabelColumnCount {
        /// The caller's row reference.
        row: u64,
        /// Columns released.
        expected: usize,
        /// Values given.
        found: usize,
    },

    /// Labelled mode: label values for a row that already has some.
    #[error("row {row}: label values given twice")]
    DuplicateLabelRow {
        /// The caller's row reference.
        row: u64,
    },

    /// Labelled mode: a row of the sender's set has no entry in its label table.
    #[error("row {row}: no label values for this row")]
    MissingLabels {
        /// The caller's row reference.
        row: u64,
    },

    /// Labelled mode: some distinct identifier of the sender has more rows (label
    /// sets) than the agreed cap on label sets per identifier.
    #[error(
        "an identifier has {found} rows with labels, more than the cap of {max} per identifier"
    )]
    TooManyLabelsPerId {
        /// The largest number of rows of one identifier.
        found: u64,
        /// The cap.
        max: u32,
    },

    /// Labelled mode: a cap on label sets per identifier outside `1..=max`.
    #[error("max labels per identifier must be within 1..={max}, not {value}")]
    InvalidLabelsPerId {
        /// The value given.
        value: u32,
        /// [`crate::labelled::MAX_LABELS_PER_ID`].
        max: u32,
    },

    /// Labelled mode: a released column list that cannot be used (ours or the
    /// peer's).
    #[error("invalid label columns: {reason}")]
    InvalidLabelColumns {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Labelled mode: the peer's hello parameters do not go with ours.
    #[error("labelled parameters refused: {reason}")]
    LabelledParams {
        /// Why, in words for both users (no secret in it).
        reason: String,
    },

    /// Labelled mode: the sides' learning roles do not fit the protocol.
    #[error("in labelled mode only the side receiving labels learns: {reason}")]
    LabelledRoles {
        /// What is wrong.
        reason: &'static str,
    },

    /// Labelled mode: an encrypted label set failed authentication (altered
    /// ciphertext, wrong key or wrong session).
    #[error(
        "label entries batch {batch}, index {index}: the encrypted label set does not authenticate"
    )]
    LabelDecryption {
        /// Batch number.
        batch: u32,
        /// Position within the batch.
        index: u32,
    },

    /// Labelled mode: an authenticated label set whose layout is wrong (count,
    /// lengths or padding): the peer does not follow the protocol.
    #[error("label entries batch {batch}, index {index}: malformed label set: {reason}")]
    MalformedLabels {
        /// Batch number.
        batch: u32,
        /// Position within the batch.
        index: u32,
        /// What is wrong.
        reason: &'static str,
    },

    /// VOLE protocol: our own set could not be encoded into an OKVS with any of the
    /// seeds tried (each attempt fails with probability below `2^-40`; a set that
    /// fails them all holds duplicate hashes, which cannot happen for distinct items
    /// short of a hash collision).
    #[error("could not encode the set into the OKVS after {attempts} attempts")]
    OkvsEncoding {
        /// Seeds tried.
        attempts: u32,
    },

    /// Cardinality mode of the silent-VOLE protocol: the learner's items did not fit
    /// its cuckoo bins under any of the seeds tried (each fails with probability
    /// below `2^-40`; distinct items cannot fail them all short of a hash collision).
    #[error("could not place the set in its cuckoo bins after {attempts} attempts")]
    BinPlacement {
        /// Seeds tried.
        attempts: u32,
    },

    /// VOLE protocol: a position in the learner's report that is out of range or
    /// not strictly increasing.
    #[error("vole matched message {index}: position {position} is out of range or out of order")]
    BadMatchedPosition {
        /// Message number.
        index: u32,
        /// The position reported.
        position: u32,
    },

    /// An earlier call failed; the session cannot continue.
    #[error("session aborted after an earlier error")]
    Aborted,
}
