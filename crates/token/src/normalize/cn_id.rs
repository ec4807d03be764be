//! 居民身份证号 (citizen identity number), GB 11643-1999.
//!
//! 18 characters: 6-digit region code, 8-digit birth date `YYYYMMDD`, 3-digit
//! sequence, check character from ISO 7064 MOD 11-2 (`0`–`9` or `X`). Output is the
//! 18-character form with an uppercase `X`.
//!
//! Legacy 15-digit numbers (issued before 1999: 2-digit year, no check character)
//! are converted to 18 digits the way the issuing authority did: insert `19` before
//! the year and append the computed check character. So a person known by the old
//! and the new number gets one token.

use super::{fold_width, is_dash, is_space};
use crate::Rejection;

/// ISO 7064 MOD 11-2 weights of positions 1–17 (2^(17-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const CHECK: &[u8; 11] = b"10X98765432";
/// Province-level codes (first two digits) that GB/T 2260 assigns, plus 71 (Taiwan)
/// and 81/82/83 used by residence permits for Hong Kong, Macao and Taiwan residents.
const PROVINCES: [u8; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];
/// Earliest accepted birth year.
pub const MIN_BIRTH_YEAR: u32 = 1880;
/// Latest accepted birth year. No "not in the future" check: normalising must not
/// depend on the day it runs, or two partners could disagree.
pub const MAX_BIRTH_YEAR: u32 = 2099;

/// Normalises an ID number to its 18-character form.
///
/// # Errors
/// `invalid_character`, `invalid_length`, `invalid_region_code`,
/// `invalid_birth_date` or `bad_check_char`.
pub fn normalize(input: &str) -> Result<String, Rejection> {
    let mut out = String::with_capacity(18);
    normalize_into(input, &mut out)?;
    Ok(out)
}

/// As [`normalize`], appending to `out`.
///
/// # Errors
/// As [`normalize`].
pub fn normalize_into(input: &str, out: &mut String) -> Result<(), Rejection> {
    let mut id = [0u8; 18];
    let mut len = 0;
    for c in input.chars().map(fold_width) {
        if is_space(c) || is_dash(c) {
            continue;
        }
        if c.is_control() {
            return Err(Rejection::ControlCharacter);
        }
        let b = match c {
            '0'..='9' => c as u8,
            'x' | 'X' => b'X',
            _ => return Err(Rejection::InvalidCharacter),
        };
        let slot = id.get_mut(len).ok_or(Rejection::InvalidLength)?;
        *slot = b;
        len += 1;
    }
    match len {
        0 => return Err(Rejection::Empty),
        15 => {
            if id[..15].contains(&b'X') {
                return Err(Rejection::InvalidCharacter);
            }
            // Shift sequence and date right by two and insert the century.
            id.copy_within(6..15, 8);
            id[6] = b'1';
            id[7] = b'9';
            id[17] = check_char(&id[..17]);
        }
        18 => {
            if id[..17].contains(&b'X') {
                return Err(Rejection::InvalidCharacter);
            }
        }
        _ => return Err(Rejection::InvalidLength),
    }
    let province = (id[0] - b'0') * 10 + (id[1] - b'0');
    if !PROVINCES.contains(&province) {
        return Err(Rejection::InvalidRegionCode);
    }
    if !valid_date(&id[6..14]) {
        return Err(Rejection::InvalidBirthDate);
    }
    if id[17] != check_char(&id[..17]) {
        return Err(Rejection::BadCheckChar);
    }
    out.extend(id.iter().map(|&b| char::from(b)));
    Ok(())
}

/// The ISO 7064 MOD 11-2 check character of 17 ASCII digits.
pub(crate) fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d.wrapping_sub(b'0')) * w)
        .sum();
    CHECK.get((sum % 11) as usize).copied().unwrap_or(b'0')
}

fn valid_date(yyyymmdd: &[u8]) -> bool {
    let num = |r: std::ops::Range<usize>| {
        yyyymmdd
            .get(r)
            .unwrap_or(&[])
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(4..6), num(6..8));
    if !(MIN_BIRTH_YEAR..=MAX_BIRTH_YEAR).contains(&year) {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid 18-digit number from 17 digits.
    fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes());
        format!("{first17}{}", char::from(c))
    }

    #[test]
    fn check_char_matches_the_standard_example() {
        // The worked example of GB 11643-1999 (Annex): 11010519491231002X.
        assert_eq!(
            normalize("11010519491231002X").as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(
            normalize("11010519491231002x").as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(
            normalize("440524188001010014").as_deref(),
            Ok("440524188001010014")
        );
    }

    #[test]
    fn written_forms() {
        let want = "11010519491231002X";
        for s in [
            "110105 19491231 002X",
            "110105-19491231-002x",
            "１１０１０５１９４９１２３１００２Ｘ",
            "１１０１０５１９４９１２３１００２ｘ",
            "\t11010519491231002X ",
        ] {
            assert_eq!(normalize(s).as_deref(), Ok(want), "{s:?}");
        }
    }

    #[test]
    fn legacy_15_digit_numbers_are_converted() {
        // 15-digit form of 11010519491231002X: drop "19" and the check character.
        assert_eq!(
            normalize("110105491231002").as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(
            normalize("110105490229002"),
            Err(Rejection::InvalidBirthDate)
        );
        assert_eq!(
            normalize("11010549123100X"),
            Err(Rejection::InvalidCharacter)
        );
    }

    #[test]
    fn birth_dates() {
        assert!(
            normalize(&with_check("11010520000229001")).is_ok(),
            "2000 is leap"
        );
        assert!(
            normalize(&with_check("11010519960229001")).is_ok(),
            "1996 is leap"
        );
        assert_eq!(
            normalize(&with_check("11010519000229001")),
            Err(Rejection::InvalidBirthDate),
            "1900 is not leap"
        );
        assert_eq!(
            normalize(&with_check("11010520230229001")),
            Err(Rejection::InvalidBirthDate)
        );
        assert_eq!(
            normalize(&with_check("11010519490431001")),
            Err(Rejection::InvalidBirthDate)
        );
        assert_eq!(
            normalize(&with_check("11010519491301001")),
            Err(Rejection::InvalidBirthDate)
        );
        assert_eq!(
            normalize(&with_check("11010519490000001")),
            Err(Rejection::InvalidBirthDate)
        );
        assert_eq!(
            normalize(&with_check("11010518791231001")),
            Err(Rejection::InvalidBirthDate)
        );
        assert_eq!(
            normalize(&with_check("11010521001231001")),
            Err(Rejection::InvalidBirthDate)
        );
    }

    #[test]
    fn rejections() {
        assert_eq!(normalize(""), Err(Rejection::Empty));
        assert_eq!(
            normalize("110105194912310021"),
            Err(Rejection::BadCheckChar)
        );
        assert_eq!(
            normalize("11010519491231002"),
            Err(Rejection::InvalidLength)
        );
        assert_eq!(
            normalize("11010519491231002X1"),
            Err(Rejection::InvalidLength)
        );
        assert_eq!(
            normalize("1101051949X231002X"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize("11010519491231002Y"),
            Err(Rejection::InvalidCharacter)
        );
        assert_eq!(
            normalize(&with_check("99010519491231002")),
            Err(Rejection::InvalidRegionCode)
        );
        assert_eq!(
            normalize(&with_check("01010519491231002")),
            Err(Rejection::InvalidRegionCode)
        );
    }
}
