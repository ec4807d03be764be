//! Ctrl-C (SIGINT) and SIGTERM: nothing is left behind, and a partner is told.
//!
//! A thread receives the signals (through `signal-hook`, so no unsafe code here).
//! On the first one it cancels the process-wide [`Cancellation`] that a running
//! match session holds; then
//! - outside a session (tokenize reading its input, a key being written, …) it
//!   ends the process at once: every temporary output file is removed
//!   ([`blindmatch_data::output::remove_live_temporaries`], which also stops any
//!   later commit), one line says how many, and the exit status is 128 + the
//!   signal number (130 for SIGINT, 143 for SIGTERM);
//! - during a session ([`session`]) the session first sends the partner an Abort
//!   coded `cancelled` and returns, and the command ends the process the same way
//!   ([`end_if_interrupted`]); should that take longer than [`GRACE`], or a
//!   second signal come, the signal thread ends it itself.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
#[cfg(unix)]
use std::time::Duration;

use blindmatch_data::output::{remove_live_temporaries, temporaries_removed};
use blindmatch_net::Cancellation;

/// How long a session may take to tell its partner before the process ends anyway.
#[cfg(unix)]
const GRACE: Duration = Duration::from_secs(5);

/// What the signal thread and the commands share.
struct State {
    /// The first signal received, 0 before any.
    signal: AtomicI32,
    /// Temporary files removed before it came (those are not the interruption's).
    removed_before: AtomicU64,
    /// Cancelled on the first signal.
    cancel: Cancellation,
    /// Sessions that end the process themselves once cancelled.
    sessions: AtomicUsize,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| State {
        signal: AtomicI32::new(0),
        removed_before: AtomicU64::new(0),
        cancel: Cancellation::new(),
        sessions: AtomicUsize::new(0),
    })
}

/// Starts receiving SIGINT and SIGTERM. If that fails, the signals keep their
/// default action (the process ends at once) and a warning says so.
pub(crate) fn install() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::iterator::Signals;

        let started = Signals::new([SIGINT, SIGTERM]).and_then(|mut signals| {
            std::thread::Builder::new()
                .name("signals".to_owned())
                .spawn(move || {
                    for signal in signals.forever() {
                        on_signal(signal);
                    }
                })
        });
        if let Err(err) = started {
            tracing::warn!(
                "cannot handle Ctrl-C: {err}; an interrupted command may leave temporary files"
            );
        }
    }
}

/// What the signal thread does with each signal.
#[cfg(unix)]
fn on_signal(signal: i32) {
    let state = state();
    let first_signal = state.signal.load(Ordering::SeqCst);
    if first_signal != 0 {
        // Asked twice: stop waiting for the session.
        end(first_signal);
    }
    // Only this thread writes these; the count is in before the signal shows.
    state
        .removed_before
        .store(temporaries_removed(), Ordering::SeqCst);
    state.signal.store(signal, Ordering::SeqCst);
    state.cancel.cancel();
    if state.sessions.load(Ordering::SeqCst) == 0 {
        end(signal);
    }
    tracing::debug!("interrupted: cancelling the session");
    let timer = std::thread::Builder::new()
        .name("interrupt-grace".to_owned())
        .spawn(move || {
            std::thread::sleep(GRACE);
            end(signal);
        });
    if timer.is_err() {
        end(signal);
    }
}

/// The cancellation a session holds: fired by the first SIGINT or SIGTERM.
pub(crate) fn cancellation() -> Cancellation {
    state().cancel.clone()
}

/// While the returned guard lives, a signal cancels the session and leaves ending
/// the process to the command ([`end_if_interrupted`]), within [`GRACE`].
pub(crate) fn session() -> SessionGuard {
    state().sessions.fetch_add(1, Ordering::SeqCst);
    SessionGuard(())
}

/// See [`session`].
#[derive(Debug)]
pub(crate) struct SessionGuard(());

impl Drop for SessionGuard {
    fn drop(&mut self) {
        state().sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends the process as an interruption does, if a signal came: after a cancelled
/// session, and before `main` returns (so a command that finished just as the
/// signal came cannot exit 0 while the signal thread cleans up).
pub(crate) fn end_if_interrupted() {
    let signal = state().signal.load(Ordering::SeqCst);
    if signal != 0 {
        end(signal);
    }
}

/// Removes every temporary file, says how many the interruption removed, and
/// exits with 128 + `signal`. Whoever comes second (the signal thread, the grace
/// timer or the main thread) waits here until the process is gone.
fn end(signal: i32) -> ! {
    static ENDING: Mutex<()> = Mutex::new(());
    let _only_once = ENDING.lock().unwrap_or_else(PoisonError::into_inner);
    remove_live_temporaries();
    let removed =
        temporaries_removed().saturating_sub(state().removed_before.load(Ordering::SeqCst));
    let mut stderr = std::io::stderr().lock();
    if stderr.is_terminal() {
        // Start on a clean line, past a progress bar or the echoed ^C.
        let _ = write!(stderr, "\r\x1b[K");
    }
    let _ = writeln!(stderr, "interrupted: removed {removed} temporary file(s)");
    std::process::exit(128 + signal)
}
