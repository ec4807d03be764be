//! Tampered token files, changed sources and altered manifests fail; a missing file is bad input.

use super::*;

// ---------------------------------------------------------------------------
// Tampering and altered manifests fail.

#[test]
fn a_tampered_token_file_fails() {
    let fx = Fixture::new();
    let text = fx.read("tokens.csv");
    // One character of one token changed: still well formed, but not what was made.
    let line2 = text.lines().nth(2).unwrap().to_owned();
    let token = cells(&line2)[2].clone();
    let mut bytes = token.clone().into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(bytes).unwrap();
    fx.write("tokens.csv", &text.replacen(&token, &altered, 1));

    let r = expect(
        fx.audit(&["manifest", "tokens.csv.manifest.json", "--json"]),
        3,
    );
    assert!(has_check(&r, "file_hash_mismatch"), "{r:#}");
    let run = fx.audit(&[
        "tokens",
        "tokens.csv",
        "--manifest",
        "tokens.csv.manifest.json",
        "--key",
        "acme.key",
        "--source",
        "customers.csv",
        "--sample",
        "1000",
        "--json",
    ]);
    run.code(3);
    let r = report(&run);
    assert!(
        has_check(&r, "file_hash_mismatch") && has_check(&r, "sample_mismatch"),
        "{r:#}"
    );
    let mismatched = &r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "sample_mismatch")
        .unwrap()["rows"];
    assert_eq!(mismatched, &serde_json::json!([2]));

    // A change that breaks the CSV itself is a finding too, not an unreadable input.
    fx.write("tokens.csv", &(text.clone() + "x\n"));
    for args in [
        &["manifest", "tokens.csv.manifest.json", "--json"][..],
        &[
            "tokens",
            "tokens.csv",
            "--manifest",
            "tokens.csv.manifest.json",
            "--json",
        ][..],
    ] {
        let r = expect(fx.audit(args), 3);
        assert!(
            has_check(&r, "malformed_file") && has_check(&r, "file_hash_mismatch"),
            "{r:#}"
        );
    }
    // Without a record to compare with, an unreadable file is bad input.
    fx.audit(&["tokens", "tokens.csv"])
        .code(2)
        .stderr_has("line 82");
    fx.write("tokens.csv", &text);

    // A token made with another key is caught by its key ID, without any key.
    util::run(&fx.dir, &["keygen", "-o", "other.key"]).ok();
    util::run(
        &fx.dir,
        &[
            "tokenize",
            "--key",
            "other.key",
            "-i",
            "customers.csv",
            "-c",
            "email:email",
            "-o",
            "other.csv",
            "-q",
        ],
    )
    .ok();
    let foreign = cells(fx.read("other.csv").lines().nth(1).unwrap())[0].clone();
    let text = fx.read("tokens.csv");
    let line1 = text.lines().nth(1).unwrap().to_owned();
    let mut row = cells(&line1);
    row[2] = foreign;
    fx.write("foreign.csv", &text.replacen(&line1, &row.join(","), 1));
    let r = expect(
        fx.audit(&[
            "tokens",
            "foreign.csv",
            "--manifest",
            "tokens.csv.manifest.json",
            "--json",
        ]),
        3,
    );
    assert!(has_check(&r, "undeclared_key_id"), "{r:#}");
    let r = expect(fx.audit(&["tokens", "foreign.csv", "--json"]), 3);
    assert!(has_check(&r, "mixed_key_ids"), "{r:#}");
}

#[test]
fn a_changed_source_fails_the_sample() {
    let fx = Fixture::new();
    let source = fx.read("customers.csv");
    // Row 3's e-mail changed after tokenising.
    fx.write(
        "customers.csv",
        &source.replacen("customer2@example.com", "customer2@example.net", 1),
    );
    let run = fx.audit(&[
        "tokens",
        "tokens.csv",
        "--manifest",
        "tokens.csv.manifest.json",
        "--key",
        "acme.key",
        "--source",
        "customers.csv",
        "--sample",
        "1000",
        "--json",
    ]);
    run.code(3);
    let r = report(&run);
    assert!(has_check(&r, "sample_mismatch"), "{r:#}");
    assert_eq!(r["source"]["sha256_matches"], false);
    assert_eq!(
        r["sample"]["mismatched_rows"]["rows"],
        serde_json::json!([3])
    );
    assert!(!run.all_output().contains("customer2@"), "{run:#?}");
}

#[test]
fn altered_manifests_fail() {
    let fx = Fixture::new();
    let original = fx.manifest();
    let other_kid = "0123456789abcdef";
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "output hash",
            Box::new(|m| m["output"]["sha256"] = "00".repeat(32).into()),
            "file_hash_mismatch",
        ),
        (
            "output size",
            Box::new(|m| m["output"]["bytes"] = 1.into()),
            "file_size_mismatch",
        ),
        (
            "token count",
            Box::new(|m| m["columns"][0]["tokens"] = 1000.into()),
            "count_mismatch",
        ),
        (
            "rows, consistently",
            Box::new(|m| {
                m["rows"]["read"] = 81.into();
                m["rows"]["written"] = 81.into();
            }),
            "count_mismatch",
        ),
        (
            "key id",
            Box::new(move |m| m["key"]["id"] = other_kid.into()),
            "undeclared_key_id",
        ),
        (
            "mac length",
            Box::new(|m| m["token"]["mac_bytes"] = 16.into()),
            "token_length",
        ),
        (
            "rejects",
            Box::new(|m| m["rejects"] = serde_json::json!({"too_short": 5})),
            "manifest_inconsistent",
        ),
        (
            "profile digest",
            Box::new(|m| m["profile"]["all_types_digest"] = "11".repeat(32).into()),
            "profile_digest_mismatch",
        ),
        (
            "per-type profile string",
            Box::new(|m| {
                m["profile"]["types"]["phone"] =
                    format!("bm-std-v1,phone-region=86;sha256={}", "11".repeat(32)).into()
            }),
            "profile_digest_mismatch",
        ),
        (
            "master purpose beside the token key's id",
            Box::new(|m| m["key"]["purpose"] = "master".into()),
            "manifest_inconsistent",
        ),
        (
            "missing field",
            Box::new(|m| {
                m.as_object_mut().unwrap().remove("rows");
            }),
            "manifest_malformed",
        ),
        (
            "kept column dropped",
            Box::new(|m| m["kept_columns"] = serde_json::json!(["customer_id"])),
            "undeclared_column",
        ),
        (
            "renamed column",
            Box::new(|m| m["columns"][1]["output"] = "mail".into()),
            "missing_column",
        ),
    ];
    for (what, edit, check) in cases {
        let mut m = original.clone();
        edit(&mut m);
        fx.write_manifest("altered.json", &m);
        let run = fx.audit(&[
            "manifest",
            "altered.json",
            "--output",
            "tokens.csv",
            "--json",
        ]);
        assert_eq!(run.code, Some(3), "{what}: {run:#?}");
        let r = report(&run);
        assert!(
            has_check(&r, check),
            "{what}: expected {check}, got {:?}",
            checks(&r)
        );
        let run = fx.audit(&[
            "tokens",
            "tokens.csv",
            "--manifest",
            "altered.json",
            "--json",
        ]);
        assert_eq!(run.code, Some(3), "{what} (audit tokens): {run:#?}");
    }
    // An edit that keeps every internal sum and the file's counts (rejected cells
    // passed off as empty, which look alike in the token file) needs the source.
    // Ten phone numbers made invalid, then tokenised again: 10 rejected phone cells.
    let mut broken = fx.read("customers.csv");
    for i in [0usize, 4, 8, 12, 16, 20, 24, 28, 32, 36] {
        let mobile = format!("139{:08}", 10_000_000 + i * 7919);
        broken = broken.replacen(&mobile, &mobile[..8], 1);
    }
    fx.write("broken.csv", &broken);
    util::run(
        &fx.dir,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "-i",
            "broken.csv",
            "-c",
            "phone:phone",
            "-k",
            "customer_id",
            "-o",
            "b.csv",
            "-q",
        ],
    )
    .ok();
    let mut m: Value = serde_json::from_str(&fx.read("b.csv.manifest.json")).unwrap();
    assert_eq!(m["columns"][0]["rejected"], 10);
    m["columns"][0]["empty"] = 30.into();
    m["columns"][0]["rejected"] = 0.into();
    m["columns"][0]["rejects"] = serde_json::json!({});
    m["rejects"] = serde_json::json!({});
    m["rows"]["with_rejects"] = 0.into();
    fx.write_manifest("consistent.json", &m);
    fx.audit(&["manifest", "consistent.json", "--output", "b.csv"])
        .ok();
    let r = expect(
        fx.audit(&[
            "manifest",
            "consistent.json",
            "--output",
            "b.csv",
            "--input",
            "broken.csv",
            "--json",
        ]),
        3,
    );
    assert!(has_check(&r, "recount_mismatch"), "{r:#}");
    assert_eq!(r["recount"]["columns"][0]["rejected"], 10);

    // The key given is not the manifest's.
    util::run(&fx.dir, &["keygen", "-o", "other.key"]).ok();
    let run = fx.audit(&[
        "manifest",
        "tokens.csv.manifest.json",
        "--key",
        "other.key",
        "--json",
    ]);
    run.code(3);
    assert!(has_check(&report(&run), "key_id_mismatch"));
    // Not a manifest, or a future version: bad input, not a finding.
    let mut m = original.clone();
    m["version"] = 2.into();
    fx.write_manifest("v2.json", &m);
    fx.audit(&["manifest", "v2.json"])
        .code(2)
        .stderr_has("version 2");
    fx.write("junk.json", "{ not json");
    fx.audit(&["manifest", "junk.json"]).code(2);
    fx.audit(&["manifest", "missing.json"]).code(2);
    fx.audit(&["tokens", "tokens.csv", "--source", "customers.csv"])
        .code(2)
        .stderr_has("--key");
}

#[test]
fn a_missing_token_file_is_bad_input_with_a_hint() {
    let fx = Fixture::new();
    std::fs::rename(fx.path("tokens.csv"), fx.path("moved.csv")).unwrap();
    fx.audit(&["manifest", "tokens.csv.manifest.json"])
        .code(2)
        .stderr_has("--output");
    fx.audit(&[
        "manifest",
        "tokens.csv.manifest.json",
        "--output",
        "moved.csv",
    ])
    .ok();
}
