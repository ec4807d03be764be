//! The identifier types blindmatch knows, with their stable names.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The kind of identifier in a column; decides the normaliser and is mixed into every token.
///
/// The names returned by [`IdType::as_str`] are stable: they are part of the token
/// input, of profile digests and of manifests, so they never change within a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdType {
    /// A telephone number, normalised to E.164 (`+8613812345678`).
    Phone,
    /// An e-mail address, trimmed, NFKC-normalised and lowercased.
    Email,
    /// 统一社会信用代码, the GB 32100-2015 unified social credit code.
    Uscc,
    /// 居民身份证号, the GB 11643-1999 citizen identity number.
    CnId,
    /// A personal or organisation name.
    Name,
    /// Free text: trimmed and NFKC-normalised only.
    Text,
    /// Opaque bytes, used exactly as given.
    Raw,
    /// A company name, Chinese or Latin, with its legal form unified.
    Company,
    /// A WeChat OpenID or UnionID, as issued (case kept).
    WechatId,
}

impl IdType {
    /// Every type, in a fixed order (the order of [`IdType::index`]). New types are
    /// appended, so a type's index never changes.
    pub const ALL: [IdType; 9] = [
        IdType::Phone,
        IdType::Email,
        IdType::Uscc,
        IdType::CnId,
        IdType::Name,
        IdType::Text,
        IdType::Raw,
        IdType::Company,
        IdType::WechatId,
    ];

    /// The stable name: `phone`, `email`, `uscc`, `cn_id`, `name`, `text`, `raw`,
    /// `company` or `wechat_id`.
    pub const fn as_str(self) -> &'static str {
        match self {
            IdType::Phone => "phone",
            IdType::Email => "email",
            IdType::Uscc => "uscc",
            IdType::CnId => "cn_id",
            IdType::Name => "name",
            IdType::Text => "text",
            IdType::Raw => "raw",
            IdType::Company => "company",
            IdType::WechatId => "wechat_id",
        }
    }

    /// Position of this type in [`IdType::ALL`]; handy for per-type tables and counters.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The valid names, comma-separated, for error messages and help text.
    pub const VALID_NAMES: &'static str =
        "phone, email, uscc, cn_id, name, text, raw, company, wechat_id";
}

impl fmt::Display for IdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdType {
    type Err = Error;

    /// Parses a stable name exactly (lowercase, as written by [`IdType::as_str`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::UnknownIdType {
                given: crate::error::clip(s),
            })
    }
}

impl serde::Serialize for IdType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for IdType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_all() {
        for (i, t) in IdType::ALL.into_iter().enumerate() {
            assert_eq!(t.index(), i);
            assert_eq!(t.as_str().parse::<IdType>().ok(), Some(t));
            assert_eq!(t.to_string(), t.as_str());
        }
    }

    /// Indices feed per-type tables and counters; appending new types keeps the old ones.
    #[test]
    fn existing_indices_are_unchanged() {
        let names: Vec<_> = IdType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "phone",
                "email",
                "uscc",
                "cn_id",
                "name",
                "text",
                "raw",
                "company",
                "wechat_id"
            ]
        );
        assert_eq!(IdType::VALID_NAMES, names.join(", "));
        // No name is a prefix of another (docs/token-format.md).
        for a in names.iter() {
            for b in names.iter() {
                assert!(a == b || !b.starts_with(a), "{a} {b}");
            }
        }
    }

    #[test]
    fn unknown_type_lists_valid_ones() {
        let err = "mobile".parse::<IdType>().err().map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("mobile"), "{msg}");
        for t in IdType::ALL {
            assert!(msg.contains(t.as_str()), "{msg}");
        }
        assert!("Phone".parse::<IdType>().is_err());
    }
}
