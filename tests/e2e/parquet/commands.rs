//! The other commands on Parquet and Arrow: `normalize` reads a column, `resolve`
//! reads sources and writes Parquet clusters that a later run reads back, `match`
//! runs a session from a Parquet input into a Parquet output that the receipt
//! audit reads, and `audit tokens` finds raw identifiers in a Parquet file.

use std::collections::BTreeSet;

use super::*;
use crate::matching::{DEADLINE, Fixture, Party, json as receipt_json};

#[test]
fn normalize_reads_a_parquet_column_by_row() {
    let dir = setup();
    let d = dir.path();
    let out = run(
        d,
        &[
            "normalize",
            "--input",
            "customers.parquet",
            "--column",
            "phone:phone",
        ],
    );
    out.code(3); // row 4's number is rejected
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{out:#?}");
    assert_eq!(lines[0], "row 1: \"+86 138 1234 5678\" → +8613812345678");
    assert!(lines[1].starts_with("row 2: \"\" → (empty"), "{}", lines[1]);
    assert!(lines[3].starts_with("row 4: ") && lines[3].contains('✗'));
    let arrow = run(
        d,
        &[
            "normalize",
            "--input",
            "customers.arrow",
            "--column",
            "phone:phone",
        ],
    );
    assert_eq!(arrow.stdout, out.stdout);
}

/// A clusters file's rows, as text, whatever its format.
fn clusters_text(path: &Path) -> Vec<String> {
    if path.extension().is_some_and(|e| e == "csv") {
        return fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect();
    }
    let batch = read_parquet(path);
    let text = |i: usize, row: usize| -> String {
        let column = batch.column(i);
        if column.is_null(row) {
            return String::new();
        }
        match column.data_type() {
            DataType::UInt64 => column
                .as_primitive::<arrow_array::types::UInt64Type>()
                .value(row)
                .to_string(),
            _ => column.as_string::<i32>().value(row).to_owned(),
        }
    };
    (0..batch.num_rows())
        .map(|row| {
            (0..batch.num_columns())
                .map(|i| text(i, row))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn resolve_reads_parquet_sources_and_writes_parquet_clusters() {
    let dir = setup();
    let d = dir.path();
    fs::write(
        d.join("app.csv"),
        "uid,tel\nU1,138-1234-5678\nU2,13812345679\nU3,13900000000\n",
    )
    .unwrap();
    let resolve = |crm: &str, out: &str, golden: &str, extra: &[&str]| {
        let mut args = vec![
            "resolve",
            "--input",
            crm,
            "--source",
            "crm",
            "--column",
            "phone:phone",
            "--column",
            "email:email",
            "--input",
            "app.csv",
            "--column",
            "tel:phone",
            "--rule",
            "phone",
            "--rule",
            "email",
            "-o",
            out,
            "--golden",
            golden,
        ];
        args.extend_from_slice(extra);
        run(d, &args)
    };
    resolve("customers.csv", "clusters.csv", "golden.csv", &[]).ok();
    resolve(
        "customers.parquet",
        "clusters.parquet",
        "golden.parquet",
        &["--report", "report.json"],
    )
    .ok();
    let csv = clusters_text(&d.join("clusters.csv"));
    assert_eq!(csv.len(), 8);
    assert_eq!(clusters_text(&d.join("clusters.parquet")), csv);
    let schema = read_parquet(&d.join("clusters.parquet")).schema();
    assert_eq!(schema.field(1).data_type(), &DataType::UInt64, "row");
    let golden = read_parquet(&d.join("golden.parquet"));
    assert_eq!(golden.schema().field(1).data_type(), &DataType::UInt64);
    assert_eq!(
        golden.num_rows(),
        fs::read_to_string(d.join("golden.csv"))
            .unwrap()
            .lines()
            .count()
            - 1
    );
    let report = json(&d.join("report.json"));
    let text = report.to_string();
    assert!(text.contains("\"format\":\"parquet\""), "{text}");
    assert!(text.contains("\"format\":\"csv\""), "{text}");
    for raw in RAW_VALUES {
        assert!(!text.contains(raw), "{raw} in the report");
    }
    // A Parquet clusters file is read back as --previous: every ID is kept.
    resolve(
        "customers.parquet",
        "again.parquet",
        "golden2.csv",
        &["--previous", "clusters.parquet"],
    )
    .ok();
    assert_eq!(clusters_text(&d.join("again.parquet")), csv);
}

/// Writes `csv` (no quoted fields) as a Parquet file of strings.
fn csv_to_parquet(csv: &str, path: &Path) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|h| Field::new(*h, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..header.len())
        .map(|i| {
            Arc::new(StringArray::from_iter(rows.iter().map(|r| {
                let cell = r[i];
                (!cell.is_empty()).then_some(cell)
            }))) as ArrayRef
        })
        .collect();
    write_parquet(path, &RecordBatch::try_new(schema, columns).unwrap());
}

/// The (row, kept ID) pairs of a matched-rows file.
fn matched_rows(path: &Path) -> BTreeSet<(String, String)> {
    if path.extension().is_some_and(|e| e == "csv") {
        return fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_owned(), f[1].to_owned())
            })
            .collect();
    }
    let batch = read_parquet(path);
    assert_eq!(batch.schema().field(0).data_type(), &DataType::UInt64);
    let rows = batch
        .column(0)
        .as_primitive::<arrow_array::types::UInt64Type>();
    let ids = batch.column(1).as_string::<i32>();
    (0..batch.num_rows())
        .map(|i| (rows.value(i).to_string(), ids.value(i).to_owned()))
        .collect()
}

#[test]
fn match_reads_parquet_and_writes_a_parquet_output_the_audit_reads() {
    let f = Fixture::new(120, 100, 40);
    let (a, b) = f.session(&[], &[]);
    a.ok();
    b.ok();
    let expected = matched_rows(&f.a.join("matched.csv"));
    assert_eq!(expected.len(), 41);
    let csv = fs::read_to_string(f.a.join("customers.csv")).unwrap();
    csv_to_parquet(&csv, &f.a.join("customers.parquet"));
    // `-o` is replaced by hand: the fixture merges long options only.
    let output = |mut args: Vec<String>, name: &str| {
        let at = args.iter().position(|a| a == "-o").unwrap();
        args[at + 1] = name.to_owned();
        args
    };
    let a = Party::spawn(
        &f.a,
        &output(
            f.a_args(&["--input", "customers.parquet"]),
            "matched.parquet",
        ),
        &[],
        None,
    );
    let addr = a.listening_addr();
    let b = Party::spawn(&f.b, &output(f.b_args(&addr, &[]), "again.csv"), &[], None);
    a.finish(DEADLINE).ok();
    b.finish(DEADLINE).ok();
    assert_eq!(matched_rows(&f.a.join("matched.parquet")), expected);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(f.a.join("matched.parquet"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let receipt = receipt_json(&f.a.join("matched.parquet.receipt.json"));
    assert_eq!(receipt["local"]["input"]["format"], "parquet");
    assert_eq!(receipt["output"]["format"], "parquet");
    assert_eq!(
        receipt["local"]["input"]["sha256"],
        sha256_file(&f.a.join("customers.parquet"))
    );
    let other = receipt_json(&f.b.join("again.csv.receipt.json"));
    assert_eq!(other["local"]["input"]["format"], "csv");
    // The receipt audit counts the Parquet output's rows.
    let audit = run(
        &f.a,
        &[
            "audit",
            "receipt",
            "matched.parquet.receipt.json",
            f.b.join("again.csv.receipt.json").to_str().unwrap(),
            "--output-b",
            f.b.join("again.csv").to_str().unwrap(),
        ],
    );
    audit.ok();
}

#[test]
fn audit_tokens_finds_raw_identifiers_in_a_parquet_file() {
    let dir = setup();
    let d = dir.path();
    // Tokens beside a kept raw phone number column and an integer one.
    tokenize(
        d,
        "customers.parquet",
        &["--column", "member_no:raw", "-o", "clean.parquet"],
    )
    .ok();
    run(d, &["audit", "tokens", "clean.parquet"]).ok();
    let schema = Schema::new(vec![
        Field::new("token", DataType::Utf8, true),
        Field::new("contact", DataType::Utf8, true),
        Field::new("mobile_no", DataType::Int64, true),
    ]);
    let clean = read_parquet(&d.join("clean.parquet"));
    let tokens = clean.column(1).clone();
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            tokens,
            Arc::new(StringArray::from(vec![
                None,
                Some("call +86 138 1234 5678"),
                None,
                None,
                None,
            ])),
            Arc::new(Int64Array::from(vec![
                None,
                None,
                None,
                Some(13_987_654_321),
                None,
            ])),
        ],
    )
    .unwrap();
    write_parquet(&d.join("leaky.parquet"), &batch);
    let audit = run(d, &["audit", "tokens", "leaky.parquet", "--json"]);
    audit.code(3);
    let report: Value = serde_json::from_str(&audit.stdout).unwrap();
    let text = report.to_string();
    assert!(
        text.contains("contact") && text.contains("mobile_no"),
        "{text}"
    );
    for raw in ["1234 5678", "13812345678", "13987654321"] {
        assert!(!audit.all_output().contains(raw), "{raw} in {audit:#?}");
    }
}
