//! [`NetError`], the crate's one error type. Variants name phases, sizes, codes,
//! paths and fingerprints, never identifier values or key bytes.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use blindmatch_psi::{Mode, PsiError, Reveal, Role};

use crate::frame::{AbortCode, FrameError};
use crate::{Fingerprint, Learner};

/// Everything that can go wrong in `blindmatch-net`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    // ---- identities and configuration (the caller's input) ----
    /// An identity name outside `[A-Za-z0-9._-]{1,64}`.
    #[error("invalid identity name: use 1 to {max} characters of A-Z, a-z, 0-9, '.', '_', '-'")]
    InvalidIdentityName {
        /// Longest accepted name.
        max: usize,
    },
    /// An identity file already exists; nothing was overwritten.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    IdentityExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Reading or writing an identity file failed.
    #[error("cannot access identity file {}", path.display())]
    IdentityIo {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An identity file does not hold what it should.
    #[error("invalid identity file {}: {reason}", path.display())]
    InvalidIdentity {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// rcgen could not make a key or certificate.
    #[error("cannot generate the key pair or certificate")]
    CertificateGeneration {
        /// The cause.
        #[source]
        source: rcgen::Error,
    },
    /// A pinned fingerprint that does not parse.
    #[error("invalid certificate fingerprint: {reason}")]
    InvalidFingerprint {
        /// What is wrong.
        reason: &'static str,
    },
    /// A CA file that cannot be read or holds no usable certificate.
    #[error("invalid CA file {}: {reason}", path.display())]
    InvalidCaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Settings that cannot work (e.g. a mode outside the allowed modes).
    #[error("invalid session settings: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },

    // ---- transport ----
    /// Binding, connecting or another socket operation failed.
    #[error("network error while {context}")]
    Io {
        /// What we were doing.
        context: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The peer presented a certificate whose fingerprint is not the pinned one. No
    /// application data was exchanged.
    #[error(
        "peer certificate refused: expected fingerprint {expected}, peer presented {presented}"
    )]
    PeerFingerprintMismatch {
        /// The pinned fingerprint.
        expected: Fingerprint,
        /// The presented certificate's fingerprint.
        presented: Fingerprint,
    },
    /// The peer's certificate does not chain to the CA file (or has the wrong name,
    /// usage or dates). No application data was exchanged.
    #[error("peer certificate {presented} refused: {reason}")]
    PeerCertificateUntrusted {
        /// The presented certificate's fingerprint.
        presented: Fingerprint,
        /// rustls' verdict.
        reason: String,
    },
    /// The peer aborted the TLS handshake with an alert, typically because it does not
    /// accept our certificate (it pins another fingerprint).
    #[error("the peer refused the TLS handshake ({alert}); does it pin our fingerprint {ours}?")]
    PeerRefusedTls {
        /// The TLS alert received.
        alert: String,
        /// Our certificate's fingerprint, for comparison with what the peer pins.
        ours: Fingerprint,
    },
    /// The peer sent bytes that are not TLS: it runs the plaintext test transport.
    #[error("the partner speaks plaintext (--insecure-plaintext-for-testing), not TLS")]
    PeerSpeaksPlaintext,
    /// The peer answered our frames with TLS records: it expects TLS.
    #[error("the partner speaks TLS, and this side runs the plaintext test transport")]
    PeerSpeaksTls,
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake failed")]
    Tls {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A read or write made no progress within the configured time.
    #[error("timed out after {:.1}s while {phase}", after.as_secs_f64())]
    Timeout {
        /// What we were waiting for.
        phase: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The listener saw no acceptable partner within the wait timeout.
    #[error("no partner completed the handshake within {:.0}s ({rejected} connection(s) refused{})",
        waited.as_secs_f64(),
        last_rejection.as_deref().map(|r| format!("; last: {r}")).unwrap_or_default())]
    WaitTimeout {
        /// The wait timeout.
        waited: Duration,
        /// Connections refused meanwhile.
        rejected: u32,
        /// Why the last one was refused.
        last_rejection: Option<String>,
    },
    /// The peer closed the connection before the session was complete.
    #[error("the peer disconnected during the {phase}")]
    PeerDisconnected {
        /// Session phase.
        phase: &'static str,
    },
    /// Reading or writing the established stream failed.
    #[error("connection failed during the {phase}")]
    Stream {
        /// Session phase.
        phase: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },

    // ---- wire ----
    /// The peer sent bytes that are not a valid frame.
    #[error("invalid frame from the peer during the {phase}")]
    Frame {
        /// Session phase.
        phase: &'static str,
        /// What is wrong.
        #[source]
        source: FrameError,
    },
    /// A valid frame at the wrong time.
    #[error("unexpected {got} frame from the peer during the {phase}")]
    UnexpectedFrame {
        /// Session phase.
        phase: &'static str,
        /// The frame kind received.
        got: &'static str,
    },
    // ---- handshake refusals (sent to the peer as an Abort too) ----
    /// The peer speaks another protocol version.
    #[error("protocol version mismatch: we speak {local}, the peer speaks {peer}")]
    VersionMismatch {
        /// Ours.
        local: u16,
        /// The peer's.
        peer: u16,
    },
    /// The peer asks for a PSI protocol, mode or identifier type this side does not
    /// run in this session (e.g. one a newer version added).
    #[error(
        "the peer asks for {what} {name:?}, which this side does not support here (we run {ours:?})"
    )]
    Unsupported {
        /// What kind of thing: `PSI protocol`, `mode`, `identifier type`.
        what: &'static str,
        /// The peer's name for it, made safe to print.
        name: String,
        /// What we run instead.
        ours: String,
    },
    /// Both sides run the same PSI protocol with parameters that do not go
    /// together.
    #[error("the peer runs {protocol} with parameters that do not go with ours: {reason}")]
    ProtocolParamsMismatch {
        /// The protocol.
        protocol: String,
        /// Why, as the protocol's check says it.
        reason: String,
    },
    /// Both sides claim the same role (e.g. two listeners bridged).
    #[error("both sides claim the {role} role")]
    RoleConflict {
        /// The role both claim.
        role: &'static str,
    },
    /// The peer wants another mode.
    #[error("mode mismatch: we run --mode {}, the peer runs --mode {}", local.name(), peer.name())]
    ModeMismatch {
        /// Ours.
        local: Mode,
        /// The peer's.
        peer: Mode,
    },
    /// The peer's mode is outside our allowed modes.
    #[error("the peer's --mode {} is not among the modes we allow ({})", peer.name(),
        allowed.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "))]
    ModeNotAllowed {
        /// The peer's mode.
        peer: Mode,
        /// Our policy.
        allowed: Vec<Mode>,
    },
    /// The peer wants another reveal setting.
    #[error(
        "reveal mismatch: we say --reveal {}, the peer says --reveal {} (in its own terms)",
        Learner::of(*local, *role).name(),
        Learner::of(*peer, role.peer()).name()
    )]
    RevealMismatch {
        /// Ours, in absolute terms.
        local: Reveal,
        /// The peer's, in absolute terms.
        peer: Reveal,
        /// Our role, to say both settings as each side wrote it.
        role: Role,
    },
    /// The peer matches on other identifier types (rules), or in another priority
    /// order.
    #[error(
        "identifier type mismatch: our matching rules are {local:?} (in priority order), the peer's are {peer:?}"
    )]
    IdTypeMismatch {
        /// Ours.
        local: Vec<String>,
        /// The peer's.
        peer: Vec<String>,
    },
    /// The peer normalises identifiers with another profile.
    #[error("normalisation profile mismatch: ours is {local:?}, the peer's is {peer:?}")]
    ProfileMismatch {
        /// Ours.
        local: String,
        /// The peer's.
        peer: String,
    },
    /// The peer's declared set (or its set for one rule of several) is below our
    /// `min_peer_set` policy.
    #[error("the peer declared {declared} distinct items{}, below our minimum of {min}", for_rule(id_type.as_deref()))]
    PeerSetTooSmall {
        /// The rule (identifier type) whose set is too small, when the session has
        /// several; `None` for the whole set.
        id_type: Option<String>,
        /// The peer's declared size.
        declared: u64,
        /// Our minimum.
        min: u64,
    },
    /// The peer's declared set is above our `max_peer_set` policy.
    #[error("the peer declared {declared} distinct items, above our maximum of {max}")]
    PeerSetTooLarge {
        /// The peer's declared size.
        declared: u64,
        /// Our maximum.
        max: u64,
    },
    /// A declared size or batch size beyond the protocol limits.
    #[error("the peer's {what} of {value} exceeds the limit of {max}")]
    SizeLimit {
        /// Which field.
        what: &'static str,
        /// The value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// The two sides computed different session contexts.
    #[error("the peer derived a different session context")]
    ContextMismatch,
    /// The peer's view of the bytes it sent differs from what we received.
    #[error("transcript mismatch: the peer's summary of its {what} differs from what we received")]
    TranscriptMismatch {
        /// Which field differs.
        what: &'static str,
    },

    // ---- the peer gave up ----
    /// The peer sent an Abort.
    #[error("the peer aborted the session: {reason} [{code}]")]
    PeerAborted {
        /// The peer's code.
        code: AbortCode,
        /// The peer's text, with control characters replaced.
        reason: String,
    },

    // ---- stopped from outside ----
    /// The caller cancelled the session ([`crate::Cancellation`]); the peer was told
    /// with an Abort when a connection was up.
    #[error("the session was cancelled")]
    Cancelled,

    // ---- the protocol core ----
    /// The PSI state machine refused something (usually a peer message).
    #[error("PSI protocol error")]
    Psi {
        /// The cause.
        #[source]
        source: PsiError,
    },
    /// A task or thread of the session driver stopped unexpectedly.
    #[error("internal error: {what}")]
    Internal {
        /// What happened.
        what: &'static str,
    },
}

fn for_rule(id_type: Option<&str>) -> String {
    id_type.map_or_else(String::new, |t| format!(" for rule {t}"))
}

impl NetError {
    /// The code an Abort for this error carries to the peer.
    #[must_use]
    pub fn abort_code(&self) -> AbortCode {
        match self {
            NetError::Frame { .. } | NetError::UnexpectedFrame { .. } => {
                AbortCode::ProtocolViolation
            }
            NetError::Unsupported { .. } | NetError::ProtocolParamsMismatch { .. } => {
                AbortCode::Unsupported
            }
            NetError::VersionMismatch { .. } => AbortCode::VersionMismatch,
            NetError::RoleConflict { .. } => AbortCode::RoleConflict,
            NetError::ModeMismatch { .. } => AbortCode::ModeMismatch,
            NetError::ModeNotAllowed { .. } => AbortCode::ModeNotAllowed,
            NetError::RevealMismatch { .. } => AbortCode::RevealMismatch,
            NetError::IdTypeMismatch { .. } => AbortCode::IdTypeMismatch,
            NetError::ProfileMismatch { .. } => AbortCode::ProfileMismatch,
            NetError::PeerSetTooSmall { .. } => AbortCode::PeerSetTooSmall,
            NetError::PeerSetTooLarge { .. } => AbortCode::PeerSetTooLarge,
            NetError::SizeLimit { .. } => AbortCode::SizeLimit,
            NetError::ContextMismatch => AbortCode::ContextMismatch,
            NetError::TranscriptMismatch { .. } => AbortCode::TranscriptMismatch,
            NetError::Psi { .. } => AbortCode::PsiFailure,
            NetError::Timeout { .. } => AbortCode::Timeout,
            NetError::Cancelled => AbortCode::Cancelled,
            _ => AbortCode::LocalFailure,
        }
    }

    /// Whether this is a refusal by policy or by a handshake mismatch (on either
    /// side): the work ran and a check did not pass. The CLI maps these to exit code 3.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        match self {
            NetError::VersionMismatch { .. }
            | NetError::Unsupported { .. }
            | NetError::ProtocolParamsMismatch { .. }
            | NetError::RoleConflict { .. }
            | NetError::ModeMismatch { .. }
            | NetError::ModeNotAllowed { .. }
            | NetError::RevealMismatch { .. }
            | NetError::IdTypeMismatch { .. }
            | NetError::ProfileMismatch { .. }
            | NetError::PeerSetTooSmall { .. }
            | NetError::PeerSetTooLarge { .. }
            | NetError::SizeLimit { .. }
            | NetError::PeerFingerprintMismatch { .. }
            | NetError::PeerCertificateUntrusted { .. }
            | NetError::PeerRefusedTls { .. }
            | NetError::PeerSpeaksPlaintext
            | NetError::PeerSpeaksTls => true,
            NetError::PeerAborted { code, .. } => matches!(
                code,
                AbortCode::VersionMismatch
                    | AbortCode::Unsupported
                    | AbortCode::RoleConflict
                    | AbortCode::ModeMismatch
                    | AbortCode::ModeNotAllowed
                    | AbortCode::RevealMismatch
                    | AbortCode::IdTypeMismatch
                    | AbortCode::ProfileMismatch
                    | AbortCode::PeerSetTooSmall
                    | AbortCode::PeerSetTooLarge
                    | AbortCode::SizeLimit
            ),
            _ => false,
        }
    }

    /// Whether the caller's own input is at fault (identity files, fingerprints, CA
    /// file, settings): the CLI maps these to exit code 2.
    #[must_use]
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            NetError::InvalidIdentityName { .. }
                | NetError::IdentityExists { .. }
                | NetError::IdentityIo { .. }
                | NetError::InvalidIdentity { .. }
                | NetError::InvalidFingerprint { .. }
                | NetError::InvalidCaFile { .. }
                | NetError::InvalidConfig { .. }
        )
    }
}

impl From<PsiError> for NetError {
    fn from(source: PsiError) -> Self {
        NetError::Psi { source }
    }
}
