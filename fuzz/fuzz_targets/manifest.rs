//! The manifest reader of `blindmatch audit manifest`
//! (`blindmatch_audit::manifest_findings`: the manifest read from its bytes and
//! checked in itself, before any other file is looked at), on any bytes.
//!
//! Checked, beyond "never panics":
//! - a read fails exactly when the bytes are not JSON, or not a version 1
//!   manifest by `format` and `version`; the error is bad input naming the file;
//! - the findings depend on the JSON value only: the same manifest re-encoded
//!   gives the same findings;
//! - findings are well formed (row lists ordered, counts cover them) and show no
//!   string of the manifest, key or value, that looks like a raw identifier.
//!
//! The seeds are manifests written by the real tokenize pipeline (they read back
//! with no findings: `examples/seeds.rs` checks it) and near misses.
#![no_main]

#[path = "shared/documents.rs"]
mod documents;

use std::path::Path;

use blindmatch_audit::manifest_findings;
use blindmatch_pipeline::manifest::{FORMAT, VERSION};
use documents::{Texts, check_error, check_findings, shown_ok, summary};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const NAME: &str = "fuzz.manifest.json";

fuzz_target!(|data: &[u8]| {
    let value: Option<Value> = serde_json::from_slice(data).ok();
    let texts = Texts::of(&value);
    let ok = shown_ok(&texts);
    match manifest_findings(data, Path::new(NAME)) {
        Err(e) => {
            check_error(&e, &[NAME], &texts.strings, &ok);
            if let Some(v) = &value {
                let format = v.get("format").and_then(Value::as_str);
                let version = v.get("version").and_then(Value::as_u64);
                assert!(
                    format != Some(FORMAT) || version != Some(u64::from(VERSION)),
                    "a version {VERSION} manifest was refused: {e}"
                );
            }
        }
        Ok(findings) => {
            let Some(v) = value else {
                panic!("bytes that are not JSON were read as a manifest");
            };
            let again = serde_json::to_vec_pretty(&v).expect("a JSON value encodes");
            let refound = manifest_findings(&again, Path::new(NAME))
                .unwrap_or_else(|e| panic!("the re-encoded manifest is refused: {e}"));
            assert_eq!(
                summary(&findings),
                summary(&refound),
                "findings depend on the encoding"
            );
            check_findings(&findings, &texts.strings, &ok);
        }
    }
});
