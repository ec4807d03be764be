//! [`Metered`]: wraps the stream a party's session driver writes its frames to (inside
//! TLS when TLS is used), counts the bytes each way, and reads the headers of the
//! frames it writes to tell which protocol messages crossed. From those, [`flights`]
//! counts the round trips the protocol needed.
//!
//! **Round trips.** The session has a fixed structure in which each kind of message
//! can only be sent after the peer's previous kind arrived: `Hello` (sent at once) →
//! `Accept` (needs the peer's hello) → `Blinded` (needs the peer's accept) →
//! `Reblinded` (needs the peer's blinded batches) → `Matches`/`Counts` (both learn:
//! the first learner's result, which needs all its answers) → `Done` (needs everything
//! the peer owes). Each of those dependent one-way *flights* costs at least one
//! one-way network latency, however many frames it holds and whichever side sends
//! them; a round trip is two flights. The harness counts a flight for each of these
//! kinds it actually saw written by either side, so a run with one learner, which
//! sends no result, shows one flight fewer than one where both learn. The vole
//! protocol's (`vole-rr22-silent`) chain is `Start` → `Choices` → `Columns` →
//! `Trees` → `Masked` → `Outputs` (→ `Matched` when both learn); in cardinality
//! mode `Masked` → `Table` → the shuffle's four flights (counted as four when its
//! messages are seen) → `Masks` (→ `Counts` when both learn).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use blindmatch_net::frame::{Control, LENGTH_PREFIX_LEN, kind};
use blindmatch_net::{Frame, decode_frame};
use blindmatch_psi::labelled::{
    LABELLED_KIND_BLINDED, LABELLED_KIND_ENTRIES, LABELLED_KIND_EVALUATED,
};
use blindmatch_psi::rr22::{
    RR22_KIND_CHOICES, RR22_KIND_COLUMNS, RR22_KIND_COUNTS, RR22_KIND_MASKED, RR22_KIND_MASKS,
    RR22_KIND_MATCHED, RR22_KIND_OUTPUTS, RR22_KIND_SHUFFLE, RR22_KIND_START, RR22_KIND_TABLE,
    RR22_KIND_TREES,
};
use blindmatch_psi::{
    MESSAGE_KIND_BLINDED, MESSAGE_KIND_COUNTS, MESSAGE_KIND_MATCHES, MESSAGE_KIND_REBLINDED,
};

// Both protocols number their first two message kinds alike, and no ECDH result kind
// is a labelled kind (the tap cannot tell which protocol a frame belongs to).
const _: () = assert!(
    LABELLED_KIND_BLINDED == MESSAGE_KIND_BLINDED
        && LABELLED_KIND_EVALUATED == MESSAGE_KIND_REBLINDED
        && LABELLED_KIND_ENTRIES != MESSAGE_KIND_MATCHES
        && LABELLED_KIND_ENTRIES != MESSAGE_KIND_COUNTS
);
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::emulation::{Stage, StageBytes, StageTag};

/// Largest control frame the tap keeps whole for decoding (hellos and aborts are a
/// few hundred bytes; anything bigger is not a control frame of ours).
const MAX_CONTROL_FRAME: usize = 16 << 10;

/// What kind of protocol message a frame was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The handshake opener.
    Hello,
    /// A control `Accept`.
    Accept,
    /// A batch of singly blinded points.
    Blinded,
    /// A batch of doubly blinded values (labelled mode: evaluated points).
    Reblinded,
    /// Labelled mode: a batch of label entries. The giver sends them right after its
    /// last evaluated batch, without waiting for the learner, so they ride in the
    /// `Reblinded` flight and add none.
    Entries,
    /// Both learn (ECDH): the first learner's result, matches or counts.
    Result,
    /// A control `Done`.
    Done,
    /// A control `Abort`.
    Abort,
    /// Anything the tap could not place.
    Other,
    /// Vole protocol: the receiver's start (base-OT point, OKVS seed).
    VoleStart,
    /// Vole protocol: the sender's base-OT points.
    VoleChoices,
    /// Vole protocol: the receiver's masked OKVS columns.
    VoleMasked,
    /// Vole protocol: the sender's OPRF outputs.
    VoleOutputs,
    /// Vole protocol: the learner's matched positions (reveal both).
    VoleMatched,
    /// Silent VOLE: the receiver's correlated-OT columns.
    VoleColumns,
    /// Silent VOLE: the sender's GGM tree sums.
    VoleTrees,
    /// Vole cardinality: the sender's programmed table.
    VoleTable,
    /// Vole cardinality: the oblivious shuffle's messages (four flights).
    VoleShuffle,
    /// Vole cardinality: the sender's comparison masks.
    VoleMasks,
    /// Vole cardinality: the learner's counts (reveal both).
    VoleCounts,
}

impl Class {
    fn index(self) -> usize {
        match self {
            Class::Hello => 0,
            Class::Accept => 1,
            Class::Blinded => 2,
            Class::Reblinded => 3,
            Class::Done => 4,
            Class::Abort => 5,
            Class::Other => 6,
            Class::Entries => 7,
            Class::Result => 8,
            Class::VoleStart => 9,
            Class::VoleChoices => 10,
            Class::VoleMasked => 11,
            Class::VoleOutputs => 12,
            Class::VoleMatched => 13,
            Class::VoleColumns => 14,
            Class::VoleTrees => 15,
            Class::VoleTable => 16,
            Class::VoleShuffle => 17,
            Class::VoleMasks => 18,
            Class::VoleCounts => 19,
        }
    }
}

/// Frames and bytes one side wrote, per [`Class`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FrameCounts {
    frames: [u64; 20],
    bytes: [u64; 20],
}

impl FrameCounts {
    /// Frames of `class` seen.
    pub(crate) fn frames(&self, class: Class) -> u64 {
        self.frames.get(class.index()).copied().unwrap_or(0)
    }

    /// Bytes (length prefix included) of `class` frames seen.
    pub(crate) fn bytes(&self, class: Class) -> u64 {
        self.bytes.get(class.index()).copied().unwrap_or(0)
    }

    /// All frame bytes seen.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }

    fn add(&mut self, class: Class, bytes: u64) {
        if let Some(f) = self.frames.get_mut(class.index()) {
            *f += 1;
        }
        if let Some(b) = self.bytes.get_mut(class.index()) {
            *b += bytes;
        }
    }
}

/// The session phases whose flights come from frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionPhase {
    /// Hello and Accept.
    Handshake,
    /// Blinded, Reblinded, the first learner's result and Done.
    Exchange,
}

/// Sequential one-way flights `phase` needed, from the frames both sides wrote (see the
/// module docs).
pub(crate) fn flights(a: &FrameCounts, b: &FrameCounts, phase: SessionPhase) -> u32 {
    let levels: &[Class] = match phase {
        SessionPhase::Handshake => &[Class::Hello, Class::Accept],
        // ECDH: blinded → reblinded (→ result when both learn); the vole protocol's
        // kinds each wait for the peer's previous one: start → choices → columns →
        // trees → masked → outputs (→ matched).
        SessionPhase::Exchange => &[
            Class::Blinded,
            Class::Reblinded,
            Class::Result,
            Class::VoleStart,
            Class::VoleChoices,
            Class::VoleColumns,
            Class::VoleTrees,
            Class::VoleMasked,
            Class::VoleOutputs,
            Class::VoleMatched,
            Class::VoleTable,
            Class::VoleShuffle,
            Class::VoleMasks,
            Class::VoleCounts,
            Class::Done,
        ],
    };
    let seen = |c: Class| a.frames(c) + b.frames(c) > 0;
    // The shuffle's start, choices and inputs, columns, corrections: three more
    // flights than its one level.
    let shuffle = if seen(Class::VoleShuffle) { 3 } else { 0 };
    levels.iter().filter(|&&c| seen(c)).count() as u32 + shuffle
}

/// An incremental parser of a written frame stream: it needs only each frame's five
/// header bytes (control frames, a few hundred bytes, are kept whole and decoded).
#[derive(Debug, Default)]
pub(crate) struct FrameTap {
    header: [u8; LENGTH_PREFIX_LEN + 1],
    have: usize,
    frame_len: usize,
    remaining: usize,
    control: Vec<u8>,
    counts: FrameCounts,
    broken: bool,
    exchange_started: bool,
    /// The first payload byte of the current protocol frame: the ECDH message kind.
    message_kind: Option<u8>,
}

impl FrameTap {
    /// Feeds bytes in the order they were written.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.broken {
            if self.have < self.header.len() {
                let take = (self.header.len() - self.have).min(data.len());
                let (head, rest) = data.split_at(take);
                if let Some(slot) = self.header.get_mut(self.have..self.have + take) {
                    slot.copy_from_slice(head);
                }
                self.have += take;
                data = rest;
                if self.have == self.header.len() {
                    self.start_frame();
                }
                continue;
            }
            let take = self.remaining.min(data.len());
            let (body, rest) = data.split_at(take);
            if self.kind() == kind::CONTROL {
                self.control.extend_from_slice(body);
            }
            if self.kind() == kind::PROTOCOL && self.message_kind.is_none() {
                self.message_kind = body.first().copied();
            }
            self.remaining -= take;
            data = rest;
            if self.remaining == 0 {
                self.end_frame();
            }
        }
    }

    /// The session phase of the bytes `next` (about to be written, continuing the
    /// stream fed so far): the phase of the frame its first byte belongs to. Hello and
    /// accept frames are the handshake; from the first batch or the `Done` (a control
    /// frame after an accept) on, everything is the exchange.
    pub(crate) fn stage_of(&mut self, next: &[u8]) -> Stage {
        if self.exchange_started {
            return Stage::Exchange;
        }
        let kind_byte = if self.have == self.header.len() {
            Some(self.kind())
        } else {
            next.get(LENGTH_PREFIX_LEN - self.have).copied()
        };
        let exchange = match kind_byte {
            Some(kind::PROTOCOL) => true,
            Some(kind::CONTROL) => self.counts.frames(Class::Accept) > 0,
            _ => false,
        };
        self.exchange_started = exchange;
        if exchange {
            Stage::Exchange
        } else {
            Stage::Handshake
        }
    }

    /// What was seen so far.
    pub(crate) fn counts(&self) -> &FrameCounts {
        &self.counts
    }

    fn kind(&self) -> u8 {
        self.header[LENGTH_PREFIX_LEN]
    }

    fn start_frame(&mut self) {
        let [l0, l1, l2, l3, k] = self.header;
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        if len == 0 || (k == kind::CONTROL && len > MAX_CONTROL_FRAME) {
            // Not a stream of our frames; stop classifying rather than guess.
            self.broken = true;
            return;
        }
        self.frame_len = LENGTH_PREFIX_LEN + len;
        self.remaining = len - 1;
        self.control.clear();
        self.message_kind = None;
        if k == kind::CONTROL {
            self.control.extend_from_slice(&self.header);
        }
        if self.remaining == 0 {
            self.end_frame();
        }
    }

    fn end_frame(&mut self) {
        let class = match self.kind() {
            kind::HELLO => Class::Hello,
            // The message kind is the payload's first byte; ECDH and labelled mode
            // number their blinded (1) and answered (2) batches alike.
            kind::PROTOCOL => match self.message_kind {
                Some(MESSAGE_KIND_BLINDED) => Class::Blinded,
                Some(MESSAGE_KIND_REBLINDED) => Class::Reblinded,
                Some(LABELLED_KIND_ENTRIES) => Class::Entries,
                Some(MESSAGE_KIND_MATCHES | MESSAGE_KIND_COUNTS) => Class::Result,
                Some(RR22_KIND_START) => Class::VoleStart,
                Some(RR22_KIND_CHOICES) => Class::VoleChoices,
                Some(RR22_KIND_COLUMNS) => Class::VoleColumns,
                Some(RR22_KIND_TREES) => Class::VoleTrees,
                Some(RR22_KIND_MASKED) => Class::VoleMasked,
                Some(RR22_KIND_OUTPUTS) => Class::VoleOutputs,
                Some(RR22_KIND_MATCHED) => Class::VoleMatched,
                Some(RR22_KIND_TABLE) => Class::VoleTable,
                Some(RR22_KIND_SHUFFLE) => Class::VoleShuffle,
                Some(RR22_KIND_MASKS) => Class::VoleMasks,
                Some(RR22_KIND_COUNTS) => Class::VoleCounts,
                _ => Class::Other,
            },
            kind::CONTROL => match decode_frame(&self.control) {
                Ok(Some((Frame::Control(Control::Accept { .. }), _))) => Class::Accept,
                Ok(Some((Frame::Control(Control::Done(_)), _))) => Class::Done,
                Ok(Some((Frame::Control(Control::Abort { .. }), _))) => Class::Abort,
                _ => Class::Other,
            },
            _ => Class::Other,
        };
        self.counts.add(class, self.frame_len as u64);
        self.control.clear();
        self.have = 0;
    }
}

/// Bytes a party's session driver wrote and read, and the classes of what it wrote.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    written: StageBytes,
    read: AtomicU64,
    tap: Mutex<FrameTap>,
}

impl Meter {
    /// Frame bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written.total()
    }

    /// Frame bytes written so far in `stage`.
    pub(crate) fn written_in(&self, stage: Stage) -> u64 {
        self.written.get(stage)
    }

    /// Frame bytes read so far.
    pub(crate) fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The written frames so far, by class.
    pub(crate) fn counts(&self) -> FrameCounts {
        self.tap
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counts()
            .clone()
    }
}

/// A stream that feeds a [`Meter`]; see the module docs.
pub(crate) struct Metered<S> {
    inner: S,
    meter: Arc<Meter>,
    stage: Arc<StageTag>,
}

impl<S> Metered<S> {
    /// Wraps `inner`; the meter can be read while the stream is in use. Before each
    /// write, `stage` is set to the session phase of the bytes written, so that the
    /// transport beneath counts them under the same phase.
    pub(crate) fn new(inner: S, stage: Arc<StageTag>) -> (Metered<S>, Arc<Meter>) {
        let meter = Arc::new(Meter::default());
        (
            Metered {
                inner,
                meter: Arc::clone(&meter),
                stage,
            },
            meter,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let n = buf.filled().len().saturating_sub(before);
        this.meter.read.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // The phase is settled before the bytes go down, so that the transport beneath
        // counts them (and a peer may read them) under the right phase.
        let stage = this
            .meter
            .tap
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stage_of(buf);
        this.stage.set(stage);
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.meter.written.add(stage, n as u64);
        this.meter
            .tap
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .feed(buf.get(..n).unwrap_or_default());
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use blindmatch_net::frame::DoneSummary;
    use blindmatch_psi::Message;

    fn frames() -> Vec<(Frame, Class)> {
        vec![
            (
                Frame::Control(Control::Accept { context: [3; 32] }),
                Class::Accept,
            ),
            (
                Frame::Protocol(
                    Message::Blinded {
                        batch: 0,
                        points: vec![[1; 32]; 40],
                    }
                    .encode(),
                ),
                Class::Blinded,
            ),
            (
                Frame::Protocol(
                    Message::Blinded {
                        batch: 1,
                        points: vec![[2; 32]; 3],
                    }
                    .encode(),
                ),
                Class::Blinded,
            ),
            (
                Frame::Protocol(
                    Message::Reblinded {
                        batch: 0,
                        values: vec![5; 9 * 43],
                    }
                    .encode(),
                ),
                Class::Reblinded,
            ),
            (
                Frame::Protocol(
                    Message::Matches {
                        batch: 0,
                        bitmap: vec![0x80, 0],
                    }
                    .encode(),
                ),
                Class::Result,
            ),
            (
                Frame::Protocol(
                    Message::Counts {
                        batch: 0,
                        counts: vec![3],
                    }
                    .encode(),
                ),
                Class::Result,
            ),
            (
                Frame::Control(Control::Done(DoneSummary {
                    frames: 5,
                    bytes: 4000,
                    stream_hash: [9; 32],
                })),
                Class::Done,
            ),
        ]
    }

    #[test]
    fn classifies_frames_however_the_stream_is_split() {
        let frames = frames();
        let mut stream = Vec::new();
        let mut expected = FrameCounts::default();
        for (f, class) in &frames {
            let bytes = f.encode().unwrap();
            expected.add(*class, bytes.len() as u64);
            stream.extend_from_slice(&bytes);
        }
        for split in [1usize, 2, 3, 5, 7, 64, 1000, stream.len()] {
            let mut tap = FrameTap::default();
            for piece in stream.chunks(split) {
                tap.feed(piece);
            }
            assert_eq!(tap.counts(), &expected, "split {split}");
            assert_eq!(tap.counts().total_bytes(), stream.len() as u64);
        }
        assert_eq!(expected.frames(Class::Blinded), 2);
        assert_eq!(expected.frames(Class::Hello), 0);
    }

    #[test]
    fn stages_split_at_the_first_batch_or_done() {
        let hello_like = Frame::Control(Control::Abort {
            code: blindmatch_net::AbortCode::ProtocolViolation,
            reason: String::new(),
        });
        let accept = Frame::Control(Control::Accept { context: [1; 32] })
            .encode()
            .unwrap();
        let done = Frame::Control(Control::Done(DoneSummary {
            frames: 1,
            bytes: 1,
            stream_hash: [0; 32],
        }))
        .encode()
        .unwrap();
        let mut tap = FrameTap::default();
        // A control frame before any accept is the handshake (an abort here).
        assert_eq!(
            tap.stage_of(&hello_like.encode().unwrap()),
            Stage::Handshake
        );
        tap.feed(&hello_like.encode().unwrap());
        // Fed in two pieces: the second piece belongs to the same frame.
        assert_eq!(tap.stage_of(&accept), Stage::Handshake);
        tap.feed(accept.get(..3).unwrap());
        assert_eq!(tap.stage_of(accept.get(3..).unwrap()), Stage::Handshake);
        tap.feed(accept.get(3..).unwrap());
        // After an accept, a control frame is the closing Done.
        assert_eq!(tap.stage_of(&done), Stage::Exchange);
        // Once in the exchange, always.
        assert_eq!(tap.stage_of(&accept), Stage::Exchange);
        let mut tap = FrameTap::default();
        let batch = Frame::Protocol(
            Message::Blinded {
                batch: 0,
                points: vec![[1; 32]],
            }
            .encode(),
        )
        .encode()
        .unwrap();
        assert_eq!(tap.stage_of(&batch), Stage::Exchange);
    }

    #[test]
    fn flights_follow_the_message_structure() {
        let mut a = FrameCounts::default();
        let mut b = FrameCounts::default();
        for class in [Class::Hello, Class::Accept, Class::Blinded, Class::Done] {
            a.add(class, 10);
        }
        b.add(Class::Hello, 10);
        b.add(Class::Accept, 10);
        b.add(Class::Blinded, 10);
        assert_eq!(flights(&a, &b, SessionPhase::Handshake), 2);
        // Nobody sent reblinded values: two exchange flights.
        assert_eq!(flights(&a, &b, SessionPhase::Exchange), 2);
        b.add(Class::Reblinded, 10);
        assert_eq!(flights(&a, &b, SessionPhase::Exchange), 3);
        // Both learn: the first learner's result is one more flight.
        a.add(Class::Result, 10);
        assert_eq!(flights(&a, &b, SessionPhase::Exchange), 4);
    }

    #[test]
    fn garbage_stops_classification() {
        let mut tap = FrameTap::default();
        tap.feed(&[0, 0, 0, 0, 1, 2, 3]);
        tap.feed(
            &Frame::Control(Control::Accept { context: [0; 32] })
                .encode()
                .unwrap(),
        );
        assert_eq!(tap.counts().total_bytes(), 0);
    }
}
