//! Ctrl-C, SIGTERM and SIGKILL. An interrupted command removes every temporary
//! file it was writing, says how many, and exits 130 (SIGINT) or 143 (SIGTERM); a
//! run killed with SIGKILL leaves its temporary files, which the next run writing
//! the same output reports and removes; a live run's temporary files are left
//! alone; an interrupted match tells its partner, which says "cancelled by the
//! partner".
//!
//! Signals are sent with the `kill` command. A tokenize is kept mid-run by a
//! standard input that the test holds open after a generated chunk of rows; every
//! wait is bounded.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::matching::{DEADLINE, Fixture, Party, assert_only};
use crate::util::{files_in, run};

const LIMIT: Duration = Duration::from_secs(60);

/// A folder with a master key.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["keygen", "-o", "acme.key"]).ok();
    dir
}

/// The CSV text of `rows` customers; every 100th phone number is invalid, so the
/// rejects file has content.
fn customers(rows: u64) -> String {
    let mut csv = String::from("id,phone\n");
    for i in 0..rows {
        if i % 100 == 99 {
            csv.push_str(&format!("C{i},12345\n"));
        } else {
            csv.push_str(&format!("C{i},138{:08}\n", i * 7 % 100_000_000));
        }
    }
    csv
}

const TOKENIZE: &[&str] = &[
    "tokenize",
    "--key",
    "acme.key",
    "--column",
    "phone:phone",
    "--keep",
    "id",
    "-o",
    "tokens.csv",
    "--rejects",
    "rejects.csv",
];

/// A tokenize reading standard input, which the test holds open after a chunk of
/// rows: the run is mid-way (its outputs under their temporary names) until it is
/// signalled.
struct Held {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<String>>,
}

impl Held {
    fn start(dir: &Path, rows: u64) -> Held {
        let mut child = crate::util::bin()
            .current_dir(dir)
            .args(TOKENIZE)
            .args(["--input", "-"])
            .env_remove("BLINDMATCH_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        let mut stdin = child.stdin.take().unwrap();
        // Written while the run reads it; a run that failed early shows in its
        // status and stderr below, not as a broken pipe here.
        let _ = stdin.write_all(customers(rows).as_bytes());
        let _ = stdin.flush();
        let held = Held {
            child,
            stdin: Some(stdin),
            stderr: Some(stderr),
        };
        held.wait_for_tokens(dir);
        held
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the token file's temporary holds tokens: the run is writing.
    fn wait_for_tokens(&self, dir: &Path) {
        let temp = dir.join(temp_name("tokens.csv", self.pid()));
        let deadline = Instant::now() + LIMIT;
        while std::fs::metadata(&temp).map_or(true, |m| m.len() == 0) {
            assert!(
                Instant::now() < deadline,
                "no tokens written to {} in time; files: {:?}",
                temp.display(),
                files_in(dir)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (e.g. `-INT`) and waits for the exit: its status and stderr.
    fn signal(mut self, signal: &str) -> (ExitStatus, String) {
        send(signal, self.pid());
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tokenize did not stop within {LIMIT:?} of {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.stdin.take());
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (status, stderr)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // A failed assertion must not leave a process behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `kill SIGNAL PID`.
fn send(signal: &str, pid: u32) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} {pid}");
}

/// The temporary file name of output `name` written by process `pid`.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.{pid}.blindmatch-tmp")
}

/// The three temporary files of a tokenize run with `pid`, sorted as listed.
fn tokenize_temps(pid: u32) -> Vec<String> {
    let mut names = vec![
        temp_name("rejects.csv", pid),
        temp_name("tokens.csv", pid),
        temp_name("tokens.csv.manifest.json", pid),
    ];
    names.sort();
    names
}

/// `names` and the key file, sorted as listed.
fn with_key(mut names: Vec<String>) -> Vec<String> {
    names.push("acme.key".to_owned());
    names.sort();
    names
}

/// The ID of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    child.id()
}

#[test]
fn ctrl_c_or_sigterm_during_tokenize_removes_every_temporary_file() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let dir = setup();
        let d = dir.path();
        let held = Held::start(d, 50_000);
        let pid = held.pid();
        assert_eq!(files_in(d), with_key(tokenize_temps(pid)), "mid-run");

        let (status, stderr) = held.signal(signal);
        assert_eq!(status.code(), Some(code), "{signal}: {stderr}");
        assert!(
            stderr.contains("interrupted: removed 3 temporary file(s)"),
            "{signal}: {stderr}"
        );
        assert!(!stderr.contains("error:"), "{signal}: {stderr}");
        assert_eq!(files_in(d), ["acme.key"], "{signal}: left behind");
    }
}

#[test]
fn a_killed_runs_temporary_files_are_reported_and_removed_by_the_next_run() {
    let dir = setup();
    let d = dir.path();
    let held = Held::start(d, 50_000);
    let pid = held.pid();
    let (status, _) = held.signal("-KILL");
    assert_eq!(status.code(), None);
    // SIGKILL cannot be caught: the temporary files stay, one per output.
    assert_eq!(files_in(d), with_key(tokenize_temps(pid)));

    std::fs::write(d.join("customers.csv"), customers(300)).unwrap();
    let rerun = run(d, &[TOKENIZE, &["--input", "customers.csv"][..]].concat());
    rerun.ok();
    for (temp, output) in [
        (temp_name("tokens.csv", pid), "tokens.csv"),
        (
            temp_name("tokens.csv.manifest.json", pid),
            "tokens.csv.manifest.json",
        ),
        (temp_name("rejects.csv", pid), "rejects.csv"),
    ] {
        rerun.stderr_has(&format!(
            "warning: removed '{temp}', the temporary file of '{output}' that an interrupted run (process {pid}) left behind"
        ));
    }
    assert_eq!(
        files_in(d),
        [
            "acme.key",
            "customers.csv",
            "rejects.csv",
            "tokens.csv",
            "tokens.csv.manifest.json"
        ]
    );
}

#[test]
fn a_running_writers_temporary_file_is_left_alone() {
    let dir = setup();
    let d = dir.path();
    let held = Held::start(d, 50_000);
    let pid = held.pid();
    // A second run writing the same outputs meanwhile: told, and it keeps off.
    std::fs::write(d.join("customers.csv"), customers(300)).unwrap();
    let second = run(d, &[TOKENIZE, &["--input", "customers.csv"][..]].concat());
    second
        .ok()
        .stderr_has(&format!(
            "warning: another run (process {pid}) is writing 'tokens.csv' now"
        ))
        .stderr_has("hint: wait for the other run to finish");
    assert!(!second.stderr.contains("warning: removed"), "{second:#?}");
    for temp in tokenize_temps(pid) {
        assert!(d.join(&temp).exists(), "{temp} was removed");
    }
    // The first run, interrupted, removes its own files and nothing else.
    let (status, stderr) = held.signal("-INT");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_eq!(
        files_in(d),
        [
            "acme.key",
            "customers.csv",
            "rejects.csv",
            "tokens.csv",
            "tokens.csv.manifest.json"
        ]
    );
}

#[test]
fn key_and_identity_outputs_clear_what_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pid = dead_pid();
    let stale = |name: &str| -> PathBuf {
        let path = d.join(temp_name(name, pid));
        std::fs::write(&path, b"half").unwrap();
        path
    };
    let removed = |output: &str| {
        format!(
            "warning: removed '{}', the temporary file of '{output}' that an interrupted run (process {pid}) left behind",
            temp_name(output, pid)
        )
    };

    let temps = [stale("master.key")];
    run(d, &["keygen", "-o", "master.key"])
        .ok()
        .stderr_has(&removed("master.key"));
    let temps = [&temps[..], &[stale("partner.key")]].concat();
    run(
        d,
        &[
            "key",
            "derive",
            "--master",
            "master.key",
            "--partner",
            "insurer-x",
            "--purpose",
            "token",
            "-o",
            "partner.key",
        ],
    )
    .ok()
    .stderr_has(&removed("partner.key"));
    let temps = [&temps[..], &[stale("acme.key"), stale("acme.crt")]].concat();
    run(d, &["identity", "new", "-o", "acme"])
        .ok()
        .stderr_has(&removed("acme.key"))
        .stderr_has(&removed("acme.crt"));
    for temp in temps {
        assert!(!temp.exists(), "{} is left", temp.display());
    }
    assert_eq!(
        files_in(d),
        ["acme.crt", "acme.key", "master.key", "partner.key"]
    );
}

#[test]
fn an_interrupted_match_tells_the_partner_and_leaves_nothing() {
    // A big connector set in small batches: far from done at its first progress.
    let f = Fixture::new(200, 20_000, 50);
    let a = Party::spawn(&f.a, &f.a_args(&[]), &[], None);
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
    send("-INT", a.pid());
    let ra = a.finish(DEADLINE);
    let rb = b.finish(DEADLINE);
    // The interrupted side writes nothing before the session ends, so it has no
    // temporary file to remove; it prints one line and no error or warning.
    ra.code(130)
        .stderr_has("interrupted: removed 0 temporary file(s)");
    assert!(
        !ra.stderr.contains("error") && !ra.stderr.contains("WARN"),
        "{ra:#?}"
    );
    rb.code(1)
        .stderr_has("error: the session was cancelled by the partner")
        .stderr_has("[cancelled]")
        .stderr_has("hint: the partner stopped its side");
    assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
    assert_only(&f.b, &["bob.crt", "bob.key", "clients.csv"]);
}

#[test]
fn a_listener_stops_waiting_on_ctrl_c_or_sigterm() {
    let f = Fixture::new(50, 50, 10);
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let a = Party::spawn(&f.a, &f.a_args(&["--wait-timeout", "60s"]), &[], None);
        let _ = a.listening_addr();
        let started = Instant::now();
        send(signal, a.pid());
        let ra = a.finish(DEADLINE);
        ra.code(code)
            .stderr_has("interrupted: removed 0 temporary file(s)");
        assert!(started.elapsed() < Duration::from_secs(20), "{signal}");
        assert_only(&f.a, &["alice.crt", "alice.key", "customers.csv"]);
    }
}
