//! The session is protocol-neutral: a second, test-only PSI protocol (plain keyed
//! hashes — no privacy at all, never for real data) runs through the same listener,
//! connector, handshake, framing and closing exchange as ECDH, over 127.0.0.1. A
//! partner running another protocol is refused as unsupported, by name, on both sides.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use blindmatch_net::{
    AbortCode, Event, Listener, Match, MatchId, MatchResult, Mode, NetError, Outcome, PreparedSet,
    Protocol, ProtocolSetup, Reveal, SessionOptions, SessionParams, SessionReport, Stage,
    Transport, connect,
};
use blindmatch_psi::{EcdhSetup, PsiError, SessionConfig, StageItems, protocol::Outgoing};
use sha2::{Digest, Sha256};

const TEST_LIMIT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);
const HASH_LEN: usize = 32;

/// Items as `(type, value, row)`.
type Items = Vec<(&'static str, String, u64)>;

/// The test protocol before the handshake.
struct PlainHashSetup {
    /// Distinct `(type, value)` → rows.
    items: BTreeMap<(String, String), Vec<u64>>,
}

impl PlainHashSetup {
    fn new(items: &Items) -> Self {
        let mut map: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
        for (t, v, row) in items {
            map.entry(((*t).to_owned(), v.clone()))
                .or_default()
                .push(*row);
        }
        PlainHashSetup { items: map }
    }
}

impl ProtocolSetup for PlainHashSetup {
    fn id(&self) -> &'static str {
        "test.plain-hash"
    }

    fn params(&self) -> Vec<u8> {
        b"v1".to_vec()
    }

    fn declared_size(&self) -> u64 {
        self.items.len() as u64
    }

    fn identifier_types(&self) -> Vec<String> {
        let mut t: Vec<String> = self.items.keys().map(|(t, _)| t.clone()).collect();
        t.dedup();
        t
    }

    fn type_sizes(&self) -> Vec<(String, u64)> {
        let mut sizes: Vec<(String, u64)> = Vec::new();
        for (t, _) in self.items.keys() {
            match sizes.iter_mut().find(|(n, _)| n == t) {
                Some((_, c)) => *c += 1,
                None => sizes.push((t.clone(), 1)),
            }
        }
        sizes
    }

    fn max_message_len(&self, batch_size: u32) -> usize {
        batch_size as usize * HASH_LEN
    }

    fn start(self: Box<Self>, config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        let own = self
            .items
            .into_iter()
            .map(|((t, v), rows)| {
                let h: [u8; 32] = Sha256::new()
                    .chain_update(config.context)
                    .chain_update(t.as_bytes())
                    .chain_update([0])
                    .chain_update(v.as_bytes())
                    .finalize()
                    .into();
                (h, rows)
            })
            .collect();
        Ok(Box::new(PlainHash {
            config,
            own,
            sent: 0,
            peer: HashSet::new(),
            received: 0,
        }))
    }
}

/// The running test protocol: both sides send all their hashes; learners compare.
struct PlainHash {
    config: SessionConfig,
    own: Vec<([u8; 32], Vec<u64>)>,
    sent: usize,
    peer: HashSet<[u8; 32]>,
    received: u64,
}

impl Protocol for PlainHash {
    fn poll_transmit(&mut self) -> Option<Outgoing> {
        if self.sent >= self.own.len() {
            return None;
        }
        let end = (self.sent + self.config.batch_size as usize).min(self.own.len());
        let mut payload = Vec::new();
        for (h, _) in &self.own[self.sent..end] {
            payload.extend_from_slice(h);
        }
        let items = (end - self.sent) as u64;
        self.sent = end;
        Some(Outgoing {
            payload,
            prepared: items,
            on_sent: Some(StageItems {
                stage: Stage::Sent,
                items,
            }),
        })
    }

    fn handle(&mut self, payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        let (hashes, rest) = payload.as_chunks::<HASH_LEN>();
        if !rest.is_empty() {
            return Err(PsiError::Malformed {
                reason: "not a whole number of hashes",
            });
        }
        self.received += hashes.len() as u64;
        if self.received > self.config.peer_count {
            return Err(PsiError::Malformed {
                reason: "more hashes than declared",
            });
        }
        self.peer.extend(hashes.iter().copied());
        Ok(Some(StageItems {
            stage: Stage::Received,
            items: hashes.len() as u64,
        }))
    }

    fn is_finished(&self) -> bool {
        self.sent == self.own.len() && self.received == self.config.peer_count
    }

    fn finish(self: Box<Self>) -> Result<Outcome, PsiError> {
        let mut result = MatchResult::NotRevealed;
        if self.config.i_learn() {
            let mut matches = Vec::new();
            let mut matched = 0;
            for (h, rows) in &self.own {
                if self.peer.contains(h) {
                    matched += 1;
                    let id: [u8; 32] = Sha256::digest(h).into();
                    matches.extend(rows.iter().map(|&row| Match {
                        row,
                        match_id: MatchId(id),
                    }));
                }
            }
            matches.sort();
            result = match self.config.mode {
                Mode::Intersection | Mode::Labelled => {
                    MatchResult::Intersection { matched, matches }
                }
                Mode::Cardinality => MatchResult::Cardinality { matched },
            };
        }
        Ok(Outcome {
            role: self.config.role,
            mode: self.config.mode,
            local_count: self.config.local_count,
            peer_count: self.config.peer_count,
            comparison_len: HASH_LEN,
            result,
            per_type: Vec::new(),
            labels: None,
        })
    }
}

fn items(range: std::ops::Range<u64>) -> Items {
    range
        .map(|i| ("phone", format!("+86138{i:08}"), 1000 + i))
        .collect()
}

fn params(reveal: Reveal) -> SessionParams {
    let mut p = SessionParams::new(
        Mode::Intersection,
        reveal,
        vec!["phone".into()],
        "test-profile".into(),
    );
    p.batch_size = 16;
    p
}

fn options() -> SessionOptions {
    SessionOptions {
        io_timeout: Duration::from_secs(10),
        handshake_timeout: Duration::from_secs(10),
        ..SessionOptions::default()
    }
}

async fn run_pair(
    listener_protocol: Box<dyn ProtocolSetup>,
    connector_protocol: Box<dyn ProtocolSetup>,
    reveal: Reveal,
) -> (
    Result<SessionReport, NetError>,
    Result<SessionReport, NetError>,
) {
    let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
        .await
        .unwrap();
    let addr = listener.local_addr().to_string();
    let serve = tokio::spawn(async move {
        listener
            .run_session(&params(reveal), listener_protocol, &options(), WAIT)
            .await
    });
    let dialled = connect(
        &addr,
        &Transport::InsecurePlaintextForTesting,
        &params(reveal),
        connector_protocol,
        &options(),
        WAIT,
    )
    .await;
    (serve.await.unwrap(), dialled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_protocol_runs_through_the_same_session() {
    tokio::time::timeout(TEST_LIMIT, async {
        // 0..100 and 60..150 share 60..100; one listener row value appears twice.
        let mut listener_items = items(0..100);
        listener_items.push(("phone", "+8613800000070".into(), 5000));
        let connector_items = items(60..150);
        let (events, sink) = {
            let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let e = std::sync::Arc::clone(&events);
            let sink: blindmatch_net::EventSink =
                std::sync::Arc::new(move |ev: &Event| e.lock().unwrap().push(ev.clone()));
            (events, sink)
        };
        let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
            .await
            .unwrap();
        let addr = listener.local_addr().to_string();
        let listener_setup = Box::new(PlainHashSetup::new(&listener_items));
        let listener_options = SessionOptions {
            events: Some(sink),
            ..options()
        };
        let serve = tokio::spawn(async move {
            listener
                .run_session(
                    &params(Reveal::Both),
                    listener_setup,
                    &listener_options,
                    WAIT,
                )
                .await
        });
        let c = connect(
            &addr,
            &Transport::InsecurePlaintextForTesting,
            &params(Reveal::Both),
            Box::new(PlainHashSetup::new(&connector_items)),
            &options(),
            WAIT,
        )
        .await
        .unwrap();
        let l = serve.await.unwrap().unwrap();

        assert_eq!(l.protocol, "test.plain-hash");
        assert_eq!(c.protocol, "test.plain-hash");
        assert_eq!(l.session_id, c.session_id);
        assert_eq!(l.transcript_hash, c.transcript_hash);
        assert_eq!(l.local_set_size, 100);
        assert_eq!(c.peer_set_size, 100);
        assert_eq!(l.matched_count, Some(40));
        assert_eq!(c.matched_count, Some(40));
        let rows = |r: &SessionReport| {
            r.outcome
                .matches()
                .iter()
                .map(|m| m.row)
                .collect::<Vec<_>>()
        };
        let mut expected_l: Vec<u64> = (1060..1100).collect();
        expected_l.push(5000);
        assert_eq!(rows(&l), expected_l);
        assert_eq!(rows(&c), (1060..1100).collect::<Vec<_>>());
        // Match IDs agree across the two sides for the same value.
        let id_of = |r: &SessionReport, row: u64| {
            r.outcome
                .matches()
                .iter()
                .find(|m| m.row == row)
                .unwrap()
                .match_id
        };
        assert_eq!(id_of(&l, 1070), id_of(&c, 1070));
        assert_eq!(id_of(&l, 5000), id_of(&c, 1070));
        // Progress is reported per stage, with totals from the declared sizes.
        let events = events.lock().unwrap();
        let last = |stage| {
            events.iter().rev().find_map(|e| match e {
                Event::Progress {
                    stage: s,
                    done,
                    total,
                } if *s == stage => Some((*done, *total)),
                _ => None,
            })
        };
        assert_eq!(last(Stage::Sent), Some((100, 100)));
        assert_eq!(last(Stage::Received), Some((90, 90)));
        assert_eq!(last(Stage::Hashed), Some((100, 100)));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_learner_and_empty_sets_work_for_the_second_protocol_too() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (l, c) = run_pair(
            Box::new(PlainHashSetup::new(&items(0..30))),
            Box::new(PlainHashSetup::new(&items(10..20))),
            Reveal::Responder,
        )
        .await;
        let (l, c) = (l.unwrap(), c.unwrap());
        assert_eq!(l.matched_count, Some(10));
        assert_eq!(c.matched_count, None);
        assert_eq!(c.outcome.result, MatchResult::NotRevealed);

        let (l, c) = run_pair(
            Box::new(PlainHashSetup::new(&Vec::new())),
            Box::new(PlainHashSetup::new(&items(0..5))),
            Reveal::Both,
        )
        .await;
        assert_eq!(l.unwrap().matched_count, Some(0));
        assert_eq!(c.unwrap().matched_count, Some(0));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_running_another_protocol_is_refused_by_name_on_both_sides() {
    tokio::time::timeout(TEST_LIMIT, async {
        let ecdh_set = PreparedSet::from_items(items(0..20)).unwrap();
        let (l, c) = run_pair(
            Box::new(EcdhSetup::new(ecdh_set)),
            Box::new(PlainHashSetup::new(&items(0..20))),
            Reveal::Both,
        )
        .await;
        let (l, c) = (l.unwrap_err(), c.unwrap_err());
        // The listener refuses the connector's protocol, naming it and its own.
        match &l {
            NetError::Unsupported { what, name, ours } => {
                assert_eq!(*what, "PSI protocol");
                assert_eq!(name, "test.plain-hash");
                assert_eq!(ours, "ecdh-ristretto255");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(l.is_refusal());
        // The connector refuses too, or hears the listener's reason first.
        match &c {
            NetError::Unsupported { name, .. } => assert_eq!(name, "ecdh-ristretto255"),
            NetError::PeerAborted { code, reason } => {
                assert_eq!(*code, AbortCode::Unsupported);
                assert!(reason.contains("test.plain-hash"), "{reason}");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(c.is_refusal());
    })
    .await
    .unwrap();
}
