//! Every mode and reveal over TLS and plaintext, and empty and tiny sets.

use super::*;

async fn full_matrix(tls: bool) {
    let alice_rows = rows(0..300, &[(1000, 5), (1001, 250), (1002, 250)]);
    let bob_rows = rows(200..450, &[(2000, 210), (2001, 449)]);
    for mode in [Mode::Intersection, Mode::Cardinality] {
        for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
            let (lt, ct, fl, fc) = if tls {
                let (a, b, fa, fb) = tls_pair();
                (a, b, Some(fa), Some(fb))
            } else {
                (
                    Transport::InsecurePlaintextForTesting,
                    Transport::InsecurePlaintextForTesting,
                    None,
                    None,
                )
            };
            let (events, options) = recorder();
            // Alice listens (responder), Bob connects (initiator).
            let (l, c) = pair(
                lt,
                ct,
                params(mode, reveal),
                params(mode, reveal),
                prepared(&alice_rows),
                prepared(&bob_rows),
                options,
            )
            .await;
            let l = l.unwrap_or_else(|e| panic!("listener {mode:?} {reveal:?}: {e}"));
            let c = c.unwrap_or_else(|e| panic!("connector {mode:?} {reveal:?}: {e}"));
            check_agreement(&l, &c);
            // The report serialises for receipts, without the match list.
            let json = serde_json::to_value(&l).unwrap();
            assert_eq!(
                json["transcript_hash"],
                serde_json::json!(l.transcript_hash)
            );
            assert!(json.get("outcome").is_none());
            assert!(json["timings"]["psi"].as_f64().unwrap() > 0.0);
            check_outcome(&l, reveal.learns(Role::Responder), &alice_rows, &bob_rows);
            check_outcome(&c, reveal.learns(Role::Initiator), &bob_rows, &alice_rows);
            assert_eq!(l.local_fingerprint, fl);
            assert_eq!(l.peer_fingerprint, fc);
            assert_eq!(c.local_fingerprint, fc);
            assert_eq!(c.peer_fingerprint, fl);
            assert!(l.traffic.wire_bytes_sent.unwrap() >= l.traffic.bytes_sent);
            if tls {
                assert!(l.traffic.wire_bytes_sent.unwrap() > l.traffic.bytes_sent);
            }
            if mode == Mode::Intersection && reveal == Reveal::Both {
                // The same value carries the same match ID on both sides.
                let ids = |r: &SessionReport, rows: &[(u64, String)]| -> BTreeMap<String, String> {
                    let by_row: BTreeMap<u64, &String> =
                        rows.iter().map(|(r, v)| (*r, v)).collect();
                    r.outcome
                        .matches()
                        .iter()
                        .map(|m| (by_row[&m.row].clone(), m.match_id.to_string()))
                        .collect()
                };
                assert_eq!(ids(&l, &alice_rows), ids(&c, &bob_rows));
            }
            // Progress reached the totals.
            let ev = events.lock().unwrap();
            let last = |stage: Stage| {
                ev.iter().rev().find_map(|e| match e {
                    Event::Progress {
                        stage: s,
                        done,
                        total,
                    } if *s == stage => Some((*done, *total)),
                    _ => None,
                })
            };
            assert_eq!(
                last(Stage::Hashed),
                Some((l.local_set_size, l.local_set_size))
            );
            assert_eq!(
                last(Stage::Sent),
                Some((l.local_set_size, l.local_set_size))
            );
            assert_eq!(
                last(Stage::Received),
                Some((l.peer_set_size, l.peer_set_size))
            );
            assert!(ev.iter().any(|e| matches!(e, Event::Listening { .. })));
            assert!(ev.iter().any(|e| matches!(e, Event::Finished { .. })));
            // Events serialise for `--events json`.
            let json = serde_json::to_string(&ev[0]).unwrap();
            assert!(json.contains("\"event\""));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_and_reveal_over_tls() {
    tokio::time::timeout(TEST_LIMIT * 2, full_matrix(true))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_and_reveal_over_plaintext() {
    tokio::time::timeout(TEST_LIMIT * 2, full_matrix(false))
        .await
        .unwrap();
}

// Also checks that the driver works on a current-thread runtime (the PSI thread only
// waits on channels, never on the runtime's I/O or timers).
#[tokio::test]
async fn empty_and_tiny_sets_complete() {
    tokio::time::timeout(TEST_LIMIT, async {
        let one = rows(0..1, &[]);
        let (l, c) = pair(
            Transport::InsecurePlaintextForTesting,
            Transport::InsecurePlaintextForTesting,
            params(Mode::Intersection, Reveal::Both),
            params(Mode::Intersection, Reveal::Both),
            PreparedSet::new(),
            prepared(&one),
            quick_options(),
        )
        .await;
        let (l, c) = (l.unwrap(), c.unwrap());
        check_agreement(&l, &c);
        assert_eq!(l.matched_count, Some(0));
        assert_eq!(c.matched_count, Some(0));

        let (l, c) = pair(
            Transport::InsecurePlaintextForTesting,
            Transport::InsecurePlaintextForTesting,
            params(Mode::Cardinality, Reveal::Responder),
            params(Mode::Cardinality, Reveal::Responder),
            prepared(&rows(0..200, &[])),
            prepared(&one),
            quick_options(),
        )
        .await;
        let (l, c) = (l.unwrap(), c.unwrap());
        check_agreement(&l, &c);
        assert_eq!(l.matched_count, Some(1));
        assert_eq!(c.matched_count, None);
    })
    .await
    .unwrap();
}
