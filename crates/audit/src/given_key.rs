//! The key an audit is given (`--key`): loaded as a key file, reduced to the key
//! it makes tokens with, and checked against the key the manifest names.

use std::fmt;
use std::path::Path;

use blindmatch_data::{Error, Observer, Result};
use blindmatch_pipeline::keys;
use blindmatch_token::{Key, KeyId, KeyPurpose};

use crate::report::Finding;
use crate::tokenize_manifest::Manifest;

/// The key an audit was given with `--key`: the key file's token key, which made the
/// tokens and whose ID the manifest declares (for a master key file, its derived
/// token key; see `KeyFile::token_key`).
pub(crate) struct GivenKey {
    token_key: Key,
}

impl GivenKey {
    /// The token key's ID, as written in every token it makes.
    pub(crate) fn key_id(&self) -> KeyId {
        self.token_key.id()
    }

    /// The token key, for re-tokenising samples.
    pub(crate) fn key(&self) -> &Key {
        &self.token_key
    }
}

impl fmt::Debug for GivenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GivenKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// Loads `--key` and checks its token key against the manifest.
///
/// # Errors
/// The key file cannot be read, or is a short-code key (bad input).
pub(crate) fn check_key(
    path: &Path,
    manifest: Option<&Manifest>,
    findings: &mut Vec<Finding>,
    observer: &dyn Observer,
) -> Result<GivenKey> {
    let file = keys::load(path, "--key", observer)?;
    // The only error is a purpose that never makes tokens; the message says so.
    let token_key = file.token_key().map_err(|_| {
        Error::bad_input(format!(
            "--key '{}' is a {} key, which never makes tokens",
            path.display(),
            file.purpose()
        ))
        .hint("give the master or token key the file was tokenised with")
    })?;
    let given = GivenKey { token_key };
    if let Some(m) = manifest {
        let id = given.key_id();
        let matches = m.key_id() == Some(id) || m.previous_key_id() == Some(id);
        if !matches {
            let declared = m
                .key_id()
                .map_or_else(|| "no valid key ID".to_owned(), |k| k.to_string());
            let what = if file.purpose() == KeyPurpose::Master {
                format!(
                    "the master key given (key ID {}) makes tokens with key ID {id}",
                    file.key_id()
                )
            } else {
                format!("the key given has key ID {id}")
            };
            findings.push(
                Finding::new(
                    "key_id_mismatch",
                    format!("{what}, but the manifest names {declared}"),
                )
                .field("key.id"),
            );
        }
    }
    Ok(given)
}
