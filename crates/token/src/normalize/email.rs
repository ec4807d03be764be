//! E-mail addresses: trim, NFKC, lowercase, check the shape; optional provider rules.
//!
//! Provider rules (Gmail ignores dots and `+suffix` in the local part) change which
//! addresses are considered equal, so they are off by default and, when on, named in
//! the profile: two partners only match if both use the same rules.

use std::fmt;
use std::str::FromStr;

use super::{is_space, nfkc_into};
use crate::{Error, Rejection};

/// Longest local part RFC 5321 allows, in bytes.
const MAX_LOCAL: usize = 64;
/// Longest domain RFC 5321 allows, in bytes.
const MAX_DOMAIN: usize = 253;
/// Longest DNS label, in bytes.
const MAX_LABEL: usize = 63;

/// Provider-specific equivalences applied after the generic rules.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EmailProviderRules {
    /// No provider rules: only trim, NFKC and lowercase (the default).
    #[default]
    None,
    /// For `gmail.com` and `googlemail.com`: drop dots and any `+suffix` from the
    /// local part and write the domain as `gmail.com`.
    Gmail,
}

impl EmailProviderRules {
    /// Stable name used in profile names and digests: `none` or `gmail`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EmailProviderRules::None => "none",
            EmailProviderRules::Gmail => "gmail",
        }
    }
}

impl fmt::Display for EmailProviderRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EmailProviderRules {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(EmailProviderRules::None),
            "gmail" => Ok(EmailProviderRules::Gmail),
            _ => Err(Error::UnknownEmailProviderRules {
                given: crate::error::clip(s),
            }),
        }
    }
}

/// Normalises an e-mail address.
///
/// # Errors
/// A [`Rejection`] if the value is not a plausible address.
pub fn normalize(input: &str, rules: EmailProviderRules) -> Result<String, Rejection> {
    let mut out = String::with_capacity(input.len());
    normalize_into(input, rules, &mut out)?;
    Ok(out)
}

/// As [`normalize`], appending to `out`.
///
/// # Errors
/// As [`normalize`].
pub fn normalize_into(
    input: &str,
    rules: EmailProviderRules,
    out: &mut String,
) -> Result<(), Rejection> {
    if plain_ascii(input, rules, out) {
        return Ok(());
    }
    general(input, rules, out)
}

/// Byte classes for [`plain_ascii`]: allowed in a local part, allowed in a domain label.
const LOCAL: u8 = 1;
const LABEL: u8 = 2;
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = LOCAL | LABEL;
        } else if is_local_punct(c) {
            table[b] = if c == b'-' { LOCAL | LABEL } else { LOCAL };
        }
        b += 1;
    }
    table
};

/// The common case in one pass over the bytes: an ASCII address of the plain
/// shape, accepted as is apart from lowercasing. Appends it to `out` and returns
/// `true` only when [`general`] would give the same output; anything else (no or
/// several `@`, a rejection, `mailto:`, a trailing dot, Gmail rules that apply,
/// non-ASCII) returns `false` with `out` untouched and is left to [`general`], so
/// the two cannot disagree.
fn plain_ascii(input: &str, rules: EmailProviderRules, out: &mut String) -> bool {
    let is_blank = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = input.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !is_blank(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(start, |i| i + 1);
    let Some(addr) = input.get(start..end) else {
        return false;
    };
    let bytes = addr.as_bytes();
    // Local part, up to the `@`: permitted bytes, no dot first, last or doubled
    // (`prev` starts as a dot, so a leading dot is a doubled one).
    let mut at = 0;
    let mut prev = b'.';
    loop {
        let Some(&b) = bytes.get(at) else {
            return false;
        };
        if b == b'@' {
            break;
        }
        if CLASS[usize::from(b)] & LOCAL == 0 || (b == b'.' && prev == b'.') {
            return false;
        }
        prev = b;
        at += 1;
    }
    if prev == b'.' || at > MAX_LOCAL {
        return false;
    }
    // Domain: two or more labels of letters, digits and inner hyphens, each
    // 1..=63 bytes, the last one not all digits; no trailing dot (the general
    // path drops it) and no second `@`.
    let domain = bytes.get(at + 1..).unwrap_or_default();
    if domain.len() > MAX_DOMAIN {
        return false;
    }
    let (mut prev, mut label_len, mut dots, mut digits_only) = (b'.', 0, 0, true);
    for &b in domain {
        if b == b'.' {
            if prev == b'.' || prev == b'-' || label_len > MAX_LABEL {
                return false;
            }
            (label_len, dots, digits_only) = (0, dots + 1, true);
        } else {
            if CLASS[usize::from(b)] & LABEL == 0 || (b == b'-' && prev == b'.') {
                return false;
            }
            label_len += 1;
            digits_only &= b.is_ascii_digit();
        }
        prev = b;
    }
    if prev == b'.' || prev == b'-' || label_len > MAX_LABEL || dots == 0 || digits_only {
        return false;
    }
    if rules == EmailProviderRules::Gmail
        && (domain.eq_ignore_ascii_case(b"gmail.com")
            || domain.eq_ignore_ascii_case(b"googlemail.com"))
    {
        return false;
    }
    // `mailto:` has no `@` before its colon, and `:` is no local-part byte, so a
    // `mailto:` address was refused above.
    let from = out.len();
    out.push_str(addr);
    if let Some(tail) = out.get_mut(from..) {
        tail.make_ascii_lowercase();
    }
    true
}

/// Every rule, for any input: Unicode folding, `mailto:`, provider rules, and the
/// exact rejection reason.
fn general(input: &str, rules: EmailProviderRules, out: &mut String) -> Result<(), Rejection> {
    let trimmed = input.trim_matches(is_space);
    let trimmed = strip_mailto(trimmed);
    if trimmed.is_empty() {
        return Err(Rejection::Empty);
    }
    let start = out.len();
    if trimmed.is_ascii() {
        // Fast path: ASCII is already NFKC; lowercasing cannot change the length.
        out.push_str(trimmed);
        if let Some(tail) = out.get_mut(start..) {
            tail.make_ascii_lowercase();
        }
    } else {
        fold_unicode(trimmed, out);
    }
    let addr = out.get(start..).unwrap_or("");
    let (local, domain) = split_and_check(addr)?;
    if rules == EmailProviderRules::Gmail && matches!(domain, "gmail.com" | "googlemail.com") {
        let base = local.split('+').next().unwrap_or("");
        let rewritten: String = base.chars().filter(|&c| c != '.').collect();
        if rewritten.is_empty() {
            return Err(Rejection::InvalidLocalPart);
        }
        out.truncate(start);
        out.push_str(&rewritten);
        out.push_str("@gmail.com");
    } else if addr.ends_with('.') {
        // A fully qualified `example.com.` is the same domain.
        out.pop();
    }
    Ok(())
}

fn strip_mailto(s: &str) -> &str {
    match s.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("mailto:") => s.get(7..).unwrap_or(""),
        _ => s,
    }
}

/// NFKC, lowercase and ideographic full stops to `.`, repeated until stable so that
/// the result is a fixed point (lowercasing can, rarely, un-normalise a string).
fn fold_unicode(s: &str, out: &mut String) {
    let mut cur = String::with_capacity(s.len());
    nfkc_into(s, &mut cur);
    for _ in 0..4 {
        let mut lowered = String::with_capacity(cur.len());
        lowered.extend(cur.chars().flat_map(char::to_lowercase).map(|c| match c {
            '\u{3002}' | '\u{FF61}' | '\u{FF0E}' => '.',
            c => c,
        }));
        let mut next = String::with_capacity(lowered.len());
        nfkc_into(&lowered, &mut next);
        if next == cur {
            break;
        }
        cur = next;
    }
    out.push_str(&cur);
}

fn split_and_check(addr: &str) -> Result<(&str, &str), Rejection> {
    let at = addr.find('@').ok_or(Rejection::MissingAt)?;
    if addr.rfind('@') != Some(at) {
        return Err(Rejection::MultipleAt);
    }
    if addr.is_ascii() {
        for &b in addr.as_bytes() {
            if b < 0x20 || b == 0x7f {
                return Err(Rejection::ControlCharacter);
            }
            if b == b' ' {
                return Err(Rejection::InvalidCharacter);
            }
        }
    } else {
        for c in addr.chars() {
            if c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}') {
                return Err(Rejection::ControlCharacter);
            }
            if c.is_whitespace() {
                return Err(Rejection::InvalidCharacter);
            }
        }
    }
    let local = addr.get(..at).unwrap_or("");
    let domain = addr.get(at + 1..).unwrap_or("");
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    check_local(local)?;
    check_domain(domain)?;
    Ok((local, domain))
}

/// RFC 5322 `atext` punctuation, plus the dot (placement is checked separately).
const fn is_local_punct(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'/'
            | b'='
            | b'?'
            | b'^'
            | b'_'
            | b'`'
            | b'{'
            | b'|'
            | b'}'
            | b'~'
            | b'-'
            | b'.'
    )
}

fn check_local(local: &str) -> Result<(), Rejection> {
    let bytes = local.as_bytes();
    // Bytes >= 0x80 belong to non-ASCII characters, which RFC 6531 allows here.
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_LOCAL
        && bytes.first() != Some(&b'.')
        && bytes.last() != Some(&b'.')
        && !bytes.windows(2).any(|w| w == b"..")
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b >= 0x80 || is_local_punct(b));
    if ok {
        Ok(())
    } else {
        Err(Rejection::InvalidLocalPart)
    }
}

fn check_domain(domain: &str) -> Result<(), Rejection> {
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return Err(Rejection::InvalidDomain);
    }
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        let b = label.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= MAX_LABEL
            && b.first() != Some(&b'-')
            && b.last() != Some(&b'-')
            && if label.is_ascii() {
                b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
            } else {
                label.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c == '-'
                        || (!c.is_ascii() && (c.is_alphanumeric() || is_mark(c)))
                })
            };
        if !ok {
            return Err(Rejection::InvalidDomain);
        }
        labels += 1;
        last = label;
    }
    // A single label (`localhost`) is no customer's address, and an all-digit top
    // label means an IP address, which is no stable identity either.
    if labels < 2 || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::InvalidDomain);
    }
    Ok(())
}

/// Combining marks appear in normalised internationalised domain names.
fn is_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, Rejection> {
        normalize(s, EmailProviderRules::None)
    }
    fn g(s: &str) -> Result<String, Rejection> {
        normalize(s, EmailProviderRules::Gmail)
    }

    #[test]
    fn generic_rules() {
        assert_eq!(
            n("  Alice.Smith@Example.COM ").as_deref(),
            Ok("alice.smith@example.com")
        );
        assert_eq!(
            n("ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ").as_deref(),
            Ok("alice@example.com")
        );
        assert_eq!(n("alice@qq。com").as_deref(), Ok("alice@qq.com"));
        assert_eq!(
            n("mailto:Bob@Example.org").as_deref(),
            Ok("bob@example.org")
        );
        assert_eq!(n("bob@example.org.").as_deref(), Ok("bob@example.org"));
        assert_eq!(
            n("bob+news@example.org").as_deref(),
            Ok("bob+news@example.org")
        );
        assert_eq!(
            n("Zhang.San@例子.中国").as_deref(),
            Ok("zhang.san@例子.中国")
        );
        assert_eq!(n("ÉLODIE@exemple.fr").as_deref(), Ok("élodie@exemple.fr"));
        // Gmail rules are off by default.
        assert_eq!(n("A.B+x@gmail.com").as_deref(), Ok("a.b+x@gmail.com"));
    }

    #[test]
    fn rejections() {
        assert_eq!(n(""), Err(Rejection::Empty));
        assert_eq!(n("   "), Err(Rejection::Empty));
        assert_eq!(n("alice.example.com"), Err(Rejection::MissingAt));
        assert_eq!(n("a@b@example.com"), Err(Rejection::MultipleAt));
        assert_eq!(n("@example.com"), Err(Rejection::InvalidLocalPart));
        assert_eq!(n(".a@example.com"), Err(Rejection::InvalidLocalPart));
        assert_eq!(n("a..b@example.com"), Err(Rejection::InvalidLocalPart));
        assert_eq!(n("\"a b\"@example.com"), Err(Rejection::InvalidCharacter));
        assert_eq!(n("a(b)@example.com"), Err(Rejection::InvalidLocalPart));
        assert_eq!(n("alice@"), Err(Rejection::InvalidDomain));
        assert_eq!(n("alice@localhost"), Err(Rejection::InvalidDomain));
        assert_eq!(n("alice@example..com"), Err(Rejection::InvalidDomain));
        assert_eq!(n("alice@-example.com"), Err(Rejection::InvalidDomain));
        assert_eq!(n("alice@[10.0.0.1]"), Err(Rejection::InvalidDomain));
        assert_eq!(n("alice@10.0.0.1"), Err(Rejection::InvalidDomain));
        assert_eq!(n("al ice@example.com"), Err(Rejection::InvalidCharacter));
        assert_eq!(
            n("alice@exa\u{0}mple.com"),
            Err(Rejection::ControlCharacter)
        );
        assert_eq!(
            n(&format!("{}@example.com", "a".repeat(65))),
            Err(Rejection::InvalidLocalPart)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4096,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The one-pass ASCII path gives exactly what the general path gives, or
        /// leaves the input to it.
        #[test]
        fn plain_ascii_path_agrees_with_the_general_path(
            input in proptest::prop_oneof![
                // Nearly every shape, mostly refused by the plain path.
                "[ \t\x0b]{0,2}(mailto:|MailTo:)?[a-zA-Z0-9._+!#-]{0,8}[@@ .]{0,2}[a-zA-Z0-9.-]{0,10}(\\.[a-zA-Z0-9-]{0,4}){0,2}[ .\r\u{3000}]{0,2}",
                // Mostly plain addresses, with the odd character that is not.
                "[ \t]{0,1}[a-zA-Z0-9._+-]{1,6}@[a-zA-Z0-9-]{1,5}(\\.[a-zA-Z0-9-]{1,4}){1,2}[ \r]{0,1}",
                "[a-zA-Z0-9._]{1,6}@(gmail|GMail|googlemail|1|[a-z]{1,4})\\.(com|cn|1|com\\.)",
            ],
        ) {
            for rules in [EmailProviderRules::None, EmailProviderRules::Gmail] {
                let mut fast = String::from("kept");
                if plain_ascii(&input, rules, &mut fast) {
                    let mut slow = String::from("kept");
                    proptest::prop_assert_eq!(general(&input, rules, &mut slow), Ok(()));
                    proptest::prop_assert_eq!(&fast, &slow, "{:?}", input);
                } else {
                    proptest::prop_assert_eq!(fast.as_str(), "kept");
                }
            }
        }
    }

    #[test]
    fn plain_ascii_path_takes_the_usual_addresses() {
        for (input, want) in [
            (" Mary1@163.com ", "mary1@163.com"),
            ("wang+shop2@Sina.COM", "wang+shop2@sina.com"),
            ("zhang.min4@corp.example.com", "zhang.min4@corp.example.com"),
            ("a-b_c@x-y.cn", "a-b_c@x-y.cn"),
        ] {
            let mut out = String::new();
            assert!(
                plain_ascii(input, EmailProviderRules::None, &mut out),
                "{input}"
            );
            assert_eq!(out, want);
        }
        for input in [
            "mailto:a@b.cn",
            "a@b.cn.",
            "a@b@c.cn",
            "a@1.2",
            "A.B@gmail.com",
            "é@b.cn",
            "a..b@c.cn",
            "a@-b.cn",
        ] {
            let mut out = String::new();
            let rules = EmailProviderRules::Gmail;
            assert!(!plain_ascii(input, rules, &mut out), "{input}");
            assert!(out.is_empty());
        }
    }

    #[test]
    fn plain_ascii_path_agrees_at_length_limits() {
        let label = |n: usize| "d".repeat(n);
        let mut cases = Vec::new();
        for n in [63, 64, 65] {
            cases.push(format!("{}@example.com", "a".repeat(n)));
        }
        for n in [62, 63, 64] {
            cases.push(format!("a@{}.com", label(n)));
            cases.push(format!("a@x.{}", label(n)));
        }
        // Domains of 252, 253 and 254 bytes.
        for last in [56, 57, 58] {
            cases.push(format!("a@{0}.{0}.{0}.{1}", label(63), label(last)));
        }
        for input in &cases {
            for rules in [EmailProviderRules::None, EmailProviderRules::Gmail] {
                let mut fast = String::new();
                let mut slow = String::new();
                let general = general(input, rules, &mut slow);
                if plain_ascii(input, rules, &mut fast) {
                    assert_eq!((general, &fast), (Ok(()), &slow), "{input}");
                } else {
                    assert!(general.is_err(), "{input} is plain but was left out");
                }
            }
        }
    }

    #[test]
    fn gmail_rules() {
        assert_eq!(g("A.B+promo@Gmail.com").as_deref(), Ok("ab@gmail.com"));
        assert_eq!(g("a.b@googlemail.com").as_deref(), Ok("ab@gmail.com"));
        assert_eq!(g("ab@gmail.com").as_deref(), Ok("ab@gmail.com"));
        assert_eq!(g("a.b+x@example.com").as_deref(), Ok("a.b+x@example.com"));
        assert_eq!(g("+x@gmail.com"), Err(Rejection::InvalidLocalPart));
        assert_eq!(
            "gmail".parse::<EmailProviderRules>().ok(),
            Some(EmailProviderRules::Gmail)
        );
        assert!("yahoo".parse::<EmailProviderRules>().is_err());
    }
}
