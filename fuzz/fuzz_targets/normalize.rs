//! Every normaliser in `blindmatch_token::normalize`, on any text, under every profile
//! option.
//!
//! Input: one selector byte, then the value (invalid UTF-8 is replaced, as a CSV
//! reader would never hand it over but a fuzzer should still reach every branch).
//! Selector bits 0–2 and, as the high bit, bit 6 pick the identifier type (its
//! index in `IdType::ALL`, wrapping), bits 3–4 the phone default region (none, 86,
//! 44, 1), bit 5 the Gmail e-mail rules. (Bit 6 came with the ninth type, so the
//! seeds written for seven types keep their meaning.)
//!
//! Checked, beyond "never panics":
//! - the module function, `Profile::normalize` and `Profile::normalize_append` onto a
//!   non-empty buffer agree, and appending leaves the buffer's start alone;
//! - normalising is idempotent (`tests/properties.rs`, `docs/test-vectors`);
//! - outputs have their documented shape (E.164 with 7–15 digits, 18-character codes,
//!   names and text without edge or double spaces, raw values unchanged, company
//!   names of lowercase letters, digits and marks only, WeChat IDs of 28 characters
//!   kept as given);
//! - the fast paths agree with the general ones (`phone/scan.rs` `scan_plain`,
//!   `email.rs` `plain_ascii`, `name.rs` `fold_ascii`): a suffix that the rules drop
//!   but that forces the general path changes nothing.
#![no_main]

use blindmatch_token::normalize::{cn_id, company, email, name, phone, text, uscc, wechat_id};
use blindmatch_token::{CallingCode, EmailProviderRules, IdType, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let input = String::from_utf8_lossy(rest);
    let index = usize::from(selector & 7) | usize::from(selector >> 6 & 1) << 3;
    let id_type = IdType::ALL[index % IdType::ALL.len()];
    let region = match (selector >> 3) & 3 {
        0 => None,
        1 => Some(CallingCode::CN),
        2 => CallingCode::new(44).ok(),
        _ => CallingCode::new(1).ok(),
    };
    let rules = if selector & 0x20 == 0 {
        EmailProviderRules::None
    } else {
        EmailProviderRules::Gmail
    };
    check(id_type, region, rules, &input);
});

fn check(id_type: IdType, region: Option<CallingCode>, rules: EmailProviderRules, input: &str) {
    let profile = Profile::standard()
        .with_phone_default_region(region)
        .with_email_provider_rules(rules);
    let module = |s: &str| match id_type {
        IdType::Phone => phone::normalize(s, region),
        IdType::Email => email::normalize(s, rules),
        IdType::Uscc => uscc::normalize(s),
        IdType::CnId => cn_id::normalize(s),
        IdType::Name => name::normalize(s),
        IdType::Text => text::normalize(s),
        IdType::Raw => text::raw(s).map(str::to_owned),
        IdType::Company => company::normalize(s),
        IdType::WechatId => wechat_id::normalize(s),
    };

    let once = profile.normalize(id_type, input);
    assert_eq!(
        module(input),
        once,
        "{id_type}: module and profile disagree"
    );

    const PREFIX: &str = "前缀 prefix|";
    let mut buf = String::from(PREFIX);
    let appended = profile.normalize_append(id_type, input, &mut buf);
    assert!(
        buf.starts_with(PREFIX),
        "{id_type}: append changed the buffer"
    );
    match (&appended, &once) {
        (Ok(()), Ok(value)) => assert_eq!(&buf[PREFIX.len()..], value, "{id_type}: append"),
        (Err(a), Err(b)) => assert_eq!(a, b, "{id_type}: append rejects differently"),
        _ => panic!("{id_type}: append gives {appended:?}, normalize {once:?}"),
    }

    if let Ok(value) = &once {
        let twice = profile.normalize(id_type, value);
        assert_eq!(twice.as_ref(), Ok(value), "{id_type}: not idempotent");
        check_shape(id_type, input, value);
    }

    // A suffix every rule of the type drops, chosen so that the value no longer
    // takes the type's fast path.
    let suffix = match id_type {
        // Skipped as a separator; non-ASCII, so `scan_plain` and the ASCII loop pass.
        IdType::Phone => Some("\u{00B7}"),
        // Trimmed as a space; non-ASCII, so `plain_ascii` passes.
        IdType::Email => Some("\u{3000}"),
        // Invisible, so dropped; non-ASCII, so `fold_ascii` is not used.
        IdType::Name => Some("\u{200B}"),
        _ => None,
    };
    if let Some(suffix) = suffix {
        let slow = module(&format!("{input}{suffix}"));
        assert_eq!(slow, once, "{id_type}: fast and general paths disagree");
    }
}

fn check_shape(id_type: IdType, input: &str, value: &str) {
    let spaced = |s: &str| s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace);
    match id_type {
        IdType::Phone => {
            let digits = value.strip_prefix('+').unwrap_or("");
            assert!(
                digits.bytes().all(|b| b.is_ascii_digit()) && (7..=15).contains(&digits.len()),
                "phone: {value:?} is not E.164"
            );
        }
        IdType::Uscc => assert!(
            value.len() == uscc::LEN
                && value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "uscc: {value:?}"
        ),
        IdType::CnId => {
            let (body, check) = value.as_bytes().split_at(value.len().min(17));
            assert!(
                value.len() == 18
                    && body.iter().all(u8::is_ascii_digit)
                    && matches!(check, [b'0'..=b'9' | b'X']),
                "cn_id: {value:?}"
            );
        }
        IdType::Name => assert!(
            !value.is_empty() && !spaced(value) && !value.contains("  "),
            "name: {value:?}"
        ),
        IdType::Text => assert!(!value.is_empty() && !spaced(value), "text: {value:?}"),
        IdType::Raw => assert_eq!(value, input, "raw must pass the value through"),
        IdType::Company => assert!(
            !value.is_empty()
                && value.chars().count() <= company::MAX_CHARS
                && value
                    .chars()
                    .all(|c| !c.is_ascii() || c.is_ascii_lowercase() || c.is_ascii_digit())
                && !value.chars().any(char::is_whitespace),
            "company: {value:?}"
        ),
        IdType::WechatId => assert!(
            value.len() == wechat_id::LEN
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && input.contains(value),
            "wechat_id: {value:?}"
        ),
        // Its shape rules are many; idempotence covers it.
        IdType::Email => {}
    }
}
