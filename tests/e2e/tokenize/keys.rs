//! Key rotation (`--previous-key`), master keys and keyed short codes.

use super::*;

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
