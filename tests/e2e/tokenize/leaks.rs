//! The most verbose log level leaks no identifier and no key.

use super::*;

/// Every form of the key that could leak: raw bytes, hex, base64 and base64url.
fn key_forms(key_path: &Path) -> (Vec<u8>, Vec<String>) {
    let b64url = key_b64(key_path);
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&b64url)
        .unwrap();
    let forms = vec![
        b64url.clone(),
        hex::encode(&raw),
        hex::encode_upper(&raw),
        base64::engine::general_purpose::STANDARD.encode(&raw),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw),
        base64::engine::general_purpose::URL_SAFE.encode(&raw),
    ];
    (raw, forms)
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn most_verbose_logging_leaks_no_identifier_and_no_key() {
    let dir = setup();
    let d = dir.path();
    run(d, &["keygen", "-o", "old.key"]).ok();
    let (raw_key, key_texts) = key_forms(&d.join("acme.key"));
    let (raw_old, old_texts) = key_forms(&d.join("old.key"));
    // The token keys tokenize derives from the two master keys must not leak either.
    let mut derived = Vec::new();
    for master in ["acme.key", "old.key"] {
        let out = format!("{master}.token");
        run(d, &["key", "derive", "--master", master, "-o", &out]).ok();
        derived.push(key_forms(&d.join(&out)));
    }
    let base = [
        "tokenize",
        "--key",
        "acme.key",
        "--previous-key",
        "old.key",
        "--input",
        "customers.csv",
        "--column",
        "phone:phone",
        "--column",
        "email:email",
        "--keep",
        "customer_id",
        "--short-code",
        "phone",
    ];
    let runs = [
        (
            vec!["-vvv", "-o", "a.csv", "--rejects", "a.rejects.csv"],
            vec![],
        ),
        (
            vec!["-o", "b.csv", "--rejects", "b.rejects.csv"],
            vec![("BLINDMATCH_LOG", "trace")],
        ),
        (
            vec![
                "-vvv",
                "-o",
                "c.csv",
                "--rejects",
                "c.rejects.csv",
                "--max-reject-rate",
                "1%",
            ],
            vec![("BLINDMATCH_LOG", "trace")],
        ),
    ];
    for (extra, env) in runs {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.iter().copied());
        let result = run_env(d, &args, &env, None);
        assert!(matches!(result.code, Some(0 | 3)), "{result:#?}");
        let out_name = extra.iter().skip_while(|a| **a != "-o").nth(1).unwrap();
        let mut texts = vec![
            ("stdout".to_owned(), result.stdout.clone().into_bytes()),
            ("stderr".to_owned(), result.stderr.clone().into_bytes()),
        ];
        for file in [
            format!("{out_name}.manifest.json"),
            out_name.replace(".csv", ".rejects.csv"),
        ] {
            texts.push((file.clone(), fs::read(d.join(&file)).unwrap()));
        }
        if !env.is_empty() || extra.contains(&"-vvv") {
            assert!(
                result.stderr.contains("TRACE")
                    || result.stderr.contains("DEBUG")
                    || result.stderr.contains("INFO"),
                "verbose run logged nothing: {result:#?}"
            );
        }
        for (name, text) in &texts {
            for raw in RAW_VALUES {
                assert!(
                    !contains_bytes(text, raw.as_bytes()),
                    "{name} contains raw value {raw:?}"
                );
            }
            let derived_texts = derived.iter().flat_map(|(_, forms)| forms);
            for form in key_texts.iter().chain(&old_texts).chain(derived_texts) {
                assert!(
                    !contains_bytes(text, form.as_bytes()),
                    "{name} contains a key"
                );
            }
            assert!(
                !contains_bytes(text, &raw_key) && !contains_bytes(text, &raw_old),
                "{name} contains key bytes"
            );
            for (raw, _) in &derived {
                assert!(
                    !contains_bytes(text, raw),
                    "{name} contains token key bytes"
                );
            }
        }
    }
    // `tokenize --column phone:phone` at the most verbose log level.
    let traced = |d: &Path, input: &str, output: &str, extra: &[&str]| {
        let mut args = vec!["-vvv", "tokenize", "--key", "acme.key", "--input", input];
        args.extend(["--column", "phone:phone"]);
        args.extend(extra);
        args.extend(["-o", output]);
        run_env(d, &args, &[("BLINDMATCH_LOG", "trace")], None)
    };
    // Errors at the most verbose level leak nothing either.
    fs::write(
        d.join("bad.csv"),
        "id,phone\n1,13812345678\n2,\"13912345678\n",
    )
    .unwrap();
    let result = traced(d, "bad.csv", "bad-out.csv", &[]);
    result.code(2);
    for raw in ["13812345678", "13912345678"] {
        assert!(
            !result.all_output().contains(raw),
            "error output contains {raw}"
        );
    }
    assert!(
        files_in(d)
            .iter()
            .all(|f| !f.starts_with("bad-out") && !f.ends_with("tmp"))
    );

    // A file without a header row: its first line is data. The error names the
    // missing column and lists the file's columns by position, never the values.
    fs::write(
        d.join("headerless.csv"),
        "13812345678,alice@example.com\n13987654321,bob@example.com\n",
    )
    .unwrap();
    let result = traced(d, "headerless.csv", "headerless-out.csv", &[]);
    assert_bad_input(
        &result,
        &["column 'phone' (--column) is not in the header of 'headerless.csv'"],
        d,
        &files_in(d).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    result.stderr_has("hint: columns in the file: column 1, column 2");
    for raw in ["13812345678", "alice@example.com", "alice", "13987654321"] {
        assert!(
            !result.all_output().contains(raw),
            "headerless error output contains {raw}: {result:#?}"
        );
    }
    // A dropped column whose header looks like an identifier is recorded in the
    // manifest by position.
    fs::write(
        d.join("odd-header.csv"),
        "customer_id,phone,13812345678\nC1,13987654321,x\n",
    )
    .unwrap();
    let result = traced(
        d,
        "odd-header.csv",
        "odd-out.csv",
        &["--keep", "customer_id"],
    );
    result.ok();
    let m = manifest(d, "odd-out.csv.manifest.json");
    assert_eq!(m["dropped_columns"], serde_json::json!(["column 3"]));
    let texts = [
        result.all_output(),
        read(d, "odd-out.csv.manifest.json"),
        read(d, "odd-out.csv"),
    ];
    for text in &texts {
        assert!(!text.contains("13812345678") && !text.contains("13987654321"));
    }
}
