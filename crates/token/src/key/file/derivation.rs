//! [`Derivation`]: how a key came to be, as recorded on a key file's `derivation:`
//! line, and the parser of that line.

use std::fmt;

use crate::key::KeyId;
use crate::key::derive::check_label;

/// How a key came to be; recorded in the key file for humans and audits.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derivation {
    /// Drawn from the operating system's random number generator.
    Random,
    /// Derived with [`Key::derive`](crate::Key::derive) from the master key with this ID.
    Master {
        /// ID of the master key.
        master: KeyId,
        /// The partner name, if the key is per partner.
        partner: Option<String>,
    },
    /// Derived with [`Key::derive_shared`](crate::Key::derive_shared) from a secret
    /// shared with a partner.
    Shared {
        /// The collaboration ID both partners used.
        collaboration_id: String,
    },
}

impl fmt::Display for Derivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Derivation::Random => f.write_str("random"),
            Derivation::Master { master, partner } => {
                write!(f, "hkdf-sha256 master={master}")?;
                if let Some(p) = partner {
                    write!(f, " partner={p}")?;
                }
                Ok(())
            }
            Derivation::Shared { collaboration_id } => {
                write!(f, "hkdf-sha256 shared collaboration={collaboration_id}")
            }
        }
    }
}

impl Derivation {
    pub(super) fn parse(s: &str) -> Option<Derivation> {
        let mut words = s.split(' ').filter(|w| !w.is_empty());
        match words.next()? {
            "random" => words.next().is_none().then_some(Derivation::Random),
            "hkdf-sha256" => match words.next()? {
                "shared" => {
                    let id = words.next()?.strip_prefix("collaboration=")?;
                    check_label("collaboration ID", id).ok()?;
                    words.next().is_none().then(|| Derivation::Shared {
                        collaboration_id: id.to_owned(),
                    })
                }
                first => {
                    let master = first.strip_prefix("master=")?.parse().ok()?;
                    let partner = match words.next() {
                        None => None,
                        Some(w) => {
                            let p = w.strip_prefix("partner=")?;
                            check_label("partner", p).ok()?;
                            Some(p.to_owned())
                        }
                    };
                    words
                        .next()
                        .is_none()
                        .then_some(Derivation::Master { master, partner })
                }
            },
            _ => None,
        }
    }
}
