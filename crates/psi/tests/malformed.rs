//! A peer that breaks the protocol gets a typed error naming the batch (and index),
//! never a panic, and the party refuses to continue afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use blindmatch_psi::{Message, MessageKind, Mode, Party, Pending, PsiError, Reveal};
use common::{Item, parties};

const CTX: [u8; 32] = [9; 32];

fn set(n: u64) -> Vec<Item> {
    (0..n)
        .map(|i| ("phone".to_owned(), format!("m{i}").into_bytes(), i))
        .collect()
}

/// Initiator with 10 items, responder with 7, batch size 4: 3 and 2 batches.
fn pair(mode: Mode, reveal: Reveal) -> (Party, Party) {
    parties(&set(10), &set(7), mode, reveal, 4, CTX, 11)
}

fn blinded(p: &mut Party) -> (u32, Vec<[u8; 32]>) {
    match p.poll_transmit() {
        Some(Message::Blinded { batch, points }) => (batch, points),
        other => panic!("expected a blinded batch, got {other:?}"),
    }
}

fn assert_aborted(p: &mut Party) {
    assert!(matches!(
        p.handle(Message::Blinded {
            batch: 0,
            points: vec![]
        }),
        Err(PsiError::Aborted)
    ));
    assert!(p.poll_transmit().is_none());
    assert!(!p.needs_input());
    assert!(!p.is_finished());
}

#[test]
fn invalid_point_encodings_name_batch_and_index() {
    // Non-canonical (s ≥ p), negative s, a non-square, and the identity.
    let mut negative = [0u8; 32];
    negative[0] = 1;
    let bad = [[0xff; 32], negative, [0u8; 32]];
    for bad_point in bad {
        let (mut a, mut b) = pair(Mode::Intersection, Reveal::Both);
        let (_, points) = blinded(&mut b);
        a.handle(Message::Blinded { batch: 0, points }).unwrap();
        let (batch, mut points) = blinded(&mut b);
        points[2] = bad_point;
        let err = a.handle(Message::Blinded { batch, points }).unwrap_err();
        assert!(
            matches!(
                err,
                PsiError::InvalidPoint {
                    kind: MessageKind::Blinded,
                    batch: 1,
                    index: 2
                }
            ),
            "{err:?}"
        );
        assert_aborted(&mut a);
    }
}

#[test]
fn first_bad_point_is_reported_whatever_the_thread_count() {
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let big: Vec<Item> = set(600);
            let (mut a, mut b) =
                parties(&set(3), &big, Mode::Intersection, Reveal::Both, 600, CTX, 1);
            let (batch, mut points) = blinded(&mut b);
            points[577] = [0xff; 32];
            points[599] = [0xff; 32];
            let err = a.handle(Message::Blinded { batch, points }).unwrap_err();
            assert!(
                matches!(
                    err,
                    PsiError::InvalidPoint {
                        batch: 0,
                        index: 577,
                        ..
                    }
                ),
                "{err:?}"
            );
        });
    }
}

#[test]
fn wrong_batch_sizes() {
    let (mut a, mut b) = pair(Mode::Intersection, Reveal::Both);
    let (batch, mut points) = blinded(&mut b);
    points.pop();
    let err = a.handle(Message::Blinded { batch, points }).unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::WrongBatchLength {
                kind: MessageKind::Blinded,
                batch: 0,
                expected: 128,
                actual: 96
            }
        ),
        "{err:?}"
    );

    // The last batch holds the remainder (7 = 4 + 3): a full batch there is too many items.
    let (mut a, mut b) = pair(Mode::Intersection, Reveal::Both);
    let (_, first) = blinded(&mut b);
    a.handle(Message::Blinded {
        batch: 0,
        points: first.clone(),
    })
    .unwrap();
    let err = a
        .handle(Message::Blinded {
            batch: 1,
            points: first,
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::WrongBatchLength {
                batch: 1,
                expected: 96,
                actual: 128,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn batches_out_of_order_duplicated_or_beyond_the_declared_size() {
    let (mut a, mut b) = pair(Mode::Intersection, Reveal::Both);
    let (_, p0) = blinded(&mut b);
    let (_, p1) = blinded(&mut b);
    let err = a
        .handle(Message::Blinded {
            batch: 1,
            points: p1.clone(),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::BatchOutOfOrder {
                kind: MessageKind::Blinded,
                expected: 0,
                got: 1
            }
        ),
        "{err:?}"
    );

    let (mut a, _) = pair(Mode::Intersection, Reveal::Both);
    a.handle(Message::Blinded {
        batch: 0,
        points: p0.clone(),
    })
    .unwrap();
    let err = a
        .handle(Message::Blinded {
            batch: 0,
            points: p0.clone(),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::DuplicateBatch {
                kind: MessageKind::Blinded,
                batch: 0
            }
        ),
        "{err:?}"
    );

    let (mut a, _) = pair(Mode::Intersection, Reveal::Both);
    a.handle(Message::Blinded {
        batch: 0,
        points: p0,
    })
    .unwrap();
    a.handle(Message::Blinded {
        batch: 1,
        points: p1[..3].to_vec(),
    })
    .unwrap();
    let err = a
        .handle(Message::Blinded {
            batch: 2,
            points: p1[..1].to_vec(),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::TooManyItems {
                kind: MessageKind::Blinded,
                batch: 2,
                declared: 7
            }
        ),
        "{err:?}"
    );
}

#[test]
fn reblinded_for_a_batch_never_sent() {
    let (mut a, _) = pair(Mode::Intersection, Reveal::Initiator);
    // b has not received anything from a, but claims to answer a's batch 0.
    let l = a.comparison_len();
    let err = a
        .handle(Message::Reblinded {
            batch: 0,
            values: vec![0; 4 * l],
        })
        .unwrap_err();
    assert!(
        matches!(err, PsiError::ReblindedNotSent { batch: 0 }),
        "{err:?}"
    );

    // Beyond a's three batches altogether.
    let (mut a, _) = pair(Mode::Intersection, Reveal::Initiator);
    let err = a
        .handle(Message::Reblinded {
            batch: 3,
            values: vec![],
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::TooManyItems {
                kind: MessageKind::Reblinded,
                batch: 3,
                declared: 10
            }
        ),
        "{err:?}"
    );

    // Cardinality: no response can come before a has sent its whole set.
    let (mut a, mut b) = pair(Mode::Cardinality, Reveal::Initiator);
    let (_, p) = blinded(&mut a);
    b.handle(Message::Blinded {
        batch: 0,
        points: p,
    })
    .unwrap();
    let err = a
        .handle(Message::Reblinded {
            batch: 0,
            values: vec![0; 4 * l],
        })
        .unwrap_err();
    assert!(
        matches!(err, PsiError::ReblindedNotSent { batch: 0 }),
        "{err:?}"
    );
}

#[test]
fn reblinded_wrong_length_order_and_duplicates() {
    let (mut a, mut b) = pair(Mode::Intersection, Reveal::Initiator);
    for _ in 0..3 {
        let m = a.poll_transmit().unwrap();
        b.handle(m).unwrap();
    }
    // b now owes three responses; collect them (b's own batches come after).
    let mut responses = Vec::new();
    while let Some(m) = b.poll_transmit() {
        if let Message::Reblinded { batch, values } = m {
            responses.push((batch, values));
        }
    }
    assert_eq!(responses.len(), 3);
    let l = a.comparison_len();

    let mut short = responses[0].1.clone();
    short.pop();
    let (mut a2, _) = pair(Mode::Intersection, Reveal::Initiator);
    for _ in 0..3 {
        a2.poll_transmit().unwrap();
    }
    let err = a2
        .handle(Message::Reblinded {
            batch: 0,
            values: short,
        })
        .unwrap_err();
    assert!(
        matches!(err, PsiError::WrongBatchLength { kind: MessageKind::Reblinded, batch: 0, expected, actual }
            if expected == 4 * l && actual == 4 * l - 1),
        "{err:?}"
    );

    let err = a
        .handle(Message::Reblinded {
            batch: 1,
            values: responses[1].1.clone(),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::BatchOutOfOrder {
                kind: MessageKind::Reblinded,
                expected: 0,
                got: 1
            }
        ),
        "{err:?}"
    );

    let (mut a3, _) = pair(Mode::Intersection, Reveal::Initiator);
    for _ in 0..3 {
        a3.poll_transmit().unwrap();
    }
    a3.handle(Message::Reblinded {
        batch: 0,
        values: responses[0].1.clone(),
    })
    .unwrap();
    let err = a3
        .handle(Message::Reblinded {
            batch: 0,
            values: responses[0].1.clone(),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::DuplicateBatch {
                kind: MessageKind::Reblinded,
                batch: 0
            }
        ),
        "{err:?}"
    );
}

#[test]
fn reblinded_to_a_party_that_does_not_learn() {
    for mode in [Mode::Intersection, Mode::Cardinality] {
        let (mut a, _) = pair(mode, Reveal::Responder);
        a.poll_transmit().unwrap();
        let err = a
            .handle(Message::Reblinded {
                batch: 0,
                values: vec![],
            })
            .unwrap_err();
        assert!(
            matches!(
                err,
                PsiError::MessageNotAllowed {
                    kind: MessageKind::Reblinded,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_aborted(&mut a);
    }
}

#[test]
fn finishing_early_says_what_is_missing() {
    let (a, _) = pair(Mode::Intersection, Reveal::Both);
    let err = a.finish().unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::Incomplete {
                pending: Pending::OwnBatches { sent: 0, total: 3 }
            }
        ),
        "{err:?}"
    );

    let (mut a, mut b) = pair(Mode::Intersection, Reveal::Both);
    while a.poll_transmit().is_some() {}
    let (_, p) = blinded(&mut b);
    a.handle(Message::Blinded {
        batch: 0,
        points: p,
    })
    .unwrap();
    assert!(a.needs_input());
    let err = a.finish().unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::Incomplete {
                pending: Pending::PeerBatches {
                    received: 1,
                    total: 2
                }
            }
        ),
        "{err:?}"
    );

    // Everything sent and received, but the responses owed to the peer not yet taken.
    let (mut a, mut b) = pair(Mode::Intersection, Reveal::Responder);
    for _ in 0..3 {
        blinded(&mut a);
    }
    while let Some(m) = b.poll_transmit() {
        a.handle(m).unwrap();
    }
    assert!(!a.needs_input() && !a.is_finished());
    let err = a.finish().unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::Incomplete {
                pending: Pending::Responses { queued: 2 }
            }
        ),
        "{err:?}"
    );

    let (mut a, mut b) = pair(Mode::Intersection, Reveal::Initiator);
    while let Some(m) = b.poll_transmit() {
        a.handle(m).unwrap();
    }
    while a.poll_transmit().is_some() {}
    let err = a.finish().unwrap_err();
    assert!(
        matches!(
            err,
            PsiError::Incomplete {
                pending: Pending::Reblinded {
                    received: 0,
                    total: 3
                }
            }
        ),
        "{err:?}"
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    use proptest::prelude::*;
    proptest!(ProptestConfig { cases: 64, ..ProptestConfig::default() }, |(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..6))| {
        let (mut a, _) = pair(Mode::Intersection, Reveal::Both);
        let _ = a.poll_transmit();
        for f in frames {
            if let Ok(m) = Message::decode(&f) {
                let _ = a.handle(m);
            }
        }
    });
}

#[test]
fn a_huge_declared_peer_size_reserves_nothing_up_front() {
    use blindmatch_psi::{MAX_SET_SIZE, PreparedSet, Role, SessionConfig};
    for mode in [Mode::Intersection, Mode::Cardinality] {
        let set = PreparedSet::from_items([("phone", "1", 0)]).unwrap();
        let config = SessionConfig {
            role: Role::Responder,
            mode,
            reveal: Reveal::Both,
            batch_size: 4,
            context: CTX,
            local_count: 1,
            peer_count: MAX_SET_SIZE,
            groups: Vec::new(),
            peer_params: Vec::new(),
        };
        // Reserving room for 2^32 peer points would abort the process here.
        let mut p = Party::new(config, set).unwrap();
        assert!(p.needs_input());
        assert!(matches!(p.poll_transmit(), Some(Message::Blinded { .. })));
    }
}
