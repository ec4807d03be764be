//! Telephone numbers: clean up the dozen ways people write them and output E.164.
//!
//! Rules (see `docs/normalization.md` for the reasoning and sources):
//! - Spaces, dashes, dots, slashes, brackets and full-width forms are ignored; a short
//!   label before a colon (`tel:`, `Mobile:`, `手机号：`) and bare labels such as `tel`
//!   or `电话` are dropped. `+`, `00` and, for Chinese mobiles, a bare `86` introduce
//!   the country code. A `(0)` right after the country code (`+44 (0)20 …`) is dropped.
//! - Chinese mainland mobile numbers (11 digits, `1` then two digits) are checked
//!   against the allocated 3-digit ranges in [`CN_MOBILE_PREFIXES`]. They are
//!   recognised without a country code, because they cannot be mistaken for anything
//!   else, unless a default region other than 86 is configured.
//! - Chinese landlines need `+86` or the default region 86: area code `10`, `2x`
//!   (8-digit subscriber) or `3xx`–`9xx` (7 or 8 digits), trunk `0` dropped.
//! - Any other number needs its country code (checked against the ITU-T assigned
//!   list) or a configured default region; E.164 allows 7 to 15 digits in total here.
//! - Extensions are refused rather than silently cut off.
//!
//! Reading the written form is in `phone/scan.rs`, calling codes in
//! `phone/calling_code.rs`, the Chinese mainland rules in `phone/cn.rs`.

mod calling_code;
mod cn;
mod scan;

pub use calling_code::CallingCode;
pub use cn::{CN_MOBILE_PREFIXES, CN_MOBILE_TABLE};

use crate::Rejection;
use calling_code::split_calling_code;
use cn::{cn_mobile, cn_significant};
use scan::{SCAN_BUF, Scanned, scan};

/// The longest digit string worth looking at: E.164 allows 15, plus `00` and slack.
const MAX_DIGITS: usize = 20;

/// Normalises a telephone number to E.164 (`+` then digits).
///
/// `default_region` is the calling code assumed for numbers written without one;
/// `None` accepts only numbers with a country code and Chinese mainland mobiles.
///
/// # Errors
/// A [`Rejection`] saying why the value is not a usable telephone number.
pub fn normalize(input: &str, default_region: Option<CallingCode>) -> Result<String, Rejection> {
    let mut out = String::with_capacity(16);
    normalize_into(input, default_region, &mut out)?;
    Ok(out)
}

/// As [`normalize`], appending the result to `out` without allocating when `out` has room.
///
/// # Errors
/// As [`normalize`].
pub fn normalize_into(
    input: &str,
    default_region: Option<CallingCode>,
    out: &mut String,
) -> Result<(), Rejection> {
    // Filled in place: moving the digit buffer right after its bytes were stored
    // one by one would stall the CPU's store forwarding.
    let mut scanned = Scanned {
        plus: false,
        buf: [0; SCAN_BUF],
        len: 0,
    };
    scan(input, &mut scanned)?;
    let d = scanned.digits();
    if scanned.plus {
        international(d, out)
    } else if let Some(rest) = d.strip_prefix(&[0, 0]) {
        international(rest, out)
    } else {
        national(d, default_region, out)
    }
}

/// Digits after `+` or `00`: country code, then the national significant number.
fn international(d: &[u8], out: &mut String) -> Result<(), Rejection> {
    if d.first() == Some(&0) {
        return Err(Rejection::InvalidCountryCode);
    }
    let (cc, nsn) = split_calling_code(d)?;
    if cc == 86 {
        cn_significant(nsn, out)
    } else {
        other_country(cc, nsn, out)
    }
}

/// Digits written without `+`/`00`.
fn national(d: &[u8], region: Option<CallingCode>, out: &mut String) -> Result<(), Rejection> {
    let region = region.map(CallingCode::get);
    if matches!(region, None | Some(86)) && d.len() == 13 && d.starts_with(&[8, 6, 1]) {
        return cn_mobile(d.get(2..).unwrap_or(&[]), out);
    }
    match region {
        None => match d.first() {
            Some(1) => cn_mobile(d, out),
            _ => Err(Rejection::MissingCountryCode),
        },
        Some(86) => cn_significant(d, out),
        Some(1) => {
            let nsn = match d {
                [1, rest @ ..] if d.len() == 11 => rest,
                _ => d,
            };
            other_country(1, nsn, out)
        }
        Some(7) => {
            let nsn = match d {
                [8, rest @ ..] if d.len() == 11 => rest,
                _ => d,
            };
            other_country(7, nsn, out)
        }
        // Italy, San Marino, Vatican, Côte d'Ivoire and Congo keep the leading 0.
        Some(cc @ (39 | 378 | 379 | 225 | 242)) => other_country(cc, d, out),
        Some(cc) => other_country(cc, d.strip_prefix(&[0]).unwrap_or(d), out),
    }
}

fn other_country(cc: u16, nsn: &[u8], out: &mut String) -> Result<(), Rejection> {
    if cc == 86 {
        return cn_significant(nsn, out);
    }
    if cc == 1 && nsn.len() != 10 {
        return Err(if nsn.len() < 10 {
            Rejection::TooShort
        } else {
            Rejection::TooLong
        });
    }
    let cc_len = if cc >= 100 {
        3
    } else if cc >= 10 {
        2
    } else {
        1
    };
    let total = cc_len + nsn.len();
    if nsn.is_empty() || total < 7 {
        return Err(Rejection::TooShort);
    }
    if total > 15 {
        return Err(Rejection::TooLong);
    }
    write_e164(cc, nsn, out);
    Ok(())
}

fn write_e164(cc: u16, nsn: &[u8], out: &mut String) {
    // One `push_str` of a stack buffer: measured faster than a `push` per digit.
    let mut buf = [0u8; 4 + SCAN_BUF];
    buf[0] = b'+';
    let mut n = 1;
    for div in [100, 10, 1] {
        if cc >= div || div == 1 {
            buf[n] = b'0' + ((cc / div) % 10) as u8;
            n += 1;
        }
    }
    for (slot, &d) in buf[n..].iter_mut().zip(nsn.iter().take(MAX_DIGITS)) {
        *slot = b'0' + d;
        n += 1;
    }
    out.push_str(std::str::from_utf8(buf.get(..n).unwrap_or(&[])).unwrap_or(""));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn n(s: &str) -> Result<String, Rejection> {
        normalize(s, None)
    }
    fn n86(s: &str) -> Result<String, Rejection> {
        normalize(s, Some(CallingCode::CN))
    }

    #[test]
    fn one_mobile_written_many_ways() {
        let want = "+8613812345678";
        for s in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "138.1234.5678",
            "(138) 1234-5678",
            "+86 138 1234 5678",
            "+86-138-1234-5678",
            "+86(138)12345678",
            "(+86) 13812345678",
            "0086 138 1234 5678",
            "008613812345678",
            "86 138 1234 5678",
            "8613812345678",
            "１３８１２３４５６７８",
            "＋８６　１３８－１２３４－５６７８",
            "tel:+86-138-1234-5678",
            "TEL: 13812345678",
            "Tel. 138 1234 5678",
            "手机：13812345678",
            "手机号:138 1234 5678",
            "电话 138-1234-5678",
            "  \u{00A0}13812345678\u{200B} ",
            "+86 0138 1234 5678",
            "+86 (0) 138 1234 5678",
            "138—1234—5678",
        ] {
            assert_eq!(n(s).as_deref(), Ok(want), "{s:?}");
            assert_eq!(n86(s).as_deref(), Ok(want), "{s:?} (default region 86)");
        }
    }

    #[test]
    fn mobile_prefixes_checked() {
        assert_eq!(n("12345678901"), Err(Rejection::InvalidMobilePrefix));
        assert_eq!(n("11012345678"), Err(Rejection::InvalidMobilePrefix));
        assert_eq!(n("15412345678"), Err(Rejection::InvalidMobilePrefix));
        assert_eq!(n("14012345678"), Err(Rejection::InvalidMobilePrefix));
        assert_eq!(n("14812345678"), Err(Rejection::InvalidMobilePrefix));
        assert_eq!(n("19412345678"), Err(Rejection::InvalidMobilePrefix));
        assert_eq!(n("+86 179 1234 5678"), Err(Rejection::InvalidMobilePrefix));
        for p in [130, 145, 149, 162, 166, 170, 173, 191, 192, 199] {
            assert!(n(&format!("{p}12345678")).is_ok(), "{p}");
        }
        assert_eq!(n("1381234567"), Err(Rejection::TooShort));
        assert_eq!(n("138123456789"), Err(Rejection::TooLong));
    }

    #[test]
    fn landlines_need_country_code_or_region() {
        assert_eq!(n("010-6552-9988"), Err(Rejection::MissingCountryCode));
        assert_eq!(n86("010-6552-9988").as_deref(), Ok("+861065529988"));
        assert_eq!(n86("(010) 65529988").as_deref(), Ok("+861065529988"));
        assert_eq!(n("+86 10 6552 9988").as_deref(), Ok("+861065529988"));
        assert_eq!(n("+86 010 6552 9988").as_deref(), Ok("+861065529988"));
        assert_eq!(n("0086 10 65529988").as_deref(), Ok("+861065529988"));
        assert_eq!(n86("021-5555 1234").as_deref(), Ok("+862155551234"));
        assert_eq!(n86("0755-8888 9999").as_deref(), Ok("+8675588889999"));
        assert_eq!(n86("0731-8888999").as_deref(), Ok("+867318888999"));
        // Subscriber numbers never start with 0 or 1; 2-digit areas have 8 digits.
        assert_eq!(n86("010-1234567"), Err(Rejection::InvalidCnNumber));
        assert_eq!(n86("021-0555 1234"), Err(Rejection::InvalidCnNumber));
        assert_eq!(n86("6552 9988"), Err(Rejection::InvalidCnNumber));
        // An out-of-town mobile dialled with the trunk 0.
        assert_eq!(n86("013812345678").as_deref(), Ok("+8613812345678"));
    }

    #[test]
    fn other_countries() {
        assert_eq!(n("+44 20 7946 0000").as_deref(), Ok("+442079460000"));
        assert_eq!(n("+44 (0)20 7946 0000").as_deref(), Ok("+442079460000"));
        assert_eq!(n("0044 20 7946 0000").as_deref(), Ok("+442079460000"));
        assert_eq!(n("+1 (415) 555-2671").as_deref(), Ok("+14155552671"));
        assert_eq!(n("+1 415 555 267"), Err(Rejection::TooShort));
        assert_eq!(n("+852 9123 4567").as_deref(), Ok("+85291234567"));
        assert_eq!(n("+683 4002").as_deref(), Ok("+6834002"));
        assert_eq!(n("+28 1234 5678"), Err(Rejection::InvalidCountryCode));
        assert_eq!(n("+0086 138 1234 5678"), Err(Rejection::InvalidCountryCode));
        assert_eq!(n("+44 1234 5678 9012 3456"), Err(Rejection::TooLong));
        assert_eq!(n("+44 12"), Err(Rejection::TooShort));
        assert_eq!(n("020 7946 0000"), Err(Rejection::MissingCountryCode));
        let uk = Some(CallingCode::new(44).unwrap());
        assert_eq!(
            normalize("020 7946 0000", uk).as_deref(),
            Ok("+442079460000")
        );
        let us = Some(CallingCode::new(1).unwrap());
        assert_eq!(
            normalize("(415) 555-2671", us).as_deref(),
            Ok("+14155552671")
        );
        assert_eq!(
            normalize("1-415-555-2671", us).as_deref(),
            Ok("+14155552671")
        );
        let it = Some(CallingCode::new(39).unwrap());
        assert_eq!(
            normalize("06 1234 5678", it).as_deref(),
            Ok("+390612345678")
        );
        // With a non-Chinese default region a bare 11-digit number is that region's.
        assert_eq!(
            normalize("13812345678", uk).as_deref(),
            Ok("+4413812345678")
        );
    }

    #[test]
    fn junk_and_extensions() {
        assert_eq!(n(""), Err(Rejection::Empty));
        assert_eq!(n("  - "), Err(Rejection::Empty));
        assert_eq!(n("+"), Err(Rejection::TooShort));
        assert_eq!(n("N/A"), Err(Rejection::InvalidCharacter));
        assert_eq!(
            n("138123456７８ ext 12"),
            Err(Rejection::ExtensionNotSupported)
        );
        assert_eq!(
            n("+44 20 7946 0000 x12"),
            Err(Rejection::ExtensionNotSupported)
        );
        assert_eq!(
            n("010-65529988转123"),
            Err(Rejection::ExtensionNotSupported)
        );
        assert_eq!(
            n("tel:+86-10-65529988;ext=5"),
            Err(Rejection::ExtensionNotSupported)
        );
        assert_eq!(n("138+12345678"), Err(Rejection::InvalidCharacter));
        assert_eq!(n("138\u{0}12345678"), Err(Rejection::ControlCharacter));
        assert_eq!(n("١٣٨١٢٣٤٥٦٧٨"), Err(Rejection::InvalidCharacter));
        assert_eq!(n("1381234567812345678901234"), Err(Rejection::TooLong));
    }

    #[test]
    fn output_is_a_fixed_point() {
        for s in [
            "13812345678",
            "+44 20 7946 0000",
            "+683 4002",
            "+1 415 555 2671",
        ] {
            let once = n(s).unwrap();
            assert_eq!(n(&once).unwrap(), once);
            assert_eq!(n86(&once).unwrap(), once);
        }
    }
}
