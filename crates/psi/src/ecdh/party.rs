//! [`Party`]: one side of an ECDH-PSI session as a sans-IO state machine.
//!
//! A party owns its secret scalar, its items (raw values dropped batch by batch as they
//! are blinded), the peer's doubly blinded points if it learns, and the responses it
//! owes the peer. Work inside a call runs on the current rayon pool.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;

use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use rand::rngs::{StdRng, SysRng};

use rand::{CryptoRng, Rng, SeedableRng, TryRng};
use rayon::prelude::*;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

mod hashers;
mod learn;

use hashers::{HasherRef, Hashers};
use learn::{FirstResult, KeepPeer};

use super::batch::{batch_len, batch_range, check_point_batch, chunk_len, prealloc};
use super::compare::Rows;
use super::groups;
use super::result::Incoming;
use crate::config::batch_count;
use crate::ecdh::hash::IdentifierHasher;
use crate::error::Pending;
use crate::items::split_key;
use crate::{
    MatchResult, Message, MessageKind, Mode, Outcome, PreparedSet, PsiError, SessionConfig,
    TypeMatches,
};

/// Secret random material of one party for one session. Zeroised on drop; no `Clone`,
/// no `Serialize`, and `Debug` prints nothing of it.
#[derive(Zeroize, ZeroizeOnDrop)]
struct SessionSecret {
    /// `k / 2`: every multiplication is followed by `double_and_compress_batch`, which
    /// doubles, so the encodings come out as `k·P`.
    half_key: Scalar,
    /// Seeds the whole-set shuffle of cardinality-mode responses.
    shuffle_seed: [u8; 32],
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSecret").finish_non_exhaustive()
    }
}

/// Bytes of randomness a party draws: 64 for the scalar, 32 for the order of its own
/// items (and, from that generator, the response shuffle seed).
const SEED_LEN: usize = 96;

/// How far a session has come, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Own `Blinded` batches handed out by `poll_transmit`.
    pub own_batches_sent: u32,
    /// Own `Blinded` batches in total.
    pub own_batches_total: u32,
    /// Peer `Blinded` batches handled.
    pub peer_batches_received: u32,
    /// Peer `Blinded` batches in total.
    pub peer_batches_total: u32,
    /// `Reblinded` batches handled (0 if we do not learn).
    pub reblinded_received: u32,
    /// `Reblinded` batches expected (0 if we do not learn).
    pub reblinded_total: u32,
}

/// Cardinality-mode responses: the peer's doubly blinded values, shuffled over the
/// whole set, handed out one batch at a time.
struct ShuffledResponses {
    values: Vec<u8>,
    next_batch: u32,
    total_batches: u32,
}

/// One side of a PSI session. Drive it with [`Party::poll_transmit`] and
/// [`Party::handle`] until [`Party::is_finished`], then call [`Party::finish`].
///
/// Any error from `handle` is final: later calls return [`PsiError::Aborted`] and
/// `poll_transmit` returns `None`.
pub struct Party {
    config: SessionConfig,
    secret: SessionSecret,
    cmp_len: usize,
    /// Per identifier type (index as in the prepared set).
    hashers: Hashers,
    /// Own items in sending order, as prepared-set keys (type index ‖ value). Wiped
    /// and dropped as their batch is blinded.
    own_items: Vec<(HasherRef, Box<[u8]>)>,
    /// Sending position → distinct index (for rows).
    own_order: Vec<u32>,
    /// Position ranges of the agreed type groups in our sending order.
    own_bounds: Vec<Range<usize>>,
    /// Position ranges of the peer's type groups in its sending order.
    peer_bounds: Vec<Range<usize>>,
    row_offsets: Vec<usize>,
    rows: Vec<u64>,
    own_total: u32,
    own_sent: u32,
    peer_total: u32,
    peer_received: u32,
    /// What of the peer's items we keep.
    keep_peer: KeepPeer,
    /// Learner: the peer's items doubly blinded, full encodings.
    peer_double: Vec<[u8; 32]>,
    /// First learner when both learn (intersection): the same, with positions.
    peer_double_at: Vec<([u8; 32], u32)>,
    /// Intersection-mode responses waiting for `poll_transmit`.
    outbox: VecDeque<Message>,
    /// Cardinality mode, peer learns: truncated values collected before the shuffle.
    card_buffer: Vec<u8>,
    card_responses: Option<ShuffledResponses>,
    /// Learner: our own items doubly blinded, truncated, as returned by the peer.
    returned: Vec<u8>,
    returned_batches: u32,
    /// Both learn, first learner: our result once computed, and its messages for
    /// the peer not yet handed out.
    first_result: Option<FirstResult>,
    result_out: VecDeque<Message>,
    /// Both learn, first learner: result messages handed out.
    result_sent: u32,
    /// Both learn, second learner: the first learner's result so far.
    incoming: Incoming,
    failed: bool,
}

impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Party")
            .field("config", &self.config)
            .field("progress", &self.progress())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Party {
    /// Starts a session with a fresh secret scalar and item order from the operating
    /// system's random number generator.
    ///
    /// # Errors
    ///
    /// [`PsiError::Rng`] if the OS generator fails; otherwise as [`Party::with_rng`].
    pub fn new(config: SessionConfig, items: PreparedSet) -> Result<Party, PsiError> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        SysRng
            .try_fill_bytes(&mut seed[..])
            .map_err(PsiError::Rng)?;
        Party::from_seed(config, items, &seed)
    }

    /// Starts a session drawing its secrets from `rng` (for reproducible tests; use
    /// [`Party::new`] otherwise).
    ///
    /// # Errors
    ///
    /// [`PsiError::InvalidBatchSize`] or [`PsiError::SetTooLarge`] for a bad
    /// configuration, [`PsiError::LocalCountMismatch`] if `config.local_count` is not
    /// `items.declared_size()`, [`PsiError::BadRandomness`] if the generator produced a
    /// zero scalar.
    pub fn with_rng<R: CryptoRng + ?Sized>(
        config: SessionConfig,
        items: PreparedSet,
        rng: &mut R,
    ) -> Result<Party, PsiError> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        rng.fill_bytes(&mut seed[..]);
        Party::from_seed(config, items, &seed)
    }

    fn from_seed(
        config: SessionConfig,
        items: PreparedSet,
        seed: &[u8; SEED_LEN],
    ) -> Result<Party, PsiError> {
        config.validate()?;
        if config.mode == Mode::Labelled {
            return Err(PsiError::UnsupportedMode {
                mode: Mode::Labelled.name(),
            });
        }
        let actual = items.declared_size();
        if actual != config.local_count {
            return Err(PsiError::LocalCountMismatch {
                configured: config.local_count,
                actual,
            });
        }
        let (key_bytes, order_seed) = seed.split_at(64);
        let mut wide = Zeroizing::new([0u8; 64]);
        wide.copy_from_slice(key_bytes);
        let mut key = Zeroizing::new(Scalar::from_bytes_mod_order_wide(&wide));
        if bool::from(key.ct_eq(&Scalar::ZERO)) {
            return Err(PsiError::BadRandomness);
        }
        let mut secret = SessionSecret {
            half_key: key.div_by_2(),
            shuffle_seed: [0u8; 32],
        };
        key.zeroize();

        let mut order_rng_seed = Zeroizing::new([0u8; 32]);
        order_rng_seed.copy_from_slice(order_seed);
        let mut order_rng = StdRng::from_seed(*order_rng_seed);
        order_rng.fill_bytes(&mut secret.shuffle_seed);

        let parts = items.into_parts();
        let hashers = Hashers(
            parts
                .types
                .iter()
                .map(|t| IdentifierHasher::new(t, &config.context))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let type_of: Vec<u16> = parts.keys.iter().map(|k| split_key(k).0).collect();
        let groups::Order {
            order: own_order,
            bounds: own_bounds,
        } = groups::own_order(&config.groups, &parts.types, &type_of, &mut order_rng)?;
        drop(type_of);
        let mut keys: Vec<Option<Box<[u8]>>> = parts.keys.into_iter().map(Some).collect();
        let mut own_items = Vec::with_capacity(keys.len());
        for &i in &own_order {
            if let Some(key) = keys.get_mut(i as usize).and_then(Option::take) {
                let hasher = hashers.check(split_key(&key).0)?;
                own_items.push((hasher, key));
            }
        }
        drop(keys);
        let peer_bounds = groups::peer_bounds(&config.groups, config.peer_count);

        let cmp_len = config.comparison_len();
        let own_total = batch_count(config.local_count, config.batch_size);
        let peer_total = batch_count(config.peer_count, config.batch_size);
        let keep_peer = KeepPeer::for_config(&config);
        let i_compare = config.i_compare();
        let peer_compares = config.peer_compares();
        Ok(Party {
            secret,
            cmp_len,
            hashers,
            own_items,
            own_order,
            own_bounds,
            peer_bounds,
            row_offsets: parts.row_offsets,
            rows: parts.rows,
            own_total,
            own_sent: 0,
            peer_total,
            peer_received: 0,
            // The peer's count is only its word: reserve a bounded amount up front and
            // grow as its items actually arrive.
            keep_peer,
            peer_double: if keep_peer == KeepPeer::Points {
                Vec::with_capacity(prealloc(config.peer_count))
            } else {
                Vec::new()
            },
            peer_double_at: if keep_peer == KeepPeer::WithPositions {
                Vec::with_capacity(prealloc(config.peer_count))
            } else {
                Vec::new()
            },
            outbox: VecDeque::new(),
            card_buffer: if peer_compares && config.mode == Mode::Cardinality {
                Vec::with_capacity(prealloc(config.peer_count) * cmp_len)
            } else {
                Vec::new()
            },
            card_responses: None,
            returned: if i_compare {
                Vec::with_capacity(config.local_count as usize * cmp_len)
            } else {
                Vec::new()
            },
            returned_batches: 0,
            first_result: None,
            result_out: VecDeque::new(),
            result_sent: 0,
            incoming: Incoming::default(),
            failed: false,
            config,
        })
    }

    /// The session configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Items of the peer's `Blinded` batch `batch`.
    pub(crate) fn peer_batch_len(&self, batch: u32) -> u64 {
        batch_len(batch, self.config.batch_size, self.config.peer_count) as u64
    }

    /// Bytes per doubly blinded value in `Reblinded` messages.
    #[must_use]
    pub fn comparison_len(&self) -> usize {
        self.cmp_len
    }

    /// Counters for progress reporting.
    #[must_use]
    pub fn progress(&self) -> Progress {
        let i_learn = self.config.i_compare();
        Progress {
            own_batches_sent: self.own_sent,
            own_batches_total: self.own_total,
            peer_batches_received: self.peer_received,
            peer_batches_total: self.peer_total,
            reblinded_received: self.returned_batches,
            reblinded_total: if i_learn { self.own_total } else { 0 },
        }
    }

    /// The next message to send, if one is ready: first any responses owed to the peer,
    /// then our next own batch (hashed and blinded during this call), then, when both
    /// learn and we learn first, our result for the peer (compared during the call
    /// that finds everything in). `None` means nothing can be sent until more peer
    /// messages arrive (or ever, once finished, or after an error). Never blocks.
    pub fn poll_transmit(&mut self) -> Option<Message> {
        if self.failed {
            return None;
        }
        if let Some(m) = self.outbox.pop_front() {
            return Some(m);
        }
        if let Some(m) = self.next_shuffled_response() {
            return Some(m);
        }
        if self.own_sent < self.own_total {
            return Some(self.blind_own_batch());
        }
        if self.sends_result() && self.first_result.is_none() && self.compare_ready() {
            self.compare_first();
        }
        let m = self.result_out.pop_front()?;
        self.result_sent += 1;
        Some(m)
    }

    /// Whether the party still expects messages from the peer.
    #[must_use]
    pub fn needs_input(&self) -> bool {
        !self.failed
            && (self.peer_received < self.peer_total
                || (self.config.i_compare() && self.returned_batches < self.own_total)
                || (self.gets_result() && self.incoming.received < self.result_total()))
    }

    /// Whether everything has been sent and received, so [`Party::finish`] will succeed.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        !self.failed && self.pending().is_none()
    }

    /// Processes one message from the peer.
    ///
    /// # Errors
    ///
    /// A typed error naming the batch (and index for a bad point) for anything an
    /// honest peer would not send: [`PsiError::InvalidPoint`],
    /// [`PsiError::WrongBatchLength`], [`PsiError::DuplicateBatch`],
    /// [`PsiError::BatchOutOfOrder`], [`PsiError::TooManyItems`],
    /// [`PsiError::ReblindedNotSent`], [`PsiError::MessageNotAllowed`],
    /// [`PsiError::InconsistentResult`]; [`PsiError::Aborted`] after an earlier error.
    /// Any error ends the session.
    pub fn handle(&mut self, message: Message) -> Result<(), PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        let result = match message {
            Message::Blinded { batch, points } => self.handle_blinded(batch, &points),
            Message::Reblinded { batch, values } => self.handle_reblinded(batch, &values),
            m @ (Message::Matches { .. } | Message::Counts { .. }) => self.handle_result(m),
        };
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Ends the session and computes what this party learns.
    ///
    /// # Errors
    ///
    /// [`PsiError::Incomplete`] if messages are still to be sent or received,
    /// [`PsiError::Aborted`] after an earlier error.
    pub fn finish(self) -> Result<Outcome, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        if let Some(pending) = self.pending() {
            return Err(PsiError::Incomplete { pending });
        }
        let mut outcome = Outcome {
            role: self.config.role,
            mode: self.config.mode,
            local_count: self.config.local_count,
            peer_count: self.config.peer_count,
            comparison_len: self.cmp_len,
            result: MatchResult::NotRevealed,
            per_type: self
                .config
                .groups
                .iter()
                .map(|g| TypeMatches {
                    id_type: g.id_type.clone(),
                    local: g.local,
                    peer: g.peer,
                    matched: None,
                })
                .collect(),
            labels: None,
        };
        if self.config.i_learn() {
            let (result, per_group) = self.learned();
            outcome.result = result;
            for (t, matched) in outcome.per_type.iter_mut().zip(per_group) {
                t.matched = Some(matched);
            }
        }
        Ok(outcome)
    }

    fn pending(&self) -> Option<Pending> {
        if self.own_sent < self.own_total {
            return Some(Pending::OwnBatches {
                sent: self.own_sent,
                total: self.own_total,
            });
        }
        if self.peer_received < self.peer_total {
            return Some(Pending::PeerBatches {
                received: self.peer_received,
                total: self.peer_total,
            });
        }
        let queued = self.outbox.len()
            + self
                .card_responses
                .as_ref()
                .map_or(0, |r| (r.total_batches - r.next_batch) as usize);
        if queued > 0 {
            return Some(Pending::Responses { queued });
        }
        if self.config.i_compare() && self.returned_batches < self.own_total {
            return Some(Pending::Reblinded {
                received: self.returned_batches,
                total: self.own_total,
            });
        }
        if self.sends_result() && self.result_sent < self.result_total() {
            return Some(Pending::Responses {
                queued: (self.result_total() - self.result_sent) as usize,
            });
        }
        if self.gets_result() && self.incoming.received < self.result_total() {
            return Some(Pending::PeerResult {
                received: self.incoming.received,
                total: self.result_total(),
            });
        }
        None
    }

    /// Hashes, blinds and compresses our next batch, dropping its raw values.
    fn blind_own_batch(&mut self) -> Message {
        let batch = self.own_sent;
        let range = batch_range(batch, self.config.batch_size, self.own_items.len());
        let hashers = &self.hashers;
        let half_key = &self.secret.half_key;
        let items = self.own_items.get_mut(range).unwrap_or_default();
        let chunk = chunk_len(items.len());
        let points: Vec<[u8; 32]> = items
            .par_chunks_mut(chunk)
            .flat_map_iter(|chunk| {
                let blinded: Vec<RistrettoPoint> = chunk
                    .iter_mut()
                    .map(|(hasher, key)| {
                        let p = hashers.get(*hasher).hash(split_key(key).1);
                        key.zeroize();
                        *key = Box::default();
                        half_key * p
                    })
                    .collect();
                RistrettoPoint::double_and_compress_batch(&blinded)
                    .into_iter()
                    .map(|c| c.to_bytes())
            })
            .collect();
        self.own_sent += 1;
        if self.own_sent == self.own_total {
            self.own_items = Vec::new();
        }
        Message::Blinded { batch, points }
    }

    fn handle_blinded(&mut self, batch: u32, points: &[[u8; 32]]) -> Result<(), PsiError> {
        let kind = MessageKind::Blinded;
        check_point_batch(
            kind,
            batch,
            self.peer_received,
            self.peer_total,
            self.config.peer_count,
            self.config.batch_size,
            points.len(),
        )?;

        let half_key = &self.secret.half_key;
        let chunk = chunk_len(points.len());
        let chunks: Vec<Result<Vec<[u8; 32]>, usize>> = points
            .par_chunks(chunk)
            .enumerate()
            .map(|(ci, chunk_points)| {
                let mut blinded = Vec::with_capacity(chunk_points.len());
                for (j, bytes) in chunk_points.iter().enumerate() {
                    // The identity is a valid encoding but never k·H(x) for an honest
                    // peer; refusing it keeps degenerate inputs out.
                    let point = (*bytes != [0u8; 32])
                        .then(|| CompressedRistretto(*bytes).decompress())
                        .flatten()
                        .ok_or(ci * chunk + j)?;
                    blinded.push(half_key * point);
                }
                Ok(RistrettoPoint::double_and_compress_batch(&blinded)
                    .into_iter()
                    .map(|c| c.to_bytes())
                    .collect())
            })
            .collect();
        let mut doubled = Vec::with_capacity(points.len());
        for c in chunks {
            match c {
                Ok(v) => doubled.extend(v),
                Err(index) => {
                    return Err(PsiError::InvalidPoint {
                        kind,
                        batch,
                        // index < batch_size <= MAX_BATCH_SIZE
                        index: index as u32,
                    });
                }
            }
        }

        let l = self.cmp_len;
        if self.config.peer_compares() {
            match self.config.mode {
                Mode::Intersection | Mode::Labelled => {
                    let mut values = Vec::with_capacity(doubled.len() * l);
                    for d in &doubled {
                        values.extend_from_slice(d.get(..l).unwrap_or_default());
                    }
                    self.outbox.push_back(Message::Reblinded { batch, values });
                }
                Mode::Cardinality => {
                    for d in &doubled {
                        self.card_buffer
                            .extend_from_slice(d.get(..l).unwrap_or_default());
                    }
                }
            }
        }
        match self.keep_peer {
            KeepPeer::No => {}
            KeepPeer::Points => self.peer_double.extend_from_slice(&doubled),
            KeepPeer::WithPositions => {
                // Positions are below the peer's count, at most MAX_SET_SIZE.
                let start = batch as usize * self.config.batch_size as usize;
                self.peer_double_at.extend(
                    doubled
                        .iter()
                        .enumerate()
                        .map(|(i, d)| (*d, (start + i) as u32)),
                );
            }
        }
        self.peer_received += 1;
        if self.peer_received == self.peer_total
            && self.config.peer_compares()
            && self.config.mode == Mode::Cardinality
        {
            self.shuffle_responses();
        }
        Ok(())
    }

    /// Cardinality mode: shuffles all doubly blinded values for the peer at once
    /// (within each of the peer's type groups), so their order says nothing about
    /// which of the peer's items they belong to beyond its type.
    fn shuffle_responses(&mut self) {
        let mut values = std::mem::take(&mut self.card_buffer);
        let mut rng = StdRng::from_seed(self.secret.shuffle_seed);
        groups::shuffle_within(&mut values, self.cmp_len, &self.peer_bounds, &mut rng);
        self.card_responses = Some(ShuffledResponses {
            values,
            next_batch: 0,
            total_batches: self.peer_total,
        });
    }

    fn next_shuffled_response(&mut self) -> Option<Message> {
        let l = self.cmp_len;
        let batch_size = self.config.batch_size;
        let responses = self.card_responses.as_mut()?;
        if responses.next_batch >= responses.total_batches {
            self.card_responses = None;
            return None;
        }
        let batch = responses.next_batch;
        let range = batch_range(batch, batch_size, responses.values.len() / l);
        let values = responses
            .values
            .get(range.start * l..range.end * l)
            .unwrap_or_default()
            .to_vec();
        responses.next_batch += 1;
        if responses.next_batch == responses.total_batches {
            self.card_responses = None;
        }
        Some(Message::Reblinded { batch, values })
    }

    fn handle_reblinded(&mut self, batch: u32, values: &[u8]) -> Result<(), PsiError> {
        let kind = MessageKind::Reblinded;
        if !self.config.i_learn() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "this party does not learn the result",
            });
        }
        if !self.config.i_compare() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "both learn and the peer learns first: it sends its result instead",
            });
        }
        if batch < self.returned_batches {
            return Err(PsiError::DuplicateBatch { kind, batch });
        }
        if batch >= self.own_total {
            return Err(PsiError::TooManyItems {
                kind,
                batch,
                declared: self.config.local_count,
            });
        }
        let answered = match self.config.mode {
            Mode::Intersection | Mode::Labelled => batch < self.own_sent,
            // The peer can shuffle only after it has all of our batches.
            Mode::Cardinality => self.own_sent == self.own_total,
        };
        if !answered {
            return Err(PsiError::ReblindedNotSent { batch });
        }
        if batch > self.returned_batches {
            return Err(PsiError::BatchOutOfOrder {
                kind,
                expected: self.returned_batches,
                got: batch,
            });
        }
        let expected =
            batch_len(batch, self.config.batch_size, self.config.local_count) * self.cmp_len;
        if values.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch,
                expected,
                actual: values.len(),
            });
        }
        self.returned.extend_from_slice(values);
        self.returned_batches += 1;
        Ok(())
    }
}
