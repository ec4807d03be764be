//! Logging set-up: `tracing` to stderr, verbosity from `-v`/`-q` or
//! `BLINDMATCH_LOG`, and the process-wide "quiet" switch that also hides progress.
//!
//! Log lines must never carry a raw identifier, a key or a secret scalar: they name
//! files, columns, rows, counts and fingerprints only. The end-to-end tests run
//! commands at the most verbose level and search all output for raw values.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use tracing_subscriber::EnvFilter;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Verbosity flags shared by every command.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// No progress bars and no log output except errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

/// Installs the global subscriber. `BLINDMATCH_LOG` (an `EnvFilter` directive such
/// as `debug` or `blindmatch_net=trace`) overrides the flags.
pub(crate) fn init(args: &LogArgs) {
    QUIET.store(args.quiet, Ordering::Relaxed);
    let level = match (args.quiet, args.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter =
        EnvFilter::try_from_env("BLINDMATCH_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    // A second init (only possible in tests) is harmless, hence the ignored result.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into log files.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(args.verbose >= 2)
        .try_init();
}

/// Whether `--quiet` was given: commands print no progress and no summary then.
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}
