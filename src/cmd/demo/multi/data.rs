//! Deterministic partner files for `blindmatch demo --multi`: customers with a mobile
//! number, an e-mail address, and a name with an employer, of which each side holds a
//! different subset per customer, written its own messy ways (phone formats, e-mail
//! case and full-width `＠`, Chinese and Latin names in upper case or full-width
//! letters, company legal forms `有限公司`/`有限责任公司`, brackets, spaces and
//! full-width letters), with duplicate records, empty cells and junk cells the
//! normaliser must reject. As in [`super::super::generate`], the truth is known by
//! construction (which identifiers each row holds, and whose), not by running the
//! normaliser, so the check tests normalisation, rules and matching together.

use crate::cmd::demo::generate::{
    JUNK, Rng, SUFFIX_SPACE, check_common, distinct, messy, national_number,
};

/// The rules, in priority order, with the identifier types of their fields.
pub(crate) const RULES: [&str; 3] = ["phone", "email", "name+company"];

/// E-mail cells a normaliser must refuse.
const EMAIL_JUNK: [&str; 5] = ["n/a", "unknown", "无", "-", "no email"];
/// Company cells a normaliser must refuse (nothing but a legal form, or no letter).
const COMPANY_JUNK: [&str; 4] = ["有限公司", "（）", "Co. Ltd.", "-"];

const FAMILY_ZH: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];
const GIVEN_ZH: [&str; 10] = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋"];
const FAMILY_LATIN: [&str; 8] = [
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao",
];
const GIVEN_LATIN: [&str; 8] = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei"];
const PLACES: [&str; 6] = ["深圳", "上海", "北京", "杭州", "成都", "广州"];
const INDUSTRIES: [&str; 5] = ["科技", "贸易", "物流", "咨询", "食品"];
const DOMAINS: [&str; 4] = [
    "example.com",
    "mail.example.cn",
    "corp.example",
    "example.net",
];

/// What the generator knows about one row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The kept ID column (`B0000001`).
    pub(crate) id: String,
    /// The universe customer the row belongs to.
    pub(crate) customer: u64,
    /// Per rule (as [`RULES`]): whether every field of the rule holds a valid value.
    pub(crate) has: [bool; 3],
}

/// One side's file.
#[derive(Debug, Clone)]
pub(crate) struct Side {
    /// The CSV text.
    pub(crate) csv: String,
    /// Per data row (index = row - 1).
    pub(crate) rows: Vec<Row>,
}

/// How one side's file looks and how often it holds each identifier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Data rows.
    pub(crate) rows: u64,
    /// ID prefix.
    pub(crate) id_prefix: char,
    /// Header: ID, phone, e-mail, name, company and one extra column.
    pub(crate) header: [&'static str; 6],
    /// Values of the extra column.
    pub(crate) extras: &'static [&'static str],
    /// Per rule, in per mille: how often a customer's record holds it.
    pub(crate) holds: [u64; 3],
}

/// Generates both sides: `common` customers on both, the rest on one side only
/// (disjoint ranges), 1% duplicate records per side (another record of a customer,
/// with its own choice of identifiers).
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
    let side_a = one_side(&a, 0, common, common..common + only_a, offset, &mut rng);
    let start_b = common + only_a;
    let side_b = one_side(
        &b,
        1,
        common,
        start_b..start_b + distinct(b.rows) - common,
        offset,
        &mut rng,
    );
    Ok((side_a, side_b))
}

fn one_side(
    layout: &Layout,
    style: usize,
    common: u64,
    own: std::ops::Range<u64>,
    offset: u64,
    rng: &mut Rng,
) -> Side {
    let mut customers: Vec<u64> = (0..common).chain(own).collect();
    let unique = customers.len() as u64;
    while (customers.len() as u64) < layout.rows {
        let pick = customers
            .get(rng.below(unique) as usize)
            .copied()
            .unwrap_or(0);
        customers.push(pick);
    }
    for i in (1..customers.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        customers.swap(i, j);
    }
    let [
        id_col,
        phone_col,
        email_col,
        name_col,
        company_col,
        extra_col,
    ] = layout.header;
    let mut csv =
        format!("{id_col},{phone_col},{email_col},{name_col},{company_col},{extra_col}\n");
    let mut rows = Vec::with_capacity(customers.len());
    for (n, customer) in customers.into_iter().enumerate() {
        let id = format!("{}{:07}", layout.id_prefix, n + 1);
        let has = layout.holds.map(|p| rng.below(1000) < p);
        let [phone, email, name_company] = has;
        let junk = |rng: &mut Rng, list: &[&str]| -> String {
            // 4% of the cells a record does not fill hold junk instead of nothing.
            match rng.below(100) {
                0..4 => list
                    .get(rng.below(list.len() as u64) as usize)
                    .copied()
                    .unwrap_or("")
                    .to_owned(),
                _ => String::new(),
            }
        };
        let phone_cell = match phone {
            true => messy(&national_number(customer, offset), rng),
            false => junk(rng, &JUNK),
        };
        let email_cell = match email {
            true => messy_email(customer, style, rng),
            false => junk(rng, &EMAIL_JUNK),
        };
        let (name_cell, company_cell) = match name_company {
            true => (messy_name(customer, rng), messy_company(customer, rng)),
            // Half a composite is no composite: a name without its company, a company
            // without a name, or a junk company beside a name.
            false => match rng.below(10) {
                0..6 => (String::new(), String::new()),
                6 | 7 => (messy_name(customer, rng), String::new()),
                8 => (messy_name(customer, rng), junk_company(rng)),
                _ => (String::new(), messy_company(customer, rng)),
            },
        };
        let extra = layout
            .extras
            .get(rng.below(layout.extras.len() as u64) as usize)
            .copied()
            .unwrap_or("");
        csv.push_str(&id);
        for cell in [
            &phone_cell,
            &email_cell,
            &name_cell,
            &company_cell,
            &extra.to_owned(),
        ] {
            csv.push(',');
            push_field(&mut csv, cell);
        }
        csv.push('\n');
        rows.push(Row { id, customer, has });
    }
    Side { csv, rows }
}

/// A CSV field, quoted when it has to be.
fn push_field(csv: &mut String, cell: &str) {
    if cell.contains([',', '"', '\n']) {
        csv.push('"');
        csv.push_str(&cell.replace('"', "\"\""));
        csv.push('"');
    } else {
        csv.push_str(cell);
    }
}

fn junk_company(rng: &mut Rng) -> String {
    COMPANY_JUNK
        .get(rng.below(COMPANY_JUNK.len() as u64) as usize)
        .copied()
        .unwrap_or("-")
        .to_owned()
}

fn pick<'a>(list: &[&'a str], i: u64) -> &'a str {
    list.get((i % list.len() as u64) as usize)
        .copied()
        .unwrap_or("")
}

/// ASCII letters, digits and punctuation as their full-width forms (U+FF01…U+FF5E).
fn wide(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Lowercase letters for `i` (injective), so brands and addresses differ per customer.
fn letters(i: u64) -> String {
    let mut s = String::new();
    let mut n = i + 26 * 26;
    while n > 0 {
        s.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    s
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Customer `i`'s address as the bank (`style` 0) or the insurer (1) writes it.
fn messy_email(i: u64, style: usize, rng: &mut Rng) -> String {
    let local = format!(
        "{}.{}{i}",
        pick(&GIVEN_LATIN, i).to_lowercase(),
        pick(&FAMILY_LATIN, i / 8).to_lowercase()
    );
    let domain = pick(&DOMAINS, i / 64);
    match (style, rng.below(4)) {
        (0, 0) | (1, 3) => format!("{local}@{domain}"),
        (0, 1) => format!(" {}@{domain} ", capitalised(&local)),
        (0, _) => format!("{local}@{}", domain.to_uppercase()),
        (_, 0) => format!("{local}@{domain}").to_uppercase(),
        (_, 1) => format!("{local}＠{domain}"),
        _ => wide(&format!("{local}@{domain}")),
    }
}

/// Customer `i`'s name: Chinese for most, Latin for a quarter; written plainly, in
/// upper case, in full-width letters, or with stray blanks.
fn messy_name(i: u64, rng: &mut Rng) -> String {
    let name = match i % 4 {
        0 => format!(
            "{} {}",
            pick(&FAMILY_LATIN, i / 4),
            pick(&GIVEN_LATIN, i / 32)
        ),
        _ => format!("{}{}", pick(&FAMILY_ZH, i / 4), pick(&GIVEN_ZH, i / 48)),
    };
    match rng.below(4) {
        0 => name.to_uppercase(),
        1 => wide(&name),
        2 => format!("  {name} "),
        _ => name,
    }
}

/// Customer `i`'s employer, unique per customer: place, brand and trade, with the
/// legal form written `有限公司` or `有限责任公司`, the place in brackets, blanks,
/// or full-width letters.
fn messy_company(i: u64, rng: &mut Rng) -> String {
    let (place, brand, trade) = (
        pick(&PLACES, i),
        capitalised(&letters(i)),
        pick(&INDUSTRIES, i / 6),
    );
    match rng.below(5) {
        0 => format!("{place}{brand}{trade}有限公司"),
        1 => format!("{place}{brand}{trade}有限责任公司"),
        2 => format!("（{place}）{brand}{trade}有限公司"),
        3 => format!("{place}{}{trade}有限责任公司", wide(&brand.to_uppercase())),
        _ => format!("{place} {} {trade} 有限公司", brand.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::{HashMap, HashSet};

    use blindmatch_token::{IdType, Profile};

    use super::*;

    fn layout(rows: u64, id_prefix: char) -> Layout {
        Layout {
            rows,
            id_prefix,
            header: ["id", "p", "e", "n", "c", "x"],
            extras: &["a"],
            holds: [700, 600, 550],
        }
    }

    /// Every written form normalises to the customer's one value, distinct across
    /// customers; every junk cell is rejected; rows the truth says lack a rule lack a
    /// usable value for one of its fields.
    #[test]
    fn cells_normalise_exactly_as_the_truth_says() {
        let p = Profile::standard();
        let (a, b) = generate(layout(3000, 'A'), layout(2000, 'B'), 700, 9).unwrap();
        let types = [IdType::Phone, IdType::Email, IdType::Name, IdType::Company];
        // (type index, normalised value) → customer
        let mut owner: HashMap<(usize, String), u64> = HashMap::new();
        for side in [&a, &b] {
            assert_eq!(side.csv.lines().count(), side.rows.len() + 1);
            for (line, row) in side.csv.lines().skip(1).zip(&side.rows) {
                let cells: Vec<&str> = line.split(',').skip(1).take(4).collect();
                let norm: Vec<Option<String>> = cells
                    .iter()
                    .zip(types)
                    .map(|(c, t)| p.normalize(t, c).ok())
                    .collect();
                let usable = [
                    norm[0].is_some(),
                    norm[1].is_some(),
                    norm[2].is_some() && norm[3].is_some(),
                ];
                assert_eq!(usable, row.has, "{line}");
                for (t, v) in norm.iter().enumerate() {
                    // Names are not unique; everything else identifies its customer.
                    if let (Some(v), true) = (v, t != 2) {
                        let o = owner.entry((t, v.clone())).or_insert(row.customer);
                        assert_eq!(*o, row.customer, "{line}");
                    }
                }
            }
        }
        // Every rule is exercised on the shared customers, on both sides.
        for r in 0..3 {
            let with = |s: &Side| -> HashSet<u64> {
                s.rows
                    .iter()
                    .filter(|row| row.has[r] && row.customer < 700)
                    .map(|row| row.customer)
                    .collect()
            };
            assert!(with(&a).intersection(&with(&b)).count() > 100, "rule {r}");
        }
        let x = generate(layout(300, 'A'), layout(200, 'B'), 70, 1).unwrap();
        assert_eq!(
            x.0.csv,
            generate(layout(300, 'A'), layout(200, 'B'), 70, 1)
                .unwrap()
                .0
                .csv
        );
        assert!(generate(layout(100, 'A'), layout(100, 'B'), 100, 1).is_err());
    }
}
