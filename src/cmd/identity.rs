//! `blindmatch identity new/show`: this party's TLS identity (a private key, mode
//! 0600, and a self-signed certificate, made by `blindmatch-net` with rcgen) and the
//! certificate's SHA-256 fingerprint, which the partner pins with
//! `--peer-fingerprint`. The fingerprint goes to stdout alone, so scripts can capture
//! it; everything else goes to stderr. The key is never printed.

use std::path::{Path, PathBuf};

use blindmatch_net::{Fingerprint, Identity, IdentityPaths};
use blindmatch_pipeline::identity::{self, identity_stem};
use clap::{Args as ClapArgs, Subcommand};

use crate::error::{ExitStatus, FailWith, Failure};
use crate::progress::Terminal;

/// Make or show this party's TLS identity and its certificate fingerprint.
///
/// A partner pins your certificate by its fingerprint (`--peer-fingerprint`), so
/// send it the fingerprint over a channel you trust (not the same e-mail as the
/// data), and pin the partner's in turn.
///
/// Example:
///
///   blindmatch identity new -o acme       # writes acme.key (0600) and acme.crt
///   blindmatch identity show acme         # prints the fingerprint again
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: IdentityCommand,
}

#[derive(Debug, Subcommand)]
enum IdentityCommand {
    /// Make a new private key (NAME.key, mode 0600) and self-signed certificate
    /// (NAME.crt); prints the certificate's SHA-256 fingerprint. Never overwrites.
    New(NewArgs),
    /// Print the certificate fingerprint of an identity (NAME, NAME.key or
    /// NAME.crt), or of a partner's certificate file (FILE.crt).
    Show(ShowArgs),
}

#[derive(Debug, ClapArgs)]
struct NewArgs {
    /// Where to write: NAME.key and NAME.crt (e.g. `-o keys/acme`).
    #[arg(short, long, value_name = "NAME")]
    output: PathBuf,

    /// The name in the certificate [default: the file name of -o]: 1 to 64
    /// characters of A-Z, a-z, 0-9, '.', '_', '-'.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

#[derive(Debug, ClapArgs)]
struct ShowArgs {
    /// The identity (NAME, NAME.key or NAME.crt), or a certificate file.
    #[arg(value_name = "NAME")]
    identity: PathBuf,
}

/// Runs `blindmatch identity`.
///
/// # Errors
/// Existing files, bad names, unreadable or invalid identity files (exit 2).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        IdentityCommand::New(a) => new(&a),
        IdentityCommand::Show(a) => show(&a),
    }
}

fn new(args: &NewArgs) -> anyhow::Result<ExitStatus> {
    let stem = identity_stem(&args.output);
    let name = match &args.name {
        Some(n) => n.clone(),
        None => stem
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let (identity, paths) = identity::create(&stem, &name, &Terminal::default())?;
    tracing::info!(name = %name, fingerprint = %identity.fingerprint(), "identity written");
    println!("{}", identity.fingerprint());
    if !crate::logging::quiet() {
        eprintln!(
            "created '{}' (private key, mode 0600: keep it secret) and '{}' (certificate for '{name}')",
            paths.key.display(),
            paths.cert.display()
        );
        eprintln!(
            "give the partner the fingerprint above for its --peer-fingerprint; `blindmatch identity show {}` prints it again",
            stem.display()
        );
    }
    Ok(ExitStatus::Success)
}

fn show(args: &ShowArgs) -> anyhow::Result<ExitStatus> {
    let path = &args.identity;
    // A certificate alone (typically the partner's): its fingerprint, nothing else.
    let key_beside = path.with_extension("key");
    if path.extension().is_some_and(|e| e == "crt") && !key_beside.exists() {
        let fingerprint = certificate_fingerprint(path)?;
        println!("{fingerprint}");
        if !crate::logging::quiet() {
            eprintln!("certificate '{}'", path.display());
        }
        return Ok(ExitStatus::Success);
    }
    let stem = identity_stem(path);
    let identity = Identity::load(&stem).fail_with(|| {
        Failure::bad_input(format!("cannot load identity '{}'", stem.display())).hint(format!(
            "expected {0}.key and {0}.crt from `blindmatch identity new -o {0}`",
            stem.display()
        ))
    })?;
    println!("{}", identity.fingerprint());
    if !crate::logging::quiet() {
        let paths = IdentityPaths::from_stem(&stem);
        eprintln!(
            "identity '{}': '{}' and '{}'",
            identity.name(),
            paths.key.display(),
            paths.cert.display()
        );
    }
    Ok(ExitStatus::Success)
}

/// The fingerprint of the first certificate in a PEM file.
fn certificate_fingerprint(path: &Path) -> anyhow::Result<Fingerprint> {
    Identity::certificate_fingerprint(path).fail_with(|| {
        Failure::bad_input(format!("'{}' holds no PEM certificate", path.display()))
            .hint("give a .crt file from `blindmatch identity new`, or an identity NAME")
    })
}
