//! Free text (trim + NFKC) and raw values (exact bytes).

use super::{is_space, nfkc_into};
use crate::Rejection;

/// Normalises free text: surrounding whitespace trimmed, then NFKC.
///
/// # Errors
/// `empty` if nothing remains.
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
    nfkc_into(input.trim_matches(is_space), out);
    // NFKC can turn a character into whitespace (U+2000..U+200A), so trim again.
    let kept = out.get(start..).unwrap_or("");
    if kept.starts_with(is_space) || kept.ends_with(is_space) {
        let trimmed = kept.trim_matches(is_space).to_owned();
        out.truncate(start);
        out.push_str(&trimmed);
    }
    if out.len() == start {
        return Err(Rejection::Empty);
    }
    Ok(())
}

/// Passes a raw value through unchanged; only the empty value is refused.
///
/// # Errors
/// `empty` for the empty string (an empty cell must never become a token).
pub fn raw(input: &str) -> Result<&str, Rejection> {
    if input.is_empty() {
        Err(Rejection::Empty)
    } else {
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_trims_and_applies_nfkc() {
        assert_eq!(normalize("  ＡＢＣ１２３ ").as_deref(), Ok("ABC123"));
        assert_eq!(normalize("ﬁle").as_deref(), Ok("file"));
        assert_eq!(
            normalize("Keep  inner   spaces").as_deref(),
            Ok("Keep  inner   spaces")
        );
        assert_eq!(normalize(" \u{3000}"), Err(Rejection::Empty));
        assert_eq!(normalize("\u{2003}x\u{2003}").as_deref(), Ok("x"));
    }

    #[test]
    fn raw_is_exact() {
        assert_eq!(raw(" A b "), Ok(" A b "));
        assert_eq!(raw("ｘ"), Ok("ｘ"));
        assert_eq!(raw(""), Err(Rejection::Empty));
    }
}
