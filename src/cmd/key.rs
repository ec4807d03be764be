//! `blindmatch key derive` and `blindmatch key show`. Reading, deriving and
//! writing key files is `blindmatch_pipeline::keys`; this module parses the
//! options and prints.
//!
//! Nothing here prints or logs key bytes: only paths, key IDs, purposes, dates and
//! derivation labels (partner names, collaboration IDs), which are not secret.

use std::path::{Path, PathBuf};

use blindmatch_pipeline::keys::{self, DeriveFrom};
use blindmatch_token::{KeyPurpose, key_file_exposure};
use clap::{Args as ClapArgs, Subcommand};
use time::format_description::well_known::Rfc3339;

use crate::error::{ExitStatus, Failure};
use crate::progress::Terminal;

/// Derive keys per partner, purpose or shared secret; show a key file's metadata.
///
/// Keys themselves are never printed.
#[derive(Debug, ClapArgs)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    Derive(DeriveArgs),
    Show(ShowArgs),
}

/// Derive a key with HKDF-SHA256 from a master key or from a shared secret.
///
/// From your own master key: one key per partner and purpose, so tokens given to
/// two partners cannot be joined. From a secret shared with a partner plus a
/// collaboration ID: both sides derive the same key and so compute the same tokens.
///
/// Examples:
///
///   blindmatch key derive --master acme.key --partner insurer-x -o insurer-x.key
///
///   blindmatch key derive --shared-secret-file shared.key --collaboration acme-bank-2026q3 -o clean-room.key
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["master", "shared_secret_file"]))]
struct DeriveArgs {
    /// Your master key file (made by `blindmatch keygen`).
    #[arg(long, value_name = "KEY_FILE")]
    master: Option<PathBuf>,

    /// The partner this key is for (A-Z a-z 0-9 . _ - : @ /); omit for an
    /// in-house key per purpose.
    #[arg(long, value_name = "NAME", requires = "master")]
    partner: Option<String>,

    /// A secret shared with the partner: a blindmatch key file, or a file of at
    /// least 16 random bytes (trailing line breaks are ignored).
    #[arg(long, value_name = "FILE", requires = "collaboration")]
    shared_secret_file: Option<PathBuf>,

    /// The collaboration ID both partners agreed on (A-Z a-z 0-9 . _ - : @ /).
    #[arg(long, value_name = "ID", requires = "shared_secret_file")]
    collaboration: Option<String>,

    /// What the derived key is for: token or short-code. A key serves one purpose.
    #[arg(long, value_name = "PURPOSE", default_value = "token")]
    purpose: KeyPurpose,

    /// Where to write the derived key file (mode 0600; never overwritten).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

/// Show a key file's ID, creation time, purpose and derivation (never the key).
#[derive(Debug, ClapArgs)]
struct ShowArgs {
    /// The key file.
    #[arg(value_name = "KEY_FILE")]
    file: PathBuf,
}

/// Runs `blindmatch key …`.
///
/// # Errors
/// Bad arguments, unreadable or malformed key files, an existing output file.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        KeyCommand::Derive(args) => derive(args),
        KeyCommand::Show(args) => show(&args.file),
    }
}

fn derive(args: DeriveArgs) -> anyhow::Result<ExitStatus> {
    let from = match (args.master, args.shared_secret_file, args.collaboration) {
        (Some(path), _, _) => DeriveFrom::Master {
            path,
            partner: args.partner,
        },
        (None, Some(path), Some(collaboration)) => DeriveFrom::Shared {
            path,
            collaboration,
        },
        // clap's argument group and `requires` rule out the other combinations.
        _ => {
            return Err(Failure::bad_input(
                "give --master, or --shared-secret-file with --collaboration",
            )
            .hint("see `blindmatch key derive --help`")
            .into());
        }
    };
    let file = keys::derive(&from, args.purpose, &args.output, &Terminal::default())?;
    println!(
        "created {} (key ID {}, purpose {}, {}, mode 0600)",
        args.output.display(),
        file.key_id(),
        file.purpose(),
        file.derivation()
    );
    Ok(ExitStatus::Success)
}

fn show(path: &Path) -> anyhow::Result<ExitStatus> {
    let file = keys::load(path, "key file", &Terminal::default())?;
    let created = file
        .created()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned());
    let permissions = match key_file_exposure(path) {
        Ok(Some(mode)) => format!("{mode:04o} (readable by others: run chmod 600)"),
        Ok(None) => "owner only".to_owned(),
        Err(_) => "unknown".to_owned(),
    };
    println!("file:        {}", path.display());
    println!("key ID:      {}", file.key_id());
    println!("created:     {created}");
    println!("algorithm:   hmac-sha256 (256-bit key)");
    println!("purpose:     {}", file.purpose());
    println!("derivation:  {}", file.derivation());
    println!("permissions: {permissions}");
    Ok(ExitStatus::Success)
}
