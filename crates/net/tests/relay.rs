//! Sessions are bound to the TLS channel: a party that both A and B pin, which
//! terminates TLS towards each of them and relays the frames in between, makes the
//! session fail instead of letting A and B match with each other while each believes
//! it matched with the relay. Over 127.0.0.1, bounded by a timeout.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use blindmatch_net::{
    AbortCode, Identity, Listener, Mode, NetError, PeerAuth, PreparedSet, ProtocolSetup, Reveal,
    SessionOptions, SessionParams, TlsSettings, Transport, connect, tls_accept, tls_connect,
};
use blindmatch_psi::EcdhSetup;
use tokio::net::{TcpListener, TcpStream};

const TEST_LIMIT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);

fn ecdh(range: std::ops::Range<u64>) -> Box<dyn ProtocolSetup> {
    let set =
        PreparedSet::from_items(range.map(|i| ("phone", format!("+86138{i:08}"), i))).unwrap();
    Box::new(EcdhSetup::new(set))
}

fn params() -> SessionParams {
    SessionParams::new(
        Mode::Intersection,
        Reveal::Both,
        vec!["phone".into()],
        "p1".into(),
    )
}

fn options() -> SessionOptions {
    SessionOptions {
        io_timeout: Duration::from_secs(10),
        handshake_timeout: Duration::from_secs(10),
        ..SessionOptions::default()
    }
}

fn tls(identity: &Arc<Identity>, peer: &Identity) -> TlsSettings {
    TlsSettings {
        identity: Arc::clone(identity),
        peer: PeerAuth::Fingerprint(peer.fingerprint()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_pinned_by_both_sides_makes_the_session_fail() {
    tokio::time::timeout(TEST_LIMIT, async {
        let a = Arc::new(Identity::generate("alice").unwrap());
        let b = Arc::new(Identity::generate("bob").unwrap());
        let m = Arc::new(Identity::generate("mallory").unwrap());

        // B listens and pins M; A connects to M and pins M; M pins both.
        let listener_b = Listener::bind("127.0.0.1:0", Transport::Tls(tls(&b, &m)))
            .await
            .unwrap();
        let b_addr = listener_b.local_addr().to_string();
        let serve_b = tokio::spawn(async move {
            listener_b
                .run_session(&params(), ecdh(0..50), &options(), WAIT)
                .await
        });

        let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let m_addr = relay.local_addr().unwrap().to_string();
        let (m_for_a, m_for_b) = (tls(&m, &a), tls(&m, &b));
        let relay_task = tokio::spawn(async move {
            let (from_a, _) = relay.accept().await.unwrap();
            let to_b = TcpStream::connect(&b_addr).await.unwrap();
            let (ea, eb) = tokio::join!(
                tls_accept(from_a, &m_for_a),
                tls_connect(to_b, &m_for_b, None)
            );
            let (mut ea, mut eb) = (ea.unwrap().stream, eb.unwrap().stream);
            // Relay every byte both ways until one side closes.
            let _ = tokio::io::copy_bidirectional(&mut ea, &mut eb).await;
        });

        let from_a = connect(
            &m_addr,
            &Transport::Tls(tls(&a, &m)),
            &params(),
            ecdh(25..75),
            &options(),
            WAIT,
        )
        .await;
        let from_b = serve_b.await.unwrap();
        relay_task.abort();

        // Both refuse at the Accept: their session contexts differ.
        for err in [from_a.unwrap_err(), from_b.unwrap_err()] {
            assert!(
                matches!(
                    err,
                    NetError::ContextMismatch
                        | NetError::PeerAborted {
                            code: AbortCode::ContextMismatch,
                            ..
                        }
                ),
                "{err}"
            );
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_direct_session_over_tls_still_agrees() {
    tokio::time::timeout(TEST_LIMIT, async {
        let a = Arc::new(Identity::generate("alice").unwrap());
        let b = Arc::new(Identity::generate("bob").unwrap());
        let listener_b = Listener::bind("127.0.0.1:0", Transport::Tls(tls(&b, &a)))
            .await
            .unwrap();
        let addr = listener_b.local_addr().to_string();
        let serve_b = tokio::spawn(async move {
            listener_b
                .run_session(&params(), ecdh(0..50), &options(), WAIT)
                .await
        });
        let ra = connect(
            &addr,
            &Transport::Tls(tls(&a, &b)),
            &params(),
            ecdh(25..75),
            &options(),
            WAIT,
        )
        .await
        .unwrap();
        let rb = serve_b.await.unwrap().unwrap();
        assert_eq!(ra.session_id, rb.session_id);
        assert_eq!(ra.matched_count, Some(25));
        assert_eq!(rb.matched_count, Some(25));
    })
    .await
    .unwrap();
}
