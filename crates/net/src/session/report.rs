//! What a session tells its caller: the progress and connection [`Event`]s while it
//! runs, and the [`SessionReport`] (with [`Timings`] and [`Traffic`]) when it is done.
//! Nothing here is an identifier or a secret.

use std::net::SocketAddr;
use std::time::Duration;

use blindmatch_psi::{Mode, Outcome, Reveal, Role, Stage};
use serde::{Serialize, Serializer};

use crate::Fingerprint;

/// Something the CLI may show. Serialises as `{"event": "...", ...}` for
/// `--events json`; holds sizes, addresses and fingerprints, never data.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The listener is bound and waiting.
    Listening {
        /// The bound address (with the real port when port 0 was asked for).
        addr: SocketAddr,
    },
    /// A connection was dropped before or during the handshake; the listener keeps
    /// waiting.
    ConnectionRefused {
        /// Where it came from.
        peer_addr: SocketAddr,
        /// Why it was dropped.
        reason: String,
    },
    /// TLS (if used) is up with the partner.
    Connected {
        /// The partner's address.
        peer_addr: Option<SocketAddr>,
        /// The partner's certificate fingerprint.
        peer_fingerprint: Option<Fingerprint>,
    },
    /// Both sides accepted each other's hello.
    HandshakeComplete {
        /// Session ID.
        session_id: String,
        /// Our role.
        role: Role,
        /// Agreed mode.
        mode: Mode,
        /// Agreed reveal.
        reveal: Reveal,
        /// Our declared set size.
        local_set_size: u64,
        /// The peer's declared set size.
        peer_set_size: u64,
        /// Agreed batch size.
        batch_size: u32,
    },
    /// Progress of one stage.
    Progress {
        /// Which stage.
        stage: Stage,
        /// Items done.
        done: u64,
        /// Items in total.
        total: u64,
    },
    /// The session completed.
    Finished {
        /// Session ID.
        session_id: String,
    },
}

/// Wall-clock time per phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// TCP connect or accept plus TLS handshake.
    #[serde(serialize_with = "secs")]
    pub connect: Duration,
    /// Hello, checks, Accept.
    #[serde(serialize_with = "secs")]
    pub handshake: Duration,
    /// The PSI exchange, from both Accepts to our result (includes `hashing` and
    /// `compare`, which overlap with the transfer).
    #[serde(serialize_with = "secs")]
    pub psi: Duration,
    /// Time the PSI thread spent hashing our items to the group and blinding them.
    #[serde(serialize_with = "secs")]
    pub hashing: Duration,
    /// Time the PSI thread spent on the final comparison.
    #[serde(serialize_with = "secs")]
    pub compare: Duration,
    /// Done exchange and closing.
    #[serde(serialize_with = "secs")]
    pub finish: Duration,
    /// Connect, handshake, PSI and finish.
    #[serde(serialize_with = "secs")]
    pub total: Duration,
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Bytes and frames each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// Frame bytes we wrote to the stream (inside TLS), all frames included.
    pub bytes_sent: u64,
    /// Frame bytes we read from the stream (inside TLS).
    pub bytes_received: u64,
    /// Frames we wrote.
    pub frames_sent: u64,
    /// Frames we read.
    pub frames_received: u64,
    /// Bytes written to the socket, TLS overhead included (when measured).
    pub wire_bytes_sent: Option<u64>,
    /// Bytes read from the socket, TLS overhead included (when measured).
    pub wire_bytes_received: Option<u64>,
}

/// Everything a completed session established. Serialises (without the match list)
/// for receipts; nothing in it is an identifier or a secret.
#[derive(Debug, Clone, Serialize)]
pub struct SessionReport {
    /// 32 hex digits derived from the session context: equal on both sides.
    pub session_id: String,
    /// Wire protocol version.
    pub protocol_version: u16,
    /// The PSI protocol both sides ran (e.g. `ecdh-ristretto255`).
    pub protocol: String,
    /// Our software, as sent in our hello.
    pub implementation: String,
    /// The peer's software, as sent in its hello.
    pub peer_implementation: String,
    /// Our role.
    pub role: Role,
    /// Agreed mode.
    pub mode: Mode,
    /// Agreed reveal.
    pub reveal: Reveal,
    /// Identifier types (matching rules) of the session, in the agreed priority order.
    pub id_types: Vec<String>,
    /// The normalisation profile string both sides declared.
    pub profile: String,
    /// Our certificate fingerprint (TLS only).
    pub local_fingerprint: Option<Fingerprint>,
    /// The peer's certificate fingerprint (TLS only).
    pub peer_fingerprint: Option<Fingerprint>,
    /// The peer's address.
    pub peer_addr: Option<SocketAddr>,
    /// Our declared (de-duplicated) set size.
    pub local_set_size: u64,
    /// The peer's declared set size.
    pub peer_set_size: u64,
    /// The peer's policy: the smallest set it accepted from us.
    pub peer_min_peer_set: u64,
    /// Agreed batch size.
    pub batch_size: u32,
    /// Bytes per doubly blinded comparison value.
    pub comparison_len: usize,
    /// Distinct matched values, if we learned the result.
    pub matched_count: Option<u64>,
    /// What we learned: matched rows with match IDs, the count, or nothing.
    #[serde(skip)]
    pub outcome: Outcome,
    /// Time per phase.
    pub timings: Timings,
    /// Bytes and frames each way.
    pub traffic: Traffic,
    /// SHA-256 over both directions' byte streams: equal on both sides.
    pub transcript_hash: String,
}
