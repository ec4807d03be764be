//! The profile a receipt records: `profile.types` holds the session's identifier
//! type alone, with the per-type profile string the hellos carried, which is
//! `profile.name;sha256=profile.digest`.

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
