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
//! - a candidate never touches a digit, so `1380013800012345`, `913800138000` and
//!   `11010519491231002X7` hold no identifier. It is found when it stands on word
//!   boundaries, in any written form: the characters right before and after it are
//!   not ASCII letters, digits or `_` (`call 13800138000 now`, `手机138 0013 8000`,
//!   `id:11010519491231002X;`). A cell that the phone normaliser accepts whole as
//!   a Chinese mobile (`tel13800138000`) is reported whatever its boundaries;
//! - a candidate *glued* to ASCII letters or `_` on one side or both
//!   (`a13800138000`, `13800138000ext12`, `13800138000_old`, `id11010519491231002X`,
//!   `uscc91350100M000100Y43`) is found when it is written without separators and
//!   has exactly an identifier's length: a maximal run of exactly 11 digits for a
//!   mobile (so digit runs of long order numbers and timestamps never are one), 18
//!   alphanumerics for an ID number or USCC. It is not reported when it lies in a
//!   hex string: a word (between non-alphanumerics, `_` included) of 16 or more
//!   hex digits after an optional `0x`, with digits outside the candidate too, as
//!   SHA-1/SHA-256 digests, key IDs and session IDs are. Base64 and base64url text
//!   needs no exception: a run of exactly 11 digits among 64 symbols comes about
//!   once in 10^9 positions;
//! - UUIDs (`8-4-4-4-12` hex digits) are masked like tokens: their all-digit groups
//!   can line up as a phone number (`…-0138-4567-8901-…` reads as `0` + a mobile,
//!   `00769582-6396-…` as `+7 695 826 396`), and their last group can hold 11
//!   digits glued to a hex letter;
//! - the validators of `blindmatch-token` decide: mobile ranges, check characters,
//!   birth dates, region codes, e-mail syntax. A USCC must in addition start with a
//!   registration-authority code and embed a GB 11714 organisation code with a valid
//!   check character, as every issued code does: this cuts the share of random
//!   18-digit numbers taken for a USCC from 1 in 31 to about 1 in 380.

use blindmatch_token::normalize::{cn_id, email, phone};
use blindmatch_token::{EmailProviderRules, Token};

mod validate;

use validate::{
    is_base64url, is_cn_mobile, is_code_separator, is_domain_char, is_local_char, is_phone_number,
    is_phone_run_char, is_uscc, might_hold_identifier, trim_slice,
};

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
        if !(found.contains(Kind::Phone)
            && found.contains(Kind::Uscc)
            && found.contains(Kind::CnId))
        {
            for kind in self.glued().iter() {
                found.insert(kind);
            }
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

    /// Identifiers glued to ASCII letters or `_`, which the word-boundary rules of
    /// [`Scanner::phones`] and [`Scanner::codes`] pass over: in every word of ASCII
    /// alphanumerics, each maximal run of exactly 11 digits and each window of 18
    /// characters that touches a letter or `_` on one side or both and a digit on
    /// neither, unless the word is a hex string.
    fn glued(&mut self) -> Kinds {
        let mut found = Kinds::default();
        let n = self.chars.len();
        let mut s = 0;
        while s < n {
            if !self.chars.get(s).is_some_and(char::is_ascii_alphanumeric) {
                s += 1;
                continue;
            }
            let mut e = s;
            while self.chars.get(e).is_some_and(char::is_ascii_alphanumeric) {
                e += 1;
            }
            self.glued_mobile(s, e, &mut found);
            self.glued_codes(s, e, &mut found);
            s = e;
        }
        found
    }

    /// A Chinese mobile as a maximal run of exactly 11 digits in the word `s..e`,
    /// glued to a letter or `_`.
    fn glued_mobile(&mut self, s: usize, e: usize, found: &mut Kinds) {
        let mut j = s;
        while j < e && !found.contains(Kind::Phone) {
            if !self.chars.get(j).is_some_and(char::is_ascii_digit) {
                j += 1;
                continue;
            }
            let r0 = j;
            while j < e && self.chars.get(j).is_some_and(char::is_ascii_digit) {
                j += 1;
            }
            if j - r0 != 11 || !(self.glue_at(r0.checked_sub(1)) || self.glue_at(Some(j))) {
                continue;
            }
            self.digits.clear();
            self.digits.extend(
                self.chars
                    .get(r0..j)
                    .unwrap_or_default()
                    .iter()
                    .map(|c| *c as u8 - b'0'),
            );
            if is_cn_mobile(&self.digits) && !self.hex_word(s, e, r0, j) {
                found.insert(Kind::Phone);
            }
        }
    }

    /// ID numbers and USCCs as 18 characters of the word `s..e` glued to letters or
    /// `_` and to no digit.
    fn glued_codes(&mut self, s: usize, e: usize, found: &mut Kinds) {
        const LEN: usize = 18;
        if e - s < LEN {
            return;
        }
        for a in s..=e - LEN {
            if found.contains(Kind::Uscc) && found.contains(Kind::CnId) {
                return;
            }
            let b = a + LEN;
            let (before, after) = (a.checked_sub(1), Some(b));
            if self.digit_at(before)
                || self.digit_at(after)
                || !(self.glue_at(before) || self.glue_at(after))
            {
                continue;
            }
            let Some(window) = self.chars.get(a..b) else {
                continue;
            };
            // Both kinds carry a 6-digit region code at positions 3–8: a cheap filter
            // before the validators.
            if !window
                .get(2..8)
                .is_some_and(|r| r.iter().all(char::is_ascii_digit))
                || self.hex_word(s, e, a, b)
            {
                continue;
            }
            self.text.clear();
            self.text.extend(window.iter());
            if !found.contains(Kind::CnId) && cn_id::normalize(&self.text).is_ok() {
                found.insert(Kind::CnId);
            } else if !found.contains(Kind::Uscc) && is_uscc(&self.text) {
                found.insert(Kind::Uscc);
            }
        }
    }

    /// Whether the character at `at` (if any) glues a candidate to a word: an ASCII
    /// letter or `_`.
    fn glue_at(&self, at: Option<usize>) -> bool {
        at.and_then(|k| self.chars.get(k))
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
    }

    fn digit_at(&self, at: Option<usize>) -> bool {
        at.and_then(|k| self.chars.get(k))
            .is_some_and(char::is_ascii_digit)
    }

    /// Whether the word `s..e`, holding a candidate at `c0..c1`, is a hex string: 16
    /// hex digits or more after an optional `0x`, with a digit outside the
    /// candidate. A digest, key ID or session ID has digits all along; a label of
    /// hex letters glued to a number (`cafe13800138000`) has none.
    fn hex_word(&self, s: usize, e: usize, c0: usize, c1: usize) -> bool {
        let zero_x = c0 >= s + 2
            && self.chars.get(s) == Some(&'0')
            && matches!(self.chars.get(s + 1), Some('x' | 'X'));
        let t0 = if zero_x { s + 2 } else { s };
        let body = self.chars.get(t0..e).unwrap_or_default();
        let digit_outside =
            |r: Option<&[char]>| r.unwrap_or_default().iter().any(char::is_ascii_digit);
        body.len() >= 16
            && body.iter().all(char::is_ascii_hexdigit)
            && (digit_outside(self.chars.get(t0..c0)) || digit_outside(self.chars.get(c1..e)))
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
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use blindmatch_token::normalize::uscc;
    use blindmatch_token::{IdType, Key, Tokenizer};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use sha2::{Digest, Sha256};

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
        // A digit on either side makes a candidate part of a longer number.
        clean("1380013800012345");
        clean("913800138000");
        clean("a913800138000");
        clean("11010519491231002X7");
        clean("711010519491231002Xa");
        clean("91350100M000100Y437");
        clean("x991350100M000100Y43");
        clean("@handle");
        clean("v1.2.3@4.5");
        clean("pkg@1.2.3");
    }

    #[test]
    fn identifiers_glued_to_letters_or_underscore_are_found() {
        for cell in [
            // Issue 11, point 3.
            "13800138000abc",
            "13800138000ext12",
            "13800138000_old",
            "a13800138000",
            "x13800138000y",
            "tel13800138010",
            "13800138000 ext12",
            // Codes, labels and file names that carry a mobile number.
            "ORD13800138000X",
            "A13800138000",
            "13800138000B",
            "x_13800138000",
            "13800138000_1",
            "user_13800138000",
            "TEL13800138000",
            "mobile13800138000note",
            "ｔｅｌ１３８００１３８０００ｘ",
            "备注：客户x13800138000y已联系",
            "export/customer_13800138000.csv",
            // Hex letters alone do not make a hex string: no digits outside.
            "cafe13800138000",
            "13800138000deadbeef",
            "bad13800138000",
        ] {
            finds(cell, Kind::Phone);
        }
        for cell in [
            "X11010519491231002X",
            "a_11010519491231002X",
            "id11010519491231002X",
            "sfz11010519491231002xabc",
            "11010519491231002X_old",
            "idno440305198001011008",
            "440305198001011008abc",
            "cafe440305198001011008",
        ] {
            finds(cell, Kind::CnId);
        }
        for cell in [
            "Z91350100M000100Y43",
            "91350100M000100Y43Q",
            "uscc91350100M000100Y43",
            "code_91350100M000100Y43_v2",
            "91110000100017643Kcorp",
        ] {
            finds(cell, Kind::Uscc);
        }
        let all = kinds("a13800138000_11010519491231002X_uscc91350100M000100Y43");
        assert_eq!(all, vec![Kind::Phone, Kind::Uscc, Kind::CnId]);
    }

    #[test]
    fn glued_candidates_have_exactly_an_identifier_s_length() {
        clean("a1380013800");
        clean("a138001380001");
        clean("ORD2024061513800138000123");
        clean("ORD20240615X138001380001");
        clean("INV2024A13800138000123");
        clean("x8613800138000");
        clean("a1110105194912310021");
        clean("id11010519491231002X9");
        // 18 digits glued to letters, but neither a valid ID number nor a USCC.
        clean("ORD202406151380013800");
        clean("SN110105194912310021");
    }

    /// Realistic strings that are not identifiers, many with a mobile-shaped run of
    /// 11 digits glued to letters.
    const NOT_IDENTIFIERS: &[&str] = &[
        // Hex digests and IDs (SHA-256, SHA-1, MD5, a `0x` address, a session ID,
        // a key ID), some holding a mobile number's digits.
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "e3b0c44298fc1c149afbf4c8a13800138000b1e4649b934ca495991b7852b855",
        "E3B0C44298FC1C149AFBF4C8A13800138000B1E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8a13800138000b1e4649b934ca495991b7852b855",
        "da39a3ee5ec13900139000ef95601890afd80709",
        "file_da39a3ee5ec13900139000ef95601890afd80709.bin",
        "13800138000fb204e9800998ecf8427e",
        "0x2d711642b726b04401627ca9fbace18612345678",
        "043a7d15012345678a25adbeb1bfcd5c",
        "ab13800138000cd1",
        "9fceb02d0ae598e95dc970b74767f19372d61af8",
        // UUIDs, including one whose groups line up as 0138 4567 8901.
        "550e8400-e29b-41d4-a716-a13800138000",
        "{550E8400-E29B-41D4-A716-13800138000F}",
        "urn:uuid:f81d4fae-0138-4567-8901-00a0c91e6bf6",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        // Base64 and base64url.
        "SGVsbG8gMTM4MDAxMzgwMDA=",
        "MTM4MDAxMzgwMDA",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMzgwMDEzODAwMCJ9.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AKIAIOSFODNN7EXAMPLE",
        // Order numbers, serials, snowflake IDs, ULIDs.
        "ORD2024061513800138000123",
        "SO20240615138001380001",
        "order 2024061513800138000",
        "1801234567890123456",
        "01HZX8P4QK7M2N9R3T5V6W8Y0A",
        "INV-2024-0615-0001",
        "api-7f9c6d5b4-x2k9p",
        // Timestamps.
        "20240615138001",
        "T20240615138001Z",
        "1718438400123",
        "ts_1718438400",
        "2024-06-15T13:38:00.138Z",
        "IMG_20240615_138001.jpg",
        // Addresses, versions, numbers.
        "192.168.138.100",
        "10.13.80.138:8000",
        "2001:db8:1380:138::8000",
        "v13.8.0",
        "1.38.0-rc.13800",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/125.0.6422.141",
        "lat 31.2304138 lon 121.4737138",
        "color #1380ff",
        "https://example.com/item/20240615138001?ref=abc",
        "%E6%89%8B%E6%9C%BA",
    ];

    #[test]
    fn realistic_non_identifiers_are_clean() {
        assert!(NOT_IDENTIFIERS.len() >= 40);
        let glued = NOT_IDENTIFIERS
            .iter()
            .filter(|c| naive_glued_mobile(c))
            .count();
        assert!(glued >= 8, "{glued}");
        for cell in NOT_IDENTIFIERS {
            clean(cell);
        }
    }

    /// Whether `cell` holds a maximal run of exactly 11 digits that is a Chinese
    /// mobile and touches an ASCII letter or `_`: what the glued rule would report
    /// without its hex-string exception and UUID masking.
    fn naive_glued_mobile(cell: &str) -> bool {
        let b = cell.as_bytes();
        let glue = |k: Option<usize>| {
            k.and_then(|k| b.get(k))
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        };
        let mut i = 0;
        while i < b.len() {
            if !b[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let r0 = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits: Vec<u8> = b[r0..i].iter().map(|c| c - b'0').collect();
            if (glue(r0.checked_sub(1)) || glue(Some(i))) && is_cn_mobile(&digits) {
                return true;
            }
        }
        false
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

    fn hex_letter(rng: &mut StdRng) -> char {
        char::from(b'a' + rng.random_range(0..6u8))
    }

    fn random_mobile(rng: &mut StdRng) -> String {
        let prefix =
            phone::CN_MOBILE_PREFIXES[rng.random_range(0..phone::CN_MOBILE_PREFIXES.len())];
        format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
    }

    /// Overwrites 13 characters of a hex string at `at` with a hex letter, a mobile
    /// number and a hex letter.
    fn plant(hex: &str, at: usize, rng: &mut StdRng) -> String {
        let glued = format!(
            "{}{}{}",
            hex_letter(rng),
            random_mobile(rng),
            hex_letter(rng)
        );
        let mut out = hex.to_owned();
        out.replace_range(at..at + 13, &glued);
        out
    }

    #[test]
    fn generated_digests_uuids_blobs_tokens_and_order_numbers_are_clean() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut corpus: Vec<String> = Vec::new();
        let mut bytes = [0u8; 32];
        for i in 0..2000 {
            rng.fill(&mut bytes[..]);
            let sha256 = hex::encode(Sha256::digest(bytes));
            // SHA-256 and SHA-1 lengths, lower and upper case, alone and in text.
            corpus.push(if i % 4 == 0 {
                sha256.to_uppercase()
            } else {
                sha256.clone()
            });
            corpus.push(format!("sha1={};", &sha256[..40]));
            corpus.push(uuid_v4(rng.random()));
            corpus.push(URL_SAFE_NO_PAD.encode(bytes));
            corpus.push(STANDARD.encode(&bytes[..24]));
            // The same with a mobile number's 11 digits glued to hex letters.
            let at = rng.random_range(0..64 - 13);
            corpus.push(plant(&sha256, at, &mut rng));
            let at = rng.random_range(0..40 - 13);
            corpus.push(format!("0x{}", plant(&sha256[..40], at, &mut rng)));
            // A UUID whose last group is a hex letter and 11 digits, or the reverse.
            let uuid = uuid_v4(rng.random());
            let (mobile, letter) = (random_mobile(&mut rng), hex_letter(&mut rng));
            corpus.push(if i % 2 == 0 {
                format!("{}{letter}{mobile}", &uuid[..24])
            } else {
                format!("{}{mobile}{letter}", &uuid[..24])
            });
        }
        // Real tokens, alone and in running text.
        let tokenizer = Tokenizer::new(&Key::from_bytes([3; 32]));
        let mut text = String::new();
        for i in 0..500u32 {
            text.clear();
            tokenizer.write_token(IdType::Phone, format!("+86139{i:08}").as_bytes(), &mut text);
            corpus.push(text.clone());
            corpus.push(format!("ref {text} 2024-06-15"));
        }
        // Order numbers, counters and timestamps: digit runs longer or shorter than
        // an identifier, glued to letters.
        for _ in 0..1000 {
            let date = format!(
                "2024{:02}{:02}",
                rng.random_range(1..13u32),
                rng.random_range(1..29u32)
            );
            let time = format!("{:06}", rng.random_range(0..240_000u32));
            let n: u64 = rng.random_range(0..100_000_000_000_000);
            corpus.push(format!("ORD{date}{n:014}"));
            corpus.push(format!("{n:014}{:06}", rng.random_range(0..1_000_000u32)));
            corpus.push(format!("SO{date}{time}"));
            corpus.push(format!("T{date}{time}Z"));
            corpus.push(format!("ORD{date}X{:012}", n % 1_000_000_000_000));
            corpus.push(format!(
                "evt_{}",
                1_700_000_000_000u64 + rng.random_range(0..100_000_000_000u64)
            ));
        }
        let glued = corpus.iter().filter(|c| naive_glued_mobile(c)).count();
        assert!(glued >= 6000, "{glued}");
        let mut scanner = Scanner::new(None);
        let found: Vec<&String> = corpus
            .iter()
            .filter(|c| !scanner.scan(c).is_empty())
            .collect();
        assert!(
            found.is_empty(),
            "{} of {}: {:?}",
            found.len(),
            corpus.len(),
            found.get(..found.len().min(5))
        );
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
            fn glued_to_letters_a_mobile_is_a_phone(n in mobile(), l in "[A-Za-z]", r in "[A-Za-z]") {
                let cell = format!("{l}{n}{r}");
                prop_assert!(Scanner::new(None).scan(&cell).contains(Kind::Phone), "{}", cell);
            }

            #[test]
            fn glued_to_words_a_mobile_is_found(
                // The suffix starts with a non-hex letter: `13800138000abcde1` is a
                // hex word with digits outside the number, which the rule takes for
                // a digest (see `Scanner::hex_word`).
                n in mobile(), l in "[A-Za-z_]{0,8}", r in "([g-zG-Z_][A-Za-z0-9_]{0,7})?",
                before in 0usize..9, after in 0usize..8,
            ) {
                let cell = format!("{}{l}{n}{r}{}", BEFORE[before], AFTER[after]);
                prop_assert!(Scanner::new(None).scan(&cell).contains(Kind::Phone), "{}", cell);
            }

            #[test]
            fn glued_to_words_an_id_number_is_found(
                id in id_number(), lower in any::<bool>(), l in "[A-Za-z_]{0,8}", r in "[A-Za-z_]{0,8}",
            ) {
                let id = if lower { id.to_lowercase() } else { id };
                let cell = format!("{l}{id}{r}");
                prop_assert!(Scanner::new(None).scan(&cell).contains(Kind::CnId), "{}", cell);
            }
        }
    }
}
