//! `blindmatch match` (the module is `matching`: `match` is a keyword): the flags, their
//! validation into a [`PartyConfig`], the progress bars and JSON events, and the
//! summary. The work — reading the input, the session, the outputs — is
//! `blindmatch_pipeline::matching`, which `blindmatch demo` calls too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod partition;
mod summary;

use blindmatch_data::dataset::parse_rate;
use blindmatch_data::text::group;
use blindmatch_net::{Event, EventSink, Learner, Mode, Stage, Transport};
use blindmatch_pipeline::matching::{
    Address, DEFAULT_MAX_LABELS_PER_ID, DEFAULT_MIN_PEER_SET, DEFAULT_RELEASE_MAX_BYTES, Endpoint,
    LabelConfig, MAX_PEER_SET_CEILING, PartyConfig, RunClock, finish, load_transport, prepare,
    run_partitioned, session_rules,
};
use clap::{Args as ClapArgs, ValueEnum};
use indicatif::{MultiProgress, ProgressBar};

use crate::args::{InputArgs, ProfileArgs, ProtocolArg};
use crate::error::{ExitStatus, FailWith, Failure};
use crate::progress::{self, Terminal};

/// Find the customers you share with a partner, without either side seeing the
/// other's identifiers (ECDH private set intersection over mutually authenticated
/// TLS 1.3).
///
/// One side listens, the other connects; both name the same identifier type,
/// mode and reveal setting, and pin each other's certificate fingerprint (from
/// `blindmatch identity new/show`). Each side that learns rows gets the rows of
/// its own input that matched (row number, --keep columns, match_id: equal on
/// both sides for the same customer), written atomically with mode 0600. After a
/// completed session both sides get a JSON receipt (docs/receipt-format.md; a
/// refused or failed session writes nothing): keep it, and send the partner the
/// one --shareable-receipt writes. Identifiers the normaliser rejects
/// are counted and never sent.
///
/// Example (two organisations):
///
///   acme$  blindmatch match --listen 0.0.0.0:7000 --identity acme \
///              --peer-fingerprint sha256:9f2c… --input customers.csv \
///              --column phone:phone --keep customer_id -o matched.csv
///   bank$  blindmatch match --connect acme.example:7000 --identity bank \
///              --peer-fingerprint sha256:41ab… --input clients.csv \
///              --column mobile:phone --keep client_no -o matched.csv
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("endpoint").required(true).args(["listen", "connect"])))]
pub(crate) struct Args {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    profile: ProfileArgs,

    /// Wait for the partner on this address, e.g. 0.0.0.0:7000 (port 0 picks a
    /// free port). Prints `listening on ADDR` on stderr once bound.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,

    /// Connect to the partner at HOST:PORT (retried until --wait-timeout while the
    /// partner is not listening yet).
    #[arg(long, value_name = "ADDR")]
    connect: Option<String>,

    /// Our identity: NAME.key and NAME.crt from `blindmatch identity new -o NAME`.
    #[arg(long, value_name = "NAME")]
    identity: Option<PathBuf>,

    /// The partner's certificate fingerprint (`sha256:…`, as printed by its
    /// `blindmatch identity show`): exactly this certificate is accepted.
    #[arg(long, value_name = "FINGERPRINT", conflicts_with = "peer_ca")]
    peer_fingerprint: Option<String>,

    /// Instead of a fingerprint: accept a partner certificate issued by a CA in
    /// this PEM file.
    #[arg(long, value_name = "FILE")]
    peer_ca: Option<PathBuf>,

    /// With --peer-ca: the name (DNS subject alternative name) the partner's
    /// certificate must carry. Required when listening; when connecting [default:
    /// the host of --connect].
    #[arg(long, value_name = "NAME", requires = "peer_ca")]
    peer_name: Option<String>,

    /// Run without TLS: no encryption, no authentication. For tests and
    /// benchmarks on one machine only; never for real data.
    #[arg(long, conflicts_with_all = ["identity", "peer_fingerprint", "peer_ca"])]
    insecure_plaintext_for_testing: bool,

    /// `intersection`: learners get their matched rows; `cardinality`: learners
    /// get only the number of shared customers. Both sides must agree.
    #[arg(long, value_enum, default_value_t = ModeArg::Intersection)]
    mode: ModeArg,

    /// The PSI protocol: `ecdh` (one group operation per identifier, every mode)
    /// or `vole` (OT extension and OKVS, several times faster, intersection mode
    /// only). Both sides must choose the same. Labelled mode always runs its own.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Ecdh)]
    protocol: ProtocolArg,

    /// Who learns the result: `me`, `peer` or `both`. `--reveal me` on one side
    /// goes with `--reveal peer` on the other [default: both; in labelled mode
    /// `peer` on the side with --release, `me` on the other].
    #[arg(long, value_enum)]
    reveal: Option<RevealArg>,

    /// Labelled mode, the side that gives: columns of our input the partner
    /// receives for its matched rows (comma-separated), as `peer.COLUMN` in its
    /// output. Nothing of our other rows is sent.
    #[arg(long, value_name = "COLUMN[,COLUMN…]", value_delimiter = ',')]
    release: Vec<String>,

    /// Labelled mode: the longest released value, in bytes; every value is padded
    /// to it, and a longer one is an input error (never cut).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_RELEASE_MAX_BYTES)]
    release_max_bytes: u32,

    /// Labelled mode: the most rows one identifier may have on the releasing side
    /// (each row's values reach the learner as one output row); both sides give
    /// the same.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LABELS_PER_ID)]
    max_labels_per_id: u32,

    /// A matching rule (repeatable, in priority order): one identifier type, or
    /// several joined by `+` that must all be equal (`--rule name+company`). Each
    /// type comes from its --column. Without --rule, each --column is a rule, in
    /// the order given. Both sides must give the same rules in the same order; a
    /// matched row's match_id is that of its first matching rule.
    #[arg(long = "rule", value_name = "TYPE[+TYPE…]")]
    rules: Vec<String>,

    /// Refuse a partner declaring fewer distinct identifiers than this (against
    /// probing for single customers with a tiny set), for each rule; 0 accepts any
    /// size.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_PEER_SET)]
    min_peer_set: u64,

    /// Refuse a partner declaring more distinct identifiers than this (a learner
    /// declaring a huge set would learn most of ours) [default: 100 × our distinct
    /// count, at least 1,000,000; never above 1,000,000,000].
    #[arg(long, value_name = "N")]
    max_peer_set: Option<u64>,

    /// Matched rows of our input (row, --keep columns, match_id). Required when
    /// this side learns rows; written atomically, mode 0600. A name ending in
    /// .parquet writes Parquet (kept columns of a Parquet input keep their types).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Session receipt [default: OUTPUT.receipt.json, or
    /// blindmatch-receipt-SESSION_ID.json without -o].
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,

    /// Also write the shareable receipt, the one to send the partner: only what
    /// both sides know (session ID, transcript hash, parameters, fingerprints,
    /// declared sizes, traffic); no input figures, results or timings.
    #[arg(long, value_name = "FILE")]
    shareable_receipt: Option<PathBuf>,

    /// Also write one line per rejected cell: row, line, column, type and reason
    /// code; never the value.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Stop before connecting when more than this share of the non-empty cells is
    /// rejected (exit code 3): a fraction (0.01) or a percentage (1%).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_reject_rate: Option<f64>,

    /// Print machine-readable progress on stdout: one JSON object per line.
    #[arg(long, value_enum, value_name = "FORMAT")]
    events: Option<EventsFormat>,

    /// Replace existing output, receipt, shareable receipt and rejects files.
    #[arg(long)]
    force: bool,

    /// How long to wait for the partner: the listener for a connection that passes
    /// TLS and the handshake, the connector for the listener to come up. E.g. 90s,
    /// 10m.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    wait_timeout: Duration,

    /// Longest wait for any single read or write once connected (the TLS and
    /// handshake phase uses at most 30 s of it).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    read_timeout: Duration,

    /// Items per network frame; the session uses the smaller of the two sides'.
    #[arg(long, value_name = "N", default_value_t = blindmatch_psi::DEFAULT_BATCH_SIZE)]
    batch_size: u32,

    /// Worker threads for the cryptography [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    #[command(flatten)]
    partition: partition::PartitionArgs,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// Learners get their matched rows.
    Intersection,
    /// Learners get only the count.
    Cardinality,
    /// The learner gets its matched rows and the columns the other side releases
    /// for them (--release on that side); the releasing side learns nothing.
    Labelled,
}

/// `--reveal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RevealArg {
    /// Only this side learns.
    Me,
    /// Only the partner learns.
    Peer,
    /// Both sides learn.
    Both,
}

/// `--events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EventsFormat {
    /// One JSON object per line on stdout.
    Json,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Intersection => Mode::Intersection,
            ModeArg::Cardinality => Mode::Cardinality,
            ModeArg::Labelled => Mode::Labelled,
        }
    }
}

impl From<RevealArg> for Learner {
    fn from(r: RevealArg) -> Learner {
        match r {
            RevealArg::Me => Learner::Me,
            RevealArg::Peer => Learner::Peer,
            RevealArg::Both => Learner::Both,
        }
    }
}

/// Parses `90`, `90s`, `500ms`, `5m` or `1h`.
///
/// # Errors
/// Anything else, or zero.
pub(crate) fn parse_duration(arg: &str) -> Result<Duration, String> {
    let s = arg.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{arg}' is not a duration; use e.g. 30s, 500ms, 5m or 1h"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("'{arg}': unknown unit '{unit}'; use ms, s, m or h")),
    };
    if d.is_zero() {
        return Err(format!("'{arg}' must be longer than zero"));
    }
    Ok(d)
}

impl Args {
    /// The validated configuration.
    ///
    /// # Errors
    /// Bad input (exit 2): column specs, identity files, fingerprints, CA files,
    /// contradictory options.
    fn validate(&self) -> anyhow::Result<PartyConfig> {
        let input = self.input.validate()?;
        let rules = session_rules(&input, &self.rules)?;
        let address = match (&self.listen, &self.connect) {
            (Some(a), None) => Address::Listen(a.clone()),
            (None, Some(a)) => Address::Connect(a.clone()),
            _ => {
                return Err(Failure::bad_input("give exactly one of --listen and --connect")
                    .hint("one side listens (--listen 0.0.0.0:7000), the other connects (--connect HOST:7000)")
                    .into());
            }
        };
        if matches!(address, Address::Listen(_))
            && self.peer_ca.is_some()
            && self.peer_name.is_none()
        {
            return Err(Failure::bad_input(
                "--peer-ca on the listening side needs --peer-name NAME",
            )
            .hint("name the partner's certificate (its DNS name): anyone else holding a certificate from the same CA would be accepted otherwise")
            .into());
        }
        if let Some(max) = self.max_peer_set {
            if max > MAX_PEER_SET_CEILING {
                return Err(Failure::bad_input(format!(
                    "--max-peer-set {max} is above the ceiling of {}",
                    group(MAX_PEER_SET_CEILING)
                ))
                .hint("split larger sessions; a partner declaring that many identifiers would cover most of the number space")
                .into());
            }
            if max < self.min_peer_set {
                return Err(Failure::bad_input(format!(
                    "--max-peer-set {max} is below --min-peer-set {}",
                    self.min_peer_set
                ))
                .into());
            }
        }
        if self.batch_size == 0 || self.batch_size > blindmatch_psi::MAX_BATCH_SIZE {
            return Err(Failure::bad_input(format!(
                "--batch-size {} is outside 1 to {}",
                self.batch_size,
                blindmatch_psi::MAX_BATCH_SIZE
            ))
            .into());
        }
        let transport = if self.insecure_plaintext_for_testing {
            Transport::InsecurePlaintextForTesting
        } else {
            load_transport(
                self.identity.as_deref(),
                self.peer_fingerprint.as_deref(),
                self.peer_ca.as_deref(),
                self.peer_name.clone(),
            )?
        };
        let mode: Mode = self.mode.into();
        let labelled = mode == Mode::Labelled;
        let learner: Learner = match (self.reveal, labelled) {
            (Some(r), _) => r.into(),
            (None, true) if self.release.is_empty() => Learner::Me,
            (None, true) => Learner::Peer,
            (None, false) => Learner::Both,
        };
        let touched = !self.release.is_empty()
            || self.release_max_bytes != DEFAULT_RELEASE_MAX_BYTES
            || self.max_labels_per_id != DEFAULT_MAX_LABELS_PER_ID;
        let labels = (labelled || touched).then(|| LabelConfig {
            release: self.release.iter().map(|c| c.trim().to_owned()).collect(),
            max_bytes: self.release_max_bytes,
            max_labels_per_id: self.max_labels_per_id,
        });
        Ok(PartyConfig {
            input,
            rules,
            labels,
            profile: self.profile.profile(),
            address,
            transport,
            mode,
            learner,
            min_peer_set: self.min_peer_set,
            max_peer_set: self.max_peer_set,
            batch_size: self.batch_size,
            wait_timeout: self.wait_timeout,
            read_timeout: self.read_timeout,
            output: self.output.clone(),
            receipt: self.receipt.clone(),
            shareable_receipt: self.shareable_receipt.clone(),
            rejects: self.rejects.clone(),
            max_reject_rate: self.max_reject_rate,
            force: self.force,
            partition: self.partition.validate(mode)?,
            protocol: self.protocol.into(),
        })
    }
}

// ---------------------------------------------------------------------------
// Progress and events.

/// Receives the session's events: prints JSON lines, drives the progress bars and
/// notes when phases end (for the receipt's timings).
pub(crate) struct Observer {
    json: bool,
    bars: Option<(MultiProgress, Mutex<BTreeMap<&'static str, ProgressBar>>)>,
}

impl Observer {
    /// An observer printing JSON lines (`json`) and/or drawing bars (`bars`).
    pub(crate) fn new(json: bool, bars: bool) -> Arc<Self> {
        Arc::new(Observer {
            json,
            bars: (bars && progress::enabled())
                .then(|| (MultiProgress::new(), Mutex::new(BTreeMap::new()))),
        })
    }

    /// The sink to hand to the session.
    pub(crate) fn sink(self: &Arc<Self>) -> EventSink {
        let me = Arc::clone(self);
        Arc::new(move |event: &Event| me.on_event(event))
    }

    /// Prints one of our own events (not the session's) as a JSON line.
    pub(crate) fn emit(&self, value: &serde_json::Value) {
        if self.json {
            print_json_line(value);
        }
    }

    fn on_event(&self, event: &Event) {
        if self.json
            && let Ok(value) = serde_json::to_value(event)
        {
            print_json_line(&value);
        }
        if let Some((multi, bars)) = &self.bars {
            match event {
                Event::Progress { stage, done, total } => {
                    let name = stage_name(*stage);
                    if let Ok(mut bars) = bars.lock() {
                        let bar = bars.entry(name).or_insert_with(|| {
                            let bar = multi.add(progress::bar(Some(*total), "items"));
                            bar.set_prefix(name);
                            bar
                        });
                        bar.set_length(*total);
                        bar.set_position(*done);
                    }
                }
                Event::Finished { .. } => self.clear_bars(),
                _ => {}
            }
        }
    }

    /// Removes the bars (at the end, or before an error is printed).
    pub(crate) fn clear_bars(&self) {
        if let Some((multi, bars)) = &self.bars {
            if let Ok(mut bars) = bars.lock() {
                for bar in bars.values() {
                    bar.finish_and_clear();
                }
                bars.clear();
            }
            let _ = multi.clear();
        }
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Hashed => "hashed",
        Stage::Sent => "sent",
        Stage::Received => "received",
        Stage::Answered => "answered",
        Stage::Compared => "compared",
    }
}

fn print_json_line(value: &serde_json::Value) {
    let mut line = value.to_string();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// Runs `blindmatch match`.
///
/// # Errors
/// Bad input (exit 2) before any connection; refusals by either side (exit 3);
/// network and peer failures (exit 1). No output file is left on any failure.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let clock = RunClock::start();
    let cfg = args.validate()?;
    cfg.check_outputs()?;
    if let Some(threads) = args.threads {
        // Fails only if a pool exists already, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global();
    }
    if matches!(cfg.transport, Transport::InsecurePlaintextForTesting) {
        tracing::warn!(
            "--insecure-plaintext-for-testing: no encryption and no authentication; never use this with real data"
        );
    }
    if cfg.output.is_some() && !cfg.learns_rows() {
        tracing::warn!(
            "this side does not learn rows with this --mode/--reveal; -o will not be written"
        );
    }
    let quiet = crate::logging::quiet();
    let json = args.events == Some(EventsFormat::Json);
    let observer = Observer::new(json, true);

    let prepared = if quiet {
        prepare(&cfg, &blindmatch_data::Silent)?
    } else {
        prepare(&cfg, &Terminal::default())?
    };
    observer.emit(&serde_json::json!({
        "event": "input",
        "rows": prepared.summary.rows,
        "values": prepared.counts.values,
        "empty": prepared.counts.empty,
        "rejected": prepared.counts.rejected,
        "distinct": prepared.rule_sizes.iter().sum::<u64>(),
        "rules": prepared
            .rules
            .names()
            .iter()
            .zip(&prepared.rule_sizes)
            .map(|(rule, n)| serde_json::json!({"rule": rule, "distinct": n}))
            .collect::<Vec<_>>(),
    }));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("blindmatch-net")
        .build()
        .fail_with(|| Failure::failed("cannot start the network runtime"))?;
    let mut prepared = prepared;
    // From here a Ctrl-C cancels the session, which tells the partner, and the
    // process ends right after it (see crate::interrupt).
    let in_session = crate::interrupt::session();
    let cancel = crate::interrupt::cancellation();
    let result = runtime.block_on(async {
        let endpoint = Endpoint::open(&cfg).await?;
        if let Some(addr) = endpoint.local_addr() {
            if !quiet {
                eprintln!("listening on {addr}");
            }
        } else if let Address::Connect(addr) = &cfg.address {
            tracing::info!(%addr, "connecting to the partner");
        }
        let show = |p: &blindmatch_pipeline::matching::BucketProgress| {
            partition::show(p, quiet, json);
        };
        let terminal = Terminal::default();
        let reading: &dyn blindmatch_data::Observer = if quiet {
            &blindmatch_data::Silent
        } else {
            &terminal
        };
        run_partitioned(
            &cfg,
            &mut prepared,
            &endpoint,
            Some(observer.sink()),
            &cancel,
            reading,
            &show,
        )
        .await
    });
    observer.clear_bars();
    // Cancelled (or finished just as the signal came): write nothing more.
    crate::interrupt::end_if_interrupted();
    drop(in_session);
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            observer.emit(&serde_json::json!({
                "event": "failed",
                "error": format!("{error:#}"),
            }));
            return Err(error.into());
        }
    };
    let done = finish(&cfg, &prepared, report, &clock)?;
    observer.emit(&serde_json::json!({
        "event": "done",
        "session_id": done.report.session_id,
        "transcript_hash": done.report.transcript_hash,
        "matched_rows": done.matched_rows,
        "matched_values": done.report.matched_count,
        "output": done.output.as_ref().map(|w| w.path.display().to_string()),
        "receipt": done.receipt.path.display().to_string(),
        "shareable_receipt": done.shareable_receipt.as_ref().map(|w| w.path.display().to_string()),
    }));
    if !quiet {
        summary::print_summary(&cfg, &prepared, &done);
    }
    tracing::info!(
        session_id = %done.report.session_id,
        matched_rows = ?done.matched_rows,
        seconds = clock.started.elapsed().as_secs_f64(),
        "match: done"
    );
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn numbers_and_bytes_for_people() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }
}
