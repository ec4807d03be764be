//! `blindmatch bench --memory-limit`: a bucketed session with each party in its own
//! process, against the same sizes run whole in memory; and what it refuses.

use std::time::Duration;

use serde_json::Value;

use crate::util::{files_in, run_in};

fn first_json(stdout: &str) -> Value {
    serde_json::from_str(stdout.lines().next().expect("a JSON line")).expect("JSON")
}

#[test]
fn a_small_limit_runs_buckets_and_finds_the_same_intersection() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let common = [
        "bench",
        "--sizes",
        "3000",
        "--repeat",
        "1",
        "--threads",
        "1",
    ];
    let whole = run_in(
        dir.path(),
        &[&common[..], &["--json"]].concat(),
        None,
        Duration::from_secs(300),
    );
    let whole = first_json(&whole.ok().stdout);
    let limited = run_in(
        dir.path(),
        &[
            &common[..],
            &["--json", "--memory-limit", "1MiB", "--work-dir"],
            &[work.to_str().unwrap()],
        ]
        .concat(),
        None,
        Duration::from_secs(300),
    );
    let b = first_json(&limited.ok().stdout);
    assert_eq!(b["record"], "blindmatch-bench-buckets/v1");
    assert!(b["buckets"].as_u64().unwrap() > 1, "{b}");
    assert_eq!(b["matched"], whole["matched"], "{b}");
    assert_eq!(b["matched"], 1500);
    assert_eq!(b["memory_limit_bytes"], 1 << 20);
    assert_eq!(b["threads_per_party"], 1);
    for side in ["initiator", "responder"] {
        let peak = b["peak_rss_bytes"][side]["median"].as_f64().unwrap();
        assert!(peak > 1e6 && peak < 4e9, "{side}: {peak}");
        assert!(b["cpu_s"][side]["median"].as_f64().unwrap() > 0.0);
    }
    assert!(b["cpu_us_per_element"]["median"].as_f64().unwrap() > 0.0);
    assert!(b["bytes_per_element"]["median"].as_f64().unwrap() > 64.0);
    // Inputs, spill files, outputs and receipts are gone with the run.
    assert!(files_in(&work).is_empty(), "{:?}", files_in(&work));

    // The table names the buckets and both parties' peaks.
    let table = run_in(
        dir.path(),
        &[&common[..], &["--memory-limit", "1MiB"]].concat(),
        None,
        Duration::from_secs(300),
    );
    let out = &table.ok().stdout;
    assert!(
        out.contains("bucket(s)") && out.contains("peak RSS"),
        "{out}"
    );
}

#[test]
fn memory_limit_refuses_what_it_does_not_measure() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, flag) in [
        (&["--mode", "cardinality"][..], "--mode"),
        (&["--rules", "2"][..], "--rules"),
        (&["--latency", "10ms"][..], "--bandwidth and --latency"),
        (&["--transport", "tls"][..], "--transport tls"),
    ] {
        let args = [
            &["bench", "--sizes", "100", "--memory-limit", "64MiB"][..],
            extra,
        ]
        .concat();
        run_in(dir.path(), &args, None, Duration::from_secs(60))
            .code(2)
            .stderr_has(&format!("{flag} does not apply with --memory-limit"));
    }
    run_in(
        dir.path(),
        &["bench", "--work-dir", "."],
        None,
        Duration::from_secs(60),
    )
    .code(2);
    run_in(
        dir.path(),
        &["bench", "--party", "{}"],
        None,
        Duration::from_secs(60),
    )
    .code(2)
    .stderr_has("--party is set by `bench --memory-limit` itself");
}
