//! `blindmatch tokenize`: a CSV of customer records in, a CSV of keyed tokens out,
//! with a JSON manifest beside it and an optional rejects file. The pipeline is
//! `blindmatch_pipeline::tokenize`; this module turns the options into its config
//! and prints the summary.

use std::path::PathBuf;

use blindmatch_data::dataset::parse_rate;
use blindmatch_data::output::OutputTarget;
use blindmatch_data::text::group;
use blindmatch_pipeline::{TokenizeConfig, TokenizeSummary, tokenize};
use blindmatch_token::{ShortCoder, token};
use clap::Args as ClapArgs;

use crate::args::{InputArgs, ProfileArgs};
use crate::error::ExitStatus;
use crate::progress::Terminal;

/// Replace identifier columns of a CSV with keyed tokens, with a manifest.
///
/// Tokens are written `bm1.<key-id>.<base64url>`. Identifier columns (--column NAME:TYPE) are normalised and replaced by their
/// tokens, --keep columns are copied, all other columns are dropped. Empty cells
/// stay empty. A cell the normaliser rejects is written empty, counted per column
/// and reason, summarised on stderr and, with --rejects, listed by row number and
/// reason (never the value). A JSON manifest (tool, profile, key ID, column
/// mapping, input and output SHA-256, counts) is written beside the output.
///
/// Example:
///
///   blindmatch tokenize --key acme.key --input customers.csv \
///       --column phone:phone --column email:email --keep customer_id -o tokens.csv
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    profile: ProfileArgs,

    /// Key file for the tokens (from `blindmatch keygen` or `blindmatch key derive`).
    /// A master key is not used directly: tokens are made with its derived token
    /// key, the one `blindmatch key derive --purpose token` writes without --partner.
    #[arg(long, value_name = "KEY_FILE")]
    #[cfg_attr(
        feature = "bench-passthrough",
        arg(required_unless_present = "passthrough")
    )]
    #[cfg_attr(not(feature = "bench-passthrough"), arg(required = true))]
    key: Option<PathBuf>,

    /// An older key: adds a NAME_prev column with each value's token under that
    /// key beside the new token, an old→new mapping for migrating stored tokens.
    #[arg(long, value_name = "KEY_FILE")]
    previous_key: Option<PathBuf>,

    /// Token file to write, `-` for standard output. Written under a temporary
    /// name and renamed only when complete; mode 0600. A name ending in .parquet
    /// writes Parquet: tokens as strings (null for an empty or rejected cell),
    /// kept columns of a Parquet or Arrow input in their own types.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// Where to write the JSON manifest [default: OUTPUT.manifest.json; with
    /// `-o -`, no manifest unless this is given].
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,

    /// Also write one line per rejected cell to this CSV file: row, line, column,
    /// type and reason code; never the value.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Exit with code 3 when, in any identifier column, more than this share of
    /// the non-empty cells is rejected: a fraction (0.01) or a percentage (1%).
    /// The files are still written; the manifest records the failed check.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_reject_rate: Option<f64>,

    /// Also write a short customer code (Crockford base32 plus a check
    /// character) for this identifier column, in a NAME_code column
    /// (repeatable). Two different values with one code stop the run.
    #[arg(long = "short-code", value_name = "COLUMN")]
    short_codes: Vec<String>,

    /// Data characters per short code, 8 to 24 (5 bits each).
    #[arg(long, value_name = "N", default_value_t = ShortCoder::DEFAULT_LEN)]
    short_code_len: usize,

    /// A registry of the short codes issued in earlier runs under this key and
    /// length (codes and MAC remainders, no identifier): read before the run (a
    /// missing file starts empty), so a new code colliding with an earlier one
    /// stops the run; rewritten (mode 0600) with this run's codes only when the
    /// run succeeds.
    #[arg(long, value_name = "FILE", requires = "short_codes")]
    short_code_registry: Option<PathBuf>,

    /// Token MAC length in bytes, 16 to 32 (32 is the full HMAC-SHA256; see
    /// docs/token-format.md for the collision bound of shorter tokens).
    #[arg(long, value_name = "BYTES", default_value_t = token::FULL_LEN)]
    token_bytes: usize,

    /// Replace existing output, manifest and rejects files.
    #[arg(long)]
    force: bool,

    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// Diagnostic for benchmarks: copy identifier cells unchanged instead of
    /// tokenising them (no key, no manifest). The output holds raw identifiers.
    /// Only in builds with the `bench-passthrough` feature.
    #[cfg(feature = "bench-passthrough")]
    #[arg(long, hide = true)]
    passthrough: bool,
}

/// Runs `blindmatch tokenize`.
///
/// # Errors
/// Bad input (exit 2) before anything is written; a failed reject-rate check (exit
/// 3) after the files are written; I/O failures and short-code collisions (exit 1)
/// with no output left behind.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let config = TokenizeConfig {
        input: args.input.validate()?,
        profile: args.profile.profile(),
        key: args.key,
        previous_key: args.previous_key,
        output: OutputTarget::parse(&args.output),
        manifest: args.manifest,
        rejects: args.rejects,
        max_reject_rate: args.max_reject_rate,
        short_codes: args.short_codes,
        short_code_len: args.short_code_len,
        short_code_registry: args.short_code_registry,
        token_bytes: args.token_bytes,
        overwrite: args.force,
        threads: args.threads,
        #[cfg(feature = "bench-passthrough")]
        passthrough: args.passthrough,
        #[cfg(not(feature = "bench-passthrough"))]
        passthrough: false,
    };
    let summary = tokenize(&config, &Terminal::default())?;
    if !crate::logging::quiet() {
        print_summary(&summary);
    }
    summary.check()?;
    Ok(ExitStatus::Success)
}

fn print_summary(summary: &TokenizeSummary) {
    let seconds = summary.elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        summary.rows as f64 / seconds
    } else {
        0.0
    };
    let output = if summary.output.path.as_os_str() == "-" {
        "standard output".to_owned()
    } else {
        format!("'{}'", summary.output.path.display())
    };
    let verb = if summary.passthrough {
        "copied (passthrough)"
    } else {
        "tokenized"
    };
    eprintln!(
        "{verb} {} rows from '{}' into {output} in {seconds:.2} s ({} rows/s)",
        group(summary.rows),
        summary.input,
        group(rate as u64)
    );
    for column in &summary.columns {
        let counts = column.counts;
        let mut reasons: Vec<String> = column
            .rejects
            .iter()
            .map(|(r, k)| format!("{} {}", r.code(), group(*k)))
            .collect();
        let detail = if reasons.is_empty() {
            String::new()
        } else {
            reasons.sort();
            format!(" ({})", reasons.join(", "))
        };
        eprintln!(
            "  {} ({}): {} tokens, {} empty, {} rejected{detail}",
            column.name,
            column.id_type,
            group(counts.values),
            group(counts.empty),
            group(counts.rejected)
        );
    }
    if summary.rejected > 0 {
        eprintln!(
            "  rejected cells are written empty; rows with a rejected cell: {}",
            group(summary.rows_with_rejects)
        );
    }
    if let Some(m) = &summary.manifest {
        eprintln!("manifest: '{}'", m.path.display());
    }
    if let Some(r) = &summary.rejects_file {
        eprintln!("rejects: '{}'", r.path.display());
    }
    if let Some(r) = &summary.short_code_registry {
        eprintln!(
            "short-code registry: '{}', {} codes ({} new)",
            r.file.path.display(),
            group(r.codes_after),
            group(r.codes_after.saturating_sub(r.codes_before))
        );
    }
}
