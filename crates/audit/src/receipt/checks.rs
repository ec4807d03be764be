//! The receipt rules of `docs/receipt-format.md`: what one receipt must hold in
//! itself (well-formed IDs and hashes, counts that add up, results only for a side
//! that learns), and what two receipts of one session must agree on.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::document::Receipt;
use super::rules::same_rules;
use crate::report::{Finding, safe_name};

impl Receipt {
    /// Checks one receipt needs nothing else for.
    pub(super) fn internal(&self, out: &mut Vec<Finding>) {
        // A 16-byte session ID and a 32-byte SHA-256 transcript hash, in hex.
        for (field, value, len) in [
            ("session_id", &self.session_id, 32),
            ("transcript_hash", &self.transcript_hash, 64),
        ] {
            if value.as_deref().is_some_and(|v| !is_hex(v, len)) {
                out.push(self.finding(
                    "receipt_malformed",
                    field,
                    format!("`{field}` is not {len} lowercase hex digits"),
                ));
            }
        }
        for (field, value) in [
            ("local.fingerprint", &self.local_fingerprint),
            ("peer.fingerprint", &self.peer_fingerprint),
        ] {
            if let Some(Some(fp)) = value
                && !is_fingerprint(fp)
            {
                out.push(self.finding(
                    "receipt_malformed",
                    field,
                    format!("`{field}` is not a `sha256:` certificate fingerprint"),
                ));
            }
        }
        if let Some(m) = self
            .mode
            .as_deref()
            .filter(|m| !matches!(*m, "intersection" | "cardinality" | "labelled"))
        {
            out.push(self.finding(
                "receipt_malformed",
                "mode",
                format!(
                    "mode `{}` is not intersection, cardinality or labelled",
                    safe_name(m)
                ),
            ));
        }
        if let Some(r) = self
            .reveal
            .as_deref()
            .filter(|r| !matches!(*r, "initiator" | "responder" | "both"))
        {
            out.push(self.finding(
                "receipt_malformed",
                "reveal",
                format!(
                    "reveal `{}` is not initiator, responder or both",
                    safe_name(r)
                ),
            ));
        }
        for (field, role) in [
            ("local.role", &self.local_role),
            ("peer.role", &self.peer_role),
        ] {
            if let Some(r) = role
                .as_deref()
                .filter(|r| !matches!(*r, "initiator" | "responder"))
            {
                out.push(self.finding(
                    "receipt_malformed",
                    field,
                    format!("role `{}` is not initiator or responder", safe_name(r)),
                ));
            }
        }
        if let (Some(l), Some(p)) = (&self.local_role, &self.peer_role)
            && l == p
        {
            out.push(self.finding(
                "receipt_inconsistent",
                "peer.role",
                "local and peer have the same role".to_owned(),
            ));
        }
        self.check_profile(out);
        // Who learns follows from reveal and role.
        if let (Some(reveal), Some(role), Some(learns)) =
            (&self.reveal, &self.local_role, self.learns)
        {
            let should = reveal == "both" || reveal == role;
            if learns != should {
                out.push(self.finding(
                    "receipt_inconsistent",
                    "local.learns",
                    format!(
                        "`learns` is {learns}, but reveal `{}` for the {} means {should}",
                        safe_name(reveal),
                        safe_name(role)
                    ),
                ));
            }
        }
        // The shareable form holds no input and no result to check.
        if !self.shareable {
            self.check_results(out);
            self.check_input(out);
        }
        self.check_rules(out);
        if let (Some(size), Some(Some(min))) = (self.peer_size, self.min_peer_set)
            && size < min
        {
            out.push(self.finding(
                "receipt_inconsistent",
                "peer.declared_size",
                format!("the peer's set of {size} is below --min-peer-set {min}: the session should have been refused"),
            ));
        }
        let time = |field: &str, s: &Option<String>, out: &mut Vec<Finding>| {
            let s = s.as_deref()?;
            let t = OffsetDateTime::parse(s, &Rfc3339).ok();
            if t.is_none() {
                out.push(self.finding(
                    "receipt_malformed",
                    field,
                    format!("`{field}` is not an RFC 3339 time"),
                ));
            }
            t
        };
        let started = time("started_at", &self.started_at, out);
        let finished = time("finished_at", &self.finished_at, out);
        if let (Some(s), Some(f)) = (started, finished)
            && f < s
        {
            out.push(self.finding(
                "receipt_inconsistent",
                "finished_at",
                "finished_at is before started_at".to_owned(),
            ));
        }
    }

    /// The input counts: every row is a value, empty or rejected; the set is the
    /// distinct values, so it is no larger than the values.
    /// With several identifier columns (version 2) each column has its own counts,
    /// which `check_rules` checks; the totals then add up over the columns.
    fn check_input(&self, out: &mut Vec<Finding>) {
        let several_columns = self.input_columns.as_ref().is_some_and(|c| c.len() > 1);
        if let (false, Some(rows), Some(v), Some(e), Some(r)) = (
            several_columns,
            self.input_rows,
            self.input_values,
            self.input_empty,
            self.input_rejected,
        ) && v.checked_add(e).and_then(|s| s.checked_add(r)) != Some(rows)
        {
            out.push(self.finding(
                "receipt_inconsistent",
                "local.input",
                format!(
                    "values {v} + empty {e} + rejected {r} do not add up to the {rows} input rows"
                ),
            ));
        }
        if let (Some(rejects), Some(r)) = (&self.input_rejects, self.input_rejected) {
            let sum: u64 = rejects.iter().map(|(_, n)| *n).sum();
            if sum != r {
                out.push(self.finding(
                    "receipt_inconsistent",
                    "local.input.rejects",
                    format!(
                        "rejects by reason add up to {sum}, but {r} cells are recorded as rejected"
                    ),
                ));
            }
            if rejects
                .iter()
                .any(|(code, _)| blindmatch_token::Rejection::from_code(code).is_none())
            {
                out.push(self.finding(
                    "receipt_inconsistent",
                    "local.input.rejects",
                    "a rejection reason code is not one this build knows".to_owned(),
                ));
            }
        }
        // With rules, each rule's size is checked against its columns instead: a
        // column may serve several rules, so the sizes may add up to more.
        let most = self.input_values.or(self.input_rows);
        if let (None, Some(size), Some(most)) = (&self.rules, self.local_size, most)
            && size > most
        {
            out.push(self.finding(
                "receipt_inconsistent",
                "local.declared_size",
                format!("declared set size {size} exceeds the {most} input values"),
            ));
        }
    }

    fn check_results(&self, out: &mut Vec<Finding>) {
        let (Some(learns), Some(mode)) = (self.learns, self.mode.as_deref()) else {
            return;
        };
        let rows = self.matched_rows.flatten();
        let values = self.matched_values.flatten();
        let card = self.cardinality.flatten();
        let has_output = matches!(self.output, Some(Some(_)));
        if !learns {
            if rows.is_some() || values.is_some() || card.is_some() || has_output {
                out.push(
                    self.finding(
                        "receipt_inconsistent",
                        "result",
                        "this side does not learn, yet the receipt records results or an output"
                            .to_owned(),
                    ),
                );
            }
            return;
        }
        let problem = match mode {
            "cardinality" if card.is_none() || rows.is_some() || values.is_some() || has_output => {
                Some("in cardinality mode a learner records the cardinality only, and no output")
            }
            "intersection" | "labelled" if rows.is_none() || values.is_none() => {
                Some("a learner in intersection or labelled mode records matched rows and values")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            out.push(self.finding("receipt_inconsistent", "result", problem.to_owned()));
        }
        // Labelled mode: one output row per matched row and label set, at most the
        // agreed cap of label sets per row.
        if mode == "labelled"
            && let (Some(output_rows), Some(rows)) = (self.label_output_rows, rows)
        {
            let most = self
                .label_cap
                .map(|cap| rows.saturating_mul(cap))
                .unwrap_or(u64::MAX);
            if output_rows < rows || output_rows > most {
                out.push(self.finding(
                    "receipt_inconsistent",
                    "labels.output_rows",
                    format!(
                        "{output_rows} output rows for {rows} matched rows: a labelled output has at least one row per matched row and at most max_labels_per_id per matched row"
                    ),
                ));
            }
        }
        let limit = self.local_size.zip(self.peer_size).map(|(a, b)| a.min(b));
        for (field, n) in [
            ("result.matched_values", values),
            ("result.cardinality", card),
        ] {
            if let (Some(n), Some(limit)) = (n, limit)
                && n > limit
            {
                out.push(self.finding(
                    "receipt_inconsistent",
                    field,
                    format!("{n} matches is more than the smaller declared set ({limit})"),
                ));
            }
        }
        // A row matched under two rules holds a value of each: with several rules
        // the bound holds per rule (`check_rules`).
        let several_rules = self.rules.as_ref().is_some_and(|r| r.len() > 1);
        if let (false, Some(r), Some(v)) = (several_rules, rows, values)
            && r < v
        {
            out.push(self.finding(
                "receipt_inconsistent",
                "result.matched_rows",
                format!("{r} matched rows cannot hold {v} matched values"),
            ));
        }
        if let (Some(r), Some(input)) = (rows, self.input_rows)
            && r > input
        {
            out.push(self.finding(
                "receipt_inconsistent",
                "result.matched_rows",
                format!("{r} matched rows is more than the {input} input rows"),
            ));
        }
    }
}

/// Whether `s` is exactly `len` lowercase hex digits.
pub(super) fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `sha256:` and 64 hex digits, the canonical certificate fingerprint.
fn is_fingerprint(fp: &str) -> bool {
    fp.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The cross-receipt rules of `docs/receipt-format.md`.
pub(super) fn same_session(a: &Receipt, b: &Receipt, out: &mut Vec<Finding>) {
    fn mismatch(field: &str, what: String) -> Finding {
        Finding::new("session_mismatch", what).field(field)
    }
    let (string_a, string_b) = (a.profile_strings(), b.profile_strings());
    let pairs: [(&str, &Option<String>, &Option<String>); 11] = [
        ("session_id", &a.session_id, &b.session_id),
        ("psi_protocol", &a.psi_protocol, &b.psi_protocol),
        ("transcript_hash", &a.transcript_hash, &b.transcript_hash),
        ("mode", &a.mode, &b.mode),
        ("reveal", &a.reveal, &b.reveal),
        ("id_type", &a.id_type, &b.id_type),
        ("profile.types", &string_a, &string_b),
        ("profile.name", &a.profile_name, &b.profile_name),
        ("profile.digest", &a.profile_digest, &b.profile_digest),
        ("profile.unicode", &a.profile_unicode, &b.profile_unicode),
        (
            "profile.unicode_case",
            &a.profile_unicode_case,
            &b.profile_unicode_case,
        ),
    ];
    for (field, x, y) in pairs {
        if let (Some(x), Some(y)) = (x, y)
            && x != y
        {
            out.push(mismatch(
                field,
                format!("`{field}` differs between the receipts"),
            ));
        }
    }
    for (field, x, y) in [
        ("protocol_version", a.protocol_version, b.protocol_version),
        ("batch_size", a.batch_size, b.batch_size),
        ("comparison_bytes", a.comparison_bytes, b.comparison_bytes),
    ] {
        if let (Some(x), Some(y)) = (x, y)
            && x != y
        {
            out.push(mismatch(
                field,
                format!("`{field}` is {x} in A, {y} in B; the handshake agrees on one"),
            ));
        }
    }
    if let (Some(x), Some(y)) = (&a.local_role, &b.local_role)
        && x == y
    {
        out.push(mismatch(
            "local.role",
            format!("both receipts are from the {} side", safe_name(x)),
        ));
    }
    for (this, other) in [(a, b), (b, a)] {
        if let (Some(p), Some(l)) = (&this.peer_role, &other.local_role)
            && p != l
        {
            out.push(mismatch(
                "peer.role",
                format!(
                    "receipt {} names its peer's role `{}`, but {} was `{}`",
                    this.label,
                    safe_name(p),
                    other.label,
                    safe_name(l)
                ),
            ));
        }
        if let (Some(p), Some(l)) = (this.peer_size, other.local_size)
            && p != l
        {
            out.push(mismatch(
                "peer.declared_size",
                format!(
                    "receipt {} records a peer set of {p}, but {} declared {l}",
                    this.label, other.label
                ),
            ));
        }
        if let (Some(p), Some(l)) = (&this.peer_fingerprint, &other.local_fingerprint)
            && p != l
        {
            out.push(mismatch(
                "peer.fingerprint",
                format!(
                    "receipt {} pinned a peer fingerprint that is not {}'s own",
                    this.label, other.label
                ),
            ));
        }
        if let (Some(sent), Some(received)) = (this.bytes_sent, other.bytes_received)
            && sent != received
        {
            out.push(mismatch(
                "traffic.bytes_sent",
                format!(
                    "{} sent {sent} bytes, {} received {received}",
                    this.label, other.label
                ),
            ));
        }
        if let (Some(sent), Some(received)) = (this.frames_sent, other.frames_received)
            && sent != received
        {
            out.push(mismatch(
                "traffic.frames_sent",
                format!(
                    "{} sent {sent} frames, {} received {received}",
                    this.label, other.label
                ),
            ));
        }
    }
    same_rules(a, b, out);
    if let (Some(x), Some(y)) = (&a.network_role, &b.network_role)
        && x == y
    {
        out.push(mismatch(
            "local.network_role",
            format!("both sides were the {}", safe_name(x)),
        ));
    }
    // The intersection is one set: two learners must agree on its size.
    for (field, x, y) in [
        (
            "result.matched_values",
            a.matched_values.flatten(),
            b.matched_values.flatten(),
        ),
        (
            "result.cardinality",
            a.cardinality.flatten(),
            b.cardinality.flatten(),
        ),
    ] {
        if let (Some(x), Some(y)) = (x, y)
            && x != y
        {
            out.push(mismatch(
                field,
                format!("A learned {x}, B learned {y}; both learned the same intersection"),
            ));
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
