//! Property tests: normalising is idempotent, and every written form of one number
//! normalises to one output.
#![allow(clippy::unwrap_used, missing_docs)]

use blindmatch_token::Rejection;
use blindmatch_token::normalize::{cn_id, company, email, name, phone, text, uscc, wechat_id};
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

/// A company name's stem: Han characters, Latin words and digits, each optionally
/// written full-width, with separators between the parts.
fn company_stem() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            "[a-z]{1,8}",
            "[A-Z][a-z]{0,7}",
            "[0-9]{1,3}",
            proptest::sample::select(vec![
                "腾讯", "科技", "深圳", "北京", "华为", "银行", "贸易", "集团"
            ])
            .prop_map(str::to_owned),
        ],
        1..5,
    )
}

/// Writes `s` with every ASCII letter, digit and punctuation mark full-width.
fn widen(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            ' ' => '\u{3000}',
            _ => c,
        })
        .collect()
}

/// The written variants of each legal-form class, and the canonical form.
const COMPANY_FORMS: &[(&[&str], &str)] = &[
    (&["有限公司", "有限责任公司"], "有限公司"),
    (&["股份有限公司"], "股份有限公司"),
    (
        &[
            "Co., Ltd.",
            "CO LTD",
            "Co.,Ltd",
            "Company Limited",
            "Company Ltd",
            "Co. Limited",
            "Limited",
            "Ltd.",
            "ltd",
        ],
        "ltd",
    ),
    (&["Inc.", "Incorporated", "INC"], "inc"),
    (&["Corp.", "Corporation"], "corp"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn company_is_idempotent_and_keeps_only_letters_digits_marks(input in tricky_string()) {
        if let Ok(once) = company::normalize(&input) {
            prop_assert_eq!(company::normalize(&once), Ok(once.clone()), "{:?}", input);
            prop_assert!(once.chars().all(|c| c.is_alphanumeric() || !c.is_ascii() && !c.is_whitespace()), "{:?}", once);
            prop_assert!(once.chars().all(|c| !c.is_ascii() || c.is_ascii_lowercase() || c.is_ascii_digit()), "{:?}", once);
            prop_assert!(once.chars().count() <= company::MAX_CHARS);
        }
    }

    /// Width, brackets (full-width, half-width, 【】, []), separators, case and the
    /// written variant of a legal form never change the output; the class does.
    #[test]
    fn company_forms_agree(
        stem in company_stem(),
        seps in proptest::collection::vec(proptest::sample::select(vec![" ", "", "\u{3000}", "·", "-", ", ", "&"]), 5),
        bracket in 0usize..5,
        wide in any::<bool>(),
        upper in any::<bool>(),
        class in 0usize..5,
        a in any::<proptest::sample::Index>(),
        b in any::<proptest::sample::Index>(),
    ) {
        let (forms, canonical) = COMPANY_FORMS[class];
        // A stem ending in the word `co` or `company` would lend it to the form.
        let last = stem.last().map(|w| w.to_lowercase()).unwrap_or_default();
        prop_assume!(last != "co" && last != "company");
        let write = |form: &str, bracket: usize, wide: bool, upper: bool| {
            let mut s = String::new();
            for (i, part) in stem.iter().enumerate() {
                if i > 0 { s.push_str(seps[i]); }
                if i == 1 && stem.len() > 2 {
                    let (open, close) = [("(", ")"), ("（", "）"), ("【", "】"), ("[", "]"), ("", "")][bracket];
                    s.push_str(open);
                    s.push_str(part);
                    s.push_str(close);
                } else {
                    s.push_str(part);
                }
            }
            // A separator before the form, so a Latin form starts a word.
            s.push(' ');
            s.push_str(form);
            let s = if upper { s.to_uppercase() } else { s };
            if wide { widen(&s) } else { s }
        };
        let plain = write(forms[a.index(forms.len())], 4, false, false);
        let other = write(forms[b.index(forms.len())], bracket, wide, upper);
        let want = company::normalize(&plain);
        prop_assert_eq!(&company::normalize(&other), &want, "{:?} vs {:?}", plain, other);
        let want = want.unwrap();
        let stem_out: String = stem.concat().to_lowercase();
        prop_assert_eq!(want, format!("{stem_out}{canonical}"));
        // Only the legal form: refused.
        prop_assert_eq!(company::normalize(forms[a.index(forms.len())]), Err(Rejection::LegalFormOnly));
    }

    #[test]
    fn wechat_ids_are_kept_exactly(id in "[A-Za-z0-9_-]{28}", pad in "[ \t\u{3000}]{0,3}") {
        let padded = format!("{pad}{id}{pad}");
        prop_assert_eq!(wechat_id::normalize(&padded), Ok(id.clone()));
        let lower = id.to_ascii_lowercase();
        prop_assert_eq!(wechat_id::normalize(&lower), Ok(lower.clone()));
        prop_assert_eq!(wechat_id::normalize(&id) == wechat_id::normalize(&lower), id == lower);
    }

    #[test]
    fn wechat_id_format_is_checked(input in tricky_string()) {
        match wechat_id::normalize(&input) {
            Ok(id) => {
                prop_assert_eq!(id.len(), wechat_id::LEN);
                prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
                prop_assert!(input.contains(id.as_str()));
            }
            Err(r) => prop_assert!(matches!(
                r,
                Rejection::Empty | Rejection::InvalidCharacter | Rejection::InvalidLength | Rejection::ControlCharacter
            )),
        }
    }

    #[test]
    fn wechat_id_wrong_lengths_are_refused(id in "[A-Za-z0-9_-]{1,60}") {
        let got = wechat_id::normalize(&id);
        if id.len() == wechat_id::LEN {
            prop_assert_eq!(got, Ok(id));
        } else {
            prop_assert_eq!(got, Err(Rejection::InvalidLength));
        }
    }
}
