//! The silent-VOLE protocol (`vole-rr22-silent`) end to end, two parties in memory:
//! results against a plain set intersection for every reveal setting, several
//! identifier types (groups), equal match IDs on both sides, refused modes, and peer
//! messages that are malformed, oversized, duplicated or out of order (typed errors,
//! never panics).
#![allow(clippy::unwrap_used)]

mod rr22_support;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use blindmatch_psi::protocol::{Protocol, ProtocolSetup};
use blindmatch_psi::rr22::{
    RR22_KIND_COLUMNS, RR22_KIND_MASKED, RR22_KIND_MATCHED, RR22_KIND_TREES, RR22_PROTOCOL_ID,
    Rr22Message, Rr22Setup, max_message_len,
};
use blindmatch_psi::vole::is_oprf_receiver;
use blindmatch_psi::{MatchResult, MessageKind, Mode, Outcome, PsiError, Reveal, Role};
use proptest::prelude::*;
use rr22_support::{Item, config, distinct, run, sample, secret_emails, set, start};

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
fn labelled_mode_is_refused() {
    let (a, b) = sample();
    let mut cfg = config(Role::Initiator, Reveal::Both, 8, &a, &b, &[]);
    cfg.mode = Mode::Labelled;
    let err = Rr22Setup::new(set(&a))
        .start_with_seed(cfg, [0; 32])
        .err()
        .unwrap();
    assert!(
        matches!(err, PsiError::UnsupportedMode { mode: "labelled" }),
        "{err:?}"
    );
}

#[test]
fn an_oversized_declared_receiver_set_is_refused_before_anything_is_sized() {
    let (a, b) = sample();
    let over = blindmatch_psi::rr22::params::MAX_RECEIVER_ITEMS + 1;
    // The OPRF sender (the responder when both learn) sizes its VOLE from the peer's
    // count: refused at start, naming the count and the bound, before any allocation.
    let mut cfg = config(Role::Responder, Reveal::Both, 8, &a, &b, &[]);
    assert!(!is_oprf_receiver(cfg.reveal, cfg.role));
    cfg.peer_count = over;
    let err = Rr22Setup::new(set(&a))
        .start_with_seed(cfg, [0; 32])
        .err()
        .unwrap();
    assert!(
        matches!(err, PsiError::SetTooLarge { count, max } if count == over && max == over - 1),
        "{err:?}"
    );
    // The OPRF receiver's memory follows its own set and what arrives, not the
    // peer's declaration: the same count is no reason to refuse there.
    let mut cfg = config(Role::Initiator, Reveal::Both, 8, &a, &b, &[]);
    cfg.peer_count = over;
    assert!(
        Rr22Setup::new(set(&a))
            .start_with_seed(cfg, [0; 32])
            .is_ok()
    );
}

#[test]
fn setup_declares_the_protocol() {
    let (a, _) = sample();
    let setup = Rr22Setup::new(set(&a));
    assert_eq!(setup.id(), RR22_PROTOCOL_ID);
    assert_eq!(setup.declared_size(), 8);
    assert!(setup.params().len() <= blindmatch_psi::protocol::MAX_PROTOCOL_PARAMS_LEN);
    for batch in [1, 4096, 65536] {
        assert!(max_message_len(batch) <= 4 << 20);
    }
    assert!(is_oprf_receiver(Reveal::Both, Role::Initiator));
}

#[test]
fn messages_never_carry_raw_identifiers_and_fit_the_limit() {
    let (a, b) = secret_emails();
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
    let mut kinds: Vec<u8> = transcript.iter().map(|(_, p)| p[0]).collect();
    kinds.dedup();
    assert_eq!(kinds, [0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37]);
    for (_, payload) in &transcript {
        assert!(payload.len() <= max_message_len(16));
        assert!(!payload.windows(6).any(|w| w == b"secret"));
    }
}

/// Initiator learns (both): the initiator is the OPRF receiver, the responder the sender.
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

/// Runs an honest session until `stop` says a payload (of either side, `true` for
/// the receiver's) is the one to tamper with; returns both parties and that payload,
/// not yet delivered.
fn until(
    batch: u32,
    stop: impl Fn(bool, &[u8]) -> bool,
) -> (Box<dyn Protocol>, Box<dyn Protocol>, Vec<u8>) {
    let (mut r, mut s) = pair(batch);
    loop {
        let mut moved = false;
        while let Some(m) = r.poll_transmit() {
            if stop(true, &m.payload) {
                return (r, s, m.payload);
            }
            s.handle(&m.payload).unwrap();
            moved = true;
        }
        while let Some(m) = s.poll_transmit() {
            if stop(false, &m.payload) {
                return (r, s, m.payload);
            }
            r.handle(&m.payload).unwrap();
            moved = true;
        }
        assert!(moved, "the stop message never came");
    }
}

#[test]
fn malformed_and_misplaced_messages_are_typed_errors() {
    for bad in [
        &[][..],
        &[0x31][..],
        &[0x99, 0, 0, 0, 0][..],
        &[0x31, 0, 0, 0, 0, 1, 2][..],
        &[0x33, 0, 0, 0, 0, 1, 2][..],
        &[0x21, 0, 0, 0, 0][..],
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
    // Columns and masked rows before the start message.
    for early in [
        Rr22Message::Columns {
            chunk: 0,
            columns: vec![0; 2048],
        },
        Rr22Message::Masked {
            chunk: 0,
            rows: vec![0; 16 * 128],
        },
    ] {
        let (_, mut s) = pair(4);
        assert!(matches!(
            s.handle(&early.encode()),
            Err(PsiError::MessageNotAllowed { .. })
        ));
        assert!(matches!(s.handle(&early.encode()), Err(PsiError::Aborted)));
    }
    // Tree sums before the receiver sent its columns.
    let (mut r, _) = pair(4);
    r.poll_transmit().unwrap();
    let trees = Rr22Message::Trees {
        chunk: 0,
        blocks: vec![0; 16 * 3 * 64],
    }
    .encode();
    assert!(matches!(
        r.handle(&trees),
        Err(PsiError::MessageNotAllowed {
            kind: MessageKind::VoleTrees,
            ..
        })
    ));
    // Messages only the other side receives.
    let (mut r, mut s) = pair(4);
    let start_msg = Rr22Message::Start {
        ot_point: [0; 32],
        okvs_seed: [0; 16],
    }
    .encode();
    assert!(matches!(
        r.handle(&start_msg),
        Err(PsiError::MessageNotAllowed { .. })
    ));
    let outputs = Rr22Message::Outputs {
        batch: 0,
        values: vec![],
    }
    .encode();
    assert!(matches!(
        s.handle(&outputs),
        Err(PsiError::MessageNotAllowed { .. })
    ));
    // An invalid base-OT point either way.
    let (_, mut s) = pair(4);
    let bad_point = Rr22Message::Start {
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
    let (mut r, _) = pair(4);
    r.poll_transmit().unwrap();
    let mut points = vec![[0xffu8; 32]; 128];
    points[0] = [0; 32];
    let bad_choices = Rr22Message::Choices { points }.encode();
    assert!(matches!(
        r.handle(&bad_choices),
        Err(PsiError::InvalidPoint {
            kind: MessageKind::VoleChoices,
            ..
        })
    ));
}

#[test]
fn out_of_order_duplicate_and_oversized_messages_are_refused() {
    // A second start.
    let (mut r, mut s) = pair(4);
    let st = r.poll_transmit().unwrap().payload;
    s.handle(&st).unwrap();
    assert!(matches!(
        s.handle(&st),
        Err(PsiError::DuplicateBatch { .. })
    ));
    // Too few base-OT points, then a duplicate set of them.
    let (mut r, _) = pair(4);
    r.poll_transmit().unwrap();
    let short = Rr22Message::Choices {
        points: vec![[1; 32]; 3],
    }
    .encode();
    assert!(matches!(
        r.handle(&short),
        Err(PsiError::WrongBatchLength { .. })
    ));
    let (mut r, mut s, choices) = until(4, |_, p| p[0] == 0x32);
    r.handle(&choices).unwrap();
    assert!(matches!(
        r.handle(&choices),
        Err(PsiError::DuplicateBatch { .. })
    ));
    drop(s.poll_transmit());

    // Column chunks: oversized, out of order, duplicated.
    let (_, mut s, first) = until(4, |from_r, p| from_r && p[0] == RR22_KIND_COLUMNS);
    let mut big = first.clone();
    big.extend_from_slice(&[0; 16]);
    assert!(matches!(
        s.handle(&big),
        Err(PsiError::WrongBatchLength { .. })
    ));
    let (_, mut s, first) = until(4, |from_r, p| from_r && p[0] == RR22_KIND_COLUMNS);
    let mut second = first.clone();
    second[4] = 1;
    assert!(matches!(
        s.handle(&second),
        Err(PsiError::BatchOutOfOrder {
            kind: MessageKind::VoleColumns,
            expected: 0,
            got: 1
        })
    ));
    let (_, mut s, first) = until(4, |from_r, p| from_r && p[0] == RR22_KIND_COLUMNS);
    s.handle(&first).unwrap();
    assert!(matches!(
        s.handle(&first),
        Err(PsiError::DuplicateBatch { .. })
    ));

    // Tree chunks: short, duplicated, past the end.
    let (mut r, _, trees) = until(4, |from_r, p| !from_r && p[0] == RR22_KIND_TREES);
    assert!(matches!(
        r.handle(&trees[..trees.len() - 16]),
        Err(PsiError::WrongBatchLength {
            kind: MessageKind::VoleTrees,
            ..
        })
    ));
    let (mut r, _, trees) = until(4, |from_r, p| !from_r && p[0] == RR22_KIND_TREES);
    r.handle(&trees).unwrap();
    assert!(matches!(
        r.handle(&trees),
        Err(PsiError::DuplicateBatch { .. })
    ));
    let (mut r, _, mut trees) = until(4, |from_r, p| !from_r && p[0] == RR22_KIND_TREES);
    trees[1..5].copy_from_slice(&99u32.to_be_bytes());
    assert!(r.handle(&trees).is_err());

    // Masked rows: oversized, duplicated.
    let (_, mut s, masked) = until(4, |from_r, p| from_r && p[0] == RR22_KIND_MASKED);
    let mut big = masked.clone();
    big.extend_from_slice(&[0; 16]);
    assert!(matches!(
        s.handle(&big),
        Err(PsiError::WrongBatchLength { .. })
    ));
    let (_, mut s, masked) = until(4, |from_r, p| from_r && p[0] == RR22_KIND_MASKED);
    s.handle(&masked).unwrap();
    assert!(matches!(
        s.handle(&masked),
        Err(PsiError::DuplicateBatch { .. })
    ));
}

#[test]
fn bad_reports_are_refused() {
    let forge = |positions: Vec<u32>, total: u32| {
        let (_, mut s, _) = until(4, |from_r, p| from_r && p[0] == RR22_KIND_MATCHED);
        let forged = Rr22Message::Matched {
            index: 0,
            total,
            positions,
        };
        s.handle(&forged.encode())
    };
    assert!(forge(vec![1, 2], 2).is_ok());
    for (positions, total) in [(vec![2, 1], 2), (vec![1, 1], 2), (vec![1, 500], 2)] {
        assert!(matches!(
            forge(positions, total),
            Err(PsiError::BadMatchedPosition { .. })
        ));
    }
    assert!(matches!(
        forge(vec![1], 2),
        Err(PsiError::WrongBatchLength { .. })
    ));
    assert!(matches!(
        forge(vec![], 1000),
        Err(PsiError::TooManyItems { .. })
    ));
}

#[test]
fn finishing_early_is_incomplete() {
    let (r, s) = pair(4);
    assert!(matches!(r.finish(), Err(PsiError::Incomplete { .. })));
    assert!(matches!(s.finish(), Err(PsiError::Incomplete { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

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
