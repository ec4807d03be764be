//! `blindmatch demo`: a whole two-party session on generated data, checked against
//! the ground truth by the command itself; small sizes keep the suite fast (the
//! default sizes are measured in docs/benchmarks.md).

use crate::util;

const SMALL: [&str; 6] = [
    "--bank-rows",
    "2000",
    "--insurer-rows",
    "1500",
    "--common",
    "400",
];

#[test]
fn demo_matches_the_known_overlap_and_writes_everything_into_a_new_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["demo"];
    args.extend(SMALL);
    let run = util::run(dir.path(), &args);
    run.ok();
    assert!(run.stdout.contains("check      OK"), "{run:#?}");
    assert!(run.stdout.contains("400 shared customers"), "{run:#?}");
    let out = dir.path().join("blindmatch-demo");
    assert_eq!(
        util::files_in(&out),
        [
            "bank.crt",
            "bank.csv",
            "bank.key",
            "bank.matched.csv",
            "bank.receipt.json",
            "expected-matches.csv",
            "insurer.crt",
            "insurer.csv",
            "insurer.key",
            "insurer.matched.csv",
            "insurer.receipt.json",
        ]
    );
    let receipt = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
    };
    let (bank, insurer) = (
        receipt("bank.receipt.json"),
        receipt("insurer.receipt.json"),
    );
    assert_eq!(bank["transcript_hash"], insurer["transcript_hash"]);
    assert_eq!(bank["result"]["matched_values"], 400);
    assert_eq!(insurer["result"]["matched_values"], 400);
    assert_eq!(bank["local"]["fingerprint"], insurer["peer"]["fingerprint"]);
    // The receipts point at the files the demo printed.
    assert!(run.stdout.contains("bank.receipt.json"));
    assert!(run.stdout.contains("insurer.receipt.json"));

    // Again: a second folder, the first untouched; same seed, same data.
    let before = std::fs::read(out.join("bank.matched.csv")).unwrap();
    util::run(dir.path(), &args).ok();
    assert_eq!(std::fs::read(out.join("bank.matched.csv")).unwrap(), before);
    let second = dir.path().join("blindmatch-demo-2");
    assert_eq!(
        std::fs::read(second.join("bank.csv")).unwrap(),
        std::fs::read(out.join("bank.csv")).unwrap()
    );
}

#[test]
fn demo_refuses_a_folder_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();
    let mut args = vec!["demo", "--dir", "taken"];
    args.extend(SMALL);
    util::run(dir.path(), &args)
        .code(2)
        .stderr_has("not empty")
        .stderr_has("hint: ");
    assert_eq!(util::files_in(&dir.path().join("taken")), ["keep.txt"]);

    // Sizes that cannot work are refused before anything is written.
    util::run(
        dir.path(),
        &[
            "demo",
            "--dir",
            "new",
            "--bank-rows",
            "100",
            "--common",
            "500",
        ],
    )
    .code(2)
    .stderr_has("--common");
}

/// `demo --multi`: three identifier columns and three rules in one session, checked
/// per rule on both sides by the command itself; the test checks what it prints and
/// writes, and reads the matched-rows files against each other.
#[test]
fn multi_demo_matches_per_rule_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["demo", "--multi"];
    args.extend(SMALL);
    let run = util::run(dir.path(), &args);
    run.ok();
    assert!(run.stdout.contains("check      OK"), "{run:#?}");
    assert!(!run.stdout.contains("FAILED"), "{run:#?}");
    // A count per rule for both sides.
    let counts: Vec<(String, [u64; 3])> = run
        .stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| f.get(i)?.replace(',', "").parse::<u64>().ok();
            match f.first() {
                Some(r) if ["phone", "email", "name+company"].contains(r) => {
                    Some(((*r).to_owned(), [n(1)?, n(2)?, n(3)?]))
                }
                _ => None,
            }
        })
        .collect();
    let rules: Vec<&str> = counts.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(rules, ["phone", "email", "name+company"], "{}", run.stdout);
    for (rule, [bank, insurer, values]) in &counts {
        assert!(*values >= 20, "{rule}: the data exercises every rule");
        assert!(bank >= values && insurer >= values, "{rule}");
    }
    assert!(
        run.stdout
            .contains("--rule phone --rule email --rule name+company")
    );

    let out = dir.path().join("blindmatch-demo");
    let receipt = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
    };
    let (bank, insurer) = (
        receipt("bank.receipt.json"),
        receipt("insurer.receipt.json"),
    );
    assert_eq!(bank["transcript_hash"], insurer["transcript_hash"]);
    assert_eq!(bank["id_type"], "phone,email,name+company");
    for (r, (rule, [b, i, values])) in counts.iter().enumerate() {
        for (receipt, rows) in [(&bank, b), (&insurer, i)] {
            assert_eq!(receipt["rules"][r]["rule"], rule.as_str());
            assert_eq!(receipt["rules"][r]["matched_values"], *values);
            assert_eq!(receipt["rules"][r]["matched_rows"], *rows);
        }
    }
    // The same rule's match IDs on both sides are the same set.
    let ids = |name: &str| -> Vec<std::collections::BTreeSet<String>> {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(
            header[2..],
            [
                "match_id",
                "matched_rules",
                "match_id.phone",
                "match_id.email",
                "match_id.name+company"
            ]
        );
        let mut sets = vec![std::collections::BTreeSet::new(); 3];
        for l in lines {
            let f: Vec<&str> = l.split(',').collect();
            for r in 0..3 {
                if !f[4 + r].is_empty() {
                    sets[r].insert(f[4 + r].to_owned());
                }
            }
        }
        sets
    };
    let (b, i) = (ids("bank.matched.csv"), ids("insurer.matched.csv"));
    assert_eq!(b, i);
    for (r, (_, [.., values])) in counts.iter().enumerate() {
        assert_eq!(b[r].len() as u64, *values);
    }
    let truth = std::fs::read_to_string(out.join("expected-matches.csv")).unwrap();
    assert!(truth.starts_with("rule,customer_id,policy_no\n"));
}

/// `demo --labelled`: the insurer alone learns, and receives the bank's segment and
/// tier for its matched rows; the bank's unshared rows hold `unmatched-…` values,
/// none of which reaches any file the insurer wrote (checked here again, beside the
/// command's own check).
#[test]
fn labelled_demo_releases_values_for_shared_customers_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["demo", "--labelled"];
    args.extend(SMALL);
    let run = util::run(dir.path(), &args);
    run.ok();
    for needle in [
        "check      OK",
        "400 shared customers",
        "--mode labelled --release segment,tier",
        "--mode labelled \\",
        "learns nothing",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {run:#?}");
    }
    let out = dir.path().join("blindmatch-demo");
    assert_eq!(
        util::files_in(&out),
        [
            "bank.crt",
            "bank.csv",
            "bank.key",
            "bank.receipt.json",
            "insurer.crt",
            "insurer.csv",
            "insurer.key",
            "insurer.matched.csv",
            "insurer.receipt.json",
        ]
    );
    let bank = std::fs::read_to_string(out.join("bank.csv")).unwrap();
    assert!(bank.starts_with("customer_id,phone,segment,tier\n"));
    let unmatched = bank.matches(",unmatched-segment-").count();
    assert!(unmatched >= 2000 - 400 - 20, "{unmatched}");
    let matched = std::fs::read_to_string(out.join("insurer.matched.csv")).unwrap();
    let mut lines = matched.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,policy_no,match_id,peer.segment,peer.tier"
    );
    let rows: std::collections::BTreeSet<&str> =
        lines.map(|l| l.split(',').next().unwrap()).collect();
    assert!(
        rows.len() >= 400,
        "every shared customer's rows: {}",
        rows.len()
    );
    for name in ["insurer.matched.csv", "insurer.receipt.json"] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(!text.contains("unmatched-"), "{name}");
    }
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bank.receipt.json")).unwrap())
            .unwrap();
    assert_eq!(receipt["mode"], "labelled", "{receipt}");

    // One scenario at a time.
    util::run(dir.path(), &["demo", "--labelled", "--multi"])
        .code(2)
        .stderr_has("cannot be used with");
}

#[test]
fn demo_runs_the_vole_protocol_and_prints_it_in_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [
        &["--protocol", "vole"][..],
        &["--protocol", "vole", "--multi"][..],
    ] {
        let mut args = vec!["demo"];
        args.extend(SMALL);
        args.extend(extra);
        let run = util::run(dir.path(), &args);
        run.ok();
        assert!(run.stdout.contains("check      OK"), "{run:#?}");
        assert_eq!(run.stdout.matches("--protocol vole").count(), 2, "{run:#?}");
    }
    let receipt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("blindmatch-demo/bank.receipt.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(receipt["psi_protocol"], "vole-rr22-silent");
    util::run(dir.path(), &["demo", "--labelled", "--protocol", "vole"]).code(2);
}
