//! Company names, Chinese and Latin: NFKC, lowercase, letters and digits only, and one
//! legal-form suffix unified through a fixed table.
//!
//! The rules remove differences that carry no meaning in a registered company name:
//! character width (`（）` and `()`, `ＡＢＣ` and `ABC`), letter case, spaces,
//! punctuation, brackets and other symbols (the bracket *contents* are kept:
//! `腾讯科技（深圳）有限公司` and `腾讯科技深圳有限公司` are one name), and the
//! written variants of a few legal forms at the very end of the name
//! ([`LEGAL_FORMS`]). Nothing beyond that table is guessed: no abbreviation, no
//! translation between Chinese and Latin names, no Traditional/Simplified mapping.

use super::{is_space, nfkc_into};
use crate::Rejection;

/// The most characters a normalised company name may have (`invalid_length` beyond).
///
/// Registered names are far shorter (PRC registration practice keeps them to a few
/// dozen characters, the UK register to 160); a longer value is not a company name.
pub const MAX_CHARS: usize = 200;

/// Which written legal forms are unified, and how a Latin one must stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormScript {
    /// A Chinese form: recognised wherever the name ends with it.
    Chinese,
    /// A Latin form: recognised only where it starts a word (see [`LEGAL_FORMS`]).
    Latin,
}

/// The legal-form suffixes that are unified: `(written form, canonical form, script)`,
/// longest written form first within each ending.
///
/// Written forms are given as they look after the earlier steps (NFKC, lowercase,
/// every character but letters, digits and marks dropped), so `Co., Ltd.`, `CO LTD`
/// and `Co.,Ltd` are all the written form `coltd`. A name ends with at most one
/// form; the one that matches is replaced by its canonical form. A Latin form
/// matches only where it starts a word: at the start of the value, right after a
/// dropped character (space, punctuation, bracket…), or right after a kept character
/// that is not an ASCII letter or digit (a Han character, say). So `Tesco Ltd` ends
/// with the form `ltd`, not `coltd`.
///
/// `股份有限公司` (joint-stock company) stays distinct from `有限公司` (limited
/// liability company): they are different legal forms under PRC company law.
pub const LEGAL_FORMS: &[(&str, &str, FormScript)] = &[
    // 有限责任公司 / 有限公司: limited liability company.
    ("股份有限公司", "股份有限公司", FormScript::Chinese),
    ("有限责任公司", "有限公司", FormScript::Chinese),
    ("有限公司", "有限公司", FormScript::Chinese),
    // Co., Ltd. / Company Limited / Limited / Ltd.
    ("companylimited", "ltd", FormScript::Latin),
    ("companyltd", "ltd", FormScript::Latin),
    ("colimited", "ltd", FormScript::Latin),
    ("coltd", "ltd", FormScript::Latin),
    ("limited", "ltd", FormScript::Latin),
    ("ltd", "ltd", FormScript::Latin),
    // Incorporated / Inc.
    ("incorporated", "inc", FormScript::Latin),
    ("inc", "inc", FormScript::Latin),
    // Corporation / Corp.
    ("corporation", "corp", FormScript::Latin),
    ("corp", "corp", FormScript::Latin),
];

/// Normalises a company name.
///
/// # Errors
/// `empty` if no letter or digit is left, `legal_form_only` if only a legal form
/// is, `invalid_length` beyond [`MAX_CHARS`], `control_character` for control
/// characters.
pub fn normalize(input: &str) -> Result<String, Rejection> {
    let mut out = String::with_capacity(input.len());
    normalize_into(input, &mut out)?;
    Ok(out)
}

/// As [`normalize`], appending to `out`.
///
/// # Errors
/// As [`normalize`].
pub fn normalize_into(input: &str, out: &mut String) -> Result<(), Rejection> {
    // Dropping a character can expose work for an earlier step (a combining mark
    // after a dropped bracket composes with the letter before it; a Latin form can
    // start a word only once its separator is gone), so repeat the pass until the
    // output is a fixed point. Every pass that changes a settled value shortens it,
    // and real names settle in one pass.
    let mut cur = one_pass(input)?;
    for _ in 0..16 {
        let next = one_pass(&cur)?;
        if next == cur {
            break;
        }
        cur = next;
    }
    if cur.chars().count() > MAX_CHARS {
        return Err(Rejection::InvalidLength);
    }
    out.push_str(&cur);
    Ok(())
}

fn one_pass(input: &str) -> Result<String, Rejection> {
    let visible: String = input.chars().filter(|&c| !is_invisible(c)).collect();
    let mut nfkc = String::with_capacity(visible.len());
    nfkc_into(&visible, &mut nfkc);
    let lowered: String = nfkc.chars().flat_map(char::to_lowercase).collect();
    let mut renormalised = String::with_capacity(lowered.len());
    nfkc_into(&lowered, &mut renormalised);

    // Keep letters, digits and marks; remember where a dropped character stood.
    let mut kept = String::with_capacity(renormalised.len());
    let mut word_starts = Vec::new();
    let mut dropped_before = true;
    for c in renormalised.chars() {
        if is_space(c) {
            dropped_before = true;
        } else if c.is_control() {
            return Err(Rejection::ControlCharacter);
        } else if is_kept(c) {
            let after_non_latin = kept
                .chars()
                .next_back()
                .is_some_and(|p| !p.is_ascii_alphanumeric());
            if dropped_before || after_non_latin {
                word_starts.push(kept.len());
            }
            kept.push(c);
            dropped_before = false;
        } else {
            dropped_before = true;
        }
    }
    if kept.is_empty() {
        return Err(Rejection::Empty);
    }
    if let Some((stem, canonical)) = legal_form(&kept, &word_starts) {
        if stem == 0 {
            return Err(Rejection::LegalFormOnly);
        }
        kept.truncate(stem);
        kept.push_str(canonical);
    }
    Ok(kept)
}

/// The byte offset where the legal-form suffix of `kept` starts, and its canonical
/// form, if `kept` ends with one of [`LEGAL_FORMS`].
fn legal_form(kept: &str, word_starts: &[usize]) -> Option<(usize, &'static str)> {
    LEGAL_FORMS
        .iter()
        .find_map(|&(written, canonical, script)| {
            let stem = kept.strip_suffix(written)?.len();
            match script {
                FormScript::Chinese => Some((stem, canonical)),
                FormScript::Latin => word_starts
                    .binary_search(&stem)
                    .is_ok()
                    .then_some((stem, canonical)),
            }
        })
}

/// Letters, digits and combining marks are kept; everything else is dropped.
fn is_kept(c: char) -> bool {
    c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
}

/// Zero-width and soft-hyphen characters that copy and paste leaves inside names.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, Rejection> {
        normalize(s)
    }

    #[test]
    fn width_brackets_spaces_and_punctuation() {
        let want = "腾讯科技深圳有限公司";
        for s in [
            "腾讯科技（深圳）有限公司",
            "腾讯科技(深圳)有限公司",
            "腾讯科技【深圳】有限公司",
            "腾讯科技[深圳]有限公司",
            "腾讯科技 (深圳) 有限公司",
            "腾讯科技　（深圳）　有限公司",
            " 腾讯科技(深圳)有限责任公司 ",
            "腾讯科技深圳有限公司\u{200B}",
            "腾讯科技「深圳」有限公司。",
        ] {
            assert_eq!(n(s).as_deref(), Ok(want), "{s:?}");
        }
        assert_eq!(n("ＡＢＣ　Ｔｒａｄｉｎｇ").as_deref(), Ok("abctrading"));
        assert_eq!(n("A&B Holdings").as_deref(), Ok("abholdings"));
        assert_eq!(n("北京１２３科技").as_deref(), Ok("北京123科技"));
    }

    #[test]
    fn chinese_legal_forms() {
        assert_eq!(n("华为技术有限公司").as_deref(), Ok("华为技术有限公司"));
        assert_eq!(n("华为技术有限责任公司").as_deref(), Ok("华为技术有限公司"));
        assert_eq!(
            n("平安银行股份有限公司").as_deref(),
            Ok("平安银行股份有限公司")
        );
        // A joint-stock company is not a limited liability company.
        assert_ne!(n("平安银行股份有限公司"), n("平安银行有限公司"));
        // Only at the end, only the table.
        assert_eq!(n("有限责任公司研究会").as_deref(), Ok("有限责任公司研究会"));
        assert_eq!(n("华为技术公司").as_deref(), Ok("华为技术公司"));
        assert_eq!(n("华为技术股份公司").as_deref(), Ok("华为技术股份公司"));
    }

    #[test]
    fn latin_legal_forms() {
        let want = "acmetradingltd";
        for s in [
            "Acme Trading Co., Ltd.",
            "ACME TRADING CO LTD",
            "Acme Trading Co.,Ltd",
            "Acme Trading Company Limited",
            "Acme Trading Company Ltd",
            "Acme Trading Co. Limited",
            "Acme Trading Limited",
            "Acme Trading Ltd.",
            "Acme Trading Ltd",
            "acme trading ltd",
            "ＡＣＭＥ ＴＲＡＤＩＮＧ ＣＯ．，ＬＴＤ．",
        ] {
            assert_eq!(n(s).as_deref(), Ok(want), "{s:?}");
        }
        assert_eq!(n("Acme Inc.").as_deref(), Ok("acmeinc"));
        assert_eq!(n("Acme Incorporated").as_deref(), Ok("acmeinc"));
        assert_eq!(n("Acme Corporation").as_deref(), Ok("acmecorp"));
        assert_eq!(n("Acme Corp.").as_deref(), Ok("acmecorp"));
        // Different legal forms stay different.
        assert_ne!(n("Acme Inc."), n("Acme Ltd."));
        assert_ne!(n("Acme LLC"), n("Acme Ltd."));
        // A form must start a word: Tesco's "co" is no "Co.".
        assert_eq!(n("Tesco Ltd").as_deref(), Ok("tescoltd"));
        assert_ne!(n("Tesco Ltd"), n("Tes Co Ltd"));
        assert_eq!(n("XYZ Unlimited").as_deref(), Ok("xyzunlimited"));
        // Not in the table: left alone.
        assert_eq!(n("Acme Co.").as_deref(), Ok("acmeco"));
        assert_eq!(n("Acme GmbH").as_deref(), Ok("acmegmbh"));
        // After a Han character a Latin form starts a word.
        assert_eq!(n("腾讯Co., Ltd.").as_deref(), Ok("腾讯ltd"));
        assert_eq!(n("腾讯 Limited").as_deref(), Ok("腾讯ltd"));
    }

    /// The "Not unified" list of docs/normalization.md.
    #[test]
    fn documented_non_unifications() {
        for (s, want) in [
            ("华为公司", "华为公司"),
            ("华为股份公司", "华为股份公司"),
            ("华为集团有限公司", "华为集团有限公司"),
            ("Acme Co.", "acmeco"),
            ("Acme Company", "acmecompany"),
            ("Acme LLC", "acmellc"),
            ("Acme PLC", "acmeplc"),
            ("Acme GmbH", "acmegmbh"),
            ("Acme Pte. Ltd.", "acmepteltd"),
            ("有限责任公司研究会", "有限责任公司研究会"),
            ("Acme Ltd (Hong Kong)", "acmeltdhongkong"),
            ("AcmeLimited", "acmelimited"),
            ("Acme Limited", "acmeltd"),
            ("Acme CoLtd", "acmeltd"),
            ("华为有限責任公司", "华为有限責任公司"),
            ("A&B", "ab"),
            ("A and B", "aandb"),
            ("A+B", "ab"),
            ("Acme™", "acmetm"),
            ("㈱日立", "株日立"),
        ] {
            assert_eq!(n(s).as_deref(), Ok(want), "{s:?}");
        }
        assert_eq!(n("- ."), Err(Rejection::Empty));
    }

    #[test]
    fn fixed_point_after_dropping() {
        // The first pass leaves `腾讯coltd`, whose `co` then starts a word.
        assert_eq!(n("腾讯 Co Co Ltd").as_deref(), Ok("腾讯ltd"));
        assert_eq!(n("Co Co Ltd"), Err(Rejection::LegalFormOnly));
        // A mark after a dropped bracket composes with the letter before it.
        assert_eq!(n("Jose(\u{301})").as_deref(), Ok("josé"));
        for s in ["腾讯 Co Co Ltd", "Jose(\u{301})", "Acme Trading Co., Ltd."] {
            let once = n(s).unwrap_or_default();
            assert_eq!(n(&once).as_deref(), Ok(once.as_str()), "{s:?}");
        }
    }

    #[test]
    fn rejections() {
        assert_eq!(n(""), Err(Rejection::Empty));
        assert_eq!(n(" \u{3000} "), Err(Rejection::Empty));
        assert_eq!(n("（）"), Err(Rejection::Empty));
        assert_eq!(n("-.,"), Err(Rejection::Empty));
        for s in [
            "有限公司",
            "有限责任公司",
            "股份有限公司",
            "（有限公司）",
            "Co., Ltd.",
            "Limited",
            "LTD",
            "Inc.",
            "Corporation",
        ] {
            assert_eq!(n(s), Err(Rejection::LegalFormOnly), "{s:?}");
        }
        assert_eq!(n("腾讯\u{0}科技"), Err(Rejection::ControlCharacter));
        assert_eq!(n("a\u{7}b"), Err(Rejection::ControlCharacter));
        assert!(n(&"字".repeat(MAX_CHARS)).is_ok());
        assert_eq!(
            n(&"字".repeat(MAX_CHARS + 1)),
            Err(Rejection::InvalidLength)
        );
        // Punctuation does not count towards the limit.
        assert!(n(&"字 ".repeat(MAX_CHARS)).is_ok());
    }
}
