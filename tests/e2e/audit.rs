//! `blindmatch audit`: token files made by the real `keygen` + `tokenize`, receipts
//! made by the real `demo` session. Planted raw identifiers of every type and
//! written form are found (by column, kind and row); clean files pass; tampered
//! files, receipts and manifests fail with exit code 3; and no audit output ever
//! contains a planted value in any form.

use std::path::Path;

use serde_json::Value;

use crate::util::{self, Run};

mod clean;
mod leaks;
mod manifest;
mod receipts;

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
