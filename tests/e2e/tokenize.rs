//! `blindmatch tokenize`: output layout, tokens recomputed with the library, empty
//! and rejected cells, the manifest and rejects file, stdin/stdout, key rotation,
//! short codes, the reject-rate check, every bad-input case (exit 2, a message
//! naming file/line/column, a hint, nothing left behind), and a leak check at the
//! most verbose log level.

use std::fs;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use blindmatch_token::{IdType, KeyFile, Profile, ShortCode, Tokenizer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::keys::key_b64;
use crate::util::{Run, assert_files, files_in, run, run_env, run_in};

/// Customers with phone numbers and e-mails written the messy ways, one empty cell
/// per identifier column and one rejected value per column (row 4).
const CUSTOMERS: &str = "\
customer_id,name,phone,email,segment
C001,Wang Wei,+86 138 1234 5678,Alice.Wang@Example.COM,retail
C002,Li Na,,bob@example.com,vip
C003,\"Zhang, Min\",0086-139-8765-4321,,sme
C004,Chen Jing,+86 100 2468 1357,not-an-address,retail
C005,Liu Yang,１３８１２３４５６７８, carol@example.cn ,dormant
";

/// Raw identifier values of [`CUSTOMERS`] and their normalised forms, which must never
/// appear in any output except the token file's tokens.
const RAW_VALUES: &[&str] = &[
    "138 1234 5678",
    "8613812345678",
    "13812345678",
    "0086-139-8765-4321",
    "13987654321",
    "100 2468 1357",
    "10024681357",
    "１３８１２３４５６７８",
    "Alice.Wang@Example.COM",
    "alice.wang@example.com",
    "bob@example.com",
    "not-an-address",
    "carol@example.cn",
];

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("customers.csv"), CUSTOMERS).unwrap();
    run(dir.path(), &["keygen", "-o", "acme.key"]).ok();
    dir
}

fn tokenize(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "tokenize",
        "--key",
        "acme.key",
        "--input",
        "customers.csv",
        "--column",
        "phone:phone",
        "--column",
        "email:email",
        "--keep",
        "customer_id",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

fn manifest(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&read(dir, name)).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The token the library makes for `value` with the key file at `key_path` (with its
/// token key: for a master key file, the derived one).
fn expected_token(key_path: &Path, id_type: IdType, value: &str) -> String {
    let key = KeyFile::read(key_path).unwrap().token_key().unwrap();
    let normalised = Profile::standard().normalize(id_type, value).unwrap();
    let mut out = String::new();
    Tokenizer::new(&key).write_token(id_type, normalised.as_bytes(), &mut out);
    out
}

/// The ID of the key that makes tokens with the key file at `key_path`.
fn token_key_id(key_path: &Path) -> String {
    let file = KeyFile::read(key_path).unwrap();
    file.token_key().unwrap().id().to_string()
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

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
fn previous_key_adds_an_old_to_new_mapping() {
    let dir = setup();
    let d = dir.path();
    run(d, &["keygen", "-o", "old.key"]).ok();
    tokenize(d, &["-o", "new.csv", "--previous-key", "old.key"]).ok();
    let out = rows(&read(d, "new.csv"));
    assert_eq!(
        out[0],
        ["customer_id", "phone", "phone_prev", "email", "email_prev"]
    );
    let old = d.join("old.key");
    assert_eq!(
        out[1][2],
        expected_token(&old, IdType::Phone, "13812345678")
    );
    assert_eq!(
        out[1][4],
        expected_token(&old, IdType::Email, "alice.wang@example.com")
    );
    assert_eq!(
        out[1][1],
        expected_token(&d.join("acme.key"), IdType::Phone, "13812345678")
    );
    assert_eq!(
        out[2][1..3],
        ["", ""],
        "empty cells stay empty under both keys"
    );
    assert_eq!(out[4], ["C004", "", "", "", ""]);
    let m = manifest(d, "new.csv.manifest.json");
    assert_eq!(m["previous_key"]["id"], token_key_id(&old));
    assert_eq!(m["previous_key"]["master_id"], crate::keys::key_id(&old));
    assert_eq!(m["columns"][0]["previous_output"], "phone_prev");
    // The same key twice is refused.
    tokenize(d, &["-o", "same.csv", "--previous-key", "acme.key"])
        .code(2)
        .stderr_has("--previous-key 'acme.key' is the same key as --key")
        .stderr_has("hint: ");
    assert!(!d.join("same.csv").exists());
}

/// No key serves two jobs: a master key file makes tokens with its HKDF-derived token
/// key (the one `key derive --purpose token` writes without a partner), never with
/// the master bytes that every derivation starts from.
#[test]
fn a_master_key_makes_tokens_with_its_derived_token_key() {
    let dir = setup();
    let d = dir.path();
    run(
        d,
        &[
            "key",
            "derive",
            "--master",
            "acme.key",
            "--purpose",
            "token",
            "-o",
            "acme-token.key",
        ],
    )
    .ok();
    tokenize(d, &["-o", "by-master.csv"]).ok();
    let by_master = read(d, "by-master.csv");
    let mut args = vec![
        "tokenize",
        "--key",
        "acme-token.key",
        "--input",
        "customers.csv",
        "--column",
        "phone:phone",
        "--column",
        "email:email",
        "--keep",
        "customer_id",
        "-o",
        "by-token-key.csv",
    ];
    run(d, &args).ok();
    assert_eq!(by_master, read(d, "by-token-key.csv"));
    let out = rows(&by_master);
    let token_kid = crate::keys::key_id(&d.join("acme-token.key"));
    assert!(out[1][1].starts_with(&format!("bm1.{token_kid}.")));
    // Not HMAC under the raw master bytes (what tokenize did before).
    let master = KeyFile::read(&d.join("acme.key")).unwrap();
    let normalised = Profile::standard()
        .normalize(IdType::Phone, "+86 138 1234 5678")
        .unwrap();
    let mut under_master = String::new();
    Tokenizer::new(master.key()).write_token(
        IdType::Phone,
        normalised.as_bytes(),
        &mut under_master,
    );
    assert_ne!(out[1][1], under_master);
    assert!(!by_master.contains(&master.key_id().to_string()));
    let m = manifest(d, "by-token-key.csv.manifest.json");
    assert_eq!(m["key"]["id"], token_kid.as_str());
    assert_eq!(m["key"]["purpose"], "token");
    assert_eq!(m["key"]["file_purpose"], "token");
    assert!(m["key"].get("master_id").is_none());
    // The master and its token key are one key for rotation purposes.
    args.splice(
        args.len() - 2..,
        ["--previous-key", "acme.key", "-o", "same.csv"],
    );
    run(d, &args)
        .code(2)
        .stderr_has("--previous-key 'acme.key' is the same key as --key");
    assert!(!d.join("same.csv").exists());
}

#[test]
fn short_codes_are_typeable_stable_and_keyed() {
    let dir = setup();
    let d = dir.path();
    tokenize(d, &["-o", "codes.csv", "--short-code", "phone"]).ok();
    let out = rows(&read(d, "codes.csv"));
    assert_eq!(out[0], ["customer_id", "phone", "phone_code", "email"]);
    let code = &out[1][2];
    assert_eq!(
        code.len(),
        13,
        "12 data characters and a check character: {code}"
    );
    assert!(code.parse::<ShortCode>().is_ok(), "{code}");
    assert_eq!(out[5][2], *code, "one number, one code");
    assert_eq!(out[2][2], "");
    assert_eq!(out[4][2], "");
    tokenize(
        d,
        &[
            "-o",
            "codes16.csv",
            "--short-code",
            "phone",
            "--short-code-len",
            "16",
        ],
    )
    .ok();
    assert_eq!(rows(&read(d, "codes16.csv"))[1][2].len(), 17);
    // Another key gives other codes.
    run(d, &["keygen", "-o", "other.key"]).ok();
    run(
        d,
        &[
            "tokenize",
            "--key",
            "other.key",
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
            "--short-code",
            "phone",
            "-o",
            "other.csv",
        ],
    )
    .ok();
    assert_ne!(rows(&read(d, "other.csv"))[1][1], *code);
    tokenize(d, &["-o", "bad.csv", "--short-code", "segment"])
        .code(2)
        .stderr_has("--short-code 'segment' is not an identifier column")
        .stderr_has("hint: ");
    // A token key makes tokens only: codes from it too would give it two jobs.
    run(
        d,
        &[
            "key",
            "derive",
            "--master",
            "acme.key",
            "--partner",
            "p",
            "-o",
            "token.key",
        ],
    )
    .ok();
    run(
        d,
        &[
            "tokenize",
            "--key",
            "token.key",
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
            "--short-code",
            "phone",
            "-o",
            "codes-from-token-key.csv",
        ],
    )
    .code(2)
    .stderr_has("--short-code needs a master key")
    .stderr_has("hint: ");
    assert!(!d.join("codes-from-token-key.csv").exists());
}

#[test]
fn max_reject_rate_turns_too_many_rejects_into_exit_3() {
    let dir = setup();
    let d = dir.path();
    // 1 of 4 non-empty cells is rejected in each column: 25%.
    tokenize(d, &["-o", "ok.csv", "--max-reject-rate", "30%"]).ok();
    assert_eq!(
        manifest(d, "ok.csv.manifest.json")["reject_rate_check"]["passed"],
        true
    );
    let run = tokenize(
        d,
        &[
            "-o",
            "strict.csv",
            "--max-reject-rate",
            "0.1",
            "--rejects",
            "r.csv",
        ],
    );
    run.code(3)
        .stderr_has("25.00% of non-empty cells rejected, above --max-reject-rate 10.00%")
        .stderr_has("hint: the rejected rows are listed in 'r.csv'");
    // The work ran: the files exist and the manifest records the failed check.
    let m = manifest(d, "strict.csv.manifest.json");
    assert_eq!(m["reject_rate_check"]["passed"], false);
    assert_eq!(m["reject_rate_check"]["max_rate"], 0.1);
    assert!(d.join("strict.csv").exists() && d.join("r.csv").exists());
    tokenize(d, &["-o", "x.csv", "--max-reject-rate", "lots"]).code(2);
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

/// Asserts a failed run: exit 2, the message parts, a hint, and only `files` left.
fn assert_bad_input(run: &Run, message: &[&str], dir: &Path, files: &[&str]) {
    run.code(2);
    let first = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    for part in message {
        assert!(first.contains(part), "error line lacks {part:?}: {run:#?}");
    }
    assert!(
        run.stderr.lines().any(|l| l.starts_with("hint: ")),
        "no hint: {run:#?}"
    );
    assert_files(dir, files);
}

#[test]
fn bad_columns_and_types() {
    let dir = setup();
    let d = dir.path();
    let base = ["acme.key", "customers.csv"];
    let t = |args: &[&str]| {
        let mut all = vec![
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "-o",
            "t.csv",
        ];
        all.extend_from_slice(args);
        run(d, &all)
    };
    assert_bad_input(
        &t(&["--column", "mobile:phone"]),
        &["column 'mobile'", "not in the header of 'customers.csv'"],
        d,
        &base,
    );
    assert!(
        t(&["--column", "mobile:phone"])
            .stderr
            .contains("hint: columns in the file: customer_id, name, phone, email, segment")
    );
    assert_bad_input(
        &t(&["--column", "phone:phone", "--keep", "crm_id"]),
        &["column 'crm_id' (--keep)", "customers.csv"],
        d,
        &base,
    );
    assert_bad_input(
        &t(&["--column", "phone:mobile"]),
        &[
            "--column 'phone:mobile'",
            "unknown identifier type 'mobile'",
        ],
        d,
        &base,
    );
    assert_bad_input(
        &t(&["--column", "phone"]),
        &["--column 'phone' has no type"],
        d,
        &base,
    );
    assert_bad_input(
        &t(&["--column", "phone:phone", "--keep", "phone"]),
        &["column 'phone' is given twice"],
        d,
        &base,
    );
    // No --column at all is a usage error from the argument parser.
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "-o",
            "t.csv",
        ],
    )
    .code(2);
    assert_files(d, &base);
}

#[test]
fn malformed_csv_names_file_line_and_column() {
    let dir = setup();
    let d = dir.path();
    let cases: &[(&str, &[u8], &[&str])] = &[
        (
            "quote.csv",
            b"id,phone\n1,13812345678\n2,\"13912345678\n3,13712345678\n",
            &["'quote.csv' line 3", "unbalanced quote"],
        ),
        (
            "ragged.csv",
            b"id,phone\n1,13812345678\n2,13912345678,extra\n",
            &["'ragged.csv' line 3", "3 fields, but the header has 2"],
        ),
        (
            "utf8.csv",
            b"id,phone\n1,13812345678\n2,\xb2\xe2\xca\xd4\n",
            &["'utf8.csv' line 3", "column 'phone'", "not valid UTF-8"],
        ),
        ("empty.csv", b"", &["'empty.csv' is empty"]),
        ("blank.csv", b"\n\n", &["'blank.csv' is empty"]),
    ];
    let mut files = vec!["acme.key", "customers.csv"];
    for (name, content, message) in cases {
        fs::write(d.join(name), content).unwrap();
        files.push(name);
        let run = run(
            d,
            &[
                "tokenize",
                "--key",
                "acme.key",
                "--input",
                name,
                "--column",
                "phone:phone",
                "-o",
                "t.csv",
                "--rejects",
                "r.csv",
            ],
        );
        assert_bad_input(&run, message, d, &files);
    }
    // Invalid UTF-8 in a kept column is refused too; in a dropped column it is ignored.
    fs::write(
        d.join("keep.csv"),
        b"id,phone,notes\n1,13812345678,ok\n\xff,13912345678,\xfe\n",
    )
    .unwrap();
    files.push("keep.csv");
    let keep = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "keep.csv",
            "--column",
            "phone:phone",
            "--keep",
            "id",
            "-o",
            "t.csv",
        ],
    );
    assert_bad_input(
        &keep,
        &["'keep.csv' line 3, column 'id': not valid UTF-8"],
        d,
        &files,
    );
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "keep.csv",
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ],
    )
    .ok();
    fs::remove_file(d.join("t.csv")).unwrap();
    fs::remove_file(d.join("t.csv.manifest.json")).unwrap();
    // An error deep in a large file, after many batches were written: still nothing left.
    let mut big = String::from("id,phone\n");
    for i in 0..25_000 {
        big.push_str(&format!("{i},+86 138 0000 {:04}\n", i % 10_000));
    }
    big.push_str("oops\n");
    fs::write(d.join("late.csv"), big).unwrap();
    files.push("late.csv");
    let run = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "late.csv",
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ],
    );
    assert_bad_input(
        &run,
        &["'late.csv' line 25002", "1 fields, but the header has 2"],
        d,
        &files,
    );
}

#[test]
fn missing_input_and_existing_outputs() {
    let dir = setup();
    let d = dir.path();
    let t = |input: &str, extra: &[&str]| {
        let mut all = vec![
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            input,
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ];
        all.extend_from_slice(extra);
        run(d, &all)
    };
    assert_bad_input(
        &t("nope.csv", &[]),
        &["cannot read input file 'nope.csv'"],
        d,
        &["acme.key", "customers.csv"],
    );
    fs::write(d.join("t.csv"), "precious").unwrap();
    assert_bad_input(
        &t("customers.csv", &[]),
        &["output file 't.csv' already exists"],
        d,
        &["acme.key", "customers.csv", "t.csv"],
    );
    assert_eq!(read(d, "t.csv"), "precious");
    fs::remove_file(d.join("t.csv")).unwrap();
    fs::write(d.join("t.csv.manifest.json"), "{}").unwrap();
    assert_bad_input(
        &t("customers.csv", &[]),
        &["output file 't.csv.manifest.json' already exists"],
        d,
        &["acme.key", "customers.csv", "t.csv.manifest.json"],
    );
    fs::remove_file(d.join("t.csv.manifest.json")).unwrap();
    fs::write(d.join("r.csv"), "x").unwrap();
    assert_bad_input(
        &t("customers.csv", &["--rejects", "r.csv"]),
        &["output file 'r.csv' already exists"],
        d,
        &["acme.key", "customers.csv", "r.csv"],
    );
    fs::remove_file(d.join("r.csv")).unwrap();
    // The output may not be the input.
    let run = run(
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
            "customers.csv",
            "--force",
        ],
    );
    assert_bad_input(
        &run,
        &["-o 'customers.csv' is the input file"],
        d,
        &["acme.key", "customers.csv"],
    );
    assert_eq!(read(d, "customers.csv"), CUSTOMERS);
    // A missing output folder.
    let nodir = crate::util::run(
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
            "no/such/dir/t.csv",
        ],
    );
    assert_bad_input(
        &nodir,
        &["cannot create output file in 'no/such/dir'"],
        d,
        &["acme.key", "customers.csv"],
    );
}

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
