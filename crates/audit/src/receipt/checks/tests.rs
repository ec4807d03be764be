//! Tests of the receipt rules, on version 1 receipts (one column, no rules).

#![allow(clippy::unwrap_used)]
use super::*;
use serde_json::Value;

pub(in crate::receipt) fn pair() -> (Value, Value) {
    let fa = format!("sha256:{}", "aa".repeat(32));
    let fb = format!("sha256:{}", "bb".repeat(32));
    let base = serde_json::json!({
        "format": "blindmatch-receipt", "version": 1,
        "tool": {"name": "blindmatch", "version": "0.1.0"},
        "protocol_version": 1, "psi_protocol": "ecdh-ristretto255",
        "session_id": "11".repeat(16), "transcript_hash": "22".repeat(32),
        "batch_size": 4096, "comparison_bytes": 8,
        "started_at": "2026-11-22T10:00:00Z", "finished_at": "2026-11-22T10:00:05Z",
        "mode": "intersection", "reveal": "both", "id_type": "phone",
        "profile": {"types": {"phone": format!("bm-std-v1;sha256={}", "33".repeat(32))},
                    "name": "bm-std-v1", "digest": "33".repeat(32),
                    "unicode": "18.0.0", "unicode_case": "17.0.0"},
        "timings_ms": {"total": 5000}
    });
    let mut a = base.clone();
    a["local"] = serde_json::json!({"role": "initiator", "network_role": "connector",
        "fingerprint": fa, "declared_size": 80, "input": {"path": "a.csv", "sha256": "44".repeat(32), "rows": 90, "bytes": 900,
            "column": "phone", "values": 85, "empty": 3, "rejected": 2, "rejects": {"too_short": 2}},
        "learns": true});
    a["peer"] = serde_json::json!({"role": "responder", "fingerprint": fb, "declared_size": 100, "min_peer_set": 10});
    a["result"] = serde_json::json!({"matched_rows": 31, "matched_values": 30, "cardinality": 30});
    a["output"] = serde_json::json!({"path": "a.out.csv", "sha256": "55".repeat(32), "bytes": 10});
    a["traffic"] = serde_json::json!({"bytes_sent": 1000, "bytes_received": 2000, "frames_sent": 5, "frames_received": 6});
    let mut b = base;
    b["local"] = serde_json::json!({"role": "responder", "network_role": "listener",
        "fingerprint": fb, "declared_size": 100, "input": {"path": "b.csv", "sha256": "66".repeat(32), "rows": 100, "bytes": 1000,
            "column": "phone", "values": 100, "empty": 0, "rejected": 0, "rejects": {}},
        "learns": true});
    b["peer"] = serde_json::json!({"role": "initiator", "fingerprint": fa, "declared_size": 80, "min_peer_set": 10});
    b["result"] = serde_json::json!({"matched_rows": 30, "matched_values": 30, "cardinality": 30});
    b["output"] = serde_json::json!({"path": "b.out.csv", "sha256": "77".repeat(32), "bytes": 10});
    b["traffic"] = serde_json::json!({"bytes_sent": 2000, "bytes_received": 1000, "frames_sent": 6, "frames_received": 5});
    (a, b)
}

pub(in crate::receipt) fn findings(a: &Value, b: &Value) -> Vec<(&'static str, Option<String>)> {
    let (a, b) = (Receipt::from_value("A", a), Receipt::from_value("B", b));
    let mut out: Vec<Finding> = a.findings.iter().chain(&b.findings).cloned().collect();
    a.internal(&mut out);
    b.internal(&mut out);
    same_session(&a, &b, &mut out);
    out.into_iter().map(|f| (f.check, f.field)).collect()
}

#[test]
fn matching_receipts_are_clean() {
    let (a, b) = pair();
    assert_eq!(findings(&a, &b), vec![]);
}

#[test]
fn every_rule_catches_a_one_field_change() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/transcript_hash",
            "99".repeat(32).into(),
            "transcript_hash",
        ),
        ("/session_id", "98".repeat(16).into(), "session_id"),
        ("/session_id", "98".repeat(32).into(), "session_id"),
        ("/batch_size", 1024.into(), "batch_size"),
        ("/local/input/values", 84.into(), "local.input"),
        (
            "/local/input/rejects/too_short",
            1.into(),
            "local.input.rejects",
        ),
        ("/mode", "cardinality".into(), "mode"),
        ("/reveal", "initiator".into(), "reveal"),
        ("/id_type", "email".into(), "id_type"),
        ("/profile/digest", "00".repeat(32).into(), "profile.digest"),
        ("/local/declared_size", 81.into(), "peer.declared_size"),
        ("/peer/declared_size", 99.into(), "peer.declared_size"),
        (
            "/local/fingerprint",
            format!("sha256:{}", "cc".repeat(32)).into(),
            "peer.fingerprint",
        ),
        ("/traffic/bytes_sent", 1001.into(), "traffic.bytes_sent"),
        ("/traffic/frames_received", 7.into(), "traffic.frames_sent"),
        ("/local/role", "responder".into(), "local.role"),
        ("/result/matched_values", 29.into(), "result.matched_values"),
        ("/result/matched_rows", 20.into(), "result.matched_rows"),
        ("/local/learns", false.into(), "local.learns"),
        ("/peer/min_peer_set", 200.into(), "peer.declared_size"),
        ("/finished_at", "2026-11-22T09:00:00Z".into(), "finished_at"),
        ("/transcript_hash", "not hex".into(), "transcript_hash"),
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
    let (mut a, b) = pair();
    a.as_object_mut().unwrap().remove("transcript_hash");
    assert!(findings(&a, &b).contains(&("receipt_malformed", Some("transcript_hash".into()))));
}

#[test]
fn non_learners_record_no_results() {
    let (mut a, mut b) = pair();
    for v in [&mut a, &mut b] {
        v["reveal"] = "initiator".into();
    }
    b["local"]["learns"] = false.into();
    b["result"] =
        serde_json::json!({"matched_rows": null, "matched_values": null, "cardinality": null});
    b["output"] = Value::Null;
    assert_eq!(findings(&a, &b), vec![]);
    b["result"]["cardinality"] = 30.into();
    assert_eq!(
        findings(&a, &b),
        vec![("receipt_inconsistent", Some("result".into()))]
    );
}

#[test]
fn labelled_output_rows_lie_between_matched_rows_and_the_cap() {
    let (mut a, mut b) = pair();
    for v in [&mut a, &mut b] {
        v["mode"] = "labelled".into();
        v["reveal"] = "initiator".into();
    }
    b["local"]["learns"] = false.into();
    b["result"] =
        serde_json::json!({"matched_rows": null, "matched_values": null, "cardinality": null});
    b["output"] = Value::Null;
    // 31 matched rows, up to 2 label sets each.
    a["labels"] = serde_json::json!({"side": "receives", "columns": ["tier"],
        "max_bytes": [8], "max_labels_per_id": 2, "output_rows": 40});
    assert_eq!(findings(&a, &b), vec![]);
    for bad in [30, 63] {
        a["labels"]["output_rows"] = bad.into();
        assert_eq!(
            findings(&a, &b),
            vec![("receipt_inconsistent", Some("labels.output_rows".into()))],
            "{bad}"
        );
    }
}

/// The shareable form of a receipt of [`pair`]: its private fields removed.
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
    v
}

#[test]
fn full_and_shareable_receipts_compare_in_any_order() {
    let (a, b) = pair();
    for (x, y) in [
        (a.clone(), shared(&b)),
        (shared(&b), a.clone()),
        (shared(&a), shared(&b)),
    ] {
        assert_eq!(findings(&x, &y), vec![]);
    }
    // Our own full and shareable receipts are not two sides of a session.
    assert!(findings(&a, &shared(&a)).contains(&("session_mismatch", Some("local.role".into()))));
}

#[test]
fn a_shareable_receipt_is_checked_on_all_it_holds() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/session_id", "98".repeat(16).into(), "session_id"),
        (
            "/transcript_hash",
            "99".repeat(32).into(),
            "transcript_hash",
        ),
        ("/protocol_version", 3.into(), "protocol_version"),
        ("/psi_protocol", "vole-rr22-silent".into(), "psi_protocol"),
        ("/mode", "cardinality".into(), "mode"),
        ("/reveal", "initiator".into(), "reveal"),
        ("/id_type", "email".into(), "id_type"),
        ("/profile/name", "bm-std-v1,x".into(), "profile.name"),
        ("/batch_size", 1024.into(), "batch_size"),
        ("/comparison_bytes", 16.into(), "comparison_bytes"),
        ("/local/declared_size", 99.into(), "peer.declared_size"),
        ("/peer/declared_size", 81.into(), "peer.declared_size"),
        (
            "/local/fingerprint",
            format!("sha256:{}", "cc".repeat(32)).into(),
            "peer.fingerprint",
        ),
        ("/peer/fingerprint", Value::Null, "peer.fingerprint"),
        ("/traffic/bytes_sent", 2001.into(), "traffic.bytes_sent"),
        ("/traffic/bytes_received", 999.into(), "traffic.bytes_sent"),
        ("/traffic/frames_sent", 7.into(), "traffic.frames_sent"),
        (
            "/local/network_role",
            "connector".into(),
            "local.network_role",
        ),
        ("/local/learns", false.into(), "local.learns"),
        ("/peer/min_peer_set", 200.into(), "peer.declared_size"),
    ];
    let (a, b) = pair();
    for (pointer, value, field) in cases {
        let mut sb = shared(&b);
        *sb.pointer_mut(pointer).unwrap() = value;
        let found = findings(&a, &sb);
        assert!(
            found.iter().any(|(_, f)| f.as_deref() == Some(field)),
            "{pointer}: {found:?}"
        );
    }
    // A field it lacks is malformed; one only the full receipt may hold too.
    let mut sb = shared(&b);
    sb.as_object_mut().unwrap().remove("traffic");
    assert_eq!(
        findings(&a, &sb),
        vec![("receipt_malformed", Some("traffic".into()))]
    );
    for (pointer, field) in [("/result", "result"), ("/local/input", "local.input")] {
        let mut sb = shared(&b);
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let value = b.pointer(pointer).unwrap().clone();
        let target = if parent.is_empty() {
            &mut sb
        } else {
            sb.pointer_mut(parent).unwrap()
        };
        target[key] = value;
        assert_eq!(
            findings(&a, &sb),
            vec![("receipt_malformed", Some(field.into()))]
        );
    }
}

/// `receipt_findings` reads receipts' bytes as `audit receipt` reads their
/// files, and names the file it cannot read.
#[test]
fn receipts_read_from_bytes_as_from_files() {
    let (mut a, b) = pair();
    a["batch_size"] = 1024.into();
    a.as_object_mut().unwrap().remove("mode");
    let (ab, bb) = (
        serde_json::to_vec(&a).unwrap(),
        serde_json::to_vec(&b).unwrap(),
    );
    let (pa, pb) = (
        std::path::Path::new("a.json"),
        std::path::Path::new("b.json"),
    );
    let from_bytes: Vec<_> = crate::receipt_findings(&ab, pa, &bb, pb)
        .unwrap()
        .into_iter()
        .map(|f| (f.check, f.field))
        .collect();
    assert_eq!(from_bytes, findings(&a, &b));
    assert_eq!(from_bytes.len(), 2, "{from_bytes:?}");
    let e = crate::receipt_findings(&ab, pa, b"[]", pb).unwrap_err();
    assert!(
        e.to_string()
            .contains("'b.json' is not a blindmatch receipt"),
        "{e}"
    );
}
