#![doc = include_str!("../README.md")]

mod cancel;
mod error;
mod fingerprint;
pub mod frame;
mod framed;
mod handshake;
mod identity;
mod listener;
mod session;
mod tls;

pub use cancel::Cancellation;
pub use error::NetError;
pub use fingerprint::{FINGERPRINT_PREFIX, Fingerprint};
pub use frame::{AbortCode, Frame, FrameError, decode_frame};
pub use framed::{CountingStream, WireCounters};
#[doc(hidden)]
pub use handshake::FixedHelloForTestVectors;
pub use handshake::{
    CONTEXT_LABEL, ChannelBinding, Learner, Policy, SESSION_ID_LABEL, SessionParams,
    session_context, session_id,
};
pub use identity::{Identity, IdentityFiles, IdentityPaths, MAX_IDENTITY_NAME_LEN};
pub use listener::{Listener, connect};
#[doc(hidden)]
pub use session::run_plaintext_session_for_test_vectors;
pub use session::{
    ConnectionInfo, Event, EventSink, SessionOptions, SessionReport, TRANSCRIPT_LABEL, Timings,
    Traffic, run_session,
};
pub use tls::{
    PeerAuth, TLS_EXPORTER_LABEL, TlsEstablished, TlsSettings, Transport, tls_accept, tls_connect,
};

/// The protocol-neutral PSI types a caller needs, re-exported so that it uses the
/// same version. The session is written against [`ProtocolSetup`] only and never
/// names a particular protocol; callers pick one from `blindmatch-psi` (e.g.
/// `blindmatch_psi::EcdhSetup`).
pub use blindmatch_psi::{
    LabelledRow, Match, MatchId, MatchResult, Mode, Outcome, PreparedSet, Protocol, ProtocolSetup,
    ReceivedLabels, Reveal, Role, Stage,
};
