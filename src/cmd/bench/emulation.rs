//! In-process network emulation and the transport-level byte count.
//!
//! [`LinkStream`] wraps one end of any byte stream (an in-memory pipe, a TCP socket;
//! beneath TLS when TLS is used) and makes what that end writes reach the other end as
//! over a link of limited bandwidth with an added one-way latency:
//!
//! - **Bandwidth** is a token bucket of rate `r` and depth [`BURST_BYTES`] (one
//!   Ethernet MTU), kept in its virtual-time form (GCRA): a write is admitted when the
//!   link's backlog is short, and its last byte leaves the link at
//!   `max(backlog end, now - burst) + bytes / r`. Writes are taken in chunks of about
//!   1 ms of the link's time (at least one MTU, at most 64 KiB), so a chunk is
//!   forwarded as a whole (store and forward) at that granularity. While the link is
//!   busy more than [`QUEUE`] (or two chunk times) ahead, the writer waits, as on a
//!   full socket buffer.
//! - **Latency**: every chunk is delivered `latency` after its last byte left the link,
//!   by a forwarding task that writes it into the real stream at that moment.
//!
//! Each direction is shaped by the end that writes it, so the two directions are two
//! independent links, like a full-duplex line. The TCP handshake of the `tcp` and `tls`
//! transports happens before the wrapper exists and is not delayed; the TLS handshake
//! runs through it and is.
//!
//! The wrapper also counts every byte written to and read from the stream beneath it,
//! independently of the session driver's own counters, and records which end wrote
//! last, so that the strictly alternating flights of the TLS handshake can be counted.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf};
use tokio::sync::mpsc::{self, OwnedPermit, error::SendError};
use tokio::time::{Instant, Sleep, sleep_until};

/// Token bucket depth: one Ethernet MTU, as `tc tbf` needs at least.
pub(crate) const BURST_BYTES: usize = 1500;
/// Largest chunk a write is cut into.
const MAX_CHUNK: usize = 64 << 10;
/// How far ahead of now the link may be booked before a writer waits (at least; two
/// chunk times when that is longer). Long enough that a writer woken a timer tick late
/// still finds the link busy, so the line rate is kept.
pub(crate) const QUEUE: Duration = Duration::from_millis(5);
/// Chunks in flight per direction; beyond it a writer waits for delivery (bounds the
/// memory a high-latency, unlimited-bandwidth link holds: 256 × 64 KiB).
const IN_FLIGHT_CHUNKS: usize = 256;

/// What the emulated link does to each direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LinkSpec {
    /// Line rate in bits per second; `None` for no limit.
    pub(crate) bandwidth_bits_per_s: Option<f64>,
    /// Added one-way delay.
    pub(crate) latency: Duration,
}

impl LinkSpec {
    /// No shaping: the wrapper only counts.
    #[cfg(test)]
    pub(crate) const UNSHAPED: LinkSpec = LinkSpec {
        bandwidth_bits_per_s: None,
        latency: Duration::ZERO,
    };

    /// Whether writes are delayed at all.
    pub(crate) fn is_shaped(&self) -> bool {
        self.bandwidth_bits_per_s.is_some() || !self.latency.is_zero()
    }
}

/// Which party's end a wrapper sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The connecting side (PSI initiator).
    Initiator,
    /// The listening side (PSI responder).
    Responder,
}

impl End {
    fn code(self) -> u8 {
        match self {
            End::Initiator => 1,
            End::Responder => 2,
        }
    }
}

/// What the bytes an end writes belong to: the transport's own set-up (the TLS
/// handshake), or the session phase of the frame being written, as the frame meter
/// above the transport says (see `meter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Before the session driver writes anything.
    Connect,
    /// Hello and accept frames.
    Handshake,
    /// Everything after.
    Exchange,
}

impl Stage {
    fn index(self) -> usize {
        match self {
            Stage::Connect => 0,
            Stage::Handshake => 1,
            Stage::Exchange => 2,
        }
    }
}

/// The stage one end is writing in, shared by that end's wrappers: the frame meter
/// sets it before each write, the link wrapper reads it while counting.
#[derive(Debug, Default)]
pub(crate) struct StageTag(AtomicU8);

impl StageTag {
    /// Marks what the next bytes written belong to.
    pub(crate) fn set(&self, stage: Stage) {
        self.0.store(stage.index() as u8, Ordering::Relaxed);
    }

    /// The current stage.
    pub(crate) fn get(&self) -> Stage {
        match self.0.load(Ordering::Relaxed) {
            0 => Stage::Connect,
            1 => Stage::Handshake,
            _ => Stage::Exchange,
        }
    }
}

/// Bytes counted by stage; written from one task, read from anywhere.
#[derive(Debug, Default)]
pub(crate) struct StageBytes([AtomicU64; 3]);

impl StageBytes {
    /// Adds `n` bytes to `stage`.
    pub(crate) fn add(&self, stage: Stage, n: u64) {
        if let Some(c) = self.0.get(stage.index()) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Bytes of `stage`.
    pub(crate) fn get(&self, stage: Stage) -> u64 {
        self.0
            .get(stage.index())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Bytes of all stages.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// Bytes that crossed one end's wrapper.
#[derive(Debug, Default)]
pub(crate) struct LinkCounters {
    written: StageBytes,
    read: AtomicU64,
}

impl LinkCounters {
    /// Bytes this end handed to the link (accepted by `poll_write`).
    pub(crate) fn written(&self) -> u64 {
        self.written.total()
    }

    /// Bytes this end handed to the link while writing in `stage`.
    pub(crate) fn written_in(&self, stage: Stage) -> u64 {
        self.written.get(stage)
    }

    /// Bytes this end read from the stream beneath.
    pub(crate) fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

/// Shared by both ends of one connection: how many runs of writes by one end there
/// were (a new run starts whenever the other end writes). Meaningful while the ends
/// take strict turns, as in the TLS handshake.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    last: AtomicU8,
    runs: AtomicU64,
}

impl Turns {
    fn record(&self, end: End) {
        if self.last.swap(end.code(), Ordering::Relaxed) != end.code() {
            self.runs.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs of writes so far.
    pub(crate) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
}

/// The token bucket in virtual-time form: `tat` is when everything admitted so far
/// has left the link at exactly the line rate.
#[derive(Debug)]
struct Pacer {
    bytes_per_s: f64,
    /// Idle time the bucket can bank: `BURST_BYTES / rate`.
    burst: Duration,
    chunk: usize,
    queue: Duration,
    tat: Option<Instant>,
}

impl Pacer {
    fn new(bits_per_s: f64) -> Pacer {
        let bytes_per_s = bits_per_s / 8.0;
        // About 1 ms of the link per chunk, at least one MTU.
        let chunk = ((bytes_per_s / 1000.0) as usize).clamp(BURST_BYTES, MAX_CHUNK);
        let chunk_time = Duration::from_secs_f64(chunk as f64 / bytes_per_s);
        Pacer {
            bytes_per_s,
            burst: Duration::from_secs_f64(BURST_BYTES as f64 / bytes_per_s),
            chunk,
            queue: QUEUE.max(2 * chunk_time),
            tat: None,
        }
    }

    /// Admits up to `len` bytes at `now`: `Ok((n, left))` when `n` bytes are taken and
    /// their last byte leaves the link at `left`; `Err(wake)` when the link is booked
    /// too far ahead and the writer should try again at `wake`.
    fn admit(&mut self, now: Instant, len: usize) -> Result<(usize, Instant), Instant> {
        let earliest = now.checked_sub(self.burst).unwrap_or(now);
        let start = match self.tat {
            Some(tat) if tat > earliest => tat,
            _ => earliest,
        };
        if start > now + self.queue {
            return Err(start - self.queue / 2);
        }
        let n = len.min(self.chunk);
        let finish = start + Duration::from_secs_f64(n as f64 / self.bytes_per_s);
        self.tat = Some(finish);
        Ok((n, finish.max(now)))
    }
}

/// Bytes on their way through the link.
struct Chunk {
    data: Vec<u8>,
    deliver_at: Instant,
}

type Reserve = Pin<Box<dyn Future<Output = Result<OwnedPermit<Chunk>, SendError<()>>> + Send>>;

/// Why the forwarding task stopped, for the writer's next call.
type Failure = Arc<Mutex<Option<(io::ErrorKind, String)>>>;

/// The shaped write path: a pacer in front, a forwarding task behind.
struct Shaped<S> {
    reader: ReadHalf<S>,
    /// `None` once shut down.
    tx: Option<mpsc::Sender<Chunk>>,
    reserving: Option<Reserve>,
    permit: Option<OwnedPermit<Chunk>>,
    pacer: Option<Pacer>,
    latency: Duration,
    wait: Option<Pin<Box<Sleep>>>,
    failure: Failure,
}

impl<S> Shaped<S> {
    fn failed(&self) -> Option<io::Error> {
        let slot = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .map(|(kind, message)| io::Error::new(*kind, message.clone()))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.failed() {
            return Poll::Ready(Err(e));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if let Some(wait) = self.wait.as_mut() {
                ready!(wait.as_mut().poll(cx));
                self.wait = None;
            }
            if self.permit.is_none() {
                let Some(tx) = self.tx.as_ref() else {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "write after shutdown",
                    )));
                };
                let reserving = self
                    .reserving
                    .get_or_insert_with(|| Box::pin(tx.clone().reserve_owned()));
                let permit = ready!(reserving.as_mut().poll(cx));
                self.reserving = None;
                match permit {
                    Ok(p) => self.permit = Some(p),
                    Err(_) => {
                        return Poll::Ready(Err(self.failed().unwrap_or_else(|| {
                            io::Error::new(io::ErrorKind::BrokenPipe, "the link is closed")
                        })));
                    }
                }
            }
            let now = Instant::now();
            let (n, left) = match self.pacer.as_mut() {
                None => (buf.len().min(MAX_CHUNK), now),
                Some(pacer) => match pacer.admit(now, buf.len()) {
                    Ok(admitted) => admitted,
                    Err(wake) => {
                        self.wait = Some(Box::pin(sleep_until(wake)));
                        continue;
                    }
                },
            };
            if let Some(permit) = self.permit.take() {
                permit.send(Chunk {
                    data: buf.get(..n).unwrap_or_default().to_vec(),
                    deliver_at: left + self.latency,
                });
            }
            return Poll::Ready(Ok(n));
        }
    }

    fn shutdown(&mut self) {
        // Dropping the sender lets the forwarder deliver what is queued, then shut the
        // real stream down (a FIN that follows the data, as on TCP).
        self.reserving = None;
        self.permit = None;
        self.tx = None;
    }
}

enum Io<S> {
    Direct(S),
    Shaped(Box<Shaped<S>>),
}

/// One end of a connection behind an emulated link; see the module docs.
pub(crate) struct LinkStream<S> {
    io: Io<S>,
    end: End,
    counters: Arc<LinkCounters>,
    turns: Arc<Turns>,
    stage: Arc<StageTag>,
}

impl<S> LinkStream<S>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    /// Wraps `inner` (the `end` side of a connection whose ends share `turns`; bytes
    /// are counted under the stage `stage` says). With a shaped `spec` this spawns the
    /// forwarding task, so it must run inside a tokio runtime.
    pub(crate) fn new(
        inner: S,
        spec: &LinkSpec,
        end: End,
        turns: Arc<Turns>,
        stage: Arc<StageTag>,
    ) -> (LinkStream<S>, Arc<LinkCounters>) {
        let counters = Arc::new(LinkCounters::default());
        let io = if spec.is_shaped() {
            let (reader, writer) = tokio::io::split(inner);
            let (tx, rx) = mpsc::channel(IN_FLIGHT_CHUNKS);
            let failure = Failure::default();
            tokio::spawn(forward(rx, writer, Arc::clone(&failure)));
            Io::Shaped(Box::new(Shaped {
                reader,
                tx: Some(tx),
                reserving: None,
                permit: None,
                pacer: spec.bandwidth_bits_per_s.map(Pacer::new),
                latency: spec.latency,
                wait: None,
                failure,
            }))
        } else {
            Io::Direct(inner)
        };
        (
            LinkStream {
                io,
                end,
                counters: Arc::clone(&counters),
                turns,
                stage,
            },
            counters,
        )
    }
}

/// Delivers chunks into the real stream when their time comes, then closes it.
async fn forward<W>(mut rx: mpsc::Receiver<Chunk>, mut out: W, failure: Failure)
where
    W: AsyncWrite + Unpin,
{
    let result: io::Result<()> = async {
        while let Some(chunk) = rx.recv().await {
            sleep_until(chunk.deliver_at).await;
            out.write_all(&chunk.data).await?;
            if rx.is_empty() {
                out.flush().await?;
            }
        }
        out.shutdown().await
    }
    .await;
    if let Err(e) = result {
        let mut slot = failure.lock().unwrap_or_else(PoisonError::into_inner);
        *slot = Some((e.kind(), e.to_string()));
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for LinkStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match &mut this.io {
            Io::Direct(s) => ready!(Pin::new(s).poll_read(cx, buf))?,
            Io::Shaped(sh) => ready!(Pin::new(&mut sh.reader).poll_read(cx, buf))?,
        }
        let n = buf.filled().len().saturating_sub(before);
        this.counters.read.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for LinkStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let n = match &mut this.io {
            Io::Direct(s) => ready!(Pin::new(s).poll_write(cx, buf))?,
            Io::Shaped(sh) => ready!(sh.poll_write(cx, buf))?,
        };
        if n > 0 {
            this.counters.written.add(this.stage.get(), n as u64);
            this.turns.record(this.end);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Direct(s) => Pin::new(s).poll_flush(cx),
            // Data handed to the link is on the wire; there is nothing to push.
            Io::Shaped(sh) => Poll::Ready(sh.failed().map_or(Ok(()), Err)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Direct(s) => Pin::new(s).poll_shutdown(cx),
            Io::Shaped(sh) => {
                sh.shutdown();
                Poll::Ready(Ok(()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::AsyncReadExt;

    fn pair(
        spec: LinkSpec,
    ) -> (
        LinkStream<tokio::io::DuplexStream>,
        Arc<LinkCounters>,
        tokio::io::DuplexStream,
    ) {
        let (a, b) = tokio::io::duplex(1 << 20);
        let (link, counters) =
            LinkStream::new(a, &spec, End::Initiator, Arc::default(), Arc::default());
        (link, counters, b)
    }

    /// Writes `len` bytes through a link and returns when the last one arrived.
    async fn send_through(spec: LinkSpec, len: usize) -> (Duration, Vec<u8>, u64) {
        let (mut link, counters, mut far) = pair(spec);
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let start = Instant::now();
        let to_send = data.clone();
        let writer = tokio::spawn(async move {
            link.write_all(&to_send).await.unwrap();
            link.shutdown().await.unwrap();
            link
        });
        let mut got = Vec::new();
        far.read_to_end(&mut got).await.unwrap();
        let took = start.elapsed();
        drop(writer.await.unwrap());
        assert_eq!(got, data, "bytes arrive whole and in order");
        (took, got, counters.written())
    }

    #[tokio::test(start_paused = true)]
    async fn bandwidth_takes_bytes_over_rate() {
        // 125 000 bytes at 1 Mbit/s is 1 s on the wire, less the one-MTU bucket.
        let spec = LinkSpec {
            bandwidth_bits_per_s: Some(1e6),
            latency: Duration::ZERO,
        };
        let (took, got, written) = send_through(spec, 125_000).await;
        assert_eq!(written, got.len() as u64);
        let floor = Duration::from_secs_f64((125_000 - BURST_BYTES) as f64 * 8.0 / 1e6);
        assert!(took >= floor, "{took:?} < {floor:?}");
        // At most one chunk (12 ms here) of store-and-forward plus timer ticks.
        assert!(took <= floor + Duration::from_millis(30), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn latency_delays_each_delivery() {
        let spec = LinkSpec {
            bandwidth_bits_per_s: None,
            latency: Duration::from_millis(40),
        };
        let (took, _, _) = send_through(spec, 10).await;
        assert!(took >= Duration::from_millis(40), "{took:?}");
        assert!(took <= Duration::from_millis(42), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn round_trips_cost_two_latencies_each() {
        let spec = LinkSpec {
            bandwidth_bits_per_s: Some(100e6),
            latency: Duration::from_millis(10),
        };
        let (a, b) = tokio::io::duplex(1 << 16);
        let turns = Arc::new(Turns::default());
        let (mut a, _) =
            LinkStream::new(a, &spec, End::Initiator, Arc::clone(&turns), Arc::default());
        let (mut b, _) =
            LinkStream::new(b, &spec, End::Responder, Arc::clone(&turns), Arc::default());
        let start = Instant::now();
        let echo = tokio::spawn(async move {
            let mut byte = [0u8; 1];
            for _ in 0..5 {
                b.read_exact(&mut byte).await.unwrap();
                b.write_all(&byte).await.unwrap();
            }
        });
        let mut byte = [7u8; 1];
        for _ in 0..5 {
            a.write_all(&byte).await.unwrap();
            a.read_exact(&mut byte).await.unwrap();
        }
        echo.await.unwrap();
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took <= Duration::from_millis(112), "{took:?}");
        // Ten strictly alternating writes: ten runs.
        assert_eq!(turns.runs(), 10);
    }

    #[tokio::test]
    async fn unshaped_link_only_counts() {
        let (took, got, written) = send_through(LinkSpec::UNSHAPED, 300_000).await;
        assert_eq!(written, got.len() as u64);
        assert!(took < Duration::from_secs(5));
    }

    #[test]
    fn pacer_keeps_the_line_rate_and_banks_one_mtu() {
        let mut pacer = Pacer::new(8e6); // 1 MB/s: chunks of 1500 bytes (one MTU)
        let t0 = Instant::now();
        // An idle link sends the first MTU at once.
        let (n, left) = pacer.admit(t0, 10_000).unwrap();
        assert_eq!(n, BURST_BYTES);
        assert_eq!(left, t0);
        // Then one chunk per 1.5 ms of link time, booked up to the queue.
        let mut booked = 0;
        let mut now = t0;
        while let Ok((n, left)) = pacer.admit(now, 10_000) {
            booked += n;
            assert!(left >= now);
        }
        assert!(booked > 0);
        let wake = pacer.admit(now, 10_000).unwrap_err();
        assert!(wake > now);
        now = wake;
        assert!(pacer.admit(now, 10_000).is_ok());
    }
}
