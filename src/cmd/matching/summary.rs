//! The human summary `blindmatch match` prints on stderr after a session: what was
//! read, with whom, what was learned (per rule when there are several), traffic, and
//! where the outputs are. Counts and names only, never a value.

use blindmatch_data::text::{group, human_bytes};
use blindmatch_net::{MatchResult, Mode, Reveal, Role};
use blindmatch_pipeline::matching::{Finished, PartyConfig, Prepared};

/// The human summary on stderr.
pub(super) fn print_summary(cfg: &PartyConfig, prepared: &Prepared, done: &Finished) {
    let r = &done.report;
    let per_column: Vec<String> = prepared
        .columns
        .iter()
        .zip(&prepared.column_counts)
        .enumerate()
        .map(|(i, (column, c))| {
            let mut reasons: Vec<String> = prepared
                .tally
                .by_reason(i)
                .map(|(reason, n)| format!("{} {}", reason.code(), group(n)))
                .collect();
            reasons.sort();
            let detail = if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            };
            format!(
                "{} {} values, {} empty, {} rejected{detail}",
                group(c.values),
                column.id_type,
                group(c.empty),
                group(c.rejected),
            )
        })
        .collect();
    eprintln!(
        "read {} rows from '{}': {}; {} distinct",
        group(prepared.summary.rows),
        cfg.input.source.name(),
        per_column.join("; "),
        group(r.local_set_size),
    );
    let partner = match (&r.peer_fingerprint, &r.peer_addr) {
        (Some(fp), Some(addr)) => format!("{fp} at {addr}"),
        (Some(fp), None) => fp.to_string(),
        (None, Some(addr)) => format!("{addr} (insecure plaintext)"),
        (None, None) => "the partner".to_owned(),
    };
    eprintln!(
        "session {} with {partner}: {} mode, {}; the partner declared {} distinct values",
        r.session_id,
        mode_name(r.mode),
        learners(r.reveal, r.role),
        group(r.peer_set_size),
    );
    match (&r.outcome.result, &done.output) {
        (MatchResult::Intersection { matched, .. }, Some(out)) => eprintln!(
            "matched {} distinct values on {} of our rows → '{}'",
            group(*matched),
            group(done.matched_rows.unwrap_or_default()),
            out.path.display()
        ),
        (MatchResult::Intersection { matched, .. }, None) => eprintln!(
            "matched {} distinct values on {} of our rows",
            group(*matched),
            group(done.matched_rows.unwrap_or_default())
        ),
        (MatchResult::Cardinality { matched }, _) => {
            eprintln!("the two sides share {} distinct values", group(*matched));
        }
        _ => eprintln!("this side does not learn the result (the partner does); no output written"),
    }
    if r.outcome.per_type.len() > 1 {
        let rules: Vec<String> = r
            .outcome
            .per_type
            .iter()
            .map(|t| match t.matched {
                Some(m) => format!(
                    "{} {} of {} ours / {} theirs",
                    t.id_type,
                    group(m),
                    group(t.local),
                    group(t.peer)
                ),
                None => format!(
                    "{} {} ours / {} theirs",
                    t.id_type,
                    group(t.local),
                    group(t.peer)
                ),
            })
            .collect();
        eprintln!("per rule: {}", rules.join("; "));
    }
    eprintln!(
        "sent {}, received {} in {:.1} s",
        human_bytes(r.traffic.wire_bytes_sent.unwrap_or(r.traffic.bytes_sent)),
        human_bytes(
            r.traffic
                .wire_bytes_received
                .unwrap_or(r.traffic.bytes_received)
        ),
        r.timings.total.as_secs_f64()
    );
    eprintln!(
        "receipt: '{}' (transcript hash {})",
        done.receipt.path.display(),
        r.transcript_hash
    );
    if let Some(shareable) = &done.shareable_receipt {
        eprintln!(
            "shareable receipt: '{}' (the one to send the partner)",
            shareable.path.display()
        );
    }
    if let Some(rejects) = &done.rejects {
        eprintln!("rejects: '{}'", rejects.path.display());
    }
}

fn mode_name(mode: Mode) -> &'static str {
    mode.name()
}

/// Who learns, in words, from `role`'s point of view.
pub(crate) fn learners(reveal: Reveal, role: Role) -> &'static str {
    match (reveal.learns(role), reveal.learns(role.peer())) {
        (true, true) => "both sides learn",
        (true, false) => "only we learn",
        (false, true) => "only the partner learns",
        (false, false) => "nobody learns",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learners_in_words() {
        assert_eq!(learners(Reveal::Both, Role::Initiator), "both sides learn");
        assert_eq!(
            learners(Reveal::Initiator, Role::Initiator),
            "only we learn"
        );
        assert_eq!(
            learners(Reveal::Initiator, Role::Responder),
            "only the partner learns"
        );
    }
}
