//! The work on one chunk of rows, done by any worker thread: every identifier
//! cell checked for UTF-8, normalised and counted (rejects listed by row), the
//! MACs of a group of values computed together, and the rows written as CSV text.
//!
//! The rows are read through [`Rows`]: CSV records, or a range of a Parquet or
//! Arrow record batch whose cells are normalised straight from the Arrow arrays.
//! The code is generic over the two, so both give the same bytes.

use std::ops::Range;

use blindmatch_data::dataset::{
    Cell, ColumnCounts, Columns, OutputColumn, RejectTally, Rows, normalize_cell_append,
};
use blindmatch_data::text::write_field;
use blindmatch_token::{DerivedCode, IdType, Profile, Rejection, ShortCoder, Tokenizer};

/// Rows of a chunk handled together: all their identifier cells are normalised,
/// then all their MACs computed at once (independent SHA-256 compressions overlap
/// in the CPU, see `Tokenizer::macs`), then the rows are written.
const GROUP_ROWS: usize = 64;

/// Everything the workers need, shared read-only across threads.
pub(super) struct Plan<'a> {
    pub(super) columns: &'a Columns,
    pub(super) profile: &'a Profile,
    pub(super) current: Option<&'a Tokenizer>,
    pub(super) previous: Option<&'a Tokenizer>,
    pub(super) coder: Option<&'a ShortCoder>,
    /// Per identifier column: whether it gets a short-code column.
    pub(super) coded: &'a [bool],
    /// The identifier columns in output order: (position in the output, index
    /// into `columns.ids`).
    pub(super) id_order: Vec<(usize, usize)>,
    pub(super) delimiter: u8,
    /// The input's name, for messages.
    pub(super) source: &'a str,
    /// Data characters per short code (a collision's hint suggests more).
    pub(super) short_code_len: usize,
}

/// One rejected cell, for the rejects file.
#[derive(Debug, Clone, Copy)]
pub(super) struct RejectRow {
    pub(super) row: u64,
    pub(super) line: u64,
    pub(super) column: usize,
    pub(super) reason: Rejection,
}

/// A worker's output for one chunk of records, reused from batch to batch.
#[derive(Default)]
pub(super) struct ChunkOut {
    /// CSV text of the chunk's rows (every used cell was checked UTF-8, tokens
    /// are ASCII, so it is UTF-8 too).
    pub(super) text: Vec<u8>,
    pub(super) counts: Vec<ColumnCounts>,
    pub(super) tally: RejectTally,
    pub(super) rejects: Vec<RejectRow>,
    pub(super) codes: Vec<(u64, usize, DerivedCode)>,
    pub(super) rows_with_rejects: u64,
    /// The first used cell that is not UTF-8: its line, output position and column.
    pub(super) utf8_error: Option<(u64, usize, OutputColumn)>,
    /// The current group's normalised values, back to back.
    pub(super) values: String,
    /// The current group's identifier cells, row by row in output order.
    pub(super) slots: Vec<Slot>,
    /// MACs of the group's values under `--key` and `--previous-key`.
    pub(super) macs: Vec<[u8; 32]>,
    pub(super) previous_macs: Vec<[u8; 32]>,
}

impl ChunkOut {
    pub(super) fn reset(&mut self, columns: usize) {
        self.text.clear();
        self.counts.clear();
        self.counts.resize(columns, ColumnCounts::default());
        self.tally = RejectTally::new(columns);
        self.rejects.clear();
        self.codes.clear();
        self.rows_with_rejects = 0;
        self.utf8_error = None;
    }

    /// Keeps the first cell in input order that is not UTF-8.
    fn note_utf8_error(&mut self, line: u64, position: usize, column: OutputColumn) {
        match self.utf8_error {
            Some((l, p, _)) if (l, p) <= (line, position) => {}
            _ => self.utf8_error = Some((line, position, column)),
        }
    }
}

/// What became of one identifier cell of a group.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot {
    /// Not UTF-8: reported by the consumer; nothing is written.
    Unreadable,
    /// Empty or rejected: written empty.
    Blank,
    /// Normalised into `ChunkOut::values[start..end]`.
    Value {
        id_type: IdType,
        start: usize,
        end: usize,
    },
}

/// Normalises and tokenises one chunk of rows into `out`, a group of rows at a
/// time.
pub(super) fn process_chunk<R: Rows + ?Sized>(plan: &Plan<'_>, rows: &R, out: &mut ChunkOut) {
    let Some(current) = plan.current else {
        copy_chunk(plan, rows, out);
        return;
    };
    for start in (0..rows.len()).step_by(GROUP_ROWS) {
        let group = start..(start + GROUP_ROWS).min(rows.len());
        normalise_group(plan, rows, group.clone(), out);
        let ChunkOut {
            values,
            slots,
            macs,
            previous_macs,
            ..
        } = &mut *out;
        let inputs = || {
            slots.iter().filter_map(|slot| match *slot {
                Slot::Value {
                    id_type,
                    start,
                    end,
                } => Some((
                    id_type,
                    values.as_bytes().get(start..end).unwrap_or_default(),
                )),
                Slot::Unreadable | Slot::Blank => None,
            })
        };
        macs.clear();
        current.macs(inputs(), macs);
        if let Some(previous) = plan.previous {
            previous_macs.clear();
            previous.macs(inputs(), previous_macs);
        }
        write_group(plan, current, rows, group, out);
    }
}

/// The first pass over a group: checks, normalises and counts every identifier
/// cell; each becomes a [`Slot`], in the order [`write_group`] visits them.
fn normalise_group<R: Rows + ?Sized>(
    plan: &Plan<'_>,
    rows: &R,
    group: Range<usize>,
    out: &mut ChunkOut,
) {
    out.values.clear();
    out.slots.clear();
    for i in group {
        let mut rejected_here = false;
        for &(position, n) in &plan.id_order {
            let Some(id) = plan.columns.ids.get(n) else {
                continue;
            };
            // Each used cell is checked for UTF-8 exactly once: identifier cells
            // here, kept cells in `write_group`.
            let Some(cell) = rows.text(i, id.index) else {
                out.note_utf8_error(rows.line(i), position, OutputColumn::Id(n));
                out.slots.push(Slot::Unreadable);
                continue;
            };
            let start = out.values.len();
            let outcome = normalize_cell_append(plan.profile, id.id_type, cell, &mut out.values);
            if let Some(counts) = out.counts.get_mut(n) {
                counts.add(outcome);
            }
            let slot = match outcome {
                Cell::Value => Slot::Value {
                    id_type: id.id_type,
                    start,
                    end: out.values.len(),
                },
                Cell::Empty => Slot::Blank,
                Cell::Rejected(reason) => {
                    rejected_here = true;
                    out.tally.add(n, reason);
                    out.rejects.push(RejectRow {
                        row: rows.row(i),
                        line: rows.line(i),
                        column: n,
                        reason,
                    });
                    Slot::Blank
                }
            };
            out.slots.push(slot);
        }
        out.rows_with_rejects += u64::from(rejected_here);
    }
}

/// The second pass over a group: writes its rows, tokens from the MACs computed
/// for the group's values.
fn write_group<R: Rows + ?Sized>(
    plan: &Plan<'_>,
    current: &Tokenizer,
    rows: &R,
    group: Range<usize>,
    out: &mut ChunkOut,
) {
    let delimiter = plan.delimiter;
    let mut slots = 0;
    let mut values = 0;
    for i in group {
        let line_start = out.text.len();
        for (position, &column) in plan.columns.output_order.iter().enumerate() {
            if position > 0 {
                out.text.push(delimiter);
            }
            let n = match column {
                OutputColumn::Keep(n) => {
                    let index = plan.columns.keep.get(n).map(|c| c.index);
                    match index.and_then(|index| rows.text(i, index)) {
                        Some(cell) => write_field(&mut out.text, cell.as_bytes(), delimiter),
                        None => out.note_utf8_error(rows.line(i), position, column),
                    }
                    continue;
                }
                OutputColumn::Id(n) => n,
            };
            let slot = out.slots.get(slots).copied().unwrap_or(Slot::Unreadable);
            slots += 1;
            let coded = plan.coded.get(n).copied().unwrap_or(false);
            match slot {
                Slot::Unreadable => {}
                Slot::Blank => {
                    // The companion columns stay empty too.
                    if plan.previous.is_some() {
                        out.text.push(delimiter);
                    }
                    if coded {
                        out.text.push(delimiter);
                    }
                }
                Slot::Value {
                    id_type,
                    start,
                    end,
                } => {
                    if let Some(mac) = out.macs.get(values) {
                        current.write_mac_text(mac, &mut out.text);
                    }
                    if let Some(previous) = plan.previous {
                        out.text.push(delimiter);
                        if let Some(mac) = out.previous_macs.get(values) {
                            previous.write_mac_text(mac, &mut out.text);
                        }
                    }
                    values += 1;
                    if let (true, Some(coder)) = (coded, plan.coder) {
                        let value = out.values.as_bytes().get(start..end).unwrap_or_default();
                        let code = coder.derive(id_type, value);
                        out.text.push(delimiter);
                        out.text.extend_from_slice(code.code().as_str().as_bytes());
                        out.codes.push((rows.row(i), n, code));
                    }
                }
            }
        }
        end_line(&mut out.text, line_start);
    }
}

/// The passthrough baseline: the used cells copied unchanged, with the same
/// checks (UTF-8, quoting) and counts as a tokenised run.
fn copy_chunk<R: Rows + ?Sized>(plan: &Plan<'_>, rows: &R, out: &mut ChunkOut) {
    let delimiter = plan.delimiter;
    for i in 0..rows.len() {
        let line_start = out.text.len();
        for (position, &column) in plan.columns.output_order.iter().enumerate() {
            if position > 0 {
                out.text.push(delimiter);
            }
            let index = match column {
                OutputColumn::Keep(n) => plan.columns.keep.get(n).map(|c| c.index),
                OutputColumn::Id(n) => plan.columns.ids.get(n).map(|c| c.index),
            };
            let Some(cell) = index.and_then(|index| rows.text(i, index)) else {
                out.note_utf8_error(rows.line(i), position, column);
                continue;
            };
            write_field(&mut out.text, cell.as_bytes(), delimiter);
            if let OutputColumn::Id(n) = column
                && let Some(counts) = out.counts.get_mut(n)
            {
                counts.add(if cell.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Value
                });
            }
        }
        end_line(&mut out.text, line_start);
    }
}

/// Ends a row that started at `line_start`.
fn end_line(text: &mut Vec<u8>, line_start: usize) {
    if text.len() == line_start {
        // A one-column row with an empty cell: a blank line would be skipped by
        // CSV readers and shift every later row, so write an explicit "".
        text.extend_from_slice(b"\"\"");
    }
    text.push(b'\n');
}
