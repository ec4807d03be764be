//! The short-code registry file of a tokenize run (`--short-code-registry`):
//! read before the run so codes issued in earlier runs count as issued, and
//! written back (old and new codes) with the other outputs when the run succeeds.
//!
//! It holds codes and MAC remainders only, never an identifier or a row; it is
//! written 0600 all the same, as it belongs with the key.

use std::fs::File;
use std::io::{BufReader, ErrorKind};
use std::path::{Path, PathBuf};

use blindmatch_data::dataset::InputSource;
use blindmatch_data::output::{AtomicFile, SealedFile};
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_token::short_code::RegistryProblem;
use blindmatch_token::{Error as TokenError, ShortCodeRegistry, ShortCoder};

use super::threads::write_failure;

/// The registry file of a run: where it is, how many codes it held, and its
/// temporary replacement (made before the input is read).
pub(super) struct RegistryFile {
    pub(super) path: PathBuf,
    pub(super) codes_before: u64,
    file: AtomicFile,
}

/// Reads the registry at `path` for `coder`'s key and length (a missing file is
/// an empty registry) and opens its replacement.
///
/// # Errors
/// Bad input: the path is `-`, the input or another output; the file is for
/// another code key or length, malformed, or cannot be read. The replacement
/// cannot be created in its folder.
pub(super) fn open(
    path: &Path,
    coder: &ShortCoder,
    input: &InputSource,
    outputs: &[(&str, &Path)],
) -> Result<(RegistryFile, ShortCodeRegistry)> {
    const OPTION: &str = "--short-code-registry";
    let shown = path.display();
    if path.as_os_str() == "-" {
        return Err(
            Error::bad_input(format!("{OPTION} cannot be standard input or output"))
                .hint(format!("give {OPTION} a file name")),
        );
    }
    let same = |other: &Path| {
        other == path
            || matches!(
                (std::fs::canonicalize(other), std::fs::canonicalize(path)),
                (Ok(a), Ok(b)) if a == b
            )
    };
    if let Some((option, _)) = outputs.iter().find(|(_, p)| same(p)) {
        return Err(Error::bad_input(format!(
            "{OPTION} and {option} name the same file '{shown}'"
        ))
        .hint("keep the registry in a file of its own"));
    }
    if matches!(input, InputSource::File(input) if same(input)) {
        return Err(
            Error::bad_input(format!("{OPTION} '{shown}' is the input file"))
                .hint("keep the registry in a file of its own"),
        );
    }
    let registry = match File::open(path) {
        Ok(file) => ShortCodeRegistry::read_from(BufReader::new(file), coder.key_id(), coder.len())
            .map_err(|e| registry_error(path, e))?,
        Err(e) if e.kind() == ErrorKind::NotFound => ShortCodeRegistry::new(),
        Err(e) => {
            return Err(
                Error::bad_input(format!("{OPTION}: cannot read '{shown}': {e}"))
                    .hint("check the file's permissions"),
            );
        }
    };
    // Replaced on commit: the registry is updated, never a new output.
    let file = AtomicFile::create(path, true, true)?;
    let registry_file = RegistryFile {
        path: path.to_path_buf(),
        codes_before: registry.len() as u64,
        file,
    };
    Ok((registry_file, registry))
}

impl RegistryFile {
    /// Writes `registry` (the earlier codes and this run's) and seals it, to be
    /// committed with the other outputs.
    ///
    /// # Errors
    /// Writing or syncing failed.
    pub(super) fn seal(
        mut self,
        registry: &ShortCodeRegistry,
        coder: &ShortCoder,
    ) -> Result<SealedFile> {
        registry
            .write_to(&mut self.file, coder.key_id(), coder.len())
            .fail_with(|| write_failure(&self.path))?;
        self.file.seal()
    }
}

/// A bad-input error naming the registry file (and the line, when there is one).
fn registry_error(path: &Path, err: TokenError) -> Error {
    let shown = path.display();
    let message = match &err {
        TokenError::ShortCodeRegistryMalformed { line, problem } => {
            format!("--short-code-registry '{shown}' line {line}: {problem}")
        }
        _ => format!("--short-code-registry '{shown}': {err}"),
    };
    let hint = match &err {
        TokenError::ShortCodeRegistryMalformed {
            problem: RegistryProblem::OtherKey { .. } | RegistryProblem::OtherLength { .. },
            ..
        } => {
            "a registry holds the codes of one master key and one --short-code-len; give the key and length it was made with, or another registry file"
        }
        _ => "use the file exactly as `blindmatch tokenize --short-code-registry` wrote it",
    };
    Error::bad_input(message).hint(hint)
}
