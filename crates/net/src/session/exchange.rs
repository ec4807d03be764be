//! The exchange after the handshake: the protocol thread (`driver.rs`) and two network
//! tasks, a reader that hands the peer's protocol messages over as opaque payloads and
//! a writer that frames ours, joined so that the first failure (or the caller's
//! cancellation) stops all three and is reported to the peer with its cause, not a
//! consequence.

use std::time::Duration;

use blindmatch_psi::{Outcome, Protocol};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};

use super::channel::{Outbound, Progress, StageCounts};
use super::driver::{PsiTimes, StopKind, psi_loop};
use super::options::SessionOptions;
use crate::NetError;
use crate::frame::{Control, DoneSummary, Frame};
use crate::framed::{FrameReader, FrameWriter};
use crate::handshake::{Agreed, sanitize, send_abort};

pub(super) const PSI_PHASE: &str = "PSI exchange";

/// How the reader task ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReaderEnd {
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

type ReaderOut<R> = (FrameReader<R>, Result<ReaderEnd, NetError>);
type WriterOut<W> = (FrameWriter<W>, Result<WriterEnd, NetError>);

/// The PSI exchange proper: spawns the PSI thread and the two network tasks, waits for
/// all three, and on the first failure stops them and aborts towards the peer.
pub(super) async fn exchange<R, W>(
    reader: FrameReader<R>,
    writer: FrameWriter<W>,
    protocol: Box<dyn Protocol>,
    agreed: &Agreed,
    options: &SessionOptions,
) -> Result<(FrameReader<R>, FrameWriter<W>, (Outcome, PsiTimes)), NetError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let grace = options.grace();
    let capacity = options.channel_capacity.max(1);
    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(capacity);
    let (out_tx, out_rx) = mpsc::channel::<Outbound>(capacity);
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (psi_tx, mut psi_rx) = oneshot::channel();
    let progress = Progress {
        options: options.clone(),
        local: agreed.local_size,
        peer: agreed.peer_size,
    };

    let runtime = tokio::runtime::Handle::current();
    let psi_progress = progress.clone();
    std::thread::Builder::new()
        .name("blindmatch-psi".to_owned())
        .spawn(move || {
            let result = psi_loop(protocol, in_rx, out_tx, &runtime, &psi_progress);
            let _ = psi_tx.send(result);
        })
        .map_err(|source| NetError::Io {
            context: "starting the PSI thread",
            source,
        })?;
    let mut reader_task = tokio::spawn(reader_loop(reader, in_tx, cancel_rx.clone()));
    let mut writer_task = tokio::spawn(writer_loop(writer, out_rx, cancel_rx, progress, grace));

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
            // Last: a failure that is already in is the cause to report.
            () = options.cancel.cancelled() => failure = Some(NetError::Cancelled),
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
        if matches!(error, NetError::Cancelled) {
            tracing::info!("session cancelled; the peer is told");
        } else if tells_peer(&error) {
            // The code we tell the peer; a peer that left or aborted hears nothing.
            tracing::warn!(code = %error.abort_code(), "session failed: {error}");
        } else {
            tracing::warn!("session failed: {error}");
        }
        if tells_peer(&error)
            && let (Some(mut r), Some(mut w)) = (reader_back, writer_back)
        {
            send_abort(&mut w, &mut r, &error, grace).await;
        }
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
    in_tx: mpsc::Sender<Vec<u8>>,
    mut cancel: watch::Receiver<bool>,
) -> ReaderOut<R> {
    loop {
        let read = tokio::select! {
            biased;
            _ = cancel.changed() => None,
            r = reader.read_frame(PSI_PHASE) => Some(r),
        };
        let frame = match read {
            None => return (reader, Ok(ReaderEnd::Cancelled)),
            Some(Err(e)) => return (reader, Err(e)),
            Some(Ok(frame)) => frame,
        };
        // The frame limit bounds each message; the protocol checks its content.
        let message = match frame {
            Frame::Protocol(payload) => payload,
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
    progress: Progress,
    grace: Duration,
) -> WriterOut<W> {
    let mut counts = StageCounts::default();
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.changed() => return (writer, Ok(WriterEnd::Cancelled)),
            m = out_rx.recv() => m,
        };
        let result = match next {
            None => return (writer, Ok(WriterEnd::PsiGone)),
            Some(Outbound::Psi(outgoing)) => {
                let r = writer
                    .write_frame(&Frame::Protocol(outgoing.payload), PSI_PHASE)
                    .await;
                if let (Ok(()), Some(advanced)) = (&r, outgoing.on_sent) {
                    counts.advance(&progress, advanced);
                }
                r
            }
            Some(Outbound::Finished) => {
                let summary = DoneSummary {
                    frames: writer.log.frames,
                    bytes: writer.log.bytes,
                    stream_hash: writer.log.digest(),
                };
                let r = writer
                    .write_frame(&Frame::Control(Control::Done(summary)), PSI_PHASE)
                    .await;
                if r.is_ok() {
                    // Nothing follows Done: close now, so the peer's final read ends
                    // without waiting for our comparison to finish.
                    writer.shutdown(grace).await;
                }
                return (writer, r.map(|()| WriterEnd::DoneSent));
            }
        };
        if let Err(e) = result {
            return (writer, Err(e));
        }
    }
}
