//! Helpers shared by the end-to-end tests: running the binary with a timeout and
//! collecting its output.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `blindmatch` binary built for this test run.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_blindmatch"))
}

/// What a finished run produced.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "expected success, got {self:#?}");
        self
    }

    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}, got {self:#?}"
        );
        self
    }

    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {self:#?}"
        );
        self
    }

    /// Everything the process printed, for leak checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

fn from_output(out: Output) -> Run {
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `blindmatch ARGS` in `dir` with an optional stdin, killing it after
/// `timeout` (a hung process fails the test instead of hanging CI).
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .args(args)
        .env_remove("BLINDMATCH_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn blindmatch");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    // Drain both pipes on their own threads so a chatty child never blocks.
    let mut stdout_pipe = child.stdout.take().expect("stdout");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let stdout = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout_pipe, &mut buf);
        buf
    });
    let stderr = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr_pipe, &mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("blindmatch {args:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    from_output(Output {
        status,
        stdout: stdout.join().expect("stdout thread"),
        stderr: stderr.join().expect("stderr thread"),
    })
}

/// Runs `blindmatch ARGS` in `dir` with a 60 s limit and no stdin.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    run_in(dir, args, None, Duration::from_secs(60))
}

/// Names of the files in `dir`, sorted (to assert nothing half-written is left).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `blindmatch ARGS` in `dir` with extra environment variables (e.g.
/// `BLINDMATCH_LOG=trace`) and an optional stdin, with a 60 s limit.
pub fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    let mut cmd = bin();
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
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    // wait_with_output drains both pipes concurrently; the limit is enforced by a
    // watchdog that kills the child.
    let id = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("wait blindmatch");
    let _ = done_tx.send(());
    assert!(
        !watchdog.join().expect("watchdog"),
        "blindmatch {args:?} did not finish within 60 s"
    );
    from_output(out)
}

/// Asserts the folder holds exactly `expected` (sorted names): nothing
/// half-written, no temporary file.
pub fn assert_files(dir: &Path, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(
        files_in(dir),
        expected,
        "unexpected files in {}",
        dir.display()
    );
}
