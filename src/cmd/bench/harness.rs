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
    ConnectionInfo, Event, EventSink, Identity, MatchResult, Mode, NetError, PeerAuth, PreparedSet,
    Reveal, Role, SessionOptions, SessionParams, SessionReport, TlsSettings, run_session,
    tls_accept, tls_connect,
};
use blindmatch_psi::{EcdhSetup, ProtocolSetup};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

use super::data::{ID_TYPE, SideIds};
use super::emulation::{End, LinkCounters, LinkSpec, LinkStream, Stage, StageTag, Turns};
use super::floor::{self, FloorOps, FloorSample};
use super::meter::{self, Class, Meter, Metered, SessionPhase};
use super::probe::{self, Memory};
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
    /// Intersection or cardinality.
    pub(crate) mode: Mode,
    /// Who learns.
    pub(crate) reveal: Reveal,
    /// Items of the initiator (the connecting side).
    pub(crate) initiator_size: u64,
    /// Items of the responder (the listening side).
    pub(crate) responder_size: u64,
    /// Items both hold.
    pub(crate) shared: u64,
    /// Transport.
    pub(crate) transport: TransportKind,
    /// Link emulation applied to both directions.
    pub(crate) link: LinkSpec,
    /// Items per batch.
    pub(crate) batch_size: u32,
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
    let ids_i = SideIds::initiator(spec.initiator_size);
    let ids_r = SideIds::responder(spec.initiator_size, spec.responder_size, spec.shared);
    let floor = floor::measure(&ids_i, &ids_r, spec.batch_size)
        .fail_with(|| Failure::failed("the primitive floor could not run"))?;

    let start = Mark::boundary();
    let sets = (ids_i.prepare(), ids_r.prepare());
    let (set_i, set_r) = match sets {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return Err(e).fail_with(|| Failure::failed("cannot build the generated sets"));
        }
    };
    let prepared = Mark::boundary();
    let net = runtime.block_on(network(spec, set_i, set_r, tls))?;

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
    check(spec, &net, &floor, &[prepare, connect, handshake, exchange])?;
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
    set_i: PreparedSet,
    set_r: PreparedSet,
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
        vec![ID_TYPE.to_owned()],
        PROFILE.to_owned(),
    );
    params.batch_size = spec.batch_size;

    let [stream_i, stream_r] = streams;
    let [info_i, info_r] = infos;
    let initiator = {
        let (params, options) = (params.clone(), options.clone());
        tokio::spawn(async move {
            run_session(
                stream_i,
                Role::Initiator,
                &params,
                ecdh(set_i),
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
            ecdh(set_r),
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

/// The self-checks of a repeat: our counts against the session driver's, everything
/// written against everything read, the results against the generated overlap.
fn check(
    spec: &RunSpec,
    net: &Network,
    floor: &FloorSample,
    phases: &[PhaseSample; 4],
) -> anyhow::Result<()> {
    let [report_i, report_r] = &net.reports;
    let [meter_i, meter_r] = &net.gauges.meter;
    let [link_i, link_r] = &net.gauges.link;
    let mismatch = |what: String| -> anyhow::Result<()> {
        Err(
            Failure::failed(format!("benchmark self-check failed: {what}"))
                .hint("this is a bug in blindmatch; please report it with the command line")
                .into(),
        )
    };
    let frames_i = meter_i.written();
    let frames_r = meter_r.written();
    if floor.ops != FloorOps::for_sizes(spec.initiator_size, spec.responder_size) {
        return mismatch(format!("the floor did {:?}", floor.ops));
    }
    if meter_i.read() != report_i.traffic.bytes_received
        || meter_r.read() != report_r.traffic.bytes_received
    {
        return mismatch("frame bytes read differ from the session driver's".to_owned());
    }
    // Every frame byte was classified, and the bytes counted as the handshake's are
    // exactly its hello and accept frames.
    for (d, counts) in net.counts.iter().enumerate() {
        let handshake = counts.bytes(Class::Hello) + counts.bytes(Class::Accept);
        let written = [frames_i, frames_r].get(d).copied().unwrap_or_default();
        let counted = net
            .gauges
            .meter
            .get(d)
            .map(|m| m.written_in(Stage::Handshake));
        if counts.total_bytes() != written || counted != Some(handshake) {
            return mismatch(format!(
                "direction {d}: {} frame bytes classified of {written}, handshake frames {handshake} against {counted:?} counted",
                counts.total_bytes()
            ));
        }
    }
    if frames_i != report_i.traffic.bytes_sent || frames_i != report_r.traffic.bytes_received {
        return mismatch(format!(
            "initiator frame bytes: meter {frames_i}, session sent {}, peer received {}",
            report_i.traffic.bytes_sent, report_r.traffic.bytes_received
        ));
    }
    if frames_r != report_r.traffic.bytes_sent || frames_r != report_i.traffic.bytes_received {
        return mismatch(format!(
            "responder frame bytes: meter {frames_r}, session sent {}, peer received {}",
            report_r.traffic.bytes_sent, report_i.traffic.bytes_received
        ));
    }
    if link_i.written() != link_r.read() || link_r.written() != link_i.read() {
        return mismatch(format!(
            "transport bytes written ({}, {}) differ from bytes delivered ({}, {})",
            link_i.written(),
            link_r.written(),
            link_r.read(),
            link_i.read()
        ));
    }
    let summed = |f: fn(&PhaseSample) -> [u64; 2]| {
        phases
            .iter()
            .map(f)
            .fold([0, 0], |acc, x| [acc[0] + x[0], acc[1] + x[1]])
    };
    if summed(|p| p.frames) != [frames_i, frames_r]
        || summed(|p| p.wire) != [link_i.written(), link_r.written()]
    {
        return mismatch("per-phase byte counts do not add up to the totals".to_owned());
    }
    if spec.transport != TransportKind::Tls
        && [frames_i, frames_r] != [link_i.written(), link_r.written()]
    {
        return mismatch("plaintext transport bytes differ from frame bytes".to_owned());
    }
    for report in [report_i, report_r] {
        let learns = spec.reveal.learns(report.role);
        let got = report.matched_count;
        let expected = learns.then_some(spec.shared);
        let rows_ok = match &report.outcome.result {
            MatchResult::Intersection { matches, .. } => {
                spec.mode == Mode::Intersection && matches.len() as u64 == spec.shared
            }
            _ => spec.mode == Mode::Cardinality || !learns,
        };
        if got != expected || !rows_ok {
            return mismatch(format!(
                "the {:?} learned {got:?} matches, expected {expected:?}",
                report.role
            ));
        }
    }
    Ok(())
}

/// The ECDH protocol over a set, as the session takes it.
fn ecdh(set: PreparedSet) -> Box<dyn ProtocolSetup> {
    Box::new(EcdhSetup::new(set))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn runtime() -> Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn spec(transport: TransportKind, link: LinkSpec, mode: Mode) -> RunSpec {
        RunSpec {
            mode,
            reveal: Reveal::Both,
            initiator_size: 120,
            responder_size: 90,
            shared: 50,
            transport,
            link,
            batch_size: 32,
        }
    }

    /// Counts every byte at the very bottom, beneath the link emulator, independently
    /// of both the harness's counters and the session driver's.
    struct RawCount<S> {
        inner: S,
        written: Arc<std::sync::atomic::AtomicU64>,
    }

    impl<S: AsyncRead + Unpin> AsyncRead for RawCount<S> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for RawCount<S> {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let this = &mut *self;
            let poll = std::pin::Pin::new(&mut this.inner).poll_write(cx, buf);
            if let std::task::Poll::Ready(Ok(n)) = &poll {
                this.written
                    .fetch_add(*n as u64, std::sync::atomic::Ordering::Relaxed);
            }
            poll
        }
        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_flush(cx)
        }
        fn poll_shutdown(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// The byte counts the harness reports equal the bytes that really went into the
    /// transport (counted beneath the emulator) and the session driver's own counts.
    #[test]
    fn reported_bytes_equal_bytes_written_to_the_transport() {
        let rt = runtime();
        for link in [
            LinkSpec::UNSHAPED,
            LinkSpec {
                bandwidth_bits_per_s: Some(50e6),
                latency: Duration::from_millis(2),
            },
        ] {
            let (ids_i, ids_r) = (SideIds::initiator(120), SideIds::responder(120, 90, 50));
            let (set_i, set_r) = (ids_i.prepare().unwrap(), ids_r.prepare().unwrap());
            let (reports, raw, link_counts, meters) = rt.block_on(async {
                let (a, b) = tokio::io::duplex(PIPE_CAPACITY);
                let raw = [Arc::default(), Arc::default()];
                let a = RawCount {
                    inner: a,
                    written: Arc::clone(&raw[0]),
                };
                let b = RawCount {
                    inner: b,
                    written: Arc::clone(&raw[1]),
                };
                let turns = Arc::new(Turns::default());
                let ([si, sr], gauges, _) = plain(a, b, &link, &turns);
                let mut params = SessionParams::new(
                    Mode::Intersection,
                    Reveal::Both,
                    vec![ID_TYPE.into()],
                    PROFILE.into(),
                );
                params.batch_size = 32;
                let options = SessionOptions::default();
                let (p2, o2) = (params.clone(), options.clone());
                let ti = tokio::spawn(async move {
                    run_session(
                        si,
                        Role::Initiator,
                        &p2,
                        ecdh(set_i),
                        &o2,
                        ConnectionInfo::default(),
                    )
                    .await
                });
                let tr = tokio::spawn(async move {
                    run_session(
                        sr,
                        Role::Responder,
                        &params,
                        ecdh(set_r),
                        &options,
                        ConnectionInfo::default(),
                    )
                    .await
                });
                let (ri, rr) = tokio::join!(ti, tr);
                (
                    [ri.unwrap().unwrap(), rr.unwrap().unwrap()],
                    raw,
                    gauges.link.clone(),
                    gauges.meter.clone(),
                )
            });
            for d in 0..2 {
                let into_transport = raw[d].load(std::sync::atomic::Ordering::Relaxed);
                assert!(
                    into_transport > 90 * 32,
                    "a whole set of points went each way"
                );
                assert_eq!(
                    link_counts[d].written(),
                    into_transport,
                    "link wrapper, direction {d}"
                );
                assert_eq!(
                    link_counts[1 - d].read(),
                    into_transport,
                    "delivered, direction {d}"
                );
                assert_eq!(
                    meters[d].written(),
                    into_transport,
                    "frame meter, direction {d}"
                );
                assert_eq!(
                    reports[d].traffic.bytes_sent, into_transport,
                    "session driver, direction {d}"
                );
            }
        }
    }

    #[test]
    fn a_repeat_measures_every_phase_and_checks_itself() {
        let rt = runtime();
        for (transport, mode) in [
            (TransportKind::Memory, Mode::Intersection),
            (TransportKind::Tcp, Mode::Cardinality),
            (TransportKind::Tls, Mode::Intersection),
        ] {
            let tls = TlsPair::generate().unwrap();
            let s = spec(transport, LinkSpec::UNSHAPED, mode);
            let sample = run_repeat(&s, &rt, Some(&tls)).unwrap();
            assert_eq!(sample.matched, 50);
            let [prepare, connect, handshake, exchange] = sample.phases;
            assert_eq!(prepare.wire, [0, 0]);
            assert_eq!(handshake.flights, 2);
            assert_eq!(exchange.flights, 3);
            // The points alone: 32 bytes per item each way.
            assert!(exchange.frames[0] > 120 * 32 && exchange.frames[1] > 90 * 32);
            let total: [u64; 2] = [
                sample.phases.iter().map(|p| p.frames[0]).sum(),
                sample.phases.iter().map(|p| p.frames[1]).sum(),
            ];
            assert_eq!(total, sample.session_bytes);
            match transport {
                TransportKind::Tls => {
                    assert_eq!(connect.flights, 3, "TLS 1.3 with client certificates");
                    assert!(connect.wire[0] > 0 && connect.wire[1] > 0);
                    assert!(
                        exchange.wire[0] > exchange.frames[0],
                        "TLS adds record overhead"
                    );
                }
                _ => {
                    assert_eq!(connect.flights, 0);
                    assert_eq!(connect.wire, [0, 0]);
                    assert_eq!(exchange.wire, exchange.frames);
                }
            }
        }
    }
}
