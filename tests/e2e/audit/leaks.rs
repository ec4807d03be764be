//! Planted, short-code and glued raw identifiers are found and never echoed; look-alikes are not.

use super::*;

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
