//! From repeats to figures: median, min and max of every figure over the repeats, each
//! beside its ratio to the primitive floor of the same repeat; the JSON line
//! (`--json`) and the terminal table.
//!
//! Definitions (also in `docs/benchmarks.md`):
//! - *elements*: the items of both sides, `r(n + m)` with `r` rules (`--rules`);
//! - *core-µs per element*: wall time × threads ÷ elements (what the run held);
//!   *CPU-µs per element*: process CPU time ÷ elements (what it used);
//! - *bytes*: written to the transport each way, TLS records included; *bytes per
//!   element*: both ways ÷ the larger set;
//! - *floors*: time figures are divided by the same figure of the primitive floor
//!   (the group operations alone, same sizes, same run); bytes by the payload alone
//!   (32-byte points both ways, comparison values to each learner); memory by one
//!   32-byte value per element;
//! - *round trips*: sequential one-way message flights ÷ 2 (see `meter`).

use std::fmt::Write as _;

use blindmatch_net::{Mode, Reveal, Role};
use blindmatch_pipeline::matching::PsiProtocol;
use serde::Serialize;

use super::emulation::LinkSpec;
use super::floor::FloorOps;
use super::harness::{Phase, PhaseSample, RepeatSample, RunSpec};
use super::labelled::{self, ModeComparison};
use super::protocols::{self, ProtocolComparison};
use super::rules::{self, PerIdentifier, RuleComparison};

/// Identifies the JSON record layout.
pub(crate) const RECORD: &str = "blindmatch-bench/v1";
/// Bytes of one blinded point.
const POINT: u64 = 32;

const CPU_SCOPE: &str = "process CPU clock (CLOCK_PROCESS_CPUTIME_ID): both parties, TLS, the network runtime and the link emulator together";
const RSS_SCOPE_RESET: &str =
    "process peak RSS (VmHWM), reset at each phase start: both parties together";
const RSS_SCOPE_LIFETIME: &str =
    "process peak RSS (VmHWM) since start (this system cannot reset it): both parties together";
const ROUND_TRIPS: &str = "sequential one-way message flights / 2: TLS handshake flights counted from strictly alternating writes; session flights from the frame kinds seen (hello, accept, blinded, reblinded, done)";

/// Median, min and max over the repeats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Stats {
    /// Median (mean of the two middle values for an even count).
    pub(crate) median: f64,
    /// Smallest.
    pub(crate) min: f64,
    /// Largest.
    pub(crate) max: f64,
}

impl Stats {
    /// Stats of `values`; `None` if empty or any is missing or not finite.
    pub(crate) fn of<I: IntoIterator<Item = Option<f64>>>(values: I) -> Option<Stats> {
        let mut v: Vec<f64> = values.into_iter().collect::<Option<Vec<f64>>>()?;
        if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            *v.get(mid)?
        } else {
            (*v.get(mid - 1)? + *v.get(mid)?) / 2.0
        };
        Some(Stats {
            median,
            min: *v.first()?,
            max: *v.last()?,
        })
    }
}

/// Every figure of one phase.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhaseReport {
    /// Wall-clock seconds.
    pub(crate) wall_s: Option<Stats>,
    /// Wall time ÷ the floor's.
    pub(crate) wall_vs_floor: Option<Stats>,
    /// Process CPU seconds (null where the clock is unavailable).
    pub(crate) cpu_s: Option<Stats>,
    /// CPU time ÷ the floor's.
    pub(crate) cpu_vs_floor: Option<Stats>,
    /// Wall time × threads ÷ elements, in µs.
    pub(crate) core_us_per_element: Option<Stats>,
    /// Core-µs per element ÷ the floor's.
    pub(crate) core_us_per_element_vs_floor: Option<Stats>,
    /// CPU time ÷ elements, in µs.
    pub(crate) cpu_us_per_element: Option<Stats>,
    /// CPU-µs per element ÷ the floor's.
    pub(crate) cpu_us_per_element_vs_floor: Option<Stats>,
    /// Bytes written to the transport, initiator → responder (TLS included).
    pub(crate) bytes_i2r: Option<Stats>,
    /// Bytes written to the transport, responder → initiator.
    pub(crate) bytes_r2i: Option<Stats>,
    /// Both ways ÷ the larger set size.
    pub(crate) bytes_per_element: Option<Stats>,
    /// Both ways ÷ the payload floor.
    pub(crate) bytes_vs_floor: Option<Stats>,
    /// blindmatch frame bytes (inside TLS), initiator → responder.
    pub(crate) frame_bytes_i2r: Option<Stats>,
    /// blindmatch frame bytes, responder → initiator.
    pub(crate) frame_bytes_r2i: Option<Stats>,
    /// Sequential one-way message flights.
    pub(crate) flights: Option<Stats>,
    /// Flights ÷ 2.
    pub(crate) round_trips: Option<Stats>,
    /// Peak resident memory of the process during the phase.
    pub(crate) peak_rss_bytes: Option<Stats>,
    /// Peak minus the resident memory when the phase began.
    pub(crate) peak_rss_delta_bytes: Option<Stats>,
    /// The delta ÷ the memory floor.
    pub(crate) peak_rss_delta_vs_floor: Option<Stats>,
}

/// The phases plus their sum.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhaseReports {
    /// Building both sets.
    pub(crate) prepare: PhaseReport,
    /// Transport set-up.
    pub(crate) connect: PhaseReport,
    /// Hello and accept.
    pub(crate) handshake: PhaseReport,
    /// PSI exchange and Done.
    pub(crate) exchange: PhaseReport,
    /// All four (memory: the highest peak, against the memory at the start).
    pub(crate) total: PhaseReport,
}

/// The primitive floor's own figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FloorReport {
    /// Operations timed.
    pub(crate) ops: FloorOps,
    /// Wall-clock seconds.
    pub(crate) wall_s: Option<Stats>,
    /// Process CPU seconds.
    pub(crate) cpu_s: Option<Stats>,
    /// Wall × threads ÷ elements, µs.
    pub(crate) core_us_per_element: Option<Stats>,
    /// CPU ÷ elements, µs.
    pub(crate) cpu_us_per_element: Option<Stats>,
    /// Payload the protocol must send initiator → responder.
    pub(crate) payload_bytes_i2r: u64,
    /// Payload the protocol must send responder → initiator.
    pub(crate) payload_bytes_r2i: u64,
    /// Memory floor: one 32-byte blinded value per element.
    pub(crate) state_bytes: u64,
}

/// One configuration's result: one JSON line.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunReport {
    /// Record layout identifier.
    pub(crate) record: &'static str,
    /// `intersection`, `cardinality` or `labelled`.
    pub(crate) mode: &'static str,
    /// The PSI protocol as the hello names it (`ecdh-ristretto255`,
    /// `vole-rr22-silent`, `oprf-labels-ristretto255`).
    pub(crate) protocol: &'static str,
    /// Labelled mode: bytes of each released value (`--label-bytes`); null otherwise.
    pub(crate) label_bytes: Option<u32>,
    /// `initiator`, `responder` or `both`.
    pub(crate) reveal: &'static str,
    /// `memory`, `tcp` or `tls`.
    pub(crate) transport: &'static str,
    /// Initiator's items per rule.
    pub(crate) initiator_size: u64,
    /// Responder's items per rule.
    pub(crate) responder_size: u64,
    /// Matching rules in the one session.
    pub(crate) rules: usize,
    /// Their labels, in priority order.
    pub(crate) rule_labels: Vec<&'static str>,
    /// Initiator's items of all rules: `rules × initiator_size`.
    pub(crate) initiator_items: u64,
    /// Responder's items of all rules.
    pub(crate) responder_items: u64,
    /// Both sides' items of all rules (the per-element figures divide by this).
    pub(crate) elements: u64,
    /// Shared items ÷ the smaller set.
    pub(crate) overlap: f64,
    /// Distinct matched values (checked against the generated overlap).
    pub(crate) matched: u64,
    /// Rayon threads for the crypto (the network runtime has two more).
    pub(crate) threads: usize,
    /// Items per batch.
    pub(crate) batch_size: u32,
    /// Bytes per doubly blinded value.
    pub(crate) comparison_len: usize,
    /// Repeats the statistics are over.
    pub(crate) repeats: usize,
    /// Emulated line rate, or null.
    pub(crate) bandwidth_bits_per_s: Option<f64>,
    /// Emulated one-way latency.
    pub(crate) latency_s: f64,
    /// What the CPU figures cover.
    pub(crate) cpu_time_scope: &'static str,
    /// What the memory figures cover.
    pub(crate) peak_rss_scope: &'static str,
    /// What a round trip is.
    pub(crate) round_trip_definition: &'static str,
    /// Frame bytes initiator → responder by the session driver's own counter (equal
    /// to `phases.total.frame_bytes_i2r`).
    pub(crate) session_bytes_i2r: Option<Stats>,
    /// Frame bytes responder → initiator by the session driver's own counter.
    pub(crate) session_bytes_r2i: Option<Stats>,
    /// The whole run per identifier (item of one rule on one side).
    pub(crate) per_identifier: PerIdentifier,
    /// With several rules, against `rules ×` the single-rule run of the same mode and
    /// sizes in this benchmark (null without one, and for one rule).
    pub(crate) vs_single_rule: Option<RuleComparison>,
    /// Labelled mode: against the intersection run of the same sizes in this
    /// benchmark (null without one, and for other modes).
    pub(crate) vs_intersection: Option<ModeComparison>,
    /// Against the run of the other `--protocol` on the same sizes in this
    /// benchmark (null without one).
    pub(crate) vs_other_protocol: Option<ProtocolComparison>,
    /// The floor.
    pub(crate) floor: FloorReport,
    /// Per phase.
    pub(crate) phases: PhaseReports,
}

/// Everything the summary needs besides the samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setting<'a> {
    /// The configuration.
    pub(crate) spec: &'a RunSpec,
    /// Rayon threads.
    pub(crate) threads: usize,
    /// The `--overlap` asked for.
    pub(crate) overlap: f64,
    /// Whether the peak RSS could be reset per phase.
    pub(crate) peak_per_phase: bool,
}

pub(crate) fn mode_name(mode: Mode) -> &'static str {
    mode.name()
}

pub(crate) fn reveal_name(reveal: Reveal) -> &'static str {
    match reveal {
        Reveal::Initiator => "initiator",
        Reveal::Responder => "responder",
        Reveal::Both => "both",
    }
}

/// The payload each way: points, plus the comparison values a learner gets back;
/// labelled mode: the learner's points both ways, and an entry per giver item.
fn payload(spec: &RunSpec, comparison_len: usize) -> [u64; 2] {
    let r = spec.rules.max(1) as u64;
    let (n, m, l) = (
        r * spec.initiator_size,
        r * spec.responder_size,
        comparison_len as u64,
    );
    if spec.mode != Mode::Labelled && spec.protocol == PsiProtocol::Vole {
        return protocols::payload(spec, comparison_len);
    }
    if spec.mode == Mode::Labelled {
        let entry = labelled::entry_len(comparison_len, spec.label_bytes);
        return match labelled::learner(spec.reveal) {
            Role::Responder => [POINT * m + entry * n, POINT * m],
            Role::Initiator => [POINT * n, POINT * n + entry * m],
        };
    }
    // Doubly blinded values go to one side only (the learner, or when both learn
    // the side with fewer items); when both learn, that side sends the other its
    // result: per batch of the other's items a bitmap of the matched positions,
    // whatever the overlap, or (cardinality) a 4-byte count per rule.
    let first = spec.reveal.first_learner(n, m);
    let compares = |role| u64::from(first == role);
    let result = |second_items: u64| {
        if spec.reveal != Reveal::Both {
            return 0;
        }
        if spec.mode == Mode::Cardinality {
            return 4 * r;
        }
        let batch = u64::from(spec.batch_size.max(1));
        second_items / batch * batch.div_ceil(8) + (second_items % batch).div_ceil(8)
    };
    [
        POINT * n + compares(Role::Responder) * l * m + compares(Role::Initiator) * result(m),
        POINT * m + compares(Role::Initiator) * l * n + compares(Role::Responder) * result(n),
    ]
}

/// The sum of the four phases.
fn total(phases: &[PhaseSample; 4]) -> PhaseSample {
    let mut t = PhaseSample {
        rss_start: phases[0].rss_start,
        ..PhaseSample::default()
    };
    let mut cpu = Some(std::time::Duration::ZERO);
    for p in phases {
        t.wall += p.wall;
        cpu = cpu.zip(p.cpu).map(|(a, b)| a + b);
        for d in 0..2 {
            t.wire[d] += p.wire[d];
            t.frames[d] += p.frames[d];
        }
        t.flights += p.flights;
        t.rss_peak = match (t.rss_peak, p.rss_peak) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    t.cpu = cpu;
    t
}

/// Summarises the repeats of one configuration.
pub(crate) fn summarise(setting: &Setting<'_>, samples: &[RepeatSample]) -> RunReport {
    let spec = setting.spec;
    let r = spec.rules.max(1) as u64;
    let items = r * (spec.initiator_size + spec.responder_size);
    let elements = items.max(1) as f64;
    let larger = (r * spec.initiator_size.max(spec.responder_size)).max(1) as f64;
    let threads = setting.threads as f64;
    let comparison_len = samples.first().map_or(0, |s| s.comparison_len);
    let pay = payload(spec, comparison_len);
    let payload_total = (pay[0] + pay[1]).max(1) as f64;
    let state_bytes = POINT * items;
    let secs = |d: std::time::Duration| d.as_secs_f64();
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);

    let phase = |pick: &dyn Fn(&RepeatSample) -> PhaseSample| -> PhaseReport {
        let rows: Vec<(PhaseSample, &RepeatSample)> =
            samples.iter().map(|s| (pick(s), s)).collect();
        let each = |f: &dyn Fn(&PhaseSample, &RepeatSample) -> Option<f64>| {
            Stats::of(rows.iter().map(|(p, s)| f(p, s)))
        };
        let wall = |p: &PhaseSample| Some(secs(p.wall));
        let cpu = |p: &PhaseSample| p.cpu.map(secs);
        let floor_wall = |s: &RepeatSample| Some(secs(s.floor.wall));
        let floor_cpu = |s: &RepeatSample| s.floor.cpu.map(secs);
        let bytes = |p: &PhaseSample| (p.wire[0] + p.wire[1]) as f64;
        let delta = |p: &PhaseSample| {
            p.rss_peak
                .zip(p.rss_start)
                .map(|(peak, start)| peak.saturating_sub(start) as f64)
        };
        PhaseReport {
            wall_s: each(&|p, _| wall(p)),
            wall_vs_floor: each(&|p, s| ratio(wall(p), floor_wall(s))),
            cpu_s: each(&|p, _| cpu(p)),
            cpu_vs_floor: each(&|p, s| ratio(cpu(p), floor_cpu(s))),
            core_us_per_element: each(&|p, _| wall(p).map(|w| w * threads * 1e6 / elements)),
            core_us_per_element_vs_floor: each(&|p, s| ratio(wall(p), floor_wall(s))),
            cpu_us_per_element: each(&|p, _| cpu(p).map(|c| c * 1e6 / elements)),
            cpu_us_per_element_vs_floor: each(&|p, s| ratio(cpu(p), floor_cpu(s))),
            bytes_i2r: each(&|p, _| Some(p.wire[0] as f64)),
            bytes_r2i: each(&|p, _| Some(p.wire[1] as f64)),
            bytes_per_element: each(&|p, _| Some(bytes(p) / larger)),
            bytes_vs_floor: each(&|p, _| Some(bytes(p) / payload_total)),
            frame_bytes_i2r: each(&|p, _| Some(p.frames[0] as f64)),
            frame_bytes_r2i: each(&|p, _| Some(p.frames[1] as f64)),
            flights: each(&|p, _| Some(f64::from(p.flights))),
            round_trips: each(&|p, _| Some(f64::from(p.flights) / 2.0)),
            peak_rss_bytes: each(&|p, _| p.rss_peak.map(|b| b as f64)),
            peak_rss_delta_bytes: each(&|p, _| delta(p)),
            peak_rss_delta_vs_floor: each(&|p, _| delta(p).map(|d| d / state_bytes.max(1) as f64)),
        }
    };
    let at = |phase: Phase| {
        let i = Phase::ALL.iter().position(|&p| p == phase).unwrap_or(0);
        move |s: &RepeatSample| s.phases.get(i).copied().unwrap_or_default()
    };
    let floor_stat = |f: &dyn Fn(&RepeatSample) -> Option<f64>| Stats::of(samples.iter().map(f));
    RunReport {
        record: RECORD,
        mode: mode_name(spec.mode),
        protocol: if spec.mode == Mode::Labelled {
            blindmatch_psi::LABELLED_PROTOCOL_ID
        } else {
            protocols::name(spec.protocol)
        },
        label_bytes: (spec.mode == Mode::Labelled).then_some(spec.label_bytes),
        reveal: reveal_name(spec.reveal),
        transport: spec.transport.name(),
        initiator_size: spec.initiator_size,
        responder_size: spec.responder_size,
        rules: spec.rules,
        rule_labels: rules::labels(spec.rules),
        initiator_items: r * spec.initiator_size,
        responder_items: r * spec.responder_size,
        elements: items,
        overlap: setting.overlap,
        matched: samples.first().map_or(0, |s| s.matched),
        threads: setting.threads,
        batch_size: spec.batch_size,
        comparison_len,
        repeats: samples.len(),
        bandwidth_bits_per_s: spec.link.bandwidth_bits_per_s,
        latency_s: spec.link.latency.as_secs_f64(),
        cpu_time_scope: CPU_SCOPE,
        peak_rss_scope: if setting.peak_per_phase {
            RSS_SCOPE_RESET
        } else {
            RSS_SCOPE_LIFETIME
        },
        round_trip_definition: ROUND_TRIPS,
        session_bytes_i2r: Stats::of(samples.iter().map(|s| Some(s.session_bytes[0] as f64))),
        session_bytes_r2i: Stats::of(samples.iter().map(|s| Some(s.session_bytes[1] as f64))),
        per_identifier: rules::per_identifier(samples, items, setting.threads),
        vs_single_rule: None,
        vs_intersection: None,
        vs_other_protocol: None,
        floor: FloorReport {
            ops: samples
                .first()
                .map_or_else(FloorOps::default, |s| s.floor.ops),
            wall_s: floor_stat(&|s| Some(secs(s.floor.wall))),
            cpu_s: floor_stat(&|s| s.floor.cpu.map(secs)),
            core_us_per_element: floor_stat(&|s| {
                Some(secs(s.floor.wall) * threads * 1e6 / elements)
            }),
            cpu_us_per_element: floor_stat(&|s| s.floor.cpu.map(|c| secs(c) * 1e6 / elements)),
            payload_bytes_i2r: pay[0],
            payload_bytes_r2i: pay[1],
            state_bytes,
        },
        phases: PhaseReports {
            prepare: phase(&at(Phase::Prepare)),
            connect: phase(&at(Phase::Connect)),
            handshake: phase(&at(Phase::Handshake)),
            exchange: phase(&at(Phase::Exchange)),
            total: phase(&|s| total(&s.phases)),
        },
    }
}

/// A size as written on the command line's favourite forms: `2^20` for powers of
/// two from 2^10, the plain number otherwise.
pub(crate) fn size_label(n: u64) -> String {
    if n >= 1024 && n.is_power_of_two() {
        format!("2^{}", n.trailing_zeros())
    } else {
        n.to_string()
    }
}

/// The link in words.
pub(crate) fn link_label(link: &LinkSpec) -> String {
    link_words(link.bandwidth_bits_per_s, link.latency.as_secs_f64())
}

fn link_words(bandwidth_bits_per_s: Option<f64>, latency_s: f64) -> String {
    if bandwidth_bits_per_s.is_none() && latency_s == 0.0 {
        return "no link emulation".to_owned();
    }
    let rate =
        bandwidth_bits_per_s.map_or_else(|| "unlimited".to_owned(), |b| format!("{}bit/s", si(b)));
    if latency_s == 0.0 {
        return format!("link {rate}, no added latency");
    }
    format!("link {rate}, {} ms one-way", fixed(latency_s * 1e3))
}

/// Three significant digits, no exponent.
fn fixed(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = x.abs().log10().floor() as i32;
    let decimals = (2 - digits).clamp(0, 6) as usize;
    format!("{x:.decimals$}")
}

/// `12.3 M`-style with an SI prefix (decimal).
fn si(x: f64) -> String {
    let units = [("G", 1e9), ("M", 1e6), ("k", 1e3)];
    for (prefix, scale) in units {
        if x.abs() >= scale {
            return format!("{} {prefix}", fixed(x / scale));
        }
    }
    format!("{} ", fixed(x))
}

fn bytes_label(x: f64) -> String {
    format!("{}B", si(x))
}

fn median(s: &Option<Stats>) -> Option<f64> {
    s.map(|s| s.median)
}

/// Seconds as `median (min–max) unit`, the unit (s, ms, µs) chosen by the median.
fn time_range(s: &Option<Stats>) -> String {
    let Some(s) = s else {
        return "–".to_owned();
    };
    let (scale, unit) = match s.median {
        m if m >= 1.0 => (1.0, "s"),
        m if m >= 1e-3 => (1e3, "ms"),
        _ => (1e6, "µs"),
    };
    let f = |x: f64| fixed(x * scale);
    if s.min == s.max {
        format!("{} {unit}", f(s.median))
    } else {
        format!("{} ({}–{}) {unit}", f(s.median), f(s.min), f(s.max))
    }
}

fn or_dash(x: Option<f64>, f: &dyn Fn(f64) -> String) -> String {
    x.map_or_else(|| "–".to_owned(), f)
}

/// The terminal table of one configuration.
pub(crate) fn table(r: &RunReport) -> String {
    let mut out = String::new();
    let link = link_words(r.bandwidth_bits_per_s, r.latency_s);
    let rule_words = match r.rules {
        1 => String::new(),
        n => format!(" per rule × {n} rules ({})", r.rule_labels.join(", ")),
    };
    let _ = writeln!(
        out,
        "{} · {} · {} × {} items{rule_words}, {} shared · {} · {} threads · batch {} · {} · {} repeat{} (median (min–max))",
        r.protocol,
        r.mode,
        size_label(r.initiator_size),
        size_label(r.responder_size),
        r.matched,
        r.transport,
        r.threads,
        r.batch_size,
        link,
        r.repeats,
        if r.repeats == 1 { "" } else { "s" },
    );
    let header = [
        "phase",
        "wall",
        "×floor",
        "CPU",
        "×floor",
        "core-µs/el",
        "×floor",
        "I→R",
        "R→I",
        "B/el",
        "×floor",
        "RTs",
        "peak RSS",
        "Δ RSS",
        "×floor",
    ];
    let ratio = |s: &Option<Stats>| or_dash(median(s), &|x| format!("{x:.2}"));
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    let phases = [
        ("prepare", &r.phases.prepare),
        ("connect", &r.phases.connect),
        ("handshake", &r.phases.handshake),
        ("exchange", &r.phases.exchange),
        ("total", &r.phases.total),
    ];
    for (name, p) in phases {
        rows.push(vec![
            name.to_owned(),
            time_range(&p.wall_s),
            ratio(&p.wall_vs_floor),
            time_range(&p.cpu_s),
            ratio(&p.cpu_vs_floor),
            or_dash(median(&p.core_us_per_element), &fixed),
            ratio(&p.core_us_per_element_vs_floor),
            or_dash(median(&p.bytes_i2r), &bytes_label),
            or_dash(median(&p.bytes_r2i), &bytes_label),
            or_dash(median(&p.bytes_per_element), &fixed),
            ratio(&p.bytes_vs_floor),
            or_dash(median(&p.round_trips), &|x| format!("{x}")),
            or_dash(median(&p.peak_rss_bytes), &bytes_label),
            or_dash(median(&p.peak_rss_delta_bytes), &|x| {
                format!("+{}", bytes_label(x))
            }),
            ratio(&p.peak_rss_delta_vs_floor),
        ]);
    }
    let f = &r.floor;
    rows.push(vec![
        "floor".to_owned(),
        time_range(&f.wall_s),
        "1".to_owned(),
        time_range(&f.cpu_s),
        "1".to_owned(),
        or_dash(median(&f.core_us_per_element), &fixed),
        "1".to_owned(),
        bytes_label(f.payload_bytes_i2r as f64),
        bytes_label(f.payload_bytes_r2i as f64),
        fixed(
            (f.payload_bytes_i2r + f.payload_bytes_r2i) as f64
                / r.initiator_items.max(r.responder_items).max(1) as f64,
        ),
        "1".to_owned(),
        "–".to_owned(),
        "–".to_owned(),
        format!("+{}", bytes_label(f.state_bytes as f64)),
        "1".to_owned(),
    ]);
    let columns = header.len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|row| row.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.chars().count());
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let labelled_ops = if r.label_bytes.is_some() {
        format!(
            ", {} HKDF, {} ChaCha20-Poly1305 seals, {} opens",
            f.ops.hkdf, f.ops.aead_seal, f.ops.aead_open
        )
    } else {
        String::new()
    };
    if let Some(v) = &f.ops.vole {
        out.push_str(&protocols::floor_line(v, r.mode == "cardinality"));
    } else {
        let _ = writeln!(
            out,
            "floor: {} hash-to-group, {} scalar mults, {} compressions, {} decompressions{labelled_ops}, timed alone on the same threads; bytes floor: points and {} only; memory floor: 32 B per element.",
            f.ops.hash_to_group,
            f.ops.scalar_mul,
            f.ops.compress,
            f.ops.decompress,
            if r.label_bytes.is_some() {
                "label entries"
            } else if r.reveal == "both" {
                "comparison values (to the first learner) and its result (bitmaps, or counts)"
            } else {
                "comparison values"
            },
        );
    }
    let _ = writeln!(
        out,
        "CPU time and RSS are the whole process: both parties, TLS, runtime and emulator. RTs: round trips (sequential one-way flights / 2)."
    );
    out.push_str(&rules::table_lines(r));
    out.push_str(&labelled::table_lines(r));
    out.push_str(&protocols::table_lines(r));
    out
}

#[cfg(test)]
mod tests;
