//! The protocol thread of a session: drives a [`Protocol`] between the reader's and the
//! writer's channels, times its own work, and says why it stopped.

use std::time::{Duration, Instant};

use blindmatch_psi::{Outcome, Outgoing, Protocol, Stage, StageItems};
use tokio::sync::mpsc;

use super::channel::{Outbound, Progress, StageCounts};
use crate::NetError;

/// Compute time spent in the PSI thread on our own items.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PsiTimes {
    pub(super) hashing: Duration,
    pub(super) compare: Duration,
}

/// Why the PSI thread stopped without an outcome.
#[derive(Debug)]
pub(super) enum PsiStop {
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
pub(super) enum StopKind {
    Failed,
    InputClosed,
    OutputClosed,
}

impl PsiStop {
    pub(super) fn kind(&self) -> StopKind {
        match self {
            PsiStop::Failed(_) => StopKind::Failed,
            PsiStop::InputClosed(_) => StopKind::InputClosed,
            PsiStop::OutputClosed(_) => StopKind::OutputClosed,
        }
    }

    pub(super) fn into_error(self) -> NetError {
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

/// The protocol thread: feeds peer messages to the protocol and its messages to the
/// writer, never blocking on one channel while the other could move (which could
/// deadlock two parties whose send buffers are both full).
pub(super) fn psi_loop(
    mut protocol: Box<dyn Protocol>,
    mut in_rx: mpsc::Receiver<Vec<u8>>,
    out_tx: mpsc::Sender<Outbound>,
    runtime: &tokio::runtime::Handle,
    progress: &Progress,
) -> Result<(Outcome, PsiTimes), PsiStop> {
    let mut times = PsiTimes::default();
    let mut counts = StageCounts::default();
    let mut pending: Option<Outgoing> = None;
    let mut in_closed = false;
    let cancelled = || NetError::Internal {
        what: "the session was cancelled",
    };
    let mut handle = |protocol: &mut Box<dyn Protocol>, payload: Vec<u8>| -> Result<(), NetError> {
        if let Some(advanced) = protocol.handle(&payload)? {
            counts.advance(progress, advanced);
        }
        Ok(())
    };
    let mut hashed = StageCounts::default();
    loop {
        let mut progressed = false;
        match in_rx.try_recv() {
            Ok(m) => {
                handle(&mut protocol, m)?;
                progressed = true;
            }
            Err(mpsc::error::TryRecvError::Empty) => {}
            Err(mpsc::error::TryRecvError::Disconnected) => in_closed = true,
        }
        if pending.is_none() {
            let started = Instant::now();
            pending = protocol.poll_transmit();
            if let Some(prepared) = pending.as_ref().map(|o| o.prepared).filter(|&n| n > 0) {
                times.hashing += started.elapsed();
                hashed.advance(
                    progress,
                    StageItems {
                        stage: Stage::Hashed,
                        items: prepared,
                    },
                );
            }
        }
        if let Some(m) = pending.take() {
            match out_tx.try_send(Outbound::Psi(m)) {
                Ok(()) => progressed = true,
                Err(mpsc::error::TrySendError::Full(Outbound::Psi(m))) => pending = Some(m),
                Err(_) => return Err(PsiStop::OutputClosed(cancelled())),
            }
        }
        if pending.is_none() && protocol.is_finished() {
            runtime
                .block_on(out_tx.send(Outbound::Finished))
                .map_err(|_| PsiStop::OutputClosed(cancelled()))?;
            let started = Instant::now();
            let outcome = protocol.finish().map_err(NetError::from)?;
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
                protocol
                    .finish()
                    .err()
                    .map_or_else(cancelled, NetError::from),
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
            Wake::Inbound(Some(m)) => handle(&mut protocol, m)?,
            Wake::Inbound(None) => in_closed = true,
            Wake::Sent => {}
            Wake::OutClosed => return Err(PsiStop::OutputClosed(cancelled())),
        }
    }
}

enum Wake {
    Inbound(Option<Vec<u8>>),
    Sent,
    OutClosed,
}
