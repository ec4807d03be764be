//! Sessions that agree their sets type by type (several matching rules): per-type
//! counts in both modes, matches only within a type, and refusals of counts that do
//! not fit the set.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use blindmatch_psi::{Mode, Party, PreparedSet, PsiError, Reveal, Role, SessionConfig, TypeGroup};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Three "rules": phones 0..40 vs 20..70 (20 shared), e-mails 0..30 vs 25..35 (5
/// shared), composites 0..10 vs 100..110 (none). The same bytes under two rules never
/// match: "7" is a phone on one side and an e-mail on the other.
fn sets() -> (PreparedSet, PreparedSet) {
    let mut a = PreparedSet::new();
    let mut b = PreparedSet::new();
    for i in 0..40u64 {
        a.push("phone", format!("{i}").as_bytes(), i).unwrap();
    }
    for i in 20..70u64 {
        b.push("phone", format!("{i}").as_bytes(), 1000 + i)
            .unwrap();
    }
    for i in 0..30u64 {
        a.push("email", format!("e{i}").as_bytes(), 100 + i)
            .unwrap();
    }
    for i in 25..35u64 {
        b.push("email", format!("e{i}").as_bytes(), 2000 + i)
            .unwrap();
    }
    for i in 0..10u64 {
        a.push("name+company", format!("n{i}").as_bytes(), 200 + i)
            .unwrap();
    }
    for i in 100..110u64 {
        b.push("name+company", format!("n{i}").as_bytes(), 3000 + i)
            .unwrap();
    }
    // Same bytes, other type: never a match.
    b.push("email", b"7", 4000).unwrap();
    (a, b)
}

fn groups(local: &PreparedSet, peer: &PreparedSet) -> Vec<TypeGroup> {
    let size = |s: &PreparedSet, t: &str| {
        s.type_sizes()
            .into_iter()
            .find(|(n, _)| n == t)
            .map_or(0, |(_, c)| c)
    };
    ["phone", "email", "name+company"]
        .iter()
        .map(|t| TypeGroup {
            id_type: (*t).to_owned(),
            local: size(local, t),
            peer: size(peer, t),
        })
        .collect()
}

fn config(role: Role, mode: Mode, local: &PreparedSet, peer: &PreparedSet) -> SessionConfig {
    SessionConfig {
        role,
        mode,
        reveal: Reveal::Both,
        batch_size: 16,
        context: [9; 32],
        local_count: local.declared_size(),
        peer_count: peer.declared_size(),
        groups: groups(local, peer),
        peer_params: Vec::new(),
    }
}

fn session(mode: Mode) -> common::Transcript {
    let (a, b) = sets();
    let ca = config(Role::Initiator, mode, &a, &b);
    let cb = config(Role::Responder, mode, &b, &a);
    let mut rng = StdRng::seed_from_u64(5);
    let pa = Party::with_rng(ca, a, &mut rng).unwrap();
    let pb = Party::with_rng(cb, b, &mut rng).unwrap();
    common::run(pa, pb).unwrap()
}

fn counts(o: &blindmatch_psi::Outcome) -> Vec<(String, u64, u64, Option<u64>)> {
    o.per_type
        .iter()
        .map(|t| (t.id_type.clone(), t.local, t.peer, t.matched))
        .collect()
}

#[test]
fn cardinality_counts_each_type_apart() {
    let t = session(Mode::Cardinality);
    assert_eq!(t.a.matched_count(), Some(25));
    assert_eq!(
        counts(&t.a),
        [
            ("phone".to_owned(), 40, 50, Some(20)),
            ("email".to_owned(), 30, 11, Some(5)),
            ("name+company".to_owned(), 10, 10, Some(0)),
        ]
    );
    assert_eq!(t.b.matched_count(), Some(25));
    assert_eq!(
        counts(&t.b).iter().map(|c| c.3).collect::<Vec<_>>(),
        [Some(20), Some(5), Some(0)]
    );
}

#[test]
fn intersection_rows_and_ids_agree_per_type() {
    let t = session(Mode::Intersection);
    let rows: BTreeSet<u64> = t.a.matches().iter().map(|m| m.row).collect();
    let expected: BTreeSet<u64> = (20..40).chain(125..130).collect();
    assert_eq!(rows, expected);
    let ids_a: BTreeSet<_> = t.a.matches().iter().map(|m| m.match_id).collect();
    let ids_b: BTreeSet<_> = t.b.matches().iter().map(|m| m.match_id).collect();
    assert_eq!(ids_a, ids_b);
    assert_eq!(
        counts(&t.a).iter().map(|c| c.3).collect::<Vec<_>>(),
        [Some(20), Some(5), Some(0)]
    );
}

#[test]
fn a_party_that_does_not_learn_has_counts_but_no_matches() {
    let (a, b) = sets();
    let mut ca = config(Role::Initiator, Mode::Cardinality, &a, &b);
    ca.reveal = Reveal::Responder;
    let mut cb = config(Role::Responder, Mode::Cardinality, &b, &a);
    cb.reveal = Reveal::Responder;
    let mut rng = StdRng::seed_from_u64(1);
    let pa = Party::with_rng(ca, a, &mut rng).unwrap();
    let pb = Party::with_rng(cb, b, &mut rng).unwrap();
    let t = common::run(pa, pb).unwrap();
    assert!(t.a.per_type.iter().all(|g| g.matched.is_none()));
    assert_eq!(t.b.per_type[1].matched, Some(5));
}

#[test]
fn counts_that_do_not_fit_the_set_are_refused() {
    let (a, b) = sets();
    // A group list without a type the set holds.
    let mut c = config(Role::Initiator, Mode::Intersection, &a, &b);
    let dropped = c.groups.remove(2);
    c.local_count -= dropped.local;
    c.peer_count -= dropped.peer;
    let mut rng = StdRng::seed_from_u64(1);
    assert!(matches!(
        Party::with_rng(c, a, &mut rng),
        Err(PsiError::GroupsMismatch { .. } | PsiError::LocalCountMismatch { .. })
    ));
    // Counts that do not add up.
    let (a, b) = sets();
    let mut c = config(Role::Initiator, Mode::Intersection, &a, &b);
    c.groups[0].peer += 1;
    assert!(matches!(
        Party::with_rng(c, a, &mut rng),
        Err(PsiError::GroupsMismatch { .. })
    ));
    // A count that adds up but differs from the set's.
    let (a, b) = sets();
    let mut c = config(Role::Initiator, Mode::Intersection, &a, &b);
    c.groups[0].local -= 1;
    c.groups[1].local += 1;
    assert!(matches!(
        Party::with_rng(c, a, &mut rng),
        Err(PsiError::GroupsMismatch { .. })
    ));
}
