//! `blindmatch tokenize --short-code-registry`: codes issued in one run are
//! remembered in a registry file (codes and MAC remainders, no identifier), so a
//! later run that would give an earlier code to another identifier stops with
//! exit 1, names no value, writes nothing and leaves the registry as it was.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use blindmatch_token::{Derivation, IdType, Key, KeyFile, KeyPurpose, ShortCoder};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{Run, assert_files, run};

/// A master key file with fixed bytes, so the search below finds the same pair
/// every time.
fn fixed_key(dir: &Path) -> KeyFile {
    let file = KeyFile::new(
        Key::from_bytes([7; 32]),
        KeyPurpose::Master,
        Derivation::Random,
        time::OffsetDateTime::now_utc(),
    );
    file.write_new(&dir.join("acme.key")).unwrap();
    file
}

/// Two different `raw` values with one 8-character code under `key`: a birthday
/// search over about a million values (40 bits), as the command derives codes.
fn colliding_pair(key: &KeyFile) -> (String, String) {
    let coder = ShortCoder::new(key.key(), ShortCoder::MIN_LEN).unwrap();
    let value_of = |i: u32| format!("c{i:08}");
    let mut seen: HashMap<String, u32> = HashMap::new();
    (0u32..)
        .find_map(|i| {
            let code = coder.code(IdType::Raw, value_of(i).as_bytes());
            seen.insert(code.to_string(), i)
                .map(|first| (value_of(first), value_of(i)))
        })
        .unwrap()
}

fn tokenize(dir: &Path, input: &str, output: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "tokenize",
        "--key",
        "acme.key",
        "--input",
        input,
        "--column",
        "id:raw",
        "--keep",
        "note",
        "--short-code",
        "id",
        "--short-code-len",
        "8",
        "--short-code-registry",
        "codes.registry",
        "-o",
        output,
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

#[test]
fn a_collision_with_a_code_from_an_earlier_run_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = fixed_key(d);
    let (a, b) = colliding_pair(&key);
    assert_ne!(a, b);
    let registry = d.join("codes.registry");

    // Run 1 issues A's code and starts the registry.
    fs::write(d.join("one.csv"), format!("id,note\n{a},x\n")).unwrap();
    tokenize(d, "one.csv", "one-out.csv", &[])
        .ok()
        .stderr_has("short-code registry: 'codes.registry', 1 codes (1 new)");
    let text = fs::read_to_string(&registry).unwrap();
    assert!(
        text.starts_with("blindmatch-short-code-registry v1\n"),
        "{text}"
    );
    assert!(!text.contains(&a), "{text}");
    assert_eq!(text.lines().count(), 5, "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&registry).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(d.join("one-out.csv.manifest.json")).unwrap())
            .unwrap();
    let schema = crate::audit::schema("manifest.schema.json");
    assert_eq!(
        crate::audit::errors(&schema, &manifest),
        Vec::<String>::new()
    );
    let recorded = &manifest["short_code_registry"];
    assert_eq!(recorded["codes_before"], 0);
    assert_eq!(recorded["codes_after"], 1);
    assert_eq!(recorded["length"], 8);
    assert_eq!(recorded["path"], "codes.registry");
    assert_eq!(recorded["bytes"], text.len() as u64);
    assert_eq!(
        recorded["sha256"],
        hex::encode(Sha256::digest(text.as_bytes()))
    );
    let code_key = ShortCoder::new(key.key(), 8).unwrap().key_id().to_string();
    assert_eq!(recorded["key_id"], code_key.as_str());
    assert!(text.contains(&format!("key-id: {code_key}\n")));

    // Run 2: B gets A's code. Exit 1, no value named, nothing written, the
    // registry unchanged.
    fs::write(d.join("two.csv"), format!("id,note\nc-other,y\n{b},z\n")).unwrap();
    let failed = tokenize(d, "two.csv", "two-out.csv", &[]);
    failed
        .code(1)
        .stderr_has("column 'id': short codes collide")
        .stderr_has("row 2 is a different identifier")
        .stderr_has("a code issued in an earlier run")
        .stderr_has("hint: ");
    assert!(!failed.all_output().contains(&a) && !failed.all_output().contains(&b));
    assert_eq!(fs::read_to_string(&registry).unwrap(), text);
    assert_files(
        d,
        &[
            "acme.key",
            "codes.registry",
            "one-out.csv",
            "one-out.csv.manifest.json",
            "one.csv",
            "two.csv",
        ],
    );

    // A repeat of A and a new value pass, and the registry grows by one.
    fs::write(d.join("three.csv"), format!("id,note\n{a},x\nc-new,y\n")).unwrap();
    tokenize(d, "three.csv", "three-out.csv", &[])
        .ok()
        .stderr_has("2 codes (1 new)");
    let grown = fs::read_to_string(&registry).unwrap();
    assert!(grown.contains(text.lines().nth(4).unwrap()));
    assert_eq!(grown.lines().count(), 6);
}

#[test]
fn a_registry_for_another_length_or_key_or_a_damaged_one_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fixed_key(d);
    fs::write(d.join("in.csv"), "id,note\nc1,x\n").unwrap();
    tokenize(d, "in.csv", "first.csv", &[]).ok();
    let text = fs::read_to_string(d.join("codes.registry")).unwrap();
    let before = |d: &Path| fs::read_to_string(d.join("codes.registry")).unwrap();

    // Another length: line 4 names it.
    let other_len = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "in.csv",
            "--column",
            "id:raw",
            "--short-code",
            "id",
            "--short-code-registry",
            "codes.registry",
            "-o",
            "out.csv",
        ],
    );
    other_len
        .code(2)
        .stderr_has("--short-code-registry 'codes.registry' line 4: the registry holds codes of 8 characters")
        .stderr_has("hint: ");
    // Another key: line 3.
    fs::rename(d.join("acme.key"), d.join("fixed.key")).unwrap();
    run(d, &["keygen", "-o", "acme.key"]).ok();
    tokenize(d, "in.csv", "out.csv", &[])
        .code(2)
        .stderr_has("'codes.registry' line 3: the registry is for code key");
    fs::remove_file(d.join("acme.key")).unwrap();
    fs::rename(d.join("fixed.key"), d.join("acme.key")).unwrap();
    // A damaged code line: line 5, and the line's text is not shown.
    let code_line = text.lines().nth(4).unwrap().to_owned();
    fs::write(
        d.join("codes.registry"),
        text.replace(&code_line, &format!("{code_line} extra")),
    )
    .unwrap();
    let damaged = tokenize(d, "in.csv", "out.csv", &[]);
    damaged
        .code(2)
        .stderr_has("'codes.registry' line 5: expected `CODE FINGERPRINT`");
    assert!(!damaged.all_output().contains(&code_line));
    assert!(before(d).contains(" extra"));
    assert!(!d.join("out.csv").exists());
    // The registry must be a file of its own, and needs --short-code.
    fs::write(d.join("codes.registry"), &text).unwrap();
    tokenize(d, "in.csv", "codes.registry", &["--force"])
        .code(2)
        .stderr_has("--short-code-registry and -o name the same file");
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "in.csv",
            "--column",
            "id:raw",
            "--short-code-registry",
            "codes.registry",
            "-o",
            "out.csv",
        ],
    )
    .code(2);
    assert_eq!(before(d), text);
    assert_files(
        d,
        &[
            "acme.key",
            "codes.registry",
            "first.csv",
            "first.csv.manifest.json",
            "in.csv",
        ],
    );
}
