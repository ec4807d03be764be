//! A PSI session without a transport, for callers who carry messages over their
//! own channel (the Python package's low-level API, like openmined-psi's client
//! and server): each side makes a small hello, takes the peer's, and then pumps
//! the sans-IO [`Protocol`] with opaque byte messages.
//!
//! This is not the `blindmatch match` handshake (`blindmatch-net`), which also
//! agrees normalisation profiles and rules and binds the context to an
//! authenticated TLS channel. Here the caller is responsible for authenticating
//! the channel; the hello only makes both sides agree protocol, mode, reveal,
//! identifier types and sizes (with the same size policy as `match`), and derives
//! a fresh session context from both hellos, each carrying a random nonce.

use blindmatch_data::{Error, Result};
use blindmatch_psi::{
    Mode, Outcome, Protocol, ProtocolSetup, Reveal, Role, SessionConfig, TypeGroup,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the detached hello: 2 since the both-learn `Matches` of protocol
/// version 5 (bitmaps only), so that a party of either side refuses the other by
/// version instead of failing on a result batch's length.
pub const DETACHED_VERSION: u32 = 2;
/// Longest hello accepted from a peer, in bytes.
pub const MAX_DETACHED_HELLO: usize = 64 * 1024;
/// Label of the session-context hash over both hellos.
const CONTEXT_LABEL: &[u8] = b"blindmatch/v1/detached/session-context";

/// What a detached session is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedOptions {
    /// Our role; the peer must take the other.
    pub role: Role,
    /// The mode; both sides must name the same.
    pub mode: Mode,
    /// Who learns; both sides must name the same.
    pub reveal: Reveal,
    /// Preferred items per message; the smaller of the two is used.
    pub batch_size: u32,
    /// Smallest peer set accepted (against probing with tiny sets).
    pub min_peer_set: u64,
    /// Largest peer set accepted.
    pub max_peer_set: u64,
}

/// The hello, as JSON (small, and readable when debugging a channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Hello {
    version: u32,
    protocol: String,
    params: Vec<u8>,
    role: Role,
    mode: Mode,
    reveal: Reveal,
    batch_size: u32,
    size: u64,
    id_types: Vec<String>,
    type_sizes: Vec<u64>,
    nonce: [u8; 32],
}

enum State {
    /// Before the peer's hello.
    Setup(Box<dyn ProtocolSetup>),
    /// Running.
    Running(Box<dyn Protocol>),
    /// Failed or finished: nothing more to do.
    Done,
}

/// One side of a detached session.
pub struct DetachedParty {
    options: DetachedOptions,
    ours: Hello,
    encoded: Vec<u8>,
    params_check: blindmatch_psi::ParamsCheck,
    state: State,
    session_id: Option<String>,
}

impl std::fmt::Debug for DetachedParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetachedParty")
            .field("options", &self.options)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

fn refused(message: impl Into<String>) -> Error {
    Error::check_failed(message)
        .hint("both sides must choose the same protocol, mode, reveal and identifier types, and opposite roles")
}

impl DetachedParty {
    /// A party over `setup`; `nonce` must be fresh random bytes (it makes the
    /// session context unique).
    ///
    /// # Errors
    /// A bad batch size or size policy (bad input).
    pub fn new(
        setup: Box<dyn ProtocolSetup>,
        options: DetachedOptions,
        nonce: [u8; 32],
    ) -> Result<Self> {
        if options.batch_size == 0 || options.batch_size > blindmatch_psi::MAX_BATCH_SIZE {
            return Err(Error::bad_input(format!(
                "batch size {} is outside 1 to {}",
                options.batch_size,
                blindmatch_psi::MAX_BATCH_SIZE
            )));
        }
        if options.max_peer_set < options.min_peer_set {
            return Err(Error::bad_input(format!(
                "max_peer_set {} is below min_peer_set {}",
                options.max_peer_set, options.min_peer_set
            )));
        }
        let (id_types, type_sizes): (Vec<String>, Vec<u64>) =
            setup.type_sizes().into_iter().unzip();
        let ours = Hello {
            version: DETACHED_VERSION,
            protocol: setup.id().to_owned(),
            params: setup.params(),
            role: options.role,
            mode: options.mode,
            reveal: options.reveal,
            batch_size: options.batch_size,
            size: setup.declared_size(),
            id_types,
            type_sizes,
            nonce,
        };
        let encoded = serde_json::to_vec(&ours)
            .map_err(|e| Error::failed(format!("cannot encode the hello: {e}")))?;
        Ok(DetachedParty {
            options,
            params_check: setup.params_check(),
            ours,
            encoded,
            state: State::Setup(setup),
            session_id: None,
        })
    }

    /// Our hello, to send to the peer before anything else.
    pub fn hello(&self) -> &[u8] {
        &self.encoded
    }

    /// The session ID both sides derive (32 hex digits), once started.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Takes the peer's hello, checks that the two sides agree and starts the
    /// protocol.
    ///
    /// # Errors
    /// A malformed hello (bad input); a disagreement or a peer set outside the
    /// policy (check failed); already started.
    pub fn start(&mut self, peer_hello: &[u8]) -> Result<()> {
        let State::Setup(_) = &self.state else {
            return Err(Error::bad_input("the session has already started"));
        };
        if peer_hello.len() > MAX_DETACHED_HELLO {
            return Err(Error::bad_input(format!(
                "the peer's hello is {} bytes, more than {MAX_DETACHED_HELLO}",
                peer_hello.len()
            )));
        }
        let peer: Hello = serde_json::from_slice(peer_hello).map_err(|e| {
            Error::bad_input(format!("the peer's hello is malformed: {e}"))
                .hint("pass the bytes the peer's hello() returned, unchanged")
        })?;
        let ours = &self.ours;
        if peer.version != DETACHED_VERSION {
            return Err(refused(format!(
                "the peer speaks version {}, we speak {DETACHED_VERSION}",
                peer.version
            )));
        }
        if peer.protocol != ours.protocol {
            return Err(refused(format!(
                "the peer runs protocol '{}', we run '{}'",
                peer.protocol, ours.protocol
            )));
        }
        if peer.role == ours.role {
            return Err(refused(
                format!("both sides are the {:?}", ours.role).to_lowercase(),
            ));
        }
        if peer.mode != ours.mode {
            return Err(refused(format!(
                "the peer asks for mode {}, we for {}",
                peer.mode.name(),
                ours.mode.name()
            )));
        }
        if peer.reveal != ours.reveal {
            return Err(refused(
                format!(
                    "the peer asks for reveal {:?}, we for {:?}",
                    peer.reveal, ours.reveal
                )
                .to_lowercase(),
            ));
        }
        if peer.id_types != ours.id_types || peer.type_sizes.len() != peer.id_types.len() {
            return Err(refused(format!(
                "the peer's identifier types ({}) differ from ours ({})",
                peer.id_types.join(", "),
                ours.id_types.join(", ")
            )));
        }
        if peer
            .type_sizes
            .iter()
            .try_fold(0u64, |a, &n| a.checked_add(n))
            != Some(peer.size)
        {
            return Err(Error::bad_input(
                "the peer's hello is malformed: its sizes per identifier type do not add up to its set size",
            )
            .hint("pass the bytes the peer's hello() returned, unchanged"));
        }
        (self.params_check)(&ours.params, &peer.params).map_err(refused)?;
        if peer.size < self.options.min_peer_set {
            return Err(Error::check_failed(format!(
                "the peer declares {} distinct values, fewer than min_peer_set {}",
                peer.size, self.options.min_peer_set
            ))
            .hint("a tiny set could probe for single customers; lower min_peer_set only if both sides agree"));
        }
        if peer.size > self.options.max_peer_set {
            return Err(Error::check_failed(format!(
                "the peer declares {} distinct values, more than max_peer_set {}",
                peer.size, self.options.max_peer_set
            )));
        }
        let (first, second) = match ours.role {
            Role::Initiator => (&self.encoded[..], peer_hello),
            Role::Responder => (peer_hello, &self.encoded[..]),
        };
        let mut hash = Sha256::new();
        hash.update(CONTEXT_LABEL);
        for part in [first, second] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let context: [u8; 32] = hash.finalize().into();
        let session_id = hex::encode(context.get(..16).unwrap_or_default());
        let config = SessionConfig {
            role: ours.role,
            mode: ours.mode,
            reveal: ours.reveal,
            batch_size: ours.batch_size.min(peer.batch_size),
            context,
            local_count: ours.size,
            peer_count: peer.size,
            groups: ours
                .id_types
                .iter()
                .zip(ours.type_sizes.iter().zip(&peer.type_sizes))
                .map(|(t, (&local, &peer))| TypeGroup {
                    id_type: t.clone(),
                    local,
                    peer,
                })
                .collect(),
            peer_params: peer.params.clone(),
        };
        let State::Setup(setup) = std::mem::replace(&mut self.state, State::Done) else {
            return Err(Error::bad_input("the session has already started"));
        };
        // The setup is spent either way: a party whose protocol refused to start
        // stays failed, and gets no session ID.
        let protocol = setup
            .start(config)
            .map_err(|e| Error::failed("cannot start the protocol").caused_by(e))?;
        self.state = State::Running(protocol);
        self.session_id = Some(session_id);
        Ok(())
    }

    /// Every message ready to send now, in order (none before [`Self::start`]).
    pub fn outgoing(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let State::Running(protocol) = &mut self.state {
            while let Some(message) = protocol.poll_transmit() {
                out.push(message.payload);
            }
        }
        out
    }

    /// Takes one message from the peer.
    ///
    /// # Errors
    /// Not started, or anything an honest peer would not send (the session is
    /// then over).
    pub fn handle(&mut self, message: &[u8]) -> Result<()> {
        let State::Running(protocol) = &mut self.state else {
            return Err(Error::bad_input("the session is not running")
                .hint("call start() with the peer's hello first"));
        };
        if let Err(e) = protocol.handle(message) {
            self.state = State::Done;
            return Err(Error::failed("the peer's message was refused").caused_by(e));
        }
        Ok(())
    }

    /// Whether everything has been sent and received.
    pub fn is_finished(&self) -> bool {
        matches!(&self.state, State::Running(p) if p.is_finished())
    }

    /// Ends the session with what this side learned.
    ///
    /// # Errors
    /// Not finished yet, or failed earlier.
    pub fn finish(&mut self) -> Result<Outcome> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Running(protocol) => protocol
                .finish()
                .map_err(|e| Error::failed("the session did not complete").caused_by(e)),
            _ => Err(Error::bad_input("the session is not running")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use blindmatch_psi::{EcdhSetup, MatchResult, PreparedSet};

    fn party(role: Role, values: &[String], nonce: u8) -> DetachedParty {
        let set = PreparedSet::from_items(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| ("phone", v.as_bytes(), i as u64)),
        )
        .unwrap();
        DetachedParty::new(
            Box::new(EcdhSetup::new(set)),
            DetachedOptions {
                role,
                mode: Mode::Intersection,
                reveal: Reveal::Both,
                batch_size: 64,
                min_peer_set: 10,
                max_peer_set: 1_000,
            },
            [nonce; 32],
        )
        .unwrap()
    }

    #[test]
    fn two_parties_find_exactly_the_shared_values() {
        let a: Vec<String> = (0..200).map(|i| format!("+86138{:08}", i)).collect();
        let b: Vec<String> = (150..300).map(|i| format!("+86138{:08}", i)).collect();
        let mut x = party(Role::Initiator, &a, 1);
        let mut y = party(Role::Responder, &b, 2);
        let (hx, hy) = (x.hello().to_vec(), y.hello().to_vec());
        x.start(&hy).unwrap();
        y.start(&hx).unwrap();
        assert_eq!(x.session_id(), y.session_id());
        while !(x.is_finished() && y.is_finished()) {
            let (to_y, to_x) = (x.outgoing(), y.outgoing());
            assert!(!(to_y.is_empty() && to_x.is_empty()), "stalled");
            for m in to_y {
                y.handle(&m).unwrap();
            }
            for m in to_x {
                x.handle(&m).unwrap();
            }
        }
        let (ox, oy) = (x.finish().unwrap(), y.finish().unwrap());
        let rows = |o: &Outcome| o.matches().iter().map(|m| m.row).collect::<Vec<_>>();
        assert_eq!(rows(&ox), (150..200).collect::<Vec<u64>>());
        assert_eq!(rows(&oy), (0..50).collect::<Vec<u64>>());
        assert!(matches!(
            ox.result,
            MatchResult::Intersection { matched: 50, .. }
        ));
        assert_eq!(ox.matches()[0].match_id, oy.matches()[0].match_id);
    }

    #[test]
    fn disagreements_and_tiny_sets_are_refused() {
        let a: Vec<String> = (0..20).map(|i| format!("+86138{:08}", i)).collect();
        let mut x = party(Role::Initiator, &a, 1);
        let same_role = party(Role::Initiator, &a, 2);
        let err = x.start(same_role.hello()).unwrap_err();
        assert_eq!(err.category(), blindmatch_data::Category::CheckFailed);
        let tiny = party(Role::Responder, &a[..5], 3);
        let err = x.start(tiny.hello()).unwrap_err();
        assert!(err.to_string().contains("min_peer_set"), "{err}");
        assert!(x.start(b"not json").is_err());
    }

    #[test]
    fn a_version_one_hello_is_refused_by_version() {
        let a: Vec<String> = (0..20).map(|i| format!("+86138{:08}", i)).collect();
        let mut x = party(Role::Initiator, &a, 1);
        let y = party(Role::Responder, &a, 2);
        let mut old: serde_json::Value = serde_json::from_slice(y.hello()).unwrap();
        old["version"] = serde_json::json!(1);
        let err = x.start(&serde_json::to_vec(&old).unwrap()).unwrap_err();
        assert!(err.to_string().contains("version 1, we speak 2"), "{err}");
        assert!(x.session_id().is_none());
    }

    #[test]
    fn a_hello_whose_sizes_do_not_add_up_is_malformed_and_starts_nothing() {
        // Found by the detached_hello fuzz target: a set of 6 declared as 3 phones.
        let a: Vec<String> = (0..20).map(|i| format!("+86138{:08}", i)).collect();
        let mut x = party(Role::Initiator, &a, 1);
        let crash = br#"{"version":2,"protocol":"ecdh-ristretto255","params":[1],"role":"responder","mode":"intersection","reveal":"both","batch_size":16,"size":6,"id_types":["phone"],"type_sizes":[3],"nonce":[3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3]}"#;
        x.options.min_peer_set = 1;
        let err = x.start(crash).unwrap_err();
        assert_eq!(err.category(), blindmatch_data::Category::BadInput);
        assert!(x.session_id().is_none());
        // A refused hello leaves the party able to take the right one.
        let y = party(Role::Responder, &a, 2);
        x.start(y.hello()).unwrap();
        assert!(x.session_id().is_some());
    }
}
