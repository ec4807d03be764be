//! The checks on the peer's hello: against our policy (sizes, allowed modes), which
//! the listener runs before it reveals its own hello, and against our own hello
//! (roles, protocol, mode, reveal, identifier types, profile).

use blindmatch_psi::{MAX_BATCH_SIZE, MAX_SET_SIZE, Mode, ParamsCheck, Role};

use super::params::SessionParams;
use crate::NetError;
use crate::frame::Hello;

/// Compares the peer's hello with our policy, then with ours; the first failing
/// check decides.
pub(crate) fn check_peer(
    ours: &Hello,
    peer: &Hello,
    params: &SessionParams,
    params_check: ParamsCheck,
) -> Result<(), NetError> {
    check_policy(peer, params)?;
    check_agreement(ours, peer, params, params_check)
}

/// What our policy refuses in the peer's hello alone: its declared sizes and a mode
/// we do not allow. Checked by the responder before it reveals its own hello.
pub(crate) fn check_policy(peer: &Hello, params: &SessionParams) -> Result<(), NetError> {
    let policy = &params.policy;
    if peer.set_size > MAX_SET_SIZE {
        return Err(NetError::SizeLimit {
            what: "declared set size",
            value: peer.set_size,
            max: MAX_SET_SIZE,
        });
    }
    if peer.batch_size == 0 || peer.batch_size > MAX_BATCH_SIZE {
        return Err(NetError::SizeLimit {
            what: "batch size",
            value: u64::from(peer.batch_size),
            max: u64::from(MAX_BATCH_SIZE),
        });
    }
    if peer.set_size < policy.min_peer_set {
        return Err(NetError::PeerSetTooSmall {
            id_type: None,
            declared: peer.set_size,
            min: policy.min_peer_set,
        });
    }
    // With several rules the floor holds for each: a partner must not probe one
    // rule with a tiny set behind a large one.
    if peer.id_types.len() > 1
        && let Some((t, &n)) = peer
            .id_types
            .iter()
            .zip(&peer.type_sizes)
            .find(|(_, n)| **n < policy.min_peer_set)
    {
        return Err(NetError::PeerSetTooSmall {
            id_type: Some(sanitize(t)),
            declared: n,
            min: policy.min_peer_set,
        });
    }
    if peer.set_size > policy.max_peer_set {
        return Err(NetError::PeerSetTooLarge {
            declared: peer.set_size,
            max: policy.max_peer_set,
        });
    }
    if let Some(mode) = Mode::from_name(&peer.mode)
        && !policy.allowed_modes.contains(&mode)
    {
        return Err(NetError::ModeNotAllowed {
            peer: mode,
            allowed: policy.allowed_modes.clone(),
        });
    }
    Ok(())
}

/// What must agree between the two hellos: roles, protocol, mode, reveal, identifier
/// types, profile.
pub(crate) fn check_agreement(
    ours: &Hello,
    peer: &Hello,
    params: &SessionParams,
    params_check: ParamsCheck,
) -> Result<(), NetError> {
    if peer.role == ours.role {
        return Err(NetError::RoleConflict {
            role: match ours.role {
                Role::Initiator => "initiator (connecting)",
                Role::Responder => "responder (listening)",
            },
        });
    }
    // The mode first: a mode decides the protocol (labelled mode runs its own), so
    // two different modes are named as such, not as an unknown protocol.
    let Some(peer_mode) = Mode::from_name(&peer.mode) else {
        return Err(NetError::Unsupported {
            what: "mode",
            name: sanitize(&peer.mode),
            ours: params.mode.name().to_owned(),
        });
    };
    if peer_mode != params.mode {
        return Err(NetError::ModeMismatch {
            local: params.mode,
            peer: peer_mode,
        });
    }
    if peer.protocol != ours.protocol {
        return Err(NetError::Unsupported {
            what: "PSI protocol",
            name: sanitize(&peer.protocol),
            ours: ours.protocol.clone(),
        });
    }
    if let Err(reason) = params_check(&ours.protocol_params, &peer.protocol_params) {
        return Err(NetError::ProtocolParamsMismatch {
            protocol: ours.protocol.clone(),
            reason: sanitize(&reason),
        });
    }
    if peer.reveal != ours.reveal {
        return Err(NetError::RevealMismatch {
            local: ours.reveal,
            peer: peer.reveal,
            role: ours.role,
        });
    }
    // A rule is one type or several joined by `+`; each must be one we know.
    if !params.supported_id_types.is_empty()
        && let Some(unknown) = peer
            .id_types
            .iter()
            .flat_map(|rule| rule.split('+'))
            .find(|t| !params.supported_id_types.iter().any(|s| s == t))
    {
        return Err(NetError::Unsupported {
            what: "identifier type",
            name: sanitize(unknown),
            ours: ours.id_types.join(","),
        });
    }
    // Rules are compared in order: the order is the priority that picks each matched
    // row's match ID, so both sides must hold the same.
    if ours.id_types != peer.id_types {
        return Err(NetError::IdTypeMismatch {
            local: ours.id_types.clone(),
            peer: peer.id_types.iter().map(|t| sanitize(t)).collect(),
        });
    }
    if peer.profile != ours.profile {
        return Err(NetError::ProfileMismatch {
            local: ours.profile.clone(),
            peer: sanitize(&peer.profile),
        });
    }
    Ok(())
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
