//! Personal and organisation names: NFKC, case folding, one middle dot, single spaces.
//!
//! Names are compared as people write them, so the rules only remove differences
//! that carry no meaning: character width (NFKC), letter case, the half-dozen
//! middle-dot characters used between parts of transliterated names
//! (`阿卜杜拉·买买提`), spaces around that dot, runs of whitespace, and invisible
//! zero-width characters. No transliteration, no reordering of given/family name.

use super::{is_space, nfkc_into};
use crate::Rejection;

/// The single middle dot every variant is mapped to (U+00B7 MIDDLE DOT).
pub const MIDDLE_DOT: char = '\u{00B7}';

/// Characters used as the name-separating middle dot, all mapped to [`MIDDLE_DOT`].
pub const MIDDLE_DOT_VARIANTS: &[char] = &[
    '\u{00B7}', // · MIDDLE DOT
    '\u{0387}', // · GREEK ANO TELEIA (NFKC gives U+00B7)
    '\u{16EB}', // ᛫ RUNIC SINGLE PUNCTUATION
    '\u{2022}', // • BULLET
    '\u{2027}', // ‧ HYPHENATION POINT
    '\u{2219}', // ∙ BULLET OPERATOR
    '\u{22C5}', // ⋅ DOT OPERATOR
    '\u{2E31}', // ⸱ WORD SEPARATOR MIDDLE DOT
    '\u{30FB}', // ・ KATAKANA MIDDLE DOT
    '\u{A78F}', // ꞏ LATIN LETTER SINOLOGICAL DOT
    '\u{FF65}', // ･ HALFWIDTH KATAKANA MIDDLE DOT (NFKC gives U+30FB)
];

/// Normalises a name.
///
/// # Errors
/// `empty` if nothing but spaces, `control_character` for control characters.
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
    let start = out.len();
    if input.is_ascii() {
        fold_ascii(input, out)?;
    } else {
        // Each step can expose work for an earlier one (dropping a zero-width space
        // lets NFKC compose across it; lowercasing can un-normalise), so repeat the
        // pipeline until the output is a fixed point. Real names settle in one pass.
        let mut cur = one_pass(input)?;
        for _ in 0..4 {
            if settled(&cur) {
                break;
            }
            let next = one_pass(&cur)?;
            if next == cur {
                break;
            }
            cur = next;
        }
        out.push_str(&cur);
    }
    if out.len() == start {
        return Err(Rejection::Empty);
    }
    Ok(())
}

fn one_pass(input: &str) -> Result<String, Rejection> {
    let visible: String = input.chars().filter(|&c| !is_invisible(c)).collect();
    let mut nfkc = String::with_capacity(visible.len());
    nfkc_into(&visible, &mut nfkc);
    let lowered: String = nfkc.chars().flat_map(char::to_lowercase).collect();
    let mut renormalised = String::with_capacity(lowered.len());
    nfkc_into(&lowered, &mut renormalised);
    let mut out = String::with_capacity(renormalised.len());
    fold_unicode(&renormalised, &mut out)?;
    Ok(out)
}

/// Whether `one_pass` would return `s` unchanged: the layout step is idempotent on its
/// own output, so it suffices that `s` is NFKC and has no uppercase left.
fn settled(s: &str) -> bool {
    unicode_normalization::is_nfkc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
        && s.chars().flat_map(char::to_lowercase).eq(s.chars())
}

/// Zero-width and soft-hyphen characters that copy and paste leaves inside names.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

fn fold_ascii(input: &str, out: &mut String) -> Result<(), Rejection> {
    let mut pending_space = false;
    let start = out.len();
    for b in input.bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => pending_space = true,
            0..=0x1F | 0x7F => return Err(Rejection::ControlCharacter),
            _ => {
                if pending_space && out.len() > start {
                    out.push(' ');
                }
                pending_space = false;
                out.push(char::from(b.to_ascii_lowercase()));
            }
        }
    }
    Ok(())
}

fn fold_unicode(s: &str, out: &mut String) -> Result<(), Rejection> {
    let start = out.len();
    let mut pending_space = false;
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(
            c,
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
        ) {
            continue;
        }
        if is_space(c) {
            pending_space = true;
            continue;
        }
        if c.is_control() {
            return Err(Rejection::ControlCharacter);
        }
        let is_dot = MIDDLE_DOT_VARIANTS.contains(&c)
            // `阿卜杜拉.买买提`: a full stop between Han characters is a name dot.
            || (c == '.' && prev.is_some_and(is_han) && next_is_han_after_spaces(&mut chars));
        if is_dot {
            // Spaces around the dot carry no meaning: drop them on both sides.
            pending_space = false;
            while chars.peek().copied().is_some_and(is_space) {
                chars.next();
            }
            out.push(MIDDLE_DOT);
            prev = Some(MIDDLE_DOT);
            continue;
        }
        if pending_space && out.len() > start && prev != Some(MIDDLE_DOT) {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
        prev = Some(c);
    }
    Ok(())
}

/// Whether the next non-space character is a Han character (without consuming it).
fn next_is_han_after_spaces(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    chars.clone().find(|&c| !is_space(c)).is_some_and(is_han)
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_names() {
        assert_eq!(normalize("  John   SMITH ").as_deref(), Ok("john smith"));
        assert_eq!(normalize("John\tSmith\n").as_deref(), Ok("john smith"));
        assert_eq!(
            normalize("ＪＯＨＮ　ＳＭＩＴＨ").as_deref(),
            Ok("john smith")
        );
        assert_eq!(normalize("José Ñúñez").as_deref(), Ok("josé ñúñez"));
        // NFKC composes a decomposed accent.
        assert_eq!(normalize("Jose\u{301}").as_deref(), Ok("josé"));
        assert_eq!(normalize("O'Brien-Smith").as_deref(), Ok("o'brien-smith"));
    }

    #[test]
    fn chinese_names_and_middle_dots() {
        let want = "阿卜杜拉·买买提";
        for s in [
            "阿卜杜拉·买买提",
            "阿卜杜拉・买买提",
            "阿卜杜拉•买买提",
            "阿卜杜拉‧买买提",
            "阿卜杜拉･买买提",
            "阿卜杜拉∙买买提",
            "阿卜杜拉⋅买买提",
            "阿卜杜拉 · 买买提",
            "阿卜杜拉　・　买买提",
            "阿卜杜拉.买买提",
            "阿卜杜拉．买买提",
            " 阿卜杜拉·买买提\u{200B}",
        ] {
            assert_eq!(normalize(s).as_deref(), Ok(want), "{s:?}");
        }
        assert_eq!(normalize("张　三").as_deref(), Ok("张 三"));
        assert_eq!(normalize("张三").as_deref(), Ok("张三"));
    }

    #[test]
    fn rejections() {
        assert_eq!(normalize(""), Err(Rejection::Empty));
        assert_eq!(normalize(" \u{3000} "), Err(Rejection::Empty));
        assert_eq!(normalize("\u{200B}"), Err(Rejection::Empty));
        assert_eq!(normalize("a\u{0}b"), Err(Rejection::ControlCharacter));
        assert_eq!(normalize("张\u{7}三"), Err(Rejection::ControlCharacter));
    }
}
