//! The two ways to start a session over TCP: [`Listener`] waits for the partner and
//! survives strangers (failed TLS, wrong certificate, garbage, oversized frames,
//! stalls: each is logged and dropped), [`connect`] dials the partner, retrying while
//! it is not yet listening. Both give up when the session options' cancellation
//! fires.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blindmatch_psi::{ProtocolSetup, Role};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::framed::{CountingStream, FrameReader, FrameWriter};
use crate::handshake::{ChannelBinding, HandshakeFailure, Offer, SessionParams};
use crate::session::{Established, cancellable_handshake, run_established};
use crate::{
    ConnectionInfo, Event, NetError, SessionOptions, SessionReport, Transport, run_session,
    tls_accept, tls_connect,
};

/// Connections handled at once while waiting; more are dropped on arrival.
const MAX_PENDING_CONNECTIONS: usize = 16;

/// Pause between connection attempts while the listener is not up yet.
const CONNECT_RETRY: Duration = Duration::from_millis(200);

/// Any stream a session can run over, TLS or not.
trait SessionStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> SessionStream for T {}

type BoxedStream = Box<dyn SessionStream>;

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
    /// Abort); the handshake refusals; and as [`run_session`] for the exchange.
    pub async fn run_session(
        &self,
        params: &SessionParams,
        protocol: Box<dyn ProtocolSetup>,
        options: &SessionOptions,
        wait_timeout: Duration,
    ) -> Result<SessionReport, NetError> {
        params.validate(protocol.as_ref(), options)?;
        options.emit(Event::Listening {
            addr: self.local_addr,
        });
        tracing::info!(addr = %self.local_addr, "waiting for the partner");
        let deadline = tokio::time::Instant::now() + wait_timeout;
        let params = Arc::new(params.clone());
        let offer = Offer::of(protocol.as_ref());
        let mut pending: JoinSet<(SocketAddr, Result<Candidate, HandshakeFailure>)> =
            JoinSet::new();
        let mut rejected = 0u32;
        let mut last_rejection: Option<String> = None;
        let mut refuse = |peer_addr: SocketAddr, reason: String| {
            tracing::warn!(%peer_addr, "connection refused: {reason}");
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
                    pending.abort_all();
                    return Err(NetError::WaitTimeout {
                        waited: wait_timeout,
                        rejected,
                        last_rejection,
                    });
                }
                accepted = self.tcp.accept() => match accepted {
                    Ok((tcp, peer_addr)) => {
                        if pending.len() >= MAX_PENDING_CONNECTIONS {
                            refuse(peer_addr, "too many connections in progress".to_owned());
                            continue;
                        }
                        tracing::debug!(%peer_addr, "connection accepted");
                        let task = candidate(
                            tcp,
                            peer_addr,
                            self.transport.clone(),
                            Arc::clone(&params),
                            offer.clone(),
                            options.clone(),
                        );
                        pending.spawn(async move { (peer_addr, task.await) });
                    }
                    Err(e) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(joined) = pending.join_next(), if !pending.is_empty() => match joined {
                    Ok((_, Ok(candidate))) => break candidate,
                    Ok((peer_addr, Err(failure))) => {
                        if failure.fatal {
                            pending.abort_all();
                            tracing::warn!(%peer_addr, "partner refused: {}", failure.error);
                            return Err(failure.error);
                        }
                        refuse(peer_addr, failure.error.to_string());
                    }
                    Err(_) => tracing::warn!("a connection task failed"),
                },
            }
        };
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
                    (
                        Box::new(est.stream),
                        Some(est.peer_fingerprint),
                        Some(settings.identity.fingerprint()),
                        Some(est.exporter),
                    )
                }
                Transport::InsecurePlaintextForTesting => (Box::new(counting), None, None, None),
            };
        let connect_time = started.elapsed();
        let (r, w) = tokio::io::split(stream);
        let mut reader = FrameReader::new(
            r,
            options.max_frame_len,
            options.io_timeout,
            local_fingerprint,
        );
        let mut writer = FrameWriter::new(w, options.io_timeout);
        reader.watch_writes(writer.activity());
        let info = ConnectionInfo {
            local_fingerprint,
            peer_fingerprint,
            peer_addr: Some(peer_addr),
            wire: Some(wire),
            connect_time,
            tls_exporter,
        };
        let binding = ChannelBinding::of(Role::Responder, &info).map_err(stranger)?;
        let hs_started = Instant::now();
        let agreed = cancellable_handshake(
            &mut reader,
            &mut writer,
            Role::Responder,
            &params,
            &offer,
            &binding,
            &options,
        )
        .await?;
        Ok(Candidate {
            established: Established {
                reader,
                writer,
                agreed,
                handshake_time: hs_started.elapsed(),
            },
            info,
        })
    };
    match tokio::time::timeout(options.handshake_timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(stranger(NetError::Timeout {
            phase: "TLS and handshake",
            after: options.handshake_timeout,
        })),
    }
}

/// Connects to the partner at `addr` (`host:port`) and runs the session as the
/// initiator. Refused or failed connection attempts are retried every 200 ms until
/// `connect_timeout`, so the two sides may start in either order.
///
/// In CA mode without a configured server name, the host part of `addr` is the name
/// the listener's certificate must carry.
///
/// # Errors
///
/// [`NetError::Io`] if `addr` does not resolve or no connection succeeds in time;
/// TLS errors ([`NetError::PeerFingerprintMismatch`] naming both fingerprints,
/// [`NetError::PeerRefusedTls`] …); [`NetError::Timeout`]; [`NetError::Cancelled`]
/// when `options.cancel` fires; and as [`run_session`].
pub async fn connect(
    addr: &str,
    transport: &Transport,
    params: &SessionParams,
    protocol: Box<dyn ProtocolSetup>,
    options: &SessionOptions,
    connect_timeout: Duration,
) -> Result<SessionReport, NetError> {
    params.validate(protocol.as_ref(), options)?;
    let started = Instant::now();
    let deadline = started + connect_timeout;
    let (tcp, peer_addr) = tokio::select! {
        dialled = dial(addr, deadline) => dialled?,
        () = options.cancel.cancelled() => return Err(NetError::Cancelled),
    };
    let _ = tcp.set_nodelay(true);
    let (counting, wire) = CountingStream::new(tcp);
    match transport {
        Transport::Tls(settings) => {
            let tls = tokio::time::timeout(
                options.handshake_timeout,
                tls_connect(counting, settings, host_server_name(addr)),
            );
            let est = tokio::select! {
                est = tls => est.map_err(|_| NetError::Timeout {
                    phase: "TLS handshake",
                    after: options.handshake_timeout,
                })??,
                () = options.cancel.cancelled() => return Err(NetError::Cancelled),
            };
            options.emit(Event::Connected {
                peer_addr: Some(peer_addr),
                peer_fingerprint: Some(est.peer_fingerprint),
            });
            let info = ConnectionInfo {
                local_fingerprint: Some(settings.identity.fingerprint()),
                peer_fingerprint: Some(est.peer_fingerprint),
                peer_addr: Some(peer_addr),
                wire: Some(wire),
                connect_time: started.elapsed(),
                tls_exporter: Some(est.exporter),
            };
            run_session(est.stream, Role::Initiator, params, protocol, options, info).await
        }
        Transport::InsecurePlaintextForTesting => {
            options.emit(Event::Connected {
                peer_addr: Some(peer_addr),
                peer_fingerprint: None,
            });
            let info = ConnectionInfo {
                peer_addr: Some(peer_addr),
                wire: Some(wire),
                connect_time: started.elapsed(),
                ..ConnectionInfo::default()
            };
            run_session(counting, Role::Initiator, params, protocol, options, info).await
        }
    }
}

async fn dial(addr: &str, deadline: Instant) -> Result<(TcpStream, SocketAddr), NetError> {
    let targets: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|source| NetError::Io {
            context: "resolving the partner's address",
            source,
        })?
        .collect();
    loop {
        let mut last_error = None;
        for target in &targets {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, TcpStream::connect(target)).await {
                Ok(Ok(tcp)) => return Ok((tcp, *target)),
                Ok(Err(e)) => last_error = Some(e),
                Err(_) => {
                    last_error = Some(std::io::Error::from(std::io::ErrorKind::TimedOut));
                }
            }
        }
        if Instant::now() + CONNECT_RETRY >= deadline {
            return Err(NetError::Io {
                context: "connecting to the partner",
                source: last_error
                    .unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrNotAvailable)),
            });
        }
        tracing::debug!("partner not reachable yet; retrying");
        tokio::time::sleep(CONNECT_RETRY).await;
    }
}

/// The host part of `host:port` as a TLS server name (for CA mode).
fn host_server_name(addr: &str) -> Option<ServerName<'static>> {
    let (host, _port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).ok()
}
