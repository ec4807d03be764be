//! Tests of the rule and column checks on version 2 receipts with several rules.

#![allow(clippy::unwrap_used)]
use blindmatch_data::meta::TypeProfileInfo;
use blindmatch_token::{IdType, Profile};
use serde_json::{Value, json};

use crate::receipt::checks::tests::{findings, pair};

const TYPES: [IdType; 4] = [IdType::Phone, IdType::Email, IdType::Name, IdType::Company];

/// Both sides' full receipts of one intersection session (reveal both) on the
/// rules `phone`, `email` and `name+company`, over four columns each.
pub(in crate::receipt) fn multi_pair() -> (Value, Value) {
    let (mut a, mut b) = pair();
    let profile =
        serde_json::to_value(TypeProfileInfo::for_types(&Profile::standard(), &TYPES)).unwrap();
    for v in [&mut a, &mut b] {
        v["version"] = 2.into();
        v["protocol_version"] = 3.into();
        v["id_type"] = "phone,email,name+company".into();
        v["profile"] = profile.clone();
    }
    let columns = |names: [&str; 4], counts: [(u64, u64, u64); 4], rejects: [Value; 4]| {
        let mut out = Vec::new();
        for (((name, t), (values, empty, rejected)), rejects) in
            names.iter().zip(TYPES).zip(counts).zip(rejects)
        {
            out.push(
                json!({"column": name, "id_type": t.as_str(), "values": values,
                "empty": empty, "rejected": rejected, "rejects": rejects}),
            );
        }
        Value::Array(out)
    };
    let rule = |rule: &str, cols: &[&str], local: u64, peer: u64, values: u64, rows: u64| {
        json!({"rule": rule, "columns": cols, "local_size": local, "peer_size": peer,
            "matched_values": values, "matched_rows": rows})
    };
    a["rules"] = json!([
        rule("phone", &["mobile"], 80, 100, 30, 31),
        rule("email", &["mail"], 70, 60, 20, 20),
        rule("name+company", &["full_name", "employer"], 40, 50, 5, 6),
    ]);
    a["local"]["declared_size"] = 190.into();
    a["peer"]["declared_size"] = 210.into();
    let input = &mut a["local"]["input"];
    input["column"] = "mobile,mail,full_name,employer".into();
    input["columns"] = columns(
        ["mobile", "mail", "full_name", "employer"],
        [(85, 3, 2), (80, 10, 0), (90, 0, 0), (88, 2, 0)],
        [json!({"too_short": 2}), json!({}), json!({}), json!({})],
    );
    input["values"] = 343.into();
    input["empty"] = 15.into();
    a["result"] = json!({"matched_rows": 40, "matched_values": 55, "cardinality": 55});

    b["rules"] = json!([
        rule("phone", &["tel"], 100, 80, 30, 30),
        rule("email", &["email"], 60, 70, 20, 22),
        rule("name+company", &["name", "org"], 50, 40, 5, 5),
    ]);
    b["local"]["declared_size"] = 210.into();
    b["peer"]["declared_size"] = 190.into();
    let input = &mut b["local"]["input"];
    input["column"] = "tel,email,name,org".into();
    input["columns"] = columns(
        ["tel", "email", "name", "org"],
        [(100, 0, 0), (60, 40, 0), (100, 0, 0), (100, 0, 0)],
        [json!({}), json!({}), json!({}), json!({})],
    );
    input["values"] = 360.into();
    input["empty"] = 40.into();
    b["result"] = json!({"matched_rows": 45, "matched_values": 55, "cardinality": 55});
    (a, b)
}

/// The shareable form of a receipt: its private fields removed, the rules' too.
fn shared(v: &Value) -> Value {
    let mut v = v.clone();
    v["format"] = "blindmatch-shareable-receipt".into();
    for key in [
        "started_at",
        "finished_at",
        "result",
        "output",
        "timings_ms",
    ] {
        v.as_object_mut().unwrap().remove(key);
    }
    v["local"].as_object_mut().unwrap().remove("input");
    let rules = v.get_mut("rules").and_then(Value::as_array_mut);
    for rule in rules.into_iter().flatten() {
        for key in ["columns", "matched_values", "matched_rows"] {
            rule.as_object_mut().unwrap().remove(key);
        }
    }
    v
}

/// JSON pointer edits.
type Edits = Vec<(&'static str, Value)>;

/// Applies `edits` (JSON pointer, value) to `v`.
fn edit(v: &mut Value, edits: &[(&str, Value)]) {
    for (pointer, value) in edits {
        *v.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer}")) = value.clone();
    }
}

#[test]
fn receipts_with_several_rules_are_clean() {
    let (a, b) = multi_pair();
    assert_eq!(findings(&a, &b), vec![]);
    assert_eq!(findings(&b, &a), vec![]);
    for (x, y) in [
        (a.clone(), shared(&b)),
        (shared(&a), b.clone()),
        (shared(&a), shared(&b)),
    ] {
        assert_eq!(findings(&x, &y), vec![]);
    }
}

#[test]
fn every_rule_check_catches_its_mutation() {
    let (_, b) = multi_pair();
    let phone = Profile::standard().type_string(IdType::Phone);
    let cases: Vec<(Edits, &str, &str)> = vec![
        (
            vec![("/id_type", "email,phone,name+company".into())],
            "rule_names_mismatch",
            "id_type",
        ),
        (
            vec![("/rules/0/local_size", 81.into())],
            "rule_size_mismatch",
            "local.declared_size",
        ),
        (
            vec![("/rules/1/peer_size", 61.into())],
            "rule_size_mismatch",
            "peer.declared_size",
        ),
        (
            vec![
                ("/rules/1/local_size", 81.into()),
                ("/local/declared_size", 201.into()),
            ],
            "rule_size_mismatch",
            "rules[1].local_size",
        ),
        (
            vec![("/rules/0/matched_values", 31.into())],
            "rule_count_mismatch",
            "result.matched_values",
        ),
        (
            vec![("/rules/0/matched_values", 31.into())],
            "rule_count_mismatch",
            "result.cardinality",
        ),
        (
            vec![("/rules/0/matched_rows", 41.into())],
            "rule_count_mismatch",
            "rules[0].matched_rows",
        ),
        (
            vec![("/rules/2/matched_rows", 4.into())],
            "rule_count_mismatch",
            "rules[2].matched_rows",
        ),
        (
            vec![
                ("/rules/2/matched_values", 45.into()),
                ("/rules/2/matched_rows", 45.into()),
                ("/rules/0/matched_values", 0.into()),
                ("/rules/0/matched_rows", 0.into()),
                ("/rules/2/peer_size", 50.into()),
            ],
            "rule_count_mismatch",
            "rules[2].matched_values",
        ),
        (
            vec![("/result/matched_rows", 58.into())],
            "rule_count_mismatch",
            "result.matched_rows",
        ),
        (
            vec![("/local/input/columns/1/values", 79.into())],
            "column_count_mismatch",
            "local.input.columns[1]",
        ),
        (
            vec![("/local/input/columns/1/values", 79.into())],
            "column_count_mismatch",
            "local.input.values",
        ),
        (
            vec![
                ("/local/input/columns/1/empty", 11.into()),
                ("/local/input/columns/1/values", 79.into()),
            ],
            "column_count_mismatch",
            "local.input.empty",
        ),
        (
            vec![("/local/input/columns/0/rejects/too_short", 1.into())],
            "column_count_mismatch",
            "local.input.columns[0].rejects",
        ),
        (
            vec![
                ("/local/input/columns/0/rejects", json!({"too_long": 2})),
                ("/local/input/rejects", json!({"too_short": 2})),
            ],
            "column_count_mismatch",
            "local.input.rejects",
        ),
        (
            vec![("/local/input/columns/3/id_type", "email".into())],
            "rule_column_missing",
            "rules[2]",
        ),
        (
            vec![("/rules/2/columns", json!(["employer", "full_name"]))],
            "rule_column_missing",
            "rules[2].columns",
        ),
        (
            vec![("/local/input/columns/3/id_type", "employer".into())],
            "receipt_malformed",
            "local.input.columns[3].id_type",
        ),
        (
            vec![("/rules/2/rule", "company+name".into())],
            "receipt_malformed",
            "rules[2].rule",
        ),
        (
            vec![("/rules/1/rule", "phone".into())],
            "receipt_malformed",
            "rules[1].rule",
        ),
        (vec![("/rules", json!([]))], "receipt_malformed", "rules"),
        (
            vec![("/rules/0/matched_rows", Value::Null)],
            "receipt_inconsistent",
            "rules[0]",
        ),
        (
            vec![("/local/input/column", "mobile".into())],
            "receipt_inconsistent",
            "local.input.column",
        ),
        (
            vec![("/peer/min_peer_set", 70.into())],
            "receipt_inconsistent",
            "rules[2].peer_size",
        ),
        (
            vec![("/profile/types/company", Value::Null)],
            "receipt_malformed",
            "profile.types.company",
        ),
        (
            vec![("/profile/types/company", "bm-std-v1;sha256=00".into())],
            "receipt_inconsistent",
            "profile.types",
        ),
        (
            vec![("/profile/digest", "00".repeat(32).into())],
            "profile_digest_mismatch",
            "profile.digest",
        ),
        (
            vec![("/profile/name", "bm-std-v1,phone-region=86".into())],
            "profile_digest_mismatch",
            "profile.digest",
        ),
        (
            vec![("/profile/types/email", phone.into())],
            "profile_digest_mismatch",
            "profile.types.email",
        ),
    ];
    for (edits, check, field) in cases {
        let (mut a, _) = multi_pair();
        edit(&mut a, &edits);
        let found = findings(&a, &b);
        assert!(
            found.contains(&(check, Some(field.to_owned()))),
            "{edits:?}: expected {check} at {field}, got {found:?}"
        );
    }
    // `profile.types` without a field type of the rules.
    let (mut a, _) = multi_pair();
    a["profile"]["types"]
        .as_object_mut()
        .unwrap()
        .remove("company");
    assert!(findings(&a, &b).contains(&("receipt_inconsistent", Some("profile.types".into()))));
}

#[test]
fn two_receipts_of_one_session_have_the_same_rules_with_mirrored_sizes() {
    let (a, b) = multi_pair();
    let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
        (
            vec![("/rules/0/peer_size", 99.into())],
            "rules[0].peer_size",
        ),
        (
            vec![
                ("/rules/0/local_size", 79.into()),
                ("/local/declared_size", 189.into()),
            ],
            "rules[0].peer_size",
        ),
        (
            vec![
                ("/rules/1/rule", "name+company".into()),
                ("/rules/2/rule", "email".into()),
                ("/id_type", "phone,name+company,email".into()),
            ],
            "rules",
        ),
    ];
    for (edits, field) in cases {
        for other in [b.clone(), shared(&b)] {
            let mut x = a.clone();
            edit(&mut x, &edits);
            let found = findings(&x, &other);
            assert!(
                found.contains(&("session_mismatch", Some(field.to_owned()))),
                "{edits:?}: {found:?}"
            );
        }
    }
    // Two learners learned the same matches under each rule (only full receipts
    // hold them).
    let mut x = a.clone();
    edit(
        &mut x,
        &[
            ("/rules/1/matched_values", 19.into()),
            ("/rules/0/matched_values", 31.into()),
        ],
    );
    assert_eq!(
        findings(&x, &b),
        vec![
            ("session_mismatch", Some("rules[0].matched_values".into())),
            ("session_mismatch", Some("rules[1].matched_values".into())),
        ]
    );
    assert_eq!(findings(&x, &shared(&b)), vec![]);
    // The shareable form names no columns and no counts of a rule.
    let mut sb = shared(&b);
    sb["rules"][0]["matched_values"] = 30.into();
    sb["rules"][1]["columns"] = json!(["email"]);
    let found = findings(&a, &sb);
    assert_eq!(
        found,
        vec![
            ("receipt_malformed", Some("rules[0].matched_values".into())),
            ("receipt_malformed", Some("rules[1].columns".into())),
        ]
    );
    // Its own sizes must add up too.
    let mut sb = shared(&b);
    sb["rules"][2]["local_size"] = 49.into();
    let found = findings(&a, &sb);
    assert!(found.contains(&("rule_size_mismatch", Some("local.declared_size".into()))));
    assert!(found.contains(&("session_mismatch", Some("rules[2].peer_size".into()))));
}

#[test]
fn per_rule_counts_follow_the_mode_and_who_learns() {
    // Only the initiator (A) learns: B records no counts, per rule either.
    let (mut a, mut b) = multi_pair();
    for v in [&mut a, &mut b] {
        v["reveal"] = "initiator".into();
    }
    b["local"]["learns"] = false.into();
    b["result"] = json!({"matched_rows": null, "matched_values": null, "cardinality": null});
    b["output"] = Value::Null;
    for rule in b["rules"].as_array_mut().unwrap() {
        rule["matched_values"] = Value::Null;
        rule["matched_rows"] = Value::Null;
    }
    assert_eq!(findings(&a, &b), vec![]);
    b["rules"][1]["matched_values"] = 20.into();
    assert_eq!(
        findings(&a, &b),
        vec![("receipt_inconsistent", Some("rules[1]".into()))]
    );

    // Cardinality: counts per rule, no rows, adding up to the cardinality.
    let (mut a, mut b) = multi_pair();
    for v in [&mut a, &mut b] {
        v["mode"] = "cardinality".into();
        v["result"] = json!({"matched_rows": null, "matched_values": null, "cardinality": 55});
        v["output"] = Value::Null;
        for rule in v["rules"].as_array_mut().unwrap() {
            rule["matched_rows"] = Value::Null;
        }
    }
    assert_eq!(findings(&a, &b), vec![]);
    a["rules"][2]["matched_values"] = 6.into();
    let found = findings(&a, &b);
    assert!(found.contains(&("rule_count_mismatch", Some("result.cardinality".into()))));
    assert!(found.contains(&("session_mismatch", Some("rules[2].matched_values".into()))));
}

/// A receipt with one composite rule has two columns and one rule: the per-column
/// counts are checked, and the single-type profile check does not apply.
#[test]
fn one_composite_rule_over_two_columns() {
    let (mut a, mut b) = multi_pair();
    let types = [IdType::Name, IdType::Company];
    let profile =
        serde_json::to_value(TypeProfileInfo::for_types(&Profile::standard(), &types)).unwrap();
    for v in [&mut a, &mut b] {
        v["id_type"] = "name+company".into();
        v["profile"] = profile.clone();
        let rules = v["rules"].as_array().unwrap();
        v["rules"] = json!([rules[2].clone()]);
        let input = &mut v["local"]["input"];
        let columns = input["columns"].as_array().unwrap();
        let kept = json!([columns[2].clone(), columns[3].clone()]);
        let sum = |key: &str| {
            kept.as_array()
                .unwrap()
                .iter()
                .map(|c| c[key].as_u64().unwrap())
                .sum::<u64>()
        };
        input["values"] = sum("values").into();
        input["empty"] = sum("empty").into();
        input["rejected"] = 0.into();
        input["rejects"] = json!({});
        input["column"] = format!(
            "{},{}",
            kept[0]["column"].as_str().unwrap(),
            kept[1]["column"].as_str().unwrap()
        )
        .into();
        input["columns"] = kept;
        let rows = v["rules"][0]["matched_rows"].clone();
        let values = v["rules"][0]["matched_values"].clone();
        v["result"] =
            json!({"matched_rows": rows, "matched_values": values, "cardinality": values});
    }
    a["local"]["declared_size"] = 40.into();
    a["peer"]["declared_size"] = 50.into();
    b["local"]["declared_size"] = 50.into();
    b["peer"]["declared_size"] = 40.into();
    assert_eq!(findings(&a, &b), vec![]);
}

/// Last month's receipts (version 1, one column, no rules) are still audited, as
/// are shareable ones of version 1; other versions are refused by name.
#[test]
fn versions_1_and_2_are_read_and_others_refused() {
    let audit = |a: &Value, b: &Value| {
        crate::receipt_findings(
            &serde_json::to_vec(a).unwrap(),
            std::path::Path::new("a.json"),
            &serde_json::to_vec(b).unwrap(),
            std::path::Path::new("b.json"),
        )
    };
    let (a1, b1) = pair();
    assert_eq!(a1["version"], 1);
    assert!(audit(&a1, &b1).unwrap().is_empty());
    let mut shared1 = shared(&b1);
    shared1["version"] = 1.into();
    assert!(audit(&a1, &shared1).unwrap().is_empty());
    let (a2, b2) = multi_pair();
    assert!(audit(&a2, &b2).unwrap().is_empty());
    assert!(audit(&a2, &shared(&b2)).unwrap().is_empty());
    // A version 2 receipt without rules or columns names them.
    let mut bare = a2.clone();
    bare.as_object_mut().unwrap().remove("rules");
    bare["local"]["input"]
        .as_object_mut()
        .unwrap()
        .remove("columns");
    let found: Vec<_> = audit(&bare, &b2)
        .unwrap()
        .into_iter()
        .map(|f| (f.check, f.field))
        .collect();
    assert!(found.contains(&("receipt_malformed", Some("rules".into()))));
    assert!(found.contains(&("receipt_malformed", Some("local.input.columns".into()))));
    let mut v3 = a2;
    v3["version"] = 3.into();
    let e = audit(&v3, &b2).unwrap_err();
    assert!(e.to_string().contains("versions 1 and 2"), "{e}");
}
