//! Output layout, manifest, rejects file, stdin/stdout, dialects, row order and column types.

use super::*;

#[test]
fn replaces_identifiers_keeps_and_drops_columns() {
    let dir = setup();
    let d = dir.path();
    let run = tokenize(d, &["-o", "tokens.csv"]);
    run.ok();
    let out = rows(&read(d, "tokens.csv"));
    // Input order: customer_id, phone, email; name and segment dropped.
    assert_eq!(out[0], ["customer_id", "phone", "email"]);
    assert_eq!(out.len(), 6, "every row is kept");
    let key = d.join("acme.key");
    let phone = expected_token(&key, IdType::Phone, "+86 138 1234 5678");
    assert_eq!(
        out[1],
        [
            "C001".to_owned(),
            phone.clone(),
            expected_token(&key, IdType::Email, "alice.wang@example.com")
        ]
    );
    // Empty cells stay empty.
    assert_eq!(out[2][1], "");
    assert_eq!(out[3][2], "");
    // Rejected cells are written empty.
    assert_eq!(out[4], ["C004", "", ""]);
    // Every written form of one number gives one token.
    assert_eq!(out[5][1], phone);
    assert!(phone.starts_with(&format!("bm1.{}.", token_key_id(&key))));
    assert_eq!(
        out[5][2],
        expected_token(&key, IdType::Email, "carol@example.cn")
    );
    // The summary names the counts and reasons on stderr.
    run.stderr_has("tokenized 5 rows")
        .stderr_has("phone (phone): 3 tokens, 1 empty, 1 rejected")
        .stderr_has("email (email): 3 tokens, 1 empty, 1 rejected (missing_at 1)");
    assert!(run.stdout.is_empty());
    // The token file holds personal data in pseudonymous form: owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join("tokens.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_files(
        d,
        &[
            "acme.key",
            "customers.csv",
            "tokens.csv",
            "tokens.csv.manifest.json",
        ],
    );
}

#[test]
fn manifest_describes_the_run_without_raw_values() {
    let dir = setup();
    let d = dir.path();
    tokenize(d, &["-o", "tokens.csv", "--rejects", "rejects.csv"]).ok();
    let m = manifest(d, "tokens.csv.manifest.json");
    assert_eq!(m["format"], "blindmatch-manifest");
    assert_eq!(m["version"], 1);
    assert_eq!(m["command"], "tokenize");
    assert_eq!(m["tool"]["name"], "blindmatch");
    assert_eq!(m["profile"]["name"], Profile::standard().name());
    // The whole profile's digest is labelled as covering every type; what partners
    // compare is the per-type string of each column's type, the hello's.
    assert_eq!(
        m["profile"]["all_types_digest"],
        Profile::standard().digest().to_hex()
    );
    assert!(m["profile"].get("digest").is_none());
    assert_eq!(
        m["profile"]["types"],
        serde_json::json!({
            "phone": Profile::standard().type_string(IdType::Phone),
            "email": Profile::standard().type_string(IdType::Email),
        })
    );
    assert_eq!(m["profile"]["unicode"], blindmatch_token::unicode_version());
    assert_eq!(
        m["profile"]["unicode_case"],
        blindmatch_token::unicode_case_version()
    );
    assert_eq!(m["token"]["format"], "bm1");
    assert_eq!(m["token"]["mac_bytes"], 32);
    // acme.key is a master key: the tokens' key is its derived token key (purpose
    // token), and the master's own ID is recorded beside it, with the file's purpose.
    assert_eq!(m["key"]["id"], token_key_id(&d.join("acme.key")));
    assert_eq!(m["key"]["purpose"], "token");
    assert_eq!(m["key"]["file_purpose"], "master");
    assert_eq!(
        m["key"]["master_id"],
        crate::keys::key_id(&d.join("acme.key"))
    );
    assert_ne!(m["key"]["id"], m["key"]["master_id"]);
    assert_eq!(m["input"]["sha256"], sha256_hex(CUSTOMERS.as_bytes()));
    assert_eq!(m["input"]["bytes"], CUSTOMERS.len());
    let output = fs::read(d.join("tokens.csv")).unwrap();
    assert_eq!(m["output"]["sha256"], sha256_hex(&output));
    assert_eq!(m["output"]["path"], "tokens.csv");
    assert_eq!(
        m["rejects_file"]["sha256"],
        sha256_hex(&fs::read(d.join("rejects.csv")).unwrap())
    );
    assert_eq!(m["rows"]["read"], 5);
    assert_eq!(m["rows"]["written"], 5);
    assert_eq!(m["rows"]["with_rejects"], 1);
    assert_eq!(m["columns"][0]["input"], "phone");
    assert_eq!(m["columns"][0]["type"], "phone");
    assert_eq!(m["columns"][0]["tokens"], 3);
    assert_eq!(m["columns"][0]["empty"], 1);
    assert_eq!(m["columns"][0]["rejected"], 1);
    assert_eq!(m["columns"][1]["rejects"]["missing_at"], 1);
    assert_eq!(m["rejects"]["missing_at"], 1);
    assert_eq!(m["kept_columns"], serde_json::json!(["customer_id"]));
    assert_eq!(m["dropped_columns"], serde_json::json!(["name", "segment"]));
    assert!(m["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(m["elapsed_seconds"].as_f64().unwrap() >= 0.0);
    let text = read(d, "tokens.csv.manifest.json");
    for raw in RAW_VALUES {
        assert!(!text.contains(raw), "manifest contains {raw:?}");
    }
    assert!(!text.contains(&key_b64(&d.join("acme.key"))));
}

#[test]
fn rejects_file_lists_rows_and_reasons_but_no_values() {
    let dir = setup();
    let d = dir.path();
    tokenize(d, &["-o", "tokens.csv", "--rejects", "rejects.csv"]).ok();
    let rejects = read(d, "rejects.csv");
    assert_eq!(
        rows(&rejects),
        vec![
            vec!["row", "line", "column", "type", "reason"],
            vec!["4", "5", "phone", "phone", "invalid_cn_number"],
            vec!["4", "5", "email", "email", "missing_at"],
        ]
    );
    for raw in RAW_VALUES {
        assert!(!rejects.contains(raw), "rejects file contains {raw:?}");
    }
}

#[test]
fn reads_stdin_and_writes_stdout() {
    let dir = setup();
    let d = dir.path();
    tokenize(d, &["-o", "tokens.csv"]).ok();
    let piped = run_in(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "-",
            "--column",
            "phone:phone",
            "--column",
            "email:email",
            "--keep",
            "customer_id",
            "-o",
            "-",
        ],
        Some(CUSTOMERS.as_bytes()),
        Duration::from_secs(60),
    );
    piped.ok();
    assert_eq!(piped.stdout, read(d, "tokens.csv"));
    // With `-o -` a manifest is written only when asked for.
    assert_files(
        d,
        &[
            "acme.key",
            "customers.csv",
            "tokens.csv",
            "tokens.csv.manifest.json",
        ],
    );
    let piped = run_in(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "-",
            "--column",
            "phone:phone",
            "-o",
            "-",
            "--manifest",
            "stdout.manifest.json",
        ],
        Some(CUSTOMERS.as_bytes()),
        Duration::from_secs(60),
    );
    piped.ok();
    let m = manifest(d, "stdout.manifest.json");
    assert_eq!(m["input"]["path"], "-");
    assert_eq!(m["output"]["path"], "-");
    assert_eq!(m["output"]["sha256"], sha256_hex(piped.stdout.as_bytes()));
    assert_eq!(m["input"]["sha256"], sha256_hex(CUSTOMERS.as_bytes()));
}

#[test]
fn force_replaces_existing_outputs() {
    let dir = setup();
    let d = dir.path();
    fs::write(d.join("tokens.csv"), "old").unwrap();
    tokenize(d, &["-o", "tokens.csv", "--force"]).ok();
    assert!(read(d, "tokens.csv").starts_with("customer_id,phone,email\n"));
}

#[test]
fn other_dialects_and_layouts() {
    let dir = setup();
    let d = dir.path();
    // Semicolons, CRLF line ends, a BOM: same tokens, `;` kept in the output.
    let semi = format!(
        "\u{feff}{}",
        CUSTOMERS
            .replace(',', ";")
            .replace('\n', "\r\n")
            .replace("\"Zhang; Min\"", "Zhang Min")
    );
    fs::write(d.join("semi.csv"), semi).unwrap();
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "semi.csv",
            "--delimiter",
            ";",
            "--column",
            "phone:phone",
            "--keep",
            "customer_id",
            "-o",
            "semi-out.csv",
        ],
    )
    .ok();
    tokenize(d, &["-o", "comma.csv"]).ok();
    let semi_out = read(d, "semi-out.csv");
    assert!(semi_out.starts_with("customer_id;phone\n"), "{semi_out}");
    let comma = rows(&read(d, "comma.csv"));
    for (line, row) in semi_out.lines().zip(&comma) {
        assert_eq!(line, format!("{};{}", row[0], row[1]));
    }
    // A one-column output keeps empty rows as "" so no row is lost.
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
            "-o",
            "one.csv",
        ],
    )
    .ok();
    let one = read(d, "one.csv");
    assert_eq!(one.lines().count(), 6, "{one}");
    assert_eq!(one.lines().nth(2), Some("\"\""));
    assert_eq!(rows(&one).len(), 6);
    // Kept values needing quotes are quoted.
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
            "--keep",
            "name",
            "-o",
            "names.csv",
        ],
    )
    .ok();
    assert_eq!(rows(&read(d, "names.csv"))[3][0], "Zhang, Min");
    // A header without data rows gives a header without data rows.
    fs::write(d.join("header.csv"), "customer_id,phone\n").unwrap();
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "header.csv",
            "--column",
            "phone:phone",
            "-o",
            "h.csv",
        ],
    )
    .ok();
    assert_eq!(read(d, "h.csv"), "phone\n");
}

#[test]
fn large_input_keeps_row_order_across_batches_and_threads() {
    let dir = setup();
    let d = dir.path();
    let mut csv = String::from("id,phone\n");
    for i in 0..30_000u32 {
        // Every 7th cell empty, every 11th rejected.
        let phone = match i {
            _ if i % 7 == 0 => String::new(),
            _ if i % 11 == 0 => "12".to_owned(),
            _ => format!("+86 138 {:04} {:04}", i / 10_000, i % 10_000),
        };
        csv.push_str(&format!("{i},{phone}\n"));
    }
    fs::write(d.join("big.csv"), &csv).unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "4"] {
        let out = format!("big-{threads}.csv");
        run(
            d,
            &[
                "tokenize",
                "--key",
                "acme.key",
                "--input",
                "big.csv",
                "--column",
                "phone:phone",
                "--keep",
                "id",
                "--threads",
                threads,
                "-o",
                &out,
                "--rejects",
                &format!("{out}.rejects"),
            ],
        )
        .ok();
        outputs.push((read(d, &out), read(d, &format!("{out}.rejects"))));
    }
    assert!(
        outputs.iter().all(|o| *o == outputs[0]),
        "output depends on thread count"
    );
    let out = rows(&outputs[0].0);
    assert_eq!(out.len(), 30_001);
    for (i, row) in out.iter().skip(1).enumerate() {
        assert_eq!(row[0], i.to_string());
    }
    let key = d.join("acme.key");
    assert_eq!(
        out[12_346][1],
        expected_token(&key, IdType::Phone, "+86 138 0001 2345")
    );
    let rejects = rows(&outputs[0].1);
    let expected = (0..30_000u32).filter(|i| i % 7 != 0 && i % 11 == 0).count();
    assert_eq!(rejects.len(), expected + 1);
    assert_eq!(rejects[1], ["12", "13", "phone", "phone", "too_short"]);
}

#[test]
fn no_progress_bar_when_not_a_terminal() {
    let dir = setup();
    let run = tokenize(dir.path(), &["-o", "t.csv"]);
    run.ok();
    assert!(
        !run.stderr.contains('\r') && !run.stderr.contains("\u{1b}["),
        "{run:#?}"
    );
    // --quiet prints nothing at all on success.
    let quiet = tokenize(dir.path(), &["-q", "-o", "q.csv"]);
    quiet.ok();
    assert_eq!(quiet.stderr, "");
}

/// The `company` and `wechat_id` types: written forms of one company name share a
/// token, WeChat IDs keep their case, and the rejects file and manifest name the
/// reasons and per-type profile strings, never the values.
#[test]
fn company_and_wechat_id_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["keygen", "-o", "acme.key"]).ok();
    let csv = "id,company,wechat\n\
               1,腾讯科技（深圳）有限公司,oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\n\
               2,腾讯科技(深圳)有限责任公司, oUpF8uMuAJO_M2pxb1Q9zNjWeS6o \n\
               3,\"Acme Trading Co., Ltd.\",oupf8umuajo_m2pxb1q9znjwes6o\n\
               4,ACME TRADING LIMITED,oUpF8uMuAJO_M2pxb1Q9zNjWeS6\n\
               5,有限公司,\n";
    fs::write(d.join("c.csv"), csv).unwrap();
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "c.csv",
            "--column",
            "company:company",
            "--column",
            "wechat:wechat_id",
            "--keep",
            "id",
            "-o",
            "t.csv",
            "--rejects",
            "r.csv",
            "--max-reject-rate",
            "100%",
        ],
    )
    .ok();
    let key = d.join("acme.key");
    let out = rows(&read(d, "t.csv"));
    let tencent = expected_token(&key, IdType::Company, "腾讯科技深圳有限公司");
    let acme = expected_token(&key, IdType::Company, "acmetradingltd");
    let upper = expected_token(&key, IdType::WechatId, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    let lower = expected_token(&key, IdType::WechatId, "oupf8umuajo_m2pxb1q9znjwes6o");
    assert_eq!(out[1], vec!["1", &tencent, &upper]);
    assert_eq!(out[2], vec!["2", &tencent, &upper]);
    assert_eq!(out[3], vec!["3", &acme, &lower]);
    assert_eq!(out[4], vec!["4", &acme, ""]);
    assert_eq!(out[5], vec!["5", "", ""]);
    assert_ne!(upper, lower);
    assert_eq!(
        rows(&read(d, "r.csv"))[1..],
        [
            vec!["4", "5", "wechat", "wechat_id", "invalid_length"],
            vec!["5", "6", "company", "company", "legal_form_only"],
        ]
    );
    let m = manifest(d, "t.csv.manifest.json");
    assert_eq!(
        m["profile"]["types"],
        serde_json::json!({
            "company": Profile::standard().type_string(IdType::Company),
            "wechat_id": Profile::standard().type_string(IdType::WechatId),
        })
    );
    assert_eq!(m["rejects"]["legal_form_only"], 1);
    let text = read(d, "t.csv.manifest.json") + &read(d, "r.csv");
    for raw in ["腾讯", "有限公司", "Acme", "oUpF8u", "oupf8u"] {
        assert!(!text.contains(raw), "{raw:?} leaked");
    }
}
