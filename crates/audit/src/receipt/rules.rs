//! The rules and columns of a version 2 receipt (`docs/receipt-format.md`): rule
//! names that are the `id_type`, sizes that add up to the declared set sizes,
//! per-rule counts within the result, identifier columns whose counts add up to the
//! input's, a column for every field of every rule; and, across two receipts of one
//! session, the same rules in the same order with the sizes mirrored.
//!
//! Check codes (stable, `docs/compliance.md`): `rule_names_mismatch`,
//! `rule_size_mismatch`, `rule_count_mismatch`, `rule_column_missing`,
//! `column_count_mismatch`; malformed entries are `receipt_malformed`, results a
//! side should not have are `receipt_inconsistent`, and two receipts that disagree
//! are `session_mismatch`.

use std::collections::BTreeMap;

use blindmatch_token::{IdType, Rejection};

use super::document::{ColumnRecord, Receipt, RuleRecord};
use crate::report::Finding;

/// The sum of `n` over `items`, when every one is known (and it does not overflow).
fn sum<T>(items: &[T], n: impl Fn(&T) -> Option<u64>) -> Option<u64> {
    items
        .iter()
        .try_fold(0u64, |total, item| total.checked_add(n(item)?))
}

/// The name of a rule as messages show it: canonical names only.
fn shown(rule: &RuleRecord) -> String {
    rule.rule
        .as_deref()
        .filter(|n| {
            n.parse::<blindmatch_token::Rule>()
                .is_ok_and(|r| r.name() == *n)
        })
        .map_or_else(|| rule.path.clone(), |n| format!("`{n}`"))
}

impl Receipt {
    /// The checks of `rules` and `local.input.columns` one receipt needs nothing
    /// else for (version 2; a version 1 receipt has neither).
    pub(super) fn check_rules(&self, out: &mut Vec<Finding>) {
        let Some(rules) = &self.rules else {
            return;
        };
        self.rule_names(rules, out);
        self.rule_sizes(rules, out);
        if self.shareable {
            return;
        }
        if let Some(columns) = &self.input_columns {
            self.column_counts(columns, out);
            self.rule_columns(rules, columns, out);
        }
        self.rule_counts(rules, out);
    }

    /// Known, canonical, distinct rule names, which joined by `,` are the `id_type`.
    fn rule_names(&self, rules: &[RuleRecord], out: &mut Vec<Finding>) {
        if rules.is_empty() {
            out.push(self.finding(
                "receipt_malformed",
                "rules",
                "`rules` is empty: a session has at least one rule".to_owned(),
            ));
            return;
        }
        let mut names: Vec<&str> = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let Some(name) = r.rule.as_deref() else {
                return;
            };
            let canonical = name
                .parse::<blindmatch_token::Rule>()
                .is_ok_and(|rule| rule.name() == name);
            if !canonical {
                out.push(self.finding(
                    "receipt_malformed",
                    &format!("{}.rule", r.path),
                    format!(
                        "`{}.rule` is not a rule in canonical form (identifier types joined by `+`, in the order {})",
                        r.path,
                        IdType::VALID_NAMES
                    ),
                ));
                return;
            }
            if rules
                .iter()
                .take(i)
                .any(|s| s.rule.as_deref() == Some(name))
            {
                out.push(self.finding(
                    "receipt_malformed",
                    &format!("{}.rule", r.path),
                    format!("rule `{name}` is listed twice"),
                ));
            }
            names.push(name);
        }
        if let Some(id_type) = &self.id_type
            && *id_type != names.join(",")
        {
            out.push(self.finding(
                "rule_names_mismatch",
                "id_type",
                format!(
                    "`id_type` is not the rule names in priority order joined by `,` (`{}`)",
                    names.join(",")
                ),
            ));
        }
    }

    /// The rules' sizes add up to the declared set sizes; with several rules each
    /// of the peer's reaches `--min-peer-set`, as the handshake requires.
    fn rule_sizes(&self, rules: &[RuleRecord], out: &mut Vec<Finding>) {
        for (field, total, declared, whose) in [
            (
                "local_size",
                sum(rules, |r| r.local_size),
                self.local_size,
                "local",
            ),
            (
                "peer_size",
                sum(rules, |r| r.peer_size.flatten()),
                self.peer_size,
                "peer",
            ),
        ] {
            if let (Some(total), Some(declared)) = (total, declared)
                && total != declared
            {
                out.push(self.finding(
                    "rule_size_mismatch",
                    &format!("{whose}.declared_size"),
                    format!(
                        "the rules' `{field}` add up to {total}, but `{whose}.declared_size` is {declared}"
                    ),
                ));
            }
        }
        if let (true, Some(Some(min))) = (rules.len() > 1, self.min_peer_set) {
            for r in rules {
                if let Some(Some(size)) = r.peer_size
                    && size < min
                {
                    out.push(self.finding(
                        "receipt_inconsistent",
                        &format!("{}.peer_size", r.path),
                        format!(
                            "the peer's set under rule {} is {size}, below --min-peer-set {min}: the session should have been refused",
                            shown(r)
                        ),
                    ));
                }
            }
        }
    }

    /// Each column's cells are values, empty or rejected, one per input row; the
    /// columns' counts add up to the input's totals; `local.input.column` names them.
    fn column_counts(&self, columns: &[ColumnRecord], out: &mut Vec<Finding>) {
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for c in columns {
            if c.id_type
                .as_deref()
                .is_some_and(|t| t.parse::<IdType>().is_err())
            {
                out.push(self.finding(
                    "receipt_malformed",
                    &format!("{}.id_type", c.path),
                    format!(
                        "`{}.id_type` is not an identifier type ({})",
                        c.path,
                        IdType::VALID_NAMES
                    ),
                ));
            }
            if let (Some(rows), Some(v), Some(e), Some(r)) =
                (self.input_rows, c.values, c.empty, c.rejected)
                && v.checked_add(e).and_then(|s| s.checked_add(r)) != Some(rows)
            {
                out.push(self.finding(
                    "column_count_mismatch",
                    &c.path,
                    format!(
                        "{}: values {v} + empty {e} + rejected {r} do not add up to the {rows} input rows",
                        c.path
                    ),
                ));
            }
            if let (Some(rejects), Some(r)) = (&c.rejects, c.rejected) {
                let total: u64 = rejects.iter().map(|(_, n)| *n).sum();
                if total != r {
                    out.push(self.finding(
                        "column_count_mismatch",
                        &format!("{}.rejects", c.path),
                        format!(
                            "{}: rejects by reason add up to {total}, but {r} cells are recorded as rejected",
                            c.path
                        ),
                    ));
                }
                for (code, n) in rejects {
                    match Rejection::from_code(code) {
                        Some(known) => *by_reason.entry(known.code()).or_default() += n,
                        None => out.push(self.finding(
                            "receipt_inconsistent",
                            &format!("{}.rejects", c.path),
                            "a rejection reason code is not one this build knows".to_owned(),
                        )),
                    }
                }
            }
        }
        for (field, total, recorded) in [
            ("values", sum(columns, |c| c.values), self.input_values),
            ("empty", sum(columns, |c| c.empty), self.input_empty),
            (
                "rejected",
                sum(columns, |c| c.rejected),
                self.input_rejected,
            ),
        ] {
            if let (Some(total), Some(recorded)) = (total, recorded)
                && total != recorded
            {
                out.push(self.finding(
                    "column_count_mismatch",
                    &format!("local.input.{field}"),
                    format!(
                        "the columns' `{field}` add up to {total}, but the input records {recorded}"
                    ),
                ));
            }
        }
        let all_read = columns.iter().all(|c| c.rejects.is_some());
        if let (true, Some(rejects)) = (all_read, &self.input_rejects) {
            let recorded: BTreeMap<&str, u64> = rejects
                .iter()
                .filter(|(_, n)| *n > 0)
                .filter_map(|(code, n)| Some((Rejection::from_code(code)?.code(), *n)))
                .collect();
            by_reason.retain(|_, n| *n > 0);
            if recorded != by_reason {
                out.push(self.finding(
                    "column_count_mismatch",
                    "local.input.rejects",
                    "the columns' rejects by reason do not add up to the input's".to_owned(),
                ));
            }
        }
        let names: Option<Vec<&str>> = columns.iter().map(|c| c.column.as_deref()).collect();
        if let (Some(names), Some(column)) = (names, &self.input_column)
            && names.join(",") != *column
        {
            out.push(
                self.finding(
                    "receipt_inconsistent",
                    "local.input.column",
                    "`local.input.column` is not the identifier columns' names joined by `,`"
                        .to_owned(),
                ),
            );
        }
    }

    /// Every field of every rule has a column of its type; the rule names those
    /// columns (the first of the type, in the rule's field order); no rule holds
    /// more distinct values than the column of one of its fields holds values.
    fn rule_columns(&self, rules: &[RuleRecord], columns: &[ColumnRecord], out: &mut Vec<Finding>) {
        for r in rules {
            let Some(rule) = r
                .rule
                .as_deref()
                .and_then(|n| n.parse::<blindmatch_token::Rule>().ok())
            else {
                continue;
            };
            let mut expected: Vec<&ColumnRecord> = Vec::new();
            for field in rule.fields() {
                match columns
                    .iter()
                    .find(|c| c.id_type.as_deref() == Some(field.as_str()))
                {
                    Some(c) => expected.push(c),
                    None => out.push(self.finding(
                        "rule_column_missing",
                        &r.path,
                        format!(
                            "rule {} has a field of type `{field}`, but `local.input.columns` has no column of that type",
                            shown(r)
                        ),
                    )),
                }
            }
            if expected.len() != rule.fields().len() {
                continue;
            }
            let names: Option<Vec<&str>> = expected.iter().map(|c| c.column.as_deref()).collect();
            if let (Some(names), Some(recorded)) = (names, &r.columns)
                && names != recorded.iter().map(String::as_str).collect::<Vec<_>>()
            {
                out.push(self.finding(
                    "rule_column_missing",
                    &format!("{}.columns", r.path),
                    format!(
                        "rule {}: `columns` does not name the input columns of its fields, in its field order",
                        shown(r)
                    ),
                ));
            }
            let most = expected.iter().filter_map(|c| c.values).min();
            if let (Some(size), Some(most)) = (r.local_size, most)
                && size > most
            {
                out.push(self.finding(
                    "rule_size_mismatch",
                    &format!("{}.local_size", r.path),
                    format!(
                        "rule {} declares {size} distinct values, more than the {most} values of one of its columns",
                        shown(r)
                    ),
                ));
            }
        }
    }

    /// Per-rule counts: only a learner has them, as its mode says; they add up to
    /// the result's distinct matches; no rule matched more rows than the result, and
    /// every matched row matched on some rule.
    fn rule_counts(&self, rules: &[RuleRecord], out: &mut Vec<Finding>) {
        let (Some(learns), Some(mode)) = (self.learns, self.mode.as_deref()) else {
            return;
        };
        for r in rules {
            let (values, rows) = (r.matched_values, r.matched_rows);
            let (Some(values), Some(rows)) = (values, rows) else {
                continue;
            };
            let expected = match (learns, mode) {
                (false, _) => (false, false),
                (true, "cardinality") => (true, false),
                (true, "intersection" | "labelled") => (true, true),
                _ => continue,
            };
            if (values.is_some(), rows.is_some()) != expected {
                let problem = if learns {
                    "a learner records per rule the matched values, and in intersection mode the matched rows"
                } else {
                    "this side does not learn, yet the rule records matches"
                };
                out.push(self.finding(
                    "receipt_inconsistent",
                    &r.path,
                    format!("rule {}: {problem}", shown(r)),
                ));
            }
            if let (Some(v), Some(rows)) = (values, rows)
                && rows < v
            {
                out.push(self.finding(
                    "rule_count_mismatch",
                    &format!("{}.matched_rows", r.path),
                    format!(
                        "rule {}: {rows} matched rows cannot hold {v} matched values",
                        shown(r)
                    ),
                ));
            }
            let limit = r
                .local_size
                .zip(r.peer_size.flatten())
                .map(|(a, b)| a.min(b));
            if let (Some(v), Some(limit)) = (values, limit)
                && v > limit
            {
                out.push(self.finding(
                    "rule_count_mismatch",
                    &format!("{}.matched_values", r.path),
                    format!(
                        "rule {}: {v} matches is more than the smaller declared set under the rule ({limit})",
                        shown(r)
                    ),
                ));
            }
            if let (Some(rows), Some(Some(total))) = (rows, self.matched_rows)
                && rows > total
            {
                out.push(self.finding(
                    "rule_count_mismatch",
                    &format!("{}.matched_rows", r.path),
                    format!(
                        "rule {}: {rows} matched rows is more than the {total} matched rows of the result",
                        shown(r)
                    ),
                ));
            }
        }
        let values = sum(rules, |r| r.matched_values.flatten());
        for (field, recorded) in [
            ("result.matched_values", self.matched_values.flatten()),
            ("result.cardinality", self.cardinality.flatten()),
        ] {
            if let (Some(values), Some(recorded)) = (values, recorded)
                && values != recorded
            {
                out.push(self.finding(
                    "rule_count_mismatch",
                    field,
                    format!(
                        "the rules' matched values add up to {values}, but `{field}` is {recorded}"
                    ),
                ));
            }
        }
        if let (Some(rows), Some(Some(total))) =
            (sum(rules, |r| r.matched_rows.flatten()), self.matched_rows)
            && rows < total
        {
            out.push(self.finding(
                "rule_count_mismatch",
                "result.matched_rows",
                format!(
                    "{total} rows matched, but the rules' matched rows add up to only {rows}: every matched row matched on some rule"
                ),
            ));
        }
    }
}

/// Two receipts of one session: the same rules in the same order, each side's
/// `local_size` the other's `peer_size`, and two learners' matches per rule equal.
pub(super) fn same_rules(a: &Receipt, b: &Receipt, out: &mut Vec<Finding>) {
    let (Some(ra), Some(rb)) = (&a.rules, &b.rules) else {
        return;
    };
    let names = |rules: &[RuleRecord]| -> Vec<Option<String>> {
        rules.iter().map(|r| r.rule.clone()).collect()
    };
    if names(ra) != names(rb) {
        out.push(
            Finding::new(
                "session_mismatch",
                "the receipts' `rules` differ (names or priority order); the handshake agrees on one list",
            )
            .field("rules"),
        );
        return;
    }
    for (x, y) in ra.iter().zip(rb) {
        for (this, other, this_rule, other_rule) in [(a, b, x, y), (b, a, y, x)] {
            if let (Some(Some(peer)), Some(local)) = (this_rule.peer_size, other_rule.local_size)
                && peer != local
            {
                out.push(
                    Finding::new(
                        "session_mismatch",
                        format!(
                            "receipt {} records a peer set of {peer} under rule {}, but {} declared {local}",
                            this.label,
                            shown(this_rule),
                            other.label
                        ),
                    )
                    .field(format!("{}.peer_size", this_rule.path)),
                );
            }
        }
        if let (Some(Some(vx)), Some(Some(vy))) = (x.matched_values, y.matched_values)
            && vx != vy
        {
            out.push(
                Finding::new(
                    "session_mismatch",
                    format!(
                        "A learned {vx} matches under rule {}, B learned {vy}; both learned the same intersection",
                        shown(x)
                    ),
                )
                .field(format!("{}.matched_values", x.path)),
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
