//! `blindmatch audit`: token files made by the real `keygen` + `tokenize`, receipts
//! made by the real `demo` session. Planted raw identifiers of every type and
//! written form are found (by column, kind and row); clean files pass; tampered
//! files, receipts and manifests fail with exit code 3; and no audit output ever
//! contains a planted value in any form.

use std::path::Path;

use serde_json::Value;

use crate::util::{self, Run};

// ---------------------------------------------------------------------------
// Identifiers with valid check characters, computed here independently.

/// GB 11643-1999 (ISO 7064 MOD 11-2) check character of 17 digits.
fn id_check(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

fn cn_id(first17: &str) -> String {
    format!("{first17}{}", id_check(first17))
}

const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A GB 32100-2015 code from 17 characters: the check character appended.
fn uscc(first17: &str) -> String {
    const W: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(c, w)| USCC_ALPHABET.iter().position(|&a| a == c).unwrap() as u32 * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{first17}{}", USCC_ALPHABET[check as usize] as char)
}

/// A USCC whose embedded organisation code (GB 11714) is valid too, as issued
/// codes are: `authority`+`category`+6-digit region, 8 characters, then checks.
fn issued_uscc(prefix8: &str, org8: &str) -> String {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let value = |c: u8| match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        _ => u32::from(c - b'A') + 10,
    };
    let sum: u32 = org8.bytes().zip(W).map(|(c, w)| value(c) * w).sum();
    let check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from(b'0' + c as u8),
    };
    uscc(&format!("{prefix8}{org8}{check}"))
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            ' ' => '\u{3000}',
            c => c,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// A customer file, a key, and the real tokenize run.

const HEADER: &str = "customer_id,phone,email,uscc,cn_id,note";
const ROWS: usize = 80;
const NOTES: [&str; 6] = [
    "gold tier",
    "orders 15",
    "since 2019-04-01",
    "ref ORD2024061513800138000123",
    "amount 12345678.90",
    "",
];

fn customers() -> String {
    let mut csv = format!("{HEADER}\n");
    for i in 0..ROWS {
        let mobile = format!("139{:08}", 10_000_000 + i * 7919);
        let phone = match i % 4 {
            0 => mobile.clone(),
            1 => format!("+86 {} {} {}", &mobile[..3], &mobile[3..7], &mobile[7..]),
            2 => format!("{}-{}-{}", &mobile[..3], &mobile[3..7], &mobile[7..]),
            _ => String::new(),
        };
        let email = if i % 7 == 3 {
            String::new()
        } else {
            format!("customer{i}@example.com")
        };
        let code = uscc(&format!("9144030{:010}", 3_000_000_000u64 + i as u64));
        let id = cn_id(&format!("44030519800101{:03}", i));
        let note = NOTES[i % NOTES.len()];
        csv.push_str(&format!("C{i:04},{phone},{email},{code},{id},{note}\n"));
    }
    csv
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
}

impl Fixture {
    /// customers.csv, acme.key, tokens.csv + tokens.csv.manifest.json.
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("customers.csv"), customers()).unwrap();
        util::run(&dir, &["keygen", "-o", "acme.key"]).ok();
        util::run(
            &dir,
            &[
                "tokenize",
                "--key",
                "acme.key",
                "-i",
                "customers.csv",
                "-c",
                "phone:phone",
                "-c",
                "email:email",
                "-c",
                "uscc:uscc",
                "-c",
                "cn_id:cn_id",
                "-k",
                "customer_id",
                "-k",
                "note",
                "-o",
                "tokens.csv",
                "-q",
            ],
        )
        .ok();
        Fixture { _tmp: tmp, dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.path(name), content).unwrap();
    }

    fn audit(&self, args: &[&str]) -> Run {
        let mut full = vec!["audit"];
        full.extend_from_slice(args);
        util::run(&self.dir, &full)
    }

    fn manifest(&self) -> Value {
        serde_json::from_str(&self.read("tokens.csv.manifest.json")).unwrap()
    }

    fn write_manifest(&self, name: &str, v: &Value) {
        self.write(name, &serde_json::to_string_pretty(v).unwrap());
    }
}

fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:#?}"))
}

/// Asserts the exit code and returns the JSON report.
fn expect(run: Run, code: i32) -> Value {
    run.code(code);
    report(&run)
}

fn checks(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_owned())
        .collect()
}

fn has_check(report: &Value, check: &str) -> bool {
    checks(report).iter().any(|c| c == check)
}

/// Splits a line of the token file (no quoting: tokens and plain kept values).
fn cells(line: &str) -> Vec<String> {
    line.split(',').map(str::to_owned).collect()
}

/// Quotes a field for CSV when needed.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

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

// ---------------------------------------------------------------------------
// Planted raw identifiers are found, and never echoed.

/// (column, kind, value) planted into an otherwise clean token file.
fn planted() -> Vec<(&'static str, &'static str, String)> {
    let mut p: Vec<(&str, &str, String)> = Vec::new();
    let mobiles: Vec<String> = (0..16)
        .map(|i| format!("13{}{:08}", 5 + i % 5, 20_240_000 + i * 131))
        .collect();
    let m = |i: usize| mobiles[i].clone();
    let split = |n: &str, sep: &str| format!("{}{sep}{}{sep}{}", &n[..3], &n[3..7], &n[7..]);
    for v in [
        m(0),
        split(&m(1), " "),
        split(&m(2), "-"),
        split(&m(3), "."),
        format!("+86 {}", split(&m(4), " ")),
        format!("+86-{}", m(5)),
        format!("0086 {}", split(&m(6), " ")),
        format!("86{}", m(7)),
        format!("({}){} {}", &m(8)[..3], &m(8)[3..7], &m(8)[7..]),
        format!("+86 (0) {}", split(&m(9), " ")),
        full_width(&m(10)),
        full_width(&format!("+86 {}", split(&m(11), "-"))),
        format!("call {} now", m(12)),
        format!("客户电话{}，请回电", split(&m(13), " ")),
        format!("tel:+86-{}", split(&m(14), "-")),
        "+44 20 7946 0321".to_owned(),
    ] {
        p.push(("note", "phone", v));
    }
    for v in [
        "zhang.san@example.com".to_owned(),
        "Li.Si@Example.COM".to_owned(),
        full_width("WANG@example.cn"),
        "contact: zhao.liu@qq.com;".to_owned(),
        "mailto:qian.qi@163.com".to_owned(),
        "邮箱：sun.ba@126.com。".to_owned(),
    ] {
        p.push(("note", "email", v));
    }
    let codes: Vec<String> = [
        ("91350100", "M000100Y"),
        ("91110000", "10001764"),
        ("91440300", "MA5D8YQK"),
        ("92310115", "MA1K3C7B"),
        ("52110000", "50000001"),
    ]
    .iter()
    .map(|(a, b)| issued_uscc(a, b))
    .collect();
    let spaced = |c: &str| {
        format!(
            "{} {} {} {} {}",
            &c[..4],
            &c[4..8],
            &c[8..12],
            &c[12..16],
            &c[16..]
        )
    };
    for v in [
        codes[0].clone(),
        spaced(&codes[1]),
        codes[2].to_lowercase(),
        format!("uscc={};", codes[3]),
        full_width(&codes[4]),
    ] {
        p.push(("note", "uscc", v));
    }
    let ids: Vec<String> = (0..6)
        .map(|i| cn_id(&format!("11010519{}0{}15{:03}", 70 + i, 1 + i % 9, 100 + i)))
        .collect();
    for v in [
        ids[0].clone(),
        format!("{} {} {}", &ids[1][..6], &ids[1][6..14], &ids[1][14..]),
        format!("{}-{}-{}", &ids[2][..6], &ids[2][6..14], &ids[2][14..]),
        format!("id:{};", ids[3].to_lowercase()),
        full_width(&ids[4]),
        format!("身份证{}号", ids[5]),
    ] {
        p.push(("note", "cn_id", v));
    }
    // Raw values where tokens belong, and in the other kept column.
    p.push(("phone", "phone", split(&mobiles[15], " ")));
    p.push(("email", "email", "Zhou.Jiu@Example.org".to_owned()));
    p.push(("uscc", "uscc", spaced(&issued_uscc("91330100", "MA27XY3P"))));
    p.push(("cn_id", "cn_id", cn_id("32010219880808123")));
    p.push(("customer_id", "cn_id", cn_id("51010719930214201")));
    p
}

/// Every written form of a planted value an output must not contain.
fn forms(value: &str) -> Vec<String> {
    let folded: String = value
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap(),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect();
    let mut out = vec![value.to_owned(), folded.clone()];
    let digits: String = folded.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 7 {
        out.push(digits.clone());
        // The national number without any prefix.
        if digits.len() > 11 {
            out.push(digits[digits.len() - 11..].to_owned());
        }
    }
    let alnum: String = folded.chars().filter(char::is_ascii_alphanumeric).collect();
    if alnum.len() >= 15 {
        out.push(alnum.to_uppercase());
        out.push(alnum.to_lowercase());
        // The 18-character code inside a labelled value (`uscc=…`, `id:…`).
        out.push(alnum[alnum.len() - 18.min(alnum.len())..].to_uppercase());
    }
    if let Some(at) = folded.find('@') {
        let start = folded[..at].rfind([' ', ':', '：']).map_or(0, |i| i + 1);
        let end = folded[at..]
            .find([' ', ';', '。'])
            .map_or(folded.len(), |i| at + i);
        let address = &folded[start..end];
        out.push(address.to_lowercase());
        out.push(folded[start..at].to_lowercase());
        out.push(folded[start..at].to_owned());
    }
    out.retain(|f| f.chars().count() >= 5);
    out
}

fn assert_no_leak(runs: &[&Run], planted: &[(&str, &str, String)]) {
    for run in runs {
        let all = run.all_output();
        for (_, _, value) in planted {
            for form in forms(value) {
                assert!(
                    !all.contains(&form),
                    "output contains planted {form:?}:\n{all}"
                );
            }
        }
    }
}

#[test]
fn planted_identifiers_of_every_kind_and_form_are_found_and_never_echoed() {
    let fx = Fixture::new();
    let plants = planted();
    let text = fx.read("tokens.csv");
    let mut lines: Vec<Vec<String>> = text.lines().map(cells).collect();
    let header = lines[0].clone();
    assert_eq!(header.join(","), HEADER);
    // Plant each value in its own row.
    let mut expected: Vec<(&str, &str, u64)> = Vec::new();
    for (i, (column, kind, value)) in plants.iter().enumerate() {
        let row = i + 1;
        let col = header.iter().position(|h| h == column).unwrap();
        lines[row][col] = field(value);
        expected.push((column, kind, row as u64));
    }
    let planted_csv: String = lines.iter().map(|l| l.join(",") + "\n").collect();
    fx.write("planted.csv", &planted_csv);

    let human = fx.audit(&["tokens", "planted.csv", "--max-rows", "100"]);
    human.code(3);
    let json = fx.audit(&["tokens", "planted.csv", "--max-rows", "100", "--json"]);
    json.code(3);
    let with_manifest = fx.audit(&[
        "-vvv",
        "tokens",
        "planted.csv",
        "--manifest",
        "tokens.csv.manifest.json",
        "--key",
        "acme.key",
        "--source",
        "customers.csv",
        "--sample",
        "1000",
        "--seed",
        "5",
        "--json",
    ]);
    with_manifest.code(3);
    let manifest_audit = fx.audit(&[
        "-vvv",
        "manifest",
        "tokens.csv.manifest.json",
        "--output",
        "planted.csv",
    ]);
    manifest_audit.code(3);
    assert_no_leak(&[&human, &json, &with_manifest, &manifest_audit], &plants);

    let r = report(&json);
    let findings = r["findings"].as_array().unwrap();
    for (column, kind, row) in &expected {
        let found = findings.iter().any(|f| {
            f["check"] == "raw_identifier"
                && f["column"] == *column
                && f["kind"] == *kind
                && f["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x.as_u64() == Some(*row))
        });
        assert!(
            found,
            "planted {kind} in {column} row {row} not reported: {r:#}"
        );
    }
    // Exactly the planted cells: nothing else in the file looks like an identifier
    // (tokens, dates, amounts, ORD2024061513800138000123 stay clean).
    let raw: Vec<&Value> = findings
        .iter()
        .filter(|f| f["check"] == "raw_identifier")
        .collect();
    let total: u64 = raw.iter().map(|f| f["count"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, plants.len(), "{r:#}");
    // A raw value in a token column is also a malformed token.
    for column in ["phone", "email", "uscc", "cn_id"] {
        assert!(
            findings
                .iter()
                .any(|f| f["check"] == "malformed_token" && f["column"] == column),
            "{column}: {r:#}"
        );
    }
    // The human summary names columns, kinds and rows.
    assert!(
        human.stdout.contains("[raw_identifier] column 'note':"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("look like a phone number (rows 1, 2, 3"),
        "{}",
        human.stdout
    );
    assert!(human.stderr.contains("finding"), "{}", human.stderr);
    // Against the manifest the changed file also fails its hash and the sample.
    let r = report(&with_manifest);
    for check in ["raw_identifier", "file_hash_mismatch", "sample_mismatch"] {
        assert!(has_check(&r, check), "{check}: {r:#}");
    }
}

#[test]
fn a_header_that_is_an_identifier_is_reported_but_not_echoed() {
    let fx = Fixture::new();
    let text = fx.read("tokens.csv");
    let changed = text.replacen("note", "13812345678", 1);
    fx.write("header.csv", &changed);
    let run = fx.audit(&["tokens", "header.csv", "--json"]);
    run.code(3);
    assert!(has_check(&report(&run), "raw_identifier_in_header"));
    assert!(!run.all_output().contains("13812345678"), "{run:#?}");
}

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

// ---------------------------------------------------------------------------
// The JSON schemas describe what the commands really write.

/// A small structural check against a JSON Schema (draft 2020-12 subset: $ref to
/// $defs, type, const, enum, required, properties, additionalProperties,
/// propertyNames, items, minimum, maximum). Patterns and formats are not checked.
fn validate(schema: &Value, root: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").unwrap();
        validate(&root["$defs"][name], root, v, path, errors);
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap()).collect(),
            _ => panic!("bad type in schema at {path}"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            other => panic!("unknown type {other}"),
        });
        if !ok {
            errors.push(format!("{path}: expected {types:?}"));
            return;
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        errors.push(format!("{path}: expected {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{path}: not one of {e:?}"));
    }
    if let Some(n) = v.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            errors.push(format!("{path}: below minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            errors.push(format!("{path}: above maximum"));
        }
    }
    if let Some(obj) = v.as_object() {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = req.as_str().unwrap();
            if !obj.contains_key(key) {
                errors.push(format!("{path}: missing required `{key}`"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (key, value) in obj {
            let sub = format!("{path}.{key}");
            if let Some(names) = schema.get("propertyNames") {
                validate(names, root, &Value::String(key.clone()), &sub, errors);
            }
            match props.and_then(|p| p.get(key)) {
                Some(s) => validate(s, root, value, &sub, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{sub}: not allowed")),
                    Some(s @ Value::Object(_)) => validate(s, root, value, &sub, errors),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(items, root, item, &format!("{path}[{i}]"), errors);
        }
    }
}

pub(crate) fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schemas")
        .join(name);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    s
}

pub(crate) fn errors(schema: &Value, v: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(schema, schema, v, "$", &mut errors);
    errors
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

// ---------------------------------------------------------------------------
// Short-code columns are scanned too.

#[test]
fn raw_numbers_in_a_short_code_column_are_found_even_when_they_parse_as_codes() {
    use blindmatch_token::ShortCode;

    let fx = Fixture::new();
    util::run(
        &fx.dir,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "-i",
            "customers.csv",
            "-c",
            "phone:phone",
            "--short-code",
            "phone",
            "-k",
            "customer_id",
            "-o",
            "codes.csv",
            "-q",
        ],
    )
    .ok();
    let audit_codes = |file: &str| {
        fx.audit(&[
            "tokens",
            file,
            "--manifest",
            "codes.csv.manifest.json",
            "--json",
        ])
    };
    let r = report(&audit_codes("codes.csv"));
    assert_eq!(r["clean"], true, "{r:#}");
    let code_column = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "phone_code")
        .unwrap_or_else(|| panic!("no phone_code column: {r:#}"));
    assert_eq!(code_column["role"], "short_code", "{r:#}");

    // About one mobile number in 37 passes the code's check character as it is.
    let mobile = (0..10_000u64)
        .map(|i| format!("1380013{i:04}"))
        .find(|m| ShortCode::parse(m).is_ok())
        .unwrap();
    let dashed = format!("{}-{}-{}", &mobile[..3], &mobile[3..7], &mobile[7..]);
    assert!(ShortCode::parse(&dashed).is_ok(), "{dashed}");
    let plants = [mobile.clone(), dashed, format!("+86 {mobile}")];

    let text = fx.read("codes.csv");
    let mut lines: Vec<Vec<String>> = text.lines().map(cells).collect();
    let col = lines[0].iter().position(|h| h == "phone_code").unwrap();
    for (i, value) in plants.iter().enumerate() {
        lines[i + 1][col] = field(value);
    }
    fx.write(
        "planted.csv",
        &lines.iter().map(|l| l.join(",") + "\n").collect::<String>(),
    );
    let run = audit_codes("planted.csv");
    run.code(3);
    let r = report(&run);
    let phone_rows: Vec<u64> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "raw_identifier" && f["column"] == "phone_code")
        .flat_map(|f| f["rows"].as_array().unwrap().clone())
        .filter_map(|x| x.as_u64())
        .collect();
    assert_eq!(phone_rows, [1, 2, 3], "{r:#}");
    assert!(has_check(&r, "malformed_short_code"), "{r:#}");
    assert!(!run.stdout.contains(&mobile[3..]) && !run.stderr.contains(&mobile[3..]));
}

// ---------------------------------------------------------------------------
// Identifiers glued to letters or `_` are found; look-alikes are not.

/// (column, kind, value): raw identifiers glued to ASCII letters or `_`.
fn glued() -> Vec<(&'static str, &'static str, String)> {
    let mut p: Vec<(&str, &str, String)> = [
        "13800138000abc",
        "13800138000ext12",
        "13800138000_old",
        "a13800138000",
        "x13800138000y",
        "tel13800138010",
        "13800138000 ext12",
        "user_13912345678",
        "ORD15012345678X",
    ]
    .into_iter()
    .map(|v| ("note", "phone", v.to_owned()))
    .collect();
    p.push(("note", "cn_id", format!("id{}", cn_id("11010519491231002"))));
    p.push((
        "note",
        "cn_id",
        format!("{}_old", cn_id("32010219880808100")),
    ));
    p.push((
        "note",
        "uscc",
        format!("uscc{}", issued_uscc("91350100", "M000100Y")),
    ));
    p
}

/// Strings that are not identifiers, though many hold a mobile number's 11 digits
/// glued to letters: hex digests, UUIDs, tokens, base64, long order numbers,
/// timestamps, addresses and versions.
fn look_alikes(tokens: &[String]) -> Vec<String> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    let mut v: Vec<String> = [
        "ORD2024061513800138000123",
        "SO20240615138001380001",
        "INV2024A13800138000123",
        "1801234567890123456",
        "20240615138001",
        "T20240615138001Z",
        "1718438400123",
        "2024-06-15T13:38:00.138Z",
        "IMG_20240615_138001.jpg",
        "192.168.138.100",
        "10.13.80.138:8000",
        "v13.8.0",
        "1.38.0-rc.13800",
        "01HZX8P4QK7M2N9R3T5V6W8Y0A",
        "AKIAIOSFODNN7EXAMPLE",
        "550e8400-e29b-41d4-a716-a13800138000",
        "urn:uuid:f81d4fae-0138-4567-8901-00a0c91e6bf6",
        "0x2d711642b726b04401627ca9fbace18612345678",
        "ab13800138000cd1",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for i in 0..24u32 {
        let d = hex::encode(Sha256::digest(i.to_be_bytes()));
        let mobile = format!("139{:08}", 20_240_000 + i);
        // SHA-256 and SHA-1 lengths, plain and holding a glued mobile number.
        v.push(d.clone());
        v.push(format!("{}a{mobile}b{}", &d[..10], &d[23..]));
        v.push(format!("sha1:{}c{mobile}", &d[..28]));
        v.push(format!("file_{}e{mobile}.bin", &d[..28].to_uppercase()));
        // UUIDs (v4 layout), the last group a hex letter and 11 digits.
        v.push(format!(
            "{}-{}-4{}-a{}-{}",
            &d[..8],
            &d[8..12],
            &d[13..16],
            &d[17..20],
            &d[20..32]
        ));
        v.push(format!(
            "{}-{}-4{}-b{}-f{mobile}",
            &d[32..40],
            &d[40..44],
            &d[45..48],
            &d[49..52]
        ));
        v.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&d)));
        v.push(base64::engine::general_purpose::STANDARD.encode(&Sha256::digest(&d)[..24]));
        v.push(format!(
            "ORD20240615{:014}",
            u64::from(i) * 1_380_013_800_013
        ));
    }
    for t in tokens.iter().take(20) {
        v.push(t.clone());
        v.push(format!("ref {t};"));
    }
    v
}

#[test]
fn identifiers_glued_to_letters_are_found_and_look_alikes_are_not() {
    let fx = Fixture::new();
    let text = fx.read("tokens.csv");
    let lines: Vec<Vec<String>> = text.lines().map(cells).collect();
    let header = lines[0].clone();
    let note = header.iter().position(|h| h == "note").unwrap();
    let phone = header.iter().position(|h| h == "phone").unwrap();
    let tokens: Vec<String> = lines[1..]
        .iter()
        .map(|l| l[phone].clone())
        .filter(|t| t.starts_with("bm1."))
        .collect();
    let plants = glued();
    let alikes = look_alikes(&tokens);
    assert!(alikes.len() >= 200, "{}", alikes.len());
    // One note per row, the other cells copied from the real token file.
    let write = |name: &str, notes: &[String]| {
        let mut csv = format!("{}\n", header.join(","));
        for (i, value) in notes.iter().enumerate() {
            let mut row = lines[1 + i % ROWS].clone();
            row[note] = field(value);
            csv.push_str(&(row.join(",") + "\n"));
        }
        fx.write(name, &csv);
    };

    // Look-alikes alone: clean.
    write("alikes.csv", &alikes);
    let run = fx.audit(&["tokens", "alikes.csv", "--json"]);
    run.ok();
    let r = report(&run);
    assert_eq!(r["clean"], true, "{r:#}");
    let human = fx.audit(&["tokens", "alikes.csv"]);
    human.ok();
    assert!(human.stdout.contains("result: clean"), "{}", human.stdout);

    // Glued identifiers among the look-alikes: exactly their rows are reported.
    let mut notes: Vec<String> = Vec::new();
    let mut expected: Vec<(&str, u64)> = Vec::new();
    for (k, (_, kind, value)) in plants.iter().enumerate() {
        notes.extend(alikes.iter().skip(k * 7).take(7).cloned());
        notes.push(value.clone());
        expected.push((kind, notes.len() as u64));
    }
    notes.extend(alikes.iter().skip(plants.len() * 7).cloned());
    write("glued.csv", &notes);
    let json = fx.audit(&["tokens", "glued.csv", "--max-rows", "100", "--json"]);
    json.code(3);
    let human = fx.audit(&["tokens", "glued.csv", "--max-rows", "100"]);
    human.code(3);
    assert!(
        human.stdout.contains("[raw_identifier] column 'note':"),
        "{}",
        human.stdout
    );
    let r = report(&json);
    let raw: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "raw_identifier")
        .collect();
    for (kind, row) in &expected {
        let found = raw.iter().any(|f| {
            f["column"] == "note"
                && f["kind"] == *kind
                && f["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x.as_u64() == Some(*row))
        });
        assert!(found, "glued {kind} in row {row} not reported: {r:#}");
    }
    let total: u64 = raw.iter().map(|f| f["count"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, plants.len(), "{r:#}");
    assert_no_leak(&[&json, &human], &plants);

    // A header glued to a mobile number is reported, and not printed.
    let renamed = text.replacen("note", "remark_13800138000", 1);
    fx.write("header.csv", &renamed);
    let run = fx.audit(&["tokens", "header.csv", "--json"]);
    run.code(3);
    assert!(has_check(&report(&run), "raw_identifier_in_header"));
    assert!(!run.all_output().contains("13800138000"), "{run:#?}");
}
