//! The text forms read back from files and command lines: tokens (`bm1.<kid>.<mac>`,
//! read by `audit` and `match`), short customer codes, key IDs and profile names.
//!
//! Checked, beyond "never panics": a token that parses is written back exactly as
//! given (the format has one spelling per token); a short code, key ID or profile
//! name that parses is written in a form that parses to the same value, and that
//! form is a fixed point.
#![no_main]

use blindmatch_token::{KeyId, Profile, ShortCode, Token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = Token::parse(s) {
        assert_eq!(token.to_string(), s, "a token has one spelling");
        assert!((16..=32).contains(&token.mac().len()));
    }
    if let Ok(code) = ShortCode::parse(s) {
        let again = ShortCode::parse(code.as_str());
        assert_eq!(
            again.ok().as_ref().map(ShortCode::as_str),
            Some(code.as_str())
        );
        assert!(
            code.as_str()
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b"*~$=".contains(&b)),
            "{code}"
        );
    }
    if let Ok(id) = s.parse::<KeyId>() {
        assert_eq!(id.to_string(), s, "a key ID has one spelling");
    }
    if let Ok(profile) = s.parse::<Profile>() {
        let name = profile.name();
        assert_eq!(name.parse::<Profile>().ok(), Some(profile), "{name}");
    }
});
