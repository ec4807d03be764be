//! The handshake: each side sends its [`Hello`] at once, checks the peer's against its
//! own settings and policy, and answers `Accept` (with the session context it derived)
//! or `Abort` (with the reason, so both sides report it). No identifier-derived byte is
//! sent before both `Accept`s are in.

use std::time::Duration;

use blindmatch_psi::protocol::{MAX_PROTOCOL_PARAMS_LEN, valid_protocol_id};
use blindmatch_psi::{MAX_BATCH_SIZE, MAX_SET_SIZE, Mode, ProtocolSetup, Reveal, Role};
use rand::TryRng;
use rand::rngs::SysRng;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::frame::{
    Control, Frame, FrameError, Hello, MAX_ABORT_REASON_LEN, MAX_FRAME_LEN, MAX_HELLO_ID_TYPES,
    MAX_ID_TYPE_LEN, MAX_PROFILE_LEN, MIN_FRAME_LEN, PROTOCOL_VERSION,
};
use crate::framed::{FrameReader, FrameWriter};

mod checks;
mod context;

use crate::{NetError, SessionOptions};
pub(crate) use checks::check_peer;
use checks::{check_agreement, check_policy, sorted_types};
pub use context::{ChannelBinding, session_context, session_id};

/// Label of the session-context hash over both hellos.
pub const CONTEXT_LABEL: &[u8] = b"blindmatch/v1/net/session-context";
/// Label of the session-ID hash over the context.
pub const SESSION_ID_LABEL: &[u8] = b"blindmatch/v1/net/session-id";

pub(crate) const PHASE: &str = "handshake";

/// Written into every hello, and shown in the peer's report.
pub(crate) const IMPLEMENTATION: &str = concat!("blindmatch-net/", env!("CARGO_PKG_VERSION"));

/// What a side refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Smallest de-duplicated set the peer may declare (against probing with tiny sets).
    pub min_peer_set: u64,
    /// Largest de-duplicated set the peer may declare: a learner declaring a huge set
    /// (say, most of the mobile number space) would learn most of ours in one
    /// session, and our side reserves memory by the peer's declaration.
    pub max_peer_set: u64,
    /// Modes this side accepts; the session's mode must be among them.
    pub allowed_modes: Vec<Mode>,
}

impl Default for Policy {
    /// No minimum, the protocol's largest set as the maximum, both modes allowed.
    fn default() -> Self {
        Self {
            min_peer_set: 0,
            max_peer_set: MAX_SET_SIZE,
            allowed_modes: vec![Mode::Intersection, Mode::Cardinality],
        }
    }
}

/// Who learns the result, from one side's point of view (what `--reveal me|peer|both`
/// says); [`Learner::to_reveal`] turns it into the absolute setting both sides compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Learner {
    /// Only this side learns.
    Me,
    /// Only the peer learns.
    Peer,
    /// Both learn.
    Both,
}

impl Learner {
    /// The absolute reveal setting for a party in `role`.
    #[must_use]
    pub fn to_reveal(self, role: Role) -> Reveal {
        match (self, role) {
            (Learner::Both, _) => Reveal::Both,
            (Learner::Me, Role::Initiator) | (Learner::Peer, Role::Responder) => Reveal::Initiator,
            (Learner::Me, Role::Responder) | (Learner::Peer, Role::Initiator) => Reveal::Responder,
        }
    }
}

/// What this side brings to the handshake besides its set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionParams {
    /// Intersection or cardinality; must equal the peer's.
    pub mode: Mode,
    /// Who learns, in absolute terms (see [`Learner::to_reveal`]); must equal the peer's.
    pub reveal: Reveal,
    /// Identifier type names the items use (e.g. `["phone"]`); must equal the peer's as
    /// a set. Every type in the prepared set must be listed.
    pub id_types: Vec<String>,
    /// Digest or name of the normalisation profile (opaque; must equal the peer's).
    pub profile: String,
    /// Preferred batch size; the session uses the smaller of the two sides'.
    pub batch_size: u32,
    /// What this side refuses.
    pub policy: Policy,
    /// Identifier type names this side knows; a peer naming another is refused as
    /// unsupported, by name. Empty: any well-formed name (then only the comparison
    /// with our own types applies).
    pub supported_id_types: Vec<String>,
}

impl SessionParams {
    /// Parameters with the default batch size and policy.
    #[must_use]
    pub fn new(mode: Mode, reveal: Reveal, id_types: Vec<String>, profile: String) -> Self {
        Self {
            mode,
            reveal,
            id_types,
            profile,
            batch_size: blindmatch_psi::DEFAULT_BATCH_SIZE,
            policy: Policy::default(),
            supported_id_types: Vec::new(),
        }
    }

    /// Checks the settings against each other and the limits.
    ///
    /// # Errors
    ///
    /// [`NetError::InvalidConfig`] naming the problem.
    pub fn validate(
        &self,
        protocol: &dyn ProtocolSetup,
        options: &SessionOptions,
    ) -> Result<(), NetError> {
        let bad = |reason: String| Err(NetError::InvalidConfig { reason });
        if !self.policy.allowed_modes.contains(&self.mode) {
            return bad(format!(
                "mode {:?} is not among the allowed modes {:?}",
                self.mode, self.policy.allowed_modes
            ));
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return bad(format!(
                "batch size {} is outside 1..={MAX_BATCH_SIZE}",
                self.batch_size
            ));
        }
        if self.id_types.is_empty() || self.id_types.len() > MAX_HELLO_ID_TYPES {
            return bad("between 1 and 256 identifier types must be declared".to_owned());
        }
        if let Some(t) = self.id_types.iter().find(|t| {
            blindmatch_psi::hash::validate_identifier_type(t).is_err() || t.len() > MAX_ID_TYPE_LEN
        }) {
            return bad(format!("invalid identifier type name {t:?}"));
        }
        if self.profile.len() > MAX_PROFILE_LEN {
            return bad(format!(
                "the profile string is longer than {MAX_PROFILE_LEN} bytes"
            ));
        }
        if !valid_protocol_id(protocol.id()) {
            return bad(format!("invalid protocol name {:?}", protocol.id()));
        }
        if protocol.params().len() > MAX_PROTOCOL_PARAMS_LEN {
            return bad(format!(
                "the protocol parameters are longer than {MAX_PROTOCOL_PARAMS_LEN} bytes"
            ));
        }
        if let Some(t) = protocol
            .identifier_types()
            .iter()
            .find(|t| !self.id_types.contains(t))
        {
            return bad(format!(
                "the set holds identifier type {t:?}, which is not declared"
            ));
        }
        if options.max_frame_len < MIN_FRAME_LEN || options.max_frame_len > MAX_FRAME_LEN {
            return bad(format!(
                "frame limit must be within {MIN_FRAME_LEN}..={MAX_FRAME_LEN} bytes"
            ));
        }
        // The frame holds the kind byte and the protocol's message.
        let biggest = protocol.max_message_len(self.batch_size) as u64 + 1;
        if biggest > u64::from(options.max_frame_len) {
            return bad(format!(
                "batch size {} needs frames of {biggest} bytes, above the frame limit of {}",
                self.batch_size, options.max_frame_len
            ));
        }
        Ok(())
    }
}

/// What our protocol puts into the hello, taken from its setup once so that every
/// connection the listener tries can use it.
#[derive(Debug, Clone)]
pub(crate) struct Offer {
    pub(crate) protocol: &'static str,
    pub(crate) params: Vec<u8>,
    pub(crate) declared_size: u64,
    /// Only for the published session vector: a fixed nonce and software string
    /// instead of fresh ones. `Offer::of` never sets it; only
    /// [`crate::run_plaintext_session_for_test_vectors`] does.
    pub(crate) fixed_hello: Option<FixedHelloForTestVectors>,
}

impl Offer {
    pub(crate) fn of(setup: &dyn ProtocolSetup) -> Offer {
        Offer {
            protocol: setup.id(),
            params: setup.params(),
            declared_size: setup.declared_size(),
            fixed_hello: None,
        }
    }

    /// The hello's nonce and software string: fresh from the OS generator and this
    /// build's, unless fixed for a test vector.
    fn nonce_and_implementation(&self) -> Result<([u8; 32], String), NetError> {
        if let Some(fixed) = &self.fixed_hello {
            return Ok((fixed.nonce, fixed.implementation.to_owned()));
        }
        let mut nonce = [0u8; 32];
        SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| NetError::Internal {
                what: "the operating system random number generator failed",
            })?;
        Ok((nonce, IMPLEMENTATION.to_owned()))
    }
}

/// **Test vectors only.** The hello fields a session normally draws fresh (the nonce)
/// or takes from the build (the software string), fixed so that a whole session can
/// be replayed byte for byte (`docs/test-vectors/session.json`). Only
/// [`crate::run_plaintext_session_for_test_vectors`] takes it, and that runs over the
/// plaintext test transport only.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHelloForTestVectors {
    /// This side's hello nonce.
    pub nonce: [u8; 32],
    /// This side's `implementation` string (at most 64 bytes).
    pub implementation: &'static str,
}

/// What both sides agreed.
#[derive(Debug, Clone)]
pub(crate) struct Agreed {
    pub(crate) role: Role,
    pub(crate) protocol: String,
    pub(crate) mode: Mode,
    pub(crate) reveal: Reveal,
    pub(crate) batch_size: u32,
    pub(crate) local_size: u64,
    pub(crate) peer_size: u64,
    pub(crate) context: [u8; 32],
    pub(crate) session_id: String,
    /// What our hello said.
    pub(crate) implementation: String,
    pub(crate) peer_implementation: String,
    pub(crate) peer_min_peer_set: u64,
    pub(crate) id_types: Vec<String>,
    pub(crate) profile: String,
}

/// Why a handshake failed, and whether the listener should keep waiting for another
/// connection (a stranger) or give up (its real partner refused or was refused).
pub(crate) struct HandshakeFailure {
    pub(crate) error: NetError,
    /// A valid hello came in and the session was refused on its content.
    pub(crate) fatal: bool,
}

/// Runs the handshake over a reader/writer pair. On a refusal by us an Abort carrying
/// the reason has been sent before this returns.
pub(crate) async fn handshake<R, W>(
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    role: Role,
    params: &SessionParams,
    offer: &Offer,
    binding: &ChannelBinding,
    grace: Duration,
) -> Result<Agreed, HandshakeFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (nonce, implementation) = offer
        .nonce_and_implementation()
        .map_err(|error| HandshakeFailure { error, fatal: true })?;
    let local_size = offer.declared_size;
    let ours = Hello {
        role,
        protocol: offer.protocol.to_owned(),
        protocol_params: offer.params.clone(),
        mode: params.mode.name().to_owned(),
        reveal: params.reveal,
        id_types: params.id_types.clone(),
        profile: params.profile.clone(),
        set_size: local_size,
        min_peer_set: params.policy.min_peer_set,
        allowed_modes: params
            .policy
            .allowed_modes
            .iter()
            .map(|m| m.name().to_owned())
            .collect(),
        batch_size: params.batch_size,
        nonce,
        implementation,
    };
    let stranger = |error| HandshakeFailure {
        error,
        fatal: false,
    };
    // The responder (listener) checks the initiator's hello against its policy before
    // it sends its own, so a partner it refuses for its declared size or mode never
    // learns our set size (and a stranger that sends no valid hello learns nothing at
    // all). Settings that must merely agree are checked after both hellos, so that
    // both sides can name the disagreement in their own terms.
    let (our_raw, peer, peer_raw) = match role {
        Role::Initiator => {
            let our_raw = writer
                .write_frame_raw(&Frame::Hello(ours.clone()), PHASE)
                .await
                .map_err(stranger)?;
            let (peer, peer_raw) = read_hello(reader, writer, grace).await?;
            let checked = check_peer(&ours, &peer, params);
            refuse_unless(reader, writer, checked, grace).await?;
            (our_raw, peer, peer_raw)
        }
        Role::Responder => {
            let (peer, peer_raw) = read_hello(reader, writer, grace).await?;
            refuse_unless(reader, writer, check_policy(&peer, params), grace).await?;
            let our_raw = writer
                .write_frame_raw(&Frame::Hello(ours.clone()), PHASE)
                .await
                .map_err(stranger)?;
            let agreed = check_agreement(&ours, &peer, params);
            refuse_unless(reader, writer, agreed, grace).await?;
            (our_raw, peer, peer_raw)
        }
    };

    let (first, second) = match role {
        Role::Initiator => (&our_raw, &peer_raw),
        Role::Responder => (&peer_raw, &our_raw),
    };
    let context = session_context(first, second, binding);
    writer
        .write_frame(&Frame::Control(Control::Accept { context }), PHASE)
        .await
        .map_err(stranger)?;

    let frame = reader.read_frame(PHASE).await.map_err(stranger)?;
    match frame {
        Frame::Control(Control::Accept { context: theirs }) => {
            if !bool::from(theirs.ct_eq(&context)) {
                let error = NetError::ContextMismatch;
                send_abort(writer, reader, &error, grace).await;
                return Err(HandshakeFailure { error, fatal: true });
            }
        }
        other => return Err(not_expected(other, reader, writer, grace).await),
    }

    let batch_size = ours.batch_size.min(peer.batch_size);
    Ok(Agreed {
        role,
        protocol: ours.protocol,
        mode: params.mode,
        reveal: ours.reveal,
        batch_size,
        local_size,
        peer_size: peer.set_size,
        context,
        session_id: session_id(&context),
        peer_implementation: sanitize(&peer.implementation),
        implementation: ours.implementation,
        peer_min_peer_set: peer.min_peer_set,
        id_types: sorted_types(&ours.id_types),
        profile: ours.profile,
    })
}

/// Reads the peer's hello: a version it does not share, an Abort (the peer refusing
/// ours) and anything else are reported as such.
async fn read_hello<R, W>(
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    grace: Duration,
) -> Result<(Hello, Vec<u8>), HandshakeFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (frame, raw) = match reader.read_frame_raw(PHASE).await {
        Ok(x) => x,
        Err(NetError::Frame {
            source: FrameError::UnsupportedVersion { version },
            ..
        }) => {
            let error = NetError::VersionMismatch {
                local: PROTOCOL_VERSION,
                peer: version,
            };
            send_abort(writer, reader, &error, grace).await;
            return Err(HandshakeFailure { error, fatal: true });
        }
        Err(error) => {
            // A TLS client reaching a plaintext listener gets the Abort too: its TLS
            // stack then sees a non-TLS record and can say the partner speaks plaintext.
            if matches!(error, NetError::Frame { .. } | NetError::PeerSpeaksTls) {
                send_abort(writer, reader, &error, grace).await;
            }
            return Err(HandshakeFailure {
                error,
                fatal: false,
            });
        }
    };
    match frame {
        Frame::Hello(h) => Ok((h, raw)),
        other => Err(not_expected(other, reader, writer, grace).await),
    }
}

/// A frame other than the one the handshake waits for: the peer's Abort (it refused
/// us), or a protocol violation, which we abort on.
async fn not_expected<R, W>(
    frame: Frame,
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    grace: Duration,
) -> HandshakeFailure
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match frame {
        Frame::Control(Control::Abort { code, reason }) => HandshakeFailure {
            error: NetError::PeerAborted {
                code,
                reason: sanitize(&reason),
            },
            fatal: true,
        },
        other => {
            let error = NetError::UnexpectedFrame {
                phase: PHASE,
                got: other.kind_name(),
            };
            send_abort(writer, reader, &error, grace).await;
            HandshakeFailure {
                error,
                fatal: false,
            }
        }
    }
}

/// Passes `checked` on, telling the peer why when it is a refusal.
async fn refuse_unless<R, W>(
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    checked: Result<(), NetError>,
    grace: Duration,
) -> Result<(), HandshakeFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if let Err(error) = checked {
        send_abort(writer, reader, &error, grace).await;
        return Err(HandshakeFailure { error, fatal: true });
    }
    Ok(())
}

/// Sends an Abort for `error` (best effort), closes our direction and waits briefly
/// for the peer to close, so it reads the Abort instead of a reset.
pub(crate) async fn send_abort<R, W>(
    writer: &mut FrameWriter<W>,
    reader: &mut FrameReader<R>,
    error: &NetError,
    grace: Duration,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let frame = abort_frame(error);
    let sent = tokio::time::timeout(grace, writer.write_frame(&frame, "abort")).await;
    if matches!(sent, Ok(Ok(_))) {
        tracing::debug!(code = %error.abort_code(), "abort sent to the peer");
    }
    writer.shutdown(grace).await;
    reader.drain(grace).await;
}

pub(crate) fn abort_frame(error: &NetError) -> Frame {
    let mut reason = error.to_string();
    if reason.len() > MAX_ABORT_REASON_LEN {
        let mut cut = MAX_ABORT_REASON_LEN;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    Frame::Control(Control::Abort {
        code: error.abort_code(),
        reason,
    })
}

/// Peer-supplied text made safe to print: control characters and the bidirectional
/// controls (which make a terminal show text in another order than it is, e.g. a
/// forged "profile p1" inside a mismatch message) replaced.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi { '\u{FFFD}' } else { c }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Fingerprint;

    fn hello(role: Role) -> Hello {
        Hello {
            role,
            protocol: "test-proto".into(),
            protocol_params: vec![7],
            mode: "intersection".into(),
            reveal: Reveal::Both,
            id_types: vec!["phone".into(), "email".into()],
            profile: "p1".into(),
            set_size: 100,
            min_peer_set: 0,
            allowed_modes: vec!["intersection".into()],
            batch_size: 64,
            nonce: [0; 32],
            implementation: "x".into(),
        }
    }

    #[test]
    fn agreement_and_each_refusal() {
        let ours = hello(Role::Initiator);
        let mut params = SessionParams::new(
            Mode::Intersection,
            Reveal::Both,
            vec!["phone".into(), "email".into()],
            "p1".into(),
        );
        params.policy = Policy {
            min_peer_set: 50,
            max_peer_set: 1000,
            allowed_modes: vec![Mode::Intersection],
        };
        let mut peer = hello(Role::Responder);
        peer.id_types.reverse();
        assert!(check_peer(&ours, &peer, &params).is_ok());

        type Change = Box<dyn Fn(&mut Hello)>;
        type Expect = fn(&NetError) -> bool;
        let cases: Vec<(Change, Expect)> = vec![
            (Box::new(|h| h.role = Role::Initiator), |e| {
                matches!(e, NetError::RoleConflict { .. })
            }),
            (
                Box::new(|h| h.protocol = "vole-rr22".into()),
                |e| matches!(e, NetError::Unsupported { what: "PSI protocol", name, .. } if name == "vole-rr22"),
            ),
            (Box::new(|h| h.protocol_params = vec![8]), |e| {
                matches!(e, NetError::ProtocolParamsMismatch { .. })
            }),
            (
                Box::new(|h| h.mode = "labelled".into()),
                |e| matches!(e, NetError::Unsupported { what: "mode", name, .. } if name == "labelled"),
            ),
            (Box::new(|h| h.mode = "cardinality".into()), |e| {
                matches!(e, NetError::ModeNotAllowed { .. })
            }),
            (Box::new(|h| h.reveal = Reveal::Initiator), |e| {
                matches!(e, NetError::RevealMismatch { .. })
            }),
            (Box::new(|h| h.id_types = vec!["phone".into()]), |e| {
                matches!(e, NetError::IdTypeMismatch { .. })
            }),
            (Box::new(|h| h.profile = "p2".into()), |e| {
                matches!(e, NetError::ProfileMismatch { .. })
            }),
            (Box::new(|h| h.set_size = 49), |e| {
                matches!(
                    e,
                    NetError::PeerSetTooSmall {
                        declared: 49,
                        min: 50
                    }
                )
            }),
            (Box::new(|h| h.set_size = 1001), |e| {
                matches!(
                    e,
                    NetError::PeerSetTooLarge {
                        declared: 1001,
                        max: 1000
                    }
                )
            }),
            (Box::new(|h| h.set_size = MAX_SET_SIZE + 1), |e| {
                matches!(e, NetError::SizeLimit { .. })
            }),
            (Box::new(|h| h.batch_size = 0), |e| {
                matches!(e, NetError::SizeLimit { .. })
            }),
        ];
        for (i, (change, expect)) in cases.iter().enumerate() {
            let mut p = peer.clone();
            change(&mut p);
            let err = check_peer(&ours, &p, &params).unwrap_err();
            assert!(expect(&err), "case {i}: {err}");
        }
        // A mode both allow but that differs is a mismatch.
        let mut wide = params.clone();
        wide.policy = Policy::default();
        let mut p = peer.clone();
        p.mode = "cardinality".into();
        assert!(matches!(
            check_peer(&ours, &p, &wide),
            Err(NetError::ModeMismatch { .. })
        ));
        // An identifier type a newer peer knows and we do not is named as unsupported,
        // when we say which types we know; otherwise it is a plain mismatch.
        let mut p = peer.clone();
        p.id_types = vec!["phone".into(), "passport".into()];
        assert!(matches!(
            check_peer(&ours, &p, &params),
            Err(NetError::IdTypeMismatch { .. })
        ));
        let mut knowing = params.clone();
        knowing.supported_id_types = vec!["phone".into(), "email".into()];
        assert!(matches!(
            check_peer(&ours, &p, &knowing),
            Err(NetError::Unsupported { what: "identifier type", name, .. }) if name == "passport"
        ));
        // Unsupported refusals are refusals, carried to the peer with their own code.
        let err = check_peer(&ours, &p, &knowing).unwrap_err();
        assert!(err.is_refusal());
        assert_eq!(err.abort_code(), crate::AbortCode::Unsupported);
    }

    #[test]
    fn learner_maps_to_absolute_reveal() {
        assert_eq!(Learner::Me.to_reveal(Role::Initiator), Reveal::Initiator);
        assert_eq!(Learner::Me.to_reveal(Role::Responder), Reveal::Responder);
        assert_eq!(Learner::Peer.to_reveal(Role::Initiator), Reveal::Responder);
        assert_eq!(Learner::Peer.to_reveal(Role::Responder), Reveal::Initiator);
        assert_eq!(Learner::Both.to_reveal(Role::Responder), Reveal::Both);
    }

    #[test]
    fn context_depends_on_order_and_content() {
        let plain = ChannelBinding::Plaintext;
        let a = session_context(b"hello-a", b"hello-b", &plain);
        assert_ne!(a, session_context(b"hello-b", b"hello-a", &plain));
        assert_ne!(a, session_context(b"hello-a", b"hello-c", &plain));
        // The length prefix keeps the split unambiguous.
        assert_ne!(
            session_context(b"ab", b"c", &plain),
            session_context(b"a", b"bc", &plain)
        );
        // The channel and both certificates are bound, each in its place.
        let fp = |b| Fingerprint::of_der(&[b]);
        let tls = |e, i, r| ChannelBinding::Tls {
            exporter: [e; 32],
            initiator: fp(i),
            responder: fp(r),
        };
        let t = session_context(b"hello-a", b"hello-b", &tls(1, 2, 3));
        assert_ne!(t, a);
        assert_ne!(t, session_context(b"hello-a", b"hello-b", &tls(9, 2, 3)));
        assert_ne!(t, session_context(b"hello-a", b"hello-b", &tls(1, 3, 2)));
        assert_eq!(t, session_context(b"hello-a", b"hello-b", &tls(1, 2, 3)));
        assert_eq!(session_id(&a).len(), 32);
    }

    #[test]
    fn abort_reason_is_bounded_and_sanitized() {
        let err = NetError::ProfileMismatch {
            local: "x".repeat(2000),
            peer: "y".into(),
        };
        let Frame::Control(Control::Abort { reason, code }) = abort_frame(&err) else {
            panic!("not an abort");
        };
        assert!(reason.len() <= MAX_ABORT_REASON_LEN);
        assert_eq!(code, crate::AbortCode::ProfileMismatch);
        assert_eq!(sanitize("a\u{1b}[31mb\n"), "a\u{FFFD}[31mb\u{FFFD}");
        assert_eq!(sanitize("p\u{202E}1p\u{2066}"), "p\u{FFFD}1p\u{FFFD}");
        assert_eq!(sanitize("电话·phone"), "电话·phone");
    }
}
