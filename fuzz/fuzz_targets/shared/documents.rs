//! Checks shared by the targets that read documents from outside (manifests,
//! receipts, token files): what a finding shows, and that it shows no raw
//! identifier taken from the document.

use blindmatch_audit::Finding;
use blindmatch_data::Category;
use blindmatch_data::scan::is_safe_name;
use serde_json::Value;

/// Every string of a JSON value, object keys included, and every number as JSON
/// writes it.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    pub(crate) strings: Vec<String>,
    pub(crate) numbers: Vec<String>,
}

impl Texts {
    pub(crate) fn of<'a>(values: impl IntoIterator<Item = &'a Value>) -> Texts {
        let mut texts = Texts::default();
        values.into_iter().for_each(|v| texts.add(v));
        texts
    }

    fn add(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.strings.push(s.clone()),
            Value::Number(n) => self.numbers.push(n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| self.add(v)),
            Value::Object(map) => {
                for (key, v) in map {
                    self.strings.push(key.clone());
                    self.add(v);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

/// What a finding shows a reader: its message, field and column.
pub(crate) fn shown(f: &Finding) -> String {
    format!(
        "{}\n{}\n{}",
        f.message,
        f.field.as_deref().unwrap_or_default(),
        f.column.as_deref().unwrap_or_default()
    )
}

/// Findings as one comparable text (`Finding` has no `PartialEq`).
pub(crate) fn summary(findings: &[Finding]) -> String {
    serde_json::to_string(findings).expect("findings encode as JSON")
}

/// Every finding is well formed and shows no `candidate` that looks like a raw
/// identifier (names read from files go through the scanner first), unless the
/// candidate is part of something a report may show: a name that scans clean,
/// or a number (counts and sizes are reported as they are).
pub(crate) fn check_findings(findings: &[Finding], candidates: &[String], shown_ok: &[String]) {
    let shown: Vec<String> = findings.iter().map(shown).collect();
    for f in findings {
        assert!(!f.message.is_empty() && !f.check.is_empty(), "{f:?}");
        assert!(f.field.as_deref() != Some(""), "{f:?}");
        if let Some(rows) = &f.rows {
            let count = f.count.expect("a finding with rows has a count");
            assert!(rows.len() as u64 <= count, "{f:?}");
            assert_eq!(f.rows_truncated, count > rows.len() as u64, "{f:?}");
            assert!(
                rows.windows(2).all(|w| w[0] < w[1]),
                "rows out of order: {f:?}"
            );
        }
    }
    for candidate in candidates {
        if is_safe_name(candidate) || shown_ok.iter().any(|s| s.contains(candidate.as_str())) {
            continue;
        }
        for text in &shown {
            assert!(
                !text.contains(candidate.as_str()),
                "a finding shows a raw identifier read from the file: {text:?}"
            );
        }
    }
}

/// The texts of `texts` that a report may show as they are: names that scan
/// clean, and numbers.
pub(crate) fn shown_ok(texts: &Texts) -> Vec<String> {
    texts
        .strings
        .iter()
        .filter(|s| is_safe_name(s))
        .chain(&texts.numbers)
        .cloned()
        .collect()
}

/// An error of an audit read: bad input naming one of `names`, and with no
/// candidate that looks like a raw identifier in its message or hint (unless part
/// of something it may show, as for [`check_findings`]).
pub(crate) fn check_error(
    e: &blindmatch_data::Error,
    names: &[&str],
    candidates: &[String],
    shown_ok: &[String],
) {
    assert_eq!(e.category(), Category::BadInput, "{e}");
    let text = format!("{}\n{}", e.message(), e.hint_text().unwrap_or_default());
    assert!(
        names.iter().any(|n| text.contains(&format!("'{n}'"))),
        "an error that names no file: {text}"
    );
    for candidate in candidates {
        if is_safe_name(candidate) || shown_ok.iter().any(|s| s.contains(candidate.as_str())) {
            continue;
        }
        assert!(
            !text.contains(candidate.as_str()),
            "an error shows a raw identifier: {text}"
        );
    }
}
