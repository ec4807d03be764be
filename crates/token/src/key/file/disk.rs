//! Key files on disk: read with a size limit, write 0600 without ever overwriting,
//! and check the permissions of an existing file.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::KeyFile;
use crate::Error;

/// No valid key file comes close to this size; refuse to read anything bigger.
pub const MAX_KEY_FILE_LEN: u64 = 64 * 1024;

impl KeyFile {
    /// Reads and parses a key file.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, [`Error::KeyFileTooLarge`], or as
    /// [`KeyFile::parse`].
    pub fn read(path: &Path) -> Result<KeyFile, Error> {
        let io = |op, source| Error::Io {
            op,
            path: path.to_owned(),
            source,
        };
        let file = fs::File::open(path).map_err(|e| io("open", e))?;
        let mut buf = Zeroizing::new(Vec::with_capacity(512));
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_end(&mut buf)
            .map_err(|e| io("read", e))?;
        if buf.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(Error::KeyFileTooLarge {
                max: MAX_KEY_FILE_LEN,
            });
        }
        KeyFile::parse_bytes(&buf)
    }

    /// Writes the key file to `path` with mode 0600, refusing to overwrite anything.
    ///
    /// The text goes to a temporary 0600 file in the same directory, is flushed to
    /// disk, and is then hard-linked to `path`; linking fails if `path` exists, so
    /// the final name appears complete or not at all, and never replaces a file.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if `path` exists; [`Error::Io`] otherwise.
    pub fn write_new(&self, path: &Path) -> Result<(), Error> {
        let io = |op, p: &Path, source| Error::Io {
            op,
            path: p.to_owned(),
            source,
        };
        if fs::symlink_metadata(path).is_ok() {
            return Err(Error::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let name = path.file_name().ok_or_else(|| {
            io(
                "create",
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            )
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut nonce = [0u8; 8];
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut nonce).map_err(Error::Rng)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            hex::encode(nonce)
        ));
        let result = write_private(&tmp, self.to_text().as_bytes())
            .map_err(|e| io("write", &tmp, e))
            .and_then(|()| match fs::hard_link(&tmp, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(Error::AlreadyExists {
                        path: path.to_owned(),
                    })
                }
                Err(e) => Err(io("link", path, e)),
            });
        // The temporary name is only scaffolding; remove it whatever happened.
        let _ = fs::remove_file(&tmp);
        result?;
        if let Ok(d) = fs::File::open(&dir) {
            // Persist the new directory entry; failure here loses nothing written.
            let _ = d.sync_all();
        }
        Ok(())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Whether an existing key file is accessible to group or others.
///
/// Returns `Some(mode)` (the permission bits, e.g. `0o644`) if any group/other bit is
/// set, `None` if only the owner has access (or on platforms without Unix modes).
///
/// # Errors
/// [`Error::Io`] if the file's metadata cannot be read.
pub fn key_file_exposure(path: &Path) -> Result<Option<u32>, Error> {
    let meta = fs::metadata(path).map_err(|source| Error::Io {
        op: "stat",
        path: path.to_owned(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use subtle::ConstantTimeEq;
    use time::OffsetDateTime;

    use super::*;
    use crate::key::{Derivation, Key, KeyPurpose};

    fn sample() -> KeyFile {
        KeyFile::new(
            Key::from_bytes([9; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
        )
    }

    #[test]
    fn write_is_0600_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.key");
        let kf = sample();
        kf.write_new(&path).unwrap();
        let back = KeyFile::read(&path).unwrap();
        assert!(bool::from(back.key().ct_eq(kf.key())));
        assert_eq!(key_file_exposure(&path).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let before = fs::read(&path).unwrap();
        let again = KeyFile::new(
            Key::from_bytes([5; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            kf.created(),
        );
        assert!(matches!(
            again.write_new(&path),
            Err(Error::AlreadyExists { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), before);
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(matches!(
            kf.write_new(&dir.path().join("missing-dir").join("k.key")),
            Err(Error::Io { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn exposure_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        sample().write_new(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(key_file_exposure(&path).unwrap(), Some(0o644));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(key_file_exposure(&path).unwrap(), Some(0o640));
        assert!(key_file_exposure(&dir.path().join("nope")).is_err());
    }

    #[test]
    fn read_refuses_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.key");
        fs::write(&path, vec![b'#'; (MAX_KEY_FILE_LEN + 10) as usize]).unwrap();
        assert!(matches!(
            KeyFile::read(&path),
            Err(Error::KeyFileTooLarge { .. })
        ));
    }
}
