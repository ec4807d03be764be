//! Reading the sources into memory: every data row becomes a record, numbered in
//! canonical order (sources by name, then rows), with the normalised value of each
//! field stored once per distinct value (interned to a `u32`), and the dates of
//! `recent:` survivorship columns.
//!
//! Memory per record is a few `u32`s (one per field, plus one `i64` per date
//! column); each distinct normalised value is kept once.

use std::collections::HashMap;
use std::path::PathBuf;

use blindmatch_data::dataset::{
    Cell, ColumnCounts, Columns, DatasetReader, Format, Record, normalize_cell,
};
use blindmatch_data::{Error, Observer, Result};
use blindmatch_token::{IdType, Rejection};
use time::format_description::well_known::Iso8601;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::config::{Policy, ResolveConfig, SourceSpec};

/// "No value" in a value column.
pub(crate) const NONE: u32 = u32::MAX;

/// "No date" in a date column: older than every date.
pub(crate) const NO_DATE: i64 = i64::MIN;

/// The most records one run holds (record indices are `u32`, one value is `NONE`).
pub(crate) const MAX_RECORDS: u64 = (u32::MAX - 1) as u64;

/// One identifier column of a source, after reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnLoad {
    /// The header name.
    pub column: String,
    /// The field it fills.
    pub field: IdType,
    /// Values, empty and rejected cells.
    pub counts: ColumnCounts,
    /// Rejected cells by reason, in a stable order.
    pub rejects: Vec<(Rejection, u64)>,
}

/// One source, after reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLoad {
    /// The source name.
    pub name: String,
    /// The input as messages name it (path or `<stdin>`).
    pub input: String,
    /// The path, or `-`.
    pub path: PathBuf,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// The table format read.
    pub format: Format,
    /// Data rows (= records).
    pub rows: u64,
    /// Index of its first record.
    pub(crate) offset: u32,
    /// Its identifier columns, in `--column` order.
    pub columns: Vec<ColumnLoad>,
}

/// Every record of every source, in canonical order.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Sources sorted by name; records `offset..offset + rows` are theirs.
    pub sources: Vec<SourceLoad>,
    /// The stored fields, in [`IdType::ALL`] order.
    pub fields: Vec<IdType>,
    /// Per field, per record: the value's index in `dict`, or [`NONE`].
    pub values: Vec<Vec<u32>>,
    /// Per field: the distinct normalised values.
    pub dict: Vec<Vec<Box<str>>>,
    /// Per `recent:` column name: per record, the date in microseconds since
    /// 1970 UTC, or [`NO_DATE`].
    pub dates: Vec<(String, Vec<i64>)>,
    /// Total records.
    pub records: u32,
}

impl Loaded {
    /// The source a record belongs to, and its 1-based row.
    pub(crate) fn locate(&self, record: u32) -> (&SourceLoad, u64) {
        let source = &self.sources[self.source_index(record)];
        (source, u64::from(record - source.offset) + 1)
    }

    /// Index of the source a record belongs to.
    pub(crate) fn source_index(&self, record: u32) -> usize {
        self.sources
            .partition_point(|s| s.offset <= record)
            .saturating_sub(1)
    }

    /// The position of `field` among the stored fields.
    pub(crate) fn field_index(&self, field: IdType) -> Option<usize> {
        self.fields.iter().position(|f| *f == field)
    }
}

/// The date columns each field's survivorship needs (distinct names, sorted).
fn date_columns(config: &ResolveConfig) -> Vec<String> {
    let mut columns: Vec<String> = config
        .fields()
        .into_iter()
        .filter_map(|f| match config.survivorship.policy(f) {
            Policy::Recent(column) => Some(column.clone()),
            _ => None,
        })
        .collect();
    columns.sort();
    columns.dedup();
    columns
}

/// Reads every source. Sources are read in name order, so record numbers, value
/// numbers and everything built from them never depend on the order of `--input`.
///
/// # Errors
/// A file cannot be read or is malformed, a mapped or date column is missing from
/// a header, a date does not parse, or there are more records than fit (bad input).
pub(crate) fn load(config: &ResolveConfig, observer: &dyn Observer) -> Result<Loaded> {
    let mut specs: Vec<&SourceSpec> = config.sources.iter().collect();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    let fields = config.fields();
    let date_names = date_columns(config);
    let mut loaded = Loaded {
        values: vec![Vec::new(); fields.len()],
        dict: vec![Vec::new(); fields.len()],
        dates: date_names.iter().map(|n| (n.clone(), Vec::new())).collect(),
        fields,
        ..Loaded::default()
    };
    let mut interners: Vec<HashMap<Box<str>, u32>> = vec![HashMap::new(); loaded.fields.len()];

    let mut readers = Vec::with_capacity(specs.len());
    let mut total = Some(0u64);
    for spec in &specs {
        let format = Format::of_input(&spec.input, spec.format);
        let reader = DatasetReader::open(&spec.input, format, spec.delimiter)?;
        total = total.zip(reader.size()).map(|(a, b)| a + b);
        readers.push(reader);
    }
    observer.progress_start("resolve", total);
    let mut done_before = 0u64;
    let result = (|| {
        for (spec, reader) in specs.iter().zip(readers) {
            let source = load_source(
                spec,
                reader,
                config,
                &date_names,
                &mut loaded,
                &mut interners,
                observer,
                done_before,
            )?;
            done_before += source.bytes;
            loaded.sources.push(source);
        }
        Ok(())
    })();
    observer.progress_end();
    result?;
    for (field, interner) in interners.into_iter().enumerate() {
        let mut dict: Vec<Box<str>> = vec![Box::from(""); interner.len()];
        for (value, id) in interner {
            dict[id as usize] = value;
        }
        loaded.dict[field] = dict;
    }
    Ok(loaded)
}

/// Reads one source, appending its records.
#[allow(clippy::too_many_arguments)]
fn load_source(
    spec: &SourceSpec,
    mut reader: DatasetReader,
    config: &ResolveConfig,
    date_names: &[String],
    loaded: &mut Loaded,
    interners: &mut [HashMap<Box<str>, u32>],
    observer: &dyn Observer,
    done_before: u64,
) -> Result<SourceLoad> {
    let input = reader.name().to_owned();
    // Date columns this source must have: those of the fields it maps.
    let needed_dates: Vec<String> = date_names
        .iter()
        .filter(|name| {
            spec.columns.iter().any(|c| {
                matches!(config.survivorship.policy(c.id_type), Policy::Recent(n) if n == *name)
            })
        })
        .cloned()
        .collect();
    for name in &needed_dates {
        if !reader.header().iter().any(|h| h == name) {
            return Err(Error::bad_input(format!(
                "column '{name}' (--prefer recent:{name}) is not in the header of '{input}'"
            ))
            .hint("every source that maps a field with a recent: policy needs that date column; use FIELD=POLICY to choose per field"));
        }
    }
    let columns = Columns::resolve(reader.header(), &spec.columns, &needed_dates, &input)?;
    reader.check_text_columns(columns.used_indices());
    reader.use_columns(&columns)?;
    // Per column: where its values go.
    let slots: Vec<usize> = columns
        .ids
        .iter()
        .map(|c| loaded.field_index(c.id_type).unwrap_or(usize::MAX))
        .collect();
    let date_slots: Vec<(usize, usize)> = columns
        .keep
        .iter()
        .filter_map(|k| {
            date_names
                .iter()
                .position(|n| *n == k.name)
                .map(|slot| (k.index, slot))
        })
        .collect();
    let mut counts = vec![ColumnCounts::default(); columns.ids.len()];
    let mut rejects: Vec<std::collections::BTreeMap<Rejection, u64>> =
        vec![Default::default(); columns.ids.len()];
    let offset = loaded.records;
    let mut record = Record::default();
    let mut buf = String::new();
    let mut count: u64 = 0;
    while reader.read(&mut record)? {
        count += 1;
        if u64::from(offset) + count > MAX_RECORDS {
            return Err(Error::bad_input(format!(
                "more than {MAX_RECORDS} records in all; '{input}' line {} is past the limit",
                record.line()
            ))
            .hint("resolve the sources in smaller groups"));
        }
        if count.is_multiple_of(8192) {
            observer.progress(done_before + reader.bytes_read());
        }
        for field_values in &mut loaded.values {
            field_values.push(NONE);
        }
        let here = (u64::from(offset) + count - 1) as usize;
        for (n, column) in columns.ids.iter().enumerate() {
            let cell = normalize_cell(
                &config.profile,
                column.id_type,
                record.text(column.index),
                &mut buf,
            );
            counts[n].add(cell);
            match cell {
                Cell::Value => {
                    let slot = slots[n];
                    let interner = &mut interners[slot];
                    let id = match interner.get(buf.as_str()) {
                        Some(id) => *id,
                        None => {
                            let id = u32::try_from(interner.len()).unwrap_or(NONE);
                            interner.insert(Box::from(buf.as_str()), id);
                            id
                        }
                    };
                    loaded.values[slot][here] = id;
                }
                Cell::Rejected(reason) => *rejects[n].entry(reason).or_default() += 1,
                Cell::Empty => {}
            }
        }
        for (slot, (_, dates)) in loaded.dates.iter_mut().enumerate() {
            let date = match date_slots.iter().find(|(_, s)| *s == slot) {
                Some((index, _)) => {
                    let text = record.text(*index).trim();
                    if text.is_empty() {
                        NO_DATE
                    } else {
                        parse_date(text).ok_or_else(|| {
                            Error::bad_input(format!(
                                "'{input}' line {}, column '{}': not an ISO-8601 date or date-time",
                                record.line(),
                                date_names[slot]
                            ))
                            .hint("write dates as 2024-05-31, 2024-05-31T08:30:00 or 2024-05-31T08:30:00+08:00")
                        })?
                    }
                }
                None => NO_DATE,
            };
            dates.push(date);
        }
    }
    let summary = reader.finish()?;
    loaded.records = offset + u32::try_from(count).unwrap_or(NONE);
    Ok(SourceLoad {
        name: spec.name.clone(),
        input,
        path: spec.input.display_path(),
        sha256: summary.sha256,
        bytes: summary.bytes,
        format: summary.format,
        rows: summary.rows,
        offset,
        columns: columns
            .ids
            .iter()
            .zip(counts)
            .zip(rejects)
            .map(|((c, counts), rejects)| ColumnLoad {
                column: c.name.clone(),
                field: c.id_type,
                counts,
                rejects: rejects.into_iter().collect(),
            })
            .collect(),
    })
}

/// Parses an ISO-8601 date (`2024-05-31`, midnight UTC), or date-time with `T` or
/// a space, optional seconds and fraction, and `Z` or an offset (none: UTC), to
/// microseconds since 1970 UTC.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let mut owned;
    let mut text = text;
    if text.len() > 10 && text.as_bytes().get(10) == Some(&b' ') {
        owned = text.to_owned();
        owned.replace_range(10..11, "T");
        text = owned.as_str();
    }
    let moment = if let Ok(t) = OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
        t
    } else if let Ok(t) = PrimitiveDateTime::parse(text, &Iso8601::DEFAULT) {
        t.assume_utc()
    } else {
        Date::parse(text, &Iso8601::DEFAULT)
            .ok()?
            .midnight()
            .assume_utc()
    };
    i64::try_from(moment.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_iso_8601_forms() {
        let day = parse_date("2024-05-31");
        assert_eq!(day, Some(1_717_113_600_000_000));
        assert_eq!(parse_date("2024-05-31T00:00:00Z"), day);
        assert_eq!(parse_date("2024-05-31 00:00:00"), day);
        assert_eq!(parse_date("2024-05-31T08:00:00+08:00"), day);
        assert_eq!(
            parse_date("2024-05-31T00:00:00.5Z"),
            day.map(|d| d + 500_000)
        );
        assert!(parse_date("2024-05-31T08:30").is_some());
        assert_eq!(parse_date("31/05/2024"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}
