//! Key file parsing (`KeyFile::parse_bytes`, what `KeyFile::read` calls on a file's
//! bytes), on any bytes.
//!
//! Checked, beyond "never panics": a file that parses is written back by `to_text`
//! as a file that parses to the same key and metadata, and that text is a fixed
//! point; an error message never echoes the value of a `key:` line.
#![no_main]

use blindmatch_token::KeyFile;
use libfuzzer_sys::fuzz_target;
use subtle::ConstantTimeEq;

fuzz_target!(|data: &[u8]| {
    match KeyFile::parse_bytes(data) {
        Ok(file) => {
            let text = file.to_text();
            let again = match KeyFile::parse(&text) {
                Ok(again) => again,
                Err(e) => panic!("to_text output does not parse: {e}"),
            };
            assert!(bool::from(again.key().ct_eq(file.key())));
            assert_eq!(again.key_id(), file.key_id());
            assert_eq!(again.created(), file.created());
            assert_eq!(again.purpose(), file.purpose());
            assert_eq!(again.derivation(), file.derivation());
            assert_eq!(*again.to_text(), *text, "to_text is not a fixed point");
        }
        Err(e) => {
            let message = e.to_string();
            let text = String::from_utf8_lossy(data);
            for line in text.lines() {
                let value = line.trim().strip_prefix("key:").map(str::trim);
                // Only a value that looks like key material: short ones can be
                // words of the fixed message text.
                let keyish = |v: &&str| {
                    v.len() >= 20
                        && v.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                };
                if let Some(value) = value.filter(keyish) {
                    assert!(!message.contains(value), "error echoes the key: {message}");
                }
            }
        }
    }
});
