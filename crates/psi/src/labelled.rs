//! Labelled mode (`oprf-labels-ristretto255`): the releasing side (sender) names
//! columns; the learning side (learner) gets their values for its matched rows and
//! nothing about the sender's other rows beyond the set sizes.
//!
//! An OPRF-style flow on ristretto255: the learner sends `a·H(x)`, the sender returns
//! `b·a·H(x)`, the learner removes `a` and holds `b·H(x)`. The sender then sends, for
//! each distinct item `y` of its set, in a secret order, a tag and a ChaCha20-Poly1305
//! ciphertext of its padded label sets, both derived (HKDF-SHA256, salted with the
//! session context) from `b·H(y)`; the learner matches tags and decrypts. Raw points
//! of the sender's set are never sent, and every ciphertext has the same size.
//! Byte-for-byte: `docs/protocol.md`, "Labelled mode".

mod keys;
mod learner;
mod message;
mod params;
mod sender;
mod table;

use std::fmt;

use curve25519_dalek::Scalar;
use rand::rngs::{StdRng, SysRng};
use rand::{CryptoRng, SeedableRng, TryRng};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use keys::{AAD_LABEL, AEAD_TAG_LEN, HANDLE_LABEL, KEY_INFO, TAG_INFO};
pub use message::{
    LABELLED_HEADER_LEN, LABELLED_KIND_BLINDED, LABELLED_KIND_ENTRIES, LABELLED_KIND_EVALUATED,
    LabelledMessage,
};
pub use params::LabelColumn;
pub use table::LabelTable;

use crate::config::POINT_LEN;
use crate::items::Parts;
use crate::protocol::{Outgoing, ParamsCheck, Protocol, ProtocolSetup, StageItems};
use crate::{Mode, Outcome, PreparedSet, PsiError, SessionConfig};
use keys::Layout;
use params::Params;

/// The protocol's name in the hello.
pub const LABELLED_PROTOCOL_ID: &str = "oprf-labels-ristretto255";
/// Most released columns.
pub const MAX_LABEL_COLUMNS: usize = 16;
/// Most bytes of one label value (per column).
pub const MAX_LABEL_BYTES: u32 = 1024;
/// The highest cap on label sets per identifier a user may set.
pub const MAX_LABELS_PER_ID: u32 = 256;
/// Most bytes of one entry's padded plaintext (`2 + cap × slot`): keeps one entry,
/// and so every `Entries` message, well inside the transport's frame limit.
pub const MAX_PADDED_LABELS_LEN: usize = 1 << 20;
/// Bytes of entries one `Entries` message carries at most (unless a single entry is
/// larger, which [`MAX_PADDED_LABELS_LEN`] keeps below this): `Entries` messages hold
/// `clamp(budget / entry_len, 1, batch_size)` entries.
pub const ENTRY_MESSAGE_BUDGET: usize = 2 << 20;

/// Which side a setup is, with what only that side holds.
enum Side {
    Learner,
    Sender {
        columns: Vec<LabelColumn>,
        labels: LabelTable,
    },
}

/// The labelled protocol before the handshake. `Debug` shows sizes and column
/// names only.
pub struct LabelledSetup {
    side: Side,
    cap: u32,
    parts: Parts,
    declared: u64,
    types: Vec<String>,
    type_sizes: Vec<(String, u64)>,
    /// Sender: the most rows (label sets) of one identifier in its input.
    most: u64,
}

impl fmt::Debug for LabelledSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("LabelledSetup");
        match &self.side {
            Side::Learner => d.field("side", &"learner"),
            Side::Sender { columns, labels } => d
                .field("side", &"sender")
                .field(
                    "columns",
                    &columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                )
                .field("labelled_rows", &labels.len()),
        };
        d.field("max_labels_per_id", &self.cap)
            .field("distinct", &self.declared)
            .finish_non_exhaustive()
    }
}

impl LabelledSetup {
    /// The learning side: its items only. `max_labels_per_id` in
    /// `1..=MAX_LABELS_PER_ID` (both sides must declare the same).
    ///
    /// # Errors
    ///
    /// [`PsiError::InvalidLabelsPerId`] for a cap out of range.
    pub fn learner(set: PreparedSet, max_labels_per_id: u32) -> Result<Self, PsiError> {
        check_cap(max_labels_per_id)?;
        Ok(Self::build(Side::Learner, set, max_labels_per_id))
    }

    /// The releasing side: its items, the released columns and each row's values.
    ///
    /// # Errors
    ///
    /// [`PsiError::InvalidLabelsPerId`] for a cap out of range;
    /// [`PsiError::InvalidLabelColumns`] for a bad column list (or a table built for
    /// other columns). A distinct item with more rows than the cap is no error
    /// here: the hello says the input does not fit, and both sides refuse the
    /// session in the handshake ([`LabelledSetup::most_labels_per_id`] tells the
    /// caller before it connects);
    /// [`PsiError::MissingLabels`] for a row of the set without values in the table.
    pub fn sender(
        set: PreparedSet,
        columns: Vec<LabelColumn>,
        labels: LabelTable,
        max_labels_per_id: u32,
    ) -> Result<Self, PsiError> {
        check_cap(max_labels_per_id)?;
        params::validate_columns(&columns, max_labels_per_id).map_err(params::columns_error)?;
        if !labels
            .max_bytes()
            .iter()
            .copied()
            .eq(columns.iter().map(|c| c.max_bytes))
        {
            return Err(PsiError::InvalidLabelColumns {
                reason: "the label table was built for other columns",
            });
        }
        let setup = Self::build(Side::Sender { columns, labels }, set, max_labels_per_id);
        let most = setup
            .parts
            .row_offsets
            .windows(2)
            .map(|w| w.get(1).zip(w.first()).map_or(0, |(e, s)| e - s))
            .max()
            .unwrap_or(0) as u64;
        let mut setup = setup;
        setup.most = most;
        if let Side::Sender { labels, .. } = &setup.side
            && let Some(&row) = setup.parts.rows.iter().find(|&&r| labels.get(r).is_none())
        {
            return Err(PsiError::MissingLabels { row });
        }
        Ok(setup)
    }

    fn build(side: Side, set: PreparedSet, cap: u32) -> Self {
        let declared = set.declared_size();
        let types = set.identifier_types().to_vec();
        let type_sizes = set.type_sizes();
        LabelledSetup {
            side,
            cap,
            parts: set.into_parts(),
            declared,
            types,
            type_sizes,
            most: 0,
        }
    }

    /// The releasing side: the most rows (label sets) one identifier of its input
    /// has (0 for the learner). Above the cap, the hello says so and both sides
    /// refuse the session in the handshake; callers may warn before connecting.
    #[must_use]
    pub fn most_labels_per_id(&self) -> u64 {
        self.most
    }

    fn encoded_params(&self) -> Vec<u8> {
        Params {
            max_labels_per_id: self.cap,
            columns: match &self.side {
                Side::Learner => None,
                Side::Sender { columns, .. } => Some(columns.clone()),
            },
            fits: self.most <= u64::from(self.cap),
        }
        .encode()
    }

    /// [`ProtocolSetup::start`] with every secret (OPRF key, orders, handle key)
    /// drawn from a generator seeded with `seed`: for reproducible tests and the
    /// published test vectors only. A real session uses `start` (OS randomness).
    ///
    /// # Errors
    ///
    /// As [`ProtocolSetup::start`].
    pub fn start_seeded(
        self,
        config: SessionConfig,
        seed: [u8; 32],
    ) -> Result<Box<dyn Protocol>, PsiError> {
        let mut rng = StdRng::from_seed(seed);
        self.start_with(config, &mut rng)
    }

    fn start_with<R: CryptoRng + ?Sized>(
        self,
        config: SessionConfig,
        rng: &mut R,
    ) -> Result<Box<dyn Protocol>, PsiError> {
        config.validate()?;
        if config.mode != Mode::Labelled {
            return Err(PsiError::UnsupportedMode {
                mode: config.mode.name(),
            });
        }
        let i_learn = config.i_learn();
        let peer_learns = config.peer_learns();
        match self.side {
            Side::Learner if !i_learn || peer_learns => {
                return Err(PsiError::LabelledRoles {
                    reason: "the side receiving labels must be the only one that learns",
                });
            }
            Side::Sender { .. } if i_learn || !peer_learns => {
                return Err(PsiError::LabelledRoles {
                    reason: "the releasing side must not learn, and the other side must",
                });
            }
            _ => {}
        }
        if self.declared != config.local_count {
            return Err(PsiError::LocalCountMismatch {
                configured: config.local_count,
                actual: self.declared,
            });
        }
        let ours = self.encoded_params();
        params::check(&ours, &config.peer_params)
            .map_err(|reason| PsiError::LabelledParams { reason })?;
        let type_of: Vec<u16> = self
            .parts
            .keys
            .iter()
            .map(|k| crate::items::split_key(k).0)
            .collect();
        match self.side {
            Side::Learner => {
                let layout = Layout::new(
                    &config.peer_params,
                    &config.context,
                    config.local_count,
                    config.peer_count,
                    config.batch_size,
                )?;
                let (secret, mut order_rng) = learner::draw(rng)?;
                let order = crate::ecdh::groups::own_order(
                    &config.groups,
                    &self.parts.types,
                    &type_of,
                    &mut order_rng,
                )?;
                Ok(Box::new(Running::Learner(learner::Learner::new(
                    config, self.parts, layout, secret, order,
                )?)))
            }
            Side::Sender { labels, .. } => {
                let layout = Layout::new(
                    &ours,
                    &config.context,
                    config.peer_count,
                    config.local_count,
                    config.batch_size,
                )?;
                // Only to check the groups against our set: the sender's entries go
                // out in one shuffle over the whole set.
                crate::ecdh::groups::own_order(
                    &config.groups,
                    &self.parts.types,
                    &type_of,
                    &mut StdRng::from_seed([0; 32]),
                )?;
                let (secret, order_seed) = sender::draw(rng)?;
                Ok(Box::new(Running::Sender(sender::Sender::new(
                    config, self.parts, labels, layout, secret, order_seed,
                )?)))
            }
        }
    }
}

fn check_cap(cap: u32) -> Result<(), PsiError> {
    if cap == 0 || cap > MAX_LABELS_PER_ID {
        Err(PsiError::InvalidLabelsPerId {
            value: cap,
            max: MAX_LABELS_PER_ID,
        })
    } else {
        Ok(())
    }
}

/// A fresh secret scalar, halved (see `ecdh/party.rs`: every multiplication is
/// followed by `double_and_compress_batch`).
fn draw_half_key<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<Scalar, PsiError> {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(&mut wide[..]);
    let key = Zeroizing::new(Scalar::from_bytes_mod_order_wide(&wide));
    if bool::from(key.ct_eq(&Scalar::ZERO)) {
        return Err(PsiError::BadRandomness);
    }
    Ok(key.div_by_2())
}

impl ProtocolSetup for LabelledSetup {
    fn id(&self) -> &'static str {
        LABELLED_PROTOCOL_ID
    }

    fn params(&self) -> Vec<u8> {
        self.encoded_params()
    }

    fn params_check(&self) -> ParamsCheck {
        params::check
    }

    fn declared_size(&self) -> u64 {
        self.declared
    }

    fn identifier_types(&self) -> Vec<String> {
        self.types.clone()
    }

    fn type_sizes(&self) -> Vec<(String, u64)> {
        self.type_sizes.clone()
    }

    fn max_message_len(&self, batch_size: u32) -> usize {
        LABELLED_HEADER_LEN + (batch_size as usize * POINT_LEN).max(ENTRY_MESSAGE_BUDGET)
    }

    fn start(self: Box<Self>, config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        SysRng
            .try_fill_bytes(&mut seed[..])
            .map_err(PsiError::Rng)?;
        let mut rng = StdRng::from_seed(*seed);
        self.start_with(config, &mut rng)
    }
}

/// A started labelled session, either side.
enum Running {
    Learner(learner::Learner),
    Sender(sender::Sender),
}

impl Protocol for Running {
    fn poll_transmit(&mut self) -> Option<Outgoing> {
        match self {
            Running::Learner(l) => l.poll_transmit(),
            Running::Sender(s) => s.poll_transmit(),
        }
    }

    fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        match self {
            Running::Learner(l) => l.handle(payload),
            Running::Sender(s) => s.handle(payload),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            Running::Learner(l) => l.is_finished(),
            Running::Sender(s) => s.is_finished(),
        }
    }

    fn finish(self: Box<Self>) -> Result<Outcome, PsiError> {
        match *self {
            Running::Learner(l) => l.finish(),
            Running::Sender(s) => s.finish(),
        }
    }
}
