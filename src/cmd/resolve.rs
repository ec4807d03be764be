//! `blindmatch resolve`: link one party's records from several CSV files into one
//! cluster per customer. The work is `blindmatch_resolve::resolve`; this module
//! groups the per-input flags by position, builds its config and prints the
//! summary.

use std::path::PathBuf;

use anyhow::Context as _;
use blindmatch_data::dataset::{ColumnSpec, Format, InputSource, parse_delimiter};
use blindmatch_data::text::group;
use blindmatch_data::{Error, Result};
use blindmatch_resolve::{ResolveConfig, ResolveSummary, SourceSpec, Survivorship, resolve};
use blindmatch_token::{IdType, RuleSet};
use clap::{ArgMatches, Args as ClapArgs, CommandFactory as _};

use crate::args::{ProfileArgs, parse_format};
use crate::error::ExitStatus;
use crate::progress::Terminal;

/// Link records from one or more CSV files into clusters, one per customer.
///
/// Each --input is followed by its own --source NAME (default: the file's stem)
/// and --column COLUMN:FIELD mappings; a field is named by its identifier type.
/// Records whose normalised fields are equal under any --rule are linked (a rule
/// ANDs fields with +); an empty or rejected value never links. --never-link-on
/// keeps records with different values of a field apart. Clusters get stable IDs
/// (docs/resolve.md); with --previous, IDs of persisting clusters are kept.
///
/// Outputs (mode 0600; existing files are replaced only with --force): the
/// clusters file (source,row,cluster_id,linked_by,first_seen), golden records
/// (normalised identifiers: protect them like the inputs) and a JSON report of
/// counts. A summary goes to standard output. Inputs may be CSV, Parquet or Arrow
/// IPC files (by extension or --format); an output name ending in .parquet
/// writes Parquet.
///
/// Example:
///
///   blindmatch resolve \
///       --input crm.csv --source crm --column mobile:phone --column mail:email \
///       --input app.csv --source miniapp --column tel:phone --column nm:name \
///       --rule phone --rule email --rule name+phone --never-link-on cn_id \
///       -o clusters.csv --golden golden.csv --report report.json
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// A CSV file of records (repeatable), `-` for standard input. The --source
    /// and --column flags after it, up to the next --input, belong to it.
    #[arg(short, long = "input", value_name = "FILE", required = true)]
    inputs: Vec<PathBuf>,

    /// The name of the source of the --input before it [default: the file stem]:
    /// 1 to 64 characters from A-Z a-z 0-9 . _ -
    #[arg(long = "source", value_name = "NAME")]
    sources: Vec<String>,

    /// A column of the --input before it and the field it fills, as
    /// COLUMN:TYPE (repeatable). Types: phone, email, uscc, cn_id, name, text, raw.
    #[arg(short, long = "column", value_name = "COLUMN:TYPE")]
    columns: Vec<String>,

    /// A linking rule (repeatable; priority is the order given): one field, or
    /// fields joined by + that must all be equal, e.g. `phone` or `name+uscc`.
    #[arg(long = "rule", value_name = "FIELD[+FIELD…]", required = true)]
    rules: Vec<String>,

    /// Never put two records with different values of this field in one cluster,
    /// even when a rule links them (repeatable).
    #[arg(long = "never-link-on", value_name = "FIELD")]
    guards: Vec<String>,

    /// The clusters file of an earlier run: clusters that persist keep their IDs,
    /// a merge keeps the oldest, splits are reported.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,

    /// The clusters file to write: one line per record.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// Also write one golden record per cluster (normalised values).
    #[arg(long, value_name = "FILE")]
    golden: Option<PathBuf>,

    /// Also write a JSON report (inputs by SHA-256, counts, links per rule, guard
    /// refusals, rejects, changes against --previous); it holds no value.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,

    /// Survivorship for golden records (repeatable): `source:A,B` (first
    /// non-empty value from A, then B, then the rest), `frequent` (default) or
    /// `recent:DATE_COLUMN`; `FIELD=POLICY` for one field, e.g. phone=recent:updated.
    #[arg(long, value_name = "[FIELD=]POLICY")]
    prefer: Vec<String>,

    /// Field delimiter of every input: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: String,

    /// The format of every input: csv, parquet or arrow [default: each by its
    /// file's extension (.parquet/.pq, .arrow/.ipc/.feather), CSV otherwise].
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,

    #[command(flatten)]
    profile: ProfileArgs,

    /// Replace existing output files.
    #[arg(long)]
    force: bool,
}

/// One `--input` and the flags after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputGroup {
    pub(crate) input: PathBuf,
    pub(crate) source: Option<String>,
    pub(crate) columns: Vec<String>,
}

/// Groups `--source` and `--column` with the `--input` before each, by position.
///
/// # Errors
/// A `--source` or `--column` before the first `--input`, or two `--source`
/// for one input.
pub(crate) fn group_inputs(matches: &ArgMatches) -> Result<Vec<InputGroup>> {
    let positioned = |id: &str| -> Vec<(usize, String)> {
        let values = matches
            .get_raw(id)
            .map(|v| {
                v.map(|s| s.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let indices = matches
            .indices_of(id)
            .map(Iterator::collect::<Vec<_>>)
            .unwrap_or_default();
        indices.into_iter().zip(values).collect()
    };
    let inputs = positioned("inputs");
    let mut groups: Vec<InputGroup> = inputs
        .iter()
        .map(|(_, path)| InputGroup {
            input: PathBuf::from(path),
            source: None,
            columns: Vec::new(),
        })
        .collect();
    let owner = |index: usize, flag: &str| -> Result<usize> {
        inputs.iter().rposition(|(i, _)| *i < index).ok_or_else(|| {
            Error::bad_input(format!("{flag} comes before the first --input"))
                .hint("give each --input first, then its --source and --column flags")
        })
    };
    for (index, name) in positioned("sources") {
        let g = owner(index, "--source")?;
        if groups[g].source.is_some() {
            return Err(Error::bad_input(format!(
                "--input '{}' has two --source names",
                groups[g].input.display()
            ))
            .hint("give one --source after each --input"));
        }
        groups[g].source = Some(name);
    }
    for (index, column) in positioned("columns") {
        let g = owner(index, "--column")?;
        groups[g].columns.push(column);
    }
    Ok(groups)
}

/// The validated config of the run.
fn config(args: Args, groups: Vec<InputGroup>) -> Result<ResolveConfig> {
    let delimiter = parse_delimiter(&args.delimiter)?;
    let mut sources = Vec::with_capacity(groups.len());
    for g in groups {
        let mut columns = Vec::with_capacity(g.columns.len());
        for c in &g.columns {
            columns.push(ColumnSpec::parse(c)?);
        }
        sources.push(SourceSpec {
            name: g
                .source
                .unwrap_or_else(|| SourceSpec::default_name(&g.input)),
            input: InputSource::parse(&g.input),
            columns,
            delimiter,
            format: args.format,
        });
    }
    let rules = RuleSet::parse(&args.rules).map_err(|e| {
        Error::bad_input(format!("invalid --rule: {e}"))
            .hint("a rule is one field or fields joined by +, e.g. --rule phone --rule name+uscc")
    })?;
    let mut guards = Vec::with_capacity(args.guards.len());
    for g in &args.guards {
        guards.push(g.trim().parse::<IdType>().map_err(|_| {
            Error::bad_input(format!("--never-link-on '{g}' is not a field")).hint(format!(
                "a field is an identifier type: {}",
                IdType::VALID_NAMES
            ))
        })?);
    }
    Ok(ResolveConfig {
        sources,
        rules,
        guards,
        profile: args.profile.profile(),
        previous: args.previous,
        output: args.output,
        golden: args.golden,
        report: args.report,
        survivorship: Survivorship::parse(&args.prefer)?,
        overwrite: args.force,
    })
}

/// Runs `blindmatch resolve`.
///
/// # Errors
/// Bad input (exit 2) with nothing written; I/O failures (exit 1) with no
/// output left behind.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    // The per-input flags are grouped by position, which the parsed struct has
    // lost: parse the same command line again for the positions.
    let matches = crate::Cli::command()
        .try_get_matches_from(std::env::args_os())
        .context("parsing the command line again for flag positions")?;
    let groups = match matches.subcommand() {
        Some(("resolve", sub)) => group_inputs(sub)?,
        _ => anyhow::bail!("not the resolve command"),
    };
    let summary = resolve(&config(args, groups)?, &Terminal::default())?;
    if !crate::logging::quiet() {
        print_summary(&summary);
    }
    Ok(ExitStatus::Success)
}

fn print_summary(summary: &ResolveSummary) {
    let r = &summary.report;
    let seconds = summary.elapsed.as_secs_f64();
    println!(
        "resolved {} records from {} sources into {} clusters in {seconds:.2} s",
        group(r.records),
        r.sources.len(),
        group(r.clusters)
    );
    let sources: Vec<String> = r
        .sources
        .iter()
        .map(|s| format!("{} {}", s.name, group(s.rows)))
        .collect();
    println!("  records per source: {}", sources.join(", "));
    let mut sizes: Vec<String> = r
        .cluster_sizes
        .iter()
        .take(6)
        .map(|(size, n)| format!("{size}: {}", group(*n)))
        .collect();
    if r.cluster_sizes.len() > 6 {
        sizes.push("…".to_owned());
    }
    println!(
        "  cluster sizes: {} (largest {})",
        sizes.join(", "),
        group(r.largest_cluster)
    );
    let rules: Vec<String> = r
        .rules
        .iter()
        .map(|rule| format!("{} {}", rule.rule, group(rule.links)))
        .collect();
    println!("  links per rule: {}", rules.join(", "));
    for guard in &r.guards {
        let by_rule: Vec<String> = guard
            .refused_by_rule
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(rule, n)| format!("{rule} {}", group(*n)))
            .collect();
        let detail = if by_rule.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_rule.join(", "))
        };
        println!(
            "  guard {}: {} links refused{detail}",
            guard.field,
            group(guard.refused)
        );
    }
    for source in &r.sources {
        for c in source.columns.iter().filter(|c| c.rejected > 0) {
            let reasons: Vec<String> = c
                .rejects
                .iter()
                .map(|(k, n)| format!("{k} {}", group(*n)))
                .collect();
            println!(
                "  rejected: {} column '{}' ({}): {} ({}); a rejected value links nothing",
                source.name,
                c.column,
                c.field,
                group(c.rejected),
                reasons.join(", ")
            );
        }
    }
    if let Some(p) = &r.previous {
        let ch = &p.changes;
        println!(
            "  against '{}': {} IDs kept, {} new, {} merges, {} splits, {} retired",
            p.file.path,
            group(ch.persisted),
            group(ch.new),
            group(ch.merges.len() as u64),
            group(ch.splits.len() as u64),
            group(ch.retired)
        );
    }
    println!("clusters: '{}'", summary.clusters_file.path.display());
    if let Some(g) = &summary.golden_file {
        println!(
            "golden records: '{}' (normalised identifiers: keep it as safe as the inputs)",
            g.path.display()
        );
    }
    if let Some(f) = &summary.report_file {
        println!("report: '{}'", f.path.display());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Command;

    fn groups(argv: &[&str]) -> Result<Vec<InputGroup>> {
        let cmd = Args::augment_args(Command::new("resolve"));
        let matches = cmd.try_get_matches_from(argv).unwrap();
        group_inputs(&matches)
    }

    #[test]
    fn flags_belong_to_the_input_before_them() {
        let g = groups(&[
            "resolve", "--input", "crm.csv", "--column", "m:phone", "--source", "crm", "-c",
            "e:email", "--rule", "phone", "--input", "app.csv", "--column", "t:phone", "-o",
            "out.csv",
        ])
        .unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].source.as_deref(), Some("crm"));
        assert_eq!(g[0].columns, ["m:phone", "e:email"]);
        assert_eq!(g[1].input, PathBuf::from("app.csv"));
        assert_eq!(g[1].source, None);
        assert_eq!(g[1].columns, ["t:phone"]);
        let e = groups(&[
            "resolve", "--column", "m:phone", "--input", "a.csv", "--rule", "phone", "-o", "o",
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("--column comes before the first --input")
        );
        let e = groups(&[
            "resolve", "--input", "a.csv", "--source", "a", "--source", "b", "--rule", "phone",
            "-o", "o",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("has two --source names"));
    }
}
