//! The sans-IO interface every PSI protocol implements, so that one transport
//! (`blindmatch-net`) can carry any of them: a [`ProtocolSetup`] says what goes into
//! the handshake and starts a [`Protocol`] once both sides agreed; the running protocol
//! hands out encoded messages, takes the peer's, and ends with an [`Outcome`].
//!
//! Messages cross this interface as opaque bytes in the protocol's own encoding: the
//! transport bounds their length and never looks inside.

use serde::Serialize;

use crate::{Outcome, PsiError, SessionConfig};

/// Longest protocol identifier in a hello, in bytes.
pub const MAX_PROTOCOL_ID_LEN: usize = 64;
/// Longest protocol parameter block in a hello, in bytes.
pub const MAX_PROTOCOL_PARAMS_LEN: usize = 1024;

/// A stage of a session, for progress reports. Each protocol reports the stages that
/// apply to it; the totals follow from the declared sizes ([`Stage::total`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Own items prepared for sending (hashed, blinded, encoded).
    Hashed,
    /// Own items written to the peer.
    Sent,
    /// Peer items received and processed.
    Received,
    /// Answers written back for the peer (only when the peer learns).
    Answered,
    /// Our answered items received and compared (only when we learn).
    Compared,
}

impl Stage {
    /// Items in the whole stage: our set size for stages over our items, the peer's
    /// for stages over its items.
    #[must_use]
    pub fn total(self, local_count: u64, peer_count: u64) -> u64 {
        match self {
            Stage::Hashed | Stage::Sent | Stage::Compared => local_count,
            Stage::Received | Stage::Answered => peer_count,
        }
    }
}

/// Items of a stage that one message accounts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageItems {
    /// The stage advanced.
    pub stage: Stage,
    /// By how many items.
    pub items: u64,
}

/// A message to send, in the protocol's own encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The encoded message; the transport sends it as it is.
    pub payload: Vec<u8>,
    /// Own items prepared while making this message (reported as [`Stage::Hashed`]
    /// when it is made, so the caller can also time the preparation).
    pub prepared: u64,
    /// What writing it advances (e.g. [`Stage::Sent`]), reported once it is written.
    pub on_sent: Option<StageItems>,
}

/// A running PSI protocol: one side of one session, after the handshake.
///
/// Drive it with [`Protocol::poll_transmit`] and [`Protocol::handle`] until
/// [`Protocol::is_finished`], then call [`Protocol::finish`]. Any error from `handle`
/// is final. Implementations do no I/O of their own; heavy work runs inside the calls.
pub trait Protocol: Send {
    /// The next message to send, if one is ready; `None` means nothing can be sent
    /// until more peer messages arrive (or ever, once finished or failed). Never blocks.
    fn poll_transmit(&mut self) -> Option<Outgoing>;

    /// Processes one encoded message from the peer and says what it advanced.
    ///
    /// # Errors
    ///
    /// A typed [`PsiError`] for anything an honest peer would not send (malformed
    /// bytes included); any error ends the session.
    fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError>;

    /// Whether everything has been sent and received, so `finish` will succeed.
    fn is_finished(&self) -> bool;

    /// Ends the session and computes what this side learns.
    ///
    /// # Errors
    ///
    /// [`PsiError::Incomplete`] before the protocol completed, [`PsiError::Aborted`]
    /// after an earlier error.
    fn finish(self: Box<Self>) -> Result<Outcome, PsiError>;
}

/// A protocol before the handshake: what it declares in the hello, and how it starts
/// once both sides agreed a [`SessionConfig`].
pub trait ProtocolSetup: Send {
    /// The protocol's name in the hello (e.g. `ecdh-ristretto255`): both sides must
    /// name the same one. At most [`MAX_PROTOCOL_ID_LEN`] bytes of `[a-z0-9.-]`.
    fn id(&self) -> &'static str;

    /// The protocol's parameters in the hello, in its own encoding (at most
    /// [`MAX_PROTOCOL_PARAMS_LEN`] bytes). By default both sides' must be equal
    /// ([`ProtocolSetup::params_check`]).
    fn params(&self) -> Vec<u8>;

    /// How the peer's parameters are checked against ours: by default they must be
    /// equal ([`equal_params`]). A protocol whose sides declare different things
    /// (the labelled protocol: only the releasing side names columns) gives its own
    /// check. A plain function, so the transport can keep it without the setup.
    fn params_check(&self) -> ParamsCheck {
        equal_params
    }

    /// Our distinct item count, as declared in the hello.
    fn declared_size(&self) -> u64;

    /// Identifier type names our items use; each must be declared in the hello.
    fn identifier_types(&self) -> Vec<String>;

    /// Our distinct item count per identifier type (types absent from the list hold
    /// none), as the hello declares them type by type.
    fn type_sizes(&self) -> Vec<(String, u64)>;

    /// The longest encoded message this protocol sends or accepts at `batch_size`;
    /// the transport's frame limit must allow it.
    fn max_message_len(&self, batch_size: u32) -> usize;

    /// Starts the protocol with the agreed configuration.
    ///
    /// # Errors
    ///
    /// A [`PsiError`] for a configuration the protocol cannot run, or a failed
    /// random number generator.
    fn start(self: Box<Self>, config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError>;
}

/// Checks the peer's protocol parameters against ours (`ours`, `peer`); the error
/// says why they do not go together, in words for both users, with no secret in it.
pub type ParamsCheck = fn(ours: &[u8], peer: &[u8]) -> Result<(), String>;

/// The default [`ParamsCheck`]: both sides' parameters must be equal.
///
/// # Errors
/// When they differ.
pub fn equal_params(ours: &[u8], peer: &[u8]) -> Result<(), String> {
    if ours == peer {
        Ok(())
    } else {
        Err("the protocol parameters differ".to_owned())
    }
}

/// Whether `id` is a well-formed protocol identifier.
#[must_use]
pub fn valid_protocol_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_PROTOCOL_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_totals_follow_whose_items_they_count() {
        assert_eq!(Stage::Hashed.total(3, 5), 3);
        assert_eq!(Stage::Sent.total(3, 5), 3);
        assert_eq!(Stage::Compared.total(3, 5), 3);
        assert_eq!(Stage::Received.total(3, 5), 5);
        assert_eq!(Stage::Answered.total(3, 5), 5);
    }

    #[test]
    fn protocol_ids() {
        assert!(valid_protocol_id("ecdh-ristretto255"));
        assert!(valid_protocol_id("test.hash-1"));
        assert!(!valid_protocol_id(""));
        assert!(!valid_protocol_id("ECDH"));
        assert!(!valid_protocol_id("a b"));
        assert!(!valid_protocol_id(&"a".repeat(65)));
    }
}
