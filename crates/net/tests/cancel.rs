//! Cancelling a session from outside (what the CLI does on Ctrl-C): while the
//! listener waits, while connecting, during the handshake and in the middle of the
//! exchange. Once connected, the peer is told with an Abort coded `cancelled`.
//! Two parties over 127.0.0.1 (port 0); every test is bounded by a timeout.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use blindmatch_net::{
    AbortCode, Cancellation, Event, Identity, Listener, Mode, NetError, PeerAuth, PreparedSet,
    ProtocolSetup, Reveal, SessionOptions, SessionParams, SessionReport, TlsSettings, Transport,
    connect,
};
use blindmatch_psi::EcdhSetup;

const TEST_LIMIT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(30);
/// Far quicker than any timeout a cancelled session could otherwise end on.
const PROMPTLY: Duration = Duration::from_secs(5);

fn ecdh(n: u32) -> Box<dyn ProtocolSetup> {
    let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let set = PreparedSet::from_items(
        values
            .iter()
            .enumerate()
            .map(|(row, v)| ("phone", v.as_bytes(), row as u64 + 1)),
    )
    .unwrap();
    Box::new(EcdhSetup::new(set))
}

fn params() -> SessionParams {
    let mut p = SessionParams::new(
        Mode::Intersection,
        Reveal::Both,
        vec!["phone".into()],
        "phone-cn/v1".into(),
    );
    p.batch_size = 64;
    p
}

/// Options whose session cancels itself on the first event `fire` picks out.
fn cancelling_on(fire: fn(&Event) -> bool) -> (SessionOptions, Cancellation) {
    let cancel = Cancellation::new();
    let trigger = cancel.clone();
    let options = SessionOptions {
        io_timeout: Duration::from_secs(20),
        handshake_timeout: Duration::from_secs(20),
        events: Some(Arc::new(move |e: &Event| {
            if fire(e) {
                trigger.cancel();
            }
        })),
        cancel: cancel.clone(),
        ..SessionOptions::default()
    };
    (options, cancel)
}

fn plain_options() -> SessionOptions {
    SessionOptions {
        io_timeout: Duration::from_secs(20),
        handshake_timeout: Duration::from_secs(20),
        ..SessionOptions::default()
    }
}

fn tls_pair() -> (Transport, Transport) {
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
    (ta, tb)
}

/// Runs a listener and a connector over TLS with `n` items each.
async fn pair(
    n: u32,
    listener_options: SessionOptions,
    connector_options: SessionOptions,
) -> (
    Result<SessionReport, NetError>,
    Result<SessionReport, NetError>,
) {
    let (tl, tc) = tls_pair();
    let listener = Listener::bind("127.0.0.1:0", tl).await.unwrap();
    let addr = listener.local_addr().to_string();
    let serve = tokio::spawn(async move {
        listener
            .run_session(&params(), ecdh(n), &listener_options, WAIT)
            .await
    });
    let dialled = connect(&addr, &tc, &params(), ecdh(n), &connector_options, WAIT).await;
    (serve.await.unwrap(), dialled)
}

fn assert_told_cancelled(result: Result<SessionReport, NetError>) {
    match result {
        Err(NetError::PeerAborted { code, reason }) => {
            assert_eq!(code, AbortCode::Cancelled);
            assert_eq!(reason, "the session was cancelled");
        }
        other => panic!("expected the peer's cancellation, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_mid_exchange_the_peer_hears_it() {
    tokio::time::timeout(TEST_LIMIT, async {
        let started = Instant::now();
        // The listener cancels as soon as the exchange reports progress.
        let (options, cancel) = cancelling_on(|e| matches!(e, Event::Progress { .. }));
        let (listened, dialled) = pair(4000, options, plain_options()).await;
        assert!(cancel.is_cancelled());
        assert!(matches!(listened, Err(NetError::Cancelled)), "{listened:?}");
        assert_told_cancelled(dialled);
        assert!(started.elapsed() < PROMPTLY + PROMPTLY);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_by_the_connector_mid_exchange_the_listener_hears_it() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (options, _) = cancelling_on(|e| matches!(e, Event::Progress { .. }));
        let (listened, dialled) = pair(4000, plain_options(), options).await;
        assert!(matches!(dialled, Err(NetError::Cancelled)), "{dialled:?}");
        assert_told_cancelled(listened);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_during_the_handshake_the_peer_hears_it() {
    tokio::time::timeout(TEST_LIMIT, async {
        // The connector's Connected event comes after TLS, before the hellos.
        let (options, _) = cancelling_on(|e| matches!(e, Event::Connected { .. }));
        let (listened, dialled) = pair(200, plain_options(), options).await;
        assert!(matches!(dialled, Err(NetError::Cancelled)), "{dialled:?}");
        assert_told_cancelled(listened);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_listener_stops_when_cancelled() {
    tokio::time::timeout(TEST_LIMIT, async {
        let (tl, _) = tls_pair();
        let listener = Listener::bind("127.0.0.1:0", tl).await.unwrap();
        let (options, cancel) = cancelling_on(|_| false);
        let started = Instant::now();
        let waiting = tokio::spawn(async move {
            listener
                .run_session(&params(), ecdh(10), &options, WAIT)
                .await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
        let result = waiting.await.unwrap();
        assert!(matches!(result, Err(NetError::Cancelled)), "{result:?}");
        assert!(started.elapsed() < PROMPTLY);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_stops_when_cancelled_and_an_early_cancel_stops_at_once() {
    tokio::time::timeout(TEST_LIMIT, async {
        // A port nobody listens on: connect would retry until WAIT.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap().to_string();
        drop(closed);
        let (_, tc) = tls_pair();
        let (options, cancel) = cancelling_on(|_| false);
        let started = Instant::now();
        let dialling = {
            let (addr, tc, options) = (addr.clone(), tc.clone(), options.clone());
            tokio::spawn(
                async move { connect(&addr, &tc, &params(), ecdh(10), &options, WAIT).await },
            )
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
        let result = dialling.await.unwrap();
        assert!(matches!(result, Err(NetError::Cancelled)), "{result:?}");
        assert!(started.elapsed() < PROMPTLY);

        // Cancelled before the call: nothing is attempted.
        let started = Instant::now();
        let result = connect(&addr, &tc, &params(), ecdh(10), &options, WAIT).await;
        assert!(matches!(result, Err(NetError::Cancelled)), "{result:?}");
        assert!(started.elapsed() < PROMPTLY);
    })
    .await
    .unwrap();
}
