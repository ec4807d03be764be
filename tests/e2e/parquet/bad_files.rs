//! Bad Parquet and Arrow files: exit 2, a message naming the file (and column),
//! a hint, no value shown and nothing written, as for a bad CSV.

use super::*;

/// Every output a failed tokenize run could have left.
const OUT: &[&str] = &["-o", "t.parquet", "--rejects", "rejects.csv"];

#[test]
fn a_file_that_is_not_parquet_is_refused() {
    let dir = setup();
    let d = dir.path();
    fs::write(d.join("fake.parquet"), CUSTOMERS_CSV).unwrap();
    let mut files = INPUTS.to_vec();
    files.push("fake.parquet");
    files.sort_unstable();
    assert_bad_input(
        &tokenize(d, "fake.parquet", OUT),
        &["'fake.parquet' is not a Parquet file, or it is truncated"],
        d,
        &files,
    );
    // The hint names the way out: it is CSV.
    tokenize(d, "fake.parquet", OUT).stderr_has("--format csv");
    tokenize(d, "fake.parquet", &["--format", "csv", "-o", "t.csv"]).ok();
    // An Arrow name on a Parquet file is refused the same way.
    fs::copy(d.join("customers.parquet"), d.join("wrong.arrow")).unwrap();
    tokenize(d, "wrong.arrow", &["-o", "w.csv"])
        .code(2)
        .stderr_has("'wrong.arrow' is not an Arrow IPC file");
    assert!(!d.join("w.csv").exists() && !d.join("w.csv.manifest.json").exists());
}

#[test]
fn a_missing_column_is_refused_with_the_columns_there() {
    let dir = setup();
    let d = dir.path();
    for input in ["customers.parquet", "customers.arrow"] {
        let run = run(
            d,
            &[
                "tokenize",
                "--key",
                "acme.key",
                "--input",
                input,
                "--column",
                "mobile:phone",
                "-o",
                "t.parquet",
            ],
        );
        assert_bad_input(
            &run,
            &["column 'mobile' (--column) is not in the header of", input],
            d,
            &INPUTS,
        );
        run.stderr_has(
            "hint: columns in the file: customer_id, phone, email, member_no, score, signup",
        );
    }
}

#[test]
fn identifier_columns_must_be_text_or_integers() {
    let dir = setup();
    let d = dir.path();
    for (column, data_type) in [("score", "Float64"), ("signup", "Date32")] {
        let spec = format!("{column}:phone");
        let run = run(
            d,
            &[
                "tokenize",
                "--key",
                "acme.key",
                "--input",
                "customers.parquet",
                "--column",
                &spec,
                "-o",
                "t.parquet",
            ],
        );
        assert_bad_input(
            &run,
            &[&format!(
                "column '{column}' of 'customers.parquet' holds {data_type} values, not text"
            )],
            d,
            &INPUTS,
        );
        run.stderr_has("as a string column");
    }
    // An integer column is read as its decimal digits.
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.parquet",
            "--column",
            "member_no:raw",
            "-o",
            "numbers.csv",
        ],
    )
    .ok();
    let csv = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "--column",
            "member_no:raw",
            "-o",
            "numbers-from-csv.csv",
        ],
    );
    csv.ok();
    assert_eq!(
        fs::read(d.join("numbers.csv")).unwrap(),
        fs::read(d.join("numbers-from-csv.csv")).unwrap()
    );
}

#[test]
fn a_corrupt_page_or_a_truncated_file_writes_nothing() {
    let dir = setup();
    let d = dir.path();
    let mut bytes = fs::read(d.join("customers.parquet")).unwrap();
    // The first page header follows the `PAR1` magic.
    for b in bytes.iter_mut().skip(4).take(12) {
        *b = 0xff;
    }
    fs::write(d.join("corrupt.parquet"), &bytes).unwrap();
    let whole = fs::read(d.join("customers.parquet")).unwrap();
    fs::write(d.join("cut.parquet"), &whole[..whole.len() / 2]).unwrap();
    let arrow = fs::read(d.join("customers.arrow")).unwrap();
    fs::write(d.join("cut.arrow"), &arrow[..arrow.len() - 10]).unwrap();
    let mut files = INPUTS.to_vec();
    files.extend(["corrupt.parquet", "cut.arrow", "cut.parquet"]);
    files.sort_unstable();
    assert_bad_input(
        &tokenize(d, "corrupt.parquet", OUT),
        &[
            "'corrupt.parquet': cannot decode the rows after row 0",
            "damaged",
        ],
        d,
        &files,
    );
    assert_bad_input(
        &tokenize(d, "cut.parquet", OUT),
        &["'cut.parquet' is not a Parquet file, or it is truncated"],
        d,
        &files,
    );
    assert_bad_input(
        &tokenize(d, "cut.arrow", OUT),
        &["'cut.arrow' is not an Arrow IPC file, or it is truncated"],
        d,
        &files,
    );
    // The other commands refuse it the same way (the damage is in the first
    // column's page, and only the columns used are decoded).
    let normalize = run(
        d,
        &[
            "normalize",
            "--input",
            "corrupt.parquet",
            "--column",
            "customer_id:raw",
        ],
    );
    assert_bad_input(&normalize, &["damaged"], d, &files);
}

#[test]
fn parquet_cannot_come_from_standard_input() {
    let dir = setup();
    let d = dir.path();
    let parquet = fs::read(d.join("customers.parquet")).unwrap();
    let run = crate::util::run_in(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "-",
            "--format",
            "parquet",
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ],
        Some(&parquet),
        std::time::Duration::from_secs(60),
    );
    assert_bad_input(
        &run,
        &["Parquet input cannot be read from standard input"],
        d,
        &INPUTS,
    );
    crate::util::run(d, &["tokenize", "--format", "xlsx"])
        .code(2)
        .stderr_has("expected one of csv, parquet, arrow");
}
