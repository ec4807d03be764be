//! The [`Hello`] each side sends first, and its byte layout: postcard over a wire
//! struct whose enums are single bytes (so the wire does not follow `blindmatch-psi`'s
//! declarations) and whose protocol, mode and identifier type are names, so that a
//! newer peer's unknown ones can be refused by name rather than as malformed.

use blindmatch_psi::protocol::{MAX_PROTOCOL_ID_LEN, MAX_PROTOCOL_PARAMS_LEN};
use blindmatch_psi::{Reveal, Role};
use serde::{Deserialize, Serialize};

use super::error::{FrameError, malformed};

/// Most identifier types one hello may name.
pub const MAX_HELLO_ID_TYPES: usize = blindmatch_psi::MAX_IDENTIFIER_TYPES;
/// Longest identifier type name in a hello, in bytes.
pub const MAX_ID_TYPE_LEN: usize = blindmatch_psi::MAX_TYPE_LEN;
/// Longest normalisation profile string in a hello, in bytes.
pub const MAX_PROFILE_LEN: usize = 256;
/// Longest implementation string in a hello, in bytes.
pub const MAX_IMPLEMENTATION_LEN: usize = 64;
/// Longest mode name in a hello, in bytes.
pub const MAX_MODE_NAME_LEN: usize = 32;
/// Most allowed modes one hello may name.
pub const MAX_ALLOWED_MODES: usize = 8;

/// What the peers agree on before any identifier-derived byte: one per side, sent
/// first. `Debug` is fine: nothing in it is secret (the nonce is public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The sender's role: the connecting side is the initiator.
    pub role: Role,
    /// The PSI protocol the sender runs (e.g. `ecdh-ristretto255`); must be equal.
    pub protocol: String,
    /// That protocol's parameters, in its own encoding; must be equal.
    pub protocol_params: Vec<u8>,
    /// The mode the sender wants, by name (`intersection`, `cardinality`).
    pub mode: String,
    /// Who learns, in absolute terms.
    pub reveal: Reveal,
    /// Identifier types (matching rules) of the session in priority order; must be
    /// equal, order included. A composite rule's fields are joined by `+`.
    pub id_types: Vec<String>,
    /// The sender's distinct items per entry of `id_types`, in the same order; they
    /// add up to `set_size`.
    pub type_sizes: Vec<u64>,
    /// The sender's normalisation profile string (must be equal).
    pub profile: String,
    /// The sender's de-duplicated set size.
    pub set_size: u64,
    /// The sender's policy: the smallest peer set it accepts.
    pub min_peer_set: u64,
    /// The sender's policy: modes it accepts, by name.
    pub allowed_modes: Vec<String>,
    /// The sender's preferred batch size; the session uses the smaller of the two.
    pub batch_size: u32,
    /// Fresh random bytes, so that two sessions over the same data differ.
    pub nonce: [u8; 32],
    /// Free text naming the sender's software, e.g. `blindmatch-net/0.1.0`.
    pub implementation: String,
}

impl Hello {
    /// Checks every length and count limit (the same on encoding and decoding).
    pub(super) fn check_limits(&self) -> Result<(), FrameError> {
        let bad = |reason| Err(malformed("hello", reason));
        if self.protocol.len() > MAX_PROTOCOL_ID_LEN {
            return bad("protocol name too long");
        }
        if self.protocol_params.len() > MAX_PROTOCOL_PARAMS_LEN {
            return bad("protocol parameters too long");
        }
        if self.mode.len() > MAX_MODE_NAME_LEN {
            return bad("mode name too long");
        }
        if self.id_types.len() > MAX_HELLO_ID_TYPES {
            return bad("too many identifier types");
        }
        if self.id_types.iter().any(|t| t.len() > MAX_ID_TYPE_LEN) {
            return bad("identifier type name too long");
        }
        if self.type_sizes.len() != self.id_types.len() {
            return bad("not one size per identifier type");
        }
        let total = self
            .type_sizes
            .iter()
            .try_fold(0u64, |acc, &n| acc.checked_add(n));
        if total != Some(self.set_size) {
            return bad("per-type sizes do not add up to the set size");
        }
        if self.profile.len() > MAX_PROFILE_LEN {
            return bad("profile too long");
        }
        if self.implementation.len() > MAX_IMPLEMENTATION_LEN {
            return bad("implementation string too long");
        }
        if self.allowed_modes.len() > MAX_ALLOWED_MODES {
            return bad("too many allowed modes");
        }
        if self
            .allowed_modes
            .iter()
            .any(|m| m.len() > MAX_MODE_NAME_LEN)
        {
            return bad("mode name too long");
        }
        Ok(())
    }
}

/// The hello body exactly as postcard encodes it, in this field order.
#[derive(Serialize, Deserialize)]
pub(super) struct HelloWire {
    role: u8,
    protocol: String,
    protocol_params: Vec<u8>,
    mode: String,
    reveal: u8,
    id_types: Vec<String>,
    profile: String,
    set_size: u64,
    type_sizes: Vec<u64>,
    min_peer_set: u64,
    allowed_modes: Vec<String>,
    batch_size: u32,
    nonce: [u8; 32],
    implementation: String,
}

fn role_code(r: Role) -> u8 {
    match r {
        Role::Initiator => 0,
        Role::Responder => 1,
    }
}

fn reveal_code(r: Reveal) -> u8 {
    match r {
        Reveal::Initiator => 0,
        Reveal::Responder => 1,
        Reveal::Both => 2,
    }
}

fn role_from(c: u8) -> Result<Role, FrameError> {
    match c {
        0 => Ok(Role::Initiator),
        1 => Ok(Role::Responder),
        _ => Err(malformed("hello", "unknown role")),
    }
}

pub(super) fn reveal_from(c: u8) -> Result<Reveal, FrameError> {
    match c {
        0 => Ok(Reveal::Initiator),
        1 => Ok(Reveal::Responder),
        2 => Ok(Reveal::Both),
        _ => Err(malformed("hello", "unknown reveal")),
    }
}

impl From<&Hello> for HelloWire {
    fn from(h: &Hello) -> Self {
        HelloWire {
            role: role_code(h.role),
            protocol: h.protocol.clone(),
            protocol_params: h.protocol_params.clone(),
            mode: h.mode.clone(),
            reveal: reveal_code(h.reveal),
            id_types: h.id_types.clone(),
            profile: h.profile.clone(),
            set_size: h.set_size,
            type_sizes: h.type_sizes.clone(),
            min_peer_set: h.min_peer_set,
            allowed_modes: h.allowed_modes.clone(),
            batch_size: h.batch_size,
            nonce: h.nonce,
            implementation: h.implementation.clone(),
        }
    }
}

impl TryFrom<HelloWire> for Hello {
    type Error = FrameError;

    fn try_from(w: HelloWire) -> Result<Self, FrameError> {
        Ok(Hello {
            role: role_from(w.role)?,
            protocol: w.protocol,
            protocol_params: w.protocol_params,
            mode: w.mode,
            reveal: reveal_from(w.reveal)?,
            id_types: w.id_types,
            profile: w.profile,
            set_size: w.set_size,
            type_sizes: w.type_sizes,
            min_peer_set: w.min_peer_set,
            allowed_modes: w.allowed_modes,
            batch_size: w.batch_size,
            nonce: w.nonce,
            implementation: w.implementation,
        })
    }
}
