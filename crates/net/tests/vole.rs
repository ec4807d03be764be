//! The vole protocol (`vole-rr22-silent`) over TLS on 127.0.0.1, beside ECDH on the
//! same data: every mode it runs (intersection, cardinality), every reveal setting,
//! one and several identifier types, gives the same rows, counts and (both learn)
//! match IDs with both protocols; sides that name different protocols (ECDH, or the
//! removed IKNP protocol an old peer may still announce), and labelled mode, which
//! the vole protocol does not run, are refused.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use blindmatch_net::{
    Identity, Listener, MatchResult, Mode, NetError, PeerAuth, PreparedSet, ProtocolSetup, Reveal,
    SessionOptions, SessionParams, SessionReport, TlsSettings, Transport, connect,
};
use blindmatch_psi::rr22::{RR22_PROTOCOL_ID, Rr22Setup};
use blindmatch_psi::{EcdhSetup, Protocol, PsiError, SessionConfig};

const WAIT: Duration = Duration::from_secs(20);
const TEST_LIMIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Ecdh,
    Rr22,
    /// A peer from before `vole-okvs-iknp512` was removed, announcing it.
    OldIknp,
}

/// The hello of an old peer that still runs the removed IKNP protocol: its name
/// and parameter block (`01 28 0200 0100 0064`). It never gets to run.
struct OldIknpSetup(Rr22Setup);

impl ProtocolSetup for OldIknpSetup {
    fn id(&self) -> &'static str {
        "vole-okvs-iknp512"
    }

    fn params(&self) -> Vec<u8> {
        vec![0x01, 0x28, 0x02, 0x00, 0x01, 0x00, 0x00, 0x64]
    }

    fn declared_size(&self) -> u64 {
        self.0.declared_size()
    }

    fn identifier_types(&self) -> Vec<String> {
        self.0.identifier_types()
    }

    fn type_sizes(&self) -> Vec<(String, u64)> {
        self.0.type_sizes()
    }

    fn max_message_len(&self, batch_size: u32) -> usize {
        self.0.max_message_len(batch_size)
    }

    fn start(self: Box<Self>, _config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        unreachable!("a session with an unknown protocol never starts")
    }
}

/// Rows (row, type, value): values `v{i}` under `phone`, `e{i}` under `email` for
/// every third row, a few repeated values.
fn rows(range: std::ops::Range<u32>, base: u64) -> Vec<(u64, &'static str, String)> {
    let mut out = Vec::new();
    for i in range {
        out.push((base + u64::from(i), "phone", format!("v{i}")));
        if i % 3 == 0 {
            out.push((base + 100_000 + u64::from(i), "email", format!("e{i}")));
        }
        if i % 50 == 0 {
            out.push((base + 200_000 + u64::from(i), "phone", format!("v{i}")));
        }
    }
    out
}

fn set(rows: &[(u64, &'static str, String)], types: &[&str]) -> PreparedSet {
    PreparedSet::from_items(
        rows.iter()
            .filter(|(_, t, _)| types.contains(t))
            .map(|(r, t, v)| (*t, v.as_bytes(), *r)),
    )
    .unwrap()
}

fn setup(which: Which, set: PreparedSet) -> Box<dyn ProtocolSetup> {
    match which {
        Which::Ecdh => Box::new(EcdhSetup::new(set)),
        Which::Rr22 => Box::new(Rr22Setup::new(set)),
        Which::OldIknp => Box::new(OldIknpSetup(Rr22Setup::new(set))),
    }
}

fn tls_pair() -> (Transport, Transport) {
    let a = Arc::new(Identity::generate("alice").unwrap());
    let b = Arc::new(Identity::generate("bob").unwrap());
    let (fa, fb) = (a.fingerprint(), b.fingerprint());
    (
        Transport::Tls(TlsSettings {
            identity: a,
            peer: PeerAuth::Fingerprint(fb),
        }),
        Transport::Tls(TlsSettings {
            identity: b,
            peer: PeerAuth::Fingerprint(fa),
        }),
    )
}

fn options() -> SessionOptions {
    SessionOptions {
        io_timeout: Duration::from_secs(20),
        handshake_timeout: Duration::from_secs(10),
        ..SessionOptions::default()
    }
}

/// Listener (responder, `alice`) and connector (initiator, `bob`) over TLS.
async fn session(
    mode: Mode,
    reveal: Reveal,
    types: &[&str],
    protocols: (Which, Which),
    alice: PreparedSet,
    bob: PreparedSet,
) -> (
    Result<SessionReport, NetError>,
    Result<SessionReport, NetError>,
) {
    let (lt, ct) = tls_pair();
    let mut params = SessionParams::new(
        mode,
        reveal,
        types.iter().map(|t| (*t).to_owned()).collect(),
        "test-profile".into(),
    );
    params.batch_size = 100;
    let listener = Listener::bind("127.0.0.1:0", lt).await.unwrap();
    let addr = listener.local_addr().to_string();
    let lp = params.clone();
    let serve = tokio::spawn(async move {
        listener
            .run_session(&lp, setup(protocols.0, alice), &options(), WAIT)
            .await
    });
    let dialled = connect(
        &addr,
        &ct,
        &params,
        setup(protocols.1, bob),
        &options(),
        WAIT,
    )
    .await;
    (serve.await.unwrap(), dialled)
}

/// What a side learned, protocol-neutral: matched rows and per-type counts (match
/// IDs are derived from each protocol's own values, so they are compared within a
/// session, not across protocols).
fn learned(r: &SessionReport) -> (Option<u64>, BTreeSet<u64>, Vec<Option<u64>>) {
    let rows = match &r.outcome.result {
        MatchResult::Intersection { matches, .. } => matches.iter().map(|m| m.row).collect(),
        _ => BTreeSet::new(),
    };
    let per_type = r.outcome.per_type.iter().map(|t| t.matched).collect();
    (r.matched_count, rows, per_type)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vole_and_ecdh_agree_over_tls_for_every_reveal() {
    tokio::time::timeout(TEST_LIMIT, async {
        let alice = rows(0..400, 0);
        let bob = rows(250..700, 1_000_000);
        for (mode, types) in [
            (Mode::Intersection, &["phone"][..]),
            (Mode::Intersection, &["phone", "email"][..]),
            (Mode::Cardinality, &["phone"][..]),
            (Mode::Cardinality, &["phone", "email"][..]),
        ] {
            for reveal in [Reveal::Initiator, Reveal::Responder, Reveal::Both] {
                let mut results = Vec::new();
                for which in [Which::Ecdh, Which::Rr22] {
                    let (l, c) = session(
                        mode,
                        reveal,
                        types,
                        (which, which),
                        set(&alice, types),
                        set(&bob, types),
                    )
                    .await;
                    let l = l.unwrap_or_else(|e| panic!("listener {which:?} {reveal:?}: {e}"));
                    let c = c.unwrap_or_else(|e| panic!("connector {which:?} {reveal:?}: {e}"));
                    assert_eq!(l.transcript_hash, c.transcript_hash);
                    if which == Which::Rr22 {
                        assert_eq!(l.protocol, RR22_PROTOCOL_ID);
                        assert_eq!(c.protocol, RR22_PROTOCOL_ID);
                    }
                    if reveal == Reveal::Both {
                        // Match IDs agree across the two sides by matched value.
                        let ids = |r: &SessionReport| -> BTreeSet<[u8; 32]> {
                            r.outcome.matches().iter().map(|m| m.match_id.0).collect()
                        };
                        assert_eq!(ids(&l), ids(&c), "{which:?} {types:?}");
                    }
                    results.push((learned(&l), learned(&c)));
                }
                let (ecdh, rr22) = (&results[0], &results[1]);
                assert_eq!(ecdh, rr22, "{mode:?} {types:?} {reveal:?}");
                // And they are the real intersection: 150 phone values.
                let learner = if reveal == Reveal::Responder {
                    &ecdh.0
                } else {
                    &ecdh.1
                };
                assert!(learner.0.unwrap() >= 150, "{learner:?}");
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_protocols_and_unsupported_modes_are_refused() {
    tokio::time::timeout(TEST_LIMIT, async {
        let alice = rows(0..200, 0);
        let bob = rows(100..300, 1_000_000);
        let phones = |mode, protocols| {
            let (a, b) = (set(&alice, &["phone"]), set(&bob, &["phone"]));
            session(mode, Reveal::Both, &["phone"], protocols, a, b)
        };
        let (l, c) = phones(Mode::Intersection, (Which::Ecdh, Which::Rr22)).await;
        assert!(l.is_err() && c.is_err(), "{l:?} {c:?}");
        // An old peer announcing the removed IKNP protocol, on either side, gets
        // the unknown-protocol refusal naming what it sent.
        for protocols in [(Which::OldIknp, Which::Rr22), (Which::Rr22, Which::OldIknp)] {
            let (l, c) = phones(Mode::Intersection, protocols).await;
            let ours = if protocols.0 == Which::Rr22 { l } else { c };
            match ours {
                Err(NetError::Unsupported {
                    what: "PSI protocol",
                    name,
                    ours,
                }) => {
                    assert_eq!(name, "vole-okvs-iknp512");
                    assert_eq!(ours, RR22_PROTOCOL_ID);
                }
                other => panic!("{protocols:?}: {other:?}"),
            }
        }
        let (l, c) = phones(Mode::Labelled, (Which::Rr22, Which::Rr22)).await;
        for side in [l, c] {
            assert!(
                matches!(
                    side,
                    Err(NetError::Psi {
                        source: PsiError::UnsupportedMode { mode: "labelled" }
                    })
                ),
                "{side:?}"
            );
        }
    })
    .await
    .unwrap();
}
