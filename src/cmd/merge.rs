//! `blindmatch merge`: one side's shard results combined into one output and one
//! merged receipt. The work is `blindmatch_pipeline::merge`.

use std::path::PathBuf;

use blindmatch_data::dataset::parse_delimiter;
use blindmatch_pipeline::merge::{MergeConfig, merge};

use crate::error::ExitStatus;

/// Combine the K shard results of one side of a sharded match (`blindmatch match
/// --shard I/K`) into one matched-rows file and one merged receipt.
///
/// Give every shard receipt of this side, in any order: they must be of one run
/// (the same K, every index once, the same mode, rules, input and partner). Each
/// shard's output is found beside its receipt (or at the path it recorded) and
/// checked against the SHA-256 the receipt recorded. The merged receipt lists every
/// shard receipt by path and SHA-256, with a digest over them;
/// `blindmatch audit receipt` checks it. Files are written atomically with mode
/// 0600, both or neither.
///
/// Example:
///
///   blindmatch merge -o matched.csv --receipt merged.receipt.json out/shard-*.receipt.json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The shard receipts (one per shard).
    #[arg(value_name = "RECEIPT", required = true)]
    receipts: Vec<PathBuf>,

    /// The merged matched-rows file (when the shards wrote matched rows).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The merged receipt.
    #[arg(long, value_name = "FILE")]
    receipt: PathBuf,

    /// The outputs' field delimiter: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

/// Runs `blindmatch merge`.
///
/// # Errors
/// Bad input (exit 2): see [`merge`].
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let delimiter = parse_delimiter(&args.delimiter)?;
    let summary = merge(&MergeConfig {
        receipts: args.receipts,
        output: args.output,
        receipt: args.receipt,
        force: args.force,
        delimiter,
    })?;
    if !crate::logging::quiet() {
        match (&summary.output, summary.matched_rows) {
            (Some(out), Some(rows)) => eprintln!(
                "merged {} shards: {rows} matched rows → '{}'",
                summary.shards,
                out.display()
            ),
            _ => eprintln!(
                "merged {} shards (this side learned no rows)",
                summary.shards
            ),
        }
        eprintln!("merged receipt: '{}'", summary.receipt.display());
    }
    Ok(ExitStatus::Success)
}
