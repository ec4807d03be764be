//! `--protocol`: what differs when the session runs the vole protocol
//! (`vole-rr22-silent`) instead of ECDH — its primitive floor (base OTs, item
//! hashes, the OKVS, the silent VOLE, decodes and output hashes, timed through
//! `blindmatch_psi::rr22::floor`), the
//! payload it must send, and the side-by-side comparison of the two protocols on the
//! same sizes in one run.

use std::fmt::Write as _;
use std::time::Instant;

use blindmatch_net::{Mode, Reveal, Role};
use blindmatch_pipeline::matching::PsiProtocol;
use blindmatch_psi::PsiError;
use blindmatch_psi::rr22::cardinality::{bin_count, switch_count, value_width};
use blindmatch_psi::rr22::floor as vole_floor;
use blindmatch_psi::rr22::params::{BASE_OTS, okvs_columns, silent_params, tree_chunks};
use blindmatch_psi::rr22::{RR22_HEADER_LEN, RR22_PROTOCOL_ID};
use blindmatch_psi::silent::params::SilentParams;
use blindmatch_psi::vole::floor::VoleWork;
use blindmatch_psi::vole::is_oprf_receiver;
use blindmatch_psi::vole::params::chunk_rows;
use serde::Serialize;

use super::data::{SideIds, value};
use super::floor::{FloorOps, FloorSample};
use super::harness::RunSpec;
use super::probe;
use super::report::{RunReport, Stats};

/// Both sides' generated values, as (type label, value) pairs, rule after rule.
fn items(side: &SideIds) -> Vec<(&'static str, Vec<u8>)> {
    let labels = side.labels();
    side.iter()
        .flat_map(|id| {
            labels
                .iter()
                .enumerate()
                .map(move |(rule, label)| (*label, value(rule, id).as_bytes().to_vec()))
        })
        .collect()
}

/// Borrowed (type, value) pairs, as the floor takes them.
fn view<'a>(v: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    v.iter().map(|(t, x)| (*t, x.as_slice())).collect()
}

/// The OPRF receiver's and sender's sides for `reveal`.
fn roles<'a>(reveal: Reveal, initiator: &'a SideIds, responder: &'a SideIds) -> [&'a SideIds; 2] {
    if is_oprf_receiver(reveal, Role::Initiator) {
        [initiator, responder]
    } else {
        [responder, initiator]
    }
}

/// Times the vole protocol's primitive work for these sets on the current pool.
///
/// # Errors
/// As [`vole_floor::run`].
pub(crate) fn measure(
    initiator: &SideIds,
    responder: &SideIds,
    reveal: Reveal,
    batch_size: u32,
) -> Result<FloorSample, PsiError> {
    let [receiver, sender] = roles(reveal, initiator, responder);
    let started = Instant::now();
    let cpu_before = probe::process_cpu_time();
    let (r, s) = (items(receiver), items(sender));
    let work = vole_floor::run(&view(&r), &view(&s), batch_size)?;
    let wall = started.elapsed();
    let cpu = probe::process_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(FloorSample {
        wall,
        cpu,
        ops: FloorOps {
            vole: Some(work),
            ..FloorOps::default()
        },
    })
}

/// The floor operations a vole session of `spec` must do.
pub(crate) fn expected_ops(spec: &RunSpec) -> FloorOps {
    let r = spec.rules as u64;
    let (n, m) = (r * spec.initiator_size, r * spec.responder_size);
    let (receiver, sender) = if is_oprf_receiver(spec.reveal, Role::Initiator) {
        (n, m)
    } else {
        (m, n)
    };
    FloorOps {
        vole: Some(vole_floor::work_for_sizes(receiver, sender)),
        ..FloorOps::default()
    }
}

/// Bytes of the silent VOLE's messages with their headers: the correlated-OT
/// columns (16 B per row) from the receiver, the tree sums from the sender.
fn silent_bytes(p: &SilentParams, batch_size: u32) -> (u64, u64) {
    let header = RR22_HEADER_LEN as u64;
    let rows = p.cot_rows() as u64;
    let column_messages = rows.div_ceil(chunk_rows(batch_size) as u64);
    let trees = (p.trees * (2 * p.depth + 1) * 16) as u64;
    (
        16 * rows + header * column_messages,
        trees + header * u64::from(tree_chunks(p.trees)),
    )
}

/// Payload bytes the vole protocol must send each way (initiator → responder,
/// responder → initiator) for `spec`, message headers included where they are one
/// per message: the start message, the silent VOLE's correlated-OT columns and the
/// masked OKVS (16 bytes per column) from the receiver, the base-OT points, the
/// tree sums and one comparison value per item from the sender, and, when both
/// learn, the matched positions back.
pub(crate) fn payload(spec: &RunSpec, comparison_len: usize) -> [u64; 2] {
    if spec.mode == Mode::Cardinality {
        return cardinality_payload(spec);
    }
    let r = spec.rules as u64;
    let (n, m) = (r * spec.initiator_size, r * spec.responder_size);
    let initiator_receives = is_oprf_receiver(spec.reveal, Role::Initiator);
    let (receiver, sender) = if initiator_receives { (n, m) } else { (m, n) };
    let header = RR22_HEADER_LEN as u64;
    let columns = okvs_columns(receiver) as u64;
    let (cot, trees) = silent_bytes(&silent_params(receiver), spec.batch_size);
    let from_receiver = header
        + 48
        + cot
        + columns * 16
        + if spec.reveal == Reveal::Both {
            header + 4 + 4 * r * spec.shared
        } else {
            0
        };
    let from_sender = header + BASE_OTS as u64 * 32 + trees + comparison_len as u64 * sender;
    if initiator_receives {
        [from_receiver, from_sender]
    } else {
        [from_sender, from_receiver]
    }
}

/// Payload bytes of cardinality mode each way (initiator → responder, responder →
/// initiator), message bodies only: the OPRF on the learner's `b` bins (start,
/// correlated-OT columns, masked OKVS; base-OT points, tree sums), the programmed
/// table (16 bytes per column, `3·n_S` keys), the shuffle (`b` values of `W` bytes
/// and `2W` bytes per switch from the learner; 16 bytes per correlated-OT row from
/// the other side), the `b` masks back, and the counts when both learn.
fn cardinality_payload(spec: &RunSpec) -> [u64; 2] {
    let r = spec.rules as u64;
    let (n, m) = (r * spec.initiator_size, r * spec.responder_size);
    let initiator_receives = is_oprf_receiver(spec.reveal, Role::Initiator);
    let (receiver, sender) = if initiator_receives { (n, m) } else { (m, n) };
    let bins = bin_count(receiver);
    let width = value_width(receiver, spec.rules.max(1)) as u64;
    let switches = switch_count(receiver);
    let rows = switches.div_ceil(128) * 128;
    let (cot, trees) = silent_bytes(&silent_params(bins), spec.batch_size);
    let counts = if spec.reveal == Reveal::Both {
        8 * spec.rules.max(1) as u64
    } else {
        0
    };
    let from_receiver = 48
        + cot
        + okvs_columns(bins) as u64 * 16
        + BASE_OTS as u64 * 32
        + bins * width
        + switches * 2 * width
        + counts;
    let from_sender = BASE_OTS as u64 * 32
        + trees
        + 16
        + okvs_columns(3 * sender) as u64 * 16
        + 32
        + rows * 16
        + bins * width;
    if initiator_receives {
        [from_receiver, from_sender]
    } else {
        [from_sender, from_receiver]
    }
}

/// This run against the run of the other protocol on the same sizes in this bench.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProtocolComparison {
    /// The protocol compared with.
    pub(crate) against: &'static str,
    /// Median total wall time of that run, seconds.
    pub(crate) other_wall_s: f64,
    /// That run's median total wall ÷ this run's (above 1: this run is faster).
    pub(crate) speedup: f64,
    /// That run's median total CPU ÷ this run's.
    pub(crate) cpu_speedup: Option<f64>,
    /// This run's median bytes both ways ÷ that run's.
    pub(crate) bytes_ratio: Option<f64>,
    /// That run's bytes per element.
    pub(crate) other_bytes_per_element: Option<f64>,
}

/// Compares two runs that differ only in the protocol.
pub(crate) fn compare(this: &RunReport, other: &RunReport) -> Option<ProtocolComparison> {
    let key = |r: &RunReport| {
        (
            r.mode,
            r.initiator_size,
            r.responder_size,
            r.rules,
            r.reveal,
            r.transport,
            r.batch_size,
        )
    };
    if this.protocol != RR22_PROTOCOL_ID
        || other.protocol != blindmatch_psi::ECDH_PROTOCOL_ID
        || key(this) != key(other)
        || this.bandwidth_bits_per_s != other.bandwidth_bits_per_s
        || this.latency_s != other.latency_s
    {
        return None;
    }
    let median = |s: &Option<Stats>| s.map(|s| s.median);
    let ratio =
        |a: Option<f64>, b: Option<f64>| a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
    let bytes = |rep: &RunReport| {
        median(&rep.phases.total.bytes_i2r)
            .zip(median(&rep.phases.total.bytes_r2i))
            .map(|(a, b)| a + b)
    };
    let other_wall = median(&other.phases.total.wall_s)?;
    Some(ProtocolComparison {
        against: other.protocol,
        other_wall_s: other_wall,
        speedup: ratio(Some(other_wall), median(&this.phases.total.wall_s))?,
        cpu_speedup: ratio(
            median(&other.phases.total.cpu_s),
            median(&this.phases.total.cpu_s),
        ),
        bytes_ratio: ratio(bytes(this), bytes(other)),
        other_bytes_per_element: median(&other.phases.total.bytes_per_element),
    })
}

/// The protocol's name in reports.
pub(crate) fn name(p: PsiProtocol) -> &'static str {
    match p {
        PsiProtocol::Ecdh => blindmatch_psi::ECDH_PROTOCOL_ID,
        PsiProtocol::Vole => RR22_PROTOCOL_ID,
    }
}

/// The table's floor line of a vole run. In cardinality mode the time floor is
/// still the intersection OPRF's on the same items (bins, table and shuffle are
/// not in it), while the bytes floor is cardinality's own message bodies.
pub(crate) fn floor_line(v: &VoleWork, cardinality: bool) -> String {
    let bytes = if cardinality {
        "the OPRF on the learner's bins, the programmed table, the shuffle's values, corrections and correlated-OT columns, and the masks"
    } else {
        "base-OT points, correlated-OT columns, tree sums, masked OKVS columns and comparison values"
    };
    format!(
        "floor{}: {} base OTs, {} item hashes, {} items into the OKVS, a silent VOLE from {} correlated OTs, {} decodes and {} output hashes, timed alone on the same threads; bytes floor: {bytes}; memory floor: 32 B per element.\n",
        if cardinality {
            " (the intersection OPRF's work on these items)"
        } else {
            ""
        },
        v.base_ots,
        v.item_hashes,
        v.okvs_encoded,
        v.extension_rows,
        v.okvs_decodes,
        v.output_hashes
    )
}

/// The table's line comparing the two protocols (empty without a comparison).
pub(crate) fn table_lines(r: &RunReport) -> String {
    let mut out = String::new();
    if let Some(c) = &r.vs_other_protocol {
        let x = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}×"));
        let _ = writeln!(
            out,
            "{} vs {} on the same sizes in this run ({:.3} s): {} faster (CPU {}), bytes {} (theirs {} B/el)",
            r.protocol,
            c.against,
            c.other_wall_s,
            x(Some(c.speedup)),
            x(c.cpu_speedup),
            x(c.bytes_ratio),
            c.other_bytes_per_element
                .map_or_else(|| "–".to_owned(), |b| format!("{b:.1}")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::bench::emulation::LinkSpec;
    use crate::cmd::bench::harness::TransportKind;
    use blindmatch_net::Mode;

    #[test]
    fn payload_follows_who_receives() {
        let spec = |reveal| RunSpec {
            mode: Mode::Intersection,
            reveal,
            initiator_size: 1000,
            responder_size: 500,
            shared: 100,
            rules: 1,
            transport: TransportKind::Memory,
            link: LinkSpec::UNSHAPED,
            batch_size: 4096,
            label_bytes: 0,
            protocol: PsiProtocol::Vole,
        };
        let [i2r, r2i] = payload(&spec(Reveal::Initiator), 8);
        let (cot, trees) = silent_bytes(&silent_params(1000), 4096);
        assert_eq!(r2i, 5 + 128 * 32 + trees + 8 * 500);
        assert_eq!(i2r, 5 + 48 + cot + okvs_columns(1000) as u64 * 16);
        let [i2r_r, r2i_r] = payload(&spec(Reveal::Responder), 8);
        let (cot_r, trees_r) = silent_bytes(&silent_params(500), 4096);
        assert_eq!(i2r_r, 5 + 128 * 32 + trees_r + 8 * 1000);
        assert_eq!(r2i_r, 5 + 48 + cot_r + okvs_columns(500) as u64 * 16);
        let [both, _] = payload(&spec(Reveal::Both), 8);
        assert_eq!(both, i2r + 5 + 4 + 400);
        // Cardinality: 1000 learner items make 4096 bins (a small set: the
        // bins' table), 7-byte values (⌈(40 + 12)/8⌉), 23 · 2048 switches.
        let card = |reveal| RunSpec {
            mode: Mode::Cardinality,
            ..spec(reveal)
        };
        let [i2r, r2i] = payload(&card(Reveal::Initiator), 8);
        let (cot, trees) = silent_bytes(&silent_params(4096), 4096);
        let switches = 23 * 2048;
        assert_eq!(
            i2r,
            48 + cot + okvs_columns(4096) as u64 * 16 + 128 * 32 + 4096 * 7 + switches * 14
        );
        assert_eq!(
            r2i,
            128 * 32 + trees + 16 + okvs_columns(1500) as u64 * 16 + 32 + switches * 16 + 4096 * 7
        );
        let [both, _] = payload(&card(Reveal::Both), 8);
        assert_eq!(both, i2r + 8);
    }
}
