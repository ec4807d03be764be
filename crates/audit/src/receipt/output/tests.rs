//! Tests of the output-file check with the layouts of one rule and of several.

#![allow(clippy::unwrap_used)]
use std::path::Path;

use serde_json::Value;

use super::*;
use crate::receipt::checks::tests::pair;
use crate::receipt::rules::tests::multi_pair;

/// The matched rows of receipt A of [`multi_pair`]: 40 rows; `phone` matched rows
/// 1–31, `email` 21–40, `name+company` 35–40.
fn several_rules_output() -> Vec<Vec<String>> {
    let mut rows = vec![
        "row,customer_id,match_id,matched_rules,match_id.phone,match_id.email,match_id.name+company"
            .split(',')
            .map(str::to_owned)
            .collect::<Vec<_>>(),
    ];
    for i in 1..=40u64 {
        let ids = [
            (i <= 31).then(|| format!("p{i:04}")),
            (i >= 21).then(|| format!("e{i:04}")),
            (i >= 35).then(|| format!("n{i:04}")),
        ];
        let names: Vec<&str> = ["phone", "email", "name+company"]
            .iter()
            .zip(&ids)
            .filter(|(_, id)| id.is_some())
            .map(|(n, _)| *n)
            .collect();
        let mut row = vec![
            (i * 3).to_string(),
            format!("C{i}"),
            ids.iter().flatten().next().cloned().unwrap_or_default(),
            names.join(";"),
        ];
        row.extend(ids.iter().map(|id| id.clone().unwrap_or_default()));
        rows.push(row);
    }
    rows
}

/// Findings as (check, field).
type Found = Vec<(&'static str, Option<String>)>;

/// Writes `rows` as CSV, records its hash and size in `receipt`, and runs the
/// output check on it: the findings' (check, field) and the notes.
fn run(receipt: &mut Value, rows: &[Vec<String>]) -> (Found, Vec<String>, OutputCheck) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let text: String = rows.iter().map(|r| format!("{}\n", r.join(","))).collect();
    std::fs::write(&path, text).unwrap();
    let (sha256, bytes) = files::hash_file(&path).unwrap();
    receipt["output"] = serde_json::json!({"path": "out.csv", "sha256": sha256, "bytes": bytes});
    receipt["result"]["matched_rows"] = (rows.len() as u64 - 1).into();
    let r = Receipt::from_value("A", receipt);
    let (mut findings, mut notes) = (Vec::new(), Vec::new());
    let check = check_output(
        &r,
        &dir.path().join("a.json"),
        Some(&path),
        b',',
        &mut findings,
        &mut notes,
    )
    .unwrap()
    .unwrap();
    let found = findings.into_iter().map(|f| (f.check, f.field)).collect();
    (found, notes, check)
}

#[test]
fn the_layout_of_several_rules_is_read_and_counted_per_rule() {
    let (mut a, _) = multi_pair();
    let (found, notes, check) = run(&mut a, &several_rules_output());
    assert_eq!(found, vec![]);
    assert_eq!(notes, Vec::<String>::new());
    assert_eq!(check.rows, Some(40));
    let counted: Vec<(String, u64)> = check
        .rules
        .unwrap()
        .into_iter()
        .map(|r| (r.rule, r.rows))
        .collect();
    assert_eq!(
        counted,
        vec![
            ("phone".to_owned(), 31),
            ("email".to_owned(), 20),
            ("name+company".to_owned(), 6)
        ]
    );
}

#[test]
fn a_missing_column_of_the_layout_is_a_finding() {
    for missing in ["match_id.email", "matched_rules", "match_id"] {
        let (mut a, _) = multi_pair();
        let mut rows = several_rules_output();
        let at = rows[0].iter().position(|h| h == missing).unwrap();
        for row in &mut rows {
            row.remove(at);
        }
        let (found, _, _) = run(&mut a, &rows);
        assert_eq!(
            found,
            vec![("output_layout_mismatch", Some("output".into()))],
            "{missing}"
        );
    }
}

#[test]
fn rows_whose_rules_do_not_follow_from_their_ids_are_found() {
    let (mut a, _) = multi_pair();
    let mut rows = several_rules_output();
    // Row 5 claims an e-mail match it has no ID for; row 26's match ID is not its
    // first rule's.
    rows[5][3] = "phone;email".into();
    rows[26][2] = "e0026".into();
    let dir_rows = rows.clone();
    let (found, _, _) = run(&mut a, &dir_rows);
    assert_eq!(
        found,
        vec![("output_layout_mismatch", Some("output".into()))]
    );
    // The finding lists the rows, never a cell.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let text: String = rows.iter().map(|r| format!("{}\n", r.join(","))).collect();
    std::fs::write(&path, text).unwrap();
    let r = Receipt::from_value("A", &a);
    let mut findings = Vec::new();
    check_output(
        &r,
        Path::new("a.json"),
        Some(&path),
        b',',
        &mut findings,
        &mut Vec::new(),
    )
    .unwrap();
    let layout = findings
        .iter()
        .find(|f| f.check == "output_layout_mismatch")
        .unwrap();
    assert_eq!(layout.rows.as_deref(), Some(&[5, 26][..]));
    assert!(!layout.message.contains("e0026"), "{}", layout.message);
}

#[test]
fn per_rule_rows_are_counted_against_the_receipt() {
    let (mut a, _) = multi_pair();
    let mut rows = several_rules_output();
    // Row 1 loses its only match: 39 rows remain, 30 of them under `phone`.
    rows.remove(1);
    a["rules"][0]["matched_rows"] = 31.into();
    let (found, _, _) = run(&mut a, &rows);
    assert_eq!(
        found,
        vec![("count_mismatch", Some("rules[0].matched_rows".into()))]
    );
}

#[test]
fn one_rule_keeps_the_old_layout_and_a_version_1_receipt_its_note() {
    // Version 2, one rule: `row,<keep…>,match_id`, nothing else required.
    let (mut a, _) = pair();
    a["version"] = 2.into();
    a["rules"] = serde_json::json!([{"rule": "phone", "columns": ["phone"], "local_size": 80,
        "peer_size": 100, "matched_values": 2, "matched_rows": 2}]);
    let rows: Vec<Vec<String>> = ["row,customer_id,match_id", "1,C1,ab", "4,C4,cd"]
        .iter()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let (found, notes, check) = run(&mut a.clone(), &rows);
    assert_eq!((found, notes), (vec![], vec![]));
    assert!(check.rules.is_none());
    // Without `match_id`: a finding with rules, a note before them (version 1).
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r[..2].to_vec()).collect();
    let (found, _, _) = run(&mut a, &rows);
    assert_eq!(
        found,
        vec![("output_layout_mismatch", Some("output".into()))]
    );
    let (mut v1, _) = pair();
    let (found, notes, _) = run(&mut v1, &rows);
    assert_eq!(found, vec![]);
    assert_eq!(notes.len(), 1, "{notes:?}");
}
