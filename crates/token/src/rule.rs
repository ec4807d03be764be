//! Matching and linking rules: an OR of ANDs over identifier types, as `--rule`
//! spells them (`--rule phone --rule email --rule name+company`).
//!
//! A [`Rule`] is one AND: a set of identifier types ("fields") that must all be
//! present and equal for two records to link. Its canonical form lists the fields
//! once each in [`IdType::ALL`] order, joined by `+`, so `company+name` and
//! `name+company` are one rule. A [`RuleSet`] is the OR: rules in the order the
//! user gave them, which is their priority.
//!
//! `resolve` links records with these rules and `match` agrees them with a partner,
//! so both parse them here, the same way.

use std::fmt;
use std::str::FromStr;

use crate::IdType;
use crate::error::{Error, RuleProblem, clip};

/// One rule: identifier types that must all be present and equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Distinct fields in [`IdType::ALL`] order; never empty.
    fields: Vec<IdType>,
}

impl Rule {
    /// Parses `type[+type…]`. Terms are trimmed; a repeated term counts once.
    ///
    /// # Errors
    /// [`Error::InvalidRule`] for an empty rule or term, or a term that is not an
    /// identifier type name.
    pub fn parse(text: &str) -> Result<Rule, Error> {
        let invalid = |problem| Error::InvalidRule {
            rule: clip(text),
            problem,
        };
        let mut fields = Vec::new();
        for term in text.split('+').map(str::trim) {
            if term.is_empty() {
                return Err(invalid(RuleProblem::EmptyTerm));
            }
            let field = term
                .parse::<IdType>()
                .map_err(|_| invalid(RuleProblem::UnknownType { term: clip(term) }))?;
            fields.push(field);
        }
        Ok(Rule::new(fields))
    }

    /// The rule over `fields` (repeats dropped, put in canonical order). An empty
    /// `fields` makes a rule no record satisfies; parsing never builds one.
    pub fn new(mut fields: Vec<IdType>) -> Rule {
        fields.sort_by_key(|f| f.index());
        fields.dedup();
        Rule { fields }
    }

    /// The fields, distinct, in [`IdType::ALL`] order.
    pub fn fields(&self) -> &[IdType] {
        &self.fields
    }

    /// The canonical name: the fields' names joined by `+` (`name+phone`).
    pub fn name(&self) -> String {
        self.to_string()
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
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::parse(s)
    }
}

/// Rules in priority order (the order given); no two are the same rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses each `--rule` argument, in order.
    ///
    /// # Errors
    /// As [`Rule::parse`], and [`Error::InvalidRule`] with
    /// [`RuleProblem::Duplicate`] when two arguments are the same rule
    /// (`name+phone` and `phone+name`).
    pub fn parse<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> Result<RuleSet, Error> {
        let mut rules: Vec<Rule> = Vec::new();
        for arg in args {
            let text = arg.as_ref();
            let rule = Rule::parse(text)?;
            if rules.contains(&rule) {
                return Err(Error::InvalidRule {
                    rule: clip(text),
                    problem: RuleProblem::Duplicate {
                        canonical: rule.name(),
                    },
                });
            }
            rules.push(rule);
        }
        Ok(RuleSet { rules })
    }

    /// The rules, in priority order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Every field some rule names, distinct, in [`IdType::ALL`] order.
    pub fn fields(&self) -> Vec<IdType> {
        let mut fields: Vec<IdType> = self.rules.iter().flat_map(|r| r.fields.clone()).collect();
        fields.sort_by_key(|f| f.index());
        fields.dedup();
        fields
    }

    /// The canonical names, in priority order.
    pub fn names(&self) -> Vec<String> {
        self.rules.iter().map(Rule::name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(result: Result<impl fmt::Debug, Error>) -> RuleProblem {
        match result {
            Err(Error::InvalidRule { problem, .. }) => problem,
            other => panic!("expected an invalid rule, got {other:?}"),
        }
    }

    #[test]
    fn canonical_form_sorts_and_dedups() {
        let rule = Rule::parse(" name + phone+name").expect("valid");
        assert_eq!(rule.fields(), [IdType::Phone, IdType::Name]);
        assert_eq!(rule.name(), "phone+name");
        assert_eq!(Rule::parse("phone+name").ok(), Some(rule.clone()));
        assert_eq!(
            "email".parse::<Rule>().map(|r| r.name()).ok().as_deref(),
            Some("email")
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        assert_eq!(problem(Rule::parse("")), RuleProblem::EmptyTerm);
        assert_eq!(problem(Rule::parse("phone+")), RuleProblem::EmptyTerm);
        assert_eq!(
            problem(Rule::parse("phone+mobile")),
            RuleProblem::UnknownType {
                term: "mobile".into()
            }
        );
        let err = Rule::parse("name+Phone").err().map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(
            msg.contains("rule `name+Phone`") && msg.contains("`Phone`"),
            "{msg}"
        );
    }

    #[test]
    fn rule_sets_keep_priority_and_refuse_duplicates() {
        let set = RuleSet::parse(["phone", "email", "uscc+name"]).expect("valid");
        assert_eq!(set.names(), ["phone", "email", "uscc+name"]);
        assert_eq!(
            set.fields(),
            [IdType::Phone, IdType::Email, IdType::Uscc, IdType::Name]
        );
        assert_eq!(set.len(), 3);
        assert_eq!(
            problem(RuleSet::parse(["name+phone", "email", "phone+name"])),
            RuleProblem::Duplicate {
                canonical: "phone+name".into()
            }
        );
        assert!(
            RuleSet::parse(Vec::<String>::new())
                .expect("empty")
                .is_empty()
        );
    }
}
