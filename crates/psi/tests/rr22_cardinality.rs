//! Cardinality mode of `vole-rr22-silent`, two parties in memory: the counts equal a
//! plain set intersection's for every reveal setting, per agreed identifier type,
//! for empty, lopsided and random sets; no message carries an OPRF output, a
//! matched position or a raw identifier; and peer messages that are misplaced,
//! malformed or inconsistent are typed errors, never panics.
#![allow(clippy::unwrap_used)]

mod rr22_support;

use std::collections::HashSet;

use blindmatch_psi::protocol::Protocol;
use blindmatch_psi::rr22::{
    RR22_KIND_COUNTS, RR22_KIND_MASKS, RR22_KIND_SHUFFLE, RR22_KIND_TABLE, Rr22Message,
    max_message_len,
};
use blindmatch_psi::{MatchResult, MessageKind, Mode, Outcome, PsiError, Reveal, Role};
use proptest::prelude::*;
use rr22_support::{Item, config, distinct, run, sample, secret_emails, start};

/// Distinct (type, value) pairs both hold, overall and per type in `groups`.
fn truth(a: &[Item], b: &[Item], groups: &[&str]) -> (u64, Vec<u64>) {
    let theirs: HashSet<(&str, &[u8])> = b.iter().map(|(t, v, _)| (t.as_str(), &v[..])).collect();
    let both: HashSet<(&str, &[u8])> = a
        .iter()
        .map(|(t, v, _)| (t.as_str(), &v[..]))
        .filter(|x| theirs.contains(x))
        .collect();
    let per = groups
        .iter()
        .map(|g| both.iter().filter(|(t, _)| t == g).count() as u64)
        .collect();
    (both.len() as u64, per)
}

fn card_session(
    reveal: Reveal,
    batch: u32,
    a: &[Item],
    b: &[Item],
    groups: &[&str],
) -> (Outcome, Outcome, Vec<(bool, Vec<u8>)>) {
    let mut ca = config(Role::Initiator, reveal, batch, a, b, groups);
    let mut cb = config(Role::Responder, reveal, batch, b, a, groups);
    ca.mode = Mode::Cardinality;
    cb.mode = Mode::Cardinality;
    let (oa, ob, transcript) = run(start(ca, a, 1), start(cb, b, 2)).unwrap();
    let (matched, per) = truth(a, b, groups);
    for (o, learns, mine, theirs) in [
        (&oa, reveal.learns(Role::Initiator), a, b),
        (&ob, reveal.learns(Role::Responder), b, a),
    ] {
        assert_eq!(o.mode, Mode::Cardinality);
        assert_eq!(o.local_count, distinct(mine));
        assert_eq!(o.peer_count, distinct(theirs));
        let counts: Vec<Option<u64>> = o.per_type.iter().map(|t| t.matched).collect();
        if learns {
            assert_eq!(o.result, MatchResult::Cardinality { matched }, "{reveal:?}");
            assert_eq!(counts, per.iter().map(|&c| Some(c)).collect::<Vec<_>>());
        } else {
            assert_eq!(o.result, MatchResult::NotRevealed, "{reveal:?}");
            assert!(counts.iter().all(Option::is_none));
        }
        assert!(o.matches().is_empty());
    }
    (oa, ob, transcript)
}

#[test]
fn counts_equal_the_plain_intersection_for_every_reveal_and_group_setting() {
    let (a, b) = sample();
    for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
        for batch in [1, 3, 4096] {
            for groups in [&[][..], &["email", "phone"][..]] {
                card_session(reveal, batch, &a, &b, groups);
            }
        }
    }
}

#[test]
fn empty_lopsided_and_larger_sets() {
    let none: Vec<Item> = Vec::new();
    let many: Vec<Item> = (0..3000u32)
        .map(|i| ("id".to_owned(), i.to_be_bytes().to_vec(), u64::from(i)))
        .collect();
    let few: Vec<Item> = (2990..3010u32)
        .map(|i| ("id".to_owned(), i.to_be_bytes().to_vec(), u64::from(i)))
        .collect();
    for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
        card_session(reveal, 256, &none, &none, &[]);
        card_session(reveal, 256, &none, &few, &[]);
        card_session(reveal, 256, &many, &none, &[]);
        let (oa, ob, _) = card_session(reveal, 256, &many, &few, &[]);
        let (learner, _) = if reveal == Reveal::Responder {
            (ob, oa)
        } else {
            (oa, ob)
        };
        assert_eq!(learner.matched_count(), Some(10));
        card_session(reveal, 1000, &few, &many, &["id"]);
    }
}

#[test]
fn no_output_position_or_identifier_crosses_the_wire() {
    let (a, b) = secret_emails();
    let (_, _, transcript) = card_session(Reveal::Both, 16, &a, &b, &[]);
    let kinds: std::collections::BTreeSet<u8> = transcript.iter().map(|(_, p)| p[0]).collect();
    // Start, choices, columns, trees, masked rows; then the table, the shuffle, the
    // masks and the counts; never OPRF outputs (0x36) or matched positions (0x37).
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            0x31,
            0x32,
            0x33,
            0x34,
            0x35,
            RR22_KIND_TABLE,
            RR22_KIND_SHUFFLE,
            RR22_KIND_MASKS,
            RR22_KIND_COUNTS
        ]
    );
    for (_, payload) in &transcript {
        assert!(payload.len() <= max_message_len(16));
        assert!(!payload.windows(6).any(|w| w == b"secret"));
    }
    // Only the learner (the initiator) sends counts, once.
    let counts: Vec<_> = transcript
        .iter()
        .filter(|(_, p)| p[0] == RR22_KIND_COUNTS)
        .collect();
    assert_eq!(counts.len(), 1);
    assert!(counts[0].0);
}

/// A cardinality pair (both learn: the initiator is the learner) over two sets big
/// enough for several table chunks at this batch size.
fn pair(batch: u32, groups: &[&str]) -> (Box<dyn Protocol>, Box<dyn Protocol>) {
    let a: Vec<Item> = (0..300u32)
        .map(|i| ("id".to_owned(), i.to_be_bytes().to_vec(), u64::from(i)))
        .collect();
    let b: Vec<Item> = (200..600u32)
        .map(|i| ("id".to_owned(), i.to_be_bytes().to_vec(), u64::from(i)))
        .collect();
    let mut ca = config(Role::Initiator, Reveal::Both, batch, &a, &b, groups);
    let mut cb = config(Role::Responder, Reveal::Both, batch, &b, &a, groups);
    ca.mode = Mode::Cardinality;
    cb.mode = Mode::Cardinality;
    (start(ca, &a, 5), start(cb, &b, 6))
}

/// Runs an honest session until `stop` picks a payload (`true`: the learner's);
/// returns both parties and that payload, not yet delivered.
fn until(
    batch: u32,
    stop: impl Fn(bool, &[u8]) -> bool,
) -> (Box<dyn Protocol>, Box<dyn Protocol>, Vec<u8>) {
    let (mut r, mut s) = pair(batch, &["id"]);
    loop {
        let mut moved = false;
        while let Some(m) = r.poll_transmit() {
            if stop(true, &m.payload) {
                return (r, s, m.payload);
            }
            deliver(&mut s, &m.payload);
            moved = true;
        }
        while let Some(m) = s.poll_transmit() {
            if stop(false, &m.payload) {
                return (r, s, m.payload);
            }
            deliver(&mut r, &m.payload);
            moved = true;
        }
        assert!(moved, "the stop message never came");
    }
}

fn deliver(p: &mut Box<dyn Protocol>, payload: &[u8]) {
    p.handle(payload).unwrap();
}

fn refused(p: &mut Box<dyn Protocol>, payload: &[u8]) -> PsiError {
    let err = p.handle(payload).unwrap_err();
    // A failed party refuses everything after and sends nothing.
    assert!(matches!(p.handle(payload), Err(PsiError::Aborted)));
    assert!(p.poll_transmit().is_none());
    err
}

#[test]
fn misplaced_cardinality_messages_are_refused() {
    let table = Rr22Message::Table {
        chunk: 0,
        seed: [1; 16],
        rows: vec![0; 16],
    }
    .encode();
    let shuffle = Rr22Message::Shuffle {
        index: 0,
        payload: vec![1],
    }
    .encode();
    let masks = Rr22Message::Masks {
        batch: 0,
        values: vec![0; 6],
    }
    .encode();
    let counts = Rr22Message::Counts { counts: vec![1] }.encode();
    // Before the OPRF is done, on either side.
    for m in [&table, &shuffle, &masks, &counts] {
        let (mut r, mut s) = pair(64, &["id"]);
        assert!(matches!(
            refused(&mut r, m),
            PsiError::MessageNotAllowed { .. }
        ));
        assert!(matches!(
            refused(&mut s, m),
            PsiError::MessageNotAllowed { .. }
        ));
    }
    // The learner's masks before the shuffle ended.
    let (mut r, _, _) = until(64, |learner, p| !learner && p[0] == RR22_KIND_SHUFFLE);
    assert!(matches!(
        refused(&mut r, &masks),
        PsiError::MessageNotAllowed {
            kind: MessageKind::VoleMasks,
            ..
        }
    ));
}

#[test]
fn bad_tables_shuffles_and_counts_are_typed_errors() {
    // A table chunk of the wrong length, then one under another seed.
    let (mut r, _, first) = until(64, |learner, p| !learner && p[0] == RR22_KIND_TABLE);
    let Rr22Message::Table { seed, rows, .. } = Rr22Message::decode(&first).unwrap() else {
        panic!("not a table");
    };
    let short = Rr22Message::Table {
        chunk: 0,
        seed,
        rows: rows[16..].to_vec(),
    };
    assert!(matches!(
        refused(&mut r, &short.encode()),
        PsiError::WrongBatchLength {
            kind: MessageKind::VoleTable,
            ..
        }
    ));
    let (mut r, mut s, first) = until(64, |learner, p| !learner && p[0] == RR22_KIND_TABLE);
    r.handle(&first).unwrap();
    let second = s.poll_transmit().unwrap().payload;
    let Rr22Message::Table { chunk, rows, .. } = Rr22Message::decode(&second).unwrap() else {
        panic!("one table chunk only: make the sets larger");
    };
    let reseeded = Rr22Message::Table {
        chunk,
        seed: [0xee; 16],
        rows,
    };
    assert!(matches!(
        refused(&mut r, &reseeded.encode()),
        PsiError::InconsistentResult {
            kind: MessageKind::VoleTable,
            ..
        }
    ));
    // A shuffle message out of order, or one that does not parse.
    let (_, mut s, first) = until(64, |learner, p| learner && p[0] == RR22_KIND_SHUFFLE);
    let Rr22Message::Shuffle { payload, .. } = Rr22Message::decode(&first).unwrap() else {
        panic!("not a shuffle message");
    };
    let skipped = Rr22Message::Shuffle { index: 1, payload };
    assert!(matches!(
        refused(&mut s, &skipped.encode()),
        PsiError::BatchOutOfOrder { .. }
    ));
    let (_, mut s, _) = until(64, |learner, p| learner && p[0] == RR22_KIND_SHUFFLE);
    let garbage = Rr22Message::Shuffle {
        index: 0,
        payload: vec![0xff; 7],
    };
    assert!(s.handle(&garbage.encode()).is_err());
    assert!(s.poll_transmit().is_none());
    // Counts no honest learner sends: too many groups, more than the sets allow.
    for bad in [vec![1, 2], vec![301]] {
        let (_, mut s, _) = until(64, |learner, p| learner && p[0] == RR22_KIND_COUNTS);
        let m = Rr22Message::Counts { counts: bad }.encode();
        assert!(matches!(
            refused(&mut s, &m),
            PsiError::InconsistentResult {
                kind: MessageKind::Counts,
                ..
            }
        ));
    }
    // The honest counts are taken.
    let (_, mut s, counts) = until(64, |learner, p| learner && p[0] == RR22_KIND_COUNTS);
    s.handle(&counts).unwrap();
    assert!(s.is_finished());
    assert_eq!(s.finish().unwrap().matched_count(), Some(100));
}

#[test]
fn finishing_early_is_incomplete() {
    let (r, s, _) = until(64, |learner, p| !learner && p[0] == RR22_KIND_MASKS);
    for p in [r, s] {
        assert!(matches!(p.finish(), Err(PsiError::Incomplete { .. })));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn random_sets_count_like_the_plain_intersection(
        a in proptest::collection::btree_set(0u16..400, 0..120),
        b in proptest::collection::btree_set(0u16..400, 0..120),
        reveal in prop_oneof![Just(Reveal::Initiator), Just(Reveal::Responder), Just(Reveal::Both)],
        batch in 1u32..200,
    ) {
        let items = |s: &std::collections::BTreeSet<u16>| -> Vec<Item> {
            s.iter().map(|&v| ("id".to_owned(), v.to_be_bytes().to_vec(), u64::from(v))).collect()
        };
        card_session(reveal, batch, &items(&a), &items(&b), &[]);
    }
}

#[test]
fn progress_counts_every_item_sent_and_received_once() {
    use blindmatch_psi::protocol::Stage;
    let (mut r, mut s) = pair(64, &["id"]);
    // [sent, received] per side, from `on_sent` and `handle`.
    let mut tally = [[0u64; 2]; 2];
    let mut add = |side: usize, items: Option<blindmatch_psi::protocol::StageItems>| match items {
        Some(i) if i.stage == Stage::Sent => tally[side][0] += i.items,
        Some(i) if i.stage == Stage::Received => tally[side][1] += i.items,
        _ => {}
    };
    while !(r.is_finished() && s.is_finished()) {
        while let Some(m) = r.poll_transmit() {
            add(0, m.on_sent);
            add(1, s.handle(&m.payload).unwrap());
        }
        while let Some(m) = s.poll_transmit() {
            add(1, m.on_sent);
            add(0, r.handle(&m.payload).unwrap());
        }
    }
    // The learner holds 300 items, the other side 400.
    assert_eq!(tally, [[300, 400], [400, 300]]);
}

#[test]
fn a_learner_whose_bins_the_other_side_would_refuse_stops_before_any_work() {
    let (a, b) = sample();
    let mut cfg = config(Role::Initiator, Reveal::Both, 64, &a, &b, &[]);
    cfg.mode = Mode::Cardinality;
    // 2^25 items make 2^26 bins, the sender's bound; one more item, 2^27.
    let max = blindmatch_psi::rr22::params::MAX_RECEIVER_ITEMS;
    cfg.local_count = 52_841_626;
    let err = blindmatch_psi::rr22::Rr22Setup::new(rr22_support::set(&a))
        .start_with_seed(cfg, [0; 32])
        .err()
        .unwrap();
    assert!(
        matches!(err, PsiError::SetTooLarge { count, max: m } if count == 2 * max && m == max),
        "{err:?}"
    );
}

#[test]
fn masks_past_the_last_batch_are_too_many() {
    let (mut r, _, counts) = until(64, |learner, p| learner && p[0] == RR22_KIND_COUNTS);
    assert_eq!(counts[0], RR22_KIND_COUNTS);
    let extra = Rr22Message::Masks {
        batch: 99,
        values: vec![0; 8],
    };
    assert!(matches!(
        refused(&mut r, &extra.encode()),
        PsiError::TooManyItems {
            kind: MessageKind::VoleMasks,
            ..
        }
    ));
}
