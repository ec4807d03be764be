//! Frames over an async byte stream: [`FrameReader`] and [`FrameWriter`] put a
//! timeout on every read and write, enforce the frame limit before buffering a
//! payload, count frames and bytes, and hash each direction's byte stream for the
//! transcript. [`CountingStream`] counts what crosses the socket beneath TLS.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use crate::frame::{Frame, LENGTH_PREFIX_LEN, decode_frame_limited, frame_len};
use crate::{Fingerprint, NetError};

/// Label that starts each direction's stream hash.
pub(crate) const STREAM_HASH_LABEL: &[u8] = b"blindmatch/v1/net/stream";

/// Read size when nothing says how much is coming.
const READ_CHUNK: usize = 64 << 10;

/// Running hash and counters of one direction.
#[derive(Clone)]
pub(crate) struct DirectionLog {
    hasher: Sha256,
    pub(crate) bytes: u64,
    pub(crate) frames: u64,
}

impl DirectionLog {
    fn new() -> Self {
        let mut hasher = Sha256::new();
        hasher.update(STREAM_HASH_LABEL);
        Self {
            hasher,
            bytes: 0,
            frames: 0,
        }
    }

    fn record(&mut self, frame_bytes: &[u8]) {
        self.hasher.update(frame_bytes);
        self.bytes += frame_bytes.len() as u64;
        self.frames += 1;
    }

    /// The hash of everything recorded so far (the log continues).
    pub(crate) fn digest(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }
}

/// Maps a stream error to the session error: a TLS alert from the peer, a vanished
/// peer, or a plain I/O failure.
pub(crate) fn stream_error(
    e: io::Error,
    phase: &'static str,
    ours: Option<Fingerprint>,
) -> NetError {
    // In TLS 1.3 the listener checks our certificate after our side of the handshake
    // is done, so its refusal arrives as an alert on our first read.
    if let (Some(alert), Some(ours)) = (crate::tls::received_alert(&e), ours) {
        return NetError::PeerRefusedTls { alert, ours };
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => NetError::PeerDisconnected { phase },
        _ => NetError::Stream { phase, source: e },
    }
}

/// Whether `bytes` start like a TLS record (content type 20..=23, then a 0x03 major
/// version): what a TLS peer answers to a plaintext frame.
fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x14..=0x17, 0x03, ..])
}

/// When our writer last got a frame out. The peer taking our frames is alive, so a
/// reader that has had nothing for a while is waiting on a busy peer (with unbalanced
/// sets one side may hash for minutes after the other has sent everything), not a
/// silent one.
#[derive(Debug)]
pub(crate) struct WriteActivity(Mutex<Instant>);

impl WriteActivity {
    fn new() -> Self {
        Self(Mutex::new(Instant::now()))
    }

    fn touch(&self) {
        if let Ok(mut last) = self.0.lock() {
            *last = Instant::now();
        }
    }

    fn last(&self) -> Option<Instant> {
        self.0.lock().ok().map(|last| *last)
    }
}

/// Reads frames from one half of a stream.
pub(crate) struct FrameReader<R> {
    inner: R,
    /// The writer of the same connection: a read times out only when neither side of
    /// the connection moved for the timeout.
    writes: Option<Arc<WriteActivity>>,
    buf: Vec<u8>,
    pos: usize,
    max_frame_len: u32,
    timeout: Duration,
    ours: Option<Fingerprint>,
    pub(crate) log: DirectionLog,
    /// The log as it was before the last control frame (the peer's `Done` summarises
    /// exactly that).
    pub(crate) before_last_control: Option<DirectionLog>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// `ours` is our certificate's fingerprint under TLS, named if the peer refuses it.
    pub(crate) fn new(
        inner: R,
        max_frame_len: u32,
        timeout: Duration,
        ours: Option<Fingerprint>,
    ) -> Self {
        Self {
            inner,
            writes: None,
            buf: Vec::new(),
            pos: 0,
            max_frame_len,
            timeout,
            ours,
            log: DirectionLog::new(),
            before_last_control: None,
        }
    }

    /// Lets successful writes on `writer`'s side of the connection extend the read
    /// timeout: a read fails only after `timeout` with nothing read *and* nothing
    /// written.
    pub(crate) fn watch_writes(&mut self, writes: Arc<WriteActivity>) {
        self.writes = Some(writes);
    }

    /// Reads the next frame.
    pub(crate) async fn read_frame(&mut self, phase: &'static str) -> Result<Frame, NetError> {
        let (frame, used) = self.next_frame(phase).await?;
        self.consume(used);
        Ok(frame)
    }

    /// Reads the next frame and returns its bytes too (the hellos are hashed into the
    /// session context).
    pub(crate) async fn read_frame_raw(
        &mut self,
        phase: &'static str,
    ) -> Result<(Frame, Vec<u8>), NetError> {
        let (frame, used) = self.next_frame(phase).await?;
        let raw = self
            .buf
            .get(self.pos..self.pos + used)
            .ok_or(NetError::Internal {
                what: "a decoded frame is not in the read buffer",
            })?
            .to_vec();
        self.consume(used);
        Ok((frame, raw))
    }

    /// Decodes the next frame and records it in the log; its `used` bytes stay at the
    /// front of the buffer until the caller consumes them.
    async fn next_frame(&mut self, phase: &'static str) -> Result<(Frame, usize), NetError> {
        loop {
            let pending = self.buf.get(self.pos..).unwrap_or_default();
            match decode_frame_limited(pending, self.max_frame_len) {
                Ok(Some((frame, used))) => {
                    let raw = pending.get(..used).unwrap_or_default();
                    if matches!(frame, Frame::Control(_)) {
                        self.before_last_control = Some(self.log.clone());
                    }
                    self.log.record(raw);
                    return Ok((frame, used));
                }
                Ok(None) => {}
                Err(_) if self.log.frames == 0 && looks_like_tls(pending) => {
                    return Err(NetError::PeerSpeaksTls);
                }
                Err(source) => return Err(NetError::Frame { phase, source }),
            }
            // Reserve what the announced frame still needs (already limit-checked).
            let need = match frame_len(pending, self.max_frame_len) {
                Ok(Some(len)) => (LENGTH_PREFIX_LEN + len).saturating_sub(pending.len()),
                _ => LENGTH_PREFIX_LEN,
            };
            self.compact();
            self.buf.reserve(need.max(READ_CHUNK));
            let mut deadline = Instant::now() + self.timeout;
            let read = loop {
                // `read_buf` is cancel safe: a timed-out attempt consumed nothing.
                match tokio::time::timeout_at(deadline, self.inner.read_buf(&mut self.buf)).await {
                    Ok(read) => break read,
                    Err(_) => {
                        let extended = self
                            .writes
                            .as_ref()
                            .and_then(|w| w.last())
                            .map(|last| last + self.timeout);
                        match extended {
                            Some(later) if later > Instant::now() => deadline = later,
                            _ => {
                                return Err(NetError::Timeout {
                                    phase,
                                    after: self.timeout,
                                });
                            }
                        }
                    }
                }
            }
            .map_err(|e| stream_error(e, phase, self.ours))?;
            if read == 0 {
                return Err(NetError::PeerDisconnected { phase });
            }
        }
    }

    fn consume(&mut self, used: usize) {
        self.pos += used;
        if self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    /// Reads and discards until the peer closes or `limit` passes; used after an
    /// abort or the final frame so that closing our socket never resets a peer that
    /// has not yet read our last frame. Errors are irrelevant here.
    pub(crate) async fn drain(&mut self, limit: Duration) {
        let _ = tokio::time::timeout(limit, async {
            let mut scratch = vec![0u8; 16 << 10];
            loop {
                match self.inner.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

/// Writes frames to one half of a stream.
pub(crate) struct FrameWriter<W> {
    inner: W,
    scratch: Vec<u8>,
    timeout: Duration,
    activity: Arc<WriteActivity>,
    pub(crate) log: DirectionLog,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub(crate) fn new(inner: W, timeout: Duration) -> Self {
        Self {
            inner,
            scratch: Vec::new(),
            timeout,
            activity: Arc::new(WriteActivity::new()),
            log: DirectionLog::new(),
        }
    }

    /// Encodes and writes one frame, flushed.
    pub(crate) async fn write_frame(
        &mut self,
        frame: &Frame,
        phase: &'static str,
    ) -> Result<(), NetError> {
        self.scratch.clear();
        frame
            .encode_into(&mut self.scratch)
            .map_err(|_| NetError::Internal {
                what: "a frame of ours does not encode",
            })?;
        let write = async {
            self.inner.write_all(&self.scratch).await?;
            self.inner.flush().await
        };
        tokio::time::timeout(self.timeout, write)
            .await
            .map_err(|_| NetError::Timeout {
                phase,
                after: self.timeout,
            })?
            .map_err(|e| stream_error(e, phase, None))?;
        self.activity.touch();
        self.log.record(&self.scratch);
        Ok(())
    }

    /// [`FrameWriter::write_frame`], returning the frame's bytes (the hellos are
    /// hashed into the session context).
    pub(crate) async fn write_frame_raw(
        &mut self,
        frame: &Frame,
        phase: &'static str,
    ) -> Result<Vec<u8>, NetError> {
        self.write_frame(frame, phase).await?;
        Ok(self.scratch.clone())
    }

    /// When this writer last got a frame out, for [`FrameReader::watch_writes`].
    pub(crate) fn activity(&self) -> Arc<WriteActivity> {
        Arc::clone(&self.activity)
    }

    /// Closes our direction (TLS close_notify, then TCP FIN), within `limit`.
    pub(crate) async fn shutdown(&mut self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.inner.shutdown()).await;
    }
}

/// Byte counters shared between a [`CountingStream`] and whoever reports them.
#[derive(Debug, Default)]
pub struct WireCounters {
    sent: AtomicU64,
    received: AtomicU64,
}

impl WireCounters {
    /// Bytes written to the socket so far.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Bytes read from the socket so far.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// Wraps a socket and counts the bytes that cross it (beneath TLS, so record
/// overhead and handshakes are included).
#[derive(Debug)]
pub struct CountingStream<S> {
    inner: S,
    counters: Arc<WireCounters>,
}

impl<S> CountingStream<S> {
    /// Wraps `inner`; the counters can be read while the stream is in use.
    pub fn new(inner: S) -> (Self, Arc<WireCounters>) {
        let counters = Arc::new(WireCounters::default());
        (
            Self {
                inner,
                counters: Arc::clone(&counters),
            },
            counters,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountingStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let n = buf.filled().len().saturating_sub(before);
            this.counters
                .received
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountingStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &poll {
            this.counters.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &poll {
            this.counters.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
