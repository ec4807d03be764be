//! The session driver: [`run_session`] runs the handshake and then the agreed PSI
//! protocol over any async byte stream. The protocol ([`blindmatch_psi::Protocol`])
//! lives on its own thread, fed by bounded channels from a reader task and to a writer
//! task (`session/exchange.rs`), so network transfer and crypto overlap and a slow side
//! slows the other down instead of filling memory. Protocol messages travel as opaque
//! payloads: nothing here knows how a protocol encodes them. Produces the
//! [`SessionReport`] and the progress [`Event`]s (`session/report.rs`).

mod channel;
mod driver;
mod exchange;
mod options;
mod report;

pub use options::{ConnectionInfo, EventSink, SessionOptions};
pub use report::{Event, SessionReport, Timings, Traffic};

use std::time::{Duration, Instant};

use blindmatch_psi::{ProtocolSetup, Role, SessionConfig};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};

use crate::NetError;
use crate::frame::{MAX_IMPLEMENTATION_LEN, PROTOCOL_VERSION};
use crate::framed::{FrameReader, FrameWriter};
use crate::handshake::{
    self, Agreed, ChannelBinding, FixedHelloForTestVectors, HandshakeFailure, Offer, SessionParams,
    send_abort,
};

/// Label of the transcript hash over both directions' stream hashes.
pub const TRANSCRIPT_LABEL: &[u8] = b"blindmatch/v1/net/transcript";

/// Runs a whole session over `stream`: the handshake, then the protocol, then the
/// closing `Done` exchange. `role` is [`Role::Initiator`] on the side that connected.
///
/// On any failure an `Abort` with the reason is sent to the peer (best effort) unless
/// the peer is gone or aborted itself.
///
/// # Errors
///
/// [`NetError::InvalidConfig`] for unusable settings (nothing is sent); handshake
/// refusals by either side ([`NetError::ModeMismatch`], [`NetError::Unsupported`],
/// [`NetError::PeerSetTooSmall`], [`NetError::PeerAborted`] …); [`NetError::Timeout`],
/// [`NetError::PeerDisconnected`], [`NetError::Frame`], [`NetError::Psi`] and the like
/// during the exchange; [`NetError::Cancelled`] when `options.cancel` fires during
/// the handshake or the exchange (the peer gets an Abort with
/// [`crate::AbortCode::Cancelled`]).
pub async fn run_session<S>(
    stream: S,
    role: Role,
    params: &SessionParams,
    protocol: Box<dyn ProtocolSetup>,
    options: &SessionOptions,
    info: ConnectionInfo,
) -> Result<SessionReport, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let offer = Offer::of(protocol.as_ref());
    run_with_offer(stream, role, params, protocol, options, info, offer).await
}

/// [`run_session`] with the hello's offer given.
async fn run_with_offer<S>(
    stream: S,
    role: Role,
    params: &SessionParams,
    protocol: Box<dyn ProtocolSetup>,
    options: &SessionOptions,
    info: ConnectionInfo,
    offer: Offer,
) -> Result<SessionReport, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    params.validate(protocol.as_ref(), options)?;
    let established = establish(stream, role, params, &offer, &info, options)
        .await
        .map_err(|f| f.error)?;
    run_established(established, protocol, options, info).await
}

/// **Test vectors only; never for a real session.** [`run_session`] over the
/// plaintext test transport (channel binding `plaintext`, no TLS) with this side's
/// hello nonce and software string fixed, so that a session with fixed protocol
/// secrets too can be replayed byte for byte: it is how
/// `docs/test-vectors/session.json` is checked against the real session code.
///
/// A fixed nonce takes away the freshness of the session context that the
/// protocol's unlinkability across sessions rests on, which is why this takes no
/// [`ConnectionInfo`] (it cannot bind a TLS connection) and is hidden from the
/// documentation; the CLI and the pipelines never call it.
///
/// # Errors
///
/// As [`run_session`]; [`NetError::InvalidConfig`] for an implementation string over
/// 64 bytes.
#[doc(hidden)]
pub async fn run_plaintext_session_for_test_vectors<S>(
    stream: S,
    role: Role,
    params: &SessionParams,
    protocol: Box<dyn ProtocolSetup>,
    options: &SessionOptions,
    fixed_hello: FixedHelloForTestVectors,
) -> Result<SessionReport, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if fixed_hello.implementation.len() > MAX_IMPLEMENTATION_LEN {
        return Err(NetError::InvalidConfig {
            reason: format!(
                "the implementation string is longer than {MAX_IMPLEMENTATION_LEN} bytes"
            ),
        });
    }
    let mut offer = Offer::of(protocol.as_ref());
    offer.fixed_hello = Some(fixed_hello);
    let info = ConnectionInfo::default();
    run_with_offer(stream, role, params, protocol, options, info, offer).await
}

/// Frames `stream` (TLS already done, or not used) and runs the handshake under
/// `options.handshake_timeout`.
pub(crate) async fn establish<S>(
    stream: S,
    role: Role,
    params: &SessionParams,
    offer: &Offer,
    info: &ConnectionInfo,
    options: &SessionOptions,
) -> Result<Established<ReadHalf<S>, WriteHalf<S>>, HandshakeFailure>
where
    S: AsyncRead + AsyncWrite,
{
    let binding =
        ChannelBinding::of(role, info).map_err(|error| HandshakeFailure { error, fatal: true })?;
    let started = Instant::now();
    let (r, w) = tokio::io::split(stream);
    let mut reader = FrameReader::new(
        r,
        options.max_frame_len,
        options.io_timeout,
        info.local_fingerprint,
    );
    let mut writer = FrameWriter::new(w, options.io_timeout);
    reader.watch_writes(writer.activity());
    let agreed = timed_handshake(
        &mut reader,
        &mut writer,
        role,
        params,
        offer,
        &binding,
        options,
    )
    .await?;
    Ok(Established {
        reader,
        writer,
        agreed,
        handshake_time: started.elapsed(),
    })
}

/// A connection that passed the handshake.
pub(crate) struct Established<R, W> {
    pub(crate) reader: FrameReader<R>,
    pub(crate) writer: FrameWriter<W>,
    pub(crate) agreed: Agreed,
    pub(crate) handshake_time: Duration,
}

/// The handshake under `options.handshake_timeout`, unless `options.cancel` fires
/// first; either way the peer gets an Abort saying why.
async fn timed_handshake<R, W>(
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    role: Role,
    params: &SessionParams,
    offer: &Offer,
    binding: &ChannelBinding,
    options: &SessionOptions,
) -> Result<Agreed, HandshakeFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let grace = options.grace();
    let finished = tokio::select! {
        result = tokio::time::timeout(
            options.handshake_timeout,
            handshake::handshake(reader, writer, role, params, offer, binding, grace),
        ) => result.map_err(|_| NetError::Timeout {
            phase: handshake::PHASE,
            after: options.handshake_timeout,
        }),
        () = options.cancel.cancelled() => Err(NetError::Cancelled),
    };
    match finished {
        Ok(result) => result,
        Err(error) => {
            send_abort(writer, reader, &error, grace).await;
            // A timeout may be a stranger that never spoke; a cancellation is ours.
            let fatal = matches!(error, NetError::Cancelled);
            Err(HandshakeFailure { error, fatal })
        }
    }
}

/// Runs the protocol and the closing exchange on an established connection.
pub(crate) async fn run_established<R, W>(
    established: Established<R, W>,
    protocol: Box<dyn ProtocolSetup>,
    options: &SessionOptions,
    info: ConnectionInfo,
) -> Result<SessionReport, NetError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let Established {
        mut reader,
        mut writer,
        agreed,
        handshake_time,
    } = established;
    let grace = options.grace();
    options.emit(Event::HandshakeComplete {
        session_id: agreed.session_id.clone(),
        role: agreed.role,
        mode: agreed.mode,
        reveal: agreed.reveal,
        local_set_size: agreed.local_size,
        peer_set_size: agreed.peer_size,
        batch_size: agreed.batch_size,
    });
    tracing::info!(
        session_id = %agreed.session_id,
        protocol = %agreed.protocol,
        role = ?agreed.role,
        mode = ?agreed.mode,
        reveal = ?agreed.reveal,
        local_set_size = agreed.local_size,
        peer_set_size = agreed.peer_size,
        batch_size = agreed.batch_size,
        "handshake complete"
    );
    let psi_started = Instant::now();
    let config = SessionConfig {
        role: agreed.role,
        mode: agreed.mode,
        reveal: agreed.reveal,
        batch_size: agreed.batch_size,
        context: agreed.context,
        local_count: agreed.local_size,
        peer_count: agreed.peer_size,
        groups: agreed.groups.clone(),
        peer_params: agreed.peer_params.clone(),
    };
    let running = match protocol.start(config) {
        Ok(p) => p,
        Err(e) => {
            let error = NetError::from(e);
            send_abort(&mut writer, &mut reader, &error, grace).await;
            return Err(error);
        }
    };
    let (reader, writer, (outcome, psi_times)) =
        exchange::exchange(reader, writer, running, &agreed, options).await?;
    let psi_time = psi_started.elapsed();

    let finish_started = Instant::now();
    let mut reader = reader;
    // Our Done is out and our direction closed (by the writer task); wait for the
    // peer's close so that dropping the socket never resets a peer still reading.
    reader.drain(grace).await;
    let (to_responder, to_initiator) = match agreed.role {
        Role::Initiator => (writer.log.digest(), reader.log.digest()),
        Role::Responder => (reader.log.digest(), writer.log.digest()),
    };
    let transcript: [u8; 32] = Sha256::new()
        .chain_update(TRANSCRIPT_LABEL)
        .chain_update(to_responder)
        .chain_update(to_initiator)
        .finalize()
        .into();
    let finish_time = finish_started.elapsed();

    options.emit(Event::Finished {
        session_id: agreed.session_id.clone(),
    });
    tracing::info!(session_id = %agreed.session_id, "session complete");
    Ok(SessionReport {
        session_id: agreed.session_id,
        protocol_version: PROTOCOL_VERSION,
        protocol: agreed.protocol,
        implementation: agreed.implementation,
        peer_implementation: agreed.peer_implementation,
        role: agreed.role,
        mode: agreed.mode,
        reveal: agreed.reveal,
        id_types: agreed.id_types,
        profile: agreed.profile,
        local_fingerprint: info.local_fingerprint,
        peer_fingerprint: info.peer_fingerprint,
        peer_addr: info.peer_addr,
        local_set_size: agreed.local_size,
        peer_set_size: agreed.peer_size,
        peer_min_peer_set: agreed.peer_min_peer_set,
        batch_size: agreed.batch_size,
        comparison_len: outcome.comparison_len,
        matched_count: outcome.matched_count(),
        outcome,
        timings: Timings {
            connect: info.connect_time,
            handshake: handshake_time,
            psi: psi_time,
            hashing: psi_times.hashing,
            compare: psi_times.compare,
            finish: finish_time,
            total: info.connect_time + handshake_time + psi_time + finish_time,
        },
        traffic: Traffic {
            bytes_sent: writer.log.bytes,
            bytes_received: reader.log.bytes,
            frames_sent: writer.log.frames,
            frames_received: reader.log.frames,
            wire_bytes_sent: info.wire.as_ref().map(|w| w.sent()),
            wire_bytes_received: info.wire.as_ref().map(|w| w.received()),
        },
        transcript_hash: hex::encode(transcript),
    })
}
