//! The receipt rules of `docs/receipt-format.md`: what one receipt must hold in
//! itself (well-formed IDs and hashes, counts that add up, results only for a side
//! that learns), and what two receipts of one session must agree on.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::document::Receipt;
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
            .filter(|m| !matches!(*m, "intersection" | "cardinality"))
        {
            out.push(self.finding(
                "receipt_malformed",
                "mode",
                format!("mode `{}` is not intersection or cardinality", safe_name(m)),
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
    fn check_input(&self, out: &mut Vec<Finding>) {
        if let (Some(rows), Some(v), Some(e), Some(r)) = (
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
        let most = self.input_values.or(self.input_rows);
        if let (Some(size), Some(most)) = (self.local_size, most)
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
            "intersection" if rows.is_none() || values.is_none() => {
                Some("a learner in intersection mode records matched rows and values")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            out.push(self.finding("receipt_inconsistent", "result", problem.to_owned()));
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
        if let (Some(r), Some(v)) = (rows, values)
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
    let (string_a, string_b) = (a.profile_string(), b.profile_string());
    let pairs: [(&str, &Option<String>, &Option<String>); 10] = [
        ("session_id", &a.session_id, &b.session_id),
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
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::Value;

    pub(in crate::receipt) fn pair() -> (Value, Value) {
        let fa = format!("sha256:{}", "aa".repeat(32));
        let fb = format!("sha256:{}", "bb".repeat(32));
        let base = serde_json::json!({
            "format": "blindmatch-receipt", "version": 1,
            "tool": {"name": "blindmatch", "version": "0.1.0"},
            "protocol_version": 1,
            "session_id": "11".repeat(16), "transcript_hash": "22".repeat(32),
            "batch_size": 4096, "comparison_bytes": 8,
            "started_at": "2026-11-22T10:00:00Z", "finished_at": "2026-11-22T10:00:05Z",
            "mode": "intersection", "reveal": "both", "id_type": "phone",
            "profile": {"types": {"phone": format!("bm-std-v1;sha256={}", "33".repeat(32))},
                        "name": "bm-std-v1", "digest": "33".repeat(32),
                        "unicode": "18.0.0", "unicode_case": "17.0.0"},
            "timings_ms": {"total": 5000}
        });
        let mut a = base.clone();
        a["local"] = serde_json::json!({"role": "initiator", "network_role": "connector",
            "fingerprint": fa, "declared_size": 80, "input": {"path": "a.csv", "sha256": "44".repeat(32), "rows": 90, "bytes": 900,
                "column": "phone", "values": 85, "empty": 3, "rejected": 2, "rejects": {"too_short": 2}},
            "learns": true});
        a["peer"] = serde_json::json!({"role": "responder", "fingerprint": fb, "declared_size": 100, "min_peer_set": 10});
        a["result"] =
            serde_json::json!({"matched_rows": 31, "matched_values": 30, "cardinality": 30});
        a["output"] =
            serde_json::json!({"path": "a.out.csv", "sha256": "55".repeat(32), "bytes": 10});
        a["traffic"] = serde_json::json!({"bytes_sent": 1000, "bytes_received": 2000, "frames_sent": 5, "frames_received": 6});
        let mut b = base;
        b["local"] = serde_json::json!({"role": "responder", "network_role": "listener",
            "fingerprint": fb, "declared_size": 100, "input": {"path": "b.csv", "sha256": "66".repeat(32), "rows": 100, "bytes": 1000,
                "column": "phone", "values": 100, "empty": 0, "rejected": 0, "rejects": {}},
            "learns": true});
        b["peer"] = serde_json::json!({"role": "initiator", "fingerprint": fa, "declared_size": 80, "min_peer_set": 10});
        b["result"] =
            serde_json::json!({"matched_rows": 30, "matched_values": 30, "cardinality": 30});
        b["output"] =
            serde_json::json!({"path": "b.out.csv", "sha256": "77".repeat(32), "bytes": 10});
        b["traffic"] = serde_json::json!({"bytes_sent": 2000, "bytes_received": 1000, "frames_sent": 6, "frames_received": 5});
        (a, b)
    }

    pub(in crate::receipt) fn findings(
        a: &Value,
        b: &Value,
    ) -> Vec<(&'static str, Option<String>)> {
        let (a, b) = (Receipt::from_value("A", a), Receipt::from_value("B", b));
        let mut out: Vec<Finding> = a.findings.iter().chain(&b.findings).cloned().collect();
        a.internal(&mut out);
        b.internal(&mut out);
        same_session(&a, &b, &mut out);
        out.into_iter().map(|f| (f.check, f.field)).collect()
    }

    #[test]
    fn matching_receipts_are_clean() {
        let (a, b) = pair();
        assert_eq!(findings(&a, &b), vec![]);
    }

    #[test]
    fn every_rule_catches_a_one_field_change() {
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/transcript_hash",
                "99".repeat(32).into(),
                "transcript_hash",
            ),
            ("/session_id", "98".repeat(16).into(), "session_id"),
            ("/session_id", "98".repeat(32).into(), "session_id"),
            ("/batch_size", 1024.into(), "batch_size"),
            ("/local/input/values", 84.into(), "local.input"),
            (
                "/local/input/rejects/too_short",
                1.into(),
                "local.input.rejects",
            ),
            ("/mode", "cardinality".into(), "mode"),
            ("/reveal", "initiator".into(), "reveal"),
            ("/id_type", "email".into(), "id_type"),
            ("/profile/digest", "00".repeat(32).into(), "profile.digest"),
            ("/local/declared_size", 81.into(), "peer.declared_size"),
            ("/peer/declared_size", 99.into(), "peer.declared_size"),
            (
                "/local/fingerprint",
                format!("sha256:{}", "cc".repeat(32)).into(),
                "peer.fingerprint",
            ),
            ("/traffic/bytes_sent", 1001.into(), "traffic.bytes_sent"),
            ("/traffic/frames_received", 7.into(), "traffic.frames_sent"),
            ("/local/role", "responder".into(), "local.role"),
            ("/result/matched_values", 29.into(), "result.matched_values"),
            ("/result/matched_rows", 20.into(), "result.matched_rows"),
            ("/local/learns", false.into(), "local.learns"),
            ("/peer/min_peer_set", 200.into(), "peer.declared_size"),
            ("/finished_at", "2026-11-22T09:00:00Z".into(), "finished_at"),
            ("/transcript_hash", "not hex".into(), "transcript_hash"),
        ];
        for (pointer, value, field) in cases {
            let (mut a, b) = pair();
            *a.pointer_mut(pointer).unwrap() = value;
            let found = findings(&a, &b);
            assert!(
                found.iter().any(|(_, f)| f.as_deref() == Some(field)),
                "{pointer}: {found:?}"
            );
        }
        let (mut a, b) = pair();
        a.as_object_mut().unwrap().remove("transcript_hash");
        assert!(findings(&a, &b).contains(&("receipt_malformed", Some("transcript_hash".into()))));
    }

    #[test]
    fn non_learners_record_no_results() {
        let (mut a, mut b) = pair();
        for v in [&mut a, &mut b] {
            v["reveal"] = "initiator".into();
        }
        b["local"]["learns"] = false.into();
        b["result"] =
            serde_json::json!({"matched_rows": null, "matched_values": null, "cardinality": null});
        b["output"] = Value::Null;
        assert_eq!(findings(&a, &b), vec![]);
        b["result"]["cardinality"] = 30.into();
        assert_eq!(
            findings(&a, &b),
            vec![("receipt_inconsistent", Some("result".into()))]
        );
    }

    /// The shareable form of a receipt of [`pair`]: its private fields removed.
    fn shared(v: &Value) -> Value {
        let mut v = v.clone();
        v["format"] = "blindmatch-shareable-receipt".into();
        for key in [
            "started_at",
            "finished_at",
            "result",
            "output",
            "timings_ms",
        ] {
            v.as_object_mut().unwrap().remove(key);
        }
        v["local"].as_object_mut().unwrap().remove("input");
        v
    }

    #[test]
    fn full_and_shareable_receipts_compare_in_any_order() {
        let (a, b) = pair();
        for (x, y) in [
            (a.clone(), shared(&b)),
            (shared(&b), a.clone()),
            (shared(&a), shared(&b)),
        ] {
            assert_eq!(findings(&x, &y), vec![]);
        }
        // Our own full and shareable receipts are not two sides of a session.
        assert!(
            findings(&a, &shared(&a)).contains(&("session_mismatch", Some("local.role".into())))
        );
    }

    #[test]
    fn a_shareable_receipt_is_checked_on_all_it_holds() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/session_id", "98".repeat(16).into(), "session_id"),
            (
                "/transcript_hash",
                "99".repeat(32).into(),
                "transcript_hash",
            ),
            ("/protocol_version", 3.into(), "protocol_version"),
            ("/mode", "cardinality".into(), "mode"),
            ("/reveal", "initiator".into(), "reveal"),
            ("/id_type", "email".into(), "id_type"),
            ("/profile/name", "bm-std-v1,x".into(), "profile.name"),
            ("/batch_size", 1024.into(), "batch_size"),
            ("/comparison_bytes", 16.into(), "comparison_bytes"),
            ("/local/declared_size", 99.into(), "peer.declared_size"),
            ("/peer/declared_size", 81.into(), "peer.declared_size"),
            (
                "/local/fingerprint",
                format!("sha256:{}", "cc".repeat(32)).into(),
                "peer.fingerprint",
            ),
            ("/peer/fingerprint", Value::Null, "peer.fingerprint"),
            ("/traffic/bytes_sent", 2001.into(), "traffic.bytes_sent"),
            ("/traffic/bytes_received", 999.into(), "traffic.bytes_sent"),
            ("/traffic/frames_sent", 7.into(), "traffic.frames_sent"),
            (
                "/local/network_role",
                "connector".into(),
                "local.network_role",
            ),
            ("/local/learns", false.into(), "local.learns"),
            ("/peer/min_peer_set", 200.into(), "peer.declared_size"),
        ];
        let (a, b) = pair();
        for (pointer, value, field) in cases {
            let mut sb = shared(&b);
            *sb.pointer_mut(pointer).unwrap() = value;
            let found = findings(&a, &sb);
            assert!(
                found.iter().any(|(_, f)| f.as_deref() == Some(field)),
                "{pointer}: {found:?}"
            );
        }
        // A field it lacks is malformed; one only the full receipt may hold too.
        let mut sb = shared(&b);
        sb.as_object_mut().unwrap().remove("traffic");
        assert_eq!(
            findings(&a, &sb),
            vec![("receipt_malformed", Some("traffic".into()))]
        );
        for (pointer, field) in [("/result", "result"), ("/local/input", "local.input")] {
            let mut sb = shared(&b);
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let value = b.pointer(pointer).unwrap().clone();
            let target = if parent.is_empty() {
                &mut sb
            } else {
                sb.pointer_mut(parent).unwrap()
            };
            target[key] = value;
            assert_eq!(
                findings(&a, &sb),
                vec![("receipt_malformed", Some(field.into()))]
            );
        }
    }

    /// `receipt_findings` reads receipts' bytes as `audit receipt` reads their
    /// files, and names the file it cannot read.
    #[test]
    fn receipts_read_from_bytes_as_from_files() {
        let (mut a, b) = pair();
        a["batch_size"] = 1024.into();
        a.as_object_mut().unwrap().remove("mode");
        let (ab, bb) = (
            serde_json::to_vec(&a).unwrap(),
            serde_json::to_vec(&b).unwrap(),
        );
        let (pa, pb) = (
            std::path::Path::new("a.json"),
            std::path::Path::new("b.json"),
        );
        let from_bytes: Vec<_> = crate::receipt_findings(&ab, pa, &bb, pb)
            .unwrap()
            .into_iter()
            .map(|f| (f.check, f.field))
            .collect();
        assert_eq!(from_bytes, findings(&a, &b));
        assert_eq!(from_bytes.len(), 2, "{from_bytes:?}");
        let e = crate::receipt_findings(&ab, pa, b"[]", pb).unwrap_err();
        assert!(
            e.to_string()
                .contains("'b.json' is not a blindmatch receipt"),
            "{e}"
        );
    }
}
