//! Generates a synthetic customer CSV for benchmarks and demos: `customer_id`,
//! `phone`, `email`, `segment`, with phone numbers and e-mail addresses written
//! the many messy ways real CRM exports write them (spaces, dashes, `+86`/`0086`
//! prefixes, `tel:`, full-width digits, mixed case, stray whitespace), about 1% of
//! values that must be rejected and 2% empty cells.
//!
//! ```sh
//! cargo run --release --example gen_customers -- 1000000 > customers.csv
//! cargo run --release --example gen_customers -- 1000000 --seed 7 -o customers.csv
//! cargo run --release --example gen_customers -- 1000000 -o customers.parquet
//! ```
//!
//! Output is deterministic for a given row count and seed. A name ending in
//! `.parquet` gets the same rows as a Snappy-compressed Parquet file of string
//! columns (an empty cell is a null), in row groups of 128 Ki rows, for the
//! Parquet-against-CSV benchmark. All data is made up.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// SplitMix64: tiny, fast and reproducible; quality is irrelevant for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items
            .get(self.below(items.len() as u64) as usize)
            .copied()
            .unwrap_or("")
    }
}

/// Mobile prefixes allocated in mainland China (a safe subset).
const PREFIXES: [&str; 24] = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "180", "181", "186", "187", "189",
];

const DOMAINS: [&str; 8] = [
    "qq.com",
    "163.com",
    "126.com",
    "gmail.com",
    "outlook.com",
    "example.cn",
    "Sina.COM",
    "corp.example.com",
];

const FIRST: [&str; 10] = [
    "wei",
    "fang",
    "li.na",
    "zhang.min",
    "john",
    "Mary",
    "chen_jing",
    "wang",
    "Liu.Yang",
    "xiaoming",
];

const SEGMENTS: [&str; 4] = ["retail", "sme", "vip", "dormant"];

fn full_width(digits: &str) -> String {
    digits
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0xFF10 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

fn phone(rng: &mut Rng, out: &mut String) {
    out.clear();
    let prefix = rng.pick(&PREFIXES);
    let rest = format!("{:08}", rng.below(100_000_000));
    let (a, b) = rest.split_at(4);
    let n = format!("{prefix}{rest}");
    match rng.below(100) {
        0..=1 => out.push_str(&format!("{}", rng.below(1_000_000))), // too short: rejected
        2..=3 => {}                                                  // empty cell
        4..=24 => out.push_str(&n),
        25..=39 => out.push_str(&format!("+86 {prefix} {a} {b}")),
        40..=49 => out.push_str(&format!("0086-{prefix}-{a}-{b}")),
        50..=59 => out.push_str(&format!("{prefix}-{a}-{b}")),
        60..=66 => out.push_str(&format!("(+86) {prefix}.{a}.{b}")),
        67..=74 => out.push_str(&format!("86{n}")),
        75..=81 => out.push_str(&format!("tel:+86{n}")),
        82..=89 => out.push_str(&full_width(&n)),
        _ => out.push_str(&format!(" +86 {n} ")),
    }
}

fn email(rng: &mut Rng, id: u64, out: &mut String) {
    out.clear();
    let user = rng.pick(&FIRST);
    let domain = rng.pick(&DOMAINS);
    match rng.below(100) {
        0 => out.push_str("not-an-address"), // rejected
        1 => {}                              // empty cell
        2..=59 => out.push_str(&format!("{user}{id}@{domain}")),
        60..=79 => out.push_str(&format!(
            "{}{id}@{}",
            user.to_uppercase(),
            domain.to_uppercase()
        )),
        80..=89 => out.push_str(&format!("  {user}+shop{id}@{domain} ")),
        _ => out.push_str(&format!("{user}.{id}@{domain}")),
    }
}

fn main() -> ExitCode {
    let mut rows: u64 = 1_000_000;
    let mut seed: u64 = 1;
    let mut out_path: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => return usage(),
            },
            "-o" | "--output" => out_path = args.next(),
            _ => match arg.parse() {
                Ok(n) => rows = n,
                Err(_) => return usage(),
            },
        }
    }
    let result = match &out_path {
        Some(path) if path.ends_with(".parquet") => {
            File::create(path).and_then(|f| generate_parquet(rows, seed, f))
        }
        Some(path) => File::create(path).and_then(|f| generate(rows, seed, f)),
        None => generate(rows, seed, io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: gen_customers [ROWS] [--seed N] [-o FILE]");
    ExitCode::from(2)
}

fn generate(rows: u64, seed: u64, out: impl Write) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut rng = Rng(seed);
    let (mut p, mut e) = (String::new(), String::new());
    writeln!(out, "customer_id,phone,email,segment")?;
    for id in 1..=rows {
        phone(&mut rng, &mut p);
        email(&mut rng, id, &mut e);
        let segment = rng.pick(&SEGMENTS);
        writeln!(out, "C{id:08},{p},{e},{segment}")?;
    }
    out.flush()
}

/// The rows of [`generate`] as Parquet.
fn generate_parquet(rows: u64, seed: u64, out: File) -> io::Result<()> {
    const GROUP: u64 = 128 * 1024;
    let schema = Arc::new(Schema::new(
        ["customer_id", "phone", "email", "segment"]
            .map(|name| Field::new(name, DataType::Utf8, true))
            .to_vec(),
    ));
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(GROUP as usize))
        .build();
    let mut writer =
        ArrowWriter::try_new(out, schema.clone(), Some(properties)).map_err(io::Error::other)?;
    let mut rng = Rng(seed);
    let (mut p, mut e) = (String::new(), String::new());
    let mut id = 1;
    while id <= rows {
        let mut columns: [StringBuilder; 4] = Default::default();
        let end = (id + GROUP).min(rows + 1);
        for n in id..end {
            phone(&mut rng, &mut p);
            email(&mut rng, n, &mut e);
            let segment = rng.pick(&SEGMENTS);
            let [c_id, c_phone, c_email, c_segment] = &mut columns;
            c_id.append_value(format!("C{n:08}"));
            for (builder, value) in [(c_phone, &p), (c_email, &e)] {
                if value.is_empty() {
                    builder.append_null();
                } else {
                    builder.append_value(value);
                }
            }
            c_segment.append_value(segment);
        }
        let arrays: Vec<ArrayRef> = columns
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(io::Error::other)?;
        writer.write(&batch).map_err(io::Error::other)?;
        id = end;
    }
    writer.close().map_err(io::Error::other)?;
    Ok(())
}
