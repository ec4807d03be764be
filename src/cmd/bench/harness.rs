//! One repeat of one benchmark configuration: the primitive floor, then both parties of
//! a real session in this process, measured phase by phase.
//!
//! Phases, separated by process-wide snapshots (wall clock, process CPU clock,
//! resident memory with the peak reset at every boundary):
//!
//! 1. `prepare`: both sides build their de-duplicated sets from the generated data.
//! 2. `connect`: the transport comes up (an in-memory pipe; a TCP connection on
//!    127.0.0.1; or that plus the TLS 1.3 handshake with mutual authentication), each end
//!    wrapped in the link emulator ([`super::emulation`]) beneath TLS.
//! 3. `handshake`: both session drivers exchange hellos and accepts; the phase ends
//!    when the first side has accepted (at that moment every handshake byte is written
//!    and no PSI work has started).
//! 4. `exchange`: the PSI proper, both results, the closing `Done` exchange.
//!
//! Bytes are not taken from the snapshots (a peer can read bytes, and end a phase,
//! before the writer's counter has moved): each end's frame meter tags what it writes
//! with the session phase of the frame, and the transport beneath counts under that
//! tag, so the transport bytes each way (TLS records included) and the frame bytes
//! each way above TLS are split between phases exactly. After the run the harness
//! checks its counts against the session driver's own and both results against the
//! known overlap.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use blindmatch_net::{
    ConnectionInfo, Event, EventSink, Identity, Mode, NetError, PeerAuth, PreparedSet, Reveal,
    Role, SessionOptions, SessionParams, SessionReport, TlsSettings, run_session, tls_accept,
    tls_connect,
};
use blindmatch_pipeline::matching::PsiProtocol;
use blindmatch_psi::rr22::Rr22Setup;
use blindmatch_psi::{EcdhSetup, ProtocolSetup};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

#[cfg(test)]
use super::data::ID_TYPE;
use super::data::SideIds;
use super::emulation::{End, LinkCounters, LinkSpec, LinkStream, Stage, StageTag, Turns};
use super::floor::{self, FloorSample};
use super::labelled;
use super::meter::{self, Meter, Metered, SessionPhase};
use super::probe::{self, Memory};
use super::protocols;
use crate::error::{FailWith, Failure};

/// Normalisation profile both sides declare (opaque to the protocol).
const PROFILE: &str = "blindmatch-bench";
/// Buffer of the in-memory pipe per direction, like a socket buffer.
const PIPE_CAPACITY: usize = 256 << 10;
/// Longest wait for any read or write inside a session.
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// How the two parties are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    /// An in-process pipe (`tokio::io::duplex`).
    Memory,
    /// Plain TCP over 127.0.0.1 (the session's insecure testing transport).
    Tcp,
    /// TCP over 127.0.0.1 with TLS 1.3, both sides authenticated by pinned certificates.
    Tls,
}

impl TransportKind {
    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TransportKind::Memory => "memory",
            TransportKind::Tcp => "tcp",
            TransportKind::Tls => "tls",
        }
    }
}

/// One configuration to measure.
#[derive(Debug, Clone)]
pub(crate) struct RunSpec {
    /// Intersection, cardinality or labelled.
    pub(crate) mode: Mode,
    /// Who learns.
    pub(crate) reveal: Reveal,
    /// Items of the initiator (the connecting side) per rule.
    pub(crate) initiator_size: u64,
    /// Items of the responder (the listening side) per rule.
    pub(crate) responder_size: u64,
    /// Items both hold, per rule.
    pub(crate) shared: u64,
    /// Matching rules (domain-separated subsets of the one session, see
    /// [`super::data::RULE_LABELS`]): each side holds `rules ×` its size in items.
    pub(crate) rules: usize,
    /// Transport.
    pub(crate) transport: TransportKind,
    /// Link emulation applied to both directions.
    pub(crate) link: LinkSpec,
    /// Items per batch.
    pub(crate) batch_size: u32,
    /// Labelled mode: bytes of each released value (one column, one set per item).
    pub(crate) label_bytes: u32,
    /// The PSI protocol of intersection and cardinality runs (labelled mode runs
    /// its own).
    pub(crate) protocol: PsiProtocol,
}

/// Certificates and pins of both parties for the `tls` transport, made once per
/// benchmark (outside any timing, as a real deployment has its identities already).
#[derive(Debug, Clone)]
pub(crate) struct TlsPair {
    initiator: TlsSettings,
    responder: TlsSettings,
}

impl TlsPair {
    /// Fresh identities for both sides, each pinning the other.
    ///
    /// # Errors
    ///
    /// [`NetError`] if key generation fails.
    pub(crate) fn generate() -> Result<TlsPair, NetError> {
        let i = Arc::new(Identity::generate("bench-initiator")?);
        let r = Arc::new(Identity::generate("bench-responder")?);
        let (fi, fr) = (i.fingerprint(), r.fingerprint());
        Ok(TlsPair {
            initiator: TlsSettings {
                identity: i,
                peer: PeerAuth::Fingerprint(fr),
            },
            responder: TlsSettings {
                identity: r,
                peer: PeerAuth::Fingerprint(fi),
            },
        })
    }
}

/// The phases of a repeat, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Building both prepared sets.
    Prepare,
    /// Transport set-up (TCP, TLS).
    Connect,
    /// Hello and accept.
    Handshake,
    /// The PSI exchange and the closing `Done`s.
    Exchange,
}

impl Phase {
    /// All phases in order.
    pub(crate) const ALL: [Phase; 4] = [
        Phase::Prepare,
        Phase::Connect,
        Phase::Handshake,
        Phase::Exchange,
    ];
}

/// What one phase of one repeat cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PhaseSample {
    /// Wall-clock time.
    pub(crate) wall: Duration,
    /// Process CPU time (both parties and everything else in the process).
    pub(crate) cpu: Option<Duration>,
    /// Bytes written to the transport `[initiator→responder, responder→initiator]`.
    pub(crate) wire: [u64; 2],
    /// Frame bytes written by the session drivers, same order.
    pub(crate) frames: [u64; 2],
    /// Resident memory when the phase began.
    pub(crate) rss_start: Option<u64>,
    /// Peak resident memory during the phase.
    pub(crate) rss_peak: Option<u64>,
    /// Sequential one-way message flights the phase needed.
    pub(crate) flights: u32,
}

/// Everything one repeat measured.
#[derive(Debug, Clone)]
pub(crate) struct RepeatSample {
    /// The floor, measured just before the session.
    pub(crate) floor: FloorSample,
    /// Per phase, in [`Phase::ALL`] order.
    pub(crate) phases: [PhaseSample; 4],
    /// Frame bytes each way by the session drivers' own counters.
    pub(crate) session_bytes: [u64; 2],
    /// Bytes per doubly blinded value in this session.
    pub(crate) comparison_len: usize,
    /// Distinct matched values (as a learner reported them).
    pub(crate) matched: u64,
}

/// Streams as the session drivers get them: whatever the transport, boxed.
trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}
type BoxStream = Box<dyn Duplex>;

/// The byte counters of both ends `[initiator, responder]`.
#[derive(Clone)]
struct Gauges {
    link: [Arc<LinkCounters>; 2],
    meter: [Arc<Meter>; 2],
}

impl Gauges {
    /// Transport and frame bytes each way in `stage`.
    fn bytes(&self, stage: Stage) -> ([u64; 2], [u64; 2]) {
        let [li, lr] = &self.link;
        let [mi, mr] = &self.meter;
        (
            [li.written_in(stage), lr.written_in(stage)],
            [mi.written_in(stage), mr.written_in(stage)],
        )
    }
}

/// A process-wide snapshot at a phase boundary: clocks and memory. (Bytes are not
/// snapshotted: a peer may read bytes before the writer's counter moves, so they are
/// counted by the phase they were written in instead, see [`Stage`].)
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: Instant,
    cpu: Option<Duration>,
    memory: Option<Memory>,
}

impl Mark {
    /// Takes a snapshot, then resets the peak memory so that the next snapshot sees the
    /// peak of the phase in between.
    fn boundary() -> Mark {
        let at = Instant::now();
        let cpu = probe::process_cpu_time();
        let memory = probe::memory();
        probe::reset_peak();
        Mark { at, cpu, memory }
    }

    /// The phase from `self` to `end`, which wrote `bytes` (transport, frames).
    fn until(&self, end: &Mark, bytes: ([u64; 2], [u64; 2]), flights: u32) -> PhaseSample {
        PhaseSample {
            wall: end.at.saturating_duration_since(self.at),
            cpu: self.cpu.zip(end.cpu).map(|(a, b)| b.saturating_sub(a)),
            wire: bytes.0,
            frames: bytes.1,
            rss_start: self.memory.map(|m| m.rss),
            rss_peak: end.memory.map(|m| m.peak),
            flights,
        }
    }
}

/// Runs the floor and then one session for `spec`; network work runs on `runtime`,
/// the crypto on the global rayon pool.
///
/// # Errors
///
/// A run-time [`Failure`] if the session fails or a self-check does not hold (frame
/// counts against the session driver's, results against the known overlap).
pub(crate) fn run_repeat(
    spec: &RunSpec,
    runtime: &Runtime,
    tls: Option<&TlsPair>,
) -> anyhow::Result<RepeatSample> {
    let ids_i = SideIds::initiator(spec.initiator_size).with_rules(spec.rules);
    let ids_r = SideIds::responder(spec.initiator_size, spec.responder_size, spec.shared)
        .with_rules(spec.rules);
    let learner_is_initiator = labelled::learner(spec.reveal) == Role::Initiator;
    let (learner_ids, giver_ids) = if learner_is_initiator {
        (&ids_i, &ids_r)
    } else {
        (&ids_r, &ids_i)
    };
    let floor = match spec.mode {
        Mode::Labelled => floor::measure_labelled(
            learner_ids,
            giver_ids,
            spec.shared,
            spec.label_bytes,
            spec.batch_size,
        ),
        _ if spec.protocol == PsiProtocol::Vole => {
            protocols::measure(&ids_i, &ids_r, spec.reveal, spec.batch_size)
        }
        _ => floor::measure(&ids_i, &ids_r, spec.batch_size),
    }
    .fail_with(|| Failure::failed("the primitive floor could not run"))?;

    let start = Mark::boundary();
    let sets = (ids_i.prepare(), ids_r.prepare());
    let (set_i, set_r) = match sets {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return Err(e).fail_with(|| Failure::failed("cannot build the generated sets"));
        }
    };
    let setups = match spec.mode {
        Mode::Labelled => labelled::setups(
            spec.reveal,
            spec.label_bytes,
            [&ids_i, &ids_r],
            [set_i, set_r],
        )
        .fail_with(|| Failure::failed("cannot build the labelled setups"))?,
        _ if spec.protocol == PsiProtocol::Vole => [vole(set_i), vole(set_r)],
        _ => [ecdh(set_i), ecdh(set_r)],
    };
    let prepared = Mark::boundary();
    let net = runtime.block_on(network(spec, setups, tls))?;

    let g = &net.gauges;
    let prepare = start.until(&prepared, ([0; 2], [0; 2]), 0);
    let connect = prepared.until(&net.connected, g.bytes(Stage::Connect), net.connect_flights);
    let handshake = net.connected.until(
        &net.accepted,
        g.bytes(Stage::Handshake),
        meter::flights(&net.counts[0], &net.counts[1], SessionPhase::Handshake),
    );
    let exchange = net.accepted.until(
        &net.finished,
        g.bytes(Stage::Exchange),
        meter::flights(&net.counts[0], &net.counts[1], SessionPhase::Exchange),
    );
    let [report_i, report_r] = &net.reports;
    check::check(spec, &net, &floor, &[prepare, connect, handshake, exchange])?;
    if spec.mode == Mode::Labelled {
        let expected = spec.rules as u64 * spec.shared;
        labelled::check(
            spec.reveal,
            spec.label_bytes,
            expected,
            learner_ids,
            [report_i, report_r],
        )
        .map_err(|what| {
            Failure::failed(format!("benchmark self-check failed: {what}"))
                .hint("this is a bug in blindmatch; please report it with the command line")
        })?;
    }
    let matched = report_i
        .matched_count
        .or(report_r.matched_count)
        .unwrap_or_default();
    Ok(RepeatSample {
        floor,
        phases: [prepare, connect, handshake, exchange],
        session_bytes: [report_i.traffic.bytes_sent, report_r.traffic.bytes_sent],
        comparison_len: report_i.comparison_len,
        matched,
    })
}

/// What the networked part of a repeat produced.
struct Network {
    connected: Mark,
    accepted: Mark,
    finished: Mark,
    connect_flights: u32,
    counts: [meter::FrameCounts; 2],
    reports: [SessionReport; 2],
    gauges: Gauges,
}

/// The transport, then both sessions side by side.
async fn network(
    spec: &RunSpec,
    setups: [Box<dyn ProtocolSetup>; 2],
    tls: Option<&TlsPair>,
) -> anyhow::Result<Network> {
    let turns = Arc::new(Turns::default());
    let (streams, gauges, infos) = connect(spec, tls, &turns).await?;
    let connected = Mark::boundary();
    let connect_flights = u32::try_from(turns.runs()).unwrap_or(u32::MAX);

    let accepted_slot: Arc<Mutex<Option<Mark>>> = Arc::default();
    let sink: EventSink = {
        let slot = Arc::clone(&accepted_slot);
        Arc::new(move |event: &Event| {
            if let Event::HandshakeComplete { .. } = event {
                let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                if slot.is_none() {
                    *slot = Some(Mark::boundary());
                }
            }
        })
    };
    let options = SessionOptions {
        io_timeout: IO_TIMEOUT,
        events: Some(sink),
        ..SessionOptions::default()
    };
    let mut params = SessionParams::new(
        spec.mode,
        spec.reveal,
        super::rules::labels(spec.rules)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        PROFILE.to_owned(),
    );
    params.batch_size = spec.batch_size;

    let [stream_i, stream_r] = streams;
    let [info_i, info_r] = infos;
    let [setup_i, setup_r] = setups;
    let initiator = {
        let (params, options) = (params.clone(), options.clone());
        tokio::spawn(async move {
            run_session(
                stream_i,
                Role::Initiator,
                &params,
                setup_i,
                &options,
                info_i,
            )
            .await
        })
    };
    let responder = tokio::spawn(async move {
        run_session(
            stream_r,
            Role::Responder,
            &params,
            setup_r,
            &options,
            info_r,
        )
        .await
    });
    let (joined_i, joined_r) = tokio::join!(initiator, responder);
    let finished = Mark::boundary();

    let joined = |j: Result<Result<SessionReport, NetError>, tokio::task::JoinError>| {
        j.unwrap_or(Err(NetError::Internal {
            what: "a session task failed",
        }))
    };
    let (report_i, report_r) = match (joined(joined_i), joined(joined_r)) {
        (Ok(i), Ok(r)) => (i, r),
        (Err(NetError::PeerAborted { .. }), Err(other)) => {
            return Err(other).fail_with(|| Failure::failed("the benchmark session failed"));
        }
        (Err(e), _) | (_, Err(e)) => {
            return Err(e).fail_with(|| Failure::failed("the benchmark session failed"));
        }
    };
    let accepted = accepted_slot
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .ok_or_else(|| Failure::failed("the session finished without a handshake event"))?;
    Ok(Network {
        connected,
        accepted,
        finished,
        connect_flights,
        counts: [gauges.meter[0].counts(), gauges.meter[1].counts()],
        reports: [report_i, report_r],
        gauges,
    })
}

/// Both ends of the transport, wrapped: link emulator and byte counter at the bottom,
/// TLS (if any) above it, the frame meter on top.
async fn connect(
    spec: &RunSpec,
    tls: Option<&TlsPair>,
    turns: &Arc<Turns>,
) -> anyhow::Result<([Metered<BoxStream>; 2], Gauges, [ConnectionInfo; 2])> {
    let link = &spec.link;
    match spec.transport {
        TransportKind::Memory => {
            let (a, b) = tokio::io::duplex(PIPE_CAPACITY);
            Ok(plain(a, b, link, turns))
        }
        TransportKind::Tcp => {
            let (a, b) = tcp_pair()
                .await
                .fail_with(|| Failure::failed("cannot connect over 127.0.0.1"))?;
            Ok(plain(a, b, link, turns))
        }
        TransportKind::Tls => {
            let tls = tls.ok_or_else(|| Failure::failed("TLS identities are missing"))?;
            let (a, b) = tcp_pair()
                .await
                .fail_with(|| Failure::failed("cannot connect over 127.0.0.1"))?;
            let (tag_a, tag_b) = (Arc::new(StageTag::default()), Arc::new(StageTag::default()));
            let (la, wire_a) = LinkStream::new(
                a,
                link,
                End::Initiator,
                Arc::clone(turns),
                Arc::clone(&tag_a),
            );
            let (lb, wire_b) = LinkStream::new(
                b,
                link,
                End::Responder,
                Arc::clone(turns),
                Arc::clone(&tag_b),
            );
            let started = Instant::now();
            let (ea, eb) = tokio::try_join!(
                tls_connect(la, &tls.initiator, None),
                tls_accept(lb, &tls.responder)
            )
            .fail_with(|| Failure::failed("the TLS handshake between the two parties failed"))?;
            let connect_time = started.elapsed();
            let (ma, meter_a) = Metered::new(Box::new(ea.stream) as BoxStream, tag_a);
            let (mb, meter_b) = Metered::new(Box::new(eb.stream) as BoxStream, tag_b);
            let info = |settings: &TlsSettings, peer, exporter| ConnectionInfo {
                local_fingerprint: Some(settings.identity.fingerprint()),
                peer_fingerprint: Some(peer),
                connect_time,
                tls_exporter: Some(exporter),
                ..ConnectionInfo::default()
            };
            Ok((
                [ma, mb],
                Gauges {
                    link: [wire_a, wire_b],
                    meter: [meter_a, meter_b],
                },
                [
                    info(&tls.initiator, ea.peer_fingerprint, ea.exporter),
                    info(&tls.responder, eb.peer_fingerprint, eb.exporter),
                ],
            ))
        }
    }
}

/// A plaintext pair: the frame meter directly over the link emulator.
fn plain<S>(
    a: S,
    b: S,
    link: &LinkSpec,
    turns: &Arc<Turns>,
) -> ([Metered<BoxStream>; 2], Gauges, [ConnectionInfo; 2])
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (tag_a, tag_b) = (Arc::new(StageTag::default()), Arc::new(StageTag::default()));
    let (la, wire_a) = LinkStream::new(
        a,
        link,
        End::Initiator,
        Arc::clone(turns),
        Arc::clone(&tag_a),
    );
    let (lb, wire_b) = LinkStream::new(
        b,
        link,
        End::Responder,
        Arc::clone(turns),
        Arc::clone(&tag_b),
    );
    let (ma, meter_a) = Metered::new(Box::new(la) as BoxStream, tag_a);
    let (mb, meter_b) = Metered::new(Box::new(lb) as BoxStream, tag_b);
    (
        [ma, mb],
        Gauges {
            link: [wire_a, wire_b],
            meter: [meter_a, meter_b],
        },
        [ConnectionInfo::default(), ConnectionInfo::default()],
    )
}

/// A TCP connection over loopback: `(connecting end, accepted end)`, Nagle off as the
/// session driver's own connections have it.
async fn tcp_pair() -> std::io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (accepted, connected) = tokio::join!(listener.accept(), TcpStream::connect(addr));
    let (accepted, _) = accepted?;
    let connected = connected?;
    connected.set_nodelay(true)?;
    accepted.set_nodelay(true)?;
    Ok((connected, accepted))
}

/// The ECDH protocol over a set, as the session takes it.
fn ecdh(set: PreparedSet) -> Box<dyn ProtocolSetup> {
    Box::new(EcdhSetup::new(set))
}

/// The vole protocol (`vole-rr22-silent`) over a set.
fn vole(set: PreparedSet) -> Box<dyn ProtocolSetup> {
    Box::new(Rr22Setup::new(set))
}

mod check;
#[cfg(test)]
mod tests;
