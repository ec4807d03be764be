//! The two ways to start a session over TCP: [`Listener`] waits for the partner and
//! survives strangers (failed TLS, wrong certificate, garbage, oversized frames,
//! stalls: each is logged and dropped), [`connect`] dials the partner, retrying while
//! it is not yet listening. Both give up when the session options' cancellation
//! fires.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use blindmatch_psi::{ProtocolSetup, Role};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

mod connect;
mod slots;
mod stream;

pub use connect::connect;
use slots::Slots;
use stream::BoxedStream;

use crate::framed::CountingStream;
use crate::handshake::{HandshakeFailure, Offer, SessionParams};
use crate::session::{Established, establish, run_established};
use crate::tls::check_listener_settings;
use crate::{
    ConnectionInfo, Event, NetError, SessionOptions, SessionReport, Transport, tls_accept,
};

/// Refused connections logged at warning level; later ones go to the debug level.
const MAX_LOGGED_REFUSALS: u32 = 20;

/// A connection that passed TLS and the handshake.
struct Candidate {
    established: Established<ReadHalf<BoxedStream>, WriteHalf<BoxedStream>>,
    info: ConnectionInfo,
}

/// A bound TCP listener waiting for one partner.
#[derive(Debug)]
pub struct Listener {
    tcp: TcpListener,
    transport: Transport,
    local_addr: SocketAddr,
}

impl Listener {
    /// Binds `addr` (e.g. `"0.0.0.0:7000"`, or `"127.0.0.1:0"` for a free port).
    ///
    /// # Errors
    ///
    /// [`NetError::Io`] if the address cannot be resolved or bound.
    pub async fn bind(addr: &str, transport: Transport) -> Result<Self, NetError> {
        let tcp = TcpListener::bind(addr)
            .await
            .map_err(|source| NetError::Io {
                context: "binding the listening address",
                source,
            })?;
        let local_addr = tcp.local_addr().map_err(|source| NetError::Io {
            context: "reading the bound address",
            source,
        })?;
        Ok(Self {
            tcp,
            transport,
            local_addr,
        })
    }

    /// The bound address, with the real port when port 0 was asked for.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits up to `wait_timeout` for a partner that passes TLS, authentication and
    /// the handshake, then runs the session with it as the responder.
    ///
    /// Connections that fail TLS or authentication, send something that is not a
    /// valid hello, exceed the frame limit or stall past `options.handshake_timeout`
    /// are logged (addresses and reasons only), reported as
    /// [`Event::ConnectionRefused`] and dropped; waiting goes on. A partner whose
    /// valid hello is refused (or who refuses ours) ends the wait with that error.
    ///
    /// # Errors
    ///
    /// [`NetError::InvalidConfig`]; [`NetError::WaitTimeout`] (with the count and last
    /// reason of refused connections); [`NetError::Cancelled`] when
    /// `options.cancel` fires (connections in their handshake are told with an
    /// Abort); the handshake refusals; and as [`run_session`](crate::run_session) for the exchange.
    pub async fn run_session(
        &self,
        params: &SessionParams,
        protocol: Box<dyn ProtocolSetup>,
        options: &SessionOptions,
        wait_timeout: Duration,
    ) -> Result<SessionReport, NetError> {
        params.validate(protocol.as_ref(), options)?;
        if let Transport::Tls(settings) = &self.transport {
            check_listener_settings(settings)?;
        }
        options.emit(Event::Listening {
            addr: self.local_addr,
        });
        tracing::info!(addr = %self.local_addr, "waiting for the partner");
        let deadline = tokio::time::Instant::now() + wait_timeout;
        let params = Arc::new(params.clone());
        let offer = Offer::of(protocol.as_ref());
        let mut pending: JoinSet<(SocketAddr, Result<Candidate, HandshakeFailure>)> =
            JoinSet::new();
        let mut slots = Slots::default();
        let mut rejected = 0u32;
        let mut last_rejection: Option<String> = None;
        let mut refuse = |peer_addr: SocketAddr, reason: String| {
            // A flood makes one line per connection; the count and the last reason
            // are in the wait-timeout error either way.
            if rejected < MAX_LOGGED_REFUSALS {
                tracing::warn!(%peer_addr, "connection refused: {reason}");
            } else {
                tracing::debug!(%peer_addr, "connection refused: {reason}");
            }
            options.emit(Event::ConnectionRefused {
                peer_addr,
                reason: reason.clone(),
            });
            rejected += 1;
            last_rejection = Some(reason);
        };

        let winner = loop {
            tokio::select! {
                () = options.cancel.cancelled() => {
                    // Connections in their handshake see the cancellation too and
                    // tell their peer; give them the grace to do so.
                    let all_done = async { while pending.join_next().await.is_some() {} };
                    let _ = tokio::time::timeout(options.grace(), all_done).await;
                    pending.abort_all();
                    tracing::info!("cancelled while waiting for the partner");
                    return Err(NetError::Cancelled);
                }
                () = tokio::time::sleep_until(deadline) => {
                    slots.abort_all();
                    pending.abort_all();
                    return Err(NetError::WaitTimeout {
                        waited: wait_timeout,
                        rejected,
                        last_rejection,
                    });
                }
                accepted = self.tcp.accept() => match accepted {
                    Ok((tcp, peer_addr)) => {
                        if slots.full() {
                            match slots.evict() {
                                Some(dropped) => refuse(
                                    dropped,
                                    "dropped to make room: too many connections in progress".to_owned(),
                                ),
                                None => {
                                    refuse(peer_addr, "too many connections in progress".to_owned());
                                    continue;
                                }
                            }
                        }
                        tracing::debug!(%peer_addr, "connection accepted");
                        let authenticated = Arc::new(AtomicBool::new(false));
                        let task = candidate(
                            tcp,
                            peer_addr,
                            self.transport.clone(),
                            Arc::clone(&params),
                            offer.clone(),
                            options.clone(),
                            Arc::clone(&authenticated),
                        );
                        let abort = pending.spawn(async move { (peer_addr, task.await) });
                        slots.add(peer_addr, authenticated, abort);
                    }
                    Err(e) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(joined) = pending.join_next_with_id(), if !pending.is_empty() => match joined {
                    Ok((id, (_, Ok(candidate)))) => {
                        slots.remove(id);
                        break candidate;
                    }
                    Ok((id, (peer_addr, Err(failure)))) => {
                        slots.remove(id);
                        if failure.fatal {
                            slots.abort_all();
                            pending.abort_all();
                            tracing::warn!(%peer_addr, "partner refused: {}", failure.error);
                            return Err(failure.error);
                        }
                        refuse(peer_addr, failure.error.to_string());
                    }
                    Err(e) => {
                        slots.remove(e.id());
                        if !e.is_cancelled() {
                            tracing::warn!("a connection task failed");
                        }
                    }
                },
            }
        };
        slots.abort_all();
        pending.abort_all();
        options.emit(Event::Connected {
            peer_addr: winner.info.peer_addr,
            peer_fingerprint: winner.info.peer_fingerprint,
        });
        run_established(winner.established, protocol, options, winner.info).await
    }
}

/// TLS, authentication and handshake for one accepted connection, all within
/// `options.handshake_timeout`.
async fn candidate(
    tcp: TcpStream,
    peer_addr: SocketAddr,
    transport: Transport,
    params: Arc<SessionParams>,
    offer: Offer,
    options: SessionOptions,
    authenticated: Arc<AtomicBool>,
) -> Result<Candidate, HandshakeFailure> {
    let started = Instant::now();
    let stranger = |error| HandshakeFailure {
        error,
        fatal: false,
    };
    let work = async {
        let _ = tcp.set_nodelay(true);
        let (counting, wire) = CountingStream::new(tcp);
        let (stream, peer_fingerprint, local_fingerprint, tls_exporter): (BoxedStream, _, _, _) =
            match &transport {
                Transport::Tls(settings) => {
                    let est = tokio::select! {
                        est = tls_accept(counting, settings) => est.map_err(stranger)?,
                        () = options.cancel.cancelled() => return Err(stranger(NetError::Cancelled)),
                    };
                    // The peer holds the pinned (or CA-named) certificate: it is the
                    // partner, and keeps its slot whatever strangers do.
                    authenticated.store(true, Ordering::Release);
                    (
                        Box::new(est.stream),
                        Some(est.peer_fingerprint),
                        Some(settings.identity.fingerprint()),
                        Some(est.exporter),
                    )
                }
                Transport::InsecurePlaintextForTesting => (Box::new(counting), None, None, None),
            };
        let info = ConnectionInfo {
            local_fingerprint,
            peer_fingerprint,
            peer_addr: Some(peer_addr),
            wire: Some(wire),
            connect_time: started.elapsed(),
            tls_exporter,
        };
        let established =
            establish(stream, Role::Responder, &params, &offer, &info, &options).await?;
        Ok(Candidate { established, info })
    };
    match tokio::time::timeout(options.handshake_timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(stranger(NetError::Timeout {
            phase: "TLS and handshake",
            after: options.handshake_timeout,
        })),
    }
}
