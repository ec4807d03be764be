//! The reject-rate check and every bad-input case: exit 2, a located message, a hint, nothing left.

use super::*;

#[test]
fn max_reject_rate_turns_too_many_rejects_into_exit_3() {
    let dir = setup();
    let d = dir.path();
    // 1 of 4 non-empty cells is rejected in each column: 25%.
    tokenize(d, &["-o", "ok.csv", "--max-reject-rate", "30%"]).ok();
    assert_eq!(
        manifest(d, "ok.csv.manifest.json")["reject_rate_check"]["passed"],
        true
    );
    let run = tokenize(
        d,
        &[
            "-o",
            "strict.csv",
            "--max-reject-rate",
            "0.1",
            "--rejects",
            "r.csv",
        ],
    );
    run.code(3)
        .stderr_has("25.00% of non-empty cells rejected, above --max-reject-rate 10.00%")
        .stderr_has("hint: the rejected rows are listed in 'r.csv'");
    // The work ran: the files exist and the manifest records the failed check.
    let m = manifest(d, "strict.csv.manifest.json");
    assert_eq!(m["reject_rate_check"]["passed"], false);
    assert_eq!(m["reject_rate_check"]["max_rate"], 0.1);
    assert!(d.join("strict.csv").exists() && d.join("r.csv").exists());
    tokenize(d, &["-o", "x.csv", "--max-reject-rate", "lots"]).code(2);
}

#[test]
fn bad_columns_and_types() {
    let dir = setup();
    let d = dir.path();
    let base = ["acme.key", "customers.csv"];
    let t = |args: &[&str]| {
        let mut all = vec![
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "-o",
            "t.csv",
        ];
        all.extend_from_slice(args);
        run(d, &all)
    };
    assert_bad_input(
        &t(&["--column", "mobile:phone"]),
        &["column 'mobile'", "not in the header of 'customers.csv'"],
        d,
        &base,
    );
    assert!(
        t(&["--column", "mobile:phone"])
            .stderr
            .contains("hint: columns in the file: customer_id, name, phone, email, segment")
    );
    assert_bad_input(
        &t(&["--column", "phone:phone", "--keep", "crm_id"]),
        &["column 'crm_id' (--keep)", "customers.csv"],
        d,
        &base,
    );
    assert_bad_input(
        &t(&["--column", "phone:mobile"]),
        &[
            "--column 'phone:mobile'",
            "unknown identifier type 'mobile'",
        ],
        d,
        &base,
    );
    assert_bad_input(
        &t(&["--column", "phone"]),
        &["--column 'phone' has no type"],
        d,
        &base,
    );
    assert_bad_input(
        &t(&["--column", "phone:phone", "--keep", "phone"]),
        &["column 'phone' is given twice"],
        d,
        &base,
    );
    // No --column at all is a usage error from the argument parser.
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "-o",
            "t.csv",
        ],
    )
    .code(2);
    assert_files(d, &base);
}

#[test]
fn malformed_csv_names_file_line_and_column() {
    let dir = setup();
    let d = dir.path();
    let cases: &[(&str, &[u8], &[&str])] = &[
        (
            "quote.csv",
            b"id,phone\n1,13812345678\n2,\"13912345678\n3,13712345678\n",
            &["'quote.csv' line 3", "unbalanced quote"],
        ),
        (
            "ragged.csv",
            b"id,phone\n1,13812345678\n2,13912345678,extra\n",
            &["'ragged.csv' line 3", "3 fields, but the header has 2"],
        ),
        (
            "utf8.csv",
            b"id,phone\n1,13812345678\n2,\xb2\xe2\xca\xd4\n",
            &["'utf8.csv' line 3", "column 'phone'", "not valid UTF-8"],
        ),
        ("empty.csv", b"", &["'empty.csv' is empty"]),
        ("blank.csv", b"\n\n", &["'blank.csv' is empty"]),
    ];
    let mut files = vec!["acme.key", "customers.csv"];
    for (name, content, message) in cases {
        fs::write(d.join(name), content).unwrap();
        files.push(name);
        let run = run(
            d,
            &[
                "tokenize",
                "--key",
                "acme.key",
                "--input",
                name,
                "--column",
                "phone:phone",
                "-o",
                "t.csv",
                "--rejects",
                "r.csv",
            ],
        );
        assert_bad_input(&run, message, d, &files);
    }
    // Invalid UTF-8 in a kept column is refused too; in a dropped column it is ignored.
    fs::write(
        d.join("keep.csv"),
        b"id,phone,notes\n1,13812345678,ok\n\xff,13912345678,\xfe\n",
    )
    .unwrap();
    files.push("keep.csv");
    let keep = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "keep.csv",
            "--column",
            "phone:phone",
            "--keep",
            "id",
            "-o",
            "t.csv",
        ],
    );
    assert_bad_input(
        &keep,
        &["'keep.csv' line 3, column 'id': not valid UTF-8"],
        d,
        &files,
    );
    run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "keep.csv",
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ],
    )
    .ok();
    fs::remove_file(d.join("t.csv")).unwrap();
    fs::remove_file(d.join("t.csv.manifest.json")).unwrap();
    // An error deep in a large file, after many batches were written: still nothing left.
    let mut big = String::from("id,phone\n");
    for i in 0..25_000 {
        big.push_str(&format!("{i},+86 138 0000 {:04}\n", i % 10_000));
    }
    big.push_str("oops\n");
    fs::write(d.join("late.csv"), big).unwrap();
    files.push("late.csv");
    let run = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "late.csv",
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ],
    );
    assert_bad_input(
        &run,
        &["'late.csv' line 25002", "1 fields, but the header has 2"],
        d,
        &files,
    );
}

#[test]
fn missing_input_and_existing_outputs() {
    let dir = setup();
    let d = dir.path();
    let t = |input: &str, extra: &[&str]| {
        let mut all = vec![
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            input,
            "--column",
            "phone:phone",
            "-o",
            "t.csv",
        ];
        all.extend_from_slice(extra);
        run(d, &all)
    };
    assert_bad_input(
        &t("nope.csv", &[]),
        &["cannot read input file 'nope.csv'"],
        d,
        &["acme.key", "customers.csv"],
    );
    fs::write(d.join("t.csv"), "precious").unwrap();
    assert_bad_input(
        &t("customers.csv", &[]),
        &["output file 't.csv' already exists"],
        d,
        &["acme.key", "customers.csv", "t.csv"],
    );
    assert_eq!(read(d, "t.csv"), "precious");
    fs::remove_file(d.join("t.csv")).unwrap();
    fs::write(d.join("t.csv.manifest.json"), "{}").unwrap();
    assert_bad_input(
        &t("customers.csv", &[]),
        &["output file 't.csv.manifest.json' already exists"],
        d,
        &["acme.key", "customers.csv", "t.csv.manifest.json"],
    );
    fs::remove_file(d.join("t.csv.manifest.json")).unwrap();
    fs::write(d.join("r.csv"), "x").unwrap();
    assert_bad_input(
        &t("customers.csv", &["--rejects", "r.csv"]),
        &["output file 'r.csv' already exists"],
        d,
        &["acme.key", "customers.csv", "r.csv"],
    );
    fs::remove_file(d.join("r.csv")).unwrap();
    // The output may not be the input.
    let run = run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
            "-o",
            "customers.csv",
            "--force",
        ],
    );
    assert_bad_input(
        &run,
        &["-o 'customers.csv' is the input file"],
        d,
        &["acme.key", "customers.csv"],
    );
    assert_eq!(read(d, "customers.csv"), CUSTOMERS);
    // A missing output folder.
    let nodir = crate::util::run(
        d,
        &[
            "tokenize",
            "--key",
            "acme.key",
            "--input",
            "customers.csv",
            "--column",
            "phone:phone",
            "-o",
            "no/such/dir/t.csv",
        ],
    );
    assert_bad_input(
        &nodir,
        &["cannot create output file in 'no/such/dir'"],
        d,
        &["acme.key", "customers.csv"],
    );
}
