//! `blindmatch match --mode labelled`: the side that gives releases chosen columns;
//! the side that learns gets them for its matched rows only. Two real processes on
//! 127.0.0.1 (TLS; plaintext through a tampering relay for the integrity check), on
//! data with planted values in the giver's unmatched rows that must never appear in
//! anything the learner writes or logs at the most verbose level.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::matching::{DEADLINE, Party};
use crate::util::{self, Run};

fn phone(i: u64) -> String {
    format!("136{:08}", (i * 6007 + 7_654_321) % 100_000_000)
}

/// A value planted in the giver's unmatched rows.
fn planted(i: u64) -> String {
    format!("UNMATCHED-SECRET-{i:04}")
}

struct Fixture {
    _tmp: tempfile::TempDir,
    /// The learner (`a`, listens) and the giver (`b`, connects).
    dirs: [PathBuf; 2],
    fps: [String; 2],
}

/// The learner holds customers 0..200; the giver 100..300 with a segment and a tier,
/// customer 150 twice (two label sets), and planted values in its unmatched rows.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = [tmp.path().join("a"), tmp.path().join("b")];
    let mut fps = [String::new(), String::new()];
    for (k, dir) in dirs.iter().enumerate() {
        std::fs::create_dir(dir).unwrap();
        let run = util::run(dir, &["identity", "new", "-o", "me"]);
        run.ok();
        fps[k] = run.stdout.trim().to_owned();
    }
    let mut a = String::from("cid,tel\n");
    for i in 0..200 {
        a.push_str(&format!("a{i},+86 {}\n", phone(i)));
    }
    let mut b = String::from("client,mobile,segment,tier\n");
    for i in 100..300 {
        let (segment, tier) = if i < 200 {
            (format!("seg-{i}"), format!("t{}", i % 3))
        } else {
            (planted(i), planted(i + 1000))
        };
        b.push_str(&format!("b{i},{},{segment},{tier}\n", phone(i)));
    }
    b.push_str(&format!("b150x,{},seg-150-second,t9\n", phone(150)));
    std::fs::write(dirs[0].join("in.csv"), a).unwrap();
    std::fs::write(dirs[1].join("in.csv"), b).unwrap();
    Fixture {
        _tmp: tmp,
        dirs,
        fps,
    }
}

impl Fixture {
    fn args(&self, k: usize, endpoint: &[&str], extra: &[&str]) -> Vec<String> {
        let (column, keep) = if k == 0 {
            ("tel:phone", "cid")
        } else {
            ("mobile:phone", "client")
        };
        let mut v: Vec<String> = vec!["match".into()];
        v.extend(endpoint.iter().map(|s| (*s).to_owned()));
        v.extend(
            [
                "--input",
                "in.csv",
                "--column",
                column,
                "--keep",
                keep,
                "--min-peer-set",
                "0",
                "--wait-timeout",
                "60s",
                "--read-timeout",
                "30s",
            ]
            .map(String::from),
        );
        if !extra.contains(&"--mode") {
            v.extend(["--mode".to_owned(), "labelled".to_owned()]);
        }
        if !extra.contains(&"--insecure-plaintext-for-testing") {
            v.extend(
                ["--identity", "me", "--peer-fingerprint", &self.fps[1 - k]].map(String::from),
            );
        }
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    }

    /// The learner listens with `a`; the giver connects (to `via`, or the
    /// learner's own address) with `b`.
    fn session(&self, a: &[&str], b: &[&str], env: &[(&str, &str)]) -> [Run; 2] {
        let pa = Party::spawn(
            &self.dirs[0],
            &self.args(0, &["--listen", "127.0.0.1:0"], a),
            env,
            None,
        );
        let addr = pa.listening_addr();
        let pb = Party::spawn(
            &self.dirs[1],
            &self.args(1, &["--connect", &addr], b),
            env,
            None,
        );
        [pa.finish(DEADLINE), pb.finish(DEADLINE)]
    }
}

const LEARNER: [&str; 2] = ["-o", "matched.csv"];
const GIVER: [&str; 4] = ["--release", "segment,tier", "--max-labels-per-id", "2"];

fn everything_written(dir: &Path, run: &Run, skip: &str) -> String {
    let mut text = run.all_output();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().is_some_and(|n| n != skip) {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    text
}

#[test]
fn released_columns_reach_matched_rows_only() {
    let f = fixture();
    let learner = [&LEARNER[..], &["--max-labels-per-id", "2"]].concat();
    let giver = [&GIVER[..], &["--shareable-receipt", "share.json"]].concat();
    let [ra, rb] = f.session(&learner, &giver, &[("BLINDMATCH_LOG", "trace")]);
    ra.ok();
    rb.ok();
    let text = std::fs::read_to_string(f.dirs[0].join("matched.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,cid,match_id,peer.segment,peer.tier"
    );
    let mut got: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 5, "{l}");
        got.entry(f[1].to_owned())
            .or_default()
            .insert((f[3].to_owned(), f[4].to_owned()));
    }
    let mut expected: BTreeMap<String, BTreeSet<(String, String)>> = (100..200)
        .map(|i| {
            (
                format!("a{i}"),
                BTreeSet::from([(format!("seg-{i}"), format!("t{}", i % 3))]),
            )
        })
        .collect();
    expected
        .get_mut("a150")
        .unwrap()
        .insert(("seg-150-second".into(), "t9".into()));
    assert_eq!(got, expected);
    // 100 matched rows, 101 output rows: customer 150 has two label sets.
    assert_eq!(text.lines().count() - 1, 101);

    // No planted value of the giver's unmatched rows anywhere on the learner's side.
    let seen = everything_written(&f.dirs[0], &ra, "in.csv");
    assert!(!seen.contains("UNMATCHED-SECRET"), "a planted value leaked");
    // The giver learns nothing: no output, and none of the learner's values.
    assert!(!f.dirs[1].join("matched.csv").exists());
    let giver_seen = everything_written(&f.dirs[1], &rb, "in.csv");
    assert!(!giver_seen.contains(&phone(5)));
    // Both receipts name the released columns; the learner's counts its rows.
    let receipt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.dirs[0].join("matched.csv.receipt.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(receipt["mode"], "labelled");
    assert_eq!(
        receipt["labels"]["columns"],
        serde_json::json!(["segment", "tier"])
    );
    assert_eq!(receipt["labels"]["side"], "receives");
    assert_eq!(receipt["labels"]["max_bytes"], serde_json::json!([64, 64]));
    assert_eq!(receipt["labels"]["output_rows"], 101);
    assert_eq!(receipt["result"]["matched_rows"], 100);
    // The audit reads labelled receipts, alone and as a pair.
    let found: Vec<PathBuf> = std::fs::read_dir(&f.dirs[1])
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("receipt-"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let a_receipt = f.dirs[0].join("matched.csv.receipt.json");
    let run = util::run(
        &f.dirs[0],
        &[
            "audit",
            "receipt",
            a_receipt.to_str().unwrap(),
            found[0].to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
    // The giver's shareable receipt names the columns and limits, never how many
    // rows came back, and audits against the learner's full receipt.
    let share = f.dirs[1].join("share.json");
    let shared: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&share).unwrap()).unwrap();
    assert_eq!(
        shared["labels"]["columns"],
        serde_json::json!(["segment", "tier"])
    );
    assert_eq!(shared["labels"]["side"], "releases");
    assert!(shared["labels"].get("output_rows").is_none());
    let run = util::run(
        &f.dirs[0],
        &[
            "audit",
            "receipt",
            a_receipt.to_str().unwrap(),
            share.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(0), "{run:#?}");
}

#[test]
fn labelled_mode_is_refused_where_it_cannot_hold() {
    let f = fixture();
    // A giver whose data hold two rows for one identifier, above the cap of 1 both
    // sides give: refused in the handshake, on both sides, with the reason.
    let [ra, rb] = f.session(&LEARNER, &["--release", "segment"], &[]);
    ra.code(3)
        .stderr_has("the releasing side holds more rows for one identifier")
        .stderr_has("--max-labels-per-id");
    rb.code(3)
        .stderr_has("our input holds more rows for one identifier")
        .stderr_has("up to 2 rows for one identifier");
    assert!(!f.dirs[0].join("matched.csv").exists());
    // A value longer than --release-max-bytes: an input error naming the line.
    let short = [
        "--release",
        "segment",
        "--release-max-bytes",
        "6",
        "--max-labels-per-id",
        "2",
    ];
    let run = util::run(
        &f.dirs[1],
        &f.args(1, &["--connect", "127.0.0.1:9"], &short)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    run.code(2).stderr_has("--release-max-bytes 6");
    assert!(!run.stderr.contains("seg-1"), "{}", run.stderr);
    // Both sides learning, or the learner releasing: refused before connecting.
    let both = ["--reveal", "both", "-o", "m.csv"];
    let run = util::run(
        &f.dirs[0],
        &f.args(0, &["--listen", "127.0.0.1:0"], &both)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    run.code(2).stderr_has("--reveal both");
    // Cardinality against labelled: refused in the handshake on both sides.
    let [ra, rb] = f.session(
        &LEARNER,
        &["--mode", "cardinality", "--reveal", "peer"],
        &[],
    );
    ra.code(3);
    rb.code(3);
    assert!(ra.stderr.contains("mode"), "{}", ra.stderr);
    // Different caps: refused in the handshake with both values.
    let [ra, rb] = f.session(
        &[&LEARNER[..], &["--max-labels-per-id", "3"]].concat(),
        &GIVER,
        &[],
    );
    ra.code(3);
    rb.code(3);
    assert!(
        ra.stderr.contains("max labels per identifier"),
        "{}",
        ra.stderr
    );
    assert!(!f.dirs[0].join("matched.csv").exists());
}

/// Bytes of one labelled entry in the session below: a comparison value for 200 ×
/// 200 items, then the ciphertext of the padded label sets (a 2-byte count and two
/// slots of a 16-byte handle and two columns of 2 + 64 bytes) and its 16-byte tag
/// (`docs/protocol.md`, "Labelled mode").
fn entry_len() -> usize {
    let padded = 2 + 2 * (16 + 2 * (2 + 64));
    blindmatch_psi::comparison_len(200, 200) + padded + blindmatch_psi::labelled::AEAD_TAG_LEN
}

/// Relays plaintext frames from `from` to `to`; in every labelled-entries message
/// (frame kind 0x20 whose payload starts with `kind`) flips the last bit of each
/// entry's authentication tag, so every entry the learner opens fails.
fn relay(mut from: TcpStream, mut to: TcpStream, kind: u8) {
    loop {
        let mut len = [0u8; 4];
        if from.read_exact(&mut len).is_err() {
            break;
        }
        let n = u32::from_be_bytes(len) as usize;
        let mut frame = vec![0u8; n];
        if from.read_exact(&mut frame).is_err() {
            break;
        }
        if frame.first() == Some(&0x20) && frame.get(1) == Some(&kind) {
            // Frame kind, message kind, 4-byte batch number, then the entries.
            let entries = frame.get_mut(6..).unwrap();
            assert_eq!(entries.len() % entry_len(), 0, "entry layout changed");
            for entry in entries.chunks_mut(entry_len()) {
                *entry.last_mut().unwrap() ^= 0x01;
            }
        }
        if to
            .write_all(&len)
            .and_then(|()| to.write_all(&frame))
            .is_err()
        {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

#[test]
fn a_flipped_ciphertext_bit_is_a_protocol_error_with_no_output() {
    let f = fixture();
    let plain = ["--insecure-plaintext-for-testing"];
    let a = Party::spawn(
        &f.dirs[0],
        &f.args(
            0,
            &["--listen", "127.0.0.1:0"],
            &[&LEARNER[..], &plain, &["--max-labels-per-id", "2"]].concat(),
        ),
        &[],
        None,
    );
    let learner_addr = a.listening_addr();
    let relay_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_addr = relay_listener.local_addr().unwrap().to_string();
    let kind = blindmatch_psi::labelled::LABELLED_KIND_ENTRIES;
    relay_listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let giver = loop {
            match relay_listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("the giver never connected: {e}"),
            }
        };
        giver.set_nonblocking(false).unwrap();
        let learner = TcpStream::connect(learner_addr).unwrap();
        for s in [&giver, &learner] {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let (g2, l2) = (giver.try_clone().unwrap(), learner.try_clone().unwrap());
        let back = std::thread::spawn(move || relay(l2, g2, 0xFF));
        relay(giver, learner, kind);
        let _ = back.join();
    });
    let b = Party::spawn(
        &f.dirs[1],
        &f.args(
            1,
            &["--connect", &relay_addr],
            &[&GIVER[..], &plain].concat(),
        ),
        &[],
        None,
    );
    let ra = a.finish(DEADLINE);
    let _ = b.finish(DEADLINE);
    let _ = handle.join();
    ra.code(1);
    // Either check may stop it first: the entry that does not authenticate, or the
    // stream hash in the partner's Done (the relay changed the bytes). The entry
    // check alone is tested in crates/psi/tests/labelled.rs.
    assert!(
        ra.stderr.contains("does not authenticate") || ra.stderr.contains("transcript mismatch"),
        "{}",
        ra.stderr
    );
    assert!(!f.dirs[0].join("matched.csv").exists());
    assert!(!f.dirs[0].join("matched.csv.receipt.json").exists());
    assert!(!ra.all_output().contains("seg-1"), "{}", ra.stderr);
}

#[test]
fn a_row_matched_on_two_rules_gets_each_label_set_once() {
    let f = fixture();
    // Both sides also hold e-mails: customers 100..200 match on phone and e-mail.
    let mail = |i: u64| format!("c{i}@example.org");
    let mut a = String::from("cid,tel,mail\n");
    for i in 0..200 {
        a.push_str(&format!("a{i},+86 {},{}\n", phone(i), mail(i)));
    }
    let mut b = String::from("client,mobile,email,segment\n");
    for i in 100..300 {
        let segment = if i < 200 {
            format!("seg-{i}")
        } else {
            planted(i)
        };
        b.push_str(&format!(
            "b{i},{},{},{segment}\n",
            phone(i),
            mail(i).to_uppercase()
        ));
    }
    std::fs::write(f.dirs[0].join("in.csv"), a).unwrap();
    std::fs::write(f.dirs[1].join("in.csv"), b).unwrap();
    let rules = ["--rule", "phone", "--rule", "email"];
    let learner = [&LEARNER[..], &["--column", "mail:email"], &rules].concat();
    let giver = [
        &["--release", "segment", "--column", "email:email"][..],
        &rules,
    ]
    .concat();
    let [ra, rb] = f.session(&learner, &giver, &[]);
    ra.ok();
    rb.ok();
    let text = std::fs::read_to_string(f.dirs[0].join("matched.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,cid,match_id,matched_rules,match_id.phone,match_id.email,peer.segment"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 100, "one row per matched row, not one per rule");
    for r in &rows {
        let i: u64 = r[1].trim_start_matches('a').parse().unwrap();
        assert_eq!(r[3], "phone;email");
        assert_eq!(r[6], format!("seg-{i}"));
    }
    assert!(!text.contains("UNMATCHED-SECRET"));
}
