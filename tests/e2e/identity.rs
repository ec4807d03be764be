//! `blindmatch identity new/show`: files, permissions, the fingerprint on stdout,
//! never overwriting, and the fingerprint being the certificate's SHA-256.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::util;

/// SHA-256 of the DER inside a PEM certificate file, as `sha256:hex`.
fn fingerprint_of(pem: &str) -> String {
    let body: String = pem
        .split_once("-----BEGIN CERTIFICATE-----")
        .unwrap()
        .1
        .split_once("-----END CERTIFICATE-----")
        .unwrap()
        .0
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    format!("sha256:{}", hex::encode(Sha256::digest(der)))
}

#[test]
fn new_writes_a_private_key_and_a_certificate_and_prints_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let run = util::run(dir.path(), &["identity", "new", "-o", "acme"]);
    run.ok().stderr_has("acme.key").stderr_has("mode 0600");
    let fp = run.stdout.trim();
    assert_eq!(run.stdout.lines().count(), 1, "{run:#?}");
    assert!(fp.starts_with("sha256:") && fp.len() == 7 + 64, "{fp}");
    assert_eq!(util::files_in(dir.path()), ["acme.crt", "acme.key"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |n: &str| {
            std::fs::metadata(dir.path().join(n))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("acme.key"), 0o600);
        assert_eq!(mode("acme.crt") & 0o077, 0o044);
    }
    let cert = std::fs::read_to_string(dir.path().join("acme.crt")).unwrap();
    assert_eq!(fingerprint_of(&cert), fp);
    // The key is never printed.
    let key = std::fs::read_to_string(dir.path().join("acme.key")).unwrap();
    let key_body = key
        .lines()
        .find(|l| l.len() > 40 && !l.starts_with('#'))
        .unwrap();
    assert!(!run.all_output().contains(key_body));

    // show prints the same fingerprint, from the name, the key path or the cert path.
    for name in ["acme", "acme.key", "acme.crt"] {
        let show = util::run(dir.path(), &["identity", "show", name]);
        assert_eq!(show.ok().stdout.trim(), fp, "{name}");
    }
    // A certificate alone (as a partner would send it) works too.
    std::fs::create_dir(dir.path().join("partner")).unwrap();
    std::fs::copy(
        dir.path().join("acme.crt"),
        dir.path().join("partner/acme.crt"),
    )
    .unwrap();
    let show = util::run(dir.path(), &["identity", "show", "partner/acme.crt"]);
    assert_eq!(show.ok().stdout.trim(), fp);
}

#[test]
fn new_never_overwrites_and_checks_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let first = util::run(dir.path(), &["identity", "new", "-o", "acme"]);
    first.ok();
    let key_before = std::fs::read(dir.path().join("acme.key")).unwrap();
    util::run(dir.path(), &["identity", "new", "-o", "acme"])
        .code(2)
        .stderr_has("exists already")
        .stderr_has("hint: ");
    assert_eq!(
        std::fs::read(dir.path().join("acme.key")).unwrap(),
        key_before
    );

    util::run(
        dir.path(),
        &["identity", "new", "-o", "x", "--name", "no spaces"],
    )
    .code(2)
    .stderr_has("identity name");
    util::run(
        dir.path(),
        &["identity", "new", "-o", "missing-folder/acme"],
    )
    .code(2);
    assert_eq!(util::files_in(dir.path()), ["acme.crt", "acme.key"]);

    // Two identities never share a fingerprint.
    let second = util::run(dir.path(), &["identity", "new", "-o", "other"]);
    assert_ne!(second.ok().stdout, first.stdout);
}

#[test]
fn show_explains_a_missing_or_broken_identity() {
    let dir = tempfile::tempdir().unwrap();
    util::run(dir.path(), &["identity", "show", "nobody"])
        .code(2)
        .stderr_has("cannot load identity 'nobody'")
        .stderr_has("blindmatch identity new");
    std::fs::write(dir.path().join("bad.crt"), "not a certificate").unwrap();
    util::run(dir.path(), &["identity", "show", "bad.crt"])
        .code(2)
        .stderr_has("no PEM certificate");
}
