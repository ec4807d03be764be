//! The self-checks of a repeat, apart from the measuring so that a reader sees in one
//! place everything a benchmark run must agree with before its figures are printed.

use blindmatch_net::{MatchResult, Mode, Role};
use blindmatch_pipeline::matching::PsiProtocol;

use super::{Network, PhaseSample, RunSpec, TransportKind};
use crate::cmd::bench::emulation::Stage;
use crate::cmd::bench::floor::{FloorOps, FloorSample};
use crate::cmd::bench::meter::Class;
use crate::error::Failure;

/// The self-checks of a repeat: our counts against the session driver's, everything
/// written against everything read, the results against the generated overlap.
pub(super) fn check(
    spec: &RunSpec,
    net: &Network,
    floor: &FloorSample,
    phases: &[PhaseSample; 4],
) -> anyhow::Result<()> {
    let [report_i, report_r] = &net.reports;
    let [meter_i, meter_r] = &net.gauges.meter;
    let [link_i, link_r] = &net.gauges.link;
    let mismatch = |what: String| -> anyhow::Result<()> {
        Err(
            Failure::failed(format!("benchmark self-check failed: {what}"))
                .hint("this is a bug in blindmatch; please report it with the command line")
                .into(),
        )
    };
    let frames_i = meter_i.written();
    let frames_r = meter_r.written();
    let rules = spec.rules as u64;
    let (n, m) = (rules * spec.initiator_size, rules * spec.responder_size);
    let expected_ops = match (spec.mode, super::labelled::learner(spec.reveal)) {
        (Mode::Labelled, Role::Initiator) => FloorOps::for_labelled(n, m, rules * spec.shared),
        (Mode::Labelled, Role::Responder) => FloorOps::for_labelled(m, n, rules * spec.shared),
        _ if spec.protocol == PsiProtocol::Vole => crate::cmd::bench::protocols::expected_ops(spec),
        _ => FloorOps::for_sizes(n, m),
    };
    if floor.ops != expected_ops {
        return mismatch(format!("the floor did {:?}", floor.ops));
    }
    if meter_i.read() != report_i.traffic.bytes_received
        || meter_r.read() != report_r.traffic.bytes_received
    {
        return mismatch("frame bytes read differ from the session driver's".to_owned());
    }
    // Every frame byte was classified, and the bytes counted as the handshake's are
    // exactly its hello and accept frames.
    for (d, counts) in net.counts.iter().enumerate() {
        let handshake = counts.bytes(Class::Hello) + counts.bytes(Class::Accept);
        let written = [frames_i, frames_r].get(d).copied().unwrap_or_default();
        let counted = net
            .gauges
            .meter
            .get(d)
            .map(|m| m.written_in(Stage::Handshake));
        if counts.total_bytes() != written || counted != Some(handshake) {
            return mismatch(format!(
                "direction {d}: {} frame bytes classified of {written}, handshake frames {handshake} against {counted:?} counted",
                counts.total_bytes()
            ));
        }
    }
    if frames_i != report_i.traffic.bytes_sent || frames_i != report_r.traffic.bytes_received {
        return mismatch(format!(
            "initiator frame bytes: meter {frames_i}, session sent {}, peer received {}",
            report_i.traffic.bytes_sent, report_r.traffic.bytes_received
        ));
    }
    if frames_r != report_r.traffic.bytes_sent || frames_r != report_i.traffic.bytes_received {
        return mismatch(format!(
            "responder frame bytes: meter {frames_r}, session sent {}, peer received {}",
            report_r.traffic.bytes_sent, report_i.traffic.bytes_received
        ));
    }
    if link_i.written() != link_r.read() || link_r.written() != link_i.read() {
        return mismatch(format!(
            "transport bytes written ({}, {}) differ from bytes delivered ({}, {})",
            link_i.written(),
            link_r.written(),
            link_r.read(),
            link_i.read()
        ));
    }
    let summed = |f: fn(&PhaseSample) -> [u64; 2]| {
        phases
            .iter()
            .map(f)
            .fold([0, 0], |acc, x| [acc[0] + x[0], acc[1] + x[1]])
    };
    if summed(|p| p.frames) != [frames_i, frames_r]
        || summed(|p| p.wire) != [link_i.written(), link_r.written()]
    {
        return mismatch("per-phase byte counts do not add up to the totals".to_owned());
    }
    if spec.transport != TransportKind::Tls
        && [frames_i, frames_r] != [link_i.written(), link_r.written()]
    {
        return mismatch("plaintext transport bytes differ from frame bytes".to_owned());
    }
    for report in [report_i, report_r] {
        let learns = spec.reveal.learns(report.role);
        let got = report.matched_count;
        let expected = learns.then_some(rules * spec.shared);
        let rows_ok = match &report.outcome.result {
            MatchResult::Intersection { matches, .. } => {
                matches!(spec.mode, Mode::Intersection | Mode::Labelled)
                    && matches.len() as u64 == rules * spec.shared
            }
            _ => spec.mode == Mode::Cardinality || !learns,
        };
        if got != expected || !rows_ok {
            return mismatch(format!(
                "the {:?} learned {got:?} matches, expected {expected:?}",
                report.role
            ));
        }
        // Each rule is its own subset: sizes and matches rule by rule.
        let per_type = &report.outcome.per_type;
        let sizes = match report.role {
            Role::Initiator => (spec.initiator_size, spec.responder_size),
            Role::Responder => (spec.responder_size, spec.initiator_size),
        };
        let rule_ok = per_type.len() == spec.rules
            && per_type
                .iter()
                .all(|t| (t.local, t.peer) == sizes && t.matched == learns.then_some(spec.shared));
        if spec.rules > 1 && !rule_ok {
            return mismatch(format!(
                "the {:?} got per-rule counts {per_type:?}, expected {} rules of {sizes:?} with {} matches",
                report.role, spec.rules, spec.shared
            ));
        }
    }
    Ok(())
}
