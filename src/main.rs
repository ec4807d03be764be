//! The `blindmatch` command-line tool: argument parsing, logging set-up, dispatch
//! to one module per command, turning errors into one-line messages with a hint
//! and a documented exit code, and Ctrl-C/SIGTERM into a clean exit (130/143).

mod args;
mod cmd;
mod error;
mod interrupt;
mod logging;
mod progress;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::error::ExitStatus;

/// jemalloc instead of the system allocator: a bucketed session frees and
/// allocates one bucket's buffers (tens of MB) per sub-session, and glibc's malloc
/// kept the freed ones as fragments the next bucket could not fully reuse, so
/// peak memory grew with the number of buckets, above `--memory-limit`
/// (`docs/benchmarks.md`, "Buckets and bounded memory"). Unix only (jemalloc does
/// not build for MSVC).
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Privacy-preserving cross-party matching: keyed tokens, private set
/// intersection over TLS, and compliance audits.
#[derive(Debug, Parser)]
#[command(name = "blindmatch", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    log: logging::LogArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // Each variant's arguments live in the command's own module (src/cmd/NAME.rs).
    // @command-variants (keep this marker: engineers add variants below it)
    Bench(cmd::bench::Args),
    Audit(cmd::audit::Args),
    Identity(cmd::identity::Args),
    Match(Box<cmd::matching::Args>),
    Demo(cmd::demo::Args),
    Keygen(cmd::keygen::Args),
    Key(cmd::key::Args),
    Tokenize(cmd::tokenize::Args),
    Normalize(cmd::normalize::Args),
    Receipt(cmd::receipt::Args),
    Resolve(cmd::resolve::Args),
    Merge(cmd::merge::Args),
}

/// What `--version` prints after the program name: the version, then the Unicode
/// versions of the normalisers' tables and the profile, which together decide how
/// identifiers are normalised (`docs/normalization.md`, "Profiles").
fn long_version() -> String {
    format!(
        "{}\nunicode {} (case mapping {}), profile {}",
        env!("CARGO_PKG_VERSION"),
        blindmatch_token::unicode_version(),
        blindmatch_token::unicode_case_version(),
        blindmatch_token::Profile::standard().name()
    )
}

fn parse() -> Result<Cli, clap::Error> {
    // clap takes a `&'static str`; the text is built once per run.
    let long_version: &'static str = long_version().leak();
    let matches = Cli::command()
        .long_version(long_version)
        .try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr itself.
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::BadInput.into()
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    logging::init(&cli.log);
    interrupt::install();
    let result = run(cli.command);
    // A signal that came as the command finished ends the process as an
    // interruption, not with the command's status.
    interrupt::end_if_interrupted();
    error::report(result)
}

fn run(command: Command) -> anyhow::Result<ExitStatus> {
    match command {
        // @command-dispatch (keep this marker: engineers add arms below it)
        Command::Bench(args) => cmd::bench::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Identity(args) => cmd::identity::run(args),
        Command::Match(args) => cmd::matching::run(*args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Keygen(args) => cmd::keygen::run(args),
        Command::Key(args) => cmd::key::run(args),
        Command::Tokenize(args) => cmd::tokenize::run(args),
        Command::Normalize(args) => cmd::normalize::run(args),
        Command::Receipt(args) => cmd::receipt::run(args),
        Command::Resolve(args) => cmd::resolve::run(args),
        Command::Merge(args) => cmd::merge::run(args),
    }
}
