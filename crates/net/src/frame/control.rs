//! Control messages after the hellos ([`Control`]: accept, abort, done) and the
//! machine-readable abort reasons ([`AbortCode`]), which keep unknown codes from a
//! newer peer instead of refusing them.

use serde::{Deserialize, Serialize};

/// Control messages after the hellos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    /// The sender accepts the peer's hello; `context` is its session context, which
    /// must equal the receiver's.
    Accept {
        /// SHA-256 session context over both hellos.
        context: [u8; 32],
    },
    /// The sender gives up; both sides report `code` and `reason`.
    Abort {
        /// Machine-readable reason.
        code: AbortCode,
        /// Human-readable reason, at most [`super::MAX_ABORT_REASON_LEN`] bytes, never
        /// data.
        reason: String,
    },
    /// The sender has finished the PSI and sent everything; a summary of what it
    /// sent in its direction before this frame.
    Done(DoneSummary),
}

/// What [`Control::Done`] carries: the sender's view of its own direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneSummary {
    /// Frames the sender wrote before this one.
    pub frames: u64,
    /// Bytes the sender wrote before this frame.
    pub bytes: u64,
    /// SHA-256 (labelled) over those bytes; the receiver compares it with its own.
    pub stream_hash: [u8; 32],
}

/// Machine-readable abort reasons. Unknown codes from a newer peer are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u16", into = "u16")]
#[non_exhaustive]
pub enum AbortCode {
    /// A malformed or unexpected frame.
    ProtocolViolation,
    /// Different protocol versions.
    VersionMismatch,
    /// Both sides claim the same role.
    RoleConflict,
    /// Different modes.
    ModeMismatch,
    /// The mode is outside the refusing side's allowed modes.
    ModeNotAllowed,
    /// Different reveal settings.
    RevealMismatch,
    /// Different identifier types.
    IdTypeMismatch,
    /// Different normalisation profiles.
    ProfileMismatch,
    /// The receiver's declared set is below the refusing side's minimum.
    PeerSetTooSmall,
    /// A declared set size or batch size beyond the limits.
    SizeLimit,
    /// The two sides derived different session contexts.
    ContextMismatch,
    /// The PSI state machine refused a peer message.
    PsiFailure,
    /// A read or write timed out.
    Timeout,
    /// The transcripts of the two sides differ.
    TranscriptMismatch,
    /// A local failure unrelated to the peer (I/O, internal).
    LocalFailure,
    /// A PSI protocol, mode or identifier type the refusing side does not run, or
    /// protocol parameters it does not accept.
    Unsupported,
    /// The receiver's declared set is above the refusing side's maximum.
    PeerSetTooLarge,
    /// The sender was stopped on purpose (its user pressed Ctrl-C, or its caller
    /// cancelled the session).
    Cancelled,
    /// A code this version does not know.
    Unknown(u16),
}

/// Every known code with its number and name, so the three conversions below cannot
/// drift apart.
const CODES: [(AbortCode, u16, &str); 18] = [
    (AbortCode::ProtocolViolation, 1, "protocol_violation"),
    (AbortCode::VersionMismatch, 2, "version_mismatch"),
    (AbortCode::RoleConflict, 3, "role_conflict"),
    (AbortCode::ModeMismatch, 4, "mode_mismatch"),
    (AbortCode::ModeNotAllowed, 5, "mode_not_allowed"),
    (AbortCode::RevealMismatch, 6, "reveal_mismatch"),
    (AbortCode::IdTypeMismatch, 7, "id_type_mismatch"),
    (AbortCode::ProfileMismatch, 8, "profile_mismatch"),
    (AbortCode::PeerSetTooSmall, 9, "peer_set_too_small"),
    (AbortCode::SizeLimit, 10, "size_limit"),
    (AbortCode::ContextMismatch, 11, "context_mismatch"),
    (AbortCode::PsiFailure, 12, "psi_failure"),
    (AbortCode::Timeout, 13, "timeout"),
    (AbortCode::TranscriptMismatch, 14, "transcript_mismatch"),
    (AbortCode::LocalFailure, 15, "local_failure"),
    (AbortCode::Unsupported, 16, "unsupported"),
    (AbortCode::PeerSetTooLarge, 17, "peer_set_too_large"),
    (AbortCode::Cancelled, 18, "cancelled"),
];

impl AbortCode {
    /// The code's number on the wire.
    #[must_use]
    pub fn to_u16(self) -> u16 {
        match self {
            AbortCode::Unknown(n) => n,
            known => CODES
                .iter()
                .find(|(c, _, _)| *c == known)
                .map_or(0, |(_, n, _)| *n),
        }
    }

    /// A short snake_case name, for logs and receipts.
    #[must_use]
    pub fn name(self) -> &'static str {
        CODES
            .iter()
            .find(|(c, _, _)| *c == self)
            .map_or("unknown", |(_, _, name)| name)
    }
}

impl From<u16> for AbortCode {
    fn from(n: u16) -> Self {
        CODES
            .iter()
            .find(|(_, number, _)| *number == n)
            .map_or(AbortCode::Unknown(n), |(c, _, _)| *c)
    }
}

impl From<AbortCode> for u16 {
    fn from(code: AbortCode) -> u16 {
        code.to_u16()
    }
}

impl std::fmt::Display for AbortCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AbortCode::Unknown(n) => write!(f, "unknown ({n})"),
            c => f.write_str(c.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for (code, n, name) in CODES {
            assert_eq!(code.to_u16(), n);
            assert_eq!(AbortCode::from(n), code);
            assert_eq!(code.name(), name);
        }
        assert_eq!(AbortCode::from(999), AbortCode::Unknown(999));
        assert_eq!(AbortCode::Unknown(999).to_u16(), 999);
        assert_eq!(AbortCode::Unknown(999).to_string(), "unknown (999)");
        assert_eq!(AbortCode::from(0), AbortCode::Unknown(0));
    }
}
