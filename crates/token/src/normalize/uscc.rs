//! 统一社会信用代码 (unified social credit code), GB 32100-2015.
//!
//! 18 characters from a 31-character alphabet (digits and capitals without I, O, S,
//! V and Z). Positions 3–8 are the 6-digit administrative division code of the
//! registering authority; position 18 is a check character over the first 17 with
//! weights 3^i mod 31. Lowercase, full-width forms, spaces and dashes are accepted;
//! look-alike letters (O for 0, I for 1) are *not* corrected, because guessing could
//! merge two different organisations.

use super::{fold_width, is_dash, is_space};
use crate::Rejection;

/// The GB 32100-2015 code alphabet, in value order.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17 (3^i mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// Length of a code.
pub const LEN: usize = 18;

/// Normalises a USCC to 18 uppercase characters.
///
/// # Errors
/// `invalid_character`, `invalid_length`, `invalid_region_code` or `bad_check_char`.
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
    let mut code = [0u8; LEN];
    let mut len = 0;
    for c in input.chars().map(fold_width) {
        if is_space(c) || is_dash(c) {
            continue;
        }
        if c.is_control() {
            return Err(Rejection::ControlCharacter);
        }
        let c = c.to_ascii_uppercase();
        if !c.is_ascii() || value(c as u8).is_none() {
            return Err(Rejection::InvalidCharacter);
        }
        let slot = code.get_mut(len).ok_or(Rejection::InvalidLength)?;
        *slot = c as u8;
        len += 1;
    }
    match len {
        0 => return Err(Rejection::Empty),
        LEN => {}
        _ => return Err(Rejection::InvalidLength),
    }
    if !code[2..8].iter().all(u8::is_ascii_digit) {
        return Err(Rejection::InvalidRegionCode);
    }
    let expected = check_char(&code[..17]);
    if code[17] != expected {
        return Err(Rejection::BadCheckChar);
    }
    out.extend(code.iter().map(|&b| char::from(b)));
    Ok(())
}

/// The check character for the first 17 characters of a code (which must be in the alphabet).
pub(crate) fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| value(c).unwrap_or(0) * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    ALPHABET.get(check as usize).copied().unwrap_or(b'0')
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1u32;
        for expected in WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn valid_codes_in_many_forms() {
        // Check characters confirmed with an independent Python implementation.
        for code in [
            "91350100M000100Y43",
            "91110000100017643K",
            "91440300MA5D8YQK3X",
        ] {
            assert_eq!(normalize(code).as_deref(), Ok(code), "{code}");
        }
        let want = "91350100M000100Y43";
        for s in [
            "91350100m000100y43",
            "9135 0100 M000 100Y 43",
            "913501-00M000100-Y43",
            "９１３５０１００Ｍ０００１００Ｙ４３",
            " 91350100M000100Y43\t",
        ] {
            assert_eq!(normalize(s).as_deref(), Ok(want), "{s:?}");
        }
    }

    #[test]
    fn rejections() {
        assert_eq!(normalize(""), Err(Rejection::Empty));
        assert_eq!(
            normalize("91350100M000100Y44"),
            Err(Rejection::BadCheckChar)
        );
        // Swapping two characters is caught by the weighted check.
        assert_eq!(
            normalize("91350100M000100Y34"),
            Err(Rejection::BadCheckChar)
        );
        assert_eq!(
            normalize("91350100M000100Y4"),
            Err(Rejection::InvalidLength)
        );
        assert_eq!(
            normalize("91350100M000100Y433"),
            Err(Rejection::InvalidLength)
        );
        // I, O, S, V and Z are not in the alphabet, in either case.
        assert_eq!(
            normalize("91350100O000100Y43"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("91350100i000100Y43"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("91350100S000100Y43"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("91350100V000100Y43"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("91350100Z000100Y43"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("9135010０M000100Y4中"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("91350100M000\u{1}100Y43"),
            Err(Rejection::ControlCharacter)
        );
        // Positions 3–8 must be a division code (digits); the check char alone allows letters.
        let mut bad = *b"91A50100M000100Y40";
        bad[17] = check_char(&bad[..17]);
        let bad = String::from_utf8_lossy(&bad).into_owned();
        assert_eq!(normalize(&bad), Err(Rejection::InvalidRegionCode));
    }
}
