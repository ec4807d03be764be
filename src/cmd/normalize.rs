//! `blindmatch normalize`: shows what a normaliser makes of values given on the
//! command line or found in a CSV column, or why it rejects them.
//!
//! Unlike every other command, this one prints identifier values: it is a local
//! diagnostic for the person who typed them (or owns the file), and its help says so.

use std::io::{self, Write};
use std::path::PathBuf;

use blindmatch_data::dataset::{
    Cell, ColumnCounts, ColumnSpec, Columns, DatasetReader, Format, InputSource, Record,
    normalize_cell, parse_delimiter,
};
use blindmatch_token::{IdType, Profile};
use clap::Args as ClapArgs;

use crate::args::{ProfileArgs, parse_format};
use crate::error::{ExitStatus, FailWith, Failure};

/// Show what the normaliser makes of values (a local diagnostic: prints them).
///
/// Shows the normalised form of each value, or why it is rejected.
///
/// LOCAL DIAGNOSTIC: this command prints the values you give it (and with --input
/// the values of the column) to standard output. Run it only where those values
/// may be seen; every other blindmatch command keeps raw values out of its output.
///
/// Each value is printed quoted (invisible characters escaped), then `→` and the
/// normalised value, or `✗` and the reason code. Exits with 3 when any value is
/// rejected.
///
/// Examples:
///
///   blindmatch normalize --type phone "+86 138-1234-5678" "0086 13812345678"
///
///   blindmatch normalize --input customers.csv --column mobile:phone --rejected-only
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Identifier type: phone, email, uscc, cn_id, name, text, raw, company or
    /// wechat_id.
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    id_type: Option<IdType>,

    /// Values to normalise.
    #[arg(value_name = "VALUE", conflicts_with = "input")]
    values: Vec<String>,

    /// A file (`-` for standard input) whose column to normalise: CSV, or
    /// Parquet (.parquet) or Arrow IPC (.arrow, .ipc, .feather).
    #[arg(short, long, value_name = "FILE", requires = "column")]
    input: Option<PathBuf>,

    /// The column to normalise with --input: NAME:TYPE, or NAME with --type.
    #[arg(short, long, value_name = "NAME[:TYPE]", requires = "input")]
    column: Option<String>,

    /// Field delimiter of --input: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    /// The format of --input: csv, parquet or arrow [default: by the file's
    /// extension, CSV otherwise].
    #[arg(long, value_name = "FORMAT", value_parser = parse_format, requires = "input")]
    format: Option<Format>,

    /// Print only the values that are rejected.
    #[arg(long)]
    rejected_only: bool,

    #[command(flatten)]
    profile: ProfileArgs,
}

/// Runs `blindmatch normalize`.
///
/// # Errors
/// Bad arguments or input (exit 2); output errors (exit 1).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let profile = args.profile.profile();
    tracing::info!(profile = %profile.name(), digest = %profile.digest(), "normalize");
    let counts = match (&args.input, &args.column) {
        (Some(input), Some(column)) => normalize_column(&args, &profile, input, column)?,
        _ => normalize_values(&args, &profile)?,
    };
    Ok(if counts.rejected > 0 {
        ExitStatus::CheckFailed
    } else {
        ExitStatus::Success
    })
}

fn normalize_values(args: &Args, profile: &Profile) -> anyhow::Result<ColumnCounts> {
    let Some(id_type) = args.id_type else {
        return Err(Failure::bad_input("normalize needs --type")
            .hint(format!(
                "e.g. blindmatch normalize --type phone \"+86 138 1234 5678\"; types: {}",
                IdType::VALID_NAMES
            ))
            .into());
    };
    if args.values.is_empty() {
        return Err(
            Failure::bad_input("nothing to normalize: no values and no --input")
                .hint("give values after the options, or --input FILE --column NAME:TYPE")
                .into(),
        );
    }
    let mut out = io::stdout().lock();
    let mut counts = ColumnCounts::default();
    let mut buffer = String::new();
    for value in &args.values {
        let cell = normalize_cell(profile, id_type, value, &mut buffer);
        counts.add(cell);
        print_line(&mut out, None, value, cell, &buffer, args.rejected_only)?;
    }
    Ok(counts)
}

fn normalize_column(
    args: &Args,
    profile: &Profile,
    input: &std::path::Path,
    column: &str,
) -> anyhow::Result<ColumnCounts> {
    let spec = match (column.contains(':'), args.id_type) {
        (true, _) => ColumnSpec::parse(column)?,
        (false, Some(id_type)) => ColumnSpec {
            name: column.to_owned(),
            id_type,
        },
        (false, None) => {
            return Err(
                Failure::bad_input(format!("--column '{column}' has no type"))
                    .hint(format!("write --column {column}:TYPE or add --type TYPE"))
                    .into(),
            );
        }
    };
    let source = InputSource::parse(input);
    let format = Format::of_input(&source, args.format);
    let mut reader = DatasetReader::open(&source, format, parse_delimiter(&args.delimiter)?)?;
    let columns = Columns::resolve(
        reader.header(),
        std::slice::from_ref(&spec),
        &[],
        reader.name(),
    )?;
    reader.check_text_columns(columns.used_indices());
    reader.use_columns(&columns)?;
    let index = columns.ids.first().map_or(0, |c| c.index);
    // A Parquet or Arrow table has rows, not lines.
    let place = match reader.format() {
        Format::Csv => "line",
        _ => "row",
    };

    let mut out = io::stdout().lock();
    let mut counts = ColumnCounts::default();
    let mut buffer = String::new();
    let mut record = Record::default();
    while reader.read(&mut record)? {
        let value = record.text(index);
        let cell = normalize_cell(profile, spec.id_type, value, &mut buffer);
        counts.add(cell);
        print_line(
            &mut out,
            Some((place, record.line())),
            value,
            cell,
            &buffer,
            args.rejected_only,
        )?;
    }
    if !crate::logging::quiet() {
        eprintln!(
            "{} values in column '{}' ({}): {} normalised, {} empty, {} rejected",
            counts.values + counts.empty + counts.rejected,
            spec.name,
            spec.id_type,
            counts.values,
            counts.empty,
            counts.rejected
        );
    }
    Ok(counts)
}

fn print_line(
    out: &mut impl Write,
    line: Option<(&str, u64)>,
    value: &str,
    cell: Cell,
    normalised: &str,
    rejected_only: bool,
) -> anyhow::Result<()> {
    if rejected_only && !matches!(cell, Cell::Rejected(_)) {
        return Ok(());
    }
    let result = match line {
        Some((what, n)) => write!(out, "{what} {n}: "),
        None => Ok(()),
    }
    .and_then(|()| match cell {
        Cell::Value => writeln!(out, "{value:?} → {normalised}"),
        Cell::Empty => writeln!(out, "{value:?} → (empty: stays empty, never tokenised)"),
        Cell::Rejected(reason) => writeln!(out, "{value:?} ✗ {}: {reason}", reason.code()),
    });
    result.fail_with(|| Failure::failed("cannot write to standard output"))
}
