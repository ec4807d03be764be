//! `blindmatch normalize`: what the normaliser makes of typed values and of a CSV
//! column, why it rejects values, and its usage errors.

use std::fs;

use crate::util::run;

#[test]
fn every_written_form_of_a_number_gives_one_value() {
    let dir = tempfile::tempdir().unwrap();
    let forms = [
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "(+86) 138.1234.5678",
        "tel:+8613812345678",
        "１３８１２３４５６７８",
        "13812345678",
    ];
    let mut args = vec!["normalize", "--type", "phone"];
    args.extend(forms);
    let run = run(dir.path(), &args);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), forms.len());
    for (line, form) in lines.iter().zip(forms) {
        assert_eq!(*line, format!("{form:?} → +8613812345678"));
    }
}

#[test]
fn rejections_show_the_reason_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        dir.path(),
        &[
            "normalize",
            "--type",
            "email",
            "Alice@Example.COM",
            "not-an-address",
            "",
        ],
    );
    run.code(3);
    assert_eq!(
        run.stdout,
        "\"Alice@Example.COM\" → alice@example.com\n\
         \"not-an-address\" ✗ missing_at: no @ in e-mail address\n\
         \"\" → (empty: stays empty, never tokenised)\n"
    );
    // Invisible characters are shown escaped.
    let zw = crate::util::run(
        dir.path(),
        &["normalize", "--type", "uscc", "91350100M000100Y4\u{200b}3"],
    );
    assert!(zw.stdout.contains("\\u{200b}"), "{zw:#?}");
}

#[test]
fn profile_options_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        &["normalize", "--type", "phone", "010-6552 9988"],
    )
    .code(3);
    let run = run(
        dir.path(),
        &[
            "normalize",
            "--type",
            "phone",
            "--phone-region",
            "86",
            "010-6552 9988",
        ],
    );
    run.ok();
    assert!(run.stdout.contains("→ +861065529988"), "{run:#?}");
    let gmail = crate::util::run(
        dir.path(),
        &[
            "normalize",
            "--type",
            "email",
            "--email-rules",
            "gmail",
            "J.Doe+news@GoogleMail.com",
        ],
    );
    gmail.ok();
    assert!(gmail.stdout.contains("→ jdoe@gmail.com"), "{gmail:#?}");
    let named = crate::util::run(
        dir.path(),
        &[
            "normalize",
            "--type",
            "phone",
            "--profile",
            "bm-std-v1,phone-region=86",
            "010-6552 9988",
        ],
    );
    named.ok();
}

#[test]
fn a_csv_column_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("c.csv"),
        "id,mobile\n1,+86 138 1234 5678\n2,\n3,12345\n",
    )
    .unwrap();
    let all = run(
        d,
        &["normalize", "--input", "c.csv", "--column", "mobile:phone"],
    );
    all.code(3)
        .stderr_has("3 values in column 'mobile' (phone): 1 normalised, 1 empty, 1 rejected");
    assert_eq!(
        all.stdout.lines().collect::<Vec<_>>(),
        [
            "line 2: \"+86 138 1234 5678\" → +8613812345678",
            "line 3: \"\" → (empty: stays empty, never tokenised)",
            "line 4: \"12345\" ✗ too_short: too few digits for a telephone number",
        ]
    );
    let only = run(
        d,
        &[
            "normalize",
            "--input",
            "c.csv",
            "--column",
            "mobile",
            "--type",
            "phone",
            "--rejected-only",
        ],
    );
    only.code(3);
    assert_eq!(only.stdout.lines().count(), 1);
    assert!(only.stdout.starts_with("line 4:"));
    fs::write(d.join("ok.csv"), "mobile\n13812345678\n").unwrap();
    run(
        d,
        &["normalize", "--input", "ok.csv", "--column", "mobile:phone"],
    )
    .ok();
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["normalize", "13812345678"])
        .code(2)
        .stderr_has("normalize needs --type")
        .stderr_has("hint: ");
    run(d, &["normalize", "--type", "mobile", "13812345678"]).code(2);
    run(d, &["normalize", "--type", "phone"])
        .code(2)
        .stderr_has("nothing to normalize")
        .stderr_has("hint: ");
    fs::write(d.join("c.csv"), "id,mobile\n1,13812345678\n").unwrap();
    run(
        d,
        &["normalize", "--input", "c.csv", "--column", "phone:phone"],
    )
    .code(2)
    .stderr_has("column 'phone' (--column) is not in the header of 'c.csv'")
    .stderr_has("hint: columns in the file: id, mobile");
    run(d, &["normalize", "--input", "c.csv", "--column", "mobile"])
        .code(2)
        .stderr_has("--column 'mobile' has no type");
    fs::write(d.join("bad.csv"), "id,mobile\n1,\"138\n").unwrap();
    run(
        d,
        &[
            "normalize",
            "--input",
            "bad.csv",
            "--column",
            "mobile:phone",
        ],
    )
    .code(2)
    .stderr_has("'bad.csv' line 2: unbalanced quote");
}

#[test]
fn help_warns_that_values_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(dir.path(), &["normalize", "--help"]);
    run.ok();
    assert!(run.stdout.contains("LOCAL DIAGNOSTIC"), "{run:#?}");
    assert!(run.stdout.contains("prints the values"), "{run:#?}");
}

/// `--version` names the Unicode versions of the normalisers' tables and the
/// profile, as the profile strings in hellos, manifests and receipts cover them.
#[test]
fn version_names_the_unicode_tables_and_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(dir.path(), &["--version"]);
    run.ok();
    let expected = format!(
        "blindmatch {}\nunicode {} (case mapping {}), profile bm-std-v1\n",
        env!("CARGO_PKG_VERSION"),
        blindmatch_token::unicode_version(),
        blindmatch_token::unicode_case_version()
    );
    assert_eq!(run.stdout, expected);
    // The Unicode versions are the ones the profile descriptions hash.
    let description = blindmatch_token::Profile::standard().description();
    assert!(description.contains(&format!(
        "\nunicode={}\nunicode.case={}\n",
        blindmatch_token::unicode_version(),
        blindmatch_token::unicode_case_version()
    )));
    // -V stays one line.
    let short = crate::util::run(dir.path(), &["-V"]);
    short.ok();
    assert_eq!(
        short.stdout,
        format!("blindmatch {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn company_and_wechat_id_types() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        dir.path(),
        &[
            "normalize",
            "--type",
            "company",
            "腾讯科技（深圳）有限责任公司",
            "Acme Co., Ltd.",
            "Co., Ltd.",
        ],
    );
    run.code(3);
    assert_eq!(
        run.stdout,
        "\"腾讯科技（深圳）有限责任公司\" → 腾讯科技深圳有限公司\n\
         \"Acme Co., Ltd.\" → acmeltd\n\
         \"Co., Ltd.\" ✗ legal_form_only: only a legal form, no company name\n"
    );
    let run = crate::util::run(
        dir.path(),
        &[
            "normalize",
            "--type",
            "wechat_id",
            " oUpF8uMuAJO_M2pxb1Q9zNjWeS6o ",
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6",
        ],
    );
    run.code(3);
    assert_eq!(
        run.stdout,
        "\" oUpF8uMuAJO_M2pxb1Q9zNjWeS6o \" → oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\n\
         \"oUpF8uMuAJO_M2pxb1Q9zNjWeS6\" ✗ invalid_length: wrong number of characters for this type\n"
    );
}
