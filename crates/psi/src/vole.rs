//! The oblivious-transfer and OKVS building blocks shared by the OT-based PSI
//! protocols ([`crate::rr22`], `vole-rr22-silent`, and the silent VOLE under it in
//! [`crate::silent`]). This module runs no protocol of its own: it holds the base
//! OTs on ristretto255 (`ot`), the ChaCha20 column PRG of the OT extensions
//! (`ext`), the bit-matrix transpose (`transpose`), the random-band OKVS
//! (`okvs`) with its band and item hashes ([`hash`]) and fixed parameters
//! ([`params`]), one side's items in sending order (`items`), and the work counts
//! of the benchmark floors ([`floor`]).
//!
//! Byte for byte (labels, band derivation, base OTs): `docs/protocol.md`, "OT-based
//! building blocks".

pub(crate) mod ext;
pub mod floor;
pub mod hash;
pub(crate) mod items;
pub(crate) mod okvs;
pub(crate) mod ot;
pub mod params;
pub(crate) mod transpose;

use crate::{Reveal, Role};

/// Whether `role` is the OPRF receiver under `reveal`: the side that learns, and
/// the initiator when both learn.
#[must_use]
pub fn is_oprf_receiver(reveal: Reveal, role: Role) -> bool {
    match reveal {
        Reveal::Initiator | Reveal::Both => role == Role::Initiator,
        Reveal::Responder => role == Role::Responder,
    }
}
