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

mod data;
mod emulation;
mod floor;
mod harness;
mod labelled;
mod meter;
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
/// Longest emulated one-way latency.
const MAX_LATENCY: Duration = Duration::from_secs(10);
/// Slowest emulated link.
const MIN_BANDWIDTH: f64 = 1e3;

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
    #[arg(long, value_name = "LIST", default_value = "1e4", value_delimiter = ',', value_parser = parse_size)]
    sizes: Vec<u64>,

    /// Items of the responder: one per --sizes entry, or one for all (unbalanced
    /// runs) [default: as --sizes].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_size)]
    peer_sizes: Vec<u64>,

    /// Matching rules per session, comma-separated, each measured: with r rules each
    /// side holds its size in items under each of the first r of phone, email,
    /// name+company and wechat_id (one session, one domain-separated subset per rule,
    /// as `match --rule …` runs it). With 1 in the list, every r-rule run is compared
    /// with r × the single-rule run of the same sizes.
    #[arg(long, value_name = "LIST", default_value = "1", value_delimiter = ',', value_parser = rules::parse_rules)]
    rules: Vec<usize>,

    /// Share of the smaller set that both sides hold, 0 to 1.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.5, value_parser = parse_fraction)]
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
    /// vole protocol runs intersection mode only (its cardinality and labelled
    /// runs are skipped); ECDH runs first, and each vole run is compared with the
    /// ECDH run of the same sizes when both are in the list.
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
    #[arg(long, value_name = "RATE", value_parser = parse_bandwidth)]
    bandwidth: Option<f64>,

    /// Emulated one-way latency added to every write, e.g. 10ms, 250us, 0.5s.
    #[arg(long, value_name = "DURATION", value_parser = parse_latency)]
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
        if protocols == [PsiProtocol::Vole] && !modes.contains(&Mode::Intersection) {
            return bad(
                "the vole protocol runs intersection mode only".to_owned(),
                "add intersection to --mode, or ecdh to --protocol",
            );
        }
        // Ascending, so that the single-rule run is measured before those compared with it.
        let mut rules = self.rules;
        rules.sort_unstable();
        rules.dedup();
        if let Some(path) = &self.plot {
            ensure_absent(path, self.force)?;
            clear_stale(path, &Terminal::default());
        }
        Ok(Config {
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
        // Labelled mode runs its own protocol, once; the vole protocol runs
        // intersection mode only.
        .filter(|&(mode, _, _, _, p)| match mode {
            Mode::Labelled => p == cfg.protocols.first().copied().unwrap_or_default(),
            Mode::Cardinality => p == PsiProtocol::Ecdh,
            Mode::Intersection => true,
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

/// Parses a set size: `10000`, `10_000`, `1e4`, `2.5e5` or `2^20`.
fn parse_size(arg: &str) -> Result<u64, String> {
    let s = arg.trim().replace('_', "");
    let value = if let Some((base, exp)) = s.split_once('^') {
        base.parse::<u64>()
            .ok()
            .zip(exp.parse::<u32>().ok())
            .and_then(|(b, e)| b.checked_pow(e))
    } else if let Some((mantissa, exp)) = s.split_once(['e', 'E']) {
        mantissa
            .parse::<f64>()
            .ok()
            .zip(exp.parse::<i32>().ok())
            .map(|(m, e)| m * 10f64.powi(e))
            .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v <= 9e15)
            .map(|v| v as u64)
    } else {
        s.parse::<u64>().ok()
    };
    match value {
        Some(0) => Err(format!("'{arg}': a set needs at least one item")),
        Some(v) => Ok(v),
        None => Err(format!(
            "'{arg}' is not a set size; use e.g. 10000, 1e4 or 2^20"
        )),
    }
}

/// Parses a fraction within 0..=1.
fn parse_fraction(arg: &str) -> Result<f64, String> {
    match arg.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{arg}' is not a fraction between 0 and 1")),
    }
}

/// Splits `12.5ms` into `(12.5, "ms")`.
fn number_and_unit(s: &str) -> Option<(f64, &str)> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().ok()?;
    n.is_finite().then_some((n, unit.trim()))
}

/// Parses a line rate in bits per second: `100mbit`, `1gbit`, `500kbit`, `64000bit`
/// (also `mbps`-style and a `/s` suffix). SI prefixes: 1 mbit = 10^6 bits.
fn parse_bandwidth(arg: &str) -> Result<f64, String> {
    let lower = arg.trim().to_ascii_lowercase();
    let s = lower.strip_suffix("/s").unwrap_or(&lower);
    let err = || format!("'{arg}' is not a line rate; use e.g. 100mbit, 1gbit or 500kbit");
    let (n, unit) = number_and_unit(s).ok_or_else(err)?;
    let scale = match unit {
        "bit" | "bps" => 1.0,
        "kbit" | "kbps" => 1e3,
        "mbit" | "mbps" => 1e6,
        "gbit" | "gbps" => 1e9,
        _ => return Err(err()),
    };
    let rate = n * scale;
    if rate < MIN_BANDWIDTH {
        return Err(format!("'{arg}': the slowest emulated link is 1kbit"));
    }
    Ok(rate)
}

/// Parses a one-way latency: `10ms`, `250us` (or `µs`), `0.5s`, or `0`.
fn parse_latency(arg: &str) -> Result<Duration, String> {
    let s = arg.trim();
    let err = || format!("'{arg}' is not a latency; use e.g. 10ms, 250us or 0.5s");
    let (n, unit) = number_and_unit(s).ok_or_else(err)?;
    let secs = match unit {
        "" if n == 0.0 => 0.0,
        "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        _ => return Err(err()),
    };
    let d = Duration::try_from_secs_f64(secs).map_err(|_| err())?;
    if d > MAX_LATENCY {
        return Err(format!("'{arg}': the longest emulated latency is 10s"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_in_every_form() {
        assert_eq!(parse_size("10000"), Ok(10_000));
        assert_eq!(parse_size("10_000"), Ok(10_000));
        assert_eq!(parse_size("1e4"), Ok(10_000));
        assert_eq!(parse_size("2.5E5"), Ok(250_000));
        assert_eq!(parse_size("2^20"), Ok(1 << 20));
        for bad in ["0", "1.5", "1e-1", "2^", "x", "-3", "2^99", "1e40"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_and_latencies() {
        assert_eq!(parse_bandwidth("100mbit"), Ok(1e8));
        assert_eq!(parse_bandwidth("1Gbit/s"), Ok(1e9));
        assert_eq!(parse_bandwidth("2.5mbps"), Ok(2.5e6));
        assert_eq!(parse_bandwidth("500kbit"), Ok(5e5));
        for bad in ["100", "100mb", "fast", "10bit", "mbit"] {
            assert!(parse_bandwidth(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_latency("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_latency("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_latency("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_latency("0"), Ok(Duration::ZERO));
        for bad in ["10", "ten ms", "11s", "-1ms"] {
            assert!(parse_latency(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_fraction("0.5"), Ok(0.5));
        assert!(parse_fraction("1.5").is_err());
    }
}
