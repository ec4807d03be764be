//! The tokenize workers read Parquet and Arrow rows in place from the record
//! batches, CSV rows from parsed records: the outputs must not tell them apart.
//! A table of many batches and row groups (ending at other rows than the
//! reader's batches and the workers' items), with nulls, empty cells, rejects,
//! an integer identifier column, short codes and quoted kept values, gives
//! byte-identical tokens, rejects files and manifest counts from all three
//! formats, on one thread and on several.

use super::*;
use arrow_array::{Int32Array, LargeStringArray};

/// Rows in the table: more than two of the reader's batches.
const ROWS: usize = 20_011;

/// Row `i`'s phone: missing, empty, blank, rejected, or valid in two spellings.
fn phone(i: usize) -> Option<String> {
    match i % 11 {
        0 => None,
        1 => Some(String::new()),
        2 => Some("   ".to_owned()),
        3 => Some(format!("12{i}")),
        4 => Some(format!("+86 139 {:04} {:04}", i / 10_000, i % 10_000)),
        _ => Some(format!("1381234{:04}", i % 10_000)),
    }
}

/// Row `i`'s e-mail: missing, rejected, or valid with upper case.
fn email(i: usize) -> Option<String> {
    match i % 7 {
        0 => None,
        1 => Some(format!("user{i}-at-example.com")),
        _ => Some(format!("User{i}@Example.COM")),
    }
}

/// Row `i`'s member number (an integer column, read as its digits).
fn member(i: usize) -> Option<i64> {
    (!i.is_multiple_of(13)).then(|| 9_000_000 + i as i64)
}

/// A kept column that needs quoting in CSV.
fn note(i: usize) -> Option<String> {
    (!i.is_multiple_of(5)).then(|| format!("note, \"{i}\""))
}

/// A kept integer column with nulls.
fn score(i: usize) -> Option<i32> {
    (!i.is_multiple_of(4)).then_some((i % 100) as i32)
}

/// The table as Arrow batches split at `cuts` (e-mail a large string column).
fn batches(cuts: &[usize]) -> Vec<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("phone", DataType::Utf8, true),
        Field::new("email", DataType::LargeUtf8, true),
        Field::new("member_no", DataType::Int64, true),
        Field::new("note", DataType::Utf8, true),
        Field::new("score", DataType::Int32, true),
    ]));
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(ROWS);
    bounds
        .windows(2)
        .map(|w| {
            let r = w[0]..w[1];
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(
                    r.clone().map(|i| format!("C{i:05}")),
                )),
                Arc::new(StringArray::from_iter(r.clone().map(phone))),
                Arc::new(LargeStringArray::from_iter(r.clone().map(email))),
                Arc::new(Int64Array::from_iter(r.clone().map(member))),
                Arc::new(StringArray::from_iter(r.clone().map(note))),
                Arc::new(Int32Array::from_iter(r.map(score))),
            ];
            RecordBatch::try_new(schema.clone(), columns).unwrap()
        })
        .collect()
}

/// The same table as CSV text: nulls as empty cells.
fn csv_text() -> String {
    let quote = |s: String| format!("\"{}\"", s.replace('"', "\"\""));
    let mut text = String::from("customer_id,phone,email,member_no,note,score\n");
    for i in 0..ROWS {
        let cells = [
            format!("C{i:05}"),
            phone(i).map(quote).unwrap_or_default(),
            email(i).unwrap_or_default(),
            member(i).map(|m| m.to_string()).unwrap_or_default(),
            note(i).map(quote).unwrap_or_default(),
            score(i).map(|s| s.to_string()).unwrap_or_default(),
        ];
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}

#[test]
fn parquet_arrow_and_csv_of_one_table_give_identical_outputs_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("t.csv"), csv_text()).unwrap();
    // Parquet: row groups of 7,000 rows from batches cut elsewhere.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(7_000))
        .build();
    let file = File::create(d.join("t.parquet")).unwrap();
    let parts = batches(&[3, 10_000, 10_001]);
    let mut writer = ArrowWriter::try_new(file, parts[0].schema(), Some(props)).unwrap();
    for batch in &parts {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    // Arrow IPC: its own batches, of uneven sizes.
    let parts = batches(&[1, 6_000, 9_000, 18_500]);
    let file = File::create(d.join("t.arrow")).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &parts[0].schema()).unwrap();
    for batch in &parts {
        writer.write(batch).unwrap();
    }
    writer.finish().unwrap();
    run(d, &["keygen", "-o", "k.key"]).ok();

    let tokenize = |input: &str, threads: &str| {
        let out = format!("{input}.{threads}.csv");
        let rejects = format!("{input}.{threads}.rejects.csv");
        let args = [
            "tokenize",
            "--key",
            "k.key",
            "--input",
            input,
            "--column",
            "phone:phone",
            "--keep",
            "note",
            "--column",
            "email:email",
            "--column",
            "member_no:raw",
            "--keep",
            "customer_id",
            "--keep",
            "score",
            "--short-code",
            "member_no",
            "--threads",
            threads,
            "--force",
            "--rejects",
            &rejects,
            "-o",
            &out,
        ];
        run(d, &args).ok();
        let manifest = json(&d.join(format!("{out}.manifest.json")));
        (
            fs::read_to_string(d.join(&out)).unwrap(),
            fs::read_to_string(d.join(&rejects)).unwrap(),
            manifest,
        )
    };
    let (want, want_rejects, want_manifest) = tokenize("t.csv", "1");
    assert_eq!(want.lines().count(), ROWS + 1);
    // The table has every kind of cell, on rows beyond the first batches.
    assert!(want_rejects.lines().count() > 2_000, "{want_rejects:.200}");
    let last_rejected = (0..ROWS).rev().find(|i| i % 11 == 3).unwrap() + 1;
    let csv_line = last_rejected + 1;
    assert!(
        want_rejects.contains(&format!("\n{last_rejected},{csv_line},phone,")),
        "{}",
        &want_rejects[want_rejects.len() - 200..]
    );
    assert!(
        want.contains(",\"note, \"\"20009\"\"\","),
        "quoted kept text"
    );
    let counts = &want_manifest["columns"];
    for column in 0..3 {
        assert!(counts[column]["tokens"].as_u64() > Some(0), "{counts}");
        assert!(counts[column]["empty"].as_u64() > Some(0), "{counts}");
    }
    assert!(counts[0]["rejected"].as_u64() > Some(0), "{counts}");
    assert!(counts[1]["rejected"].as_u64() > Some(0), "{counts}");
    for input in ["t.csv", "t.parquet", "t.arrow"] {
        for threads in ["1", "3"] {
            let (tokens, rejects, manifest) = tokenize(input, threads);
            assert!(tokens == want, "{input} on {threads} threads: other tokens");
            // A table has no lines: its rejects give the row number as the line
            // (docs/data-formats.md), one less than the CSV file's line.
            assert_eq!(
                rejects,
                if input == "t.csv" {
                    want_rejects.clone()
                } else {
                    rows_as_lines(&want_rejects)
                },
                "{input} on {threads} threads"
            );
            for field in ["columns", "rows", "rejects", "kept_columns"] {
                assert_eq!(manifest[field], want_manifest[field], "{input} {field}");
            }
        }
    }
}

/// A CSV rejects file as a table's: each line number one less (the header).
fn rows_as_lines(rejects: &str) -> String {
    let mut out = String::new();
    for (n, line) in rejects.lines().enumerate() {
        let fields: Vec<&str> = line.splitn(3, ',').collect();
        if n == 0 {
            out.push_str(line);
        } else {
            let csv_line: u64 = fields[1].parse().unwrap();
            out.push_str(&format!("{},{},{}", fields[0], csv_line - 1, fields[2]));
        }
        out.push('\n');
    }
    out
}
