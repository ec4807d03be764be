//! Normalisation profiles: the rules and options both partners must share, with a stable
//! name and a digest that proves two installations normalise alike.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::normalize::{cn_id, company, email, name, phone, text, uscc, wechat_id};
use crate::{CallingCode, EmailProviderRules, Error, IdType, Rejection};

/// Domain label of the profile digest.
const PROFILE_DIGEST_DOMAIN: &[u8] = b"blindmatch/v1/profile-digest";
/// Domain label of the per-type profile digest.
const TYPE_DIGEST_DOMAIN: &[u8] = b"blindmatch/v1/profile-type-digest";
/// Domain label of the digest over several types' rules.
const TYPES_DIGEST_DOMAIN: &[u8] = b"blindmatch/v1/profile-types-digest";
/// Base name of the standard profile; the number changes whenever any rule changes.
const BASE_NAME: &str = "bm-std-v1";

/// Rule versions per type. Bump one whenever that normaliser's output can change for
/// some input; the digest then changes, and partners notice before matching.
const RULES: [(IdType, &str); 9] = [
    (IdType::Phone, "phone/1"),
    (IdType::Email, "email/1"),
    (IdType::Uscc, "uscc/1 gb32100-2015"),
    (IdType::CnId, "cn_id/1 gb11643-1999 legacy15=convert"),
    (IdType::Name, "name/1"),
    (IdType::Text, "text/1"),
    (IdType::Raw, "raw/1"),
    (IdType::Company, "company/1 legal-forms=1"),
    (IdType::WechatId, "wechat_id/1 len=28"),
];

/// The Unicode version of the NFKC tables the normalisers use (the
/// `unicode-normalization` crate's), e.g. `18.0.0`: the `unicode=` line of every
/// profile description.
pub fn unicode_version() -> String {
    let (major, minor, patch) = unicode_normalization::UNICODE_VERSION;
    format!("{major}.{minor}.{patch}")
}

/// The Unicode version of the case mapping and character classes the normalisers
/// use (lowercasing, letters and digits, white space, control characters: the Rust
/// standard library's tables, so the toolchain's), e.g. `17.0.0`: the
/// `unicode.case=` line of every profile description. It need not be the NFKC
/// tables' version ([`unicode_version`]).
pub fn unicode_case_version() -> String {
    let (major, minor, patch) = char::UNICODE_VERSION;
    format!("{major}.{minor}.{patch}")
}

/// A normalisation profile: which rules apply, with which options.
///
/// [`Profile::name`] is a stable, parseable name (`bm-std-v1`, or with options
/// `bm-std-v1,phone-region=86,email-rules=gmail`). [`Profile::digest`] hashes the
/// full canonical description ([`Profile::description`]), which also names the
/// Unicode versions of the NFKC and case tables and the mobile range table, so two
/// builds that would normalise differently have different digests even under one
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Profile {
    phone_default_region: Option<CallingCode>,
    email_provider_rules: EmailProviderRules,
}

impl Profile {
    /// The standard profile: no default phone region, no e-mail provider rules.
    pub fn standard() -> Profile {
        Profile::default()
    }

    /// Sets the calling code assumed for phone numbers written without one.
    #[must_use]
    pub fn with_phone_default_region(mut self, region: Option<CallingCode>) -> Profile {
        self.phone_default_region = region;
        self
    }

    /// Sets the e-mail provider rules.
    #[must_use]
    pub fn with_email_provider_rules(mut self, rules: EmailProviderRules) -> Profile {
        self.email_provider_rules = rules;
        self
    }

    /// The configured default phone region, if any.
    pub fn phone_default_region(&self) -> Option<CallingCode> {
        self.phone_default_region
    }

    /// The configured e-mail provider rules.
    pub fn email_provider_rules(&self) -> EmailProviderRules {
        self.email_provider_rules
    }

    /// Stable name; options that differ from the standard are appended in a fixed order.
    pub fn name(&self) -> String {
        let mut name = String::from(BASE_NAME);
        if let Some(cc) = self.phone_default_region {
            name.push_str(&format!(",phone-region={cc}"));
        }
        if self.email_provider_rules != EmailProviderRules::None {
            name.push_str(&format!(",email-rules={}", self.email_provider_rules));
        }
        name
    }

    /// Canonical description: one `key=value` line per rule and option, in a fixed order.
    ///
    /// This text is what [`Profile::digest`] hashes; it is meant to be shown when two
    /// partners' digests differ.
    pub fn description(&self) -> String {
        let mut d = header();
        for t in IdType::ALL {
            d.push_str(&self.type_lines(t));
        }
        d
    }

    fn type_lines(&self, t: IdType) -> String {
        let rule = RULES
            .iter()
            .find(|(rt, _)| *rt == t)
            .map_or("", |(_, r)| *r);
        let mut lines = format!("{t}.rules={rule}\n");
        match t {
            IdType::Phone => {
                let region = self
                    .phone_default_region
                    .map_or_else(|| "none".to_owned(), |cc| cc.to_string());
                lines.push_str(&format!("phone.default_region={region}\n"));
                lines.push_str(&format!(
                    "phone.cn_mobile_table={}\n",
                    phone::CN_MOBILE_TABLE
                ));
            }
            IdType::Email => {
                lines.push_str(&format!(
                    "email.provider_rules={}\n",
                    self.email_provider_rules
                ));
            }
            _ => {}
        }
        lines
    }

    /// SHA-256 over [`Profile::description`] (with a domain label): equal digests mean
    /// equal rules, options and tables.
    pub fn digest(&self) -> ProfileDigest {
        let mut h = Sha256::new();
        h.update(PROFILE_DIGEST_DOMAIN);
        h.update([0u8]);
        h.update(self.description().as_bytes());
        ProfileDigest(h.finalize().into())
    }

    /// The name restricted to the options that matter for `id_type`: `bm-std-v1`
    /// plus `,phone-region=CC` for phones and `,email-rules=R` for e-mail addresses
    /// when set, nothing else (partners matching phones need not agree on e-mail
    /// rules). It parses back as a profile.
    pub fn type_name(&self, id_type: IdType) -> String {
        let projected = match id_type {
            IdType::Phone => {
                Profile::standard().with_phone_default_region(self.phone_default_region)
            }
            IdType::Email => {
                Profile::standard().with_email_provider_rules(self.email_provider_rules)
            }
            _ => Profile::standard(),
        };
        projected.name()
    }

    /// The canonical description of only what matters for `id_type`: the lines
    /// [`Profile::description`] starts with (base name, Unicode versions), then that
    /// type's lines, each ending in `\n`. This text is what
    /// [`Profile::type_digest`] hashes.
    pub fn type_description(&self, id_type: IdType) -> String {
        let mut d = header();
        d.push_str(&self.type_lines(id_type));
        d
    }

    /// SHA-256 over [`Profile::type_description`] (with its own domain label), for
    /// handshakes that agree on one column at a time: partners matching phones need
    /// not agree on e-mail rules.
    pub fn type_digest(&self, id_type: IdType) -> ProfileDigest {
        let mut h = Sha256::new();
        h.update(TYPE_DIGEST_DOMAIN);
        h.update([0u8]);
        h.update(self.type_description(id_type).as_bytes());
        ProfileDigest(h.finalize().into())
    }

    /// The per-type profile string, `<type name>;sha256=<type digest in hex>` (e.g.
    /// `bm-std-v1,phone-region=86;sha256=…`): what a hello carries in its `profile`
    /// field, and what manifests and receipts show per identifier type, so the one
    /// string can be compared by eye across all three (`docs/protocol.md`, "Hello").
    pub fn type_string(&self, id_type: IdType) -> String {
        format!(
            "{};sha256={}",
            self.type_name(id_type),
            self.type_digest(id_type)
        )
    }

    /// The profile string for a session on several identifier types (the fields of
    /// its rules): for one type exactly [`Profile::type_string`]; for several,
    /// `<name>;sha256=<digest>` where the name carries the options of any of the
    /// types (as [`Profile::type_name`] does for one) and the digest is SHA-256 over
    /// the header and each type's lines, types in [`IdType::ALL`] order, under its
    /// own domain label. Partners must agree on the rules of exactly these types.
    pub fn types_string(&self, types: &[IdType]) -> String {
        let mut types = types.to_vec();
        types.sort_by_key(|t| t.index());
        types.dedup();
        if let [one] = types[..] {
            return self.type_string(one);
        }
        format!(
            "{};sha256={}",
            self.types_name(&types),
            self.types_digest(&types)
        )
    }

    /// The name restricted to the options that matter for any of `types`.
    pub fn types_name(&self, types: &[IdType]) -> String {
        let mut projected = Profile::standard();
        if types.contains(&IdType::Phone) {
            projected = projected.with_phone_default_region(self.phone_default_region);
        }
        if types.contains(&IdType::Email) {
            projected = projected.with_email_provider_rules(self.email_provider_rules);
        }
        projected.name()
    }

    /// The digest of [`Profile::types_string`] (for one type, [`Profile::type_digest`]).
    pub fn types_digest(&self, types: &[IdType]) -> ProfileDigest {
        let mut types = types.to_vec();
        types.sort_by_key(|t| t.index());
        types.dedup();
        if let [one] = types[..] {
            return self.type_digest(one);
        }
        let mut d = header();
        for t in &types {
            d.push_str(&self.type_lines(*t));
        }
        let mut h = Sha256::new();
        h.update(TYPES_DIGEST_DOMAIN);
        h.update([0u8]);
        h.update(d.as_bytes());
        ProfileDigest(h.finalize().into())
    }

    /// Normalises `input` as an identifier of type `id_type` under this profile.
    ///
    /// # Errors
    /// The [`Rejection`] of the type's normaliser.
    pub fn normalize(&self, id_type: IdType, input: &str) -> Result<String, Rejection> {
        let mut out = String::with_capacity(input.len() + 4);
        self.normalize_into(id_type, input, &mut out)?;
        Ok(out)
    }

    /// As [`Profile::normalize`], but clears `out` and writes the result into it, so one
    /// buffer can serve a whole file without allocating per value.
    ///
    /// # Errors
    /// As [`Profile::normalize`]; `out` holds no meaningful value afterwards.
    pub fn normalize_into(
        &self,
        id_type: IdType,
        input: &str,
        out: &mut String,
    ) -> Result<(), Rejection> {
        out.clear();
        self.normalize_append(id_type, input, out)
    }

    /// As [`Profile::normalize_into`], but appends the result to what `out` holds,
    /// so many values can share one buffer (as `blindmatch tokenize` does before
    /// computing their tokens together).
    ///
    /// # Errors
    /// As [`Profile::normalize`]; whatever was appended is then no meaningful value
    /// (truncate `out` to its former length).
    pub fn normalize_append(
        &self,
        id_type: IdType,
        input: &str,
        out: &mut String,
    ) -> Result<(), Rejection> {
        match id_type {
            IdType::Phone => phone::normalize_into(input, self.phone_default_region, out),
            IdType::Email => email::normalize_into(input, self.email_provider_rules, out),
            IdType::Uscc => uscc::normalize_into(input, out),
            IdType::CnId => cn_id::normalize_into(input, out),
            IdType::Name => name::normalize_into(input, out),
            IdType::Text => text::normalize_into(input, out),
            IdType::Raw => {
                out.push_str(text::raw(input)?);
                Ok(())
            }
            IdType::Company => company::normalize_into(input, out),
            IdType::WechatId => wechat_id::normalize_into(input, out),
        }
    }
}

/// The lines every description starts with: the base name and the Unicode versions
/// of the tables the normalisers use.
fn header() -> String {
    format!(
        "profile={BASE_NAME}\nunicode={}\nunicode.case={}\n",
        unicode_version(),
        unicode_case_version()
    )
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Profile {
    type Err = Error;

    /// Parses a name written by [`Profile::name`] (options in any order).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || Error::UnknownProfile {
            given: crate::error::clip(s),
        };
        let mut parts = s.split(',');
        if parts.next() != Some(BASE_NAME) {
            return Err(unknown());
        }
        let mut profile = Profile::standard();
        let (mut seen_region, mut seen_email) = (false, false);
        for part in parts {
            match part.split_once('=') {
                Some(("phone-region", v)) if !seen_region => {
                    seen_region = true;
                    profile.phone_default_region = Some(v.parse()?);
                }
                Some(("email-rules", v)) if !seen_email => {
                    seen_email = true;
                    profile.email_provider_rules = v.parse()?;
                }
                _ => return Err(unknown()),
            }
        }
        Ok(profile)
    }
}

/// A SHA-256 profile digest; shown as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileDigest([u8; 32]);

impl ProfileDigest {
    /// The digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ProfileDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn several_types_share_one_string_that_follows_their_options() {
        let p = Profile::standard()
            .with_phone_default_region(Some(CallingCode::CN))
            .with_email_provider_rules(EmailProviderRules::Gmail);
        // One type: exactly the per-type string.
        assert_eq!(
            p.types_string(&[IdType::Phone]),
            p.type_string(IdType::Phone)
        );
        // Order and repeats do not matter.
        let a = p.types_string(&[IdType::Phone, IdType::Name]);
        assert_eq!(
            a,
            p.types_string(&[IdType::Name, IdType::Phone, IdType::Name])
        );
        assert!(a.starts_with("bm-std-v1,phone-region=86;sha256="), "{a}");
        // The e-mail option matters only when e-mail is among the types.
        let plain = Profile::standard().with_phone_default_region(Some(CallingCode::CN));
        assert_eq!(a, plain.types_string(&[IdType::Phone, IdType::Name]));
        assert_ne!(
            p.types_string(&[IdType::Phone, IdType::Email]),
            plain.types_string(&[IdType::Phone, IdType::Email])
        );
        // Another set of types, another digest.
        assert_ne!(a, p.types_string(&[IdType::Phone, IdType::Uscc]));
        assert_ne!(
            p.types_digest(&[IdType::Phone, IdType::Name]),
            p.type_digest(IdType::Phone)
        );
    }

    #[test]
    fn names_round_trip() {
        let std = Profile::standard();
        assert_eq!(std.name(), "bm-std-v1");
        let custom = Profile::standard()
            .with_phone_default_region(Some(CallingCode::CN))
            .with_email_provider_rules(EmailProviderRules::Gmail);
        assert_eq!(custom.name(), "bm-std-v1,phone-region=86,email-rules=gmail");
        for p in [std, custom] {
            assert_eq!(p.name().parse::<Profile>().unwrap(), p);
        }
        assert_eq!(
            "bm-std-v1,email-rules=gmail,phone-region=86"
                .parse::<Profile>()
                .unwrap()
                .name(),
            "bm-std-v1,phone-region=86,email-rules=gmail"
        );
        for bad in [
            "",
            "bm-std-v2",
            "bm-std-v1,phone-region=28",
            "bm-std-v1,x=1",
            "bm-std-v1,email-rules=gmail,email-rules=none",
        ] {
            assert!(bad.parse::<Profile>().is_err(), "{bad}");
        }
    }

    #[test]
    fn digests_separate_options_and_types() {
        let std = Profile::standard();
        let cn = Profile::standard().with_phone_default_region(Some(CallingCode::CN));
        let gm = Profile::standard().with_email_provider_rules(EmailProviderRules::Gmail);
        assert_eq!(std.digest(), Profile::standard().digest());
        assert_ne!(std.digest(), cn.digest());
        assert_ne!(std.digest(), gm.digest());
        assert_eq!(std.digest().to_hex().len(), 64);
        // Per-type digests only see their own options.
        assert_eq!(
            std.type_digest(IdType::Email),
            cn.type_digest(IdType::Email)
        );
        assert_ne!(
            std.type_digest(IdType::Phone),
            cn.type_digest(IdType::Phone)
        );
        assert_eq!(
            std.type_digest(IdType::Phone),
            gm.type_digest(IdType::Phone)
        );
        let mut all: Vec<_> = IdType::ALL.iter().map(|&t| std.type_digest(t)).collect();
        all.dedup();
        assert_eq!(all.len(), IdType::ALL.len());
        assert!(std.description().contains("unicode="));
    }

    #[test]
    fn per_type_strings_name_only_their_options() {
        let both = Profile::standard()
            .with_phone_default_region(Some(CallingCode::CN))
            .with_email_provider_rules(EmailProviderRules::Gmail);
        assert_eq!(both.type_name(IdType::Phone), "bm-std-v1,phone-region=86");
        assert_eq!(both.type_name(IdType::Email), "bm-std-v1,email-rules=gmail");
        assert_eq!(both.type_name(IdType::CnId), "bm-std-v1");
        for t in IdType::ALL {
            let name = both.type_name(t);
            assert!(name.parse::<Profile>().is_ok(), "{name}");
            assert_eq!(
                both.type_string(t),
                format!("{name};sha256={}", both.type_digest(t).to_hex())
            );
            // The per-type description is the full one's header plus the type's lines.
            let text = both.type_description(t);
            assert!(text.starts_with("profile=bm-std-v1\nunicode="), "{text}");
            assert!(text.contains(&format!("\n{t}.rules=")), "{text}");
            assert!(both.description().starts_with(&header()));
            assert!(both.description().contains(&both.type_lines(t)));
        }
        let text = both.type_description(IdType::Phone);
        assert!(text.contains("phone.default_region=86\n"), "{text}");
        assert!(!text.contains("email"), "{text}");
        assert_eq!(
            header(),
            format!(
                "profile=bm-std-v1\nunicode={}\nunicode.case={}\n",
                unicode_version(),
                unicode_case_version()
            )
        );
        assert_eq!(unicode_version().split('.').count(), 3);
    }

    /// Adding identifier types must not change the per-type digest of an existing
    /// one: a phone-only partner on an older build still agrees. (These values are
    /// for the Unicode versions of `docs/test-vectors/profile.json`; a toolchain with
    /// other tables changes them, and that file, on purpose.)
    #[test]
    fn existing_per_type_digests_are_pinned() {
        if (unicode_version(), unicode_case_version()) != ("18.0.0".to_owned(), "17.0.0".to_owned())
        {
            return;
        }
        let std = Profile::standard();
        for (t, hex) in [
            (
                IdType::Phone,
                "60997e7f84843b8b46b3617d9fe6430d7990cdb5e8a24b2d1d08d367b8ed630f",
            ),
            (
                IdType::Email,
                "cba5e74ec300da1da8f39d0edcd2070a8d169645f9444f14aa31f985d70f7314",
            ),
            (
                IdType::Uscc,
                "42d158ff21471377184851db8ca1cbea081a60e38742082709f08b0b474ba30c",
            ),
            (
                IdType::CnId,
                "f107be5510d56f56b371078ee4c89e0f1304f009a4ed3e047ed40c21a7950d94",
            ),
            (
                IdType::Name,
                "0ee6a0768538eae4dab0ddd6465c103a3c35abc8c5b287cb8ff3a3883c422deb",
            ),
            (
                IdType::Text,
                "05129bfa091ac8b1fd5ba1ce1680888871097a492adaa3300beb152eb129cbef",
            ),
            (
                IdType::Raw,
                "5aeaf99fbdebe1962783491233b6494e6604d071ee84898c933484ff09bb2b26",
            ),
        ] {
            assert_eq!(std.type_digest(t).to_hex(), hex, "{t}");
        }
    }

    #[test]
    fn new_types_dispatch() {
        let p = Profile::standard();
        assert_eq!(
            p.normalize(IdType::Company, "腾讯科技（深圳）有限责任公司")
                .as_deref(),
            Ok("腾讯科技深圳有限公司")
        );
        assert_eq!(
            p.normalize(IdType::WechatId, " oUpF8uMuAJO_M2pxb1Q9zNjWeS6o ")
                .as_deref(),
            Ok("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        );
        assert!(p.description().ends_with(
            "raw.rules=raw/1\ncompany.rules=company/1 legal-forms=1\nwechat_id.rules=wechat_id/1 len=28\n"
        ));
    }

    #[test]
    fn dispatch_reuses_buffer() {
        let p = Profile::standard();
        let mut buf = String::from("stale");
        p.normalize_into(IdType::Phone, "138 1234 5678", &mut buf)
            .unwrap();
        assert_eq!(buf, "+8613812345678");
        p.normalize_into(IdType::Email, "A@B.CN", &mut buf).unwrap();
        assert_eq!(buf, "a@b.cn");
        assert_eq!(p.normalize(IdType::Raw, ""), Err(Rejection::Empty));
        assert_eq!(p.normalize(IdType::Raw, " x ").as_deref(), Ok(" x "));
    }
}
