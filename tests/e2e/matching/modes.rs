//! Every mode and reveal against the ground truth, no raw identifier anywhere, and the hello's profile.

use super::*;

#[test]
fn every_mode_and_reveal_matches_the_ground_truth() {
    let f = Fixture::new(300, 250, 90);
    let cases = [
        ("intersection", "both", "both"),
        ("intersection", "me", "peer"),
        ("intersection", "peer", "me"),
        ("cardinality", "both", "both"),
        ("cardinality", "me", "peer"),
        ("cardinality", "peer", "me"),
    ];
    for (mode, reveal_a, reveal_b) in cases {
        let label = format!("{mode}, listener --reveal {reveal_a}");
        for dir in [&f.a, &f.b] {
            for name in ["matched.csv", "matched.csv.receipt.json"] {
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
        // The connector reads its file from stdin in the first case (one read only).
        let stdin_case = mode == "intersection" && reveal_b == "both";
        let a = Party::spawn(
            &f.a,
            &f.a_args(&["--mode", mode, "--reveal", reveal_a]),
            &[],
            None,
        );
        let addr = a.listening_addr();
        let mut b_args = f.b_args(&addr, &["--mode", mode, "--reveal", reveal_b]);
        if stdin_case {
            let i = b_args.iter().position(|x| x == "clients.csv").unwrap();
            b_args[i] = "-".to_owned();
        }
        let b = Party::spawn(
            &f.b,
            &b_args,
            &[],
            stdin_case.then_some(f.side_b.csv.as_bytes()),
        );
        let (ra, rb) = (a.finish(DEADLINE), b.finish(DEADLINE));
        ra.ok();
        rb.ok();

        let receipt_a = json(&f.a.join("matched.csv.receipt.json"));
        let receipt_b = json(&f.b.join("matched.csv.receipt.json"));
        for key in [
            "session_id",
            "transcript_hash",
            "mode",
            "reveal",
            "id_type",
            "profile",
        ] {
            assert_eq!(receipt_a[key], receipt_b[key], "{label}: {key}");
        }
        assert_eq!(receipt_a["transcript_hash"].as_str().unwrap().len(), 64);
        assert_eq!(receipt_a["mode"], mode);
        assert_eq!(receipt_a["local"]["fingerprint"], f.fp_a.as_str());
        assert_eq!(receipt_a["peer"]["fingerprint"], f.fp_b.as_str());
        assert_eq!(receipt_b["local"]["fingerprint"], f.fp_b.as_str());
        assert_eq!(
            receipt_a["local"]["declared_size"],
            receipt_b["peer"]["declared_size"]
        );
        assert_eq!(
            receipt_a["traffic"]["bytes_sent"],
            receipt_b["traffic"]["bytes_received"]
        );
        assert_eq!(receipt_a["local"]["input"]["rejected"], 1, "{label}");
        assert_eq!(receipt_a["local"]["input"]["empty"], 1, "{label}");

        let learns = |r: &str| r != "peer";
        for (name, dir, receipt, reveal, side, id_column) in [
            (
                "listener",
                &f.a,
                &receipt_a,
                reveal_a,
                &f.side_a,
                "customer_id",
            ),
            (
                "connector",
                &f.b,
                &receipt_b,
                reveal_b,
                &f.side_b,
                "client_no",
            ),
        ] {
            let output = dir.join("matched.csv");
            assert_eq!(receipt["local"]["learns"], learns(reveal), "{label} {name}");
            match (mode, learns(reveal)) {
                ("intersection", true) => {
                    let rows = matched(dir, id_column);
                    let ids: BTreeSet<String> = rows.keys().cloned().collect();
                    assert_eq!(ids, side.expected, "{label}: {name}'s matched rows");
                    assert_eq!(receipt["result"]["matched_values"], f.common);
                    assert_eq!(receipt["result"]["matched_rows"], side.expected.len());
                    assert_eq!(
                        receipt["output"]["sha256"].as_str().unwrap(),
                        sha256_hex(&std::fs::read(&output).unwrap())
                    );
                }
                ("cardinality", true) => {
                    assert!(!output.exists(), "{label}: {name} wrote rows");
                    assert_eq!(receipt["result"]["cardinality"], f.common);
                    assert!(receipt["result"]["matched_rows"].is_null());
                    assert!(receipt["output"].is_null());
                }
                _ => {
                    assert!(!output.exists(), "{label}: {name} wrote rows");
                    assert!(receipt["result"]["cardinality"].is_null(), "{label}");
                    assert!(receipt["result"]["matched_rows"].is_null());
                    assert!(receipt["output"].is_null());
                }
            }
        }
        // Both learners: one match ID per shared customer, equal on both sides.
        if mode == "intersection" && reveal_a == "both" {
            let (ma, mb) = (matched(&f.a, "customer_id"), matched(&f.b, "client_no"));
            let by_customer = |m: &BTreeMap<String, String>, side: &Side| {
                let mut out: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
                for (id, mid) in m {
                    out.entry(side.index_of[id])
                        .or_default()
                        .insert(mid.clone());
                }
                out
            };
            let (ca, cb) = (by_customer(&ma, &f.side_a), by_customer(&mb, &f.side_b));
            assert_eq!(ca, cb);
            assert!(ca.values().all(|ids| ids.len() == 1));
            assert_eq!(ca.len() as u64, f.common);
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn no_raw_identifier_in_outputs_logs_events_or_receipts() {
    let f = Fixture::new(200, 180, 60);
    let a = Party::spawn(&f.a, &f.a_args(&["-vvv", "--events", "json"]), &[], None);
    let addr = a.listening_addr();
    let b = Party::spawn(
        &f.b,
        &f.b_args(&addr, &["--events", "json", "--rejects", "rejects.csv"]),
        &[("BLINDMATCH_LOG", "trace")],
        None,
    );
    let (ra, rb) = (a.finish(DEADLINE), b.finish(DEADLINE));
    ra.ok();
    rb.ok();
    // The logs really were verbose, and the events really were printed.
    assert!(
        ra.stderr.contains("DEBUG") || ra.stderr.contains("TRACE"),
        "{}",
        ra.stderr
    );
    assert!(rb.stderr.contains("TRACE"), "{}", rb.stderr);
    assert!(ra.stdout.contains("\"event\":\"handshake_complete\""));
    assert!(rb.stdout.contains("\"event\":\"done\""));
    assert_no_numbers(&ra.all_output(), &f, "the listener's output");
    assert_no_numbers(&rb.all_output(), &f, "the connector's output");
    assert_no_numbers(&written_files(&f.a), &f, "the listener's files");
    assert_no_numbers(&written_files(&f.b), &f, "the connector's files");
    // The rejects file names rows and reasons, never values.
    let rejects = std::fs::read_to_string(f.b.join("rejects.csv")).unwrap();
    assert!(rejects.starts_with("row,line,column,type,reason\n"));
    assert!(!rejects.contains("n/a"), "{rejects}");
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
}

/// The hello's `profile` is the per-type profile string of `docs/protocol.md`
/// ("Hello"), built from the matched type's options only; a refusal quotes both.
#[test]
fn the_hello_carries_the_per_type_profile_string() {
    use blindmatch_token::{IdType, Profile};
    let f = Fixture::new(150, 150, 40);
    let a = Party::spawn(
        &f.a,
        &f.a_args(&["--phone-region", "86", "--email-rules", "gmail"]),
        &[],
        None,
    );
    let addr = a.listening_addr();
    let rb = Party::spawn(&f.b, &f.b_args(&addr, &[]), &[], None).finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    ra.code(3);
    rb.code(3);
    let ours = Profile::standard()
        .with_phone_default_region(Some("86".parse().unwrap()))
        .type_string(IdType::Phone);
    let theirs = Profile::standard().type_string(IdType::Phone);
    assert!(
        ours.starts_with("bm-std-v1,phone-region=86;sha256="),
        "{ours}"
    );
    ra.stderr_has(&format!("ours is {ours:?}, the peer's is {theirs:?}"));
}
