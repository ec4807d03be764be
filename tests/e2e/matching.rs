//! `blindmatch match`: two real processes over 127.0.0.1, each in its own folder
//! like two organisations, on generated data with a known overlap. Covers every mode
//! and reveal setting against the ground truth, receipts, leaks (at the most verbose
//! log level), refusals on both sides, strangers, a killed and a silent peer.
//!
//! Listeners bind port 0 and the tests read `listening on ADDR` from their stderr.
//! Every process runs under a deadline; every wait is bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::{self, Run};

pub(crate) const DEADLINE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------
// Data with a known overlap.

/// The 11-digit mobile number of universe customer `i` (distinct for distinct `i`).
fn national(i: u64) -> String {
    format!("139{:08}", (i * 7919 + 1_234_567) % 100_000_000)
}

/// Ways the same number is written; side and row pick one.
fn written(n: &str, k: usize) -> String {
    let (a, rest) = n.split_at(3);
    let (b, c) = rest.split_at(4);
    match k % 5 {
        0 => format!("+86 {a} {b} {c}"),
        1 => format!("0086-{a}-{b}-{c}"),
        2 => n.to_owned(),
        3 => n
            .chars()
            .map(|ch| char::from_u32(0xFF10 + ch.to_digit(10).unwrap()).unwrap())
            .collect(),
        _ => format!("({a}) {b}-{c}"),
    }
}

/// One organisation's file and what the ground truth says about it.
struct Side {
    csv: String,
    /// Customer ID → universe index, for rows with a valid number.
    index_of: BTreeMap<String, u64>,
    /// IDs of rows that must match.
    expected: BTreeSet<String>,
    /// Every raw number on this side (national form).
    numbers: Vec<String>,
}

/// `rows` rows: customers `0..common` (shared), then customers from `own`, one
/// duplicate of customer 0 (so matched rows exceed matched values by one), one junk
/// value and one empty cell.
fn side(prefix: &str, header: &str, rows: u64, common: u64, own: u64, style: usize) -> Side {
    let mut csv = format!("{header}\n");
    let mut index_of = BTreeMap::new();
    let mut expected = BTreeSet::new();
    let mut numbers = Vec::new();
    let mut add = |n: u64, cell: String, index: Option<u64>| {
        let id = format!("{prefix}{n:05}");
        csv.push_str(&format!("{id},{cell},note {n}\n"));
        if let Some(i) = index {
            index_of.insert(id.clone(), i);
            if i < common {
                expected.insert(id);
            }
        }
    };
    let mut n = 0;
    for i in 0..rows - 3 {
        let index = if i < common { i } else { own + i };
        let number = national(index);
        add(n, written(&number, i as usize + style), Some(index));
        numbers.push(number);
        n += 1;
    }
    add(n, written(&national(0), style + 1), Some(0));
    add(n + 1, "n/a".to_owned(), None);
    add(n + 2, String::new(), None);
    Side {
        csv,
        index_of,
        expected,
        numbers,
    }
}

/// Two folders, `a` (listens) and `b` (connects), each with an identity and a file.
pub(crate) struct Fixture {
    _tmp: tempfile::TempDir,
    pub(crate) a: PathBuf,
    pub(crate) b: PathBuf,
    fp_a: String,
    fp_b: String,
    side_a: Side,
    side_b: Side,
    common: u64,
}

impl Fixture {
    pub(crate) fn new(rows_a: u64, rows_b: u64, common: u64) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let fp_a = new_identity(&a, "alice");
        let fp_b = new_identity(&b, "bob");
        let side_a = side("A", "customer_id,phone,notes", rows_a, common, 1_000_000, 0);
        let side_b = side("B", "client_no,mobile,remark", rows_b, common, 2_000_000, 3);
        std::fs::write(a.join("customers.csv"), &side_a.csv).unwrap();
        std::fs::write(b.join("clients.csv"), &side_b.csv).unwrap();
        Fixture {
            _tmp: tmp,
            a,
            b,
            fp_a,
            fp_b,
            side_a,
            side_b,
            common,
        }
    }

    /// The listener's arguments (with `extra` appended).
    pub(crate) fn a_args(&self, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "match",
            "--listen",
            "127.0.0.1:0",
            "--identity",
            "alice",
            "--peer-fingerprint",
            &self.fp_b,
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
            "--keep",
            "customer_id",
            "-o",
            "matched.csv",
            "--min-peer-set",
            "0",
            "--wait-timeout",
            "60s",
            "--read-timeout",
            "30s",
        ]
        .map(String::from)
        .to_vec();
        merge(&mut v, extra);
        v
    }

    /// The connector's arguments for `addr` (with `extra` appended).
    pub(crate) fn b_args(&self, addr: &str, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "match",
            "--connect",
            addr,
            "--identity",
            "bob",
            "--peer-fingerprint",
            &self.fp_a,
            "--input",
            "clients.csv",
            "--column",
            "mobile:phone",
            "--keep",
            "client_no",
            "-o",
            "matched.csv",
            "--min-peer-set",
            "0",
            "--wait-timeout",
            "30s",
            "--read-timeout",
            "30s",
        ]
        .map(String::from)
        .to_vec();
        merge(&mut v, extra);
        v
    }

    /// Runs a whole session: `a` listens with `a_extra`, `b` connects with `b_extra`.
    pub(crate) fn session(&self, a_extra: &[&str], b_extra: &[&str]) -> (Run, Run) {
        let a = Party::spawn(&self.a, &self.a_args(a_extra), &[], None);
        let addr = a.listening_addr();
        let b = Party::spawn(&self.b, &self.b_args(&addr, b_extra), &[], None);
        (a.finish(DEADLINE), b.finish(DEADLINE))
    }
}

/// Adds `extra` to `args`; an option already present gets the new value instead
/// (clap refuses a single-value option given twice).
fn merge(args: &mut Vec<String>, extra: &[&str]) {
    let mut i = 0;
    while i < extra.len() {
        let opt = extra[i];
        let value = extra
            .get(i + 1)
            .filter(|v| opt.starts_with("--") && !v.starts_with('-'));
        match (value, args.iter().position(|a| a == opt)) {
            (Some(v), Some(at)) if at + 1 < args.len() => args[at + 1] = (*v).to_owned(),
            (Some(v), _) => args.extend([opt.to_owned(), (*v).to_owned()]),
            (None, _) => args.push(opt.to_owned()),
        }
        i += if value.is_some() { 2 } else { 1 };
    }
}

/// The arguments without the TLS identity and pin, for the plaintext test transport.
fn without_tls(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(x) = it.next() {
        if x == "--identity" || x == "--peer-fingerprint" {
            it.next();
        } else {
            out.push(x);
        }
    }
    out
}

fn new_identity(dir: &Path, name: &str) -> String {
    let run = util::run(dir, &["identity", "new", "-o", name]);
    run.ok();
    run.stdout.trim().to_owned()
}

// ---------------------------------------------------------------------------
// A running party.

/// A `blindmatch` process whose output lines arrive while it runs.
pub(crate) struct Party {
    pub(crate) child: Child,
    out_lines: Receiver<String>,
    err_lines: Receiver<String>,
    out_all: Arc<Mutex<String>>,
    err_all: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    started: Instant,
}

fn pump(
    pipe: impl Read + Send + 'static,
    all: Arc<Mutex<String>>,
) -> (Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        for line in BufReader::new(pipe).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line).into_owned();
            all.lock().unwrap().push_str(&line);
            all.lock().unwrap().push('\n');
            let _ = tx.send(line);
        }
    });
    (rx, handle)
}

impl Party {
    pub(crate) fn spawn(
        dir: &Path,
        args: &[String],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
    ) -> Party {
        let mut cmd = util::bin();
        cmd.current_dir(dir)
            .args(args)
            .env_remove("BLINDMATCH_LOG")
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn blindmatch");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            let input = input.to_vec();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let out_all = Arc::new(Mutex::new(String::new()));
        let err_all = Arc::new(Mutex::new(String::new()));
        let (out_lines, h1) = pump(child.stdout.take().unwrap(), Arc::clone(&out_all));
        let (err_lines, h2) = pump(child.stderr.take().unwrap(), Arc::clone(&err_all));
        Party {
            child,
            out_lines,
            err_lines,
            out_all,
            err_all,
            readers: vec![h1, h2],
            started: Instant::now(),
        }
    }

    /// The first line (of stderr or stdout) satisfying `pred`, within `timeout`.
    pub(crate) fn wait_line(
        &self,
        stderr: bool,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let rx = if stderr {
            &self.err_lines
        } else {
            &self.out_lines
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no expected line within {timeout:?}; stderr so far:\n{}",
                    self.err_all.lock().unwrap()
                ),
            }
        }
    }

    /// The address from `listening on ADDR`.
    pub(crate) fn listening_addr(&self) -> String {
        let line = self.wait_line(true, Duration::from_secs(60), |l| {
            l.starts_with("listening on ")
        });
        line.trim_start_matches("listening on ").trim().to_owned()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit (killing the process and failing after `timeout`).
    pub(crate) fn finish(mut self, timeout: Duration) -> Run {
        let deadline = self.started + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "blindmatch did not finish within {timeout:?}; stderr:\n{}",
                    self.err_all.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for h in self.readers.drain(..) {
            let _ = h.join();
        }
        let stdout = self.out_all.lock().unwrap().clone();
        let stderr = self.err_all.lock().unwrap().clone();
        Run {
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

impl Drop for Party {
    fn drop(&mut self) {
        // A failed assertion must not leave a process behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Reading results.

pub(crate) fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The matched-rows file as kept ID → match ID, after checking its header and mode.
fn matched(dir: &Path, id_column: &str) -> BTreeMap<String, String> {
    let path = dir.join("matched.csv");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the matched rows are private data");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(format!("row,{id_column},match_id").as_str())
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "{l}");
            assert_eq!(f[2].len(), 64, "{l}");
            (f[1].to_owned(), f[2].to_owned())
        })
        .collect()
}

/// No raw identifier of either side anywhere in `text`.
fn assert_no_numbers(text: &str, fixture: &Fixture, what: &str) {
    for n in fixture.side_a.numbers.iter().chain(&fixture.side_b.numbers) {
        assert!(
            !text.contains(n.as_str()),
            "{what} holds the raw number {n}"
        );
        let (a, rest) = n.split_at(3);
        let (b, c) = rest.split_at(4);
        for form in [format!("{a} {b} {c}"), format!("{a}-{b}-{c}")] {
            assert!(!text.contains(&form), "{what} holds the raw number {form}");
        }
    }
}

/// `dir` holds exactly these files: nothing half-written, no temporary file.
pub(crate) fn assert_only(dir: &Path, names: &[&str]) {
    assert_eq!(util::files_in(dir), names, "files in {}", dir.display());
}

/// Everything in `dir` except the input and identity files, as text.
fn written_files(dir: &Path) -> String {
    let mut all = String::new();
    for name in util::files_in(dir) {
        if name.ends_with(".csv") && (name == "customers.csv" || name == "clients.csv") {
            continue;
        }
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        all.push_str(&String::from_utf8_lossy(&bytes));
    }
    all
}

// ---------------------------------------------------------------------------
// The tests.

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
fn killed_peer_leaves_the_other_side_failing_cleanly() {
    // A big connector set in small batches, so the session is far from done when
    // the connector is killed right after its first batch.
    let f = Fixture::new(200, 20_000, 50);
    let a = Party::spawn(&f.a, &f.a_args(&[]), &[], None);
    let addr = a.listening_addr();
    let mut b = Party::spawn(
        &f.b,
        &f.b_args(
            &addr,
            &["--events", "json", "--batch-size", "32", "--threads", "1"],
        ),
        &[],
        None,
    );
    b.wait_line(false, Duration::from_secs(60), |l| {
        l.contains("\"event\":\"progress\"")
    });
    b.child.kill().unwrap();
    let _ = b.finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    assert!(
        ra.stderr.contains("disconnected") || ra.stderr.contains("connection failed"),
        "{ra:#?}"
    );
    ra.stderr_has("hint: ");
    // Nothing written, not even a temporary file.
    assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
}

#[test]
fn listener_survives_garbage_and_oversized_frames_from_strangers() {
    // Over TLS: a stranger speaking HTTP, one sending random bytes.
    let f = Fixture::new(150, 130, 40);
    let a = Party::spawn(&f.a, &f.a_args(&[]), &[], None);
    let addr = a.listening_addr();
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3][..],
    ] {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(junk).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        a.wait_line(true, Duration::from_secs(30), |l| {
            l.contains("connection refused")
        });
    }
    let rb = Party::spawn(&f.b, &f.b_args(&addr, &[]), &[], None).finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    ra.ok();
    rb.ok();
    assert_eq!(
        matched(&f.a, "customer_id")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        f.side_a.expected
    );

    // Without TLS (the test-only transport), a stranger can reach the frame decoder:
    // an oversized length prefix, then a frame that is not a hello.
    let plain = ["--insecure-plaintext-for-testing"];
    for dir in [&f.a, &f.b] {
        for name in ["matched.csv", "matched.csv.receipt.json"] {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
    }
    let a = Party::spawn(&f.a, &without_tls(f.a_args(&plain)), &[], None);
    let addr = a.listening_addr();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(&[0xff, 0xff, 0xff, 0xf0, 0x01, 0x02]).unwrap();
    a.wait_line(true, Duration::from_secs(30), |l| {
        l.contains("invalid frame")
    });
    let mut s2 = TcpStream::connect(&addr).unwrap();
    s2.write_all(&[0, 0, 0, 5, 0x02, 1, 2, 3, 4]).unwrap();
    a.wait_line(true, Duration::from_secs(30), |l| {
        l.contains("connection refused")
    });
    let rb = Party::spawn(&f.b, &without_tls(f.b_args(&addr, &plain)), &[], None).finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    ra.ok();
    rb.ok();
    assert_eq!(
        matched(&f.b, "client_no")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        f.side_b.expected
    );
    drop((s, s2));
}

/// Strangers cannot lock out the partner: while 1,000 idle sockets and 100 TLS
/// clients sending one byte a second hold connections to the listener, the partner
/// still completes its session.
#[test]
fn strangers_holding_connections_cannot_lock_out_the_partner() {
    let f = Fixture::new(150, 130, 40);
    let a = Party::spawn(&f.a, &f.a_args(&[]), &[], None);
    let addr = a.listening_addr();
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(TcpStream::connect(&addr).unwrap());
    }
    // Slow clients: a TLS record header, then one byte a second each, for as long as
    // the session runs (bounded: at most 60 bytes).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut slow: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
            s
        })
        .collect();
    let stop_slow = Arc::clone(&stop);
    let drip = std::thread::spawn(move || {
        for _ in 0..60 {
            if stop_slow.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            for s in &mut slow {
                let _ = s.write_all(&[0x01]);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // The strangers would hold their slots for the whole handshake timeout (30 s);
    // the partner must get in well before that.
    let rb = Party::spawn(
        &f.b,
        &f.b_args(&addr, &["--wait-timeout", "15s"]),
        &[],
        None,
    )
    .finish(DEADLINE);
    let ra = a.finish(DEADLINE);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drip.join().unwrap();
    drop(idle);
    ra.ok();
    rb.ok();
    assert_eq!(
        matched(&f.a, "customer_id")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        f.side_a.expected
    );
    // The flood was seen and counted, not logged line by line.
    ra.stderr_has("connection refused");
    assert!(
        ra.stderr
            .lines()
            .filter(|l| l.contains("connection refused"))
            .count()
            <= 25
    );
}

/// A plaintext side meeting a TLS side is told which one the partner speaks.
#[test]
fn tls_and_plaintext_sides_are_told_what_the_partner_speaks() {
    let f = Fixture::new(150, 130, 40);
    let plain = ["--insecure-plaintext-for-testing"];
    // A TLS listener, a plaintext connector.
    let a = Party::spawn(&f.a, &f.a_args(&["--wait-timeout", "5s"]), &[], None);
    let addr = a.listening_addr();
    let rb = Party::spawn(&f.b, &without_tls(f.b_args(&addr, &plain)), &[], None).finish(DEADLINE);
    assert_eq!(rb.code, Some(3), "{rb:#?}");
    rb.stderr_has("the partner speaks TLS")
        .stderr_has("--identity");
    let ra = a.finish(DEADLINE);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    ra.stderr_has("speaks plaintext");

    // A plaintext listener, a TLS connector.
    let a = Party::spawn(
        &f.a,
        &without_tls(f.a_args(&["--wait-timeout", "5s", plain[0]])),
        &[],
        None,
    );
    let addr = a.listening_addr();
    let rb = Party::spawn(&f.b, &f.b_args(&addr, &[]), &[], None).finish(DEADLINE);
    assert_eq!(rb.code, Some(3), "{rb:#?}");
    rb.stderr_has("the partner speaks plaintext")
        .stderr_has("--insecure-plaintext-for-testing");
    let ra = a.finish(DEADLINE);
    ra.stderr_has("speaks TLS");
    for dir in [&f.a, &f.b] {
        assert!(!dir.join("matched.csv").exists());
    }
}

#[test]
fn silent_peer_times_out() {
    let f = Fixture::new(150, 20_000, 40);

    // A "listener" that accepts and never says a word: the connector gives up.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_addr = mute.local_addr().unwrap().to_string();
    let started = Instant::now();
    let rb = Party::spawn(
        &f.b,
        &f.b_args(&mute_addr, &["--read-timeout", "2s"]),
        &[],
        None,
    )
    .finish(DEADLINE);
    assert_eq!(rb.code, Some(1), "{rb:#?}");
    rb.stderr_has("timed out").stderr_has("hint: ");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!f.b.join("matched.csv").exists());
    drop(mute);

    // A stranger that connects and stays silent is dropped; with no partner, the
    // listener stops at --wait-timeout.
    let a = Party::spawn(
        &f.a,
        &f.a_args(&["--read-timeout", "1s", "--wait-timeout", "4s"]),
        &[],
        None,
    );
    let addr = a.listening_addr();
    let _silent = TcpStream::connect(&addr).unwrap();
    let ra = a.finish(DEADLINE);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    ra.stderr_has("timed out")
        .stderr_has("no partner completed the handshake");

    // A partner that goes silent mid-session (stopped): the listener times out.
    let a = Party::spawn(&f.a, &f.a_args(&["--read-timeout", "3s"]), &[], None);
    let addr = a.listening_addr();
    let b = Party::spawn(
        &f.b,
        &f.b_args(
            &addr,
            &["--events", "json", "--batch-size", "32", "--threads", "1"],
        ),
        &[],
        None,
    );
    b.wait_line(false, Duration::from_secs(60), |l| {
        l.contains("\"event\":\"progress\"")
    });
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &b.pid().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let ra = a.finish(DEADLINE);
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &b.pid().to_string()])
        .status();
    drop(b);
    assert_eq!(ra.code, Some(1), "{ra:#?}");
    ra.stderr_has("timed out").stderr_has("--read-timeout");
    assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
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
