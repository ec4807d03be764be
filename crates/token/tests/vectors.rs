//! Checks the published test vectors in `docs/test-vectors/` against this crate.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;

use blindmatch_token::{
    Derivation, IdType, Key, KeyFile, KeyPurpose, Profile, Rejection, Token, Tokenizer,
    unicode_case_version, unicode_version,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/test-vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("missing {field} in {v}"))
}

#[test]
fn normalize_vectors() {
    let doc = load("normalize.json");
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 50);
    let mut failures = Vec::new();
    for case in cases {
        let t: IdType = s(case, "type").parse().unwrap();
        let profile: Profile = s(case, "profile").parse().unwrap();
        let input = s(case, "input");
        let got = profile.normalize(t, input);
        let ok = match (case.get("expected"), case.get("rejection")) {
            (Some(want), None) => got.as_deref() == Ok(want.as_str().unwrap()),
            (None, Some(code)) => {
                let code = code.as_str().unwrap();
                assert!(Rejection::from_code(code).is_some(), "unknown code {code}");
                got.as_ref().map_err(|r| r.code()) == Err(code)
            }
            _ => panic!("case needs exactly one of expected/rejection: {case}"),
        };
        if !ok {
            failures.push(format!(
                "{t} {input:?} [{}]: got {got:?}, case {case}",
                profile.name()
            ));
        }
        // Every expected output is a fixed point.
        if let Some(want) = case.get("expected").and_then(Value::as_str) {
            assert_eq!(
                profile.normalize(t, want).as_deref(),
                Ok(want),
                "not idempotent: {case}"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn token_vectors() {
    let doc = load("tokens.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 10);
    let mut from_master = 0;
    for v in vectors {
        let key = Key::from_slice(&hex::decode(s(v, "key_hex")).unwrap()).unwrap();
        assert_eq!(key.id().to_string(), s(v, "key_id"));
        let t: IdType = s(v, "type").parse().unwrap();
        // input → normalise (default profile) → normalised → token.
        let normalised = Profile::default().normalize(t, s(v, "input"));
        assert_eq!(normalised.as_deref(), Ok(s(v, "normalised")), "{v}");
        let value = s(v, "normalised").as_bytes();
        if let Some(master) = v.get("master_key_hex") {
            // The key `tokenize --key <master key file>` makes tokens with.
            let master = Key::from_slice(&hex::decode(master.as_str().unwrap()).unwrap()).unwrap();
            let file = KeyFile::new(
                master,
                KeyPurpose::Master,
                Derivation::Random,
                OffsetDateTime::UNIX_EPOCH,
            );
            let token_key = file.token_key().unwrap();
            assert!(bool::from(token_key.ct_eq(&key)), "{v}");
            assert_ne!(
                Tokenizer::new(file.key()).mac(t, value),
                Tokenizer::new(&key).mac(t, value),
                "the master bytes must not make the tokens"
            );
            from_master += 1;
        }
        let len = v["token_len"].as_u64().unwrap() as usize;
        let tokenizer = Tokenizer::with_len(&key, len).unwrap();
        assert_eq!(hex::encode(tokenizer.mac(t, value)), s(v, "mac_hex"), "{v}");
        let mut text = String::new();
        tokenizer.write_token(t, value, &mut text);
        assert_eq!(text, s(v, "token"), "{v}");
        assert_eq!(tokenizer.token(t, value).to_string(), text);
        let parsed: Token = text.parse().unwrap();
        assert_eq!(parsed.key_id(), key.id());
        assert_eq!(parsed.mac().len(), len);
    }
    assert!(from_master >= 1, "no vector for a master key file");
}

#[test]
fn derivation_vectors() {
    let doc = load("tokens.json");
    for d in doc["derivations"].as_array().unwrap() {
        let secret = hex::decode(s(d, "secret_hex")).unwrap();
        let purpose: KeyPurpose = s(d, "purpose").parse().unwrap();
        let context = s(d, "context");
        let derived = match s(d, "kind") {
            "master" => {
                let master = Key::from_slice(&secret).unwrap();
                let partner = (!context.is_empty()).then_some(context);
                master.derive(purpose, partner).unwrap()
            }
            "shared" => Key::derive_shared_from_bytes(&secret, context, purpose).unwrap(),
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(derived.id().to_string(), s(d, "derived_key_id"), "{d}");
        let expected = Key::from_slice(&hex::decode(s(d, "derived_key_hex")).unwrap()).unwrap();
        assert!(bool::from(derived.ct_eq(&expected)), "{d}");
    }
}

/// `docs/test-vectors/profile.json`: the per-type descriptions, digests and hello
/// strings, and the whole-profile digests, recomputed through the library; the
/// digests also straight from the description text, as an implementer would.
#[test]
fn profile_vectors() {
    let doc = load("profile.json");
    // Every digest covers the Unicode versions: a build with other tables has other
    // digests, and the file must be regenerated (a profile change partners notice).
    assert_eq!(
        (unicode_version(), unicode_case_version()),
        (
            s(&doc, "unicode").to_owned(),
            s(&doc, "unicode_case").to_owned()
        ),
        "this build's Unicode tables differ from docs/test-vectors/profile.json: \
         regenerate it with crates/token/tests/vectors/gen_profile.py"
    );
    let sha256 = |domain: &[u8], text: &str| {
        let mut h = Sha256::new();
        h.update(domain);
        h.update([0u8]);
        h.update(text.as_bytes());
        hex::encode(h.finalize())
    };
    let per_type = doc["per_type"].as_array().unwrap();
    assert!(per_type.len() >= 10);
    for v in per_type {
        let profile: Profile = s(v, "profile").parse().unwrap();
        let t: IdType = s(v, "type").parse().unwrap();
        let description = s(v, "description");
        assert_eq!(profile.type_description(t), description, "{v}");
        assert_eq!(
            sha256(b"blindmatch/v1/profile-type-digest", description),
            s(v, "digest"),
            "{v}"
        );
        assert_eq!(profile.type_digest(t).to_hex(), s(v, "digest"), "{v}");
        assert_eq!(profile.type_name(t), s(v, "type_name"), "{v}");
        assert_eq!(profile.type_string(t), s(v, "hello"), "{v}");
    }
    let whole = doc["profiles"].as_array().unwrap();
    assert!(whole.len() >= 4);
    for v in whole {
        let profile: Profile = s(v, "profile").parse().unwrap();
        assert_eq!(profile.name(), s(v, "profile"));
        let description = s(v, "description");
        assert_eq!(profile.description(), description, "{v}");
        assert_eq!(
            sha256(b"blindmatch/v1/profile-digest", description),
            s(v, "all_types_digest"),
            "{v}"
        );
        assert_eq!(profile.digest().to_hex(), s(v, "all_types_digest"), "{v}");
    }
}

#[test]
fn purpose_check_vectors() {
    let doc = load("tokens.json");
    let checks = doc["purpose_checks"].as_array().unwrap();
    assert!(checks.len() >= 3);
    for c in checks {
        let key = Key::from_slice(&hex::decode(s(c, "key_hex")).unwrap()).unwrap();
        assert_eq!(key.id().to_string(), s(c, "key_id"), "{c}");
        let purpose: KeyPurpose = s(c, "purpose").parse().unwrap();
        let file = KeyFile::new(key, purpose, Derivation::Random, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(file.purpose_check(), s(c, "purpose_check"), "{c}");
        let text = file.to_text();
        let line = format!("purpose-check: {}\n", s(c, "purpose_check"));
        assert!(text.contains(&line), "{c}");
        assert_eq!(KeyFile::parse(&text).unwrap().purpose(), purpose);
    }
}
