//! What a side brings to the handshake: its [`SessionParams`] (mode, reveal, types,
//! profile, batch size), its [`Policy`], [`Learner`] (who learns, in the side's own
//! words), and the [`Offer`] its protocol makes in the hello.

use blindmatch_psi::protocol::{MAX_PROTOCOL_PARAMS_LEN, valid_protocol_id};
use blindmatch_psi::{
    MAX_BATCH_SIZE, MAX_SET_SIZE, Mode, ParamsCheck, ProtocolSetup, Reveal, Role,
};

use crate::frame::{
    MAX_FRAME_LEN, MAX_HELLO_ID_TYPES, MAX_ID_TYPE_LEN, MAX_PROFILE_LEN, MIN_FRAME_LEN,
};
use rand::TryRng;
use rand::rngs::SysRng;

use crate::{NetError, SessionOptions};

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
    /// No minimum, the protocol's largest set as the maximum, every mode allowed.
    fn default() -> Self {
        Self {
            min_peer_set: 0,
            max_peer_set: MAX_SET_SIZE,
            allowed_modes: Mode::ALL.to_vec(),
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
    /// What a side in `role` says for the absolute setting `reveal`: the inverse of
    /// [`Learner::to_reveal`].
    #[must_use]
    pub fn of(reveal: Reveal, role: Role) -> Learner {
        match reveal {
            Reveal::Both => Learner::Both,
            r if r.learns(role) => Learner::Me,
            _ => Learner::Peer,
        }
    }

    /// The word `--reveal` takes for this setting: `me`, `peer` or `both`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Learner::Me => "me",
            Learner::Peer => "peer",
            Learner::Both => "both",
        }
    }

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
    /// Identifier types (matching rules) the items use, in priority order (e.g.
    /// `["phone"]`, or `["phone", "email", "name+company"]`); must equal the peer's,
    /// order included. Every type in the prepared set must be listed, once.
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
        if let Some((i, t)) = self
            .id_types
            .iter()
            .enumerate()
            .find(|(i, t)| self.id_types.iter().skip(i + 1).any(|u| u == *t))
        {
            return bad(format!(
                "identifier type {t:?} is declared twice (entry {})",
                i + 1
            ));
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
    /// Distinct items per identifier type, as the setup counted them.
    pub(crate) type_sizes: Vec<(String, u64)>,
    /// How the peer's protocol parameters are checked against ours.
    pub(crate) params_check: ParamsCheck,
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
            type_sizes: setup.type_sizes(),
            params_check: setup.params_check(),
            fixed_hello: None,
        }
    }

    /// Our sizes for the declared types, in their order (0 for a type we hold none
    /// of).
    pub(crate) fn sizes_for(&self, id_types: &[String]) -> Vec<u64> {
        id_types
            .iter()
            .map(|t| {
                self.type_sizes
                    .iter()
                    .find(|(n, _)| n == t)
                    .map_or(0, |(_, c)| *c)
            })
            .collect()
    }

    /// The hello's nonce and software string: fresh from the OS generator and this
    /// build's, unless fixed for a test vector.
    pub(crate) fn nonce_and_implementation(&self) -> Result<([u8; 32], String), NetError> {
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
