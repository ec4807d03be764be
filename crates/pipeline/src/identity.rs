//! TLS identity files as the commands name them: `acme`, `acme.key` and
//! `acme.crt` all mean the identity stem `acme`; making a new identity with
//! one-line errors. The identity itself (keys, certificates, fingerprints) is
//! `blindmatch-net`'s.

use std::path::{Path, PathBuf};

use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Identity, IdentityPaths, NetError};

/// `acme`, `acme.key` and `acme.crt` all name the identity stem `acme`.
pub fn identity_stem(path: &Path) -> PathBuf {
    match path.extension().and_then(|e| e.to_str()) {
        Some("key" | "crt") => path.with_extension(""),
        _ => path.to_path_buf(),
    }
}

/// Makes and writes a new identity at `stem` (`STEM.key`, mode 0600, and
/// `STEM.crt`) with `name` in its certificate.
///
/// # Errors
/// The files exist, the name is invalid, the folder is not writable (bad input),
/// or making the identity failed (failed).
pub fn create(stem: &Path, name: &str) -> Result<(Identity, IdentityPaths)> {
    match Identity::create(stem, name) {
        Ok(created) => Ok(created),
        Err(error) => {
            let failure = match &error {
                NetError::IdentityExists { .. } => {
                    Error::bad_input(format!("identity '{}' exists already", stem.display()))
                        .hint("choose another name; an identity is never overwritten")
                }
                NetError::InvalidIdentityName { .. } => {
                    Error::bad_input(format!("cannot use '{name}' as the identity name"))
                        .hint("use --name with 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'")
                }
                NetError::IdentityIo { .. } => {
                    Error::bad_input(format!("cannot create identity '{}'", stem.display()))
                        .hint("check that the folder exists and is writable")
                }
                _ => Error::failed(format!("cannot create identity '{}'", stem.display())),
            };
            Err(error).fail_with(|| failure)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_names() {
        assert_eq!(
            identity_stem(Path::new("keys/acme")),
            Path::new("keys/acme")
        );
        assert_eq!(
            identity_stem(Path::new("keys/acme.key")),
            Path::new("keys/acme")
        );
        assert_eq!(identity_stem(Path::new("acme.crt")), Path::new("acme"));
        assert_eq!(identity_stem(Path::new("acme.v2")), Path::new("acme.v2"));
    }
}
