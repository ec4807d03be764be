//! Step 3 of a match: write the matched rows of *our* input (row, kept columns,
//! match ID) atomically with mode 0600 when this side learns rows, the receipt
//! always, and the shareable receipt and the rejects file when asked; all sealed
//! first and committed together.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blindmatch_data::dataset::{DataType, DatasetReader, Format, InputSource, Record};
use blindmatch_data::meta::{Precision, now_rfc3339};
use blindmatch_data::output::{SealedFile, TableFile, WrittenFile, commit_all, seal_atomic};
use blindmatch_data::text::write_field;
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Match, MatchId, MatchResult, SessionReport};

use super::config::PEER_COLUMN_PREFIX;
use super::config::{
    MATCH_ID_COLUMN, MATCHED_RULES_COLUMN, PartyConfig, ROW_COLUMN, RULE_MATCH_ID_PREFIX,
};
use super::labels::label_sets_by_row;
use super::prepare::{Prepared, split_row_ref, write_rejects};
use crate::receipt::{self, Receipt, ShareableReceipt};

/// What a finished party wrote and learned.
#[derive(Debug)]
pub struct Finished {
    /// The session report.
    pub report: SessionReport,
    /// The matched-rows file, if written.
    pub output: Option<WrittenFile>,
    /// The receipt.
    pub receipt: WrittenFile,
    /// The shareable receipt, if asked for.
    pub shareable_receipt: Option<WrittenFile>,
    /// The rejects file, if asked for.
    pub rejects: Option<WrittenFile>,
    /// Our rows that matched (intersection learners).
    pub matched_rows: Option<u64>,
}

/// Timestamps of the run, for the receipt.
#[derive(Debug, Clone)]
pub struct RunClock {
    /// When the command started.
    pub started: Instant,
    /// The same, as RFC 3339.
    pub started_at: String,
}

impl RunClock {
    /// Now.
    pub fn start() -> Self {
        RunClock {
            started: Instant::now(),
            started_at: now_rfc3339(Precision::Seconds),
        }
    }
}

/// Writes the matched rows (when this side learned rows), the receipt, the
/// shareable receipt and the rejects file.
///
/// # Errors
/// Writing failed, or the input changed between the two reads (exit 1); an output
/// appeared meanwhile (exit 2). A failed matched-rows file leaves nothing behind.
pub fn finish(
    cfg: &PartyConfig,
    prepared: &Prepared,
    report: SessionReport,
    clock: &RunClock,
) -> Result<Finished> {
    // Every file is sealed first and committed together at the end, so matches
    // never appear without their receipt (or the other way round).
    let rules = prepared.rules.rules().len();
    let mut rows: Option<Box<dyn Iterator<Item = Result<RowMatches>> + '_>> =
        match (&report.outcome.result, &prepared.results) {
            // A bucketed session's rows come from its bucket files, merged in order.
            (MatchResult::Intersection { .. }, Some(stored)) => Some(Box::new(stored.rows(rules)?)),
            (MatchResult::Intersection { matches, .. }, None) => {
                Some(Box::new(matched_rows(matches, rules).into_iter().map(Ok)))
            }
            _ => None,
        };
    let labels = report
        .outcome
        .labels
        .as_ref()
        .map(|l| (l.columns.as_slice(), label_sets_by_row(&l.rows)));
    let (output, counts) = match (rows.as_mut(), &cfg.output) {
        (Some(rows), Some(path)) => {
            let (sealed, counts) = write_matches(cfg, prepared, path, rows, labels.as_ref())?;
            (Some(sealed), Some(counts))
        }
        // check_outputs refuses a learner without -o before any work; keep the count.
        (Some(rows), None) => {
            let mut counts = RowCounts::new(rules);
            for m in rows {
                counts.add(&m?);
            }
            (None, Some(counts))
        }
        _ => (None, None),
    };
    let matched_rows = counts.as_ref().map(|c| c.rows);
    let receipt_path = cfg
        .receipt_before_session()
        .unwrap_or_else(|| PathBuf::from(format!("blindmatch-receipt-{}.json", report.session_id)));
    let receipt = build_receipt(
        cfg,
        prepared,
        &report,
        output.as_ref().map(SealedFile::info),
        counts.as_ref(),
        clock,
    );
    let shareable = match &cfg.shareable_receipt {
        Some(path) if *path == receipt_path => {
            // Only the default receipt name, known now, can meet it here.
            return Err(Error::bad_input(format!(
                "--shareable-receipt '{}' is the receipt's own file",
                path.display()
            ))
            .hint("give the shareable receipt a name of its own"));
        }
        Some(path) => Some(seal_atomic(
            path,
            &ShareableReceipt::from(&receipt).to_json()?,
            cfg.force,
            false,
        )?),
        None => None,
    };
    let receipt = seal_atomic(&receipt_path, &receipt.to_json()?, cfg.force, false)?;
    let rejects = write_rejects(cfg, prepared)?;

    let has_output = output.is_some();
    let has_rejects = rejects.is_some();
    let has_shareable = shareable.is_some();
    let sealed = output
        .into_iter()
        .chain(rejects)
        .chain([receipt])
        .chain(shareable)
        .collect();
    let mut written = commit_all(sealed)?.into_iter();
    let output = if has_output { written.next() } else { None };
    let rejects = if has_rejects { written.next() } else { None };
    let receipt = written
        .next()
        .ok_or_else(|| Error::failed("the receipt was not written"))?;
    let shareable_receipt = if has_shareable { written.next() } else { None };
    Ok(Finished {
        report,
        output,
        receipt,
        shareable_receipt,
        rejects,
        matched_rows,
    })
}

/// One matched row of our input: its match ID under each rule (priority order;
/// `None` where that rule did not match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RowMatches {
    pub(super) row: u64,
    pub(super) ids: Vec<Option<MatchId>>,
}

impl RowMatches {
    /// The row's match ID: that of the first matching rule in priority order.
    fn match_id(&self) -> Option<MatchId> {
        self.ids.iter().flatten().next().copied()
    }
}

/// Matched rows counted while they stream past: in all and per rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RowCounts {
    rows: u64,
    per_rule: Vec<u64>,
}

impl RowCounts {
    fn new(rules: usize) -> Self {
        RowCounts {
            rows: 0,
            per_rule: vec![0; rules],
        }
    }

    fn add(&mut self, m: &RowMatches) {
        self.rows += 1;
        for (n, id) in self.per_rule.iter_mut().zip(&m.ids) {
            if id.is_some() {
                *n += 1;
            }
        }
    }
}

/// Groups the PSI's matches (one per row and rule, as [`super::prepare::row_ref`]
/// encodes them) by data row, in row order.
pub(super) fn matched_rows(matches: &[Match], rules: usize) -> Vec<RowMatches> {
    let mut sorted: Vec<(u64, usize, MatchId)> = matches
        .iter()
        .map(|m| {
            let (row, rule) = split_row_ref(m.row);
            (row, rule, m.match_id)
        })
        .collect();
    sorted.sort_unstable();
    let mut out: Vec<RowMatches> = Vec::new();
    for (row, rule, id) in sorted {
        if out.last().is_none_or(|r| r.row != row) {
            out.push(RowMatches {
                row,
                ids: vec![None; rules],
            });
        }
        if let Some(slot) = out.last_mut().and_then(|r| r.ids.get_mut(rule)) {
            *slot = Some(id);
        }
    }
    out
}

/// Labelled mode: the released column names and the label sets per data row.
type Labels<'a> = (&'a [String], BTreeMap<u64, Vec<&'a [Vec<u8>]>>);

fn write_matches(
    cfg: &PartyConfig,
    prepared: &Prepared,
    path: &Path,
    rows: &mut dyn Iterator<Item = Result<RowMatches>>,
    labels: Option<&Labels<'_>>,
) -> Result<(SealedFile, RowCounts)> {
    let mut counts = RowCounts::new(prepared.rules.rules().len());
    let delimiter = cfg.input.delimiter;
    let names = prepared.rules.names();
    // One rule: the layout sessions on one column always had.
    let several = names.len() > 1;
    // A `.parquet` output keeps the row number as an integer and the kept
    // columns' types; match IDs and released values are text.
    let mut types = prepared.keep_types.clone();
    types.set(ROW_COLUMN, &DataType::UInt64);
    let mut file = TableFile::create(path, cfg.force, true, delimiter, types)?;
    let write_error = || {
        Error::failed(format!("cannot write '{}'", path.display()))
            .hint("check the free space and permissions of the output folder")
    };
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(ROW_COLUMN.as_bytes());
    for (name, _) in &prepared.keep {
        line.push(delimiter);
        write_field(&mut line, name.as_bytes(), delimiter);
    }
    line.push(delimiter);
    line.extend_from_slice(MATCH_ID_COLUMN.as_bytes());
    if several {
        line.push(delimiter);
        line.extend_from_slice(MATCHED_RULES_COLUMN.as_bytes());
        for name in &names {
            line.push(delimiter);
            write_field(
                &mut line,
                format!("{RULE_MATCH_ID_PREFIX}{name}").as_bytes(),
                delimiter,
            );
        }
    }
    for column in labels.map_or(&[][..], |l| l.0) {
        line.push(delimiter);
        write_field(
            &mut line,
            format!("{PEER_COLUMN_PREFIX}{column}").as_bytes(),
            delimiter,
        );
    }
    line.push(b'\n');
    file.write_all(&line).fail_with(write_error)?;

    let no_sets: Vec<&[Vec<u8>]> = Vec::new();
    let mut emit = |file: &mut TableFile, m: &RowMatches, kept: &[u8]| -> Result<()> {
        line.clear();
        line.extend_from_slice(m.row.to_string().as_bytes());
        if !prepared.keep.is_empty() {
            line.push(delimiter);
            line.extend_from_slice(kept);
        }
        line.push(delimiter);
        if let Some(id) = m.match_id() {
            line.extend_from_slice(id.to_string().as_bytes());
        }
        if several {
            line.push(delimiter);
            let matched: Vec<&str> = names
                .iter()
                .zip(&m.ids)
                .filter(|(_, id)| id.is_some())
                .map(|(n, _)| n.as_str())
                .collect();
            write_field(&mut line, matched.join(";").as_bytes(), delimiter);
            for id in &m.ids {
                line.push(delimiter);
                if let Some(id) = id {
                    line.extend_from_slice(id.to_string().as_bytes());
                }
            }
        }
        let Some((_, by_row)) = labels else {
            line.push(b'\n');
            return file.write_all(&line).fail_with(write_error);
        };
        // One output row per label set the partner holds for this identifier.
        let sets = by_row.get(&m.row).unwrap_or(&no_sets);
        if sets.is_empty() {
            return Err(Error::failed(format!(
                "the partner sent no released values for matched row {}; no output was written",
                m.row
            ))
            .hint("a labelled session gives every matched row its values; run the session again and report this if it repeats"));
        }
        let prefix = line.len();
        for set in sets {
            line.truncate(prefix);
            for value in *set {
                line.push(delimiter);
                write_field(&mut line, value, delimiter);
            }
            line.push(b'\n');
            file.write_all(&line).fail_with(write_error)?;
        }
        Ok(())
    };

    match &prepared.kept {
        Some(kept) => {
            for m in rows {
                let m = m?;
                counts.add(&m);
                emit(&mut file, &m, kept.row(m.row))?;
            }
        }
        None => {
            // Read the file again for the kept columns of matched rows only, so memory
            // does not grow with the kept data; the hash proves it is the same input.
            let mut reader = DatasetReader::open_spec(&cfg.input)?;
            reader.check_text_columns(prepared.keep.iter().map(|(_, i)| *i).collect());
            let mut record = Record::default();
            let mut fields = Vec::with_capacity(128);
            let mut next = rows.next().transpose()?;
            while next.is_some() {
                if !reader.read(&mut record)? {
                    break;
                }
                fields.clear();
                for (i, (_, index)) in prepared.keep.iter().enumerate() {
                    if i > 0 {
                        fields.push(delimiter);
                    }
                    write_field(
                        &mut fields,
                        record.get(*index).unwrap_or_default(),
                        delimiter,
                    );
                }
                while let Some(m) = next.take_if(|m| m.row == record.row()) {
                    counts.add(&m);
                    emit(&mut file, &m, &fields)?;
                    next = rows.next().transpose()?;
                }
            }
            let again = reader.finish()?;
            if again.sha256 != prepared.summary.sha256 || next.is_some() {
                return Err(Error::failed(format!(
                    "input '{}' changed during the session; no output was written",
                    cfg.input.source.name()
                ))
                .hint("keep the input file unchanged until the session ends, then run it again"));
            }
        }
    }
    Ok((file.seal()?, counts))
}

#[allow(clippy::too_many_arguments)]
fn build_receipt(
    cfg: &PartyConfig,
    prepared: &Prepared,
    report: &SessionReport,
    output: Option<&WrittenFile>,
    counts: Option<&RowCounts>,
    clock: &RunClock,
) -> Receipt {
    let matched_rows = counts.map(|c| c.rows);
    let (matched_values, cardinality) = match &report.outcome.result {
        MatchResult::Intersection { matched, .. } => (Some(*matched), Some(*matched)),
        MatchResult::Cardinality { matched } => (None, Some(*matched)),
        _ => (None, None),
    };
    let rejects_of = |column: usize| {
        let mut rejects = BTreeMap::new();
        for (reason, n) in prepared.tally.by_reason(column) {
            *rejects.entry(reason.code()).or_default() += n;
        }
        rejects
    };
    let mut rejects = BTreeMap::new();
    for i in 0..prepared.columns.len() {
        for (code, n) in rejects_of(i) {
            *rejects.entry(code).or_default() += n;
        }
    }
    let columns = prepared
        .columns
        .iter()
        .zip(&prepared.column_counts)
        .enumerate()
        .map(|(i, (c, counts))| receipt::ColumnInfo {
            column: c.name.clone(),
            id_type: c.id_type.as_str().to_owned(),
            values: counts.values,
            empty: counts.empty,
            rejected: counts.rejected,
            rejects: rejects_of(i),
        })
        .collect();
    let per_type = &report.outcome.per_type;
    let rules = prepared
        .rules
        .rules()
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let name = rule.name();
            let agreed = per_type.iter().find(|t| t.id_type == name);
            receipt::RuleInfo {
                rule: name,
                columns: prepared
                    .rule_columns
                    .get(i)
                    .map(|cols| {
                        cols.iter()
                            .filter_map(|&c| prepared.columns.get(c).map(|c| c.name.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                local_size: prepared.rule_sizes.get(i).copied().unwrap_or(0),
                peer_size: agreed.map(|t| t.peer),
                matched_values: agreed.and_then(|t| t.matched),
                matched_rows: counts.map(|c| c.per_rule.get(i).copied().unwrap_or(0)),
            }
        })
        .collect();
    let fields = cfg.fields();
    let t = &report.timings;
    Receipt {
        format: receipt::FORMAT,
        version: receipt::VERSION,
        tool: receipt::Tool::current(),
        protocol_version: report.protocol_version,
        psi_protocol: report.protocol.clone(),
        session_id: report.session_id.clone(),
        transcript_hash: report.transcript_hash.clone(),
        started_at: clock.started_at.clone(),
        finished_at: now_rfc3339(Precision::Seconds),
        mode: report.mode,
        reveal: report.reveal,
        id_type: prepared.rules.names().join(","),
        rules,
        // Our own profile string: the handshake refused any other.
        profile: receipt::TypeProfileInfo::for_types(&cfg.profile, &fields),
        batch_size: report.batch_size,
        comparison_bytes: report.comparison_len,
        local: receipt::LocalInfo {
            role: report.role,
            network_role: cfg.address.network_role(),
            fingerprint: report.local_fingerprint,
            declared_size: report.local_set_size,
            input: receipt::InputInfo {
                path: name_for_receipt(&cfg.input.source),
                format: prepared.summary.format.as_str().to_owned(),
                sha256: prepared.summary.sha256.clone(),
                rows: prepared.summary.rows,
                bytes: prepared.summary.bytes,
                column: prepared
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                columns,
                values: prepared.counts.values,
                empty: prepared.counts.empty,
                rejected: prepared.counts.rejected,
                rejects,
            },
            learns: report.reveal.learns(report.role),
        },
        peer: receipt::PeerInfo {
            role: report.role.peer(),
            fingerprint: report.peer_fingerprint,
            declared_size: report.peer_set_size,
            min_peer_set: cfg.min_peer_set,
            address: report.peer_addr.map(|a| a.to_string()),
            implementation: report.peer_implementation.clone(),
        },
        result: receipt::ResultInfo {
            matched_rows,
            matched_values,
            cardinality,
        },
        output: output.map(|w| {
            receipt::FileInfo::new(&w.path, w.sha256.clone(), w.bytes)
                .with_format(Format::of_output(&w.path).as_str())
        }),
        traffic: receipt::TrafficInfo {
            bytes_sent: report.traffic.bytes_sent,
            bytes_received: report.traffic.bytes_received,
            frames_sent: report.traffic.frames_sent,
            frames_received: report.traffic.frames_received,
            wire_bytes_sent: report.traffic.wire_bytes_sent,
            wire_bytes_received: report.traffic.wire_bytes_received,
        },
        timings_ms: receipt::TimingsMs {
            handshake: receipt::ms(t.connect + t.handshake),
            hashing: receipt::ms(t.hashing),
            exchange: receipt::ms(t.psi),
            compare: receipt::ms(t.compare),
            total: receipt::ms(clock.started.elapsed()),
            prepare: receipt::ms(prepared.elapsed),
            connect: receipt::ms(t.connect),
            finish: receipt::ms(t.finish),
        },
        labels: cfg.labels.as_ref().map(|l| receipt::LabelsInfo {
            side: if cfg.releases() {
                "releases"
            } else {
                "receives"
            },
            columns: match &report.outcome.labels {
                Some(received) => received.columns.clone(),
                None => l.release.clone(),
            },
            max_bytes: match &report.outcome.labels {
                Some(received) => received.max_bytes.clone(),
                None => vec![l.max_bytes; l.release.len()],
            },
            max_labels_per_id: l.max_labels_per_id,
            output_rows: report.outcome.labels.as_ref().map(|received| {
                label_sets_by_row(&received.rows)
                    .values()
                    .map(|sets| sets.len() as u64)
                    .sum()
            }),
        }),
        partition: prepared.partition.clone(),
    }
}

/// The input path as the receipt records it: as given, `-` for stdin.
fn name_for_receipt(source: &InputSource) -> String {
    source.display_path().display().to_string()
}
