//! Step 1 of a match: read the input, normalise the identifier columns (rejects are
//! counted and never sent) and build the de-duplicated set the session will use: for
//! each matching rule whose fields a row has, the rule's value under the rule's label
//! (so equal values under two rules never match), with a row reference that says
//! which rule it came from ([`row_ref`]).

use std::time::{Duration, Instant};

use blindmatch_data::dataset::{
    Cell, ColumnCounts, Columns, DatasetReader, IdColumn, InputSource, InputSummary, OutputColumn,
    REJECTS_HEADER, Record, RejectTally, normalize_cell, write_reject_line,
};
use blindmatch_data::output::{ColumnTypes, SealedFile, clear_stale, seal_atomic};
use blindmatch_data::text::write_field;
use blindmatch_data::{Error, FailWith, Observer, Result};
use blindmatch_net::PreparedSet;
use blindmatch_token::{Rejection, RuleSet};

use super::config::PartyConfig;
use super::labels::ReleasedValues;
use super::partition::{SLICES, Shard, place, slice_bound};
use super::spill::Spill;

/// Bits of a row reference that carry the rule index (rules are at most
/// [`blindmatch_token::rule::MAX_RULES`] = 64 < 256).
const RULE_BITS: u32 = 8;

/// The row reference the PSI carries for data row `row` under rule `rule` (its index
/// in priority order): the row shifted left by 8 bits, the rule below. Rows then
/// sort by row first, rules in priority order within a row.
pub fn row_ref(row: u64, rule: usize) -> u64 {
    (row << RULE_BITS) | (rule as u64 & ((1 << RULE_BITS) - 1))
}

/// The data row and rule index of a [`row_ref`].
pub fn split_row_ref(reference: u64) -> (u64, usize) {
    (
        reference >> RULE_BITS,
        (reference & ((1 << RULE_BITS) - 1)) as usize,
    )
}

/// One party's input, read and normalised.
pub struct Prepared {
    /// The de-duplicated set for the PSI.
    pub set: PreparedSet,
    /// Hash, size and row count of the input.
    pub summary: InputSummary,
    /// The first identifier column (the only one of a one-rule session).
    pub column: IdColumn,
    /// Every identifier column, in the order given.
    pub columns: Vec<IdColumn>,
    /// The rules, in priority order.
    pub rules: RuleSet,
    /// Per rule, the indices into `columns` of its fields, in the rule's field order.
    pub rule_columns: Vec<Vec<usize>>,
    /// Distinct values per rule (what the hello declares per rule).
    pub rule_sizes: Vec<u64>,
    /// Kept columns in input order: (name, record index).
    pub keep: Vec<(String, usize)>,
    /// The Arrow types of kept columns of a Parquet or Arrow input, which a
    /// Parquet output keeps.
    pub keep_types: ColumnTypes,
    /// Cell counts of all identifier columns together.
    pub counts: ColumnCounts,
    /// Cell counts per identifier column, as `columns`.
    pub column_counts: Vec<ColumnCounts>,
    /// Rejected cells by column (as `columns`) and reason.
    pub tally: RejectTally,
    /// Rejected cells: (row, line, column index, reason), for --rejects.
    pub(super) rejected: Vec<(u64, u64, usize, Rejection)>,
    /// Labelled mode, the releasing side: the released columns' values per row.
    pub released: Option<ReleasedValues>,
    /// Kept fields per row, when the input cannot be read twice (stdin).
    pub(super) kept: Option<KeptRows>,
    /// A bucketed session's items, spilled by slice (then `set` is empty).
    pub(super) spill: Option<Spill>,
    /// A bucketed session's matched rows, on disk (then the report holds none).
    pub(super) results: Option<super::buckets::BucketResults>,
    /// A bucketed session's plan and buckets, once it ran (for the receipt).
    pub partition: Option<super::buckets::PartitionRun>,
    /// Time spent reading and normalising.
    pub elapsed: Duration,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("set", &self.set)
            .field("rows", &self.summary.rows)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

/// Kept columns of every row, CSV-encoded, for inputs read only once.
#[derive(Default)]
pub(super) struct KeptRows {
    bytes: Vec<u8>,
    /// End offset of row n (1-based) at index n-1.
    ends: Vec<usize>,
}

impl KeptRows {
    fn push(&mut self, record: &Record, keep: &[(String, usize)], delimiter: u8) {
        for (i, (_, index)) in keep.iter().enumerate() {
            if i > 0 {
                self.bytes.push(delimiter);
            }
            write_field(
                &mut self.bytes,
                record.get(*index).unwrap_or_default(),
                delimiter,
            );
        }
        self.ends.push(self.bytes.len());
    }

    pub(super) fn row(&self, row: u64) -> &[u8] {
        let Some(i) = usize::try_from(row).ok().and_then(|r| r.checked_sub(1)) else {
            return &[];
        };
        let end = self.ends.get(i).copied().unwrap_or(0);
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).copied().unwrap_or(end),
        };
        self.bytes.get(start..end).unwrap_or_default()
    }
}

/// Reads and normalises the input into the set the session will use.
///
/// # Errors
/// Bad input (exit 2): unreadable or malformed CSV, missing columns, no usable
/// identifier, too many distinct values. A failed --max-reject-rate check (exit 3).
pub fn prepare(cfg: &PartyConfig, observer: &dyn Observer) -> Result<Prepared> {
    match prepare_into(cfg, observer, false)? {
        Some(prepared) => Ok(prepared),
        // The set outgrew one bucket: read again, spilling by slice.
        None => prepare_spilled(cfg, observer),
    }
}

/// [`prepare`] for a bucketed session: the items go to spill files by slice
/// (`--work-dir`), and memory holds none of them.
///
/// # Errors
/// As [`prepare`]; the input is standard input (it cannot be read twice, and a
/// bucketed session reads it again for the output).
pub fn prepare_spilled(cfg: &PartyConfig, observer: &dyn Observer) -> Result<Prepared> {
    if cfg.input.source == InputSource::Stdin {
        return Err(Error::bad_input(
            "a bucketed session cannot read its input from standard input",
        )
        .hint("give the input as a file (--input FILE), or raise --memory-limit on both sides"));
    }
    prepare_into(cfg, observer, true)?
        .ok_or_else(|| Error::failed("internal error: a spilled input overflowed"))
}

/// Where the items go while the input is read.
enum Sink {
    /// One set in memory; `cap`: the most rows before it must spill instead.
    Memory { set: PreparedSet, cap: Option<u64> },
    /// Spill files by slice.
    Spill(Spill),
}

/// Reads and normalises; `None` when the set in memory outgrew the memory limit
/// (the caller reads again with `spill`).
fn prepare_into(
    cfg: &PartyConfig,
    observer: &dyn Observer,
    spill: bool,
) -> Result<Option<Prepared>> {
    let started = Instant::now();
    // What a killed run left for our outputs is reported (and removed) before any
    // work, not when the outputs are written after the session.
    let outputs = [
        cfg.output.clone().filter(|_| cfg.learns_rows()),
        cfg.receipt_before_session(),
        cfg.rejects.clone(),
    ];
    for path in outputs.iter().flatten() {
        clear_stale(path, observer);
    }
    let mut reader = DatasetReader::open_spec(&cfg.input)?;
    let columns = Columns::resolve(
        reader.header(),
        &cfg.input.columns,
        &cfg.input.keep,
        reader.name(),
    )?;
    // Released label columns are read too: every column stays decoded.
    reader.check_identifiers(&columns)?;
    let mut released = match &cfg.labels {
        Some(l) if cfg.releases() => Some(ReleasedValues::new(
            &l.release,
            l.max_bytes,
            reader.header(),
            reader.name(),
        )?),
        _ => None,
    };
    let mut text_columns = columns.used_indices();
    if let Some(r) = &released {
        text_columns.extend_from_slice(r.indices());
    }
    reader.check_text_columns(text_columns);
    let Some(column) = columns.ids.first().cloned() else {
        return Err(Error::bad_input("no identifier column given"));
    };
    let id_columns = columns.ids.clone();
    let rules = cfg.rules.clone();
    // Checked by `session_rules`: every field has exactly one column.
    let rule_columns: Vec<Vec<usize>> = rules
        .rules()
        .iter()
        .map(|r| {
            r.fields()
                .iter()
                .filter_map(|f| id_columns.iter().position(|c| c.id_type == *f))
                .collect()
        })
        .collect();
    if let Some((rule, _)) = rules
        .rules()
        .iter()
        .zip(&rule_columns)
        .find(|(r, cols)| cols.len() != r.fields().len())
    {
        return Err(Error::bad_input(format!(
            "--rule {rule} names a type no --column has"
        )));
    }
    let labels = rules.names();
    let keep: Vec<(String, usize)> = columns
        .output_order
        .iter()
        .filter_map(|c| match c {
            OutputColumn::Keep(n) => columns.keep.get(*n).map(|k| (k.name.clone(), k.index)),
            OutputColumn::Id(_) => None,
        })
        .collect();
    let mut keep_types = ColumnTypes::new();
    for (name, index) in &keep {
        if let Some(data_type) = reader.column_type(*index) {
            keep_types.set(name.clone(), data_type);
        }
    }
    let mut kept =
        (cfg.learns_rows() && cfg.input.source == InputSource::Stdin).then(KeptRows::default);
    tracing::info!(
        input = %reader.name(),
        columns = id_columns.len(),
        rules = %labels.join(","),
        profile = %cfg.profile.name(),
        "match: reading the input"
    );

    observer.progress_start("reading", reader.size());
    let shard = cfg.partition.as_ref().map_or(Shard::WHOLE, |p| p.shard);
    let mut sink = match (&cfg.partition, spill) {
        (Some(p), true) => Sink::Spill(Spill::create(&p.work_dir)?),
        (p, _) => Sink::Memory {
            set: PreparedSet::new(),
            cap: p
                .as_ref()
                .map(|p| p.bucket_capacity(cfg.protocol.bytes_per_item())),
        },
    };
    let mut column_counts = vec![ColumnCounts::default(); id_columns.len()];
    let mut tally = RejectTally::new(id_columns.len());
    let mut rejected = Vec::new();
    let mut record = Record::default();
    let mut normalised: Vec<String> = vec![String::new(); id_columns.len()];
    let mut usable = vec![false; id_columns.len()];
    while reader.read(&mut record)? {
        for (i, ((c, out), (counts, usable))) in id_columns
            .iter()
            .zip(normalised.iter_mut())
            .zip(column_counts.iter_mut().zip(usable.iter_mut()))
            .enumerate()
        {
            let cell = normalize_cell(&cfg.profile, c.id_type, record.text(c.index), out);
            counts.add(cell);
            *usable = cell == Cell::Value;
            if let Cell::Rejected(reason) = cell {
                tally.add(i, reason);
                if cfg.rejects.is_some() {
                    rejected.push((record.row(), record.line(), i, reason));
                }
            }
        }
        for (r, (rule, cols)) in rules.rules().iter().zip(&rule_columns).enumerate() {
            if !cols
                .iter()
                .all(|&i| usable.get(i).copied().unwrap_or(false))
            {
                continue;
            }
            // A one-field rule's value is the normalised value itself (no copy).
            let composite;
            let value: &[u8] = match cols[..] {
                [i] => normalised.get(i).map_or(&[][..], |v| v.as_bytes()),
                _ => {
                    let fields: Vec<&str> = cols
                        .iter()
                        .filter_map(|&i| normalised.get(i).map(String::as_str))
                        .collect();
                    let Some(v) = rule.encode(&fields) else {
                        continue;
                    };
                    composite = v;
                    &composite
                }
            };
            let Some(label) = labels.get(r) else {
                continue;
            };
            let reference = row_ref(record.row(), r);
            let slice = match (&sink, shard.count) {
                (Sink::Memory { .. }, 1) => 0,
                _ => match shard.slice_of(place(label, value)) {
                    Some(slice) => slice,
                    // Another shard's item.
                    None => continue,
                },
            };
            match &mut sink {
                Sink::Memory { set, cap } => {
                    set.push(label, value, reference).fail_with(|| {
                        Error::bad_input(format!(
                            "'{}' line {}: cannot add the identifier to the set",
                            reader.name(),
                            record.line()
                        ))
                        .hint("split the input: a session holds at most 2^32 - 1 distinct identifiers")
                    })?;
                    if cap.is_some_and(|cap| set.row_count() as u64 > cap)
                        && cfg.input.source != InputSource::Stdin
                    {
                        observer.progress_end();
                        tracing::info!(
                            "match: the set outgrows --memory-limit; reading again into buckets"
                        );
                        return Ok(None);
                    }
                }
                // At most MAX_RULES < 256 rules.
                Sink::Spill(spill) => spill.push(slice, r as u8, reference, value)?,
            }
        }
        if let Some(kept) = kept.as_mut() {
            kept.push(&record, &keep, cfg.input.delimiter);
        }
        if let Some(released) = released.as_mut() {
            released.push(|i| record.get(i), reader.name(), record.line())?;
        }
        if record.row() % 4096 == 0 {
            observer.progress(reader.bytes_read());
        }
    }
    observer.progress_end();
    for n in &mut normalised {
        n.clear();
    }
    let summary = reader.finish()?;
    let (set, spill, rule_sizes) = match sink {
        Sink::Memory { set, .. } => {
            let sizes = set.type_sizes();
            let rule_sizes = labels
                .iter()
                .map(|l| sizes.iter().find(|(t, _)| t == l).map_or(0, |(_, n)| *n))
                .collect();
            (set, None, rule_sizes)
        }
        Sink::Spill(mut spill) => {
            spill.finish_writing()?;
            let totals = count_slices(&spill, &labels, observer)?;
            (PreparedSet::new(), Some(spill), totals)
        }
    };
    let mut counts = ColumnCounts::default();
    for c in &column_counts {
        counts.merge(c);
    }
    let prepared = Prepared {
        set,
        summary,
        column,
        columns: id_columns,
        rules,
        rule_columns,
        rule_sizes,
        keep,
        keep_types,
        counts,
        column_counts,
        tally,
        rejected,
        released,
        kept,
        spill,
        results: None,
        partition: None,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        rows = prepared.summary.rows,
        values = counts.values,
        empty = counts.empty,
        rejected = counts.rejected,
        distinct = prepared.rule_sizes.iter().sum::<u64>(),
        "match: input ready"
    );

    if let Some(max) = cfg.max_reject_rate
        && let Some((worst, rate)) = prepared
            .column_counts
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.reject_rate()))
            .find(|(_, rate)| *rate > max)
    {
        {
            let rejects = match write_rejects(cfg, &prepared)? {
                Some(sealed) => Some(sealed.commit()?),
                None => None,
            };
            return Err(Error::check_failed(format!(
                "column '{}': {:.2}% of non-empty cells rejected, above --max-reject-rate {:.2}%; nothing was sent",
                prepared.columns.get(worst).map_or("", |c| c.name.as_str()),
                rate * 100.0,
                max * 100.0
            ))
            .hint(match rejects {
                Some(w) => format!("the rejected rows are listed in '{}'", w.path.display()),
                None => "rerun with --rejects FILE to list the rejected rows".to_owned(),
            }));
        }
    }
    if prepared.rule_sizes.iter().sum::<u64>() == 0 {
        return Err(Error::bad_input(format!(
            "'{}' has no usable value in column '{}' ({} rows, {} empty, {} rejected)",
            cfg.input.source.name(),
            prepared
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join("', '"),
            prepared.summary.rows,
            counts.empty,
            counts.rejected
        ))
        .hint(format!(
            "check the column and its type; `blindmatch normalize --input FILE --column {}:{}` shows what the normaliser makes of it",
            prepared.column.name, prepared.column.id_type
        )));
    }
    Ok(Some(prepared))
}

/// Counts the distinct values per slice and rule of a spilled set (one slice in
/// memory at a time), and checks each slice against its padding bound.
fn count_slices(spill: &Spill, labels: &[String], observer: &dyn Observer) -> Result<Vec<u64>> {
    observer.progress_start("counting", Some(u64::from(SLICES)));
    let mut slice_sizes = Vec::with_capacity(SLICES as usize);
    for slice in 0..SLICES {
        let set = slice_set(spill, slice, labels)?;
        let sizes = set.type_sizes();
        slice_sizes.push(
            labels
                .iter()
                .map(|l| sizes.iter().find(|(t, _)| t == l).map_or(0, |(_, n)| *n))
                .collect::<Vec<u64>>(),
        );
        observer.progress(u64::from(slice) + 1);
    }
    observer.progress_end();
    let totals: Vec<u64> = (0..labels.len())
        .map(|r| {
            slice_sizes
                .iter()
                .map(|s| s.get(r).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    for sizes in &slice_sizes {
        for (r, (&n, &total)) in sizes.iter().zip(&totals).enumerate() {
            if n > slice_bound(total) {
                return Err(Error::bad_input(format!(
                    "rule '{}': one slice holds {n} values, above its padding bound of {}",
                    labels.get(r).map_or("", String::as_str),
                    slice_bound(total)
                ))
                .hint(
                    "this happens only with inputs built to collide; split the run with --shard",
                ));
            }
        }
    }
    Ok(totals)
}

/// One slice of a spilled set, de-duplicated.
pub(super) fn slice_set(spill: &Spill, slice: u32, labels: &[String]) -> Result<PreparedSet> {
    let mut set = PreparedSet::new();
    add_slice(spill, slice, labels, &mut set)?;
    Ok(set)
}

/// Adds one slice of a spilled set to `set` (which de-duplicates).
pub(super) fn add_slice(
    spill: &Spill,
    slice: u32,
    labels: &[String],
    set: &mut PreparedSet,
) -> Result<()> {
    spill.read_slice(slice, |item| {
        let label = labels
            .get(usize::from(item.rule))
            .ok_or_else(|| Error::failed("internal error: a spilled item names no rule"))?;
        set.push(label, &item.value, item.row_ref)
            .fail_with(|| Error::failed("cannot rebuild a bucket from the spill files"))
    })
}

/// Writes the --rejects file, if asked for.
pub(super) fn write_rejects(cfg: &PartyConfig, prepared: &Prepared) -> Result<Option<SealedFile>> {
    let Some(path) = &cfg.rejects else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(32 + prepared.rejected.len() * 32);
    out.extend_from_slice(REJECTS_HEADER);
    for (row, line, i, reason) in &prepared.rejected {
        let Some(column) = prepared.columns.get(*i) else {
            continue;
        };
        write_reject_line(&mut out, *row, *line, &column.name, column.id_type, *reason);
    }
    Ok(Some(seal_atomic(path, &out, cfg.force, false)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use blindmatch_data::dataset::CsvReader;

    #[test]
    fn kept_rows_by_row_number() {
        let mut kept = KeptRows::default();
        let mut record = Record::default();
        let mut reader = CsvReader::from_reader(
            Box::new(std::io::Cursor::new(
                b"id,phone,x\n1,a,\"p,q\"\n2,b,r\n".to_vec(),
            )),
            "t".into(),
            None,
            b',',
        )
        .unwrap();
        let keep = vec![("id".to_owned(), 0), ("x".to_owned(), 2)];
        while reader.read(&mut record).unwrap() {
            kept.push(&record, &keep, b',');
        }
        assert_eq!(kept.row(1), b"1,\"p,q\"");
        assert_eq!(kept.row(2), b"2,r");
        assert_eq!(kept.row(0), b"");
        assert_eq!(kept.row(3), b"");
    }
}
