//! The profile a tokenize manifest records: the whole profile's digest and every
//! per-type profile string recomputed from the profile name, and a string for the
//! type of each identifier column and no other.

use std::collections::BTreeSet;

use blindmatch_token::{IdType, Profile, unicode_case_version, unicode_version};

use super::Manifest;
use crate::files;
use crate::report::{Finding, safe_name};

impl Manifest {
    /// The profile: the whole profile's digest and every per-type profile string
    /// recomputed from the name, and a string for each identifier column's type and
    /// no other.
    pub(super) fn check_profile(&self, out: &mut Vec<Finding>) {
        if let Some(types) = &self.profile_types {
            self.check_profile_types(types, out);
        }
        let Some(name) = &self.profile_name else {
            return;
        };
        let Ok(profile) = name.parse::<Profile>() else {
            out.push(
                Finding::new(
                    "manifest_inconsistent",
                    "profile name is not a profile this build knows".to_owned(),
                )
                .field("profile.name"),
            );
            return;
        };
        let elsewhere = self.other_build();
        if let Some(digest) = &self.profile_digest {
            let ours = profile.digest().to_hex();
            if ours != *digest {
                let message = format!(
                    "profile digest {} (all types) is not the digest of profile `{}` ({}){elsewhere}",
                    files::short(digest),
                    profile.name(),
                    files::short(&ours),
                );
                out.push(
                    Finding::new("profile_digest_mismatch", message)
                        .field("profile.all_types_digest"),
                );
            }
        }
        for (t, string) in self.profile_types.iter().flatten() {
            let Ok(id_type) = t.parse::<IdType>() else {
                continue;
            };
            let ours = profile.type_string(id_type);
            if ours != *string {
                let message = format!(
                    "the profile string for `{id_type}` is not this build's for profile `{}` (`{ours}`){elsewhere}",
                    profile.name(),
                );
                out.push(
                    Finding::new("profile_digest_mismatch", message)
                        .field(format!("profile.types.{id_type}")),
                );
            }
        }
    }

    /// `profile.types` names exactly the identifier columns' types.
    fn check_profile_types(&self, types: &[(String, String)], out: &mut Vec<Finding>) {
        let mut recorded = BTreeSet::new();
        for (t, _) in types {
            match t.parse::<IdType>() {
                Ok(t) => {
                    recorded.insert(t);
                }
                Err(_) => out.push(
                    Finding::new(
                        "manifest_malformed",
                        format!(
                            "`profile.types` names `{}`, which is not an identifier type ({})",
                            safe_name(t),
                            IdType::VALID_NAMES
                        ),
                    )
                    .field("profile.types"),
                ),
            }
        }
        let columns: BTreeSet<IdType> = self.columns.iter().filter_map(|c| c.id_type).collect();
        let typed = self.columns.iter().all(|c| c.id_type.is_some());
        if typed && recorded != columns {
            let list = |set: &BTreeSet<IdType>| {
                let names: Vec<&str> = set.iter().map(|t| t.as_str()).collect();
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            };
            out.push(
                Finding::new(
                    "manifest_inconsistent",
                    format!(
                        "`profile.types` gives profile strings for {}, but the identifier columns are of types {}",
                        list(&recorded),
                        list(&columns)
                    ),
                )
                .field("profile.types"),
            );
        }
    }

    /// Why this build's digests may differ from the manifest's, if it says so: an
    /// empty string when the manifest names this version and these Unicode tables.
    fn other_build(&self) -> String {
        let (unicode, case) = (unicode_version(), unicode_case_version());
        let tables = (
            self.profile_unicode.as_deref(),
            self.profile_unicode_case.as_deref(),
        );
        if tables != (Some(unicode.as_str()), Some(case.as_str())) && tables != (None, None) {
            return format!(
                " in this build (Unicode tables {unicode}, case mapping {case}); the manifest names others (Unicode tables {}, case mapping {})",
                safe_name(tables.0.unwrap_or("?")),
                safe_name(tables.1.unwrap_or("?"))
            );
        }
        if self.tool_version.as_deref() == Some(env!("CARGO_PKG_VERSION")) {
            String::new()
        } else {
            " in this build; the manifest names another blindmatch version".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::tokenize_manifest::checks::tests::{checks, sample};

    #[test]
    fn per_type_profile_strings_are_recomputed_and_cover_the_columns() {
        let cn = "bm-std-v1,phone-region=86".parse::<Profile>().unwrap();
        let cases: Vec<(&str, Value, (&str, &str))> = vec![
            // Another option's string, or another build's digest.
            (
                "/profile/types/phone",
                cn.type_string(IdType::Phone).into(),
                ("profile_digest_mismatch", "profile.types.phone"),
            ),
            (
                "/profile/types/email",
                format!("bm-std-v1;sha256={}", "00".repeat(32)).into(),
                ("profile_digest_mismatch", "profile.types.email"),
            ),
            // A type without a column, or a column without its type's string.
            (
                "/profile/types",
                serde_json::json!({"phone": Profile::standard().type_string(IdType::Phone)}),
                ("manifest_inconsistent", "profile.types"),
            ),
            (
                "/profile/types",
                serde_json::json!({"tel": "x"}),
                ("manifest_malformed", "profile.types"),
            ),
        ];
        for (pointer, value, (check, field)) in cases {
            let mut v = sample();
            *v.pointer_mut(pointer).unwrap() = value;
            let found = checks(&v);
            assert!(
                found.contains(&(check, Some(field.to_owned()))),
                "{pointer}: {found:?}"
            );
        }
        // Another build's Unicode tables are named in the message.
        let mut v = sample();
        v["profile"]["unicode"] = "1.1.0".into();
        v["profile"]["all_types_digest"] = "00".repeat(32).into();
        let findings = Manifest::from_value(Path::new("m.json"), &v).internal_findings();
        let message = &findings.first().unwrap().message;
        assert!(message.contains("Unicode tables 1.1.0"), "{message}");
        // The manifest of a run before the profile strings has no `types`.
        let mut v = sample();
        v["profile"].as_object_mut().unwrap().remove("types");
        assert!(checks(&v).contains(&("manifest_malformed", Some("profile.types".into()))));
    }
}
