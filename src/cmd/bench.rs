//! `blindmatch bench`: the benchmark harness for researchers. Both parties of a real
//! session run in this process on generated data, over an in-memory pipe, TCP or TLS
//! on 127.0.0.1, optionally behind an emulated link (bandwidth and latency). Each phase
//! is measured — wall and CPU time, bytes each way, round trips, peak memory, core-µs
//! per element — beside the primitive floor measured in the same run; median, min and
//! max over repeats, as a table or JSON lines, optionally plotted.
//!
//! Parts: [`data`] (the generated sets), [`floor`] (the group operations alone),
//! [`emulation`] (the link and the transport-level byte count), [`meter`] (frame bytes
//! and round trips), [`probe`] (CPU clock, memory), [`harness`] (one repeat),
//! [`report`] (statistics, JSON, table), [`rules`] (several rules in one session,
//! against single-rule sessions), [`labelled`] (labelled mode, against intersection),
//! [`plot`] (SVG).

mod bucketed;
mod data;
mod emulation;
mod floor;
mod harness;
mod labelled;
mod meter;
mod parse;
mod plot;
mod probe;
mod protocols;
mod report;
mod rules;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use blindmatch_data::output::{clear_stale, ensure_absent, write_atomic};
use blindmatch_net::{Mode, Reveal};
use blindmatch_pipeline::matching::PsiProtocol;
use blindmatch_psi::{DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, MAX_LABEL_BYTES};
use clap::{Args as ClapArgs, ValueEnum};

use self::emulation::LinkSpec;
use self::harness::{RunSpec, TlsPair, TransportKind};
use self::report::{RunReport, Setting};
use crate::args::ProtocolArg;
use crate::error::{ExitStatus, FailWith, Failure};
use crate::progress::{self, Terminal};

/// Largest set size per side the harness accepts (it holds both sets in memory).
const MAX_SIZE: u64 = 1 << 28;
/// Most repeats per configuration.
const MAX_REPEATS: usize = 1000;

/// Measure the PSI protocol on generated data, both parties in this process.
///
/// For each mode and set size the floor (the group operations the protocol cannot
/// avoid, timed alone on the same threads) and then a real session run R times;
/// every phase (prepare, connect, handshake, exchange, total) reports wall and CPU
/// time, bytes each way, round trips, peak memory and core-µs per element, each
/// beside its ratio to the floor; median, min and max over the repeats. CPU time and
/// memory are those of the whole process: both parties together.
///
/// Examples:
///
///   blindmatch bench --sizes 1e4,1e5,2^20 --transport tls --repeat 1
///   blindmatch bench --sizes 2^16 --mode intersection,cardinality \
///       --bandwidth 100mbit --latency 10ms --json > results.jsonl
///   blindmatch bench --sizes 1e3,1e4,1e5 --plot time.svg
///   blindmatch bench --sizes 2^16 --rules 1,3 --transport tls
///   blindmatch bench --sizes 2^16,2^20 --mode intersection,labelled --label-bytes 32
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Items of the initiator per run, comma-separated: 10000, 1e4 or 2^20 forms.
    #[arg(long, value_name = "LIST", default_value = "1e4", value_delimiter = ',', value_parser = parse::parse_size)]
    sizes: Vec<u64>,

    /// Items of the responder: one per --sizes entry, or one for all (unbalanced
    /// runs) [default: as --sizes].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse::parse_size)]
    peer_sizes: Vec<u64>,

    /// Matching rules per session, comma-separated, each measured: with r rules each
    /// side holds its size in items under each of the first r of phone, email,
    /// name+company and wechat_id (one session, one domain-separated subset per rule,
    /// as `match --rule …` runs it). With 1 in the list, every r-rule run is compared
    /// with r × the single-rule run of the same sizes.
    #[arg(long, value_name = "LIST", default_value = "1", value_delimiter = ',', value_parser = rules::parse_rules)]
    rules: Vec<usize>,

    /// Share of the smaller set that both sides hold, 0 to 1.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.5, value_parser = parse::parse_fraction)]
    overlap: f64,

    /// Modes to measure, comma-separated (the plot draws one line per mode). A
    /// labelled run is compared with the intersection run of the same sizes when
    /// both are in the list.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "intersection"
    )]
    mode: Vec<ModeArg>,

    /// PSI protocols to measure side by side, comma-separated: `ecdh`, `vole`. The
    /// vole protocol runs intersection and cardinality mode (its labelled runs are
    /// skipped); ECDH runs first, and each vole run is compared with the ECDH run
    /// of the same mode and sizes when both are in the list.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "ecdh")]
    protocol: Vec<ProtocolArg>,

    /// Who learns the result [default: both; initiator, for every mode, when
    /// labelled is in --mode]. Labelled mode has exactly one learner, the other side
    /// releases the values.
    #[arg(long, value_enum)]
    reveal: Option<RevealArg>,

    /// Labelled mode: bytes of the value the giving side releases for each item (one
    /// column, one label set per identifier).
    #[arg(long, value_name = "N", default_value_t = labelled::DEFAULT_LABEL_BYTES)]
    label_bytes: u32,

    /// Threads for the cryptography, shared by both parties [default: one per core].
    /// The network runtime has two more threads.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// `memory`: an in-process pipe; `tcp`: plain TCP on 127.0.0.1; `tls`: TCP with
    /// TLS 1.3 and mutual authentication (fresh identities, pinned).
    #[arg(long, value_enum, default_value_t = TransportArg::Memory)]
    transport: TransportArg,

    /// Runs per configuration (the statistics are over these).
    #[arg(long, value_name = "R", default_value_t = 3)]
    repeat: usize,

    /// Emulated line rate per direction (token bucket), e.g. 100mbit, 1gbit, 500kbit.
    #[arg(long, value_name = "RATE", value_parser = parse::parse_bandwidth)]
    bandwidth: Option<f64>,

    /// Emulated one-way latency added to every write, e.g. 10ms, 250us, 0.5s.
    #[arg(long, value_name = "DURATION", value_parser = parse::parse_latency)]
    latency: Option<Duration>,

    /// Items per PSI batch (frame).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_SIZE)]
    batch_size: u32,

    /// Print one JSON object per configuration and line on stdout instead of tables.
    #[arg(long)]
    json: bool,

    /// Also draw wall time against set size, one line per mode, into this SVG file.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,

    /// Replace an existing --plot file.
    #[arg(long)]
    force: bool,

    /// Run each configuration bucketed, as `match --memory-limit SIZE` runs it (e.g.
    /// 256MiB), and report each party's peak memory: the two parties run as two
    /// processes of this program over plaintext TCP on 127.0.0.1, each reading a
    /// generated CSV file, spilling its set by slice to --work-dir and running one
    /// sub-session per bucket. Intersection mode, one rule, no emulated link;
    /// --threads counts per party [default: half the cores].
    #[arg(long, value_name = "SIZE", value_parser = blindmatch_pipeline::matching::partition::parse_memory_limit)]
    memory_limit: Option<u64>,

    /// With --memory-limit: the folder for the generated inputs, the spill files and
    /// the outputs (removed after each run) [default: the system's temporary folder]
    #[arg(long, value_name = "DIR", requires = "memory_limit")]
    work_dir: Option<PathBuf>,

    /// One party of a --memory-limit run, as the harness starts it (internal).
    #[arg(long, value_name = "JOB", hide = true)]
    party: Option<String>,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// Learners get their matched rows.
    Intersection,
    /// Learners get only the count.
    Cardinality,
    /// One learner gets its matched rows and the other side's released values.
    Labelled,
}

/// `--reveal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RevealArg {
    /// Only the initiator (connecting side) learns.
    Initiator,
    /// Only the responder (listening side) learns.
    Responder,
    /// Both learn.
    Both,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    /// In-process pipe.
    Memory,
    /// Plain TCP on 127.0.0.1.
    Tcp,
    /// TLS 1.3 over TCP on 127.0.0.1.
    Tls,
}

/// Validated settings.
#[derive(Debug, Clone)]
struct Config {
    pairs: Vec<(u64, u64)>,
    rules: Vec<usize>,
    overlap: f64,
    modes: Vec<Mode>,
    protocols: Vec<PsiProtocol>,
    reveal: Reveal,
    threads: usize,
    transport: TransportKind,
    repeats: usize,
    link: LinkSpec,
    batch_size: u32,
    label_bytes: u32,
    json: bool,
    plot: Option<PathBuf>,
    force: bool,
    bucketed: Option<bucketed::Settings>,
}

impl Args {
    fn validate(self) -> anyhow::Result<Config> {
        let bad = |message: String, hint: &str| -> anyhow::Result<Config> {
            Err(Failure::bad_input(message).hint(hint).into())
        };
        if let Some(&n) = self
            .sizes
            .iter()
            .chain(&self.peer_sizes)
            .find(|&&n| n > MAX_SIZE)
        {
            return bad(
                format!("set size {n} is above the harness limit of 2^28 per side"),
                "the harness holds both sets in memory; use at most 2^28",
            );
        }
        let pairs: Vec<(u64, u64)> = match self.peer_sizes.len() {
            0 => self.sizes.iter().map(|&n| (n, n)).collect(),
            1 => {
                let m = self.peer_sizes.first().copied().unwrap_or_default();
                self.sizes.iter().map(|&n| (n, m)).collect()
            }
            k if k == self.sizes.len() => self
                .sizes
                .iter()
                .copied()
                .zip(self.peer_sizes.iter().copied())
                .collect(),
            k => {
                return bad(
                    format!(
                        "--peer-sizes has {k} entries but --sizes has {}",
                        self.sizes.len()
                    ),
                    "give one --peer-sizes entry per --sizes entry, or a single one for all",
                );
            }
        };
        let threads = match self.threads {
            Some(0) => {
                return bad(
                    "--threads must be at least 1".to_owned(),
                    "e.g. --threads 2",
                );
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if self.repeat == 0 || self.repeat > MAX_REPEATS {
            return bad(
                format!("--repeat must be within 1..={MAX_REPEATS}"),
                "e.g. --repeat 3",
            );
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return bad(
                format!("--batch-size must be within 1..={MAX_BATCH_SIZE}"),
                "the default, 4096, suits most runs",
            );
        }
        let mut modes = Vec::new();
        for m in self.mode {
            let mode = match m {
                ModeArg::Intersection => Mode::Intersection,
                ModeArg::Cardinality => Mode::Cardinality,
                ModeArg::Labelled => Mode::Labelled,
            };
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
        // Labelled last, so that the intersection run it is compared with comes first.
        modes.sort_by_key(|&m| m == Mode::Labelled);
        let labelled = modes.contains(&Mode::Labelled);
        let reveal = match (self.reveal, labelled) {
            (Some(RevealArg::Both), true) => {
                return bad(
                    "labelled mode has exactly one learner; --reveal both cannot be measured with --mode labelled".to_owned(),
                    "use --reveal initiator (the default with labelled) or --reveal responder; the other side releases the values",
                );
            }
            (Some(RevealArg::Initiator) | None, true) => Reveal::Initiator,
            (Some(RevealArg::Responder), _) => Reveal::Responder,
            (Some(RevealArg::Initiator), false) => Reveal::Initiator,
            (Some(RevealArg::Both) | None, false) => Reveal::Both,
        };
        if self.label_bytes == 0 || self.label_bytes > MAX_LABEL_BYTES {
            return bad(
                format!("--label-bytes must be within 1..={MAX_LABEL_BYTES}"),
                "e.g. --label-bytes 32",
            );
        }
        let mut protocols: Vec<PsiProtocol> = Vec::new();
        for p in self.protocol {
            let p = PsiProtocol::from(p);
            if !protocols.contains(&p) {
                protocols.push(p);
            }
        }
        // ECDH first, so that each vole run is compared with the ECDH run before it.
        protocols.sort_by_key(|&p| p == PsiProtocol::Vole);
        if protocols == [PsiProtocol::Vole] && modes == [Mode::Labelled] {
            return bad(
                "the vole protocol does not run labelled mode".to_owned(),
                "add intersection or cardinality to --mode, or ecdh to --protocol",
            );
        }
        // Ascending, so that the single-rule run is measured before those compared with it.
        let mut rules = self.rules;
        rules.sort_unstable();
        rules.dedup();
        let bucketed = match self.memory_limit {
            None => None,
            Some(memory_limit) => {
                let refused = if modes != [Mode::Intersection] {
                    Some("--mode")
                } else if rules != [1] {
                    Some("--rules")
                } else if self.bandwidth.is_some() || self.latency.is_some() {
                    Some("--bandwidth and --latency")
                } else if self.transport == TransportArg::Tls {
                    Some("--transport tls")
                } else if self.plot.is_some() {
                    Some("--plot")
                } else {
                    None
                };
                if let Some(flag) = refused {
                    return bad(
                        format!("{flag} does not apply with --memory-limit"),
                        "a bucketed run measures intersection mode with one rule, two processes over TCP on 127.0.0.1",
                    );
                }
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                Some(bucketed::Settings {
                    memory_limit,
                    work_dir: self.work_dir.clone().unwrap_or_else(std::env::temp_dir),
                    threads: self.threads.unwrap_or((cores / 2).max(1)),
                })
            }
        };
        if let Some(path) = &self.plot {
            ensure_absent(path, self.force)?;
            clear_stale(path, &Terminal::default());
        }
        Ok(Config {
            bucketed,
            pairs,
            rules,
            overlap: self.overlap,
            modes,
            protocols,
            reveal,
            threads,
            transport: match self.transport {
                TransportArg::Memory => TransportKind::Memory,
                TransportArg::Tcp => TransportKind::Tcp,
                TransportArg::Tls => TransportKind::Tls,
            },
            repeats: self.repeat,
            link: LinkSpec {
                bandwidth_bits_per_s: self.bandwidth,
                latency: self.latency.unwrap_or_default(),
            },
            batch_size: self.batch_size,
            label_bytes: self.label_bytes,
            json: self.json,
            plot: self.plot,
            force: self.force,
        })
    }
}

impl Config {
    /// Items both sides hold for sets of `n` and `m`.
    fn shared(&self, n: u64, m: u64) -> u64 {
        (self.overlap * n.min(m) as f64).round() as u64
    }
}

/// Runs the benchmark; see [`Args`].
///
/// # Errors
///
/// Bad arguments or an existing plot file (exit 2); a failed session, a failed
/// self-check or an unwritable plot (exit 1).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    if let Some(job) = &args.party {
        return bucketed::run_party(job);
    }
    let cfg = args.validate()?;
    if rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .thread_name(|i| format!("blindmatch-crypto-{i}"))
        .build_global()
        .is_err()
        && rayon::current_num_threads() != cfg.threads
    {
        return Err(Failure::failed(format!(
            "cannot size the thread pool to {} threads",
            cfg.threads
        ))
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("blindmatch-net")
        .build()
        .fail_with(|| Failure::failed("cannot start the network runtime"))?;
    let tls = match cfg.transport {
        TransportKind::Tls => Some(
            TlsPair::generate()
                .fail_with(|| Failure::failed("cannot make the benchmark's TLS identities"))?,
        ),
        _ => None,
    };
    let peak_per_phase = probe::reset_peak();
    if !peak_per_phase {
        tracing::warn!("this system cannot reset the peak RSS; memory figures are lifetime peaks");
    }
    if cfg.link.is_shaped() {
        tracing::info!(link = %report::link_label(&cfg.link), "emulating the network");
    }

    let configs: Vec<RunSpec> = cfg
        .modes
        .iter()
        .flat_map(|&mode| cfg.pairs.iter().map(move |&(n, m)| (mode, n, m)))
        .flat_map(|(mode, n, m)| cfg.rules.iter().map(move |&r| (mode, n, m, r)))
        .flat_map(|(mode, n, m, r)| cfg.protocols.iter().map(move |&p| (mode, n, m, r, p)))
        // Labelled mode runs its own protocol, once.
        .filter(|&(mode, _, _, _, p)| match mode {
            Mode::Labelled => p == cfg.protocols.first().copied().unwrap_or_default(),
            Mode::Cardinality | Mode::Intersection => true,
        })
        .map(|(mode, n, m, rules, protocol)| RunSpec {
            protocol,
            mode,
            reveal: cfg.reveal,
            initiator_size: n,
            responder_size: m,
            shared: cfg.shared(n, m),
            rules,
            transport: cfg.transport,
            link: cfg.link,
            batch_size: cfg.batch_size,
            label_bytes: cfg.label_bytes,
        })
        .collect();
    let bar = progress::bar(Some((configs.len() * cfg.repeats) as u64), "runs");
    bar.set_prefix("bench");
    if let Some(settings) = &cfg.bucketed {
        bucketed::run_all(settings, &configs, cfg.repeats, cfg.json, &bar)?;
        bar.finish_and_clear();
        return Ok(ExitStatus::Success);
    }
    let mut reports = Vec::with_capacity(configs.len());
    let mut stdout = std::io::stdout();
    for spec in &configs {
        let mut samples = Vec::with_capacity(cfg.repeats);
        for repeat in 1..=cfg.repeats {
            bar.set_message(format!(
                "{} {:?} {}×{} {} rule(s)",
                spec.protocol.name(),
                spec.mode,
                report::size_label(spec.initiator_size),
                report::size_label(spec.responder_size),
                spec.rules
            ));
            let sample = harness::run_repeat(spec, &runtime, tls.as_ref())?;
            tracing::info!(
                mode = ?spec.mode,
                initiator_size = spec.initiator_size,
                responder_size = spec.responder_size,
                rules = spec.rules,
                repeat,
                wall_s = sample.phases.iter().map(|p| p.wall.as_secs_f64()).sum::<f64>(),
                floor_s = sample.floor.wall.as_secs_f64(),
                "repeat done"
            );
            samples.push(sample);
            bar.inc(1);
        }
        let setting = Setting {
            spec,
            threads: cfg.threads,
            overlap: cfg.overlap,
            peak_per_phase,
        };
        let mut summary = report::summarise(&setting, &samples);
        summary.vs_single_rule = reports
            .iter()
            .find_map(|single| rules::compare(&summary, single));
        summary.vs_intersection = reports
            .iter()
            .find_map(|other| labelled::compare(&summary, other));
        summary.vs_other_protocol = reports
            .iter()
            .find_map(|other| protocols::compare(&summary, other));
        let text = if cfg.json {
            let mut line = serde_json::to_string(&summary)
                .fail_with(|| Failure::failed("cannot encode the results as JSON"))?;
            line.push('\n');
            line
        } else {
            format!("{}\n", report::table(&summary))
        };
        bar.suspend(|| {
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
        })
        .fail_with(|| Failure::failed("cannot write the results"))?;
        reports.push(summary);
    }
    bar.finish_and_clear();
    if let Some(path) = &cfg.plot {
        write_plot(&cfg, &reports, path)?;
    }
    Ok(ExitStatus::Success)
}

fn write_plot(cfg: &Config, reports: &[RunReport], path: &std::path::Path) -> anyhow::Result<()> {
    let mut series = Vec::new();
    let lines = cfg
        .modes
        .iter()
        .flat_map(|&mode| cfg.rules.iter().map(move |&rules| (mode, rules)))
        .flat_map(|(mode, rules)| cfg.protocols.iter().map(move |&p| (mode, rules, p)));
    for (mode, rules, protocol) in lines {
        let mine: Vec<&RunReport> = reports
            .iter()
            .filter(|r| {
                r.mode == report::mode_name(mode)
                    && r.rules == rules
                    && (mode == Mode::Labelled || r.protocol == protocols::name(protocol))
            })
            .collect();
        let first = cfg.protocols.first().copied().unwrap_or_default();
        if mine.is_empty() || (mode == Mode::Labelled && protocol != first) {
            continue;
        }
        let points = |f: &dyn Fn(&RunReport) -> Option<f64>| {
            let mut pts: Vec<(f64, f64)> = mine
                .iter()
                .filter_map(|r| f(r).map(|y| (r.initiator_size as f64, y)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts
        };
        let mut name = match cfg.rules.len() {
            1 => report::mode_name(mode).to_owned(),
            _ => format!("{}, {rules} rule(s)", report::mode_name(mode)),
        };
        if cfg.protocols.len() > 1 && mode != Mode::Labelled {
            name = format!("{} {name}", protocol.name());
        }
        series.push(plot::Series {
            label: name.clone(),
            points: points(&|r| r.phases.total.wall_s.map(|s| s.median)),
            dashed: false,
        });
        series.push(plot::Series {
            label: format!("{name}: primitive floor"),
            points: points(&|r| r.floor.wall_s.map(|s| s.median)),
            dashed: true,
        });
    }
    let balanced = cfg.pairs.iter().all(|(n, m)| n == m);
    let title = format!(
        "blindmatch bench · {} · {} threads · {}",
        cfg.transport.name(),
        cfg.threads,
        report::link_label(&cfg.link)
    );
    let x_label = if balanced {
        "items per side"
    } else {
        "items of the initiator (--sizes)"
    };
    let svg = plot::render(&title, x_label, &series)
        .map_err(|e| Failure::failed(format!("cannot draw the plot: {e}")))?;
    write_atomic(path, svg.as_bytes(), cfg.force, false)?;
    if !crate::logging::quiet() {
        eprintln!("plot written to {}", path.display());
    }
    Ok(())
}
