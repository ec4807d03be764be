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
