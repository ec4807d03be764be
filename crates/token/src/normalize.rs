//! Identifier normalisers, one module per identifier type, plus the helpers they share.
//!
//! Every normaliser is a pure function of its input and options: the same input
//! gives the same output on every machine and every day, which is what lets two
//! partners match. Each module offers `normalize` (returns a `String`) and
//! `normalize_into` (appends to a caller buffer, for the hot path). On rejection
//! nothing useful is left in the buffer; callers clear it before reuse.

pub mod cn_id;
pub mod company;
pub mod email;
pub mod name;
pub mod phone;
pub mod text;
pub mod uscc;
pub mod wechat_id;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Appends the NFKC form of `s` to `out`, skipping the tables for ASCII or already-normal input.
pub(crate) fn nfkc_into(s: &str, out: &mut String) {
    if s.is_ascii() || is_nfkc_quick(s.chars()) == IsNormalized::Yes {
        out.push_str(s);
    } else {
        out.extend(s.nfkc());
    }
}

/// `s` without leading and trailing [`is_space`] characters. ASCII whitespace is
/// trimmed byte by byte; only a non-ASCII character at an edge (which may be a
/// Unicode space) takes the character-by-character way.
pub(crate) fn trim_space(s: &str) -> &str {
    let blank = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    let inner = s.get(start..end).unwrap_or("");
    match (inner.as_bytes().first(), inner.as_bytes().last()) {
        (Some(first), Some(last)) if !first.is_ascii() || !last.is_ascii() => {
            inner.trim_matches(is_space)
        }
        _ => inner,
    }
}

/// Maps a full-width ASCII variant (U+FF01..U+FF5E) or the ideographic space to ASCII.
///
/// Used by the code-like normalisers (phone, USCC, ID number) that never need the
/// rest of NFKC and must stay allocation-free.
pub(crate) fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Dash-like characters people put between digit groups.
pub(crate) fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{30FC}' | '_'
    )
}

/// Whitespace including the no-break and zero-width kinds that arrive via copy and paste.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_width_maps_fullwidth_ascii_only() {
        assert_eq!(fold_width('１'), '1');
        assert_eq!(fold_width('Ａ'), 'A');
        assert_eq!(fold_width('ｚ'), 'z');
        assert_eq!(fold_width('＋'), '+');
        assert_eq!(fold_width('\u{3000}'), ' ');
        assert_eq!(fold_width('中'), '中');
    }

    #[test]
    fn trim_space_trims_like_trim_matches() {
        for s in [
            "",
            " ",
            "a",
            " a ",
            "\u{3000}a\u{3000}",
            "a\u{200B}",
            "\x0ba\t",
            "a b",
            "é",
            " é ",
            "\u{FEFF}+86 138",
            "138\u{00A0}",
            "\x0b",
            " \u{3000} a \u{2003} ",
            "\u{85}a",
            "a\x1f",
            "\t\r\n",
        ] {
            assert_eq!(trim_space(s), s.trim_matches(is_space), "{s:?}");
        }
    }

    #[test]
    fn nfkc_fast_path_and_slow_path_agree() {
        let mut out = String::new();
        nfkc_into("plain ascii", &mut out);
        assert_eq!(out, "plain ascii");
        out.clear();
        nfkc_into("ｆｕｌｌ　ｗｉｄｔｈ", &mut out);
        assert_eq!(out, "full width");
        out.clear();
        nfkc_into("张三", &mut out);
        assert_eq!(out, "张三");
    }
}
