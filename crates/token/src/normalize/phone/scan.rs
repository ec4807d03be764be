//! Reading a written number: drop a label, skip separators and brackets, keep the
//! leading `+` and the digits, and refuse letters, control characters and extensions.

use super::MAX_DIGITS;
use crate::Rejection;
use crate::normalize::{fold_width, is_dash, is_space, trim_space};

/// Room for [`scan_plain`] to store every byte of a plain number of up to
/// `SCAN_BUF - 1` bytes; numbers never have more than [`MAX_DIGITS`] digits.
pub(super) const SCAN_BUF: usize = 32;

/// The significant characters of a number: an optional leading `+` and the digits.
pub(super) struct Scanned {
    pub(super) plus: bool,
    /// Digit values (0 to 9); only the first `len` mean anything.
    pub(super) buf: [u8; SCAN_BUF],
    pub(super) len: usize,
}

impl Scanned {
    pub(super) fn digits(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

pub(super) fn scan(input: &str, sc: &mut Scanned) -> Result<(), Rejection> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
