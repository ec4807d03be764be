//! The ECDH protocol over ristretto255 (semi-honest, "ecdh-ristretto255"): its
//! [`ProtocolSetup`] ([`EcdhSetup`]), the [`Party`] state machine, its [`Message`]s and
//! their encoding (the bytes that go on the wire), and hashing identifiers to the group.

pub(crate) mod batch;
pub(crate) mod compare;
pub(crate) mod groups;
pub mod hash;
mod message;
mod party;
pub(crate) mod result;

pub use message::{
    MESSAGE_HEADER_LEN, MESSAGE_KIND_BLINDED, MESSAGE_KIND_COUNTS, MESSAGE_KIND_MATCHES,
    MESSAGE_KIND_REBLINDED, Message,
};
pub use party::{Party, Progress};

use crate::protocol::{Outgoing, Protocol, ProtocolSetup, Stage, StageItems};
use crate::{Outcome, PreparedSet, PsiError, SessionConfig};

/// The protocol's name in the hello.
pub const ECDH_PROTOCOL_ID: &str = "ecdh-ristretto255";

/// Parameters the ECDH protocol declares in the hello: a version byte naming the
/// hash-to-group suite, the match-ID derivation and the comparison-length rule of
/// `docs/protocol.md` ("PSI core"). Both sides must send the same.
pub const ECDH_PARAMS: [u8; 1] = [1];

/// The ECDH protocol before the handshake: our prepared set.
#[derive(Debug)]
pub struct EcdhSetup {
    set: PreparedSet,
}

impl EcdhSetup {
    /// The protocol over these items.
    #[must_use]
    pub fn new(set: PreparedSet) -> Self {
        EcdhSetup { set }
    }
}

impl ProtocolSetup for EcdhSetup {
    fn id(&self) -> &'static str {
        ECDH_PROTOCOL_ID
    }

    fn params(&self) -> Vec<u8> {
        ECDH_PARAMS.to_vec()
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
        Message::max_encoded_len(batch_size)
    }

    fn start(self: Box<Self>, config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        Ok(Box::new(Party::new(config, self.set)?))
    }
}

impl Protocol for Party {
    fn poll_transmit(&mut self) -> Option<Outgoing> {
        let message = Party::poll_transmit(self)?;
        let (prepared, on_sent) = match &message {
            Message::Blinded { points, .. } => {
                let n = points.len() as u64;
                (
                    n,
                    StageItems {
                        stage: Stage::Sent,
                        items: n,
                    },
                )
            }
            Message::Reblinded { values, .. } => {
                let n = (values.len() / self.comparison_len().max(1)) as u64;
                (
                    0,
                    StageItems {
                        stage: Stage::Answered,
                        items: n,
                    },
                )
            }
            // The first learner's result answers the peer's items: a batch of them, or
            // all of them at once (counts).
            Message::Matches { batch, .. } => (
                0,
                StageItems {
                    stage: Stage::Answered,
                    items: self.peer_batch_len(*batch),
                },
            ),
            Message::Counts { .. } => (
                0,
                StageItems {
                    stage: Stage::Answered,
                    items: self.config().peer_count,
                },
            ),
        };
        Some(Outgoing {
            payload: message.encode(),
            prepared,
            on_sent: Some(on_sent),
        })
    }

    fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        let message = Message::decode(payload)?;
        let done = match &message {
            Message::Blinded { points, .. } => StageItems {
                stage: Stage::Received,
                items: points.len() as u64,
            },
            Message::Reblinded { values, .. } => StageItems {
                stage: Stage::Compared,
                items: (values.len() / self.comparison_len().max(1)) as u64,
            },
            // The second learner's own items, settled by the first learner's result.
            Message::Matches { batch, .. } => StageItems {
                stage: Stage::Compared,
                items: batch::batch_len(*batch, self.config().batch_size, self.config().local_count)
                    as u64,
            },
            Message::Counts { .. } => StageItems {
                stage: Stage::Compared,
                items: self.config().local_count,
            },
        };
        Party::handle(self, message)?;
        Ok(Some(done))
    }

    fn is_finished(&self) -> bool {
        Party::is_finished(self)
    }

    fn finish(self: Box<Self>) -> Result<Outcome, PsiError> {
        Party::finish(*self)
    }
}
