//! The receipt reader of `blindmatch audit receipt`
//! (`blindmatch_audit::receipt_findings`: two receipts read from their bytes,
//! each checked in itself, then against each other), on any bytes.
//!
//! The input is receipt A, a NUL byte, and receipt B (a NUL can only be escaped
//! inside JSON); without a NUL, A is compared with itself. Checked, beyond "never
//! panics":
//! - a read fails exactly when one of the two is not a receipt this build reads by
//!   `format` and `version` (full or shareable, versions 1 and 2), and the error is
//!   bad input naming that file;
//! - the checks are symmetric: swapping A and B gives the same findings by code
//!   and field;
//! - the findings depend on the JSON values only: the receipts re-encoded give
//!   the same findings;
//! - findings are well formed and show no string of either receipt, key or value,
//!   that looks like a raw identifier.
//!
//! The seeds are receipt pairs as the match pipeline writes them (they read back
//! with no findings: `examples/seeds.rs` checks it) and near misses.
#![no_main]

#[path = "shared/documents.rs"]
mod documents;

use std::path::Path;

use blindmatch_audit::{Finding, receipt_findings};
use blindmatch_pipeline::receipt::{FORMAT, SHAREABLE_FORMAT, SHAREABLE_VERSION, VERSION};
use documents::{Texts, check_error, check_findings, shown_ok, summary};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const A: &str = "fuzz-a.receipt.json";
const B: &str = "fuzz-b.receipt.json";

fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let values = [a, b].map(|bytes| serde_json::from_slice::<Value>(bytes).ok());
    let texts = Texts::of(values.iter().flatten());
    let ok = shown_ok(&texts);
    // The forms the audit reads: full and shareable receipts, versions 1 and 2.
    let is_receipt = |v: &Option<Value>| {
        v.as_ref().is_some_and(|v| {
            let version = v.get("version").and_then(Value::as_u64);
            match v.get("format").and_then(Value::as_str) {
                Some(f) if f == FORMAT => {
                    version.is_some_and(|n| n == 1 || n == u64::from(VERSION))
                }
                Some(f) if f == SHAREABLE_FORMAT => {
                    version.is_some_and(|n| n == 1 || n == u64::from(SHAREABLE_VERSION))
                }
                _ => false,
            }
        })
    };
    let found = read(a, b);
    assert_eq!(
        found.is_ok(),
        values.iter().all(is_receipt),
        "{:?}",
        found.as_ref().err()
    );
    let findings = match found {
        Ok(findings) => findings,
        Err(e) => {
            let name = if is_receipt(&values[0]) { B } else { A };
            check_error(&e, &[name], &texts.strings, &ok);
            return;
        }
    };
    let swapped = read(b, a).expect("the receipts read the other way round");
    assert_eq!(
        codes(&findings),
        codes(&swapped),
        "the checks are not symmetric"
    );
    let [Some(va), Some(vb)] = &values else {
        unreachable!("both are receipts");
    };
    let encode = |v: &Value| serde_json::to_vec_pretty(v).expect("a JSON value encodes");
    let refound = read(&encode(va), &encode(vb)).expect("the re-encoded receipts read");
    assert_eq!(
        summary(&findings),
        summary(&refound),
        "findings depend on the encoding"
    );
    check_findings(&findings, &texts.strings, &ok);
});

fn read(a: &[u8], b: &[u8]) -> blindmatch_data::Result<Vec<Finding>> {
    receipt_findings(a, Path::new(A), b, Path::new(B))
}

/// The findings by check code and field, in a stable order.
fn codes(findings: &[Finding]) -> Vec<(&'static str, Option<String>)> {
    let mut codes: Vec<_> = findings
        .iter()
        .map(|f| (f.check, f.field.clone()))
        .collect();
    codes.sort();
    codes
}
