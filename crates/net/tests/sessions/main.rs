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

mod auth;
mod matrix;
mod peers;
mod refusals;

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
