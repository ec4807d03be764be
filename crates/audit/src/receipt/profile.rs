//! The profile a receipt records. On one identifier type, `profile.types` holds
//! that type alone, with the per-type profile string the hellos carried, which is
//! `profile.name;sha256=profile.digest`. On several (the fields of the rules),
//! `profile.types` holds each field type's per-type string and `name` and `digest`
//! are the parts of the session's string (`Profile::types_string`), which the hellos
//! carried; a build with the receipt's Unicode tables recomputes both from the name.

use blindmatch_token::{IdType, Profile, unicode_case_version, unicode_version};

use super::checks::is_hex;
use super::document::Receipt;
use crate::report::Finding;

impl Receipt {
    /// `profile.types` holds the one identifier type of the session, with the string
    /// `name;sha256=digest` the hellos carried.
    pub(super) fn check_profile(&self, out: &mut Vec<Finding>) {
        if self
            .profile_digest
            .as_deref()
            .is_some_and(|d| !is_hex(d, 64))
        {
            out.push(self.finding(
                "receipt_malformed",
                "profile.digest",
                "`profile.digest` is not 64 lowercase hex digits".to_owned(),
            ));
        }
        let Some(types) = &self.profile_types else {
            return;
        };
        if let Some(session) = self.session_types().filter(|t| t.len() > 1) {
            self.check_session_profile(types, &session, out);
            return;
        }
        let one_for_the_type = match (types.as_slice(), &self.id_type) {
            ([(t, _)], Some(id_type)) => t == id_type,
            ([_], None) => true,
            _ => false,
        };
        let joined = match (
            &self.profile_name,
            &self.profile_digest,
            self.profile_string(),
        ) {
            (Some(name), Some(digest), Some(string)) => string == format!("{name};sha256={digest}"),
            _ => true,
        };
        if !one_for_the_type || !joined {
            out.push(self.finding(
                "receipt_inconsistent",
                "profile.types",
                "`profile.types` must hold the session's identifier type alone, with the profile string `profile.name;sha256=profile.digest`".to_owned(),
            ));
        }
    }

    /// A session on several identifier types: a well-formed string for each field
    /// type of the rules and no other, and, when this build has the receipt's
    /// Unicode tables, the strings and the session's name and digest this build
    /// computes from the name (`profile_digest_mismatch`).
    fn check_session_profile(
        &self,
        types: &[(String, String)],
        session: &[IdType],
        out: &mut Vec<Finding>,
    ) {
        let well_formed = |s: &str| {
            s.split_once(";sha256=")
                .is_some_and(|(name, digest)| !name.is_empty() && is_hex(digest, 64))
        };
        let each = types.len() == session.len()
            && session.iter().all(|t| {
                types
                    .iter()
                    .any(|(name, string)| name == t.as_str() && well_formed(string))
            });
        if !each {
            out.push(self.finding(
                "receipt_inconsistent",
                "profile.types",
                "`profile.types` must hold a per-type profile string `name;sha256=digest` for each field type of the rules, and no other".to_owned(),
            ));
            return;
        }
        let same_tables = self.profile_unicode.as_deref() == Some(unicode_version().as_str())
            && self.profile_unicode_case.as_deref() == Some(unicode_case_version().as_str());
        let (Some(name), Some(digest), true) =
            (&self.profile_name, &self.profile_digest, same_tables)
        else {
            return;
        };
        let Ok(profile) = name.parse::<Profile>() else {
            out.push(self.finding(
                "receipt_inconsistent",
                "profile.name",
                "`profile.name` is not a profile this build knows".to_owned(),
            ));
            return;
        };
        if profile.types_name(session) != *name || profile.types_digest(session).to_hex() != *digest
        {
            out.push(self.finding(
                "profile_digest_mismatch",
                "profile.digest",
                "`profile.name;sha256=profile.digest` is not the session's profile string this build computes for the rules' field types".to_owned(),
            ));
        }
        for t in session {
            let recorded = types.iter().find(|(n, _)| n == t.as_str()).map(|(_, s)| s);
            if recorded.is_some_and(|s| *s != profile.type_string(*t)) {
                out.push(self.finding(
                    "profile_digest_mismatch",
                    &format!("profile.types.{t}"),
                    format!("the profile string for `{t}` is not this build's for the profile"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::Value;

    use crate::receipt::checks::tests::{findings, pair};

    #[test]
    fn the_profile_string_is_the_sessions_and_equal_on_both_sides() {
        let string = format!("bm-std-v1;sha256={}", "33".repeat(32));
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/profile/types",
                serde_json::json!({"email": string}),
                "profile.types",
            ),
            (
                "/profile/types",
                serde_json::json!({"phone": string, "email": string}),
                "profile.types",
            ),
            (
                "/profile/types/phone",
                format!("bm-std-v1,phone-region=86;sha256={}", "33".repeat(32)).into(),
                "profile.types",
            ),
            ("/profile/unicode", "17.0.0".into(), "profile.unicode"),
            (
                "/profile/unicode_case",
                "16.0.0".into(),
                "profile.unicode_case",
            ),
            ("/profile/digest", "33".into(), "profile.digest"),
        ];
        for (pointer, value, field) in cases {
            let (mut a, b) = pair();
            *a.pointer_mut(pointer).unwrap() = value;
            let found = findings(&a, &b);
            assert!(
                found.iter().any(|(_, f)| f.as_deref() == Some(field)),
                "{pointer}: {found:?}"
            );
        }
        // Both edited alike: the receipts agree, but each contradicts itself.
        let (mut a, mut b) = pair();
        for v in [&mut a, &mut b] {
            v["profile"]["types"]["phone"] = "bm-std-v1;sha256=00".into();
        }
        assert_eq!(
            findings(&a, &b),
            vec![
                ("receipt_inconsistent", Some("profile.types".into())),
                ("receipt_inconsistent", Some("profile.types".into()))
            ]
        );
    }
}
