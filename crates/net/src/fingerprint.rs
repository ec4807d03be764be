//! [`Fingerprint`]: the SHA-256 of a certificate's DER encoding, the one printable form
//! partners exchange out of band (`sha256:` + 64 lowercase hex digits) and the parser
//! that also accepts the colon-separated, upper-case forms other tools print.

use std::fmt;
use std::str::FromStr;

use rustls::pki_types::CertificateDer;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::NetError;

/// Prefix of the canonical printable form.
pub const FINGERPRINT_PREFIX: &str = "sha256:";

/// SHA-256 over a certificate's DER bytes.
///
/// A fingerprint is public: it identifies a certificate, it reveals nothing about the
/// key. Pinning compares fingerprints with [`Fingerprint::ct_eq`] all the same, so a
/// verifier's timing says nothing about how close a presented certificate came.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    #[must_use]
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The fingerprint of a certificate.
    #[must_use]
    pub fn of_cert(cert: &CertificateDer<'_>) -> Self {
        Self::of_der(cert.as_ref())
    }

    /// Wraps raw digest bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality.
    #[must_use]
    pub fn ct_eq(&self, other: &Fingerprint) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FINGERPRINT_PREFIX)?;
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = NetError;

    /// Accepts `sha256:` + 64 hex digits (the canonical form), the same without the
    /// prefix, and the colon-separated byte pairs other tools print
    /// (`AB:CD:…`, as `openssl x509 -fingerprint -sha256` does), in either case, with
    /// surrounding white space ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let body = match s.get(..FINGERPRINT_PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(FINGERPRINT_PREFIX) => {
                s.get(FINGERPRINT_PREFIX.len()..).unwrap_or_default()
            }
            _ => s,
        };
        let hex_digits: String = if body.contains(':') {
            let parts: Vec<&str> = body.split(':').collect();
            if parts.len() != 32 || parts.iter().any(|p| p.len() != 2) {
                return Err(NetError::InvalidFingerprint {
                    reason: "colon-separated form must be 32 pairs of hex digits",
                });
            }
            parts.concat()
        } else {
            body.to_owned()
        };
        if hex_digits.len() != 64 {
            return Err(NetError::InvalidFingerprint {
                reason: "expected 64 hex digits (a SHA-256 digest)",
            });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_digits.to_ascii_lowercase(), &mut out).map_err(|_| {
            NetError::InvalidFingerprint {
                reason: "not a hexadecimal string",
            }
        })?;
        Ok(Self(out))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonical_form_round_trips() {
        let fp = Fingerprint::of_der(b"certificate bytes");
        let shown = fp.to_string();
        assert!(shown.starts_with("sha256:"));
        assert_eq!(shown.len(), 7 + 64);
        assert_eq!(shown, shown.to_lowercase());
        assert_eq!(shown.parse::<Fingerprint>().unwrap(), fp);
    }

    #[test]
    fn accepts_other_spellings() {
        let fp = Fingerprint::of_der(b"x");
        let hex_lower = hex::encode(fp.as_bytes());
        let colon_upper = fp
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        for s in [
            hex_lower.clone(),
            hex_lower.to_uppercase(),
            format!("SHA256:{hex_lower}"),
            format!("  sha256:{colon_upper}\n"),
            colon_upper,
        ] {
            assert_eq!(s.parse::<Fingerprint>().unwrap(), fp, "{s}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "sha256:",
            "sha256:abcd",
            &"g".repeat(64),
            &"ab:".repeat(31),
            &format!("{}a", "ab:".repeat(31)),
            &"a".repeat(66),
        ] {
            assert!(
                matches!(
                    s.parse::<Fingerprint>(),
                    Err(NetError::InvalidFingerprint { .. })
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn ct_eq_matches_eq() {
        let a = Fingerprint::of_der(b"a");
        let b = Fingerprint::of_der(b"b");
        assert!(a.ct_eq(&a));
        assert!(!a.ct_eq(&b));
    }
}
