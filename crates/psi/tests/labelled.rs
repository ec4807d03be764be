//! Labelled mode (`oprf-labels-ristretto255`) with both sides in one process: labels
//! reach the learner for its matched rows only, duplicates, several rules, tampered
//! and malformed messages, the parameter checks, the label table's limits.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use blindmatch_psi::labelled::{LABELLED_HEADER_LEN, LabelledMessage};
use blindmatch_psi::{
    LabelColumn, LabelTable, LabelledSetup, MAX_LABELS_PER_ID, MatchResult, Mode, Outcome,
    PreparedSet, Protocol, ProtocolSetup, PsiError, Reveal, Role, SessionConfig, TypeGroup,
};
use proptest::prelude::*;

fn cols(spec: &[(&str, u32)]) -> Vec<LabelColumn> {
    spec.iter()
        .map(|(n, m)| LabelColumn {
            name: (*n).to_owned(),
            max_bytes: *m,
        })
        .collect()
}

/// (type, value, row, label values)
type SenderRow<'a> = (&'a str, &'a str, u64, Vec<&'a str>);

fn sender_setup(
    columns: &[LabelColumn],
    rows: &[SenderRow<'_>],
    cap: u32,
) -> Result<LabelledSetup, PsiError> {
    let set =
        PreparedSet::from_items(rows.iter().map(|(t, v, r, _)| (*t, v.as_bytes(), *r))).unwrap();
    let mut table = LabelTable::new(columns);
    let mut seen = BTreeSet::new();
    for (_, _, r, vals) in rows {
        if seen.insert(*r) {
            table
                .insert(*r, vals.iter().map(|v| v.as_bytes().to_vec()).collect())
                .unwrap();
        }
    }
    LabelledSetup::sender(set, columns.to_vec(), table, cap)
}

fn learner_setup(items: &[(&str, &str, u64)], cap: u32) -> LabelledSetup {
    let set =
        PreparedSet::from_items(items.iter().map(|(t, v, r)| (*t, v.as_bytes(), *r))).unwrap();
    LabelledSetup::learner(set, cap).unwrap()
}

struct Session {
    learner: Box<dyn Protocol>,
    sender: Box<dyn Protocol>,
}

fn configs(
    l: &LabelledSetup,
    s: &LabelledSetup,
    batch_size: u32,
    groups: bool,
) -> (SessionConfig, SessionConfig) {
    let base = |role, local: &LabelledSetup, peer: &LabelledSetup| SessionConfig {
        role,
        mode: Mode::Labelled,
        reveal: Reveal::Initiator,
        batch_size,
        context: [7; 32],
        local_count: local.declared_size(),
        peer_count: peer.declared_size(),
        groups: if groups {
            let mut types: Vec<String> = local.identifier_types();
            for t in peer.identifier_types() {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            types.sort();
            let size = |x: &LabelledSetup, t: &str| {
                x.type_sizes()
                    .iter()
                    .find(|(n, _)| n == t)
                    .map_or(0, |(_, c)| *c)
            };
            types
                .iter()
                .map(|t| TypeGroup {
                    id_type: t.clone(),
                    local: size(local, t),
                    peer: size(peer, t),
                })
                .collect()
        } else {
            Vec::new()
        },
        peer_params: peer.params(),
    };
    (base(Role::Initiator, l, s), base(Role::Responder, s, l))
}

fn start(l: LabelledSetup, s: LabelledSetup, batch_size: u32, groups: bool) -> Session {
    let (cl, cs) = configs(&l, &s, batch_size, groups);
    Session {
        learner: l.start_seeded(cl, [1; 32]).unwrap(),
        sender: s.start_seeded(cs, [2; 32]).unwrap(),
    }
}

/// Runs to the end; `tamper` may alter each sender → learner message.
fn run(
    mut s: Session,
    mut tamper: impl FnMut(&mut Vec<u8>),
) -> Result<(Outcome, Outcome), PsiError> {
    loop {
        let ml = s.learner.poll_transmit();
        let ms = s.sender.poll_transmit();
        if ml.is_none() && ms.is_none() {
            break;
        }
        if let Some(m) = ml {
            s.sender.handle(&m.payload)?;
        }
        if let Some(mut m) = ms {
            tamper(&mut m.payload);
            s.learner.handle(&m.payload)?;
        }
    }
    Ok((s.learner.finish()?, s.sender.finish()?))
}

fn labels_by_row(o: &Outcome) -> BTreeMap<u64, Vec<Vec<String>>> {
    let mut m: BTreeMap<u64, Vec<Vec<String>>> = BTreeMap::new();
    for r in &o.labels.as_ref().unwrap().rows {
        m.entry(r.row).or_default().push(
            r.values
                .iter()
                .map(|v| String::from_utf8(v.clone()).unwrap())
                .collect(),
        );
    }
    m
}

fn strings(v: &[&[&str]]) -> Vec<Vec<String>> {
    v.iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

#[test]
fn labels_reach_matched_rows_only() {
    let columns = cols(&[("tier", 8), ("ltv", 6)]);
    let s = sender_setup(
        &columns,
        &[
            ("email", "a@x", 100, vec!["gold", "120"]),
            ("email", "b@x", 101, vec!["silver", ""]),
            ("email", "secret@x", 102, vec!["hidden", "999"]),
        ],
        4,
    )
    .unwrap();
    let l = learner_setup(
        &[
            ("email", "b@x", 0),
            ("email", "a@x", 1),
            ("email", "z@x", 2),
            ("email", "a@x", 3),
        ],
        4,
    );
    let (lo, so) = run(start(l, s, 2, false), |_| {}).unwrap();
    let got = labels_by_row(&lo);
    assert_eq!(got.len(), 3);
    assert_eq!(got[&0], strings(&[&["silver", ""]]));
    assert_eq!(got[&1], strings(&[&["gold", "120"]]));
    assert_eq!(got[&3], strings(&[&["gold", "120"]]));
    assert_eq!(lo.labels.as_ref().unwrap().columns, ["tier", "ltv"]);
    match &lo.result {
        MatchResult::Intersection { matched, matches } => {
            assert_eq!(*matched, 2);
            assert_eq!(matches.iter().map(|m| m.row).collect::<Vec<_>>(), [0, 1, 3]);
            assert_eq!(matches[1].match_id, matches[2].match_id);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(so.result, MatchResult::NotRevealed);
    assert!(so.labels.is_none());
    let rows = &lo.labels.as_ref().unwrap().rows;
    assert!(rows.windows(2).all(|w| w[0].row <= w[1].row));
    let shown = format!("{lo:?}");
    assert!(!shown.contains("gold") && !shown.contains("silver"));
}

#[test]
fn duplicates_on_the_sender_give_one_row_per_pair() {
    let columns = cols(&[("tier", 8)]);
    let s = sender_setup(
        &columns,
        &[
            ("phone", "1", 10, vec!["a"]),
            ("phone", "1", 11, vec!["b"]),
            ("phone", "1", 12, vec!["a"]),
            ("phone", "2", 13, vec!["c"]),
        ],
        3,
    )
    .unwrap();
    let l = learner_setup(
        &[("phone", "1", 0), ("phone", "1", 1), ("phone", "3", 2)],
        3,
    );
    let (lo, _) = run(start(l, s, 4, false), |_| {}).unwrap();
    let got = labels_by_row(&lo);
    let mut r0 = got[&0].clone();
    r0.sort();
    assert_eq!(r0, strings(&[&["a"], &["a"], &["b"]]));
    assert_eq!(got[&1].len(), 3);
    assert!(!got.contains_key(&2));
}

#[test]
fn several_rules_release_a_set_once_per_row() {
    let columns = cols(&[("tier", 8)]);
    let s = sender_setup(
        &columns,
        &[
            ("email", "a@x", 1, vec!["gold"]),
            ("phone", "555", 1, vec!["gold"]),
            ("phone", "777", 2, vec!["bronze"]),
        ],
        2,
    )
    .unwrap();
    let l = learner_setup(
        &[
            ("email", "a@x", 0),
            ("phone", "555", 0),
            ("phone", "777", 5),
            ("email", "q@x", 6),
        ],
        2,
    );
    let (lo, so) = run(start(l, s, 1, true), |_| {}).unwrap();
    let got = labels_by_row(&lo);
    assert_eq!(
        got[&0],
        strings(&[&["gold"]]),
        "once, though two rules matched"
    );
    assert_eq!(got[&5], strings(&[&["bronze"]]));
    assert_eq!(lo.per_type.len(), 2);
    let email = lo.per_type.iter().find(|t| t.id_type == "email").unwrap();
    let phone = lo.per_type.iter().find(|t| t.id_type == "phone").unwrap();
    assert_eq!((email.local, email.peer, email.matched), (2, 1, Some(1)));
    assert_eq!((phone.local, phone.peer, phone.matched), (2, 2, Some(2)));
    assert!(so.per_type.iter().all(|t| t.matched.is_none()));
}

fn basic() -> Session {
    let columns = cols(&[("tier", 8)]);
    let s = sender_setup(
        &columns,
        &[("e", "1", 1, vec!["x"]), ("e", "2", 2, vec!["y"])],
        1,
    )
    .unwrap();
    let l = learner_setup(&[("e", "1", 0), ("e", "3", 1)], 1);
    start(l, s, 8, false)
}

fn is_entries(m: &[u8]) -> bool {
    m.first() == Some(&3)
}

#[test]
fn a_flipped_ciphertext_bit_is_an_error() {
    // Every byte of the ciphertext and its AEAD tag of the matching entry.
    let (lo, _) = run(basic(), |_| {}).unwrap();
    assert_eq!(lo.labels.unwrap().rows.len(), 1);
    let entry_len = 8 + 2 + 16 + 2 + 8 + 16;
    for offset in [8, 9, 20, entry_len - 1] {
        for entry in 0..2 {
            let r = run(basic(), |m| {
                if is_entries(m) {
                    m[LABELLED_HEADER_LEN + entry * entry_len + offset] ^= 1;
                }
            });
            // The entry for the learner's item fails to open; the other is never
            // opened (its tag matches nothing), so its damage goes unseen.
            if let Err(e) = r {
                assert!(
                    matches!(e, PsiError::LabelDecryption { batch: 0, .. }),
                    "{e}"
                );
            }
        }
    }
    let mut errors = 0;
    for entry in 0..2 {
        if run(basic(), |m| {
            if is_entries(m) {
                m[LABELLED_HEADER_LEN + entry * entry_len + 12] ^= 0x80;
            }
        })
        .is_err()
        {
            errors += 1;
        }
    }
    assert_eq!(errors, 1, "exactly the matching entry is opened");
}

#[test]
fn truncated_entries_and_wrong_lengths_are_errors() {
    let r = run(basic(), |m| {
        if is_entries(m) {
            m.pop();
        }
    });
    assert!(matches!(r, Err(PsiError::WrongBatchLength { .. })));
    let r = run(basic(), |m| {
        if is_entries(m) {
            m.push(0);
        }
    });
    assert!(matches!(r, Err(PsiError::WrongBatchLength { .. })));
    // A tag one byte short: every later byte shifts, the lengths no longer add up.
    let r = run(basic(), |m| {
        if is_entries(m) {
            m.remove(LABELLED_HEADER_LEN);
        }
    });
    assert!(r.is_err());
    // An evaluated point replaced by the identity.
    let r = run(basic(), |m| {
        if m.first() == Some(&2) {
            m[LABELLED_HEADER_LEN..LABELLED_HEADER_LEN + 32].fill(0);
        }
    });
    assert!(matches!(r, Err(PsiError::InvalidPoint { .. })));
    // A message kind the learner never receives.
    let r = run(basic(), |m| {
        if m.first() == Some(&2) {
            m[0] = 1;
        }
    });
    assert!(matches!(r, Err(PsiError::MessageNotAllowed { .. })));
}

#[test]
fn the_same_entry_twice_is_an_error() {
    let r = run(basic(), |m| {
        if is_entries(m) {
            let one = (m.len() - LABELLED_HEADER_LEN) / 2;
            let first = m[LABELLED_HEADER_LEN..LABELLED_HEADER_LEN + one].to_vec();
            let second = m[LABELLED_HEADER_LEN + one..].to_vec();
            // Whichever entry matches, put it in both places.
            let _ = second;
            m.truncate(LABELLED_HEADER_LEN);
            m.extend_from_slice(&first);
            m.extend_from_slice(&first);
        }
    });
    // Either the duplicated entry is the matching one (error), or the matching one
    // was dropped (no labels); never two copies of one label set.
    match r {
        Err(e) => assert!(matches!(e, PsiError::MalformedLabels { .. }), "{e}"),
        Ok((lo, _)) => assert!(lo.labels.unwrap().rows.is_empty()),
    }
}

#[test]
fn params_checks() {
    let columns = cols(&[("tier", 8)]);
    let s = sender_setup(&columns, &[("e", "1", 1, vec!["x"])], 2).unwrap();
    let s3 = sender_setup(&columns, &[("e", "1", 1, vec!["x"])], 3).unwrap();
    let l = learner_setup(&[("e", "1", 0)], 2);
    let l2 = learner_setup(&[("e", "1", 0)], 2);
    let check = l.params_check();
    assert!(check(&l.params(), &s.params()).is_ok());
    assert!(check(&s.params(), &l.params()).is_ok());
    assert_eq!(
        check(&l.params(), &l2.params()).unwrap_err(),
        "both sides want to receive labels"
    );
    assert_eq!(
        check(&s.params(), &s3.params()).unwrap_err(),
        "both sides release columns"
    );
    assert_eq!(
        check(&l.params(), &s3.params()).unwrap_err(),
        "max labels per identifier differ: ours 2, the peer's 3"
    );
    let mut bad = s.params();
    bad.push(0);
    assert!(check(&l.params(), &bad).is_err());
    let mut bad = s.params();
    let n = bad.len();
    bad[n - 1] = 0; // max_bytes 0
    assert!(check(&l.params(), &bad).is_err());
    assert!(check(&l.params(), &[]).is_err());
}

#[test]
fn start_refuses_other_modes_and_learners() {
    let columns = cols(&[("tier", 8)]);
    let mk = || {
        (
            learner_setup(&[("e", "1", 0)], 1),
            sender_setup(&columns, &[("e", "1", 1, vec!["x"])], 1).unwrap(),
        )
    };
    let (l, s) = mk();
    let (mut cl, _) = configs(&l, &s, 4, false);
    cl.mode = Mode::Cardinality;
    assert!(matches!(
        l.start_seeded(cl, [0; 32]),
        Err(PsiError::UnsupportedMode { .. })
    ));
    let (l, s) = mk();
    let (mut cl, mut cs) = configs(&l, &s, 4, false);
    cl.reveal = Reveal::Both;
    cs.reveal = Reveal::Both;
    let Err(e) = l.start_seeded(cl, [0; 32]) else {
        panic!()
    };
    assert!(
        e.to_string()
            .contains("only the side receiving labels learns"),
        "{e}"
    );
    let Err(e) = s.start_seeded(cs, [0; 32]) else {
        panic!()
    };
    assert!(matches!(e, PsiError::LabelledRoles { .. }));
    let (l, s) = mk();
    let (mut cl, _) = configs(&l, &s, 4, false);
    cl.peer_params = l.params();
    assert!(matches!(
        l.start_seeded(cl, [0; 32]),
        Err(PsiError::LabelledParams { .. })
    ));
}

#[test]
fn label_table_limits() {
    let columns = cols(&[("a", 3), ("b", 1)]);
    let mut t = LabelTable::new(&columns);
    assert!(t.insert(1, vec![b"abc".to_vec(), b"x".to_vec()]).is_ok());
    assert!(matches!(
        t.insert(2, vec![b"abcd".to_vec(), vec![]]),
        Err(PsiError::LabelTooLong { row: 2, column: 0 })
    ));
    assert!(matches!(
        t.insert(2, vec![vec![], b"xy".to_vec()]),
        Err(PsiError::LabelTooLong { row: 2, column: 1 })
    ));
    assert!(matches!(
        t.insert(3, vec![vec![]]),
        Err(PsiError::LabelColumnCount {
            row: 3,
            expected: 2,
            found: 1
        })
    ));
    assert!(matches!(
        t.insert(1, vec![vec![], vec![]]),
        Err(PsiError::DuplicateLabelRow { row: 1 })
    ));
    assert_eq!(t.len(), 1);
    let shown = format!("{t:?}");
    assert!(!shown.contains("abc") && !shown.contains("97"), "{shown}");
}

#[test]
fn sender_refusals() {
    let columns = cols(&[("tier", 8)]);
    let rows = [
        ("e", "1", 1, vec!["x"]),
        ("e", "1", 2, vec!["y"]),
        ("e", "1", 3, vec!["z"]),
    ];
    // Over the cap is no error at setup: the hello says so, and both sides refuse
    // the session in the handshake, naming the reason.
    let over = sender_setup(&columns, &rows, 2).unwrap();
    assert_eq!(over.most_labels_per_id(), 3);
    let learner = learner_setup(&[("e", "1", 0)], 2);
    let check = learner.params_check();
    assert_eq!(
        check(&learner.params(), &over.params()).unwrap_err(),
        "the releasing side holds more rows for one identifier than max labels per identifier (2) allows"
    );
    assert_eq!(
        check(&over.params(), &learner.params()).unwrap_err(),
        "our input holds more rows for one identifier than max labels per identifier (2) allows"
    );
    let fits = sender_setup(&columns, &rows, 3).unwrap();
    assert_eq!(fits.most_labels_per_id(), 3);
    assert!(matches!(
        sender_setup(&columns, &rows, 0),
        Err(PsiError::InvalidLabelsPerId { .. })
    ));
    assert!(matches!(
        sender_setup(&columns, &rows, MAX_LABELS_PER_ID + 1),
        Err(PsiError::InvalidLabelsPerId { .. })
    ));
    let set = PreparedSet::from_items([("e", &b"1"[..], 9)]).unwrap();
    assert!(matches!(
        LabelledSetup::sender(set, columns.clone(), LabelTable::new(&columns), 1),
        Err(PsiError::MissingLabels { row: 9 })
    ));
    let set = PreparedSet::from_items([("e", &b"1"[..], 9)]).unwrap();
    assert!(matches!(
        LabelledSetup::sender(set, cols(&[("bad name", 3)]), LabelTable::new(&columns), 1),
        Err(PsiError::InvalidLabelColumns { .. })
    ));
    assert!(LabelledSetup::learner(PreparedSet::new(), 0).is_err());
}

#[test]
fn debug_of_setups_shows_no_values() {
    let columns = cols(&[("tier", 16)]);
    let s = sender_setup(
        &columns,
        &[("e", "alice@example.org", 1, vec!["platinum-secret"])],
        1,
    )
    .unwrap();
    let l = learner_setup(&[("e", "bob@example.org", 0)], 1);
    for shown in [format!("{s:?}"), format!("{l:?}")] {
        assert!(
            !shown.contains("platinum") && !shown.contains("example.org"),
            "{shown}"
        );
    }
}

#[test]
fn empty_sets_on_either_side() {
    let columns = cols(&[("tier", 8)]);
    let s = sender_setup(&columns, &[], 1).unwrap();
    let l = learner_setup(&[("e", "1", 0)], 1);
    let (lo, _) = run(start(l, s, 8, false), |_| {}).unwrap();
    assert!(lo.labels.unwrap().rows.is_empty());
    let s = sender_setup(&columns, &[("e", "1", 1, vec!["x"])], 1).unwrap();
    let l = learner_setup(&[], 1);
    let (lo, _) = run(start(l, s, 8, false), |_| {}).unwrap();
    assert_eq!(lo.matched_count(), Some(0));
}

#[test]
fn decoder_refuses_bad_layouts() {
    assert!(LabelledMessage::decode(&[9, 0, 0, 0, 0]).is_err());
    assert!(LabelledMessage::decode(&[1, 0, 0, 0, 0, 1]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The learner's output equals a plain computation over the two sets.
    #[test]
    fn matches_a_plain_computation(
        ours in prop::collection::vec(0u8..12, 0..10),
        theirs in prop::collection::vec((0u8..12, 0u8..4), 0..12),
        batch in 1u32..5,
    ) {
        let columns = cols(&[("v", 4)]);
        let vals: Vec<String> = theirs.iter().map(|(v, _)| v.to_string()).collect();
        let labs: Vec<String> = theirs.iter().map(|(_, l)| format!("L{l}")).collect();
        let rows: Vec<SenderRow<'_>> = theirs
            .iter()
            .enumerate()
            .map(|(i, _)| ("t", vals[i].as_str(), 100 + i as u64, vec![labs[i].as_str()]))
            .collect();
        let ours_s: Vec<String> = ours.iter().map(u8::to_string).collect();
        let items: Vec<(&str, &str, u64)> =
            ours_s.iter().enumerate().map(|(i, v)| ("t", v.as_str(), i as u64)).collect();
        let s = sender_setup(&columns, &rows, MAX_LABELS_PER_ID).unwrap();
        let l = learner_setup(&items, MAX_LABELS_PER_ID);
        let (lo, _) = run(start(l, s, batch, false), |_| {}).unwrap();
        let mut expected: Vec<(u64, String)> = Vec::new();
        for (i, v) in ours.iter().enumerate() {
            for (j, (w, _)) in theirs.iter().enumerate() {
                if v == w {
                    expected.push((i as u64, labs[j].clone()));
                }
            }
        }
        expected.sort();
        let mut got: Vec<(u64, String)> = lo.labels.unwrap().rows.iter()
            .map(|r| (r.row, String::from_utf8(r.values[0].clone()).unwrap()))
            .collect();
        got.sort();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn a_released_value_that_is_not_text_is_an_error() {
    let columns = cols(&[("tier", 8)]);
    let set = PreparedSet::from_items([("email", &b"a@x"[..], 100u64)]).unwrap();
    let mut table = LabelTable::new(&columns);
    // A sender that does not read its values as text: invalid UTF-8 with a NUL.
    table.insert(100, vec![vec![0xff, 0x00, b'x']]).unwrap();
    let s = LabelledSetup::sender(set, columns, table, 1).unwrap();
    let l = learner_setup(&[("email", "a@x", 0)], 1);
    assert!(matches!(
        run(start(l, s, 4, false), |_| {}),
        Err(PsiError::MalformedLabels { .. })
    ));
}
