//! Whole-protocol behaviour: results against a plain set intersection for every mode
//! and reveal, duplicates, empty and unequal sets, match IDs, thread-count determinism,
//! and what the messages do not contain.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use blindmatch_psi::hash::hash_identifier;
use blindmatch_psi::{
    MatchId, MatchResult, Message, Mode, Outcome, Party, PreparedSet, Reveal, Role, SessionConfig,
};
use common::{Item, Transcript, items, parties, run};
use proptest::prelude::*;

const CTX: [u8; 32] = [0x42; 32];

/// What a learner should see, computed with plain sets.
fn expected(mine: &[Item], theirs: &[Item]) -> (u64, BTreeSet<u64>) {
    let theirs: HashSet<(&str, &[u8])> = theirs
        .iter()
        .map(|(t, v, _)| (t.as_str(), &v[..]))
        .collect();
    let mine_distinct: HashSet<(&str, &[u8])> =
        mine.iter().map(|(t, v, _)| (t.as_str(), &v[..])).collect();
    let matched = mine_distinct.intersection(&theirs).count() as u64;
    let rows = mine
        .iter()
        .filter(|(t, v, _)| theirs.contains(&(t.as_str(), &v[..])))
        .map(|(_, _, r)| *r)
        .collect();
    (matched, rows)
}

fn distinct(items: &[Item]) -> u64 {
    items
        .iter()
        .map(|(t, v, _)| (t, v))
        .collect::<HashSet<_>>()
        .len() as u64
}

/// Checks one side's outcome against the plain computation.
fn check_side(o: &Outcome, learns: bool, mode: Mode, mine: &[Item], theirs: &[Item]) {
    assert_eq!(o.local_count, distinct(mine));
    assert_eq!(o.peer_count, distinct(theirs));
    let (matched, rows) = expected(mine, theirs);
    match (&o.result, learns, mode) {
        (MatchResult::NotRevealed, false, _) => {}
        (MatchResult::Cardinality { matched: m }, true, Mode::Cardinality) => {
            assert_eq!(*m, matched)
        }
        (
            MatchResult::Intersection {
                matched: m,
                matches,
            },
            true,
            Mode::Intersection,
        ) => {
            assert_eq!(*m, matched);
            let got: BTreeSet<u64> = matches.iter().map(|x| x.row).collect();
            assert_eq!(got, rows);
            assert_eq!(matches.len(), rows.len(), "each matched row exactly once");
            assert!(matches.windows(2).all(|w| w[0] <= w[1]), "sorted by row");
        }
        (r, l, m) => panic!("unexpected result {r:?} (learns: {l}, mode: {m:?})"),
    }
}

/// Match IDs by value: equal on both sides for the same value, distinct across values.
fn match_ids_by_value(o: &Outcome, mine: &[Item]) -> BTreeMap<(String, Vec<u8>), MatchId> {
    let by_row: BTreeMap<u64, (String, Vec<u8>)> = mine
        .iter()
        .map(|(t, v, r)| (*r, (t.clone(), v.clone())))
        .collect();
    let mut ids = BTreeMap::new();
    for m in o.matches() {
        let key = by_row[&m.row].clone();
        let prev = ids.insert(key, m.match_id);
        assert!(prev.is_none_or(|p| p == m.match_id), "one ID per value");
    }
    let distinct_ids: HashSet<MatchId> = ids.values().copied().collect();
    assert_eq!(
        distinct_ids.len(),
        ids.len(),
        "different values, different IDs"
    );
    ids
}

fn check_session(a: &[Item], b: &[Item], mode: Mode, reveal: Reveal, batch: u32, seed: u64) {
    let (pa, pb) = parties(a, b, mode, reveal, batch, CTX, seed);
    let t = run(pa, pb).unwrap();
    check_side(&t.a, reveal.learns(Role::Initiator), mode, a, b);
    check_side(&t.b, reveal.learns(Role::Responder), mode, b, a);
    if mode == Mode::Intersection && reveal == Reveal::Both {
        assert_eq!(match_ids_by_value(&t.a, a), match_ids_by_value(&t.b, b));
    }
    check_message_shapes(&t, a, b, mode, reveal, batch);
}

/// The side that gets doubly blinded values back: the learner, or when both learn
/// the one with fewer distinct items (the responder on a tie).
fn first_learner(na: u64, nb: u64, reveal: Reveal) -> Role {
    match reveal {
        Reveal::Initiator => Role::Initiator,
        Reveal::Responder => Role::Responder,
        Reveal::Both if na < nb => Role::Initiator,
        Reveal::Both => Role::Responder,
    }
}

/// Message counts, kinds and sizes follow from the sizes, mode, reveal and the number
/// of matches alone.
fn check_message_shapes(
    t: &Transcript,
    a: &[Item],
    b: &[Item],
    mode: Mode,
    reveal: Reveal,
    batch: u32,
) {
    let (na, nb) = (distinct(a), distinct(b));
    let l = t.a.comparison_len;
    let blinded = |msgs: &[Message]| {
        msgs.iter()
            .filter_map(|m| match m {
                Message::Blinded { points, .. } => Some(points.len() as u64),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let reblinded = |msgs: &[Message]| {
        msgs.iter()
            .filter_map(|m| match m {
                Message::Reblinded { values, .. } => Some(values.len()),
                _ => None,
            })
            .sum::<usize>()
    };
    // (messages, payload bytes) of the first learner's result.
    let results = |msgs: &[Message]| {
        msgs.iter()
            .filter(|m| matches!(m, Message::Matches { .. } | Message::Counts { .. }))
            .fold((0usize, 0usize), |(n, bytes), m| {
                (n + 1, bytes + m.payload_len())
            })
    };
    assert_eq!(blinded(&t.from_a).iter().sum::<u64>(), na);
    assert_eq!(blinded(&t.from_b).iter().sum::<u64>(), nb);
    assert!(blinded(&t.from_a).iter().all(|&n| n <= u64::from(batch)));
    let first = first_learner(na, nb, reveal);
    let to_a = if first == Role::Initiator {
        na as usize * l
    } else {
        0
    };
    let to_b = if first == Role::Responder {
        nb as usize * l
    } else {
        0
    };
    assert_eq!(reblinded(&t.from_b), to_a);
    assert_eq!(reblinded(&t.from_a), to_b);

    let (from_first, from_second, n_second) = match first {
        Role::Initiator => (&t.from_a, &t.from_b, nb),
        Role::Responder => (&t.from_b, &t.from_a, na),
    };
    assert_eq!(
        results(from_second),
        (0, 0),
        "the second learner sends no result"
    );
    let want = match (reveal, mode) {
        (Reveal::Both, Mode::Cardinality) => (1, 4),
        // A bitmap per batch of the second learner, nothing per match.
        (Reveal::Both, _) => {
            let batches = n_second.div_ceil(u64::from(batch));
            let bitmaps: u64 = (0..batches)
                .map(|i| {
                    (n_second - i * u64::from(batch))
                        .min(u64::from(batch))
                        .div_ceil(8)
                })
                .sum();
            (batches as usize, bitmaps as usize)
        }
        _ => (0, 0),
    };
    assert_eq!(results(from_first), want);
}

const MODES: [Mode; 2] = [Mode::Intersection, Mode::Cardinality];
const REVEALS: [Reveal; 3] = [Reveal::Initiator, Reveal::Responder, Reveal::Both];

#[test]
fn fixed_cases_in_every_mode_and_reveal() {
    let many: Vec<String> = (0..50).map(|i| format!("86138{i:08}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let cases: Vec<(Vec<Item>, Vec<Item>)> = vec![
        (vec![], vec![]),
        (items("phone", &["1"]), vec![]),
        (vec![], items("phone", &["1"])),
        (items("phone", &["1"]), items("phone", &["1"])),
        (items("phone", &["1"]), items("phone", &["2"])),
        (items("phone", &many), items("phone", &many)),
        (items("phone", &many[..25]), items("phone", &many[25..])),
        (items("phone", &many[..10]), items("phone", &many[5..])),
        // Same bytes under two types never match.
        (items("phone", &["x1", "x2"]), items("email", &["x1", "x2"])),
        // Duplicates within a side: every row reported, counted once.
        (
            items("phone", &["a", "b", "a", "a", "c"]),
            items("phone", &["a", "c", "c", "d"]),
        ),
    ];
    for (i, (a, b)) in cases.iter().enumerate() {
        for mode in MODES {
            for reveal in REVEALS {
                for batch in [1, 3, 64] {
                    check_session(a, b, mode, reveal, batch, i as u64);
                }
            }
        }
    }
}

fn arb_items() -> impl Strategy<Value = Vec<Item>> {
    // Small domains so that overlaps and duplicates are common.
    prop::collection::vec((0..2u8, 0..24u8), 0..30).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(row, (t, x))| {
                let t = if t == 0 { "phone" } else { "email" };
                (
                    t.to_owned(),
                    format!("v{x}").into_bytes(),
                    row as u64 * 3 + 7,
                )
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn matches_plain_set_intersection(
        a in arb_items(),
        b in arb_items(),
        mode in prop::sample::select(MODES.to_vec()),
        reveal in prop::sample::select(REVEALS.to_vec()),
        batch in 1u32..8,
        seed in any::<u64>(),
    ) {
        check_session(&a, &b, mode, reveal, batch, seed);
    }
}

#[test]
fn same_result_for_any_thread_count() {
    let a: Vec<Item> = (0..300u64)
        .map(|i| ("phone".to_owned(), format!("p{i}").into_bytes(), i))
        .collect();
    let b: Vec<Item> = (150..500u64)
        .map(|i| ("phone".to_owned(), format!("p{i}").into_bytes(), 1000 + i))
        .collect();
    for mode in MODES {
        let transcript = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let (pa, pb) = parties(&a, &b, mode, Reveal::Both, 128, CTX, 99);
                run(pa, pb).unwrap()
            })
        };
        let one = transcript(1);
        for threads in [2, 3] {
            let other = transcript(threads);
            assert_eq!(one.from_a, other.from_a);
            assert_eq!(one.from_b, other.from_b);
            assert_eq!(one.a, other.a);
            assert_eq!(one.b, other.b);
        }
        assert_eq!(one.a.matched_count(), Some(150));
    }
}

#[test]
fn messages_carry_no_input_bytes_and_no_unblinded_hash() {
    let a: Vec<Item> = (0..40u64)
        .map(|i| ("phone".to_owned(), format!("8613800{i:06}").into_bytes(), i))
        .collect();
    let b: Vec<Item> = (20..60u64)
        .map(|i| ("phone".to_owned(), format!("8613800{i:06}").into_bytes(), i))
        .collect();
    for mode in MODES {
        let (pa, pb) = parties(&a, &b, mode, Reveal::Both, 16, CTX, 5);
        let t = run(pa, pb).unwrap();
        let wire: Vec<Vec<u8>> = t
            .from_a
            .iter()
            .chain(&t.from_b)
            .map(Message::encode)
            .collect();
        let contains = |needle: &[u8]| {
            wire.iter()
                .any(|w| w.windows(needle.len()).any(|x| x == needle))
        };
        for (ty, value, _) in a.iter().chain(&b) {
            assert!(!contains(value), "input value on the wire");
            let h = hash_identifier(ty, value, &CTX).unwrap();
            // Neither the hash point nor a comparison-length prefix of it.
            assert!(!contains(&h), "unblinded hash on the wire");
            assert!(
                !contains(&h[..t.a.comparison_len]),
                "unblinded hash prefix on the wire"
            );
        }
    }
}

#[test]
fn sessions_are_unlinkable_across_contexts() {
    let a = items("phone", &["1", "2", "3"]);
    let b = items("phone", &["2", "3", "4"]);
    let run_ctx = |ctx: [u8; 32]| {
        let (pa, pb) = parties(&a, &b, Mode::Intersection, Reveal::Both, 8, ctx, 1);
        run(pa, pb).unwrap()
    };
    let (t1, t2) = (run_ctx([1; 32]), run_ctx([2; 32]));
    let ids = |t: &Transcript| {
        t.a.matches()
            .iter()
            .map(|m| m.match_id)
            .collect::<HashSet<_>>()
    };
    assert_eq!(ids(&t1).len(), 2);
    assert!(ids(&t1).is_disjoint(&ids(&t2)));
}

#[test]
fn fresh_os_randomness_gives_fresh_blinding() {
    let set = || PreparedSet::from_items([("phone", "1", 0)]).unwrap();
    let cfg = |s: &PreparedSet| SessionConfig {
        role: Role::Initiator,
        mode: Mode::Intersection,
        reveal: Reveal::Both,
        batch_size: 4,
        context: CTX,
        local_count: s.declared_size(),
        peer_count: 1,
        groups: Vec::new(),
        peer_params: Vec::new(),
    };
    let (s1, s2) = (set(), set());
    let mut p1 = Party::new(cfg(&s1), s1).unwrap();
    let mut p2 = Party::new(cfg(&s2), s2).unwrap();
    assert_ne!(p1.poll_transmit(), p2.poll_transmit());
}

#[test]
fn cardinality_responses_are_shuffled_over_the_whole_set() {
    // With many batches, the learner's values must not come back in its own order:
    // compare against the intersection-mode order of the same seeded session.
    let a: Vec<Item> = (0..64u64)
        .map(|i| ("phone".to_owned(), format!("c{i}").into_bytes(), i))
        .collect();
    let order = |mode| {
        let (pa, pb) = parties(&a, &a, mode, Reveal::Initiator, 8, CTX, 3);
        let t = run(pa, pb).unwrap();
        t.from_b
            .iter()
            .filter_map(|m| match m {
                Message::Reblinded { values, .. } => Some(values.clone()),
                _ => None,
            })
            .flatten()
            .collect::<Vec<u8>>()
    };
    let (ordered, shuffled) = (order(Mode::Intersection), order(Mode::Cardinality));
    assert_eq!(ordered.len(), shuffled.len());
    assert_ne!(ordered, shuffled);
    let l = ordered.len() / 64;
    let as_set = |v: &[u8]| v.chunks(l).map(<[u8]>::to_vec).collect::<BTreeSet<_>>();
    assert_eq!(
        as_set(&ordered),
        as_set(&shuffled),
        "same values, other order"
    );
}

#[test]
fn party_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Party>();
    assert_send::<Message>();
}
