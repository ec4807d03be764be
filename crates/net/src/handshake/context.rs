//! The session context both sides derive from the two hellos and the channel they
//! travelled over ([`ChannelBinding`]), and the session ID shown to users.

use blindmatch_psi::Role;
use sha2::{Digest, Sha256};

use crate::{ConnectionInfo, Fingerprint, NetError};

/// Label of the session-context hash over both hellos.
pub const CONTEXT_LABEL: &[u8] = b"blindmatch/v1/net/session-context";
/// Label of the session-ID hash over the context.
pub const SESSION_ID_LABEL: &[u8] = b"blindmatch/v1/net/session-id";

/// What the session context binds besides the two hellos: the TLS connection and both
/// certificates, so that a party that terminates TLS towards each side and relays
/// frames between them makes the two contexts differ and the session fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelBinding {
    /// Mutually authenticated TLS.
    Tls {
        /// The connection's exporter value ([`crate::TlsEstablished::exporter`]).
        exporter: [u8; 32],
        /// The initiator's (connector's) certificate fingerprint.
        initiator: Fingerprint,
        /// The responder's (listener's) certificate fingerprint.
        responder: Fingerprint,
    },
    /// The insecure plaintext test transport: no channel and no certificates to bind.
    Plaintext,
}

impl ChannelBinding {
    /// The binding of a connection as the caller described it, from our `role`'s view.
    ///
    /// # Errors
    ///
    /// [`NetError::InvalidConfig`] when only some of the TLS values are given.
    pub fn of(role: Role, info: &ConnectionInfo) -> Result<ChannelBinding, NetError> {
        match (
            info.tls_exporter,
            info.local_fingerprint,
            info.peer_fingerprint,
        ) {
            (Some(exporter), Some(ours), Some(theirs)) => {
                let (initiator, responder) = match role {
                    Role::Initiator => (ours, theirs),
                    Role::Responder => (theirs, ours),
                };
                Ok(ChannelBinding::Tls {
                    exporter,
                    initiator,
                    responder,
                })
            }
            (None, None, None) => Ok(ChannelBinding::Plaintext),
            _ => Err(NetError::InvalidConfig {
                reason: "a TLS connection needs its exporter value and both fingerprints"
                    .to_owned(),
            }),
        }
    }

    /// The bytes hashed into the context.
    fn bytes(&self) -> Vec<u8> {
        match self {
            ChannelBinding::Tls {
                exporter,
                initiator,
                responder,
            } => {
                let mut out = b"tls".to_vec();
                out.extend_from_slice(exporter);
                out.extend_from_slice(initiator.as_bytes());
                out.extend_from_slice(responder.as_bytes());
                out
            }
            ChannelBinding::Plaintext => b"plaintext".to_vec(),
        }
    }
}

/// SHA-256 over the label, both hello frames (initiator's first), each preceded by its
/// length as a u32 big-endian, and the channel binding, also length-prefixed.
#[must_use]
pub fn session_context(
    initiator_hello: &[u8],
    responder_hello: &[u8],
    binding: &ChannelBinding,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CONTEXT_LABEL);
    for part in [initiator_hello, responder_hello, &binding.bytes()] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// The first 16 bytes of SHA-256(label ‖ context), as 32 lowercase hex digits.
#[must_use]
pub fn session_id(context: &[u8; 32]) -> String {
    let d: [u8; 32] = Sha256::new()
        .chain_update(SESSION_ID_LABEL)
        .chain_update(context)
        .finalize()
        .into();
    hex::encode(d.get(..16).unwrap_or_default())
}
