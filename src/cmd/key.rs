//! `blindmatch key derive` and `blindmatch key show`, plus the key-file helpers every
//! command uses: reading a key file with one-line errors and a warning when others
//! can read it, and writing a new key file (0600, never overwriting).
//!
//! Nothing here prints or logs key bytes: only paths, key IDs, purposes, dates and
//! derivation labels (partner names, collaboration IDs), which are not secret.

use std::io::Read;
use std::path::{Path, PathBuf};

use blindmatch_token::{
    Derivation, Error as TokenError, Key, KeyFile, KeyPurpose, key_file_exposure,
};
use clap::{Args as ClapArgs, Subcommand};
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::error::{ExitStatus, FailWith, Failure};

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
    if args.purpose == KeyPurpose::Master {
        return Err(Failure::bad_input("--purpose master: master keys are generated, not derived")
            .hint("derive `token` or `short-code` keys, or run `blindmatch keygen` for a new master key")
            .into());
    }
    refuse_stdout(&args.output)?;
    ensure_new(&args.output)?;
    let (key, derivation) = match (&args.master, &args.shared_secret_file, &args.collaboration) {
        (Some(master_path), _, _) => {
            let master = load(master_path, "--master")?;
            if master.purpose() != KeyPurpose::Master {
                return Err(Failure::bad_input(format!(
                    "key file '{}' is a {} key, not a master key",
                    master_path.display(),
                    master.purpose()
                ))
                .hint("derive from the master key made by `blindmatch keygen`; a key serves one purpose")
                .into());
            }
            let key = master
                .key()
                .derive(args.purpose, args.partner.as_deref())
                .fail_with(|| Failure::bad_input("cannot derive the key").hint(label_hint()))?;
            let derivation = Derivation::Master {
                master: master.key_id(),
                partner: args.partner.clone(),
            };
            (key, derivation)
        }
        (None, Some(secret_path), Some(collaboration)) => {
            let key = derive_shared(secret_path, collaboration, args.purpose)?;
            let derivation = Derivation::Shared {
                collaboration_id: collaboration.clone(),
            };
            (key, derivation)
        }
        // clap's argument group and `requires` rule out the other combinations.
        _ => {
            return Err(Failure::bad_input(
                "give --master, or --shared-secret-file with --collaboration",
            )
            .hint("see `blindmatch key derive --help`")
            .into());
        }
    };
    let file = KeyFile::new(
        key,
        args.purpose,
        derivation,
        time::OffsetDateTime::now_utc(),
    );
    write_new(&file, &args.output)?;
    println!(
        "created {} (key ID {}, purpose {}, {}, mode 0600)",
        args.output.display(),
        file.key_id(),
        file.purpose(),
        file.derivation()
    );
    Ok(ExitStatus::Success)
}

/// The shared-secret file is a key file (the usual case: one partner ran keygen and
/// handed the file over securely) or raw random bytes.
fn derive_shared(path: &Path, collaboration: &str, purpose: KeyPurpose) -> anyhow::Result<Key> {
    warn_if_exposed(path, "shared secret file");
    let shown = path.display();
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(blindmatch_token::key::MAX_KEY_FILE_LEN + 1)
                .read_to_end(&mut bytes)
        })
        .fail_with(|| {
            Failure::bad_input(format!("cannot read shared secret file '{shown}'"))
                .hint("check the path and the file's permissions")
        })?;
    if bytes.len() as u64 > blindmatch_token::key::MAX_KEY_FILE_LEN {
        return Err(Failure::bad_input(format!(
            "shared secret file '{shown}' is larger than {} bytes",
            blindmatch_token::key::MAX_KEY_FILE_LEN
        ))
        .hint("give a blindmatch key file or a small file of random bytes")
        .into());
    }
    let result = if bytes.starts_with(b"blindmatch-key v") {
        let file = KeyFile::parse_bytes(&bytes)
            .map_err(|e| key_file_failure(path, "--shared-secret-file", e))?;
        Key::derive_shared(file.key(), collaboration, purpose)
    } else {
        let mut end = bytes.len();
        while end > 0 && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        Key::derive_shared_from_bytes(bytes.get(..end).unwrap_or_default(), collaboration, purpose)
    };
    result.fail_with(|| {
        Failure::bad_input(format!("cannot derive a key from '{shown}'")).hint(
            "a shared secret needs at least 16 random bytes (e.g. a file made by `blindmatch keygen`); \
             the collaboration ID uses A-Z a-z 0-9 . _ - : @ /",
        )
    })
}

fn label_hint() -> &'static str {
    "partner names and collaboration IDs are 1 to 128 characters from A-Z a-z 0-9 . _ - : @ /"
}

fn show(path: &Path) -> anyhow::Result<ExitStatus> {
    let file = load(path, "key file")?;
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

/// Reads a key file for `role` (the option it was given to, e.g. `--key`), warning on
/// stderr when group or others may read it.
///
/// # Errors
/// The file is missing, unreadable, too large or malformed (exit 2).
pub(crate) fn load(path: &Path, role: &str) -> anyhow::Result<KeyFile> {
    if path.as_os_str() == "-" {
        return Err(Failure::bad_input(format!(
            "{role}: a key cannot be read from standard input"
        ))
        .hint("give the path of a key file")
        .into());
    }
    let file = KeyFile::read(path).map_err(|e| key_file_failure(path, role, e))?;
    warn_if_exposed(path, "key file");
    tracing::debug!(path = %path.display(), key_id = %file.key_id(), purpose = %file.purpose(), "key file loaded");
    Ok(file)
}

/// A one-line error for a key file that cannot be used. The library's messages name
/// lines and problems, never the file's content.
fn key_file_failure(path: &Path, role: &str, err: TokenError) -> anyhow::Error {
    let shown = path.display();
    let failure = match &err {
        TokenError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            return Failure::bad_input(format!("{role}: key file '{shown}' not found"))
                .hint("check the path; make a key with `blindmatch keygen -o FILE`")
                .into();
        }
        TokenError::Io { source, .. } => {
            return Failure::bad_input(format!("{role}: cannot read key file '{shown}': {source}"))
                .hint("check the file's permissions (the owner needs read access)")
                .into();
        }
        TokenError::KeyFileMalformed { line, problem } => {
            Failure::bad_input(format!("{role}: key file '{shown}' line {line}: {problem}"))
        }
        _ => Failure::bad_input(format!("{role}: key file '{shown}': {err}")),
    };
    failure
        .hint("use the file exactly as `blindmatch keygen` or `blindmatch key derive` wrote it")
        .into()
}

/// Warns (without failing) when a key file is readable by group or others.
pub(crate) fn warn_if_exposed(path: &Path, what: &str) {
    if let (Ok(Some(mode)), false) = (key_file_exposure(path), crate::logging::quiet()) {
        eprintln!(
            "warning: {what} '{}' is readable by others (mode {mode:04o})",
            path.display()
        );
        eprintln!("hint: run `chmod 600 {}`", path.display());
    }
}

/// Refuses `-o -`: a key file is never written to standard output.
pub(crate) fn refuse_stdout(output: &Path) -> anyhow::Result<()> {
    if output.as_os_str() == "-" {
        return Err(
            Failure::bad_input("keys are never written to standard output")
                .hint("give a file name, e.g. -o acme.key")
                .into(),
        );
    }
    Ok(())
}

/// Fails (exit 2) if a key file would overwrite `path`; checked before any work.
///
/// # Errors
/// Something exists at `path`.
pub(crate) fn ensure_new(path: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(exists(path));
    }
    Ok(())
}

fn exists(path: &Path) -> anyhow::Error {
    Failure::bad_input(format!("key file '{}' already exists", path.display()))
        .hint("keys are never overwritten: choose another name (delete the old key only if nothing depends on it)")
        .into()
}

/// Writes a new key file with mode 0600, refusing to overwrite.
///
/// # Errors
/// The file exists (exit 2) or cannot be written (exit 2: the folder is the
/// user's to fix).
pub(crate) fn write_new(file: &KeyFile, path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    match file.write_new(path) {
        Ok(()) => Ok(()),
        Err(TokenError::AlreadyExists { .. }) => Err(exists(path)),
        Err(other) => Err(other).fail_with(|| {
            Failure::bad_input(format!("cannot write key file '{shown}'"))
                .hint("check that the folder exists and is writable")
        }),
    }
}
