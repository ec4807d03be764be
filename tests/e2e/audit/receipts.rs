//! Receipts of a real session agree, tampering fails, and manifests and receipts match their schemas.

use super::*;

// ---------------------------------------------------------------------------
// Receipts from a real session.

struct Session {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
}

impl Session {
    fn new() -> Session {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        util::run(
            &dir,
            &[
                "demo",
                "--dir",
                "d",
                "--bank-rows",
                "400",
                "--insurer-rows",
                "300",
                "--common",
                "120",
                "-q",
            ],
        )
        .ok();
        Session { _tmp: tmp, dir }
    }

    fn audit(&self, args: &[&str]) -> Run {
        let mut full = vec!["audit", "receipt"];
        full.extend_from_slice(args);
        util::run(&self.dir, &full)
    }

    fn receipt(&self, name: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("d").join(name)).unwrap())
            .unwrap()
    }

    fn write(&self, name: &str, v: &Value) {
        std::fs::write(
            self.dir.join("d").join(name),
            serde_json::to_string_pretty(v).unwrap(),
        )
        .unwrap();
    }
}

const A: &str = "d/bank.receipt.json";
const B: &str = "d/insurer.receipt.json";

#[test]
fn receipts_of_one_session_agree_and_tampering_fails() {
    let s = Session::new();
    let run = s.audit(&[A, B]);
    run.ok();
    assert!(run.stdout.contains("SHA-256 and size match"), "{run:#?}");
    let r = expect(s.audit(&[A, B, "--json"]), 0);
    assert_eq!(r["a"]["output"]["sha256_matches"], true);
    assert_eq!(
        r["b"]["output"]["rows"],
        s.receipt("insurer.receipt.json")["result"]["matched_rows"]
    );

    // The same receipt twice is not two sides of a session.
    let r = expect(s.audit(&[A, A, "--json"]), 3);
    assert!(has_check(&r, "session_mismatch"), "{r:#}");

    // A receipt edited in any field the other side mirrors.
    let original = s.receipt("bank.receipt.json");
    let edits: Vec<(&str, Value, &str)> = vec![
        (
            "/transcript_hash",
            "ab".repeat(32).into(),
            "session_mismatch",
        ),
        ("/session_id", "cd".repeat(16).into(), "session_mismatch"),
        ("/peer/declared_size", 1.into(), "session_mismatch"),
        ("/traffic/bytes_received", 7.into(), "session_mismatch"),
        ("/result/matched_rows", 3.into(), "count_mismatch"),
        ("/result/matched_values", 119.into(), "session_mismatch"),
        ("/local/learns", false.into(), "receipt_inconsistent"),
    ];
    for (pointer, value, check) in edits {
        let mut v = original.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        s.write("edited.json", &v);
        let run = s.audit(&["d/edited.json", B, "--json"]);
        assert_eq!(run.code, Some(3), "{pointer}: {run:#?}");
        let r = report(&run);
        assert!(
            has_check(&r, check),
            "{pointer}: expected {check}, got {:?}",
            checks(&r)
        );
    }

    // A tampered output file: hash, size and rows.
    let out = s.dir.join("d").join("bank.matched.csv");
    let mut text = std::fs::read_to_string(&out).unwrap();
    text.push_str("9999,B9999999,00\n");
    std::fs::write(s.dir.join("d").join("tampered.csv"), &text).unwrap();
    let run = s.audit(&[A, B, "--output-a", "d/tampered.csv", "--json"]);
    run.code(3);
    let r = report(&run);
    for check in ["file_hash_mismatch", "file_size_mismatch", "count_mismatch"] {
        assert!(has_check(&r, check), "{check}: {r:#}");
    }
    std::fs::write(&out, &text).unwrap();
    s.audit(&[A, B]).code(3).stderr_has("finding");
    // An output that is not even CSV any more.
    std::fs::write(&out, format!("{text}x\n")).unwrap();
    let r = expect(s.audit(&[A, B, "--json"]), 3);
    assert!(
        has_check(&r, "malformed_file") && has_check(&r, "file_hash_mismatch"),
        "{r:#}"
    );

    // Unknown version: refused as bad input.
    let mut v = original;
    v["version"] = 9.into();
    s.write("v9.json", &v);
    s.audit(&["d/v9.json", B]).code(2).stderr_has("version 9");
}

/// A manifest and a receipt show, for each identifier type they cover, the same
/// per-type profile string, the one the hello carried; the whole profile's digest
/// is labelled as covering all types.
#[test]
fn manifests_and_receipts_show_one_profile_string_per_type() {
    use blindmatch_token::{IdType, Profile};
    let fx = Fixture::new();
    let m = fx.manifest();
    let s = Session::new();
    let phone = Profile::standard().type_string(IdType::Phone);
    assert_eq!(m["profile"]["types"]["phone"], phone.as_str());
    assert_eq!(m["profile"]["types"].as_object().unwrap().len(), 4);
    assert!(m["profile"]["all_types_digest"].is_string());
    for name in ["bank.receipt.json", "insurer.receipt.json"] {
        let r = s.receipt(name);
        assert_eq!(r["id_type"], "phone");
        assert_eq!(
            r["profile"]["types"],
            serde_json::json!({ "phone": phone }),
            "{name}"
        );
        assert_eq!(
            phone,
            format!(
                "{};sha256={}",
                r["profile"]["name"].as_str().unwrap(),
                r["profile"]["digest"].as_str().unwrap()
            )
        );
        for key in ["unicode", "unicode_case"] {
            assert_eq!(r["profile"][key], m["profile"][key], "{name}: {key}");
        }
        assert!(r["profile"].get("all_types_digest").is_none());
    }
    // The audits take both as written.
    fx.audit(&["manifest", "tokens.csv.manifest.json"]).ok();
    s.audit(&[A, B]).ok();
}

#[test]
fn real_manifests_and_receipts_match_their_schemas() {
    let manifest_schema = schema("manifest.schema.json");
    let fx = Fixture::new();
    let m = fx.manifest();
    assert_eq!(errors(&manifest_schema, &m), Vec::<String>::new());
    // A manifest with the optional parts (previous key, rejects file, rate check).
    util::run(&fx.dir, &["keygen", "-o", "new.key"]).ok();
    util::run(
        &fx.dir,
        &[
            "tokenize",
            "--key",
            "new.key",
            "--previous-key",
            "acme.key",
            "-i",
            "customers.csv",
            "-c",
            "phone:phone",
            "-k",
            "customer_id",
            "-o",
            "rotated.csv",
            "--rejects",
            "rejects.csv",
            "--max-reject-rate",
            "50%",
            "-q",
        ],
    )
    .ok();
    let rotated: Value = serde_json::from_str(&fx.read("rotated.csv.manifest.json")).unwrap();
    assert_eq!(errors(&manifest_schema, &rotated), Vec::<String>::new());
    for key in ["previous_key", "rejects_file", "reject_rate_check"] {
        assert!(rotated.get(key).is_some(), "{key}");
    }
    // And the rotation file audits clean, previous-key column included.
    fx.audit(&["manifest", "rotated.csv.manifest.json", "--key", "acme.key"])
        .ok();
    let run = fx.audit(&[
        "tokens",
        "rotated.csv",
        "--manifest",
        "rotated.csv.manifest.json",
        "--key",
        "acme.key",
        "--source",
        "customers.csv",
        "--json",
    ]);
    run.ok();
    let r = report(&run);
    assert_eq!(r["sample"]["columns"][0]["column"], "phone_prev");
    // Broken manifests fail the schema, so the check is not vacuous.
    let mut bad = m.clone();
    bad.as_object_mut().unwrap().remove("output");
    bad["columns"][0]["type"] = "mobile".into();
    bad["token"]["mac_bytes"] = 8.into();
    assert_eq!(
        errors(&manifest_schema, &bad).len(),
        3,
        "{:?}",
        errors(&manifest_schema, &bad)
    );

    let receipt_schema = schema("receipt.schema.json");
    let s = Session::new();
    for name in ["bank.receipt.json", "insurer.receipt.json"] {
        assert_eq!(
            errors(&receipt_schema, &s.receipt(name)),
            Vec::<String>::new(),
            "{name}"
        );
    }
    let mut bad = s.receipt("bank.receipt.json");
    bad["mode"] = "everything".into();
    bad["local"].as_object_mut().unwrap().remove("learns");
    assert_eq!(errors(&receipt_schema, &bad).len(), 2);

    // The shareable form, as `receipt share` derives it from those receipts.
    let shareable_schema = schema("shareable-receipt.schema.json");
    for name in ["bank", "insurer"] {
        let (full, shared) = (
            format!("d/{name}.receipt.json"),
            format!("d/{name}.shared.json"),
        );
        util::run(&s.dir, &["receipt", "share", &full, "-o", &shared]).ok();
        let shared = s.receipt(&format!("{name}.shared.json"));
        assert_eq!(
            errors(&shareable_schema, &shared),
            Vec::<String>::new(),
            "{name}"
        );
    }
    // A private field in it, or a full receipt, fails its schema.
    let mut bad = s.receipt("bank.shared.json");
    bad["result"] = s.receipt("bank.receipt.json")["result"].clone();
    bad["local"]["input"] = s.receipt("bank.receipt.json")["local"]["input"].clone();
    assert_eq!(errors(&shareable_schema, &bad).len(), 2);
    assert!(!errors(&shareable_schema, &s.receipt("bank.receipt.json")).is_empty());
}
