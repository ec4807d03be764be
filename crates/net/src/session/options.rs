//! How a caller tunes a session ([`SessionOptions`]: timeouts, frame limit, channel
//! sizes, the event sink, cancellation) and what it tells the session about the
//! connection ([`ConnectionInfo`]).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::report::Event;
use crate::frame::MAX_FRAME_LEN;
use crate::framed::WireCounters;
use crate::{Cancellation, Fingerprint};

/// Receives progress and connection events; called from several threads, so keep it
/// quick (e.g. update a progress bar or print one JSON line).
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// Tunables of a session; [`SessionOptions::default`] suits interactive use.
#[derive(Clone)]
pub struct SessionOptions {
    /// Longest wait for any single read or write once connected (default 60 s).
    pub io_timeout: Duration,
    /// Longest time a connection may take from accept/connect to both `Accept`s,
    /// TLS included (default 30 s). Stalling strangers are dropped after it.
    pub handshake_timeout: Duration,
    /// Frame limit for what we accept, at most (and by default) [`MAX_FRAME_LEN`].
    pub max_frame_len: u32,
    /// Messages buffered between the network tasks and the PSI thread, each way
    /// (default 4). Higher uses more memory, lower risks idle cores.
    pub channel_capacity: usize,
    /// Where progress and connection events go.
    pub events: Option<EventSink>,
    /// Stops the session from outside: waiting for the partner, connecting, the
    /// handshake and the exchange all give up with [`NetError::Cancelled`](crate::NetError::Cancelled), telling
    /// the peer with an `Abort` ([`crate::AbortCode::Cancelled`]) once connected.
    /// The default is never cancelled.
    pub cancel: Cancellation,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            io_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(30),
            max_frame_len: MAX_FRAME_LEN,
            channel_capacity: 4,
            events: None,
            cancel: Cancellation::new(),
        }
    }
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("io_timeout", &self.io_timeout)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_frame_len", &self.max_frame_len)
            .field("channel_capacity", &self.channel_capacity)
            .field("events", &self.events.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

impl SessionOptions {
    pub(crate) fn emit(&self, event: Event) {
        if let Some(sink) = &self.events {
            sink(&event);
        }
    }

    /// How long an abort or a closing handshake may take.
    pub(crate) fn grace(&self) -> Duration {
        self.io_timeout.min(Duration::from_secs(2))
    }
}

/// What the caller knows about the connection that `run_session` cannot see.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// Our certificate's fingerprint (TLS only).
    pub local_fingerprint: Option<Fingerprint>,
    /// The peer's verified certificate fingerprint (TLS only).
    pub peer_fingerprint: Option<Fingerprint>,
    /// The peer's address.
    pub peer_addr: Option<SocketAddr>,
    /// Byte counters beneath TLS, if the caller wrapped the socket in a
    /// [`crate::CountingStream`].
    pub wire: Option<Arc<WireCounters>>,
    /// Time spent on TCP connect/accept and TLS before the stream was handed over.
    pub connect_time: Duration,
    /// The TLS connection's exporter value ([`crate::TlsEstablished::exporter`]); with
    /// both fingerprints it binds the session to the channel ([`ChannelBinding`](crate::ChannelBinding)).
    pub tls_exporter: Option<[u8; 32]>,
}
