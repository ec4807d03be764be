//! Normalising one cell and counting what became of a column's cells: a value,
//! empty (never a rejection: blank is not wrong), or rejected with a reason.

use blindmatch_token::{IdType, Profile, Rejection};

use crate::error::{Error, Result};

/// What normalising one cell gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The cell is empty (or blank): it stays empty and is never tokenised.
    Empty,
    /// The normalised value is in the caller's buffer.
    Value,
    /// The normaliser refused the value.
    Rejected(Rejection),
}

/// Normalises one cell into `out`. An empty cell, or one the normaliser finds empty
/// after trimming, is [`Cell::Empty`], not a rejection: blank is not wrong.
pub fn normalize_cell(profile: &Profile, id_type: IdType, cell: &str, out: &mut String) -> Cell {
    if cell.is_empty() {
        out.clear();
        return Cell::Empty;
    }
    match profile.normalize_into(id_type, cell, out) {
        Ok(()) => Cell::Value,
        Err(Rejection::Empty) => Cell::Empty,
        Err(reason) => Cell::Rejected(reason),
    }
}

/// As [`normalize_cell`], but appends the value to what `out` holds (many values
/// can share one buffer); on anything but [`Cell::Value`] `out` is left as it was.
pub fn normalize_cell_append(
    profile: &Profile,
    id_type: IdType,
    cell: &str,
    out: &mut String,
) -> Cell {
    if cell.is_empty() {
        return Cell::Empty;
    }
    let start = out.len();
    let outcome = match profile.normalize_append(id_type, cell, out) {
        Ok(()) => return Cell::Value,
        Err(Rejection::Empty) => Cell::Empty,
        Err(reason) => Cell::Rejected(reason),
    };
    out.truncate(start);
    outcome
}

/// What became of one identifier column's cells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColumnCounts {
    /// Cells normalised (and tokenised or matched).
    pub values: u64,
    /// Empty cells.
    pub empty: u64,
    /// Cells rejected by the normaliser.
    pub rejected: u64,
}

impl ColumnCounts {
    /// Counts one outcome.
    pub fn add(&mut self, cell: Cell) {
        match cell {
            Cell::Empty => self.empty += 1,
            Cell::Value => self.values += 1,
            Cell::Rejected(_) => self.rejected += 1,
        }
    }

    /// Adds another column count into this one.
    pub fn merge(&mut self, other: &ColumnCounts) {
        self.values += other.values;
        self.empty += other.empty;
        self.rejected += other.rejected;
    }

    /// Rejected share of the non-empty cells (0 when there are none).
    pub fn reject_rate(&self) -> f64 {
        let non_empty = self.values + self.rejected;
        if non_empty == 0 {
            0.0
        } else {
            self.rejected as f64 / non_empty as f64
        }
    }
}

/// Parses a rate given as a fraction (`0.05`) or a percentage (`5%`).
///
/// # Errors
/// Not a number, or outside 0..=1 (0%..=100%) (bad input; the message is the
/// whole explanation, as a command-line value parser shows it).
pub fn parse_rate(arg: &str) -> Result<f64> {
    let (number, scale) = match arg.trim().strip_suffix('%') {
        Some(pct) => (pct, 100.0),
        None => (arg.trim(), 1.0),
    };
    let rate = number
        .trim()
        .parse::<f64>()
        .map_err(|_| Error::bad_input(format!("'{arg}' is not a rate; use e.g. 0.05 or 5%")))?
        / scale;
    if !(0.0..=1.0).contains(&rate) {
        return Err(Error::bad_input(format!(
            "'{arg}' is outside 0 to 1 (0% to 100%)"
        )));
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cells_empty_value_rejected() {
        let p = Profile::standard();
        let mut out = String::new();
        assert_eq!(normalize_cell(&p, IdType::Phone, "", &mut out), Cell::Empty);
        assert_eq!(
            normalize_cell(&p, IdType::Phone, "   ", &mut out),
            Cell::Empty
        );
        assert_eq!(
            normalize_cell(&p, IdType::Phone, "+86 138 1234 5678", &mut out),
            Cell::Value
        );
        assert_eq!(out, "+8613812345678");
        assert!(matches!(
            normalize_cell(&p, IdType::Phone, "12", &mut out),
            Cell::Rejected(_)
        ));
        let mut counts = ColumnCounts::default();
        for cell in [
            Cell::Empty,
            Cell::Value,
            Cell::Value,
            Cell::Rejected(Rejection::TooShort),
        ] {
            counts.add(cell);
        }
        assert_eq!((counts.values, counts.empty, counts.rejected), (2, 1, 1));
        assert!((counts.reject_rate() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(ColumnCounts::default().reject_rate(), 0.0);
    }

    #[test]
    fn appended_cells_leave_the_buffer_alone_unless_they_are_values() {
        let profile = Profile::standard();
        let mut out = String::from("kept|");
        for (cell, want) in [
            ("", Cell::Empty),
            ("   ", Cell::Empty),
            ("not a number", Cell::Rejected(Rejection::InvalidCharacter)),
        ] {
            assert_eq!(
                normalize_cell_append(&profile, IdType::Phone, cell, &mut out),
                want
            );
            assert_eq!(out, "kept|");
        }
        let cell = "138 1234 5678";
        assert_eq!(
            normalize_cell_append(&profile, IdType::Phone, cell, &mut out),
            Cell::Value
        );
        assert_eq!(out, "kept|+8613812345678");
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0.05").ok(), Some(0.05));
        assert_eq!(parse_rate("5%").ok(), Some(0.05));
        assert_eq!(parse_rate("0").ok(), Some(0.0));
        assert!(parse_rate("150%").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert!(parse_rate("lots").is_err());
    }
}
