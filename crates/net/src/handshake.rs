//! The handshake: each side sends its [`Hello`] at once, checks the peer's against its
//! own settings and policy, and answers `Accept` (with the session context it derived)
//! or `Abort` (with the reason, so both sides report it). No identifier-derived byte is
//! sent before both `Accept`s are in.

use std::time::Duration;

use blindmatch_psi::{Mode, Reveal, Role, TypeGroup};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::frame::{Control, Frame, FrameError, Hello, MAX_ABORT_REASON_LEN, PROTOCOL_VERSION};
use crate::framed::{FrameReader, FrameWriter};

mod checks;
mod context;
mod params;

use crate::NetError;
use checks::{check_agreement, check_policy};
pub(crate) use checks::{check_peer, sanitize};
pub use context::{CONTEXT_LABEL, ChannelBinding, SESSION_ID_LABEL, session_context, session_id};
pub(crate) use params::Offer;
pub use params::{FixedHelloForTestVectors, Learner, Policy, SessionParams};

pub(crate) const PHASE: &str = "handshake";

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
    /// Both sides' sizes per rule, in the agreed order.
    pub(crate) groups: Vec<TypeGroup>,
    /// The peer's protocol parameters.
    pub(crate) peer_params: Vec<u8>,
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
        type_sizes: offer.sizes_for(&params.id_types),
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
            let checked = check_peer(&ours, &peer, params, offer.params_check);
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
            let agreed = check_agreement(&ours, &peer, params, offer.params_check);
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
        groups: ours
            .id_types
            .iter()
            .zip(ours.type_sizes.iter().zip(&peer.type_sizes))
            .map(|(t, (&local, &peer))| TypeGroup {
                id_type: t.clone(),
                local,
                peer,
            })
            .collect(),
        peer_params: peer.protocol_params.clone(),
        context,
        session_id: session_id(&context),
        peer_implementation: sanitize(&peer.implementation),
        implementation: ours.implementation,
        peer_min_peer_set: peer.min_peer_set,
        id_types: ours.id_types.clone(),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Fingerprint;
    use blindmatch_psi::MAX_SET_SIZE;

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
            type_sizes: vec![50, 50],
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
        let peer = hello(Role::Responder);
        assert!(check_peer(&ours, &peer, &params, blindmatch_psi::equal_params).is_ok());

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
                Box::new(|h| h.mode = "fuzzy".into()),
                |e| matches!(e, NetError::Unsupported { what: "mode", name, .. } if name == "fuzzy"),
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
            // The same rules in another priority order.
            (Box::new(|h| h.id_types.reverse()), |e| {
                matches!(e, NetError::IdTypeMismatch { .. })
            }),
            // Enough in all, too few for one rule.
            (Box::new(|h| h.type_sizes = vec![90, 10]), |e| {
                matches!(
                    e,
                    NetError::PeerSetTooSmall { id_type: Some(t), declared: 10, min: 50 } if t == "email"
                )
            }),
            (Box::new(|h| h.profile = "p2".into()), |e| {
                matches!(e, NetError::ProfileMismatch { .. })
            }),
            (Box::new(|h| h.set_size = 49), |e| {
                matches!(
                    e,
                    NetError::PeerSetTooSmall {
                        id_type: None,
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
            let err = check_peer(&ours, &p, &params, blindmatch_psi::equal_params).unwrap_err();
            assert!(expect(&err), "case {i}: {err}");
        }
        // A mode both allow but that differs is a mismatch.
        let mut wide = params.clone();
        wide.policy = Policy::default();
        let mut p = peer.clone();
        p.mode = "cardinality".into();
        assert!(matches!(
            check_peer(&ours, &p, &wide, blindmatch_psi::equal_params),
            Err(NetError::ModeMismatch { .. })
        ));
        // An identifier type a newer peer knows and we do not is named as unsupported,
        // when we say which types we know; otherwise it is a plain mismatch.
        let mut p = peer.clone();
        p.id_types = vec!["phone".into(), "passport".into()];
        assert!(matches!(
            check_peer(&ours, &p, &params, blindmatch_psi::equal_params),
            Err(NetError::IdTypeMismatch { .. })
        ));
        let mut knowing = params.clone();
        knowing.supported_id_types = vec!["phone".into(), "email".into()];
        assert!(matches!(
            check_peer(&ours, &p, &knowing, blindmatch_psi::equal_params),
            Err(NetError::Unsupported { what: "identifier type", name, .. }) if name == "passport"
        ));
        // Unsupported refusals are refusals, carried to the peer with their own code.
        let err = check_peer(&ours, &p, &knowing, blindmatch_psi::equal_params).unwrap_err();
        assert!(err.is_refusal());
        assert_eq!(err.abort_code(), crate::AbortCode::Unsupported);
    }

    #[test]
    fn each_side_reads_the_absolute_reveal_back_in_its_own_words() {
        for learner in [Learner::Me, Learner::Peer, Learner::Both] {
            for role in [Role::Initiator, Role::Responder] {
                assert_eq!(Learner::of(learner.to_reveal(role), role), learner);
            }
        }
        let err = NetError::RevealMismatch {
            local: Reveal::Responder,
            peer: Reveal::Initiator,
            role: Role::Responder,
        };
        // Both said `--reveal me`.
        assert_eq!(
            err.to_string(),
            "reveal mismatch: we say --reveal me, the peer says --reveal me (in its own terms)"
        );
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
