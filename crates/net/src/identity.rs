//! [`Identity`]: this party's TLS private key and certificate. Makes new ones (an ECDSA
//! P-256 key and a self-signed certificate, via rcgen), writes them as `NAME.key`
//! (0600, never overwritten, created atomically) and `NAME.crt`, and loads them back
//! (also CA-issued ones) into the signing key rustls uses.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use zeroize::{Zeroize, Zeroizing};

use crate::{Fingerprint, NetError};

/// Longest identity name accepted by [`Identity::generate`].
pub const MAX_IDENTITY_NAME_LEN: usize = 64;

/// Years a generated certificate stays valid. Pinned peers ignore validity dates; the
/// dates matter only when a partner checks the certificate against a CA file.
const CERT_VALIDITY_DAYS: i64 = 20 * 365;

/// This party's certificate chain and private key, ready for TLS.
///
/// The private key is parsed once into rustls' signing key; the DER bytes read from
/// the file are zeroised right after. `Debug` prints only the name and fingerprint.
/// There is no `Clone`: share it behind an `Arc`.
pub struct Identity {
    name: String,
    certified: Arc<CertifiedKey>,
    fingerprint: Fingerprint,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The two files an identity lives in: `STEM.key` and `STEM.crt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPaths {
    /// The private key, PEM (PKCS#8), mode 0600.
    pub key: PathBuf,
    /// The certificate, PEM.
    pub cert: PathBuf,
}

/// The text of an identity's two files, as [`Identity::generate_files`] makes it.
/// `Debug` never shows the private key.
pub struct IdentityFiles {
    /// `STEM.key`: the private key, PEM (PKCS#8) after `#` comment lines; write it
    /// with mode 0600.
    pub key: Zeroizing<String>,
    /// `STEM.crt`: the certificate, PEM after `#` comment lines.
    pub cert: String,
}

impl fmt::Debug for IdentityFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityFiles")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl IdentityPaths {
    /// `STEM.key` and `STEM.crt`; the suffix is appended, so `keys/acme.v2` gives
    /// `keys/acme.v2.key`.
    #[must_use]
    pub fn from_stem(stem: &Path) -> Self {
        let with = |ext: &str| {
            let mut s = OsString::from(stem.as_os_str());
            s.push(ext);
            PathBuf::from(s)
        };
        Self {
            key: with(".key"),
            cert: with(".crt"),
        }
    }
}

impl Identity {
    /// Makes a fresh key pair and a self-signed certificate for `name` (which becomes
    /// the subject common name and a DNS subject alternative name), in memory only.
    ///
    /// # Errors
    ///
    /// [`NetError::InvalidIdentityName`] unless `name` is 1 to
    /// [`MAX_IDENTITY_NAME_LEN`] characters of `[A-Za-z0-9._-]`;
    /// [`NetError::CertificateGeneration`] if rcgen fails.
    pub fn generate(name: &str) -> Result<Self, NetError> {
        let pems = GeneratedPems::new(name)?;
        Self::from_pem(name, pems.key.as_bytes(), pems.cert.as_bytes(), None)
    }

    /// Makes a fresh identity as [`Identity::generate`] does and writes it to
    /// `STEM.key` (mode 0600) and `STEM.crt` (see [`IdentityPaths::from_stem`]).
    ///
    /// Each file is written under a temporary name in the same directory and then
    /// hard-linked into place, so a file is never seen half-written and an existing
    /// file is never replaced, even by a concurrent writer.
    ///
    /// # Errors
    ///
    /// [`NetError::IdentityExists`] if either file exists (nothing is written then);
    /// [`NetError::IdentityIo`] on a file system error; as [`Identity::generate`].
    pub fn create(stem: &Path, name: &str) -> Result<(Self, IdentityPaths), NetError> {
        let paths = IdentityPaths::from_stem(stem);
        for p in [&paths.key, &paths.cert] {
            if p.symlink_metadata().is_ok() {
                return Err(NetError::IdentityExists { path: p.clone() });
            }
        }
        let (identity, files) = Self::generate_files(name)?;
        write_new_file(&paths.key, files.key.as_bytes(), 0o600)?;
        if let Err(e) = write_new_file(&paths.cert, files.cert.as_bytes(), 0o644) {
            // We created the key file a moment ago; do not leave half an identity.
            let _ = fs::remove_file(&paths.key);
            return Err(e);
        }
        Ok((identity, paths))
    }

    /// Makes a fresh identity as [`Identity::generate`] does, with the text of the
    /// two files [`Identity::create`] would write, for a caller that writes files
    /// its own way (the CLI's outputs are removed when it is interrupted).
    ///
    /// # Errors
    ///
    /// As [`Identity::generate`].
    pub fn generate_files(name: &str) -> Result<(Self, IdentityFiles), NetError> {
        let pems = GeneratedPems::new(name)?;
        let identity = Self::from_pem(name, pems.key.as_bytes(), pems.cert.as_bytes(), None)?;
        let fp = identity.fingerprint;
        let key = Zeroizing::new(format!(
            "# blindmatch identity private key (v1). Keep it secret; never send it to anyone.\n\
             # name: {name}\n# certificate: {fp}\n{}",
            pems.key.as_str()
        ));
        let cert = format!(
            "# blindmatch identity certificate (v1). Give the fingerprint to your partner.\n\
             # name: {name}\n# fingerprint: {fp}\n{}",
            pems.cert
        );
        Ok((identity, IdentityFiles { key, cert }))
    }

    /// Loads `STEM.key` and `STEM.crt` (see [`IdentityPaths::from_stem`]).
    ///
    /// # Errors
    ///
    /// As [`Identity::load_files`].
    pub fn load(stem: &Path) -> Result<Self, NetError> {
        let paths = IdentityPaths::from_stem(stem);
        Self::load_files(&paths.key, &paths.cert)
    }

    /// Loads a PEM private key (PKCS#8, SEC1 or PKCS#1) and a PEM certificate chain
    /// (end-entity first), e.g. CA-issued ones. The name is the file stem of the
    /// certificate. A key file readable by group or others is accepted with a warning
    /// in the log.
    ///
    /// # Errors
    ///
    /// [`NetError::IdentityIo`] if a file cannot be read; [`NetError::InvalidIdentity`]
    /// if it holds no usable key or certificate, or the key does not belong to the
    /// certificate.
    pub fn load_files(key_path: &Path, cert_path: &Path) -> Result<Self, NetError> {
        let key_pem =
            Zeroizing::new(fs::read(key_path).map_err(|source| NetError::IdentityIo {
                path: key_path.to_owned(),
                source,
            })?);
        warn_if_key_file_is_open(key_path);
        let cert_pem = fs::read(cert_path).map_err(|source| NetError::IdentityIo {
            path: cert_path.to_owned(),
            source,
        })?;
        let name = cert_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_pem(&name, &key_pem, &cert_pem, Some((key_path, cert_path)))
    }

    /// The fingerprint of the first certificate in a PEM file, without touching any
    /// private key (for `identity show`).
    ///
    /// # Errors
    ///
    /// [`NetError::IdentityIo`] if the file cannot be read;
    /// [`NetError::InvalidIdentity`] if it holds no PEM certificate.
    pub fn certificate_fingerprint(cert_path: &Path) -> Result<Fingerprint, NetError> {
        let pem = fs::read(cert_path).map_err(|source| NetError::IdentityIo {
            path: cert_path.to_owned(),
            source,
        })?;
        let cert = CertificateDer::from_pem_slice(&pem).map_err(|_| NetError::InvalidIdentity {
            path: cert_path.to_owned(),
            reason: "no PEM CERTIFICATE section found",
        })?;
        Ok(Fingerprint::of_cert(&cert))
    }

    fn from_pem(
        name: &str,
        key_pem: &[u8],
        cert_pem: &[u8],
        paths: Option<(&Path, &Path)>,
    ) -> Result<Self, NetError> {
        let (key_path, cert_path) = match paths {
            Some((k, c)) => (k.to_owned(), c.to_owned()),
            None => (PathBuf::from("<generated>"), PathBuf::from("<generated>")),
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|_| NetError::InvalidIdentity {
                path: cert_path.clone(),
                reason: "the certificate file is not valid PEM",
            })?;
        let Some(end_entity) = chain.first() else {
            return Err(NetError::InvalidIdentity {
                path: cert_path,
                reason: "no CERTIFICATE section found",
            });
        };
        let fingerprint = Fingerprint::of_cert(end_entity);
        let mut key_der =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| NetError::InvalidIdentity {
                path: key_path.clone(),
                reason: "no PEM private key (PKCS#8, SEC1 or PKCS#1) found",
            })?;
        let signing = rustls::crypto::ring::sign::any_supported_type(&key_der);
        key_der.zeroize();
        let signing = signing.map_err(|_| NetError::InvalidIdentity {
            path: key_path.clone(),
            reason: "unsupported or malformed private key",
        })?;
        let certified = CertifiedKey::new(chain, signing);
        match certified.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(_)) => {
                return Err(NetError::InvalidIdentity {
                    path: key_path,
                    reason: "the private key does not belong to the certificate",
                });
            }
            Err(_) => {
                return Err(NetError::InvalidIdentity {
                    path: cert_path,
                    reason: "the certificate cannot be parsed",
                });
            }
        }
        Ok(Self {
            name: name.to_owned(),
            certified: Arc::new(certified),
            fingerprint,
        })
    }

    /// The name given at generation (or the certificate file's stem).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 fingerprint of the end-entity certificate: what the partner pins.
    #[must_use]
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The certificate chain, end-entity first.
    #[must_use]
    pub fn cert_chain(&self) -> &[CertificateDer<'static>] {
        &self.certified.cert
    }

    pub(crate) fn certified_key(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.certified)
    }
}

/// Freshly generated PEM texts; the key text is zeroised on drop.
struct GeneratedPems {
    key: Zeroizing<String>,
    cert: String,
}

impl GeneratedPems {
    fn new(name: &str) -> Result<Self, NetError> {
        validate_name(name)?;
        let gen_err = |source| NetError::CertificateGeneration { source };
        let key_pair =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(gen_err)?;
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).map_err(gen_err)?;
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, name);
        dn.push(rcgen::DnType::OrganizationName, "blindmatch identity");
        params.distinguished_name = dn;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(CERT_VALIDITY_DAYS);
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        // The same certificate serves as TLS client (connector) and server (listener).
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.self_signed(&key_pair).map_err(gen_err)?;
        Ok(Self {
            key: Zeroizing::new(key_pair.serialize_pem()),
            cert: cert.pem(),
        })
    }
}

fn validate_name(name: &str) -> Result<(), NetError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_IDENTITY_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidIdentityName {
            max: MAX_IDENTITY_NAME_LEN,
        })
    }
}

/// Writes `bytes` to a new file at `path` with `mode`, atomically and without ever
/// replacing an existing file: write + fsync a temporary file in the same directory,
/// hard-link it to `path` (which fails if `path` exists), remove the temporary name.
fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), NetError> {
    let io_err = |source: io::Error| NetError::IdentityIo {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    rand::fill(&mut suffix);
    let tmp = dir.join(format!(".{file_name}.{}.tmp", hex::encode(suffix)));
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(NetError::IdentityExists {
            path: path.to_owned(),
        }),
        Err(e) => Err(io_err(e)),
    }
}

fn warn_if_key_file_is_open(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "private key file is readable by group or others; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn create_then_load_gives_the_same_identity() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("acme");
        let (made, paths) = Identity::create(&stem, "acme").unwrap();
        assert_eq!(paths.key, dir.path().join("acme.key"));
        assert_eq!(paths.cert, dir.path().join("acme.crt"));
        let loaded = Identity::load(&stem).unwrap();
        assert_eq!(loaded.fingerprint(), made.fingerprint());
        assert_eq!(loaded.name(), "acme");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&paths.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The fingerprint is the SHA-256 of the certificate's DER.
        let der = CertificateDer::from_pem_file(&paths.cert).unwrap();
        assert_eq!(Fingerprint::of_der(der.as_ref()), made.fingerprint());
        assert_eq!(
            Identity::certificate_fingerprint(&paths.cert).unwrap(),
            made.fingerprint()
        );
        assert!(matches!(
            Identity::certificate_fingerprint(&paths.key),
            Err(NetError::InvalidIdentity { .. })
        ));
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn create_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("acme");
        Identity::create(&stem, "acme").unwrap();
        let before = fs::read(dir.path().join("acme.key")).unwrap();
        assert!(matches!(
            Identity::create(&stem, "acme"),
            Err(NetError::IdentityExists { .. })
        ));
        assert_eq!(fs::read(dir.path().join("acme.key")).unwrap(), before);
        // A stray certificate alone also blocks creation, and no key is left behind.
        let stem2 = dir.path().join("other");
        fs::write(dir.path().join("other.crt"), b"x").unwrap();
        assert!(matches!(
            Identity::create(&stem2, "other"),
            Err(NetError::IdentityExists { .. })
        ));
        assert!(!dir.path().join("other.key").exists());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("k");
        let (id, paths) = Identity::create(&stem, "k").unwrap();
        let key_text = fs::read_to_string(&paths.key).unwrap();
        let b64_line = key_text
            .lines()
            .find(|l| !l.starts_with('#') && !l.starts_with("-----"))
            .unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains(&b64_line[..20]));
        assert!(shown.contains("sha256:"));
    }

    #[test]
    fn mismatched_key_and_cert_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, a) = Identity::create(&dir.path().join("a"), "a").unwrap();
        let (_, b) = Identity::create(&dir.path().join("b"), "b").unwrap();
        assert!(matches!(
            Identity::load_files(&a.key, &b.cert),
            Err(NetError::InvalidIdentity { .. })
        ));
        assert!(matches!(
            Identity::load_files(&a.cert, &a.cert),
            Err(NetError::InvalidIdentity { .. })
        ));
        assert!(matches!(
            Identity::load(&dir.path().join("missing")),
            Err(NetError::IdentityIo { .. })
        ));
    }

    #[test]
    fn names_are_validated() {
        for bad in ["", "a b", "x/y", &"n".repeat(65), "ünï"] {
            assert!(matches!(
                Identity::generate(bad),
                Err(NetError::InvalidIdentityName { .. })
            ));
        }
        assert!(Identity::generate("acme-bank.cn_01").is_ok());
    }
}
