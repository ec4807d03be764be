//! Deterministic made-up partner datasets for `blindmatch demo`: two customer files
//! that share a known set of customers, with mobile numbers written the many ways
//! real exports write them (`+86`, `0086`, `86`, spaces, dashes, dots, brackets,
//! `tel:`, full-width digits, stray blanks), some duplicate records, empty cells and
//! values the normaliser must reject. The ground truth is known by construction, not
//! by running the normaliser, so the demo checks normalisation and matching alike.

/// SplitMix64: tiny, fast and reproducible; statistical quality is irrelevant here.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Allocated Chinese mainland mobile prefixes (a subset of the normaliser's table).
const PREFIXES: [u16; 24] = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    180, 181, 186, 187, 189,
];

/// Odd and not a multiple of 5, so `k ↦ k·M + c mod 10^8` is a bijection.
const SUFFIX_MULTIPLIER: u64 = 7_919_933;
pub(crate) const SUFFIX_SPACE: u64 = 100_000_000;

/// Values a normaliser must refuse (never matched, never sent).
pub(crate) const JUNK: [&str; 6] = ["n/a", "unknown", "无", "-", "000", "tel: ask branch"];

/// The canonical 11 digits of universe customer `index` (distinct for distinct
/// indices below 2.4 billion).
pub(crate) fn national_number(index: u64, offset: u64) -> String {
    let prefix = PREFIXES
        .get((index % PREFIXES.len() as u64) as usize)
        .copied()
        .unwrap_or(138);
    let k = index / PREFIXES.len() as u64;
    let suffix = (k.wrapping_mul(SUFFIX_MULTIPLIER).wrapping_add(offset)) % SUFFIX_SPACE;
    format!("{prefix}{suffix:08}")
}

/// `d` as full-width digits (U+FF10…U+FF19), other characters unchanged.
pub(crate) fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0xFF10 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// One of the ways a CRM writes the mobile number `n` (11 digits).
pub(crate) fn messy(n: &str, rng: &mut Rng) -> String {
    let (a, rest) = n.split_at(3);
    let (b, c) = rest.split_at(4);
    match rng.below(16) {
        0 | 1 => n.to_owned(),
        2 => format!("+86 {a} {b} {c}"),
        3 => format!("+86-{a}-{b}-{c}"),
        4 => format!("0086 {n}"),
        5 => format!("0086-{a}-{b}-{c}"),
        6 => format!("86 {n}"),
        7 => format!("{a} {b} {c}"),
        8 => format!("{a}-{b}-{c}"),
        9 => format!("(+86) {a}.{b}.{c}"),
        10 => full_width(n),
        11 => full_width(&format!("+86 {a} {b} {c}")),
        12 => format!("tel:+86-{n}"),
        13 => format!("  {n} "),
        14 => format!("+86({a}){b}-{c}"),
        _ => format!("+86{n}"),
    }
}

/// What the generator knows about one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Truth {
    /// A valid number of universe customer `index`.
    Phone(u64),
    /// An empty cell.
    Empty,
    /// A value the normaliser must reject.
    Junk,
}

/// One side's file.
#[derive(Debug, Clone)]
pub(crate) struct Side {
    /// The CSV text.
    pub(crate) csv: String,
    /// Per data row (index = row - 1): the customer ID and what the phone cell holds.
    pub(crate) rows: Vec<(String, Truth)>,
}

impl Side {
    /// Rows whose number belongs to a shared customer (`index < common`).
    pub(crate) fn expected_rows(&self, common: u64) -> Vec<u64> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, (_, t))| matches!(t, Truth::Phone(i) if *i < common))
            .map(|(n, _)| n as u64 + 1)
            .collect()
    }
}

/// How one side's file looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Data rows.
    pub(crate) rows: u64,
    /// ID prefix, e.g. `B` for `B0000001`.
    pub(crate) id_prefix: char,
    /// Header: ID column, phone column, and one extra column.
    pub(crate) header: [&'static str; 3],
    /// Values of the extra column.
    pub(crate) extras: &'static [&'static str],
}

/// Distinct customers of a side of `rows` rows: 1% of rows are duplicates.
pub(crate) fn distinct(rows: u64) -> u64 {
    rows - rows / 100
}

/// Refuses sizes where `common` exceeds a side's distinct customers.
///
/// # Errors
/// The message names the rows, the most distinct customers they hold and `--common`.
pub(crate) fn check_common(rows: [u64; 2], common: u64) -> Result<(), String> {
    for rows in rows {
        if distinct(rows) < common.max(1) {
            return Err(format!(
                "{rows} rows hold at most {} distinct customers, fewer than --common {common}",
                distinct(rows)
            ));
        }
    }
    Ok(())
}

/// Generates both sides: `common` customers on both; the rest only on one side,
/// from disjoint ranges of the universe, so exactly `common` distinct numbers are
/// shared. 1% of each side's rows re-use another row's customer (duplicates), and of
/// the one-sided customers about 1% have an empty and 0.5% a junk phone cell.
///
/// # Errors
/// Sizes that do not fit (`common` larger than a side's distinct customers).
pub(crate) fn generate(
    a: Layout,
    b: Layout,
    common: u64,
    seed: u64,
) -> Result<(Side, Side), String> {
    check_common([a.rows, b.rows], common)?;
    let mut rng = Rng::new(seed);
    let offset = rng.below(SUFFIX_SPACE);
    let only_a = distinct(a.rows) - common;
    let side_a = one_side(&a, common, common, only_a, offset, &mut rng);
    let side_b = one_side(
        &b,
        common,
        common + only_a,
        distinct(b.rows) - common,
        offset,
        &mut rng,
    );
    Ok((side_a, side_b))
}

fn one_side(
    layout: &Layout,
    common: u64,
    own_start: u64,
    own_count: u64,
    offset: u64,
    rng: &mut Rng,
) -> Side {
    let mut entries: Vec<Truth> = Vec::with_capacity(layout.rows as usize);
    entries.extend((0..common).map(Truth::Phone));
    for i in own_start..own_start + own_count {
        entries.push(match rng.below(1000) {
            0..10 => Truth::Empty,
            10..15 => Truth::Junk,
            _ => Truth::Phone(i),
        });
    }
    let unique = entries.len() as u64;
    while (entries.len() as u64) < layout.rows {
        // A duplicate record of a customer with a valid number.
        let mut pick = Truth::Phone(0);
        for _ in 0..16 {
            if let Some(&Truth::Phone(i)) = entries.get(rng.below(unique) as usize) {
                pick = Truth::Phone(i);
                break;
            }
        }
        entries.push(pick);
    }
    // Fisher–Yates, so shared customers are spread through the file.
    for i in (1..entries.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        entries.swap(i, j);
    }

    let [id_col, phone_col, extra_col] = layout.header;
    let mut csv = String::with_capacity(entries.len() * 48);
    csv.push_str(&format!("{id_col},{phone_col},{extra_col}\n"));
    let mut rows = Vec::with_capacity(entries.len());
    for (n, truth) in entries.into_iter().enumerate() {
        let id = format!("{}{:07}", layout.id_prefix, n + 1);
        let phone = match truth {
            Truth::Phone(i) => messy(&national_number(i, offset), rng),
            Truth::Empty => String::new(),
            Truth::Junk => match JUNK.get(rng.below(JUNK.len() as u64 + 1) as usize) {
                Some(j) => (*j).to_owned(),
                // A number with a digit missing: too short.
                None => national_number(rng.below(1 << 30), offset)
                    .get(..10)
                    .unwrap_or_default()
                    .to_owned(),
            },
        };
        let extra = layout
            .extras
            .get(rng.below(layout.extras.len() as u64) as usize)
            .copied()
            .unwrap_or("");
        csv.push_str(&id);
        csv.push(',');
        if phone.contains([',', '"']) {
            csv.push('"');
            csv.push_str(&phone.replace('"', "\"\""));
            csv.push('"');
        } else {
            csv.push_str(&phone);
        }
        csv.push(',');
        csv.push_str(extra);
        csv.push('\n');
        rows.push((id, truth));
    }
    Side { csv, rows }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashSet;

    use blindmatch_token::{IdType, Profile};

    use super::*;

    fn layout(rows: u64, id_prefix: char) -> Layout {
        Layout {
            rows,
            id_prefix,
            header: ["id", "phone", "x"],
            extras: &["a", "b"],
        }
    }

    #[test]
    fn numbers_are_distinct_and_messy_forms_normalise_to_them() {
        let p = Profile::standard();
        let mut seen = HashSet::new();
        let mut rng = Rng::new(7);
        for i in 0..5000 {
            let n = national_number(i, 12345);
            assert!(seen.insert(n.clone()));
            let canonical = format!("+86{n}");
            for _ in 0..3 {
                let m = messy(&n, &mut rng);
                assert_eq!(p.normalize(IdType::Phone, &m).unwrap(), canonical, "{m:?}");
            }
        }
    }

    #[test]
    fn sides_share_exactly_the_common_customers() {
        let p = Profile::standard();
        let (a, b) = generate(layout(3000, 'A'), layout(2000, 'B'), 700, 42).unwrap();
        let norm = |side: &Side| -> HashSet<String> {
            side.csv
                .lines()
                .skip(1)
                .filter_map(|l| {
                    let cell = l.split(',').nth(1).unwrap();
                    p.normalize(IdType::Phone, cell).ok()
                })
                .collect()
        };
        let (na, nb) = (norm(&a), norm(&b));
        assert_eq!(na.intersection(&nb).count(), 700);
        assert_eq!(a.rows.len(), 3000);
        assert_eq!(b.rows.len(), 2000);
        // Every row the truth calls junk is rejected; every phone row normalises.
        for side in [&a, &b] {
            for (line, (_, truth)) in side.csv.lines().skip(1).zip(&side.rows) {
                let cell = line.split(',').nth(1).unwrap();
                match truth {
                    Truth::Phone(_) => assert!(p.normalize(IdType::Phone, cell).is_ok(), "{cell}"),
                    Truth::Junk => assert!(p.normalize(IdType::Phone, cell).is_err(), "{cell}"),
                    Truth::Empty => assert!(cell.is_empty()),
                }
            }
        }
        assert!(a.expected_rows(700).len() >= 700);
    }

    #[test]
    fn output_is_deterministic() {
        let x = generate(layout(500, 'A'), layout(400, 'B'), 100, 1).unwrap();
        let y = generate(layout(500, 'A'), layout(400, 'B'), 100, 1).unwrap();
        assert_eq!(x.0.csv, y.0.csv);
        assert_eq!(x.1.csv, y.1.csv);
        let z = generate(layout(500, 'A'), layout(400, 'B'), 100, 2).unwrap();
        assert_ne!(x.0.csv, z.0.csv);
        assert!(generate(layout(100, 'A'), layout(100, 'B'), 100, 1).is_err());
    }
}
