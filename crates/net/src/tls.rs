//! TLS 1.3 with mutual authentication: how each side checks the other (a pinned
//! certificate fingerprint, or a CA file), the rustls configurations (ring provider,
//! TLS 1.3 only, client certificates required, no session resumption), and the
//! connect/accept steps that turn a refused peer into an error naming both
//! fingerprints.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::sign::SingleCertAndKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    ServerConfig, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::{Fingerprint, Identity, NetError};

/// Server name used when the peer is pinned: names are not checked then, and SNI is
/// not sent.
const PINNED_SERVER_NAME: &str = "peer.blindmatch.invalid";

/// How we decide that the other side is our partner.
#[derive(Debug, Clone)]
pub enum PeerAuth {
    /// Accept exactly the certificate with this SHA-256 fingerprint (its dates, names
    /// and issuer are not checked; the TLS 1.3 handshake signature still is).
    Fingerprint(Fingerprint),
    /// Accept a certificate that chains to one of these roots (webpki rules: dates,
    /// key usage) and names the partner.
    Ca {
        /// Trust anchors.
        roots: Arc<RootCertStore>,
        /// The name (DNS subject alternative name) the partner's certificate must
        /// carry. The connector checks the listener's; when `None` there, the host part
        /// of the address connected to is used. The listener checks the connector's
        /// and requires it: with a shared or consortium CA, any holder of a
        /// certificate from it could otherwise connect first and run a session.
        server_name: Option<String>,
    },
}

impl PeerAuth {
    /// Trust anchors from a PEM file of one or more certificates.
    ///
    /// # Errors
    ///
    /// [`NetError::InvalidCaFile`] if the file cannot be read or holds no certificate
    /// usable as a trust anchor.
    pub fn ca_file(path: &Path, server_name: Option<String>) -> Result<Self, NetError> {
        let invalid = |reason: String| NetError::InvalidCaFile {
            path: path.to_owned(),
            reason,
        };
        let pem = fs::read(path).map_err(|e| invalid(e.to_string()))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(format!("not valid PEM ({e})")))?;
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(invalid("no usable CA certificate".to_owned()));
        }
        Ok(PeerAuth::Ca {
            roots: Arc::new(roots),
            server_name,
        })
    }
}

/// Our identity and how we check the peer's.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Our key and certificate.
    pub identity: Arc<Identity>,
    /// How the peer's certificate is checked.
    pub peer: PeerAuth,
}

/// What a session runs over.
#[derive(Debug, Clone)]
pub enum Transport {
    /// TLS 1.3 with both sides authenticated: the only transport for real data.
    Tls(TlsSettings),
    /// Plain TCP: no encryption, no authentication. Anyone on the path sees the blinded
    /// values and can impersonate either side. Exists for tests and benchmarks only.
    InsecurePlaintextForTesting,
}

impl Transport {
    /// Our certificate's fingerprint, when TLS is used.
    #[must_use]
    pub fn local_fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Transport::Tls(t) => Some(t.identity.fingerprint()),
            Transport::InsecurePlaintextForTesting => None,
        }
    }
}

/// Why a verifier refused the peer's certificate, kept so the error can say it.
#[derive(Debug, Clone)]
enum Rejection {
    Mismatch {
        expected: Fingerprint,
        presented: Fingerprint,
    },
    Untrusted {
        presented: Fingerprint,
        reason: String,
    },
}

/// Shared between one connection's verifier and the code that reports its outcome.
#[derive(Debug, Default)]
struct Capture {
    presented: Mutex<Option<Fingerprint>>,
    rejection: Mutex<Option<Rejection>>,
}

impl Capture {
    fn saw(&self, fp: Fingerprint) {
        if let Ok(mut g) = self.presented.lock() {
            *g = Some(fp);
        }
    }

    fn refuse(&self, r: Rejection) {
        if let Ok(mut g) = self.rejection.lock() {
            *g = Some(r);
        }
    }

    fn rejection(&self) -> Option<Rejection> {
        self.rejection.lock().ok().and_then(|g| g.clone())
    }

    fn presented(&self) -> Option<Fingerprint> {
        self.presented.lock().ok().and_then(|g| *g)
    }
}

#[derive(Debug)]
enum ServerCheck {
    Pinned(Fingerprint),
    Ca(Arc<WebPkiServerVerifier>),
}

/// The connector's check of the listener's certificate.
#[derive(Debug)]
struct ConnectorVerifier {
    check: ServerCheck,
    algorithms: WebPkiSupportedAlgorithms,
    capture: Arc<Capture>,
}

impl ServerCertVerifier for ConnectorVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_cert(end_entity);
        self.capture.saw(presented);
        match &self.check {
            ServerCheck::Pinned(expected) => {
                if expected.ct_eq(&presented) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    self.capture.refuse(Rejection::Mismatch {
                        expected: *expected,
                        presented,
                    });
                    Err(CertificateError::ApplicationVerificationFailure.into())
                }
            }
            ServerCheck::Ca(inner) => inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .inspect_err(|e| {
                    self.capture.refuse(Rejection::Untrusted {
                        presented,
                        reason: e.to_string(),
                    });
                }),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Never reached: only TLS 1.3 is enabled. Verified properly all the same.
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[derive(Debug)]
enum ClientCheck {
    Pinned(Fingerprint),
    /// The chain check, then the name the connector's certificate must carry.
    Ca(Arc<dyn ClientCertVerifier>, ServerName<'static>),
}

/// The listener's check of the connector's certificate (always required).
#[derive(Debug)]
struct ListenerVerifier {
    check: ClientCheck,
    algorithms: WebPkiSupportedAlgorithms,
    capture: Arc<Capture>,
}

impl ClientCertVerifier for ListenerVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        match &self.check {
            ClientCheck::Pinned(_) => &[],
            ClientCheck::Ca(inner, _) => inner.root_hint_subjects(),
        }
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let presented = Fingerprint::of_cert(end_entity);
        self.capture.saw(presented);
        match &self.check {
            ClientCheck::Pinned(expected) => {
                if expected.ct_eq(&presented) {
                    Ok(ClientCertVerified::assertion())
                } else {
                    self.capture.refuse(Rejection::Mismatch {
                        expected: *expected,
                        presented,
                    });
                    Err(CertificateError::ApplicationVerificationFailure.into())
                }
            }
            ClientCheck::Ca(inner, name) => inner
                .verify_client_cert(end_entity, intermediates, now)
                .and_then(|verified| {
                    let parsed = ParsedCertificate::try_from(end_entity)?;
                    rustls::client::verify_server_name(&parsed, name)?;
                    Ok(verified)
                })
                .inspect_err(|e| {
                    self.capture.refuse(Rejection::Untrusted {
                        presented,
                        reason: e.to_string(),
                    });
                }),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(e: impl std::fmt::Display) -> NetError {
    NetError::InvalidConfig {
        reason: format!("TLS configuration: {e}"),
    }
}

fn connector_config(settings: &TlsSettings) -> Result<(ClientConfig, Arc<Capture>), NetError> {
    let provider = provider();
    let capture = Arc::new(Capture::default());
    let check = match &settings.peer {
        PeerAuth::Fingerprint(fp) => ServerCheck::Pinned(*fp),
        PeerAuth::Ca { roots, .. } => ServerCheck::Ca(
            WebPkiServerVerifier::builder_with_provider(Arc::clone(roots), Arc::clone(&provider))
                .build()
                .map_err(config_error)?,
        ),
    };
    let verifier = ConnectorVerifier {
        check,
        algorithms: provider.signature_verification_algorithms,
        capture: Arc::clone(&capture),
    };
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
            settings.identity.certified_key(),
        )));
    // A resumed session would skip the certificate check we rely on.
    config.resumption = Resumption::disabled();
    config.enable_sni = matches!(settings.peer, PeerAuth::Ca { .. });
    Ok((config, capture))
}

/// Checks, before any connection, that the listener can check its partner (a CA
/// without the partner's name cannot).
///
/// # Errors
///
/// [`NetError::InvalidConfig`] naming the problem.
pub(crate) fn check_listener_settings(settings: &TlsSettings) -> Result<(), NetError> {
    listener_config(settings).map(|_| ())
}

fn listener_config(settings: &TlsSettings) -> Result<(ServerConfig, Arc<Capture>), NetError> {
    let provider = provider();
    let capture = Arc::new(Capture::default());
    let check = match &settings.peer {
        PeerAuth::Fingerprint(fp) => ClientCheck::Pinned(*fp),
        PeerAuth::Ca { roots, server_name } => {
            let name = server_name.as_deref().ok_or_else(|| NetError::InvalidConfig {
                reason: "a listener checking the partner against a CA needs the name its certificate must carry".to_owned(),
            })?;
            let name =
                ServerName::try_from(name.to_owned()).map_err(|_| NetError::InvalidConfig {
                    reason: format!("{name:?} is not a valid certificate name"),
                })?;
            ClientCheck::Ca(
                WebPkiClientVerifier::builder_with_provider(
                    Arc::clone(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(config_error)?,
                name,
            )
        }
    };
    let verifier = ListenerVerifier {
        check,
        algorithms: provider.signature_verification_algorithms,
        capture: Arc::clone(&capture),
    };
    let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_error)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(
            settings.identity.certified_key(),
        )));
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok((config, capture))
}

/// Turns a failed handshake into the most useful error: a refusal by our verifier
/// (both fingerprints), an alert from the peer, or the raw TLS failure.
fn handshake_error(err: io::Error, capture: &Capture, ours: Fingerprint) -> NetError {
    match capture.rejection() {
        Some(Rejection::Mismatch {
            expected,
            presented,
        }) => NetError::PeerFingerprintMismatch {
            expected,
            presented,
        },
        Some(Rejection::Untrusted { presented, reason }) => {
            NetError::PeerCertificateUntrusted { presented, reason }
        }
        None => match received_alert(&err) {
            Some(alert) => NetError::PeerRefusedTls { alert, ours },
            None if is_not_tls(&err) => NetError::PeerSpeaksPlaintext,
            None => NetError::Tls { source: err },
        },
    }
}

/// Whether the peer's bytes were not TLS records at all (a peer running the plaintext
/// test transport sends a frame, whose first byte is no TLS content type).
fn is_not_tls(err: &io::Error) -> bool {
    let Some(inner) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return false;
    };
    matches!(
        inner,
        rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
                | rustls::InvalidMessage::UnknownProtocolVersion
        )
    )
}

/// The TLS alert inside an I/O error from tokio-rustls, if that is what it is.
pub(crate) fn received_alert(err: &io::Error) -> Option<String> {
    let inner = err.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::AlertReceived(desc) => Some(format!("{desc:?}")),
        _ => None,
    }
}

/// A TLS stream and what the handshake established.
#[derive(Debug)]
pub struct TlsEstablished<T> {
    /// The encrypted stream.
    pub stream: T,
    /// The peer's certificate fingerprint (already checked).
    pub peer_fingerprint: Fingerprint,
    /// The connection's exporter value (RFC 8446 section 7.5, label
    /// [`TLS_EXPORTER_LABEL`]): equal on both ends of one TLS connection and unrelated
    /// across connections, so a relay that terminates TLS towards each side cannot
    /// make the two ends agree on it. Not secret from the two ends; never logged.
    pub exporter: [u8; 32],
}

/// Label of the TLS exporter value the session context binds.
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-blindmatch/v2/session-binding";

fn exporter_of(
    conn: &impl std::ops::Deref<Target = rustls::ConnectionCommon<impl Sized>>,
) -> Result<[u8; 32], NetError> {
    conn.export_keying_material([0u8; 32], TLS_EXPORTER_LABEL, None)
        .map_err(|_| NetError::Internal {
            what: "the TLS exporter is unavailable",
        })
}

/// Runs the TLS handshake as the connecting side over `io`.
///
/// `default_server_name` is used in CA mode when [`PeerAuth::Ca::server_name`] is
/// `None` (typically the host connected to). In TLS 1.3 the listener checks our
/// certificate after this returns; its refusal shows on the first read as
/// [`NetError::PeerRefusedTls`].
///
/// # Errors
///
/// [`NetError::PeerFingerprintMismatch`] or [`NetError::PeerCertificateUntrusted`]
/// when the listener is not our partner (both fingerprints named);
/// [`NetError::PeerRefusedTls`] when it aborts with an alert; [`NetError::Tls`] for
/// other failures; [`NetError::InvalidConfig`] for an unusable server name.
pub async fn tls_connect<S>(
    io: S,
    settings: &TlsSettings,
    default_server_name: Option<ServerName<'static>>,
) -> Result<TlsEstablished<tokio_rustls::client::TlsStream<S>>, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (config, capture) = connector_config(settings)?;
    let name: ServerName<'static> = match &settings.peer {
        PeerAuth::Fingerprint(_) => ServerName::try_from(PINNED_SERVER_NAME)
            .map_err(config_error)?
            .to_owned(),
        PeerAuth::Ca {
            server_name: Some(n),
            ..
        } => ServerName::try_from(n.clone()).map_err(|_| NetError::InvalidConfig {
            reason: format!("{n:?} is not a valid TLS server name"),
        })?,
        PeerAuth::Ca {
            server_name: None, ..
        } => default_server_name.ok_or_else(|| NetError::InvalidConfig {
            reason: "CA mode needs the listener's certificate name".to_owned(),
        })?,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let ours = settings.identity.fingerprint();
    let stream = connector
        .connect(name, io)
        .await
        .map_err(|e| handshake_error(e, &capture, ours))?;
    let peer_fingerprint = capture.presented().ok_or(NetError::Internal {
        what: "TLS handshake finished without a peer certificate",
    })?;
    let exporter = exporter_of(stream.get_ref().1)?;
    Ok(TlsEstablished {
        stream,
        peer_fingerprint,
        exporter,
    })
}

/// Runs the TLS handshake as the listening side over `io`; the connector must present
/// a certificate that passes [`TlsSettings::peer`].
///
/// # Errors
///
/// As [`tls_connect`].
pub async fn tls_accept<S>(
    io: S,
    settings: &TlsSettings,
) -> Result<TlsEstablished<tokio_rustls::server::TlsStream<S>>, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (config, capture) = listener_config(settings)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let ours = settings.identity.fingerprint();
    let stream = acceptor
        .accept(io)
        .await
        .map_err(|e| handshake_error(e, &capture, ours))?;
    let peer_fingerprint = capture.presented().ok_or(NetError::Internal {
        what: "TLS handshake finished without a client certificate",
    })?;
    let exporter = exporter_of(stream.get_ref().1)?;
    Ok(TlsEstablished {
        stream,
        peer_fingerprint,
        exporter,
    })
}
