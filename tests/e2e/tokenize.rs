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

mod bad_input;
mod keys;
mod leaks;
mod output;

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
