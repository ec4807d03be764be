//! Step 2 of a match: meet the partner (listen or connect) and run the session —
//! handshake and PSI over `blindmatch-net` — with the protocol
//! [`super::protocol_setup`] chose.

use std::net::SocketAddr;

use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{
    Cancellation, EventSink, Listener, NetError, ProtocolSetup, SessionOptions, SessionReport,
};

use super::config::{Address, PartyConfig};

/// A bound listener or the partner's address.
#[derive(Debug)]
pub enum Endpoint {
    /// Waiting for the partner.
    Listening(Listener),
    /// Connecting to the partner.
    Connecting(String),
}

impl Endpoint {
    /// Binds the listening address, or just remembers where to connect.
    ///
    /// # Errors
    /// The address cannot be bound (exit 2).
    pub async fn open(cfg: &PartyConfig) -> Result<Endpoint> {
        match &cfg.address {
            Address::Listen(addr) => {
                let listener = Listener::bind(addr, cfg.transport.clone())
                    .await
                    .fail_with(|| {
                        Error::bad_input(format!("cannot listen on '{addr}'"))
                            .hint("use a free local address and port, e.g. 0.0.0.0:7000 (port 0 picks a free one)")
                    })?;
                Ok(Endpoint::Listening(listener))
            }
            Address::Connect(addr) => Ok(Endpoint::Connecting(addr.clone())),
        }
    }

    /// The bound address, when listening.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Listening(l) => Some(l.local_addr()),
            Endpoint::Connecting(_) => None,
        }
    }

    /// Runs the session: waits for (or connects to) the partner, handshake, PSI.
    /// `cancel` stops it from outside (the CLI's Ctrl-C): the partner, once
    /// connected, is told that we cancelled.
    ///
    /// # Errors
    /// As [`blindmatch_net::Listener::run_session`] and [`blindmatch_net::connect`];
    /// [`NetError::Cancelled`] once `cancel` fires.
    pub async fn run(
        &self,
        cfg: &PartyConfig,
        setup: Box<dyn ProtocolSetup>,
        events: Option<EventSink>,
        cancel: &Cancellation,
    ) -> Result<SessionReport, NetError> {
        let params = cfg.session_params(setup.declared_size());
        self.run_with(cfg, params, setup, events, cancel).await
    }

    /// [`Endpoint::run`] for one bucket of a bucketed session: the set-size policy
    /// was applied to the real sizes on the planning connection, so the buckets'
    /// padded sizes are checked against the plan instead
    /// ([`super::partition::plan::BucketSetup`]).
    ///
    /// # Errors
    /// As [`Endpoint::run`].
    pub async fn run_bucket(
        &self,
        cfg: &PartyConfig,
        setup: Box<dyn ProtocolSetup>,
        events: Option<EventSink>,
        cancel: &Cancellation,
    ) -> Result<SessionReport, NetError> {
        let mut params = cfg.session_params(setup.declared_size());
        params.policy.min_peer_set = 0;
        params.policy.max_peer_set = blindmatch_psi::MAX_SET_SIZE;
        self.run_with(cfg, params, setup, events, cancel).await
    }

    async fn run_with(
        &self,
        cfg: &PartyConfig,
        params: blindmatch_net::SessionParams,
        setup: Box<dyn ProtocolSetup>,
        events: Option<EventSink>,
        cancel: &Cancellation,
    ) -> Result<SessionReport, NetError> {
        let options = SessionOptions {
            cancel: cancel.clone(),
            ..cfg.session_options(events)
        };
        match self {
            Endpoint::Listening(listener) => {
                listener
                    .run_session(&params, setup, &options, cfg.wait_timeout)
                    .await
            }
            Endpoint::Connecting(addr) => {
                blindmatch_net::connect(
                    addr,
                    &cfg.transport,
                    &params,
                    setup,
                    &options,
                    cfg.wait_timeout,
                )
                .await
            }
        }
    }
}
