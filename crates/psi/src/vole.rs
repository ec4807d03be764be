//! The VOLE protocol (`vole-okvs-iknp512`, semi-honest): PSI from an oblivious PRF
//! built, as in Rindal–Raghuraman "Blazing Fast PSI" (RR22), from an OKVS and a
//! vector-OLE correlation, with no group operation per item.
//!
//! The learner (the *OPRF receiver*; the initiator when both learn) encodes
//! `{x ↦ h(x)}` into a random-band OKVS `P`. An OT extension keyed by 512 base OTs
//! on ristretto255 gives the two sides a VOLE over `GF(2)^512`: the receiver holds
//! `T`, the sender holds `s` and `Q = T ⊕ (P ∧ s)` row by row. The sender's OPRF is
//! `F(y) = H(Decode(Q, y) ⊕ (h(y) ∧ s))`; for the receiver's items it equals
//! `H(Decode(T, x))`, which the receiver computes alone. The sender sends `F(y)` of
//! its items, truncated to the session's comparison length, in a secret order; the
//! receiver compares. When both learn, the receiver reports the matched positions.
//!
//! This is the PaXoS-style VOLE (IKNP, Pinkas–Rosulek–Trieu–Yanai 2020) under RR22's
//! OPRF. RR22 proper, with a silent VOLE over `GF(2^128)` (16 instead of 64 bytes
//! per OKVS row), is [`crate::rr22`], which `--protocol vole` runs; this protocol
//! stays in the library.
//!
//! Cardinality mode is refused: the OPRF receiver computes its own outputs in its
//! own order, so it would learn which of its rows matched, which cardinality mode
//! must hide. Byte for byte: `docs/protocol.md`, "VOLE protocol".

pub(crate) mod ext;
pub mod floor;
pub mod hash;
pub(crate) mod items;
mod message;
pub(crate) mod okvs;
pub(crate) mod ot;
pub mod params;
mod receiver;
mod sender;
pub(crate) mod transpose;

use rand::rngs::{StdRng, SysRng};
use rand::{SeedableRng, TryRng};
use zeroize::Zeroizing;

pub use message::{
    VOLE_HEADER_LEN, VOLE_KIND_CHOICES, VOLE_KIND_MASKED, VOLE_KIND_MATCHED, VOLE_KIND_OUTPUTS,
    VOLE_KIND_START, VoleMessage,
};

use crate::protocol::{Outgoing, Protocol, ProtocolSetup, StageItems};
use crate::{Mode, Outcome, PreparedSet, PsiError, Reveal, Role, SessionConfig};
use receiver::Receiver;
use sender::Sender;

/// The protocol's name in the hello.
pub const VOLE_PROTOCOL_ID: &str = "vole-okvs-iknp512";

/// Whether `role` is the OPRF receiver under `reveal`: the side that learns, and
/// the initiator when both learn.
#[must_use]
pub fn is_oprf_receiver(reveal: Reveal, role: Role) -> bool {
    match reveal {
        Reveal::Initiator | Reveal::Both => role == Role::Initiator,
        Reveal::Responder => role == Role::Responder,
    }
}

/// The modes this protocol runs.
#[must_use]
pub fn supports_mode(mode: Mode) -> bool {
    mode == Mode::Intersection
}

/// The VOLE protocol before the handshake: our prepared set.
#[derive(Debug)]
pub struct VoleSetup {
    set: PreparedSet,
}

impl VoleSetup {
    /// The protocol over these items.
    #[must_use]
    pub fn new(set: PreparedSet) -> Self {
        VoleSetup { set }
    }

    /// Starts the protocol drawing its secrets from `rng` (for reproducible tests;
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
            Box::new(VoleParty::Receiver(Box::new(Receiver::new(
                config, self.set, &mut rng,
            )?)))
        } else {
            Box::new(VoleParty::Sender(Box::new(Sender::new(
                config, self.set, rng,
            )?)))
        })
    }
}

impl ProtocolSetup for VoleSetup {
    fn id(&self) -> &'static str {
        VOLE_PROTOCOL_ID
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

/// The longest encoded message at `batch_size`: a `Masked` chunk, a full `Outputs`
/// batch (comparison values are at most 32 bytes), a `Matched` message or a
/// `Choices` chunk, whichever is longest.
#[must_use]
pub fn max_message_len(batch_size: u32) -> usize {
    let batch = batch_size as usize;
    let payload = [
        48,
        params::CHOICES_PER_MESSAGE * 32,
        params::max_masked_payload(batch_size),
        batch * crate::POINT_LEN,
        4 + batch * 4,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    VOLE_HEADER_LEN + payload
}

/// One side of a running VOLE session.
enum VoleParty {
    Receiver(Box<Receiver>),
    Sender(Box<Sender>),
}

impl Protocol for VoleParty {
    fn poll_transmit(&mut self) -> Option<Outgoing> {
        match self {
            VoleParty::Receiver(r) => r.poll_transmit(),
            VoleParty::Sender(s) => s.poll_transmit(),
        }
    }

    fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        let message = match VoleMessage::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                // A malformed message ends the session like any other peer error.
                match self {
                    VoleParty::Receiver(r) => r.handle_failed(),
                    VoleParty::Sender(s) => s.handle_failed(),
                };
                return Err(e);
            }
        };
        match self {
            VoleParty::Receiver(r) => r.handle(message),
            VoleParty::Sender(s) => s.handle(message),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            VoleParty::Receiver(r) => r.is_finished(),
            VoleParty::Sender(s) => s.is_finished(),
        }
    }

    fn finish(self: Box<Self>) -> Result<Outcome, PsiError> {
        match *self {
            VoleParty::Receiver(r) => r.finish(),
            VoleParty::Sender(s) => s.finish(),
        }
    }
}
