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

mod buckets;
mod modes;
mod peers;
mod protocols;
mod refusals;

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
            .filter(|v| (opt.starts_with("--") || opt == "-o") && !v.starts_with('-'));
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
    matched_file(&dir.join("matched.csv"), id_column)
}

/// [`matched`] for any file.
fn matched_file(path: &Path, id_column: &str) -> BTreeMap<String, String> {
    let path = path.to_path_buf();
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
        if !dir.join(&name).is_file() {
            continue;
        }
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        all.push_str(&String::from_utf8_lossy(&bytes));
    }
    all
}
