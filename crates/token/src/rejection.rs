//! Why a normaliser refused a value. Stable codes for reports; messages never echo the value.

use std::fmt;

/// The reason a value could not be normalised.
///
/// [`Rejection::code`] is stable `snake_case` text meant for reject files, manifests
/// and counters. [`fmt::Display`] is a short human sentence; neither ever contains
/// the rejected value, so a rejection can be logged safely.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    /// Nothing left after trimming (empty cells must stay empty, never become a token).
    Empty,
    /// A character that this type does not allow.
    InvalidCharacter,
    /// A control or format character (e.g. NUL, zero-width joiner misuse in a name).
    ControlCharacter,
    /// Wrong number of characters for this type.
    InvalidLength,
    /// Too few digits for a telephone number.
    TooShort,
    /// Too many digits for a telephone number (E.164 allows at most 15).
    TooLong,
    /// A national number with no country code and no default region configured.
    MissingCountryCode,
    /// A country code that ITU-T has not assigned.
    InvalidCountryCode,
    /// A Chinese mainland mobile number whose 3-digit prefix is not an allocated mobile range.
    InvalidMobilePrefix,
    /// A Chinese number that is neither a mobile number nor a well-formed landline.
    InvalidCnNumber,
    /// A telephone extension (`ext`, `x`, `#`, `转`), which blindmatch does not tokenise.
    ExtensionNotSupported,
    /// No `@` in an e-mail address.
    MissingAt,
    /// More than one `@` in an e-mail address.
    MultipleAt,
    /// The part before `@` is empty, too long or malformed.
    InvalidLocalPart,
    /// The part after `@` is not a plausible domain name.
    InvalidDomain,
    /// The check character does not match the rest of the code.
    BadCheckChar,
    /// The administrative region code is not valid.
    InvalidRegionCode,
    /// The embedded birth date is not a real calendar date in the accepted range.
    InvalidBirthDate,
    /// A company name that is nothing but a legal form (`有限公司`, `Co., Ltd.`).
    LegalFormOnly,
}

impl Rejection {
    /// Every rejection, for documentation and exhaustive tests.
    pub const ALL: [Rejection; 19] = [
        Rejection::Empty,
        Rejection::InvalidCharacter,
        Rejection::ControlCharacter,
        Rejection::InvalidLength,
        Rejection::TooShort,
        Rejection::TooLong,
        Rejection::MissingCountryCode,
        Rejection::InvalidCountryCode,
        Rejection::InvalidMobilePrefix,
        Rejection::InvalidCnNumber,
        Rejection::ExtensionNotSupported,
        Rejection::MissingAt,
        Rejection::MultipleAt,
        Rejection::InvalidLocalPart,
        Rejection::InvalidDomain,
        Rejection::BadCheckChar,
        Rejection::InvalidRegionCode,
        Rejection::InvalidBirthDate,
        Rejection::LegalFormOnly,
    ];

    /// Stable `snake_case` code, e.g. `bad_check_char`, `invalid_mobile_prefix`.
    pub const fn code(self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::InvalidCharacter => "invalid_character",
            Rejection::ControlCharacter => "control_character",
            Rejection::InvalidLength => "invalid_length",
            Rejection::TooShort => "too_short",
            Rejection::TooLong => "too_long",
            Rejection::MissingCountryCode => "missing_country_code",
            Rejection::InvalidCountryCode => "invalid_country_code",
            Rejection::InvalidMobilePrefix => "invalid_mobile_prefix",
            Rejection::InvalidCnNumber => "invalid_cn_number",
            Rejection::ExtensionNotSupported => "extension_not_supported",
            Rejection::MissingAt => "missing_at",
            Rejection::MultipleAt => "multiple_at",
            Rejection::InvalidLocalPart => "invalid_local_part",
            Rejection::InvalidDomain => "invalid_domain",
            Rejection::BadCheckChar => "bad_check_char",
            Rejection::InvalidRegionCode => "invalid_region_code",
            Rejection::InvalidBirthDate => "invalid_birth_date",
            Rejection::LegalFormOnly => "legal_form_only",
        }
    }

    /// The rejection with this [`Rejection::code`], if any.
    pub fn from_code(code: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.code() == code)
    }

    const fn message(self) -> &'static str {
        match self {
            Rejection::Empty => "empty after trimming",
            Rejection::InvalidCharacter => "contains a character not allowed for this type",
            Rejection::ControlCharacter => "contains a control or format character",
            Rejection::InvalidLength => "wrong number of characters for this type",
            Rejection::TooShort => "too few digits for a telephone number",
            Rejection::TooLong => "more than 15 digits (E.164 maximum)",
            Rejection::MissingCountryCode => {
                "national number without country code and no default region configured"
            }
            Rejection::InvalidCountryCode => "country code not assigned by ITU-T",
            Rejection::InvalidMobilePrefix => {
                "not an allocated Chinese mainland mobile number range"
            }
            Rejection::InvalidCnNumber => "neither a Chinese mobile number nor a valid landline",
            Rejection::ExtensionNotSupported => "telephone extensions are not supported",
            Rejection::MissingAt => "no @ in e-mail address",
            Rejection::MultipleAt => "more than one @ in e-mail address",
            Rejection::InvalidLocalPart => "invalid part before @",
            Rejection::InvalidDomain => "invalid domain after @",
            Rejection::BadCheckChar => "check character does not match",
            Rejection::InvalidRegionCode => "invalid administrative region code",
            Rejection::InvalidBirthDate => "birth date is not a valid date",
            Rejection::LegalFormOnly => "only a legal form, no company name",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Rejection {}

impl serde::Serialize for Rejection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Rejection::ALL {
            let c = r.code();
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c}"
            );
            assert!(seen.insert(c), "duplicate code {c}");
            assert_eq!(Rejection::from_code(c), Some(r));
            assert!(!r.to_string().is_empty());
        }
        assert_eq!(Rejection::from_code("nope"), None);
    }
}
