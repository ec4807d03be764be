//! The silent-VOLE protocol (`vole-rr22-silent`, semi-honest): PSI from the OPRF of
//! Rindal–Raghuraman "Blazing Fast PSI from Improved OKVS and Subfield VOLE"
//! (RR22, CCS 2022, §4) over `GF(2^128)`, with no group operation per item.
//!
//! The learner (the *OPRF receiver*; the initiator when both learn) encodes
//! `{x ↦ h(x)}` into a random-band OKVS `P` over `GF(2^128)`. A silent VOLE
//! ([`crate::silent`]: 128 base OTs on ristretto255, a correlated-OT extension, GGM
//! trees and an expand-convolute code) gives it `A`, `C` and the sender `Δ`, `B`
//! with `C = B ⊕ A ⊗ Δ`. It sends `A' = P ⊕ A` (16 bytes per OKVS column); the
//! sender sets `K = B ⊕ A' ⊗ Δ` and sends `F(y) = H(Decode(K, y) ⊕ Δ ⊗ h(y))` for its
//! items, truncated to the session's comparison length, in a secret order; the
//! receiver compares with `H(Decode(C, x))`. When both learn, the receiver reports
//! the matched positions.
//!
//! The OPRF receiver computes its own outputs in its own order, so it would learn
//! *which* rows matched; cardinality mode therefore adds cuckoo bins, an OPPRF and
//! an oblivious shuffle after the OPRF ([`cardinality`]). Byte for byte:
//! `docs/protocol.md`, "Silent VOLE protocol".

pub mod cardinality;
mod compare;
pub mod floor;
pub mod hash;
mod message;
pub mod params;
mod receiver;
mod sender;

use rand::rngs::{StdRng, SysRng};
use rand::{SeedableRng, TryRng};
use zeroize::Zeroizing;

pub use message::{
    RR22_HEADER_LEN, RR22_KIND_CHOICES, RR22_KIND_COLUMNS, RR22_KIND_COUNTS, RR22_KIND_MASKED,
    RR22_KIND_MASKS, RR22_KIND_MATCHED, RR22_KIND_OUTPUTS, RR22_KIND_SHUFFLE, RR22_KIND_START,
    RR22_KIND_TABLE, RR22_KIND_TREES, Rr22Message,
};

use crate::protocol::{Outgoing, Protocol, ProtocolSetup, StageItems};
use crate::vole::is_oprf_receiver;
use crate::{Mode, Outcome, PreparedSet, PsiError, SessionConfig};
use receiver::Receiver;
use sender::Sender;

/// The protocol's name in the hello.
pub const RR22_PROTOCOL_ID: &str = "vole-rr22-silent";

/// The modes this protocol runs: intersection and cardinality.
#[must_use]
pub fn supports_mode(mode: Mode) -> bool {
    matches!(mode, Mode::Intersection | Mode::Cardinality)
}

/// The silent-VOLE protocol before the handshake: our prepared set.
#[derive(Debug)]
pub struct Rr22Setup {
    set: PreparedSet,
}

impl Rr22Setup {
    /// The protocol over these items.
    #[must_use]
    pub fn new(set: PreparedSet) -> Self {
        Rr22Setup { set }
    }

    /// Starts the protocol drawing its secrets from `seed` (for reproducible tests;
    /// [`ProtocolSetup::start`] uses the operating system's generator).
    ///
    /// # Errors
    /// As [`ProtocolSetup::start`].
    pub fn start_with_seed(
        self,
        config: SessionConfig,
        seed: [u8; 32],
    ) -> Result<Box<dyn Protocol>, PsiError> {
        config.validate()?;
        if !supports_mode(config.mode) {
            return Err(PsiError::UnsupportedMode {
                mode: config.mode.name(),
            });
        }
        let mut rng = StdRng::from_seed(seed);
        Ok(if is_oprf_receiver(config.reveal, config.role) {
            Box::new(Rr22Party::Receiver(Box::new(Receiver::new(
                config, self.set, &mut rng,
            )?)))
        } else {
            Box::new(Rr22Party::Sender(Box::new(Sender::new(
                config, self.set, rng,
            )?)))
        })
    }
}

impl ProtocolSetup for Rr22Setup {
    fn id(&self) -> &'static str {
        RR22_PROTOCOL_ID
    }

    fn params(&self) -> Vec<u8> {
        params::params_bytes()
    }

    fn declared_size(&self) -> u64 {
        self.set.declared_size()
    }

    fn identifier_types(&self) -> Vec<String> {
        self.set.identifier_types().to_vec()
    }

    fn type_sizes(&self) -> Vec<(String, u64)> {
        self.set.type_sizes()
    }

    fn max_message_len(&self, batch_size: u32) -> usize {
        max_message_len(batch_size)
    }

    fn start(self: Box<Self>, config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        SysRng
            .try_fill_bytes(&mut seed[..])
            .map_err(PsiError::Rng)?;
        self.start_with_seed(config, *seed)
    }
}

/// The longest encoded message at `batch_size`: base-OT points, a chunk of
/// columns or masked rows, a `Trees` chunk, a full `Outputs` batch (comparison
/// values are at most 32 bytes), a `Matched` message, or in cardinality mode a
/// `Table` chunk, a shuffle message or a `Masks` batch, whichever is longest.
#[must_use]
pub fn max_message_len(batch_size: u32) -> usize {
    let batch = batch_size as usize;
    let payload = [
        48,
        params::BASE_OTS * 32,
        params::max_row_payload(batch_size),
        params::max_trees_payload(),
        batch * crate::POINT_LEN,
        4 + batch * 4,
        16 + params::max_row_payload(batch_size),
        crate::osn::max_payload_len(batch_size, cardinality::MAX_WIDTH),
        batch * cardinality::MAX_WIDTH,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    RR22_HEADER_LEN + payload
}

/// One side of a running silent-VOLE session.
enum Rr22Party {
    Receiver(Box<Receiver>),
    Sender(Box<Sender>),
}

impl Protocol for Rr22Party {
    fn poll_transmit(&mut self) -> Option<Outgoing> {
        match self {
            Rr22Party::Receiver(r) => r.poll_transmit(),
            Rr22Party::Sender(s) => s.poll_transmit(),
        }
    }

    fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        let message = match Rr22Message::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                // A malformed message ends the session like any other peer error.
                match self {
                    Rr22Party::Receiver(r) => r.handle_failed(),
                    Rr22Party::Sender(s) => s.handle_failed(),
                };
                return Err(e);
            }
        };
        match self {
            Rr22Party::Receiver(r) => r.handle(message),
            Rr22Party::Sender(s) => s.handle(message),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            Rr22Party::Receiver(r) => r.is_finished(),
            Rr22Party::Sender(s) => s.is_finished(),
        }
    }

    fn finish(self: Box<Self>) -> Result<Outcome, PsiError> {
        match *self {
            Rr22Party::Receiver(r) => r.finish(),
            Rr22Party::Sender(s) => s.finish(),
        }
    }
}
