//! Key files as every pipeline uses them: reading one with one-line errors and a
//! warning when others can read it, making and deriving new ones, and writing
//! them (0600, never overwriting).
//!
//! Nothing here prints, logs or puts into an error key bytes: only paths, key IDs,
//! purposes, dates and derivation labels (partner names, collaboration IDs),
//! which are not secret.

use std::io::Read;
use std::path::{Path, PathBuf};

use blindmatch_data::output::{clear_stale, write_atomic};
use blindmatch_data::{Error, FailWith, Observer, Result, Warning};
use blindmatch_token::{
    Derivation, Error as TokenError, Key, KeyFile, KeyPurpose, key_file_exposure,
};
use zeroize::Zeroizing;

/// Where a derived key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeriveFrom {
    /// Our own master key file, for one partner (or in-house, without one).
    Master {
        /// The master key file.
        path: PathBuf,
        /// The partner the key is for.
        partner: Option<String>,
    },
    /// A secret shared with the partner (a key file or random bytes), plus the
    /// collaboration ID both sides agreed on: both derive the same key.
    Shared {
        /// The shared-secret file.
        path: PathBuf,
        /// The collaboration ID.
        collaboration: String,
    },
}

/// Reads a key file for `role` (the option it was given to, e.g. `--key`), warning
/// the observer when group or others may read it.
///
/// # Errors
/// The file is missing, unreadable, too large or malformed, or `-` (bad input).
pub fn load(path: &Path, role: &str, observer: &dyn Observer) -> Result<KeyFile> {
    if path.as_os_str() == "-" {
        return Err(
            Error::bad_input(format!("{role}: a key cannot be read from standard input"))
                .hint("give the path of a key file"),
        );
    }
    let file = KeyFile::read(path).map_err(|e| key_file_error(path, role, e))?;
    warn_if_exposed(path, "key file", observer);
    tracing::debug!(path = %path.display(), key_id = %file.key_id(), purpose = %file.purpose(), "key file loaded");
    Ok(file)
}

/// A one-line error for a key file that cannot be used. The token library's
/// messages name lines and problems, never the file's content.
fn key_file_error(path: &Path, role: &str, err: TokenError) -> Error {
    let shown = path.display();
    let error = match &err {
        TokenError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            return Error::bad_input(format!("{role}: key file '{shown}' not found"))
                .hint("check the path; make a key with `blindmatch keygen -o FILE`");
        }
        TokenError::Io { source, .. } => {
            return Error::bad_input(format!("{role}: cannot read key file '{shown}': {source}"))
                .hint("check the file's permissions (the owner needs read access)");
        }
        TokenError::KeyFileMalformed { line, problem } => {
            Error::bad_input(format!("{role}: key file '{shown}' line {line}: {problem}"))
        }
        _ => Error::bad_input(format!("{role}: key file '{shown}': {err}")),
    };
    error.hint("use the file exactly as `blindmatch keygen` or `blindmatch key derive` wrote it")
}

/// Tells the observer (without failing) when a secret file is readable by group
/// or others; `what` names it, e.g. `key file`.
pub fn warn_if_exposed(path: &Path, what: &'static str, observer: &dyn Observer) {
    if let Ok(Some(mode)) = key_file_exposure(path) {
        observer.warning(&Warning::ExposedSecretFile {
            what,
            path: path.to_path_buf(),
            mode,
        });
    }
}

/// Refuses `-` as a key file's destination: a key is never written to standard
/// output.
///
/// # Errors
/// `output` is `-` (bad input).
pub fn refuse_stdout(output: &Path) -> Result<()> {
    if output.as_os_str() == "-" {
        return Err(
            Error::bad_input("keys are never written to standard output")
                .hint("give a file name, e.g. -o acme.key"),
        );
    }
    Ok(())
}

/// Fails if a key file would overwrite `path`; checked before any work.
///
/// # Errors
/// Something exists at `path` (bad input).
pub fn ensure_new(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(exists(path));
    }
    Ok(())
}

fn exists(path: &Path) -> Error {
    Error::bad_input(format!("key file '{}' already exists", path.display()))
        .hint("keys are never overwritten: choose another name (delete the old key only if nothing depends on it)")
}

/// Writes a new key file with mode 0600, refusing to overwrite. It is written as
/// every output is (`blindmatch_data::output`): under a temporary name that an
/// interrupted command removes, then linked into place; temporary files that a
/// killed run left for `path` are reported and removed first.
///
/// # Errors
/// The file exists, or cannot be written (bad input: the folder is the user's to
/// fix).
pub fn write_new(file: &KeyFile, path: &Path, observer: &dyn Observer) -> Result<()> {
    ensure_new(path)?;
    clear_stale(path, observer);
    // The text is handed to the file in one write, never copied into a buffer.
    let text = file.to_text();
    write_atomic(path, text.as_bytes(), false, true)
        .map(|_| ())
        .map_err(|err| {
            let message = format!("cannot write key file '{}'", path.display());
            Error::bad_input(message)
                .hint("check that the folder exists and is writable")
                .caused_by(err)
        })
}

/// Makes a new random key file for `purpose` and writes it to `output`.
///
/// # Errors
/// `output` is `-` or exists, or cannot be written (bad input); the operating
/// system gave no randomness (failed).
pub fn generate(output: &Path, purpose: KeyPurpose, observer: &dyn Observer) -> Result<KeyFile> {
    refuse_stdout(output)?;
    ensure_new(output)?;
    let file = KeyFile::generate(purpose).fail_with(|| {
        Error::failed("cannot generate a key")
            .hint("the operating system's random number generator failed")
    })?;
    write_new(&file, output, observer)?;
    Ok(file)
}

/// Derives a key for `purpose` with HKDF-SHA256 and writes it to `output`.
///
/// # Errors
/// `purpose` is `master`, `output` is `-` or exists, the source file is unusable
/// (missing, malformed, not a master key, too short a secret), a label is not
/// allowed, or the file cannot be written (all bad input).
pub fn derive(
    from: &DeriveFrom,
    purpose: KeyPurpose,
    output: &Path,
    observer: &dyn Observer,
) -> Result<KeyFile> {
    if purpose == KeyPurpose::Master {
        return Err(Error::bad_input("--purpose master: master keys are generated, not derived")
            .hint("derive `token` or `short-code` keys, or run `blindmatch keygen` for a new master key"));
    }
    refuse_stdout(output)?;
    ensure_new(output)?;
    let (key, derivation) = match from {
        DeriveFrom::Master { path, partner } => {
            let master = load(path, "--master", observer)?;
            if master.purpose() != KeyPurpose::Master {
                return Err(Error::bad_input(format!(
                    "key file '{}' is a {} key, not a master key",
                    path.display(),
                    master.purpose()
                ))
                .hint("derive from the master key made by `blindmatch keygen`; a key serves one purpose"));
            }
            let key = master
                .key()
                .derive(purpose, partner.as_deref())
                .fail_with(|| Error::bad_input("cannot derive the key").hint(LABEL_HINT))?;
            let derivation = Derivation::Master {
                master: master.key_id(),
                partner: partner.clone(),
            };
            (key, derivation)
        }
        DeriveFrom::Shared {
            path,
            collaboration,
        } => {
            let key = derive_shared(path, collaboration, purpose, observer)?;
            let derivation = Derivation::Shared {
                collaboration_id: collaboration.clone(),
            };
            (key, derivation)
        }
    };
    let file = KeyFile::new(key, purpose, derivation, time::OffsetDateTime::now_utc());
    write_new(&file, output, observer)?;
    Ok(file)
}

/// Which labels a derivation accepts.
const LABEL_HINT: &str =
    "partner names and collaboration IDs are 1 to 128 characters from A-Z a-z 0-9 . _ - : @ /";

/// The shared-secret file is a key file (the usual case: one partner ran keygen and
/// handed the file over securely) or raw random bytes.
fn derive_shared(
    path: &Path,
    collaboration: &str,
    purpose: KeyPurpose,
    observer: &dyn Observer,
) -> Result<Key> {
    warn_if_exposed(path, "shared secret file", observer);
    let shown = path.display();
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(blindmatch_token::key::MAX_KEY_FILE_LEN + 1)
                .read_to_end(&mut bytes)
        })
        .fail_with(|| {
            Error::bad_input(format!("cannot read shared secret file '{shown}'"))
                .hint("check the path and the file's permissions")
        })?;
    if bytes.len() as u64 > blindmatch_token::key::MAX_KEY_FILE_LEN {
        return Err(Error::bad_input(format!(
            "shared secret file '{shown}' is larger than {} bytes",
            blindmatch_token::key::MAX_KEY_FILE_LEN
        ))
        .hint("give a blindmatch key file or a small file of random bytes"));
    }
    let result = if bytes.starts_with(b"blindmatch-key v") {
        let file = KeyFile::parse_bytes(&bytes)
            .map_err(|e| key_file_error(path, "--shared-secret-file", e))?;
        Key::derive_shared(file.key(), collaboration, purpose)
    } else {
        let mut end = bytes.len();
        while end > 0 && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        Key::derive_shared_from_bytes(bytes.get(..end).unwrap_or_default(), collaboration, purpose)
    };
    result.fail_with(|| {
        Error::bad_input(format!("cannot derive a key from '{shown}'")).hint(
            "a shared secret needs at least 16 random bytes (e.g. a file made by `blindmatch keygen`); \
             the collaboration ID uses A-Z a-z 0-9 . _ - : @ /",
        )
    })
}
