//! Clean token files pass: fresh tokenize output, master and derived keys, duplicate counts.

use super::*;

// ---------------------------------------------------------------------------
// Clean files pass.

#[test]
fn a_freshly_tokenised_file_audits_clean() {
    let fx = Fixture::new();
    let run = fx.audit(&[
        "tokens",
        "tokens.csv",
        "--manifest",
        "tokens.csv.manifest.json",
    ]);
    run.ok();
    assert!(run.stdout.contains("result: clean"), "{run:#?}");

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
        "--seed",
        "7",
        "--json",
    ]);
    run.ok();
    let r = report(&run);
    assert_eq!(r["format"], "blindmatch-audit-report");
    assert_eq!(r["clean"], true, "{r:#}");
    assert_eq!(r["sample"]["rows_checked"], ROWS as u64);
    assert_eq!(r["sample"]["cells_checked"], (ROWS * 4) as u64);
    assert_eq!(r["sample"]["cells_mismatched"], 0);
    assert_eq!(r["source"]["sha256_matches"], true);
    let columns = r["columns"].as_array().unwrap();
    let roles: Vec<&str> = columns
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["kept", "token", "token", "token", "token", "kept"]);
    let phone = &columns[1];
    assert_eq!(phone["tokens"], (ROWS - ROWS / 4) as u64);
    assert_eq!(phone["duplicate_rate"], 0.0);
    assert_eq!(phone["singleton_rate"], 1.0);

    fx.audit(&[
        "manifest",
        "tokens.csv.manifest.json",
        "--key",
        "acme.key",
        "--input",
        "customers.csv",
    ])
    .ok();
    // Without a manifest the token columns are inferred and --key-id checked.
    let kid = fx.manifest()["key"]["id"].as_str().unwrap().to_owned();
    let run = fx.audit(&["tokens", "tokens.csv", "--key-id", &kid, "--json"]);
    run.ok();
    assert!(
        report(&run)["notes"]
            .to_string()
            .contains("manifest exists beside")
    );
}

/// The fixture's tokens come from a master key, so they were made with its derived
/// token key: the manifest declares that key's ID, and the master key file and the
/// token key `key derive` writes from it audit alike (re-tokenising the sample).
#[test]
fn a_master_key_and_its_derived_token_key_audit_alike() {
    let fx = Fixture::new();
    util::run(
        &fx.dir,
        &[
            "key",
            "derive",
            "--master",
            "acme.key",
            "-o",
            "acme-token.key",
        ],
    )
    .ok();
    let m = fx.manifest();
    let token_kid = crate::keys::key_id(&fx.path("acme-token.key"));
    assert_eq!(m["key"]["id"], token_kid.as_str());
    assert_eq!(
        m["key"]["master_id"],
        crate::keys::key_id(&fx.path("acme.key"))
    );
    for key in ["acme.key", "acme-token.key"] {
        let r = report(&fx.audit(&[
            "tokens",
            "tokens.csv",
            "--manifest",
            "tokens.csv.manifest.json",
            "--key",
            key,
            "--source",
            "customers.csv",
            "--sample",
            "50",
            "--seed",
            "1",
            "--json",
        ]));
        assert_eq!(r["clean"], true, "{key}: {r:#}");
        assert_eq!(r["key_given"], token_kid.as_str(), "{key}");
        assert_eq!(r["sample"]["cells_mismatched"], 0, "{key}");
        assert!(r["sample"]["cells_checked"].as_u64().unwrap() > 0, "{key}");
        fx.audit(&["manifest", "tokens.csv.manifest.json", "--key", key])
            .ok();
    }
    // A short-code key never makes tokens: bad input, not a finding.
    util::run(
        &fx.dir,
        &[
            "key",
            "derive",
            "--master",
            "acme.key",
            "--purpose",
            "short-code",
            "-o",
            "codes.key",
        ],
    )
    .ok();
    fx.audit(&["manifest", "tokens.csv.manifest.json", "--key", "codes.key"])
        .code(2)
        .stderr_has("is a short-code key, which never makes tokens");
}

#[test]
fn duplicate_tokens_are_counted() {
    let fx = Fixture::new();
    let text = fx.read("tokens.csv");
    let mut lines: Vec<&str> = text.lines().collect();
    // The same customer three more times.
    let row1 = lines[1];
    lines.extend([row1, row1, row1]);
    fx.write("dup.csv", &(lines.join("\n") + "\n"));
    let r = report(&fx.audit(&["tokens", "dup.csv", "--json"]));
    let email = &r["columns"][2];
    let tokens = email["tokens"].as_u64().unwrap();
    let distinct = email["distinct_tokens"].as_u64().unwrap();
    assert_eq!(tokens - distinct, 3);
    assert_eq!(email["max_repeats"], 4);
    let dup = email["duplicate_rate"].as_f64().unwrap();
    assert!((dup - 3.0 / tokens as f64).abs() < 1e-9, "{dup}");
    let single = email["singleton_rate"].as_f64().unwrap();
    assert!(
        (single - (distinct - 1) as f64 / tokens as f64).abs() < 1e-9,
        "{single}"
    );
}
