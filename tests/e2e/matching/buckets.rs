//! Bucketed sessions (`--memory-limit`), resume after a kill (`--resume`), and shards
//! (`--shard I/K` + `blindmatch merge`), each against the ground truth.

use super::*;

/// A session small enough to run in seconds that still needs several buckets
/// (1 MiB holds 2,621 items per bucket).
const SMALL_LIMIT: &[&str] = &["--memory-limit", "1MiB"];

fn with(base: &[&str], more: &[&str]) -> Vec<String> {
    base.iter().chain(more).map(|s| (*s).to_owned()).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Matched customer IDs of a side must be the truth, and both sides must give the
/// same customer the same match ID.
fn check_truth(f: &Fixture, file_a: &Path, file_b: &Path) {
    let a = matched_file(file_a, "customer_id");
    let b = matched_file(file_b, "client_no");
    assert_eq!(
        a.keys().cloned().collect::<BTreeSet<_>>(),
        f.side_a.expected
    );
    assert_eq!(
        b.keys().cloned().collect::<BTreeSet<_>>(),
        f.side_b.expected
    );
    let by_index = |m: &BTreeMap<String, String>, side: &Side| -> BTreeMap<u64, String> {
        m.iter()
            .map(|(id, mid)| (side.index_of[id], mid.clone()))
            .collect()
    };
    assert_eq!(
        by_index(&a, &f.side_a),
        by_index(&b, &f.side_b),
        "match IDs differ"
    );
}

#[test]
fn buckets_match_the_truth_pad_and_leave_no_spill() {
    let f = Fixture::new(4000, 3000, 1200);
    let work_a = f.a.join("work");
    let work_b = f.b.join("work");
    std::fs::create_dir(&work_a).unwrap();
    std::fs::create_dir(&work_b).unwrap();
    let extra_a = with(SMALL_LIMIT, &["--work-dir", "work", "--events", "json"]);
    let extra_b = with(SMALL_LIMIT, &["--work-dir", "work", "-vvv"]);
    let (ra, rb) = f.session(&refs(&extra_a), &refs(&extra_b));
    ra.ok();
    rb.ok();
    check_truth(&f, &f.a.join("matched.csv"), &f.b.join("matched.csv"));
    let receipt_a = json(&f.a.join("matched.csv.receipt.json"));
    let receipt_b = json(&f.b.join("matched.csv.receipt.json"));
    let part = &receipt_a["partition"];
    let buckets = part["buckets"].as_u64().unwrap();
    assert!(buckets >= 2, "{part}");
    assert_eq!(part["sessions"].as_array().unwrap().len() as u64, buckets);
    assert_eq!(part["padded"], true);
    assert_eq!(receipt_a["transcript_hash"], receipt_b["transcript_hash"]);
    // Every bucket declares the padded bound, the same on both sides' records.
    for (sa, sb) in part["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(receipt_b["partition"]["sessions"].as_array().unwrap())
    {
        assert_eq!(sa["transcript_hash"], sb["transcript_hash"]);
        assert_eq!(sa["local_size"], sb["peer_size"]);
    }
    assert_eq!(
        receipt_a["local"]["declared_size"].as_u64().unwrap(),
        f.side_a.index_of.values().collect::<BTreeSet<_>>().len() as u64,
        "the receipt records the real size, not the padded one"
    );
    // Per-bucket JSON events with an ETA.
    let done: Vec<&str> = ra
        .stdout
        .lines()
        .filter(|l| l.contains("\"bucket_done\""))
        .collect();
    assert_eq!(done.len() as u64, buckets, "{}", ra.stdout);
    assert!(done.iter().all(|l| l.contains("eta_seconds")));
    // The spill folders are gone, and nothing written or logged holds a number.
    assert!(util::files_in(&work_a).is_empty() && util::files_in(&work_b).is_empty());
    assert_no_numbers(&rb.stderr, &f, "trace log");
    assert_no_numbers(&written_files(&f.a), &f, "files written by A");
}

#[test]
fn a_killed_session_resumes_from_the_completed_buckets() {
    let f = Fixture::new(6000, 5000, 2000);
    let base = with(SMALL_LIMIT, &["--resume", "state", "--work-dir", "."]);
    // A gives up soon after its partner dies, so the test need not wait long; not
    // so soon that a loaded machine makes it give up on a live partner.
    let a_extra = with(&refs(&base), &["--wait-timeout", "15s"]);
    let a = Party::spawn(&f.a, &f.a_args(&refs(&a_extra)), &[], None);
    let addr = a.listening_addr();
    let mut b = Party::spawn(&f.b, &f.b_args(&addr, &refs(&base)), &[], None);
    b.wait_line(true, DEADLINE, |l| l.starts_with("bucket 1 done"));
    b.child.kill().unwrap(); // SIGKILL
    let _ = b.child.wait();
    let ra = a.finish(DEADLINE);
    assert_ne!(ra.code, Some(0), "A must fail when B dies");
    assert!(!f.a.join("matched.csv").exists() && !f.b.join("matched.csv").exists());
    let kept = util::files_in(&f.b.join("state"));
    assert!(kept.contains(&"bucket-000.json".to_owned()), "{kept:?}");

    let (ra, rb) = f.session(&refs(&base), &refs(&base));
    ra.ok();
    rb.ok().stderr_has("already completed (resumed)");
    check_truth(&f, &f.a.join("matched.csv"), &f.b.join("matched.csv"));
    let receipt = json(&f.b.join("matched.csv.receipt.json"));
    let sessions = receipt["partition"]["sessions"].as_array().unwrap().clone();
    assert!(
        sessions.iter().any(|s| s["resumed"] == true),
        "{sessions:?}"
    );
    assert!(
        sessions.iter().any(|s| s["resumed"] == false),
        "{sessions:?}"
    );
    // The spill folder of the killed run was found stale and removed.
    assert!(
        !util::files_in(&f.b)
            .iter()
            .any(|n| n.starts_with("blindmatch-scratch-")),
        "{:?}",
        util::files_in(&f.b)
    );
}

#[test]
fn a_session_whose_buckets_all_completed_resumes_into_the_same_output() {
    let f = Fixture::new(4000, 3000, 1200);
    let base = with(SMALL_LIMIT, &["--resume", "state", "--work-dir", "."]);
    let (ra, rb) = f.session(&refs(&base), &refs(&base));
    ra.ok();
    rb.ok();
    // Both sides completed every bucket; a rerun with the same folders runs
    // none of them again and still writes every matched row.
    let again = with(&refs(&base), &["-o", "again.csv"]);
    let (ra, rb) = f.session(&refs(&again), &refs(&again));
    ra.ok().stderr_has("already completed (resumed)");
    rb.ok();
    check_truth(&f, &f.a.join("again.csv"), &f.b.join("again.csv"));
    for dir in [&f.a, &f.b] {
        assert_eq!(
            std::fs::read_to_string(dir.join("again.csv")).unwrap(),
            std::fs::read_to_string(dir.join("matched.csv")).unwrap(),
            "the match IDs are those of the original sub-sessions"
        );
        let receipt = json(&dir.join("again.csv.receipt.json"));
        let sessions = receipt["partition"]["sessions"].as_array().unwrap().clone();
        assert!(sessions.len() >= 2, "{sessions:?}");
        assert!(
            sessions.iter().all(|s| s["resumed"] == true),
            "{sessions:?}"
        );
    }
}

#[test]
fn shards_merge_to_the_result_of_one_session() {
    let f = Fixture::new(900, 700, 300);
    let k = 3;
    let mut parties = Vec::new();
    for i in 0..k {
        let shard = format!("{i}/{k}");
        let out = format!("shard-{i}.csv");
        let receipt = format!("shard-{i}.receipt.json");
        let extra: Vec<&str> = vec!["--shard", &shard, "-o", &out, "--receipt", &receipt];
        let a = Party::spawn(&f.a, &f.a_args(&extra), &[], None);
        let addr = a.listening_addr();
        let b = Party::spawn(&f.b, &f.b_args(&addr, &extra), &[], None);
        parties.push((a, b));
    }
    for (a, b) in parties {
        a.finish(DEADLINE).ok();
        b.finish(DEADLINE).ok();
    }
    for dir in [&f.a, &f.b] {
        util::run(
            dir,
            &[
                "merge",
                "-o",
                "matched.csv",
                "--receipt",
                "merged.json",
                "shard-2.receipt.json",
                "shard-0.receipt.json",
                "shard-1.receipt.json",
            ],
        )
        .ok();
    }
    check_truth(&f, &f.a.join("matched.csv"), &f.b.join("matched.csv"));
    let merged = json(&f.a.join("merged.json"));
    assert_eq!(merged["format"], "blindmatch-merged-receipt");
    assert_eq!(merged["shards"], k);
    assert_eq!(merged["receipts"].as_array().unwrap().len(), k as usize);
    // The same rows as one unsharded session over the same files.
    let sharded = matched_file(&f.a.join("matched.csv"), "customer_id");
    let (ra, rb) = f.session(&["-o", "single.csv", "--force"], &["-o", "single.csv"]);
    ra.ok();
    rb.ok();
    let single = matched_file(&f.a.join("single.csv"), "customer_id");
    assert_eq!(
        sharded.keys().collect::<Vec<_>>(),
        single.keys().collect::<Vec<_>>()
    );
    // The audit checks the two merged receipts shard by shard.
    util::run(
        &f.a,
        &[
            "audit",
            "receipt",
            "merged.json",
            &f.b.join("merged.json").display().to_string(),
        ],
    )
    .ok();
    // A missing shard is refused, nothing written.
    let run = util::run(
        &f.a,
        &[
            "merge",
            "-o",
            "m2.csv",
            "--receipt",
            "m2.json",
            "shard-0.receipt.json",
            "shard-1.receipt.json",
        ],
    );
    run.code(2).stderr_has("shard 2/3 is given 0 times");
    assert!(!f.a.join("m2.csv").exists() && !f.a.join("m2.json").exists());
}

#[test]
fn mismatched_shards_and_split_cardinality_are_refused() {
    let f = Fixture::new(200, 200, 50);
    let (ra, rb) = f.session(&["--shard", "0/2"], &["--shard", "1/2"]);
    ra.code(3).stderr_has("shard 0/2");
    rb.code(3).stderr_has("shard 1/2");
    let run = util::run(
        &f.a,
        &refs(&f.a_args(&["--mode", "cardinality", "--shard", "0/2"])),
    );
    run.code(2).stderr_has("must not be split");
    let run = util::run(&f.a, &refs(&f.a_args(&["--shard", "2/2"])));
    run.code(2).stderr_has("not a shard");
}

#[test]
fn ctrl_c_in_a_bucketed_session_removes_the_spill_files() {
    let f = Fixture::new(4000, 3000, 1200);
    let extra = with(SMALL_LIMIT, &["--work-dir", "."]);
    let a = Party::spawn(&f.a, &f.a_args(&refs(&extra)), &[], None);
    let addr = a.listening_addr();
    let b = Party::spawn(&f.b, &f.b_args(&addr, &refs(&extra)), &[], None);
    b.wait_line(true, DEADLINE, |l| l.starts_with("bucket 0 done"));
    let spilling = util::files_in(&f.a)
        .iter()
        .any(|n| n.starts_with("blindmatch-scratch-"));
    assert!(
        spilling,
        "A spills while it runs: {:?}",
        util::files_in(&f.a)
    );
    let sent = std::process::Command::new("kill")
        .args(["-INT", &a.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let ra = a.finish(DEADLINE);
    let rb = b.finish(DEADLINE);
    ra.code(130);
    assert_ne!(rb.code, Some(0));
    assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
    assert_only(&f.b, &["bob.crt", "bob.key", "clients.csv"]);
}
