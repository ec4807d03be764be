//! `blindmatch keygen`, `key derive` and `key show`: key files written 0600 and never
//! overwritten, key IDs printed and keys never, derivations that separate partners
//! and purposes, shared-secret derivations that agree, and bad key files.

use std::fs;
use std::path::Path;

use crate::util::{assert_files, files_in, run};

/// The `key:` line's value (unpadded base64url) of a key file.
pub fn key_b64(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap()
        .trim()
        .to_owned()
}

/// The `key-id:` line's value of a key file.
pub fn key_id(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("key-id: "))
        .unwrap()
        .trim()
        .to_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_a_private_key_file_and_prints_only_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(dir.path(), &["keygen", "-o", "acme.key"]);
    run.ok();
    let path = dir.path().join("acme.key");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("blindmatch-key v1\n"), "{text}");
    assert!(text.contains("purpose: master"), "{text}");
    assert!(text.contains("algorithm: hmac-sha256"), "{text}");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let id = key_id(&path);
    assert!(run.stdout.contains(&id), "{run:#?}");
    assert!(!run.all_output().contains(&key_b64(&path)), "{run:#?}");
    assert_files(dir.path(), &["acme.key"]);
    // Two keys are different.
    crate::util::run(dir.path(), &["keygen", "-o", "other.key"]).ok();
    assert_ne!(key_b64(&path), key_b64(&dir.path().join("other.key")));
    assert_ne!(id, key_id(&dir.path().join("other.key")));
}

#[test]
fn keygen_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["keygen", "-o", "acme.key"]).ok();
    let before = fs::read(dir.path().join("acme.key")).unwrap();
    let run = run(dir.path(), &["keygen", "-o", "acme.key"]);
    run.code(2)
        .stderr_has("error: key file 'acme.key' already exists")
        .stderr_has("hint: ");
    assert_eq!(fs::read(dir.path().join("acme.key")).unwrap(), before);
    assert_files(dir.path(), &["acme.key"]);
}

#[test]
fn keygen_refuses_stdout_and_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["keygen", "-o", "-"])
        .code(2)
        .stderr_has("never written to standard output")
        .stderr_has("hint: ");
    run(dir.path(), &["keygen", "-o", "no/such/folder/acme.key"])
        .code(2)
        .stderr_has("cannot write key file 'no/such/folder/acme.key'")
        .stderr_has("hint: ");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn key_show_prints_metadata_but_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["keygen", "-o", "acme.key"]).ok();
    let run = run(dir.path(), &["key", "show", "acme.key"]);
    run.ok();
    let path = dir.path().join("acme.key");
    assert!(run.stdout.contains(&key_id(&path)), "{run:#?}");
    for field in [
        "created:",
        "purpose:     master",
        "derivation:  random",
        "owner only",
    ] {
        assert!(run.stdout.contains(field), "missing {field}: {run:#?}");
    }
    assert!(!run.all_output().contains(&key_b64(&path)));
}

#[test]
fn derived_keys_differ_per_partner_and_purpose_and_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["keygen", "-o", "master.key"]).ok();
    let derive = |partner: &str, purpose: &str, out: &str| {
        run(
            d,
            &[
                "key",
                "derive",
                "--master",
                "master.key",
                "--partner",
                partner,
                "--purpose",
                purpose,
                "-o",
                out,
            ],
        )
    };
    derive("insurer-x", "token", "x.key").ok();
    derive("insurer-x", "token", "x-again.key").ok();
    derive("retailer-y", "token", "y.key").ok();
    derive("insurer-x", "short-code", "x-codes.key").ok();
    let id = |name: &str| key_id(&d.join(name));
    assert_eq!(id("x.key"), id("x-again.key"));
    assert_ne!(id("x.key"), id("y.key"));
    assert_ne!(id("x.key"), id("x-codes.key"));
    assert_ne!(id("x.key"), id("master.key"));
    #[cfg(unix)]
    assert_eq!(mode(&d.join("x.key")), 0o600);
    let show = run(d, &["key", "show", "x.key"]);
    show.ok();
    assert!(show.stdout.contains("purpose:     token"), "{show:#?}");
    assert!(
        show.stdout.contains(&format!(
            "hkdf-sha256 master={} partner=insurer-x",
            id("master.key")
        )),
        "{show:#?}"
    );
    // No partner: one in-house key per purpose.
    run(
        d,
        &[
            "key",
            "derive",
            "--master",
            "master.key",
            "-o",
            "inhouse.key",
        ],
    )
    .ok();
    assert_ne!(id("inhouse.key"), id("x.key"));
    // Existing output is refused.
    derive("insurer-x", "token", "x.key")
        .code(2)
        .stderr_has("key file 'x.key' already exists");
}

#[test]
fn derive_refuses_bad_sources_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["keygen", "-o", "master.key"]).ok();
    run(
        d,
        &[
            "key",
            "derive",
            "--master",
            "master.key",
            "--partner",
            "x",
            "-o",
            "x.key",
        ],
    )
    .ok();
    // A derived key is not a master key.
    run(d, &["key", "derive", "--master", "x.key", "-o", "xx.key"])
        .code(2)
        .stderr_has("key file 'x.key' is a token key, not a master key")
        .stderr_has("hint: ");
    // Partner names are restricted to a safe alphabet.
    run(
        d,
        &[
            "key",
            "derive",
            "--master",
            "master.key",
            "--partner",
            "bad name",
            "-o",
            "b.key",
        ],
    )
    .code(2)
    .stderr_has("cannot derive the key")
    .stderr_has("hint: ");
    // Master keys are generated, not derived.
    run(
        d,
        &[
            "key",
            "derive",
            "--master",
            "master.key",
            "--purpose",
            "master",
            "-o",
            "m.key",
        ],
    )
    .code(2)
    .stderr_has("--purpose master");
    // Neither source given: a usage error.
    run(d, &["key", "derive", "-o", "n.key"]).code(2);
    // A missing master key file.
    run(
        d,
        &["key", "derive", "--master", "missing.key", "-o", "n.key"],
    )
    .code(2)
    .stderr_has("key file 'missing.key' not found")
    .stderr_has("hint: ");
    assert_files(d, &["master.key", "x.key"]);
}

#[test]
fn partners_with_a_shared_secret_derive_the_same_key() {
    let acme = tempfile::tempdir().unwrap();
    let bank = tempfile::tempdir().unwrap();
    // Acme makes the secret and hands a copy to the bank.
    run(acme.path(), &["keygen", "-o", "shared.key"]).ok();
    fs::copy(
        acme.path().join("shared.key"),
        bank.path().join("shared.key"),
    )
    .unwrap();
    for dir in [acme.path(), bank.path()] {
        run(
            dir,
            &[
                "key",
                "derive",
                "--shared-secret-file",
                "shared.key",
                "--collaboration",
                "acme-bank-2026q3",
                "-o",
                "clean-room.key",
            ],
        )
        .ok();
        run(
            dir,
            &[
                "key",
                "derive",
                "--shared-secret-file",
                "shared.key",
                "--collaboration",
                "acme-bank-2027q1",
                "-o",
                "next.key",
            ],
        )
        .ok();
    }
    let a = key_id(&acme.path().join("clean-room.key"));
    assert_eq!(a, key_id(&bank.path().join("clean-room.key")));
    assert_eq!(
        key_b64(&acme.path().join("clean-room.key")),
        key_b64(&bank.path().join("clean-room.key"))
    );
    assert_ne!(a, key_id(&acme.path().join("next.key")));
    assert_ne!(a, key_id(&acme.path().join("shared.key")));

    // Both sides tokenise the same customers alike.
    let csv = "id,phone\n1,+86 138 1234 5678\n2,0086-139-8765-4321\n";
    let mut outputs = Vec::new();
    for dir in [acme.path(), bank.path()] {
        fs::write(dir.join("c.csv"), csv).unwrap();
        run(
            dir,
            &[
                "tokenize",
                "--key",
                "clean-room.key",
                "--input",
                "c.csv",
                "--column",
                "phone:phone",
                "-o",
                "t.csv",
            ],
        )
        .ok();
        outputs.push(fs::read_to_string(dir.join("t.csv")).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);

    // A raw secret file works too, but must be long enough.
    let d = acme.path();
    fs::write(d.join("raw.bin"), [7u8; 32]).unwrap();
    run(
        d,
        &[
            "key",
            "derive",
            "--shared-secret-file",
            "raw.bin",
            "--collaboration",
            "c",
            "-o",
            "raw.key",
        ],
    )
    .ok();
    fs::write(d.join("short.bin"), b"tooshort").unwrap();
    run(
        d,
        &[
            "key",
            "derive",
            "--shared-secret-file",
            "short.bin",
            "--collaboration",
            "c",
            "-o",
            "short.key",
        ],
    )
    .code(2)
    .stderr_has("cannot derive a key from 'short.bin'")
    .stderr_has("hint: ");
    assert!(!d.join("short.key").exists());
}

#[test]
fn unusable_key_files_are_refused_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("c.csv"), "id,phone\n1,13812345678\n").unwrap();
    let tokenize = |key: &str| {
        run(
            d,
            &[
                "tokenize",
                "--key",
                key,
                "--input",
                "c.csv",
                "--column",
                "phone:phone",
                "-o",
                "t.csv",
            ],
        )
    };
    // Missing.
    tokenize("missing.key")
        .code(2)
        .stderr_has("--key: key file 'missing.key' not found")
        .stderr_has("hint: ");
    // Not a key file at all.
    fs::write(d.join("garbage.key"), "hello\n").unwrap();
    tokenize("garbage.key")
        .code(2)
        .stderr_has("key file 'garbage.key' line 1")
        .stderr_has("hint: ");
    // A damaged key line.
    run(d, &["keygen", "-o", "good.key"]).ok();
    let text = fs::read_to_string(d.join("good.key")).unwrap();
    let damaged: String = text
        .lines()
        .map(|l| {
            if l.starts_with("key: ") {
                "key: not*base64".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let line = text.lines().position(|l| l.starts_with("key: ")).unwrap() + 1;
    fs::write(d.join("damaged.key"), damaged).unwrap();
    tokenize("damaged.key")
        .code(2)
        .stderr_has(&format!("key file 'damaged.key' line {line}"))
        .stderr_has("hint: ");
    // A folder, not a file.
    fs::create_dir(d.join("dir.key")).unwrap();
    tokenize("dir.key").code(2).stderr_has("key file 'dir.key'");
    // Unreadable (permission bits; root can read anything, so only check as non-root).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::copy(d.join("good.key"), d.join("locked.key")).unwrap();
        fs::set_permissions(d.join("locked.key"), fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(d.join("locked.key")).is_err() {
            tokenize("locked.key")
                .code(2)
                .stderr_has("cannot read key file 'locked.key'")
                .stderr_has("hint: ");
        }
        fs::set_permissions(d.join("locked.key"), fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(!d.join("t.csv").exists());
    assert!(files_in(d).iter().all(|f| !f.ends_with("tmp")));
}

#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_is_a_warning_not_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["keygen", "-o", "acme.key"]).ok();
    fs::set_permissions(d.join("acme.key"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(d.join("c.csv"), "id,phone\n1,13812345678\n").unwrap();
    let run = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "c.csv",
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ],
    );
    run.ok()
        .stderr_has("warning: key file 'acme.key' is readable by others (mode 0644)")
        .stderr_has("chmod 600 acme.key");
    assert!(d.join("t.csv").exists());
    // `-q` silences notes and progress, never this warning.
    let quiet = crate::util::run(
        d,
        &[
            "tokenize",
            "-q",
            "--key",
            "acme.key",
            "--input",
            "c.csv",
            "--column",
            "phone:phone",
            "-o",
            "t2.csv",
        ],
    );
    quiet
        .ok()
        .stderr_has("warning: key file 'acme.key' is readable by others (mode 0644)");
    let show = crate::util::run(d, &["key", "show", "acme.key"]);
    show.ok();
    assert!(show.stdout.contains("0644"), "{show:#?}");
}

#[test]
fn a_short_code_key_does_not_make_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["keygen", "--purpose", "short-code", "-o", "codes.key"]).ok();
    fs::write(d.join("c.csv"), "id,phone\n1,13812345678\n").unwrap();
    run(
        d,
        &[
            "tokenize",
            "--key",
            "codes.key",
            "--input",
            "c.csv",
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ],
    )
    .code(2)
    .stderr_has("is a short-code key, not a token key")
    .stderr_has("hint: ");
    assert_files(d, &["c.csv", "codes.key"]);
}

#[test]
fn an_edited_purpose_line_is_refused_by_every_command_that_reads_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("c.csv"), "id,phone\n1,13812345678\n").unwrap();
    run(d, &["keygen", "-o", "acme.key"]).ok();
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
            "token.key",
        ],
    )
    .ok();
    run(d, &["keygen", "-o", "old.key"]).ok();
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "-i",
            "c.csv",
            "-c",
            "phone:phone",
            "-o",
            "t.csv",
        ],
    )
    .ok();
    // master → token, and token → short-code, each by hand.
    for (file, from, to) in [
        ("acme.key", "master", "token"),
        ("token.key", "token", "short-code"),
    ] {
        let text = fs::read_to_string(d.join(file)).unwrap();
        let line = text
            .lines()
            .position(|l| l.starts_with("purpose:"))
            .unwrap()
            + 1;
        let edited = text.replace(&format!("purpose: {from}\n"), &format!("purpose: {to}\n"));
        assert_ne!(edited, text);
        let name = format!("edited-{file}");
        fs::write(d.join(&name), edited).unwrap();
        let secret = key_b64(&d.join(file));
        let commands: Vec<Vec<&str>> = vec![
            vec!["key", "show", &name],
            vec![
                "tokenize",
                "--key",
                &name,
                "-i",
                "c.csv",
                "-c",
                "phone:phone",
                "-o",
                "u.csv",
            ],
            vec![
                "tokenize",
                "--key",
                "old.key",
                "--previous-key",
                &name,
                "-i",
                "c.csv",
                "-c",
                "phone:phone",
                "-o",
                "u.csv",
            ],
            vec![
                "key",
                "derive",
                "--master",
                &name,
                "--purpose",
                "short-code",
                "-o",
                "d.key",
            ],
            vec![
                "key",
                "derive",
                "--shared-secret-file",
                &name,
                "--collaboration",
                "acme-globex",
                "--purpose",
                "token",
                "-o",
                "d.key",
            ],
            vec!["audit", "tokens", "t.csv", "--key", &name],
        ];
        for args in commands {
            let result = run(d, &args);
            result
                .code(2)
                .stderr_has(&format!(
                    "key file '{name}' line {line}: the purpose line was changed"
                ))
                .stderr_has("hint: ");
            assert!(!result.all_output().contains(&secret), "{args:?}");
        }
        assert!(!d.join("u.csv").exists() && !d.join("d.key").exists());
    }
}
