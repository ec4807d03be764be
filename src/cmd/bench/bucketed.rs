//! `bench --memory-limit`: a session bucketed as `match --memory-limit` runs it,
//! with each party in a process of its own so that its peak memory is its own.
//!
//! Per repeat the harness writes both generated sets as CSV files (`id,phone`) into
//! a scratch folder under `--work-dir`, then starts this binary twice with the
//! hidden `bench --party JOB`: the listening side (the responder) first, which
//! reports its port, then the connecting side (the initiator). Each runs the match
//! pipeline of `blindmatch match` (reading, spilling by slice, the plan, one
//! sub-session per bucket, the output and the receipt) over plaintext TCP on
//! 127.0.0.1 and ends by printing one JSON line: its peak RSS (`VmHWM`), its CPU
//! time, the buckets agreed, its matched rows and its bytes. The harness checks
//! every learner's matched rows against the generated overlap.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use blindmatch_data::Silent;
use blindmatch_data::dataset::{InputSource, InputSpec};
use blindmatch_data::output::ScratchDir;
use blindmatch_net::{Cancellation, Learner, Mode, Reveal, Transport};
use blindmatch_pipeline::matching::partition::{PartitionConfig, Shard};
use blindmatch_pipeline::matching::{
    self, Address, Endpoint, MAX_PEER_SET_CEILING, PartyConfig, PsiProtocol, RunClock,
};
use blindmatch_token::{IdType, Profile};
use serde::{Deserialize, Serialize};

use super::harness::RunSpec;
use super::probe;
use super::report::{self, Stats};
use crate::error::{ExitStatus, FailWith, Failure};

/// Record layout identifier of a bucketed run's JSON line.
pub(crate) const RECORD: &str = "blindmatch-bench-buckets/v1";
/// Longest wait for the partner, and for any read or write, inside a party.
const PARTY_TIMEOUT: Duration = Duration::from_secs(1800);

/// How the bucketed runs are set up (`--memory-limit`, `--work-dir`, `--threads`).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `--memory-limit` per party, in bytes.
    pub(crate) memory_limit: u64,
    /// Where the inputs, spill files and outputs go.
    pub(crate) work_dir: PathBuf,
    /// Crypto threads per party.
    pub(crate) threads: usize,
}

/// What the harness tells one party process (`bench --party JOB`, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PartyJob {
    /// Listen on `addr` (the responder) or connect to it (the initiator).
    listen: bool,
    addr: String,
    input: PathBuf,
    output: PathBuf,
    receipt: PathBuf,
    memory_limit: u64,
    work_dir: PathBuf,
    threads: usize,
    batch_size: u32,
    /// `true`: the vole protocol; `false`: ECDH.
    vole: bool,
    /// Whether this side learns, and whether the partner does.
    learns: bool,
    peer_learns: bool,
}

/// What a party process prints when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct PartyResult {
    peak_rss_bytes: u64,
    cpu_s: f64,
    buckets: u32,
    matched_rows: Option<u64>,
    bytes_sent: u64,
    bytes_received: u64,
}

/// The first line a listening party prints.
#[derive(Debug, Serialize, Deserialize)]
struct Listening {
    listening: String,
}

impl PartyJob {
    fn config(&self) -> anyhow::Result<PartyConfig> {
        let columns = vec![blindmatch_data::dataset::ColumnSpec {
            name: "phone".to_owned(),
            id_type: IdType::Phone,
        }];
        let input = InputSpec {
            source: InputSource::File(self.input.clone()),
            columns,
            keep: vec!["id".to_owned()],
            delimiter: b',',
            format: None,
        };
        let rules = matching::session_rules(&input, &[])?;
        Ok(PartyConfig {
            input,
            rules,
            profile: Profile::standard(),
            address: if self.listen {
                Address::Listen(self.addr.clone())
            } else {
                Address::Connect(self.addr.clone())
            },
            transport: Transport::InsecurePlaintextForTesting,
            mode: Mode::Intersection,
            learner: match (self.learns, self.peer_learns) {
                (true, true) => Learner::Both,
                (true, false) => Learner::Me,
                _ => Learner::Peer,
            },
            min_peer_set: 0,
            max_peer_set: Some(MAX_PEER_SET_CEILING),
            batch_size: self.batch_size,
            wait_timeout: PARTY_TIMEOUT,
            read_timeout: PARTY_TIMEOUT,
            output: Some(self.output.clone()),
            receipt: Some(self.receipt.clone()),
            shareable_receipt: None,
            rejects: None,
            max_reject_rate: None,
            force: true,
            labels: None,
            partition: Some(PartitionConfig {
                memory_limit: self.memory_limit,
                work_dir: self.work_dir.clone(),
                shard: Shard::WHOLE,
                resume: None,
            }),
            protocol: if self.vole {
                PsiProtocol::Vole
            } else {
                PsiProtocol::Ecdh
            },
        })
    }
}

/// Runs one party of a bucketed run (the hidden `bench --party JOB`): the match
/// pipeline, then one JSON line with this process's peak memory and CPU time.
///
/// # Errors
/// A malformed job (exit 2); whatever `blindmatch match` would fail with.
pub(crate) fn run_party(job: &str) -> anyhow::Result<ExitStatus> {
    let job: PartyJob = serde_json::from_str(job).map_err(|_| {
        Failure::bad_input("--party is set by `bench --memory-limit` itself")
            .hint("run `blindmatch bench --memory-limit SIZE` instead")
    })?;
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(job.threads.max(1))
        .thread_name(|i| format!("blindmatch-crypto-{i}"))
        .build_global();
    let clock = RunClock::start();
    let cfg = job.config()?;
    cfg.check_outputs()?;
    let mut prepared = matching::prepare(&cfg, &Silent)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("blindmatch-net")
        .build()
        .fail_with(|| Failure::failed("cannot start the network runtime"))?;
    let never = Cancellation::new();
    let report = runtime.block_on(async {
        let endpoint = Endpoint::open(&cfg).await?;
        if let Some(addr) = endpoint.local_addr() {
            print_line(&Listening {
                listening: addr.to_string(),
            })?;
        }
        let report = matching::run_partitioned(
            &cfg,
            &mut prepared,
            &endpoint,
            None,
            &never,
            &Silent,
            &|_| {},
        )
        .await?;
        anyhow::Ok(report)
    })?;
    drop(runtime);
    let (bytes_sent, bytes_received) = (report.traffic.bytes_sent, report.traffic.bytes_received);
    let done = matching::finish(&cfg, &prepared, report, &clock)?;
    let buckets = prepared.partition.as_ref().map_or(1, |p| p.buckets);
    drop(prepared);
    let peak = probe::memory()
        .map(|m| m.peak)
        .ok_or_else(|| Failure::failed("cannot read this process's peak memory (Linux only)"))?;
    let cpu = probe::process_cpu_time()
        .ok_or_else(|| Failure::failed("cannot read this process's CPU time"))?;
    print_line(&PartyResult {
        peak_rss_bytes: peak,
        cpu_s: cpu.as_secs_f64(),
        buckets,
        matched_rows: done.matched_rows,
        bytes_sent,
        bytes_received,
    })?;
    Ok(ExitStatus::Success)
}

fn print_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let line = serde_json::to_string(value)
        .fail_with(|| Failure::failed("cannot encode the party's result"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .fail_with(|| Failure::failed("cannot write the party's result"))?;
    Ok(())
}

/// One repeat of a bucketed run: both parties' figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    wall: Duration,
    initiator: PartyResult,
    responder: PartyResult,
}

/// Writes `rows` rows `id,phone` with the phone numbers `+86 13x…` of values
/// `first..first + rows` (distinct 11-digit mobile numbers up to 10^9 values).
fn write_input(path: &Path, first: u64, rows: u64) -> anyhow::Result<()> {
    let error = || Failure::failed(format!("cannot write '{}'", path.display()));
    let file = std::fs::File::create(path).fail_with(error)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(b"id,phone\n").fail_with(error)?;
    for v in first..first + rows {
        writeln!(out, "{v},+86{}", 13_000_000_000 + v).fail_with(error)?;
    }
    out.flush().fail_with(error)?;
    Ok(())
}

/// Runs one repeat: inputs, both party processes, their results checked.
///
/// # Errors
/// The inputs cannot be written, a party fails, or a learner's matched rows differ
/// from the generated overlap.
pub(crate) fn run_repeat(spec: &RunSpec, settings: &Settings) -> anyhow::Result<Sample> {
    let dir = ScratchDir::create(&settings.work_dir)?;
    let at = |name: &str| dir.path().join(name);
    // The responder holds 0..m, the initiator the last `shared` of them and more.
    let (n, m) = (spec.initiator_size, spec.responder_size);
    write_input(&at("responder.csv"), 0, m)?;
    write_input(&at("initiator.csv"), m - spec.shared, n)?;
    let exe = std::env::current_exe()
        .fail_with(|| Failure::failed("cannot find this program to start the parties"))?;
    let job = |listen: bool, addr: String| {
        let (name, learns, peer_learns) = match (listen, spec.reveal) {
            (true, r) => ("responder", r != Reveal::Initiator, r != Reveal::Responder),
            (false, r) => ("initiator", r != Reveal::Responder, r != Reveal::Initiator),
        };
        PartyJob {
            listen,
            addr,
            input: at(&format!("{name}.csv")),
            output: at(&format!("{name}.out.csv")),
            receipt: at(&format!("{name}.receipt.json")),
            memory_limit: settings.memory_limit,
            work_dir: dir.path().to_path_buf(),
            threads: settings.threads,
            batch_size: spec.batch_size,
            vole: spec.protocol == PsiProtocol::Vole,
            learns,
            peer_learns,
        }
    };
    let started = Instant::now();
    let mut responder = Party::start(&exe, &job(true, "127.0.0.1:0".to_owned()))?;
    let addr = match responder.line::<Listening>() {
        Ok(l) => l.listening,
        Err(e) => {
            responder.stop();
            return Err(e);
        }
    };
    let mut initiator = match Party::start(&exe, &job(false, addr)) {
        Ok(p) => p,
        Err(e) => {
            responder.stop();
            return Err(e);
        }
    };
    let results = initiator
        .finish()
        .and_then(|i| responder.finish().map(|r| (i, r)));
    let (initiator, responder) = match results {
        Ok(r) => r,
        Err(e) => {
            initiator.stop();
            responder.stop();
            return Err(e);
        }
    };
    let wall = started.elapsed();
    for (side, r, learns) in [
        ("initiator", &initiator, spec.reveal != Reveal::Responder),
        ("responder", &responder, spec.reveal != Reveal::Initiator),
    ] {
        if learns && r.matched_rows != Some(spec.shared) {
            return Err(Failure::failed(format!(
                "self-check failed: the {side} matched {:?} rows, the sets share {}",
                r.matched_rows, spec.shared
            ))
            .into());
        }
    }
    if initiator.buckets != responder.buckets {
        return Err(Failure::failed(format!(
            "self-check failed: the parties ran {} and {} buckets",
            initiator.buckets, responder.buckets
        ))
        .into());
    }
    Ok(Sample {
        wall,
        initiator,
        responder,
    })
}

/// A running party process.
struct Party {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Party {
    fn start(exe: &Path, job: &PartyJob) -> anyhow::Result<Party> {
        let job = serde_json::to_string(job)
            .fail_with(|| Failure::failed("cannot encode a party's job"))?;
        let mut child = Command::new(exe)
            .args(["-q", "bench", "--party", &job])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .fail_with(|| Failure::failed("cannot start a party process"))?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| Failure::failed("a party process has no output"))?;
        Ok(Party {
            child,
            out: BufReader::new(out),
        })
    }

    /// The next JSON line the party prints.
    fn line<T: for<'de> Deserialize<'de>>(&mut self) -> anyhow::Result<T> {
        let mut line = String::new();
        self.out
            .read_line(&mut line)
            .fail_with(|| Failure::failed("cannot read a party's output"))?;
        serde_json::from_str(&line).map_err(|_| {
            Failure::failed("a party process ended without its result")
                .hint("its error is printed above")
                .into()
        })
    }

    /// Its result, once it has exited successfully.
    fn finish(&mut self) -> anyhow::Result<PartyResult> {
        let result = self.line::<PartyResult>();
        let status = self
            .child
            .wait()
            .fail_with(|| Failure::failed("cannot wait for a party process"))?;
        if !status.success() {
            return Err(
                Failure::failed(format!("a party process failed ({status})"))
                    .hint("its error is printed above")
                    .into(),
            );
        }
        result
    }

    /// Ends it (after the other side failed).
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Per party: the initiator's and the responder's figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct PerParty<T> {
    /// The connecting side.
    pub(crate) initiator: T,
    /// The listening side.
    pub(crate) responder: T,
}

/// One configuration of bucketed runs: one JSON line.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BucketedReport {
    /// Record layout identifier.
    pub(crate) record: &'static str,
    /// The PSI protocol as the hello names it.
    pub(crate) protocol: &'static str,
    /// `initiator`, `responder` or `both`.
    pub(crate) reveal: &'static str,
    /// Always `tcp-plaintext`: one process per party on 127.0.0.1.
    pub(crate) transport: &'static str,
    /// Initiator's items.
    pub(crate) initiator_size: u64,
    /// Responder's items.
    pub(crate) responder_size: u64,
    /// Both sides' items (the per-element figures divide by this).
    pub(crate) elements: u64,
    /// A learner's matched rows (every learner's were checked against the
    /// generated overlap).
    pub(crate) matched: u64,
    /// `--memory-limit` per party, bytes.
    pub(crate) memory_limit_bytes: u64,
    /// Buckets the parties agreed (1: the sets fit, one session in memory).
    pub(crate) buckets: u32,
    /// Crypto threads per party (each party has two network threads more).
    pub(crate) threads_per_party: usize,
    /// Repeats the statistics are over.
    pub(crate) repeats: usize,
    /// From starting the first party until both exited (inputs not included).
    pub(crate) wall_s: Option<Stats>,
    /// Each party's peak RSS (`VmHWM` of its process), bytes.
    pub(crate) peak_rss_bytes: PerParty<Option<Stats>>,
    /// Each party's CPU time (user + system of its process).
    pub(crate) cpu_s: PerParty<Option<Stats>>,
    /// Both parties' CPU time ÷ elements.
    pub(crate) cpu_us_per_element: Option<Stats>,
    /// Wall time × both parties' threads ÷ elements.
    pub(crate) core_us_per_element: Option<Stats>,
    /// Frame bytes both ways (all buckets and the plan) ÷ the larger set.
    pub(crate) bytes_per_element: Option<Stats>,
}

/// The figures of one configuration's repeats.
pub(crate) fn summarise(spec: &RunSpec, settings: &Settings, samples: &[Sample]) -> BucketedReport {
    let elements = spec.initiator_size + spec.responder_size;
    let per = |f: &dyn Fn(&Sample) -> f64| Stats::of(samples.iter().map(|s| Some(f(s))));
    BucketedReport {
        record: RECORD,
        protocol: super::protocols::name(spec.protocol),
        reveal: report::reveal_name(spec.reveal),
        transport: "tcp-plaintext",
        initiator_size: spec.initiator_size,
        responder_size: spec.responder_size,
        elements,
        matched: samples
            .first()
            .and_then(|s| s.initiator.matched_rows.or(s.responder.matched_rows))
            .unwrap_or(0),
        memory_limit_bytes: settings.memory_limit,
        buckets: samples.first().map_or(0, |s| s.initiator.buckets),
        threads_per_party: settings.threads,
        repeats: samples.len(),
        wall_s: per(&|s| s.wall.as_secs_f64()),
        peak_rss_bytes: PerParty {
            initiator: per(&|s| s.initiator.peak_rss_bytes as f64),
            responder: per(&|s| s.responder.peak_rss_bytes as f64),
        },
        cpu_s: PerParty {
            initiator: per(&|s| s.initiator.cpu_s),
            responder: per(&|s| s.responder.cpu_s),
        },
        cpu_us_per_element: per(&|s| {
            (s.initiator.cpu_s + s.responder.cpu_s) * 1e6 / elements.max(1) as f64
        }),
        core_us_per_element: per(&|s| {
            s.wall.as_secs_f64() * 2.0 * settings.threads as f64 * 1e6 / elements.max(1) as f64
        }),
        bytes_per_element: per(&|s| {
            (s.initiator.bytes_sent + s.initiator.bytes_received) as f64
                / spec.initiator_size.max(spec.responder_size).max(1) as f64
        }),
    }
}

/// Runs every configuration `repeats` times, printing each one's figures (a JSON
/// line or a table) as soon as it is done.
///
/// # Errors
/// As [`run_repeat`]; the results cannot be written.
pub(crate) fn run_all(
    settings: &Settings,
    configs: &[RunSpec],
    repeats: usize,
    json: bool,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    for spec in configs {
        let mut samples = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            bar.set_message(format!(
                "{} bucketed {}×{}",
                spec.protocol.name(),
                report::size_label(spec.initiator_size),
                report::size_label(spec.responder_size),
            ));
            samples.push(run_repeat(spec, settings)?);
            bar.inc(1);
        }
        let summary = summarise(spec, settings, &samples);
        let text = if json {
            let mut line = serde_json::to_string(&summary)
                .fail_with(|| Failure::failed("cannot encode the results as JSON"))?;
            line.push('\n');
            line
        } else {
            table(&summary)
        };
        bar.suspend(|| {
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
        })
        .fail_with(|| Failure::failed("cannot write the results"))?;
    }
    Ok(())
}

/// The terminal table of one configuration.
pub(crate) fn table(r: &BucketedReport) -> String {
    let mib = |s: Option<Stats>| {
        s.map_or("-".to_owned(), |s| {
            format!("{:.1} MiB", s.median / (1u64 << 20) as f64)
        })
    };
    let secs = |s: Option<Stats>| s.map_or("-".to_owned(), |s| format!("{:.2} s", s.median));
    let num = |s: Option<Stats>| s.map_or("-".to_owned(), |s| format!("{:.2}", s.median));
    format!(
        "{} {}×{} under --memory-limit {:.0} MiB per party: {} bucket(s), {} matched, {} thread(s) per party, median of {}\n\
         \x20 peak RSS   initiator {}   responder {}\n\
         \x20 CPU        initiator {}   responder {}\n\
         \x20 wall {}   CPU-µs/element {}   core-µs/element {}   bytes/element {}\n",
        r.protocol,
        report::size_label(r.initiator_size),
        report::size_label(r.responder_size),
        r.memory_limit_bytes as f64 / (1u64 << 20) as f64,
        r.buckets,
        r.matched,
        r.threads_per_party,
        r.repeats,
        mib(r.peak_rss_bytes.initiator),
        mib(r.peak_rss_bytes.responder),
        secs(r.cpu_s.initiator),
        secs(r.cpu_s.responder),
        secs(r.wall_s),
        num(r.cpu_us_per_element),
        num(r.core_us_per_element),
        num(r.bytes_per_element),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn jobs_round_trip_and_configure_a_bucketed_party() {
        let job = PartyJob {
            listen: false,
            addr: "127.0.0.1:7000".to_owned(),
            input: "in.csv".into(),
            output: "out.csv".into(),
            receipt: "r.json".into(),
            memory_limit: 8 << 20,
            work_dir: "/tmp".into(),
            threads: 1,
            batch_size: 4096,
            vole: false,
            learns: true,
            peer_learns: false,
        };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<PartyJob>(&text).unwrap(), job);
        let cfg = job.config().unwrap();
        assert_eq!(cfg.learner, Learner::Me);
        assert_eq!(cfg.address, Address::Connect("127.0.0.1:7000".to_owned()));
        assert_eq!(cfg.partition.unwrap().memory_limit, 8 << 20);
    }

    #[test]
    fn inputs_hold_distinct_mobile_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        write_input(&path, 5, 3).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "id,phone\n5,+8613000000005\n6,+8613000000006\n7,+8613000000007\n"
        );
    }
}
