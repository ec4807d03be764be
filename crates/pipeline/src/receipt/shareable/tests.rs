//! Tests of the shareable receipt.

#![allow(clippy::unwrap_used)]
use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::receipt::{
    ColumnInfo, FileInfo, InputInfo, LocalInfo, PeerInfo, ResultInfo, RuleInfo, TimingsMs, Tool,
};
use blindmatch_token::Profile;

/// A learner's full receipt with every private field set.
fn full() -> Receipt {
    Receipt {
        format: FORMAT,
        version: VERSION,
        tool: Tool::current(),
        protocol_version: 3,
        psi_protocol: "ecdh-ristretto255".to_owned(),
        session_id: "11".repeat(16),
        transcript_hash: "22".repeat(32),
        started_at: "2026-11-22T10:00:00Z".into(),
        finished_at: "2026-11-22T10:00:05Z".into(),
        mode: Mode::Intersection,
        reveal: Reveal::Initiator,
        id_type: "phone".into(),
        rules: vec![RuleInfo {
            rule: "phone".into(),
            columns: vec!["phone".into()],
            local_size: 80,
            peer_size: Some(100),
            matched_values: Some(30),
            matched_rows: Some(31),
        }],
        profile: TypeProfileInfo::new(&Profile::standard(), IdType::Phone),
        batch_size: 4096,
        comparison_bytes: 8,
        local: LocalInfo {
            role: Role::Initiator,
            network_role: "connector",
            fingerprint: Some(Fingerprint::of_der(b"ours")),
            declared_size: 80,
            input: InputInfo {
                path: "customers.csv".into(),
                format: "csv".into(),
                sha256: "44".repeat(32),
                rows: 90,
                bytes: 900,
                column: "phone".into(),
                columns: vec![ColumnInfo {
                    column: "phone".into(),
                    id_type: "phone".into(),
                    values: 85,
                    empty: 3,
                    rejected: 2,
                    rejects: BTreeMap::from([("too_short", 2)]),
                }],
                values: 85,
                empty: 3,
                rejected: 2,
                rejects: BTreeMap::from([("too_short", 2)]),
            },
            learns: true,
        },
        peer: PeerInfo {
            role: Role::Responder,
            fingerprint: Some(Fingerprint::of_der(b"theirs")),
            declared_size: 100,
            min_peer_set: 10,
            address: Some("10.0.3.7:52144".into()),
            implementation: "blindmatch-net/0.1.0".into(),
        },
        result: ResultInfo {
            matched_rows: Some(31),
            matched_values: Some(30),
            cardinality: Some(30),
        },
        output: Some(FileInfo::new(Path::new("matched.csv"), "55".repeat(32), 10)),
        traffic: TrafficInfo {
            bytes_sent: 1000,
            bytes_received: 2000,
            frames_sent: 5,
            frames_received: 6,
            wire_bytes_sent: Some(1100),
            wire_bytes_received: None,
        },
        timings_ms: TimingsMs::default(),
        labels: None,
        partition: None,
    }
}

/// A learner's full receipt of a session on three rules over four columns.
fn multi() -> Receipt {
    let mut r = full();
    let types = [IdType::Phone, IdType::Email, IdType::Name, IdType::Company];
    r.id_type = "phone,email,name+company".into();
    r.profile = TypeProfileInfo::for_types(&Profile::standard(), &types);
    let rule = |rule: &str, columns: &[&str], local, peer, matched, rows| RuleInfo {
        rule: rule.into(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        local_size: local,
        peer_size: Some(peer),
        matched_values: Some(matched),
        matched_rows: Some(rows),
    };
    r.rules = vec![
        rule("phone", &["mobile_no"], 80, 100, 30, 31),
        rule("email", &["mail"], 70, 60, 20, 20),
        rule("name+company", &["full_name", "employer"], 50, 40, 5, 6),
    ];
    r.local.declared_size = 200;
    r.peer.declared_size = 200;
    r.result.matched_values = Some(55);
    r.result.cardinality = Some(55);
    r.result.matched_rows = Some(40);
    r.local.input.column = "mobile_no,mail,full_name,employer".into();
    r.local.input.columns = ["mobile_no", "mail", "full_name", "employer"]
        .iter()
        .zip(types)
        .map(|(c, t)| ColumnInfo {
            column: (*c).to_owned(),
            id_type: t.as_str().to_owned(),
            values: 85,
            empty: 5,
            rejected: 0,
            rejects: BTreeMap::new(),
        })
        .collect();
    r
}

/// Every key of a JSON document, at any depth.
fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn holds_what_both_sides_know_and_nothing_else() {
    for receipt in [full(), multi()] {
        holds_only_what_both_sides_know(&receipt);
    }
}

fn holds_only_what_both_sides_know(receipt: &Receipt) {
    let json = ShareableReceipt::from(receipt).to_json().unwrap();
    let v: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["format"], SHAREABLE_FORMAT);
    let top: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let expected = "format version tool protocol_version psi_protocol session_id transcript_hash mode \
                    reveal id_type rules profile batch_size comparison_bytes local peer traffic";
    assert_eq!(top, expected.split_whitespace().collect());
    let mut all = BTreeSet::new();
    keys(&v, &mut all);
    for private in [
        "input",
        "path",
        "sha256",
        "rows",
        "bytes",
        "values",
        "empty",
        "rejected",
        "rejects",
        "columns",
        "result",
        "matched_rows",
        "matched_values",
        "cardinality",
        "output",
        "address",
        "implementation",
        "timings_ms",
        "started_at",
        "finished_at",
    ] {
        assert!(!all.contains(private), "`{private}` in {v:#}");
    }
    let text = String::from_utf8(json).unwrap();
    for value in [
        "customers.csv",
        "10.0.3.7",
        &"44".repeat(32),
        &"55".repeat(32),
        "mobile_no",
        "full_name",
    ] {
        assert!(!text.contains(value), "{value}");
    }
    for rule in v["rules"].as_array().unwrap() {
        let keys: BTreeSet<&str> = rule
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["rule", "local_size", "peer_size"]));
    }
}

#[test]
fn rules_carry_both_declared_sizes_in_priority_order() {
    let shared = ShareableReceipt::from(&multi());
    let v: Value = serde_json::from_slice(&shared.to_json().unwrap()).unwrap();
    assert_eq!(v["id_type"], "phone,email,name+company");
    assert_eq!(
        v["rules"],
        serde_json::json!([
            {"rule": "phone", "local_size": 80, "peer_size": 100},
            {"rule": "email", "local_size": 70, "peer_size": 60},
            {"rule": "name+company", "local_size": 50, "peer_size": 40},
        ])
    );
    assert_eq!(v["profile"]["types"].as_object().unwrap().len(), 4);
    let later = ShareableReceipt::from_full_json(&multi().to_json().unwrap(), "r.json").unwrap();
    assert_eq!(later, shared);
    // One rule: the rule is the identifier type.
    let one = ShareableReceipt::from(&full());
    assert_eq!(
        one.rules,
        vec![SharedRule {
            rule: "phone".into(),
            local_size: 80,
            peer_size: Some(100)
        }]
    );
}

#[test]
fn edited_rules_are_refused_by_the_field() {
    let v: Value = serde_json::from_slice(&multi().to_json().unwrap()).unwrap();
    let refused = |v: &Value| {
        ShareableReceipt::from_full_json(&serde_json::to_vec(v).unwrap(), "r.json")
            .unwrap_err()
            .message()
            .to_owned()
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/id_type", "email,phone,name+company".into(), "`id_type`"),
        ("/id_type", "phone".into(), "`id_type`"),
        ("/rules/0/local_size", 81.into(), "`rules`"),
        ("/rules/2/peer_size", 41.into(), "`rules`"),
        ("/rules/2/peer_size", Value::Null, "`rules`"),
        ("/rules/2/rule", "company+name".into(), "`rules`"),
        ("/rules/1/rule", "phone".into(), "`rules`"),
        ("/rules/1/rule", "13800138000".into(), "`rules`"),
        ("/profile/types/company", 1.into(), "lacks a field"),
        ("/local/declared_size", 199.into(), "`rules`"),
    ];
    for (pointer, value, field) in cases {
        let mut edited = v.clone();
        *edited.pointer_mut(pointer).unwrap() = value;
        let message = refused(&edited);
        assert!(message.contains(field), "{pointer}: {message}");
        assert!(!message.contains("138"), "{message}");
    }
    let mut edited = v.clone();
    edited["profile"]["types"]
        .as_object_mut()
        .unwrap()
        .remove("company");
    assert!(refused(&edited).contains("`profile.types`"));
    let mut edited = v.clone();
    edited["profile"]["types"]["company"] = "bm-std-v1;sha256=00".into();
    assert!(refused(&edited).contains("`profile.types`"));
    let mut edited = v.clone();
    edited["profile"]["types"]["email"] = serde_json::json!(v["profile"]["types"]["phone"]);
    edited["profile"]["types"]["wechat_id"] = v["profile"]["types"]["phone"].clone();
    assert!(refused(&edited).contains("`profile.types`"));
    let mut edited = v;
    edited["rules"] = serde_json::json!([]);
    assert!(refused(&edited).contains("`id_type`"));
}

#[test]
fn a_version_1_receipt_is_shared_with_its_one_rule() {
    let receipt = full();
    let mut v: Value = serde_json::from_slice(&receipt.to_json().unwrap()).unwrap();
    v["version"] = 1.into();
    v.as_object_mut().unwrap().remove("rules");
    v["local"]["input"]
        .as_object_mut()
        .unwrap()
        .remove("columns");
    let shared = ShareableReceipt::from_full_json(&serde_json::to_vec(&v).unwrap(), "r").unwrap();
    assert_eq!(shared, ShareableReceipt::from(&receipt));
    assert_eq!(shared.version, SHAREABLE_VERSION);
    // A version 1 receipt that lacks a sized field is still refused by the read.
    v["peer"].as_object_mut().unwrap().remove("declared_size");
    assert!(ShareableReceipt::from_full_json(&serde_json::to_vec(&v).unwrap(), "r").is_err());
}

#[test]
fn derived_later_is_what_the_session_wrote() {
    let receipt = full();
    let later = ShareableReceipt::from_full_json(&receipt.to_json().unwrap(), "r.json");
    let now = ShareableReceipt::from(&receipt);
    assert_eq!(later.unwrap().to_json().unwrap(), now.to_json().unwrap());
}

#[test]
fn only_an_unedited_full_receipt_is_shared() {
    let full: Value = serde_json::from_slice(&full().to_json().unwrap()).unwrap();
    let refused = |v: &Value| {
        let bytes = serde_json::to_vec(v).unwrap();
        ShareableReceipt::from_full_json(&bytes, "r.json")
            .unwrap_err()
            .message()
            .to_owned()
    };
    let shareable = ShareableReceipt::from_full_json(&serde_json::to_vec(&full).unwrap(), "r")
        .unwrap()
        .to_json()
        .unwrap();
    let shareable: Value = serde_json::from_slice(&shareable).unwrap();
    assert!(refused(&shareable).contains("shareable receipt already"));
    let mut v = full.clone();
    v["version"] = 9.into();
    assert!(refused(&v).contains("version 9"));
    // A raw identifier in a mistyped or malformed field is never echoed.
    let mut v = full.clone();
    v["local"]["declared_size"] = "13800138000".into();
    assert!(!refused(&v).contains("13800138000"));
    let mut v = full.clone();
    v["session_id"] = "13800138000".into();
    let message = refused(&v);
    assert!(
        message.contains("`session_id`") && !message.contains("138"),
        "{message}"
    );
    let mut v = full.clone();
    v["peer"]["fingerprint"] = "sha256:13800138000".into();
    assert!(!refused(&v).contains("13800138000"));
    let mut v = full;
    v["peer"]["role"] = "initiator".into();
    assert!(refused(&v).contains("`peer.role`"));
}

#[test]
fn the_profile_string_is_the_hellos_and_is_checked() {
    let receipt = full();
    let v: Value = serde_json::from_slice(&receipt.to_json().unwrap()).unwrap();
    let string = Profile::standard().type_string(IdType::Phone);
    assert_eq!(v["profile"]["types"]["phone"], string.as_str());
    assert_eq!(v["profile"]["unicode"], blindmatch_token::unicode_version());
    assert_eq!(
        v["profile"]["unicode_case"],
        blindmatch_token::unicode_case_version()
    );
    let refused = |v: &Value| {
        ShareableReceipt::from_full_json(&serde_json::to_vec(v).unwrap(), "r.json")
            .unwrap_err()
            .message()
            .to_owned()
    };
    // A string that is not `name;sha256=digest`, or for another type, or a second
    // one, is refused by the field's name.
    let mut edited = v.clone();
    edited["profile"]["types"]["phone"] = format!("bm-std-v1;sha256={}", "00".repeat(32)).into();
    assert!(refused(&edited).contains("`profile.types`"));
    let mut edited = v.clone();
    edited["profile"]["types"] = serde_json::json!({"email": string});
    assert!(refused(&edited).contains("`profile.types`"));
    let mut edited = v;
    edited["profile"]["types"]["email"] = string.into();
    assert!(refused(&edited).contains("`profile.types`"));
}

#[test]
fn share_writes_beside_and_never_over() {
    let dir = tempfile::tempdir().unwrap();
    let full_path = dir.path().join("r.json");
    std::fs::write(&full_path, full().to_json().unwrap()).unwrap();
    let out = dir.path().join("s.json");
    let written = share(&full_path, &out, false).unwrap();
    assert_eq!(
        std::fs::read(&written.path).unwrap(),
        ShareableReceipt::from(&full()).to_json().unwrap()
    );
    assert!(share(&full_path, &out, false).is_err());
    share(&full_path, &out, true).unwrap();
    assert!(share(&full_path, &full_path, true).is_err());
    assert!(share(&out, &dir.path().join("t.json"), false).is_err());
}
