//! [`connect`]: dial the partner, TLS, handshake, session, as the initiator. Attempts
//! that fail before the partner is authenticated — nobody listening yet, a listener
//! busy with other connections that drops ours, a TLS handshake cut short — are tried
//! again until the connect timeout; refusals and certificate mismatches are not.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use blindmatch_psi::{ProtocolSetup, Role};
use rustls::pki_types::ServerName;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;

use super::stream::BoxedStream;
use crate::framed::CountingStream;
use crate::handshake::{HandshakeFailure, Offer, SessionParams};
use crate::session::{Established, establish, run_established};
use crate::tls::received_alert;
use crate::{
    ConnectionInfo, Event, NetError, SessionOptions, SessionReport, Transport, tls_connect,
};

/// Pause between connection attempts.
const CONNECT_RETRY: Duration = Duration::from_millis(200);

/// Connects to the partner at `addr` (`host:port`) and runs the session as the
/// initiator. Attempts that fail before the partner is authenticated (refused or
/// reset connections, a TLS handshake the listener cut short, e.g. while it is busy
/// with other connections) are retried every 200 ms until `connect_timeout`, so the
/// two sides may start in either order.
///
/// In CA mode without a configured server name, the host part of `addr` is the name
/// the listener's certificate must carry.
///
/// # Errors
///
/// [`NetError::Io`] if `addr` does not resolve or no connection succeeds in time;
/// TLS errors ([`NetError::PeerFingerprintMismatch`] naming both fingerprints,
/// [`NetError::PeerRefusedTls`] …); [`NetError::Timeout`]; [`NetError::Cancelled`]
/// when `options.cancel` fires; and as [`crate::run_session`].
pub async fn connect(
    addr: &str,
    transport: &Transport,
    params: &SessionParams,
    protocol: Box<dyn ProtocolSetup>,
    options: &SessionOptions,
    connect_timeout: Duration,
) -> Result<SessionReport, NetError> {
    params.validate(protocol.as_ref(), options)?;
    let offer = Offer::of(protocol.as_ref());
    let started = Instant::now();
    let deadline = started + connect_timeout;
    loop {
        match attempt(addr, transport, params, &offer, options, started, deadline).await {
            Ok((established, info)) => {
                return run_established(established, protocol, options, info).await;
            }
            Err(failure) if transient(&failure) && Instant::now() + CONNECT_RETRY < deadline => {
                tracing::debug!("connection attempt failed ({}); retrying", failure.error);
                tokio::time::sleep(CONNECT_RETRY).await;
            }
            Err(failure) => return Err(failure.error),
        }
    }
}

type Attempt = (
    Established<ReadHalf<BoxedStream>, WriteHalf<BoxedStream>>,
    ConnectionInfo,
);

/// One connection: TCP (retried inside until `deadline`), TLS, handshake.
async fn attempt(
    addr: &str,
    transport: &Transport,
    params: &SessionParams,
    offer: &Offer,
    options: &SessionOptions,
    started: Instant,
    deadline: Instant,
) -> Result<Attempt, HandshakeFailure> {
    let stranger = |error| HandshakeFailure {
        error,
        fatal: false,
    };
    let (tcp, peer_addr) = tokio::select! {
        dialled = dial(addr, deadline) => dialled.map_err(stranger)?,
        () = options.cancel.cancelled() => return Err(stranger(NetError::Cancelled)),
    };
    let _ = tcp.set_nodelay(true);
    let (counting, wire) = CountingStream::new(tcp);
    let (stream, info): (BoxedStream, ConnectionInfo) = match transport {
        Transport::Tls(settings) => {
            let tls = tokio::time::timeout(
                options.handshake_timeout,
                tls_connect(counting, settings, host_server_name(addr)),
            );
            let est = tokio::select! {
                est = tls => est
                    .map_err(|_| {
                        stranger(NetError::Timeout {
                            phase: "TLS handshake",
                            after: options.handshake_timeout,
                        })
                    })?
                    .map_err(stranger)?,
                () = options.cancel.cancelled() => return Err(stranger(NetError::Cancelled)),
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
            (Box::new(est.stream), info)
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
            (Box::new(counting), info)
        }
    };
    let established = establish(stream, Role::Initiator, params, offer, &info, options).await?;
    Ok((established, info))
}

/// Whether a failed attempt is worth repeating: it failed before anything was agreed
/// or refused, in a way a busy or not yet started listener causes.
fn transient(failure: &HandshakeFailure) -> bool {
    if failure.fatal {
        return false;
    }
    match &failure.error {
        // Cut short (a listener busy with strangers drops the oldest connections);
        // not a refusal, which comes as an alert. A listener that stays silent is
        // not retried: it would only be silent again.
        NetError::Tls { source } => received_alert(source).is_none(),
        NetError::PeerDisconnected { .. } | NetError::Stream { .. } => true,
        _ => false,
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
