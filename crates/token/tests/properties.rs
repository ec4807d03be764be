//! Property tests: normalising is idempotent, and every written form of one number
//! normalises to one output.
#![allow(clippy::unwrap_used, missing_docs)]

use blindmatch_token::normalize::{cn_id, email, name, phone, text, uscc};
use blindmatch_token::{CallingCode, EmailProviderRules, IdType, Key, Profile, Tokenizer};
use proptest::prelude::*;

/// Characters that stress the normalisers: full-width forms, odd spaces, dots,
/// combining marks, case pairs, Han, and the middle-dot variants.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        proptest::char::range('\u{FF01}', '\u{FF5E}'),
        proptest::sample::select(vec![
            ' ', '\t', '\u{3000}', '\u{00A0}', '\u{2003}', '\u{200B}', '.', '-', '@', '+', '(',
            ')', '·', '・', '•', '‧', '･', '∙', '⋅', '。', 'İ', 'ß', 'ẞ', 'Σ', 'ς', 'ﬁ', 'Ⅻ',
            '\u{0301}', '\u{0307}', '\u{0345}', 'é', 'Å', 'K', '张', '三', '阿', '买', '提', 'ｶ',
            'ﾞ', '가', '\u{1100}', '\u{1161}', '①', '㈱', 'ǅ', 'ᾼ',
        ]),
        any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(tricky_char(), 0..24).prop_map(|v| v.into_iter().collect())
}

fn profiles() -> Vec<Profile> {
    vec![
        Profile::standard(),
        Profile::standard().with_phone_default_region(Some(CallingCode::CN)),
        Profile::standard().with_phone_default_region(Some(CallingCode::new(44).unwrap())),
        Profile::standard().with_phone_default_region(Some(CallingCode::new(1).unwrap())),
        Profile::standard().with_email_provider_rules(EmailProviderRules::Gmail),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn every_normaliser_is_idempotent(input in tricky_string()) {
        for profile in profiles() {
            for t in IdType::ALL {
                if let Ok(once) = profile.normalize(t, &input) {
                    let twice = profile.normalize(t, &once);
                    prop_assert_eq!(twice.as_deref(), Ok(once.as_str()), "{} {:?}", t, input);
                }
            }
        }
    }

    #[test]
    fn email_idempotent_on_address_shaped_input(
        local in "[a-zA-Z0-9._+]{1,12}",
        noise in tricky_string(),
        domain in "[a-zA-Z0-9]{1,8}\\.(com|cn|org)",
    ) {
        let input = format!("{local}{noise}@{domain}");
        for rules in [EmailProviderRules::None, EmailProviderRules::Gmail] {
            if let Ok(once) = email::normalize(&input, rules) {
                prop_assert_eq!(email::normalize(&once, rules), Ok(once.clone()));
            }
        }
        let gmail = format!("{local}@gmail.com");
        if let Ok(once) = email::normalize(&gmail, EmailProviderRules::Gmail) {
            prop_assert!(!once.split('@').next().unwrap().contains(['.', '+']));
            prop_assert_eq!(email::normalize(&once, EmailProviderRules::Gmail), Ok(once.clone()));
        }
    }

    #[test]
    fn names_are_idempotent(input in tricky_string()) {
        if let Ok(once) = name::normalize(&input) {
            prop_assert_eq!(name::normalize(&once), Ok(once.clone()));
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
        }
        if let Ok(once) = text::normalize(&input) {
            prop_assert_eq!(text::normalize(&once), Ok(once.clone()));
        }
    }

    /// A Chinese mobile number written with any mix of prefixes, separators,
    /// full-width digits and labels normalises to one E.164 value.
    #[test]
    fn every_written_form_of_a_mobile_gives_one_output(
        prefix in proptest::sample::select(phone::CN_MOBILE_PREFIXES.to_vec()),
        rest in proptest::collection::vec(0u8..10, 8),
        cc_form in 0usize..6,
        label in proptest::sample::select(vec!["", "tel:", "TEL: ", "Tel. ", "手机：", "电话 ", "mobile:"]),
        seps in proptest::collection::vec(
            proptest::sample::select(vec!["", "", " ", "-", ".", "\u{3000}", "－", "\u{00A0}", "—"]), 11),
        widths in proptest::collection::vec(any::<bool>(), 11),
        brackets in any::<bool>(),
        region in proptest::sample::select(vec![None, Some(86u16)]),
    ) {
        let digits: Vec<u8> = prefix.to_string().bytes().map(|b| b - b'0').chain(rest).collect();
        let want = format!("+86{}", digits.iter().map(|d| char::from(b'0' + d)).collect::<String>());
        let mut body = String::new();
        for (i, d) in digits.iter().enumerate() {
            if brackets && i == 0 { body.push('('); }
            let c = char::from(b'0' + d);
            body.push(if widths[i] { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c });
            if brackets && i == 2 { body.push(')'); }
            body.push_str(seps[i]);
        }
        let cc = ["", "+86 ", "0086", "86-", "+86-0", "(+86) "][cc_form];
        let input = format!("{label}{cc}{body}");
        let region = region.map(|r| CallingCode::new(r).unwrap());
        prop_assert_eq!(phone::normalize(&input, region), Ok(want), "{:?}", input);
    }

    /// Landlines in any form, with the default region 86.
    #[test]
    fn every_written_form_of_a_landline_gives_one_output(
        area in proptest::sample::select(vec!["10", "21", "755", "731", "20"]),
        first in 2u8..10,
        rest in proptest::collection::vec(0u8..10, 7),
        form in 0usize..5,
        sep in proptest::sample::select(vec!["", " ", "-", "－", ")"]),
    ) {
        let sub: String = std::iter::once(first).chain(rest).map(|d| char::from(b'0' + d)).collect();
        let want = format!("+86{area}{sub}");
        let input = match form {
            0 => format!("0{area}{sep}{sub}"),
            1 => format!("+86 {area} {sub}"),
            2 => format!("0086{area}{sub}"),
            3 => format!("+86 0{area}-{sub}"),
            _ => format!("(0{area}) {sub}"),
        };
        prop_assert_eq!(phone::normalize(&input, Some(CallingCode::CN)), Ok(want.clone()), "{:?}", input);
        prop_assert_eq!(phone::normalize(&want, None), Ok(want));
    }

    /// USCC and ID numbers: case, width and separators never change the output.
    #[test]
    fn code_forms_agree(lower in any::<bool>(), wide in proptest::collection::vec(any::<bool>(), 18), sep in proptest::sample::select(vec!["", " ", "-", "\u{3000}"])) {
        for (code, f) in [
            ("91440300MA5D8YQK3X", uscc::normalize as fn(&str) -> _),
            ("11010519491231002X", cn_id::normalize as fn(&str) -> _),
        ] {
            let mut s = String::new();
            for (i, c) in code.chars().enumerate() {
                let c = if lower { c.to_ascii_lowercase() } else { c };
                s.push(if wide[i] { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c });
                if i % 4 == 3 { s.push_str(sep); }
            }
            prop_assert_eq!(f(&s), Ok(code.to_owned()), "{:?}", s);
        }
    }

    /// Tokens depend on key, type and value, and nothing else.
    #[test]
    fn tokens_are_functions_of_key_type_value(k1 in any::<[u8; 32]>(), k2 in any::<[u8; 32]>(), v in ".{0,40}") {
        let a = Tokenizer::new(&Key::from_bytes(k1));
        let b = Tokenizer::new(&Key::from_bytes(k2));
        prop_assert_eq!(a.token(IdType::Text, v.as_bytes()), Tokenizer::new(&Key::from_bytes(k1)).token(IdType::Text, v.as_bytes()));
        prop_assert_ne!(a.mac(IdType::Text, v.as_bytes()), a.mac(IdType::Name, v.as_bytes()));
        if k1 != k2 {
            prop_assert_ne!(a.mac(IdType::Text, v.as_bytes()), b.mac(IdType::Text, v.as_bytes()));
        }
    }
}
