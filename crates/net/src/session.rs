//! The session driver: [`run_session`] runs the handshake and then the PSI over any
//! async byte stream. The PSI [`Party`] lives on its own thread, fed by bounded
//! channels from a reader task and to a writer task, so network transfer and crypto
//! overlap and a slow side slows the other down instead of filling memory. Produces the
//! [`SessionReport`] and the progress [`Event`]s.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blindmatch_psi::{Message, Mode, Outcome, Party, PreparedSet, Reveal, Role, SessionConfig};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};

use crate::frame::{Control, DoneSummary, Frame, MAX_FRAME_LEN, PROTOCOL_VERSION};
use crate::framed::{FrameReader, FrameWriter, WireCounters};
use crate::handshake::{self, Agreed, HandshakeFailure, SessionParams, sanitize, send_abort};
use crate::{Fingerprint, NetError};

/// Label of the transcript hash over both directions' stream hashes.
pub const TRANSCRIPT_LABEL: &[u8] = b"blindmatch/v1/net/transcript";

const PSI_PHASE: &str = "PSI exchange";

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
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            io_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(30),
            max_frame_len: MAX_FRAME_LEN,
            channel_capacity: 4,
            events: None,
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

/// A stage of the PSI exchange, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Own items hashed to the group and blinded (total: our set size).
    Hashed,
    /// Own blinded items written to the peer (total: our set size).
    Sent,
    /// Peer's blinded items received and processed (total: the peer's set size).
    Received,
    /// Doubly blinded values written back for the peer (total: the peer's set size;
    /// only when the peer learns).
    Answered,
    /// Our values returned doubly blinded and processed (total: our set size; only
    /// when we learn).
    Compared,
}

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
    /// Identifier types of the session (sorted).
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

/// Runs a whole session over `stream`: the handshake, then the PSI, then the closing
/// `Done` exchange. `role` is [`Role::Initiator`] on the side that connected.
///
/// On any failure an `Abort` with the reason is sent to the peer (best effort) unless
/// the peer is gone or aborted itself.
///
/// # Errors
///
/// [`NetError::InvalidConfig`] for unusable settings (nothing is sent); handshake
/// refusals by either side ([`NetError::ModeMismatch`], [`NetError::PeerSetTooSmall`],
/// [`NetError::PeerAborted`] …); [`NetError::Timeout`], [`NetError::PeerDisconnected`],
/// [`NetError::Frame`], [`NetError::Psi`] and the like during the exchange.
pub async fn run_session<S>(
    stream: S,
    role: Role,
    params: &SessionParams,
    set: PreparedSet,
    options: &SessionOptions,
    info: ConnectionInfo,
) -> Result<SessionReport, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    params.validate(&set, options)?;
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
    let agreed = timed_handshake(&mut reader, &mut writer, role, params, &set, options)
        .await
        .map_err(|f| f.error)?;
    let handshake_time = started.elapsed();
    run_established(
        Established {
            reader,
            writer,
            agreed,
            handshake_time,
        },
        set,
        options,
        info,
    )
    .await
}

/// A connection that passed the handshake.
pub(crate) struct Established<R, W> {
    pub(crate) reader: FrameReader<R>,
    pub(crate) writer: FrameWriter<W>,
    pub(crate) agreed: Agreed,
    pub(crate) handshake_time: Duration,
}

/// The handshake under `options.handshake_timeout`, aborting towards the peer on
/// timeout.
pub(crate) async fn timed_handshake<R, W>(
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    role: Role,
    params: &SessionParams,
    set: &PreparedSet,
    options: &SessionOptions,
) -> Result<Agreed, HandshakeFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let grace = options.grace();
    let result = tokio::time::timeout(
        options.handshake_timeout,
        handshake::handshake(reader, writer, role, params, set.declared_size(), grace),
    )
    .await;
    match result {
        Ok(r) => r,
        Err(_) => {
            let error = NetError::Timeout {
                phase: handshake::PHASE,
                after: options.handshake_timeout,
            };
            send_abort(writer, reader, &error, grace).await;
            Err(HandshakeFailure {
                error,
                fatal: false,
            })
        }
    }
}

/// Runs the PSI and the closing exchange on an established connection.
pub(crate) async fn run_established<R, W>(
    established: Established<R, W>,
    set: PreparedSet,
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
    };
    let party = match Party::new(config, set) {
        Ok(p) => p,
        Err(e) => {
            let error = NetError::from(e);
            send_abort(&mut writer, &mut reader, &error, grace).await;
            return Err(error);
        }
    };
    let (reader, writer, (outcome, psi_times)) =
        exchange(reader, writer, party, &agreed, options).await?;
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
        implementation: handshake::IMPLEMENTATION.to_owned(),
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
        comparison_len: agreed.comparison_len,
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

/// What the PSI thread sends to the writer task.
enum Outbound {
    Psi(Message),
    /// Everything is sent and received: write `Done`.
    Finished,
}

/// How the reader task ended without an error.
#[derive(Debug, PartialEq, Eq)]
enum ReaderEnd {
    /// The peer's `Done` arrived and matched what we received.
    Done,
    /// The PSI thread stopped taking messages.
    PsiGone,
    Cancelled,
}

/// How the writer task ended without an error.
#[derive(Debug, PartialEq, Eq)]
enum WriterEnd {
    /// Our `Done` is written and our direction closed.
    DoneSent,
    /// The PSI thread stopped without finishing.
    PsiGone,
    Cancelled,
}

/// Sizes the reader enforces on batch frames before the PSI thread sees them.
#[derive(Clone, Copy)]
struct Bounds {
    batch_size: u32,
    peer_size: u64,
    local_size: u64,
    width: usize,
    i_learn: bool,
}

/// Progress counters, shared by the tasks that advance them.
#[derive(Clone)]
struct Progress {
    options: SessionOptions,
    local: u64,
    peer: u64,
}

impl Progress {
    fn emit(&self, stage: Stage, done: u64) {
        let total = match stage {
            Stage::Hashed | Stage::Sent | Stage::Compared => self.local,
            Stage::Received | Stage::Answered => self.peer,
        };
        self.options.emit(Event::Progress { stage, done, total });
    }
}

type ReaderOut<R> = (FrameReader<R>, Result<ReaderEnd, NetError>);
type WriterOut<W> = (FrameWriter<W>, Result<WriterEnd, NetError>);

/// The PSI exchange proper: spawns the PSI thread and the two network tasks, waits for
/// all three, and on the first failure stops them and aborts towards the peer.
async fn exchange<R, W>(
    reader: FrameReader<R>,
    writer: FrameWriter<W>,
    party: Party,
    agreed: &Agreed,
    options: &SessionOptions,
) -> Result<(FrameReader<R>, FrameWriter<W>, (Outcome, PsiTimes)), NetError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let grace = options.grace();
    let capacity = options.channel_capacity.max(1);
    let (in_tx, in_rx) = mpsc::channel::<Message>(capacity);
    let (out_tx, out_rx) = mpsc::channel::<Outbound>(capacity);
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (psi_tx, mut psi_rx) = oneshot::channel();
    let progress = Progress {
        options: options.clone(),
        local: agreed.local_size,
        peer: agreed.peer_size,
    };
    let width = u8::try_from(agreed.comparison_len).map_err(|_| NetError::Internal {
        what: "comparison length beyond 32 bytes",
    })?;
    let bounds = Bounds {
        batch_size: agreed.batch_size,
        peer_size: agreed.peer_size,
        local_size: agreed.local_size,
        width: agreed.comparison_len,
        i_learn: agreed.reveal.learns(agreed.role),
    };

    let runtime = tokio::runtime::Handle::current();
    let psi_progress = progress.clone();
    std::thread::Builder::new()
        .name("blindmatch-psi".to_owned())
        .spawn(move || {
            let result = psi_loop(party, in_rx, out_tx, &runtime, &psi_progress);
            let _ = psi_tx.send(result);
        })
        .map_err(|source| NetError::Io {
            context: "starting the PSI thread",
            source,
        })?;
    let mut reader_task = tokio::spawn(reader_loop(reader, in_tx, cancel_rx.clone(), bounds));
    let mut writer_task = tokio::spawn(writer_loop(
        writer, out_rx, cancel_rx, width, progress, grace,
    ));

    let mut reader_back = None;
    let mut writer_back = None;
    let (mut reader_end, mut writer_end) = (None, None);
    let (mut reader_joined, mut writer_joined) = (false, false);
    let mut outcome = None;
    let mut psi_joined = false;
    let mut psi_stop = StopKind::Failed;
    let mut failure: Option<NetError> = None;

    while failure.is_none() && !(psi_joined && reader_joined && writer_joined) {
        // The reader and writer come first: when the connection breaks, their error is
        // the cause and the PSI thread's complaint only a consequence.
        tokio::select! {
            biased;
            joined = &mut reader_task, if !reader_joined => {
                reader_joined = true;
                match joined {
                    Ok((r, end)) => {
                        reader_back = Some(r);
                        match end {
                            Ok(end) => reader_end = Some(end),
                            Err(e) => failure = Some(e),
                        }
                    }
                    Err(_) => failure = Some(NetError::Internal { what: "the reader task failed" }),
                }
            }
            joined = &mut writer_task, if !writer_joined => {
                writer_joined = true;
                match joined {
                    Ok((w, end)) => {
                        writer_back = Some(w);
                        match end {
                            Ok(end) => writer_end = Some(end),
                            Err(e) => failure = Some(e),
                        }
                    }
                    Err(_) => failure = Some(NetError::Internal { what: "the writer task failed" }),
                }
            }
            result = &mut psi_rx, if !psi_joined => {
                psi_joined = true;
                match result {
                    Ok(Ok(o)) => outcome = Some(o),
                    Ok(Err(stop)) => {
                        psi_stop = stop.kind();
                        failure = Some(stop.into_error());
                    }
                    Err(_) => failure = Some(NetError::Internal { what: "the PSI thread stopped" }),
                }
            }
        }
        if failure.is_none() && outcome.is_some() {
            if reader_end == Some(ReaderEnd::PsiGone) {
                failure = Some(NetError::UnexpectedFrame {
                    phase: PSI_PHASE,
                    got: "batch after the protocol completed",
                });
            } else if writer_end == Some(WriterEnd::PsiGone) {
                failure = Some(NetError::Internal {
                    what: "the PSI thread finished without saying so",
                });
            }
        }
    }

    if let Some(mut error) = failure {
        // The PSI thread saw its input or output close because the reader or writer
        // ended; that task's error is the cause. It has returned already (it dropped
        // its channel end), but its result may not be in yet: wait for it.
        if psi_stop == StopKind::InputClosed && !reader_joined {
            reader_joined = true;
            match tokio::time::timeout(grace, &mut reader_task).await {
                Ok(Ok((r, end))) => {
                    reader_back = Some(r);
                    if let Err(cause) = end {
                        error = cause;
                    }
                }
                _ => reader_task.abort(),
            }
        }
        if psi_stop == StopKind::OutputClosed && !writer_joined {
            writer_joined = true;
            match tokio::time::timeout(grace, &mut writer_task).await {
                Ok(Ok((w, end))) => {
                    writer_back = Some(w);
                    if let Err(cause) = end {
                        error = cause;
                    }
                }
                _ => writer_task.abort(),
            }
        }
        let _ = cancel_tx.send(true);
        drop(psi_rx);
        if !reader_joined {
            match tokio::time::timeout(grace, &mut reader_task).await {
                Ok(Ok((r, _))) => reader_back = Some(r),
                _ => reader_task.abort(),
            }
        }
        if !writer_joined {
            match tokio::time::timeout(grace, &mut writer_task).await {
                Ok(Ok((w, _))) => writer_back = Some(w),
                _ => writer_task.abort(),
            }
        }
        if tells_peer(&error)
            && let (Some(mut r), Some(mut w)) = (reader_back, writer_back)
        {
            send_abort(&mut w, &mut r, &error, grace).await;
        }
        tracing::warn!(code = %error.abort_code(), "session failed: {error}");
        return Err(error);
    }
    match (reader_back, writer_back, outcome) {
        (Some(r), Some(w), Some(o)) => Ok((r, w, o)),
        _ => Err(NetError::Internal {
            what: "session ended without all results",
        }),
    }
}

/// Whether an Abort is worth sending: not when the peer is gone or gave up itself.
fn tells_peer(error: &NetError) -> bool {
    !matches!(
        error,
        NetError::PeerAborted { .. }
            | NetError::PeerDisconnected { .. }
            | NetError::Stream { .. }
            | NetError::PeerRefusedTls { .. }
    )
}

async fn reader_loop<R: AsyncRead + Unpin>(
    mut reader: FrameReader<R>,
    in_tx: mpsc::Sender<Message>,
    mut cancel: watch::Receiver<bool>,
    bounds: Bounds,
) -> ReaderOut<R> {
    let mut peer_items = 0u64;
    let mut returned_items = 0u64;
    loop {
        let read = tokio::select! {
            biased;
            _ = cancel.changed() => None,
            r = reader.read_frame(PSI_PHASE, false) => Some(r),
        };
        let frame = match read {
            None => return (reader, Ok(ReaderEnd::Cancelled)),
            Some(Err(e)) => return (reader, Err(e)),
            Some(Ok((frame, _))) => frame,
        };
        let message = match frame {
            Frame::Blinded { batch, points } => {
                let n = points.len() as u64;
                if n > u64::from(bounds.batch_size) {
                    return (
                        reader,
                        Err(out_of_bounds(
                            "blinded",
                            batch,
                            "more items than the batch size",
                        )),
                    );
                }
                peer_items += n;
                if peer_items > bounds.peer_size {
                    return (
                        reader,
                        Err(out_of_bounds(
                            "blinded",
                            batch,
                            "more items than the peer declared",
                        )),
                    );
                }
                Message::Blinded { batch, points }
            }
            Frame::Reblinded {
                batch,
                width,
                values,
            } => {
                if !bounds.i_learn {
                    return (
                        reader,
                        Err(NetError::UnexpectedFrame {
                            phase: PSI_PHASE,
                            got: "reblinded (we do not learn)",
                        }),
                    );
                }
                if usize::from(width) != bounds.width {
                    return (
                        reader,
                        Err(out_of_bounds(
                            "reblinded",
                            batch,
                            "value width differs from the agreed comparison length",
                        )),
                    );
                }
                let n = (values.len() / bounds.width.max(1)) as u64;
                if n > u64::from(bounds.batch_size) {
                    return (
                        reader,
                        Err(out_of_bounds(
                            "reblinded",
                            batch,
                            "more values than the batch size",
                        )),
                    );
                }
                returned_items += n;
                if returned_items > bounds.local_size {
                    return (
                        reader,
                        Err(out_of_bounds(
                            "reblinded",
                            batch,
                            "more values than we declared",
                        )),
                    );
                }
                Message::Reblinded { batch, values }
            }
            Frame::Control(Control::Abort { code, reason }) => {
                return (
                    reader,
                    Err(NetError::PeerAborted {
                        code,
                        reason: sanitize(&reason),
                    }),
                );
            }
            Frame::Control(Control::Done(summary)) => {
                let check = check_done(&reader, &summary);
                return (reader, check.map(|()| ReaderEnd::Done));
            }
            other => {
                return (
                    reader,
                    Err(NetError::UnexpectedFrame {
                        phase: PSI_PHASE,
                        got: other.kind_name(),
                    }),
                );
            }
        };
        let sent = tokio::select! {
            biased;
            _ = cancel.changed() => None,
            r = in_tx.send(message) => Some(r.is_ok()),
        };
        match sent {
            None => return (reader, Ok(ReaderEnd::Cancelled)),
            Some(false) => return (reader, Ok(ReaderEnd::PsiGone)),
            Some(true) => {}
        }
    }
}

fn out_of_bounds(kind: &'static str, batch: u32, reason: &'static str) -> NetError {
    NetError::BatchOutOfBounds {
        kind,
        batch,
        reason,
    }
}

/// The peer's `Done` must describe exactly the bytes we received before it.
fn check_done<R>(reader: &FrameReader<R>, summary: &DoneSummary) -> Result<(), NetError> {
    let Some(before) = &reader.before_last_control else {
        return Err(NetError::Internal {
            what: "no transcript snapshot before the peer's Done",
        });
    };
    if summary.frames != before.frames {
        return Err(NetError::TranscriptMismatch {
            what: "frame count",
        });
    }
    if summary.bytes != before.bytes {
        return Err(NetError::TranscriptMismatch { what: "byte count" });
    }
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        &summary.stream_hash[..],
        &before.digest()[..],
    )) {
        return Err(NetError::TranscriptMismatch {
            what: "stream hash",
        });
    }
    Ok(())
}

async fn writer_loop<W: AsyncWrite + Unpin>(
    mut writer: FrameWriter<W>,
    mut out_rx: mpsc::Receiver<Outbound>,
    mut cancel: watch::Receiver<bool>,
    width: u8,
    progress: Progress,
    grace: Duration,
) -> WriterOut<W> {
    let (mut sent, mut answered) = (0u64, 0u64);
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.changed() => return (writer, Ok(WriterEnd::Cancelled)),
            m = out_rx.recv() => m,
        };
        let result = match next {
            None => return (writer, Ok(WriterEnd::PsiGone)),
            Some(Outbound::Psi(Message::Blinded { batch, points })) => {
                let n = points.len() as u64;
                let r = writer
                    .write_frame(&Frame::Blinded { batch, points }, PSI_PHASE, false)
                    .await;
                sent += n;
                progress.emit(Stage::Sent, sent);
                r
            }
            Some(Outbound::Psi(Message::Reblinded { batch, values })) => {
                let n = (values.len() / usize::from(width.max(1))) as u64;
                let r = writer
                    .write_frame(
                        &Frame::Reblinded {
                            batch,
                            width,
                            values,
                        },
                        PSI_PHASE,
                        false,
                    )
                    .await;
                answered += n;
                progress.emit(Stage::Answered, answered);
                r
            }
            Some(Outbound::Finished) => {
                let summary = DoneSummary {
                    frames: writer.log.frames,
                    bytes: writer.log.bytes,
                    stream_hash: writer.log.digest(),
                };
                let r = writer
                    .write_frame(&Frame::Control(Control::Done(summary)), PSI_PHASE, false)
                    .await;
                if r.is_ok() {
                    // Nothing follows Done: close now, so the peer's final read ends
                    // without waiting for our comparison to finish.
                    writer.shutdown(grace).await;
                }
                return (writer, r.map(|_| WriterEnd::DoneSent));
            }
        };
        if let Err(e) = result {
            return (writer, Err(e));
        }
    }
}

/// Compute time spent in the PSI thread on our own items.
#[derive(Debug, Default, Clone, Copy)]
struct PsiTimes {
    hashing: Duration,
    compare: Duration,
}

/// Why the PSI thread stopped without an outcome.
#[derive(Debug)]
enum PsiStop {
    /// It failed on its own (a peer message the party refused, an internal error).
    Failed(NetError),
    /// Its input closed while it still needed messages: the reader ended, and the
    /// reader's error (if any) is the cause.
    InputClosed(NetError),
    /// Its output closed: the writer ended (its error is the cause) or the session
    /// was cancelled.
    OutputClosed(NetError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopKind {
    Failed,
    InputClosed,
    OutputClosed,
}

impl PsiStop {
    fn kind(&self) -> StopKind {
        match self {
            PsiStop::Failed(_) => StopKind::Failed,
            PsiStop::InputClosed(_) => StopKind::InputClosed,
            PsiStop::OutputClosed(_) => StopKind::OutputClosed,
        }
    }

    fn into_error(self) -> NetError {
        match self {
            PsiStop::Failed(e) | PsiStop::InputClosed(e) | PsiStop::OutputClosed(e) => e,
        }
    }
}

impl From<NetError> for PsiStop {
    fn from(e: NetError) -> Self {
        PsiStop::Failed(e)
    }
}

/// The PSI thread: feeds peer messages to the party and its messages to the writer,
/// never blocking on one channel while the other could move (which could deadlock
/// two parties whose send buffers are both full).
fn psi_loop(
    mut party: Party,
    mut in_rx: mpsc::Receiver<Message>,
    out_tx: mpsc::Sender<Outbound>,
    runtime: &tokio::runtime::Handle,
    progress: &Progress,
) -> Result<(Outcome, PsiTimes), PsiStop> {
    let mut times = PsiTimes::default();
    let cmp_len = party.comparison_len().max(1) as u64;
    let (mut hashed, mut received, mut compared) = (0u64, 0u64, 0u64);
    let mut pending: Option<Message> = None;
    let mut in_closed = false;
    let cancelled = || NetError::Internal {
        what: "the session was cancelled",
    };
    let mut handle = |party: &mut Party, m: Message| -> Result<(), NetError> {
        match &m {
            Message::Blinded { points, .. } => {
                let n = points.len() as u64;
                party.handle(m)?;
                received += n;
                progress.emit(Stage::Received, received);
            }
            Message::Reblinded { values, .. } => {
                let n = values.len() as u64 / cmp_len;
                party.handle(m)?;
                compared += n;
                progress.emit(Stage::Compared, compared);
            }
        }
        Ok(())
    };
    loop {
        let mut progressed = false;
        match in_rx.try_recv() {
            Ok(m) => {
                handle(&mut party, m)?;
                progressed = true;
            }
            Err(mpsc::error::TryRecvError::Empty) => {}
            Err(mpsc::error::TryRecvError::Disconnected) => in_closed = true,
        }
        if pending.is_none() {
            let started = Instant::now();
            pending = party.poll_transmit();
            if let Some(Message::Blinded { points, .. }) = &pending {
                times.hashing += started.elapsed();
                hashed += points.len() as u64;
                progress.emit(Stage::Hashed, hashed);
            }
        }
        if let Some(m) = pending.take() {
            match out_tx.try_send(Outbound::Psi(m)) {
                Ok(()) => progressed = true,
                Err(mpsc::error::TrySendError::Full(Outbound::Psi(m))) => pending = Some(m),
                Err(_) => return Err(PsiStop::OutputClosed(cancelled())),
            }
        }
        if pending.is_none() && party.is_finished() {
            runtime
                .block_on(out_tx.send(Outbound::Finished))
                .map_err(|_| PsiStop::OutputClosed(cancelled()))?;
            let started = Instant::now();
            let outcome = party.finish().map_err(NetError::from)?;
            times.compare = started.elapsed();
            if outcome.matched_count().is_some() {
                progress.emit(Stage::Compared, outcome.local_count);
            }
            return Ok((outcome, times));
        }
        if progressed {
            continue;
        }
        if in_closed && pending.is_none() {
            // The peer sent Done (or the reader stopped) while we still need input.
            return Err(PsiStop::InputClosed(
                party.finish().err().map_or_else(cancelled, NetError::from),
            ));
        }
        let want_in = !in_closed;
        let want_out = pending.is_some();
        let woke = runtime.block_on(async {
            tokio::select! {
                m = in_rx.recv(), if want_in => Wake::Inbound(m),
                permit = out_tx.reserve(), if want_out => match (permit, pending.take()) {
                    (Ok(p), Some(m)) => { p.send(Outbound::Psi(m)); Wake::Sent }
                    (Ok(_), None) => Wake::Sent,
                    (Err(_), _) => Wake::OutClosed,
                },
                else => Wake::OutClosed,
            }
        });
        match woke {
            Wake::Inbound(Some(m)) => handle(&mut party, m)?,
            Wake::Inbound(None) => in_closed = true,
            Wake::Sent => {}
            Wake::OutClosed => return Err(PsiStop::OutputClosed(cancelled())),
        }
    }
}

enum Wake {
    Inbound(Option<Message>),
    Sent,
    OutClosed,
}
