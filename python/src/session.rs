//! `match`: one party of a PSI session, configured as `blindmatch match` would be,
//! reading its table from memory (CSV text the Python layer made from the
//! DataFrame; never written to disk) and running the library's pipeline as the
//! CLI does: `prepare` → `Endpoint::open` → `run_partitioned` (the planning
//! connection, then one sub-session per bucket when a set does not fit
//! `memory_limit`; a memory input is read again for its buckets, spilled
//! encrypted to `work_dir`) → `finish`.
//!
//! The session runs on a thread of its own with the GIL released; the calling
//! thread waits for its events, hands them to the progress callback, and checks
//! for Ctrl-C between them. Ctrl-C cancels the session (the partner is told, as
//! with the CLI) and raises `KeyboardInterrupt` once the session has stopped.
//!
//! Outputs the library writes (matched rows, receipts) go to a private temporary
//! folder (mode 0700, files 0600) and are read back and removed before returning,
//! unless the caller named a file for them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use blindmatch_data::dataset::{InputSource, InputSpec, MemoryInput};
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Cancellation, Event, EventSink, Learner, Mode, Transport};
use blindmatch_pipeline::matching::partition::{PartitionOptions, Shard, parse_memory_limit};
use blindmatch_pipeline::matching::{
    self, Address, BucketProgress, Endpoint, LabelConfig, PartyConfig, PsiProtocol, RunClock,
    load_transport, run_partitioned, session_rules,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::column::{Warnings, profile};
use crate::errors::{IntoPy, bad_input, to_py};

/// How long the calling thread waits for an event before it checks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(100);
/// How long a cancelled session may take to tell the partner and stop (as the CLI).
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// What the session thread tells the calling thread.
enum Message {
    /// A session event as JSON.
    Event(String),
    /// The session is over.
    Done(Box<Result<Done>>),
}

/// What a finished session hands back.
struct Done {
    output: Option<Vec<u8>>,
    receipt: String,
    shareable: String,
    matched_rows: Option<u64>,
    matched_values: Option<u64>,
    rejected: u64,
    rows: u64,
}

/// The options of `blindmatch match`, as the Python layer passes them.
#[derive(FromPyObject)]
pub(crate) struct MatchOptions {
    columns: Vec<(String, String)>,
    rules: Vec<String>,
    listen: Option<String>,
    connect: Option<String>,
    identity: Option<PathBuf>,
    peer_fingerprint: Option<String>,
    peer_ca: Option<PathBuf>,
    peer_name: Option<String>,
    insecure_plaintext_for_testing: bool,
    mode: String,
    reveal: Option<String>,
    release: Vec<String>,
    release_max_bytes: u32,
    max_labels_per_id: u32,
    profile: Option<String>,
    min_peer_set: u64,
    max_peer_set: Option<u64>,
    batch_size: u32,
    wait_timeout: f64,
    read_timeout: f64,
    receipt: Option<PathBuf>,
    shareable_receipt: Option<PathBuf>,
    rejects: Option<PathBuf>,
    max_reject_rate: Option<f64>,
    force: bool,
    protocol: String,
    /// Bytes as digits, or a size as `--memory-limit` takes it (`256MiB`).
    memory_limit: Option<String>,
    work_dir: Option<PathBuf>,
    /// `I/K`.
    shard: Option<String>,
    resume: Option<PathBuf>,
}

fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            bad_input(
                format!("{what} {value} is not a positive number of seconds"),
                None,
            )
        })
}

/// The party's configuration, as `blindmatch match` validates its flags.
fn party_config(csv: Vec<u8>, name: &str, o: &MatchOptions, dir: &Path) -> PyResult<PartyConfig> {
    let specs: Vec<String> = o.columns.iter().map(|(c, t)| format!("{c}:{t}")).collect();
    let mut input = InputSpec::parse(Path::new("-"), &specs, &[], ",").py_err()?;
    input.source = InputSource::Memory(MemoryInput::new(name, csv));
    let rules = session_rules(&input, &o.rules).py_err()?;
    let address = match (&o.listen, &o.connect) {
        (Some(a), None) => Address::Listen(a.clone()),
        (None, Some(a)) => Address::Connect(a.clone()),
        _ => {
            return Err(bad_input(
                "give exactly one of listen= and connect=",
                Some(
                    "one side listens (listen='0.0.0.0:7000'), the other connects (connect='HOST:7000')",
                ),
            ));
        }
    };
    let transport = if o.insecure_plaintext_for_testing {
        Transport::InsecurePlaintextForTesting
    } else {
        load_transport(
            o.identity.as_deref(),
            o.peer_fingerprint.as_deref(),
            o.peer_ca.as_deref(),
            o.peer_name.clone(),
        )
        .py_err()?
    };
    let mode = Mode::from_name(&o.mode).ok_or_else(|| {
        bad_input(
            format!("unknown mode '{}'", o.mode),
            Some("use 'intersection', 'cardinality' or 'labelled'"),
        )
    })?;
    let labelled = mode == Mode::Labelled;
    let protocol = PsiProtocol::from_name(&o.protocol).ok_or_else(|| {
        bad_input(
            format!("unknown protocol '{}'", o.protocol),
            Some("use 'ecdh' or 'vole' (both sides the same)"),
        )
    })?;
    let memory_limit = o
        .memory_limit
        .as_deref()
        .map(|m| parse_memory_limit(m).map_err(|e| bad_input(format!("memory_limit {e}"), None)))
        .transpose()?;
    let shard = o
        .shard
        .as_deref()
        .map(|s| Shard::parse(s).map_err(|e| bad_input(format!("shard {e}"), None)))
        .transpose()?;
    let partition = PartitionOptions {
        memory_limit,
        work_dir: o.work_dir.clone(),
        shard,
        resume: o.resume.clone(),
    }
    .resolve(mode)
    .py_err()?;
    let learner = match (o.reveal.as_deref(), labelled) {
        (Some("me"), _) => Learner::Me,
        (Some("peer"), _) => Learner::Peer,
        (Some("both"), _) => Learner::Both,
        (Some(other), _) => {
            return Err(bad_input(
                format!("unknown reveal '{other}'"),
                Some("use 'me', 'peer' or 'both'"),
            ));
        }
        (None, true) if o.release.is_empty() => Learner::Me,
        (None, true) => Learner::Peer,
        (None, false) => Learner::Both,
    };
    let labels = (labelled || !o.release.is_empty()).then(|| LabelConfig {
        release: o.release.clone(),
        max_bytes: o.release_max_bytes,
        max_labels_per_id: o.max_labels_per_id,
    });
    let mut cfg = PartyConfig {
        input,
        rules,
        labels,
        profile: profile(o.profile.as_deref())?,
        address,
        transport,
        mode,
        learner,
        min_peer_set: o.min_peer_set,
        max_peer_set: o.max_peer_set,
        batch_size: o.batch_size,
        wait_timeout: seconds(o.wait_timeout, "wait_timeout")?,
        read_timeout: seconds(o.read_timeout, "read_timeout")?,
        output: None,
        receipt: Some(
            o.receipt
                .clone()
                .unwrap_or_else(|| dir.join("receipt.json")),
        ),
        shareable_receipt: Some(
            o.shareable_receipt
                .clone()
                .unwrap_or_else(|| dir.join("shareable-receipt.json")),
        ),
        rejects: o.rejects.clone(),
        max_reject_rate: o.max_reject_rate,
        force: o.force,
        // As the CLI: a planning connection first (so either side may be the
        // CLI), buckets when a set does not fit the memory limit.
        partition,
        protocol,
    };
    if cfg.learns_rows() {
        cfg.output = Some(dir.join("matched.csv"));
    }
    Ok(cfg)
}

/// Runs the whole party on this (non-Python) thread.
fn run_party(
    cfg: &PartyConfig,
    events: EventSink,
    buckets: &(dyn Fn(&BucketProgress) + Sync),
    cancel: &Cancellation,
    warnings: &Warnings,
) -> Result<Done> {
    let clock = RunClock::start();
    cfg.check_outputs()?;
    let mut prepared = matching::prepare(cfg, warnings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("blindmatch-net")
        .build()
        .fail_with(|| Error::failed("cannot start the network runtime"))?;
    let report = runtime.block_on(async {
        let endpoint = Endpoint::open(cfg).await?;
        run_partitioned(
            cfg,
            &mut prepared,
            &endpoint,
            Some(events),
            cancel,
            warnings,
            buckets,
        )
        .await
    })?;
    let done = matching::finish(cfg, &prepared, report, &clock)?;
    let read = |path: &Path| {
        std::fs::read(path)
            .fail_with(|| Error::failed(format!("cannot read back '{}'", path.display())))
    };
    let output = done.output.as_ref().map(|w| read(&w.path)).transpose()?;
    let receipt = String::from_utf8_lossy(&read(&done.receipt.path)?).into_owned();
    let shareable = match &done.shareable_receipt {
        Some(w) => String::from_utf8_lossy(&read(&w.path)?).into_owned(),
        None => String::new(),
    };
    Ok(Done {
        output,
        receipt,
        shareable,
        matched_rows: done.matched_rows,
        matched_values: done.report.matched_count,
        rejected: prepared.counts.rejected,
        rows: prepared.summary.rows,
    })
}

/// What `match_csv` returns: matched rows as CSV (or None), the receipt and the
/// shareable receipt as JSON, and a summary.
type MatchOutput<'py> = (Option<Vec<u8>>, String, String, Bound<'py, PyDict>);

/// `match_csv(csv, name, options, progress=None)`: one party of a session over
/// the CSV text `csv`; returns (matched rows as CSV or None, receipt JSON,
/// shareable receipt JSON, summary dict).
#[pyfunction]
#[pyo3(signature = (csv, name, options, progress=None))]
pub(crate) fn match_csv<'py>(
    py: Python<'py>,
    csv: Vec<u8>,
    name: String,
    options: MatchOptions,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<MatchOutput<'py>> {
    let dir = tempfile::Builder::new()
        .prefix("blindmatch-py-")
        .tempdir()
        .map_err(|e| {
            to_py(Error::failed(format!(
                "cannot create a temporary folder: {e}"
            )))
        })?;
    let cfg = Arc::new(party_config(csv, &name, &options, dir.path())?);
    let (tx, rx) = mpsc::channel::<Message>();
    let cancel = Cancellation::new();
    let events_tx = tx.clone();
    let events: EventSink = Arc::new(move |event: &Event| {
        if let Ok(json) = serde_json::to_string(event) {
            let _ = events_tx.send(Message::Event(json));
        }
    });
    // Bucket progress reaches the callback as the session's events do, as the
    // objects of the CLI's `--events json` (`planned`, `bucket_started`,
    // `bucket_done`).
    let buckets_tx = tx.clone();
    let buckets = move |progress: &BucketProgress| {
        if let Ok(json) = serde_json::to_string(progress) {
            let _ = buckets_tx.send(Message::Event(json));
        }
    };
    let warnings = Arc::new(Warnings::default());
    let thread = {
        let cfg = Arc::clone(&cfg);
        let cancel = cancel.clone();
        let warnings = Arc::clone(&warnings);
        std::thread::Builder::new()
            .name("blindmatch-session".into())
            .spawn(move || {
                let result = run_party(&cfg, events, &buckets, &cancel, &warnings);
                let _ = tx.send(Message::Done(Box::new(result)));
            })
            .map_err(|e| {
                to_py(Error::failed(format!(
                    "cannot start the session thread: {e}"
                )))
            })?
    };
    let json = py.import("json")?;
    let mut interrupted: Option<PyErr> = None;
    let mut rx = rx;
    let result = loop {
        // The receiver moves into the GIL-free closure and back: it is `Send`
        // but not `Sync`.
        let (back, message) = py.detach(move || {
            let message = rx.recv_timeout(SIGNAL_POLL);
            (rx, message)
        });
        rx = back;
        match message {
            Ok(Message::Event(text)) => {
                if let (Some(callback), None) = (&progress, &interrupted) {
                    // A failing callback stops the session, as Ctrl-C does.
                    let called = json
                        .call_method1("loads", (text,))
                        .and_then(|event| callback.call1((event,)));
                    if let Err(e) = called {
                        cancel.cancel();
                        interrupted = Some(e);
                    }
                }
            }
            Ok(Message::Done(result)) => break *result,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                break Err(Error::failed("the session thread ended without a result"));
            }
        }
        // Checked after every message, not only when none came: a busy session
        // sends progress events without pause.
        if interrupted.is_none()
            && let Err(e) = py.check_signals()
        {
            cancel.cancel();
            interrupted = Some(e);
        }
        if interrupted.is_some() {
            // Give the session its grace period to tell the partner, then return
            // without it: the thread ends on its own.
            py.detach(move || {
                let deadline = std::time::Instant::now() + CANCEL_GRACE;
                while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                    match rx.recv_timeout(left) {
                        Ok(Message::Done(_)) | Err(_) => return,
                        Ok(Message::Event(_)) => {}
                    }
                }
            });
            break Err(Error::failed("interrupted"));
        }
    };
    if let Some(e) = interrupted {
        return Err(e);
    }
    let _ = thread.join();
    warnings.emit(py)?;
    let done = result.py_err()?;
    let summary = PyDict::new(py);
    summary.set_item("rows", done.rows)?;
    summary.set_item("rejected", done.rejected)?;
    summary.set_item("matched_rows", done.matched_rows)?;
    summary.set_item("matched_values", done.matched_values)?;
    drop(dir);
    Ok((done.output, done.receipt, done.shareable, summary))
}
