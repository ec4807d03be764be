//! `blindmatch audit`: checks a compliance team runs on files alone — token files
//! (`audit tokens`), tokenize manifests (`audit manifest`) and session receipts
//! (`audit receipt`). The audits are `blindmatch-audit`; this module parses the
//! options, prints the report and turns findings into exit code 3.
//!
//! Every audit prints a short human summary (or `--json`, the full report) on
//! stdout and exits 0 only when there are no findings, 3 when there are. Reports
//! name files, columns, key IDs, counts and row numbers; never a cell value.

use std::io::Write as _;
use std::path::PathBuf;

use blindmatch_audit::{
    AuditReport, ManifestAudit, ReceiptAudit, ReportOptions, TokensAudit, audit_manifest,
    audit_merged_receipt, audit_receipts, audit_tokens,
};
use blindmatch_data::dataset::Format;
use blindmatch_token::KeyId;
use clap::{Args as ClapArgs, Subcommand};

use crate::args::parse_format;
use crate::error::{ExitStatus, FailWith, Failure};
use crate::progress::Terminal;

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
    Tokens(TokensArgs),
    Manifest(ManifestArgs),
    Receipt(ReceiptArgs),
}

/// Report options shared by every audit.
#[derive(Debug, ClapArgs)]
struct ReportArgs {
    /// Print the full report as JSON instead of the human summary.
    #[arg(long)]
    json: bool,

    /// Row numbers listed per finding (the count is always complete).
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_rows: usize,
}

impl ReportArgs {
    fn options(&self) -> ReportOptions {
        ReportOptions {
            json: self.json,
            max_rows: self.max_rows,
        }
    }
}

/// Check a token file: token columns well formed and made by the declared key,
/// no raw identifiers in any column, duplicate and singleton rates; optionally
/// re-tokenise a random sample of rows from the raw source and compare.
///
/// Every cell of every column is scanned for values that look like phone numbers,
/// e-mail addresses, USCCs and citizen ID numbers, whole or inside longer text.
/// The report names column, count and row numbers, never the values. Exit code 0
/// when clean, 3 when anything is found.
///
/// Examples:
///
///   blindmatch audit tokens tokens.csv --manifest tokens.csv.manifest.json
///
///   blindmatch audit tokens tokens.csv --manifest tokens.csv.manifest.json \
///       --key acme.key --source customers.csv --sample 1000 --json
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
struct TokensArgs {
    /// The token file to audit: CSV, Parquet (.parquet) or Arrow IPC (.arrow,
    /// .ipc, .feather); `-` for standard input (CSV).
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// The token file's format: csv, parquet or arrow [default: as the manifest
    /// records it, else by the file's extension].
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,

    /// The manifest `blindmatch tokenize` wrote: declares token columns, key IDs
    /// and counts, and its output SHA-256 must be this file's.
    #[arg(long, value_name = "MANIFEST")]
    manifest: Option<PathBuf>,

    /// Key file: the ID of its token key (for a master key, the derived token key)
    /// must be the one that made the tokens; with --source, re-tokenises the sample.
    #[arg(long, value_name = "KEY_FILE")]
    key: Option<PathBuf>,

    /// A key ID every token must carry (repeatable); for files without a manifest.
    #[arg(long = "key-id", value_name = "KID")]
    key_ids: Vec<KeyId>,

    /// The raw CSV the token file was made from (needs --key and --manifest): a
    /// random sample of rows is re-tokenised and compared with the stored tokens.
    #[arg(long, value_name = "RAW_CSV")]
    source: Option<PathBuf>,

    /// Rows to re-tokenise from --source (all rows when N is at least the row count).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    sample: u64,

    /// Seed for choosing the sample, to repeat an audit exactly [default: random,
    /// printed in the report].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Field delimiter of the token file: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    /// Field delimiter of --source [default: as --delimiter].
    #[arg(long, value_name = "CHAR")]
    source_delimiter: Option<String>,

    #[command(flatten)]
    report: ReportArgs,
}

/// Check that a tokenize manifest matches its token file and is internally
/// consistent; with --key, that the key is the one the manifest names.
///
/// The token file is found from the path recorded in the manifest (relative to the
/// manifest's folder, then to the current folder) unless --output names it. Exit
/// code 0 when every check passes, 3 when any fails.
///
/// Example:
///
///   blindmatch audit manifest tokens.csv.manifest.json --key acme.key
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
struct ManifestArgs {
    /// The manifest written by `blindmatch tokenize`.
    #[arg(value_name = "MANIFEST")]
    manifest: PathBuf,

    /// Key file: checks that the ID of the key it makes tokens with (for a master
    /// key, its derived token key) is the manifest's key (or previous key).
    #[arg(long, value_name = "KEY_FILE")]
    key: Option<PathBuf>,

    /// The token file, when it is not where the manifest says.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The raw input file, to check it against the input SHA-256 recorded.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    /// Field delimiter of the token file: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    #[command(flatten)]
    report: ReportArgs,
}

/// Check that two session receipts describe the same session, and that output
/// files still match what the receipts recorded.
///
/// Each receipt may be a full one (kept by the side that wrote it) or a shareable
/// one (what a partner sends), in either order: audit your own full receipt
/// against the partner's shareable one. The receipts must agree on session ID,
/// transcript hash, mode, reveal, identifier type, profile and the other agreed
/// parameters; roles must be opposite; each side's declared size and certificate
/// fingerprint must be what the other recorded for its peer; bytes sent by one
/// must be bytes received by the other. A shareable receipt holds no input, result
/// or output, so those are checked for full receipts only. Output files are found
/// from the recorded paths (relative to the receipt's folder, then to the current
/// folder) unless --output-a/--output-b name them. Exit code 0 when every check
/// passes, 3 when any fails.
///
/// Merged receipts (`blindmatch merge` of a sharded run) are checked too: one
/// alone against its shard receipts (each present with the SHA-256 it lists, the
/// digest over them, every shard once) and its output (digest and row count);
/// two, one per side, also shard by shard as above.
///
/// Example:
///
///   blindmatch audit receipt acme.receipt.json insurer.shareable-receipt.json
///   blindmatch audit receipt out/merged.receipt.json
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
struct ReceiptArgs {
    /// One party's receipt, full or shareable.
    #[arg(value_name = "A.json")]
    a: PathBuf,

    /// The other party's receipt, full or shareable (optional only for a merged
    /// receipt, which is then checked alone).
    #[arg(value_name = "B.json")]
    b: Option<PathBuf>,

    /// A's output file, when it is not where A's receipt says.
    #[arg(long, value_name = "FILE")]
    output_a: Option<PathBuf>,

    /// B's output file, when it is not where B's receipt says.
    #[arg(long, value_name = "FILE")]
    output_b: Option<PathBuf>,

    /// Field delimiter of the output files, for counting their rows.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    #[command(flatten)]
    report: ReportArgs,
}

/// Runs `blindmatch audit`.
///
/// # Errors
/// Bad input (exit 2) when a file cannot be read; check-failed (exit 3) when the
/// audit has findings.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let report = match args.command {
        AuditCommand::Tokens(a) => audit_tokens(
            &TokensAudit {
                report: a.report.options(),
                file: a.file,
                format: a.format,
                manifest: a.manifest,
                key: a.key,
                key_ids: a.key_ids,
                source: a.source,
                sample: a.sample,
                seed: a.seed,
                delimiter: a.delimiter,
                source_delimiter: a.source_delimiter,
            },
            &Terminal::default(),
        )?,
        AuditCommand::Manifest(a) => audit_manifest(
            &ManifestAudit {
                report: a.report.options(),
                manifest: a.manifest,
                key: a.key,
                output: a.output,
                input: a.input,
                delimiter: a.delimiter,
            },
            &Terminal::default(),
        )?,
        AuditCommand::Receipt(a) => match a.b {
            Some(b) => audit_receipts(&ReceiptAudit {
                report: a.report.options(),
                a: a.a,
                b,
                output_a: a.output_a,
                output_b: a.output_b,
                delimiter: a.delimiter,
            })?,
            None => audit_merged_receipt(&a.a, a.report.options())?,
        },
    };
    print(&report)?;
    report.verdict()?;
    Ok(ExitStatus::Success)
}

/// Writes the report on standard output.
fn print(report: &AuditReport) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(report.text())
        .and_then(|()| stdout.flush())
        .fail_with(|| Failure::failed("cannot write the report to standard output"))
}
