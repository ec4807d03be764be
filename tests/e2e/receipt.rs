//! Shareable receipts from real sessions: `match --shareable-receipt` writes one
//! with the other outputs, holding only what both sides know whatever the mode and
//! reveal; `receipt share` derives the same file from a full receipt later; `audit
//! receipt` compares a full receipt with the partner's shareable one, either way
//! round. The sessions run on the two-folder fixture of `matching.rs`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::audit::{errors, schema};
use crate::matching::{Fixture, json};
use crate::util::{self, Run};

/// The full receipt each side writes beside `-o matched.csv`.
const FULL: &str = "matched.csv.receipt.json";
/// The shareable receipt each side is asked for.
const SHARED: &str = "shared.json";

/// Fields only the side that wrote a receipt knows: none may be in a shareable one.
const PRIVATE: [&str; 19] = [
    "input",
    "path",
    "sha256",
    "rows",
    "bytes",
    "values",
    "empty",
    "rejected",
    "rejects",
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
];

/// The keys of an object.
fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// Every key at any depth.
fn all_keys(v: &Value, out: &mut BTreeSet<String>) {
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            out.insert(k.clone());
            all_keys(v, out);
        }
    }
}

fn words(s: &str) -> BTreeSet<&str> {
    s.split_whitespace().collect()
}

fn audit(dir: &Path, args: &[&str]) -> Run {
    let mut full = vec!["audit", "receipt"];
    full.extend_from_slice(args);
    util::run(dir, &full)
}

fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("not JSON: {run:#?}"))
}

fn checks(run: &Run) -> Vec<String> {
    report(run)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn shareable_receipts_hold_only_what_both_sides_know() {
    let f = Fixture::new(200, 180, 60);
    let schema = schema("shareable-receipt.schema.json");
    // The listener learns alone (so the connector must not learn the count from
    // it), both learn the count, the connector learns alone.
    for (mode, reveal_a, reveal_b) in [
        ("intersection", "me", "peer"),
        ("cardinality", "both", "both"),
        ("cardinality", "peer", "me"),
    ] {
        let label = format!("{mode}, listener --reveal {reveal_a}");
        for dir in [&f.a, &f.b] {
            for name in ["matched.csv", FULL, SHARED] {
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
        let extra = |reveal| {
            [
                "--mode",
                mode,
                "--reveal",
                reveal,
                "--shareable-receipt",
                SHARED,
            ]
        };
        let (ra, rb) = f.session(&extra(reveal_a), &extra(reveal_b));
        for run in [&ra, &rb] {
            run.ok().stderr_has("shareable receipt: 'shared.json'");
        }
        for (dir, name) in [(&f.a, "customers.csv"), (&f.b, "clients.csv")] {
            let full = json(&dir.join(FULL));
            let shared = json(&dir.join(SHARED));
            assert_eq!(errors(&schema, &shared), Vec::<String>::new(), "{label}");
            assert_eq!(shared["format"], "blindmatch-shareable-receipt");
            assert_eq!(
                keys(&shared),
                words(
                    "format version tool protocol_version psi_protocol session_id transcript_hash mode \
                     reveal id_type rules profile batch_size comparison_bytes local peer traffic"
                ),
                "{label}"
            );
            assert_eq!(
                keys(&shared["local"]),
                words("role network_role fingerprint declared_size learns")
            );
            assert_eq!(
                keys(&shared["peer"]),
                words("role fingerprint declared_size min_peer_set")
            );
            let mut all = BTreeSet::new();
            all_keys(&shared, &mut all);
            for private in PRIVATE {
                assert!(!all.contains(private), "{label}: `{private}` in {shared:#}");
            }
            // What it holds is what the full receipt says, in the same places.
            for (k, v) in shared.as_object().unwrap() {
                match k.as_str() {
                    "format" | "version" => {}
                    "local" | "peer" => {
                        for (kk, vv) in v.as_object().unwrap() {
                            assert_eq!(*vv, full[k][kk], "{label}: {k}.{kk}");
                        }
                    }
                    "rules" => {
                        for (i, rule) in v.as_array().unwrap().iter().enumerate() {
                            assert_eq!(keys(rule), words("rule local_size peer_size"), "{label}");
                            for (kk, vv) in rule.as_object().unwrap() {
                                assert_eq!(*vv, full[k][i][kk], "{label}: rules[{i}].{kk}");
                            }
                        }
                    }
                    _ => assert_eq!(*v, full[k], "{label}: {k}"),
                }
            }
            let text = std::fs::read_to_string(dir.join(SHARED)).unwrap();
            let input_hash = full["local"]["input"]["sha256"].as_str().unwrap();
            assert!(
                !text.contains(input_hash) && !text.contains(name),
                "{label}"
            );
            if let Some(address) = full["peer"]["address"].as_str() {
                assert!(!text.contains(address), "{label}");
            }
            // `receipt share` derives the very same file from the full receipt.
            util::run(dir, &["receipt", "share", FULL, "-o", "later.json"]).ok();
            assert_eq!(
                std::fs::read(dir.join("later.json")).unwrap(),
                text.as_bytes(),
                "{label}"
            );
            std::fs::remove_file(dir.join("later.json")).unwrap();
        }
        // The learner's full receipt does hold what its shareable one leaves out.
        let learner = if reveal_a == "peer" { &f.b } else { &f.a };
        let result = &json(&learner.join(FULL))["result"];
        assert_eq!(result["cardinality"], 60, "{label}");

        // Each side audits its full receipt against the other's shareable one.
        let shared_a = format!("../a/{SHARED}");
        let shared_b = format!("../b/{SHARED}");
        audit(&f.a, &[FULL, &shared_b]).ok();
        audit(&f.a, &[&shared_b, FULL]).ok();
        audit(&f.b, &[FULL, &shared_a]).ok();
        audit(&f.b, &[SHARED, &shared_a]).ok();
        let run = audit(&f.a, &[FULL, &shared_b, "--json"]);
        let r = report(run.ok());
        assert_eq!(r["a"]["form"], "full");
        assert_eq!(r["b"]["form"], "shareable");
        assert!(
            run.stdout.contains("receipt B is the shareable form"),
            "{run:#?}"
        );
    }
}

#[test]
fn a_shareable_receipt_is_checked_and_written_only_with_the_session() {
    let f = Fixture::new(150, 150, 40);
    let (ra, rb) = f.session(
        &["--shareable-receipt", SHARED],
        &["--shareable-receipt", SHARED],
    );
    ra.ok();
    rb.ok();
    let shared_b = format!("../b/{SHARED}");
    // A shareable receipt edited in a field the other side mirrors.
    let original = json(&f.b.join(SHARED));
    for (pointer, value) in [
        ("/local/declared_size", Value::from(1)),
        ("/traffic/bytes_sent", 7.into()),
        ("/transcript_hash", "ab".repeat(32).into()),
        ("/local/fingerprint", Value::Null),
    ] {
        let mut v = original.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        std::fs::write(f.b.join("edited.json"), v.to_string()).unwrap();
        let run = audit(&f.a, &[FULL, "../b/edited.json", "--json"]);
        run.code(3);
        assert!(
            checks(&run).contains(&"session_mismatch".into()),
            "{pointer}: {run:#?}"
        );
    }
    // One that carries a private field is malformed.
    let mut v = original;
    v["result"] = json(&f.b.join(FULL))["result"].clone();
    std::fs::write(f.b.join("edited.json"), v.to_string()).unwrap();
    let run = audit(&f.a, &[FULL, "../b/edited.json", "--json"]);
    run.code(3);
    assert_eq!(
        checks(&run),
        vec!["receipt_malformed".to_owned()],
        "{run:#?}"
    );
    // Our own two receipts are not both sides of the session.
    let run = audit(&f.a, &[FULL, SHARED, "--json"]);
    run.code(3);
    assert!(
        checks(&run).contains(&"session_mismatch".into()),
        "{run:#?}"
    );
    // A shareable receipt has no output file to check.
    audit(&f.a, &[FULL, &shared_b, "--output-b", "../b/matched.csv"])
        .code(2)
        .stderr_has("shareable receipt");
    // `receipt share` wants a full receipt and never replaces a file.
    util::run(&f.b, &["receipt", "share", SHARED, "-o", "again.json"])
        .code(2)
        .stderr_has("shareable receipt already");
    util::run(&f.b, &["receipt", "share", FULL, "-o", SHARED])
        .code(2)
        .stderr_has("already exists");

    // A clash with another output is refused before any connection.
    let mut args = f.a_args(&["--receipt", "r.json", "--shareable-receipt", "r.json"]);
    args.push("--force".to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    util::run(&f.a, &args)
        .code(2)
        .stderr_has("--shareable-receipt and --receipt");
    // A refused session writes no shareable receipt either.
    for dir in [&f.a, &f.b] {
        for name in ["matched.csv", FULL, SHARED, "edited.json"] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    let (ra, rb) = f.session(
        &["--mode", "cardinality", "--shareable-receipt", SHARED],
        &["--shareable-receipt", SHARED],
    );
    ra.code(3);
    rb.code(3);
    util::assert_files(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
    util::assert_files(&f.b, &["bob.crt", "bob.key", "clients.csv"]);
}

/// Writes `name` in `dir` with a header and rows.
fn write_csv(dir: &Path, name: &str, lines: &[&str]) {
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

/// A session on two rules (`phone`, then `email`): both receipts and both
/// shareable ones carry the rules, match their schemas, and audit clean, output
/// files included; an edited rule size is caught.
#[test]
fn a_session_on_several_rules_writes_receipts_that_audit_clean() {
    let f = Fixture::new(20, 20, 5);
    write_csv(
        &f.a,
        "multi.csv",
        &[
            "customer_id,phone,email",
            "c1,13900000001,ann@example.com",
            "c2,13900000002,",
            "c3,,cat@example.com",
            "c4,13900000004,dan@example.com",
            "c5,13900000005,not an e-mail",
            "c6,,",
        ],
    );
    write_csv(
        &f.b,
        "multi.csv",
        &[
            "client_no,mobile,mail",
            "k1,13900000001,ann@example.com",
            "k2,+86 139 0000 0002,bob@example.com",
            "k3,13911111113,cat@example.com",
            "k4,13911111114,dan@example.com",
            "k5,,eve@example.com",
        ],
    );
    let rules = [
        "--rule",
        "phone",
        "--rule",
        "email",
        "--shareable-receipt",
        SHARED,
    ];
    let mut a = f.a_args(&["--input", "multi.csv"]);
    a.extend(["--column", "email:email"].map(String::from));
    a.extend(rules.map(String::from));
    let party_a = crate::matching::Party::spawn(&f.a, &a, &[], None);
    let addr = party_a.listening_addr();
    let mut b = f.b_args(&addr, &["--input", "multi.csv"]);
    b.extend(["--column", "mail:email"].map(String::from));
    b.extend(rules.map(String::from));
    let party_b = crate::matching::Party::spawn(&f.b, &b, &[], None);
    let (ra, rb) = (
        party_a.finish(crate::matching::DEADLINE),
        party_b.finish(crate::matching::DEADLINE),
    );
    ra.ok();
    rb.ok();

    let full_schema = schema("receipt.schema.json");
    let shared_schema = schema("shareable-receipt.schema.json");
    for dir in [&f.a, &f.b] {
        let full = json(&dir.join(FULL));
        let shared = json(&dir.join(SHARED));
        assert_eq!(errors(&full_schema, &full), Vec::<String>::new());
        assert_eq!(errors(&shared_schema, &shared), Vec::<String>::new());
        assert_eq!(full["version"], 2);
        assert_eq!(shared["version"], 2);
        assert_eq!(full["id_type"], "phone,email");
        assert_eq!(shared["id_type"], "phone,email");
        let names: Vec<&str> = full["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["phone", "email"]);
        assert_eq!(
            full["local"]["input"]["columns"].as_array().unwrap().len(),
            2
        );
        assert_eq!(
            full["profile"]["types"].as_object().unwrap().len(),
            2,
            "{full:#}"
        );
    }
    let full_a = json(&f.a.join(FULL));
    assert_eq!(
        full_a["rules"],
        serde_json::json!([
            {"rule": "phone", "columns": ["phone"], "local_size": 4, "peer_size": 4,
             "matched_values": 2, "matched_rows": 2},
            {"rule": "email", "columns": ["email"], "local_size": 3, "peer_size": 5,
             "matched_values": 3, "matched_rows": 3},
        ])
    );
    assert_eq!(full_a["result"]["matched_rows"], 4);
    let header = std::fs::read_to_string(f.a.join("matched.csv")).unwrap();
    assert!(
        header
            .starts_with("row,customer_id,match_id,matched_rules,match_id.phone,match_id.email\n"),
        "{header}"
    );

    // Every pairing audits clean: full against full (output files checked),
    // full against shareable, shareable against shareable.
    let run = audit(&f.a, &[FULL, &format!("../b/{FULL}"), "--json"]);
    let r = report(run.ok());
    assert_eq!(r["a"]["output"]["rows"], 4);
    assert_eq!(
        r["a"]["output"]["rules"],
        serde_json::json!([{"rule": "phone", "rows": 2}, {"rule": "email", "rows": 3}])
    );
    audit(&f.a, &[FULL, &format!("../b/{SHARED}")]).ok();
    audit(&f.b, &[FULL, &format!("../a/{SHARED}")]).ok();
    audit(&f.b, &[SHARED, &format!("../a/{SHARED}")]).ok();

    // An edited rule size no longer adds up, nor mirrors the partner's.
    let mut edited = full_a;
    edited["rules"][1]["local_size"] = 4.into();
    std::fs::write(f.a.join("edited.json"), edited.to_string()).unwrap();
    let run = audit(&f.a, &["edited.json", &format!("../b/{SHARED}"), "--json"]);
    run.code(3);
    let found = checks(&run);
    assert!(
        found.contains(&"rule_size_mismatch".to_owned()),
        "{found:?}"
    );
    assert!(found.contains(&"session_mismatch".to_owned()), "{found:?}");
    // A matched-rows file without a rule's column fails the layout check.
    let text = std::fs::read_to_string(f.a.join("matched.csv")).unwrap();
    let cut: String = text
        .lines()
        .map(|l| format!("{}\n", l.rsplit_once(',').unwrap().0))
        .collect();
    std::fs::write(f.a.join("cut.csv"), cut).unwrap();
    let run = audit(
        &f.a,
        &[
            FULL,
            &format!("../b/{FULL}"),
            "--output-a",
            "cut.csv",
            "--json",
        ],
    );
    run.code(3);
    assert!(
        checks(&run).contains(&"output_layout_mismatch".to_owned()),
        "{run:#?}"
    );
}
