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

use std::fmt;
use std::str::FromStr;

use super::{fold_width, is_dash, is_space, trim_space};
use crate::{Error, Rejection};

/// The identity of the Chinese mobile range table, mixed into the profile digest so
/// that partners with different tables notice.
pub const CN_MOBILE_TABLE: &str = "cn-mobile-2025-01";

/// Allocated 3-digit prefixes of 11-digit Chinese mainland mobile numbers (sorted).
///
/// Compiled from MIIT (工业和信息化部) number-range allocations; see
/// `docs/normalization.md` for which ranges are left out (13-digit IoT ranges,
/// unallocated ranges) and why.
pub const CN_MOBILE_PREFIXES: &[u16] = &[
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, //
    145, 147, 149, //
    150, 151, 152, 153, 155, 156, 157, 158, 159, //
    162, 165, 166, 167, //
    170, 171, 172, 173, 174, 175, 176, 177, 178, //
    180, 181, 182, 183, 184, 185, 186, 187, 188, 189, //
    190, 191, 192, 193, 195, 196, 197, 198, 199,
];

/// ITU-T E.164 assigned country calling codes (sorted). The set is prefix-free, so a
/// number's country code is found by trying 1, 2 and 3 leading digits.
const ASSIGNED_CALLING_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298,
    299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675,
    676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966,
    967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// The longest digit string worth looking at: E.164 allows 15, plus `00` and slack.
const MAX_DIGITS: usize = 20;

/// An ITU-T assigned country calling code, used as a profile's default region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallingCode(u16);

impl CallingCode {
    /// China's calling code, 86.
    pub const CN: CallingCode = CallingCode(86);

    /// Checks that `code` is an assigned country calling code.
    ///
    /// # Errors
    /// [`Error::InvalidCallingCode`] if ITU-T has not assigned it.
    pub fn new(code: u16) -> Result<CallingCode, Error> {
        if is_assigned(code) {
            Ok(CallingCode(code))
        } else {
            Err(Error::InvalidCallingCode {
                given: code.to_string(),
            })
        }
    }

    /// The code as a number, e.g. `86`.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for CallingCode {
    /// Writes the digits without `+`, e.g. `86`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for CallingCode {
    type Err = Error;

    /// Parses `86` or `+86`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().strip_prefix('+').unwrap_or(s.trim());
        let bad = || Error::InvalidCallingCode {
            given: crate::error::clip(s),
        };
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let code: u16 = digits.parse().map_err(|_| bad())?;
        if digits.starts_with('0') || !is_assigned(code) {
            return Err(bad());
        }
        Ok(CallingCode(code))
    }
}

/// [`ASSIGNED_CALLING_CODES`] as a bit set over 0..1024, for a lookup without a search.
static ASSIGNED_BITS: [u64; 16] = {
    let mut bits = [0u64; 16];
    let mut i = 0;
    while i < ASSIGNED_CALLING_CODES.len() {
        let code = ASSIGNED_CALLING_CODES[i] as usize;
        bits[code / 64] |= 1 << (code % 64);
        i += 1;
    }
    bits
};

/// [`CN_MOBILE_PREFIXES`] as a bit set over 100..228 (bit `prefix - 100`).
const CN_MOBILE_BITS: u128 = {
    let mut bits = 0u128;
    let mut i = 0;
    while i < CN_MOBILE_PREFIXES.len() {
        bits |= 1 << (CN_MOBILE_PREFIXES[i] - 100);
        i += 1;
    }
    bits
};

fn is_assigned(code: u16) -> bool {
    let code = usize::from(code);
    ASSIGNED_BITS
        .get(code / 64)
        .is_some_and(|word| word >> (code % 64) & 1 == 1)
}

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

/// Room for [`scan_plain`] to store every byte of a plain number of up to
/// `SCAN_BUF - 1` bytes; numbers never have more than [`MAX_DIGITS`] digits.
const SCAN_BUF: usize = 32;

/// The significant characters of a number: an optional leading `+` and the digits.
struct Scanned {
    plus: bool,
    /// Digit values (0 to 9); only the first `len` mean anything.
    buf: [u8; SCAN_BUF],
    len: usize,
}

impl Scanned {
    fn digits(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

fn scan(input: &str, sc: &mut Scanned) -> Result<(), Rejection> {
    let s = strip_label(trim_space(input));
    if scan_plain(s.as_bytes(), sc) {
        return Ok(());
    }
    // ASCII needs neither UTF-8 decoding nor width folding; one loop, two
    // instances, so both treat every character alike.
    if s.is_ascii() {
        scan_chars(s.bytes().map(char::from), sc)
    } else {
        scan_chars(s.chars().map(fold_width), sc)
    }
}

/// Separators of the plain form [`scan_plain`] takes: ASCII whitespace, `-`, `_`,
/// `.` and `/`, all of which [`scan_chars`] skips too.
static PLAIN_SEPARATOR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = matches!(b as u8, b'\t'..=b'\r' | b' ' | b'-' | b'_' | b'.' | b'/');
        b += 1;
    }
    table
};

/// The usual number in one pass without branches on its characters (digit groups
/// and separators arrive in any pattern, which a branch per character would keep
/// mispredicting): ASCII digits and [`PLAIN_SEPARATOR`]s, with at most a leading
/// `+`. Fills `sc` exactly as [`scan_chars`] would and returns `true`; anything
/// else returns `false`, and [`scan_chars`] decides.
fn scan_plain(s: &[u8], sc: &mut Scanned) -> bool {
    let (plus, body) = match s {
        [b'+', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if body.len() >= SCAN_BUF {
        return false;
    }
    let mut len = 0;
    let mut other = false;
    for &b in body {
        let value = b.wrapping_sub(b'0');
        let digit = value < 10;
        // Stored whatever `b` is; only a digit moves `len` on, so the next byte
        // overwrites a separator.
        if let Some(slot) = sc.buf.get_mut(len) {
            *slot = value;
        }
        len += usize::from(digit);
        other |= !digit & !PLAIN_SEPARATOR[usize::from(b)];
    }
    if other || len == 0 || len > MAX_DIGITS {
        return false;
    }
    sc.plus = plus;
    sc.len = len;
    true
}

fn scan_chars(chars: impl Iterator<Item = char>, sc: &mut Scanned) -> Result<(), Rejection> {
    sc.plus = false;
    sc.len = 0;
    // Digit count when the last bracket opened, for the `+44 (0)20` convention.
    let mut open_at: Option<usize> = None;
    for c in chars {
        match c {
            '0'..='9' => {
                let slot = sc
                    .buf
                    .get_mut(sc.len)
                    .filter(|_| sc.len < MAX_DIGITS)
                    .ok_or(Rejection::TooLong)?;
                *slot = c as u8 - b'0';
                sc.len += 1;
            }
            '+' if !sc.plus && sc.len == 0 => sc.plus = true,
            '(' | '[' => open_at = Some(sc.len),
            ')' | ']' => {
                if let Some(open) = open_at.take() {
                    let only_zero = sc.len == open + 1 && sc.digits().last() == Some(&0);
                    if sc.plus && open > 0 && only_zero {
                        sc.len -= 1;
                    }
                }
            }
            '.' | '/' | '\u{00B7}' | '\u{30FB}' | '\u{FF65}' => {}
            c if is_space(c) || is_dash(c) => {}
            'x' | 'X' | 'e' | 'E' | '#' | ';' | ',' | 'p' | 'P' | 'w' | 'W' | '转' | '分'
                if sc.len > 0 =>
            {
                return Err(Rejection::ExtensionNotSupported);
            }
            c if c.is_control() => return Err(Rejection::ControlCharacter),
            _ => return Err(Rejection::InvalidCharacter),
        }
    }
    if sc.len == 0 {
        return Err(if sc.plus {
            Rejection::TooShort
        } else {
            Rejection::Empty
        });
    }
    Ok(())
}

/// Drops a leading label such as `tel:`, `Mobile：`, `手机号:` or a bare `tel`/`电话`.
fn strip_label(s: &str) -> &str {
    const MAX_LABEL_CHARS: usize = 16;
    // Fast path: the usual number starts with a digit, `+` or a bracket.
    if s.as_bytes()
        .first()
        .is_none_or(|b| b.is_ascii_digit() || matches!(b, b'+' | b'('))
    {
        return s;
    }
    if let Some((pos, c)) = s.char_indices().find(|&(_, c)| c == ':' || c == '：') {
        let label = s.get(..pos).unwrap_or("");
        let plausible = label.chars().count() <= MAX_LABEL_CHARS
            && !label
                .chars()
                .map(fold_width)
                .any(|c| c.is_ascii_digit() || c == '+');
        if plausible {
            return s.get(pos + c.len_utf8()..).unwrap_or("");
        }
    }
    const BARE: [&str; 11] = [
        "tel.",
        "tel",
        "phone",
        "mobile",
        "mob.",
        "mob",
        "cell",
        "手机号码",
        "手机号",
        "手机",
        "电话",
    ];
    for word in BARE {
        if let Some(head) = s.get(..word.len())
            && head.eq_ignore_ascii_case(word)
        {
            return s.get(word.len()..).unwrap_or("");
        }
    }
    s
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

fn split_calling_code(d: &[u8]) -> Result<(u16, &[u8]), Rejection> {
    let mut cc: u16 = 0;
    for (i, &digit) in d.iter().take(3).enumerate() {
        cc = cc * 10 + u16::from(digit);
        if is_assigned(cc) {
            let rest = d.get(i + 1..).unwrap_or(&[]);
            return Ok((cc, rest));
        }
    }
    if d.len() < 3 {
        Err(Rejection::TooShort)
    } else {
        Err(Rejection::InvalidCountryCode)
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

/// A Chinese national significant number (trunk `0` tolerated): mobile or landline.
fn cn_significant(nsn: &[u8], out: &mut String) -> Result<(), Rejection> {
    let nsn = nsn.strip_prefix(&[0]).unwrap_or(nsn);
    match nsn {
        [] => Err(Rejection::TooShort),
        [1, 0, ..] => cn_landline(nsn, out),
        [1, ..] => cn_mobile(nsn, out),
        _ => cn_landline(nsn, out),
    }
}

fn cn_mobile(d: &[u8], out: &mut String) -> Result<(), Rejection> {
    match d.len() {
        0..=10 => return Err(Rejection::TooShort),
        11 => {}
        _ => return Err(Rejection::TooLong),
    }
    let prefix = d
        .iter()
        .take(3)
        .fold(0u16, |acc, &x| acc * 10 + u16::from(x));
    let allocated = prefix
        .checked_sub(100)
        .and_then(|bit| CN_MOBILE_BITS.checked_shr(u32::from(bit)))
        .is_some_and(|bits| bits & 1 == 1);
    if !allocated {
        return Err(Rejection::InvalidMobilePrefix);
    }
    write_e164(86, d, out);
    Ok(())
}

fn cn_landline(nsn: &[u8], out: &mut String) -> Result<(), Rejection> {
    let (area_len, subscriber_lens) = match nsn {
        [1, 0, ..] | [2, ..] => (2, 8..=8),
        [3..=9, ..] => (3, 7..=8),
        _ => return Err(Rejection::InvalidCnNumber),
    };
    let subscriber = nsn.get(area_len..).unwrap_or(&[]);
    let ok =
        subscriber_lens.contains(&subscriber.len()) && matches!(subscriber.first(), Some(2..=9));
    if !ok {
        return Err(Rejection::InvalidCnNumber);
    }
    write_e164(86, nsn, out);
    Ok(())
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4096,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The branch-free plain scan fills the digits exactly as the general scan
        /// does, or leaves the input to it.
        #[test]
        fn plain_scan_agrees_with_the_general_scan(
            s in "\\+?[0-9 ._/()+#x\t-]{0,26}|[+0-9]?[0-9]{0,22}|[0-9 -]{0,31}|\\+?[0-9０-９]{1,11}",
        ) {
            let fresh = || Scanned { plus: false, buf: [0; SCAN_BUF], len: 0 };
            let mut plain = fresh();
            if scan_plain(s.as_bytes(), &mut plain) {
                let mut general = fresh();
                proptest::prop_assert_eq!(
                    scan_chars(s.bytes().map(char::from), &mut general),
                    Ok(())
                );
                proptest::prop_assert_eq!(
                    (plain.plus, plain.digits()),
                    (general.plus, general.digits()),
                    "{:?}", s
                );
            }
        }
    }

    #[test]
    fn plain_scan_takes_the_usual_forms_and_leaves_the_rest() {
        for s in [
            "13812345678",
            "+86 138 1234 5678",
            "0086-138-1234-5678",
            "138.1234.5678",
            "+86\t138/1234_5678",
        ] {
            let mut sc = Scanned {
                plus: false,
                buf: [0; SCAN_BUF],
                len: 0,
            };
            assert!(scan_plain(s.as_bytes(), &mut sc), "{s}");
        }
        for s in [
            "",
            "+",
            " - ",
            "(+86) 138",
            "138x12",
            "+8613812345678+",
            "1".repeat(21).as_str(),
            "１３８",
        ] {
            let mut sc = Scanned {
                plus: false,
                buf: [0; SCAN_BUF],
                len: 0,
            };
            assert!(!scan_plain(s.as_bytes(), &mut sc), "{s}");
        }
    }

    #[test]
    fn bit_sets_hold_exactly_the_tables() {
        for code in 0..2000u16 {
            assert_eq!(
                is_assigned(code),
                ASSIGNED_CALLING_CODES.binary_search(&code).is_ok(),
                "{code}"
            );
        }
        for prefix in 100..=199u16 {
            let d = [
                (prefix / 100) as u8,
                (prefix / 10 % 10) as u8,
                (prefix % 10) as u8,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                8,
            ];
            let mut out = String::new();
            assert_eq!(
                cn_mobile(&d, &mut out).is_ok(),
                CN_MOBILE_PREFIXES.binary_search(&prefix).is_ok(),
                "{prefix}"
            );
        }
    }

    #[test]
    fn tables_are_sorted_and_prefix_free() {
        assert!(CN_MOBILE_PREFIXES.windows(2).all(|w| w[0] < w[1]));
        assert!(ASSIGNED_CALLING_CODES.windows(2).all(|w| w[0] < w[1]));
        for &a in ASSIGNED_CALLING_CODES {
            for &b in ASSIGNED_CALLING_CODES {
                let (sa, sb) = (a.to_string(), b.to_string());
                assert!(a == b || !sb.starts_with(&sa), "{a} is a prefix of {b}");
            }
        }
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
    fn calling_code_parsing() {
        assert_eq!("86".parse::<CallingCode>().unwrap(), CallingCode::CN);
        assert_eq!("+86".parse::<CallingCode>().unwrap(), CallingCode::CN);
        assert!("086".parse::<CallingCode>().is_err());
        assert!("28".parse::<CallingCode>().is_err());
        assert!("".parse::<CallingCode>().is_err());
        assert!(CallingCode::new(999).is_err());
        assert_eq!(CallingCode::new(852).unwrap().to_string(), "852");
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
