//! What the scanner asks of a candidate: character classes of the runs it extracts,
//! and the validators (phone numbers, Chinese mobiles, USCC) that decide whether a
//! run is an identifier.

use blindmatch_token::normalize::{phone, uscc};

/// Registration-authority codes, the first USCC character (GB 32100-2015, table 1).
const USCC_AUTHORITIES: &[u8] = b"123456789ANY";

/// Cheap pre-check: no digit and no `@` (ASCII or full-width) means nothing to find.
pub(super) fn might_hold_identifier(cell: &str) -> bool {
    cell.chars()
        .any(|c| c.is_ascii_digit() || matches!(c, '\u{FF10}'..='\u{FF19}' | '@' | '\u{FF20}'))
}

pub(super) fn is_base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Characters a written phone number is made of: digits, `+`, brackets and the
/// separators people type between digit groups (no `_`, no `:`).
pub(super) fn is_phone_run_char(c: char) -> bool {
    c.is_ascii_digit()
        || matches!(
            c,
            '+' | '(' | ')' | '[' | ']' | '.' | '/' | '-' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '\u{FE63}'
                    | '\u{200B}'
                    | '\u{2060}'
                    | '\u{FEFF}'
                    | '\u{00B7}'
                    | '\u{30FB}'
        )
        || (c.is_whitespace() && c != '\n' && c != '\r')
}

pub(super) fn is_code_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{00A0}' | '\u{2010}'..='\u{2015}')
}

pub(super) fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+/=?^_`{|}~.-".contains(c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

pub(super) fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || (!c.is_ascii() && c.is_alphanumeric())
}

pub(super) fn trim_slice(s: &[char], trim: impl Fn(char) -> bool) -> &[char] {
    let start = s.iter().position(|c| !trim(*c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !trim(*c)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Whether digits (values 0–9) written after `+`, after `00`, or bare form a phone
/// number: a Chinese mainland mobile in any prefix form, or a number with a country
/// code that the normaliser accepts.
pub(super) fn is_phone_number(d: &[u8], plus: bool, scratch: &mut String) -> bool {
    if plus {
        international(d, scratch)
    } else if let Some(rest) = d.strip_prefix(&[0, 0]) {
        international(rest, scratch)
    } else {
        match d {
            [8, 6, rest @ ..] if d.len() == 13 => is_cn_mobile(rest),
            [0, rest @ ..] if d.len() == 12 => is_cn_mobile(rest),
            _ => is_cn_mobile(d),
        }
    }
}

fn international(d: &[u8], scratch: &mut String) -> bool {
    if let [8, 6, rest @ ..] = d {
        let rest = rest.strip_prefix(&[0]).unwrap_or(rest);
        if is_cn_mobile(rest) {
            return true;
        }
    }
    // Nine digits or more: shorter numbers with a `+` are rarely personal, and the
    // shortest national numbers collide with everyday figures.
    if d.len() < 9 {
        return false;
    }
    scratch.clear();
    scratch.push('+');
    scratch.extend(d.iter().map(|x| char::from(b'0' + x)));
    phone::normalize(scratch, None).is_ok()
}

pub(super) fn is_cn_mobile(d: &[u8]) -> bool {
    let [1, b, c, ..] = d else {
        return false;
    };
    d.len() == 11
        && phone::CN_MOBILE_PREFIXES
            .binary_search(&(100 + u16::from(*b) * 10 + u16::from(*c)))
            .is_ok()
}

/// A USCC the token crate accepts, starting with a registration-authority code and
/// embedding an organisation code (positions 9–17) whose GB 11714 check holds.
pub(super) fn is_uscc(candidate: &str) -> bool {
    let Ok(code) = uscc::normalize(candidate) else {
        return false;
    };
    let bytes = code.as_bytes();
    if !bytes.first().is_some_and(|b| USCC_AUTHORITIES.contains(b)) {
        return false;
    }
    let Some(org) = bytes.get(8..17) else {
        return false;
    };
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let value = |b: u8| match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'A'..=b'Z' => Some(u32::from(b - b'A') + 10),
        _ => None,
    };
    let mut sum = 0;
    for (&b, w) in org.iter().zip(WEIGHTS) {
        let Some(v) = value(b) else {
            return false;
        };
        sum += v * w;
    }
    let expected = match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        c => b'0' + c as u8,
    };
    org.get(8) == Some(&expected)
}
