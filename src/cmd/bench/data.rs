//! The generated data sets: which identifiers each side holds, and the bytes of each
//! identifier, produced on demand from its number so that no copy of the sets sits in
//! memory besides what the protocol itself keeps.
//!
//! The initiator holds customers `0..n`; the responder holds the first `shared` of
//! those and `m - shared` of its own, numbered from `n` on. Each customer row has one
//! identifier per matching rule (`--rules`): rule 0 is a normalised mainland mobile
//! number, `"861"` followed by ten digits, under the type `phone`; further rules are an
//! e-mail address, a `name+company` composite (encoded as `blindmatch match` encodes
//! composite rules) and a WeChat ID, all derived from the customer's number, so a
//! session with `r` rules holds `r` items per row under `r` domain-separated labels,
//! as `blindmatch match --rule … --rule …` builds it.

use std::ops::Range;

use blindmatch_pipeline::matching::row_ref;
use blindmatch_psi::{PreparedSet, PsiError};

/// Rule labels in priority order; a run with `r` rules uses the first `r`.
pub(crate) const RULE_LABELS: [&str; 4] = ["phone", "email", "name+company", "wechat_id"];
/// Identifier type of a one-rule run.
#[cfg(test)]
pub(crate) const ID_TYPE: &str = RULE_LABELS[0];
/// Longest generated identifier (the `name+company` composite).
const MAX_VALUE_LEN: usize = 64;
/// Identifiers are numbered below this (ten digits after the prefix).
pub(crate) const MAX_IDS: u64 = 10_000_000_000;

/// The customer numbers one side holds (two consecutive ranges), each with one
/// identifier per rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SideIds {
    ranges: [Range<u64>; 2],
    rules: usize,
}

impl SideIds {
    /// The initiator's `n` customers, one rule.
    pub(crate) fn initiator(n: u64) -> SideIds {
        SideIds {
            ranges: [0..n, n..n],
            rules: 1,
        }
    }

    /// The responder's `m` customers, `shared` of them also the initiator's (of `n`),
    /// one rule.
    pub(crate) fn responder(n: u64, m: u64, shared: u64) -> SideIds {
        let shared = shared.min(n).min(m);
        SideIds {
            ranges: [0..shared, n..n + (m - shared)],
            rules: 1,
        }
    }

    /// The same customers with an identifier for each of the first `rules` labels of
    /// [`RULE_LABELS`] (clamped to `1..=RULE_LABELS.len()`).
    pub(crate) fn with_rules(mut self, rules: usize) -> SideIds {
        self.rules = rules.clamp(1, RULE_LABELS.len());
        self
    }

    /// The rule labels in use, in priority order.
    pub(crate) fn labels(&self) -> &'static [&'static str] {
        RULE_LABELS.get(..self.rules).unwrap_or(&RULE_LABELS[..1])
    }

    /// How many customers (identifiers per rule).
    pub(crate) fn len(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// The `j`-th identifier number (`j < len`).
    pub(crate) fn id_at(&self, j: u64) -> u64 {
        let [first, second] = &self.ranges;
        let first_len = first.end - first.start;
        if j < first_len {
            first.start + j
        } else {
            second.start + (j - first_len)
        }
    }

    /// All identifier numbers in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges.iter().flat_map(|r| r.clone())
    }

    /// Items of all rules together.
    pub(crate) fn items(&self) -> u64 {
        self.len() * self.labels().len() as u64
    }

    /// The side's prepared set, built row by row as `blindmatch match` builds it:
    /// each row's identifier under each rule, with the row reference saying which rule.
    ///
    /// # Errors
    ///
    /// As [`PreparedSet::push`] (not for generated data).
    pub(crate) fn prepare(&self) -> Result<PreparedSet, PsiError> {
        let labels = self.labels();
        let mut set = PreparedSet::with_capacity(usize::try_from(self.items()).unwrap_or(0));
        for (row, id) in self.iter().enumerate() {
            for (rule, label) in labels.iter().enumerate() {
                set.push(label, value(rule, id).as_bytes(), row_ref(row as u64, rule))?;
            }
        }
        Ok(set)
    }
}

/// One generated identifier, on the stack (the floor and the sets make millions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Value {
    bytes: [u8; MAX_VALUE_LEN],
    len: usize,
}

impl Value {
    /// The identifier's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn push(&mut self, part: &[u8]) {
        let end = (self.len + part.len()).min(MAX_VALUE_LEN);
        if let Some(dst) = self.bytes.get_mut(self.len..end) {
            dst.copy_from_slice(part.get(..end - self.len).unwrap_or_default());
        }
        self.len = end;
    }

    /// A composite rule's field: its length (4 bytes, big-endian), then the bytes, as
    /// `blindmatch_token::Rule::encode` writes it.
    fn push_field(&mut self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.push(&(len as u32).to_be_bytes());
        for p in parts {
            self.push(p);
        }
    }
}

/// The identifier of customer `id` (`id < MAX_IDS`) under rule `rule`: rule 0
/// `"861"` and ten digits; 1 `u<digits>@example.com`; 2 the `name+company` composite
/// of `li <digits>` and `c<digits>科技有限公司`; 3 a 28-character WeChat ID.
pub(crate) fn value(rule: usize, id: u64) -> Value {
    let mut digits = [b'0'; 10];
    let mut rest = id % MAX_IDS;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let mut v = Value {
        bytes: [0; MAX_VALUE_LEN],
        len: 0,
    };
    match rule {
        0 => {
            v.push(b"861");
            v.push(&digits);
        }
        1 => {
            v.push(b"u");
            v.push(&digits);
            v.push(b"@example.com");
        }
        2 => {
            v.push_field(&[b"li ", &digits]);
            v.push_field(&[b"c", &digits, "科技有限公司".as_bytes()]);
        }
        _ => {
            v.push(b"oBenchWeChatId_-x");
            v.push(b"A");
            v.push(&digits);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use blindmatch_token::{IdType, Profile, Rule};

    use super::*;

    #[test]
    fn values_are_distinct_phone_numbers() {
        assert_eq!(value(0, 0).as_bytes(), b"8610000000000");
        assert_eq!(value(0, 1_234_567).as_bytes(), b"8610001234567");
        assert_eq!(value(0, MAX_IDS - 1).as_bytes(), b"8619999999999");
        assert_ne!(value(0, 41).as_bytes(), value(0, 42).as_bytes());
    }

    /// Every rule's values are what `blindmatch match` would send for such a customer:
    /// fixed points of the normaliser, composites encoded as `Rule::encode` does.
    #[test]
    fn values_of_every_rule_are_normalised_identifiers() {
        let p = Profile::standard();
        let id = 1_234_567;
        let text = |rule| String::from_utf8(value(rule, id).as_bytes().to_vec()).unwrap();
        assert_eq!(
            p.normalize(IdType::Email, &text(1)).unwrap(),
            "u0001234567@example.com"
        );
        assert_eq!(text(3).len(), 28);
        assert_eq!(p.normalize(IdType::WechatId, &text(3)).unwrap(), text(3));
        let name = p.normalize(IdType::Name, "li 0001234567").unwrap();
        let company = p
            .normalize(IdType::Company, "c0001234567科技有限公司")
            .unwrap();
        let rule: Rule = RULE_LABELS[2].parse().unwrap();
        assert_eq!(
            rule.encode(&[&name, &company]).unwrap(),
            value(2, id).as_bytes()
        );
    }

    #[test]
    fn each_rule_adds_one_item_per_row() {
        let b = SideIds::responder(10, 7, 4).with_rules(3);
        assert_eq!((b.len(), b.items()), (7, 21));
        assert_eq!(b.labels(), ["phone", "email", "name+company"]);
        let set = b.prepare().unwrap();
        assert_eq!(set.declared_size(), 21);
        assert_eq!(
            set.type_sizes(),
            RULE_LABELS[..3]
                .iter()
                .map(|l| ((*l).to_owned(), 7))
                .collect::<Vec<_>>()
        );
        assert_eq!(SideIds::initiator(5).with_rules(99).labels().len(), 4);
    }

    #[test]
    fn sides_share_exactly_the_overlap() {
        let a = SideIds::initiator(10);
        let b = SideIds::responder(10, 7, 4);
        assert_eq!((a.len(), b.len()), (10, 7));
        let ids_b: Vec<u64> = b.iter().collect();
        assert_eq!(ids_b, [0, 1, 2, 3, 10, 11, 12]);
        for (j, id) in ids_b.iter().enumerate() {
            assert_eq!(b.id_at(j as u64), *id);
        }
        let shared = a.iter().filter(|id| ids_b.contains(id)).count();
        assert_eq!(shared, 4);
        // The overlap is capped by the smaller side.
        assert_eq!(
            SideIds::responder(3, 5, 9).iter().collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
    }
}
