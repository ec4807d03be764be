//! The VOLE protocol end to end, two parties in memory: results against a plain set
//! intersection for every reveal setting, several identifier types (groups), equal
//! match IDs on both sides, refused modes, and peer messages that are malformed,
//! oversized, duplicated or out of order (typed errors, never panics).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use blindmatch_psi::protocol::{Protocol, ProtocolSetup};
use blindmatch_psi::vole::{
    VOLE_PROTOCOL_ID, VoleMessage, VoleSetup, is_oprf_receiver, max_message_len,
};
use blindmatch_psi::{
    MatchResult, MessageKind, Mode, Outcome, PreparedSet, PsiError, Reveal, Role, SessionConfig,
    TypeGroup,
};
use proptest::prelude::*;

type Item = (String, Vec<u8>, u64);

const CTX: [u8; 32] = [0x5a; 32];

fn items(t: &str, values: &[&str], first_row: u64) -> Vec<Item> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (t.to_owned(), v.as_bytes().to_vec(), first_row + i as u64))
        .collect()
}

fn set(items: &[Item]) -> PreparedSet {
    PreparedSet::from_items(items.iter().map(|(t, v, r)| (t.as_str(), v.as_slice(), *r))).unwrap()
}

fn distinct(items: &[Item]) -> u64 {
    items
        .iter()
        .map(|(t, v, _)| (t, v))
        .collect::<HashSet<_>>()
        .len() as u64
}

fn config(
    role: Role,
    reveal: Reveal,
    batch_size: u32,
    mine: &[Item],
    theirs: &[Item],
    groups: &[&str],
) -> SessionConfig {
    let count = |items: &[Item], t: &str| {
        items
            .iter()
            .filter(|(ty, _, _)| ty == t)
            .map(|(_, v, _)| v)
            .collect::<HashSet<_>>()
            .len() as u64
    };
    SessionConfig {
        role,
        mode: Mode::Intersection,
        reveal,
        batch_size,
        context: CTX,
        local_count: distinct(mine),
        peer_count: distinct(theirs),
        groups: groups
            .iter()
            .map(|g| TypeGroup {
                id_type: (*g).to_owned(),
                local: count(mine, g),
                peer: count(theirs, g),
            })
            .collect(),
        peer_params: Vec::new(),
    }
}

fn start(cfg: SessionConfig, items: &[Item], seed: u8) -> Box<dyn Protocol> {
    VoleSetup::new(set(items))
        .start_with_seed(cfg, [seed; 32])
        .unwrap()
}

/// Both outcomes and the transcript.
type Ran = (Outcome, Outcome, Vec<(bool, Vec<u8>)>);

/// Runs both parties to the end; returns both outcomes and every payload sent
/// (`true` for the initiator's).
fn run(mut a: Box<dyn Protocol>, mut b: Box<dyn Protocol>) -> Result<Ran, PsiError> {
    let mut transcript = Vec::new();
    loop {
        let mut moved = false;
        while let Some(m) = a.poll_transmit() {
            b.handle(&m.payload)?;
            transcript.push((true, m.payload));
            moved = true;
        }
        while let Some(m) = b.poll_transmit() {
            a.handle(&m.payload)?;
            transcript.push((false, m.payload));
            moved = true;
        }
        if a.is_finished() && b.is_finished() {
            break;
        }
        assert!(moved, "no party can move: deadlock");
    }
    Ok((a.finish()?, b.finish()?, transcript))
}

/// What a learner should see.
fn expected(mine: &[Item], theirs: &[Item]) -> (u64, BTreeSet<u64>) {
    let theirs: HashSet<(&str, &[u8])> = theirs
        .iter()
        .map(|(t, v, _)| (t.as_str(), &v[..]))
        .collect();
    let mine_distinct: HashSet<(&str, &[u8])> =
        mine.iter().map(|(t, v, _)| (t.as_str(), &v[..])).collect();
    let rows = mine
        .iter()
        .filter(|(t, v, _)| theirs.contains(&(t.as_str(), &v[..])))
        .map(|(_, _, r)| *r)
        .collect();
    (mine_distinct.intersection(&theirs).count() as u64, rows)
}

fn check(o: &Outcome, learns: bool, mine: &[Item], theirs: &[Item]) {
    assert_eq!(o.local_count, distinct(mine));
    assert_eq!(o.peer_count, distinct(theirs));
    let (matched, rows) = expected(mine, theirs);
    match (&o.result, learns) {
        (MatchResult::NotRevealed, false) => {}
        (
            MatchResult::Intersection {
                matched: m,
                matches,
            },
            true,
        ) => {
            assert_eq!(*m, matched);
            let got: BTreeSet<u64> = matches.iter().map(|x| x.row).collect();
            assert_eq!(got, rows);
            assert_eq!(matches.len(), rows.len());
        }
        (r, l) => panic!("unexpected {r:?} (learns: {l})"),
    }
}

/// Match IDs by (type, value).
fn ids(o: &Outcome, mine: &[Item]) -> BTreeMap<(String, Vec<u8>), [u8; 32]> {
    let by_row: BTreeMap<u64, (String, Vec<u8>)> = mine
        .iter()
        .map(|(t, v, r)| (*r, (t.clone(), v.clone())))
        .collect();
    o.matches()
        .iter()
        .map(|m| (by_row[&m.row].clone(), m.match_id.0))
        .collect()
}

fn session(
    reveal: Reveal,
    batch: u32,
    a: &[Item],
    b: &[Item],
    groups: &[&str],
) -> (Outcome, Outcome) {
    let pa = start(config(Role::Initiator, reveal, batch, a, b, groups), a, 1);
    let pb = start(config(Role::Responder, reveal, batch, b, a, groups), b, 2);
    let (oa, ob, _) = run(pa, pb).unwrap();
    check(&oa, reveal.learns(Role::Initiator), a, b);
    check(&ob, reveal.learns(Role::Responder), b, a);
    (oa, ob)
}

fn sample() -> (Vec<Item>, Vec<Item>) {
    let mut a = items("phone", &["1", "2", "3", "4", "5", "2"], 0);
    a.extend(items("email", &["a@x", "b@x", "c@x"], 100));
    let mut b = items("phone", &["2", "4", "6", "8"], 1000);
    b.extend(items("email", &["b@x", "c@x", "c@x", "z@x"], 2000));
    // The same bytes under another type never match.
    b.extend(items("email", &["1"], 3000));
    (a, b)
}

#[test]
fn every_reveal_gives_the_plain_intersection() {
    let (a, b) = sample();
    for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
        for batch in [1, 3, 4096] {
            session(reveal, batch, &a, &b, &[]);
        }
    }
}

#[test]
fn both_sides_derive_the_same_match_ids() {
    let (a, b) = sample();
    let (oa, ob) = session(Reveal::Both, 2, &a, &b, &[]);
    let (ia, ib) = (ids(&oa, &a), ids(&ob, &b));
    assert_eq!(ia, ib);
    assert_eq!(ia.len(), 4);
    let unique: HashSet<_> = ia.values().collect();
    assert_eq!(unique.len(), ia.len(), "one ID per matched value");
    // Rows sharing a value share its ID.
    let c_rows: Vec<_> = ob
        .matches()
        .iter()
        .filter(|m| m.row == 2001 || m.row == 2002)
        .collect();
    assert_eq!(c_rows.len(), 2);
    assert_eq!(c_rows[0].match_id, c_rows[1].match_id);
}

#[test]
fn groups_count_matches_per_type() {
    let (a, b) = sample();
    for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
        let (oa, ob) = session(reveal, 2, &a, &b, &["email", "phone"]);
        for (o, learns) in [
            (&oa, reveal.learns(Role::Initiator)),
            (&ob, reveal.learns(Role::Responder)),
        ] {
            let counts: Vec<_> = o
                .per_type
                .iter()
                .map(|t| (t.id_type.as_str(), t.matched))
                .collect();
            if learns {
                assert_eq!(counts, [("email", Some(2)), ("phone", Some(2))]);
            } else {
                assert_eq!(counts, [("email", None), ("phone", None)]);
            }
        }
    }
}

#[test]
fn empty_and_lopsided_sets() {
    let none: Vec<Item> = Vec::new();
    let many: Vec<Item> = (0..3000u32)
        .map(|i| ("id".to_owned(), i.to_be_bytes().to_vec(), u64::from(i)))
        .collect();
    let few: Vec<Item> = (2990..3010u32)
        .map(|i| {
            (
                "id".to_owned(),
                i.to_be_bytes().to_vec(),
                u64::from(i) + 10_000,
            )
        })
        .collect();
    for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
        session(reveal, 256, &none, &none, &[]);
        session(reveal, 256, &none, &few, &[]);
        session(reveal, 256, &many, &none, &[]);
        let (oa, _) = session(reveal, 256, &many, &few, &[]);
        if reveal.learns(Role::Initiator) {
            assert_eq!(oa.matched_count(), Some(10));
        }
    }
}

#[test]
fn cardinality_and_labelled_are_refused() {
    let (a, b) = sample();
    for mode in [Mode::Cardinality, Mode::Labelled] {
        let mut cfg = config(Role::Initiator, Reveal::Both, 8, &a, &b, &[]);
        cfg.mode = mode;
        let err = VoleSetup::new(set(&a))
            .start_with_seed(cfg, [0; 32])
            .err()
            .unwrap();
        assert!(matches!(err, PsiError::UnsupportedMode { .. }), "{err:?}");
    }
}

#[test]
fn setup_declares_the_protocol() {
    let (a, _) = sample();
    let setup = VoleSetup::new(set(&a));
    assert_eq!(setup.id(), VOLE_PROTOCOL_ID);
    assert_eq!(setup.declared_size(), 8);
    assert!(setup.params().len() <= blindmatch_psi::protocol::MAX_PROTOCOL_PARAMS_LEN);
    for batch in [1, 4096, 65536] {
        assert!(max_message_len(batch) <= 4 << 20);
    }
    assert!(is_oprf_receiver(Reveal::Both, Role::Initiator));
    assert!(is_oprf_receiver(Reveal::Responder, Role::Responder));
    assert!(!is_oprf_receiver(Reveal::Initiator, Role::Responder));
}

#[test]
fn messages_never_carry_raw_identifiers_and_fit_the_limit() {
    let a = items(
        "email",
        &["alice.secret@example.com", "bob.secret@example.com"],
        0,
    );
    let b = items(
        "email",
        &["bob.secret@example.com", "carol.secret@example.com"],
        0,
    );
    let pa = start(
        config(Role::Initiator, Reveal::Both, 16, &a, &b, &[]),
        &a,
        3,
    );
    let pb = start(
        config(Role::Responder, Reveal::Both, 16, &b, &a, &[]),
        &b,
        4,
    );
    let (_, _, transcript) = run(pa, pb).unwrap();
    for (_, payload) in &transcript {
        assert!(payload.len() <= max_message_len(16));
        assert!(!payload.windows(6).any(|w| w == b"secret"));
    }
}

/// Initiator learns: the initiator is the OPRF receiver, the responder the sender.
fn pair(batch: u32) -> (Box<dyn Protocol>, Box<dyn Protocol>) {
    let (a, b) = sample();
    let r = start(
        config(Role::Initiator, Reveal::Both, batch, &a, &b, &[]),
        &a,
        5,
    );
    let s = start(
        config(Role::Responder, Reveal::Both, batch, &b, &a, &[]),
        &b,
        6,
    );
    (r, s)
}

#[test]
fn malformed_and_misplaced_messages_are_typed_errors() {
    // Garbage, unknown kinds, bad layouts.
    for bad in [
        &[][..],
        &[0x21][..],
        &[0x99, 0, 0, 0, 0][..],
        &[0x21, 0, 0, 0, 0, 1, 2][..],
    ] {
        let (mut r, mut s) = pair(4);
        assert!(matches!(s.handle(bad), Err(PsiError::Malformed { .. })));
        assert!(matches!(
            s.handle(bad),
            Err(PsiError::Aborted) | Err(PsiError::Malformed { .. })
        ));
        assert!(matches!(r.handle(bad), Err(PsiError::Malformed { .. })));
        assert!(r.poll_transmit().is_none(), "a failed party sends nothing");
    }
    // The sender gets masked columns before the start message.
    let (_, mut s) = pair(4);
    let masked = VoleMessage::Masked {
        chunk: 0,
        columns: vec![0; 64 * 128],
    }
    .encode();
    assert!(matches!(
        s.handle(&masked),
        Err(PsiError::MessageNotAllowed {
            kind: MessageKind::VoleMasked,
            ..
        })
    ));
    assert!(matches!(s.handle(&masked), Err(PsiError::Aborted)));
    // The receiver gets a message only a sender receives.
    let (mut r, _) = pair(4);
    let start_msg = VoleMessage::Start {
        ot_point: [0; 32],
        okvs_seed: [0; 16],
    }
    .encode();
    assert!(matches!(
        r.handle(&start_msg),
        Err(PsiError::MessageNotAllowed { .. })
    ));
    // An invalid base-OT point.
    let (_, mut s) = pair(4);
    let bad_point = VoleMessage::Start {
        ot_point: [0xff; 32],
        okvs_seed: [0; 16],
    }
    .encode();
    assert!(matches!(
        s.handle(&bad_point),
        Err(PsiError::InvalidPoint {
            kind: MessageKind::VoleStart,
            ..
        })
    ));
}

#[test]
fn out_of_order_duplicate_and_oversized_messages_are_refused() {
    // Let the honest flow run up to the sender's choices, then tamper.
    let (mut r, mut s) = pair(4);
    let start_msg = r.poll_transmit().unwrap().payload;
    s.handle(&start_msg).unwrap();
    // A second start.
    let (mut r2, mut s2) = pair(4);
    let st = r2.poll_transmit().unwrap().payload;
    s2.handle(&st).unwrap();
    assert!(matches!(
        s2.handle(&st),
        Err(PsiError::DuplicateBatch { .. })
    ));

    let choices: Vec<Vec<u8>> =
        std::iter::from_fn(|| s.poll_transmit().map(|m| m.payload)).collect();
    assert_eq!(choices.len(), 4);
    // Out of order.
    {
        let (mut r3, mut s3) = pair(4);
        s3.handle(&r3.poll_transmit().unwrap().payload).unwrap();
        let c: Vec<Vec<u8>> =
            std::iter::from_fn(|| s3.poll_transmit().map(|m| m.payload)).collect();
        assert!(matches!(
            r3.handle(&c[1]),
            Err(PsiError::BatchOutOfOrder {
                kind: MessageKind::VoleChoices,
                expected: 0,
                got: 1
            })
        ));
    }
    // Wrong length, then a chunk past the end.
    {
        let (mut r4, _) = pair(4);
        r4.poll_transmit().unwrap();
        let short = VoleMessage::Choices {
            chunk: 0,
            points: vec![[1; 32]; 3],
        }
        .encode();
        assert!(matches!(
            r4.handle(&short),
            Err(PsiError::WrongBatchLength { .. })
        ));
        let (mut r5, _) = pair(4);
        r5.poll_transmit().unwrap();
        let past = VoleMessage::Choices {
            chunk: 9,
            points: vec![[1; 32]; 128],
        }
        .encode();
        assert!(matches!(
            r5.handle(&past),
            Err(PsiError::TooManyItems { .. })
        ));
    }
    for c in &choices {
        r.handle(c).unwrap();
    }
    // The receiver's masked chunks: oversized, then honest ones with a duplicate.
    let masked: Vec<Vec<u8>> =
        std::iter::from_fn(|| r.poll_transmit().map(|m| m.payload)).collect();
    assert!(!masked.is_empty());
    let mut big = masked[0].clone();
    big.extend_from_slice(&[0; 64]);
    {
        let (mut r6, mut s6) = pair(4);
        s6.handle(&r6.poll_transmit().unwrap().payload).unwrap();
        while s6.poll_transmit().is_some() {}
        assert!(matches!(
            s6.handle(&big),
            Err(PsiError::WrongBatchLength { .. })
        ));
    }
    s.handle(&masked[0]).unwrap();
    assert!(matches!(
        s.handle(&masked[0]),
        Err(PsiError::DuplicateBatch { .. })
    ));
}

#[test]
fn bad_reports_are_refused() {
    let (a, b) = sample();
    // Drive an honest session up to the report, then forge it.
    let forge = |positions: Vec<u32>, total: u32| {
        let mut r = start(config(Role::Initiator, Reveal::Both, 4, &a, &b, &[]), &a, 7);
        let mut s = start(config(Role::Responder, Reveal::Both, 4, &b, &a, &[]), &b, 8);
        loop {
            let mut moved = false;
            while let Some(m) = r.poll_transmit() {
                if m.payload[0] == 0x25 {
                    let forged = VoleMessage::Matched {
                        index: 0,
                        total,
                        positions: positions.clone(),
                    };
                    return s.handle(&forged.encode());
                }
                s.handle(&m.payload).unwrap();
                moved = true;
            }
            while let Some(m) = s.poll_transmit() {
                r.handle(&m.payload).unwrap();
                moved = true;
            }
            assert!(moved);
        }
    };
    assert!(forge(vec![1, 2], 2).is_ok());
    assert!(matches!(
        forge(vec![2, 1], 2),
        Err(PsiError::BadMatchedPosition { .. })
    ));
    assert!(matches!(
        forge(vec![1, 1], 2),
        Err(PsiError::BadMatchedPosition { .. })
    ));
    assert!(matches!(
        forge(vec![1, 500], 2),
        Err(PsiError::BadMatchedPosition { .. })
    ));
    assert!(matches!(
        forge(vec![1], 2),
        Err(PsiError::WrongBatchLength { .. })
    ));
    assert!(matches!(
        forge(vec![], 1000),
        Err(PsiError::TooManyItems { .. })
    ));
    // A learner-only message sent to a side that does not learn.
    let mut s = start(
        config(Role::Responder, Reveal::Initiator, 4, &b, &a, &[]),
        &b,
        9,
    );
    let m = VoleMessage::Matched {
        index: 0,
        total: 0,
        positions: vec![],
    }
    .encode();
    assert!(matches!(
        s.handle(&m),
        Err(PsiError::MessageNotAllowed { .. })
    ));
}

#[test]
fn finishing_early_is_incomplete() {
    let (r, s) = pair(4);
    assert!(matches!(r.finish(), Err(PsiError::Incomplete { .. })));
    assert!(matches!(s.finish(), Err(PsiError::Incomplete { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn random_sets_match_the_plain_intersection(
        a in prop::collection::vec((0u8..2, 0u16..300), 0..120),
        b in prop::collection::vec((0u8..2, 0u16..300), 0..120),
        reveal in prop::sample::select(vec![Reveal::Initiator, Reveal::Responder, Reveal::Both]),
        batch in 1u32..40,
    ) {
        let to_items = |v: &[(u8, u16)], base: u64| -> Vec<Item> {
            v.iter().enumerate().map(|(i, (t, x))| {
                (if *t == 0 { "phone" } else { "email" }.to_owned(), x.to_be_bytes().to_vec(), base + i as u64)
            }).collect()
        };
        let (a, b) = (to_items(&a, 0), to_items(&b, 10_000));
        session(reveal, batch, &a, &b, &[]);
    }
}
