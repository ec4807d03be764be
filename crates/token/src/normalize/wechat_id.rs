//! WeChat OpenIDs and UnionIDs, exactly as WeChat issued them.
//!
//! Both are opaque strings that WeChat's APIs hand out (`openid`, `unionid` fields);
//! they are case-sensitive, so case is kept exactly and nothing is mapped (no NFKC,
//! no full-width folding). Only whitespace around the value is trimmed. What is
//! checked is the shape seen in every issued ID: [`LEN`] characters from
//! `A–Z a–z 0–9 _ -`. The leading `o` that issued IDs carry is not required,
//! because WeChat does not document the format.

use super::trim_space;
use crate::Rejection;

/// Length of an OpenID or UnionID, in characters.
pub const LEN: usize = 28;

/// Normalises a WeChat OpenID or UnionID: trimmed, otherwise unchanged.
///
/// # Errors
/// `empty`, `control_character`, `invalid_character` (anything but ASCII letters,
/// digits, `_` and `-`, checked first), `invalid_length` (not [`LEN`] characters).
pub fn normalize(input: &str) -> Result<String, Rejection> {
    let mut out = String::with_capacity(LEN);
    normalize_into(input, &mut out)?;
    Ok(out)
}

/// As [`normalize`], appending to `out`.
///
/// # Errors
/// As [`normalize`].
pub fn normalize_into(input: &str, out: &mut String) -> Result<(), Rejection> {
    let id = trim_space(input);
    if id.is_empty() {
        return Err(Rejection::Empty);
    }
    for c in id.chars() {
        if c.is_control() {
            return Err(Rejection::ControlCharacter);
        }
        if !(c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(Rejection::InvalidCharacter);
        }
    }
    // Every character is ASCII now, so bytes are characters.
    if id.len() != LEN {
        return Err(Rejection::InvalidLength);
    }
    out.push_str(id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

    #[test]
    fn accepted_as_issued() {
        assert_eq!(OPENID.len(), LEN);
        assert_eq!(normalize(OPENID).as_deref(), Ok(OPENID));
        assert_eq!(
            normalize(" \toUpF8uMuAJO_M2pxb1Q9zNjWeS6o\u{3000}\n").as_deref(),
            Ok(OPENID)
        );
        assert_eq!(
            normalize("o6_bmjrPTlm6_2sgVt7hMZOPfL2M").as_deref(),
            Ok("o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
        );
        assert_eq!(
            normalize("-x_____________________0123Z").as_deref(),
            Ok("-x_____________________0123Z")
        );
    }

    #[test]
    fn case_is_kept() {
        let lower = OPENID.to_ascii_lowercase();
        let upper = OPENID.to_ascii_uppercase();
        assert_eq!(normalize(&lower).as_deref(), Ok(lower.as_str()));
        assert_eq!(normalize(&upper).as_deref(), Ok(upper.as_str()));
        assert_ne!(normalize(&lower), normalize(OPENID));
    }

    #[test]
    fn rejections() {
        assert_eq!(normalize(""), Err(Rejection::Empty));
        assert_eq!(normalize(" \u{3000} "), Err(Rejection::Empty));
        assert_eq!(normalize(&OPENID[..27]), Err(Rejection::InvalidLength));
        assert_eq!(
            normalize(&format!("{OPENID}x")),
            Err(Rejection::InvalidLength)
        );
        // Full-width letters are not folded: an ID is taken as issued.
        assert_eq!(
            normalize("ｏUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("oUpF8uMuAJO M2pxb1Q9zNjWeS6o"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("oUpF8uMuAJO.M2pxb1Q9zNjWeS6o"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("oUpF8uMuAJO\u{0}M2pxb1Q9zNjWeS6o"),
            Err(Rejection::ControlCharacter)
        );
        assert_eq!(
            normalize("oUpF8uMuAJO\u{200B}M2pxb1Q9zNjWeS"),
            Err(Rejection::InvalidCharacter)
        );
        // Characters are checked before the length.
        assert_eq!(normalize("o+"), Err(Rejection::InvalidCharacter));
    }
}
