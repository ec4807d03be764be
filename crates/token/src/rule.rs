//! Matching rules: which identifier fields must agree for two records to link (in
//! `resolve`) or match (in a multi-identifier `match` session). A [`Rule`] is an AND
//! of fields, written `name+company`; a [`RuleSet`] is an OR of rules in priority
//! order, written as repeated `--rule` flags.
//!
//! A field is named by its identifier type, so `--rule phone` means "the column of
//! type phone". A rule's canonical form has its fields de-duplicated and in
//! [`IdType::ALL`] order, so `company+name` and `name+company` are the same rule.

use std::fmt;
use std::str::FromStr;

use crate::IdType;

/// Most rules in one set (the PSI carries at most 256 identifier types a session).
pub const MAX_RULES: usize = 64;

/// Why a rule or rule set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A rule with no field, or an empty term between `+` signs.
    #[error("rule '{rule}' has an empty field")]
    EmptyField {
        /// The rule as given (clipped).
        rule: String,
    },
    /// A term that is not an identifier type.
    #[error("rule '{rule}' names '{field}', which is not an identifier type (valid: {valid})", valid = IdType::VALID_NAMES)]
    UnknownField {
        /// The rule as given (clipped).
        rule: String,
        /// The unknown term (clipped).
        field: String,
    },
    /// The same rule twice in one set.
    #[error("rule '{rule}' is given twice")]
    Duplicate {
        /// The rule, canonical.
        rule: String,
    },
    /// No rule at all, or more than [`MAX_RULES`].
    #[error("between 1 and {MAX_RULES} rules are needed, {given} given")]
    Count {
        /// How many were given.
        given: usize,
    },
}

/// An AND of identifier fields, canonical (fields unique, in [`IdType::ALL`] order).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rule {
    fields: Vec<IdType>,
}

impl Rule {
    /// The rule on one field.
    #[must_use]
    pub fn single(field: IdType) -> Rule {
        Rule {
            fields: vec![field],
        }
    }

    /// The rule over `fields`, made canonical.
    ///
    /// # Errors
    /// [`RuleError::EmptyField`] for no field.
    pub fn new(fields: &[IdType]) -> Result<Rule, RuleError> {
        let mut fields = fields.to_vec();
        fields.sort_by_key(|f| f.index());
        fields.dedup();
        if fields.is_empty() {
            return Err(RuleError::EmptyField {
                rule: String::new(),
            });
        }
        Ok(Rule { fields })
    }

    /// The fields, in canonical order.
    #[must_use]
    pub fn fields(&self) -> &[IdType] {
        &self.fields
    }

    /// The canonical name, fields joined by `+` (e.g. `name+company`). It is also the
    /// rule's label in the PSI, so equal values under two rules never match.
    #[must_use]
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// Whether the rule has several fields.
    #[must_use]
    pub fn is_composite(&self) -> bool {
        self.fields.len() > 1
    }

    /// The value a record contributes under this rule, from its normalised field
    /// values in [`Rule::fields`] order: for a one-field rule the value itself (so a
    /// session on one column is what it always was), for a composite rule each value
    /// as a 4-byte big-endian length and its bytes, so no two value lists encode alike.
    ///
    /// Returns `None` unless there is exactly one non-empty value per field: an empty
    /// or rejected field never links anything.
    #[must_use]
    pub fn encode(&self, values: &[&str]) -> Option<Vec<u8>> {
        if values.len() != self.fields.len() || values.iter().any(|v| v.is_empty()) {
            return None;
        }
        if let [one] = values {
            return Some(one.as_bytes().to_vec());
        }
        let mut out = Vec::with_capacity(values.iter().map(|v| 4 + v.len()).sum());
        for v in values {
            let len = u32::try_from(v.len()).ok()?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        Some(out)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(field.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    /// Parses `phone` or `name+company` (surrounding spaces around a term allowed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let clipped = || crate::error::clip(s);
        let mut fields = Vec::new();
        for term in s.split('+') {
            let term = term.trim();
            if term.is_empty() {
                return Err(RuleError::EmptyField { rule: clipped() });
            }
            let field = term
                .parse::<IdType>()
                .map_err(|_| RuleError::UnknownField {
                    rule: clipped(),
                    field: crate::error::clip(term),
                })?;
            fields.push(field);
        }
        Rule::new(&fields).map_err(|_| RuleError::EmptyField { rule: clipped() })
    }
}

/// An OR of rules in priority order (the first matching rule decides a row's match
/// ID), each rule once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The set of these rules, in this order.
    ///
    /// # Errors
    /// [`RuleError::Duplicate`] for a rule given twice, [`RuleError::Count`] for none
    /// or more than [`MAX_RULES`].
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, RuleError> {
        if rules.is_empty() || rules.len() > MAX_RULES {
            return Err(RuleError::Count { given: rules.len() });
        }
        for (i, r) in rules.iter().enumerate() {
            if rules.iter().skip(i + 1).any(|s| s == r) {
                return Err(RuleError::Duplicate { rule: r.name() });
            }
        }
        Ok(RuleSet { rules })
    }

    /// Parses `--rule` values in the order given.
    ///
    /// # Errors
    /// As [`Rule::from_str`] and [`RuleSet::new`].
    pub fn parse<S: AsRef<str>>(given: &[S]) -> Result<RuleSet, RuleError> {
        let rules = given
            .iter()
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<Rule>, _>>()?;
        RuleSet::new(rules)
    }

    /// The rules, in priority order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many rules (at least one).
    #[must_use]
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Always `false`: a set holds at least one rule.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every field any rule uses, once, in [`IdType::ALL`] order.
    #[must_use]
    pub fn fields(&self) -> Vec<IdType> {
        let mut f: Vec<IdType> = self
            .rules
            .iter()
            .flat_map(|r| r.fields().to_vec())
            .collect();
        f.sort_by_key(|t| t.index());
        f.dedup();
        f
    }

    /// The rule names in priority order.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.rules.iter().map(Rule::name).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rules_are_canonical() {
        let a: Rule = "name+uscc".parse().unwrap();
        let b: Rule = " uscc + name ".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.name(), "uscc+name");
        assert_eq!(
            "phone".parse::<Rule>().unwrap(),
            Rule::single(IdType::Phone)
        );
        assert_eq!("phone+phone".parse::<Rule>().unwrap().name(), "phone");
    }

    #[test]
    fn bad_rules_are_named() {
        assert!(matches!(
            "phone+".parse::<Rule>(),
            Err(RuleError::EmptyField { .. })
        ));
        let e = "phone+passport".parse::<Rule>().unwrap_err();
        assert!(
            matches!(&e, RuleError::UnknownField { field, .. } if field == "passport"),
            "{e}"
        );
        assert!(e.to_string().contains("passport"));
        assert!(matches!(
            RuleSet::parse(&["phone", "email", "phone"]),
            Err(RuleError::Duplicate { rule }) if rule == "phone"
        ));
        assert!(matches!(
            RuleSet::parse::<&str>(&[]),
            Err(RuleError::Count { given: 0 })
        ));
    }

    #[test]
    fn sets_keep_priority_and_list_fields_once() {
        let set = RuleSet::parse(&["email", "name+phone", "phone"]).unwrap();
        assert_eq!(set.names(), ["email", "phone+name", "phone"]);
        assert_eq!(set.fields(), [IdType::Phone, IdType::Email, IdType::Name]);
    }

    #[test]
    fn one_field_encodes_as_itself_and_empty_never_encodes() {
        let phone = Rule::single(IdType::Phone);
        assert_eq!(
            phone.encode(&["+8613800138000"]).unwrap(),
            b"+8613800138000"
        );
        assert_eq!(phone.encode(&[""]), None);
        let both: Rule = "name+phone".parse().unwrap();
        assert_eq!(both.encode(&["+86", ""]), None);
        assert_eq!(both.encode(&["+86"]), None);
        assert_eq!(
            both.encode(&["ab", "c"]).unwrap(),
            [0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c']
        );
    }

    proptest! {
        #[test]
        fn composite_encoding_is_injective(
            a in proptest::collection::vec("[a-c]{1,3}", 2),
            b in proptest::collection::vec("[a-c]{1,3}", 2),
        ) {
            let rule: Rule = "name+phone".parse().unwrap();
            let ea = rule.encode(&[&a[0], &a[1]]).unwrap();
            let eb = rule.encode(&[&b[0], &b[1]]).unwrap();
            prop_assert_eq!(ea == eb, a == b);
        }
    }
}
