//! Labelled mode in the benchmark (`--mode labelled --label-bytes N`): the side that
//! does not learn releases one column of `N`-byte values, one label set per item
//! (`--max-labels-per-id 1`); the learner (the side `--reveal` names) gets them for
//! its matched rows. This module builds both sides' setups, checks every value the
//! learner received against the generated truth, and compares a labelled run with the
//! intersection run of the same sizes measured in the same benchmark.

use std::fmt::Write as _;

use blindmatch_net::{Mode, PreparedSet, Reveal, Role, SessionReport};
use blindmatch_pipeline::matching::{row_ref, split_row_ref};
use blindmatch_psi::labelled::AEAD_TAG_LEN;
use blindmatch_psi::{LabelColumn, LabelTable, LabelledSetup, ProtocolSetup, PsiError};
use serde::Serialize;

use super::data::SideIds;
use super::report::{RunReport, Stats};

/// Default `--label-bytes`.
pub(crate) const DEFAULT_LABEL_BYTES: u32 = 32;
/// The released column's name.
pub(crate) const COLUMN: &str = "label";
/// Label sets per identifier (`--max-labels-per-id`).
const CAP: u32 = 1;
/// Bytes of a label set's handle in the padded plaintext (`docs/protocol.md`).
const HANDLE_LEN: u64 = 16;

/// The learning side: the one `reveal` names (`Both` is refused before any run).
pub(crate) fn learner(reveal: Reveal) -> Role {
    match reveal {
        Reveal::Responder => Role::Responder,
        Reveal::Initiator | Reveal::Both => Role::Initiator,
    }
}

/// The released value of customer `id`: `bytes` bytes, all of them used (the
/// ciphertext size does not depend on it, but the check then covers every byte).
pub(crate) fn value(id: u64, bytes: u32) -> Vec<u8> {
    let stem = format!("L{id:010}-");
    stem.bytes().cycle().take(bytes as usize).collect()
}

/// Bytes of one entry the giving side sends per item: `tag ‖ padded label set ‖
/// AEAD tag`, the padded set being a 2-byte count and one slot (handle, 2-byte length,
/// the value padded to `label_bytes`).
pub(crate) fn entry_len(tag_len: usize, label_bytes: u32) -> u64 {
    tag_len as u64 + padded_len(label_bytes) + AEAD_TAG_LEN as u64
}

/// Bytes of the padded plaintext of one entry.
pub(crate) fn padded_len(label_bytes: u32) -> u64 {
    2 + u64::from(CAP) * (HANDLE_LEN + 2 + u64::from(label_bytes))
}

/// Both setups `[initiator, responder]`: the learner's items only, the giver's items
/// with one value per row reference of every rule.
///
/// # Errors
///
/// [`PsiError`] from the setups (not for generated data and a valid `label_bytes`).
pub(crate) fn setups(
    reveal: Reveal,
    label_bytes: u32,
    ids: [&SideIds; 2],
    sets: [PreparedSet; 2],
) -> Result<[Box<dyn ProtocolSetup>; 2], PsiError> {
    let learner_is_initiator = learner(reveal) == Role::Initiator;
    let [ids_i, ids_r] = ids;
    let [set_i, set_r] = sets;
    let giver_ids = if learner_is_initiator { ids_r } else { ids_i };
    let columns = vec![LabelColumn {
        name: COLUMN.to_owned(),
        max_bytes: label_bytes,
    }];
    let mut table = LabelTable::new(&columns);
    for (row, id) in giver_ids.iter().enumerate() {
        for rule in 0..giver_ids.labels().len() {
            table.insert(row_ref(row as u64, rule), vec![value(id, label_bytes)])?;
        }
    }
    let (learn_set, give_set) = if learner_is_initiator {
        (set_i, set_r)
    } else {
        (set_r, set_i)
    };
    let learn: Box<dyn ProtocolSetup> = Box::new(LabelledSetup::learner(learn_set, CAP)?);
    let give: Box<dyn ProtocolSetup> =
        Box::new(LabelledSetup::sender(give_set, columns, table, CAP)?);
    Ok(if learner_is_initiator {
        [learn, give]
    } else {
        [give, learn]
    })
}

/// Checks what the learner received: one label set per matched row of every rule
/// (`rules × shared`), each the giver's value for that very customer, and nothing for
/// the giver. `Err` says what differs.
pub(crate) fn check(
    reveal: Reveal,
    label_bytes: u32,
    expected_rows: u64,
    learner_ids: &SideIds,
    reports: [&SessionReport; 2],
) -> Result<(), String> {
    let role = learner(reveal);
    for report in reports {
        let labels = report.outcome.labels.as_ref();
        if report.role != role {
            if labels.is_some() {
                return Err("the releasing side received labels".to_owned());
            }
            continue;
        }
        let labels = labels.ok_or("the learner received no labels")?;
        if labels.columns != [COLUMN] {
            return Err(format!("the learner got columns {:?}", labels.columns));
        }
        if labels.rows.len() as u64 != expected_rows {
            return Err(format!(
                "the learner got {} labelled rows, expected {expected_rows}",
                labels.rows.len()
            ));
        }
        for r in &labels.rows {
            let (row, _) = split_row_ref(r.row);
            if row >= learner_ids.len() {
                return Err(format!("a label for row {row}, which the learner lacks"));
            }
            let id = learner_ids.id_at(row);
            if r.values != [value(id, label_bytes)] {
                return Err(format!("row {row} (customer {id}) got a wrong value"));
            }
        }
    }
    Ok(())
}

/// A labelled run against the intersection run of the same sizes, rules, reveal and
/// transport measured in the same benchmark: ratios of the medians. Above 1 means the
/// labelled run costs more.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ModeComparison {
    /// The mode compared with: `intersection`.
    pub(crate) against: &'static str,
    /// Median total wall time of the intersection run, seconds.
    pub(crate) intersection_wall_s: f64,
    /// This run's median total wall ÷ the intersection run's.
    pub(crate) wall_ratio: f64,
    /// Median total CPU time ÷ the intersection run's.
    pub(crate) cpu_ratio: Option<f64>,
    /// Median transport bytes both ways ÷ the intersection run's.
    pub(crate) bytes_ratio: Option<f64>,
    /// Median exchange-phase wall ÷ the intersection run's.
    pub(crate) exchange_wall_ratio: Option<f64>,
    /// The intersection run's bytes per element (both ways ÷ the larger set).
    pub(crate) intersection_bytes_per_element: Option<f64>,
}

/// Compares `labelled` with `other`, if that is the intersection run of the same
/// configuration.
pub(crate) fn compare(labelled: &RunReport, other: &RunReport) -> Option<ModeComparison> {
    let key = |r: &RunReport| {
        (
            r.initiator_size,
            r.responder_size,
            r.rules,
            r.reveal,
            r.transport,
            r.batch_size,
        )
    };
    if labelled.mode != Mode::Labelled.name()
        || other.mode != Mode::Intersection.name()
        || other.protocol != blindmatch_psi::ECDH_PROTOCOL_ID
        || key(labelled) != key(other)
        || labelled.bandwidth_bits_per_s != other.bandwidth_bits_per_s
        || labelled.latency_s != other.latency_s
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
    Some(ModeComparison {
        against: Mode::Intersection.name(),
        intersection_wall_s: other_wall,
        wall_ratio: ratio(median(&labelled.phases.total.wall_s), Some(other_wall))?,
        cpu_ratio: ratio(
            median(&labelled.phases.total.cpu_s),
            median(&other.phases.total.cpu_s),
        ),
        bytes_ratio: ratio(bytes(labelled), bytes(other)),
        exchange_wall_ratio: ratio(
            median(&labelled.phases.exchange.wall_s),
            median(&other.phases.exchange.wall_s),
        ),
        intersection_bytes_per_element: median(&other.phases.total.bytes_per_element),
    })
}

/// The table's lines about labelled mode: the released values, the comparison with
/// intersection (or how to get it). Empty for other modes.
pub(crate) fn table_lines(r: &RunReport) -> String {
    let mut out = String::new();
    let Some(label_bytes) = r.label_bytes else {
        return out;
    };
    let median = |s: &Option<Stats>| s.map(|s| s.median);
    let _ = writeln!(
        out,
        "labelled: the {} learns one {label_bytes}-byte value per matched row (one column, --max-labels-per-id 1); bytes per element {}",
        r.reveal,
        median(&r.phases.total.bytes_per_element)
            .map_or_else(|| "–".to_owned(), |b| format!("{b:.1}")),
    );
    match &r.vs_intersection {
        Some(c) => {
            let x = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}×"));
            let _ = writeln!(
                out,
                "labelled vs intersection of the same sizes in this run ({:.3} s): wall {}, CPU {}, bytes {} (B/el {}), exchange wall {}",
                c.intersection_wall_s,
                x(Some(c.wall_ratio)),
                x(c.cpu_ratio),
                x(c.bytes_ratio),
                c.intersection_bytes_per_element
                    .map_or_else(|| "–".to_owned(), |b| format!("{b:.1}")),
                x(c.exchange_wall_ratio),
            );
        }
        None => {
            let _ = writeln!(
                out,
                "(add intersection to --mode to compare with an intersection run of the same sizes)"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_fill_their_size_and_differ_by_customer() {
        assert_eq!(value(7, 32).len(), 32);
        assert_eq!(value(7, 3), b"L00");
        assert_ne!(value(7, 32), value(8, 32));
        // 2-byte count, 16-byte handle, 2-byte length, 32 bytes; tag and AEAD tag.
        assert_eq!(padded_len(32), 52);
        assert_eq!(entry_len(8, 32), 8 + 52 + 16);
        assert_eq!(learner(Reveal::Responder), Role::Responder);
        assert_eq!(learner(Reveal::Initiator), Role::Initiator);
    }
}
