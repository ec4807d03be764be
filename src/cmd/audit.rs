//! `blindmatch audit`: checks a compliance team runs on files alone — token files
//! (`audit tokens`), tokenize manifests (`audit manifest`) and session receipts
//! (`audit receipt`).
//!
//! Every audit prints a short human summary (or `--json`, the full report) on
//! stdout and exits 0 only when there are no findings, 3 when there are. Reports
//! name files, columns, key IDs, counts and row numbers; never a cell value.

mod files;
mod json;
mod manifest;
mod receipt;
mod report;
mod tokens;

use clap::{Args as ClapArgs, Subcommand};

// The raw-identifier scanner is shared with the dataset reader (header names in
// messages); the audits reach it as `super::scan`.
use blindmatch_data::scan;

use crate::error::ExitStatus;

/// Check token files, manifests and session receipts for compliance.
///
/// Exit code 0 when every check passes, 3 when there are findings, 2 when an input
/// cannot be read. Reports never contain cell values: only columns, counts and row
/// numbers.
#[derive(Debug, ClapArgs)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    Tokens(tokens::Args),
    Manifest(manifest::Args),
    Receipt(receipt::Args),
}

/// Report options shared by every audit.
#[derive(Debug, ClapArgs)]
pub(crate) struct ReportArgs {
    /// Print the full report as JSON instead of the human summary.
    #[arg(long)]
    pub(crate) json: bool,

    /// Row numbers listed per finding (the count is always complete).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) max_rows: usize,
}

/// Runs `blindmatch audit`.
///
/// # Errors
/// Bad input (exit 2) when a file cannot be read; check-failed (exit 3) when the
/// audit has findings.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        AuditCommand::Tokens(args) => tokens::run(args),
        AuditCommand::Manifest(args) => manifest::run(args),
        AuditCommand::Receipt(args) => receipt::run(args),
    }
}
