//! Several matching rules in one session (`--rules`): the cost per identifier, and
//! the comparison that tells whether putting `r` rules into one session is as cheap
//! as running `r` single-rule sessions of the same per-rule sizes one after the
//! other. That comparison is what decides how `blindmatch match --rule … --rule …`
//! should be used, so the report carries it beside the figures, measured in the same
//! run (the single-rule figure × `r`), rather than leaving it to arithmetic across runs
//! on a machine whose speed drifts.

use std::fmt::Write as _;

use serde::Serialize;

use super::data::RULE_LABELS;
use super::harness::RepeatSample;
use super::report::{RunReport, Stats};

/// Parses one `--rules` entry: a rule count within `1..=RULE_LABELS.len()`.
pub(crate) fn parse_rules(arg: &str) -> Result<usize, String> {
    match arg.trim().parse::<usize>() {
        Ok(n) if (1..=RULE_LABELS.len()).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{arg}' is not a rule count; use 1 to {} (rules: {})",
            RULE_LABELS.len(),
            RULE_LABELS.join(", ")
        )),
    }
}

/// The labels of a run with `rules` rules, in priority order.
pub(crate) fn labels(rules: usize) -> Vec<&'static str> {
    RULE_LABELS
        .get(..rules)
        .unwrap_or(&RULE_LABELS[..1])
        .to_vec()
}

/// The whole run (the `total` phase) per identifier: one item of one rule on one
/// side, so `r` rules at sizes `n` and `m` are `r(n + m)` identifiers.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PerIdentifier {
    /// Identifiers both sides held: rules × (initiator size + responder size).
    pub(crate) identifiers: u64,
    /// Wall time ÷ identifiers, µs.
    pub(crate) wall_us: Option<Stats>,
    /// Wall time × threads ÷ identifiers, µs (`phases.total.core_us_per_element`).
    pub(crate) core_us: Option<Stats>,
    /// Process CPU time ÷ identifiers, µs.
    pub(crate) cpu_us: Option<Stats>,
    /// Transport bytes both ways ÷ identifiers.
    pub(crate) bytes: Option<Stats>,
}

/// [`PerIdentifier`] of the repeats.
pub(crate) fn per_identifier(
    samples: &[RepeatSample],
    identifiers: u64,
    threads: usize,
) -> PerIdentifier {
    let ids = identifiers.max(1) as f64;
    let total = |s: &RepeatSample| {
        let wall: f64 = s.phases.iter().map(|p| p.wall.as_secs_f64()).sum();
        let cpu: Option<f64> = s
            .phases
            .iter()
            .map(|p| p.cpu.map(|c| c.as_secs_f64()))
            .sum();
        let bytes: u64 = s.phases.iter().map(|p| p.wire[0] + p.wire[1]).sum();
        (wall, cpu, bytes as f64)
    };
    let each = |f: &dyn Fn((f64, Option<f64>, f64)) -> Option<f64>| {
        Stats::of(samples.iter().map(|s| f(total(s))))
    };
    PerIdentifier {
        identifiers,
        wall_us: each(&|(w, _, _)| Some(w * 1e6 / ids)),
        core_us: each(&|(w, _, _)| Some(w * threads as f64 * 1e6 / ids)),
        cpu_us: each(&|(_, c, _)| c.map(|c| c * 1e6 / ids)),
        bytes: each(&|(_, _, b)| Some(b / ids)),
    }
}

/// An `r`-rule session against `r` single-rule sessions of the same per-rule sizes
/// run one after the other, estimated as `r ×` the single-rule run measured in the
/// same benchmark (its medians). Ratios below 1 mean the one session is cheaper.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RuleComparison {
    /// Rules in the session compared.
    pub(crate) rules: usize,
    /// Median total wall time of the single-rule session, seconds.
    pub(crate) single_rule_wall_s: f64,
    /// `rules ×` that: the single-rule sessions one after the other.
    pub(crate) sequential_wall_s: f64,
    /// This session's median total wall ÷ `sequential_wall_s`.
    pub(crate) wall_ratio: f64,
    /// Median total CPU time ÷ (`rules ×` the single-rule session's).
    pub(crate) cpu_ratio: Option<f64>,
    /// Median transport bytes both ways ÷ (`rules ×` the single-rule session's).
    pub(crate) bytes_ratio: Option<f64>,
    /// Median exchange-phase wall ÷ (`rules ×` the single-rule session's).
    pub(crate) exchange_wall_ratio: Option<f64>,
}

/// Compares `multi` with `single`, a one-rule run of the same mode and sizes; `None`
/// if `multi` has one rule or the figures are missing.
pub(crate) fn compare(multi: &RunReport, single: &RunReport) -> Option<RuleComparison> {
    if multi.rules <= 1
        || single.rules != 1
        || multi.protocol != single.protocol
        || (multi.mode, multi.initiator_size, multi.responder_size)
            != (single.mode, single.initiator_size, single.responder_size)
    {
        return None;
    }
    let r = multi.rules as f64;
    let median = |s: &Option<Stats>| s.map(|s| s.median);
    let ratio = |a: Option<f64>, b: Option<f64>| {
        a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / (r * b))
    };
    let bytes = |rep: &RunReport| {
        median(&rep.phases.total.bytes_i2r)
            .zip(median(&rep.phases.total.bytes_r2i))
            .map(|(a, b)| a + b)
    };
    let single_wall = median(&single.phases.total.wall_s)?;
    Some(RuleComparison {
        rules: multi.rules,
        single_rule_wall_s: single_wall,
        sequential_wall_s: r * single_wall,
        wall_ratio: ratio(median(&multi.phases.total.wall_s), Some(single_wall))?,
        cpu_ratio: ratio(
            median(&multi.phases.total.cpu_s),
            median(&single.phases.total.cpu_s),
        ),
        bytes_ratio: ratio(bytes(multi), bytes(single)),
        exchange_wall_ratio: ratio(
            median(&multi.phases.exchange.wall_s),
            median(&single.phases.exchange.wall_s),
        ),
    })
}

/// The table's lines about rules: the per-identifier cost and, for several rules, the
/// comparison (or how to get it).
pub(crate) fn table_lines(r: &RunReport) -> String {
    let mut out = String::new();
    let p = &r.per_identifier;
    let m = |s: &Option<Stats>, unit: &str| {
        s.map_or_else(|| "–".to_owned(), |s| format!("{:.2} {unit}", s.median))
    };
    let _ = writeln!(
        out,
        "per identifier ({} = {} rule{} × {} items): {} wall, {} core, {} CPU, {}",
        p.identifiers,
        r.rules,
        if r.rules == 1 { "" } else { "s" },
        r.initiator_size + r.responder_size,
        m(&p.wall_us, "µs"),
        m(&p.core_us, "µs"),
        m(&p.cpu_us, "µs"),
        m(&p.bytes, "B"),
    );
    if r.rules > 1 {
        match &r.vs_single_rule {
            Some(c) => {
                let x = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}×"));
                let _ = writeln!(
                    out,
                    "{} rules in one session vs {} single-rule sessions one after the other ({} × {:.3} s = {:.3} s): wall {}, CPU {}, bytes {}, exchange wall {}",
                    c.rules,
                    c.rules,
                    c.rules,
                    c.single_rule_wall_s,
                    c.sequential_wall_s,
                    x(Some(c.wall_ratio)),
                    x(c.cpu_ratio),
                    x(c.bytes_ratio),
                    x(c.exchange_wall_ratio),
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "(add 1 to --rules to compare with single-rule sessions of the same sizes)"
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_counts_and_labels() {
        assert_eq!(parse_rules("3"), Ok(3));
        assert_eq!(parse_rules(" 1 "), Ok(1));
        for bad in ["0", "5", "x", "-1", ""] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
        assert_eq!(labels(3), ["phone", "email", "name+company"]);
        assert_eq!(labels(1), ["phone"]);
    }
}
