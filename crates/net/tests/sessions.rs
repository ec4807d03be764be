//! Integration tests: two parties over 127.0.0.1 (port 0), TLS and plaintext, every
//! mode and reveal setting against a plain set intersection, and every way a peer or a
//! stranger can misbehave. Every test is bounded by a timeout.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blindmatch_net::frame::{Control, Frame, Hello};
use blindmatch_net::{
    AbortCode, ChannelBinding, Event, Fingerprint, Identity, Listener, MatchResult, Mode, NetError,
    PeerAuth, Policy, PreparedSet, ProtocolSetup, Reveal, Role, SessionOptions, SessionParams,
    SessionReport, Stage, TlsSettings, Transport, connect, decode_frame, session_context,
};
use blindmatch_psi::{ECDH_PARAMS, ECDH_PROTOCOL_ID, EcdhSetup, Message, PsiError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The ECDH protocol over a set, as the session takes it.
fn ecdh(set: PreparedSet) -> Box<dyn ProtocolSetup> {
    Box::new(EcdhSetup::new(set))
}

/// An ECDH `Blinded` batch as a protocol frame.
fn blinded(batch: u32, points: Vec<[u8; 32]>) -> Frame {
    Frame::Protocol(Message::Blinded { batch, points }.encode())
}

const TEST_LIMIT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);

/// Rows of one party: (row, value). Values `v{i}`; a few rows repeat a value.
fn rows(range: std::ops::Range<u32>, dup_rows: &[(u64, u32)]) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = range.map(|i| (u64::from(i), format!("v{i}"))).collect();
    for &(row, i) in dup_rows {
        out.push((row, format!("v{i}")));
    }
    out
}

fn prepared(rows: &[(u64, String)]) -> PreparedSet {
    prepared_as(rows, "phone")
}

fn prepared_as(rows: &[(u64, String)], id_type: &str) -> PreparedSet {
    PreparedSet::from_items(rows.iter().map(|(r, v)| (id_type, v.as_bytes(), *r))).unwrap()
}

/// Rows of `mine` whose value `theirs` also holds, and the distinct matched count.
fn truth(mine: &[(u64, String)], theirs: &[(u64, String)]) -> (Vec<u64>, u64) {
    let other: BTreeSet<&String> = theirs.iter().map(|(_, v)| v).collect();
    let mut matched_rows: Vec<u64> = mine
        .iter()
        .filter(|(_, v)| other.contains(v))
        .map(|(r, _)| *r)
        .collect();
    matched_rows.sort_unstable();
    let distinct: BTreeSet<&String> = mine
        .iter()
        .filter(|(_, v)| other.contains(v))
        .map(|(_, v)| v)
        .collect();
    (matched_rows, distinct.len() as u64)
}

fn params(mode: Mode, reveal: Reveal) -> SessionParams {
    let mut p = SessionParams::new(mode, reveal, vec!["phone".into()], "phone-cn/v1".into());
    p.batch_size = 64;
    p
}

fn quick_options() -> SessionOptions {
    SessionOptions {
        io_timeout: Duration::from_secs(10),
        handshake_timeout: Duration::from_secs(5),
        ..SessionOptions::default()
    }
}

fn tls_pair() -> (Transport, Transport, Fingerprint, Fingerprint) {
    let a = Arc::new(Identity::generate("alice").unwrap());
    let b = Arc::new(Identity::generate("bob").unwrap());
    let (fa, fb) = (a.fingerprint(), b.fingerprint());
    let ta = Transport::Tls(TlsSettings {
        identity: a,
        peer: PeerAuth::Fingerprint(fb),
    });
    let tb = Transport::Tls(TlsSettings {
        identity: b,
        peer: PeerAuth::Fingerprint(fa),
    });
    (ta, tb, fa, fb)
}

fn recorder() -> (Arc<Mutex<Vec<Event>>>, SessionOptions) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let options = SessionOptions {
        events: Some(Arc::new(move |e: &Event| {
            sink.lock().unwrap().push(e.clone())
        })),
        ..quick_options()
    };
    (events, options)
}

/// Runs listener (responder) and connector (initiator) to completion.
async fn pair(
    listener_transport: Transport,
    connector_transport: Transport,
    listener_params: SessionParams,
    connector_params: SessionParams,
    listener_set: PreparedSet,
    connector_set: PreparedSet,
    listener_options: SessionOptions,
) -> (
    Result<SessionReport, NetError>,
    Result<SessionReport, NetError>,
) {
    let listener = Listener::bind("127.0.0.1:0", listener_transport)
        .await
        .unwrap();
    let addr = listener.local_addr().to_string();
    let serve = tokio::spawn(async move {
        listener
            .run_session(
                &listener_params,
                ecdh(listener_set),
                &listener_options,
                WAIT,
            )
            .await
    });
    let dialled = connect(
        &addr,
        &connector_transport,
        &connector_params,
        ecdh(connector_set),
        &quick_options(),
        WAIT,
    )
    .await;
    (serve.await.unwrap(), dialled)
}

fn check_outcome(
    report: &SessionReport,
    learns: bool,
    mine: &[(u64, String)],
    theirs: &[(u64, String)],
) {
    let (rows, distinct) = truth(mine, theirs);
    match (&report.outcome.result, report.mode, learns) {
        (MatchResult::NotRevealed, _, false) => assert_eq!(report.matched_count, None),
        (MatchResult::Cardinality { matched }, Mode::Cardinality, true) => {
            assert_eq!(*matched, distinct)
        }
        (MatchResult::Intersection { matched, matches }, Mode::Intersection, true) => {
            assert_eq!(*matched, distinct);
            let got: Vec<u64> = matches.iter().map(|m| m.row).collect();
            assert_eq!(got, rows);
        }
        (other, mode, learns) => panic!("unexpected {other:?} for {mode:?}, learns={learns}"),
    }
}

/// Both sides agree on everything a receipt compares.
fn check_agreement(l: &SessionReport, c: &SessionReport) {
    assert_eq!(l.session_id, c.session_id);
    assert_eq!(l.transcript_hash, c.transcript_hash);
    assert_eq!(l.transcript_hash.len(), 64);
    assert_eq!(l.role, Role::Responder);
    assert_eq!(c.role, Role::Initiator);
    assert_eq!(l.local_set_size, c.peer_set_size);
    assert_eq!(c.local_set_size, l.peer_set_size);
    assert_eq!(l.traffic.bytes_sent, c.traffic.bytes_received);
    assert_eq!(c.traffic.bytes_sent, l.traffic.bytes_received);
    assert_eq!(l.traffic.frames_sent, c.traffic.frames_received);
    assert_eq!(c.traffic.frames_sent, l.traffic.frames_received);
    assert_eq!(l.comparison_len, c.comparison_len);
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pinned_fingerprint_is_refused_naming_both() {
    tokio::time::timeout(TEST_LIMIT, async {
        // The listener pins `partner`; three connectors try their luck.
        let (lt, _, fl, _) = tls_pair();
        let Transport::Tls(listener_settings) = &lt else {
            unreachable!()
        };
        let partner = Arc::new(Identity::generate("partner").unwrap());
        let real_connector = Transport::Tls(TlsSettings {
            identity: Arc::clone(&partner),
            peer: PeerAuth::Fingerprint(fl),
        });
        let listener = Listener::bind(
            "127.0.0.1:0",
            Transport::Tls(TlsSettings {
                identity: Arc::clone(&listener_settings.identity),
                peer: PeerAuth::Fingerprint(partner.fingerprint()),
            }),
        )
        .await
        .unwrap();
        let addr2 = listener.local_addr().to_string();
        let wrong = Fingerprint::of_der(b"not the listener");
        let (events, options) = recorder();
        let p = params(Mode::Intersection, Reveal::Both);
        let pl = p.clone();
        let serve = tokio::spawn(async move {
            listener
                .run_session(&pl, ecdh(prepared(&rows(0..50, &[]))), &options, WAIT)
                .await
        });

        // 1. A connector pinning a wrong fingerprint refuses the listener itself.
        let pinned_wrong = Transport::Tls(TlsSettings {
            identity: Arc::clone(&partner),
            peer: PeerAuth::Fingerprint(wrong),
        });
        let err = connect(
            &addr2,
            &pinned_wrong,
            &p,
            ecdh(prepared(&rows(0..50, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap_err();
        match &err {
            NetError::PeerFingerprintMismatch {
                expected,
                presented,
            } => {
                assert_eq!(*expected, wrong);
                assert_eq!(*presented, fl);
            }
            other => panic!("unexpected {other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&wrong.to_string()) && msg.contains(&fl.to_string()),
            "{msg}"
        );

        // 2. A connector whose certificate the listener does not pin is refused by the
        //    listener, which names both fingerprints and keeps waiting.
        let unknown = Arc::new(Identity::generate("eve").unwrap());
        let eve = Transport::Tls(TlsSettings {
            identity: Arc::clone(&unknown),
            peer: PeerAuth::Fingerprint(fl),
        });
        let err = connect(
            &addr2,
            &eve,
            &p,
            ecdh(prepared(&rows(0..50, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap_err();
        match &err {
            NetError::PeerRefusedTls { ours, .. } => assert_eq!(*ours, unknown.fingerprint()),
            other => panic!("unexpected {other}"),
        }

        // 3. The real partner still gets through.
        let report = connect(
            &addr2,
            &real_connector,
            &p,
            ecdh(prepared(&rows(25..60, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap();
        assert_eq!(report.matched_count, Some(25));
        let served = serve.await.unwrap().unwrap();
        assert_eq!(served.transcript_hash, report.transcript_hash);
        assert_eq!(served.peer_fingerprint, Some(partner.fingerprint()));

        let ev = events.lock().unwrap();
        let refusals: Vec<&String> = ev
            .iter()
            .filter_map(|e| match e {
                Event::ConnectionRefused { reason, .. } => Some(reason),
                _ => None,
            })
            .collect();
        assert!(
            refusals
                .iter()
                .any(|r| r.contains(&unknown.fingerprint().to_string())
                    && r.contains(&partner.fingerprint().to_string())),
            "{refusals:?}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_wait_timeout_names_the_last_refusal() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (lt, _, fl, _) = tls_pair();
        let listener = Listener::bind("127.0.0.1:0", lt).await.unwrap();
        let addr = listener.local_addr().to_string();
        let p = params(Mode::Intersection, Reveal::Both);
        let pl = p.clone();
        let serve = tokio::spawn(async move {
            listener
                .run_session(
                    &pl,
                    ecdh(prepared(&rows(0..10, &[]))),
                    &quick_options(),
                    Duration::from_secs(3),
                )
                .await
        });
        let eve = Arc::new(Identity::generate("eve").unwrap());
        let t = Transport::Tls(TlsSettings {
            identity: Arc::clone(&eve),
            peer: PeerAuth::Fingerprint(fl),
        });
        let _ = connect(
            &addr,
            &t,
            &p,
            ecdh(prepared(&rows(0..10, &[]))),
            &quick_options(),
            WAIT,
        )
        .await;
        match serve.await.unwrap() {
            Err(NetError::WaitTimeout {
                rejected,
                last_rejection: Some(reason),
                ..
            }) => {
                assert!(rejected >= 1);
                assert!(reason.contains(&eve.fingerprint().to_string()), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    })
    .await
    .unwrap();
}

async fn refused_both_sides(
    listener_params: SessionParams,
    connector_params: SessionParams,
    tls: bool,
) -> (NetError, NetError) {
    let (lt, ct) = if tls {
        let (a, b, _, _) = tls_pair();
        (a, b)
    } else {
        (
            Transport::InsecurePlaintextForTesting,
            Transport::InsecurePlaintextForTesting,
        )
    };
    let connector_set = prepared_as(&rows(50..150, &[]), &connector_params.id_types[0]);
    let (l, c) = pair(
        lt,
        ct,
        listener_params,
        connector_params,
        prepared(&rows(0..100, &[])),
        connector_set,
        quick_options(),
    )
    .await;
    (l.unwrap_err(), c.unwrap_err())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatches_are_refused_on_both_sides() {
    tokio::time::timeout(TEST_LIMIT, async {
        let base = params(Mode::Intersection, Reveal::Both);

        let mut other = base.clone();
        other.mode = Mode::Cardinality;
        let (l, c) = refused_both_sides(base.clone(), other, true).await;
        assert!(matches!(l, NetError::ModeMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::ModeMismatch { .. }), "{c}");
        assert!(l.is_refusal() && c.is_refusal());

        let mut other = base.clone();
        other.id_types = vec!["email".into()];
        let (l, c) = refused_both_sides(base.clone(), other, true).await;
        assert!(matches!(l, NetError::IdTypeMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::IdTypeMismatch { .. }), "{c}");
        assert!(l.to_string().contains("email") && c.to_string().contains("phone"));

        let mut other = base.clone();
        other.profile = "phone-cn/v2".into();
        let (l, c) = refused_both_sides(base.clone(), other, false).await;
        assert!(matches!(l, NetError::ProfileMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::ProfileMismatch { .. }), "{c}");

        let mut other = base.clone();
        other.reveal = Reveal::Initiator;
        let (l, c) = refused_both_sides(base.clone(), other, false).await;
        assert!(matches!(l, NetError::RevealMismatch { .. }), "{l}");
        assert!(matches!(c, NetError::RevealMismatch { .. }), "{c}");

        // Only the listener's policy forbids cardinality: it refuses, and the
        // connector reports the listener's reason.
        let mut strict = params(Mode::Cardinality, Reveal::Both);
        strict.policy.allowed_modes = vec![Mode::Intersection];
        strict.mode = Mode::Intersection;
        let card = params(Mode::Cardinality, Reveal::Both);
        let (l, c) = refused_both_sides(strict, card, false).await;
        assert!(matches!(l, NetError::ModeNotAllowed { .. }), "{l}");
        assert!(
            matches!(
                c,
                NetError::ModeMismatch { .. }
                    | NetError::PeerAborted {
                        code: AbortCode::ModeNotAllowed,
                        ..
                    }
            ),
            "{c}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_below_min_peer_set_is_refused() {
    tokio::time::timeout(TEST_LIMIT, async {
        let mut strict = params(Mode::Intersection, Reveal::Both);
        strict.policy = Policy {
            min_peer_set: 1000,
            ..Policy::default()
        };
        let lenient = params(Mode::Intersection, Reveal::Both);
        let (l, c) = refused_both_sides(strict, lenient, true).await;
        assert!(
            matches!(
                l,
                NetError::PeerSetTooSmall {
                    id_type: None,
                    declared: 100,
                    min: 1000
                }
            ),
            "{l}"
        );
        match &c {
            NetError::PeerAborted {
                code: AbortCode::PeerSetTooSmall,
                reason,
            } => {
                assert!(
                    reason.contains("1000") && reason.contains("100"),
                    "{reason}"
                );
            }
            other => panic!("unexpected {other}"),
        }
        assert!(l.is_refusal() && c.is_refusal());
    })
    .await
    .unwrap();
}

/// A hand-driven peer: connects in plaintext, completes the handshake correctly, and
/// returns the stream for misbehaviour. `set_size` is what it declares.
async fn scripted_peer(addr: &str, set_size: u64) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let hello = Hello {
        role: Role::Initiator,
        protocol: ECDH_PROTOCOL_ID.into(),
        protocol_params: ECDH_PARAMS.to_vec(),
        mode: "intersection".into(),
        reveal: Reveal::Both,
        id_types: vec!["phone".into()],
        profile: "phone-cn/v1".into(),
        set_size,
        type_sizes: vec![set_size],
        min_peer_set: 0,
        allowed_modes: vec!["intersection".into()],
        batch_size: 64,
        nonce: [1; 32],
        implementation: "scripted".into(),
    };
    let ours = Frame::Hello(hello).encode().unwrap();
    tcp.write_all(&ours).await.unwrap();
    let theirs = read_one_frame(&mut tcp).await;
    let context = session_context(&ours, &theirs, &ChannelBinding::Plaintext);
    tcp.write_all(
        &Frame::Control(Control::Accept { context })
            .encode()
            .unwrap(),
    )
    .await
    .unwrap();
    let accept = read_one_frame(&mut tcp).await;
    assert!(matches!(
        decode_frame(&accept).unwrap().unwrap().0,
        Frame::Control(Control::Accept { .. })
    ));
    tcp
}

async fn read_one_frame(tcp: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    tcp.read_exact(&mut len).await.unwrap();
    let mut frame = len.to_vec();
    frame.resize(4 + u32::from_be_bytes(len) as usize, 0);
    tcp.read_exact(&mut frame[4..]).await.unwrap();
    frame
}

async fn serve_plain(
    set: PreparedSet,
    options: SessionOptions,
) -> (
    String,
    tokio::task::JoinHandle<Result<SessionReport, NetError>>,
) {
    let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
        .await
        .unwrap();
    let addr = listener.local_addr().to_string();
    let p = params(Mode::Intersection, Reveal::Both);
    let handle =
        tokio::spawn(async move { listener.run_session(&p, ecdh(set), &options, WAIT).await });
    (addr, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_disconnecting_mid_session_is_an_error_not_a_hang() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (addr, serve) = serve_plain(prepared(&rows(0..300, &[])), quick_options()).await;
        let mut tcp = scripted_peer(&addr, 300).await;
        // One valid-looking batch, then gone.
        let batch = blinded(0, vec![[0u8; 32]; 64]);
        let _ = tcp.write_all(&batch.encode().unwrap()[..100]).await;
        drop(tcp);
        let err = serve.await.unwrap().unwrap_err();
        assert!(matches!(err, NetError::PeerDisconnected { .. }), "{err}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_connector_killed_mid_session_is_an_error() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (events, options) = recorder();
        let (addr, serve) = serve_plain(prepared(&rows(0..3000, &[])), options).await;
        let p = params(Mode::Intersection, Reveal::Both);
        let dial = tokio::spawn(async move {
            connect(
                &addr,
                &Transport::InsecurePlaintextForTesting,
                &p,
                ecdh(prepared(&rows(0..3000, &[]))),
                &quick_options(),
                WAIT,
            )
            .await
        });
        // Kill the connector once the exchange is under way.
        for _ in 0..400 {
            let started = events.lock().unwrap().iter().any(|e| {
                matches!(
                    e,
                    Event::Progress {
                        stage: Stage::Received,
                        ..
                    }
                )
            });
            if started {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        dial.abort();
        let err = serve.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                NetError::PeerDisconnected { .. } | NetError::Stream { .. }
            ),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_points_are_a_typed_error_and_the_peer_hears_why() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), quick_options()).await;
        let mut tcp = scripted_peer(&addr, 100).await;
        // 0xFF… is not a canonical ristretto255 encoding.
        let batch = blinded(0, vec![[0xFF; 32]; 64]);
        tcp.write_all(&batch.encode().unwrap()).await.unwrap();
        let err = serve.await.unwrap().unwrap_err();
        assert!(matches!(err, NetError::Psi { .. }), "{err}");
        // The listener told us, with a reason, before closing.
        let mut abort = None;
        for _ in 0..100 {
            let frame = read_one_frame(&mut tcp).await;
            if let Frame::Control(Control::Abort { code, reason }) =
                decode_frame(&frame).unwrap().unwrap().0
            {
                abort = Some((code, reason));
                break;
            }
        }
        let (code, reason) = abort.unwrap();
        assert_eq!(code, AbortCode::PsiFailure);
        assert!(!reason.is_empty());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_items_than_declared_are_refused() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), quick_options()).await;
        // Declares 10 items, then sends a batch of 64.
        let mut tcp = scripted_peer(&addr, 10).await;
        let batch = blinded(0, vec![[0u8; 32]; 64]);
        tcp.write_all(&batch.encode().unwrap()).await.unwrap();
        let err = serve.await.unwrap().unwrap_err();
        // The protocol refuses the batch: it holds more than the 10 declared items.
        assert!(
            matches!(
                err,
                NetError::Psi {
                    source: PsiError::WrongBatchLength { .. }
                }
            ),
            "{err}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_times_out() {
    tokio::time::timeout(TEST_LIMIT, async {
        let options = SessionOptions {
            io_timeout: Duration::from_millis(500),
            handshake_timeout: Duration::from_secs(2),
            ..SessionOptions::default()
        };
        // A server that accepts and never says anything.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap().to_string();
        let keep = tokio::spawn(async move {
            let (s, _) = silent.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(s);
        });
        let err = connect(
            &addr,
            &Transport::InsecurePlaintextForTesting,
            &params(Mode::Intersection, Reveal::Both),
            ecdh(prepared(&rows(0..10, &[]))),
            &options,
            WAIT,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, NetError::Timeout { .. }), "{err}");
        keep.abort();

        // A partner that completes the handshake and then goes silent.
        let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), options).await;
        let tcp = scripted_peer(&addr, 100).await;
        let err = serve.await.unwrap().unwrap_err();
        assert!(matches!(err, NetError::Timeout { .. }), "{err}");
        drop(tcp);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_survives_strangers_and_completes_with_the_partner() {
    tokio::time::timeout(TEST_LIMIT, async {
        for tls in [false, true] {
            let (lt, ct) = if tls {
                let (a, b, _, _) = tls_pair();
                (a, b)
            } else {
                (
                    Transport::InsecurePlaintextForTesting,
                    Transport::InsecurePlaintextForTesting,
                )
            };
            let (events, mut options) = recorder();
            options.handshake_timeout = Duration::from_secs(1);
            let listener = Listener::bind("127.0.0.1:0", lt).await.unwrap();
            let addr = listener.local_addr().to_string();
            let p = params(Mode::Intersection, Reveal::Both);
            let pl = p.clone();
            let serve = tokio::spawn(async move {
                listener
                    .run_session(&pl, ecdh(prepared(&rows(0..200, &[]))), &options, WAIT)
                    .await
            });
            // Garbage (an HTTP request: its first bytes read as a huge length).
            let mut g = TcpStream::connect(&addr).await.unwrap();
            g.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            // A frame header announcing more than the limit.
            let mut big = TcpStream::connect(&addr).await.unwrap();
            big.write_all(&(5u32 << 20).to_be_bytes()).await.unwrap();
            // A well-formed frame that is not a hello (bad magic).
            let mut nomagic = TcpStream::connect(&addr).await.unwrap();
            nomagic
                .write_all(&[
                    0, 0, 0, 11, 0x01, b'n', b'o', b't', b' ', b'm', b'a', b'g', b'i', b'c', 0,
                ])
                .await
                .unwrap();
            // A stranger that connects and stalls.
            let stall = TcpStream::connect(&addr).await.unwrap();
            // Wait until the listener has dropped all four (the staller after the
            // 1 s handshake timeout), so the partner provably comes after them.
            let count = || {
                events
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|e| matches!(e, Event::ConnectionRefused { .. }))
                    .count()
            };
            for _ in 0..100 {
                if count() >= 4 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // The real partner.
            let report = connect(
                &addr,
                &ct,
                &p,
                ecdh(prepared(&rows(100..300, &[]))),
                &quick_options(),
                WAIT,
            )
            .await
            .unwrap();
            assert_eq!(report.matched_count, Some(100));
            let served = serve.await.unwrap().unwrap();
            assert_eq!(served.transcript_hash, report.transcript_hash);
            drop((g, big, nomagic, stall));
            assert_eq!(count(), 4, "tls={tls}");
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_file_authentication_works_and_refuses_outsiders() {
    tokio::time::timeout(TEST_LIMIT, async {
        use rcgen::{
            BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
            KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca_path = dir.path().join("ca.crt");
        std::fs::write(&ca_path, ca_cert.pem()).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let issue = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(vec![name.to_owned()]).unwrap();
            p.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            let cert = p.signed_by(&key, &issuer).unwrap();
            let (k, c) = (
                dir.path().join(format!("{name}.key")),
                dir.path().join(format!("{name}.crt")),
            );
            std::fs::write(&k, key.serialize_pem()).unwrap();
            std::fs::write(&c, cert.pem()).unwrap();
            Arc::new(Identity::load_files(&k, &c).unwrap())
        };
        let bank = issue("bank.example");
        let insurer = issue("insurer.example");
        let eve = issue("eve.example");
        // A listener checking against a CA must name its partner.
        let unnamed = Listener::bind(
            "127.0.0.1:0",
            Transport::Tls(TlsSettings {
                identity: Arc::clone(&bank),
                peer: PeerAuth::ca_file(&ca_path, None).unwrap(),
            }),
        )
        .await
        .unwrap();
        let err = unnamed
            .run_session(
                &params(Mode::Cardinality, Reveal::Both),
                ecdh(prepared(&rows(0..40, &[]))),
                &quick_options(),
                Duration::from_millis(200),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, NetError::InvalidConfig { .. }), "{err}");
        let listener = Listener::bind(
            "127.0.0.1:0",
            Transport::Tls(TlsSettings {
                identity: Arc::clone(&bank),
                peer: PeerAuth::ca_file(&ca_path, Some("insurer.example".into())).unwrap(),
            }),
        )
        .await
        .unwrap();
        let addr = listener.local_addr().to_string();
        let p = params(Mode::Cardinality, Reveal::Both);
        let pl = p.clone();
        let serve = tokio::spawn(async move {
            listener
                .run_session(
                    &pl,
                    ecdh(prepared(&rows(0..40, &[]))),
                    &quick_options(),
                    WAIT,
                )
                .await
        });
        // A self-signed outsider is refused by the listener; it keeps waiting.
        let outsider = Transport::Tls(TlsSettings {
            identity: Arc::new(Identity::generate("outsider").unwrap()),
            peer: PeerAuth::ca_file(&ca_path, Some("bank.example".into())).unwrap(),
        });
        assert!(
            connect(
                &addr,
                &outsider,
                &p,
                ecdh(prepared(&rows(0..40, &[]))),
                &quick_options(),
                WAIT
            )
            .await
            .is_err()
        );
        // Another holder of a certificate from the same CA is not the partner: the
        // listener refuses it by name and keeps waiting.
        let other_member = Transport::Tls(TlsSettings {
            identity: Arc::clone(&eve),
            peer: PeerAuth::ca_file(&ca_path, Some("bank.example".into())).unwrap(),
        });
        assert!(
            connect(
                &addr,
                &other_member,
                &p,
                ecdh(prepared(&rows(0..40, &[]))),
                &quick_options(),
                WAIT
            )
            .await
            .is_err()
        );
        // The wrong expected name is refused by the connector.
        let wrong_name = Transport::Tls(TlsSettings {
            identity: Arc::clone(&insurer),
            peer: PeerAuth::ca_file(&ca_path, Some("other.example".into())).unwrap(),
        });
        let err = connect(
            &addr,
            &wrong_name,
            &p,
            ecdh(prepared(&rows(0..40, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, NetError::PeerCertificateUntrusted { .. }),
            "{err}"
        );
        // The CA-issued partner gets through.
        let good = Transport::Tls(TlsSettings {
            identity: Arc::clone(&insurer),
            peer: PeerAuth::ca_file(&ca_path, Some("bank.example".into())).unwrap(),
        });
        let report = connect(
            &addr,
            &good,
            &p,
            ecdh(prepared(&rows(30..60, &[]))),
            &quick_options(),
            WAIT,
        )
        .await
        .unwrap();
        assert_eq!(report.matched_count, Some(10));
        assert_eq!(report.peer_fingerprint, Some(bank.fingerprint()));
        assert_eq!(
            serve.await.unwrap().unwrap().transcript_hash,
            report.transcript_hash
        );
    })
    .await
    .unwrap();
}

/// The reader's error is the cause of a failed exchange; the PSI thread's complaint
/// about its closed input ("protocol not complete") is only a consequence and must
/// never be what the caller sees, however the threads are scheduled. Many sessions at
/// once on two workers make the unlucky interleaving likely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cause_is_reported_not_the_psi_threads_consequence() {
    tokio::time::timeout(TEST_LIMIT, async {
        let options = SessionOptions {
            io_timeout: Duration::from_millis(100),
            handshake_timeout: Duration::from_secs(5),
            ..SessionOptions::default()
        };
        for round in 0..8 {
            let mut runs = Vec::new();
            for i in 0..12 {
                let options = options.clone();
                runs.push(tokio::spawn(async move {
                    let (addr, serve) = serve_plain(prepared(&rows(0..100, &[])), options).await;
                    let tcp = scripted_peer(&addr, 100).await;
                    if i % 2 == 0 {
                        // Silent after the handshake: a read timeout.
                        let err = serve.await.unwrap().unwrap_err();
                        drop(tcp);
                        (i, err)
                    } else {
                        // Gone after the handshake: a disconnect.
                        drop(tcp);
                        (i, serve.await.unwrap().unwrap_err())
                    }
                }));
            }
            for run in runs {
                let (i, err) = run.await.unwrap();
                if i % 2 == 0 {
                    assert!(
                        matches!(err, NetError::Timeout { .. }),
                        "round {round}: {err}"
                    );
                } else {
                    assert!(
                        matches!(
                            err,
                            NetError::PeerDisconnected { .. } | NetError::Stream { .. }
                        ),
                        "round {round}: {err}"
                    );
                }
            }
        }
    })
    .await
    .unwrap();
}

/// Unbalanced sets: the side with the small set has sent everything long before the
/// other has hashed its large set, so it legitimately receives nothing for a while
/// (in cardinality mode the learner waits for the whole shuffled answer, in
/// intersection mode the non-learner waits for the peer's `Done`). That wait is not
/// a silent peer as long as the peer keeps reading what we write: it must not time
/// out, in any mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_peer_is_not_a_silent_peer() {
    tokio::time::timeout(TEST_LIMIT, async {
        let options = SessionOptions {
            io_timeout: Duration::from_millis(250),
            handshake_timeout: Duration::from_secs(5),
            ..SessionOptions::default()
        };
        let big = rows(0..12_000, &[]);
        let small = rows(0..5, &[]);
        for (mode, reveal) in [
            (Mode::Intersection, Reveal::Initiator),
            (Mode::Cardinality, Reveal::Initiator),
            (Mode::Intersection, Reveal::Responder),
            (Mode::Cardinality, Reveal::Responder),
        ] {
            let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
                .await
                .unwrap();
            let addr = listener.local_addr().to_string();
            let (lp, lo, lset) = (params(mode, reveal), options.clone(), prepared(&big));
            let serve =
                tokio::spawn(async move { listener.run_session(&lp, ecdh(lset), &lo, WAIT).await });
            let c = connect(
                &addr,
                &Transport::InsecurePlaintextForTesting,
                &params(mode, reveal),
                ecdh(prepared(&small)),
                &options,
                WAIT,
            )
            .await;
            let l = serve.await.unwrap();
            let (l, c) = match (l, c) {
                (Ok(l), Ok(c)) => (l, c),
                (l, c) => panic!("{mode:?}/{reveal:?}: listener {l:?}, connector {c:?}"),
            };
            check_agreement(&l, &c);
        }
    })
    .await
    .unwrap();
}

/// A policy refusal by the listener comes before its hello: a partner declaring a set
/// outside our bounds never learns our set size or settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_refused_by_policy_never_sees_our_hello() {
    tokio::time::timeout(TEST_LIMIT, async {
        for (declared, expected) in [
            (5u64, AbortCode::PeerSetTooSmall),
            (50_000, AbortCode::PeerSetTooLarge),
        ] {
            let listener = Listener::bind("127.0.0.1:0", Transport::InsecurePlaintextForTesting)
                .await
                .unwrap();
            let addr = listener.local_addr().to_string();
            let mut strict = params(Mode::Intersection, Reveal::Both);
            strict.policy = Policy {
                min_peer_set: 100,
                max_peer_set: 10_000,
                ..Policy::default()
            };
            let serve = tokio::spawn(async move {
                listener
                    .run_session(
                        &strict,
                        ecdh(prepared(&rows(0..300, &[]))),
                        &quick_options(),
                        WAIT,
                    )
                    .await
            });
            let mut tcp = TcpStream::connect(&addr).await.unwrap();
            let hello = Hello {
                role: Role::Initiator,
                protocol: ECDH_PROTOCOL_ID.into(),
                protocol_params: ECDH_PARAMS.to_vec(),
                mode: "intersection".into(),
                reveal: Reveal::Both,
                id_types: vec!["phone".into()],
                profile: "phone-cn/v1".into(),
                set_size: declared,
                type_sizes: vec![declared],
                min_peer_set: 0,
                allowed_modes: vec!["intersection".into()],
                batch_size: 64,
                nonce: [1; 32],
                implementation: "scripted".into(),
            };
            tcp.write_all(&Frame::Hello(hello).encode().unwrap())
                .await
                .unwrap();
            // The first and only frame we get is the refusal, not the listener's hello.
            let first = read_one_frame(&mut tcp).await;
            match decode_frame(&first).unwrap().unwrap().0 {
                Frame::Control(Control::Abort { code, .. }) => assert_eq!(code, expected),
                other => panic!("expected an abort, got {}", other.kind_name()),
            }
            let err = serve.await.unwrap().unwrap_err();
            assert!(err.is_refusal(), "{err}");
            assert_eq!(err.abort_code(), expected);
        }
    })
    .await
    .unwrap();
}
