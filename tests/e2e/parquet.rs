//! Parquet and Arrow IPC files through the real binary: `tokenize`, `normalize`,
//! `resolve`, `match` and `audit` read them (by extension or `--format`) as they
//! read CSV, write Parquet for a `.parquet` output with types, nulls and row order
//! kept, record the formats in manifests and receipts, and refuse every bad file
//! with exit 2, a message, a hint and nothing written. Test files are made here
//! with the Arrow writer; none is committed.

use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{Run, assert_files, run};

mod bad_files;
mod commands;
mod same_tokens;

/// The customers of the tests as CSV: what the Parquet file holds, nulls as
/// empty cells.
const CUSTOMERS_CSV: &str = "\
customer_id,phone,email,member_no,score,signup
C001,+86 138 1234 5678,Alice.Wang@Example.COM,1001,0.5,2020-01-01
C002,,bob@example.com,1002,,2021-06-30
C003,0086-139-8765-4321,,1003,-2.25,
C004,+86 100 2468 1357,not-an-address,1004,1.0,2024-02-29
C005,13812345679,carol@example.cn,1005,3.75,1970-01-01
";

/// Raw values that must never appear outside the input.
const RAW_VALUES: &[&str] = &[
    "138 1234 5678",
    "13812345678",
    "13987654321",
    "10024681357",
    "13812345679",
    "alice.wang@example.com",
    "bob@example.com",
    "carol@example.cn",
];

/// The same customers as an Arrow batch: phone and email with nulls, the member
/// number an integer, the score a float, the signup a date.
fn customers() -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("phone", DataType::Utf8, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("member_no", DataType::Int64, false),
        Field::new("score", DataType::Float64, true),
        Field::new("signup", DataType::Date32, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![
            "C001", "C002", "C003", "C004", "C005",
        ])),
        Arc::new(StringArray::from(vec![
            Some("+86 138 1234 5678"),
            None,
            Some("0086-139-8765-4321"),
            Some("+86 100 2468 1357"),
            Some("13812345679"),
        ])),
        Arc::new(StringArray::from(vec![
            Some("Alice.Wang@Example.COM"),
            Some("bob@example.com"),
            None,
            Some("not-an-address"),
            Some("carol@example.cn"),
        ])),
        Arc::new(Int64Array::from(vec![1001, 1002, 1003, 1004, 1005])),
        Arc::new(Float64Array::from(vec![
            Some(0.5),
            None,
            Some(-2.25),
            Some(1.0),
            Some(3.75),
        ])),
        Arc::new(Date32Array::from(vec![
            Some(18_262),
            Some(18_808),
            None,
            Some(19_782),
            Some(0),
        ])),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

fn write_arrow(path: &Path, batch: &RecordBatch) {
    let mut writer =
        arrow_ipc::writer::FileWriter::try_new(File::create(path).unwrap(), &batch.schema())
            .unwrap();
    writer.write(batch).unwrap();
    writer.finish().unwrap();
}

/// All rows of a Parquet file, as one batch.
fn read_parquet(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    arrow_select_concat(&schema, &batches)
}

fn arrow_select_concat(schema: &Arc<Schema>, batches: &[RecordBatch]) -> RecordBatch {
    assert_eq!(batches.len(), 1, "the test files are one batch");
    assert_eq!(&batches[0].schema(), schema);
    batches[0].clone()
}

/// A folder with the customers as CSV, Parquet and Arrow, and a key.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("customers.csv"), CUSTOMERS_CSV).unwrap();
    write_parquet(&d.join("customers.parquet"), &customers());
    write_arrow(&d.join("customers.arrow"), &customers());
    run(d, &["keygen", "-o", "acme.key"]).ok();
    dir
}

/// The input files [`setup`] leaves.
const INPUTS: [&str; 4] = [
    "acme.key",
    "customers.arrow",
    "customers.csv",
    "customers.parquet",
];

fn tokenize(dir: &Path, input: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "tokenize",
        "--key",
        "acme.key",
        "--input",
        input,
        "--column",
        "phone:phone",
        "--column",
        "email:email",
        "--keep",
        "customer_id",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

/// Exit 2, the message parts on the `error:` line, a hint, and only `files` left.
fn assert_bad_input(run: &Run, message: &[&str], dir: &Path, files: &[&str]) {
    run.code(2);
    let first = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    for part in message {
        assert!(first.contains(part), "error line lacks {part:?}: {run:#?}");
    }
    assert!(
        run.stderr.lines().any(|l| l.starts_with("hint: ")),
        "no hint: {run:#?}"
    );
    for raw in RAW_VALUES {
        assert!(!run.all_output().contains(raw), "{raw} in {run:#?}");
    }
    assert_files(dir, files);
}

#[test]
fn parquet_and_arrow_inputs_give_the_tokens_csv_gives() {
    let dir = setup();
    let d = dir.path();
    tokenize(d, "customers.csv", &["-o", "from-csv.csv"]).ok();
    tokenize(d, "customers.parquet", &["-o", "from-parquet.csv"]).ok();
    tokenize(d, "customers.arrow", &["-o", "from-arrow.csv"]).ok();
    let csv = fs::read_to_string(d.join("from-csv.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6);
    assert_eq!(fs::read_to_string(d.join("from-parquet.csv")).unwrap(), csv);
    assert_eq!(fs::read_to_string(d.join("from-arrow.csv")).unwrap(), csv);
    let m = json(&d.join("from-parquet.csv.manifest.json"));
    assert_eq!(m["input"]["format"], "parquet");
    assert_eq!(
        m["input"]["sha256"],
        sha256_file(&d.join("customers.parquet"))
    );
    assert_eq!(m["output"]["format"], "csv");
    assert_eq!(m["rows"]["read"], 5);
    // A null is an empty cell; the rejects are the CSV run's.
    let c = json(&d.join("from-csv.csv.manifest.json"));
    assert_eq!(m["columns"], c["columns"]);
    assert_eq!(
        json(&d.join("from-arrow.csv.manifest.json"))["input"]["format"],
        "arrow"
    );
    // --format reads a file whatever its name.
    fs::copy(d.join("customers.parquet"), d.join("export.dat")).unwrap();
    tokenize(
        d,
        "export.dat",
        &["--format", "parquet", "-o", "from-dat.csv"],
    )
    .ok();
    assert_eq!(fs::read_to_string(d.join("from-dat.csv")).unwrap(), csv);
}

#[test]
fn a_parquet_output_keeps_types_nulls_and_row_order() {
    let dir = setup();
    let d = dir.path();
    tokenize(d, "customers.csv", &["-o", "t.csv"]).ok();
    tokenize(
        d,
        "customers.parquet",
        &[
            "--keep",
            "member_no",
            "--keep",
            "score",
            "--keep",
            "signup",
            "-o",
            "t.parquet",
        ],
    )
    .ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join("t.parquet"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let batch = read_parquet(&d.join("t.parquet"));
    let schema = batch.schema();
    let fields: Vec<(&str, &DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(
        fields,
        [
            ("customer_id", &DataType::Utf8),
            ("phone", &DataType::Utf8),
            ("email", &DataType::Utf8),
            ("member_no", &DataType::Int64),
            ("score", &DataType::Float64),
            ("signup", &DataType::Date32),
        ]
    );
    let original = customers();
    for i in [0, 3, 4, 5] {
        assert_eq!(
            batch.column(i).as_ref(),
            original.column(i).as_ref(),
            "column {i}"
        );
    }
    assert_eq!(
        batch.column(3).as_primitive::<Int64Type>().values(),
        &[1001, 1002, 1003, 1004, 1005]
    );
    assert!(batch.column(4).as_primitive::<Float64Type>().is_null(1));
    assert!(batch.column(5).as_primitive::<Date32Type>().is_null(2));
    // The tokens are the CSV run's, in row order; no token is a null.
    let csv = fs::read_to_string(d.join("t.csv")).unwrap();
    for (row, line) in csv.lines().skip(1).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        for (column, expected) in [(1, fields[1]), (2, fields[2])] {
            let tokens = batch.column(column).as_string::<i32>();
            let got = tokens.is_valid(row).then(|| tokens.value(row));
            let want = (!expected.is_empty()).then_some(expected);
            assert_eq!(got, want, "row {row}, column {column}");
        }
    }
    let m = json(&d.join("t.parquet.manifest.json"));
    assert_eq!(m["output"]["format"], "parquet");
    assert_eq!(m["output"]["sha256"], sha256_file(&d.join("t.parquet")));
    // The audits read the Parquet token file: it is clean and matches its manifest.
    run(
        d,
        &[
            "audit",
            "tokens",
            "t.parquet",
            "--manifest",
            "t.parquet.manifest.json",
        ],
    )
    .ok();
    run(
        d,
        &[
            "audit",
            "manifest",
            "t.parquet.manifest.json",
            "--key",
            "acme.key",
        ],
    )
    .ok();
    run(
        d,
        &[
            "audit",
            "tokens",
            "t.parquet",
            "--manifest",
            "t.parquet.manifest.json",
            "--key",
            "acme.key",
            "--source",
            "customers.parquet",
            "--sample",
            "5",
        ],
    )
    .ok();
}
