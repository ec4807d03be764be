//! `--protocol vole` against `--protocol ecdh` on the same files, over TLS on
//! 127.0.0.1: every reveal setting gives the same matched rows on each side, the
//! receipts name the protocol, cardinality mode gives the same counts, and labelled
//! mode, which the vole protocol does not run, is refused before any connection.

use super::*;

/// Runs one session with `protocol` and `--reveal` on each side; returns each
/// side's matched customer IDs (`None` where it learned nothing) and receipts.
fn run_with(
    f: &Fixture,
    protocol: &str,
    mode: &str,
    reveal_a: &str,
    reveal_b: &str,
) -> [(Option<BTreeSet<String>>, serde_json::Value); 2] {
    for dir in [&f.a, &f.b] {
        for name in ["matched.csv", "matched.csv.receipt.json"] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    let extra = |reveal| ["--protocol", protocol, "--mode", mode, "--reveal", reveal];
    let a = Party::spawn(&f.a, &f.a_args(&extra(reveal_a)), &[], None);
    let addr = a.listening_addr();
    let b = Party::spawn(&f.b, &f.b_args(&addr, &extra(reveal_b)), &[], None);
    let (ra, rb) = (a.finish(DEADLINE), b.finish(DEADLINE));
    ra.ok();
    rb.ok();
    let side = |dir: &Path, id_column: &str| {
        let rows = dir
            .join("matched.csv")
            .exists()
            .then(|| matched(dir, id_column).into_keys().collect());
        (rows, json(&dir.join("matched.csv.receipt.json")))
    };
    [side(&f.a, "customer_id"), side(&f.b, "client_no")]
}

#[test]
fn vole_gives_the_same_rows_as_ecdh_for_every_reveal() {
    let f = Fixture::new(300, 250, 90);
    for (reveal_a, reveal_b) in [("both", "both"), ("me", "peer"), ("peer", "me")] {
        let ecdh = run_with(&f, "ecdh", "intersection", reveal_a, reveal_b);
        let vole = run_with(&f, "vole", "intersection", reveal_a, reveal_b);
        for ((e, v), (side, reveal)) in ecdh
            .iter()
            .zip(&vole)
            .zip([(&f.side_a, reveal_a), (&f.side_b, reveal_b)])
        {
            assert_eq!(e.0, v.0, "--reveal {reveal}");
            if reveal != "peer" {
                assert_eq!(v.0.as_ref(), Some(&side.expected), "--reveal {reveal}");
            }
            assert_eq!(e.1["psi_protocol"], "ecdh-ristretto255");
            assert_eq!(v.1["psi_protocol"], "vole-rr22-silent");
            assert_eq!(
                e.1["result"]["matched_values"],
                v.1["result"]["matched_values"]
            );
        }
    }
}

#[test]
fn vole_counts_like_ecdh_in_cardinality_mode() {
    let f = Fixture::new(300, 250, 90);
    for (reveal_a, reveal_b) in [("both", "both"), ("me", "peer"), ("peer", "me")] {
        let ecdh = run_with(&f, "ecdh", "cardinality", reveal_a, reveal_b);
        let vole = run_with(&f, "vole", "cardinality", reveal_a, reveal_b);
        for ((e, v), reveal) in ecdh.iter().zip(&vole).zip([reveal_a, reveal_b]) {
            // Counts only: no matched-rows file on either side.
            assert_eq!((&e.0, &v.0), (&None, &None), "--reveal {reveal}");
            assert_eq!(v.1["psi_protocol"], "vole-rr22-silent");
            assert_eq!(v.1["mode"], "cardinality", "{}", v.1);
            assert_eq!(e.1["result"], v.1["result"], "--reveal {reveal}");
            if reveal != "peer" {
                // The fixture's 90 shared customers.
                let n = v.1["result"]["cardinality"].as_u64().unwrap_or(0);
                assert!(n >= 90, "{}", v.1);
            }
        }
    }
}

#[test]
fn vole_refuses_labelled_mode_up_front() {
    let f = Fixture::new(120, 120, 30);
    let args = f.a_args(&["--protocol", "vole", "--mode", "labelled", "--reveal", "me"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    util::run(&f.a, &args)
        .code(2)
        .stderr_has("--protocol vole with --mode labelled")
        .stderr_has("--protocol ecdh");
    assert!(!f.a.join("matched.csv").exists());
}
