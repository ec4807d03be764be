//! Refusals on both sides: fingerprints, mismatches, peer-set bounds and bad usage.

use super::*;

#[test]
fn wrong_fingerprint_is_refused_naming_expected_and_presented() {
    let f = Fixture::new(150, 150, 40);
    let stranger = new_identity(&f.b, "mallory");
    // The connector pins the wrong certificate: it refuses the listener.
    let a = Party::spawn(&f.a, &f.a_args(&["--wait-timeout", "8s"]), &[], None);
    let addr = a.listening_addr();
    let mut b_args = f.b_args(&addr, &[]);
    let i = b_args.iter().position(|x| *x == f.fp_a).unwrap();
    b_args[i] = stranger.clone();
    let rb = Party::spawn(&f.b, &b_args, &[], None).finish(DEADLINE);
    rb.code(3)
        .stderr_has(&format!("expected fingerprint {stranger}"))
        .stderr_has(&format!("peer presented {}", f.fp_a))
        .stderr_has("hint: ");
    // The listener saw a refused connection and gave up waiting, with nothing written.
    let ra = a.finish(DEADLINE);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    ra.stderr_has("connection refused").stderr_has("no partner");
    assert!(!f.a.join("matched.csv").exists());
    assert!(!f.b.join("matched.csv").exists());
    assert!(!f.a.join("matched.csv.receipt.json").exists());

    // The listener pins the wrong certificate: it refuses the connector, names both
    // fingerprints in its log, and the connector is told.
    let mut a_args = f.a_args(&["--wait-timeout", "8s"]);
    let i = a_args.iter().position(|x| *x == f.fp_b).unwrap();
    a_args[i] = stranger.clone();
    let a = Party::spawn(&f.a, &a_args, &[], None);
    let addr = a.listening_addr();
    let rb = Party::spawn(&f.b, &f.b_args(&addr, &[]), &[], None).finish(DEADLINE);
    assert_ne!(rb.code, Some(0), "{rb:#?}");
    rb.stderr_has("refused");
    let ra = a.finish(DEADLINE);
    ra.stderr_has(&format!("expected fingerprint {stranger}"))
        .stderr_has(&format!("peer presented {}", f.fp_b));
    assert!(!f.a.join("matched.csv").exists());
    assert!(!f.b.join("matched.csv").exists());
}

#[test]
fn mismatched_mode_type_or_profile_is_refused_on_both_sides() {
    let f = Fixture::new(150, 150, 40);
    let cases: [(&[&str], &[&str], &str, &str); 4] = [
        (
            &["--mode", "cardinality"],
            &[],
            "mode mismatch",
            "mode_mismatch",
        ),
        (
            &["--reveal", "me"],
            &["--reveal", "me"],
            "reveal mismatch",
            "reveal_mismatch",
        ),
        (
            &[],
            &["--column", "mobile:raw"],
            "identifier type mismatch",
            "id_type_mismatch",
        ),
        (
            &["--phone-region", "86"],
            &[],
            "profile mismatch",
            "profile_mismatch",
        ),
    ];
    for (a_extra, b_extra, reason, code) in cases {
        let a = Party::spawn(&f.a, &f.a_args(a_extra), &[], None);
        let addr = a.listening_addr();
        let b_args = f.b_args(&addr, b_extra);
        let rb = Party::spawn(&f.b, &b_args, &[], None).finish(DEADLINE);
        let ra = a.finish(DEADLINE);
        for (side, run) in [("listener", &ra), ("connector", &rb)] {
            assert_eq!(run.code, Some(3), "{reason}: {side}: {run:#?}");
            assert!(
                run.stderr.contains(reason) || run.stderr.contains(code),
                "{reason}: the {side} does not say why: {run:#?}"
            );
            assert!(run.stderr.contains("hint: "), "{run:#?}");
        }
        // The side that refused names the reason itself; the other quotes it.
        assert!(
            ra.stderr.contains(reason) && rb.stderr.contains(reason),
            "{ra:#?} {rb:#?}"
        );
        for dir in [&f.a, &f.b] {
            assert!(!dir.join("matched.csv").exists(), "{reason}");
            assert!(!dir.join("matched.csv.receipt.json").exists(), "{reason}");
        }
    }
}

#[test]
fn peer_below_min_peer_set_is_refused() {
    let f = Fixture::new(150, 120, 40);
    let (ra, rb) = f.session(&["--min-peer-set", "1000"], &[]);
    ra.code(3)
        .stderr_has("below our minimum of 1000")
        .stderr_has("--min-peer-set");
    rb.code(3)
        .stderr_has("peer_set_too_small")
        .stderr_has("hint: ");
    for dir in [&f.a, &f.b] {
        assert!(!dir.join("matched.csv").exists());
    }
}

#[test]
fn peer_above_max_peer_set_is_refused_before_our_hello() {
    let f = Fixture::new(150, 320, 40);
    let (ra, rb) = f.session(&["--max-peer-set", "200"], &[]);
    ra.code(3)
        .stderr_has("above our maximum of 200")
        .stderr_has("--max-peer-set");
    rb.code(3)
        .stderr_has("peer_set_too_large")
        .stderr_has("hint: ");
    for dir in [&f.a, &f.b] {
        assert!(!dir.join("matched.csv").exists());
    }
}

#[test]
fn max_peer_set_beyond_the_ceiling_or_below_the_minimum_is_bad_usage() {
    let f = Fixture::new(150, 120, 40);
    for (value, says) in [("2000000000", "ceiling"), ("50", "below --min-peer-set")] {
        let args = f.a_args(&["--min-peer-set", "100", "--max-peer-set", value]);
        util::run(&f.a, &args.iter().map(String::as_str).collect::<Vec<_>>())
            .code(2)
            .stderr_has(says);
    }
}

#[test]
fn bad_usage_is_refused_before_any_connection() {
    let f = Fixture::new(20, 20, 5);
    let run =
        |args: Vec<String>| util::run(&f.a, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let base = || f.a_args(&[]);

    // A learner needs -o.
    let args: Vec<String> = base()
        .into_iter()
        .filter(|a| a != "-o" && a != "matched.csv")
        .collect();
    run(args).code(2).stderr_has("-o FILE is required");

    // Rules and columns must fit: a rule needs a column of each of its types, a
    // column must serve a rule, and a type comes from one column.
    let mut args = base();
    args.extend(["--rule".to_owned(), "name+phone".to_owned()]);
    run(args)
        .code(2)
        .stderr_has("--rule phone+name needs a column of type name");
    let mut args = base();
    args.extend([
        "--column".to_owned(),
        "notes:text".to_owned(),
        "--rule".to_owned(),
        "phone".to_owned(),
    ]);
    run(args)
        .code(2)
        .stderr_has("--column notes:text is in no --rule");
    let mut args = base();
    args.extend(["--column".to_owned(), "notes:phone".to_owned()]);
    run(args)
        .code(2)
        .stderr_has("columns 'phone' and 'notes' are both of type phone");
    let mut args = base();
    args.extend(["--rule".to_owned(), "phone+passport".to_owned()]);
    run(args).code(2).stderr_has("passport");

    // A fingerprint that is not one.
    let mut args = base();
    let i = args.iter().position(|x| *x == f.fp_b).unwrap();
    args[i] = "sha256:1234".to_owned();
    run(args)
        .code(2)
        .stderr_has("--peer-fingerprint")
        .stderr_has("hint: ");

    // A missing identity.
    let mut args = base();
    let i = args.iter().position(|x| x == "alice").unwrap();
    args[i] = "nobody".to_owned();
    run(args)
        .code(2)
        .stderr_has("cannot load identity 'nobody'");

    // An existing output is never replaced.
    std::fs::write(f.a.join("matched.csv"), "keep me").unwrap();
    run(base()).code(2).stderr_has("already exists");
    assert_eq!(
        std::fs::read_to_string(f.a.join("matched.csv")).unwrap(),
        "keep me"
    );
    std::fs::remove_file(f.a.join("matched.csv")).unwrap();

    // Too many rejects: stop before connecting.
    let mut args = base();
    args.extend(["--max-reject-rate".to_owned(), "0.1%".to_owned()]);
    run(args).code(3).stderr_has("nothing was sent");

    // A file without a header row: the hint lists its columns by position, never
    // the values of its first line.
    std::fs::write(
        f.a.join("headerless.csv"),
        "13812345678,alice@example.com\n",
    )
    .unwrap();
    let mut args = base();
    let i = args.iter().position(|x| x == "customers.csv").unwrap();
    args[i] = "headerless.csv".to_owned();
    let refused = run(args);
    refused
        .code(2)
        .stderr_has("column 'phone' (--column) is not in the header")
        .stderr_has("hint: columns in the file: column 1, column 2");
    for raw in ["13812345678", "alice"] {
        assert!(!refused.all_output().contains(raw), "{refused:#?}");
    }
    std::fs::remove_file(f.a.join("headerless.csv")).unwrap();

    // Neither --listen nor --connect.
    util::run(
        &f.a,
        &[
            "match",
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
        ],
    )
    .code(2);
    assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
}
