//! TLS identity files as the commands name them: `acme`, `acme.key` and
//! `acme.crt` all mean the identity stem `acme`; making a new identity with
//! one-line errors. The identity itself (keys, certificates, fingerprints) is
//! `blindmatch-net`'s.

use std::path::{Path, PathBuf};

use blindmatch_data::output::{clear_stale, commit_all, seal_atomic};
use blindmatch_data::{Error, Observer, Result};
use blindmatch_net::{Identity, IdentityPaths, NetError};

/// `acme`, `acme.key` and `acme.crt` all name the identity stem `acme`.
pub fn identity_stem(path: &Path) -> PathBuf {
    match path.extension().and_then(|e| e.to_str()) {
        Some("key" | "crt") => path.with_extension(""),
        _ => path.to_path_buf(),
    }
}

/// Makes and writes a new identity at `stem` (`STEM.key`, mode 0600, and
/// `STEM.crt`) with `name` in its certificate. Both files are written as every
/// output is (`blindmatch_data::output`): under temporary names that an interrupted
/// command removes, then linked into place together, never replacing a file;
/// temporary files a killed run left for them are reported and removed first.
///
/// # Errors
/// The files exist, the name is invalid, the folder is not writable (bad input),
/// or making the identity failed (failed).
pub fn create(
    stem: &Path,
    name: &str,
    observer: &dyn Observer,
) -> Result<(Identity, IdentityPaths)> {
    let paths = IdentityPaths::from_stem(stem);
    let exists = || {
        Error::bad_input(format!("identity '{}' exists already", stem.display()))
            .hint("choose another name; an identity is never overwritten")
    };
    if [&paths.key, &paths.cert]
        .iter()
        .any(|p| p.symlink_metadata().is_ok())
    {
        return Err(exists());
    }
    let (identity, files) = Identity::generate_files(name).map_err(|error| {
        let failure = match &error {
            NetError::InvalidIdentityName { .. } => {
                Error::bad_input(format!("cannot use '{name}' as the identity name"))
                    .hint("use --name with 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'")
            }
            _ => Error::failed(format!("cannot create identity '{}'", stem.display())),
        };
        failure.caused_by(error)
    })?;
    let unwritable = |err: Error| {
        Error::bad_input(format!("cannot create identity '{}'", stem.display()))
            .hint("check that the folder exists and is writable")
            .caused_by(err)
    };
    clear_stale(&paths.key, observer);
    clear_stale(&paths.cert, observer);
    let key = seal_atomic(&paths.key, files.key.as_bytes(), false, true).map_err(unwritable)?;
    let cert = seal_atomic(&paths.cert, files.cert.as_bytes(), false, false).map_err(unwritable)?;
    commit_all(vec![key, cert]).map_err(unwritable)?;
    Ok((identity, paths))
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
