//! `blindmatch receipt share`: the shareable form of a session receipt, the one to
//! send the partner. The work is `blindmatch_pipeline::receipt::share`; this module
//! parses the flags and says what was written.

use std::path::PathBuf;

use blindmatch_pipeline::receipt::share;
use clap::{Args as ClapArgs, Subcommand};

use crate::error::ExitStatus;

/// Work with session receipts after the session.
///
/// `blindmatch match` writes a full receipt on each side: keep it. It holds your
/// input's figures and what you learned, which the partner must not see. Send the
/// partner the shareable form instead (`match --shareable-receipt FILE`, or
/// `receipt share` later); `blindmatch audit receipt` checks your full receipt
/// against the partner's shareable one.
#[derive(Debug, ClapArgs)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: ReceiptCommand,
}

#[derive(Debug, Subcommand)]
enum ReceiptCommand {
    Share(ShareArgs),
}

/// Write the shareable form of a full receipt: the one to send the partner.
///
/// It keeps only what the partner already knows from the session: session ID,
/// transcript hash, the agreed parameters, both fingerprints, both declared set
/// sizes, --min-peer-set and the traffic. Input figures, results, the output file,
/// the partner's address and all times stay in the full receipt. The result is the
/// file `match --shareable-receipt` would have written.
///
/// Example:
///
///   blindmatch receipt share matched.csv.receipt.json -o for-partner.receipt.json
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
struct ShareArgs {
    /// The full receipt `blindmatch match` wrote.
    #[arg(value_name = "RECEIPT")]
    receipt: PathBuf,

    /// Where to write the shareable receipt.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
}

/// Runs `blindmatch receipt`.
///
/// # Errors
/// Bad input (exit 2): not a full receipt of this version, a malformed field, an
/// existing output; failed (exit 1) when writing fails.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        ReceiptCommand::Share(a) => {
            let written = share(&a.receipt, &a.output, a.force)?;
            if !crate::logging::quiet() {
                eprintln!(
                    "wrote '{}': send it to the partner; keep '{}' yourself",
                    written.path.display(),
                    a.receipt.display()
                );
            }
        }
    }
    Ok(ExitStatus::Success)
}
