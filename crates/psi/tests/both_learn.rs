//! Both sides learn: the side with fewer items gets the doubly blinded values and
//! compares, then sends the other its result (a bitmap of its matched positions, or
//! per-type counts). Results for every mode, reveal and several rules against plain
//! sets, and a result that contradicts the session is a typed error, never a panic.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use blindmatch_psi::{
    MatchId, Message, MessageKind, Mode, Outcome, Party, PreparedSet, PsiError, Reveal, Role,
    SessionConfig, TypeGroup,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

const RULES: [&str; 3] = ["phone", "email", "name+company"];

/// Per rule, the values each side holds: phones 0..40 vs 20..70, e-mails 0..30 vs
/// 25..36, composites 0..10 vs 5..15; every value on one row, except that side A
/// holds each of its first five phones on a second row too.
fn values(side_a: bool) -> Vec<(&'static str, String, u64)> {
    let ranges: [(u64, u64); 3] = if side_a {
        [(0, 40), (0, 30), (0, 10)]
    } else {
        [(20, 70), (25, 36), (5, 15)]
    };
    let mut out = Vec::new();
    for (rule, (lo, hi)) in RULES.iter().zip(ranges) {
        for i in lo..hi {
            let row = out.len() as u64;
            out.push((*rule, format!("{rule}-{i}"), row));
        }
    }
    if side_a {
        for i in 0..5u64 {
            out.push(("phone", format!("phone-{i}"), 500 + i));
        }
    }
    out
}

fn prepared(items: &[(&'static str, String, u64)]) -> PreparedSet {
    PreparedSet::from_items(items.iter().map(|(t, v, r)| (*t, v.as_bytes(), *r))).unwrap()
}

fn config(
    role: Role,
    mode: Mode,
    reveal: Reveal,
    batch_size: u32,
    local: &PreparedSet,
    peer: &PreparedSet,
) -> SessionConfig {
    let size = |s: &PreparedSet, t: &str| {
        s.type_sizes()
            .into_iter()
            .find(|(n, _)| n == t)
            .map_or(0, |(_, c)| c)
    };
    SessionConfig {
        role,
        mode,
        reveal,
        batch_size,
        context: [0x5a; 32],
        local_count: local.declared_size(),
        peer_count: peer.declared_size(),
        groups: RULES
            .iter()
            .map(|t| TypeGroup {
                id_type: (*t).to_owned(),
                local: size(local, t),
                peer: size(peer, t),
            })
            .collect(),
        peer_params: Vec::new(),
    }
}

/// The initiator holds `init`, the responder `resp`.
fn parties(
    init: &[(&'static str, String, u64)],
    resp: &[(&'static str, String, u64)],
    mode: Mode,
    reveal: Reveal,
    batch_size: u32,
) -> (Party, Party) {
    let (si, sr) = (prepared(init), prepared(resp));
    let ci = config(Role::Initiator, mode, reveal, batch_size, &si, &sr);
    let cr = config(Role::Responder, mode, reveal, batch_size, &sr, &si);
    let mut rng = StdRng::seed_from_u64(u64::from(batch_size));
    (
        Party::with_rng(ci, si, &mut rng).unwrap(),
        Party::with_rng(cr, sr, &mut rng).unwrap(),
    )
}

/// Rows of `mine` whose value the peer holds, per rule, and distinct matches per rule.
fn expected(
    mine: &[(&'static str, String, u64)],
    theirs: &[(&'static str, String, u64)],
) -> (BTreeSet<u64>, Vec<u64>) {
    let theirs: BTreeSet<(&str, &str)> = theirs.iter().map(|(t, v, _)| (*t, v.as_str())).collect();
    let rows = mine
        .iter()
        .filter(|(t, v, _)| theirs.contains(&(*t, v.as_str())))
        .map(|(_, _, r)| *r)
        .collect();
    let per_rule = RULES
        .iter()
        .map(|rule| {
            let mut distinct: BTreeSet<&str> = BTreeSet::new();
            for (t, v, _) in mine {
                if t == rule && theirs.contains(&(*t, v.as_str())) {
                    distinct.insert(v);
                }
            }
            distinct.len() as u64
        })
        .collect();
    (rows, per_rule)
}

fn check(
    o: &Outcome,
    learns: bool,
    mode: Mode,
    mine: &[(&'static str, String, u64)],
    theirs: &[(&'static str, String, u64)],
) {
    let (rows, per_rule) = expected(mine, theirs);
    let got: Vec<Option<u64>> = o.per_type.iter().map(|t| t.matched).collect();
    if !learns {
        assert!(got.iter().all(Option::is_none));
        assert!(o.matched_count().is_none());
        return;
    }
    assert_eq!(got, per_rule.iter().map(|&n| Some(n)).collect::<Vec<_>>());
    assert_eq!(o.matched_count(), Some(per_rule.iter().sum()));
    if mode == Mode::Intersection {
        let got: BTreeSet<u64> = o.matches().iter().map(|m| m.row).collect();
        assert_eq!(got, rows);
        assert_eq!(o.matches().len(), rows.len());
    }
}

/// Match IDs by (rule, value).
fn ids(o: &Outcome, mine: &[(&'static str, String, u64)]) -> BTreeMap<(String, String), [u8; 32]> {
    let by_row: BTreeMap<u64, (String, String)> = mine
        .iter()
        .map(|(t, v, r)| (*r, ((*t).to_owned(), v.clone())))
        .collect();
    o.matches()
        .iter()
        .map(|m| (by_row[&m.row].clone(), m.match_id.0))
        .collect()
}

#[test]
fn every_mode_reveal_and_batch_size_with_several_rules() {
    let (a, b) = (values(true), values(false));
    // A has 80 distinct items, B 71: with A as initiator the responder learns first,
    // with A as responder the initiator does; and once with equal sets.
    let cases = [(&a, &b), (&b, &a), (&a, &a)];
    for (init, resp) in cases {
        for mode in [Mode::Intersection, Mode::Cardinality] {
            for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
                for batch in [1, 7, 16, 4096] {
                    let (pi, pr) = parties(init, resp, mode, reveal, batch);
                    let t = common::run(pi, pr).unwrap();
                    check(&t.a, reveal.learns(Role::Initiator), mode, init, resp);
                    check(&t.b, reveal.learns(Role::Responder), mode, resp, init);
                    if mode == Mode::Intersection && reveal == Reveal::Both {
                        assert_eq!(ids(&t.a, init), ids(&t.b, resp));
                    }
                    // Doubly blinded values cross one way only.
                    let reblinded =
                        |ms: &[Message]| ms.iter().any(|m| matches!(m, Message::Reblinded { .. }));
                    assert!(!(reblinded(&t.from_a) && reblinded(&t.from_b)));
                }
            }
        }
    }
}

/// `n` phones from number `from` on, one row each.
fn phones(from: u64, n: u64) -> Vec<(&'static str, String, u64)> {
    (from..from + n)
        .map(|i| ("phone", format!("phone-{i}"), i))
        .collect()
}

/// The first learner's `Matches` messages in a transcript (the responder's when the
/// sets are equal).
fn matches_sent(t: &common::Transcript) -> Vec<&Message> {
    t.from_a
        .iter()
        .chain(&t.from_b)
        .filter(|m| matches!(m, Message::Matches { .. }))
        .collect()
}

#[test]
fn at_full_overlap_both_sides_derive_the_ids_of_the_second_learners_positions() {
    let a = values(true);
    // 80 distinct items on each side, all shared: the responder learns first, and
    // every position of the initiator's stream matches, so the IDs are exactly
    // those of positions 0..80 (docs/protocol.md, "Match IDs").
    let positional: BTreeSet<[u8; 32]> = (0..80)
        .map(|j| MatchId::derive_at_position(&[0x5a; 32], j).0)
        .collect();
    for batch in [1, 7, 4096] {
        let (pi, pr) = parties(&a, &a, Mode::Intersection, Reveal::Both, batch);
        let t = common::run(pi, pr).unwrap();
        check(&t.a, true, Mode::Intersection, &a, &a);
        check(&t.b, true, Mode::Intersection, &a, &a);
        assert_eq!(ids(&t.a, &a), ids(&t.b, &a));
        let got: BTreeSet<[u8; 32]> = ids(&t.a, &a).into_values().collect();
        assert_eq!(got, positional);
    }
    // One learner keeps the IDs of the doubly blinded points.
    let (pi, pr) = parties(&a, &a, Mode::Intersection, Reveal::Initiator, 7);
    let t = common::run(pi, pr).unwrap();
    let got: BTreeSet<[u8; 32]> = ids(&t.a, &a).into_values().collect();
    assert_eq!(got.len(), 80);
    assert!(got.is_disjoint(&positional));
}

#[test]
fn a_matches_message_is_exactly_its_bitmap() {
    // 1000 items on the initiator's side in batches of 64 (15 full, one of 40): the
    // responder (fewer or equal items) learns first and sends one bitmap per batch,
    // whatever the overlap.
    let init = phones(0, 1000);
    for resp in [phones(0, 1000), phones(500, 500), phones(5000, 600)] {
        let (pi, pr) = parties(&init, &resp, Mode::Intersection, Reveal::Both, 64);
        let t = common::run(pi, pr).unwrap();
        let sent = matches_sent(&t);
        assert_eq!(sent.len(), 16);
        for (i, m) in sent.iter().enumerate() {
            let items = if i < 15 { 64 } else { 40 };
            assert_eq!(m.batch() as usize, i);
            assert_eq!(m.payload_len(), items / 8, "batch {i}");
            assert_eq!(m.encode().len(), 5 + items / 8);
        }
    }
}

/// Bytes of every message both ways, per element of the larger side.
fn bytes_per_element(t: &common::Transcript, larger: u64) -> f64 {
    let bytes: usize = t
        .from_a
        .iter()
        .chain(&t.from_b)
        .map(|m| m.encode().len())
        .sum();
    bytes as f64 / larger as f64
}

#[test]
fn both_learning_costs_at_most_two_bytes_per_element_more_than_one_learner() {
    // 1000 items a side: an index into the first learner's set would take 2 bytes,
    // so a result that named the pairing would cost over 2 bytes per element at
    // full overlap.
    let init = phones(0, 1000);
    for (resp, shared) in [
        (phones(0, 1000), 1000),
        (phones(500, 1000), 500),
        (phones(5000, 1000), 0),
    ] {
        for batch in [64, 4096] {
            let run = |reveal| {
                let (pi, pr) = parties(&init, &resp, Mode::Intersection, reveal, batch);
                common::run(pi, pr).unwrap()
            };
            // Equal sizes: the responder learns first, and alone with reveal
            // `responder`.
            let both = run(Reveal::Both);
            let one = run(Reveal::Responder);
            assert_eq!(both.b.matched_count(), Some(shared));
            assert_eq!(both.a.matched_count(), Some(shared));
            let extra = bytes_per_element(&both, 1000) - bytes_per_element(&one, 1000);
            // Exactly the bitmaps with their 5-byte headers: 1000 bits, one header
            // per initiator batch.
            let headers = 5 * 1000u64.div_ceil(u64::from(batch));
            let b = u64::from(batch);
            let bitmaps = 1000 / b * b.div_ceil(8) + (1000 % b).div_ceil(8);
            assert!(
                (extra - (headers + bitmaps) as f64 / 1000.0).abs() < 1e-9,
                "{extra} at {shared} shared, batch {batch}"
            );
            assert!(extra <= 2.0, "{extra}");
        }
    }
}

/// Runs a both-learn session with groups (A initiator, B responder, so the responder
/// learns first) until the responder has handed out its result, which is kept back:
/// the initiator, ready for it, and the result messages.
fn held_back_result(mode: Mode, batch: u32) -> (Party, Vec<Message>) {
    let (mut a, mut b) = parties(&values(true), &values(false), mode, Reveal::Both, batch);
    let mut result = Vec::new();
    loop {
        let ma = a.poll_transmit();
        let mb = b.poll_transmit();
        if ma.is_none() && mb.is_none() {
            break;
        }
        if let Some(m) = ma {
            b.handle(m).unwrap();
        }
        match mb {
            Some(m @ (Message::Matches { .. } | Message::Counts { .. })) => result.push(m),
            Some(m) => a.handle(m).unwrap(),
            None => {}
        }
    }
    assert!(b.is_finished() && !a.is_finished() && a.needs_input());
    (a, result)
}

fn payload(m: &Message) -> (u32, Vec<u8>) {
    match m {
        Message::Matches { batch, bitmap } => (*batch, bitmap.clone()),
        other => panic!("not matches: {other:?}"),
    }
}

/// Feeds the result with batch `batch`'s payload replaced, and returns the error.
fn tampered(batch: u32, change: impl Fn(&mut Vec<u8>)) -> PsiError {
    let (mut a, result) = held_back_result(Mode::Intersection, 7);
    for m in result {
        let (b, mut p) = payload(&m);
        if b == batch {
            change(&mut p);
        }
        if let Err(e) = a.handle(Message::Matches {
            batch: b,
            bitmap: p,
        }) {
            assert!(a.poll_transmit().is_none());
            assert!(!a.is_finished());
            return e;
        }
    }
    panic!("the tampered result was accepted");
}

fn inconsistent(e: &PsiError) -> &'static str {
    match e {
        PsiError::InconsistentResult {
            kind: MessageKind::Matches,
            reason,
            ..
        } => reason,
        other => panic!("expected an inconsistent result, got {other:?}"),
    }
}

#[test]
fn the_held_back_result_completes_the_session() {
    let (mut a, result) = held_back_result(Mode::Intersection, 7);
    // A has 80 items in batches of 7: 12 batches, the last of 3.
    assert_eq!(result.len(), 12);
    for m in result {
        a.handle(m).unwrap();
    }
    assert!(a.is_finished());
    let o = a.finish().unwrap();
    check(&o, true, Mode::Intersection, &values(true), &values(false));
}

#[test]
fn a_result_that_contradicts_the_session_is_a_typed_error() {
    // The batch of the first matched position.
    let (_, result) = held_back_result(Mode::Intersection, 7);
    let (first, p) = result
        .iter()
        .map(payload)
        .find(|(_, p)| p.first().is_some_and(|b| *b != 0))
        .unwrap();
    // One bitmap byte per batch of 7, and nothing else.
    assert_eq!(p.len(), 1);

    // Lengths: one byte over (an old-style index after the bitmap), two over, none.
    for change in [
        &(|p: &mut Vec<u8>| p.push(0)) as &dyn Fn(&mut Vec<u8>),
        &|p: &mut Vec<u8>| p.extend([0x01, 0x2C]),
        &|p: &mut Vec<u8>| p.clear(),
    ] {
        let e = tampered(first, change);
        assert!(
            matches!(
                e,
                PsiError::WrongBatchLength {
                    kind: MessageKind::Matches,
                    expected: 1,
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // A bit in the padding of the last batch (3 items: bits 3..8 must be clear).
    let e = tampered(11, |p| p[0] |= 0x01);
    assert_eq!(inconsistent(&e), "a bit is set past the batch's items");
    // A full batch with every bit set is a well-formed claim: the second learner
    // cannot tell it from real matches (docs/protocol.md, "What each side can
    // check"), so it is accepted.
    let (mut a, result) = held_back_result(Mode::Intersection, 7);
    for m in result {
        let (b, mut p) = payload(&m);
        if b == 0 {
            p[0] = 0xFE;
        }
        a.handle(Message::Matches {
            batch: b,
            bitmap: p,
        })
        .unwrap();
    }
    assert!(a.is_finished());

    // Out of order and twice.
    let (mut a, result) = held_back_result(Mode::Intersection, 7);
    let e = a.handle(result[1].clone()).unwrap_err();
    assert!(
        matches!(
            e,
            PsiError::BatchOutOfOrder {
                kind: MessageKind::Matches,
                expected: 0,
                got: 1
            }
        ),
        "{e:?}"
    );
    let (mut a, result) = held_back_result(Mode::Intersection, 7);
    a.handle(result[0].clone()).unwrap();
    let e = a.handle(result[0].clone()).unwrap_err();
    assert!(
        matches!(
            e,
            PsiError::DuplicateBatch {
                kind: MessageKind::Matches,
                batch: 0
            }
        ),
        "{e:?}"
    );
    // A 13th batch for A's 12.
    let (mut a, result) = held_back_result(Mode::Intersection, 7);
    for m in result {
        a.handle(m).unwrap();
    }
    let e = a
        .handle(Message::Matches {
            batch: 12,
            bitmap: vec![0],
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            PsiError::TooManyItems {
                kind: MessageKind::Matches,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_result_before_the_exchange_or_of_the_wrong_kind_is_refused() {
    // Before A sent its set (nothing has happened yet).
    let (mut a, _) = parties(
        &values(true),
        &values(false),
        Mode::Intersection,
        Reveal::Both,
        7,
    );
    let e = a
        .handle(Message::Matches {
            batch: 0,
            bitmap: vec![0],
        })
        .unwrap_err();
    assert_eq!(
        inconsistent(&e),
        "sent before the peer could have had both sets"
    );
    // Counts in an intersection session, matches in a cardinality one.
    let (mut a, _) = held_back_result(Mode::Intersection, 7);
    let e = a
        .handle(Message::Counts {
            batch: 0,
            counts: vec![0, 0, 0],
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            PsiError::MessageNotAllowed {
                kind: MessageKind::Counts,
                ..
            }
        ),
        "{e:?}"
    );
    let (mut a, _) = held_back_result(Mode::Cardinality, 7);
    let e = a
        .handle(Message::Matches {
            batch: 0,
            bitmap: vec![0],
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            PsiError::MessageNotAllowed {
                kind: MessageKind::Matches,
                ..
            }
        ),
        "{e:?}"
    );
    // A result sent to the side that learns first, to a single learner, or to a side
    // that does not learn.
    for (reveal, first) in [
        (Reveal::Both, false),
        (Reveal::Responder, false),
        (Reveal::Responder, true),
    ] {
        let (a, b) = parties(&values(true), &values(false), Mode::Intersection, reveal, 7);
        let mut p = if first { a } else { b };
        let e = p
            .handle(Message::Matches {
                batch: 0,
                bitmap: vec![0],
            })
            .unwrap_err();
        assert!(
            matches!(
                e,
                PsiError::MessageNotAllowed {
                    kind: MessageKind::Matches,
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // Doubly blinded values sent to the side that learns second.
    let (mut a, _) = parties(
        &values(true),
        &values(false),
        Mode::Intersection,
        Reveal::Both,
        7,
    );
    a.poll_transmit().unwrap();
    let e = a
        .handle(Message::Reblinded {
            batch: 0,
            values: vec![0; 63],
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            PsiError::MessageNotAllowed {
                kind: MessageKind::Reblinded,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn counts_that_contradict_the_session_are_refused() {
    let (_, result) = held_back_result(Mode::Cardinality, 7);
    assert_eq!(
        result,
        [Message::Counts {
            batch: 0,
            counts: vec![20, 5, 5]
        }]
    );
    let refused = |m: Message| {
        let (mut a, _) = held_back_result(Mode::Cardinality, 7);
        a.handle(m).unwrap_err()
    };
    let reason = |e: PsiError| match e {
        PsiError::InconsistentResult {
            kind: MessageKind::Counts,
            reason,
            ..
        } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason(refused(Message::Counts {
            batch: 0,
            counts: vec![20, 5]
        })),
        "counts for another number of type groups"
    );
    // E-mails: A holds 30, B 11; 12 matches fit neither.
    assert_eq!(
        reason(refused(Message::Counts {
            batch: 0,
            counts: vec![20, 12, 5]
        })),
        "a count larger than a type group's sets"
    );
    assert_eq!(
        reason(refused(Message::Counts {
            batch: 1,
            counts: vec![20, 5, 5]
        })),
        "counts come as one message, batch 0"
    );
    let (mut a, result) = held_back_result(Mode::Cardinality, 7);
    a.handle(result[0].clone()).unwrap();
    assert!(a.is_finished());
    let e = a.handle(result[0].clone()).unwrap_err();
    assert!(
        matches!(
            e,
            PsiError::DuplicateBatch {
                kind: MessageKind::Counts,
                ..
            }
        ),
        "{e:?}"
    );
    // What the counts said is what A learns.
    let (mut a, result) = held_back_result(Mode::Cardinality, 7);
    a.handle(result[0].clone()).unwrap();
    let o = a.finish().unwrap();
    assert_eq!(o.matched_count(), Some(30));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Any bytes as result messages: accepted or a typed error, never a panic.
    #[test]
    fn arbitrary_result_bytes_never_panic(
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..14),
        cardinality in any::<bool>(),
    ) {
        let mode = if cardinality { Mode::Cardinality } else { Mode::Intersection };
        let (mut a, _) = held_back_result(mode, 7);
        for (i, f) in frames.iter().enumerate() {
            let kind = if cardinality { 5 } else { 4 };
            let mut bytes = vec![kind, 0, 0, 0, i as u8];
            bytes.extend_from_slice(f);
            if let Ok(m) = Message::decode(&bytes) {
                let _ = a.handle(m);
            }
        }
        if a.is_finished() {
            let _ = a.finish().unwrap();
        }
    }
}
