//! The raw-identifier detector: finds, in any text cell, values that look like a
//! mobile (or other) phone number, an e-mail address, a 统一社会信用代码 (USCC) or a
//! 居民身份证号 with a valid check character, whole or embedded in longer text.
//!
//! It answers only *which kinds* a cell holds, never where or what: callers report
//! column, count and row numbers, so the values themselves never reach a report.
//!
//! Shared by the audits (which scan every cell) and by every command that prints
//! or records a name read from a file ([`safe_name`], [`is_safe_name`]): the first
//! line of a CSV without a header row is data, and a header name is shown only if
//! it does not look like a raw identifier.
//!
//! How it avoids false positives:
//! - a cell that is a well-formed token (`bm1.<kid>.<base64url>`) is not scanned, and
//!   token-shaped substrings inside longer text are masked before scanning, because
//!   base64url may hold digit runs and dashes;
//! - an embedded candidate must stand on word boundaries: the characters right
//!   before and after it may not be ASCII letters, digits or `_` (so
//!   `ORD13800138000X` is not a phone number, while `call 13800138000 now`,
//!   `手机13800138000` and `id:11010519491231002X;` are found); a cell that the phone
//!   normaliser accepts whole as a Chinese mobile (`tel13800138000`) is reported
//!   whatever its boundaries;
//! - UUIDs (`8-4-4-4-12` hex digits) are masked like tokens: their all-digit groups
//!   can line up as a phone number (`…-0138-4567-8901-…` reads as `0` + a mobile,
//!   `00769582-6396-…` as `+7 695 826 396`);
//! - the validators of `blindmatch-token` decide: mobile ranges, check characters,
//!   birth dates, region codes, e-mail syntax. A USCC must in addition start with a
//!   registration-authority code and embed a GB 11714 organisation code with a valid
//!   check character, as every issued code does: this cuts the share of random
//!   18-digit numbers taken for a USCC from 1 in 31 to about 1 in 380.

use blindmatch_token::normalize::{cn_id, email, phone, uscc};
use blindmatch_token::{EmailProviderRules, Token};

/// A kind of raw identifier the scanner recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A Chinese mainland mobile number in any written form, or any phone number
    /// written with its country code (`+44 20 …`, `0044 20 …`).
    Phone,
    /// An e-mail address.
    Email,
    /// A unified social credit code (GB 32100-2015) with a valid check character.
    Uscc,
    /// A citizen identity number (GB 11643-1999, 18 characters) with a valid check
    /// character, region and birth date.
    CnId,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 4] = [Kind::Phone, Kind::Email, Kind::Uscc, Kind::CnId];

    /// Stable code used in JSON reports (the identifier type names of `blindmatch-token`).
    pub const fn code(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Uscc => "uscc",
            Kind::CnId => "cn_id",
        }
    }

    /// What a human reads in a finding.
    pub const fn describe(self) -> &'static str {
        match self {
            Kind::Phone => "a phone number",
            Kind::Email => "an e-mail address",
            Kind::Uscc => "a unified social credit code (USCC)",
            Kind::CnId => "a citizen ID number",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of kinds found in one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kinds(u8);

impl Kinds {
    /// Whether nothing was found.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `kind` was found.
    pub fn contains(self, kind: Kind) -> bool {
        self.0 & kind.bit() != 0
    }

    fn insert(&mut self, kind: Kind) {
        self.0 |= kind.bit();
    }

    /// The kinds found, in [`Kind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

/// Stands in for a masked token: neither a word character nor a separator, so it
/// ends every run and counts as a boundary.
const MASK: char = '\u{1}';
/// The longest token MAC in text form (32 bytes, unpadded base64url).
const FULL_MAC_TEXT: usize = 43;
/// Registration-authority codes, the first USCC character (GB 32100-2015, table 1).
const USCC_AUTHORITIES: &[u8] = b"123456789ANY";

/// A reusable scanner (it keeps its buffers between cells).
#[derive(Debug, Default)]
pub struct Scanner {
    chars: Vec<char>,
    digits: Vec<u8>,
    text: String,
    groups: Vec<(usize, usize)>,
    /// Text length of the MACs of the tokens expected in the file, for masking.
    mac_text_len: Option<usize>,
}

impl Scanner {
    /// A scanner; `mac_bytes` is the declared token MAC length, if known, so that
    /// exactly a token's length is masked in running text.
    pub fn new(mac_bytes: Option<usize>) -> Self {
        Scanner {
            mac_text_len: mac_bytes.map(|n| (n * 4).div_ceil(3)),
            ..Scanner::default()
        }
    }

    /// The kinds of raw identifier found in `cell`.
    pub fn scan(&mut self, cell: &str) -> Kinds {
        let mut found = Kinds::default();
        if !might_hold_identifier(cell) || Token::parse(cell.trim()).is_ok() {
            return found;
        }
        // A labelled number such as `tel13800138000` has no boundary before its
        // digits; the phone normaliser strips such labels, so ask it about the
        // whole cell (Chinese mobiles only: other successes would include
        // zero-padded customer numbers).
        if let Ok(e164) = phone::normalize(cell, None)
            && e164.len() == 14
            && e164.starts_with("+861")
        {
            found.insert(Kind::Phone);
        }
        self.fold(cell);
        self.mask_tokens();
        self.mask_uuids();
        if !found.contains(Kind::Phone) && self.phones() {
            found.insert(Kind::Phone);
        }
        if self.emails() {
            found.insert(Kind::Email);
        }
        let (uscc, cn_id) = self.codes();
        if uscc {
            found.insert(Kind::Uscc);
        }
        if cn_id {
            found.insert(Kind::CnId);
        }
        found
    }

    /// Full-width forms to ASCII, ideographic full stops to `.`.
    fn fold(&mut self, cell: &str) {
        self.chars.clear();
        self.chars.extend(cell.chars().map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{3002}' | '\u{FF61}' => '.',
            _ => c,
        }));
    }

    /// Replaces `bm1.<16 hex>.<base64url…>` with [`MASK`] characters: at most one
    /// token's length of MAC, so that text glued to a token is still scanned.
    fn mask_tokens(&mut self) {
        let chars = &mut self.chars;
        let limit = self.mac_text_len.unwrap_or(FULL_MAC_TEXT);
        let mut i = 0;
        while i + 4 < chars.len() {
            let starts = chars.get(i..i + 4) == Some(&['b', 'm', '1', '.'][..])
                && (i == 0 || !chars.get(i - 1).copied().is_some_and(is_base64url));
            if !starts {
                i += 1;
                continue;
            }
            let kid_end = i + 4 + 16;
            let kid_ok = chars
                .get(i + 4..kid_end)
                .is_some_and(|k| k.iter().all(|c| matches!(c, '0'..='9' | 'a'..='f')))
                && chars.get(kid_end) == Some(&'.');
            if !kid_ok {
                i += 1;
                continue;
            }
            let mac_start = kid_end + 1;
            let mac_len = chars
                .get(mac_start..)
                .unwrap_or_default()
                .iter()
                .take(limit)
                .take_while(|c| is_base64url(**c))
                .count();
            let end = mac_start + mac_len;
            for c in chars.get_mut(i..end).unwrap_or_default() {
                *c = MASK;
            }
            i = end;
        }
    }

    /// Replaces UUIDs (`8-4-4-4-12` hex digits, not part of a longer word) with
    /// [`MASK`] characters: their all-digit groups can line up as a phone number
    /// (`…-0138-4567-8901-…`), and their last group can hold 11 digits glued to a
    /// hex letter.
    fn mask_uuids(&mut self) {
        const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
        const LEN: usize = 36;
        let chars = &mut self.chars;
        let mut i = 0;
        while i + LEN <= chars.len() {
            let bounded = (i == 0 || !chars.get(i - 1).is_some_and(char::is_ascii_alphanumeric))
                && !chars.get(i + LEN).is_some_and(char::is_ascii_alphanumeric);
            let mut k = i;
            let mut shaped = bounded;
            for (g, len) in GROUPS.into_iter().enumerate() {
                shaped = shaped
                    && chars
                        .get(k..k + len)
                        .is_some_and(|r| r.iter().all(char::is_ascii_hexdigit))
                    && (g == GROUPS.len() - 1 || chars.get(k + len) == Some(&'-'));
                k += len + 1;
            }
            if !shaped {
                i += 1;
                continue;
            }
            for c in chars.get_mut(i..i + LEN).unwrap_or_default() {
                *c = MASK;
            }
            i += LEN;
        }
    }

    /// Phone numbers: runs of digits, `+`, brackets and separators, cut into digit
    /// groups; every sequence of whole groups is a candidate.
    fn phones(&mut self) -> bool {
        let n = self.chars.len();
        let mut i = 0;
        while i < n {
            if !self.chars.get(i).copied().is_some_and(is_phone_run_char) {
                i += 1;
                continue;
            }
            let start = i;
            while self.chars.get(i).copied().is_some_and(is_phone_run_char) {
                i += 1;
            }
            if self.phone_in_run(start, i) {
                return true;
            }
        }
        false
    }

    fn phone_in_run(&mut self, start: usize, end: usize) -> bool {
        self.groups.clear();
        let mut j = start;
        while j < end {
            if self.chars.get(j).is_some_and(char::is_ascii_digit) {
                let g = j;
                while j < end && self.chars.get(j).is_some_and(char::is_ascii_digit) {
                    j += 1;
                }
                self.groups.push((g, j));
            } else {
                j += 1;
            }
        }
        for s in 0..self.groups.len() {
            let Some(&(first, _)) = self.groups.get(s) else {
                continue;
            };
            if self.word_char_at(first.checked_sub(1)) {
                continue;
            }
            let plus = self.plus_before(start, first);
            self.digits.clear();
            for e in s..self.groups.len() {
                let Some(&(gs, ge)) = self.groups.get(e) else {
                    break;
                };
                self.digits.extend(
                    self.chars
                        .get(gs..ge)
                        .unwrap_or_default()
                        .iter()
                        .map(|c| *c as u8 - b'0'),
                );
                if self.digits.len() > 17 {
                    break;
                }
                if self.digits.len() < 7 || self.word_char_at(Some(ge)) {
                    continue;
                }
                // `12345678.90` is an amount, not a phone number.
                let decimal = e > s
                    && ge - gs <= 2
                    && gs.checked_sub(1).and_then(|k| self.chars.get(k)) == Some(&'.');
                if !decimal && is_phone_number(&self.digits, plus, &mut self.text) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether a `+` precedes position `at` within the run, with only separators and
    /// brackets in between.
    fn plus_before(&self, run_start: usize, at: usize) -> bool {
        let mut k = at;
        while k > run_start {
            k -= 1;
            match self.chars.get(k) {
                Some('+') => return true,
                Some(c) if c.is_ascii_digit() => return false,
                _ => {}
            }
        }
        false
    }

    /// Whether the character at `at` (if any) is a word character: an ASCII letter,
    /// digit or `_`.
    fn word_char_at(&self, at: Option<usize>) -> bool {
        at.and_then(|k| self.chars.get(k))
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
    }

    /// E-mail addresses: the longest plausible local part and domain around each `@`.
    fn emails(&mut self) -> bool {
        for at in 0..self.chars.len() {
            if self.chars.get(at) != Some(&'@') {
                continue;
            }
            let mut left = at;
            while left > 0 && self.chars.get(left - 1).copied().is_some_and(is_local_char) {
                left -= 1;
            }
            let mut right = at + 1;
            while self.chars.get(right).copied().is_some_and(is_domain_char) {
                right += 1;
            }
            let local = self.chars.get(left..at).unwrap_or_default();
            let local = trim_slice(local, |c| c == '.');
            let domain = self.chars.get(at + 1..right).unwrap_or_default();
            let domain = trim_slice(domain, |c| c == '.' || c == '-');
            if local.is_empty() || domain.is_empty() {
                continue;
            }
            let top = domain.rsplit(|c| *c == '.').next().unwrap_or_default();
            if top.len() < 2 {
                continue;
            }
            self.text.clear();
            self.text.extend(local.iter());
            self.text.push('@');
            self.text.extend(domain.iter());
            if email::normalize(&self.text, EmailProviderRules::None).is_ok() {
                return true;
            }
        }
        false
    }

    /// USCCs and ID numbers: 18 alphanumerics in one group, or in several groups
    /// joined by one or two spaces or dashes (`110105 19491231 002X`).
    fn codes(&mut self) -> (bool, bool) {
        self.groups.clear();
        let n = self.chars.len();
        let mut j = 0;
        while j < n {
            if self.chars.get(j).is_some_and(char::is_ascii_alphanumeric) {
                let g = j;
                while self.chars.get(j).is_some_and(char::is_ascii_alphanumeric) {
                    j += 1;
                }
                self.groups.push((g, j));
            } else {
                j += 1;
            }
        }
        let (mut found_uscc, mut found_id) = (false, false);
        for s in 0..self.groups.len() {
            let Some(&(first, _)) = self.groups.get(s) else {
                continue;
            };
            if first > 0 && self.chars.get(first - 1) == Some(&'_') {
                continue;
            }
            self.text.clear();
            let mut prev_end = first;
            for e in s..self.groups.len() {
                let Some(&(gs, ge)) = self.groups.get(e) else {
                    break;
                };
                if e > s {
                    let gap = self.chars.get(prev_end..gs).unwrap_or_default();
                    if gap.is_empty() || gap.len() > 2 || !gap.iter().all(|c| is_code_separator(*c))
                    {
                        break;
                    }
                }
                self.text
                    .extend(self.chars.get(gs..ge).unwrap_or_default().iter());
                prev_end = ge;
                if self.text.len() >= 18 {
                    break;
                }
            }
            if self.text.len() != 18 || self.chars.get(prev_end) == Some(&'_') {
                continue;
            }
            if !found_id && cn_id::normalize(&self.text).is_ok() {
                found_id = true;
            } else if !found_uscc && is_uscc(&self.text) {
                found_uscc = true;
            }
            if found_id && found_uscc {
                break;
            }
        }
        (found_uscc, found_id)
    }
}

/// Cheap pre-check: no digit and no `@` (ASCII or full-width) means nothing to find.
fn might_hold_identifier(cell: &str) -> bool {
    cell.chars()
        .any(|c| c.is_ascii_digit() || matches!(c, '\u{FF10}'..='\u{FF19}' | '@' | '\u{FF20}'))
}

fn is_base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Characters a written phone number is made of: digits, `+`, brackets and the
/// separators people type between digit groups (no `_`, no `:`).
fn is_phone_run_char(c: char) -> bool {
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

fn is_code_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{00A0}' | '\u{2010}'..='\u{2015}')
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+/=?^_`{|}~.-".contains(c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || (!c.is_ascii() && c.is_alphanumeric())
}

fn trim_slice(s: &[char], trim: impl Fn(char) -> bool) -> &[char] {
    let start = s.iter().position(|c| !trim(*c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !trim(*c)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Whether digits (values 0–9) written after `+`, after `00`, or bare form a phone
/// number: a Chinese mainland mobile in any prefix form, or a number with a country
/// code that the normaliser accepts.
fn is_phone_number(d: &[u8], plus: bool, scratch: &mut String) -> bool {
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

fn is_cn_mobile(d: &[u8]) -> bool {
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
fn is_uscc(candidate: &str) -> bool {
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

/// Whether a name read from a file (a column header, a recorded path) may be
/// printed or recorded as it is: false when it looks like it holds a raw
/// identifier.
pub fn is_safe_name(name: &str) -> bool {
    Scanner::new(None).scan(name).is_empty()
}

/// A name read from a file, made safe to print: replaced if it looks like it holds
/// a raw identifier.
pub fn safe_name(name: &str) -> String {
    if is_safe_name(name) {
        name.to_owned()
    } else {
        "<redacted: looks like a raw identifier>".to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use blindmatch_token::{IdType, Key, Tokenizer};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    fn kinds(cell: &str) -> Vec<Kind> {
        Scanner::new(None).scan(cell).iter().collect()
    }

    fn finds(cell: &str, kind: Kind) {
        assert_eq!(kinds(cell), vec![kind], "{cell:?}");
    }

    fn clean(cell: &str) {
        assert_eq!(kinds(cell), vec![], "{cell:?}");
    }

    #[test]
    fn mobile_numbers_in_every_written_form() {
        for cell in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "138.0013.8000",
            "(138)0013 8000",
            "(138) 0013-8000",
            "+86 138 0013 8000",
            "+86-138-0013-8000",
            "+8613800138000",
            "+86(138)00138000",
            "(+86) 13800138000",
            "+86 (0) 138 0013 8000",
            "0086 138 0013 8000",
            "0086-13800138000",
            "008613800138000",
            "86 13800138000",
            "8613800138000",
            "013800138000",
            "１３８００１３８０００",
            "＋８６　１３８－００１３－８０００",
            "（１３８）００１３ ８０００",
            "tel:+86-138-0013-8000",
            "tel13800138000",
            "手机：13800138000",
            "138\u{200B}0013\u{200B}8000",
            "138\u{00A0}0013\u{00A0}8000",
            "138—0013—8000",
        ] {
            finds(cell, Kind::Phone);
        }
    }

    #[test]
    fn phone_numbers_with_a_country_code() {
        finds("+44 20 7946 0000", Kind::Phone);
        finds("0044 20 7946 0000", Kind::Phone);
        finds("+1 (415) 555-2671", Kind::Phone);
        finds("+852 9123 4567", Kind::Phone);
        // Without a country code only Chinese mobiles are recognisable.
        clean("(415) 555-2671");
        clean("020 7946 0000");
    }

    #[test]
    fn embedded_identifiers_are_found() {
        finds("call 13800138000 now", Kind::Phone);
        finds("客户电话13800138000，请回电", Kind::Phone);
        finds("ref=13800138000;", Kind::Phone);
        finds("numbers: 13800138000, 13900139000", Kind::Phone);
        finds("13800138000 13900139000", Kind::Phone);
        finds("write to Alice.Smith@Example.COM today", Kind::Email);
        finds("邮箱：zhang.san@qq.com。", Kind::Email);
        finds("<mailto:bob@example.org>", Kind::Email);
        finds("ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ", Kind::Email);
        finds("alice@qq。com", Kind::Email);
        finds("id:11010519491231002X;", Kind::CnId);
        finds("身份证11010519491231002x号", Kind::CnId);
        finds("110105 19491231 002X", Kind::CnId);
        finds("110105-19491231-002X", Kind::CnId);
        finds("１１０１０５１９４９１２３１００２ｘ", Kind::CnId);
        finds("统一社会信用代码91350100M000100Y43公司", Kind::Uscc);
        finds("9135 0100 M000 100Y 43", Kind::Uscc);
        finds("9135-0100-M000-100Y-43", Kind::Uscc);
        finds("uscc=91440300ma5d8yqk3x.", Kind::Uscc);
        finds("９１３５０１００Ｍ０００１００Ｙ４３", Kind::Uscc);
        finds("91110000100017643K", Kind::Uscc);
        let all = kinds("13800138000 a@b.cn 11010519491231002X 91350100M000100Y43");
        assert_eq!(all, Kind::ALL.to_vec());
    }

    #[test]
    fn boundaries_are_required() {
        clean("ORD13800138000X");
        clean("A13800138000");
        clean("13800138000B");
        clean("x_13800138000");
        clean("13800138000_1");
        clean("1380013800012345");
        clean("913800138000");
        clean("X11010519491231002X");
        clean("11010519491231002X7");
        clean("a_11010519491231002X");
        clean("Z91350100M000100Y43");
        clean("91350100M000100Y43Q");
        clean("@handle");
        clean("v1.2.3@4.5");
        clean("pkg@1.2.3");
    }

    #[test]
    fn invalid_values_are_not_identifiers() {
        // Unallocated mobile prefix, wrong length, bad check characters, bad dates.
        clean("12345678901");
        clean("1380013800");
        clean("11010519491231002 1");
        clean("110105194912310021");
        clean("110105202302290014");
        clean("990105194912310023");
        clean("91350100M000100Y44");
        clean("alice@localhost");
        clean("alice@10.0.0.1");
        clean("2024-11-22 13:45:00");
        clean("amount 12345678.90");
        clean("+12345678.90");
        clean("");
        clean("no digits here");
        // 15-digit legacy ID numbers have no check character: not reported.
        clean("110105491231002");
    }

    #[test]
    fn ids_and_usccs_are_told_apart() {
        assert_eq!(kinds("11010519491231002X"), vec![Kind::CnId]);
        assert_eq!(kinds("91350100M000100Y43"), vec![Kind::Uscc]);
        // 18-digit numbers with a valid GB 32100 check character but no valid
        // embedded organisation code are not reported as USCCs.
        let mut rejected = 0;
        for first17 in [
            "91350100000000001",
            "12345678901234567",
            "91350100M00010012",
        ] {
            for c in "0123456789ABCDEFGHJKLMNPQRTUWXY".chars() {
                let candidate = format!("{first17}{c}");
                if uscc::normalize(&candidate).is_ok() && !is_uscc(&candidate) {
                    clean(&candidate);
                    rejected += 1;
                }
            }
        }
        assert!(rejected >= 2, "{rejected}");
    }

    #[test]
    fn tokens_are_never_taken_for_identifiers() {
        let tokenizer = Tokenizer::new(&Key::from_bytes([7; 32]));
        let short = Tokenizer::with_len(&Key::from_bytes([9; 32]), 16).unwrap();
        let mut scanner = Scanner::new(None);
        let mut text = String::new();
        for i in 0..1000u32 {
            let value = format!("+86138{i:08}");
            for t in [&tokenizer, &short] {
                text.clear();
                t.write_token(IdType::Phone, value.as_bytes(), &mut text);
                assert!(scanner.scan(&text).is_empty(), "{text}");
                // Also inside running text and glued to separators.
                let embedded = format!("token {text}; next");
                assert!(scanner.scan(&embedded).is_empty(), "{embedded}");
                let listed = format!("{text},{text}");
                assert!(scanner.scan(&listed).is_empty(), "{listed}");
                // The MAC alone (a bare base64url string) never has boundaries
                // around a digit run long enough to matter.
                let mac = text.rsplit('.').next().unwrap();
                assert!(scanner.scan(mac).is_empty(), "{mac}");
            }
        }
    }

    #[test]
    fn uuids_are_never_taken_for_identifiers() {
        clean("urn:uuid:f81d4fae-0138-4567-8901-00a0c91e6bf6");
        clean("{F81D4FAE-0138-4567-8901-00A0C91E6BF6}");
        // About one random UUID in a thousand has all-digit groups that line up as
        // a phone number with a country code or trunk prefix.
        let mut rng = StdRng::seed_from_u64(11);
        let mut scanner = Scanner::new(None);
        for _ in 0..5000 {
            let uuid = uuid_v4(rng.random());
            assert!(scanner.scan(&uuid).is_empty(), "{uuid}");
            let text = format!("request {uuid}: done");
            assert!(scanner.scan(&text).is_empty(), "{text}");
        }
        // Text beside a UUID is still scanned.
        finds(
            "f81d4fae-0138-4567-8901-00a0c91e6bf6 13800138000",
            Kind::Phone,
        );
        finds(
            "f81d4fae-0138-4567-8901-00a0c91e6bf6,13800138000",
            Kind::Phone,
        );
    }

    fn uuid_v4(bytes: [u8; 16]) -> String {
        let mut b = bytes;
        b[6] = b[6] & 0x0f | 0x40;
        b[8] = b[8] & 0x3f | 0x80;
        let h = hex::encode(b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    #[test]
    fn text_glued_to_a_token_is_still_scanned() {
        let text = Tokenizer::new(&Key::from_bytes([7; 32]))
            .token(IdType::Phone, b"+8613800138000")
            .to_string();
        finds(&format!("{text} 13800138000"), Kind::Phone);
        finds(&format!("{text}13800138000"), Kind::Phone);
        finds(&format!("{text}-13800138000"), Kind::Phone);
        finds(&format!("{text}|a@b.cn"), Kind::Email);
        // With a declared 16-byte MAC, only 22 characters are a token's.
        let short = Tokenizer::with_len(&Key::from_bytes([7; 32]), 16)
            .unwrap()
            .token(IdType::Phone, b"+8613800138000")
            .to_string();
        let glued = format!("{short}-13800138000");
        assert!(Scanner::new(Some(16)).scan(&glued).contains(Kind::Phone));
    }

    mod properties {
        #![allow(clippy::unwrap_used)]
        use super::*;
        use proptest::prelude::*;

        const BEFORE: [&str; 9] = ["", " ", "call ", "电话", "id:", "(", "\"", "，", "note: "];
        const AFTER: [&str; 8] = ["", " ", " now", "。", ";", ")", ",", "号"];

        fn mobile() -> impl Strategy<Value = String> {
            (0..phone::CN_MOBILE_PREFIXES.len(), 0u32..100_000_000).prop_map(|(p, n)| {
                format!(
                    "{}{n:08}",
                    phone::CN_MOBILE_PREFIXES.get(p).copied().unwrap_or(138)
                )
            })
        }

        fn written(n: &str, form: usize) -> String {
            let (a, rest) = n.split_at(3);
            let (b, c) = rest.split_at(4);
            match form % 9 {
                0 => n.to_owned(),
                1 => format!("{a} {b} {c}"),
                2 => format!("{a}-{b}-{c}"),
                3 => format!("+86 {a} {b} {c}"),
                4 => format!("0086-{n}"),
                5 => format!("({a}){b} {c}"),
                6 => format!("86{n}"),
                7 => n
                    .chars()
                    .map(|d| char::from_u32(d as u32 + 0xFEE0).unwrap_or(d))
                    .collect(),
                _ => format!("+86({a}){b}-{c}"),
            }
        }

        fn id_number() -> impl Strategy<Value = String> {
            (
                prop::sample::select(vec!["110105", "440305", "320102", "510107"]),
                1930u32..2010,
                1u32..13,
                1u32..29,
                0u32..1000,
            )
                .prop_map(|(region, y, m, d, seq)| {
                    let first17 = format!("{region}{y}{m:02}{d:02}{seq:03}");
                    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
                    let sum: u32 = first17
                        .bytes()
                        .zip(W)
                        .map(|(b, w)| u32::from(b - b'0') * w)
                        .sum();
                    let check = b"10X98765432"
                        .get((sum % 11) as usize)
                        .copied()
                        .unwrap_or(b'0');
                    format!("{first17}{}", char::from(check))
                })
        }

        proptest! {
            #[test]
            fn every_written_mobile_is_found_wherever_it_stands(
                n in mobile(), form in 0usize..9, before in 0usize..9, after in 0usize..8,
            ) {
                let cell = format!("{}{}{}", BEFORE[before], written(&n, form), AFTER[after]);
                prop_assert!(Scanner::new(None).scan(&cell).contains(Kind::Phone), "{}", cell);
            }

            #[test]
            fn every_id_number_is_found_wherever_it_stands(
                id in id_number(), lower in any::<bool>(), before in 0usize..9, after in 0usize..8,
            ) {
                let id = if lower { id.to_lowercase() } else { id };
                let cell = format!("{}{}{}", BEFORE[before], id, AFTER[after]);
                prop_assert!(Scanner::new(None).scan(&cell).contains(Kind::CnId), "{}", cell);
            }

            #[test]
            fn addresses_are_found(
                local in "[a-z][a-z0-9._-]{0,12}[a-z0-9]", domain in "[a-z][a-z0-9-]{0,10}[a-z]", tld in "[a-z]{2,6}",
                before in 0usize..9, after in 0usize..8,
            ) {
                prop_assume!(!local.contains(".."));
                let cell = format!("{}{local}@{domain}.{tld}{}", BEFORE[before], AFTER[after]);
                prop_assert!(Scanner::new(None).scan(&cell).contains(Kind::Email), "{}", cell);
            }

            #[test]
            // Letters only: a whole cell the phone normaliser accepts (it reads `_`
            // as a separator, as in `_13800138000_`) is reported on purpose.
            fn glued_to_letters_a_mobile_is_not_a_phone(n in mobile(), l in "[A-Za-z]", r in "[A-Za-z]") {
                let cell = format!("{l}{n}{r}");
                prop_assert!(!Scanner::new(None).scan(&cell).contains(Kind::Phone), "{}", cell);
            }
        }
    }
}
